use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::brands::{CreateBrand, list_brands};
use crate::components::forms::{ErrorBanner, Field, Submit, action_error};
use crate::components::layout::CurrentViewer;
use crate::domain::{BrandName, format_utc};

#[component]
pub fn BrandsPage() -> impl IntoView {
    let CurrentViewer(viewer) = expect_context();
    let create = ServerAction::<CreateBrand>::new();
    let error = action_error(create);
    let brands = Resource::new(move || create.version().get(), |_| list_brands());
    let form = NodeRef::<leptos::html::Form>::new();
    let created = move || create.value().get().and_then(|r| r.ok());
    // After a successful create (hydrated page), empty the field for the next one.
    Effect::new(move |_| {
        if created().is_some()
            && let Some(f) = form.get()
        {
            f.reset();
        }
    });

    view! {
        <Title text="Brands"/>
        <header class="page-header">
            <h1>"Brands"</h1>
            <p class="lede">"The clients your organization posts for. Each brand can use its own X app or the organization's default."</p>
        </header>
        <Suspense>
            {move || Suspend::new(async move {
                let can_manage = viewer.await.ok().flatten().is_some_and(|v| v.role.can_manage());
                can_manage.then(|| view! {
                    <section class="card" aria-labelledby="new-brand">
                        <h2 id="new-brand">"Add a brand"</h2>
                        <ActionForm action=create node_ref=form>
                            <ErrorBanner error=error/>
                            <div class="inline-form">
                                <Field label="Brand name" name="name" maxlength=BrandName::MAX_LEN error=error/>
                                <Submit label="Add brand" pending_label="Adding…" pending=create.pending().into()/>
                            </div>
                        </ActionForm>
                        {move || created().map(|b| view! {
                            <div class="banner banner-success" role="status">{format!("Added “{}”.", b.name)}</div>
                        })}
                    </section>
                })
            })}
        </Suspense>
        <section class="card" aria-labelledby="brand-list">
            <h2 id="brand-list">"All brands"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading brands…"</p> }>
                {move || Suspend::new(async move {
                    match brands.await {
                        Ok(list) if list.is_empty() => view! {
                            <div class="empty-state">
                                <p>"No brands yet."</p>
                                <p class="muted">"Add one for each client you run an X account for."</p>
                            </div>
                        }.into_any(),
                        Ok(list) => view! {
                            <div class="table-wrap"><table class="table">
                                <thead><tr><th scope="col">"Name"</th><th scope="col">"Added"</th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|b| view! {
                                        <tr>
                                            <td><a href=format!("/brands/{}", b.id)>{b.name}</a></td>
                                            <td class="muted">{format_utc(b.created_at)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        }.into_any(),
                        Err(e) => view! { <div class="banner banner-error" role="alert">{e.to_string()}</div> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
