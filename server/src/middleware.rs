//! Cross-cutting HTTP behaviour: the cross-site wall, security headers, and the status codes of
//! server function errors.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use app::error::{AppError, ErrorCode};
use app::server::AppConfig;

/// `{"error": {...}}`, the JSON error shape of every Perch endpoint.
pub fn error_response(err: &AppError) -> Response {
    let status = StatusCode::from_u16(err.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = (status, axum::Json(serde_json::json!({ "error": err }))).into_response();
    if let Some(secs) = err.retry_after {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    res
}

/// Escapes text for HTML content and attribute values.
pub fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A page outside the app's pages (the OAuth endpoints): Perch's stylesheet, `title`, and
/// `main_html` (already escaped), under a CSP that allows nothing else.
pub fn standalone_page(status: StatusCode, title: &str, main_html: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><link rel=\"stylesheet\" href=\"{}\"></head><body><main id=\"main\" class=\"page\">{main_html}</main></body></html>\n",
        escape_html(title),
        crate::assets::stylesheet_href()
    );
    let csp = "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CONTENT_SECURITY_POLICY, csp)], body)
        .into_response()
}

/// A small HTML page for an error met outside the app's pages (the OAuth endpoints): the
/// message, its reference, and a way back. Its status is the error's.
pub fn error_page(err: &AppError, back: &str, back_label: &str) -> Response {
    let status = StatusCode::from_u16(err.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let main = format!(
        "<div class=\"banner banner-error\" role=\"alert\">{}</div><p><a class=\"btn btn-secondary\" href=\"{}\">{}</a></p>",
        escape_html(&err.to_string()),
        escape_html(back),
        escape_html(back_label)
    );
    let mut res = standalone_page(status, "Perch", &main);
    if let Some(secs) = err.retry_after {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    res
}

/// Refuses state-changing requests that a browser made on behalf of another site
/// (docs/security.md D.22). Browsers send `Sec-Fetch-Site` and `Origin` on such requests and page
/// scripts cannot forge them; clients that send neither (curl, API clients) are not browsers and
/// carry no ambient cookie risk.
pub async fn refuse_cross_site(State(config): State<Arc<AppConfig>>, req: Request, next: Next) -> Response {
    if !is_safe_method(req.method())
        && let Some(reason) = cross_site_reason(req.headers(), &config.public_origin)
    {
        tracing::warn!(method = %req.method(), path = %req.uri().path(), reason, "cross-site request refused");
        return error_response(&AppError::new(
            ErrorCode::CrossSite,
            format!(
                "This request came from another site and was refused. Use Perch at {} directly.",
                config.public_url
            ),
        ));
    }
    next.run(req).await
}

fn is_safe_method(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Why a request counts as cross-site, or `None` if it does not.
pub fn cross_site_reason(headers: &HeaderMap, public_origin: &str) -> Option<&'static str> {
    if let Some(site) = headers.get("sec-fetch-site") {
        // `none` is a user-initiated navigation (typed URL, bookmark); `same-site` is a sibling
        // subdomain, which is still another application.
        if !matches!(site.as_bytes(), b"same-origin" | b"none") {
            return Some("sec-fetch-site");
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN)
        && origin.as_bytes() != public_origin.as_bytes()
    {
        return Some("origin");
    }
    None
}

/// Whether `path` is the public API's (or the dashboard's JSON API's): `/v1` and below.
pub fn is_api_path(path: &str) -> bool {
    path == "/v1" || path.starts_with("/v1/")
}

/// Whether a path's percent-encoded bytes decode to UTF-8, as axum needs to read a path
/// parameter. A `%` not followed by two hex digits is taken literally, as axum does.
fn path_decodes(path: &str) -> bool {
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                decoded.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    std::str::from_utf8(&decoded).is_ok()
}

/// Every answer under `/v1` is JSON in the API's shape, `{"error": {"code", "message"}}`, even
/// the ones made before a handler runs or outside the API's code: the body limit's 413
/// (tower-http answers it as text), axum's rejections of a path or body it cannot read (text),
/// and the dashboard's HTML 404 page for `/v1` itself. A path whose percent-encoding is not
/// UTF-8 is refused here with `invalid_path`, before any route sees it. Headers that tell the
/// client what to do next (`Allow`, `Retry-After`, `WWW-Authenticate`) are kept.
pub async fn api_errors_as_json(req: Request, next: Next) -> Response {
    if !is_api_path(req.uri().path()) {
        return next.run(req).await;
    }
    if !path_decodes(req.uri().path()) {
        return error_response(&AppError::new(
            ErrorCode::InvalidPath,
            "The path is not valid: a percent-encoded part of it is not UTF-8. Ids are sent as they are, in ASCII.",
        ));
    }
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let res = next.run(req).await;
    let status = res.status();
    let is_json =
        res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let err = match status {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "The request body is larger than Perch reads ({} KiB). Every endpoint takes a small JSON body.",
                crate::BODY_LIMIT / 1024
            ),
        ),
        StatusCode::NOT_FOUND => {
            AppError::new(ErrorCode::NotFound, "No such endpoint. The endpoints are described at /v1/openapi.json.")
        }
        StatusCode::METHOD_NOT_ALLOWED => AppError::new(
            ErrorCode::MethodNotAllowed,
            "This path does not take this method; the Allow header lists the ones it takes.",
        ),
        s if s.is_server_error() => {
            tracing::error!(%method, path = %path, status = s.as_u16(), "a non-JSON server error under /v1");
            AppError::new(ErrorCode::Internal, "Something went wrong on our side. Try again.")
        }
        // axum's rejections of a path parameter or a body it could not read.
        _ => AppError::new(
            ErrorCode::BadRequest,
            "The request could not be read. The endpoints and what they take are described at /v1/openapi.json.",
        ),
    };
    let mut json = error_response(&err);
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(v) = res.headers().get(&name) {
            json.headers_mut().insert(name, v.clone());
        }
    }
    json
}

/// Security headers on every response (docs/security.md D.23). HTML pages carry their own
/// Content-Security-Policy with the nonce of their hydration script; everything else gets one
/// that allows nothing.
pub async fn security_headers(State(config): State<Arc<AppConfig>>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // `same-origin`, not `no-referrer`: forms posted without JavaScript are redirected back to
    // their page through the Referer.
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"));
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
        );
    }
    // Pages and API answers carry account data: never store them. Assets set their own policy.
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if config.https {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=63072000; includeSubDomains"));
    }
    res
}

/// Server functions answer every error with 500; this gives each its real status from the one
/// mapping in [`ErrorCode::status`], so API clients and tests see 401, 404, 422... Form posts
/// without JavaScript are redirects and pass through untouched.
pub async fn server_fn_status(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let is_json =
        res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR || !is_json {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
    };
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes) {
        if let Ok(status) = StatusCode::from_u16(err.code.status()) {
            parts.status = status;
        }
        if let Some(secs) = err.retry_after {
            parts.headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    const ORIGIN: &str = "http://127.0.0.1:3000";

    #[test]
    fn same_origin_and_non_browser_requests_pass() {
        assert_eq!(cross_site_reason(&headers(&[]), ORIGIN), None);
        assert_eq!(cross_site_reason(&headers(&[("origin", ORIGIN), ("sec-fetch-site", "same-origin")]), ORIGIN), None);
    }

    #[test]
    fn a_path_decodes_when_its_percent_encoding_is_utf8() {
        for ok in ["/v1/accounts/xac_1", "/v1/accounts/%C3%A9", "/v1/a%2Fb", "/v1/100%", "/v1/%zz", "/v1/%4"] {
            assert!(path_decodes(ok), "{ok}");
        }
        for bad in ["/v1/accounts/%FF", "/v1/accounts/%C3%28", "/v1/%ED%A0%80", "/v1/%c3"] {
            assert!(!path_decodes(bad), "{bad}");
        }
    }

    #[test]
    fn foreign_or_opaque_origins_are_cross_site() {
        assert!(cross_site_reason(&headers(&[("origin", "https://evil.example")]), ORIGIN).is_some());
        assert!(cross_site_reason(&headers(&[("origin", "null")]), ORIGIN).is_some());
        assert!(cross_site_reason(&headers(&[("sec-fetch-site", "cross-site")]), ORIGIN).is_some());
        assert!(cross_site_reason(&headers(&[("sec-fetch-site", "same-site")]), ORIGIN).is_some());
        // A look-alike origin is not the origin.
        assert!(cross_site_reason(&headers(&[("origin", "http://127.0.0.1:30000")]), ORIGIN).is_some());
    }
}
