//! Test harness: the real router on a loopback port, over a fresh database per test, SQLite or
//! PostgreSQL (docs/security.md H.36). PostgreSQL tests create their own database and drop it.

pub mod api;
pub mod connect;
pub mod leaks;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use app::server::AppState;
use perch_server::{Config, build_router, build_state};
use reqwest::header::{ACCEPT, ORIGIN};
use serde_json::Value;

/// Runs the real `perch` binary with exactly `env` (a master key or log level in the caller's
/// environment would change the outcome), feeding `stdin`: (exit code, stdout, stderr).
pub fn run_perch(env: &[(String, String)], args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_perch"))
        .args(args)
        .env_remove("PERCH_MASTER_KEY")
        .env_remove("PERCH_MASTER_KEY_FILE")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each listed `async fn name(backend: Backend)` as two tests, `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::common::Backend::Sqlite).await }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::common::Backend::Postgres).await }
            )*
        }
    };
}

pub fn postgres_admin_url() -> String {
    std::env::var("PERCH_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database that exists for one test and is removed afterwards, with a data directory of its
/// own (where SQLite lives and the master key file is generated).
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    pub dir: PathBuf,
    /// `PERCH_MASTER_KEY` for PostgreSQL, which refuses to generate a key file.
    pub master_key: Option<String>,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let dir = std::env::temp_dir().join(format!("perch-test-{tag}"));
        std::fs::create_dir_all(&dir).unwrap();
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", dir.join("perch.db").display());
                TestDb { url, backend, dir, master_key: None, pg_name: None }
            }
            Backend::Postgres => {
                use sqlx::Connection;
                let name = format!("perch_test_{tag}");
                let admin = postgres_admin_url();
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .expect("PostgreSQL at 127.0.0.1:5432 (start it with pg_ctlcluster, see docs/development.md)");
                sqlx::query(&format!("create database {name}")).execute(&mut conn).await.unwrap();
                let _ = conn.close().await;
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                TestDb {
                    url: format!("{base}/{name}"),
                    backend,
                    dir,
                    master_key: Some(app::server::infra::vault::generate_key_base64()),
                    pg_name: Some(name),
                }
            }
        }
    }

    /// The settings that point Perch at this database.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("PERCH_DATABASE_URL".to_owned(), self.url.clone()),
            ("PERCH_DATA_DIR".to_owned(), self.dir.display().to_string()),
        ];
        if let Some(key) = &self.master_key {
            env.push(("PERCH_MASTER_KEY".to_owned(), key.clone()));
        }
        env
    }

    /// The SQLite database file and its WAL (for at-rest checks).
    pub fn sqlite_files(&self) -> Vec<PathBuf> {
        if self.backend != Backend::Sqlite {
            return vec![];
        }
        std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("perch.db")))
            .collect()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(name) = self.pg_name.take() {
            // Drop runs outside async: a small runtime of its own does the clean-up.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async move {
                    use sqlx::Connection;
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
                        let _ = sqlx::query(&format!("drop database if exists {name} with (force)"))
                            .execute(&mut conn)
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

/// A running Perch.
pub struct TestApp {
    pub base: String,
    pub addr: SocketAddr,
    pub state: AppState,
    pub db: TestDb,
    server: tokio::task::JoinHandle<()>,
    settings: Vec<(String, String)>,
}

/// A Perch serving on a loopback port (a [`TestApp`]'s, or a second instance on its database).
pub struct Instance {
    pub base: String,
    pub state: AppState,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves Perch on `db` with `settings`; its public URL is its own address unless given.
async fn launch(
    db: &TestDb,
    public_url: Option<&str>,
    settings: &[(&str, &str)],
) -> (String, SocketAddr, AppState, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let mut vars: HashMap<String, String> = HashMap::from([
        ("PERCH_LISTEN".into(), addr.to_string()),
        ("PERCH_PUBLIC_URL".into(), public_url.unwrap_or(&base).to_owned()),
    ]);
    vars.extend(db.env());
    for (k, v) in settings {
        vars.insert(k.to_string(), v.to_string());
    }
    let config = Config::from_vars(&vars).unwrap();
    let state = build_state(&config).await.unwrap();
    let router = build_router(state.clone(), addr);
    let server = tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    (base, addr, state, server)
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, &[]).await
    }

    /// Starts Perch with extra `PERCH_*` settings.
    pub async fn spawn_with(backend: Backend, settings: &[(&str, &str)]) -> Self {
        Self::start(TestDb::new(backend).await, settings).await
    }

    /// Starts Perch on a database that already exists (made by the CLI, say).
    pub async fn spawn_on(db: TestDb) -> Self {
        Self::start(db, &[]).await
    }

    async fn start(db: TestDb, settings: &[(&str, &str)]) -> Self {
        let (base, addr, state, server) = launch(&db, None, settings).await;
        let settings = settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        TestApp { base, addr, state, db, server, settings }
    }

    /// Another Perch on the same database, master key, public URL and settings: what a
    /// deployment of several instances runs.
    pub async fn another_instance(&self) -> Instance {
        let settings: Vec<(&str, &str)> = self.settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (base, _, state, server) = launch(&self.db, Some(&self.base), &settings).await;
        Instance { base, state, server }
    }

    /// A browser-like client with its own cookie jar that does not follow redirects.
    pub fn client(&self) -> Client {
        Client {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                // A request that never gets an answer fails the test instead of hanging the suite.
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap(),
            base: self.base.clone(),
        }
    }

    /// Signs up a new organization and returns a client signed in as its owner (sign-up itself
    /// never signs in: it answers a taken email exactly like a new one).
    pub async fn owner(&self, org: &str, email: &str) -> Client {
        let c = self.client();
        let res = c.call("signup", &[("org_name", org), ("email", email), ("password", PASSWORD)]).await;
        assert_eq!(res.status, 200, "sign-up failed: {}", res.body);
        let res = c.call("login", &[("email", email), ("password", PASSWORD)]).await;
        assert_eq!(res.status, 200, "sign-in after sign-up failed: {}", res.body);
        c
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("select count(*) from {table}")).fetch_one(self.state.db.pool()).await.unwrap()
    }
}

pub const PASSWORD: &str = "correct horse battery staple";

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The `code` of an error answer.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }

    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
    }
}

impl Client {
    async fn reply(res: reqwest::Response) -> Reply {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.text().await.unwrap();
        Reply { status, headers, body }
    }

    /// Calls a server function the way the hydrated page does (form-encoded, JSON back).
    pub async fn call(&self, name: &str, form: &[(&str, &str)]) -> Reply {
        let res = self
            .http
            .post(format!("{}/api/{name}", self.base))
            .header(ORIGIN, &self.base)
            .header(ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .unwrap();
        Self::reply(res).await
    }

    /// Posts a form the way a browser without JavaScript does (HTML accepted, Referer set).
    pub async fn post_form(&self, name: &str, form: &[(&str, &str)], referer: &str) -> Reply {
        let res = self
            .http
            .post(format!("{}/api/{name}", self.base))
            .header(ORIGIN, &self.base)
            .header(ACCEPT, "text/html,application/xhtml+xml")
            .header("referer", format!("{}{referer}", self.base))
            .form(form)
            .send()
            .await
            .unwrap();
        Self::reply(res).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        let res = self.http.get(format!("{}{path}", self.base)).header(ACCEPT, "text/html").send().await.unwrap();
        Self::reply(res).await
    }

    pub async fn viewer(&self) -> Value {
        let r = self.call("viewer", &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    }
}

/// Sends a request built on a client's `http` and reads the whole answer.
pub async fn send(req: reqwest::RequestBuilder) -> Reply {
    Client::reply(req.send().await.unwrap()).await
}

/// Creates a brand through the page's server function; returns its id.
pub async fn brand(c: &Client, name: &str) -> String {
    let r = c.call("brands/create", &[("name", name)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["id"].as_str().unwrap().to_owned()
}

/// The signed-in user's organization id.
pub async fn org_id(c: &Client) -> app::domain::OrgId {
    app::domain::OrgId::parse(c.viewer().await["org_id"].as_str().unwrap()).unwrap()
}
