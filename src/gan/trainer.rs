//! The training loop. Training from scratch and fine-tuning from an existing model
//! are the same code path: [`Trainer::new`] takes an optional initial model.
//!
//! Each step: the generator makes two variations (codes z1, z2) of every canvas in
//! the batch; D learns real vs fake (hinge, DiffAugment, plus extra negatives such
//! as rejected candidates); then G learns from hinge + L1 + mode seeking + feature
//! matching. Every `checkpoint_every` steps the weights are snapshotted in memory
//! (and written to `checkpoint_path` when set); a non-finite or exploding loss
//! restores the last snapshot, halves the learning rates and carries on.
//! Adam's moment estimates are not checkpointed: a resumed run restarts them.
//!
//! With [`Trainer::set_validation`], the run also scores itself at the start and at
//! every checkpoint on images it does not train on (the held-out quality metrics of
//! [`super::bench::evaluate_quality`]) and writes the best-scoring weights apart. A
//! GAN's last step is not its best one: fine-tunes here improved for a while and then
//! drifted in colour (BENCHMARKS.md, "Session 9"), and picking the step by the
//! held-out benchmark itself would fit the benchmark.
use super::GanError;
use super::augment::{Policy, diff_augment};
use super::checkpoint::{ArchConfig, DataSummary, Padding, QualityMetrics, ValidationRecord};
use super::data::{Batch, BatchLoader, PairSource};
use super::discriminator::Discriminator;
use super::ema::Ema;
use super::infer::VariationModel;
use super::losses;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tch::{Device, Kind, Tensor, nn, nn::OptimizerConfig};

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
    /// ([`losses::patch_swd`]): asks for the target's texture statistics, not its
    /// exact pixels (0 disables it).
    pub w_swd: f64,
    /// Weight of the detail critic's hinge loss (0 disables it): a second PatchGAN that
    /// sees the canvas beside only the fine detail of an image ([`losses::detail_band`]),
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
    /// ([`super::ema`]); 0 keeps none. With one, the checkpoints, the best file,
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
    fn override_use(&self, arch: &mut ArchConfig) -> Result<(), GanError> {
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

/// Whether validation `metrics` beat the best SWD change so far (`best`, None before
/// any weights met the floors): within the faithfulness and diversity floors, and
/// strictly closer to the originals. A tie keeps the earlier, shorter-trained weights.
pub fn beats(metrics: &QualityMetrics, best: Option<f64>) -> bool {
    metrics.meets_floors() && best.is_none_or(|b| metrics.swd_change() < b)
}

/// Whether a generator variable is a style parameter, the part a
/// [`TrainConfig::style_only`] run trains: a FiLM layer or the output head.
pub fn is_style_variable(name: &str) -> bool {
    name.split('.').any(|part| part == "film" || part == "head")
}

/// Losses of one step (or smoothed).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Losses {
    /// Discriminator hinge loss.
    pub d: f64,
    /// Generator hinge loss.
    pub g_adv: f64,
    /// L1 to target.
    pub l1: f64,
    /// Mode-seeking term.
    pub ms: f64,
    /// Feature matching.
    pub fm: f64,
    /// Patch sliced-Wasserstein texture loss (0 when its weight is 0).
    pub swd: f64,
    /// The generator's hinge loss against the detail critic (0 when it is off).
    pub g_detail: f64,
}

impl Losses {
    fn is_sane(&self) -> bool {
        let all = [
            self.d,
            self.g_adv,
            self.l1,
            self.ms,
            self.fm,
            self.swd,
            self.g_detail,
        ];
        all.iter().all(|v| v.is_finite()) && self.d.abs() < 1e3 && self.g_adv.abs() < 1e4
    }

    fn blend(&mut self, o: &Losses, a: f64) {
        self.d += a * (o.d - self.d);
        self.g_adv += a * (o.g_adv - self.g_adv);
        self.l1 += a * (o.l1 - self.l1);
        self.ms += a * (o.ms - self.ms);
        self.fm += a * (o.fm - self.fm);
        self.swd += a * (o.swd - self.swd);
        self.g_detail += a * (o.g_detail - self.g_detail);
    }
}

/// What the progress callback receives after every step.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Steps done in this run.
    pub step: u64,
    /// Steps this run will do.
    pub total: u64,
    /// This step's losses.
    pub losses: Losses,
    /// Exponentially smoothed losses.
    pub smoothed: Losses,
    /// Estimated time to finish.
    pub eta: Duration,
    /// Rollbacks so far.
    pub rollbacks: u32,
    /// Validation scores taken since the last report (at the start and at
    /// checkpoints, with [`Trainer::set_validation`]); usually empty.
    pub validated: Vec<Validated>,
}

/// Images a run scores itself on and where it keeps its best weights
/// ([`Trainer::set_validation`]).
#[derive(Debug, Clone)]
pub struct Validation {
    /// Images the run does not train on.
    pub images: Vec<image::RgbImage>,
    /// Evaluation size (square), as in `atelier bench gan-quality`.
    pub size: u32,
    /// Variations per image.
    pub count: usize,
    /// Strength of the variations.
    pub strength: f32,
    /// Independent draws averaged per score (seeds 0, 1, …): one draw of a few
    /// images is noisy enough to pick a checkpoint by luck.
    pub draws: u32,
    /// Where the best-scoring weights go (None: only report the scores).
    pub best_path: Option<PathBuf>,
}

/// One validation score.
#[derive(Debug, Clone)]
pub struct Validated {
    /// Steps of this run (0 = the initial weights).
    pub step: u64,
    /// The metrics on the validation images.
    pub metrics: QualityMetrics,
    /// Whether these weights are the best so far: within the faithfulness and
    /// diversity floors and with the lowest SWD change.
    pub best: bool,
}

/// The result of [`Trainer::run`].
#[derive(Debug)]
pub struct TrainOutcome {
    /// The trained model (also written to `checkpoint_path` when set).
    pub model: VariationModel,
    /// Steps done in this run.
    pub steps: u64,
    /// True if the cancel flag stopped the run early.
    pub cancelled: bool,
    /// Times a divergence restored the last snapshot.
    pub rollbacks: u32,
    /// Smoothed losses at the end.
    pub losses: Losses,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// The best validation score, with its step (runs with validation).
    pub best: Option<Validated>,
}

/// Adam as GANs use it (β₁ = 0.5), for every network the trainer optimises.
const ADAM: nn::Adam = nn::Adam {
    beta1: 0.5,
    beta2: 0.999,
    wd: 0.0,
    eps: 1e-8,
    amsgrad: false,
};

/// The critic of [`TrainConfig::w_adv_detail`]: its own variables and optimiser, kept
/// apart from the model because it is a training aid only.
struct DetailCritic {
    /// Owns the variables the critic and its optimiser refer to.
    _vs: nn::VarStore,
    critic: Discriminator,
    opt: nn::Optimizer,
}

impl DetailCritic {
    fn new(arch: &ArchConfig, device: Device, lr: f64) -> Result<Self, GanError> {
        let vs = nn::VarStore::new(device);
        let critic = Discriminator::new(&(vs.root() / "dd"), arch);
        let opt = ADAM.build(&vs, lr)?;
        Ok(Self {
            _vs: vs,
            critic,
            opt,
        })
    }

    /// An augmented `[N, 6, H, W]` (canvas ‖ image) pair as the critic sees it: the
    /// canvas, and the image's detail times `scale`.
    fn view(pair: &Tensor, scale: &Tensor) -> Tensor {
        let detail = losses::detail_band(&pair.narrow(1, 3, 3)) * scale;
        Tensor::cat(&[pair.narrow(1, 0, 3), detail], 1)
    }
}

/// Trains or fine-tunes a [`VariationModel`].
///
/// libtorch's random generator and thread count are process-wide: two trainers
/// running at once in one process are not individually reproducible.
pub struct Trainer {
    config: TrainConfig,
    model: VariationModel,
    source: PairSource,
    negatives: Vec<(image::RgbImage, image::RgbImage)>,
    data: DataSummary,
    start_step: u64,
    validation: Option<Validation>,
}

impl Trainer {
    /// A trainer for a fresh model (`init` None) or one that continues from `init`
    /// (fine-tuning / resuming: same architecture, weights copied, steps continue,
    /// `parent` = init's version).
    pub fn new(config: TrainConfig, init: Option<&VariationModel>) -> Result<Self, GanError> {
        if !config.size.is_multiple_of(16) || config.size == 0 {
            return Err(GanError::InvalidRequest(format!(
                "crop size {} is not a multiple of 16",
                config.size
            )));
        }
        if config.batch == 0 {
            return Err(GanError::InvalidRequest("batch size 0".into()));
        }
        if !(0.0..1.0).contains(&config.ema) {
            return Err(GanError::InvalidRequest(format!(
                "weight-average decay {} is outside [0, 1)",
                config.ema
            )));
        }
        if let Some(t) = config.threads {
            tch::set_num_threads(t as i32);
        }
        let (model, start_step, data) = match init {
            Some(init) => {
                let mut arch = init.info().arch.clone();
                let adding_noise = config.arch.noise && !arch.noise;
                arch.noise |= adding_noise;
                config.override_use(&mut arch)?;
                let mut m = VariationModel::new(arch.clone(), config.device);
                tch::no_grad(|| -> Result<(), GanError> {
                    let src = init.variables();
                    for (name, var) in m.variables() {
                        match src.get(&name) {
                            Some(s) => {
                                var.shallow_clone().f_copy_(s)?;
                            }
                            // New noise scales keep their zero initialisation.
                            None if adding_noise && name.ends_with(".noise") => {}
                            None => return Err(GanError::MissingVariable { name }),
                        }
                    }
                    Ok(())
                })?;
                m.info = init.info().clone();
                m.info.arch = arch;
                m.info.parent = Some(init.info().version_id.clone()).filter(|v| !v.is_empty());
                (m, init.info().steps, init.info().data.clone())
            }
            None => {
                // Initial weights come from libtorch's global generator: seed it so a
                // seed reproduces the whole run.
                tch::manual_seed(config.seed as i64);
                let mut arch = config.arch.clone();
                config.override_use(&mut arch)?;
                (
                    VariationModel::new(arch, config.device),
                    0,
                    DataSummary::default(),
                )
            }
        };
        Ok(Self {
            config,
            model,
            source: PairSource::default(),
            negatives: Vec::new(),
            data,
            start_step,
            validation: None,
        })
    }

    /// Scores the model on `validation`'s images at the start of the run and at every
    /// checkpoint, and writes the best-scoring weights to its `best_path`.
    pub fn set_validation(&mut self, validation: Validation) {
        self.validation = Some(validation);
    }

    /// Sets the real images (from [`super::data::load_images`]) and records them in the sidecar.
    pub fn set_images(&mut self, images: Vec<image::RgbImage>, skipped: usize) {
        self.data.images = images.len();
        self.data.skipped = skipped;
        self.data.source = self.config.data_source.clone();
        self.source.images = images;
    }

    /// Adds (canvas, target) pairs, e.g. accepted candidates with their canvas.
    pub fn add_pairs(&mut self, pairs: Vec<(image::RgbImage, image::RgbImage)>) {
        self.data.extra_pairs += pairs.len();
        self.source.extra_pairs.extend(pairs);
    }

    /// Adds (canvas, rejected candidate) pairs that D must learn to call fake.
    pub fn add_negatives(&mut self, negatives: Vec<(image::RgbImage, image::RgbImage)>) {
        self.data.extra_negatives += negatives.len();
        self.negatives.extend(negatives);
    }

    /// The model being trained.
    pub fn model(&self) -> &VariationModel {
        &self.model
    }

    /// Runs `config.steps` steps (fewer if `cancel` becomes true), reporting each step
    /// to `on_progress`, and returns the model.
    pub fn run(
        mut self,
        cancel: Arc<AtomicBool>,
        mut on_progress: impl FnMut(&Progress),
    ) -> Result<TrainOutcome, GanError> {
        if self.source.images.is_empty() && self.source.extra_pairs.is_empty() {
            return Err(GanError::NoData(
                "no images and no pairs to train on".into(),
            ));
        }
        let cfg = self.config.clone();
        tch::manual_seed(cfg.seed.wrapping_add(self.start_step) as i64);
        let negatives = self.negative_tensor();
        let source = Arc::new(std::mem::take(&mut self.source));
        let mut loader = BatchLoader::start(
            source.clone(),
            cfg.seed,
            self.start_step,
            cfg.batch,
            cfg.size,
            cfg.workers,
        );
        // Frozen variables get no gradient, so Adam leaves them exactly as they are.
        let mut trained = Vec::new();
        for (name, var) in self.model.vs_g.variables() {
            let train = !cfg.style_only || is_style_variable(&name);
            let _ = var.set_requires_grad(train);
            if train {
                trained.push(var);
            }
        }
        let mut ema = (cfg.ema > 0.0).then(|| Ema::new(trained, cfg.ema));
        let (mut opt_g, mut opt_d) = self.optimizers(1.0)?;
        let arch = self.model.info.arch.clone();
        let detail_critic = |lr_scale: f64| {
            (cfg.w_adv_detail > 0.0)
                .then(|| DetailCritic::new(&arch, cfg.device, cfg.lr_d * lr_scale))
                .transpose()
        };
        let mut detail = detail_critic(1.0)?;
        let mut lr_scale = 1.0;
        let mut snapshot = self.snapshot();
        let mut smoothed: Option<Losses> = None;
        let mut rollbacks = 0u32;
        let t0 = Instant::now();
        let mut done = 0u64;
        let mut cancelled = false;
        let mut best: Option<(f64, Validated)> = None;
        let mut validated = Vec::new();
        validated.extend(self.validate(0, &mut best)?);
        while done < cfg.steps {
            if cancel.load(Ordering::Relaxed) {
                cancelled = true;
                break;
            }
            let batch = loader
                .next_batch()
                .ok_or_else(|| GanError::NoData("data workers stopped".into()))?;
            if cfg.lr_cosine {
                let f = 0.5 * (1.0 + (std::f64::consts::PI * done as f64 / cfg.steps as f64).cos());
                opt_g.set_lr(cfg.lr_g * lr_scale * f);
                opt_d.set_lr(cfg.lr_d * lr_scale * f);
                if let Some(dc) = &mut detail {
                    dc.opt.set_lr(cfg.lr_d * lr_scale * f);
                }
            }
            let mut losses = self.step(
                &batch,
                negatives.as_ref(),
                &mut opt_g,
                &mut opt_d,
                detail.as_mut(),
            )?;
            if cfg.fault_injection_step == Some(done) && rollbacks == 0 {
                losses.d = f64::NAN;
            }
            if !losses.is_sane() {
                rollbacks += 1;
                tracing::warn!(
                    "step {done}: losses diverged ({losses:?}); restoring last good snapshot"
                );
                if rollbacks > 3 {
                    return Err(GanError::Diverged(format!(
                        "{rollbacks} rollbacks, last losses {losses:?}"
                    )));
                }
                self.restore(&snapshot)?;
                if let Some(e) = &mut ema {
                    e.reset();
                }
                lr_scale *= 0.5;
                (opt_g, opt_d) = self.optimizers(lr_scale)?;
                // The detail critic is not in the snapshot: it starts again, at the
                // lowered rate, rather than go on from where the run diverged.
                detail = detail_critic(lr_scale)?;
                continue;
            }
            done += 1;
            if let Some(e) = &mut ema {
                e.update();
            }
            let s = smoothed.get_or_insert(losses);
            s.blend(&losses, 0.05);
            let elapsed = t0.elapsed();
            let eta = elapsed.mul_f64((cfg.steps - done) as f64 / done as f64);
            let smoothed_now = *s;
            if done.is_multiple_of(cfg.checkpoint_every.max(1)) && done < cfg.steps {
                snapshot = self.snapshot();
                // The averaged weights are what a checkpoint keeps and what is scored.
                self.swap_average(&mut ema);
                self.finish_info(done, smoothed_now);
                let checkpointed = self.checkpoint(done, &mut best);
                self.swap_average(&mut ema);
                validated.extend(checkpointed?);
            }
            on_progress(&Progress {
                step: done,
                total: cfg.steps,
                losses,
                smoothed: smoothed_now,
                eta,
                rollbacks,
                validated: std::mem::take(&mut validated),
            });
        }
        drop(loader);
        // From here on the model is the averaged weights.
        self.swap_average(&mut ema);
        let losses = smoothed.unwrap_or_default();
        self.finish_info(done, losses);
        let at_checkpoint = done < cfg.steps && done.is_multiple_of(cfg.checkpoint_every.max(1));
        if done > 0 && !at_checkpoint {
            // The final weights are scored too, unless their checkpoint just was.
            validated.extend(self.validate(done, &mut best)?);
        }
        if !validated.is_empty() {
            // Scores no step has reported yet: the final one, or the start's when the
            // run made no step.
            on_progress(&Progress {
                step: done,
                total: cfg.steps,
                losses,
                smoothed: losses,
                eta: Duration::ZERO,
                rollbacks,
                validated,
            });
        }
        self.model.reset_inference();
        // Hashing the weights copies them all, so it is done once.
        self.model.info.version_id = match &cfg.checkpoint_path {
            Some(p) => self.model.save(p)?,
            None => self.model.version_id(),
        };
        Ok(TrainOutcome {
            model: self.model,
            steps: done,
            cancelled,
            rollbacks,
            losses,
            elapsed: t0.elapsed(),
            best: best.map(|(_, v)| v),
        })
    }

    /// Exchanges the model's generator weights with the running average, if the run
    /// keeps one ([`Ema::swap`]; a second call swaps back).
    fn swap_average(&mut self, ema: &mut Option<Ema>) {
        if let Some(e) = ema {
            e.swap();
            self.model.reset_inference();
        }
    }

    /// Writes a checkpoint (when the run has a path) and scores it.
    fn checkpoint(
        &mut self,
        done: u64,
        best: &mut Option<(f64, Validated)>,
    ) -> Result<Option<Validated>, GanError> {
        if let Some(p) = &self.config.checkpoint_path {
            self.model.save(p)?;
        }
        self.validate(done, best)
    }

    /// With a validation set: scores the current weights at run step `step`, and when
    /// they beat `best` (within the floors, lower SWD change), writes them to the
    /// best path with the score in their sidecar. The initial weights (step 0) are the
    /// score to beat; they are not written, so a run that never beats its start
    /// leaves no best file.
    fn validate(
        &mut self,
        step: u64,
        best: &mut Option<(f64, Validated)>,
    ) -> Result<Option<Validated>, GanError> {
        let Some(v) = &self.validation else {
            return Ok(None);
        };
        // The same sketches, codes and projections every time (seeds from 0), so the
        // checkpoints of a run differ only in their weights.
        let (metrics, _, _) = super::bench::evaluate_quality_draws(
            &self.model,
            &v.images,
            v.size,
            v.count,
            v.strength,
            0,
            v.draws,
        )?;
        let score = metrics.swd_change();
        let is_best = beats(&metrics, best.as_ref().map(|(b, _)| *b));
        if is_best
            && step > 0
            && let Some(p) = &v.best_path
        {
            let info = self.model.info.clone();
            self.model.info.validation = Some(ValidationRecord {
                step,
                metrics: metrics.clone(),
            });
            let saved = self.model.save(p);
            self.model.info = info;
            saved?;
        }
        let record = Validated {
            step,
            metrics,
            best: is_best,
        };
        if is_best {
            *best = Some((score, record.clone()));
        }
        Ok(Some(record))
    }

    fn finish_info(&mut self, done: u64, l: Losses) {
        let info = &mut self.model.info;
        // Metrics describe how the model was used when measured, and a run may have
        // changed that (margin, padding, mask input, latent grid) even without a step.
        info.metrics = None;
        if done == 0 {
            // Nothing was learned: the parent's data, training record and losses
            // still describe these weights.
            return;
        }
        info.validation = None;
        info.steps = self.start_step + done;
        info.data = self.data.clone();
        info.training = serde_json::to_value(&self.config).unwrap_or(serde_json::Value::Null);
        info.losses = BTreeMap::from([
            ("d".to_string(), l.d),
            ("g_adv".to_string(), l.g_adv),
            ("l1".to_string(), l.l1),
            ("ms".to_string(), l.ms),
            ("fm".to_string(), l.fm),
            ("swd".to_string(), l.swd),
        ]);
    }

    fn optimizers(&self, scale: f64) -> Result<(nn::Optimizer, nn::Optimizer), GanError> {
        let g = ADAM.build(&self.model.vs_g, self.config.lr_g * scale)?;
        let d = ADAM.build(&self.model.vs_d, self.config.lr_d * scale)?;
        Ok((g, d))
    }

    fn snapshot(&self) -> Vec<(String, Tensor)> {
        self.model
            .named_variables()
            .into_iter()
            .map(|(n, t)| (n, t.detach().copy()))
            .collect()
    }

    fn restore(&mut self, snap: &[(String, Tensor)]) -> Result<(), GanError> {
        let vars = self.model.variables();
        tch::no_grad(|| -> Result<(), GanError> {
            for (name, t) in snap {
                if let Some(v) = vars.get(name) {
                    v.shallow_clone().f_copy_(t)?;
                }
            }
            Ok(())
        })
    }

    /// Rejected candidates as `[K, 6, size, size]` (canvas ‖ candidate), centre-cropped.
    fn negative_tensor(&self) -> Option<Tensor> {
        if self.negatives.is_empty() {
            return None;
        }
        let s = self.config.size as u32;
        let prep = |img: &image::RgbImage| {
            super::nn_util::rgb_to_tensor(&super::bench::square_with(
                img,
                s,
                image::imageops::FilterType::Triangle,
            ))
        };
        let parts: Vec<Tensor> = self
            .negatives
            .iter()
            .map(|(a, b)| Tensor::cat(&[prep(a), prep(b)], 1))
            .collect();
        Some(Tensor::cat(&parts, 0).to_device(self.config.device))
    }

    /// One D step and one G step.
    fn step(
        &mut self,
        batch: &Batch,
        negatives: Option<&Tensor>,
        opt_g: &mut nn::Optimizer,
        opt_d: &mut nn::Optimizer,
        detail: Option<&mut DetailCritic>,
    ) -> Result<Losses, GanError> {
        let cfg = &self.config;
        let dev = cfg.device;
        let (n, s) = (batch.n as i64, batch.size as i64);
        let canvas = Tensor::from_slice(&batch.input)
            .view([n, 3, s, s])
            .to_device(dev);
        let target = Tensor::from_slice(&batch.target)
            .view([n, 3, s, s])
            .to_device(dev);
        let mask = Tensor::from_slice(&batch.mask)
            .view([n, 1, s, s])
            .to_device(dev);
        let zdim = self.model.info.arch.latent_dim as i64;
        // `k` codes per input: the first two also drive mode seeking.
        let k = cfg.imle_codes.max(2) as i64;
        let z: Vec<Tensor> = (0..k)
            .map(|_| Tensor::randn([n, zdim], (Kind::Float, dev)))
            .collect();
        let (z1, z2) = (&z[0], &z[1]);
        let x = Tensor::cat(&[&canvas, &mask], 1);
        let x_k = x.repeat([k, 1, 1, 1]);
        let canvas_k = canvas.repeat([k, 1, 1, 1]);
        let mask_k = mask.repeat([k, 1, 1, 1]);
        let target_k = target.repeat([k, 1, 1, 1]);
        let raw = self.model.generator.forward(&x_k, &Tensor::cat(&z, 0));
        let fake = &mask_k * raw + (mask_k.neg() + 1.0) * &canvas_k;

        // Discriminator.
        let d = &self.model.discriminator;
        let real_pair = diff_augment(&Tensor::cat(&[&canvas, &target], 1), cfg.augment);
        let fake_pair = diff_augment(&Tensor::cat(&[&canvas_k, &fake.detach()], 1), cfg.augment);
        let dr = d.forward_pair(&real_pair, true);
        let df = d.forward_pair(&fake_pair, false);
        let neg_scores = negatives.map(|neg| {
            let k = neg.size()[0].min(n);
            let idx = Tensor::randint(neg.size()[0], [k], (Kind::Int64, dev));
            d.forward_pair(
                &diff_augment(&neg.index_select(0, &idx), cfg.augment),
                false,
            )
            .scores
        });
        let d_loss = losses::d_hinge(&dr.scores, &df.scores, neg_scores.as_ref());
        opt_d.zero_grad();
        d_loss.backward();
        opt_d.step();

        // The detail critic, on its own augmentations of the same pairs. Both sides'
        // detail is divided by the real detail's spread, so the critic's inputs keep a
        // unit scale whatever the crops' contrast.
        let detail_pass = detail.map(|dc| {
            let real = diff_augment(&Tensor::cat(&[&canvas, &target], 1), cfg.augment);
            let scale = tch::no_grad(|| {
                (losses::detail_band(&real.narrow(1, 3, 3)).std(true) + 1e-3).reciprocal()
            });
            let fake_pair =
                diff_augment(&Tensor::cat(&[&canvas_k, &fake.detach()], 1), cfg.augment);
            let dr = dc
                .critic
                .forward_pair(&DetailCritic::view(&real, &scale), true);
            let df = dc
                .critic
                .forward_pair(&DetailCritic::view(&fake_pair, &scale), false);
            let loss = losses::d_hinge(&dr.scores, &df.scores, None);
            dc.opt.zero_grad();
            loss.backward();
            dc.opt.step();
            (&dc.critic, scale)
        });

        // Generator.
        let dg = d.forward_pair(
            &diff_augment(&Tensor::cat(&[&canvas_k, &fake], 1), cfg.augment),
            false,
        );
        let g_adv = losses::g_hinge(&dg.scores);
        let l1 = losses::l1(&fake, &target_k);
        // The outputs' colour layout, shared by the low-pass L1 and detail mode seeking.
        let fake_low = (cfg.w_l1_low > 0.0 || cfg.ms_detail).then(|| losses::low_pass(&fake, 4));
        let l1_low = match &fake_low {
            Some(low) if cfg.w_l1_low > 0.0 => losses::l1(low, &losses::low_pass(&target_k, 4)),
            _ => Tensor::zeros([], (Kind::Float, cfg.device)),
        };
        let swd = if cfg.w_swd > 0.0 {
            losses::patch_swd(&fake, &target_k, 2, 64)
        } else {
            Tensor::zeros([], (Kind::Float, cfg.device))
        };
        let diverse = match &fake_low {
            Some(low) if cfg.ms_detail => &fake - low,
            _ => fake.shallow_clone(),
        };
        let ms = losses::mode_seeking(
            &diverse.narrow(0, 0, n),
            &diverse.narrow(0, n, n),
            z1,
            z2,
            cfg.ms_eps,
        );
        let fm = losses::feature_matching(&dr.features, &dg.features);
        let g_detail = match &detail_pass {
            Some((critic, scale)) => {
                let pair = diff_augment(&Tensor::cat(&[&canvas_k, &fake], 1), cfg.augment);
                losses::g_hinge(
                    &critic
                        .forward_pair(&DetailCritic::view(&pair, scale), false)
                        .scores,
                )
            }
            None => Tensor::zeros([], (Kind::Float, cfg.device)),
        };
        // The low-pass L1 holds every code: any variation must keep the canvas's
        // colour layout (what faithfulness measures). With IMLE only the full-resolution
        // L1 is best-of; when the low-pass term was best-of too, the spare codes
        // re-graded the colours (session 19: faithfulness 0.062, coarse SWD worse).
        let full = if cfg.imle_codes > 1 {
            // Only the code closest to the target answers for its detail (conditional
            // IMLE): the others may be other plausible pictures of the same canvas.
            losses::best_of(&losses::l1_per_sample(&fake, &target_k), k)
        } else {
            l1.shallow_clone()
        };
        let reconstruction = full * cfg.w_l1 + &l1_low * cfg.w_l1_low;
        let mut g_loss = &g_adv * cfg.w_adv
            + reconstruction
            + &swd * cfg.w_swd
            + &fm * cfg.w_fm
            + &g_detail * cfg.w_adv_detail;
        if cfg.w_ms > 0.0 {
            g_loss += &ms * cfg.w_ms;
        }
        opt_g.zero_grad();
        g_loss.backward();
        opt_g.step();
        Ok(Losses {
            d: d_loss.double_value(&[]),
            g_adv: g_adv.double_value(&[]),
            l1: l1.double_value(&[]),
            ms: ms.double_value(&[]),
            fm: fm.double_value(&[]),
            swd: swd.double_value(&[]),
            g_detail: g_detail.double_value(&[]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(faithfulness: f64, diversity: f64, swd_outputs: f64) -> QualityMetrics {
        QualityMetrics {
            faithfulness,
            diversity,
            swd_outputs,
            swd_inputs: 100.0,
            ..Default::default()
        }
    }

    #[test]
    fn the_best_checkpoint_meets_the_floors_and_is_strictly_closer() {
        // The first weights within the floors are the best so far, whatever their SWD.
        assert!(beats(&metrics(0.03, 0.05, 120.0), None));
        // Lower SWD change wins; a tie or a worse one does not.
        assert!(beats(&metrics(0.03, 0.05, 80.0), Some(-0.1)));
        assert!(!beats(&metrics(0.03, 0.05, 90.0), Some(-0.1)));
        assert!(!beats(&metrics(0.03, 0.05, 95.0), Some(-0.1)));
        // A near copy (diversity under 0.04) or a wild re-grade (faithfulness over
        // 0.08) never wins, however low its SWD.
        assert!(!beats(&metrics(0.03, 0.03, 10.0), Some(-0.1)));
        assert!(!beats(&metrics(0.09, 0.05, 10.0), None));
    }
}
