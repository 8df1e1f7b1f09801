//! Validation during a run ([`Trainer::set_validation`]): the run scores its weights on
//! images it does not train on, at the start and at every checkpoint, with the held-out
//! quality metrics of [`crate::gan::eval`], and writes the best-scoring weights apart.
use super::Trainer;
use crate::gan::GanError;
use crate::gan::checkpoint::{QualityMetrics, ValidationRecord};
use crate::gan::eval::evaluate_quality_draws;
use std::path::PathBuf;

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

/// Whether validation `metrics` beat the best SWD change so far (`best`, None before
/// any weights met the floors): within the faithfulness and diversity floors, and
/// strictly closer to the originals. A tie keeps the earlier, shorter-trained weights.
pub fn beats(metrics: &QualityMetrics, best: Option<f64>) -> bool {
    metrics.meets_floors() && best.is_none_or(|b| metrics.swd_change() < b)
}

impl Trainer {
    /// With a validation set: scores the current weights at run step `step`, and when
    /// they beat `best` (within the floors, lower SWD change), writes them to the
    /// best path with the score in their sidecar. The initial weights (step 0) are the
    /// score to beat; they are not written, so a run that never beats its start
    /// leaves no best file.
    pub(super) fn validate(
        &mut self,
        step: u64,
        best: &mut Option<(f64, Validated)>,
    ) -> Result<Option<Validated>, GanError> {
        let Some(v) = &self.validation else {
            return Ok(None);
        };
        // The same sketches, codes and projections every time (seeds from 0), so the
        // checkpoints of a run differ only in their weights.
        let (metrics, _, _) = evaluate_quality_draws(
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
