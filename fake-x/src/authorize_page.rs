//! `GET /i/oauth2/authorize`, X's consent page, and `POST /i/oauth2/authorize/decision`, where its
//! buttons post (docs/x-api.md "Authorize").
//!
//! An unknown `client_id` or a `redirect_uri` that is not byte for byte one of the app's callback
//! URLs gets X's own dead end, "Something went wrong", and no redirect. The fake answers that page
//! with status 200, as X serves it (it is a page of its web app, not an HTTP error). The fake uses
//! the same page for the other invalid requests (wrong `response_type`, no `state` or a longer
//! one than 500 characters, no `code_challenge`, a method other than `S256`, no or unknown
//! scopes), for which X's behaviour is not on record; a small line under X's text names the
//! problem for whoever debugs a test.
//!
//! Beyond X, the page lets a tester pick the user who authorizes and untick scopes, so a browser
//! can produce a grant with missing scopes.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::oauth::FormFields;
use super::state::{FakeApp, FakeState, FakeUser, KNOWN_SCOPES};

/// The longest `state` X accepts.
const MAX_STATE_CHARS: usize = 500;

/// A valid authorization request.
struct AuthorizeRequest {
    app: FakeApp,
    redirect_uri: String,
    state: String,
    code_challenge: String,
    scopes: Vec<String>,
}

/// Checks the request as X does. The error is the fake's note on the dead-end page.
fn validate(state: &FakeState, params: &FormFields) -> Result<AuthorizeRequest, String> {
    let client_id = params.get("client_id").ok_or("client_id is missing")?;
    let app = state.app(client_id).ok_or_else(|| format!("no app has the client id {client_id}"))?;
    let redirect_uri = params.get("redirect_uri").ok_or("redirect_uri is missing")?;
    // No normalisation at all: a trailing slash, the scheme, the port and the path all count.
    if !app.callback_urls.iter().any(|url| url == redirect_uri) {
        return Err(format!(
            "redirect_uri {redirect_uri} is not one of the app's callback URLs {:?}",
            app.callback_urls
        ));
    }
    if params.get("response_type") != Some("code") {
        return Err("response_type must be code".into());
    }
    let state_param = params.get("state").ok_or("state is missing")?;
    if state_param.chars().count() > MAX_STATE_CHARS {
        return Err(format!("state is longer than {MAX_STATE_CHARS} characters"));
    }
    let code_challenge = params.get("code_challenge").ok_or("code_challenge is missing")?;
    if params.get("code_challenge_method") != Some("S256") {
        return Err("code_challenge_method must be S256".into());
    }
    let mut scopes: Vec<String> = Vec::new();
    for scope in params.get("scope").ok_or("scope is missing")?.split_whitespace() {
        if !KNOWN_SCOPES.contains(&scope) {
            return Err(format!("X has no scope {scope}"));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_string());
        }
    }
    if scopes.is_empty() {
        return Err("scope is empty".into());
    }
    Ok(AuthorizeRequest {
        app,
        redirect_uri: redirect_uri.into(),
        state: state_param.into(),
        code_challenge: code_challenge.into(),
        scopes,
    })
}

/// `GET /i/oauth2/authorize`.
pub(crate) async fn show(State(state): State<FakeState>, RawQuery(query): RawQuery) -> Response {
    let params = FormFields::parse(query.unwrap_or_default().as_bytes());
    match validate(&state, &params) {
        Ok(request) => {
            state.count(|c| c.authorize_pages += 1);
            html(StatusCode::OK, &consent_page(&request, &state.users(), &state.next_user()))
        }
        Err(note) => html(StatusCode::OK, &dead_end_page(&note)),
    }
}

/// `POST /i/oauth2/authorize/decision`: the form of the consent page. Everything is checked again,
/// since the form carries the request.
pub(crate) async fn decide(State(state): State<FakeState>, body: Bytes) -> Response {
    let form = FormFields::parse(&body);
    let request = match validate(&state, &form) {
        Ok(request) => request,
        Err(note) => return html(StatusCode::OK, &dead_end_page(&note)),
    };
    let mut location = request.redirect_uri.clone();
    location.push(if location.contains('?') { '&' } else { '?' });
    location.push_str(&format!("state={}", encode(&request.state)));
    if form.get("decision") == Some("authorize") {
        let user = match form.get("user_id") {
            Some(id) => match state.users().into_iter().find(|u| u.id == id) {
                Some(user) => user,
                None => return html(StatusCode::OK, &dead_end_page(&format!("no user has the id {id}"))),
            },
            None => state.next_user(),
        };
        let ticked: Vec<&str> = form.all("granted").collect();
        let granted: Vec<String> = request.scopes.iter().filter(|s| ticked.contains(&s.as_str())).cloned().collect();
        let code =
            state.issue_code(&request.app.client_id, &request.redirect_uri, &request.code_challenge, granted, &user.id);
        location.push_str(&format!("&code={}", encode(&code)));
    } else if state.switches().cancel_adds_access_denied {
        location.push_str("&error=access_denied");
    }
    let mut res = StatusCode::FOUND.into_response();
    match HeaderValue::from_str(&location) {
        Ok(value) => {
            res.headers_mut().insert(header::LOCATION, value);
            res
        }
        Err(_) => html(StatusCode::OK, &dead_end_page("the redirect would not be a valid header")),
    }
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn html(status: StatusCode, body: &str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body.to_string(),
    )
        .into_response()
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f7f9f9;color:#0f1419;margin:0}\
main{max-width:32rem;margin:3rem auto;background:#fff;border:1px solid #cfd9de;border-radius:16px;padding:2rem}\
h1{font-size:1.4rem}fieldset{border:1px solid #cfd9de;border-radius:8px;margin:1rem 0}\
label{display:block;margin:.3rem 0}.scope{font-family:ui-monospace,monospace}\
.buttons{display:flex;gap:.75rem;margin-top:1.5rem}\
button{font-size:1rem;border-radius:9999px;padding:.6rem 1.4rem;border:1px solid #0f1419;cursor:pointer}\
button.primary{background:#0f1419;color:#fff}button.secondary{background:#fff;color:#0f1419}\
.note{color:#536471;font-size:.8rem;margin-top:2rem}";

fn page(title: &str, content: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head>\n<body><main>{content}</main></body></html>\n",
        title = escape(title),
    )
}

/// X's page for a request it cannot send back: no redirect, the user is stuck here.
fn dead_end_page(note: &str) -> String {
    page(
        "X",
        &format!(
            "<h1>Something went wrong</h1>\
             <p>You weren't able to give access to the App. Go back and try logging in again.</p>\
             <p class=\"note\" id=\"fake-x-note\">fake-x: {}</p>",
            escape(note)
        ),
    )
}

fn consent_page(request: &AuthorizeRequest, users: &[FakeUser], next_user: &FakeUser) -> String {
    let hidden = [
        ("response_type", "code"),
        ("client_id", request.app.client_id.as_str()),
        ("redirect_uri", request.redirect_uri.as_str()),
        ("scope", &request.scopes.join(" ")),
        ("state", request.state.as_str()),
        ("code_challenge", request.code_challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(name, value)| format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">", escape(value)))
    .collect::<String>();
    let user_options = users
        .iter()
        .map(|u| {
            format!(
                "<option value=\"{}\"{}>{} (@{})</option>",
                escape(&u.id),
                if u.id == next_user.id { " selected" } else { "" },
                escape(&u.name),
                escape(&u.username)
            )
        })
        .collect::<String>();
    let scopes = request
        .scopes
        .iter()
        .map(|s| {
            format!(
                "<label><input type=\"checkbox\" name=\"granted\" value=\"{0}\" checked> <span class=\"scope\">{0}</span></label>",
                escape(s)
            )
        })
        .collect::<String>();
    let app_name = escape(&request.app.name);
    page(
        &format!("Authorize {} to access your account?", request.app.name),
        &format!(
            "<h1>{app_name} wants to access your X account.</h1>\
             <form method=\"post\" action=\"/i/oauth2/authorize/decision\">{hidden}\
             <label>Signed in as <select name=\"user_id\">{user_options}</select></label>\
             <fieldset><legend>{app_name} will be able to</legend>{scopes}</fieldset>\
             <div class=\"buttons\">\
             <button type=\"submit\" class=\"primary\" name=\"decision\" value=\"authorize\">Authorize app</button>\
             <button type=\"submit\" class=\"secondary\" name=\"decision\" value=\"cancel\">Cancel</button>\
             </div></form>\
             <p class=\"note\">fake-x: untick a scope to grant less than was asked for.</p>"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_html_specials() {
        assert_eq!(escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }
}
