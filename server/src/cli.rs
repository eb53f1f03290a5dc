//! The command line: `perch serve` (the default), `perch migrate`, `perch user create`.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use app::domain::{Email, OrgName, Password, Role};
use app::server::users::{self, OrgTarget};
use app::server::{orgs, passwords::Passwords};

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
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user, reading the password from standard input (one line).
    ///
    /// If no organization has the name given, it is created and the user becomes its owner;
    /// otherwise the user joins it (as a member unless --role says otherwise). This is the way in
    /// when PERCH_SIGNUP=closed.
    Create {
        /// The user's email address (their sign-in name).
        #[arg(long)]
        email: String,
        /// The organization's name.
        #[arg(long)]
        org: String,
        /// owner, admin or member. Default: owner of a new organization, member of an existing one.
        #[arg(long)]
        role: Option<String>,
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
    let password = Password::parse(read_password()?).map_err(|e| anyhow::anyhow!("password: {}", e.message))?;

    let state = crate::build_state(config).await?;
    let pool = state.db.pool();
    if users::email_taken(pool, &email).await? {
        anyhow::bail!("--email: a user with the email {email} already exists");
    }
    let existing = orgs::id_by_name(pool, &org_name).await?;
    let role = role.unwrap_or(if existing.is_some() { Role::Member } else { Role::Owner });
    let hash = Passwords::new(1).hash(password).await?;
    let target = match &existing {
        Some(id) => OrgTarget::Existing(id),
        None => OrgTarget::New(&org_name),
    };
    let created = users::create(pool, target, &email, &hash, role).await?;
    if created.org_created {
        println!("Created organization \"{}\" ({})", org_name.as_str(), created.org_id);
    } else {
        println!("Using existing organization \"{}\" ({})", org_name.as_str(), created.org_id);
    }
    println!("Created user {email} ({}) as {}", created.user_id, created.role.as_str());
    state.db.close().await;
    Ok(())
}

/// `perch keys generate`
pub fn keys_generate() {
    println!("{}", app::server::vault::generate_key_base64());
}

/// `perch keys rotate`
pub fn keys_rotate(config: &Config) -> anyhow::Result<()> {
    use app::server::vault::{DEFAULT_KEY_FILE, ENV_KEY, rotate_file};
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
    let (moved, current) = app::server::credentials::rewrap_all(state.db.pool(), &state.vault).await?;
    println!(
        "Re-encrypted {moved} stored credential(s) under master key {:#010x}; {current} already used it.",
        state.vault.newest_key_id()
    );
    let (moved, current) = app::server::accounts::rewrap_all(state.db.pool(), &state.vault).await?;
    println!("Re-encrypted the tokens of {moved} X account(s); {current} already used the newest key.");
    state.db.close().await;
    Ok(())
}

/// Reads one line from stdin without echo when it is a terminal.
fn read_password() -> anyhow::Result<String> {
    let line = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password: ")?
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line
    };
    // Only the line ending is removed: spaces are part of passphrases.
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
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
