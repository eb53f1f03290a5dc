use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::org::{RenameOrg, get_org_settings};
use crate::components::forms::{ErrorBanner, Field, Submit, action_error};
use crate::components::layout::CurrentViewer;
use crate::components::settings_tabs::SettingsTabs;
use crate::domain::{OrgName, format_utc};

#[component]
pub fn SettingsPage() -> impl IntoView {
    let CurrentViewer(viewer) = expect_context();
    let rename = ServerAction::<RenameOrg>::new();
    let error = action_error(rename);
    let settings = Resource::new(move || rename.version().get(), |_| get_org_settings());
    let renamed = move || matches!(rename.value().get(), Some(Ok(())));

    view! {
        <Title text="Settings"/>
        <header class="page-header">
            <h1>"Settings"</h1>
            <p class="lede">"Your organization, its members, and your account."</p>
        </header>
        <SettingsTabs/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let me = viewer.await.ok().flatten();
                let can_manage = me.as_ref().is_some_and(|v| v.role.can_manage());
                match settings.await {
                    Ok(s) => view! {
                        <section class="card" aria-labelledby="org">
                            <h2 id="org">"Organization"</h2>
                            <dl class="facts">
                                <div><dt>"Name"</dt><dd>{s.name.clone()}</dd></div>
                                <div><dt>"Created"</dt><dd>{format_utc(s.created_at)}</dd></div>
                                <div><dt>"Brands"</dt><dd><a href="/brands">{s.brand_count.to_string()}</a></dd></div>
                            </dl>
                            {can_manage.then(|| view! {
                                <ActionForm action=rename>
                                    <ErrorBanner error=error/>
                                    <div class="inline-form">
                                        <Field label="Organization name" name="org_name" value=s.name.clone() maxlength=OrgName::MAX_LEN error=error/>
                                        <Submit label="Rename" pending_label="Saving…" pending=rename.pending().into()/>
                                    </div>
                                </ActionForm>
                            })}
                            {move || renamed().then(|| view! { <div class="banner banner-success" role="status">"Organization renamed."</div> })}
                        </section>
                        <section class="card" aria-labelledby="members">
                            <h2 id="members">"Members"</h2>
                            <div class="table-wrap"><table class="table">
                                <thead><tr><th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"Joined"</th></tr></thead>
                                <tbody>
                                    {s.members.into_iter().map(|m| view! {
                                        <tr>
                                            <td>{m.email}</td>
                                            <td><span class=format!("badge badge-{}", m.role.as_str())>{m.role.label()}</span></td>
                                            <td class="muted">{format_utc(m.created_at)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                            <p class="hint">"Add people with " <code>"perch user create --email E --org \"NAME\""</code> " on the server."</p>
                        </section>
                        {me.map(|v| view! {
                            <section class="card" aria-labelledby="account">
                                <h2 id="account">"Your account"</h2>
                                <dl class="facts">
                                    <div><dt>"Email"</dt><dd>{v.email}</dd></div>
                                    <div><dt>"Role"</dt><dd>{v.role.label()}</dd></div>
                                </dl>
                            </section>
                        })}
                    }.into_any(),
                    Err(e) => view! { <div class="banner banner-error" role="alert">{e.to_string()}</div> }.into_any(),
                }
            })}
        </Transition>
    }
}
