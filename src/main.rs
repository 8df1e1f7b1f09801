//! The `atelier` binary: parses the command line, then runs a subcommand or
//! starts the app.
use clap::Parser;

fn main() -> std::process::ExitCode {
    // SAFETY: first thing in main, before any thread is started.
    unsafe { atelier::render::gpu::tune_software_rasteriser() };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "atelier=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = atelier::cli::Cli::parse();
    let result = match cli.command {
        Some(command) => atelier::cli::run(command),
        None => atelier::ui::run_app(cli.file),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // The reader of the output has all it wanted (`atelier … | head`).
        Err(err) if err.root_cause().is::<atelier::cli::StdoutClosed>() => {
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("atelier: {}", atelier::cli::error_message(&err));
            std::process::ExitCode::FAILURE
        }
    }
}
