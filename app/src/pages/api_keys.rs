//! Settings → API keys (owners and admins): create a key (shown once, with a copy button), see
//! every key with when it was last used, revoke one (at once).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::keys::{CreateApiKey, RevokeApiKey, get_api_keys};
use crate::components::copy::CopyValue;
use crate::components::forms::{ErrorBanner, Field, Submit, action_error};
use crate::components::settings_tabs::SettingsTabs;
use crate::domain::{ApiKeyName, ApiKeyView, CreatedKey, format_utc};

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let query = use_query_map();
    let keys = Resource::new(|| (), |_| get_api_keys());
    let create_error = action_error(create);
    let revoke_error = action_error(revoke);

    view! {
        <Title text="API keys"/>
        <header class="page-header">
            <h1>"Settings"</h1>
            <p class="lede">"Your organization, its members, and your account."</p>
        </header>
        <SettingsTabs/>
        <ErrorBanner error=revoke_error all=true/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let overview = match keys.await {
                    Ok(o) => o,
                    Err(e) => return view! { <div class="banner banner-error" role="alert">{e.to_string()}</div> }.into_any(),
                };
                let api_url = overview.api_url.clone();
                let revoked_now = query.read().get("revoked").and_then(|id| overview.keys.iter().find(|k| k.id == id).map(|k| k.name.clone()));
                let just_created = overview.just_created.clone();
                view! {
                    {revoked_now.map(|name| view! {
                        <div class="banner banner-success" role="status">{format!("Revoked “{name}”. Requests with it are refused from now on.")}</div>
                    })}
                    <section class="card" aria-labelledby="new-key">
                        <h2 id="new-key">"API keys"</h2>
                        <p>
                            "Keys let your own programs use Perch's API at " <code>{api_url.clone()}</code>
                            ": list brands and X accounts, hand out connect links, and post. Send a key as "
                            <code>"Authorization: Bearer <key>"</code> ". A key can never read or change Twitter credentials or API keys: those stay in this dashboard."
                        </p>
                        // The key this page was sent back with after its creation, once.
                        {just_created.map(|c| view! { <NewKey created=c api_url=api_url.clone()/> })}
                        <ActionForm action=create>
                            <ErrorBanner error=create_error/>
                            <div class="inline-form">
                                <Field label="Key name" name="name" maxlength=ApiKeyName::MAX_LEN hint="Where the key is used, such as “CMS production”." error=create_error/>
                                <Submit label="Create key"/>
                            </div>
                        </ActionForm>
                    </section>
                    <KeyList keys=overview.keys revoke=revoke/>
                }
                .into_any()
            })}
        </Transition>
    }
}

/// The key just created: the one time it is shown.
#[component]
fn NewKey(created: CreatedKey, api_url: String) -> impl IntoView {
    let example = format!("curl -H \"Authorization: Bearer {}\" {api_url}/accounts", created.key);
    view! {
        <div class="banner banner-success new-key" role="status">
            <p><strong>{format!("Key “{}” created.", created.view.name)}</strong>
                " Copy it now: Perch keeps only a hash of it and cannot show it again. If it is lost, revoke it and create another."</p>
            <p><CopyValue id="new-api-key".to_owned() value=created.key.clone() what="API key".to_owned()/></p>
            <p class="hint">"Try it: " <code class="break">{example}</code></p>
        </div>
    }
}

#[component]
fn KeyList(keys: Vec<ApiKeyView>, revoke: ServerAction<RevokeApiKey>) -> impl IntoView {
    if keys.is_empty() {
        return view! { <section class="card"><p class="muted">"No API keys yet."</p></section> }.into_any();
    }
    view! {
        <section class="card" aria-labelledby="keys">
            <h2 id="keys">"Keys"</h2>
            <div class="table-wrap"><table class="table stack">
                <thead><tr>
                    <th scope="col">"Name"</th><th scope="col">"Key"</th><th scope="col">"Created"</th>
                    <th scope="col">"Last used"</th><th scope="col"><span class="sr-only">"State"</span></th>
                </tr></thead>
                <tbody>
                    {keys.into_iter().map(|k| {
                        let (key_id, revoke_label) = (k.id.clone(), format!("Revoke {}", k.name));
                        let state = match k.revoked_at {
                            Some(at) => view! { <span class="badge badge-neutral">{format!("Revoked {}", format_utc(at))}</span> }.into_any(),
                            None => view! {
                                <ActionForm action=revoke>
                                    <input type="hidden" name="key_id" value=key_id/>
                                    <Submit label="Revoke" class="btn btn-danger-outline" aria_label=revoke_label/>
                                </ActionForm>
                            }.into_any(),
                        };
                        view! {
                            <tr id=format!("key-{}", k.id) class:revoked=k.revoked_at.is_some()>
                                <td data-label="Name">{k.name.clone()}</td>
                                <td data-label="Key" class="nowrap"><code>{format!("{}…", k.prefix)}</code></td>
                                <td data-label="Created">{format_utc(k.created_at)} <span class="muted">{format!(" by {}", k.created_by)}</span></td>
                                <td data-label="Last used">{k.last_used_at.map(format_utc).unwrap_or_else(|| "Never".to_owned())}</td>
                                <td class="nowrap">{state}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table></div>
        </section>
    }
    .into_any()
}
