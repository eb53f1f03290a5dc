use clap::Parser;

use perch_server::cli::{self, Cli, Command, CredentialsCommand, KeysCommand, UserCommand};
use perch_server::{Config, telemetry};

fn main() -> std::process::ExitCode {
    tune_allocator();
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("perch: cannot start the async runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// glibc's malloc, told to give large blocks back. Each password check (argon2id, 19 MiB of
/// memory) allocates one large block on a blocking thread. By default glibc serves the first from
/// `mmap` and frees it with `munmap`, but then raises its mmap threshold to that size, so every
/// later one comes from a per-thread arena that keeps the memory after the free: with that
/// behaviour forced from the start, a signed-in idle server held 81 MB where it now holds 24. A
/// fixed threshold turns the adjustment off: blocks of 256 KiB and more always come from `mmap`
/// and go back on free (docs/benchmarks.md, "Footprint and allocator"). `MALLOC_MMAP_THRESHOLD_`
/// in the environment, glibc's own setting, wins. Set before the runtime starts any thread.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        // SAFETY: mallopt only sets malloc's parameters; called before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        }
    }
}

async fn run() -> std::process::ExitCode {
    let args = Cli::parse();
    telemetry::init();
    let config = match Config::load(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("perch: invalid configuration: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let result = match args.command.unwrap_or(Command::Serve) {
        Command::Serve => perch_server::serve(config).await,
        Command::Migrate => cli::migrate(&config).await,
        Command::User(UserCommand::Create { email, org, role }) => {
            cli::create_user(&config, &email, &org, role.as_deref()).await
        }
        Command::User(UserCommand::SetPassword { email }) => cli::user_set_password(&config, &email).await,
        Command::User(UserCommand::Remove { email }) => cli::user_remove(&config, &email).await,
        Command::Keys(KeysCommand::Generate) => {
            cli::keys_generate();
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate) => cli::keys_rotate(&config),
        Command::Keys(KeysCommand::Rewrap) => cli::keys_rewrap(&config).await,
        Command::Keys(KeysCommand::Forget { key_id }) => cli::keys_forget(&config, &key_id).await,
        Command::Credentials(CredentialsCommand::Set { org, brand, client_id }) => {
            cli::credentials_set(&config, &org, brand.as_deref(), &client_id).await
        }
        Command::Credentials(CredentialsCommand::List { org }) => cli::credentials_list(&config, org.as_deref()).await,
        Command::Credentials(CredentialsCommand::Remove { org, brand }) => {
            cli::credentials_remove(&config, &org, brand.as_deref()).await
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("perch: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
