//! What X charges and refuses, as the dashboard shows it: the prices of the calls Perch makes
//! (X's pay-per-use price list) and each refusal Perch names, with its error code (the same as
//! the public API's `error.code`) and what to do. docs/x-api.md has the record behind both.

/// The date of X's price list below.
pub const X_PRICES_AS_OF: &str = "2026-08-13";

/// One of Perch's actions and what X bills for it.
pub struct XPrice {
    pub action: &'static str,
    pub call: &'static str,
    pub price: &'static str,
}

pub const X_PRICES: [XPrice; 5] = [
    XPrice {
        action: "A post (POST /v1/posts), a reply, each part of a thread",
        call: "POST /2/tweets",
        price: "$0.015",
    },
    XPrice { action: "A post with a link in its text", call: "POST /2/tweets", price: "$0.20" },
    XPrice { action: "A reply where the author mentioned the account", call: "POST /2/tweets", price: "$0.010" },
    XPrice {
        action: "Connect, Reconnect and Check (who the account is)",
        call: "GET /2/users/me",
        price: "$0.010 per account, at most once a day",
    },
    XPrice { action: "Test credentials, token refresh, Disconnect", call: "OAuth 2.0 token and revoke", price: "free" },
];

/// A refusal of X's that Perch names.
pub struct XRefusal {
    pub code: &'static str,
    pub title: &'static str,
    pub advice: &'static str,
}

pub const X_REFUSALS: [XRefusal; 11] = [
    XRefusal {
        code: "x_credits_depleted",
        title: "out of X credits (402)",
        advice: "The developer account that owns the X app has no pay-per-use credits left, or reached its spending limit: X refuses every call through the app, for every account, reads included. Buy credits or raise the limit in X's developer console (console.x.com). Nothing needs reconnecting; the warning here and on the account cards goes at the next call that succeeds.",
    },
    XRefusal {
        code: "x_usage_cap_exceeded",
        title: "usage cap (429 UsageCapExceeded)",
        advice: "The app used up its cap for the billing period (monthly), which is not the 15-minute rate limit: waiting a few minutes does not help. Calls work again with the next period; Retry-After says when the calendar month ends.",
    },
    XRefusal {
        code: "rate_limited",
        title: "rate limit (429)",
        advice: "The account's limit per 15 minutes (100 posts) or a 24-hour cap of the account or of the app is used up. Retry-After says when it resets.",
    },
    XRefusal {
        code: "x_client_not_enrolled",
        title: "app not enrolled (403 client-not-enrolled)",
        advice: "The X app is not attached to a Project, or its developer account is not enrolled for this endpoint. Fix it in X's developer console; nothing needs reconnecting.",
    },
    XRefusal {
        code: "x_user_not_enrolled",
        title: "user not enrolled (403 user-not-enrolled)",
        advice: "X billed the call to the X user instead of the app. Through your own app this should not happen: check which app the account was connected through (its card shows the Client ID).",
    },
    XRefusal {
        code: "missing_scopes",
        title: "missing scopes (403)",
        advice: "The account's token lacks a scope the call needs. Enable every scope listed in the guide above, then Reconnect the account.",
    },
    XRefusal {
        code: "x_reply_not_allowed",
        title: "reply not allowed (403)",
        advice: "Since February 2026, on self-serve API tiers an account may reply only where the post's author mentioned it, or to its own posts (a thread). Post without replying, or reply from X itself. Never retried, and not a scope problem.",
    },
    XRefusal {
        code: "x_quote_not_allowed",
        title: "quote not allowed (403)",
        advice: "Quoting through the API left X's self-serve tiers in April 2026, except where the account was mentioned. Put the post's link in the text instead.",
    },
    XRefusal {
        code: "x_duplicate",
        title: "duplicate post (403 at X, 409 here)",
        advice: "The account already posted this exact text. Change the text to post it again.",
    },
    XRefusal {
        code: "x_media_invalid",
        title: "media ids refused (400 at X, 422 here)",
        advice: "X did not accept the post's media ids: unknown, older than 24 hours, another account's, or still processing. Upload again for this account.",
    },
    XRefusal {
        code: "needs_reconnection",
        title: "needs reconnection (409)",
        advice: "X refused the account's tokens (revoked access, a rotated secret, another app). Reconnect the account from its card or hand its owner a new connect link.",
    },
];
