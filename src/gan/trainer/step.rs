//! One training step: the generator makes its variations of the batch; the
//! discriminator learns from real, generated and rejected pairs; the detail critic
//! does the same when it is on; then the generator learns against both critics.
//!
//! The critics only judge during the generator's update: their variables are frozen
//! ([`Frozen`]) so that its backward pass stops at their inputs rather than also
//! computing gradients for their weights, which the critics' own next update would
//! throw away (each starts from zeroed gradients).
use super::Trainer;
use crate::gan::GanError;
use crate::gan::augment::{Policy, diff_augment};
use crate::gan::checkpoint::ArchConfig;
use crate::gan::data::Batch;
use crate::gan::discriminator::{DOutput, Discriminator};
use crate::gan::losses;
use tch::{Device, Kind, Tensor, nn, nn::OptimizerConfig};

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
    /// The perceptual distance to the target (0 when it is off).
    pub perceptual: f64,
}

impl Losses {
    /// Whether every loss is finite and neither adversarial loss has exploded (the
    /// run rolls back otherwise).
    pub(super) fn is_sane(&self) -> bool {
        let all = [
            self.d,
            self.g_adv,
            self.l1,
            self.ms,
            self.fm,
            self.swd,
            self.g_detail,
            self.perceptual,
        ];
        all.iter().all(|v| v.is_finite()) && self.d.abs() < 1e3 && self.g_adv.abs() < 1e4
    }

    /// Moves every loss a fraction `a` of the way towards `o` (exponential smoothing).
    pub(super) fn blend(&mut self, o: &Losses, a: f64) {
        self.d += a * (o.d - self.d);
        self.g_adv += a * (o.g_adv - self.g_adv);
        self.l1 += a * (o.l1 - self.l1);
        self.ms += a * (o.ms - self.ms);
        self.fm += a * (o.fm - self.fm);
        self.swd += a * (o.swd - self.swd);
        self.g_detail += a * (o.g_detail - self.g_detail);
        self.perceptual += a * (o.perceptual - self.perceptual);
    }
}

/// Adam as GANs use it (β₁ = 0.5), for every network the trainer optimises.
pub(super) const ADAM: nn::Adam = nn::Adam {
    beta1: 0.5,
    beta2: 0.999,
    wd: 0.0,
    eps: 1e-8,
    amsgrad: false,
};

/// The critic of [`super::TrainConfig::w_adv_detail`]: its own variables and
/// optimiser, kept apart from the model because it is a training aid only.
pub(super) struct DetailCritic {
    /// Owns the variables the critic and its optimiser refer to.
    vs: nn::VarStore,
    critic: Discriminator,
    pub(super) opt: nn::Optimizer,
}

impl DetailCritic {
    /// A fresh critic for models of `arch`, trained at learning rate `lr`.
    pub(super) fn new(arch: &ArchConfig, device: Device, lr: f64) -> Result<Self, GanError> {
        let vs = nn::VarStore::new(device);
        let critic = Discriminator::new(&(vs.root() / "dd"), arch);
        let opt = ADAM.build(&vs, lr)?;
        Ok(Self { vs, critic, opt })
    }

    /// An augmented `[N, 6, H, W]` (canvas ‖ image) pair as the critic sees it: the
    /// canvas, and the image's detail times `scale`.
    fn view(pair: &Tensor, scale: &Tensor) -> Tensor {
        let detail = losses::detail_band(&pair.narrow(1, 3, 3)) * scale;
        Tensor::cat(&[pair.narrow(1, 0, 3), detail], 1)
    }

    /// One update on its own augmentations of the batch's real and generated pairs.
    /// Returns the scale its inputs' detail was multiplied by, for the generator's
    /// update to use the same: both sides' detail is divided by the real detail's
    /// spread, so the critic's inputs keep a unit scale whatever the crops' contrast.
    fn step(&mut self, g: &Generated, augment: Policy) -> Tensor {
        let real = diff_augment(&Tensor::cat(&[&g.canvas, &g.target], 1), augment);
        let scale = tch::no_grad(|| {
            (losses::detail_band(&real.narrow(1, 3, 3)).std(true) + 1e-3).reciprocal()
        });
        let fake_pair = diff_augment(&Tensor::cat(&[&g.canvas_k, &g.fake.detach()], 1), augment);
        let dr = self
            .critic
            .forward_pair(&DetailCritic::view(&real, &scale), true);
        let df = self
            .critic
            .forward_pair(&DetailCritic::view(&fake_pair, &scale), false);
        let loss = losses::d_hinge(&dr.scores, &df.scores, None);
        self.opt.zero_grad();
        loss.backward();
        self.opt.step();
        scale
    }
}

/// Turns off gradient tracking for a network's trainable variables while it lives and
/// turns it back on when dropped, on every way out of the scope that froze them.
/// Variables that were never trainable (the spectral norm's `sn_u`) are left alone.
struct Frozen(Vec<Tensor>);

impl Frozen {
    /// Freezes the trainable variables of `vs` (as `VarStore::freeze`, without
    /// needing the store mutably while its network is in use).
    fn new(vs: &nn::VarStore) -> Self {
        let vars = vs.trainable_variables();
        for v in &vars {
            let _ = v.set_requires_grad(false);
        }
        Self(vars)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        for v in &self.0 {
            let _ = v.set_requires_grad(true);
        }
    }
}

/// A batch on the device and what the generator made of it: `k` variations of each
/// of its `n` canvases, batched as `k` blocks of `n`.
struct Generated {
    /// Canvases per batch.
    n: i64,
    /// Codes (variations) per canvas.
    k: i64,
    /// `[n, 3, s, s]` sketch canvases.
    canvas: Tensor,
    /// `[n, 3, s, s]` targets.
    target: Tensor,
    /// The canvases repeated for every code, `[k·n, 3, s, s]`.
    canvas_k: Tensor,
    /// The targets repeated for every code.
    target_k: Tensor,
    /// The `k` codes, `[n, zdim]` each; the first two also drive mode seeking.
    z: Vec<Tensor>,
    /// `[k·n, 3, s, s]` variations: the generator's output inside the mask, the
    /// canvas outside it.
    fake: Tensor,
}

impl Trainer {
    /// One D step (and detail critic step) and one G step.
    pub(super) fn step(
        &mut self,
        batch: &Batch,
        negatives: Option<&Tensor>,
        opt_g: &mut nn::Optimizer,
        opt_d: &mut nn::Optimizer,
        detail: Option<&mut DetailCritic>,
    ) -> Result<Losses, GanError> {
        let g = self.generate(batch);
        let (d_loss, real) = self.discriminator_step(&g, negatives, opt_d);
        let augment = self.config.augment;
        let detail = detail.map(|dc| {
            let scale = dc.step(&g, augment);
            (&*dc, scale)
        });
        let losses = self.generator_step(&g, &real, detail.as_ref().map(|(dc, s)| (*dc, s)), opt_g);
        Ok(Losses {
            d: d_loss.double_value(&[]),
            ..losses
        })
    }

    /// Moves `batch` to the device and runs the generator on it with fresh codes.
    fn generate(&self, batch: &Batch) -> Generated {
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
        let x = Tensor::cat(&[&canvas, &mask], 1);
        let x_k = x.repeat([k, 1, 1, 1]);
        let canvas_k = canvas.repeat([k, 1, 1, 1]);
        let mask_k = mask.repeat([k, 1, 1, 1]);
        let target_k = target.repeat([k, 1, 1, 1]);
        let raw = self.model.generator.forward(&x_k, &Tensor::cat(&z, 0));
        let fake = &mask_k * raw + (mask_k.neg() + 1.0) * &canvas_k;
        Generated {
            n,
            k,
            canvas,
            target,
            canvas_k,
            target_k,
            z,
            fake,
        }
    }

    /// D's update: real pairs against the (detached) variations and a sample of the
    /// rejected candidates. Returns its loss and its pass over the real pairs, whose
    /// features the generator's feature matching aims at.
    fn discriminator_step(
        &self,
        g: &Generated,
        negatives: Option<&Tensor>,
        opt_d: &mut nn::Optimizer,
    ) -> (Tensor, DOutput) {
        let cfg = &self.config;
        let d = &self.model.discriminator;
        let real_pair = diff_augment(&Tensor::cat(&[&g.canvas, &g.target], 1), cfg.augment);
        let fake_pair = diff_augment(
            &Tensor::cat(&[&g.canvas_k, &g.fake.detach()], 1),
            cfg.augment,
        );
        let dr = d.forward_pair(&real_pair, true);
        let df = d.forward_pair(&fake_pair, false);
        let neg_scores = negatives.map(|neg| {
            let k = neg.size()[0].min(g.n);
            let idx = Tensor::randint(neg.size()[0], [k], (Kind::Int64, cfg.device));
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
        (d_loss, dr)
    }

    /// G's update: hinge against D (and the detail critic, `detail` with its input
    /// scale), L1 and low-pass L1 to the target, patch SWD, mode seeking and feature
    /// matching to D's pass over the real pairs (`real`). Returns every loss but D's.
    fn generator_step(
        &self,
        g: &Generated,
        real: &DOutput,
        detail: Option<(&DetailCritic, &Tensor)>,
        opt_g: &mut nn::Optimizer,
    ) -> Losses {
        let cfg = &self.config;
        let (n, k, fake, target_k) = (g.n, g.k, &g.fake, &g.target_k);
        // The critics only judge here (see the module's overview); the guards turn
        // their gradients back on when the update is done.
        let _frozen_d = Frozen::new(&self.model.vs_d);
        let _frozen_detail = detail.map(|(dc, _)| Frozen::new(&dc.vs));
        let d = &self.model.discriminator;
        let dg = d.forward_pair(
            &diff_augment(&Tensor::cat(&[&g.canvas_k, fake], 1), cfg.augment),
            false,
        );
        let g_adv = losses::g_hinge(&dg.scores);
        let l1 = losses::l1(fake, target_k);
        // The outputs' colour layout, shared by the low-pass L1 and detail mode seeking.
        let fake_low = (cfg.w_l1_low > 0.0 || cfg.ms_detail).then(|| losses::low_pass(fake, 4));
        let l1_low = match &fake_low {
            Some(low) if cfg.w_l1_low > 0.0 => losses::l1(low, &losses::low_pass(target_k, 4)),
            _ => Tensor::zeros([], (Kind::Float, cfg.device)),
        };
        let swd = if cfg.w_swd > 0.0 {
            losses::patch_swd(fake, target_k, 2, 64)
        } else {
            Tensor::zeros([], (Kind::Float, cfg.device))
        };
        let perceptual = match &self.features {
            Some(net) if cfg.w_perceptual > 0.0 => losses::perceptual(net, fake, target_k),
            _ => Tensor::zeros([], (Kind::Float, cfg.device)),
        };
        let diverse = match &fake_low {
            Some(low) if cfg.ms_detail => fake - low,
            _ => fake.shallow_clone(),
        };
        let ms = losses::mode_seeking(
            &diverse.narrow(0, 0, n),
            &diverse.narrow(0, n, n),
            &g.z[0],
            &g.z[1],
            cfg.ms_eps,
        );
        let fm = losses::feature_matching(&real.features, &dg.features);
        let g_detail = match detail {
            Some((dc, scale)) => {
                let pair = diff_augment(&Tensor::cat(&[&g.canvas_k, fake], 1), cfg.augment);
                losses::g_hinge(
                    &dc.critic
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
            losses::best_of(&losses::l1_per_sample(fake, target_k), k)
        } else {
            l1.shallow_clone()
        };
        let reconstruction = full * cfg.w_l1 + &l1_low * cfg.w_l1_low;
        let mut g_loss = &g_adv * cfg.w_adv
            + reconstruction
            + &swd * cfg.w_swd
            + &perceptual * cfg.w_perceptual
            + &fm * cfg.w_fm
            + &g_detail * cfg.w_adv_detail;
        if cfg.w_ms > 0.0 {
            g_loss += &ms * cfg.w_ms;
        }
        opt_g.zero_grad();
        g_loss.backward();
        opt_g.step();
        Losses {
            d: 0.0,
            g_adv: g_adv.double_value(&[]),
            l1: l1.double_value(&[]),
            ms: ms.double_value(&[]),
            fm: fm.double_value(&[]),
            swd: swd.double_value(&[]),
            g_detail: g_detail.double_value(&[]),
            perceptual: perceptual.double_value(&[]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::TrainConfig;
    use super::*;

    /// Whether `v` has no gradient, or only zeros.
    fn no_gradient(v: &Tensor) -> bool {
        let g = v.grad();
        !g.defined() || g.abs().max().double_value(&[]) == 0.0
    }

    #[test]
    fn the_generator_step_gives_the_critics_no_gradient_and_leaves_them_trainable() {
        let config = TrainConfig {
            arch: ArchConfig {
                base_width: 8,
                latent_dim: 4,
                levels: 4,
                d_width: 8,
                noise: true,
                ..Default::default()
            },
            batch: 2,
            size: 32,
            w_adv_detail: 1.0,
            ..TrainConfig::default()
        };
        let trainer = Trainer::new(config, None).unwrap();
        let (n, s) = (2, 32);
        let pixels = |channels: usize, step: usize| -> Vec<f32> {
            (0..n * channels * s * s)
                .map(|i| ((i * step) % 255) as f32 / 127.5 - 1.0)
                .collect()
        };
        let batch = Batch {
            input: pixels(3, 7),
            target: pixels(3, 13),
            mask: vec![1.0; n * s * s],
            n,
            size: s,
        };
        let mut opt_g = ADAM.build(&trainer.model.vs_g, 1e-4).unwrap();
        let mut opt_d = ADAM.build(&trainer.model.vs_d, 1e-4).unwrap();
        let mut detail = DetailCritic::new(&trainer.model.info.arch, Device::Cpu, 1e-4).unwrap();
        let g = trainer.generate(&batch);
        let (_, real) = trainer.discriminator_step(&g, None, &mut opt_d);
        let scale = detail.step(&g, trainer.config.augment);
        // Clear what the critics' own updates left, as their next update does, so
        // that any gradient seen below came from the generator's step.
        opt_d.zero_grad();
        detail.opt.zero_grad();
        trainer.generator_step(&g, &real, Some((&detail, &scale)), &mut opt_g);
        for (name, vs) in [("D", &trainer.model.vs_d), ("detail critic", &detail.vs)] {
            let vars = vs.trainable_variables();
            assert!(!vars.is_empty());
            for v in &vars {
                assert!(no_gradient(v), "{name} got a gradient from G's step");
                assert!(v.requires_grad(), "{name} was left frozen");
            }
        }
        // The step did train the generator.
        let g_vars = trainer.model.vs_g.trainable_variables();
        assert!(g_vars.iter().any(|v| !no_gradient(v)));
    }
}
