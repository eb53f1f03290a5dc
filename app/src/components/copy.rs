//! A value to copy into another site or program (the callback URL into X's portal, a new API
//! key into the integration that uses it).

use leptos::prelude::*;

/// A value with a copy button: an island, the button works once its code has loaded (without
/// JavaScript it is hidden and the value is there to select). `what` names the value for screen
/// readers when it has been copied.
#[island]
pub fn CopyValue(id: String, value: String, what: String) -> impl IntoView {
    let (state, set_state) = signal(None::<bool>);
    let copy = {
        let value = value.clone();
        move |_| copy_text(value.clone(), set_state)
    };
    view! {
        <span class="copy-value">
            <code id=id.clone()>{value.clone()}</code>
            <button type="button" class="btn btn-secondary btn-small copy-btn" on:click=copy aria-describedby=id.clone()>
                {move || match state.get() {
                    Some(true) => "Copied",
                    Some(false) => "Select and copy",
                    None => "Copy",
                }}
            </button>
            <span class="sr-only" aria-live="polite">{move || (state.get() == Some(true)).then(|| format!("{what} copied to the clipboard"))}</span>
        </span>
    }
}

#[cfg(feature = "hydrate")]
fn copy_text(text: String, done: WriteSignal<Option<bool>>) {
    let promise = window().navigator().clipboard().write_text(&text);
    leptos::task::spawn_local(async move {
        done.set(Some(wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()));
    });
}

#[cfg(not(feature = "hydrate"))]
fn copy_text(_text: String, _done: WriteSignal<Option<bool>>) {}
