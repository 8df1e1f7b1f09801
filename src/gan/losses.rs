//! The GAN's losses. Hinge adversarial losses (stable with spectral norm), L1 to the
//! target (weighted low enough to leave room for variation), the mode-seeking term of
//! MSGAN (Mao et al. 2019: different z must give different images), and feature
//! matching on discriminator activations.
use tch::{Kind, Tensor};

/// Discriminator hinge loss: `E[relu(1 − D(real))] + E[relu(1 + D(fake))]`, plus the
/// same fake term for extra negatives (rejected candidates) when given.
pub fn d_hinge(real: &Tensor, fake: &Tensor, extra_negatives: Option<&Tensor>) -> Tensor {
    let mut loss =
        (real.neg() + 1.0).relu().mean(Kind::Float) + (fake + 1.0).relu().mean(Kind::Float);
    if let Some(neg) = extra_negatives {
        loss += (neg + 1.0).relu().mean(Kind::Float);
    }
    loss
}

/// Generator hinge loss: `−E[D(fake)]`.
pub fn g_hinge(fake: &Tensor) -> Tensor {
    -fake.mean(Kind::Float)
}

/// Mean absolute error.
pub fn l1(a: &Tensor, b: &Tensor) -> Tensor {
    (a - b).abs().mean(Kind::Float)
}

/// MSGAN mode-seeking loss for two batches generated from the same inputs with codes
/// `z1`, `z2`: `1 / (mean|f1 − f2| / mean|z1 − z2| + ε)`. Minimising it pushes
/// outputs apart in proportion to how far apart their codes are. MSGAN uses ε = 1e-5;
/// a larger ε (the trainer's default is 0.1) bounds the gradient when the outputs
/// start out identical, as they do with our identity-initialised generator.
pub fn mode_seeking(f1: &Tensor, f2: &Tensor, z1: &Tensor, z2: &Tensor, eps: f64) -> Tensor {
    let ratio = (f1 - f2).abs().mean(Kind::Float) / (z1 - z2).abs().mean(Kind::Float);
    1.0 / (ratio + eps)
}

/// Feature matching on D activations: L1 between the per-channel means of real and
/// fake features, summed over layers. Matching statistics rather than per-pixel
/// activations keeps it meaningful when real and fake saw different augmentations.
pub fn feature_matching(real: &[Tensor], fake: &[Tensor]) -> Tensor {
    let dims = [0i64, 2, 3];
    real.iter()
        .zip(fake)
        .map(|(r, f)| {
            let mr = r.detach().mean_dim(dims.as_slice(), false, Kind::Float);
            let mf = f.mean_dim(dims.as_slice(), false, Kind::Float);
            (mr - mf).abs().mean(Kind::Float)
        })
        .fold(
            Tensor::zeros([], (Kind::Float, real[0].device())),
            |a, b| a + b,
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32]) -> Tensor {
        Tensor::from_slice(v)
    }

    #[test]
    fn hinge_known_values() {
        // real 2 → relu(1-2)=0; real 0 → 1: mean 0.5. fake -2 → 0; fake 0 → 1: mean 0.5.
        let d = d_hinge(&t(&[2.0, 0.0]), &t(&[-2.0, 0.0]), None).double_value(&[]);
        assert!((d - 1.0).abs() < 1e-6);
        let d = d_hinge(&t(&[2.0]), &t(&[-2.0]), Some(&t(&[1.0]))).double_value(&[]);
        assert!((d - 2.0).abs() < 1e-6);
        assert!((g_hinge(&t(&[1.0, 3.0])).double_value(&[]) + 2.0).abs() < 1e-6);
    }

    #[test]
    fn mode_seeking_prefers_diverse_outputs() {
        let z1 = t(&[0.0, 0.0]);
        let z2 = t(&[1.0, 1.0]);
        let close =
            mode_seeking(&t(&[0.0, 0.0]), &t(&[0.1, 0.1]), &z1, &z2, 1e-5).double_value(&[]);
        let far = mode_seeking(&t(&[0.0, 0.0]), &t(&[1.0, 1.0]), &z1, &z2, 1e-5).double_value(&[]);
        assert!(far < close);
        assert!((far - 1.0).abs() < 1e-3);
    }

    #[test]
    fn feature_matching_zero_for_equal_stats() {
        let a = Tensor::ones([2, 4, 3, 3], (Kind::Float, tch::Device::Cpu));
        assert_eq!(
            feature_matching(&[a.shallow_clone()], &[a.shallow_clone()]).double_value(&[]),
            0.0
        );
        let b = &a * 3.0;
        assert!((feature_matching(&[a], &[b]).double_value(&[]) - 2.0).abs() < 1e-6);
    }
}
