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
//! [`super::eval::evaluate_quality`]) and writes the best-scoring weights apart. A
//! GAN's last step is not its best one: fine-tunes here improved for a while and then
//! drifted in colour (BENCHMARKS.md, "Session 9"), and picking the step by the
//! held-out benchmark itself would fit the benchmark.
//!
//! - `config`: [`TrainConfig`] and its defaults;
//! - `step`: one discriminator and generator step, and the [`Losses`] it reports;
//! - `run`: the loop, checkpoints, the weight average and the rollback;
//! - `validate`: the scores on held-out training images and the best checkpoint.
mod config;
mod run;
mod step;
mod validate;

pub use config::{TrainConfig, is_style_variable};
pub use run::{Progress, TrainOutcome};
pub use step::Losses;
pub use validate::{Validated, Validation, beats};

use super::GanError;
use super::checkpoint::DataSummary;
use super::data::PairSource;
use super::infer::VariationModel;

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
    /// The frozen feature network of the perceptual term, when it is on.
    features: Option<crate::gan::features::FeatureNet>,
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
        let features = if config.w_perceptual > 0.0 {
            let path = config.feature_net.clone().ok_or_else(|| {
                GanError::InvalidRequest(
                    "the perceptual term needs the feature network's weights \
                     (scripts/fetch_feature_net.sh writes them)"
                        .into(),
                )
            })?;
            Some(crate::gan::features::FeatureNet::load(
                &path,
                config.device,
            )?)
        } else {
            None
        };
        Ok(Self {
            config,
            model,
            source: PairSource::default(),
            negatives: Vec::new(),
            data,
            start_step,
            validation: None,
            features,
        })
    }

    /// Scores the model on `validation`'s images at the start of the run and at every
    /// checkpoint, and writes the best-scoring weights to its `best_path`.
    pub fn set_validation(&mut self, validation: Validation) {
        self.validation = Some(validation);
    }

    /// Sets the real images (from [`crate::gan::data::load_images`]) and records them in the sidecar.
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
}
