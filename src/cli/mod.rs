//! Command-line interface: `atelier` alone starts the app; subcommands run the
//! same engine headless for automation, batch work, benchmarks and tests.
use clap::{Parser, Subcommand};

/// Top-level command line.
#[derive(Debug, Parser)]
#[command(name = "atelier", version, about = "Paint together with a GAN")]
pub struct Cli {
    /// What to do; none starts the app.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {}

/// Runs one subcommand.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {}
}
