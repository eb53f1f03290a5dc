//! Logging with `tracing`; `RUST_LOG` sets the level (default `info`).
//!
//! Request spans record the method and the path only, never the query string: OAuth callbacks
//! carry a `code` and `state` there, and nothing secret may reach the log (docs/security.md B.11).

use axum::http::Request;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultOnRequest, DefaultOnResponse, MakeSpan, TraceLayer};
use tracing::{Level, Span};
use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn,tower_sessions_core=warn"));
    // Logs go to standard error: standard output is for what a command prints (`perch credentials
    // list` piped into a script), and a service manager collects both.
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr).try_init();
}

#[derive(Clone, Copy, Debug, Default)]
pub struct PathOnlySpan;

impl<B> MakeSpan<B> for PathOnlySpan {
    fn make_span(&mut self, req: &Request<B>) -> Span {
        tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
    }
}

pub type Trace =
    TraceLayer<SharedClassifier<ServerErrorsAsFailures>, PathOnlySpan, DefaultOnRequest, DefaultOnResponse>;

pub fn trace_layer() -> Trace {
    TraceLayer::new_for_http()
        .make_span_with(PathOnlySpan)
        .on_request(DefaultOnRequest::new().level(Level::DEBUG))
        .on_response(DefaultOnResponse::new().level(Level::INFO))
}
