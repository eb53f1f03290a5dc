//! The command line: `perch serve` (the default), `perch migrate`, `perch user ...`,
//! `perch keys ...` and `perch credentials ...`.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use sqlx::AnyPool;

use app::domain::{
    AccountToReconnect, BrandId, ClientId, ClientSecret, Email, OrgName, Password, Role, SaveChange, Target,
    callback_url, format_utc,
};
use app::error::{AppError, ErrorCode};
use app::server::infra::master_keys::{self, Forgot};
use app::server::services::actor::Actor;
use app::server::store::orgs::{self, Found, Named};
use app::server::store::users::{self, OrgTarget};
use app::server::{infra::passwords::Passwords, now, services::twitter, store::brands, store::credentials};

use crate::config::{Config, SETTINGS};

#[derive(Parser, Debug)]
#[command(
    name = "perch",
    version,
    about = "Perch: run X (Twitter) through your own developer apps, per organization and per brand.",
    long_about = None,
    after_long_help = settings_help(),
)]
pub struct Cli {
    /// A file of PERCH_*=value lines, read before the environment (which wins).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the dashboard and API (the default). Applies pending migrations first.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage dashboard users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the master keys that seal secrets at rest.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage organizations' X app credentials (OAuth 2.0 Client ID and Client Secret).
    ///
    /// What Settings → Twitter integration does, for self-hosters who automate. API keys can never
    /// change credentials; this command can because it runs with the server's own database and
    /// master key.
    #[command(subcommand)]
    Credentials(CredentialsCommand),
}

#[derive(Subcommand, Debug)]
pub enum CredentialsCommand {
    /// Save an X app's Client ID and Client Secret, reading the secret from standard input (one line).
    ///
    /// Without --brand they are the organization default, which every brand without an app of
    /// its own connects through. The same Client ID with a new secret is a rotation, another
    /// Client ID replaces the app: accounts connected with the previous secret or app then need
    /// reconnecting, and the command lists them. The secret is never printed.
    Set {
        /// The organization's name or id (org_...).
        #[arg(long)]
        org: String,
        /// A brand's name (any case) or id (brd_...): save its own app instead of the default.
        #[arg(long)]
        brand: Option<String>,
        /// The app's OAuth 2.0 Client ID (it ends in MTpjaQ).
        #[arg(long)]
        client_id: String,
    },
    /// List saved credentials: the Client ID's first characters and facts, never a secret.
    List {
        /// Only this organization (name or id); default: every organization.
        #[arg(long)]
        org: Option<String>,
    },
    /// Remove the organization default's credentials, or with --brand that brand's own.
    ///
    /// A brand then falls back to the default. Accounts connected through the removed app need
    /// reconnecting.
    Remove {
        /// The organization's name or id (org_...).
        #[arg(long)]
        org: String,
        /// A brand's name (any case) or id (brd_...).
        #[arg(long)]
        brand: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Print a new random master key (standard base64), for PERCH_MASTER_KEY.
    Generate,
    /// Add a new master key to the key file (PERCH_MASTER_KEY_FILE or <data dir>/master.key).
    ///
    /// New secrets are sealed with it once Perch restarts; old keys stay and keep decrypting
    /// until `perch keys rewrap` has moved every stored secret to the new key. With
    /// PERCH_MASTER_KEY, append a key from `perch keys generate` to it instead.
    Rotate,
    /// Re-encrypt every stored secret under the newest master key.
    ///
    /// Run it after `perch keys rotate` and a restart; afterwards the older keys can be removed.
    /// Safe to run while Perch serves, and to run again.
    Rewrap,
    /// Stop asking for a lost master key that no stored secret was sealed with.
    ///
    /// Perch refuses to start without every master key the database was used with. When such a
    /// key is lost but nothing stored names it any more (the refusal says so), this drops its
    /// record so Perch starts with the keys it has. Refused while a stored secret names the key.
    Forget {
        /// The key id as Perch prints it, e.g. 0x1a2b3c4d.
        key_id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user, reading the password from standard input (one line).
    ///
    /// If no organization has the name given, it is created and the user becomes its owner;
    /// otherwise the user joins it (as a member unless --role says otherwise). A name several
    /// organizations share is refused: give the id of the one you mean. This is the way in when
    /// PERCH_SIGNUP=closed.
    Create {
        /// The user's email address (their sign-in name).
        #[arg(long)]
        email: String,
        /// The organization's name (a new one is created if none has it) or id (org_...).
        #[arg(long)]
        org: String,
        /// owner, admin or member. Default: owner of a new organization, member of an existing one.
        #[arg(long)]
        role: Option<String>,
    },
    /// Set a user's password, reading it from standard input (one line).
    ///
    /// Every session of the user ends, on every instance: they sign in again with the new
    /// password. For a user who forgot theirs (signed-in users change it under Settings).
    SetPassword {
        /// The user's email address.
        #[arg(long)]
        email: String,
    },
    /// Remove a user from their organization: their sessions end at once and the account is
    /// deleted. The organization's last owner cannot be removed.
    ///
    /// API keys they created and X accounts they connected stay with the organization.
    Remove {
        /// The user's email address.
        #[arg(long)]
        email: String,
    },
}

fn settings_help() -> String {
    let mut s = String::from("Settings (environment variables, or lines of the --config file):\n");
    for (name, default, what) in SETTINGS {
        s.push_str(&format!("  {name:<28} {what}\n  {:<28} default: {default}\n", ""));
    }
    s.push_str("\nRUST_LOG sets the log level (default: info).");
    s
}

/// `perch migrate`
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    crate::build_state(config).await?;
    println!("Database is up to date ({}).", redact_url(&config.database_url));
    Ok(())
}

/// `perch user create`
pub async fn create_user(config: &Config, email: &str, org: &str, role: Option<&str>) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email: {}", e.message))?;
    let org_name = OrgName::parse(org).map_err(|e| anyhow::anyhow!("--org: {}", e.message))?;
    let role = role
        .map(|r| Role::parse(r).ok_or_else(|| anyhow::anyhow!("--role: `{r}` is not owner, admin or member")))
        .transpose()?;
    let password =
        Password::parse(read_secret("Password: ")?).map_err(|e| anyhow::anyhow!("password: {}", e.message))?;

    let state = crate::build_state(config).await?;
    let pool = state.db.pool();
    if users::email_taken(pool, &email).await? {
        anyhow::bail!("--email: a user with the email {email} already exists");
    }
    let existing = lookup_org(pool, org).await?;
    if existing.is_none() && looks_like_org_id(org.trim()) {
        anyhow::bail!("--org: there is no organization with the id `{}`", org.trim());
    }
    let role = role.unwrap_or(if existing.is_some() { Role::Member } else { Role::Owner });
    let hash = Passwords::new(1).hash(password).await?;
    let target = match &existing {
        Some(o) => OrgTarget::Existing(&o.id),
        None => OrgTarget::New(&org_name),
    };
    let created = users::create(pool, target, &email, &hash, role).await?;
    match &existing {
        None => println!("Created organization \"{}\" ({})", org_name.as_str(), created.org_id),
        Some(o) => println!("Using existing organization {o}"),
    }
    println!("Created user {email} ({}) as {}", created.user_id, created.role.as_str());
    state.db.close().await;
    Ok(())
}

/// `perch user set-password`
pub async fn user_set_password(config: &Config, email: &str) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email: {}", e.message))?;
    let password =
        Password::parse(read_secret("New password: ")?).map_err(|e| anyhow::anyhow!("password: {}", e.message))?;
    let state = crate::build_state(config).await?;
    let pool = state.db.pool();
    let Some((user_id, _)) = users::by_email(pool, &email).await? else {
        anyhow::bail!("--email: no user has the email {email}");
    };
    let hash = Passwords::new(1).hash(password).await?;
    let set = users::set_password(pool, &user_id, None, &hash, users::Actor::Operator)
        .await?
        .ok_or_else(|| anyhow::anyhow!("--email: the user {email} was removed meanwhile"))?;
    println!("Set the password of {}; {} session(s) signed out.", set.email, set.sessions_ended);
    state.db.close().await;
    Ok(())
}

/// `perch user remove`
pub async fn user_remove(config: &Config, email: &str) -> anyhow::Result<()> {
    use app::server::store::users::RemoveRefusal;
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email: {}", e.message))?;
    let state = crate::build_state(config).await?;
    let pool = state.db.pool();
    let Some((user_id, org_id)) = users::by_email(pool, &email).await? else {
        anyhow::bail!("--email: no user has the email {email}");
    };
    let removed = match users::remove(pool, &org_id, &user_id, users::Actor::Operator).await? {
        Ok(r) => r,
        Err(RemoveRefusal::LastOwner) => anyhow::bail!(
            "--email: {email} is the last owner of their organization ({org_id}), which always keeps one; \
             create another owner first (perch user create --role owner)"
        ),
        Err(RemoveRefusal::NotFound) => anyhow::bail!("--email: the user {email} was removed meanwhile"),
        Err(other) => anyhow::bail!("--email: cannot remove {email}: {other:?}"),
    };
    println!(
        "Removed {} ({}) from organization {org_id}; {} session(s) signed out.",
        removed.email,
        removed.role.as_str(),
        removed.sessions_ended
    );
    state.db.close().await;
    Ok(())
}

/// `perch keys generate`
pub fn keys_generate() {
    println!("{}", app::server::infra::vault::generate_key_base64());
}

/// `perch keys rotate`
pub fn keys_rotate(config: &Config) -> anyhow::Result<()> {
    use app::server::infra::vault::{DEFAULT_KEY_FILE, ENV_KEY, rotate_file};
    if config.master_key.is_some() {
        anyhow::bail!(
            "{ENV_KEY} is set, so its keys are yours to manage: append a key from `perch keys generate` to it \
             (comma separated, newest last), restart every instance, then run `perch keys rewrap`"
        );
    }
    let path = config.master_key_file.clone().unwrap_or_else(|| config.data_dir.join(DEFAULT_KEY_FILE));
    let id = rotate_file(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("Added master key {id:#010x} to {}.", path.display());
    println!("Restart Perch (every instance) so new secrets use it, then run `perch keys rewrap`.");
    Ok(())
}

/// `perch keys rewrap`
pub async fn keys_rewrap(config: &Config) -> anyhow::Result<()> {
    let state = crate::build_state(config).await?;
    let (moved, current) = app::server::store::credentials::rewrap_all(state.db.pool(), &state.vault).await?;
    println!(
        "Re-encrypted {moved} stored credential(s) under master key {:#010x}; {current} already used it.",
        state.vault.newest_key_id()
    );
    let (moved, current) = app::server::store::accounts::rewrap_all(state.db.pool(), &state.vault).await?;
    println!("Re-encrypted the tokens of {moved} X account(s); {current} already used the newest key.");
    // Only now may the older keys go: Perch stops asking for a key once nothing stored names it.
    for id in master_keys::forget_unused(state.db.pool(), &state.vault, now()).await? {
        println!(
            "Nothing stored is sealed with master key {id:#010x} any more: once every instance runs with the newest key, it can be removed."
        );
    }
    state.db.close().await;
    Ok(())
}

/// `perch keys forget`
pub async fn keys_forget(config: &Config, key_id: &str) -> anyhow::Result<()> {
    let hex = key_id.trim().trim_start_matches("0x");
    let id = u32::from_str_radix(hex, 16)
        .map_err(|_| anyhow::anyhow!("KEY_ID: `{key_id}` is not a key id; Perch prints them as 0x and 8 hex digits"))?;
    // The check that refuses a missing key is what this gets past, so no vault is loaded.
    let db = crate::open_database(config).await?;
    let outcome = master_keys::forget(db.pool(), id, now()).await;
    db.close().await;
    match outcome? {
        Forgot::Forgotten => println!("Forgot master key {id:#010x}: Perch no longer asks for it."),
        Forgot::NotRecorded => {
            println!("Master key {id:#010x} is not one the database was used with; nothing to forget.")
        }
        Forgot::StillSealing(key_use) => anyhow::bail!(
            "master key {id:#010x} still seals stored secrets ({key_use}): forgetting it would not make them readable. \
             Give Perch that key ({} or {}), or remove what it sealed.",
            app::server::infra::vault::ENV_KEY_FILE,
            app::server::infra::vault::ENV_KEY
        ),
    }
    Ok(())
}

/// Reads one line from stdin without echo when it is a terminal.
fn read_secret(prompt: &str) -> anyhow::Result<String> {
    let line = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt)?
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line
    };
    // Only the line ending is removed: spaces are part of passphrases (a Client Secret's parse
    // trims them itself).
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// The organization `--org` names, which must exist (`perch credentials`).
async fn find_org(pool: &AnyPool, arg: &str) -> anyhow::Result<Named> {
    match lookup_org(pool, arg).await? {
        Some(org) => Ok(org),
        None => anyhow::bail!("--org: there is no organization named or with the id `{}`", arg.trim()),
    }
}

/// Whether `arg` has the shape of an organization's id (`org_` and 32 hex digits): one that
/// names no organization is a mistake, not the name of a new one.
fn looks_like_org_id(arg: &str) -> bool {
    arg.strip_prefix("org_").is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The organization `--org` names ([`orgs::find`]); `None` when none has that id or name. A name
/// several organizations share is refused with their ids.
async fn lookup_org(pool: &AnyPool, arg: &str) -> anyhow::Result<Option<Named>> {
    match orgs::find(pool, arg).await? {
        Found::One(org) => Ok(Some(org)),
        Found::None => Ok(None),
        Found::Several(ids) => anyhow::bail!(
            "--org: {} organizations are named \"{}\"; give the id of the one you mean: {}",
            ids.len(),
            arg.trim(),
            ids.join(", ")
        ),
    }
}

/// What `--org` and `--brand` name: the organization, the target, and how messages name the
/// target (`Organization default`, `Brand “Coffee”`).
async fn find_target(pool: &AnyPool, org: &str, brand: Option<&str>) -> anyhow::Result<(Named, Target, String)> {
    let org = find_org(pool, org).await?;
    let (target, label) = match brand {
        None => (Target::Default, brands::label(None)),
        Some(b) => match brands::find(pool, &org.id, b).await? {
            Some(found) => {
                let id = BrandId::parse(&found.id).ok_or_else(|| anyhow::anyhow!("a stored brand id is malformed"))?;
                (Target::Brand(id), brands::label(Some(&found.name)))
            }
            None => anyhow::bail!("--brand: organization {org} has no brand named or with the id `{}`", b.trim()),
        },
    };
    Ok((org, target, label))
}

/// After a change of credentials: the connected accounts X will now refuse, as the settings
/// page lists them.
fn print_to_reconnect(stale: &[AccountToReconnect]) {
    if stale.is_empty() {
        println!("No connected X account needs reconnecting.");
    } else {
        let names: Vec<String> = stale.iter().map(|a| format!("@{} ({})", a.username, a.card)).collect();
        println!(
            "{} connected X account(s) will need reconnecting (Perch marks them on their next API call; reconnect them on the X accounts page): {}",
            stale.len(),
            names.join(", ")
        );
    }
}

/// A use case's refusal, as the CLI says it.
fn refused(e: AppError) -> anyhow::Error {
    anyhow::anyhow!("{}", e.message)
}

/// `perch credentials set`
pub async fn credentials_set(config: &Config, org: &str, brand: Option<&str>, client_id: &str) -> anyhow::Result<()> {
    let id = ClientId::parse(client_id).map_err(|e| anyhow::anyhow!("--client-id: {}", e.message))?;
    let state = crate::build_state(config).await?;
    let pool = state.db.pool();
    // The target is checked before the secret is asked for, so a typo costs no retyping.
    let (org, target, label) = find_target(pool, org, brand).await?;
    let place = format!("{org}, {label}");
    let secret = read_secret(&format!("Client Secret for {place}: "))?;
    let secret = ClientSecret::parse(&secret).map_err(|e| anyhow::anyhow!("client secret: {}", e.message))?;
    let actor = Actor::Operator { org_id: org.id.clone() };
    let outcome = twitter::save_pair(&state, &actor, &target, &id, &secret, None).await.map_err(refused)?;
    let c = &outcome.credential;
    let preview = c.preview_label();
    match outcome.change {
        SaveChange::Created => println!("Saved credentials for {place}: Client ID {preview} (not tested)."),
        SaveChange::SecretRotated => {
            println!("Rotated the Client Secret for {place}: Client ID {preview}, secret generation {}.", c.generation)
        }
        SaveChange::AppReplaced => println!("Replaced the X app for {place}: now Client ID {preview} (not tested)."),
        SaveChange::Unchanged => println!("Unchanged: {place} already has these credentials (Client ID {preview})."),
    }
    if matches!(outcome.change, SaveChange::SecretRotated | SaveChange::AppReplaced) {
        print_to_reconnect(&outcome.accounts_to_reconnect);
    }
    println!(
        "Callback URL to register in the X app's User authentication settings: {}",
        callback_url(&state.config.public_url)
    );
    state.db.close().await;
    Ok(())
}

/// `perch credentials list`
pub async fn credentials_list(config: &Config, org: Option<&str>) -> anyhow::Result<()> {
    let state = crate::build_state(config).await?;
    let pool = state.db.pool();
    let orgs = match org {
        Some(o) => vec![find_org(pool, o).await?],
        None => orgs::all(pool).await?,
    };
    let mut shown = 0;
    for org in &orgs {
        let brands = brands::list(pool, &org.id).await?;
        for c in credentials::list(pool, &state.vault, &org.id).await? {
            let target = match &c.brand_id {
                None => "default".to_owned(),
                Some(b) => {
                    let name = brands.iter().find(|x| x.id == *b).map(|x| x.name.as_str()).unwrap_or_default();
                    format!("brand “{name}” ({b})")
                }
            };
            let test = match c.last_test {
                Some(t) => format!("{} at {}", t.result.label(), format_utc(t.at)),
                None => "never".to_owned(),
            };
            println!(
                "{org}  {target}  Client ID {}  generation {}  updated {} by {}  last test: {test}",
                c.preview_label(),
                c.generation,
                format_utc(c.updated_at),
                c.updated_by
            );
            if let Some(key_id) = c.sealed_with_missing_key {
                println!("  {}", app::error::master_key_missing_message(key_id));
            }
            shown += 1;
        }
    }
    if shown == 0 {
        match (org, orgs.as_slice()) {
            (Some(_), [org]) => println!("Organization {org} has no saved credentials."),
            _ => println!("No saved credentials."),
        }
    }
    state.db.close().await;
    Ok(())
}

/// `perch credentials remove`
pub async fn credentials_remove(config: &Config, org: &str, brand: Option<&str>) -> anyhow::Result<()> {
    let state = crate::build_state(config).await?;
    let pool = state.db.pool();
    let (org, target, label) = find_target(pool, org, brand).await?;
    let place = format!("{org}, {label}");
    let actor = Actor::Operator { org_id: org.id.clone() };
    let removed = match twitter::remove_pair(&state, &actor, &target).await {
        Ok(removed) => removed,
        Err(e) if e.code == ErrorCode::NotFound => match target {
            Target::Default => anyhow::bail!("nothing to remove: organization {org} has no default credentials"),
            Target::Brand(_) => anyhow::bail!(
                "nothing to remove: {place} has no credentials of its own (it uses the organization default)"
            ),
        },
        Err(e) => return Err(refused(e)),
    };
    println!("Removed the credentials (Client ID {}…) of {place}.", removed.client_id_preview);
    match target {
        Target::Default => println!(
            "Brands without credentials of their own cannot connect accounts until default credentials are saved again."
        ),
        Target::Brand(_) => println!("{label} now uses the organization default."),
    }
    print_to_reconnect(&removed.accounts_to_reconnect);
    state.db.close().await;
    Ok(())
}

/// A database URL fit for printing: any password replaced.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}
