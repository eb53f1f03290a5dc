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
