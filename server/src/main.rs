use clap::Parser;

use perch_server::cli::{self, Cli, Command, CredentialsCommand, KeysCommand, UserCommand};
use perch_server::{Config, telemetry};

#[tokio::main]
async fn main() -> std::process::ExitCode {
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
