//! The public API with API keys, end to end over loopback against the fake X: keys (docs/security.md
//! G.35), every endpoint with good, missing, malformed, revoked and foreign keys (G.33), the
//! dashboard-only wall for credential and key routes (G.34), connect links, posting with every
//! answer of X's in docs/x-api.md, the refresh lease across instances (F.30, F.31), a refresh cut off
//! by a crash (H.37), rotation, and the OpenAPI document, on SQLite and PostgreSQL (H.36).
//!
//! Run with `cargo test -p server --test it -- public_api::`.

use std::collections::BTreeSet;

use crate::common::api::{
    account, api, api_client, error_code, error_message, new_key, post, seed_accounts, with_account,
};
use crate::common::connect::*;
use crate::common::leaks::{assert_no_secret, at_rest, capture, logs};
use crate::common::{Backend, Reply, TestApp, brand, send};
use app::domain::callback_url;
use fake_x::{CreditsBody, Fault, NewApp, Refusal, ReplyRefusal};
use serde_json::{Value, json};

// ---- helpers ---------------------------------------------------------------------------------

/// A key, an account on the organization default (app A), and one on brand “Coffee”, which has
/// its own app B. Returns (world, key, default's account, Coffee's account).
async fn two_apps(b: Backend) -> (World, String, String, String) {
    let w = world(b).await;
    let key = new_key(&w.owner, "CMS").await;
    w.x.register_app(NewApp::new([callback_url(&w.app.base)]).with_credentials(ID_B, SECRET_B));
    let coffee = brand(&w.owner, "Coffee").await;
    assert_eq!(save(&w.owner, ID_B, SECRET_B, Some(&coffee)).await.status, 201);
    let on_default = account_of(&connect_through(&w.owner, None, None).await);
    w.x.set_next_user(fake_x::FakeUser::new("1111111111", "Coffee Co", "coffeeco"));
    let on_coffee = account_of(&connect_through(&w.owner, Some(&coffee), Some("1111111111")).await);
    (w, key, on_default, on_coffee)
}

fn token_requests_of(w: &World) -> usize {
    w.x.requests().iter().filter(|r| r.path == "/2/oauth2/token").count()
}

mod accounts;
mod keys;
mod openapi;
mod posting;
