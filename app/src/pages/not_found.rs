use leptos::prelude::*;
use leptos_meta::Title;

/// Answers 404: for unknown paths, and for ids that do not exist in the viewer's organization
/// (another organization's id looks exactly like a made-up one; docs/security.md G.33).
#[component]
pub fn NotFound(#[prop(default = "page")] what: &'static str) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found"/>
        <section class="empty-state not-found">
            <h1>{format!("No such {what}")}</h1>
            <p>"It may have been deleted, or the link is wrong. If someone sent you this link, it may belong to another organization."</p>
            <p><a class="btn btn-secondary" href="/brands">"Go to brands"</a></p>
        </section>
    }
}
