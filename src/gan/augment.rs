//! DiffAugment (Zhao et al. 2020): differentiable colour, translation and cutout
//! augmentations applied to everything the discriminator sees, real and fake alike,
//! so that D cannot memorise a few dozen training images and G still gets gradients.
//!
//! Inputs are `[N, C, H, W]` with `C` a multiple of 3 (condition and image stacked);
//! colour changes are drawn per sample and applied identically to each RGB group so
//! the pair stays consistent; the geometry is shared by all channels of a sample.
//! Randomness comes from libtorch's generator (seeded by the trainer).
use tch::{Kind, Tensor};

/// Which augmentations to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Brightness, saturation, contrast.
    pub colour: bool,
    /// Random shifts up to 1/8 of the size, zero padded.
    pub translation: bool,
    /// A random square of half the size set to zero.
    pub cutout: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            colour: true,
            translation: true,
            cutout: true,
        }
    }
}

/// Applies the policy to `x` (`[N, C, H, W]`, C a multiple of 3).
pub fn diff_augment(x: &Tensor, policy: Policy) -> Tensor {
    let mut x = x.shallow_clone();
    if policy.colour {
        x = colour(&x);
    }
    if policy.translation {
        x = translation(&x, 0.125);
    }
    if policy.cutout {
        x = cutout(&x, 0.5);
    }
    x
}

fn colour(x: &Tensor) -> Tensor {
    let (n, c) = (x.size()[0], x.size()[1]);
    let opts = (Kind::Float, x.device());
    let brightness = Tensor::rand([n, 1, 1, 1], opts) - 0.5;
    let saturation = Tensor::rand([n, 1, 1, 1], opts) * 2.0;
    let contrast = Tensor::rand([n, 1, 1, 1], opts) + 0.5;
    let groups: Vec<Tensor> = (0..c / 3)
        .map(|g| {
            let mut y = x.narrow(1, g * 3, 3) + &brightness;
            let m = y.mean_dim(1, true, Kind::Float);
            y = (&y - &m) * &saturation + &m;
            let m = y.mean_dim([1i64, 2, 3].as_slice(), true, Kind::Float);
            (&y - &m) * &contrast + &m
        })
        .collect();
    Tensor::cat(&groups, 1)
}

fn translation(x: &Tensor, ratio: f64) -> Tensor {
    let (n, h, w) = (x.size()[0], x.size()[2], x.size()[3]);
    let (sh, sw) = (
        ((h as f64) * ratio).round() as i64,
        ((w as f64) * ratio).round() as i64,
    );
    if sh == 0 && sw == 0 {
        return x.shallow_clone();
    }
    let padded = x.constant_pad_nd([sw, sw, sh, sh]);
    let dy = Tensor::randint_low(0, 2 * sh + 1, [n], (Kind::Int64, tch::Device::Cpu));
    let dx = Tensor::randint_low(0, 2 * sw + 1, [n], (Kind::Int64, tch::Device::Cpu));
    let parts: Vec<Tensor> = (0..n)
        .map(|i| {
            let (oy, ox) = (dy.int64_value(&[i]), dx.int64_value(&[i]));
            padded.narrow(0, i, 1).narrow(2, oy, h).narrow(3, ox, w)
        })
        .collect();
    Tensor::cat(&parts, 0)
}

fn cutout(x: &Tensor, ratio: f64) -> Tensor {
    let (n, h, w) = (x.size()[0], x.size()[2], x.size()[3]);
    let dev = x.device();
    let (ch, cw) = ((h as f64 * ratio) as i64, (w as f64 * ratio) as i64);
    let cy = Tensor::randint_low(0, h + (1 - ch % 2), [n, 1, 1, 1], (Kind::Int64, dev));
    let cx = Tensor::randint_low(0, w + (1 - cw % 2), [n, 1, 1, 1], (Kind::Int64, dev));
    let ys = Tensor::arange(h, (Kind::Int64, dev)).view([1, 1, h, 1]);
    let xs = Tensor::arange(w, (Kind::Int64, dev)).view([1, 1, 1, w]);
    let inside_y = (&ys - &cy + ch / 2)
        .ge(0)
        .logical_and(&(&ys - &cy + ch / 2).lt(ch));
    let inside_x = (&xs - &cx + cw / 2)
        .ge(0)
        .logical_and(&(&xs - &cx + cw / 2).lt(cw));
    let keep = inside_y
        .logical_and(&inside_x)
        .logical_not()
        .to_kind(x.kind());
    x * keep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_kept_and_gradients_flow() {
        tch::manual_seed(0);
        let x =
            Tensor::rand([3, 6, 16, 16], (Kind::Float, tch::Device::Cpu)).set_requires_grad(true);
        let y = diff_augment(&x, Policy::default());
        assert_eq!(y.size(), x.size());
        y.sum(Kind::Float).backward();
        assert!(x.grad().abs().sum(Kind::Float).double_value(&[]) > 0.0);
    }

    #[test]
    fn cutout_zeroes_a_quarter() {
        tch::manual_seed(1);
        let x = Tensor::ones([4, 3, 16, 16], (Kind::Float, tch::Device::Cpu));
        let y = cutout(&x, 0.5);
        let kept = y.mean(Kind::Float).double_value(&[]);
        // Each sample loses at most 8×8 of 16×16 pixels (less when clipped by the border).
        assert!((0.75..1.0).contains(&kept), "{kept}");
    }
}
