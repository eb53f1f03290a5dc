use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::auth::{Login, get_instance_info};
use crate::components::forms::{ErrorBanner, Field, Submit, action_error};
use crate::components::layout::AuthFrame;

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let error = action_error(login);
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let signed_up = move || query.read().get("signed_up").is_some();
    let info = Resource::new(|| (), |_| get_instance_info());

    view! {
        <Title text="Sign in"/>
        <AuthFrame title="Sign in">
            <Show when=signed_up>
                <div class="banner banner-success" role="status">
                    "Sign in with the email and password you just chose. (If that email already had an account, nothing new was created: use its own password.)"
                </div>
            </Show>
            <ActionForm action=login>
                <ErrorBanner error=error/>
                <Field label="Email" name="email" kind="email" autocomplete="username" autofocus=true error=error/>
                <Field label="Password" name="password" kind="password" autocomplete="current-password" error=error/>
                <input type="hidden" name="next" value=next/>
                <Submit label="Sign in" class="btn btn-primary btn-block"/>
            </ActionForm>
            <Suspense>
                {move || Suspend::new(async move {
                    let open = info.await.map(|i| i.signup_open).unwrap_or(false);
                    if open {
                        view! { <p class="auth-alt">"New to Perch? " <a href="/signup">"Create an organization"</a></p> }.into_any()
                    } else {
                        view! { <p class="auth-alt">"Need an account? Ask your Perch administrator."</p> }.into_any()
                    }
                })}
            </Suspense>
        </AuthFrame>
    }
}
