//! The discriminator: a conditional PatchGAN with spectral normalisation. It sees
//! the canvas (condition) and an image side by side (`[N, 6, H, W]`) and returns a
//! map of realism scores, one per ~46-px patch. It doubles as the critic that ranks
//! candidates in the app (mean patch score).
//!
//! Spectral norm is written out here rather than borrowed: each conv weight `W`
//! (reshaped to `[out, in·k·k]`) is divided by its largest singular value, estimated
//! by one power-iteration step per training forward. The running vector `u` is a
//! named, non-trainable variable (`…/sn_u`) so that it is saved with the weights and
//! a reloaded critic scores exactly as the saved one did.
use super::checkpoint::ArchConfig;
use super::nn_util::{Conv, lrelu02};
use tch::{Kind, Tensor, nn};

/// A conv whose weight is spectrally normalised.
#[derive(Debug)]
pub struct SnConv {
    conv: Conv,
    u: Tensor,
}

impl SnConv {
    /// Creates the conv and its power-iteration vector `sn_u` (random unit vector).
    pub fn new(path: &nn::Path, c_in: i64, c_out: i64, k: i64, stride: i64, padding: i64) -> Self {
        let conv = Conv::new(path, c_in, c_out, k, stride, padding);
        let u = path.zeros_no_train("sn_u", &[c_out]);
        tch::no_grad(|| {
            let r = Tensor::randn([c_out], (Kind::Float, u.device()));
            let r = &r / (r.norm() + 1e-12);
            u.shallow_clone().copy_(&r);
        });
        Self { conv, u }
    }

    /// The normalised weight `W / σ(W)`. With `update`, first advances `u` one
    /// power-iteration step (training); without, uses the stored `u` (evaluation,
    /// so scoring never mutates the model).
    pub fn weight(&self, update: bool) -> Tensor {
        let w = &self.conv.weight;
        let out = w.size()[0];
        let wm = w.view([out, -1]);
        let (u, v) = tch::no_grad(|| {
            let wd = wm.detach();
            let v = wd.tr().mv(&self.u);
            let v = &v / (v.norm() + 1e-12);
            let u = wd.mv(&v);
            let u = &u / (u.norm() + 1e-12);
            (u, v)
        });
        if update {
            tch::no_grad(|| {
                self.u.shallow_clone().copy_(&u);
            });
        }
        // σ = uᵀ W v, differentiable through W (u, v are constants, as in Miyato et al.).
        let sigma = u.dot(&wm.mv(&v));
        w / sigma
    }

    /// Applies the normalised conv.
    pub fn forward(&self, x: &Tensor, update: bool) -> Tensor {
        self.conv.forward_with(x, &self.weight(update))
    }
}

/// The conditional PatchGAN. Variable paths (under `d`): `l0`…`l3`, `out`.
#[derive(Debug)]
pub struct Discriminator {
    layers: Vec<SnConv>,
    out: SnConv,
}

/// Scores and intermediate features (for feature matching) of one D pass.
#[derive(Debug)]
pub struct DOutput {
    /// `[N, 1, h, w]` patch scores; higher = more real.
    pub scores: Tensor,
    /// Activations after each hidden layer.
    pub features: Vec<Tensor>,
}

impl Discriminator {
    /// Builds the discriminator's variables under `path`.
    pub fn new(path: &nn::Path, cfg: &ArchConfig) -> Self {
        let w = cfg.d_width as i64;
        let layers = vec![
            SnConv::new(&(path / "l0"), 6, w, 4, 2, 1),
            SnConv::new(&(path / "l1"), w, 2 * w, 4, 2, 1),
            SnConv::new(&(path / "l2"), 2 * w, 4 * w, 4, 2, 1),
            SnConv::new(&(path / "l3"), 4 * w, 4 * w, 3, 1, 1),
        ];
        let out = SnConv::new(&(path / "out"), 4 * w, 1, 3, 1, 1);
        Self { layers, out }
    }

    /// Scores `image` given the `condition` canvas (both `[N, 3, H, W]` in [-1, 1]),
    /// or an already concatenated (and augmented) `[N, 6, H, W]` pair when `image` is None.
    pub fn forward_pair(&self, pair: &Tensor, update_sn: bool) -> DOutput {
        let mut h = pair.shallow_clone();
        let mut features = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            h = lrelu02(&l.forward(&h, update_sn));
            features.push(h.shallow_clone());
        }
        DOutput {
            scores: self.out.forward(&h, update_sn),
            features,
        }
    }

    /// Convenience: concatenates condition and image, then scores.
    pub fn forward(&self, condition: &Tensor, image: &Tensor, update_sn: bool) -> DOutput {
        self.forward_pair(&Tensor::cat(&[condition, image], 1), update_sn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spectral_norm_bounds_largest_singular_value() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let sn = SnConv::new(&(vs.root() / "c"), 8, 16, 3, 1, 1);
        let mut w = sn.weight(true);
        for _ in 0..30 {
            w = sn.weight(true);
        }
        let (_, s, _) = w.view([16, -1]).svd(true, false);
        let top = s.max().double_value(&[]);
        assert!((top - 1.0).abs() < 0.05, "top singular value {top}");
    }

    #[test]
    fn patch_scores_shape() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let cfg = ArchConfig {
            base_width: 8,
            latent_dim: 4,
            levels: 4,
            d_width: 8,
            noise: true,
            ..Default::default()
        };
        let d = Discriminator::new(&(vs.root() / "d"), &cfg);
        let a = Tensor::zeros([2, 3, 64, 64], (Kind::Float, tch::Device::Cpu));
        let out = d.forward(&a, &a, false);
        assert_eq!(out.scores.size(), vec![2, 1, 8, 8]);
        assert_eq!(out.features.len(), 4);
    }
}
