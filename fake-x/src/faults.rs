//! Forced failures below X's own answers: 5xx, HTML pages, hangs and dropped connections.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::errors::{Problem, html_error_page};
use super::server::drop_connection;
use super::switches::{Fault, Switches};

/// The answer a fault forces, or `None` to carry on normally.
pub(crate) async fn answer(fault: Fault, switches: &Switches) -> Option<Response> {
    match fault {
        Fault::None => None,
        Fault::ServerError => {
            let status = StatusCode::from_u16(switches.server_error_status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            Some(Problem::ServerError(status).into_response())
        }
        Fault::Html200 => Some(html_error_page(StatusCode::OK)),
        Fault::Html503 => Some(html_error_page(StatusCode::SERVICE_UNAVAILABLE)),
        Fault::Hang => {
            tokio::time::sleep(Duration::from_millis(switches.hang_ms)).await;
            Some(drop_connection())
        }
        Fault::Close => Some(drop_connection()),
        Fault::OauthError => {
            let status = StatusCode::from_u16(switches.server_error_status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let (error, description) = if status == StatusCode::TOO_MANY_REQUESTS {
                ("rate_limit_exceeded", "Too many requests. Please try again later.")
            } else {
                ("server_error", "The authorization server encountered an unexpected condition.")
            };
            let body = serde_json::json!({ "error": error, "error_description": description });
            Some((status, axum::Json(body)).into_response())
        }
    }
}
