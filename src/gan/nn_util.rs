//! Small building blocks shared by the generator and the discriminator, plus
//! conversions between `image` buffers and tensors.
//!
//! Layers hold their tensors directly (instead of `tch::nn::Conv2D`) so that an
//! inference copy can be re-laid out (channels-last) or cast (bf16) without a
//! second `VarStore`.
use tch::{Kind, Tensor, nn};

/// A 2-D convolution with bias; weights live under `path` as `weight` / `bias`.
#[derive(Debug)]
pub struct Conv {
    /// `[out, in, k, k]`.
    pub weight: Tensor,
    /// `[out]`.
    pub bias: Tensor,
    /// Stride in both directions.
    pub stride: i64,
    /// Padding in both directions.
    pub padding: i64,
    /// Pad with a mirror image instead of zeros ([`super::checkpoint::Padding`]).
    pub reflect: bool,
}

impl Conv {
    /// Creates a conv with Kaiming-uniform weights (leaky ReLU gain) and zero bias.
    pub fn new(path: &nn::Path, c_in: i64, c_out: i64, k: i64, stride: i64, padding: i64) -> Self {
        let fan_in = (c_in * k * k) as f64;
        let bound = (6.0 / fan_in).sqrt();
        let weight = path.var(
            "weight",
            &[c_out, c_in, k, k],
            nn::Init::Uniform {
                lo: -bound,
                up: bound,
            },
        );
        let bias = path.var("bias", &[c_out], nn::Init::Const(0.0));
        Self {
            weight,
            bias,
            stride,
            padding,
            reflect: false,
        }
    }

    /// The same conv, padding with a mirror image when `reflect` is set.
    pub fn reflecting(self, reflect: bool) -> Self {
        Self { reflect, ..self }
    }

    /// Applies the convolution.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.forward_with(x, &self.weight)
    }

    /// Applies the convolution with an explicit (e.g. spectrally normalised) weight.
    pub fn forward_with(&self, x: &Tensor, weight: &Tensor) -> Tensor {
        let p = self.padding;
        if self.reflect && p > 0 {
            let padded = mirror_pad(x, p);
            return padded.conv2d(weight, Some(&self.bias), [self.stride], [0], [1], 1);
        }
        x.conv2d(weight, Some(&self.bias), [self.stride], [p], [1], 1)
    }

    /// A detached copy for inference with the given dtype and memory layout.
    pub fn converted(&self, kind: Kind, channels_last: bool) -> Self {
        Self {
            weight: relayout(&self.weight.detach().to_kind(kind), channels_last),
            bias: self.bias.detach().to_kind(kind),
            stride: self.stride,
            padding: self.padding,
            reflect: self.reflect,
        }
    }
}

/// Pads `[N, C, H, W]` by `p` on every side with a mirror image of the inside. A
/// mirror needs more pixels than it reflects (the deepest level of a tiny canvas
/// can be a single pixel), so a side too small for it is repeated instead.
pub fn mirror_pad(x: &Tensor, p: i64) -> Tensor {
    let (h, w) = (x.size()[2], x.size()[3]);
    let mode = if h > p && w > p {
        "reflect"
    } else {
        "replicate"
    };
    x.pad([p, p, p, p], mode, None)
}

/// FiLM: a linear map from the latent code to a per-channel scale and shift,
/// `x * (1 + gamma(z)) + beta(z)` (identity when the map outputs zero).
#[derive(Debug)]
pub struct Film {
    /// `[2C, zdim]`.
    pub weight: Tensor,
    /// `[2C]`.
    pub bias: Tensor,
    channels: i64,
}

impl Film {
    /// Creates the map; initial weights are small so that z modulates gently at first.
    pub fn new(path: &nn::Path, zdim: i64, channels: i64) -> Self {
        let std = 0.5 / (zdim as f64).sqrt();
        let weight = path.var(
            "weight",
            &[2 * channels, zdim],
            nn::Init::Randn {
                mean: 0.0,
                stdev: std,
            },
        );
        let bias = path.var("bias", &[2 * channels], nn::Init::Const(0.0));
        Self {
            weight,
            bias,
            channels,
        }
    }

    /// Modulates `x` (`[N, C, H, W]`) with `z`: one code per image (`[N, zdim]`) or a
    /// grid of codes (`[N, zdim, gh, gw]`). A grid's modulations are interpolated
    /// bilinearly from the cells' centres at the corners (`align_corners`) over the
    /// whole image, and divided by the root of the summed squared interpolation
    /// weights: a plain blend of independent codes would have half their spread
    /// between four cells, and the variations would differ less there than at the
    /// corners.
    pub fn forward(&self, x: &Tensor, z: &Tensor) -> Tensor {
        if z.dim() == 4 {
            return self.forward_grid(x, z);
        }
        let gb = z.linear(&self.weight, Some(&self.bias));
        let gamma = gb.narrow(1, 0, self.channels).unsqueeze(-1).unsqueeze(-1);
        let beta = gb
            .narrow(1, self.channels, self.channels)
            .unsqueeze(-1)
            .unsqueeze(-1);
        x * (gamma + 1.0) + beta
    }

    /// [`Self::forward`] for a grid of codes. Bilinear weights and their spread
    /// factor into rows times columns, so the full-size scale and shift come from
    /// two small products: cells × column weights (`[N, 2C, gh, W]`), then row
    /// weights × that, written straight in `x`'s memory layout. The bias (and the
    /// scale's 1) rides along as one more row whose weight is 1 everywhere. This
    /// costs a third of interpolating the maps and dividing by the spread.
    fn forward_grid(&self, x: &Tensor, z: &Tensor) -> Tensor {
        let (n, c) = (x.size()[0].max(z.size()[0]), self.channels);
        let (h, w) = (x.size()[2], x.size()[3]);
        let cells = Tensor::einsum("oz,nzrs->nors", &[&self.weight, z], None::<&[i64]>);
        let cols = blend_weights(z.size()[3], w, z);
        let along = Tensor::einsum("nkrs,ws->nkrw", &[&cells, &cols], None::<&[i64]>);
        let offset = Tensor::cat(
            &[&self.bias.narrow(0, 0, c) + 1.0, self.bias.narrow(0, c, c)],
            0,
        )
        .view([1, 2 * c, 1, 1])
        .expand([n, 2 * c, 1, w], false);
        let along = Tensor::cat(&[along.expand([n, 2 * c, -1, w], false), offset], 2);
        let rows = blend_weights(z.size()[2], h, z);
        let rows = Tensor::cat(&[rows, Tensor::ones([h, 1], (z.kind(), z.device()))], 1);
        // Channels-last activations (C stride 1) get channels-last maps.
        let channels_last = x.size()[1] > 1 && x.stride()[1] == 1;
        let full = |part: Tensor| {
            if channels_last {
                Tensor::einsum("hr,nkrw->nhwk", &[&rows, &part], None::<&[i64]>)
                    .permute([0, 3, 1, 2])
            } else {
                Tensor::einsum("hr,nkrw->nkhw", &[&rows, &part], None::<&[i64]>)
            }
        };
        let scale = full(along.narrow(1, 0, c));
        full(along.narrow(1, c, c)).addcmul(x, &scale)
    }

    /// A detached copy for inference with the given dtype.
    pub fn converted(&self, kind: Kind) -> Self {
        Self {
            weight: self.weight.detach().to_kind(kind),
            bias: self.bias.detach().to_kind(kind),
            channels: self.channels,
        }
    }
}

/// `[len, cells]`: row p blends `cells` values at pixel p of a side `len` pixels long
/// as `align_corners` linear interpolation does, divided by the root of its summed
/// squares, so that a blend of independent values keeps their spread.
fn blend_weights(cells: i64, len: i64, like: &Tensor) -> Tensor {
    let w = Tensor::eye(cells, (like.kind(), like.device()))
        .unsqueeze(0)
        .upsample_linear1d([len], true, None::<f64>)
        .squeeze_dim(0)
        .transpose(0, 1);
    let norm = w.square().sum_dim_intlist(1, true, None::<Kind>).sqrt();
    w / norm
}

/// Returns `t` in channels-last memory layout (NHWC strides, same logical NCHW
/// shape) when asked; oneDNN picks its faster NHWC kernels for such tensors.
/// tch 0.26 has no memory-format API, so this goes through a permute + contiguous.
pub fn relayout(t: &Tensor, channels_last: bool) -> Tensor {
    if channels_last && t.dim() == 4 {
        t.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
    } else {
        t.shallow_clone()
    }
}

/// Leaky ReLU with slope 0.2, the usual choice for GAN discriminators.
pub fn lrelu02(x: &Tensor) -> Tensor {
    x.maximum(&(x * 0.2))
}

/// RGB image → `[1, 3, H, W]` float tensor in [-1, 1].
pub fn rgb_to_tensor(img: &image::RgbImage) -> Tensor {
    let (w, h) = img.dimensions();
    let data: Vec<f32> = img
        .as_raw()
        .iter()
        .map(|&v| f32::from(v) / 127.5 - 1.0)
        .collect();
    Tensor::from_slice(&data)
        .view([i64::from(h), i64::from(w), 3])
        .permute([2, 0, 1])
        .unsqueeze(0)
        .contiguous()
}

/// Gray image → `[1, 1, H, W]` float tensor in [0, 1].
pub fn gray_to_tensor(img: &image::GrayImage) -> Tensor {
    let (w, h) = img.dimensions();
    let data: Vec<f32> = img.as_raw().iter().map(|&v| f32::from(v) / 255.0).collect();
    Tensor::from_slice(&data).view([1, 1, i64::from(h), i64::from(w)])
}

/// `[3, H, W]` or `[1, 3, H, W]` tensor in [-1, 1] → RGB image (rounded, clamped).
pub fn tensor_to_rgb(t: &Tensor) -> Result<image::RgbImage, tch::TchError> {
    let t = if t.dim() == 4 {
        t.squeeze_dim(0)
    } else {
        t.shallow_clone()
    };
    let (h, w) = (t.size()[1], t.size()[2]);
    let bytes = ((t.to_kind(Kind::Float).clamp(-1.0, 1.0) + 1.0) * 127.5)
        .round()
        .permute([1, 2, 0])
        .contiguous()
        .to_kind(Kind::Uint8)
        .to_device(tch::Device::Cpu);
    let data = Vec::<u8>::try_from(bytes.flatten(0, -1))?;
    image::RgbImage::from_raw(w as u32, h as u32, data)
        .ok_or_else(|| tch::TchError::Convert("image buffer size".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grid_of_codes_modulates_with_the_same_spread_between_cells_as_at_them() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let film = Film::new(&vs.root(), 4, 1);
        let opts = (Kind::Float, tch::Device::Cpu);
        let x = Tensor::zeros([4096, 1, 9, 9], opts);
        // β alone (x = 0), over 4096 draws of independent cell codes.
        let beta = film.forward(&x, &Tensor::randn([4096, 4, 2, 2], opts));
        let spread = |y: i64, x: i64| beta.select(2, y).select(2, x).std(true).double_value(&[]);
        let (corner, centre, edge) = (spread(0, 0), spread(4, 4), spread(0, 4));
        assert!(corner > 0.05, "the code modulates: {corner}");
        for between in [centre, edge] {
            let ratio = between / corner;
            assert!((0.9..1.1).contains(&ratio), "{between} against {corner}");
        }
        // A corner holds its cell's code exactly: the same as one code for the image.
        let z = Tensor::randn([1, 4, 2, 2], opts);
        let one = film.forward(&x.narrow(0, 0, 1), &z.select(3, 0).select(2, 0));
        let grid = film.forward(&x.narrow(0, 0, 1), &z);
        let diff = (one.select(2, 0).select(2, 0) - grid.select(2, 0).select(2, 0))
            .abs()
            .max()
            .double_value(&[]);
        assert!(diff < 1e-6, "{diff}");
        // Channels-last activations get the same modulation.
        let film = Film::new(&(vs.root() / "wide"), 4, 3);
        let x = Tensor::randn([2, 3, 7, 5], opts);
        let z = Tensor::randn([2, 4, 2, 2], opts);
        let plain = film.forward(&x, &z);
        let last = film.forward(&relayout(&x, true), &z);
        assert_eq!(last.stride()[1], 1, "the output stays channels-last");
        let diff = (plain - last).abs().max().double_value(&[]);
        assert!(diff < 1e-6, "channels-last {diff}");
    }

    /// A 3×3 box-sum conv over a flat 6×6 image of ones.
    fn box_sum_of_ones(reflect: bool) -> Tensor {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let conv = Conv::new(&vs.root(), 1, 1, 3, 1, 1).reflecting(reflect);
        tch::no_grad(|| {
            let _ = conv.weight.shallow_clone().fill_(1.0);
        });
        conv.forward(&Tensor::ones([1, 1, 6, 6], (Kind::Float, tch::Device::Cpu)))
    }

    #[test]
    fn reflect_padding_keeps_a_flat_image_flat_at_the_border() {
        // Zeros darken the border (a corner sees 4 of 9 ones, an edge 6 of 9); a
        // mirror image looks like more of the same canvas.
        let zeros = box_sum_of_ones(false);
        assert_eq!(zeros.double_value(&[0, 0, 0, 0]), 4.0);
        assert_eq!(zeros.double_value(&[0, 0, 0, 3]), 6.0);
        assert_eq!(zeros.double_value(&[0, 0, 3, 3]), 9.0);
        let reflect = box_sum_of_ones(true);
        assert_eq!(reflect.size(), [1, 1, 6, 6]);
        assert!(reflect.eq(9.0).all().int64_value(&[]) == 1);
    }
}
