//! `perch credentials set | list | remove`: what Settings → Twitter integration does, for
//! self-hosters who automate, through the same use cases.

use app::domain::{AccountToReconnect, ClientId, ClientSecret, SaveChange, Target, callback_url, format_utc};
use app::error::ErrorCode;
use app::server::services::{actor::Actor, twitter};
use app::server::store::{brands, credentials, orgs};

use super::{find_org, find_target, read_secret, refused};
use crate::config::Config;

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
