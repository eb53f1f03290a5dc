use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::brands::{DeleteBrand, RenameBrand, get_brand};
use crate::components::forms::{ErrorBanner, Field, Submit, action_error};
use crate::components::layout::CurrentViewer;
use crate::domain::{BrandName, BrandView, format_utc};
use crate::error::ErrorCode;
use crate::pages::NotFound;

#[component]
pub fn BrandPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let rename = ServerAction::<RenameBrand>::new();
    let brand = Resource::new(id, get_brand);

    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match brand.await {
                    Ok(b) => view! { <BrandDetail brand=b rename=rename/> }.into_any(),
                    Err(e) if e.code == ErrorCode::NotFound => view! { <NotFound what="brand"/> }.into_any(),
                    Err(e) => view! { <div class="banner banner-error" role="alert">{e.to_string()}</div> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn BrandDetail(brand: BrandView, rename: ServerAction<RenameBrand>) -> impl IntoView {
    let CurrentViewer(viewer) = expect_context();
    let delete = ServerAction::<DeleteBrand>::new();
    let rename_error = action_error(rename);
    let delete_error = action_error(delete);
    let query = use_query_map();
    let confirming = move || query.read().get("confirm").as_deref() == Some("delete");
    let BrandView { id, name, created_at, updated_at } = brand;
    let title = name.clone();

    view! {
        <Title text=title.clone()/>
        <nav class="breadcrumbs" aria-label="Breadcrumb"><a href="/brands">"Brands"</a><span aria-hidden="true">" / "</span><span>{title.clone()}</span></nav>
        <header class="page-header">
            <h1>{title.clone()}</h1>
            <p class="muted">{format!("Added {} · last changed {}", format_utc(created_at), format_utc(updated_at))}</p>
        </header>
        <section class="card" aria-labelledby="brand-x">
            <h2 id="brand-x">"X accounts"</h2>
            <p class="muted">"This brand's X accounts connect through its own X app if it has one, otherwise through the organization's default app."</p>
            <p>
                <a class="btn btn-secondary" href=format!("/accounts#card-{id}")>"Connect and manage this brand's X accounts"</a>" "
                <a href=format!("/settings/twitter#brand-{id}")>"This brand's X app"</a>
            </p>
        </section>
        <Suspense>
            {move || {
                let (id, name, title) = (id.clone(), name.clone(), title.clone());
                Suspend::new(async move {
                    let can_manage = viewer.await.ok().flatten().is_some_and(|v| v.role.can_manage());
                    if !can_manage {
                        return view! { <p class="muted">"Only owners and admins can rename or delete brands."</p> }.into_any();
                    }
                    let (id2, id3) = (id.clone(), id.clone());
                    view! {
                        <section class="card" aria-labelledby="rename">
                            <h2 id="rename">"Rename"</h2>
                            <ActionForm action=rename>
                                <ErrorBanner error=rename_error/>
                                <input type="hidden" name="id" value=id.clone()/>
                                <div class="inline-form">
                                    <Field label="Brand name" name="name" value=name.clone() maxlength=BrandName::MAX_LEN error=rename_error/>
                                    <Submit label="Save name"/>
                                </div>
                            </ActionForm>
                        </section>
                        <section class="card card-danger" aria-labelledby="delete">
                            <h2 id="delete">"Delete brand"</h2>
                            {move || if confirming() {
                                let (id2, title) = (id2.clone(), title.clone());
                                view! {
                                    <p>{format!("Delete “{title}”? Its X accounts are disconnected, their tokens revoked at X, and its own X app credentials removed. This cannot be undone.")}</p>
                                    <ActionForm action=delete>
                                        <ErrorBanner error=delete_error all=true/>
                                        <input type="hidden" name="id" value=id2.clone()/>
                                        <div class="actions">
                                            <Submit label="Yes, delete this brand" class="btn btn-danger"/>
                                            <a class="btn btn-secondary" href=format!("/brands/{id2}")>"Cancel"</a>
                                        </div>
                                    </ActionForm>
                                }.into_any()
                            } else {
                                view! {
                                    <p class="muted">"Removes the brand from your organization."</p>
                                    <a class="btn btn-danger-outline" href=format!("/brands/{}?confirm=delete", id3)>"Delete brand…"</a>
                                }.into_any()
                            }}
                        </section>
                    }.into_any()
                })
            }}
        </Suspense>
    }
}
