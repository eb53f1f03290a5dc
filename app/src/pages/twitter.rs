//! Settings → Twitter integration: the setup guide, the organization's default X app, brand
//! overrides, and the audit trail. Every action is a plain form post that works without
//! JavaScript; the credentials form is an island, so with JavaScript a test shows its result in
//! place and keeps what was typed. Which form is open is in the URL
//! (`?edit=default` or `?edit=<brand id>`, `?remove=...` to confirm a removal), so links work
//! with JavaScript off too.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::twitter::{
    PAGE, RemoveTwitterCredentials, SubmitResult, SubmitTwitterCredentials, anchor, get_twitter_settings,
};
use crate::components::copy::CopyValue;
use crate::components::forms::{ErrorBanner, Field, PostedError, action_error};
use crate::components::settings_tabs::SettingsTabs;
use crate::domain::{
    AccountToReconnect, BrandCredentials, CredentialView, LastTest, PendingTest, SaveChange, TestOutcome, TestResult,
    TwitterSettings, format_utc,
};

const DEFAULT: &str = "default";

/// `?edit=` / `?remove=` value of a target.
fn target_key(brand_id: Option<&str>) -> String {
    brand_id.unwrap_or(DEFAULT).to_owned()
}

fn link(param: &str, brand_id: Option<&str>) -> String {
    format!("{PAGE}?{param}={}#{}", target_key(brand_id), anchor(brand_id))
}

#[component]
pub fn TwitterSettingsPage() -> impl IntoView {
    let remove = ServerAction::<RemoveTwitterCredentials>::new();
    let settings = Resource::new(|| (), |_| get_twitter_settings());

    view! {
        <Title text="Twitter integration"/>
        <header class="page-header">
            <h1>"Settings"</h1>
            <p class="lede">"Connect X accounts through your organization's own X developer app, so each organization and brand has its own rate limits."</p>
        </header>
        <SettingsTabs/>
        <DoneBanner/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Ok(s) => view! { <Integration settings=s remove=remove/> }.into_any(),
                    Err(e) => view! { <div class="banner banner-error" role="alert">{e.to_string()}</div> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// What the last save or removal did, from `?done=...&for=...`.
#[component]
fn DoneBanner() -> impl IntoView {
    let query = use_query_map();
    move || {
        let q = query.read();
        let done = q.get("done")?;
        let default = q.get("for").as_deref().is_none_or(|f| f == DEFAULT);
        let message = match (SaveChange::parse(&done), done.as_str()) {
            (Some(SaveChange::Created), _) => "Credentials saved. Accounts can now connect through this X app.".to_owned(),
            (Some(SaveChange::SecretRotated), _) => "Client Secret replaced. Accounts connected with the old secret will be marked as needing reconnection on their next API call: reconnect them from their account cards.".to_owned(),
            (Some(SaveChange::AppReplaced), _) => "X app replaced (new Client ID). Accounts connected through the previous app will need to be reconnected.".to_owned(),
            (Some(SaveChange::Unchanged), _) => "These credentials were already saved; nothing changed.".to_owned(),
            (None, "removed") if default => "Default credentials removed. Brands without an app of their own cannot connect accounts until new default credentials are saved.".to_owned(),
            (None, "removed") => "Override removed: the brand now uses the organization default.".to_owned(),
            _ => return None,
        };
        Some(view! { <div class="banner banner-success" role="status">{message}</div> })
    }
}

#[component]
fn Integration(settings: TwitterSettings, remove: ServerAction<RemoveTwitterCredentials>) -> impl IntoView {
    let TwitterSettings { callback_url, scopes, default, brands, audit, pending_tests, can_manage, to_reconnect } =
        settings;
    let has_default = default.is_some();
    view! {
        <ToReconnect accounts=to_reconnect/>
        <SetupGuide callback_url=callback_url scopes=scopes open=!has_default/>
        <section class="card" id=anchor(None) aria-labelledby="default-title">
            <h2 id="default-title">"Default credentials"</h2>
            <p class="muted">"The organization's X app. Every brand without an override of its own connects its accounts through it."</p>
            <TargetPanel brand_id=None brand_name=None saved=default can_manage pending=pending_tests.clone() remove/>
        </section>
        <section class="card" aria-labelledby="overrides-title">
            <h2 id="overrides-title">"Brand overrides"</h2>
            <p class="muted">"A brand with its own X app connects through it instead of the default: its accounts get that app's rate limits."</p>
            <BrandOverrides brands=brands has_default can_manage pending=pending_tests remove/>
        </section>
        <XCosts/>
        <Troubleshooting/>
        <AuditTrail entries=audit/>
    }
    .into_any()
}

/// What each thing Perch does costs at X, billed to the app's developer account.
#[component]
fn XCosts() -> impl IntoView {
    view! {
        <section class="card guide" aria-labelledby="costs-title">
            <details>
                <summary><h2 id="costs-title">"What Perch's calls cost at X"</h2></summary>
                <p class="muted">{format!("X's pay-per-use prices as published on {}; X bills them to the developer account that owns the app, and failed requests are not billed.", crate::domain::X_PRICES_AS_OF)}</p>
                <div class="table-wrap"><table class="table stack">
                    <thead><tr><th scope="col">"In Perch"</th><th scope="col">"At X"</th><th scope="col">"Price"</th></tr></thead>
                    <tbody>
                        {crate::domain::X_PRICES.iter().map(|p| view! {
                            <tr><td data-label="In Perch">{p.action}</td><td data-label="At X"><code>{p.call}</code></td><td data-label="Price">{p.price}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table></div>
                <p class="small muted">"Test credentials and token refreshes use X's OAuth endpoints, which cost nothing."</p>
            </details>
        </section>
    }
}

/// X's refusals that Perch names, with what to do about each: the same codes as the public
/// API's errors.
#[component]
fn Troubleshooting() -> impl IntoView {
    view! {
        <section class="card guide" aria-labelledby="trouble-title">
            <details>
                <summary><h2 id="trouble-title">"Troubleshooting: when X refuses"</h2></summary>
                <p class="muted">"Each of X's refusals has its own error code in Perch's API and its own message on this dashboard."</p>
                <dl class="troubleshooting">
                    {crate::domain::X_REFUSALS.iter().map(|r| view! {
                        <div>
                            <dt><code>{r.code}</code>" · "{r.title}</dt>
                            <dd>{r.advice}</dd>
                        </div>
                    }).collect_view()}
                </dl>
            </details>
        </section>
    }
}

/// The accounts whose credentials changed under them: how many, and which.
#[component]
fn ToReconnect(accounts: Vec<AccountToReconnect>) -> impl IntoView {
    (!accounts.is_empty()).then(|| {
        let n = accounts.len();
        view! {
            <div class="banner banner-warning to-reconnect" role="status">
                <p>
                    <strong>{if n == 1 { "1 X account will need reconnecting".to_owned() } else { format!("{n} X accounts will need reconnecting") }}</strong>
                    ": the credentials they connected through have changed since (a new Client Secret or another X app), so X will refuse their tokens. They are marked as needing reconnection on their next API call."
                </p>
                <ul>
                    {accounts.into_iter().map(|a| view! { <li>{format!("@{}", a.username)}" · "{a.card}</li> }).collect_view()}
                </ul>
                <p><a href="/accounts">"Reconnect them on the X accounts page"</a></p>
            </div>
        }
    })
}

/// The steps in X's developer portal, with the exact callback URL to copy.
#[component]
fn SetupGuide(callback_url: String, scopes: Vec<String>, open: bool) -> impl IntoView {
    let scope_list = scopes.join(" ");
    view! {
        <section class="card guide" aria-labelledby="guide-title">
            <details open=open>
                <summary><h2 id="guide-title">"Set up your X app"</h2></summary>
                <ol class="steps">
                    <li>
                        <strong>"Create an app"</strong>
                        " in X's developer console at "<a href="https://console.x.com" rel="noopener noreferrer" target="_blank">"console.x.com"</a>
                        ", where new apps have been made since February 2026, and buy pay-per-use credits for its developer account (every call Perch makes for your accounts is billed to it; see what each costs below). Then open the app's settings."
                    </li>
                    <li>
                        <strong>"User authentication settings"</strong>": set up OAuth 2.0 with"
                        <dl class="settings-list">
                            <div><dt>"App permissions"</dt><dd>"Read and write and Direct message"</dd></div>
                            <div><dt>"Type of App"</dt><dd>"Web App, Automated App or Bot"</dd></div>
                            <div>
                                <dt>"Callback URI / Redirect URL"</dt>
                                <dd><CopyValue id="callback-url".to_owned() value=callback_url what="Callback URL".to_owned()/></dd>
                            </div>
                            <div><dt>"Website URL"</dt><dd>"your own site"</dd></div>
                        </dl>
                        <p class="hint">"Copy the callback URL exactly: no trailing slash, no environment suffix. If it differs by one character, X stops the connection on its own “Something went wrong” page and never returns to Perch."</p>
                    </li>
                    <li>
                        <strong>"Enable these OAuth 2.0 scopes"</strong>
                        <p class="scopes">{scopes.into_iter().map(|s| view! { <code class="chip">{s}</code> }).collect_view()}</p>
                        <p class="sr-only">{scope_list}</p>
                        <div class="banner banner-warning" role="note">"Missing any of these lets the connection succeed, but API calls then fail with 403 (forbidden). If that happens, enable every scope above and reconnect the accounts."</div>
                    </li>
                    <li>
                        <strong>"Copy the OAuth 2.0 keys"</strong>": in the app's "<em>"Keys and tokens"</em>" tab, under "
                        <em>"OAuth 2.0 Client ID and Client Secret"</em>". Not the API Key and Secret (OAuth 1.0a), not the Bearer Token."
                    </li>
                    <li><strong>"Paste them below"</strong>", click "<em>"Test credentials"</em>", then "<em>"Save"</em>"."</li>
                </ol>
            </details>
        </section>
    }
    .into_any()
}

/// The default, or one brand's override: what is saved, and the form to add or replace it.
#[component]
fn TargetPanel(
    brand_id: Option<String>,
    brand_name: Option<String>,
    saved: Option<CredentialView>,
    can_manage: bool,
    pending: Vec<PendingTest>,
    remove: ServerAction<RemoveTwitterCredentials>,
) -> impl IntoView {
    let query = use_query_map();
    let key = target_key(brand_id.as_deref());
    let (key2, key3) = (key.clone(), key.clone());
    let has_saved = saved.is_some();
    let is_default = brand_id.is_none();
    let editing = move || {
        let q = query.read();
        q.get("edit").as_deref() == Some(key2.as_str())
            || (is_default && !has_saved && q.get("edit").is_none() && q.get("remove").is_none())
    };
    let removing = move || query.read().get("remove").as_deref() == Some(key3.as_str());
    let pending = pending.into_iter().find(|p| p.brand_id == brand_id);
    let saved_view = saved.clone().map(|c| view! { <SavedFacts credential=c/> });
    let bid = brand_id.clone();
    let bid2 = brand_id.clone();
    let name = brand_name.clone();

    view! {
        {saved_view}
        {move || {
            if !can_manage {
                return (!has_saved && is_default).then(|| view! {
                    <p class="muted">"No default credentials yet. Only the organization's owner or an admin can add them."</p>
                }).into_any();
            }
            if removing() && has_saved {
                return view! { <RemoveConfirm brand_id=bid2.clone() brand_name=name.clone() remove/> }.into_any();
            }
            if editing() {
                return view! {
                    <CredentialsForm brand_id=bid.clone() replacing=has_saved pending=pending.clone() failed=PostedError::current()/>
                }.into_any();
            }
            has_saved.then(|| view! {
                <div class="actions">
                    <a class="btn btn-secondary" href=link("edit", bid.as_deref())>"Replace…"</a>
                    <a class="btn btn-danger-outline" href=link("remove", bid.as_deref())>"Remove…"</a>
                </div>
            }).into_any()
        }}
    }
    .into_any()
}

/// What is saved: the preview, that a secret is set, who saved it and the last test; and, when
/// this server lacks the master key it was sealed with, what the operator must do (issue 11).
#[component]
fn SavedFacts(credential: CredentialView) -> impl IntoView {
    let unreadable = credential.sealed_with_missing_key.map(|key_id| {
        view! {
            <div class="banner banner-error sealed-with-missing-key" role="alert">
                {crate::error::master_key_missing_message(key_id)}
                " Until then, connecting or refreshing accounts through this app fails; removing these credentials and saving them again seals them under the current key."
            </div>
        }
    });
    let credits = credential.credits_depleted_at.map(|at| {
        view! {
            <div class="banner banner-error credits-depleted" role="alert">
                <strong>{format!("X credits spent (since {}). ", format_utc(at))}</strong>
                "X answered a call through this app with 402: the developer account that owns it has no pay-per-use credits left (or reached its spending limit), so every account connected through the app is stopped, reads included. Buy credits or raise the limit in X's developer console ("
                <a href="https://console.x.com" rel="noopener noreferrer" target="_blank">"console.x.com"</a>
                "). Nothing needs reconnecting; this goes away at the next call through the app that succeeds."
            </div>
        }
    });
    view! {
        {unreadable}
        {credits}
        <dl class="facts">
            <div><dt>"Client ID"</dt><dd><code>{credential.preview_label()}</code></dd></div>
            <div><dt>"Client Secret"</dt><dd>"Set · never shown again"</dd></div>
            <div><dt>"Saved"</dt><dd>{format_utc(credential.updated_at)}<span class="muted by">{format!(" by {}", credential.updated_by)}</span></dd></div>
            <div><dt>"Last test"</dt><dd><TestBadge last=credential.last_test/></dd></div>
        </dl>
    }
    .into_any()
}

#[component]
fn TestBadge(last: Option<LastTest>) -> impl IntoView {
    match last {
        None => view! { <span class="badge badge-neutral">"Not tested"</span> }.into_any(),
        Some(t) => view! {
            <span class=format!("badge badge-test-{}", t.result.as_str())>{t.result.label()}</span>
            <span class="muted small">{format!(" {}", format_utc(t.at))}</span>
        }
        .into_any(),
    }
}

/// Client ID, Client Secret, **Test credentials** and **Save**: an island. With JavaScript, a test
/// answers in place and the fields keep what was typed (the secret too) for the Save that
/// follows; a save sends the browser to the page's `?done=` answer. Without it, both buttons
/// are form posts and the page comes back. `failed` is the error such a post came back with.
#[island]
fn CredentialsForm(
    brand_id: Option<String>,
    replacing: bool,
    pending: Option<PendingTest>,
    failed: Option<PostedError>,
) -> impl IntoView {
    PostedError::provide(failed);
    let submit = ServerAction::<SubmitTwitterCredentials>::new();
    let error = action_error(submit);
    // Set once: after a post without JavaScript, the Client ID comes back in the error or from
    // the test just made; the secret never does. With JavaScript, the fields keep what was typed.
    let initial_id = error
        .get_untracked()
        .and_then(|e| e.input)
        .or_else(|| pending.as_ref().map(|p| p.client_id.clone()))
        .unwrap_or_default();
    let pending_outcome = pending.map(|p| p.outcome);
    let tested = move || match submit.value().get() {
        Some(Ok(SubmitResult::Tested(outcome))) => Some((outcome, false)),
        _ => pending_outcome.clone().map(|o| (o, true)),
    };
    let busy = move |intent: &'static str| {
        move || {
            submit.pending().get()
                && submit.input().with(|i| i.as_ref().and_then(|i| i.intent.clone()).as_deref() == Some(intent))
        }
    };
    let cancel = replacing || brand_id.is_some();
    let title = if replacing { "Replace credentials" } else { "Add credentials" };

    view! {
        <ActionForm action=submit attr:class="credentials-form">
            <h3>{title}</h3>
            {replacing.then(|| view! {
                <p class="hint">"The same Client ID with a new secret is recorded as a rotation; a different Client ID replaces the app. Either way, accounts connected with the old credentials will need reconnecting."</p>
            })}
            <ErrorBanner error=error/>
            <input type="hidden" name="brand_id" value=brand_id.clone().unwrap_or_default()/>
            <Field
                label="OAuth 2.0 Client ID"
                name="client_id"
                autocomplete="off"
                value=Signal::stored(initial_id)
                hint="About 34 characters, ending in MTpjaQ."
                error=error
            />
            <Field
                label="OAuth 2.0 Client Secret"
                name="client_secret"
                kind="password"
                autocomplete="new-password"
                hint="50 characters. Stored encrypted and never shown again, not even to you."
                error=error
            />
            <div class="actions">
                <button type="submit" name="intent" value="test" class="btn btn-secondary" disabled=move || submit.pending().get() aria-busy=move || busy("test")().then_some("true")>
                    {move || if busy("test")() { "Testing…" } else { "Test credentials" }}
                </button>
                <button type="submit" name="intent" value="save" class="btn btn-primary" disabled=move || submit.pending().get() aria-busy=move || busy("save")().then_some("true")>
                    {move || if busy("save")() { "Saving…" } else { "Save" }}
                </button>
                {cancel.then(|| view! { <a class="btn btn-ghost" href=PAGE>"Cancel"</a> })}
            </div>
            <div aria-live="polite">
                {move || tested().map(|(o, from_before)| view! { <TestResultBox outcome=o from_before=from_before/> })}
            </div>
        </ActionForm>
    }
}

#[component]
fn TestResultBox(outcome: TestOutcome, from_before: bool) -> impl IntoView {
    let class = match outcome.reason {
        TestResult::Valid => "banner banner-success",
        TestResult::InvalidClient => "banner banner-error",
        TestResult::Unreachable => "banner banner-warning",
    };
    view! {
        <div class=format!("{class} test-result") role="status" data-result=outcome.reason.as_str()>
            <strong>{format!("Test: {}", outcome.reason.label())}</strong>
            <span class="muted small">{format!(" ({})", format_utc(outcome.tested_at))}</span>
            <p>{outcome.message.clone()}</p>
            {outcome.detail.clone().map(|d| view! { <p class="small">{format!("What happened: {d}.")}</p> })}
            {from_before.then(|| view! {
                <p class="small">"Perch never sends a secret back to your browser: paste the Client Secret again to save this pair."</p>
            })}
        </div>
    }
}

#[component]
fn RemoveConfirm(
    brand_id: Option<String>,
    brand_name: Option<String>,
    remove: ServerAction<RemoveTwitterCredentials>,
) -> impl IntoView {
    let error = action_error(remove);
    let question = match &brand_name {
        None => "Remove the default credentials? Brands without an override of their own will not be able to connect accounts until new ones are saved, and accounts connected through this app will need reconnecting.".to_owned(),
        Some(n) => format!("Remove the override of “{n}”? The brand will use the organization default, and its accounts connected through this app will need reconnecting."),
    };
    view! {
        <div class="confirm" role="group" aria-label="Confirm removal">
            <p>{question}</p>
            <ActionForm action=remove>
                <ErrorBanner error=error all=true/>
                <input type="hidden" name="brand_id" value=brand_id.unwrap_or_default()/>
                <div class="actions">
                    <button type="submit" class="btn btn-danger">"Yes, remove"</button>
                    <a class="btn btn-secondary" href=PAGE>"Cancel"</a>
                </div>
            </ActionForm>
        </div>
    }
    .into_any()
}

#[component]
fn BrandOverrides(
    brands: Vec<BrandCredentials>,
    has_default: bool,
    can_manage: bool,
    pending: Vec<PendingTest>,
    remove: ServerAction<RemoveTwitterCredentials>,
) -> impl IntoView {
    if brands.is_empty() {
        return view! {
            <div class="empty-state">
                <p>"No brands yet."</p>
                <p class="muted"><a href="/brands">"Add a brand"</a>" to give it an X app of its own."</p>
            </div>
        }
        .into_any();
    }
    let query = use_query_map();
    let open = move |id: &str| {
        let q = query.read();
        q.get("edit").as_deref() == Some(id) || q.get("remove").as_deref() == Some(id)
    };
    view! {
        <div class="table-wrap"><table class="table stack overrides">
            <thead><tr>
                <th scope="col">"Brand"</th>
                <th scope="col">"Connects through"</th>
                <th scope="col">"Last test"</th>
                <th scope="col"><span class="sr-only">"Actions"</span></th>
            </tr></thead>
            <tbody>
                {brands.into_iter().map(|b| {
                    let BrandCredentials { brand_id, brand_name, own } = b;
                    let uses = match &own {
                        Some(c) => view! { <span class="badge badge-own">{format!("Own app {}", c.preview_label())}</span> }.into_any(),
                        None if has_default => view! { <span class="badge badge-neutral">"Organization default"</span> }.into_any(),
                        None => view! { <span class="badge badge-warning">"No app yet"</span> }.into_any(),
                    };
                    let last = own.as_ref().map(|c| view! { <TestBadge last=c.last_test/> });
                    let (id1, id2) = (brand_id.clone(), brand_id.clone());
                    let has_own = own.is_some();
                    let actions = can_manage.then(|| if has_own {
                        view! {
                            <a href=link("edit", Some(&brand_id))>"Replace"</a>
                            " · "
                            <a class="danger-link" href=link("remove", Some(&brand_id))>"Remove"</a>
                        }.into_any()
                    } else {
                        view! { <a href=link("edit", Some(&brand_id))>"Add override"</a> }.into_any()
                    });
                    let (name1, pending) = (brand_name.clone(), pending.clone());
                    view! {
                        <tr id=anchor(Some(&brand_id))>
                            <th scope="row"><a href=format!("/brands/{}", brand_id)>{brand_name.clone()}</a></th>
                            <td data-label="Connects through">{uses}</td>
                            <td data-label="Last test">{last}</td>
                            <td class="row-actions">{actions}</td>
                        </tr>
                        {move || open(&id1).then(|| view! {
                            <tr class="panel-row"><td colspan="4">
                                <div class="panel">
                                    <h3 class="panel-title">{format!("“{}”", name1.clone())}</h3>
                                    <TargetPanel brand_id=Some(id2.clone()) brand_name=Some(name1.clone()) saved=own.clone() can_manage pending=pending.clone() remove/>
                                </div>
                            </td></tr>
                        }.into_any())}
                    }
                    .into_any()
                }).collect_view()}
            </tbody>
        </table></div>
    }
    .into_any()
}

#[component]
fn AuditTrail(entries: Vec<crate::domain::AuditEntry>) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="audit-title">
            <h2 id="audit-title">"Audit trail"</h2>
            <p class="muted">"Who saved, replaced, tested or removed credentials, and which X accounts were connected, disconnected or found to need reconnecting. Secrets and tokens never appear here."</p>
            {if entries.is_empty() {
                view! { <p class="muted">"Nothing yet."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap"><table class="table stack audit">
                        <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th><th scope="col">"Credentials"</th></tr></thead>
                        <tbody>
                            {entries.into_iter().map(|e| view! {
                                <tr>
                                    <td class="muted nowrap" data-label="When">{format_utc(e.at)}</td>
                                    <td data-label="Who">{e.actor}</td>
                                    <td data-label="What">{e.action}<div class="muted small">{e.detail}</div></td>
                                    <td data-label="Credentials">{e.target}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table></div>
                }.into_any()
            }}
        </section>
    }
    .into_any()
}
