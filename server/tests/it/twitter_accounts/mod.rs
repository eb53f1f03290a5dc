//! Connecting X accounts through the organization's or a brand's own X app, end to end against the
//! fake X over loopback: OAuth 2.0 with PKCE (docs/security.md E.24-E.29), the account cards, reconnect,
//! disconnect and revocation (F.32), rotation and the refresh lease (F.30, F.31), tokens at rest
//! and in logs (A.1, B.11), on SQLite and PostgreSQL (H.36).
//!
//! The "browser" is a reqwest client with a cookie jar that follows no redirects: each hop (Perch's
//! Connect, X's consent page, X's redirect to the callback, Perch's redirect to the card) is a
//! request the test makes and checks.
//!
//! Run with `cargo test -p server --test it -- twitter_accounts::`.

use crate::common::leaks::{assert_no_secret, at_rest, capture, logs};
use crate::common::{Backend, brand, org_id, send};
use app::domain::{SCOPES, callback_url};
use app::server::store::accounts::{self, UseError};
use fake_x::{FakeUser, Fault, NewApp};
use serde_json::{Value, json};

use crate::common::connect::*;

mod connecting;
mod lifecycle;
mod many;
