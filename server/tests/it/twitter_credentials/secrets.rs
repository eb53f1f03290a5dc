//! Secrets at rest, in answers and in logs (docs/security.md A, B), and the master key's rotation (A.6).

use super::*;

on_both_databases!(
    a1_b8_a_saved_secret_is_never_returned_nor_readable_at_rest,
    b11_logs_at_trace_level_hold_no_secret_and_no_session_id,
    b9_only_the_first_six_characters_of_the_client_id_are_stored_readable,
    a3_a4_b12_swapped_tampered_or_truncated_blobs_fail_cleanly,
);

#[test]
fn the_leak_detector_finds_a_secret_in_every_encoding() {
    // A detector that finds nothing proves nothing: it must see the canary inside a Basic header.
    let basic = STANDARD.encode(format!("{ID_A}:{CANARY}"));
    assert!(find_secret(&format!("Authorization: Basic {basic}"), CANARY).is_some());
    let hex: String = CANARY.bytes().map(|b| format!("{b:02X}")).collect();
    assert!(find_secret(&format!("\\x00{hex}00"), CANARY).is_some());
    assert!(find_secret(&URL_SAFE.encode(format!("ab{CANARY}")), CANARY).is_some());
    assert!(find_secret("nothing to see", CANARY).is_none());
    assert!(app::domain::ClientSecret::parse(CANARY).is_ok() && app::domain::ClientId::parse(ID_B).is_ok());
}

/// A.1, B.8: a Client Secret saved through the form (server function) and through the JSON API
/// is never shown again: no page, server function answer, JSON answer or error answer holds it or
/// a part of it; and the database holds it neither in plaintext, nor hex, nor base64.
async fn a1_b8_a_saved_secret_is_never_returned_nor_readable_at_rest(b: Backend) {
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    let c = app.owner("Acme", "a@example.com").await;
    let coffee = brand(&c, "Coffee").await;
    let tea = brand(&c, "Tea").await;
    let mut answers: Vec<(String, Reply)> = Vec::new();

    // Through the form, with and without JavaScript.
    answers.push(("test form".into(), submit(&c, ID_A, CANARY, "", "test").await));
    let saved = submit(&c, ID_A, CANARY, "", "save").await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(saved.json()["Saved"], "created");
    answers.push(("save form".into(), saved));
    let plain = c
        .post_form(
            "twitter/submit",
            &[("client_id", ID_A), ("client_secret", CANARY), ("brand_id", coffee.as_str()), ("intent", "save")],
            "/settings/twitter",
        )
        .await;
    assert_eq!(plain.status, 302, "{}", plain.body);
    answers.push(("form without JavaScript".into(), plain));
    for (what, id, secret) in [
        ("swapped fields", CANARY, ID_A),
        ("bad Client ID", "not-a-client-id", CANARY),
        ("secret with a space", ID_A, &format!("{} {}", &CANARY[..25], &CANARY[25..]) as &str),
        ("secret with a bad character", ID_A, &format!("{CANARY}!")),
        ("secret cut short", ID_A, &CANARY[..30]),
    ] {
        let r = submit(&c, id, secret, "", "save").await;
        assert_eq!(r.status, 422, "{what}: {}", r.body);
        answers.push((format!("form error: {what}"), r));
        let r = c
            .post_form(
                "twitter/submit",
                &[("client_id", id), ("client_secret", secret), ("intent", "save")],
                "/settings/twitter",
            )
            .await;
        answers.push((format!("form error without JavaScript: {what}"), r));
    }
    answers.push(("foreign brand".into(), submit(&c, ID_A, CANARY, "brd_nope", "save").await));

    // Through the JSON API.
    let r = api_put(&c, &pair_for(ID_A, CANARY, &tea)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    answers.push(("PUT".into(), r));
    answers.push(("PUT again".into(), api_put(&c, &pair(ID_A, CANARY)).await));
    answers.push(("POST test".into(), api_test(&c, &pair(ID_A, CANARY)).await));
    for (what, body) in [
        ("swapped", pair(CANARY, ID_A)),
        ("bad character", pair(ID_A, &format!("{CANARY}!"))),
        ("unknown field", json!({"client_id": ID_A, "client_secret": CANARY, "note": CANARY})),
        ("wrong type", json!({"client_id": 5, "client_secret": CANARY})),
        ("unknown brand", pair_for(ID_A, CANARY, "brd_nope")),
    ] {
        answers.push((format!("PUT error: {what}"), api_put(&c, &body).await));
        answers.push((format!("POST test error: {what}"), api_test(&c, &body).await));
    }
    let truncated = format!(r#"{{"client_id":"{ID_A}","client_secret":"{CANARY}"#);
    let r = send(
        c.http.put(url(&c, CRED)).header("origin", &c.base).header("content-type", "application/json").body(truncated),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    answers.push(("truncated JSON".into(), r));

    // Everything that shows saved credentials.
    let listed = api_get(&c).await;
    assert_eq!(listed.status, 200);
    // The view has no field from which the secret could be learned.
    let mut keys: Vec<String> = listed.json()["default"].as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "brand_id",
            "client_id_preview",
            "created_at",
            "generation",
            "has_secret",
            "id",
            "last_test",
            "updated_at",
            "updated_by"
        ]
    );
    answers.push(("GET".into(), listed));
    answers.push(("settings".into(), settings(&c).await));
    for page in ["/settings/twitter", "/settings", "/settings/twitter?done=created&for=default", "/brands"] {
        answers.push((format!("page {page}"), c.get(page).await));
    }

    for (what, r) in &answers {
        assert!(r.status < 500, "{what}: {} {}", r.status, r.body);
        assert_no_part_of(what, &format!("{:?}\n{}", r.headers, r.body), CANARY);
    }
    // Saving stored something: the preview is there, the secret in no readable form.
    let stored = at_rest(&app.db).await;
    assert!(stored.contains("M1M5R3"), "the database dump does not hold the saved credentials");
    assert_no_secret("the database", &stored, CANARY);
}

/// B.11: with every crate logging at TRACE, saving, testing (valid, rejected, unreachable),
/// refused input and an internal failure log no Client Secret in any encoding, and no session id.
async fn b11_logs_at_trace_level_hold_no_secret_and_no_session_id(b: Backend) {
    let _logs = capture();
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    register(&x, &app, ID_B, SECRET_2);
    let c = app.client();
    let r = c.call("signup", &[("org_name", "Acme"), ("email", "a@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = c.call("login", &[("email", "a@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let session = r
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.strip_prefix("perch_session="))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .next()
        .expect("a session cookie");
    let marker = format!("b11-capture-check-{}", uuid::Uuid::new_v4());
    tracing::trace!("{marker}");

    assert_eq!(submit(&c, ID_A, CANARY, "", "test").await.json()["Tested"]["reason"], "valid");
    assert_eq!(submit(&c, ID_A, CANARY, "", "save").await.status, 200);
    assert_eq!(api_test(&c, &pair(ID_B, CANARY)).await.json()["reason"], "invalid_client");
    assert_eq!(api_put(&c, &pair(ID_A, SECRET_2)).await.json()["change"], "secret_rotated");
    x.update_switches(|s| s.token_fault = Fault::Html200);
    assert_eq!(api_test(&c, &pair(ID_A, CANARY)).await.json()["reason"], "unreachable");
    x.update_switches(|s| s.token_fault = Fault::None);
    assert_eq!(api_put(&c, &pair(CANARY, ID_A)).await.status, 422);
    assert_eq!(api_put(&c, &pair(ID_A, &format!("{CANARY}%"))).await.status, 422);
    assert_eq!(
        send(c.http.put(url(&c, CRED)).header("authorization", "Bearer k").json(&pair(ID_A, CANARY))).await.status,
        403
    );
    assert_eq!(
        send(c.http.put(url(&c, CRED)).header("origin", "https://evil.example").json(&pair(ID_A, CANARY))).await.status,
        403
    );
    // An internal failure: the stored secret no longer decrypts, so saving over it fails.
    let org = org_id(&c).await;
    let (row, id_blob, _) = blobs(&app, &org, None).await;
    set_blobs(&app, &row, &id_blob, &id_blob).await;
    let failed = api_put(&c, &pair(ID_A, CANARY)).await;
    assert_eq!(failed.status, 500, "{}", failed.body);
    let reference = api_error(&failed)["correlation_id"].as_str().unwrap().to_owned();

    let log = logs();
    for expected in [marker.as_str(), "credentials tested", "credentials saved", "internal error", reference.as_str()] {
        assert!(log.contains(expected), "the captured log lacks `{expected}`: the capture does not work");
    }
    for secret in [CANARY, SECRET_2] {
        assert_no_secret("the log", &log, secret);
    }
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(&session)).take(3).collect();
    assert!(lines.is_empty(), "the session id is in the log:\n{}", lines.join("\n"));
}

/// B.9: of a Client ID only its first six characters (the preview) are stored readable; the
/// whole Client ID is not at rest in plaintext, hex or base64, saved or only tested.
async fn b9_only_the_first_six_characters_of_the_client_id_are_stored_readable(b: Backend) {
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    let c = app.owner("Acme", "a@example.com").await;
    let coffee = brand(&c, "Coffee").await;
    // A test keeps the typed Client ID in the session, to show it again after a form post.
    assert_eq!(submit(&c, ID_A, CANARY, "", "test").await.json()["Tested"]["valid"], true);
    assert_eq!(submit(&c, ID_C, SECRET_3, &coffee, "test").await.json()["Tested"]["valid"], false);
    assert_eq!(submit(&c, ID_A, CANARY, "", "save").await.status, 200);
    assert_eq!(api_put(&c, &pair_for(ID_B, SECRET_2, &coffee)).await.status, 201);

    let previews: Vec<String> =
        sqlx::query_scalar("select client_id_preview from twitter_credentials order by brand_id is not null")
            .fetch_all(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(previews, [&ID_A[..6], &ID_B[..6]]);
    let stored = at_rest(&app.db).await;
    for id in [ID_A, ID_B, ID_C] {
        assert_no_secret("the database", &stored, id);
    }
    assert!(stored.contains(&ID_A[..6]) && stored.contains(&ID_B[..6]), "the previews are stored");
}

/// A.3, A.4, B.12: a secret blob copied to another tenant, record or column, or with a flipped
/// bit, a truncation, an unknown version or key id, fails to open with an error (never a panic);
/// saving over it answers a clear 500 with a correlation id and no secret, and changes nothing;
/// removing the broken credentials lets the owner start again.
async fn a3_a4_b12_swapped_tampered_or_truncated_blobs_fail_cleanly(b: Backend) {
    let _logs = capture();
    let (_x, app) = perch(b).await;
    let alice = app.owner("Alice Agency", "alice@example.com").await;
    let bob = app.owner("Bob Brands", "bob@example.com").await;
    let coffee = brand(&alice, "Coffee").await;
    assert_eq!(api_put(&alice, &pair(ID_A, CANARY)).await.status, 201);
    assert_eq!(api_put(&alice, &pair_for(ID_C, SECRET_3, &coffee)).await.status, 201);
    assert_eq!(api_put(&bob, &pair(ID_B, SECRET_2)).await.status, 201);
    let (a_org, b_org) = (org_id(&alice).await, org_id(&bob).await);
    let (row, id_blob, secret_blob) = blobs(&app, &a_org, None).await;
    let (_, _, coffee_secret) = blobs(&app, &a_org, Some(&coffee)).await;
    let (_, bob_id, bob_secret) = blobs(&app, &b_org, None).await;
    assert_eq!(used(&app, &a_org, None).await, expect(ID_A, CANARY, None));

    let flip = |at: usize| {
        let mut blob = secret_blob.clone();
        let at = if at == usize::MAX { blob.len() - 1 } else { at };
        blob[at] ^= 0x01;
        blob
    };
    let mut other_version = secret_blob.clone();
    other_version[0] = 2;
    let mut other_key = secret_blob.clone();
    other_key[1..5].copy_from_slice(&0xdead_beef_u32.to_be_bytes());
    use VaultError::{Undecryptable, UnknownKey, UnknownVersion};
    let cases: Vec<(&str, Vec<u8>, Vec<u8>, VaultError)> = vec![
        ("another tenant's secret", id_blob.clone(), bob_secret.clone(), Undecryptable),
        ("another tenant's blobs, both", bob_id.clone(), bob_secret.clone(), Undecryptable),
        ("another record's secret", id_blob.clone(), coffee_secret.clone(), Undecryptable),
        ("the Client ID blob in the secret column", id_blob.clone(), id_blob.clone(), Undecryptable),
        ("the secret blob in the Client ID column", secret_blob.clone(), secret_blob.clone(), Undecryptable),
        ("a flipped bit in the nonce", id_blob.clone(), flip(8), Undecryptable),
        ("a flipped bit in the ciphertext", id_blob.clone(), flip(20), Undecryptable),
        ("a flipped bit in the tag", id_blob.clone(), flip(usize::MAX), Undecryptable),
        ("one byte cut off", id_blob.clone(), secret_blob[..secret_blob.len() - 1].to_vec(), Undecryptable),
        ("cut to the header", id_blob.clone(), secret_blob[..17].to_vec(), Undecryptable),
        ("empty", id_blob.clone(), vec![], Undecryptable),
        ("an unknown format version", id_blob.clone(), other_version, UnknownVersion(2)),
        ("an unknown key id", id_blob.clone(), other_key, UnknownKey(0xdead_beef)),
    ];
    for (case, id, secret, expected) in cases {
        set_blobs(&app, &row, &id, &secret).await;
        match resolve(&app, &a_org, None).await {
            Err(ServerError::Vault(e)) => assert_eq!(e, expected, "{case}"),
            other => panic!("{case}: {other:?}"),
        }
        // The brand's override is a record of its own and still opens.
        assert_eq!(used(&app, &a_org, Some(&coffee)).await, expect(ID_C, SECRET_3, Some(&coffee)), "{case}");
    }

    // Saving over it, through the JSON API and the form: a clear 500 that changes nothing.
    set_blobs(&app, &row, &id_blob, &bob_secret).await;
    let before = snapshot(&app).await;
    for (how, r, error) in [
        ("PUT", api_put(&alice, &pair(ID_A, SECRET_3)).await, None),
        ("form", submit(&alice, ID_A, SECRET_3, "", "save").await, Some(())),
    ] {
        assert_eq!(r.status, 500, "{how}: {}", r.body);
        let e = if error.is_some() { r.json() } else { api_error(&r) };
        assert_eq!(e["code"], "internal", "{how}");
        let reference = e["correlation_id"].as_str().unwrap_or_default();
        assert!(reference.len() >= 8, "{how}: a correlation id: {}", r.body);
        assert!(e["message"].as_str().unwrap().contains("nothing was changed"), "{how}: {}", r.body);
        for secret in [CANARY, SECRET_2, SECRET_3] {
            assert_no_part_of(how, &r.body, secret);
        }
        for internal in ["sqlx", "select ", "twitter_credentials", "panicked", "vault", "decrypt", "src/"] {
            assert!(!r.body.to_lowercase().contains(internal), "{how} shows `{internal}`: {}", r.body);
        }
        assert!(logs().contains(reference), "{how}: the log ties the reference to the details");
    }
    assert_eq!(snapshot(&app).await, before);
    // The list still shows what is stored, Bob is untouched, and removing lets Alice start again.
    assert_eq!(api_get(&alice).await.json()["default"]["client_id_preview"], &ID_A[..6]);
    assert_eq!(used(&app, &b_org, None).await, expect(ID_B, SECRET_2, None));
    assert_eq!(api_delete(&alice, None).await.status, 204);
    assert_eq!(api_put(&alice, &pair(ID_A, SECRET_3)).await.status, 201);
    assert_eq!(used(&app, &a_org, None).await, expect(ID_A, SECRET_3, None));
}

/// A.6: the master key can be rotated. After `perch keys rotate` and a restart, stored secrets
/// still decrypt and new ones use the new key; `perch keys rewrap` (run while Perch serves)
/// moves every blob to the newest key, after which the old key can be dropped and everything
/// still decrypts. SQLite, where the key file lives in the data directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a6_rotating_and_rewrapping_the_master_key_keeps_every_secret_readable() {
    // Every log line written meanwhile is formatted at TRACE, secrets' Debug included.
    let _logs = capture();
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = app.owner("Acme", "a@example.com").await;
    let org = org_id(&c).await;
    let old = brand(&c, "Old").await;
    let new = brand(&c, "New").await;
    assert_eq!(api_put(&c, &pair(ID_A, CANARY)).await.status, 201);
    assert_eq!(api_put(&c, &pair_for(ID_B, SECRET_2, &old)).await.status, 201);
    let first_key = app.state.vault.newest_key_id();
    assert_eq!(stored_key_ids(&app).await, [first_key; 4]);
    let key_file = app.db.dir.join("master.key");

    let db = stop(app).await;
    let (code, out, err) = perch_cli(&db, &["keys", "rotate"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Added master key"), "{out}");
    let app = TestApp::spawn_on(db).await;
    let second_key = app.state.vault.newest_key_id();
    assert_ne!(second_key, first_key);
    let c = sign_in(&app, "a@example.com").await;
    assert_eq!(used(&app, &org, None).await, expect(ID_A, CANARY, None), "old blobs still decrypt");
    assert_eq!(used(&app, &org, Some(&old)).await, expect(ID_B, SECRET_2, Some(&old)));
    assert_eq!(api_put(&c, &pair_for(ID_C, SECRET_3, &new)).await.status, 201);
    let (_, id_blob, secret_blob) = blobs(&app, &org, Some(&new)).await;
    assert_eq!((key_id_of(&id_blob), key_id_of(&secret_blob)), (second_key, second_key), "new writes use the new key");
    assert_eq!(key_id_of(&blobs(&app, &org, None).await.2), first_key, "nothing rewrapped yet");

    let (code, out, err) = perch_cli(&app.db, &["keys", "rewrap"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Re-encrypted 2 stored credential(s)") && out.contains("1 already"), "{out}");
    assert_eq!(stored_key_ids(&app).await, [second_key; 6]);
    let (code, out, _) = perch_cli(&app.db, &["keys", "rewrap"]);
    assert_eq!(code, 0);
    assert!(out.contains("Re-encrypted 0") && out.contains("3 already"), "a second run has nothing to do: {out}");
    for secret in [CANARY, SECRET_2, SECRET_3] {
        assert_no_secret("the rewrap's output", &out, secret);
    }

    // The old key can go now.
    let db = stop(app).await;
    let text = std::fs::read_to_string(&key_file).unwrap();
    let keys: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).collect();
    assert_eq!(keys.len(), 2, "{text}");
    std::fs::write(&key_file, text.replacen(&format!("{}\n", keys[0]), "", 1)).unwrap();
    let app = TestApp::spawn_on(db).await;
    assert_eq!(app.state.vault.newest_key_id(), second_key);
    assert_eq!(used(&app, &org, None).await, expect(ID_A, CANARY, None));
    assert_eq!(used(&app, &org, Some(&old)).await, expect(ID_B, SECRET_2, Some(&old)));
    assert_eq!(used(&app, &org, Some(&new)).await, expect(ID_C, SECRET_3, Some(&new)));
    let c = sign_in(&app, "a@example.com").await;
    assert_eq!(api_put(&c, &pair(ID_A, CANARY)).await.json()["change"], "unchanged");
}
