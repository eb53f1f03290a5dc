//! `perch keys generate | rotate | rewrap | forget`: the master keys that seal secrets at rest.

use app::server::infra::master_keys::{self, Forgot};
use app::server::now;

use crate::config::Config;

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
