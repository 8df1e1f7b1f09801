//! The training loop ([`Trainer::run`]): batches from the data workers, one step at a
//! time, the running average of the generator's weights, checkpoints (in memory and on
//! disk) with their validation, and the rollback that restores the last snapshot and
//! halves the learning rates when a loss diverges.
use super::step::{ADAM, DetailCritic, Losses};
use super::{Trainer, Validated, is_style_variable};
use crate::gan::GanError;
use crate::gan::data::BatchLoader;
use crate::gan::ema::Ema;
use crate::gan::infer::VariationModel;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tch::{Tensor, nn, nn::OptimizerConfig};

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

impl Trainer {
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
            crate::gan::nn_util::rgb_to_tensor(&crate::gan::eval::square_with(
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
}
