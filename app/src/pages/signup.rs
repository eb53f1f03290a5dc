use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::auth::{Signup, get_instance_info};
use crate::components::forms::{ErrorBanner, Field, Submit, action_error};
use crate::components::layout::AuthFrame;
use crate::domain::{Email, OrgName};

#[component]
pub fn SignupPage() -> impl IntoView {
    let signup = ServerAction::<Signup>::new();
    let error = action_error(signup);
    let info = Resource::new(|| (), |_| get_instance_info());

    view! {
        <Title text="Create your organization"/>
        <AuthFrame title="Create your organization">
            <Suspense>
                {move || Suspend::new(async move {
                    let open = info.await.map(|i| i.signup_open).unwrap_or(false);
                    if !open {
                        return view! {
                            <div class="banner banner-info" role="status">
                                "Sign-up is closed on this Perch. Ask your administrator for an account."
                            </div>
                            <p class="auth-alt"><a href="/login">"Sign in"</a></p>
                        }.into_any();
                    }
                    view! {
                        <p class="lede">"Your organization holds your brands and your X apps. You will be its owner, and sign in once it is created."</p>
                        <ActionForm action=signup>
                            <ErrorBanner error=error/>
                            <Field label="Organization name" name="org_name" autocomplete="organization" maxlength=OrgName::MAX_LEN autofocus=true error=error/>
                            <Field label="Email" name="email" kind="email" autocomplete="username" maxlength=Email::MAX_LEN error=error/>
                            <Field label="Password" name="password" kind="password" autocomplete="new-password" minlength=8
                                hint="At least 8 characters. A few unrelated words make a strong passphrase." error=error/>
                            <Submit label="Create organization" class="btn btn-primary btn-block"/>
                        </ActionForm>
                        <p class="auth-alt">"Already have an account? " <a href="/login">"Sign in"</a></p>
                    }.into_any()
                })}
            </Suspense>
        </AuthFrame>
    }
}
