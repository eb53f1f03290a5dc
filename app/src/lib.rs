#![recursion_limit = "256"]

//! Perch's dashboard: pages, components, server functions and domain types, shared by the
//! server (feature `ssr`) and the browser (feature `hydrate`).

pub mod api;
pub mod components;
pub mod domain;
pub mod error;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{SsrMode, path};

use components::layout::DashboardLayout;
use pages::{
    AccountsPage, ApiKeysPage, BrandPage, BrandsPage, HomeRedirect, LoginPage, NotFound, SettingsPage, SignupPage,
    TwitterSettingsPage,
};

/// The HTML document around the app. On the server it also sets the page's
/// Content-Security-Policy with the nonce Leptos puts on its inline hydration script.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_page_csp();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                // The bundle's content-hashed name (the server's `assets::output_name`), so
                // browsers keep the stylesheet until a new build names another.
                <link rel="stylesheet" href=format!("/{}/{}.css", options.site_pkg_dir, options.output_name)/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[cfg(feature = "ssr")]
fn set_page_csp() {
    use http::header::{CONTENT_SECURITY_POLICY, HeaderValue};
    let (Some(nonce), Some(res)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) else {
        return;
    };
    let x_origin =
        use_context::<server::AppState>().map(|s| server::origin_of(s.x.authorize_url())).unwrap_or_default();
    let csp = server::page_csp(&nonce, &x_origin);
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.insert_header(CONTENT_SECURITY_POLICY, v);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=page_title/>
        <Router>
            // Every page renders whole before it is sent (SsrMode::Async): that is what lets a
            // page answer a redirect or a 404 status, and with JavaScript off it is all there is.
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/signup") view=SignupPage ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=DashboardLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=HomeRedirect ssr=SsrMode::Async/>
                    <Route path=path!("/brands") view=BrandsPage ssr=SsrMode::Async/>
                    <Route path=path!("/brands/:id") view=BrandPage ssr=SsrMode::Async/>
                    <Route path=path!("/accounts") view=AccountsPage ssr=SsrMode::Async/>
                    <Route path=path!("/settings") view=SettingsPage ssr=SsrMode::Async/>
                    <Route path=path!("/settings/twitter") view=TwitterSettingsPage ssr=SsrMode::Async/>
                    <Route path=path!("/settings/api-keys") view=ApiKeysPage ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// The document's title: "<page> · Perch".
///
/// On the server, leptos_meta writes the formatted title into `<title>…</title>` as it is, without
/// escaping (leptos_meta 0.8 `ServerMetaContext`), so a brand named `</title><script>…` would end the
/// element: the text is escaped here, and only there (docs/security.md H.40). In the browser the same
/// formatter feeds `document.title`, which takes plain text, so escaping it there would show
/// `&lt;` to the user; the browser's parse of the escaped `<title>` and the hydrated
/// `document.title` are then the same text.
fn page_title(text: String) -> String {
    let title = if text.is_empty() { "Perch".to_owned() } else { format!("{text} · Perch") };
    if cfg!(feature = "ssr") { title.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;") } else { title }
}

/// The browser entry point. Pages are server-rendered HTML that works without JavaScript; the
/// few parts that do something in the browser are islands (`#[island]`), which the loader
/// script hydrates one by one after this runs.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    leptos::mount::hydrate_islands();
    // Lets end-to-end tests (and curious people) tell a page whose islands are live from a
    // server-rendered one. The loader hydrates the islands right after this returns, without
    // waiting on anything but microtasks, so a task queued now runs once they all are.
    set_timeout(
        || {
            if let Some(body) = document().body() {
                let _ = body.set_attribute("data-hydrated", "");
            }
        },
        std::time::Duration::ZERO,
    );
}
