//! X accounts: a Twitter platform card for the organization default and for every brand, each with
//! the X app its accounts connect through, the callback URL X must have registered, **Connect**,
//! and its connected accounts with their state, **Reconnect**, **Check** and **Disconnect** (the
//! last for owners and admins only: members are told whom to ask instead of seeing the button).
//!
//! Connect and Reconnect are plain form posts that the server answers with a redirect to X; the
//! OAuth callback comes back here with the result in the query (`?connect=…&for=…&account=…`),
//! as do Check and Disconnect, so every message shows the same with and without JavaScript.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::accounts::{CheckTwitterAccount, DisconnectTwitterAccount, get_accounts};
use crate::components::copy::CopyValue;
use crate::components::forms::{ErrorBanner, Submit, action_error};
use crate::domain::{
    AccountView, AccountsOverview, CONNECT_PATH, CheckResult, ConnectResult, PlatformCard, format_utc,
};

/// The `for=` value and anchor suffix of a card.
fn card_key(brand_id: Option<&str>) -> String {
    brand_id.unwrap_or("default").to_owned()
}

#[component]
pub fn AccountsPage() -> impl IntoView {
    let check = ServerAction::<CheckTwitterAccount>::new();
    let disconnect = ServerAction::<DisconnectTwitterAccount>::new();
    let query = use_query_map();
    // Every action comes back through a new query, which refetches the cards.
    let overview = Resource::new(
        move || {
            let q = query.read();
            let page = q.get("page").and_then(|p| p.parse::<u32>().ok());
            (page, q.get("account"), q.get("for"), q.get("connect"), q.get("check"), q.get("disconnected"))
        },
        |(page, account, card, ..)| get_accounts(page, account, card),
    );
    let check_error = action_error(check);
    let disconnect_error = action_error(disconnect);

    view! {
        <Title text="X accounts"/>
        <header class="page-header">
            <h1>"X accounts"</h1>
            <p class="lede">"The X accounts Perch posts for. Each connects through the X app of its brand, or the organization's default app."</p>
        </header>
        <PageBanner/>
        <ErrorBanner error=check_error all=true/>
        <ErrorBanner error=disconnect_error all=true/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => view! { <Cards overview=o check=check disconnect=disconnect/> }.into_any(),
                    Err(e) => view! { <div class="banner banner-error" role="alert">{e.to_string()}</div> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Results that belong to no card: a disconnect, and a callback whose flow Perch refused.
#[component]
fn PageBanner() -> impl IntoView {
    let query = use_query_map();
    move || {
        let q = query.read();
        if let Some(username) = q.get("disconnected") {
            let outcome =
                crate::domain::DisconnectOutcome { username, revoked: q.get("revoked").as_deref() == Some("1") };
            let class = if outcome.revoked { "banner banner-success" } else { "banner banner-warning" };
            return Some(view! { <div class=class role="status">{outcome.message()}</div> }.into_any());
        }
        let result = q.get("connect").as_deref().and_then(ConnectResult::parse)?;
        // With a card named, the card shows the result.
        if q.get("for").is_some() {
            return None;
        }
        Some(view! { <div class="banner banner-error" role="alert">{result.message(None)}</div> }.into_any())
    }
}

#[component]
fn Cards(
    overview: AccountsOverview,
    check: ServerAction<CheckTwitterAccount>,
    disconnect: ServerAction<DisconnectTwitterAccount>,
) -> impl IntoView {
    let AccountsOverview {
        callback_url,
        scopes,
        cards,
        can_manage_credentials,
        can_disconnect,
        page,
        pages,
        account_total,
    } = overview;
    view! {
        <section class="card guide" aria-labelledby="before-title">
            <h2 id="before-title">"Before you connect"</h2>
            <p>"X sends people back to Perch at this callback URL. The X app must list it exactly (no trailing slash, no environment suffix) under "<em>"User authentication settings → Callback URI / Redirect URL"</em>", or X stops on its own “Something went wrong” page and never comes back:"</p>
            <p><CopyValue id="callback-url".to_owned() value=callback_url.clone() what="Callback URL".to_owned()/></p>
            <p class="muted">"Perch asks X for these scopes; enable all of them in the app:"</p>
            <p class="scopes">{scopes.into_iter().map(|s| view! { <code class="chip">{s}</code> }).collect_view()}</p>
            {(!can_disconnect).then(|| view! {
                <p class="muted" id="disconnect-note">"Only the organization's owner or an admin can disconnect an account (it revokes the account's access at X): ask one of them when an account should go."</p>
            })}
        </section>
        <Pager page pages account_total/>
        {cards
            .into_iter()
            .map(|card| view! { <Card card=card callback_url=callback_url.clone() can_manage_credentials can_disconnect check=check disconnect=disconnect/> })
            .collect_view()}
        <Pager page pages account_total/>
    }
    .into_any()
}

/// Previous and next page of the cards, as plain links (nothing without more than one page).
#[component]
fn Pager(page: u32, pages: u32, account_total: u32) -> impl IntoView {
    let link = |p: u32| format!("/accounts?page={p}");
    (pages > 1).then(|| {
        view! {
            <nav class="pager" aria-label="Pages of X accounts">
                {(page > 1).then(|| view! { <a class="btn btn-secondary" rel="prev" href=link(page - 1)>"← Previous"</a> })}
                <span class="muted">{format!("Page {page} of {pages} · {account_total} accounts")}</span>
                {(page < pages).then(|| view! { <a class="btn btn-secondary" rel="next" href=link(page + 1)>"Next →"</a> })}
            </nav>
        }
    })
}

#[component]
fn Card(
    card: PlatformCard,
    callback_url: String,
    can_manage_credentials: bool,
    can_disconnect: bool,
    check: ServerAction<CheckTwitterAccount>,
    disconnect: ServerAction<DisconnectTwitterAccount>,
) -> impl IntoView {
    let PlatformCard { brand_id, title, app, accounts, account_count, shown_from } = card;
    // A card whose accounts run over more than one page says which of them this page shows.
    let partial = (accounts.len() as u32) < account_count && !accounts.is_empty();
    let range = partial.then(|| {
        let (from, to) = (shown_from + 1, shown_from + accounts.len() as u32);
        view! { <p class="muted small card-range">{format!("Accounts {from}–{to} of {account_count} on this card")}</p> }
    });
    let key = card_key(brand_id.as_deref());
    let heading_id = format!("card-{key}-title");
    let query = use_query_map();
    let result = {
        let (key, accounts) = (key.clone(), accounts.clone());
        move || {
            let q = query.read();
            if q.get("for").as_deref() != Some(key.as_str()) {
                return None;
            }
            let result = q.get("connect").as_deref().and_then(ConnectResult::parse)?;
            let who = q.get("account").and_then(|id| accounts.iter().find(|a| a.id == id).map(AccountView::handle));
            let class = match result {
                ConnectResult::Connected | ConnectResult::Reconnected => "banner banner-success",
                r if r.is_success() => "banner banner-warning",
                _ => "banner banner-error",
            };
            let role = if result.is_success() { "status" } else { "alert" };
            Some(view! { <div class=class role=role>{result.message(who.as_deref())}</div> })
        }
    };
    let app_line = match &app {
        Some(a) => view! {
            <p class="muted">
                "Connects through the X app "<code>{format!("{}…", a.client_id_preview)}</code>
                {if a.own { " (this brand's own app)" } else if brand_id.is_some() { " (the organization default)" } else { "" }}
            </p>
        }
        .into_any(),
        None => view! {
            <div class="banner banner-warning" role="note">
                {format!("No X app is set up for {} yet, so accounts cannot connect. ", if brand_id.is_some() { "this brand or the organization" } else { "the organization" })}
                {if can_manage_credentials {
                    view! { <a href="/settings/twitter">"Add your X app's Client ID and Client Secret in Settings → Twitter integration"</a>"." }.into_any()
                } else {
                    view! { <span>"Ask an owner or admin to add the X app's Client ID and Client Secret in "<a href="/settings/twitter">"Settings → Twitter integration"</a>"."</span> }.into_any()
                }}
            </div>
        }
        .into_any(),
    };
    let has_app = app.is_some();
    let empty = accounts.is_empty();
    view! {
        <section class="card platform-card" id=format!("card-{key}") aria-labelledby=heading_id.clone()>
            <header class="platform-card-header">
                <h2 id=heading_id.clone()>{title.clone()}</h2>
                <span class="badge badge-neutral">"X (Twitter)"</span>
            </header>
            {app_line}
            {result}
            {range}
            {if empty {
                view! { <p class="muted">"No X account is connected here yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="accounts">
                        {accounts.into_iter().map(|a| view! { <AccountItem account=a can_disconnect check=check disconnect=disconnect/> }).collect_view()}
                    </ul>
                }
                .into_any()
            }}
            {has_app.then(|| view! {
                <form method="post" action=CONNECT_PATH class="connect-form">
                    <input type="hidden" name="brand_id" value=key.clone()/>
                    <p class="hint">"X must have this callback URL registered: "<code>{callback_url.clone()}</code></p>
                    <button type="submit" class="btn btn-primary">"Connect X account"</button>
                </form>
            })}
        </section>
    }
    .into_any()
}

#[component]
fn AccountItem(
    account: AccountView,
    can_disconnect: bool,
    check: ServerAction<CheckTwitterAccount>,
    disconnect: ServerAction<DisconnectTwitterAccount>,
) -> impl IntoView {
    let query = use_query_map();
    let id = account.id.clone();
    let handle = account.handle();
    let checked = {
        let (id, handle) = (id.clone(), handle.clone());
        move || {
            let q = query.read();
            if q.get("account").as_deref() != Some(id.as_str()) {
                return None;
            }
            let result = q.get("check").as_deref().and_then(CheckResult::parse)?;
            let class = if result == CheckResult::Working { "banner banner-success" } else { "banner banner-warning" };
            Some(view! { <div class=class role="status">{result.message(&handle)}</div> })
        }
    };
    let (badge_class, badge) = if account.needs_reconnection.is_some() {
        ("badge badge-danger", "Needs reconnection")
    } else if account.will_need_reconnection.is_some() {
        ("badge badge-warning", "Reconnect soon")
    } else if !account.missing_scopes.is_empty() {
        ("badge badge-warning", "Missing scopes")
    } else {
        ("badge badge-success", "Connected")
    };
    let item_id = format!("account-{id}");
    let (id_reconnect, id_check, id_disconnect) = (id.clone(), id.clone(), id.clone());
    let initial = account
        .name
        .chars()
        .next()
        .or_else(|| account.username.chars().next())
        .unwrap_or('?')
        .to_uppercase()
        .to_string();
    view! {
        <li class="account" id=item_id data-username=account.username.clone()>
            <div class="avatar" aria-hidden="true">
                <span>{initial}</span>
                {account.avatar_url.clone().map(|src| view! { <img src=src alt="" width="48" height="48" loading="lazy" referrerpolicy="no-referrer"/> })}
            </div>
            <div class="account-main">
                <p class="account-name">
                    <strong>{account.name.clone()}</strong>" "
                    <span class="muted">{handle.clone()}</span>" "
                    <span class=badge_class>{badge}</span>
                </p>
                <p class="muted small">
                    "App "<code>{format!("{}…", account.client_id_preview)}</code>
                    {format!(" · connected since {}", format_utc(account.connected_at))}
                </p>
                {account.app_credits_depleted_at.map(|at| view! {
                    <p class="account-note account-note-danger credits-depleted">
                        <strong>{format!("X credits spent (since {}): ", format_utc(at))}</strong>
                        "the developer account that owns this account's X app has no pay-per-use credits left, so X refuses every call through the app, reads included. Buy credits in X's developer console ("
                        <a href="https://console.x.com" rel="noopener noreferrer" target="_blank">"console.x.com"</a>
                        "); nothing needs reconnecting, and this note goes at the next call that succeeds."
                    </p>
                })}
                {account.needs_reconnection.clone().map(|m| view! {
                    <p class="account-note account-note-danger">
                        <strong>{format!("Needs reconnection (found {}): ", format_utc(m.at))}</strong>{m.reason.message()}
                    </p>
                })}
                {account.will_need_reconnection.map(|r| view! {
                    <p class="account-note">
                        <strong>"Will need reconnection on its next API call: "</strong>{r.message()}
                    </p>
                })}
                {(!account.missing_scopes.is_empty()).then(|| view! {
                    <p class="account-note">
                        <strong>"Missing scopes: "</strong>
                        {account.missing_scopes.iter().map(|s| view! { <code class="chip">{s.clone()}</code>" " }).collect_view()}
                        "API calls that need them fail with 403. Enable them in the X app's User authentication settings (App permissions: Read and write and Direct message), then Reconnect."
                    </p>
                })}
                {checked}
            </div>
            <div class="account-actions">
                <form method="post" action=CONNECT_PATH>
                    <input type="hidden" name="account_id" value=id_reconnect/>
                    <button type="submit" class="btn btn-secondary" aria-label=format!("Reconnect {handle}")>"Reconnect"</button>
                </form>
                <ActionForm action=check>
                    <input type="hidden" name="account_id" value=id_check.clone()/>
                    <Submit label="Check" class="btn btn-secondary" aria_label=format!("Check {handle}")/>
                </ActionForm>
                {can_disconnect.then(|| view! {
                    <ActionForm action=disconnect>
                        <input type="hidden" name="account_id" value=id_disconnect.clone()/>
                        <Submit label="Disconnect" class="btn btn-danger-outline"/>
                    </ActionForm>
                })}
            </div>
        </li>
    }
    .into_any()
}
