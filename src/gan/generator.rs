//! The generator: a 4-level U-Net whose bottleneck and decoder levels are
//! modulated by a latent code `z` through FiLM.
//!
//! Input: `[N, 4, H, W]` = canvas RGB in [-1, 1] plus a mask channel (1 where the
//! image may change). `H` and `W` must be multiples of `2^levels`; padding to
//! that is the caller's job ([`crate::gan::infer`]). Output: RGB in [-1, 1].
//!
//! Layout (widths for `base_width` = 32): encoder `32@H → 64@H/2 → 128@H/4 →
//! 256@H/8 → 256@H/16`, each level a stride-2 conv then a 3×3 conv; decoder
//! levels project with a 1×1 conv *before* upsampling (cheap at low resolution),
//! add the encoder skip (additive, LinkNet style: half the cost of concatenation
//! at full resolution, which dominates CPU time), then a 3×3 conv and FiLM.
//! The head predicts a residual in logit space:
//! `out = tanh(atanh(input) + head(features))`, so an untrained net starts as the
//! identity and training time goes into the changes, not into copying the input.
use super::checkpoint::ArchConfig;
use super::nn_util::{Conv, Film};
use tch::{Kind, Tensor, nn};

/// Width of encoder level `i` (0 = full resolution).
pub fn level_width(cfg: &ArchConfig, i: usize) -> i64 {
    (cfg.base_width as i64) << i.min(3)
}

/// One encoder level: stride-2 conv then a 3×3 conv.
#[derive(Debug)]
struct Down {
    down: Conv,
    conv: Conv,
}

/// One decoder level: 1×1 projection, upsample, add skip, 3×3 conv, FiLM.
#[derive(Debug)]
struct Up {
    proj: Conv,
    conv: Conv,
    film: Film,
}

/// Encoder features of one batch of canvases (see [`Generator::encode`]).
#[derive(Debug)]
pub struct Encoded {
    rgb_logit: Tensor,
    skips: Vec<Tensor>,
    bottom: Tensor,
}

/// The U-Net generator. Variable paths (under the `g` root): `stem`, `down{i}.down`,
/// `down{i}.conv`, `mid.film`, `mid.conv`, `up{i}.proj|conv|film`, `head`.
#[derive(Debug)]
pub struct Generator {
    stem: Conv,
    downs: Vec<Down>,
    mid_film: Film,
    mid_conv: Conv,
    ups: Vec<Up>,
    head: Conv,
    levels: usize,
    kind: Kind,
    channels_last: bool,
}

impl Generator {
    /// Builds the generator's variables under `path`.
    pub fn new(path: &nn::Path, cfg: &ArchConfig) -> Self {
        let z = cfg.latent_dim as i64;
        let levels = cfg.levels;
        let stem = Conv::new(&(path / "stem"), 4, level_width(cfg, 0), 3, 1, 1);
        let downs = (1..=levels)
            .map(|i| {
                let p = path / format!("down{i}");
                let (cin, cout) = (level_width(cfg, i - 1), level_width(cfg, i));
                Down {
                    down: Conv::new(&(&p / "down"), cin, cout, 3, 2, 1),
                    conv: Conv::new(&(&p / "conv"), cout, cout, 3, 1, 1),
                }
            })
            .collect();
        let cb = level_width(cfg, levels);
        let mid_film = Film::new(&(path / "mid" / "film"), z, cb);
        let mid_conv = Conv::new(&(path / "mid" / "conv"), cb, cb, 3, 1, 1);
        // ups[i] produces level i from level i + 1 (i = levels-1 .. 0).
        let ups = (0..levels)
            .map(|i| {
                let p = path / format!("up{i}");
                let (cin, cout) = (level_width(cfg, i + 1), level_width(cfg, i));
                Up {
                    proj: Conv::new(&(&p / "proj"), cin, cout, 1, 1, 0),
                    conv: Conv::new(&(&p / "conv"), cout, cout, 3, 1, 1),
                    film: Film::new(&(&p / "film"), z, cout),
                }
            })
            .collect();
        let head = Conv::new(&(path / "head"), level_width(cfg, 0), 3, 3, 1, 1);
        // A zero head makes the untrained generator the identity (see module doc).
        tch::no_grad(|| {
            let _ = head.weight.shallow_clone().zero_();
        });
        Self {
            stem,
            downs,
            mid_film,
            mid_conv,
            ups,
            head,
            levels,
            kind: Kind::Float,
            channels_last: false,
        }
    }

    /// Multiple that input height and width must have.
    pub fn size_multiple(&self) -> i64 {
        1 << self.levels
    }

    /// Dtype the inference copy computes in.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Runs the network. `x`: `[N, 4, H, W]`, `z`: `[N, zdim]`. Returns fp32.
    pub fn forward(&self, x: &Tensor, z: &Tensor) -> Tensor {
        self.decode(&self.encode(x), z)
    }

    /// The z-independent half: encoder features of `x` (`[N, 4, H, W]`). z enters only
    /// at the bottleneck and in the decoder, so N variations of one canvas share this.
    pub fn encode(&self, x: &Tensor) -> Encoded {
        // The residual path stays fp32 even in bf16 mode: it carries the canvas itself.
        let rgb_logit = x
            .narrow(1, 0, 3)
            .to_kind(Kind::Float)
            .clamp(-0.999, 0.999)
            .atanh();
        let x = super::nn_util::relayout(&x.to_kind(self.kind), self.channels_last);
        let mut h = self.stem.forward(&x).leaky_relu();
        let mut skips = Vec::with_capacity(self.levels);
        for d in &self.downs {
            skips.push(h.shallow_clone());
            h = d.down.forward(&h).leaky_relu();
            h = d.conv.forward(&h).leaky_relu();
        }
        Encoded {
            rgb_logit,
            skips,
            bottom: h,
        }
    }

    /// The z-dependent half: decodes `e` with codes `z` (`[N, zdim]`, N matching `e`,
    /// or 1 to broadcast). Returns fp32 RGB in [-1, 1].
    pub fn decode(&self, e: &Encoded, z: &Tensor) -> Tensor {
        let z = z.to_kind(self.kind);
        let mut h = self.mid_film.forward(&e.bottom, &z);
        h = self.mid_conv.forward(&h).leaky_relu();
        for (i, up) in self.ups.iter().enumerate().rev() {
            let p = up.proj.forward(&h);
            let (sh, sw) = (e.skips[i].size()[2], e.skips[i].size()[3]);
            h = p.upsample_nearest2d([sh, sw], None, None) + &e.skips[i];
            h = up.conv.forward(&h).leaky_relu();
            h = up.film.forward(&h, &z);
        }
        let delta = self.head.forward(&h).to_kind(Kind::Float);
        // Residual in logit space (see the module doc).
        (&e.rgb_logit + delta).tanh()
    }

    /// A detached copy for inference in `kind` (Float or BFloat16), optionally channels-last.
    pub fn converted(&self, kind: Kind, channels_last: bool) -> Self {
        Self {
            stem: self.stem.converted(kind, channels_last),
            downs: self
                .downs
                .iter()
                .map(|d| Down {
                    down: d.down.converted(kind, channels_last),
                    conv: d.conv.converted(kind, channels_last),
                })
                .collect(),
            mid_film: self.mid_film.converted(kind),
            mid_conv: self.mid_conv.converted(kind, channels_last),
            ups: self
                .ups
                .iter()
                .map(|u| Up {
                    proj: u.proj.converted(kind, channels_last),
                    conv: u.conv.converted(kind, channels_last),
                    film: u.film.converted(kind),
                })
                .collect(),
            head: self.head.converted(kind, channels_last),
            levels: self.levels,
            kind,
            channels_last,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> ArchConfig {
        ArchConfig {
            base_width: 8,
            latent_dim: 4,
            levels: 4,
            d_width: 8,
        }
    }

    #[test]
    fn output_shape_matches_input_and_is_in_range() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let g = Generator::new(&(vs.root() / "g"), &tiny());
        let x = Tensor::rand([2, 4, 32, 48], (Kind::Float, tch::Device::Cpu)) * 2.0 - 1.0;
        let z = Tensor::randn([2, 4], (Kind::Float, tch::Device::Cpu));
        let y = g.forward(&x, &z);
        assert_eq!(y.size(), vec![2, 3, 32, 48]);
        assert!(y.abs().max().double_value(&[]) <= 1.0);
    }

    #[test]
    fn untrained_generator_is_near_identity() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let g = Generator::new(&(vs.root() / "g"), &tiny());
        let x = Tensor::rand([1, 4, 16, 16], (Kind::Float, tch::Device::Cpu)) * 1.6 - 0.8;
        let z = Tensor::randn([1, 4], (Kind::Float, tch::Device::Cpu));
        let y = g.forward(&x, &z);
        let diff = (y - x.narrow(1, 0, 3)).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "diff {diff}");
    }
}
