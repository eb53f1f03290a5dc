//! X's refusals that are about something other than the token: the developer account's
//! pay-per-use credits, its monthly usage cap, enrolment, and the reply and quote restrictions of
//! self-serve tiers (docs/x-api.md, addendum sections 2 and 3). Every API v2 call reads its answer
//! through [`AccountRefusal::of`] first, so a 402 never reads as "X is down".

use serde_json::Value;

/// A refusal about the app or its developer account: it stops every account connected through
/// the app, and reconnecting an account changes nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountRefusal {
    /// 402: the developer account's pay-per-use credits are spent (or its spending limit for
    /// the cycle is reached). Every call fails, reads included, until credits are bought.
    CreditsDepleted,
    /// 429 `UsageCapExceeded`: a cap over a long period (X's `period`, such as "Monthly"), not
    /// the 15-minute window; the rate-limit headers may show requests left.
    UsageCapExceeded { period: Option<String> },
    /// 403 `client-not-enrolled`: the app is not attached to a Project with the access this call
    /// needs.
    ClientNotEnrolled,
    /// 403 `user-not-enrolled`: X bills the request to the user, who has no enrolled developer
    /// account.
    UserNotEnrolled,
}

fn text<'a>(json: Option<&'a Value>, key: &str) -> &'a str {
    json.and_then(|v| v.get(key)).and_then(Value::as_str).unwrap_or("")
}

impl AccountRefusal {
    /// What `status` and X's JSON body say, if it is one of these.
    pub fn of(status: u16, json: Option<&Value>) -> Option<Self> {
        match status {
            // Two bodies are on record (and a third with the account id missing); a 402 from X
            // is about payment whatever its body says, so the status decides.
            402 => Some(AccountRefusal::CreditsDepleted),
            429 if text(json, "title") == "UsageCapExceeded" || text(json, "type").ends_with("/usage-capped") => {
                let period = Some(text(json, "period")).filter(|p| !p.is_empty()).map(super::clip);
                Some(AccountRefusal::UsageCapExceeded { period })
            }
            403 => match text(json, "reason") {
                "client-not-enrolled" => Some(AccountRefusal::ClientNotEnrolled),
                "user-not-enrolled" => Some(AccountRefusal::UserNotEnrolled),
                _ => None,
            },
            _ => None,
        }
    }
}

/// What an answer says about the pay-per-use credits of the app it went through: spent (X's
/// 402), not spent (X served the call), or nothing (any other refusal, or X not reached). The one
/// reading of it for every door that keeps the app's mark (posting, Check, connecting).
pub trait CreditsSignal {
    fn credits_spent(&self) -> Option<bool>;
}

impl<T> CreditsSignal for Result<T, super::PostError> {
    fn credits_spent(&self) -> Option<bool> {
        match self {
            Ok(_) => Some(false),
            Err(super::PostError::Account(AccountRefusal::CreditsDepleted)) => Some(true),
            Err(_) => None,
        }
    }
}

impl<T> CreditsSignal for Result<T, super::ApiError> {
    fn credits_spent(&self) -> Option<bool> {
        match self {
            Ok(_) => Some(false),
            Err(super::ApiError::Account(AccountRefusal::CreditsDepleted)) => Some(true),
            Err(_) => None,
        }
    }
}

/// A 403 about what a post does rather than who sends it (docs/x-api.md, addendum 3): matched
/// on X's `detail`, never on its `type` (one wording comes with `not-authorized-for-resource`,
/// which is not a missing scope).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContentRefusal {
    /// Replying where the account was not mentioned by the author (self-serve tiers, since
    /// 2026-02-23). Two wordings are on record; one covers quotes too.
    ReplyNotAllowed,
    /// Quoting a post where the account was not mentioned (quotes left self-serve tiers on
    /// 2026-04-20).
    QuoteNotAllowed,
    /// "You are not allowed to create a Tweet with duplicate content."
    Duplicate,
}

impl ContentRefusal {
    /// Reads X's `detail` of a 403. `quoting` says whether the post quoted one: the wording
    /// shared by replies and quotes is then taken as a quote refusal unless it also replied.
    pub fn of(detail: &str, replying: bool, quoting: bool) -> Option<Self> {
        let d = detail.to_ascii_lowercase();
        if d.contains("duplicate content") {
            Some(ContentRefusal::Duplicate)
        } else if d.starts_with("quoting this post is not allowed") {
            Some(ContentRefusal::QuoteNotAllowed)
        } else if d.starts_with("reply to this conversation is not allowed") {
            Some(ContentRefusal::ReplyNotAllowed)
        } else if d.starts_with("you can only reply to or quote posts") {
            Some(if quoting && !replying { ContentRefusal::QuoteNotAllowed } else { ContentRefusal::ReplyNotAllowed })
        } else {
            None
        }
    }
}

/// The ids X names in "Your media IDs are invalid." (400), from its `parameters`.
pub fn invalid_media_ids(json: Option<&Value>) -> Option<Vec<String>> {
    let errors = json?.get("errors")?.as_array()?;
    let hit = errors.iter().find(|e| {
        e.get("message")
            .and_then(Value::as_str)
            .is_some_and(|m| m.to_ascii_lowercase().contains("media ids are invalid"))
    })?;
    let ids = hit
        .pointer("/parameters/media.media_ids")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_str).filter(|id| id.len() <= 19).map(super::clip).collect())
        .unwrap_or_default();
    Some(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_recorded_402_body_is_credits_and_never_an_outage() {
        // The account id is a bare number above 2^53, as captured.
        let captured: Value = serde_json::from_str(
            r#"{"account_id":2051096097834344448,"title":"CreditsDepleted","detail":"Your enrolled account [2051096097834344448] does not have any credits to fulfill this request.","type":"https://api.twitter.com/2/problems/credits"}"#,
        )
        .unwrap();
        let other = json!({"detail":"credits depleted","status":402,"title":"Payment Required","type":"https://api.x.com/2/problems/credits-depleted"});
        for body in [Some(&captured), Some(&other), None] {
            assert_eq!(AccountRefusal::of(402, body), Some(AccountRefusal::CreditsDepleted));
        }
    }

    #[test]
    fn a_usage_cap_is_told_from_the_fifteen_minute_window() {
        let cap = json!({"account_id":"1","product_name":"standard-basic","title":"UsageCapExceeded","period":"Monthly","scope":"Product","detail":"Usage cap exceeded: Monthly product cap","type":"https://api.twitter.com/2/problems/usage-capped"});
        assert_eq!(
            AccountRefusal::of(429, Some(&cap)),
            Some(AccountRefusal::UsageCapExceeded { period: Some("Monthly".into()) })
        );
        let window =
            json!({"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429});
        assert_eq!(AccountRefusal::of(429, Some(&window)), None);
    }

    #[test]
    fn enrolment_refusals_are_read_from_reason() {
        let client = json!({"title":"Client Forbidden","reason":"client-not-enrolled","type":"https://api.twitter.com/2/problems/client-forbidden"});
        let user = json!({"type":"https://api.x.com/2/problems/client-forbidden","title":"Client Forbidden","reason":"user-not-enrolled"});
        let scope = json!({"title":"Forbidden","type":"about:blank","status":403,"detail":"Forbidden"});
        assert_eq!(AccountRefusal::of(403, Some(&client)), Some(AccountRefusal::ClientNotEnrolled));
        assert_eq!(AccountRefusal::of(403, Some(&user)), Some(AccountRefusal::UserNotEnrolled));
        assert_eq!(AccountRefusal::of(403, Some(&scope)), None);
    }

    #[test]
    fn both_reply_wordings_and_the_quote_wording_are_named() {
        let old = "Reply to this conversation is not allowed because you have not been mentioned or otherwise engaged by the author of the post you are replying to.";
        let new = "You can only reply to or quote posts where you are mentioned or are the author.";
        let quote = "Quoting this post is not allowed because you have not been mentioned or are not part of the conversation thread of the post you are quoting.";
        assert_eq!(ContentRefusal::of(old, true, false), Some(ContentRefusal::ReplyNotAllowed));
        assert_eq!(ContentRefusal::of(new, true, false), Some(ContentRefusal::ReplyNotAllowed));
        assert_eq!(ContentRefusal::of(new, false, true), Some(ContentRefusal::QuoteNotAllowed));
        assert_eq!(ContentRefusal::of(quote, false, true), Some(ContentRefusal::QuoteNotAllowed));
        assert_eq!(
            ContentRefusal::of("You are not allowed to create a Tweet with duplicate content.", false, false),
            Some(ContentRefusal::Duplicate)
        );
        assert_eq!(ContentRefusal::of("You are not permitted to perform this action.", true, true), None);
        assert_eq!(ContentRefusal::of("Forbidden", true, false), None);
    }

    #[test]
    fn invalid_media_ids_come_with_the_ids_x_named() {
        let body = json!({"errors":[{"parameters":{"media.media_ids":["1757063824702574592"]},"message":"Your media IDs are invalid."}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request"});
        assert_eq!(invalid_media_ids(Some(&body)), Some(vec!["1757063824702574592".to_owned()]));
        let other = json!({"errors":[{"message":"text is missing"}]});
        assert_eq!(invalid_media_ids(Some(&other)), None);
    }
}
