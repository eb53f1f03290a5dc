//! The site's static files, compiled into the binary so that `perch` alone serves everything.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../target/site"]
#[exclude = "*.map"]
struct Site;

/// The embedded file at `path`, with its content type and an ETag, or `None`.
pub fn serve(path: &str, request_headers: &HeaderMap) -> Option<Response> {
    let path = path.trim_start_matches('/');
    if path.is_empty() {
        return None;
    }
    let file = Site::get(path)?;
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16]));
    let etag = HeaderValue::from_str(&etag).ok()?;
    // File names are not content-hashed, so browsers revalidate each time (a cheap 304).
    let cache = HeaderValue::from_static("no-cache");
    if request_headers.get(header::IF_NONE_MATCH) == Some(&etag) {
        return Some(
            (StatusCode::NOT_MODIFIED, [(header::ETAG, etag), (header::CACHE_CONTROL, cache)]).into_response(),
        );
    }
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let mut res = Response::new(Body::from(file.data.into_owned()));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_str(mime.as_ref()).ok()?);
    h.insert(header::ETAG, etag);
    h.insert(header::CACHE_CONTROL, cache);
    Some(res)
}

/// Whether the embedded site has the hydration bundle (false in a plain `cargo build`).
pub fn has_bundle() -> bool {
    Site::get("pkg/perch.wasm").is_some() && Site::get("pkg/perch.js").is_some()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
