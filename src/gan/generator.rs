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
//! With `noise` in the architecture, each decoder level adds a per-pixel noise map
//! scaled per channel (StyleGAN's noise inputs, scales start at zero) before its
//! activation. The maps are drawn from a generator seeded by the bits of each code z
//! ([`noise_maps`]), so an output stays a function of (canvas, z): a seed
//! reproduces it on every device, and the code alone describes a variation.
//! With `z_grid` G > 1 in the architecture, z is spread over a G×G grid of codes
//! ([`latent_grid`]), each a fixed permutation of z, and every FiLM interpolates its
//! scales and shifts bilinearly between the cells: regions of one variation vary
//! apart, and an output is still a function of (canvas, z).
//! The convolutions pad with zeros or, with `padding: reflect` in the architecture,
//! with a mirror image, which leaves the network no cue of where the border is.
//! The head predicts a residual in logit space:
//! `out = tanh(atanh(input) + head(features))`, so an untrained net starts as the
//! identity and training time goes into the changes, not into copying the input.
use super::checkpoint::{ArchConfig, Padding};
use super::nn_util::{Conv, Film};
use rand::SeedableRng;
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

/// One decoder level: 1×1 projection, upsample, add skip, 3×3 conv, noise, FiLM.
#[derive(Debug)]
struct Up {
    proj: Conv,
    conv: Conv,
    film: Film,
    /// Per-channel scale of the noise map, `[1, C, 1, 1]` (architectures with noise).
    noise: Option<Tensor>,
}

/// Per-pixel standard normal noise maps `[N, 1, h, w]`, one for each of `sizes`, for
/// the N rows of `z` (`[N, zdim]`, any device and dtype): row n's maps come from a
/// ChaCha8 generator seeded by an FNV-1a hash of its values, so equal codes give
/// equal maps on every device and platform. Returned on `z`'s device, fp32.
pub fn noise_maps(z: &Tensor, sizes: &[[i64; 2]]) -> Vec<Tensor> {
    let zc = z
        .detach()
        .to_device(tch::Device::Cpu)
        .to_kind(Kind::Float)
        .contiguous();
    let (n, dim) = (zc.size()[0], zc.size()[1]);
    let mut codes = vec![0f32; (n * dim) as usize];
    let len = codes.len();
    zc.copy_data(&mut codes, len);
    let mut maps: Vec<Vec<f32>> = sizes
        .iter()
        .map(|[h, w]| Vec::with_capacity((n * h * w) as usize))
        .collect();
    for row in codes.chunks_exact(dim.max(1) as usize) {
        let mut hash = super::checkpoint::Fnv1a::new();
        row.iter().for_each(|v| hash.eat(&v.to_le_bytes()));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(hash.0);
        for (map, [h, w]) in maps.iter_mut().zip(sizes) {
            map.extend((0..h * w).map(|_| crate::sampling::normal(&mut rng)));
        }
    }
    maps.into_iter()
        .zip(sizes)
        .map(|(m, [h, w])| {
            Tensor::from_slice(&m)
                .view([n, 1, *h, *w])
                .to_device(z.device())
        })
        .collect()
}

/// Spreads codes `z` (`[N, zdim]`) over a `g`×`g` grid, `[N, zdim, g, g]`: cell `c`
/// (row-major) holds z rotated by `c·⌊zdim / g²⌋` places. A rotation of a standard
/// normal code is one too, and cells share no component at any one position, so
/// their modulations are near independent; yet the grid is a continuous function
/// of z, so codes near each other (latent steering) still give variations near
/// each other. `g`² must not exceed zdim ([`ArchConfig::problem`]).
pub fn latent_grid(z: &Tensor, g: i64) -> Tensor {
    let dim = z.size()[1];
    let step = dim / (g * g);
    let cells: Vec<Tensor> = (0..g * g).map(|c| z.roll([-(c * step)], [1])).collect();
    Tensor::stack(&cells, 2).view([z.size()[0], dim, g, g])
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
    /// Cells per side of the latent grid ([`latent_grid`]; 1 = one code).
    z_grid: i64,
    kind: Kind,
    channels_last: bool,
}

impl Generator {
    /// Builds the generator's variables under `path`.
    pub fn new(path: &nn::Path, cfg: &ArchConfig) -> Self {
        let z = cfg.latent_dim as i64;
        let levels = cfg.levels;
        let reflect = cfg.padding == Padding::Reflect;
        let conv = |p: &nn::Path, c_in, c_out, k, stride, padding| {
            Conv::new(p, c_in, c_out, k, stride, padding).reflecting(reflect)
        };
        let stem = conv(&(path / "stem"), 4, level_width(cfg, 0), 3, 1, 1);
        let downs = (1..=levels)
            .map(|i| {
                let p = path / format!("down{i}");
                let (cin, cout) = (level_width(cfg, i - 1), level_width(cfg, i));
                Down {
                    down: conv(&(&p / "down"), cin, cout, 3, 2, 1),
                    conv: conv(&(&p / "conv"), cout, cout, 3, 1, 1),
                }
            })
            .collect();
        let cb = level_width(cfg, levels);
        let mid_film = Film::new(&(path / "mid" / "film"), z, cb);
        let mid_conv = conv(&(path / "mid" / "conv"), cb, cb, 3, 1, 1);
        // ups[i] produces level i from level i + 1 (i = levels-1 .. 0).
        let ups = (0..levels)
            .map(|i| {
                let p = path / format!("up{i}");
                let (cin, cout) = (level_width(cfg, i + 1), level_width(cfg, i));
                Up {
                    proj: conv(&(&p / "proj"), cin, cout, 1, 1, 0),
                    conv: conv(&(&p / "conv"), cout, cout, 3, 1, 1),
                    film: Film::new(&(&p / "film"), z, cout),
                    noise: cfg.noise.then(|| p.zeros("noise", &[1, cout, 1, 1])),
                }
            })
            .collect();
        let head = conv(&(path / "head"), level_width(cfg, 0), 3, 3, 1, 1);
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
            z_grid: i64::from(cfg.z_grid.max(1)),
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
    /// or 1 to broadcast), spread over the latent grid if the architecture has one.
    /// Returns fp32 RGB in [-1, 1].
    pub fn decode(&self, e: &Encoded, z: &Tensor) -> Tensor {
        // Noise maps come from the fp32 code the caller gave, before any bf16 rounding.
        let noise = self.ups[0].noise.is_some().then(|| {
            let sizes: Vec<[i64; 2]> = e.skips.iter().map(|s| [s.size()[2], s.size()[3]]).collect();
            noise_maps(z, &sizes)
        });
        let z = z.to_kind(self.kind);
        let z = if self.z_grid > 1 {
            latent_grid(&z, self.z_grid)
        } else {
            z
        };
        let mut h = self.mid_film.forward(&e.bottom, &z);
        h = self.mid_conv.forward(&h).leaky_relu();
        for (i, up) in self.ups.iter().enumerate().rev() {
            let p = up.proj.forward(&h);
            let (sh, sw) = (e.skips[i].size()[2], e.skips[i].size()[3]);
            h = p.upsample_nearest2d([sh, sw], None, None) + &e.skips[i];
            h = up.conv.forward(&h);
            if let (Some(scale), Some(maps)) = (&up.noise, &noise) {
                h += maps[i].to_kind(self.kind) * scale;
            }
            h = h.leaky_relu();
            h = up.film.forward(&h, &z);
        }
        let delta = self.head.forward(&h).to_kind(Kind::Float);
        // Residual in logit space (see the module doc).
        (&e.rgb_logit + delta).tanh()
    }

    /// Pads every convolution with a mirror image (`true`) or with zeros; the
    /// weights stay as they are ([`crate::gan::Padding`]).
    pub fn set_reflect(&mut self, reflect: bool) {
        let downs = self
            .downs
            .iter_mut()
            .flat_map(|d| [&mut d.down, &mut d.conv]);
        let ups = self.ups.iter_mut().flat_map(|u| [&mut u.proj, &mut u.conv]);
        [&mut self.stem, &mut self.mid_conv, &mut self.head]
            .into_iter()
            .chain(downs)
            .chain(ups)
            .for_each(|c| c.reflect = reflect);
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
                    noise: u.noise.as_ref().map(|t| t.detach().to_kind(kind)),
                })
                .collect(),
            head: self.head.converted(kind, channels_last),
            levels: self.levels,
            z_grid: self.z_grid,
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
            noise: true,
            ..Default::default()
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
    fn noise_maps_are_a_function_of_the_code() {
        let z = Tensor::from_slice(&[0.5f32, -1.0, 2.0, 0.0, 0.5, -1.0, 2.0, 0.25]).view([2, 4]);
        let a = noise_maps(&z, &[[8, 6], [4, 3]]);
        let b = noise_maps(&z, &[[8, 6], [4, 3]]);
        assert_eq!(a[0].size(), vec![2, 1, 8, 6]);
        assert_eq!(a[1].size(), vec![2, 1, 4, 3]);
        assert!(a.iter().zip(&b).all(|(x, y)| x.equal(y)));
        // The rows differ in one value, so their maps differ everywhere.
        let rows_differ = (a[0].get(0) - a[0].get(1)).abs().min().double_value(&[]);
        assert!(rows_differ > 0.0);
        // Roughly standard normal.
        let big = noise_maps(&z.narrow(0, 0, 1), &[[64, 64]]).remove(0);
        let (mean, std) = (
            big.mean(Kind::Float).double_value(&[]),
            big.std(true).double_value(&[]),
        );
        assert!(
            mean.abs() < 0.05 && (std - 1.0).abs() < 0.05,
            "mean {mean} std {std}"
        );
    }

    /// Mean |out − 3×3 box blur of out| over the central 16² of a 64² output (away
    /// from the zero-padded borders): fine texture.
    fn texture(y: &Tensor) -> f64 {
        let blurred = y.avg_pool2d([3, 3], [1, 1], [1, 1], false, true, None::<i64>);
        (y - blurred)
            .abs()
            .narrow(2, 24, 16)
            .narrow(3, 24, 16)
            .mean(Kind::Float)
            .double_value(&[])
    }

    /// Overwrites every variable with uniform values in ±1/√fan-in (zero noise scales
    /// stay zero) from a local seeded generator: libtorch's global generator is shared
    /// with the tests running beside this one, so `manual_seed` does not pin weights.
    fn seeded_weights(vs: &nn::VarStore, seed: u64) {
        use rand::Rng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        tch::no_grad(|| {
            for (name, var) in vars.iter().filter(|(n, _)| !n.ends_with(".noise")) {
                let size = var.size();
                let fan_in = (var.numel() as i64 / size[0].max(1)).max(1) as f32;
                // The head gets larger weights: a trained head, not the identity.
                let bound = if name.starts_with("g.head") {
                    1.0
                } else {
                    fan_in.sqrt().recip()
                };
                let vals: Vec<f32> = (0..var.numel())
                    .map(|_| rng.random_range(-bound..bound))
                    .collect();
                var.shallow_clone()
                    .copy_(&Tensor::from_slice(&vals).view(size.as_slice()));
            }
        });
    }

    #[test]
    fn noise_inputs_grow_texture_on_a_flat_canvas_reproducibly() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let g = Generator::new(&(vs.root() / "g"), &tiny());
        // Zero noise scales (as initialised) leave no texture to see.
        seeded_weights(&vs, 1);
        let x = Tensor::full([1, 4, 64, 64], 0.2, (Kind::Float, tch::Device::Cpu));
        let z = Tensor::from_slice(&[0.3f32, -0.7, 1.1, 0.0]).view([1, 4]);
        let quiet = texture(&g.forward(&x, &z));
        tch::no_grad(|| {
            for up in &g.ups {
                let _ = up.noise.as_ref().unwrap().shallow_clone().fill_(1.0);
            }
        });
        let y = g.forward(&x, &z);
        assert!(
            texture(&y) > 10.0 * quiet.max(1e-6),
            "{} vs {quiet}",
            texture(&y)
        );
        assert!(y.equal(&g.forward(&x, &z)), "same code, same output");
        let other = g.forward(&x, &(&z + 0.01));
        assert!(!y.equal(&other), "another code, other texture");
        // The channels-last inference copy draws the same maps.
        let fast = g.converted(Kind::Float, true).forward(&x, &z);
        let diff = (fast - &y).abs().max().double_value(&[]);
        assert!(diff < 1e-4, "channels-last vs contiguous {diff}");
    }

    #[test]
    fn every_cell_of_a_latent_grid_is_a_rotation_of_the_code() {
        let z = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]).view([1, 8]);
        let grid = latent_grid(&z, 2);
        assert_eq!(grid.size(), vec![1, 8, 2, 2]);
        // Cell c (row-major) starts at value 2c + 1: rotated by c·⌊8 / 4⌋ places.
        for (c, (row, col)) in [(0, 0), (0, 1), (1, 0), (1, 1)].into_iter().enumerate() {
            let cell: Vec<f32> = (0..8)
                .map(|i| grid.double_value(&[0, i, row, col]) as f32)
                .collect();
            let expect: Vec<f32> = (0..8).map(|i| ((i + 2 * c) % 8 + 1) as f32).collect();
            assert_eq!(cell, expect, "cell {c}");
        }
        // Linear in z: codes near each other give grids near each other.
        let near = &z + 0.01;
        let step = (latent_grid(&near, 2) - &grid)
            .abs()
            .max()
            .double_value(&[]);
        assert!((step - 0.01).abs() < 1e-6, "{step}");
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
