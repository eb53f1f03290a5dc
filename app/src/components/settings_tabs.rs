//! The sections of Settings, as tabs under the page title.

use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn SettingsTabs() -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="Settings sections">
            <A href="/settings" exact=true>"Organization"</A>
            <A href="/settings/twitter">"Twitter integration"</A>
            <A href="/settings/api-keys">"API keys"</A>
        </nav>
    }
}
