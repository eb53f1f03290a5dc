//! Form building blocks: labelled fields whose errors are announced and tied to the input, and a
//! banner for errors that belong to no one field. The same markup serves the server-rendered page
//! (errors come back through the redirect) and islands (errors come from the action).

use leptos::prelude::*;
use leptos::server::ServerActionError;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The error a form post without JavaScript came back with (the router reads it from
/// `?__err=…&__path=…`), handed to an island as a prop: in the browser an island has no router
/// to read it from, and its action must start from the same error there as on the server, or
/// the two would draw the form differently.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostedError {
    path: String,
    err: String,
}

impl PostedError {
    /// The error of the post this page answers, if any (on the server).
    pub fn current() -> Option<Self> {
        use_context::<ServerActionError>().map(|e| Self { path: e.path().to_owned(), err: e.err().to_owned() })
    }

    /// Makes it the error that a `ServerAction` created next in this island starts from.
    pub fn provide(error: Option<Self>) {
        if let Some(e) = error {
            provide_context(ServerActionError::new(&e.path, &e.err));
        }
    }
}

/// The latest error of an action, as a signal.
pub fn action_error<I, O>(action: ServerAction<I>) -> Signal<Option<AppError>>
where
    I: leptos::server_fn::ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(|r| r.err()))
}

/// The error message for one field, if the error is about it.
fn field_message(error: Signal<Option<AppError>>, field: &'static str) -> Signal<Option<String>> {
    Signal::derive(move || error.get().and_then(|e| e.for_field(field)))
}

/// A labelled input. `name` is the server function argument it fills.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional, into)] value: Signal<String>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] maxlength: Option<usize>,
    #[prop(optional)] minlength: Option<usize>,
    #[prop(optional)] autofocus: bool,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let message = field_message(error, name);
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described_by = {
        let (error_id, hint_id) = (error_id.clone(), hint_id.clone());
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if message.get().is_some() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="field" class:field-invalid=move || message.get().is_some()>
            <label for=id.clone()>{label}</label>
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            <input
                id=id
                name=name
                type=kind
                required=true
                autocomplete=autocomplete
                maxlength=maxlength
                minlength=minlength
                autofocus=autofocus
                prop:value=move || value.get()
                value=move || value.get()
                aria-invalid=move || message.get().is_some().then_some("true")
                aria-describedby=described_by
            />
            {move || message.get().map(|m| view! { <p class="field-error" id=error_id.clone()>{m}</p> })}
        </div>
    }
}

/// A banner for an error that is not about a single field (or any error, when `all` is set).
#[component]
pub fn ErrorBanner(error: Signal<Option<AppError>>, #[prop(optional)] all: bool) -> impl IntoView {
    let shown = move || error.get().filter(|e| all || e.field.is_none());
    view! {
        <div class="banner-slot" aria-live="polite">
            {move || shown().map(|e| view! {
                <div class="banner banner-error" role="alert">{e.to_string()}</div>
            })}
        </div>
    }
}

/// A form's submit button. The form is a plain post (server-rendered, no island): while it is
/// under way the browser shows its own loading state, and the page that comes back says what
/// happened.
#[component]
pub fn Submit(
    label: &'static str,
    #[prop(default = "btn btn-primary")] class: &'static str,
    /// A fuller name than the label, when several such buttons share a page ("Check @name").
    #[prop(optional, into)]
    aria_label: Option<String>,
) -> impl IntoView {
    view! { <button type="submit" class=class aria-label=aria_label>{label}</button> }
}
