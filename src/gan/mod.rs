//! The variation GAN: a conditional, fully convolutional GAN that turns a rough
//! canvas into several finished-looking variations (see DESIGN.md, "GAN").
//!
//! - [`generator`]: U-Net with a latent code injected by FiLM and an optional mask input.
//! - [`discriminator`]: conditional PatchGAN with hand-written spectral norm; also the critic.
//! - [`features`]: frozen ImageNet EfficientNet-Lite0 taps for a projected critic and a
//!   perceptual loss (weights converted at set-up by `scripts/fetch_feature_net.sh`).
//! - [`losses`], [`augment`]: hinge + L1 + mode seeking + feature matching; DiffAugment.
//! - [`sketchify`], [`data`]: self-supervised training pairs from a folder of images.
//! - [`trainer`]: the training loop (also used for fine-tuning from an existing model);
//!   [`ema`]: the running average of the generator's weights it can keep.
//! - [`checkpoint`]: safetensors weights + JSON sidecar ([`ModelInfo`]), typed load errors.
//! - [`device`]: device and precision chosen by what the hardware offers.
//! - [`infer`]: [`VariationModel`], the API the app and the CLI use.
//! - [`metrics`]: faithfulness, diversity and SWD realism, in plain Rust.
//! - [`eval`]: the held-out quality evaluation (`bench gan-quality`, a run's validation).
//! - [`bench`]: timing of inference and training steps.
pub mod augment;
pub mod bench;
pub mod checkpoint;
pub mod data;
pub mod device;
pub mod discriminator;
pub mod ema;
pub mod eval;
pub mod features;
pub mod generator;
pub mod infer;
pub mod losses;
pub mod metrics;
pub mod nn_util;
pub mod sketchify;
pub mod trainer;

pub use checkpoint::{ArchConfig, DataSummary, ModelInfo, Padding, QualityMetrics};
pub use infer::{Precision, Variation, VariationModel, VaryRequest};
pub use trainer::{Progress, TrainConfig, TrainOutcome, Trainer, is_style_variable};

use std::path::PathBuf;

/// Latent code size of the default architecture ([`ArchConfig::latent_dim`] is the
/// authority for a loaded model).
pub const DEFAULT_LATENT_DIM: usize = 16;

/// Makes glibc keep large freed blocks in the heap instead of returning them to the
/// OS: without this, every 10–30 MB activation buffer libtorch frees is unmapped and
/// the next one is faulted in page by page, which measured 1.5–4× slower generator
/// inference on a 2-vCPU VM (BENCHMARKS.md). Call once at start-up, before heavy
/// allocation; a no-op off glibc Linux.
pub fn tune_cpu_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator thresholds; any value is valid.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

/// Latent code size of a model.
pub fn latent_dim(model: &VariationModel) -> usize {
    model.info().arch.latent_dim
}

/// Everything that can go wrong inside the GAN module.
#[derive(Debug, thiserror::Error)]
pub enum GanError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The weights file is not a valid safetensors file (truncated, garbage).
    #[error("{path}: not a valid safetensors checkpoint: {reason}")]
    CorruptCheckpoint {
        /// The file (or `<embedded>`).
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// The sidecar JSON is missing or unreadable.
    #[error("{path}: bad model sidecar: {reason}")]
    BadSidecar {
        /// The sidecar file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A variable the architecture needs is not in the file.
    #[error("checkpoint lacks variable `{name}` (file written for another architecture?)")]
    MissingVariable {
        /// Variable path, e.g. `g.enc1.conv.weight`.
        name: String,
    },
    /// The file holds a variable the architecture does not have.
    #[error("checkpoint has unexpected variable `{name}`")]
    UnexpectedVariable {
        /// Variable path.
        name: String,
    },
    /// A variable has another shape than the architecture expects.
    #[error("variable `{name}` has shape {found:?}, expected {expected:?}")]
    ShapeMismatch {
        /// Variable path.
        name: String,
        /// Shape the architecture wants.
        expected: Vec<i64>,
        /// Shape in the file.
        found: Vec<i64>,
    },
    /// A variable is stored with an unsupported element type.
    #[error("variable `{name}` has dtype {found}, expected F32")]
    WrongDtype {
        /// Variable path.
        name: String,
        /// Dtype in the file.
        found: String,
    },
    /// The sidecar's format version is newer than this build understands.
    #[error("model format version {found} is not supported (this build reads {supported})")]
    UnsupportedVersion {
        /// Version in the sidecar.
        found: u32,
        /// Version this build writes.
        supported: u32,
    },
    /// Caller passed something unusable (empty image, mask of another size, ...).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// No usable training images were found.
    #[error("no training images: {0}")]
    NoData(String),
    /// Training diverged and could not be recovered.
    #[error("training diverged: {0}")]
    Diverged(String),
    /// An error from libtorch.
    #[error("torch: {0}")]
    Torch(#[from] tch::TchError),
}
