//! [`TrainConfig`]: everything a training run is told (architecture overrides, steps,
//! loss weights, learning rates, checkpointing, device), with the defaults the CLI and
//! the refinement start from, and which generator variables a style-only run trains.
use crate::gan::GanError;
use crate::gan::augment::Policy;
use crate::gan::checkpoint::{ArchConfig, Padding};
use std::path::PathBuf;
use tch::Device;

/// Training settings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainConfig {
    /// Architecture for a fresh model. When fine-tuning, the initial model's wins,
    /// except that `noise` adds noise inputs to a model without them (their scales
    /// start at zero, so the first step computes what the parent did).
    pub arch: ArchConfig,
    /// Inference margin to record in the model ([`ArchConfig::margin`]); None keeps
    /// the initial model's, or `arch`'s for a fresh one.
    pub margin: Option<u32>,
    /// The generator's padding ([`ArchConfig::padding`]); None keeps the initial
    /// model's, or `arch`'s for a fresh one.
    pub padding: Option<Padding>,
    /// Whether inference gives a region's mask to the generator
    /// ([`ArchConfig::mask_input`]); None keeps the initial model's, or `arch`'s.
    pub mask_input: Option<bool>,
    /// Cells per side of the latent grid ([`ArchConfig::z_grid`]); None keeps the
    /// initial model's, or `arch`'s.
    pub z_grid: Option<u32>,
    /// Optimisation steps to run in this call.
    pub steps: u64,
    /// Canvases per batch (G makes two variations of each).
    pub batch: usize,
    /// Crop side in pixels (multiple of 16).
    pub size: usize,
    /// Seed of data order, crops, sketches, z and augmentations.
    pub seed: u64,
    /// Generator learning rate.
    pub lr_g: f64,
    /// Discriminator learning rate.
    pub lr_d: f64,
    /// Weight of the generator's hinge loss.
    pub w_adv: f64,
    /// Weight of L1 to the target at full resolution.
    pub w_l1: f64,
    /// Weight of L1 to the target after 4×4 average pooling: anchors colour layout
    /// (what faithfulness measures) while leaving fine detail to the adversarial and
    /// mode-seeking terms, so variations differ in texture rather than in global colour.
    pub w_l1_low: f64,
    /// Weight of the patch sliced-Wasserstein loss on the two finest Laplacian bands
    /// ([`crate::gan::losses::patch_swd`]): asks for the target's texture statistics, not its
    /// exact pixels (0 disables it).
    pub w_swd: f64,
    /// Weight of the LPIPS-style perceptual distance to the target on the frozen
    /// pretrained feature network ([`crate::gan::losses::perceptual`]; 0 disables it).
    pub w_perceptual: f64,
    /// The feature network's weights (`scripts/fetch_feature_net.sh`), needed when
    /// `w_perceptual` is above 0.
    pub feature_net: Option<std::path::PathBuf>,
    /// Weight of the detail critic's hinge loss (0 disables it): a second PatchGAN that
    /// sees the canvas beside only the fine detail of an image ([`crate::gan::losses::detail_band`]),
    /// so it can judge texture but not colour, which the main critic mostly judges.
    /// It is not saved with the model and starts fresh on each run.
    pub w_adv_detail: f64,
    /// Weight of the mode-seeking term (0 disables it).
    pub w_ms: f64,
    /// Measure the mode-seeking term on the detail band only (each image minus its
    /// 4×4 low-pass), so the code is rewarded for varying texture, not for the
    /// cheapest change a FiLM code can make: re-grading the whole image's colour.
    pub ms_detail: bool,
    /// Codes drawn per training input; above 1 the full-resolution L1 counts only the
    /// output closest to the target (conditional IMLE, Li et al. 2019), so the code
    /// learns the pictures a canvas could have come from instead of being pulled to
    /// their average, while the low-pass L1 still holds every output to the canvas's
    /// colours. 1 (and 2) draw two codes, both held to the target as before.
    pub imle_codes: usize,
    /// ε of the mode-seeking term `1/(ratio + ε)`; larger bounds its gradient.
    pub ms_eps: f64,
    /// Weight of feature matching.
    pub w_fm: f64,
    /// Decay both learning rates along a half cosine from their value to zero over
    /// `steps`: large steps early, small ones late, where constant-rate fine-tunes
    /// drifted away from what they had learned.
    pub lr_cosine: bool,
    /// Decay of an exponential moving average of the generator's weights
    /// ([`crate::gan::ema`]); 0 keeps none. With one, the checkpoints, the best file,
    /// the validation scores and the returned model are the averaged weights, while
    /// training goes on from the raw ones (a resumed run starts from the average).
    pub ema: f64,
    /// Train only the generator's style parameters ([`is_style_variable`]): the
    /// FiLM layers, through which the latent code modulates every decoder level,
    /// and the output head. The rest of the generator stays as it is; the
    /// discriminator trains in full. Refinement uses this: a few dozen steps on a
    /// handful of accepted candidates, training everything, undid the default
    /// model's realism, while this learns the artist's rule as well
    /// (BENCHMARKS.md, "Refinement loop").
    pub style_only: bool,
    /// Snapshot (and write) every this many steps.
    pub checkpoint_every: u64,
    /// Where to write checkpoints (also on cancel); None keeps them in memory only.
    #[serde(skip)]
    pub checkpoint_path: Option<PathBuf>,
    /// Device; `tch::Device::cuda_if_available()` is the usual choice.
    #[serde(skip)]
    pub device: Device,
    /// libtorch intra-op threads (None leaves libtorch's default).
    pub threads: Option<usize>,
    /// Data worker threads.
    pub workers: usize,
    /// Augmentations applied to everything D sees.
    #[serde(skip)]
    pub augment: Policy,
    /// Description of the data for the sidecar (no absolute paths).
    pub data_source: String,
    /// Test hook: poison the loss with NaN at this step to exercise the rollback.
    #[serde(skip)]
    pub fault_injection_step: Option<u64>,
}

impl TrainConfig {
    /// Applies the requested `margin`, `padding`, `mask_input` and `z_grid` (how the
    /// model is used) to `arch`.
    pub(super) fn override_use(&self, arch: &mut ArchConfig) -> Result<(), GanError> {
        arch.margin = self.margin.unwrap_or(arch.margin);
        arch.padding = self.padding.unwrap_or(arch.padding);
        arch.mask_input = self.mask_input.unwrap_or(arch.mask_input);
        arch.z_grid = self.z_grid.unwrap_or(arch.z_grid);
        match arch.problem() {
            Some(reason) => Err(GanError::InvalidRequest(reason)),
            None => Ok(()),
        }
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            arch: ArchConfig::default(),
            margin: None,
            padding: None,
            mask_input: None,
            z_grid: None,
            steps: 2000,
            batch: 8,
            size: 64,
            seed: 0,
            lr_g: 2e-4,
            lr_d: 2e-4,
            w_adv: 1.0,
            w_l1: 10.0,
            w_l1_low: 0.0,
            w_swd: 0.0,
            w_perceptual: 0.0,
            feature_net: None,
            w_adv_detail: 0.0,
            w_ms: 1.0,
            ms_detail: false,
            imle_codes: 1,
            ms_eps: 0.1,
            w_fm: 1.0,
            lr_cosine: false,
            ema: 0.0,
            style_only: false,
            checkpoint_every: 250,
            checkpoint_path: None,
            device: Device::Cpu,
            threads: None,
            workers: 2,
            augment: Policy::default(),
            data_source: String::new(),
            fault_injection_step: None,
        }
    }
}

/// Whether a generator variable is a style parameter, the part a
/// [`TrainConfig::style_only`] run trains: a FiLM layer or the output head.
pub fn is_style_variable(name: &str) -> bool {
    name.split('.').any(|part| part == "film" || part == "head")
}
