//! Refinement: fine-tuning the current model on what the artist chose.
//!
//! Accepted candidates become real targets paired with the canvas they came
//! from, the artist's portfolio adds real images, and rejected candidates are
//! extra fakes for the discriminator. The result is checked before it may
//! become a version: a run whose losses or weights are not finite is refused
//! (the caller keeps the previous version: an automatic rollback).
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use image::RgbImage;

use crate::decisions::CandidateHistory;
use crate::decisions::history::Decision;
use crate::gan::trainer::Progress;
use crate::gan::{GanError, TrainConfig, Trainer, VariationModel};

/// What a refinement learns from.
#[derive(Default)]
pub struct RefineData {
    /// The artist's own images (real examples).
    pub portfolio: Vec<RgbImage>,
    /// (canvas, accepted candidate) pairs: targets for the generator.
    pub accepted: Vec<(RgbImage, RgbImage)>,
    /// (canvas, rejected candidate) pairs: extra fakes for the discriminator.
    pub rejected: Vec<(RgbImage, RgbImage)>,
}

impl RefineData {
    /// The accepted and rejected candidates of `history` as (input, candidate)
    /// pairs at the input's size (records whose images cannot be decoded are
    /// left out); no portfolio.
    pub fn from_decisions(history: &CandidateHistory) -> Self {
        let mut data = Self::default();
        for r in &history.records {
            let (Ok(input), Ok(out)) = (history.image(&r.input), history.image(&r.output)) else {
                continue;
            };
            let out = if out.dimensions() == input.dimensions() {
                out
            } else {
                image::imageops::resize(
                    &out,
                    input.width(),
                    input.height(),
                    image::imageops::FilterType::Triangle,
                )
            };
            match r.decision {
                Decision::Accepted => data.accepted.push((input, out)),
                Decision::Rejected => data.rejected.push((input, out)),
                Decision::Pending => {}
            }
        }
        data
    }

    /// Whether there is anything to learn from.
    pub fn is_empty(&self) -> bool {
        self.portfolio.is_empty() && self.accepted.is_empty()
    }
}

/// Settings of one refinement.
#[derive(Clone, Debug)]
pub struct RefineConfig {
    /// Optimiser steps.
    pub steps: u64,
    /// Canvases per step.
    pub batch: usize,
    /// Crop size (multiple of 16).
    pub size: usize,
    /// Seed for data order and augmentation.
    pub seed: u64,
    /// libtorch threads (None: libtorch's default).
    pub threads: Option<usize>,
    /// Test hook: make the result's weights NaN, to exercise the rollback.
    pub poison_result: bool,
}

impl Default for RefineConfig {
    fn default() -> Self {
        Self {
            steps: 60,
            batch: 4,
            size: 64,
            seed: 0,
            threads: None,
            poison_result: false,
        }
    }
}

/// Why a refinement produced no new version.
#[derive(Debug, thiserror::Error)]
pub enum RefineError {
    /// Nothing accepted and no portfolio.
    #[error("nothing to learn from yet: accept a candidate or import your work first")]
    NoData,
    /// Training diverged or left non-finite weights; the previous version stays.
    #[error("the refinement diverged ({0}); rolled back to the previous model version")]
    Diverged(String),
    /// The artist cancelled.
    #[error("refinement cancelled; the previous model version stays")]
    Cancelled,
    /// Training failed otherwise.
    #[error("refinement failed: {0}")]
    Gan(#[from] GanError),
}

/// Fine-tunes a copy of `base` (which is not changed). Reports each step to
/// `on_progress`; stops early when `cancel` is set.
pub fn refine(
    base: &VariationModel,
    data: RefineData,
    config: &RefineConfig,
    cancel: Arc<AtomicBool>,
    on_progress: impl FnMut(&Progress),
) -> Result<VariationModel, RefineError> {
    if data.is_empty() {
        return Err(RefineError::NoData);
    }
    // Fine-tuning: gentler steps than training from scratch, and only the
    // generator's style parameters, so a few decisions nudge the model's taste
    // without undoing what it learned about pictures.
    let train = TrainConfig {
        steps: config.steps,
        batch: config.batch,
        size: config.size,
        seed: config.seed,
        lr_g: 1e-4,
        lr_d: 1e-4,
        style_only: true,
        checkpoint_every: u64::MAX,
        device: base.device(),
        threads: config.threads,
        workers: 1,
        data_source: format!(
            "refinement: {} portfolio images, {} accepted, {} rejected",
            data.portfolio.len(),
            data.accepted.len(),
            data.rejected.len()
        ),
        ..TrainConfig::default()
    };
    // Trainer::new sets libtorch's (process-wide) thread count; put it back
    // afterwards so Vary keeps its own.
    let threads_before = tch::get_num_threads();
    let result = run(base, data, train, cancel, on_progress, config.poison_result);
    tch::set_num_threads(threads_before);
    result
}

fn run(
    base: &VariationModel,
    data: RefineData,
    train: TrainConfig,
    cancel: Arc<AtomicBool>,
    on_progress: impl FnMut(&Progress),
    poison_result: bool,
) -> Result<VariationModel, RefineError> {
    let mut trainer = Trainer::new(train, Some(base))?;
    let portfolio = data.portfolio.len();
    trainer.set_images(data.portfolio, 0);
    trainer.add_pairs(data.accepted);
    trainer.add_negatives(data.rejected);
    let outcome = match trainer.run(cancel, on_progress) {
        Ok(o) => o,
        Err(GanError::Diverged(why)) => return Err(RefineError::Diverged(why)),
        Err(e) => return Err(e.into()),
    };
    if outcome.cancelled {
        return Err(RefineError::Cancelled);
    }
    let model = outcome.model;
    if poison_result {
        tch::no_grad(|| {
            if let Some((_, t)) = model.named_variables().into_iter().next() {
                let _ = t.shallow_clone().fill_(f64::NAN);
            }
        });
    }
    for (name, t) in model.named_variables() {
        let finite = t.isfinite().all().int64_value(&[]) != 0;
        if !finite {
            return Err(RefineError::Diverged(format!(
                "weights `{name}` are not finite"
            )));
        }
    }
    tracing::info!(
        "refined {} steps on {portfolio} portfolio images",
        outcome.steps
    );
    Ok(model)
}
