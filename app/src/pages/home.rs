use leptos::prelude::*;
use leptos_router::components::Redirect;

/// `/` is the dashboard's front door: brands are where the work starts.
#[component]
pub fn HomeRedirect() -> impl IntoView {
    view! { <Redirect path="/brands"/> }
}
