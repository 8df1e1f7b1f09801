//! Command-line interface: `atelier` alone starts the app; subcommands run the
//! same engine headless for automation, batch work, benchmarks and tests.
use clap::{Parser, Subcommand};

pub mod gan_cmds;

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
pub enum Command {
    /// Train (or fine-tune) a variation GAN on a folder of images.
    Train(gan_cmds::TrainArgs),
    /// Write N GAN variations of an image.
    Vary(gan_cmds::VaryArgs),
    /// Measure speed (and GAN quality) on this machine.
    Bench {
        /// What to measure.
        #[command(subcommand)]
        which: BenchWhich,
    },
}

/// `atelier bench` targets.
#[derive(Debug, Subcommand)]
pub enum BenchWhich {
    /// GAN inference and training-step speed.
    Gan(gan_cmds::BenchGanArgs),
    /// GAN quality metrics on held-out images.
    GanQuality(gan_cmds::BenchGanQualityArgs),
}

/// Runs one subcommand.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Train(a) => gan_cmds::run_train(a),
        Command::Vary(a) => gan_cmds::run_vary(a),
        Command::Bench { which } => match which {
            BenchWhich::Gan(a) => gan_cmds::run_bench_gan(a),
            BenchWhich::GanQuality(a) => gan_cmds::run_bench_gan_quality(a),
        },
    }
}
