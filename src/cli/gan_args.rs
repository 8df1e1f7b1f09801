//! What the GAN subcommands (`train`, `vary`, `bench gan|gan-quality`) share: the
//! device and precision arguments, the inference-margin parser, the model loader,
//! and how folder lists and per-level SWD are printed.
use crate::gan::device::DeviceChoice;
use crate::gan::{Precision, VariationModel};
use anyhow::{Context, Result};
use clap::ValueEnum;
use std::path::{Path, PathBuf};
use tch::Device;

/// Where to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DeviceArg {
    /// CUDA if available, else CPU.
    #[default]
    Auto,
    /// CPU.
    Cpu,
    /// The first CUDA GPU (fails if there is none).
    Cuda,
}

impl DeviceArg {
    /// The device, chosen by [`crate::gan::device::choose`].
    pub fn resolve(self) -> Result<Device> {
        let choice = match self {
            DeviceArg::Auto => DeviceChoice::Auto,
            DeviceArg::Cpu => DeviceChoice::Cpu,
            DeviceArg::Cuda => DeviceChoice::Cuda,
        };
        crate::gan::device::choose(choice).context("--device")
    }
}

/// Inference precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum PrecisionArg {
    /// 32-bit float.
    #[default]
    Fp32,
    /// bfloat16.
    Bf16,
}

impl From<PrecisionArg> for Precision {
    fn from(p: PrecisionArg) -> Self {
        match p {
            PrecisionArg::Fp32 => Precision::Fp32,
            PrecisionArg::Bf16 => Precision::Bf16,
        }
    }
}

/// Accepts inference margins from 0 to [`crate::gan::checkpoint::MAX_MARGIN`].
pub(super) fn margin_parser() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(0..=i64::from(crate::gan::checkpoint::MAX_MARGIN))
}

/// The model at `path`, or the embedded default one when there is none.
pub(super) fn load_model(path: Option<&Path>, device: Device) -> Result<VariationModel> {
    Ok(match path {
        Some(p) => VariationModel::load(p, device)
            .with_context(|| format!("loading model {}", p.display()))?,
        None => {
            VariationModel::load_default(device).context("loading the embedded default model")?
        }
    })
}

/// `dirs` for a message: "a, b".
pub(super) fn folder_list(dirs: &[PathBuf]) -> String {
    let names: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    names.join(", ")
}

/// SWD per Laplacian level as `fine / mid / coarse`.
pub(super) fn levels(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.1}"))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Test fixtures shared by the subcommands' unit tests.
#[cfg(test)]
pub(super) mod fixtures {
    use std::path::PathBuf;

    /// Folders `a` (2.png, 9.jpg) and `b` (1.png, 5.webp) of empty image files.
    pub fn two_folders() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        for (d, names) in [(&a, ["2.png", "9.jpg"]), (&b, ["1.png", "5.webp"])] {
            std::fs::create_dir_all(d).unwrap();
            for n in names {
                std::fs::write(d.join(n), b"").unwrap();
            }
        }
        (dir, a, b)
    }
}
