//! Latent steering: a diagonal Gaussian over the GAN's latent codes, updated
//! from accepted and rejected candidates.
//!
//! Update (per dimension, learning rate `lr`):
//!
//! ```text
//! mean ← (1 − lr)·mean + lr·(mean(accepted) + repel·(mean − mean(rejected)))
//! std  ← max(MIN_STD, (1 − lr)·std + lr·std(accepted ∪ {mean}))
//! ```
//!
//! Sampling keeps exploring: one code in every `EXPLORE_EVERY` comes from the
//! prior N(0, 1), and the spread never drops below `MIN_STD`, so the artist
//! always sees something new. Reset returns to the prior.
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::sampling::normal;

/// Smallest spread per dimension.
pub const MIN_STD: f32 = 0.35;
/// Every n-th sample comes from the prior.
pub const EXPLORE_EVERY: usize = 4;

/// The sampling distribution over latent codes; saved with the project.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatentSteering {
    /// Mean per dimension.
    pub mean: Vec<f32>,
    /// Spread per dimension.
    pub std: Vec<f32>,
    /// How far one round of decisions moves the distribution (0..1).
    pub learning_rate: f32,
    /// How strongly rejected codes push the mean away.
    pub repel: f32,
    /// Decisions seen since the last reset.
    pub decisions: u32,
}

impl LatentSteering {
    /// The prior N(0, 1) over `dim` dimensions.
    pub fn new(dim: usize) -> Self {
        Self {
            mean: vec![0.0; dim],
            std: vec![1.0; dim],
            learning_rate: 0.5,
            repel: 0.3,
            decisions: 0,
        }
    }

    /// Latent size.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// Back to the prior.
    pub fn reset(&mut self) {
        *self = Self::new(self.dim());
    }

    /// Whether any decision has moved it away from the prior.
    pub fn is_prior(&self) -> bool {
        self.decisions == 0
    }

    /// `count` codes for one Vary; code `i` depends only on `seed + i`, so
    /// each candidate can be reproduced from its own seed.
    pub fn sample(&self, count: usize, seed: u64) -> Vec<Vec<f32>> {
        (0..count)
            .map(|i| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(i as u64));
                let explore = self.is_prior() || i % EXPLORE_EVERY == EXPLORE_EVERY - 1;
                (0..self.dim())
                    .map(|d| {
                        let n = normal(&mut rng);
                        if explore {
                            n
                        } else {
                            self.mean[d] + self.std[d] * n
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// `count` codes around `z` ("more like this"): `z` plus N(0, spread²)
    /// per dimension; code `i` depends only on `seed + i`.
    pub fn sample_around(z: &[f32], spread: f32, count: usize, seed: u64) -> Vec<Vec<f32>> {
        (0..count)
            .map(|i| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(i as u64));
                z.iter().map(|v| v + spread * normal(&mut rng)).collect()
            })
            .collect()
    }

    /// Moves the distribution towards `accepted` and away from `rejected`
    /// codes (either may be empty). Codes of another size are ignored.
    pub fn update(&mut self, accepted: &[Vec<f32>], rejected: &[Vec<f32>]) {
        let dim = self.dim();
        let accepted: Vec<&Vec<f32>> = accepted.iter().filter(|z| z.len() == dim).collect();
        let rejected: Vec<&Vec<f32>> = rejected.iter().filter(|z| z.len() == dim).collect();
        if accepted.is_empty() && rejected.is_empty() {
            return;
        }
        let lr = self.learning_rate.clamp(0.0, 1.0);
        let mean_of =
            |zs: &[&Vec<f32>], d: usize| zs.iter().map(|z| z[d]).sum::<f32>() / zs.len() as f32;
        for d in 0..dim {
            let target = if accepted.is_empty() {
                self.mean[d]
            } else {
                mean_of(&accepted, d)
            };
            let push = if rejected.is_empty() {
                0.0
            } else {
                self.repel * (self.mean[d] - mean_of(&rejected, d))
            };
            let new_mean = (1.0 - lr) * self.mean[d] + lr * (target + push);
            if !accepted.is_empty() {
                // Spread of the accepted codes around the new mean (the mean itself
                // counts once, so a single accept still narrows smoothly).
                let var = (accepted
                    .iter()
                    .map(|z| (z[d] - new_mean).powi(2))
                    .sum::<f32>()
                    + (self.mean[d] - new_mean).powi(2))
                    / (accepted.len() + 1) as f32;
                self.std[d] = ((1.0 - lr) * self.std[d] + lr * var.sqrt()).max(MIN_STD);
            }
            self.mean[d] = new_mean;
        }
        self.decisions += (accepted.len() + rejected.len()) as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean(zs: &[Vec<f32>], d: usize) -> f32 {
        zs.iter().map(|z| z[d]).sum::<f32>() / zs.len() as f32
    }

    #[test]
    fn accepts_pull_the_samples_towards_them() {
        let mut s = LatentSteering::new(4);
        let liked = vec![vec![2.0, -1.0, 0.0, 0.5]; 3];
        for _ in 0..6 {
            s.update(&liked, &[]);
        }
        assert!((s.mean[0] - 2.0).abs() < 0.1, "{:?}", s.mean);
        let samples = s.sample(400, 7);
        // Exploration keeps a quarter at the prior, so the average lands between.
        let m0 = mean(&samples, 0);
        assert!(m0 > 1.2 && m0 < 1.8, "{m0}");
    }

    #[test]
    fn rejects_push_away_and_spread_never_collapses() {
        let mut s = LatentSteering::new(2);
        let mut accept_only = s.clone();
        accept_only.update(&[vec![0.5, 0.5]], &[]);
        s.update(&[vec![0.5, 0.5]], &[vec![-1.0, -1.0]]);
        // mean = 0.5·0 + 0.5·(0.5 + 0.3·(0 − (−1))) = 0.4, against 0.25 without the reject.
        assert!((s.mean[0] - 0.4).abs() < 1e-6, "{:?}", s.mean);
        assert!((accept_only.mean[0] - 0.25).abs() < 1e-6);
        for _ in 0..50 {
            s.update(&[s.mean.clone()], &[]);
        }
        assert!(s.std.iter().all(|&v| v >= MIN_STD));
        let samples = s.sample(8, 1);
        assert!(
            samples.windows(2).all(|w| w[0] != w[1]),
            "samples stay distinct"
        );
    }

    #[test]
    fn reset_sampling_and_serde() {
        let mut s = LatentSteering::new(3);
        assert_eq!(s.sample(5, 9), s.sample(5, 9), "reproducible for a seed");
        s.update(&[vec![1.0, 1.0, 1.0]], &[]);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<LatentSteering>(&json).unwrap(), s);
        s.reset();
        assert_eq!(s, LatentSteering::new(3));
        // Codes of the wrong size are ignored.
        s.update(&[vec![1.0]], &[]);
        assert!(s.is_prior());
    }
}
