//! Settings → Organization: the organization's name, its members (owners and admins can remove
//! one), and your account (change your password, sign out everywhere).
//!
//! Which member is being removed lives in the URL (`?remove=<user id>`), and each action answers
//! with a redirect to `?done=...`, so every step works the same with JavaScript off.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::account::{ChangePassword, DONE_PASSWORD, DONE_REMOVED, RemoveMember, SignOutEverywhere};
use crate::api::org::{RenameOrg, get_org_settings};
use crate::components::forms::{ErrorBanner, Field, Submit, action_error};
use crate::components::layout::CurrentViewer;
use crate::components::settings_tabs::SettingsTabs;
use crate::domain::{MemberView, OrgName, Password, Role, Viewer, format_utc};

/// The page itself (and where Cancel goes).
const PAGE: &str = "/settings";

#[component]
pub fn SettingsPage() -> impl IntoView {
    let CurrentViewer(viewer) = expect_context();
    let rename = ServerAction::<RenameOrg>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let change_password = ServerAction::<ChangePassword>::new();
    let sign_out_everywhere = ServerAction::<SignOutEverywhere>::new();
    let error = action_error(rename);
    let settings = Resource::new(|| (), |_| get_org_settings());

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
                                        <Submit label="Rename"/>
                                    </div>
                                </ActionForm>
                            })}
                        </section>
                        <Members members=s.members me=me.clone() remove=remove/>
                        {me.map(|v| view! { <Account viewer=v change_password=change_password sign_out_everywhere=sign_out_everywhere/> })}
                    }.into_any(),
                    Err(e) => view! { <div class="banner banner-error" role="alert">{e.to_string()}</div> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Whether `me` may remove `member` from the page: owners and admins may remove others, an admin
/// not an owner, and nobody the last owner. (The server checks the same again, in the removal's
/// transaction.)
fn removable(me: &Viewer, member: &MemberView, owners: usize) -> bool {
    me.role.can_manage()
        && member.user_id != me.user_id
        && (member.role != Role::Owner || (me.role == Role::Owner && owners > 1))
}

#[component]
fn Members(members: Vec<MemberView>, me: Option<Viewer>, remove: ServerAction<RemoveMember>) -> impl IntoView {
    let query = use_query_map();
    let owners = members.iter().filter(|m| m.role == Role::Owner).count();
    let can_manage = me.as_ref().is_some_and(|v| v.role.can_manage());
    let removed = move || query.read().get("done").as_deref() == Some(DONE_REMOVED);
    // The member whose removal is being confirmed, if the URL names one this viewer may remove.
    let confirming = {
        let (members, me) = (members.clone(), me.clone());
        move || {
            let id = query.read().get("remove")?;
            let me = me.as_ref()?;
            members.iter().find(|m| m.user_id == id && removable(me, m, owners)).cloned()
        }
    };
    view! {
        <section class="card" aria-labelledby="members">
            <h2 id="members">"Members"</h2>
            {move || removed().then(|| view! {
                <div class="banner banner-success" role="status">"Member removed. Their sessions have ended and they can no longer sign in."</div>
            })}
            <div class="table-wrap"><table class="table stack">
                <thead><tr>
                    <th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"Joined"</th>
                    {can_manage.then(|| view! { <th scope="col"><span class="sr-only">"Actions"</span></th> })}
                </tr></thead>
                <tbody>
                    {members.into_iter().map(|m| {
                        let action = me.as_ref().filter(|me| removable(me, &m, owners)).map(|_| view! {
                            <a class="danger-link" href=format!("{PAGE}?remove={}#members", m.user_id) aria-label=format!("Remove {}", m.email)>"Remove…"</a>
                        });
                        view! {
                            <tr id=format!("member-{}", m.user_id)>
                                <td data-label="Email">{m.email.clone()}</td>
                                <td data-label="Role"><span class=format!("badge badge-{}", m.role.as_str())>{m.role.label()}</span></td>
                                <td class="muted" data-label="Joined">{format_utc(m.created_at)}</td>
                                {can_manage.then(|| view! { <td class="row-actions">{action}</td> })}
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table></div>
            {move || confirming().map(|m| view! { <RemoveConfirm member=m remove=remove/> })}
            <p class="hint">"Add people with " <code>"perch user create --email E --org \"NAME\""</code> " on the server."</p>
        </section>
    }
}

#[component]
fn RemoveConfirm(member: MemberView, remove: ServerAction<RemoveMember>) -> impl IntoView {
    let error = action_error(remove);
    view! {
        <div class="confirm" role="group" aria-label="Confirm removal">
            <p>{format!(
                "Remove {} ({}) from the organization? They are signed out at once, on every device, and can no longer sign in. API keys they created and X accounts they connected stay with the organization.",
                member.email, member.role.label()
            )}</p>
            <ActionForm action=remove>
                <ErrorBanner error=error all=true/>
                <input type="hidden" name="user_id" value=member.user_id.clone()/>
                <div class="actions">
                    <Submit label="Yes, remove" class="btn btn-danger"
                        aria_label=format!("Yes, remove {}", member.email)/>
                    <a class="btn btn-secondary" href=format!("{PAGE}#members")>"Cancel"</a>
                </div>
            </ActionForm>
        </div>
    }
}

#[component]
fn Account(
    viewer: Viewer,
    change_password: ServerAction<ChangePassword>,
    sign_out_everywhere: ServerAction<SignOutEverywhere>,
) -> impl IntoView {
    let query = use_query_map();
    let password_error = action_error(change_password);
    let sign_out_error = action_error(sign_out_everywhere);
    let changed = move || query.read().get("done").as_deref() == Some(DONE_PASSWORD);
    view! {
        <section class="card" aria-labelledby="account">
            <h2 id="account">"Your account"</h2>
            <dl class="facts">
                <div><dt>"Email"</dt><dd>{viewer.email.clone()}</dd></div>
                <div><dt>"Role"</dt><dd>{viewer.role.label()}</dd></div>
            </dl>
            <h3 id="change-password" class="account-section">"Change password"</h3>
            {move || changed().then(|| view! {
                <div class="banner banner-success" role="status">"Password changed. You are still signed in here; every other session of yours has ended."</div>
            })}
            <ActionForm action=change_password attr:class="account-form" attr:aria-labelledby="change-password">
                <ErrorBanner error=password_error/>
                // For password managers: whose password this is (no name, so it is not sent).
                <input type="email" class="sr-only" autocomplete="username" value=viewer.email.clone() readonly=true tabindex="-1" aria-hidden="true"/>
                <Field label="Current password" name="current_password" kind="password" autocomplete="current-password" error=password_error/>
                <Field label="New password" name="new_password" kind="password" autocomplete="new-password" minlength=Password::MIN_CHARS
                    hint="At least 8 characters. A few unrelated words make a strong passphrase. Your other sessions end; this one stays." error=password_error/>
                <Submit label="Change password"/>
            </ActionForm>
            <h3 id="sessions" class="account-section">"Sessions"</h3>
            <p class="muted">"Signed in on a computer you no longer use, or think someone else might be? Sign out everywhere ends every session of your account, on every device, this one included."</p>
            <ActionForm action=sign_out_everywhere attr:aria-labelledby="sessions">
                <ErrorBanner error=sign_out_error all=true/>
                <Submit label="Sign out everywhere" class="btn btn-danger-outline"/>
            </ActionForm>
        </section>
    }
}
