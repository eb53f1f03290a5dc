//! The command line: `perch serve` (the default), `perch migrate`, `perch user ...`,
//! `perch keys ...` and `perch credentials ...`. Each command parses its arguments, calls the
//! use case (`app::server::services`) as [`Actor::Operator`](app::server::services::actor::Actor),
//! and says what happened; the commands live beside this file, one per family.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use sqlx::AnyPool;

use app::domain::{BrandId, Target};
use app::error::AppError;
use app::server::store::brands;
use app::server::store::orgs::{self, Found, Named};

use crate::config::{Config, SETTINGS};

mod credentials;
mod keys;
mod users;

pub use credentials::{credentials_list, credentials_remove, credentials_set};
pub use keys::{keys_forget, keys_generate, keys_rewrap, keys_rotate};
pub use users::{create_user, user_remove, user_set_password};

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

/// A use case's refusal, as the CLI says it.
fn refused(e: AppError) -> anyhow::Error {
    anyhow::anyhow!("{}", e.message)
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
