use clap::Parser;

use perch_server::cli::{self, Cli, Command, KeysCommand, UserCommand};
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
        Command::Keys(KeysCommand::Generate) => {
            cli::keys_generate();
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate) => cli::keys_rotate(&config),
        Command::Keys(KeysCommand::Rewrap) => cli::keys_rewrap(&config).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("perch: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
