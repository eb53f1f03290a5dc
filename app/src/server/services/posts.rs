//! Posting for an account through the public API (`POST /v1/posts`): the call to X goes through
//! [`accounts::with_token`] (which marks stale accounts and refreshes under the lease), and each of
//! X's answers in docs/x-api.md becomes an error an API client can act on.

use sqlx::AnyPool;

use crate::domain::{OrgId, PostText, PostView, ReconnectReason};
use crate::error::{AppError, ErrorCode};
use crate::server::infra::error::ServerError;
use crate::server::infra::ids::new_id;
use crate::server::infra::x_client::{LimitKind, NewTweet, PostError, RateLimited, ReplyTo};
use crate::server::store::accounts::{self, Attempt, UseError};
use crate::server::store::api_keys::KeyHolder;
use crate::server::{AppState, now};

/// The scopes `POST /2/tweets` needs (docs/x-api.md).
pub const POST_SCOPES: [&str; 3] = ["tweet.read", "tweet.write", "users.read"];

/// A post to make.
pub struct NewPost<'a> {
    pub account_id: &'a str,
    pub text: &'a PostText,
    pub reply_to_post_id: Option<&'a str>,
    pub quote_post_id: Option<&'a str>,
}

/// Why no post was made. Becomes the API's error ([`Failure::into_error`]); a rate limit also
/// carries when to try again.
#[derive(Debug)]
pub enum Failure {
    Error(AppError),
    RateLimited { error: AppError, retry_after_secs: u64 },
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        Failure::Error(e)
    }
}

impl From<ServerError> for Failure {
    fn from(e: ServerError) -> Self {
        Failure::Error(e.into())
    }
}

fn needs_reconnection(reason: ReconnectReason) -> AppError {
    AppError::new(
        ErrorCode::NeedsReconnection,
        format!(
            "The X account needs reconnection ({}): {} Hand its owner a new connect link (POST /v1/accounts/connect).",
            reason.as_str(),
            reason.message()
        ),
    )
}

fn unavailable(why: &str) -> AppError {
    AppError::new(
        ErrorCode::XUnavailable,
        format!("X could not be reached or failed ({why}). Nothing was posted; try again later."),
    )
}

/// What a 429 means for the client: which limit, and seconds until it resets (at least 1; 60
/// when X sent no reset time).
fn rate_limited(limit: RateLimited, t: i64) -> Failure {
    let retry_after_secs = limit.reset_at.map(|r| (r - t).max(1) as u64).unwrap_or(60);
    let which = match limit.kind {
        LimitKind::Window => "the account's limit of posts per 15 minutes",
        LimitKind::User24h => "the account's 24-hour limit of posts",
        LimitKind::App24h => "the X app's 24-hour limit of posts, shared by every account connected through it",
    };
    Failure::RateLimited {
        error: AppError::new(
            ErrorCode::RateLimited,
            format!("X's rate limit: {which} is used up. Try again in {retry_after_secs} seconds (Retry-After)."),
        ),
        retry_after_secs,
    }
}

/// Makes a post for `new.account_id`, which must belong to the key's organization, through
/// [`accounts::with_token`] (refresh, one retry after a 401, marking); each of X's refusals
/// becomes an error the client can act on.
pub async fn create(state: &AppState, key: &KeyHolder, new: NewPost<'_>) -> Result<PostView, Failure> {
    let org_id = &key.org_id;
    let tweet = NewTweet {
        text: new.text.as_str(),
        reply: new.reply_to_post_id.map(|id| ReplyTo { in_reply_to_tweet_id: id }),
        quote_tweet_id: new.quote_post_id,
    };
    let tweet = &tweet;
    let posted = accounts::with_token(state, org_id, new.account_id, |token| async move {
        match state.x.create_tweet(&token, tweet).await {
            Err(PostError::Unauthorized) => Attempt::Unauthorized,
            answer => Attempt::Done(answer),
        }
    })
    .await;
    let (answer, used) = match posted {
        Ok(done) => done,
        Err(UseError::NotFound) => return Err(AppError::not_found("X account").into()),
        Err(UseError::NeedsReconnection(reason)) => return Err(needs_reconnection(reason).into()),
        Err(UseError::Unreachable(why)) => return Err(unavailable(&why).into()),
        Err(UseError::Server(e)) => return Err(e.into()),
    };
    let created = match answer {
        Ok(created) => created,
        Err(refusal) => return Err(refused(refusal, &used.scopes)),
    };
    let view = PostView {
        id: new_id("pst"),
        account_id: used.account_id.clone(),
        x_post_id: created.id,
        username: used.username.clone(),
        text: new.text.as_str().to_owned(),
        reply_to_post_id: new.reply_to_post_id.map(str::to_owned),
        quote_post_id: new.quote_post_id.map(str::to_owned),
        created_at: now(),
    };
    if let Err(e) = record(state.db.pool(), org_id, &used.x_user_id, &key.key_id, &view).await {
        // The post exists on X: say so, so that the client does not post it again.
        tracing::error!(org_id = %org_id, x_post_id = %view.x_post_id, error = %e, "posted, but recording the post failed");
        let mut err: AppError = e.into();
        err.message = format!(
            "X published the post (id {}), but Perch could not record it. Do not send it again.",
            view.x_post_id
        );
        return Err(err.into());
    }
    tracing::info!(org_id = %org_id, account_id = %view.account_id, post_id = %view.id, x_post_id = %view.x_post_id, "posted");
    Ok(view)
}

/// X's refusal of a post, as the error a client can act on. `granted` are the scopes of the
/// token the post was tried with.
fn refused(refusal: PostError, granted: &[String]) -> Failure {
    match refusal {
        PostError::Forbidden(detail) => {
            let missing: Vec<&str> = POST_SCOPES.iter().copied().filter(|s| !granted.iter().any(|g| g == s)).collect();
            if !missing.is_empty() {
                return AppError::new(
                    ErrorCode::MissingScopes,
                    format!(
                        "X refused the post: the account's token lacks the scope(s) {}. Enable them in the X app's User authentication settings (App permissions “Read and write”), then reconnect the account.",
                        missing.join(", ")
                    ),
                )
                .into();
            }
            AppError::new(ErrorCode::XForbidden, format!("X refused the post: {detail}")).into()
        }
        PostError::ClientNotEnrolled => AppError::new(
            ErrorCode::XForbidden,
            "X refused the post because the X app is not attached to a Project with the access level posting needs (client-not-enrolled). In the X developer portal, attach the app to a Project, then try again.",
        )
        .into(),
        PostError::RateLimited(limit) => rate_limited(limit, now()),
        PostError::Invalid(detail) => {
            AppError::new(ErrorCode::XRejected, format!("X refused the post as invalid: {detail}")).into()
        }
        // `with_token` handled every 401 (Unauthorized only reaches here if X's answer changed
        // between the two classifications, which it cannot): answer it as X failing.
        PostError::Unauthorized => unavailable("X refused the token").into(),
        PostError::Unreachable(why) => unavailable(&why).into(),
    }
}

async fn record(
    pool: &AnyPool,
    org_id: &OrgId,
    x_user_id: &str,
    key_id: &str,
    p: &PostView,
) -> Result<(), ServerError> {
    sqlx::query(
        "insert into posts (id, org_id, account_id, x_user_id, username, x_post_id, text, reply_to_post_id, quote_post_id, \
         api_key_id, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&p.id)
    .bind(org_id)
    .bind(&p.account_id)
    .bind(x_user_id)
    .bind(&p.username)
    .bind(&p.x_post_id)
    .bind(&p.text)
    .bind(p.reply_to_post_id.as_deref())
    .bind(p.quote_post_id.as_deref())
    .bind(key_id)
    .bind(p.created_at)
    .execute(pool)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_comes_from_the_exhausted_limit() {
        let at = |kind, reset_at| rate_limited(RateLimited { kind, reset_at }, 1_000);
        let Failure::RateLimited { retry_after_secs, error } = at(LimitKind::User24h, Some(1_090)) else { panic!() };
        assert_eq!(retry_after_secs, 90);
        assert_eq!(error.code, ErrorCode::RateLimited);
        assert!(error.message.contains("24-hour"), "{}", error.message);
        let Failure::RateLimited { retry_after_secs, .. } = at(LimitKind::Window, Some(900)) else { panic!() };
        assert_eq!(retry_after_secs, 1, "a reset in the past still says to wait");
        let Failure::RateLimited { retry_after_secs, .. } = at(LimitKind::App24h, None) else { panic!() };
        assert_eq!(retry_after_secs, 60);
    }
}
