//! The `perch` binary's command line.

use std::process::Command;

use crate::common::leaks::assert_no_part_of;
use crate::common::{Backend, PASSWORD, TestApp, TestDb};
use app::domain::{BrandName, OrgId, OrgName};
use app::server::{store::accounts, store::audit, store::brands, store::credentials, store::orgs};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::Rng as _;

fn perch(db: &TestDb, args: &[&str], stdin: &str) -> (i32, String, String) {
    perch_with(&db.env(), args, stdin)
}

fn perch_with(env: &[(String, String)], args: &[&str], stdin: &str) -> (i32, String, String) {
    crate::common::run_perch(env, args, stdin)
}

#[test]
fn help_explains_each_command_and_setting() {
    let (code, out, _) = perch_with(&[], &["--help"], "");
    assert_eq!(code, 0);
    for word in [
        "serve",
        "migrate",
        "user",
        "PERCH_LISTEN",
        "PERCH_PUBLIC_URL",
        "PERCH_DATA_DIR",
        "PERCH_DATABASE_URL",
        "PERCH_SIGNUP",
    ] {
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

on_both_databases!(
    user_create_makes_an_owner_then_members,
    user_create_refuses_bad_input_and_changes_nothing,
    credentials_set_saves_the_default_and_brands_by_name_or_id_and_list_never_shows_a_secret,
    credentials_set_again_tells_a_rotation_from_a_new_app_and_lists_the_accounts_to_reconnect,
    credentials_set_refuses_malformed_input_and_unknown_targets_and_changes_nothing,
    credentials_remove_removes_then_says_there_is_nothing_left,
);

async fn user_create_makes_an_owner_then_members(b: Backend) {
    let db = TestDb::new(b).await;
    let (code, out, err) =
        perch(&db, &["user", "create", "--email", "Boss@Example.com", "--org", "Acme"], &format!("{PASSWORD}\n"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Created organization \"Acme\""), "{out}");
    assert!(out.contains("Created user boss@example.com") && out.contains("as owner"), "{out}");
    assert!(!out.contains(PASSWORD) && !err.contains(PASSWORD), "the password is never echoed");

    let (code, out, err) =
        perch(&db, &["user", "create", "--email", "m@example.com", "--org", "Acme"], &format!("{PASSWORD}\n"));
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
    let (code, _, _) =
        perch(&db, &["user", "create", "--email", "a@example.com", "--org", "Acme"], &format!("{PASSWORD}\n"));
    assert_eq!(code, 0);
    let (code, _, err) =
        perch(&db, &["user", "create", "--email", "A@example.com", "--org", "Other"], &format!("{PASSWORD}\n"));
    assert_ne!(code, 0);
    assert!(err.contains("already exists"), "{err}");
    let app = TestApp::spawn_on(db).await;
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("organizations").await, 1);
}

// ---- perch keys (docs/security.md A.6, A.7) --------------------------------------------------------

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
    let key = app::server::infra::vault::generate_key_base64();
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

// ---- perch credentials ------------------------------------------------------------------------

/// The characters of base64url text, which X's Client IDs and Secrets are made of.
const URL_SAFE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len).map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char).collect()
}

/// A Client ID in X's shape, like the fake X's (`fake_x::ids::client_id`): base64url of
/// `<20 characters>:1:ci`, so it ends in MTpjaQ.
fn client_id() -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:1:ci", random_from(URL_SAFE, 20)))
}

/// A 50-character Client Secret in X's shape. It starts with a letter: one starting with digits
/// and a `-`, with no other `-` or `_` after (about one in 1,600), reads as an OAuth 1.0a Access
/// Token and is refused.
fn client_secret() -> String {
    random_from(&URL_SAFE[..52], 1) + &random_from(URL_SAFE, 49)
}

fn preview(client_id: &str) -> String {
    format!("{}…", &client_id[..6])
}

/// Where the commands below are told Perch is served, for the callback URL they print.
const PUBLIC_URL: &str = "https://perch.example.com";
const CALLBACK: &str = "https://perch.example.com/oauth/callback/twitter";

/// `perch credentials set` with the secret on standard input.
fn set(db: &TestDb, org: &str, brand: Option<&str>, client_id: &str, secret: &str) -> (i32, String, String) {
    let mut args = vec!["credentials", "set", "--org", org, "--client-id", client_id];
    if let Some(b) = brand {
        args.extend(["--brand", b]);
    }
    let mut env = db.env();
    env.push(("PERCH_PUBLIC_URL".into(), PUBLIC_URL.into()));
    perch_with(&env, &args, &format!("{secret}\n"))
}

/// The lines of `perch credentials list` that are records (the log shares standard output).
fn records(out: &str) -> Vec<&str> {
    out.lines().filter(|l| l.contains("  Client ID ")).collect()
}

/// A Perch over a fresh database holding the organization "Acme" (made by `perch user create`),
/// for reading what the commands wrote the way the app does; and Acme's id.
async fn acme(b: Backend) -> (TestApp, OrgId) {
    let db = TestDb::new(b).await;
    let (code, _, err) =
        perch(&db, &["user", "create", "--email", "a@example.com", "--org", "Acme"], &format!("{PASSWORD}\n"));
    assert_eq!(code, 0, "{err}");
    let app = TestApp::spawn_on(db).await;
    let org = org_id_named(&app, "Acme").await;
    (app, org)
}

/// The id of the one organization named `name`, found as `--org` finds it.
async fn org_id_named(app: &TestApp, name: &str) -> OrgId {
    match orgs::find(app.state.db.pool(), name).await.unwrap() {
        orgs::Found::One(org) => org.id,
        other => panic!("{name}: {other:?}"),
    }
}

async fn new_brand(app: &TestApp, org: &OrgId, name: &str) -> String {
    brands::create(app.state.db.pool(), org, &BrandName::parse(name).unwrap()).await.unwrap().id
}

/// The Client ID, secret and brand a connection of `brand` would use, read as the app reads them.
async fn used(app: &TestApp, org: &OrgId, brand: Option<&str>) -> Option<(String, String, Option<String>)> {
    credentials::resolve(app.state.db.pool(), &app.state.vault, org, brand)
        .await
        .unwrap()
        .map(|r| (r.client_id.as_str().to_owned(), r.client_secret.expose().to_owned(), r.brand_id))
}

async fn audit_count(app: &TestApp, org: &OrgId) -> usize {
    audit::recent(app.state.db.pool(), org, 1000).await.unwrap().len()
}

async fn credentials_set_saves_the_default_and_brands_by_name_or_id_and_list_never_shows_a_secret(b: Backend) {
    let (app, org) = acme(b).await;
    let nike = new_brand(&app, &org, "Nike").await;
    let adidas = new_brand(&app, &org, "Adidas").await;
    let pairs: Vec<(String, String)> = (0..3).map(|_| (client_id(), client_secret())).collect();
    let mut said = String::new();

    let (code, out, err) = set(&app.db, "Acme", None, &pairs[0].0, &pairs[0].1);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("Saved credentials for \"Acme\" ({org}), Organization default: Client ID"))
            && out.contains(&preview(&pairs[0].0)),
        "{out}"
    );
    assert!(
        out.contains(&format!("Callback URL to register in the X app's User authentication settings: {CALLBACK}")),
        "{out}"
    );
    said += &(out + &err);
    // The brand by its name in another case, the organization and the brand by their ids.
    let (code, out, err) = set(&app.db, "Acme", Some("nike"), &pairs[1].0, &pairs[1].1);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("Saved credentials for \"Acme\" ({org}), Brand “Nike”")), "{out}");
    said += &(out + &err);
    let (code, out, err) = set(&app.db, &org, Some(&adidas), &pairs[2].0, &pairs[2].1);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("Saved credentials for \"Acme\" ({org}), Brand “Adidas”")), "{out}");
    said += &(out + &err);

    let (code, out, err) = perch(&app.db, &["credentials", "list"], "");
    assert_eq!(code, 0, "{err}");
    let lines = records(&out);
    assert_eq!(lines.len(), 3, "one line per saved record:\n{out}");
    assert!(
        lines[0].contains(org.as_str()) && lines[0].contains("default") && lines[0].contains(&preview(&pairs[0].0)),
        "{out}"
    );
    for (name, id, pair) in [("Nike", &nike, &pairs[1]), ("Adidas", &adidas, &pairs[2])] {
        let line = lines
            .iter()
            .find(|l| l.contains(&format!("brand “{name}” ({id})")))
            .unwrap_or_else(|| panic!("{name}:\n{out}"));
        assert!(line.contains(&preview(&pair.0)), "{line}");
    }
    for line in &lines {
        assert!(
            line.contains("generation 1") && line.contains("by perch CLI") && line.contains("last test: never"),
            "{line}"
        );
    }
    said += &(out + &err);
    let (code, out, _) = perch(&app.db, &["credentials", "list", "--org", "Acme"], "");
    assert_eq!(code, 0);
    assert_eq!(records(&out).len(), 3, "{out}");
    said += &out;
    for (id, secret) in &pairs {
        assert_no_part_of("the command's output", &said, secret);
        assert!(!said.contains(id.as_str()), "only the Client ID's preview is printed");
    }

    // What the app reads, and whom the trail names.
    assert_eq!(used(&app, &org, None).await, Some((pairs[0].0.clone(), pairs[0].1.clone(), None)));
    assert_eq!(used(&app, &org, Some(&nike)).await, Some((pairs[1].0.clone(), pairs[1].1.clone(), Some(nike.clone()))));
    assert_eq!(
        used(&app, &org, Some(&adidas)).await,
        Some((pairs[2].0.clone(), pairs[2].1.clone(), Some(adidas.clone())))
    );
    let trail = audit::recent(app.state.db.pool(), &org, 10).await.unwrap();
    assert_eq!(trail.len(), 3);
    assert!(trail.iter().all(|e| e.actor == "perch CLI" && e.action == "Saved credentials"), "{trail:?}");
}

async fn credentials_set_again_tells_a_rotation_from_a_new_app_and_lists_the_accounts_to_reconnect(b: Backend) {
    use app::server::infra::x_client::{Tokens, XUser};
    use secrecy::SecretString;

    let (app, org) = acme(b).await;
    let (id, first, second) = (client_id(), client_secret(), client_secret());
    assert_eq!(set(&app.db, "Acme", None, &id, &first).0, 0);
    // An account connected through these credentials, as the connect flow stores it.
    let creds = credentials::resolve(app.state.db.pool(), &app.state.vault, &org, None).await.unwrap().unwrap();
    let user = XUser {
        id: "1500000000000000001".into(),
        username: "acmecoffee".into(),
        name: "Acme Coffee".into(),
        profile_image_url: None,
    };
    let tokens = Tokens {
        access_token: SecretString::from("access".to_owned()),
        refresh_token: Some(SecretString::from("refresh".to_owned())),
        expires_in: 7200,
        scopes: vec!["tweet.read".into(), "users.read".into(), "offline.access".into()],
    };
    let connection = accounts::Connection {
        org_id: &org,
        brand_id: None,
        user: &user,
        tokens: &tokens,
        credential_id: &creds.credential_id,
        credential_generation: creds.generation,
        client_id_preview: &id[..6],
        actor: "a@example.com",
        card_label: "Organization default",
    };
    accounts::store(app.state.db.pool(), &app.state.vault, connection).await.unwrap();

    let (code, out, err) = set(&app.db, "Acme", None, &id, &first);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Unchanged") && out.contains(&preview(&id)), "{out}");
    assert!(!out.contains("reconnect"), "nothing changed for the account: {out}");

    let (code, out, err) = set(&app.db, "Acme", None, &id, &second);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Rotated the Client Secret") && out.contains("secret generation 2"), "{out}");
    assert!(
        out.contains("1 connected X account(s) will need reconnecting")
            && out.contains("@acmecoffee (Organization default)"),
        "{out}"
    );
    assert!(out.contains(CALLBACK), "{out}");
    assert_no_part_of("the rotation's output", &(out + &err), &second);

    let (other, third) = (client_id(), client_secret());
    let (code, out, err) = set(&app.db, "Acme", None, &other, &third);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Replaced the X app") && out.contains(&preview(&other)), "{out}");
    assert!(out.contains("@acmecoffee (Organization default)"), "{out}");
    assert_no_part_of("the new app's output", &(out + &err), &third);

    assert_eq!(used(&app, &org, None).await, Some((other.clone(), third, None)));
    assert_eq!(app.count("twitter_credentials").await, 1, "a new app replaces the record");
    let (_, out, _) = perch(&app.db, &["credentials", "list"], "");
    assert!(out.contains(&preview(&other)) && out.contains("generation 1") && !out.contains(&preview(&id)), "{out}");
}

async fn credentials_set_refuses_malformed_input_and_unknown_targets_and_changes_nothing(b: Backend) {
    let (app, org) = acme(b).await;
    let nike = new_brand(&app, &org, "Nike").await;
    let (id, secret) = (client_id(), client_secret());
    assert_eq!(set(&app.db, "Acme", None, &id, &secret).0, 0);
    // Another organization's brand is no brand of Acme's.
    let (code, _, err) =
        perch(&app.db, &["user", "create", "--email", "o@example.com", "--org", "Other"], &format!("{PASSWORD}\n"));
    assert_eq!(code, 0, "{err}");
    let other = org_id_named(&app, "Other").await;
    let puma = new_brand(&app, &other, "Puma").await;
    let trail = audit_count(&app, &org).await;

    let (new_id, new_secret) = (client_id(), client_secret());
    let spaced = format!("{} {}", &new_secret[..20], &new_secret[20..]);
    let api_key = "xvz1evFS4wEEPTGEFPHBog0aB"; // an OAuth 1.0a API Key: 25 characters
    for (org_arg, brand, client, stdin, says) in [
        ("Acme", None, api_key, new_secret.as_str(), "--client-id: This looks like the OAuth 1.0a API Key"),
        ("Acme", None, new_secret.as_str(), new_secret.as_str(), "--client-id: This looks like a secret"),
        ("Acme", None, new_id.as_str(), spaced.as_str(), "client secret: The Client Secret contains spaces"),
        ("Acme", None, new_id.as_str(), &new_secret[..30], "client secret: X's Client Secrets are 50 characters long"),
        ("Acme", None, new_id.as_str(), new_id.as_str(), "client secret: This is the Client ID"),
        ("Acme", None, new_id.as_str(), "", "client secret: Paste"),
        (
            "Nope",
            None,
            new_id.as_str(),
            new_secret.as_str(),
            "--org: there is no organization named or with the id `Nope`",
        ),
        ("org_0000", None, new_id.as_str(), new_secret.as_str(), "--org"),
        ("Acme", Some("Reebok"), new_id.as_str(), new_secret.as_str(), "--brand: organization \"Acme\""),
        ("Acme", Some(puma.as_str()), new_id.as_str(), new_secret.as_str(), "--brand"),
    ] {
        let (code, out, err) = set(&app.db, org_arg, brand, client, stdin);
        assert_ne!(code, 0, "{says}: {out}");
        assert!(err.contains(says), "{says}: {err}");
        assert_no_part_of("a refusal", &(out + &err), &new_secret);
    }

    // A name two organizations share is refused; their ids still work.
    orgs::rename(app.state.db.pool(), &other, &OrgName::parse("Acme").unwrap()).await.unwrap();
    let (code, _, err) = set(&app.db, "Acme", None, &new_id, &new_secret);
    assert_ne!(code, 0);
    assert!(
        err.contains("--org: 2 organizations are named \"Acme\"")
            && err.contains(org.as_str())
            && err.contains(other.as_str()),
        "{err}"
    );

    assert_eq!(used(&app, &org, None).await, Some((id, secret, None)), "the saved pair is untouched");
    assert_eq!(used(&app, &org, Some(&nike)).await.unwrap().2, None, "Nike still has no app of its own");
    assert_eq!(used(&app, &other, None).await, None);
    assert_eq!(app.count("twitter_credentials").await, 1);
    assert_eq!(audit_count(&app, &org).await, trail, "nothing in the trail either");
}

async fn credentials_remove_removes_then_says_there_is_nothing_left(b: Backend) {
    let (app, org) = acme(b).await;
    let nike = new_brand(&app, &org, "Nike").await;
    let (default_id, default_secret) = (client_id(), client_secret());
    let (nike_id, nike_secret) = (client_id(), client_secret());
    assert_eq!(set(&app.db, "Acme", None, &default_id, &default_secret).0, 0);
    assert_eq!(set(&app.db, "Acme", Some("Nike"), &nike_id, &nike_secret).0, 0);

    let (code, out, err) = perch(&app.db, &["credentials", "remove", "--org", "Acme", "--brand", "NIKE"], "");
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!(
            "Removed the credentials (Client ID {}) of \"Acme\" ({org}), Brand “Nike”.",
            preview(&nike_id)
        )),
        "{out}"
    );
    assert!(out.contains("now uses the organization default"), "{out}");
    assert_eq!(
        used(&app, &org, Some(&nike)).await,
        Some((default_id.clone(), default_secret.clone(), None)),
        "Nike falls back"
    );
    let (code, _, err) = perch(&app.db, &["credentials", "remove", "--org", "Acme", "--brand", &nike], "");
    assert_ne!(code, 0);
    assert!(err.contains("nothing to remove") && err.contains("uses the organization default"), "{err}");

    let (code, _, err) = perch(&app.db, &["credentials", "remove", "--org", "Acme", "--brand", "Reebok"], "");
    assert_ne!(code, 0);
    assert!(err.contains("--brand"), "{err}");
    assert_eq!(app.count("twitter_credentials").await, 1, "an unknown brand removes nothing");

    let (code, out, err) = perch(&app.db, &["credentials", "remove", "--org", &org], "");
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!(
            "Removed the credentials (Client ID {}) of \"Acme\" ({org}), Organization default.",
            preview(&default_id)
        )),
        "{out}"
    );
    let (code, _, err) = perch(&app.db, &["credentials", "remove", "--org", "Acme"], "");
    assert_ne!(code, 0);
    assert!(err.contains("nothing to remove") && err.contains("no default credentials"), "{err}");

    assert_eq!(used(&app, &org, Some(&nike)).await, None);
    assert_eq!(app.count("twitter_credentials").await, 0);
    let (_, out, _) = perch(&app.db, &["credentials", "list", "--org", "Acme"], "");
    assert!(out.contains("has no saved credentials"), "{out}");
    let (_, out, _) = perch(&app.db, &["credentials", "list"], "");
    assert_eq!(out.lines().last(), Some("No saved credentials."), "{out}");
    let removals = audit::recent(app.state.db.pool(), &org, 10).await.unwrap();
    assert_eq!(removals.iter().filter(|e| e.action == "Removed credentials" && e.actor == "perch CLI").count(), 2);
}

#[test]
fn credentials_help_names_each_command_and_where_the_secret_comes_from() {
    let (code, out, _) = perch_with(&[], &["--help"], "");
    assert_eq!(code, 0);
    assert!(out.contains("credentials"), "{out}");
    let (code, out, _) = perch_with(&[], &["credentials", "--help"], "");
    assert_eq!(code, 0);
    for word in ["set", "list", "remove"] {
        assert!(out.contains(word), "credentials --help lacks {word}:\n{out}");
    }
    let (code, out, _) = perch_with(&[], &["credentials", "set", "--help"], "");
    assert_eq!(code, 0);
    for word in ["--org", "--brand", "--client-id", "standard input"] {
        assert!(out.contains(word), "credentials set --help lacks {word}:\n{out}");
    }
}
