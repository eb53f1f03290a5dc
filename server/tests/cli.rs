//! The `perch` binary's command line.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{Backend, PASSWORD, TestApp, TestDb};

fn perch(db: &TestDb, args: &[&str], stdin: &str) -> (i32, String, String) {
    perch_with(&db.env(), args, stdin)
}

fn perch_with(env: &[(String, String)], args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_perch"))
        .args(args)
        // Only what the test passes: a key in the caller's environment would change the outcome.
        .env_remove("PERCH_MASTER_KEY")
        .env_remove("PERCH_MASTER_KEY_FILE")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_explains_each_command_and_setting() {
    let (code, out, _) = perch_with(&[], &["--help"], "");
    assert_eq!(code, 0);
    for word in ["serve", "migrate", "user", "PERCH_LISTEN", "PERCH_PUBLIC_URL", "PERCH_DATA_DIR", "PERCH_DATABASE_URL", "PERCH_SIGNUP"] {
        assert!(out.contains(word), "--help lacks {word}:\n{out}");
    }
    let (code, out, _) = perch_with(&[], &["user", "create", "--help"], "");
    assert_eq!(code, 0);
    assert!(out.contains("--email") && out.contains("--org") && out.contains("standard input"), "{out}");
}

#[test]
fn an_invalid_setting_stops_startup_naming_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_perch"))
        .arg("migrate")
        .env("PERCH_LISTEN", "not-an-address")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PERCH_LISTEN"), "{err}");
}

on_both_databases!(user_create_makes_an_owner_then_members, user_create_refuses_bad_input_and_changes_nothing);

async fn user_create_makes_an_owner_then_members(b: Backend) {
    let db = TestDb::new(b).await;
    let (code, out, err) = perch(&db, &["user", "create", "--email", "Boss@Example.com", "--org", "Acme"], &format!("{PASSWORD}\n"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Created organization \"Acme\""), "{out}");
    assert!(out.contains("Created user boss@example.com") && out.contains("as owner"), "{out}");
    assert!(!out.contains(PASSWORD) && !err.contains(PASSWORD), "the password is never echoed");

    let (code, out, err) = perch(&db, &["user", "create", "--email", "m@example.com", "--org", "Acme"], &format!("{PASSWORD}\n"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Using existing organization") && out.contains("as member"), "{out}");

    // The accounts work in the dashboard, on the same database.
    let app = TestApp::spawn_on(db).await;
    let c = app.client();
    assert_eq!(c.call("login", &[("email", "m@example.com"), ("password", PASSWORD)]).await.status, 200);
    assert_eq!(c.viewer().await["org_name"], "Acme");
}

async fn user_create_refuses_bad_input_and_changes_nothing(b: Backend) {
    let db = TestDb::new(b).await;
    for (args, stdin, says) in [
        (vec!["user", "create", "--email", "nope", "--org", "Acme"], PASSWORD, "--email"),
        (vec!["user", "create", "--email", "a@example.com", "--org", " "], PASSWORD, "--org"),
        (vec!["user", "create", "--email", "a@example.com", "--org", "Acme"], "short", "password"),
        (vec!["user", "create", "--email", "a@example.com", "--org", "Acme", "--role", "root"], PASSWORD, "--role"),
    ] {
        let (code, _, err) = perch(&db, &args, &format!("{stdin}\n"));
        assert_ne!(code, 0);
        assert!(err.contains(says), "{says}: {err}");
    }
    let (code, _, _) = perch(&db, &["user", "create", "--email", "a@example.com", "--org", "Acme"], &format!("{PASSWORD}\n"));
    assert_eq!(code, 0);
    let (code, _, err) = perch(&db, &["user", "create", "--email", "A@example.com", "--org", "Other"], &format!("{PASSWORD}\n"));
    assert_ne!(code, 0);
    assert!(err.contains("already exists"), "{err}");
    let app = TestApp::spawn_on(db).await;
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("organizations").await, 1);
}

// ---- perch keys (security.md A.6, A.7) --------------------------------------------------------

/// The master key lines of a key file (comments and blank lines left out).
fn key_lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// A.7: `perch keys generate` prints a fresh 256-bit key as 44 characters of standard base64,
/// ready for PERCH_MASTER_KEY, and nothing else; each run gives another key.
#[test]
fn keys_generate_prints_a_new_256_bit_base64_key() {
    let (code, out, err) = perch_with(&[], &["keys", "generate"], "");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    let key = out.trim();
    assert_eq!(key.len(), 44, "{key}");
    assert_eq!(STANDARD.decode(key).expect("standard base64").len(), 32);
    let (_, again, _) = perch_with(&[], &["keys", "generate"], "");
    assert_ne!(again.trim(), key, "a fresh key each time");
}

/// A.6: with the keys in PERCH_MASTER_KEY there is no file to rotate: `perch keys rotate`
/// refuses, says how to rotate instead, and writes no key file; the key is not echoed.
#[tokio::test]
async fn keys_rotate_with_perch_master_key_set_refuses_with_guidance() {
    let db = TestDb::new(Backend::Sqlite).await;
    let key = app::server::vault::generate_key_base64();
    let mut env = db.env();
    env.push(("PERCH_MASTER_KEY".into(), key.clone()));
    let (code, out, err) = perch_with(&env, &["keys", "rotate"], "");
    assert_ne!(code, 0, "{out}");
    for says in ["PERCH_MASTER_KEY", "perch keys generate", "perch keys rewrap"] {
        assert!(err.contains(says), "{says}: {err}");
    }
    assert!(!out.contains(&key) && !err.contains(&key), "the key is never printed");
    assert!(!db.dir.join("master.key").exists(), "no key file written");
}

/// A.6: `perch keys rotate` appends a new key to the key file and keeps the old ones (which
/// still decrypt what they sealed); without a key file yet, it refuses rather than create one.
#[tokio::test]
async fn keys_rotate_appends_a_key_to_the_key_file_and_keeps_the_old_one() {
    let db = TestDb::new(Backend::Sqlite).await;
    let file = db.dir.join("master.key");
    let (code, _, err) = perch(&db, &["keys", "rotate"], "");
    assert_ne!(code, 0);
    assert!(err.contains("master.key") && err.contains("does not exist"), "{err}");
    assert!(!file.exists());

    let (code, _, err) = perch(&db, &["migrate"], "");
    assert_eq!(code, 0, "{err}");
    let before = key_lines(&file);
    assert_eq!(before.len(), 1, "the first run generated one key");
    let (code, out, err) = perch(&db, &["keys", "rotate"], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Added master key") && out.contains("perch keys rewrap"), "{out}");
    let after = key_lines(&file);
    assert_eq!(after.len(), 2);
    assert_eq!(after[0], before[0], "the old key stays, first");
    assert!(!out.contains(&after[1]) && !err.contains(&after[1]), "the new key is not printed");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
}

/// A.7: PostgreSQL refuses to start without PERCH_MASTER_KEY (instances sharing a database must
/// share their keys), naming the setting, instead of generating a key file of its own.
#[tokio::test]
async fn postgres_without_perch_master_key_refuses_to_start() {
    let db = TestDb::new(Backend::Postgres).await;
    let without: Vec<(String, String)> = db.env().into_iter().filter(|(k, _)| k != "PERCH_MASTER_KEY").collect();
    let (code, out, err) = perch_with(&without, &["migrate"], "");
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("PERCH_MASTER_KEY") && err.contains("perch keys generate"), "{err}");
    assert!(!db.dir.join("master.key").exists(), "no key file generated for PostgreSQL");
    // With the key it starts.
    let (code, _, err) = perch(&db, &["migrate"], "");
    assert_eq!(code, 0, "{err}");
}
