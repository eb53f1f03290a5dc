//! `fake-x`: the fake X as a process, for tests that cannot hold it in process (Playwright).
//!
//! ```text
//! fake-x [--listen 127.0.0.1:3190] [--app CLIENT_ID:SECRET:CALLBACK[,CALLBACK...]]...
//! ```
//!
//! Prints its base URL (`http://127.0.0.1:3190`) as the first line on stdout once it accepts
//! connections; logs go to stderr. Stops on Ctrl-C or SIGTERM with status 0.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use fake_x::{FakeState, NewApp, serve};
use tracing_subscriber::EnvFilter;

#[derive(Parser, Debug)]
#[command(name = "fake-x", about = "A fake of X's OAuth 2.0 and API v2, for tests")]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "FAKE_X_LISTEN", default_value = "127.0.0.1:3190")]
    listen: SocketAddr,
    /// Pre-registers an app: CLIENT_ID:SECRET:CALLBACK[,CALLBACK...] (the callbacks may contain
    /// colons; the client id and secret cannot). Repeatable.
    #[arg(long = "app", value_parser = parse_app)]
    apps: Vec<NewApp>,
}

fn parse_app(spec: &str) -> Result<NewApp, String> {
    let mut parts = spec.splitn(3, ':');
    let (Some(client_id), Some(secret), Some(callbacks)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("expected CLIENT_ID:SECRET:CALLBACK[,CALLBACK...]".into());
    };
    if client_id.is_empty() || secret.is_empty() {
        return Err("the client id and the secret must not be empty".into());
    }
    let callbacks: Vec<&str> = callbacks.split(',').filter(|c| !c.is_empty()).collect();
    if callbacks.is_empty() {
        return Err("at least one callback URL is needed".into());
    }
    Ok(NewApp::new(callbacks).with_credentials(client_id, secret))
}

/// Resolves on Ctrl-C or SIGTERM (like `perch_server::shutdown_signal`, which this crate does not
/// depend on: the fake stands alone).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // stderr: stdout carries only the base URL, which the parent process reads.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();

    let state = FakeState::new();
    for app in args.apps {
        let app = state.register_app(app);
        tracing::info!(client_id = %app.client_id, callback_urls = ?app.callback_urls, "registered app");
    }
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("fake-x: cannot listen on {} (--listen / FAKE_X_LISTEN): {e}", args.listen);
            return ExitCode::from(2);
        }
    };
    let addr = listener.local_addr().unwrap_or(args.listen);
    println!("http://{addr}");
    let _ = std::io::stdout().flush();
    match serve(listener, state, shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fake-x: {e}");
            ExitCode::FAILURE
        }
    }
}
