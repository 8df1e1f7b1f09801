//! Checkpoints: the weights of G and D in one safetensors file with stable, named
//! variable paths (`g.…`, `d.…`), plus a JSON sidecar (`<name>.json` beside
//! `<name>.safetensors`) holding [`ModelInfo`]: architecture, lineage, data, steps
//! and metrics.
//!
//! Loading checks every variable against the architecture the sidecar describes
//! and reports the first problem as a typed [`GanError`] (missing, unexpected,
//! wrong shape, wrong dtype, corrupt file) instead of a libtorch panic.
use super::GanError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use tch::{Kind, Tensor};

/// Sidecar format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Architecture hyper-parameters; everything needed to rebuild the variables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchConfig {
    /// Generator width at full resolution (doubles per level up to 8×).
    pub base_width: usize,
    /// Size of the latent code z.
    pub latent_dim: usize,
    /// Number of stride-2 levels; inputs are padded to a multiple of `2^levels`.
    pub levels: usize,
    /// Discriminator width of its first layer.
    pub d_width: usize,
    /// Per-pixel noise inputs in the generator's decoder (StyleGAN-style, scaled per
    /// channel): without them a flat area of the canvas has nothing to grow texture
    /// from. Off by default: in CPU-sized training runs they learned a regular grain
    /// that measured worse (BENCHMARKS.md). Sidecars written before this have none.
    #[serde(default)]
    pub noise: bool,
    /// How the generator's convolutions pad at the image border. Not part of the
    /// weights' shapes, but of how they must be used. Sidecars written before this
    /// have none: [`Padding::Zeros`], what they were made with. A loaded model
    /// switches it with `VariationModel::set_padding` (the weights stay).
    #[serde(default)]
    pub padding: Padding,
    /// Mirrored margin (pixels) added around the canvas before the generator runs and
    /// cropped off after, like `padding` a matter of use, not of shapes. With zero
    /// padding a model can tell where the border is, and long-trained models paint a
    /// frame there that a wide enough margin moves out of the kept crop
    /// (BENCHMARKS.md, "On a GPU"). A fine-tune inherits it. Sidecars written before
    /// this have none and get 16, the margin they were made with.
    #[serde(default = "default_margin")]
    pub margin: u32,
    /// Whether a region's mask is given to the generator (`true`, what older
    /// sidecars mean) or the generator regenerates the whole context around the
    /// region and the mask only blends the result back. Measured on the GPU-trained
    /// default, the mask as input drew lines along the region's edge; the training
    /// pairs' masks separate a real image from a sketch, which a canvas never does.
    #[serde(default = "default_mask_input")]
    pub mask_input: bool,
    /// Cells per side of the grid the latent code is spread over (1: one code for the
    /// whole image). With a grid, each cell modulates with its own permutation of z
    /// and the modulation is interpolated between cells, so regions of a variation
    /// differ (light from one side, a shadow across a corner) where a single code
    /// re-grades the whole image at once. Like `padding`, a matter of use: the
    /// weights are the same. Sidecars written before this have none: 1.
    #[serde(default = "default_z_grid")]
    pub z_grid: u32,
}

/// Models whose sidecar does not say use one code for the whole image.
fn default_z_grid() -> u32 {
    1
}

/// Models whose sidecar does not say are given a region's mask.
fn default_mask_input() -> bool {
    true
}

/// How a convolution pads its input at the image border.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Padding {
    /// Zeros, as every model before this choice existed. The zeros tell the network
    /// where the border is, and models trained for long paint a frame there.
    #[default]
    Zeros,
    /// A mirror image of the inside, so the border looks like more canvas. Measured
    /// on a model trained with zeros, it removed the frame without retraining.
    Reflect,
}

impl std::str::FromStr for Padding {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "zeros" => Ok(Self::Zeros),
            "reflect" => Ok(Self::Reflect),
            _ => Err(format!("padding `{s}`: expected `zeros` or `reflect`")),
        }
    }
}

/// The inference margin of models whose sidecar does not name one.
fn default_margin() -> u32 {
    16
}

/// The widest inference margin a sidecar may ask for: wider only costs time (the
/// generator's receptive field is far smaller).
pub const MAX_MARGIN: u32 = 256;

impl Default for ArchConfig {
    fn default() -> Self {
        Self {
            base_width: 32,
            latent_dim: super::DEFAULT_LATENT_DIM,
            levels: 4,
            d_width: 32,
            noise: false,
            padding: Padding::Zeros,
            margin: default_margin(),
            mask_input: default_mask_input(),
            z_grid: default_z_grid(),
        }
    }
}

impl ArchConfig {
    /// Why this architecture cannot be built, if it cannot.
    pub fn problem(&self) -> Option<String> {
        if self.margin > MAX_MARGIN {
            return Some(format!(
                "inference margin {} px is over the maximum of {MAX_MARGIN}",
                self.margin
            ));
        }
        let cells = (self.z_grid as usize).saturating_mul(self.z_grid as usize);
        if self.z_grid == 0 || cells > self.latent_dim {
            return Some(format!(
                "a latent grid of {0}×{0} needs 1 to {1} cells (the code's size)",
                self.z_grid, self.latent_dim
            ));
        }
        None
    }
}

/// What a model was trained on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataSummary {
    /// Where the images came from (folder name or description; no absolute paths).
    pub source: String,
    /// Images decoded and used.
    pub images: usize,
    /// Files skipped because they could not be decoded.
    pub skipped: usize,
    /// Extra (input, target) pairs from accepted candidates (fine-tuning).
    #[serde(default)]
    pub extra_pairs: usize,
    /// Extra negatives for D from rejected candidates (fine-tuning).
    #[serde(default)]
    pub extra_negatives: usize,
}

/// Quality numbers measured on held-out images (see [`super::metrics`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QualityMetrics {
    /// Mean |blur(out) − blur(input)|, σ = 4 px, [0, 1] values.
    pub faithfulness: f64,
    /// Mean pairwise |out_i − out_j| over the variations of one input.
    pub diversity: f64,
    /// SWD (×1e3) between outputs and the originals.
    pub swd_outputs: f64,
    /// SWD (×1e3) between the sketchified inputs and the originals.
    pub swd_inputs: f64,
    /// `swd_outputs` per Laplacian level, finest first (its mean is `swd_outputs`).
    #[serde(default)]
    pub swd_outputs_levels: Vec<f64>,
    /// `swd_inputs` per Laplacian level, finest first.
    #[serde(default)]
    pub swd_inputs_levels: Vec<f64>,
    /// Evaluation size in pixels (square).
    pub size: u32,
    /// Held-out images used.
    pub images: usize,
    /// Strength the outputs were generated with.
    pub strength: f32,
    /// Independent draws (sketches, latent codes, sampled patches) these numbers are
    /// the mean of; one draw of four images moves the SWD change by several points.
    #[serde(default = "one_draw")]
    pub draws: u32,
}

/// Sidecars written before `draws` was recorded measured one draw.
fn one_draw() -> u32 {
    1
}

/// The quality target's ceiling on faithfulness: variations keep the canvas's layout
/// and colour.
pub const FAITHFULNESS_MAX: f64 = 0.08;
/// The quality target's floor on diversity: below it, the variations of a canvas are
/// near copies.
pub const DIVERSITY_MIN: f64 = 0.04;

impl QualityMetrics {
    /// Relative change of SWD from the sketches to the outputs (−0.25 = 25% closer to
    /// the originals than the sketches are).
    pub fn swd_change(&self) -> f64 {
        self.swd_outputs / self.swd_inputs.max(1e-12) - 1.0
    }

    /// Whether faithfulness and diversity are within their floors, so that the SWD
    /// change is a fair score (a copy of the canvas or a wild re-grade can score well).
    pub fn meets_floors(&self) -> bool {
        self.faithfulness <= FAITHFULNESS_MAX && self.diversity >= DIVERSITY_MIN
    }
}

/// A training run's score on its validation images (training images the run held out),
/// for the weights saved with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationRecord {
    /// Steps of the run when these weights were scored.
    pub step: u64,
    /// The metrics of [`super::eval::evaluate_quality`] on the validation images.
    pub metrics: QualityMetrics,
}

/// The JSON sidecar of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Sidecar format version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// Content hash of the weights; identifies this model version.
    pub version_id: String,
    /// Version this one was fine-tuned from, if any.
    pub parent: Option<String>,
    /// Architecture.
    pub arch: ArchConfig,
    /// Training data summary.
    pub data: DataSummary,
    /// Total optimisation steps, including the parent's.
    pub steps: u64,
    /// Training settings of the last run (free-form, for the record).
    #[serde(default)]
    pub training: serde_json::Value,
    /// Quality metrics, once measured.
    #[serde(default)]
    pub metrics: Option<QualityMetrics>,
    /// Last smoothed losses by name.
    #[serde(default)]
    pub losses: BTreeMap<String, f64>,
    /// Score on the training run's validation images, on the best checkpoint a run
    /// with validation writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<ValidationRecord>,
}

impl ModelInfo {
    /// Info for a freshly initialised model.
    pub fn fresh(arch: ArchConfig) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            version_id: String::new(),
            parent: None,
            arch,
            data: DataSummary::default(),
            steps: 0,
            training: serde_json::Value::Null,
            metrics: None,
            losses: BTreeMap::new(),
            validation: None,
        }
    }

    /// Parses a sidecar.
    pub fn from_json(text: &str, path: &Path) -> Result<Self, GanError> {
        let info: Self = serde_json::from_str(text).map_err(|e| GanError::BadSidecar {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        if info.format_version > FORMAT_VERSION {
            return Err(GanError::UnsupportedVersion {
                found: info.format_version,
                supported: FORMAT_VERSION,
            });
        }
        if let Some(reason) = info.arch.problem() {
            return Err(GanError::BadSidecar {
                path: path.to_owned(),
                reason,
            });
        }
        Ok(info)
    }
}

/// The sidecar path belonging to a weights path.
pub fn sidecar_path(weights: &Path) -> PathBuf {
    weights.with_extension("json")
}

/// FNV-1a, a small stable hash (the same on every platform and run).
pub(crate) struct Fnv1a(pub u64);

impl Fnv1a {
    /// The FNV-1a offset basis.
    pub fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    /// Hashes `bytes` into the state.
    pub fn eat(&mut self, bytes: &[u8]) {
        for &x in bytes {
            self.0 = (self.0 ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The version id of a model: an FNV-1a hash of its weights' names and raw bytes,
/// with the padding, the inference margin, the mask input and the latent grid mixed
/// in when they are not the defaults. The same weights used another way make other
/// pictures, so they are another version; models from before these were recorded
/// keep their ids.
pub fn version_id(named: &[(String, Tensor)], arch: &ArchConfig) -> String {
    let mut h = content_hash(named);
    if arch.padding != Padding::Zeros {
        h.eat(b"padding reflect");
    }
    if arch.margin != default_margin() {
        h.eat(b"margin");
        h.eat(&arch.margin.to_le_bytes());
    }
    if arch.mask_input != default_mask_input() {
        h.eat(b"no mask input");
    }
    if arch.z_grid != default_z_grid() {
        h.eat(b"latent grid");
        h.eat(&arch.z_grid.to_le_bytes());
    }
    format!("{:016x}", h.0)
}

/// FNV-1a over the tensors' names and raw little-endian f32 bytes.
fn content_hash(named: &[(String, Tensor)]) -> Fnv1a {
    let mut h = Fnv1a::new();
    for (name, t) in named {
        h.eat(name.as_bytes());
        let t = t
            .to_device(tch::Device::Cpu)
            .to_kind(Kind::Float)
            .contiguous();
        let n = t.numel();
        let mut buf = vec![0f32; n];
        t.copy_data(&mut buf, n);
        for v in buf {
            h.eat(&v.to_le_bytes());
        }
    }
    h
}

/// Writes tensors (sorted by name) and the sidecar, each via a temporary file and a
/// rename so that a crash never leaves a half-written checkpoint behind.
pub fn write(path: &Path, named: &[(String, Tensor)], info: &ModelInfo) -> Result<(), GanError> {
    let io = |source| GanError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let cpu: Vec<(String, Tensor)> = named
        .iter()
        .map(|(n, t)| {
            (
                n.clone(),
                t.detach().to_device(tch::Device::Cpu).contiguous(),
            )
        })
        .collect();
    let tmp = path.with_extension("safetensors.tmp");
    Tensor::write_safetensors(&cpu, &tmp)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    let side = sidecar_path(path);
    let text = serde_json::to_string_pretty(info).map_err(|e| GanError::BadSidecar {
        path: side.clone(),
        reason: e.to_string(),
    })?;
    let tmp = side.with_extension("json.tmp");
    std::fs::write(&tmp, text).map_err(|source| GanError::Io {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, &side).map_err(|source| GanError::Io {
        path: side.clone(),
        source,
    })?;
    Ok(())
}

/// Parses safetensors bytes into CPU tensors keyed by name.
pub fn parse(bytes: &[u8], origin: &Path) -> Result<HashMap<String, Tensor>, GanError> {
    let st =
        safetensors::SafeTensors::deserialize(bytes).map_err(|e| GanError::CorruptCheckpoint {
            path: origin.to_owned(),
            reason: e.to_string(),
        })?;
    let mut out = HashMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != safetensors::Dtype::F32 {
            return Err(GanError::WrongDtype {
                name,
                found: format!("{:?}", view.dtype()),
            });
        }
        let t = Tensor::try_from(view)?;
        out.insert(name, t);
    }
    Ok(out)
}

/// Copies `file` tensors into `vars` (name → variable), checking that the two sets
/// have the same names and shapes.
pub fn assign(
    vars: &HashMap<String, Tensor>,
    file: &HashMap<String, Tensor>,
) -> Result<(), GanError> {
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    for name in names {
        let var = &vars[name];
        let src = file
            .get(name)
            .ok_or_else(|| GanError::MissingVariable { name: name.clone() })?;
        if src.size() != var.size() {
            return Err(GanError::ShapeMismatch {
                name: name.clone(),
                expected: var.size(),
                found: src.size(),
            });
        }
    }
    let mut extra: Vec<&String> = file.keys().filter(|k| !vars.contains_key(*k)).collect();
    extra.sort();
    if let Some(name) = extra.first() {
        return Err(GanError::UnexpectedVariable {
            name: (*name).clone(),
        });
    }
    tch::no_grad(|| -> Result<(), GanError> {
        for (name, var) in vars {
            var.shallow_clone().f_copy_(&file[name])?;
        }
        Ok(())
    })
}
