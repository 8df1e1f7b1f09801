//! Command-line interface: `atelier` alone starts the app; subcommands run the
//! same engine headless for automation, batch work, benchmarks and tests.
mod bench;
mod doc_cmds;

use clap::{Parser, Subcommand};

pub use bench::{BenchWhich, BrushBenchArgs, BrushBenchReport, run_brush_bench};
pub use doc_cmds::{InfoArgs, NewArgs, PaintArgs, StrokeFile};

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
    /// Create a new project file.
    New(NewArgs),
    /// Replay strokes from a JSON file onto a project.
    Paint(PaintArgs),
    /// Describe a project or image file.
    Info(InfoArgs),
    /// Measure speed on this machine.
    Bench {
        /// Which benchmark.
        #[command(subcommand)]
        which: BenchWhich,
    },
}

/// Runs one subcommand.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::New(args) => doc_cmds::new(args),
        Command::Paint(args) => doc_cmds::paint(args),
        Command::Info(args) => doc_cmds::info(args),
        Command::Bench { which } => match which {
            BenchWhich::Brush(args) => bench::brush(args),
            BenchWhich::Memory(args) => bench::memory(args),
        },
    }
}
