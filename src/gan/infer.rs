//! [`VariationModel`]: the generator and discriminator of one model version with its
//! sidecar, and the API the app and the CLI use to make variations and score them.
//!
//! Any input size works: the canvas is padded (edge replication) to a multiple of 16
//! for the U-Net and the result cropped back. Everything here runs under
//! `tch::no_grad`, and the caller's thread blocks while it runs, so the UI calls it
//! from a worker thread.
use super::GanError;
use super::checkpoint::{self, ArchConfig, ModelInfo};
use super::discriminator::Discriminator;
use super::generator::Generator;
use super::nn_util::{gray_to_tensor, mirror_pad, rgb_to_tensor, tensor_to_rgb};
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::path::Path;
use tch::{Device, Kind, Tensor, nn};

/// The embedded default model (weights, then sidecar), trained by the project; see
/// `assets/models/README.md`.
static DEFAULT_WEIGHTS: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/models/default.safetensors"
));
static DEFAULT_SIDECAR: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/models/default.json"
));

/// Strength used when the caller does not choose one (CLI default, quality benchmark).
pub use crate::sampling::DEFAULT_STRENGTH;

/// Numeric precision of generator inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// 32-bit float (reference).
    #[default]
    Fp32,
    /// bfloat16 weights and activations (fast on CPUs with AVX512-BF16/AMX and on GPUs).
    Bf16,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct VaryRequest {
    /// Number of variations.
    pub count: usize,
    /// Seed of variation 0; variation `i` uses `seed + i` (so any one variation can be
    /// reproduced alone with `count = 1`).
    pub seed: u64,
    /// 0..1. Scales the latent code (how far variations stray) and blends the
    /// generator's output with the canvas: `canvas + strength·(G(canvas, strength·z) − canvas)`.
    /// 0 returns the canvas unchanged; 1 is the raw generator output.
    pub strength: f32,
    /// Where to regenerate (white = change, black = keep); the same size as the input.
    /// Outside it the canvas is kept exactly. None regenerates everything.
    pub mask: Option<image::GrayImage>,
    /// Explicit latent codes (latent steering); when given they replace seed sampling
    /// and `count` is ignored.
    pub latents: Option<Vec<Vec<f32>>>,
}

impl Default for VaryRequest {
    fn default() -> Self {
        Self {
            count: 4,
            seed: 0,
            strength: DEFAULT_STRENGTH,
            mask: None,
            latents: None,
        }
    }
}

/// One generated variation.
#[derive(Debug, Clone)]
pub struct Variation {
    /// The image, the same size as the input.
    pub image: image::RgbImage,
    /// The latent code it was generated from (before strength scaling).
    pub z: Vec<f32>,
    /// The seed that produced `z` (`request.seed + index`; for explicit latents, the
    /// request seed).
    pub seed: u64,
    /// The discriminator's mean patch score (higher looks more real to it).
    pub critic: f32,
}

/// A model version: generator + discriminator (critic) + sidecar + device.
pub struct VariationModel {
    pub(crate) vs_g: nn::VarStore,
    pub(crate) vs_d: nn::VarStore,
    pub(crate) generator: Generator,
    pub(crate) discriminator: Discriminator,
    pub(crate) info: ModelInfo,
    device: Device,
    /// Inference copy of the generator in another precision/layout, if selected.
    fast: Option<Generator>,
}

impl std::fmt::Debug for VariationModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VariationModel")
            .field("info", &self.info)
            .field("device", &self.device)
            .finish()
    }
}

/// Samples a standard normal latent code of `dim` values from `seed` (ChaCha8 +
/// Box–Muller): identical on every device and platform.
pub fn sample_latent(seed: u64, dim: usize) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..dim)
        .map(|_| {
            let u1: f32 = rng.random_range(f32::EPSILON..1.0);
            let u2: f32 = rng.random_range(0.0..1.0);
            (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
        })
        .collect()
}

impl VariationModel {
    /// A freshly initialised model (random weights; the generator starts as identity).
    pub fn new(arch: ArchConfig, device: Device) -> Self {
        let vs_g = nn::VarStore::new(device);
        let vs_d = nn::VarStore::new(device);
        let generator = Generator::new(&(vs_g.root() / "g"), &arch);
        let discriminator = Discriminator::new(&(vs_d.root() / "d"), &arch);
        Self {
            vs_g,
            vs_d,
            generator,
            discriminator,
            info: ModelInfo::fresh(arch),
            device,
            fast: None,
        }
    }

    /// The embedded default model.
    pub fn load_default(device: Device) -> Result<Self, GanError> {
        let origin = Path::new("<embedded default model>");
        let info = ModelInfo::from_json(DEFAULT_SIDECAR, origin)?;
        Self::from_parts(DEFAULT_WEIGHTS, info, origin, device)
    }

    /// Loads `path` (`.safetensors`) and its sidecar (`.json` beside it).
    pub fn load(path: &Path, device: Device) -> Result<Self, GanError> {
        let side = checkpoint::sidecar_path(path);
        let text = std::fs::read_to_string(&side).map_err(|e| GanError::BadSidecar {
            path: side.clone(),
            reason: e.to_string(),
        })?;
        let info = ModelInfo::from_json(&text, &side)?;
        let bytes = std::fs::read(path).map_err(|source| GanError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_parts(&bytes, info, path, device)
    }

    fn from_parts(
        bytes: &[u8],
        info: ModelInfo,
        origin: &Path,
        device: Device,
    ) -> Result<Self, GanError> {
        let file = checkpoint::parse(bytes, origin)?;
        let mut model = Self::new(info.arch.clone(), device);
        checkpoint::assign(&model.variables(), &file)?;
        model.info = info;
        Ok(model)
    }

    /// Writes the weights to `path` (`.safetensors`) and the sidecar beside it, and
    /// returns the sidecar's `version_id` ([`Self::version_id`]).
    pub fn save(&self, path: &Path) -> Result<String, GanError> {
        let named = self.named_variables();
        let mut info = self.info.clone();
        info.version_id = checkpoint::version_id(&named, &info.arch);
        checkpoint::write(path, &named, &info)?;
        Ok(info.version_id)
    }

    /// The id [`Self::save`] gives this model: a hash of its weights and of how they
    /// are used ([`checkpoint::version_id`]).
    pub fn version_id(&self) -> String {
        checkpoint::version_id(&self.named_variables(), &self.info.arch)
    }

    /// The sidecar: architecture, version, parent, data, steps, metrics.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Mutable sidecar (to record metrics or a description).
    pub fn info_mut(&mut self) -> &mut ModelInfo {
        &mut self.info
    }

    /// Device the model runs on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// All variables, name → tensor (`g.…` and `d.…`).
    pub fn variables(&self) -> HashMap<String, Tensor> {
        let mut v = self.vs_g.variables();
        v.extend(self.vs_d.variables());
        v
    }

    /// All variables sorted by name.
    pub fn named_variables(&self) -> Vec<(String, Tensor)> {
        let mut v: Vec<(String, Tensor)> = self.variables().into_iter().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Number of generator parameters.
    pub fn generator_parameters(&self) -> i64 {
        self.vs_g
            .trainable_variables()
            .iter()
            .map(|t| t.numel() as i64)
            .sum()
    }

    /// Chooses the precision and memory layout of generator inference. Fp32 without
    /// channels-last is the reference; others make a converted copy of the weights.
    pub fn set_inference(&mut self, precision: Precision, channels_last: bool) {
        let kind = match precision {
            Precision::Fp32 => Kind::Float,
            Precision::Bf16 => Kind::BFloat16,
        };
        self.fast = (kind != Kind::Float || channels_last)
            .then(|| tch::no_grad(|| self.generator.converted(kind, channels_last)));
    }

    /// Drops the inference copy (call after the weights changed).
    pub fn reset_inference(&mut self) {
        self.fast = None;
    }

    /// Uses the same weights with another padding at the image border (recorded in
    /// the sidecar, so [`Self::save`] keeps it).
    pub fn set_padding(&mut self, padding: super::Padding) {
        self.generator
            .set_reflect(padding == super::Padding::Reflect);
        self.info.arch.padding = padding;
        self.reset_inference();
    }

    fn inference_generator(&self) -> &Generator {
        self.fast.as_ref().unwrap_or(&self.generator)
    }

    /// Raw generator forward on an already padded `[N, 4, H, W]` input (for the
    /// PyTorch cross-check and benchmarks); returns `[N, 3, H, W]` in fp32.
    pub fn generate_raw(&self, x: &Tensor, z: &Tensor) -> Tensor {
        tch::no_grad(|| {
            self.inference_generator()
                .forward(&x.to_device(self.device), &z.to_device(self.device))
        })
    }

    /// Like [`Self::generate_raw`] for one canvas and several codes, running the
    /// z-independent encoder once: what [`Self::vary`] does.
    pub fn generate_raw_shared(&self, x: &Tensor, zs: &[Tensor]) -> Vec<Tensor> {
        tch::no_grad(|| {
            let g = self.inference_generator();
            let e = g.encode(&x.to_device(self.device));
            zs.iter()
                .map(|z| g.decode(&e, &z.to_device(self.device)))
                .collect()
        })
    }

    /// Pads `[N, C, H, W]` on the right and bottom (edge replication) to a multiple of 16.
    fn pad(&self, t: &Tensor) -> Tensor {
        let m = self.generator.size_multiple();
        let (h, w) = (t.size()[2], t.size()[3]);
        let (ph, pw) = ((m - h % m) % m, (m - w % m) % m);
        if ph == 0 && pw == 0 {
            t.shallow_clone()
        } else {
            t.pad([0, pw, 0, ph], "replicate", None)
        }
    }

    /// The model's mirrored margin in pixels ([`ArchConfig::margin`]).
    fn margin(&self) -> i64 {
        i64::from(self.info.arch.margin)
    }

    /// Adds the model's mirrored margin on every side, then pads to a multiple of 16.
    /// The convolutions' zero padding makes the outermost pixels of the output
    /// unreliable (bright seams, or a frame, at the image border); with the margin
    /// those pixels fall outside the crop that is kept.
    fn pad_with_margin(&self, t: &Tensor) -> Tensor {
        self.pad(&mirror_pad(t, self.margin()))
    }

    /// Generates one variation per latent code, calling `on_each(index, variation)` as
    /// each finishes; returning false from `on_each` cancels the rest.
    pub fn vary(
        &self,
        input: &image::RgbImage,
        request: &VaryRequest,
        mut on_each: impl FnMut(usize, Variation) -> bool,
    ) -> Result<(), GanError> {
        let (w, h) = input.dimensions();
        if w == 0 || h == 0 {
            return Err(GanError::InvalidRequest("empty input image".into()));
        }
        if !(0.0..=1.0).contains(&request.strength) {
            return Err(GanError::InvalidRequest(format!(
                "strength {} is outside 0..1",
                request.strength
            )));
        }
        let zdim = self.info.arch.latent_dim;
        let codes: Vec<(Vec<f32>, u64)> = match &request.latents {
            Some(latents) => {
                if let Some(bad) = latents.iter().find(|z| z.len() != zdim) {
                    return Err(GanError::InvalidRequest(format!(
                        "latent has {} values, model wants {zdim}",
                        bad.len()
                    )));
                }
                latents.iter().map(|z| (z.clone(), request.seed)).collect()
            }
            None => (0..request.count as u64)
                .map(|i| {
                    let s = request.seed.wrapping_add(i);
                    (sample_latent(s, zdim), s)
                })
                .collect(),
        };
        tch::no_grad(|| {
            let canvas = rgb_to_tensor(input).to_device(self.device);
            let mask = match &request.mask {
                Some(m) if m.dimensions() != (w, h) => {
                    return Err(GanError::InvalidRequest(format!(
                        "mask is {}×{}, input is {w}×{h}",
                        m.width(),
                        m.height()
                    )));
                }
                Some(m) => gray_to_tensor(m).to_device(self.device),
                None => Tensor::ones(
                    [1, 1, i64::from(h), i64::from(w)],
                    (Kind::Float, self.device),
                ),
            };
            // Without mask input the generator sees the whole context as one to
            // regenerate, and the mask only blends the result back (below).
            let mask_in = if self.info.arch.mask_input {
                mask.shallow_clone()
            } else {
                mask.ones_like()
            };
            let x = self.pad_with_margin(&Tensor::cat(&[&canvas, &mask_in], 1));
            // z enters only after the encoder: encode the canvas once for all codes.
            let encoded = self.inference_generator().encode(&x);
            let canvas_padded = self.pad(&canvas);
            let s = f64::from(request.strength);
            for (i, (z, seed)) in codes.into_iter().enumerate() {
                let zt = (Tensor::from_slice(&z).view([1, zdim as i64]) * s).to_device(self.device);
                let out = self
                    .inference_generator()
                    .decode(&encoded, &zt)
                    .narrow(2, self.margin(), i64::from(h))
                    .narrow(3, self.margin(), i64::from(w));
                let blended = &canvas + (out - &canvas) * s;
                let result = &mask * blended + (mask.neg() + 1.0) * &canvas;
                // D needs a few pixels per stride; score the padded pair so tiny inputs work.
                let critic = self
                    .discriminator
                    .forward(&canvas_padded, &self.pad(&result), false)
                    .scores
                    .mean(Kind::Float);
                let variation = Variation {
                    image: tensor_to_rgb(&result)?,
                    z,
                    seed,
                    critic: critic.double_value(&[]) as f32,
                };
                if !on_each(i, variation) {
                    break;
                }
            }
            Ok(())
        })
    }

    /// The critic's mean patch score for `candidate` as a variation of `input`
    /// (same size); higher looks more real to the discriminator.
    pub fn critic_score(
        &self,
        input: &image::RgbImage,
        candidate: &image::RgbImage,
    ) -> Result<f32, GanError> {
        if input.dimensions() != candidate.dimensions() {
            return Err(GanError::InvalidRequest(
                "candidate and input differ in size".into(),
            ));
        }
        tch::no_grad(|| {
            let a = self.pad(&rgb_to_tensor(input).to_device(self.device));
            let b = self.pad(&rgb_to_tensor(candidate).to_device(self.device));
            let s = self
                .discriminator
                .forward(&a, &b, false)
                .scores
                .mean(Kind::Float);
            Ok(s.double_value(&[]) as f32)
        })
    }
}
