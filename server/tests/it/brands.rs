//! Brands: create, rename, delete, with validation, roles and tenant isolation (docs/security.md G.33).

use crate::common::{Backend, PASSWORD, TestApp};
use app::domain::{Email, Role};
use app::server::store::users::{self, OrgTarget};

on_both_databases!(
    owner_creates_renames_and_deletes_a_brand,
    brand_names_are_validated_and_unique_ignoring_case,
    another_organization_cannot_see_or_change_a_brand,
    a_member_sees_brands_but_cannot_change_them,
    forms_work_without_javascript,
);

async fn owner_creates_renames_and_deletes_a_brand(b: Backend) {
    let app = TestApp::spawn(b).await;
    let c = app.owner("Acme", "a@example.com").await;
    let r = c.call("brands/create", &[("name", "  Blue   Bottle ")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("brd_"));
    assert_eq!(r.json()["name"], "Blue Bottle");

    let list = c.call("brands/list", &[]).await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);

    let r = c.call("brands/rename", &[("id", &id), ("name", "Green Bottle")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(c.call("brands/get", &[("id", &id)]).await.json()["name"], "Green Bottle");
    let page = c.get(&format!("/brands/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Green Bottle"));

    let r = c.call("brands/delete", &[("id", &id)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(c.call("brands/get", &[("id", &id)]).await.status, 404);
    assert_eq!(c.get(&format!("/brands/{id}")).await.status, 404);
}

async fn brand_names_are_validated_and_unique_ignoring_case(b: Backend) {
    let app = TestApp::spawn(b).await;
    let c = app.owner("Acme", "a@example.com").await;
    for bad in ["", "   ", &"x".repeat(81), "Zero\u{200B}Width"] {
        let r = c.call("brands/create", &[("name", bad)]).await;
        assert_eq!(r.status, 422, "{bad:?}: {}", r.body);
        assert_eq!(r.json()["field"], "name");
    }
    assert_eq!(c.call("brands/create", &[("name", "Acme Coffee")]).await.status, 200);
    let dup = c.call("brands/create", &[("name", "ACME coffee")]).await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.json()["field"], "name");
    // Renaming onto an existing name is refused the same way and changes nothing.
    let other = c.call("brands/create", &[("name", "Tea")]).await.json()["id"].as_str().unwrap().to_owned();
    let r = c.call("brands/rename", &[("id", &other), ("name", "acme COFFEE")]).await;
    assert_eq!(r.status, 409);
    assert_eq!(c.call("brands/get", &[("id", &other)]).await.json()["name"], "Tea");
    assert_eq!(app.count("brands").await, 2);
}

async fn another_organization_cannot_see_or_change_a_brand(b: Backend) {
    let app = TestApp::spawn(b).await;
    let alice = app.owner("Alice Agency", "alice@example.com").await;
    let mallory = app.owner("Mallory Media", "mallory@example.com").await;
    let id = alice.call("brands/create", &[("name", "Secret Client")]).await.json()["id"].as_str().unwrap().to_owned();

    assert_eq!(mallory.call("brands/list", &[]).await.json().as_array().unwrap().len(), 0);
    for (name, form) in [
        ("brands/get", vec![("id", id.as_str())]),
        ("brands/rename", vec![("id", id.as_str()), ("name", "Pwned")]),
        ("brands/delete", vec![("id", id.as_str())]),
    ] {
        let r = mallory.call(name, &form).await;
        assert_eq!(r.status, 404, "{name}: {}", r.body);
        assert_eq!(r.code(), "not_found");
    }
    // The page answers like a made-up id, and says nothing of the brand.
    let page = mallory.get(&format!("/brands/{id}")).await;
    assert_eq!(page.status, 404);
    assert!(!page.body.contains("Secret Client"));
    assert_eq!(alice.call("brands/get", &[("id", &id)]).await.json()["name"], "Secret Client");
}

async fn a_member_sees_brands_but_cannot_change_them(b: Backend) {
    let app = TestApp::spawn(b).await;
    let owner = app.owner("Acme", "owner@example.com").await;
    let id = owner.call("brands/create", &[("name", "Client")]).await.json()["id"].as_str().unwrap().to_owned();
    let org_id = owner.viewer().await["org_id"].as_str().unwrap().to_owned();
    let hash = app.state.passwords.hash(app::domain::Password::parse(PASSWORD.into()).unwrap()).await.unwrap();
    users::create(
        app.state.db.pool(),
        OrgTarget::Existing(&org_id),
        &Email::parse("m@example.com").unwrap(),
        &hash,
        Role::Member,
    )
    .await
    .unwrap();
    let member = app.client();
    assert_eq!(member.call("login", &[("email", "m@example.com"), ("password", PASSWORD)]).await.status, 200);
    assert_eq!(member.call("brands/list", &[]).await.json().as_array().unwrap().len(), 1);
    for (name, form) in [
        ("brands/create", vec![("name", "New")]),
        ("brands/rename", vec![("id", id.as_str()), ("name", "Renamed")]),
        ("brands/delete", vec![("id", id.as_str())]),
    ] {
        let r = member.call(name, &form).await;
        assert_eq!(r.status, 403, "{name}");
        assert_eq!(r.code(), "forbidden");
    }
    assert_eq!(app.count("brands").await, 1);
}

async fn forms_work_without_javascript(b: Backend) {
    let app = TestApp::spawn(b).await;
    let c = app.owner("Acme", "a@example.com").await;
    // Success: back to the page the form was on.
    let r = c.post_form("brands/create", &[("name", "Plain Form")], "/brands").await;
    assert_eq!(r.status, 302);
    let back = r.header("location");
    assert!(back.starts_with(&format!("{}/brands", app.base)) && !back.contains("__err"), "{back}");
    // Failure: back to the page, carrying the error, which the page then shows.
    let r = c.post_form("brands/create", &[("name", "plain form")], "/brands").await;
    assert_eq!(r.status, 302);
    let location = r.header("location");
    assert!(location.contains("__err="), "{location}");
    let page = c.get(location.trim_start_matches(&app.base)).await;
    assert!(page.body.contains("already has a brand with this name"), "{}", page.body);
    // Delete redirects to the list.
    let id = c.call("brands/list", &[]).await.json()[0]["id"].as_str().unwrap().to_owned();
    let r = c.post_form("brands/delete", &[("id", &id)], &format!("/brands/{id}?confirm=delete")).await;
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), "/brands");
    assert_eq!(app.count("brands").await, 0);
}
