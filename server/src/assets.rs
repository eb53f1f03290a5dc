//! The site's static files, compiled into the binary so that `perch` alone serves everything,
//! and served the way a CDN would:
//!
//! - Each file's brotli and gzip bytes were made once, at build time, at the highest levels
//!   (`scripts/precompress.mjs`, beside each file as `<file>.br` / `<file>.gz`); a download
//!   sends them as they are, with no compression on the request's time.
//! - The bundle (`pkg/perch.js`, `.wasm`, `.css`) is also served under a name that carries a
//!   hash of its content, `/pkg/perch.<version>.wasm`, which is what pages ask for
//!   ([`output_name`]); such a name never changes meaning, so browsers keep the file for a year
//!   without asking again (`immutable`). A new build has a new name.
//! - Under their plain names, files are revalidated each time (`no-cache`, a 304 by ETag).

use std::borrow::Cow;
use std::sync::LazyLock;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

#[derive(RustEmbed)]
#[folder = "../target/site"]
#[exclude = "*.map"]
struct Site;

/// The bundle's name without a version (`LEPTOS_OUTPUT_NAME` at build time).
const NAME: &str = "perch";
const BUNDLE: [&str; 3] = ["js", "wasm", "css"];
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// The bundle's version: 16 hex digits of a SHA-256 over its three files' hashes, so that any
/// change to any of them moves all three names at once. `None` for a binary without a bundle.
static VERSION: LazyLock<Option<String>> = LazyLock::new(|| {
    let mut hasher = Sha256::new();
    for ext in BUNDLE {
        hasher.update(Site::get(&format!("pkg/{NAME}.{ext}"))?.metadata.sha256_hash());
    }
    Some(hex(&hasher.finalize()[..8]))
});

/// The name pages give the bundle: `perch.<version>` (Leptos's `output_name`: the hydration
/// script asks for `/pkg/<output_name>.js` and `.wasm`, the shell for `.css`).
pub fn output_name() -> String {
    match VERSION.as_deref() {
        Some(version) => format!("{NAME}.{version}"),
        None => NAME.to_owned(),
    }
}

/// The stylesheet's address, for pages rendered outside the app (`middleware::standalone_page`).
pub fn stylesheet_href() -> String {
    format!("/pkg/{}.css", output_name())
}

/// Whether the embedded site has the hydration bundle (false in a plain `cargo build`).
pub fn has_bundle() -> bool {
    VERSION.is_some()
}

/// The embedded file at `path`, in the best encoding the request accepts, with its content
/// type, ETag and caching; `None` when there is no such file.
pub fn serve(path: &str, request_headers: &HeaderMap) -> Option<Response> {
    let path = path.trim_start_matches('/');
    // The compressed variants are representations of their files, not files of their own.
    if path.is_empty() || path.ends_with(".br") || path.ends_with(".gz") {
        return None;
    }
    let (path, cache) = match unversioned(path) {
        Some(plain) => (Cow::Owned(plain), IMMUTABLE),
        None => (Cow::Borrowed(path), REVALIDATE),
    };
    let file = Site::get(&path)?;
    // The file's precompressed variants, each looked up once; the first the request accepts wins.
    let mut variants = [("br", "br"), ("gzip", "gz")]
        .into_iter()
        .filter_map(|(coding, suffix)| Some((coding, suffix, Site::get(&format!("{path}.{suffix}"))?)))
        .peekable();
    let has_variants = variants.peek().is_some();
    let encoded = variants.find(|(coding, _, _)| accepts(request_headers, coding));
    let base_tag = hex(&file.metadata.sha256_hash()[..16]);
    // Each representation has its own strong ETag (RFC 9110 8.8.3).
    let etag = match encoded {
        Some((_, suffix, _)) => format!("\"{base_tag}.{suffix}\""),
        None => format!("\"{base_tag}\""),
    };
    let etag = HeaderValue::from_str(&etag).ok()?;
    let mut headers = HeaderMap::new();
    headers.insert(header::ETAG, etag.clone());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if has_variants {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if matches_etag(request_headers, &etag) {
        return Some((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    let mime = mime_guess::from_path(path.as_ref()).first_or_octet_stream();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(mime.as_ref()).ok()?);
    let data = match encoded {
        Some((coding, _, variant)) => {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
            variant.data
        }
        None => file.data,
    };
    let body = match data {
        Cow::Borrowed(bytes) => Bytes::from_static(bytes),
        Cow::Owned(bytes) => Bytes::from(bytes),
    };
    Some((headers, Body::from(body)).into_response())
}

/// `pkg/perch.js` for `pkg/perch.<version>.js` of this build's version (the wasm also as
/// `perch.<version>_bg.wasm`, the name a build without `LEPTOS_OUTPUT_NAME` asks for).
/// A request for another version is not this build's file: not found.
fn unversioned(path: &str) -> Option<String> {
    let version = VERSION.as_deref()?;
    let rest = path.strip_prefix("pkg/")?.strip_prefix(NAME)?.strip_prefix('.')?.strip_prefix(version)?;
    let ext = rest.strip_prefix("_bg").unwrap_or(rest).strip_prefix('.')?;
    BUNDLE.contains(&ext).then(|| format!("pkg/{NAME}.{ext}"))
}

/// Whether `Accept-Encoding` accepts `coding`: named with a q-value above 0, or, when not
/// named, through `*` (RFC 9110 12.5.3).
fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    let mut star = None;
    for item in
        headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(','))
    {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let q =
            parts.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok())).unwrap_or(1.0);
        if name.eq_ignore_ascii_case(coding) {
            return q > 0.0;
        }
        if name == "*" {
            star = Some(q > 0.0);
        }
    }
    star.unwrap_or(false)
}

/// Whether `If-None-Match` names `etag` (or is `*`).
fn matches_etag(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let Ok(etag) = etag.to_str() else { return false };
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn accept_encoding_is_read_with_its_q_values() {
        let ae = |v| with(header::ACCEPT_ENCODING, v);
        assert!(accepts(&ae("gzip, deflate, br, zstd"), "br"));
        assert!(accepts(&ae("gzip, deflate, br, zstd"), "gzip"));
        assert!(!accepts(&ae("gzip"), "br"));
        assert!(!accepts(&ae("br;q=0, gzip"), "br"));
        assert!(accepts(&ae("BR;q=0.5"), "br"));
        assert!(accepts(&ae("*"), "br"));
        assert!(!accepts(&ae("br;q=0, *"), "br"), "a coding named with q=0 is refused whatever `*` says");
        assert!(!accepts(&ae("*;q=0"), "gzip"));
        assert!(!accepts(&HeaderMap::new(), "gzip"), "no header: identity only");
    }

    #[test]
    fn if_none_match_matches_any_listed_tag() {
        let tag = HeaderValue::from_static("\"abc.br\"");
        assert!(matches_etag(&with(header::IF_NONE_MATCH, "\"x\", \"abc.br\""), &tag));
        assert!(matches_etag(&with(header::IF_NONE_MATCH, "W/\"abc.br\""), &tag));
        assert!(matches_etag(&with(header::IF_NONE_MATCH, "*"), &tag));
        assert!(!matches_etag(&with(header::IF_NONE_MATCH, "\"abc\""), &tag), "another representation's tag");
    }
}
