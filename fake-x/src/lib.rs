//! A fake of X's OAuth 2.0 and API v2 for tests, faithful to the behaviour recorded in
//! `docs/x-api.md` (error bodies word for word): X is out of reach, so every test of Perch
//! runs against this. A crate of its own, only a dev-dependency of `server`: the `perch` binary
//! never contains it.
//!
//! # X's endpoints (all under one base URL)
//!
//! | path | what |
//! |---|---|
//! | `GET /i/oauth2/authorize` | consent page; `POST /i/oauth2/authorize/decision` takes its form |
//! | `POST /2/oauth2/token` | `authorization_code` and `refresh_token` grants, Basic client auth |
//! | `POST /2/oauth2/revoke` | revocation, `token_type_hint` required |
//! | `GET /2/users/me` | the authorizing user; `?user.fields=profile_image_url` adds the avatar |
//! | `POST /2/tweets` | create a post |
//!
//! Perch's `PERCH_X_API_URL` points at the base URL, `PERCH_X_AUTHORIZE_URL` at
//! `<base>/i/oauth2/authorize`.
//!
//! Choices where docs/x-api.md is silent (each one a [`Switches`] field where it matters):
//! - An unknown client or unregistered `redirect_uri` gets X's "Something went wrong" page with
//!   status 200 and no redirect; so does any other invalid authorize request.
//! - The token endpoint authenticates the client before it reads anything else. A code is spent
//!   by its first presentation from its own app, even when the verifier or `redirect_uri` then
//!   fails. A missing `code`, `redirect_uri`, `refresh_token` or `token` is answered
//!   `Missing required parameter [<name>].` like X's `code_verifier`.
//! - A refresh spends the refresh token and issues a new pair with the scopes first granted; the
//!   previous access token lives on until it expires. Reusing a spent refresh token fails but
//!   does not kill its family.
//! - Revoking an access token kills it alone. Revoking a refresh token kills it and, with
//!   `revoke_refresh_kills_grant` (default), the whole grant (its access tokens too), as RFC 7009
//!   suggests. Unknown tokens and other apps' tokens are answered `{"revoked":true}` and left be.
//! - Rotating a secret with `rotation_kills_tokens` (default) also spends the app's unused codes.
//!
//! # Control plane
//!
//! In process: [`FakeX::start`] binds `127.0.0.1:0`; the handle derefs to [`FakeState`], whose
//! methods arrange and observe (`register_app`, `rotate_secret`, `set_callback_urls`,
//! `update_switches`, `set_next_user`, `issue_tokens`, `revoke_token`, `expire_token`,
//! `requests`, `counters`, `grants`, `tweets`, `reset`, ...). [`router`] and [`serve`] serve the
//! same state anywhere, which is what the `fake-x` binary does.
//!
//! Over HTTP (JSON bodies, for Playwright), never in the request log:
//!
//! | method and path | body | answer |
//! |---|---|---|
//! | `GET /_fake/apps` | | `[FakeApp]` |
//! | `POST /_fake/apps` | `{"client_id"?, "client_secret"?, "name"?, "callback_urls": [..]}` (absent ids are generated) | 201 `FakeApp` `{"client_id","client_secret","name","callback_urls"}` |
//! | `GET /_fake/apps/{client_id}` | | `FakeApp` or 404 |
//! | `POST /_fake/apps/{client_id}/rotate` | | `{"client_id","client_secret"}` (the new secret) |
//! | `PUT /_fake/apps/{client_id}/callback-urls` | `{"callback_urls": [..]}` | `FakeApp` |
//! | `GET /_fake/switches` | | `Switches` |
//! | `PUT /_fake/switches` | any subset of `Switches`, e.g. `{"tweets_fault":"close"}` | the whole `Switches`; 400 on an unknown field or value |
//! | `DELETE /_fake/switches` | | the defaults, now in force |
//! | `GET /_fake/users` | | `[FakeUser]` |
//! | `POST /_fake/users` | `{"id","name","username","profile_image_url"?}` | 201 `FakeUser` |
//! | `GET /_fake/next-user` | | `FakeUser` |
//! | `PUT /_fake/next-user` | `FakeUser` (added if new) | `FakeUser`: preselected on the authorize page from now on |
//! | `POST /_fake/tokens` | `{"client_id", "user_id"? (default: next user), "scopes": [..] or "scope": "a b"}` | 201 `TokenPair` `{"access_token","refresh_token"|null,"scope","expires_in","grant_id"}` |
//! | `POST /_fake/tokens/revoke` | `{"token"}` | 204, or 404 for an unknown token |
//! | `POST /_fake/tokens/expire` | `{"token"}` | 204 (an access token expires now; a refresh token dies) |
//! | `POST /_fake/tokens/status` | `{"token"}` | `{"access_token_valid": bool, "refresh_token_valid": bool}` |
//! | `GET /_fake/grants` | | `[GrantInfo]` `{"id","client_id","user_id","scopes","refreshes","revoked","created_at_ms"}` |
//! | `POST /_fake/grants/{grant_id}/revoke` | | 204 |
//! | `GET /_fake/requests` | | `[RecordedRequest]` (see [`RecordedRequest`]) |
//! | `DELETE /_fake/requests` | | 204 |
//! | `GET /_fake/counters` | | [`Counters`] |
//! | `GET /_fake/tweets` | | `[FakeTweet]` |
//! | `POST /_fake/reset` | | 204: codes, grants, tokens, posts, limits, log, counters and switches back to new; apps and users stay |
//!
//! Control errors are `{"error": "..."}` with 404 (unknown app, user, token, grant) or 400.
//!
//! # Switches and defaults
//!
//! See [`Switches`]: `cancel_adds_access_denied` (true), `unknown_client` (`unauthorized_client`;
//! or `invalid_client`), `rotation_kills_tokens` (true), `revoke_refresh_kills_grant` (true),
//! `require_client_id_in_body` (false), `code_lifetime_ms` (30000),
//! `access_token_lifetime_secs` (7200), faults `token_fault`, `revoke_fault`, `users_me_fault`,
//! `tweets_fault` (`none`; or `server_error`, `html200`, `html503`, `hang`, `close`),
//! `server_error_status` (503), `hang_ms` (600000), refusals `users_me_refusal`, `tweets_refusal`
//! (`none`; or `not_permitted`, `client_not_enrolled`, `too_many_requests`, `credits_depleted`,
//! `usage_cap_exceeded`, `user_not_enrolled`, `reply_not_allowed`, `quote_not_allowed`),
//! `too_many_requests_from_24h_cap` (false), the limits `users_me_limit_15min` (75),
//! `tweets_limit_15min` (100), `tweets_user_limit_24h` (2400), `tweets_app_limit_24h` (10000),
//! `out_of_credits` (client ids whose calls answer 402; none), `credits_body` (`with_account_id`;
//! or `without_account_id`, `payment_required`), `enforce_reply_restriction` (true) and
//! `reply_refusal` (`not_authorized_for_resource`; or `not_engaged`).

mod api;
mod authorize_page;
mod control;
mod errors;
mod faults;
pub mod ids;
mod log;
mod oauth;
mod records;
mod server;
mod state;
mod switches;

use axum::Router;
use axum::routing::{get, post};

pub use ids::{fingerprint, pkce_challenge, pkce_verifier};
pub use log::RecordedRequest;
pub use server::{FakeX, serve};
pub use state::{
    ControlError, Counters, DEFAULT_USER_ID, FakeApp, FakeState, FakeTweet, FakeUser, GrantInfo, KNOWN_SCOPES, NewApp,
    TokenPair,
};
pub use switches::{CreditsBody, Fault, Refusal, ReplyRefusal, Switches, UnknownClient};

/// X's endpoints and the control plane on one router, every request but the control plane's
/// written to the request log.
pub fn router(state: FakeState) -> Router {
    Router::new()
        .route("/i/oauth2/authorize", get(authorize_page::show))
        .route("/i/oauth2/authorize/decision", post(authorize_page::decide))
        .route("/2/oauth2/token", post(oauth::token))
        .route("/2/oauth2/revoke", post(oauth::revoke))
        .route("/2/users/me", get(api::users_me))
        .route("/2/tweets", post(api::create_tweet))
        .merge(control::routes())
        .layer(axum::middleware::from_fn_with_state(state.clone(), log::record))
        .with_state(state)
}
