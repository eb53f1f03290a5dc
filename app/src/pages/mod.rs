//! One file per page.

mod accounts;
mod api_keys;
mod brand;
mod brands;
mod home;
mod login;
mod not_found;
mod settings;
mod signup;
mod twitter;

pub use accounts::AccountsPage;
pub use api_keys::ApiKeysPage;
pub use brand::BrandPage;
pub use brands::BrandsPage;
pub use home::HomeRedirect;
pub use login::LoginPage;
pub use not_found::NotFound;
pub use settings::SettingsPage;
pub use signup::SignupPage;
pub use twitter::TwitterSettingsPage;
