//! The GAN's losses. Hinge adversarial losses (stable with spectral norm), L1 to the
//! target (weighted low enough to leave room for variation), the mode-seeking term of
//! MSGAN (Mao et al. 2019: different z must give different images), conditional
//! IMLE's best-of-k reconstruction, and feature matching on discriminator activations.
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

/// Mean absolute error of each sample (over all but the batch dimension).
pub fn l1_per_sample(a: &Tensor, b: &Tensor) -> Tensor {
    (a - b)
        .abs()
        .mean_dim([1i64, 2, 3].as_slice(), false, Kind::Float)
}

/// Conditional IMLE's reconstruction (Li et al. 2019): `per_sample` holds the losses
/// of `k` outputs for each of `n` inputs (code-major, `k·n` values); the result is the
/// mean over inputs of each input's smallest loss, so only the closest output is
/// pulled to the target and the others may be other plausible pictures.
pub fn best_of(per_sample: &Tensor, k: i64) -> Tensor {
    per_sample.view([k, -1]).amin(0, false).mean(Kind::Float)
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

/// `x` averaged over `f`×`f` blocks and scaled back up (nearest): its colour layout
/// without the detail finer than `f` pixels.
pub fn low_pass(x: &Tensor, f: i64) -> Tensor {
    let (h, w) = (x.size()[2], x.size()[3]);
    x.avg_pool2d([f, f], [f, f], [0, 0], true, true, None::<i64>)
        .repeat_interleave_self_int(f, 2, None)
        .repeat_interleave_self_int(f, 3, None)
        .narrow(2, 0, h)
        .narrow(3, 0, w)
}

/// The 5-tap binomial kernel of the quality metric's Laplacian pyramid, as a
/// depthwise 5×5 filter for 3 channels.
fn binomial_filter(device: tch::Device) -> Tensor {
    let k = Tensor::from_slice(&[1.0f32, 4.0, 6.0, 4.0, 1.0]).to_device(device) / 16.0;
    k.outer(&k).view([1, 1, 5, 5]).repeat([3, 1, 1, 1])
}

/// Binomial blur with edge replication (the metric clamps at the border too).
fn blur(x: &Tensor, k: &Tensor) -> Tensor {
    x.pad([2, 2, 2, 2], "replicate", None)
        .conv2d(k, None::<Tensor>, [1, 1], [0, 0], [1, 1], 3)
}

/// The fine detail of an NCHW batch at full resolution: the image minus its blur by
/// the metric's 5-tap binomial kernel applied twice (σ ≈ 1.4 px), which holds the
/// metric's fine band and most of its mid band. What the detail critic sees.
pub fn detail_band(x: &Tensor) -> Tensor {
    let k = binomial_filter(x.device());
    x - blur(&blur(x, &k), &k)
}

/// A differentiable copy of [`super::metrics::laplacian_pyramid`] for NCHW batches:
/// `levels − 1` band-pass levels, finest first, then the coarsest Gaussian level.
pub fn laplacian_pyramid(x: &Tensor, levels: usize) -> Vec<Tensor> {
    let k = binomial_filter(x.device());
    let mut out = Vec::with_capacity(levels);
    let mut cur = x.shallow_clone();
    for _ in 1..levels {
        let (h, w) = (cur.size()[2], cur.size()[3]);
        let next = blur(&cur, &k).slice(2, 0, h, 2).slice(3, 0, w, 2);
        let up = next
            .repeat_interleave_self_int(2, 2, None)
            .repeat_interleave_self_int(2, 3, None)
            .narrow(2, 0, h)
            .narrow(3, 0, w);
        out.push(&cur - blur(&up, &k));
        cur = next;
    }
    out.push(cur);
    out
}

/// Sliced Wasserstein distance between the 7×7 patch distributions of `fake` and
/// `target`, image by image, on the finest `levels` bands of a Laplacian pyramid
/// (Heitz et al. 2021, "A Sliced Wasserstein Loss for Neural Texture Synthesis").
///
/// Unlike L1, it does not ask for texture at the target's exact positions, only for
/// texture with the target's statistics, so the generator is not pushed to blur what
/// it cannot place. It is the training-side counterpart of the realism metric, scored
/// on the training crops (never on held-out images). Each band is divided by the
/// target's standard deviation in that band, so faint fine detail weighs as much as
/// coarse structure; `dirs` random projections are drawn from libtorch's generator.
pub fn patch_swd(fake: &Tensor, target: &Tensor, levels: usize, dirs: i64) -> Tensor {
    const P: i64 = 7;
    let pf = laplacian_pyramid(fake, levels + 1);
    let pt = laplacian_pyramid(&target.detach(), levels + 1);
    let dev = fake.device();
    let mut total = Tensor::zeros([], (Kind::Float, dev));
    for (f, t) in pf.iter().zip(&pt).take(levels) {
        let n = f.size()[0];
        if f.size()[2] < P || f.size()[3] < P {
            break;
        }
        let scale = t.std(true).detach() + 1e-3;
        let patches = |x: &Tensor| {
            // (N, 3, H', W', 7, 7) → (N, H'·W', 147)
            let u = x.unfold(2, P, 1).unfold(3, P, 1);
            let (hh, ww) = (u.size()[2], u.size()[3]);
            u.permute([0, 2, 3, 1, 4, 5])
                .reshape([n, hh * ww, 3 * P * P])
                / &scale
        };
        let d = Tensor::randn([3 * P * P, dirs], (Kind::Float, dev));
        let d = &d
            / d.square()
                .sum_dim_intlist([0i64].as_slice(), true, Kind::Float)
                .sqrt();
        let (sf, _) = patches(f).matmul(&d).sort(1, false);
        let (st, _) = patches(t).matmul(&d).sort(1, false);
        total += (sf - st).abs().mean(Kind::Float);
    }
    total / levels as f64
}

/// LPIPS-style perceptual distance (Zhang et al. 2018, without the learned
/// per-channel weights) on the frozen pretrained network's taps
/// ([`super::features::FeatureNet`]): each tap is unit-normalised across
/// channels, the squared difference is summed over channels and averaged over
/// positions, and the taps' distances are averaged. Images in −1..1
/// (N×3×H×W). It asks for the same content in the network's terms rather than
/// the same pixels, so a generator may invent texture that fits instead of
/// the blurry mean L1 rewards. Gradients reach `a` and `b`, never the network.
pub fn perceptual(net: &super::features::FeatureNet, a: &Tensor, b: &Tensor) -> Tensor {
    let n = a.size()[0];
    let both = (Tensor::cat(&[a, b], 0) + 1.0) * 0.5;
    let taps = net.taps(&both);
    let count = taps.len() as f64;
    let unit = |f: &Tensor| {
        let norm = (f.pow_tensor_scalar(2).sum_dim_intlist(1, true, Kind::Float) + 1e-10).sqrt();
        f / norm
    };
    taps.iter()
        .map(|f| {
            let f = unit(f);
            (f.narrow(0, 0, n) - f.narrow(0, n, n))
                .pow_tensor_scalar(2)
                .sum_dim_intlist(1, false, Kind::Float)
                .mean(Kind::Float)
        })
        .fold(Tensor::zeros([], (Kind::Float, a.device())), |acc, d| {
            acc + d
        })
        / count
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
    fn best_of_takes_each_inputs_closest_output_and_only_its_gradient() {
        // Two codes (rows) for three inputs (columns).
        let per = Tensor::from_slice(&[1.0f32, 5.0, 4.0, 3.0, 2.0, 4.0]).set_requires_grad(true);
        let loss = best_of(&per, 2);
        assert!((loss.double_value(&[]) - (1.0 + 2.0 + 4.0) / 3.0).abs() < 1e-6);
        loss.backward();
        let g = Vec::<f32>::try_from(per.grad()).expect("a gradient");
        // Input 0's first code and input 1's second code win; input 2 ties.
        assert_eq!(&g[..2], &[1.0 / 3.0, 0.0]);
        assert_eq!(&g[3..5], &[0.0, 1.0 / 3.0]);
        assert!((g[2] + g[5] - 1.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn l1_per_sample_is_each_samples_mean_error() {
        let a = Tensor::zeros([2, 3, 2, 2], (Kind::Float, tch::Device::Cpu));
        let b =
            Tensor::cat(&[a.get(0).ones_like(), a.get(1).ones_like() * 3.0], 0).view([2, 3, 2, 2]);
        let v = Vec::<f32>::try_from(l1_per_sample(&a, &b)).expect("two values");
        assert_eq!(v, vec![1.0, 3.0]);
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
    #[test]
    fn low_pass_keeps_block_means_and_detail_ignores_colour_shifts() {
        let opts = (Kind::Float, tch::Device::Cpu);
        let x = Tensor::rand([1, 3, 8, 12], opts);
        let lp = low_pass(&x, 4);
        assert_eq!(lp.size(), x.size());
        let block = |t: &Tensor| t.narrow(2, 4, 4).narrow(3, 8, 4).mean(Kind::Float);
        assert!((block(&lp) - block(&x)).abs().double_value(&[]) < 1e-6);
        // A re-grade (a shift of every pixel) leaves the detail band unchanged.
        let shifted = &x + 0.3;
        let detail = |t: &Tensor| t - low_pass(t, 4);
        assert!(l1(&detail(&shifted), &detail(&x)).double_value(&[]) < 1e-6);
        assert!(l1(&detail(&x), &Tensor::zeros_like(&x)).double_value(&[]) > 0.05);
    }

    #[test]
    fn the_detail_band_drops_flat_colour_and_shading_and_keeps_a_one_pixel_checker() {
        let opts = (Kind::Float, tch::Device::Cpu);
        let interior = |t: &Tensor| t.narrow(2, 4, 8).narrow(3, 4, 8);
        let flat = Tensor::full([1, 3, 16, 16], 0.3, opts);
        assert!(detail_band(&flat).abs().max().double_value(&[]) < 1e-6);
        // The binomial kernel is symmetric, so it leaves a linear ramp as it is
        // (away from the replicated border).
        let ramp = (Tensor::arange(16, opts) / 16.0)
            .view([1, 1, 1, 16])
            .expand([1, 3, 16, 16], false);
        assert!(interior(&detail_band(&ramp)).abs().max().double_value(&[]) < 1e-5);
        // At the Nyquist frequency the kernel's response is (1 − 4 + 6 − 4 + 1) / 16 = 0,
        // so a 1-px checker is all detail.
        let x = Tensor::arange(16, opts);
        let checker = (x.view([1, 1, 16, 1]) + x.view([1, 1, 1, 16])).remainder(2.0) * 2.0 - 1.0;
        let checker = checker.expand([1, 3, 16, 16], false);
        let kept = interior(&(detail_band(&checker) - &checker)).abs().max();
        assert!(kept.double_value(&[]) < 1e-5);
    }

    #[test]
    fn tensor_pyramid_matches_the_metric() {
        use crate::gan::metrics;
        let (w, h) = (21usize, 16usize);
        let img: Vec<f32> = (0..w * h * 3)
            .map(|i| ((i * 7919) % 101) as f32 / 100.0)
            .collect();
        let reference = metrics::laplacian_pyramid(&img, w, h, 3);
        let x = Tensor::from_slice(&img)
            .view([h as i64, w as i64, 3])
            .permute([2, 0, 1])
            .unsqueeze(0);
        let ours = laplacian_pyramid(&x, 3);
        for (r, o) in reference.iter().zip(&ours) {
            assert_eq!(o.size(), [1, 3, r.h as i64, r.w as i64]);
            let o =
                Vec::<f32>::try_from(o.squeeze_dim(0).permute([1, 2, 0]).flatten(0, -1)).unwrap();
            let err = o
                .iter()
                .zip(&r.data)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(err < 1e-5, "level differs by {err}");
        }
    }

    #[test]
    fn patch_swd_ignores_placement_but_not_texture() {
        tch::manual_seed(3);
        let opts = (Kind::Float, tch::Device::Cpu);
        let texture = Tensor::rand([2, 3, 32, 32], opts);
        // The same texture shifted: placement differs, statistics do not.
        let shifted = texture.roll([5, 9], [2, 3]);
        let flat = Tensor::full([2, 3, 32, 32], 0.5, opts);
        let same = patch_swd(&shifted, &texture, 2, 32).double_value(&[]);
        let blurred = patch_swd(&flat, &texture, 2, 32).double_value(&[]);
        assert!(same < 0.2 * blurred, "shifted {same} vs flat {blurred}");
        // L1 says the opposite: the flat image is nearer than the shifted texture.
        assert!(l1(&flat, &texture).double_value(&[]) < l1(&shifted, &texture).double_value(&[]));
    }

    #[test]
    fn patch_swd_has_gradients() {
        let opts = (Kind::Float, tch::Device::Cpu);
        let x = Tensor::full([1, 3, 16, 16], 0.5, opts).set_requires_grad(true);
        let target = Tensor::rand([1, 3, 16, 16], opts);
        patch_swd(&x, &target, 2, 8).backward();
        assert!(x.grad().abs().sum(Kind::Float).double_value(&[]) > 0.0);
    }
}
