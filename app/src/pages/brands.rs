use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::brands::{CreateBrand, list_brands};
use crate::components::forms::{ErrorBanner, Field, Submit, action_error};
use crate::components::layout::CurrentViewer;
use crate::domain::{BrandName, format_utc};

#[component]
pub fn BrandsPage() -> impl IntoView {
    let CurrentViewer(viewer) = expect_context();
    // A plain form post: the browser comes back to this page, which lists the new brand (or
    // shows the error the post came back with, and what was typed).
    let create = ServerAction::<CreateBrand>::new();
    let error = action_error(create);
    let brands = Resource::new(|| (), |_| list_brands());

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
                        <ActionForm action=create>
                            <ErrorBanner error=error/>
                            <div class="inline-form">
                                <Field label="Brand name" name="name" maxlength=BrandName::MAX_LEN error=error/>
                                <Submit label="Add brand"/>
                            </div>
                        </ActionForm>
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
