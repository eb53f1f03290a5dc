//! Serving the fake: an HTTP/1 accept loop (hyper directly, because a handler must be able to
//! drop its connection without any answer, which `axum::serve` cannot do), and [`FakeX`], the
//! in-process handle tests hold.

use std::future::Future;
use std::net::SocketAddr;
use std::ops::Deref;
use std::time::Duration;

use axum::Router;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

use super::router;
use super::state::FakeState;

/// Marks a response the accept loop replaces with a dropped connection.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DropConnection;

/// A response that becomes "the connection closed without an answer". Served by anything but
/// [`serve`] (say `axum::serve`), it is a 502 that says what it stands for.
pub(crate) fn drop_connection() -> Response {
    let mut res = (StatusCode::BAD_GATEWAY, "fake-x: this connection is dropped without an answer\n").into_response();
    res.extensions_mut().insert(DropConnection);
    res
}

#[derive(Debug)]
struct ConnectionDropped;

impl std::fmt::Display for ConnectionDropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fake-x dropped the connection on purpose")
    }
}

impl std::error::Error for ConnectionDropped {}

/// Serves the fake on `listener` until `shutdown` completes. Open connections (a hanging one
/// included) are cut when it returns.
pub async fn serve(listener: TcpListener, state: FakeState, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let app: Router = router(state);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "fake-x: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => return Ok(()),
        };
        while connections.try_join_next().is_some() {}
        let app = app.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let app = app.clone();
                async move {
                    let res = app.oneshot(req).await.unwrap_or_else(|never| match never {});
                    // An error from the service makes hyper close the connection unanswered.
                    if res.extensions().get::<DropConnection>().is_some() { Err(ConnectionDropped) } else { Ok(res) }
                }
            });
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

/// A fake X on a loopback port, for tests in this process. It derefs to its [`FakeState`], so
/// the control operations are methods of the handle: `fake.register_app(...)`. Dropping it stops
/// the server.
pub struct FakeX {
    state: FakeState,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl FakeX {
    /// Starts a fake with fresh state on `127.0.0.1:0`.
    ///
    /// # Panics
    /// When no loopback port can be bound, which no test can recover from.
    pub async fn start() -> FakeX {
        FakeX::bind("127.0.0.1:0".parse().expect("valid address"), FakeState::new())
            .await
            .expect("fake-x: cannot bind a loopback port")
    }

    /// Starts a fake on `addr` with the given state.
    pub async fn bind(addr: SocketAddr, state: FakeState) -> std::io::Result<FakeX> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let served = state.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = serve(listener, served, std::future::pending()).await {
                tracing::error!(error = %e, "fake-x stopped");
            }
        });
        Ok(FakeX { state, addr, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`: what `PERCH_X_API_URL` points at.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `<base>/i/oauth2/authorize`: what `PERCH_X_AUTHORIZE_URL` points at.
    pub fn authorize_url(&self) -> String {
        format!("{}/i/oauth2/authorize", self.base_url())
    }

    /// `<base>/2/oauth2/token`.
    pub fn token_url(&self) -> String {
        format!("{}/2/oauth2/token", self.base_url())
    }

    /// `<base>/2/oauth2/revoke`.
    pub fn revoke_url(&self) -> String {
        format!("{}/2/oauth2/revoke", self.base_url())
    }

    pub fn state(&self) -> &FakeState {
        &self.state
    }
}

impl Deref for FakeX {
    type Target = FakeState;

    fn deref(&self) -> &FakeState {
        &self.state
    }
}

impl Drop for FakeX {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which cuts every open connection.
        self.task.abort();
    }
}
