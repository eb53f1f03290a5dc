//! Posting for an account through the public API (`POST /v1/posts`): the call to X goes through
//! [`accounts::with_token`] (which marks stale accounts and refreshes under the lease), and each of
//! X's answers in docs/x-api.md becomes an error an API client can act on.

use sqlx::AnyPool;

use crate::domain::{OrgId, PostText, PostView, ReconnectReason};
use crate::error::{AppError, ErrorCode};
use crate::server::infra::error::ServerError;
use crate::server::infra::ids::new_id;
use crate::server::infra::x_client::{
    AccountRefusal, ContentRefusal, LimitKind, NewTweet, PostError, RateLimited, ReplyTo,
};
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
    // X's 402 marks the app's credits spent; a post that went through clears the mark.
    used.note_credits(state.db.pool(), org_id, &answer).await;
    let created = match answer {
        Ok(created) => created,
        Err(refusal) => return Err(refused(refusal, &used.scopes, now())),
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
/// token the post was tried with; `t` is now (for when a usage cap's period ends).
fn refused(refusal: PostError, granted: &[String], t: i64) -> Failure {
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
        PostError::Account(refusal) => account_refused(refusal, t),
        PostError::Content(refusal, detail) => {
            let (code, what) = match refusal {
                ContentRefusal::ReplyNotAllowed => (
                    ErrorCode::XReplyNotAllowed,
                    "X does not let this account reply there: on self-serve API tiers a reply is allowed only where the post's author mentioned the account (or to the account's own posts, as in a thread). Post it without `reply_to_post_id`, or reply from X itself.",
                ),
                ContentRefusal::QuoteNotAllowed => (
                    ErrorCode::XQuoteNotAllowed,
                    "X does not let this account quote that post: quoting through the API left X's self-serve tiers in April 2026, except where the account was mentioned. Post it without `quote_post_id`, with the post's link in the text instead.",
                ),
                ContentRefusal::Duplicate => (
                    ErrorCode::XDuplicate,
                    "X refused the post as a duplicate: the account already posted this text. Change the text to post it again.",
                ),
            };
            AppError::new(code, format!("{what} (X said: {detail})")).into()
        }
        PostError::MediaInvalid(ids) => AppError::new(
            ErrorCode::XMediaInvalid,
            format!(
                "X refused the post's media ids{}: each must be an upload of this account's, finished processing, and less than 24 hours old.",
                if ids.is_empty() { String::new() } else { format!(" ({})", ids.join(", ")) }
            ),
        )
        .into(),
        PostError::RateLimited(limit) => rate_limited(limit, t),
        PostError::Invalid(detail) => {
            AppError::new(ErrorCode::XRejected, format!("X refused the post as invalid: {detail}")).into()
        }
        // `with_token` handled every 401 (Unauthorized only reaches here if X's answer changed
        // between the two classifications, which it cannot): answer it as X failing.
        PostError::Unauthorized => unavailable("X refused the token").into(),
        PostError::Unreachable(why) => unavailable(&why).into(),
    }
}

/// A refusal about the X app or its developer account, as the error a client can act on. None
/// of them is about the account: reconnecting it changes nothing, and it is never marked.
fn account_refused(refusal: AccountRefusal, t: i64) -> Failure {
    match refusal {
        AccountRefusal::CreditsDepleted => AppError::new(
            ErrorCode::XCreditsDepleted,
            "X refused the call: the developer account that owns this X app has no pay-per-use credits left (X's 402), so every account connected through the app is stopped, reads included. Buy credits (or raise the spending limit) in X's developer console at console.x.com; nothing needs reconnecting.",
        )
        .into(),
        AccountRefusal::UsageCapExceeded { period } => {
            let end = period_end(period.as_deref(), t);
            let retry_after_secs = (end - t).max(1) as u64;
            Failure::RateLimited {
                error: AppError::new(
                    ErrorCode::XUsageCapExceeded,
                    format!(
                        "X refused the call: the X app's {} usage cap is used up (not its 15-minute rate limit). It resets with X's billing period; Retry-After says when the current period ends, by the calendar. Check the app's usage in X's developer console.",
                        period.as_deref().map(str::to_lowercase).unwrap_or_else(|| "monthly".to_owned())
                    ),
                ),
                retry_after_secs,
            }
        }
        AccountRefusal::ClientNotEnrolled => AppError::new(
            ErrorCode::XClientNotEnrolled,
            "X refused the call because the X app is not enrolled for it (client-not-enrolled): the app must belong to a Project (or, under pay-per-use, a developer account enrolled in it) with access to this endpoint. Fix it in X's developer console; nothing needs reconnecting.",
        )
        .into(),
        AccountRefusal::UserNotEnrolled => AppError::new(
            ErrorCode::XUserNotEnrolled,
            "X refused the call because it bills it to the X user, who has no developer account enrolled in pay-per-use (user-not-enrolled). Calls through your own X app should not meet this: check that the account was connected through the app you expect.",
        )
        .into(),
    }
}

/// When a usage cap over `period` ends, by the calendar in UTC: the next midnight for a daily
/// cap, the first of the next month otherwise (X's caps are monthly; its billing cycle may start
/// on another day, which X does not say, so this can be early, never late by more than a month).
fn period_end(period: Option<&str>, t: i64) -> i64 {
    use time::{Date, Month, OffsetDateTime, Time};
    let Ok(now) = OffsetDateTime::from_unix_timestamp(t) else { return t + 24 * 3600 };
    let date = now.date();
    let end: Date = if period.is_some_and(|p| p.eq_ignore_ascii_case("daily")) {
        date.next_day().unwrap_or(date)
    } else {
        let (year, month) = if date.month() == Month::December {
            (date.year() + 1, Month::January)
        } else {
            (date.year(), date.month().next())
        };
        Date::from_calendar_date(year, month, 1).unwrap_or(date)
    };
    end.with_time(Time::MIDNIGHT).assume_utc().unix_timestamp()
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

    #[test]
    fn a_usage_cap_waits_for_the_end_of_its_period_not_the_window() {
        // 2026-12-07 12:00:00 UTC.
        let t = 1_796_644_800;
        assert_eq!(period_end(Some("Monthly"), t), 1_798_761_600, "2027-01-01, across the year");
        assert_eq!(period_end(None, t), 1_798_761_600, "monthly when X does not say");
        assert_eq!(period_end(Some("Daily"), t), 1_796_688_000, "the next midnight");
        // 2026-02-28 23:59:59 UTC: the first of March.
        assert_eq!(period_end(Some("Monthly"), 1_772_323_199), 1_772_323_200);
        let Failure::RateLimited { retry_after_secs, error } =
            account_refused(AccountRefusal::UsageCapExceeded { period: Some("Monthly".into()) }, t)
        else {
            panic!()
        };
        assert_eq!((error.code, retry_after_secs), (ErrorCode::XUsageCapExceeded, 1_798_761_600 - 1_796_644_800));
    }
}
