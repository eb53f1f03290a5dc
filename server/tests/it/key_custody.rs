//! Key custody (issue 11, items 7 to 9; docs/security.md A.7): a copy of the data directory is not
//! readable by other users, Perch never runs with master keys that cannot open what the database
//! holds (nor generates a fresh key beside such secrets), and a secret sealed with a key the
//! server lacks is explained to the operator rather than failing as an internal error.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Backend, TestApp, TestDb, send};
use app::server::infra::vault::{self, Aad, KeyRing, KeySource, MasterKey};
use perch_server::{Config, build_state};

const CLIENT_ID: &str = "M1M5R3BMVy13QmpScXkzTUt5OE46MTpjaQ";
const SECRET: &str = "Sc7Tvo_hBKqFYY_kv5ZJr3J1TWDtkwtDDb-xHKas1VOqg6YYZY";

use crate::common::run_perch as perch;

/// `perch serve`, which must refuse before it listens: an exit within 30 s, or a failure (a
/// server that starts is killed, not left running).
fn serve_refuses(env: &[(String, String)]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_perch"))
        .arg("serve")
        .env_remove("PERCH_MASTER_KEY")
        .env_remove("PERCH_MASTER_KEY_FILE")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("PERCH_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!("`perch serve` started instead of refusing:\n{}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn hex(id: u32) -> String {
    format!("{id:#010x}")
}

/// The base64 master key that seals this database's secrets: PostgreSQL's `PERCH_MASTER_KEY`,
/// or the key line of the SQLite data directory's generated key file.
fn sealing_key(db: &TestDb) -> String {
    match &db.master_key {
        Some(key) => key.clone(),
        None => std::fs::read_to_string(db.dir.join(vault::DEFAULT_KEY_FILE))
            .unwrap()
            .lines()
            .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .unwrap()
            .to_owned(),
    }
}

fn key_id_of(base64_key: &str) -> u32 {
    let dir = std::env::temp_dir();
    vault::load(KeySource::new(Some(base64_key.to_owned()), None, &dir)).unwrap().ring.newest_key_id()
}

/// `db`'s settings with `PERCH_MASTER_KEY` set to `keys` instead.
fn with_keys(db: &TestDb, keys: &str) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = db.env().into_iter().filter(|(k, _)| k != "PERCH_MASTER_KEY").collect();
    env.push(("PERCH_MASTER_KEY".into(), keys.to_owned()));
    env
}

/// The settings of `db` after its master key is lost: the SQLite key file deleted, or
/// PostgreSQL's `PERCH_MASTER_KEY` left out.
fn key_lost(db: &TestDb) -> Vec<(String, String)> {
    let _ = std::fs::remove_file(db.dir.join(vault::DEFAULT_KEY_FILE));
    db.env().into_iter().filter(|(k, _)| k != "PERCH_MASTER_KEY").collect()
}

/// Creates the organization "Acme" and saves its default X app credentials, through the CLI.
fn org_with_credentials(db: &TestDb) {
    let (code, _, err) = perch(
        &db.env(),
        &["user", "create", "--email", "a@example.com", "--org", "Acme"],
        &format!("{}\n", crate::common::PASSWORD),
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) =
        perch(&db.env(), &["credentials", "set", "--org", "Acme", "--client-id", CLIENT_ID], &format!("{SECRET}\n"));
    assert_eq!(code, 0, "{err}");
}

/// A refusal names the missing key id as the logs print it and the settings that give it back.
fn assert_names_the_key(what: &str, err: &str, key_id: u32) {
    for says in [hex(key_id).as_str(), "which this server does not have", "PERCH_MASTER_KEY_FILE", "PERCH_MASTER_KEY"] {
        assert!(err.contains(says), "{what}: the refusal lacks `{says}`:\n{err}");
    }
}

// ---- item 7: the data directory --------------------------------------------------------------

/// A.7 (issue 11 item 7): after a first run the data directory is 0700 and every file in it is
/// 0600: the database, its WAL and shared-memory files, and the generated key file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a7_first_run_makes_the_data_dir_0700_and_every_file_in_it_0600() {
    let db = TestDb::new(Backend::Sqlite).await;
    let data = db.dir.join("data");
    let vars = HashMap::from([
        ("PERCH_DATA_DIR".to_owned(), data.display().to_string()),
        ("PERCH_DATABASE_URL".to_owned(), format!("sqlite://{}", data.join("perch.db").display())),
    ]);
    // Migrating and recording the key id write, so the WAL holds something while the pool is open.
    let state = build_state(&Config::from_vars(&vars).unwrap()).await.unwrap();

    assert_eq!(mode(&data), 0o700, "the data directory");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        names.push(path.file_name().unwrap().to_string_lossy().into_owned());
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    names.sort();
    assert_eq!(names, ["master.key", "perch.db", "perch.db-shm", "perch.db-wal"]);
    state.db.close().await;
}

/// A.7 (issue 11 item 7): an existing data directory other users can enter is reported at
/// startup, naming the setting and the path; a private one is not.
#[test]
fn a7_an_existing_data_dir_other_users_can_enter_is_warned_about() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(TestDb::new(Backend::Sqlite));
    let dir = db.dir.display().to_string();
    std::fs::set_permissions(&db.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, _, err) = perch(&db.env(), &["migrate"], "");
    assert_eq!(code, 0, "{err}");
    let warning = err
        .lines()
        .find(|l| l.contains("WARN") && l.contains("PERCH_DATA_DIR"))
        .unwrap_or_else(|| panic!("no warning:\n{err}"));
    for says in [dir.as_str(), "0755", "chmod 700"] {
        assert!(warning.contains(says), "the warning lacks `{says}`: {warning}");
    }

    std::fs::set_permissions(&db.dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let (code, _, err) = perch(&db.env(), &["migrate"], "");
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("PERCH_DATA_DIR"), "a private directory is not reported:\n{err}");
}

// ---- item 8: a missing master key stops startup ----------------------------------------------

/// A.7: a first run on an empty data directory still generates the key file, 0600.
#[test]
fn a7_a_fresh_data_dir_still_generates_a_key_file() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(TestDb::new(Backend::Sqlite));
    let (code, _, err) = perch(&db.env(), &["migrate"], "");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("generated a new master key"), "{err}");
    assert_eq!(mode(&db.dir.join(vault::DEFAULT_KEY_FILE)), 0o600);
}

/// A.7 (issue 11 item 8): once secrets are sealed, deleting the key file (a restore without
/// it, a command run from another directory) stops `perch serve` and every command that opens
/// the vault, naming the key id and the settings; no new key file is written. With the file
/// back, everything works again.
#[test]
fn a7_a_lost_key_file_stops_every_command_naming_the_key_and_none_is_generated() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(TestDb::new(Backend::Sqlite));
    org_with_credentials(&db);
    let key_file = db.dir.join(vault::DEFAULT_KEY_FILE);
    let saved = std::fs::read(&key_file).unwrap();
    let key_id = key_id_of(&sealing_key(&db));

    let env = key_lost(&db);
    let user = format!("{}\n", crate::common::PASSWORD);
    let secret = format!("{SECRET}\n");
    for (args, stdin) in [
        (vec!["migrate"], ""),
        (vec!["credentials", "list"], ""),
        (vec!["credentials", "set", "--org", "Acme", "--client-id", CLIENT_ID], secret.as_str()),
        (vec!["credentials", "remove", "--org", "Acme"], ""),
        (vec!["keys", "rewrap"], ""),
        (vec!["user", "create", "--email", "b@example.com", "--org", "Acme"], user.as_str()),
    ] {
        let (code, out, err) = perch(&env, &args, stdin);
        assert_ne!(code, 0, "{args:?} ran: {out}");
        assert_names_the_key(&format!("{args:?}"), &err, key_id);
        assert!(!key_file.exists(), "{args:?} generated a new key file");
    }
    assert_names_the_key("perch serve", &serve_refuses(&env), key_id);
    assert!(!key_file.exists(), "perch serve generated a new key file");

    std::fs::write(&key_file, saved).unwrap();
    let (code, out, err) = perch(&db.env(), &["credentials", "list"], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("M1M5R3…"), "the credentials are intact: {out}");
}

on_both_databases!(
    a7_another_master_key_than_the_one_that_sealed_the_data_is_refused,
    a7_the_key_a_database_was_used_with_is_required_before_anything_is_sealed,
    a7_a9_a_credential_sealed_with_a_key_the_server_lacks_is_explained_not_an_internal_error,
);

/// A.7 (issue 11 item 8): `PERCH_MASTER_KEY` holding another key than the one that sealed the
/// stored secrets is refused, naming the missing key id; the ring with both keys (a rotation
/// under way) starts.
async fn a7_another_master_key_than_the_one_that_sealed_the_data_is_refused(b: Backend) {
    let db = TestDb::new(b).await;
    org_with_credentials(&db);
    let sealing = sealing_key(&db);
    let other = vault::generate_key_base64();

    let (code, out, err) = perch(&with_keys(&db, &other), &["credentials", "list"], "");
    assert_ne!(code, 0, "{out}");
    assert_names_the_key("another key", &err, key_id_of(&sealing));
    assert!(err.contains(&hex(key_id_of(&other))), "the refusal says which key it has: {err}");
    assert!(!err.contains(&sealing) && !err.contains(&other), "never a key itself: {err}");
    assert_names_the_key("perch serve", &serve_refuses(&with_keys(&db, &other)), key_id_of(&sealing));

    let (code, out, err) = perch(&with_keys(&db, &format!("{sealing},{other}")), &["credentials", "list"], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("M1M5R3…"), "{out}");
}

/// A.7 (issue 11 item 8): the key a database was first used with is recorded (its id, never
/// the key), so another key is refused even while nothing is sealed yet, and no key file is
/// generated beside it. `perch keys forget` drops the record of a lost key that sealed nothing.
async fn a7_the_key_a_database_was_used_with_is_required_before_anything_is_sealed(b: Backend) {
    let db = TestDb::new(b).await;
    let (code, _, err) = perch(&db.env(), &["migrate"], "");
    assert_eq!(code, 0, "{err}");
    let first = key_id_of(&sealing_key(&db));

    let lost = key_lost(&db);
    let (code, out, err) = perch(&lost, &["migrate"], "");
    assert_ne!(code, 0, "{out}");
    assert_names_the_key("a recorded key", &err, first);
    assert!(err.contains(&format!("perch keys forget {}", hex(first))), "{err}");
    assert!(!db.dir.join(vault::DEFAULT_KEY_FILE).exists(), "no key file generated");

    let (code, out, err) = perch(&lost, &["keys", "forget", &hex(first)], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Forgot master key"), "{out}");
    // Now the database starts over: SQLite generates a key, PostgreSQL takes the one it is given.
    let next = match b {
        Backend::Sqlite => lost,
        Backend::Postgres => with_keys(&db, &vault::generate_key_base64()),
    };
    let (code, _, err) = perch(&next, &["migrate"], "");
    assert_eq!(code, 0, "{err}");
}

/// A.7 (issue 11 item 9): a credential sealed with a master key the running server lacks (one
/// written by an instance given another key) shows the operator's message on the settings page,
/// which still answers 200; saving over it, connecting through it and the JSON API say the same
/// with 503 `master_key_missing` and no correlation id; `perch credentials list` names the key.
async fn a7_a9_a_credential_sealed_with_a_key_the_server_lacks_is_explained_not_an_internal_error(b: Backend) {
    let app = TestApp::spawn(b).await;
    let c = app.owner("Acme", "a@example.com").await;
    let credentials = format!("{}/v1/integrations/twitter/credentials", c.base);
    let pair = serde_json::json!({"client_id": CLIENT_ID, "client_secret": SECRET});
    let r = send(c.http.put(&credentials).header("origin", &c.base).json(&pair)).await;
    assert_eq!(r.status, 201, "{}", r.body);

    // Sealed in the right place, under a key this server does not have.
    let foreign = KeyRing::new(vec![MasterKey::generate()]).unwrap();
    let missing = foreign.newest_key_id();
    let (id, org_id): (String, String) =
        sqlx::query_as("select id, org_id from twitter_credentials").fetch_one(app.state.db.pool()).await.unwrap();
    let place = |field| Aad { org_id: &org_id, record_id: &id, field };
    sqlx::query("update twitter_credentials set client_id_enc = $1, client_secret_enc = $2 where id = $3")
        .bind(foreign.encrypt_str(CLIENT_ID, &place("client_id")))
        .bind(foreign.encrypt_str(SECRET, &place("client_secret")))
        .bind(&id)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let says = format!("sealed with master key {}, which this server does not have", hex(missing));

    let page = c.get("/settings/twitter").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(&says), "the page lacks the operator's message:\n{}", page.body);
    let listed = send(c.http.get(&credentials)).await;
    assert_eq!(listed.json()["default"]["sealed_with_missing_key"], missing, "{}", listed.body);

    let saved = send(c.http.put(&credentials).header("origin", &c.base).json(&pair)).await;
    assert_eq!(saved.status, 503, "{}", saved.body);
    let error = &saved.json()["error"];
    assert_eq!(error["code"], "master_key_missing", "{}", saved.body);
    assert!(error["message"].as_str().unwrap().contains(&says), "{}", saved.body);
    assert!(error.get("correlation_id").is_none(), "not an internal error: {}", saved.body);

    let connect = send(
        c.http
            .post(format!("{}/oauth/connect/twitter", c.base))
            .header("origin", &c.base)
            .form(&[("brand_id", "default")]),
    )
    .await;
    assert_eq!(connect.status, 503, "{}", connect.body);
    assert!(connect.body.contains(&says), "{}", connect.body);

    let (code, out, err) = perch(&app.db.env(), &["credentials", "list"], "");
    assert_ne!(code, 0, "{out}");
    assert!(err.contains(&says), "{err}");
    assert_names_the_key("perch credentials list", &err, missing);
}
