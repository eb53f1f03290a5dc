//! An agency's hundreds of accounts: the accounts page a page at a time, every card on some page,
//! and a connect's result on the page that shows it.

use super::*;
use crate::common::api::seed_accounts;

on_both_databases!(the_accounts_page_pages_hundreds_of_accounts_and_shows_each_result_where_its_account_is);

/// The ids of the accounts a page of `twitter/accounts` shows, card by card, with each card's
/// `(brand_id or "default", account_count, shown_from)`.
fn shown(overview: &Value) -> (Vec<(String, u64, u64)>, Vec<String>) {
    let cards = overview["cards"].as_array().unwrap();
    let heads = cards
        .iter()
        .map(|c| {
            let key = c["brand_id"].as_str().unwrap_or("default").to_owned();
            (key, c["account_count"].as_u64().unwrap(), c["shown_from"].as_u64().unwrap())
        })
        .collect();
    let ids = cards
        .iter()
        .flat_map(|c| c["accounts"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()))
        .collect();
    (heads, ids)
}

async fn the_accounts_page_pages_hundreds_of_accounts_and_shows_each_result_where_its_account_is(b: Backend) {
    let w = world(b).await;
    // Brands list by name: Alpha (no accounts) before Beta (55); the default card has 60.
    let beta = brand(&w.owner, "Beta").await;
    let alpha = brand(&w.owner, "Alpha").await;
    let on_default = seed_accounts(&w, None, 60).await;
    let on_beta = seed_accounts(&w, Some(&beta), 55).await;

    let page = |p: u32| {
        let c = &w.owner;
        async move {
            let r = c.call("twitter/accounts", &[("page", &p.to_string())]).await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.json()
        }
    };
    let (p1, p2, p3) = (page(1).await, page(2).await, page(3).await);
    assert_eq!(
        (p1["page"].as_u64(), p1["pages"].as_u64(), p1["account_total"].as_u64()),
        (Some(1), Some(3), Some(115))
    );
    let d = "default".to_owned();
    assert_eq!(shown(&p1).0, [(d.clone(), 60, 0)]);
    assert_eq!(
        shown(&p2).0,
        [(d, 60, 50), (alpha.clone(), 0, 0), (beta.clone(), 55, 0)],
        "an empty card where its accounts would be"
    );
    assert_eq!(shown(&p3).0, [(beta.clone(), 55, 40)]);
    let pages: Vec<Vec<String>> = [&p1, &p2, &p3].iter().map(|p| shown(p).1).collect();
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [50, 50, 15]);
    let mut every: Vec<String> = pages.concat();
    every.sort();
    every.dedup();
    let mut expected: Vec<String> = on_default.iter().chain(&on_beta).cloned().collect();
    expected.sort();
    assert_eq!(every, expected, "every account on exactly one page");
    assert_eq!(page(7).await, p3, "past the end is the last page");

    // A result comes back to the page that shows its account or its card.
    let last_of_beta = shown(&p3).1.last().unwrap().clone();
    let r = w.owner.call("twitter/accounts", &[("account", &last_of_beta)]).await.json();
    assert_eq!(r["page"], 3);
    let r = w.owner.call("twitter/accounts", &[("card", &alpha)]).await.json();
    assert_eq!(r["page"], 2);
    let r = w.owner.call("twitter/accounts", &[("account", "xac_00000000000000000000000000000000")]).await.json();
    assert_eq!(r["page"], 1, "an unknown account: the first page");
    for hostile in ["\0", "xac_\0", "<b>x</b>", "xac_0' or 1=1 --"] {
        let r = w.owner.call("twitter/accounts", &[("account", hostile), ("card", hostile)]).await;
        assert_eq!((r.status, r.json()["page"].clone()), (200, json!(1)), "{hostile:?}: {}", r.body);
    }

    // The page itself, with and without JavaScript: 50 accounts, the card's range, and links
    // to the other pages.
    let html = w.owner.get("/accounts?page=2").await;
    assert_eq!(html.status, 200);
    assert_eq!(html.body.matches("id=\"account-xac_").count(), 50, "{}", html.body.len());
    assert!(html.body.contains("Accounts 51–60 of 60 on this card"), "the default card's range");
    assert!(html.body.contains("Page 2 of 3 · 115 accounts"));
    assert!(html.body.contains("href=\"/accounts?page=1\"") && html.body.contains("href=\"/accounts?page=3\""));
    let first = w.owner.get("/accounts").await;
    assert!(first.body.contains("Page 1 of 3") && !first.body.contains("rel=\"prev\""));
    // A connect through the dashboard lands on the page with the new account.
    let back = connect_through(&w.owner, Some(&beta), None).await;
    let new = account_of(&back);
    assert!(back.contains("account="), "{back}");
    let landed = w.owner.get(&back).await;
    assert!(landed.body.contains(&format!("id=\"account-{new}\"")), "the new account is on the page it lands on");
    // (Which page that is depends on its id: it was connected within the seeds' second.)
    assert!(landed.body.contains(" of 3 · 116 accounts"), "counted");
}
