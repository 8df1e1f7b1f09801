//! Command-line interface: `atelier` alone starts the app; subcommands run the
//! same engine headless for automation, batch work, benchmarks and tests.

/// `println!` for a subcommand's results: a closed stdout (`atelier vary … --json |
/// head`) ends the command with [`StdoutClosed`] instead of a panic, and any other
/// write error is returned. Only in functions returning `anyhow::Result`.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*).map_err($crate::cli::stdout_error)?
    }};
}

mod bench;
mod bench_gan_cmd;
mod bench_live_cmd;
mod doc_cmds;
mod gan_args;
pub mod loop_cmd;
mod train_cmd;
mod vary_cmd;

use clap::{Parser, Subcommand};

pub use bench::{
    BrushBenchArgs, BrushBenchReport, MemoryBenchArgs, resident_bytes, run_brush_bench,
};
pub use bench_gan_cmd::{BenchGanArgs, BenchGanQualityArgs};
pub use doc_cmds::{ExportArgs, ImportArgs, InfoArgs, NewArgs, PaintArgs, StrokeFile};
pub use gan_args::{DeviceArg, PrecisionArg};
pub use train_cmd::TrainArgs;
pub use vary_cmd::VaryArgs;

/// Top-level command line.
#[derive(Debug, Parser)]
#[command(
    name = "atelier",
    version,
    about = "Paint together with a GAN",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do; none starts the app.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// A project, OpenRaster file or image for the app to open, as File → Open does
    /// (what a file manager passes when a file is opened with Atelier).
    #[arg(value_name = "FILE")]
    pub file: Option<std::path::PathBuf>,
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new project file.
    New(NewArgs),
    /// Replay strokes from a JSON file onto a project.
    Paint(PaintArgs),
    /// Describe a project file.
    Info(InfoArgs),
    /// Export a project as PNG, JPEG, WebP, TIFF or OpenRaster.
    Export(ExportArgs),
    /// Add images to a project as layers.
    Import(ImportArgs),
    /// Train (or fine-tune) a variation GAN on a folder of images.
    Train(Box<TrainArgs>),
    /// Write N GAN variations of an image.
    Vary(VaryArgs),
    /// Run the refinement loop headless, judged by a command.
    Loop(loop_cmd::LoopArgs),
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
    /// Brush dab throughput.
    Brush(BrushBenchArgs),
    /// Resident memory of a large layered document with full undo history.
    Memory(MemoryBenchArgs),
    /// GAN inference and training-step speed.
    Gan(BenchGanArgs),
    /// GAN quality metrics on held-out images.
    GanQuality(BenchGanQualityArgs),
    /// Live: latency and what it costs the painting, replaying strokes.
    Live(bench_live_cmd::BenchLiveArgs),
}

/// Runs one subcommand.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::New(args) => doc_cmds::new(args),
        Command::Paint(args) => doc_cmds::paint(args),
        Command::Info(args) => doc_cmds::info(args),
        Command::Export(args) => doc_cmds::export(args),
        Command::Import(args) => doc_cmds::import(args),
        Command::Train(args) => train_cmd::run_train(*args),
        Command::Vary(args) => vary_cmd::run_vary(args),
        Command::Loop(args) => loop_cmd::run_loop(args),
        Command::Bench { which } => match which {
            BenchWhich::Brush(args) => bench::brush(args),
            BenchWhich::Memory(args) => bench::memory(args),
            BenchWhich::Gan(args) => bench_gan_cmd::run_bench_gan(args),
            BenchWhich::GanQuality(args) => bench_gan_cmd::run_bench_gan_quality(args),
            BenchWhich::Live(args) => bench_live_cmd::run_bench_live(args),
        },
    }
}

/// Standard output was closed by its reader (a pipe into `head`): the command stops
/// writing and, as Unix tools do, ends quietly.
#[derive(Debug)]
pub struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// Maps a write error on standard output: a broken pipe becomes [`StdoutClosed`].
pub(crate) fn stdout_error(err: std::io::Error) -> anyhow::Error {
    if err.kind() == std::io::ErrorKind::BrokenPipe {
        anyhow::Error::new(StdoutClosed)
    } else {
        anyhow::Error::new(err).context("cannot write to standard output")
    }
}

/// The message printed for a failed command: the error and its causes joined by
/// ": ", leaving out a cause that the message before it already ends with (our typed
/// errors name their cause in their own text, as the app's dialogs need, and also
/// expose it as their source).
pub fn error_message(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_in_the_message_is_printed_once_and_context_is_kept() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = anyhow::Error::new(crate::gan::GanError::Io {
            path: "held/out".into(),
            source: io,
        })
        .context("reading the held-out images");
        assert_eq!(
            error_message(&err),
            "reading the held-out images: held/out: no such file"
        );
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(error_message(&plain), "outer: inner");
    }

    #[test]
    fn a_file_alone_is_opened_in_the_app_and_subcommands_still_parse() {
        let cli = Cli::try_parse_from(["atelier", "picture.atelier"]).expect("parses");
        assert!(cli.command.is_none());
        assert_eq!(
            cli.file.as_deref(),
            Some(std::path::Path::new("picture.atelier"))
        );
        let cli = Cli::try_parse_from(["atelier", "info", "picture.atelier"]).expect("parses");
        assert!(matches!(cli.command, Some(Command::Info(_))));
        assert!(cli.file.is_none());
        assert!(
            Cli::try_parse_from(["atelier"])
                .expect("parses")
                .file
                .is_none()
        );
        assert!(Cli::try_parse_from(["atelier", "a.atelier", "b.atelier"]).is_err());
    }
}
