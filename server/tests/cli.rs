//! The `perch` binary's command line.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{Backend, PASSWORD, TestApp, TestDb};

fn perch(db_url: &str, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_perch"))
        .args(args)
        .env("PERCH_DATABASE_URL", db_url)
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
    let (code, out, _) = perch("sqlite://unused.db", &["--help"], "");
    assert_eq!(code, 0);
    for word in ["serve", "migrate", "user", "PERCH_LISTEN", "PERCH_PUBLIC_URL", "PERCH_DATA_DIR", "PERCH_DATABASE_URL", "PERCH_SIGNUP"] {
        assert!(out.contains(word), "--help lacks {word}:\n{out}");
    }
    let (code, out, _) = perch("sqlite://unused.db", &["user", "create", "--help"], "");
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
    let (code, out, err) = perch(&db.url, &["user", "create", "--email", "Boss@Example.com", "--org", "Acme"], &format!("{PASSWORD}\n"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Created organization \"Acme\""), "{out}");
    assert!(out.contains("Created user boss@example.com") && out.contains("as owner"), "{out}");
    assert!(!out.contains(PASSWORD) && !err.contains(PASSWORD), "the password is never echoed");

    let (code, out, err) = perch(&db.url, &["user", "create", "--email", "m@example.com", "--org", "Acme"], &format!("{PASSWORD}\n"));
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
        let (code, _, err) = perch(&db.url, &args, &format!("{stdin}\n"));
        assert_ne!(code, 0);
        assert!(err.contains(says), "{says}: {err}");
    }
    let (code, _, _) = perch(&db.url, &["user", "create", "--email", "a@example.com", "--org", "Acme"], &format!("{PASSWORD}\n"));
    assert_eq!(code, 0);
    let (code, _, err) = perch(&db.url, &["user", "create", "--email", "A@example.com", "--org", "Other"], &format!("{PASSWORD}\n"));
    assert_ne!(code, 0);
    assert!(err.contains("already exists"), "{err}");
    let app = TestApp::spawn_on(db).await;
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("organizations").await, 1);
}
