//! An exponential moving average of the generator's weights (Yazıcı et al. 2019,
//! as StyleGAN and BigGAN keep one): the weights a run writes and scores are the
//! average over its recent steps, while training goes on from the raw weights.
//!
//! Why: a GAN's generator need not settle at a point; pushed by a critic that keeps
//! changing, it can circle one, and the average of circling weights sits nearer the
//! centre than any single step. Long GPU runs of other GANs gain from it. On our
//! short CPU fine-tunes it made no consistent difference: their swings from
//! checkpoint to checkpoint were as large with it as without (BENCHMARKS.md,
//! "Session 11"), so it is off unless a run asks for it.
use tch::Tensor;

/// The running average: for each trainable generator variable, a detached shadow.
#[derive(Debug)]
pub struct Ema {
    decay: f64,
    /// (the variable, its average), in the variable store's order.
    pairs: Vec<(Tensor, Tensor)>,
}

impl Ema {
    /// Starts the average at the variables' current values. `decay` in (0, 1): the
    /// weight of the old average at each update; about `1 / (1 − decay)` steps are
    /// averaged.
    pub fn new(vars: impl IntoIterator<Item = Tensor>, decay: f64) -> Self {
        let pairs = vars
            .into_iter()
            .map(|v| {
                let shadow = v.detach().copy();
                (v, shadow)
            })
            .collect();
        Self { decay, pairs }
    }

    /// Moves the average towards the variables' current values (after an optimiser step).
    pub fn update(&mut self) {
        tch::no_grad(|| {
            for (var, shadow) in &mut self.pairs {
                let _ = shadow.lerp_(var, 1.0 - self.decay);
            }
        });
    }

    /// Exchanges the variables' values with the average's: after one call the model
    /// holds the averaged weights, after a second call the raw ones again.
    pub fn swap(&mut self) {
        tch::no_grad(|| {
            for (var, shadow) in &mut self.pairs {
                let raw = var.detach().copy();
                var.copy_(shadow);
                shadow.copy_(&raw);
            }
        });
    }

    /// Restarts the average at the variables' current values (after a rollback
    /// restored them: the average may have taken in the diverged steps).
    pub fn reset(&mut self) {
        tch::no_grad(|| {
            for (var, shadow) in &mut self.pairs {
                shadow.copy_(var);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn the_average_follows_the_weights_and_swaps_back_and_forth() {
        let w = Tensor::zeros([3], (Kind::Float, Device::Cpu));
        let mut ema = Ema::new([w.shallow_clone()], 0.75);
        // The weights jump to 1: each update closes a quarter of the remaining gap.
        tch::no_grad(|| {
            let _ = w.shallow_clone().fill_(1.0);
        });
        ema.update();
        ema.update();
        ema.swap();
        let avg = w.double_value(&[0]);
        assert!(
            (avg - (1.0 - 0.75f64.powi(2))).abs() < 1e-6,
            "average {avg}"
        );
        // Swapping again gives the raw weights back exactly.
        ema.swap();
        assert_eq!(w.double_value(&[2]), 1.0);
        ema.reset();
        ema.swap();
        assert_eq!(w.double_value(&[1]), 1.0);
    }
}
