//! The `atelier` binary: parses the command line, then runs a subcommand or
//! starts the app.
use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = atelier::cli::Cli::parse();
    match cli.command {
        Some(command) => match atelier::cli::run(command) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("atelier: {err:#}");
                std::process::ExitCode::FAILURE
            }
        },
        None => std::process::ExitCode::SUCCESS,
    }
}
