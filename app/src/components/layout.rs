//! The signed-in dashboard's frame: navigation, who is signed in, and sign-out.

use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};
use leptos_router::hooks::use_location;

use crate::api::auth::{Logout, get_viewer};
use crate::domain::Viewer;
use crate::error::AppError;

/// The signed-in user, loaded once by the layout and read by every dashboard page.
#[derive(Clone, Copy)]
pub struct CurrentViewer(pub Resource<Result<Option<Viewer>, AppError>>);

#[component]
pub fn DashboardLayout() -> impl IntoView {
    let viewer = Resource::new(|| (), |_| get_viewer());
    provide_context(CurrentViewer(viewer));
    let location = use_location();
    // The page is built once, outside the Suspense: a page created inside a `Suspend` is created
    // again each time the server re-polls it, and the copies' resources take ids the browser never
    // hands out, so hydration fails at random. The signed-out visitor is redirected all the same
    // (the server answers 302 before sending the page), and the page's own server functions
    // refuse to answer without a session.
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <Suspense fallback=|| view! { <div class="topbar-placeholder" aria-busy="true"></div> }>
            {move || Suspend::new(async move {
                match viewer.await {
                    Ok(Some(v)) => view! { <TopBar viewer=v/> }.into_any(),
                    Ok(None) => {
                        let here = location.pathname.get_untracked();
                        let path = if here == "/" { "/login".to_owned() } else { format!("/login?next={}", crate::domain::encode_query_value(&here)) };
                        view! { <Redirect path=path/> }.into_any()
                    }
                    Err(e) => view! { <div class="banner banner-error" role="alert">{e.to_string()}</div> }.into_any(),
                }
            })}
        </Suspense>
        <main id="main" class="page">
            <Outlet/>
        </main>
    }
}

#[component]
fn TopBar(viewer: Viewer) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    view! {
        <header class="topbar">
            <div class="topbar-inner">
                <a class="logo" href="/brands" aria-label="Perch home">
                    <img src="/favicon.svg" alt="" width="28" height="28"/>
                    <span>"Perch"</span>
                </a>
                <nav aria-label="Main">
                    <A href="/brands">"Brands"</A>
                    <A href="/accounts">"X accounts"</A>
                    <A href="/settings">"Settings"</A>
                </nav>
                <div class="whoami">
                    <span class="org" title="Organization">{viewer.org_name}</span>
                    <span class="email">{viewer.email}</span>
                    <ActionForm action=logout>
                        <button type="submit" class="btn btn-ghost">"Sign out"</button>
                    </ActionForm>
                </div>
            </div>
        </header>
    }
}

/// The frame of the signed-out pages (sign-in, sign-up): a centred card. Someone already signed
/// in is sent on to the dashboard.
#[component]
pub fn AuthFrame(title: &'static str, children: Children) -> impl IntoView {
    let viewer = Resource::new(|| (), |_| get_viewer());
    view! {
        <main id="main" class="auth">
            <Suspense>
                {move || Suspend::new(async move {
                    matches!(viewer.await, Ok(Some(_))).then(|| view! { <Redirect path="/brands"/> })
                })}
            </Suspense>
            <div class="auth-card">
                <div class="auth-logo"><img src="/favicon.svg" alt="" width="40" height="40"/><span>"Perch"</span></div>
                <h1>{title}</h1>
                {children()}
            </div>
        </main>
    }
}
