//! Posting (`POST /2/tweets`): the request, and each of X's answers as a [`PostError`] the
//! caller can name (docs/x-api.md "Create a post").

use super::*;

/// A post to create (`POST /2/tweets`).
#[derive(Debug, serde::Serialize)]
pub struct NewTweet<'a> {
    pub text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<ReplyTo<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote_tweet_id: Option<&'a str>,
}

#[derive(Debug, serde::Serialize)]
pub struct ReplyTo<'a> {
    pub in_reply_to_tweet_id: &'a str,
}

/// Which of X's limits a 429 ran into (docs/x-api.md: a 429 can come with requests left in the
/// 15-minute window, because a 24-hour cap ran out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitKind {
    /// 100 posts per user per 15 minutes.
    Window,
    /// The user's 24-hour cap.
    User24h,
    /// The app's 24-hour cap, shared by every account connected through the app.
    App24h,
}

/// A 429: which limit, and when it resets (Unix seconds, from X's headers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimited {
    pub kind: LimitKind,
    pub reset_at: Option<i64>,
}

impl RateLimited {
    /// From X's rate-limit headers: the exhausted 24-hour cap if there is one, else the window.
    fn from_headers(h: &reqwest::header::HeaderMap) -> Self {
        let num = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<i64>().ok());
        for (kind, prefix) in [(LimitKind::User24h, "x-user-limit-24hour"), (LimitKind::App24h, "x-app-limit-24hour")] {
            if num(&format!("{prefix}-remaining")) == Some(0) {
                return RateLimited { kind, reset_at: num(&format!("{prefix}-reset")) };
            }
        }
        RateLimited { kind: LimitKind::Window, reset_at: num("x-rate-limit-reset") }
    }
}

/// Why `POST /2/tweets` made no post (docs/x-api.md's table, row by row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PostError {
    /// 401: the access token is expired, revoked or unknown.
    Unauthorized,
    /// 403 with X's `detail`, none of the refusals named below: a missing scope ("Forbidden"),
    /// a write X does not permit.
    Forbidden(String),
    /// The app or its developer account: credits spent, a usage cap, enrolment.
    Account(AccountRefusal),
    /// What the post does: a reply or a quote X no longer allows, duplicate content (X's
    /// `detail` with it).
    Content(ContentRefusal, String),
    /// 400 "Your media IDs are invalid.", with the ids X named.
    MediaInvalid(Vec<String>),
    /// 429 of a rate-limit window or a 24-hour cap.
    RateLimited(RateLimited),
    /// 400: X refused the request itself (its `detail`).
    Invalid(String),
    /// X could not be asked, answered 5xx, or answered something that is not X's API.
    Unreachable(String),
}

/// What X answered a post with: its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedTweet {
    pub id: String,
}

impl XClient {
    /// `POST /2/tweets` with the account's access token; 201 is a post.
    pub async fn create_tweet(
        &self,
        access_token: &SecretString,
        tweet: &NewTweet<'_>,
    ) -> Result<CreatedTweet, PostError> {
        let sent = self
            .http
            .post(format!("{}/2/tweets", self.api_url))
            .bearer_auth(access_token.expose_secret())
            .header(reqwest::header::ACCEPT, "application/json")
            .json(tweet)
            .send()
            .await;
        let response = sent.map_err(|e| PostError::Unreachable(describe_send_error(&e)))?;
        let status = response.status().as_u16();
        let limited = (status == 429).then(|| RateLimited::from_headers(response.headers()));
        let body = read_limited(response).await.map_err(PostError::Unreachable)?;
        let json = serde_json::from_slice::<serde_json::Value>(&body).ok();
        let detail = || json.as_ref().and_then(|v| v.get("detail").and_then(|d| d.as_str())).map(clip_long);
        if let Some(refusal) = AccountRefusal::of(status, json.as_ref()) {
            return Err(PostError::Account(refusal));
        }
        match status {
            201 | 200 => json
                .as_ref()
                .and_then(|v| v.pointer("/data/id"))
                .and_then(|id| id.as_str())
                .filter(|id| !id.is_empty() && id.len() <= 19 && id.bytes().all(|b| b.is_ascii_digit()))
                .map(|id| CreatedTweet { id: id.to_owned() })
                .ok_or_else(|| {
                    PostError::Unreachable("X answered the post with something that is not a post".to_owned())
                }),
            401 => Err(PostError::Unauthorized),
            403 => {
                let detail = detail().unwrap_or_else(|| "Forbidden".to_owned());
                match ContentRefusal::of(&detail, tweet.reply.is_some(), tweet.quote_tweet_id.is_some()) {
                    Some(refusal) => Err(PostError::Content(refusal, detail)),
                    None => Err(PostError::Forbidden(detail)),
                }
            }
            429 => {
                Err(PostError::RateLimited(limited.unwrap_or(RateLimited { kind: LimitKind::Window, reset_at: None })))
            }
            400 if json.is_some() => {
                if let Some(ids) = super::refusals::invalid_media_ids(json.as_ref()) {
                    return Err(PostError::MediaInvalid(ids));
                }
                // X's invalid-request body names the problem in its first error's message.
                let first =
                    json.as_ref().and_then(|v| v.pointer("/errors/0/message")).and_then(|m| m.as_str()).map(clip_long);
                Err(PostError::Invalid(first.or_else(detail).unwrap_or_else(|| "Invalid Request".to_owned())))
            }
            s => Err(PostError::Unreachable(format!("X answered the post with HTTP {s}"))),
        }
    }
}
