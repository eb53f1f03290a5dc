//! The reference for Perch's asset downloads (docs/benchmarks.md): a bare axum server that
//! answers every request with one file's bytes, read once at start, and no middleware. What
//! Perch's own `/pkg/perch.<version>.wasm` does beyond this is its cost.
//!
//! `cargo run --release -p server --example static_ceiling -- FILE ADDR [ENCODING]`, then
//! `wrk -t2 -c16 -d10s http://ADDR/`. With ENCODING (`br`), the answer carries that
//! `Content-Encoding`, as Perch's precompressed answer does.

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(file), Some(addr)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: static_ceiling FILE ADDR [ENCODING]");
    };
    let encoding = args.next();
    let bytes = Bytes::from(std::fs::read(&file)?);
    let app = Router::new().fallback(move || {
        let bytes = bytes.clone();
        let encoding = encoding.clone();
        async move {
            let mut res = bytes.into_response();
            res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/wasm"));
            if let Some(e) = encoding.and_then(|e| HeaderValue::from_str(&e).ok()) {
                res.headers_mut().insert(header::CONTENT_ENCODING, e);
            }
            res
        }
    });
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
