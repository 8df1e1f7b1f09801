//! Quality metrics for variations, in plain Rust (no pretrained network needed):
//!
//! - [`faithfulness`]: mean |blur(out) − blur(canvas)| with a Gaussian of σ = 4 px;
//!   low means the structure and colour layout of the canvas were kept.
//! - [`diversity`]: mean pairwise |out_i − out_j| over variations of one canvas;
//!   near zero means mode collapse.
//! - [`swd`]: sliced Wasserstein distance between 7×7 patch descriptors of a
//!   3-level Laplacian pyramid (Karras et al. 2018, "Progressive GAN"), reported ×1e3.
//!
//! Images are interleaved RGB `f32` in [0, 1]; [`to_f32`] converts an `RgbImage`.
use rand::{Rng, SeedableRng};

/// An `RgbImage` as interleaved `f32` in [0, 1].
pub fn to_f32(img: &image::RgbImage) -> Vec<f32> {
    img.as_raw().iter().map(|&v| f32::from(v) / 255.0).collect()
}

fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    let r = (3.0 * sigma).ceil().max(1.0) as i64;
    let k: Vec<f32> = (-r..=r)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let s: f32 = k.iter().sum();
    k.into_iter().map(|v| v / s).collect()
}

/// Separable convolution of an interleaved image with `c` channels, clamping at edges.
fn separable(img: &[f32], w: usize, h: usize, c: usize, k: &[f32]) -> Vec<f32> {
    let r = (k.len() / 2) as i64;
    let mut tmp = vec![0f32; img.len()];
    for y in 0..h {
        for x in 0..w {
            for ch in 0..c {
                let mut acc = 0.0;
                for (j, kv) in k.iter().enumerate() {
                    let xx = (x as i64 + j as i64 - r).clamp(0, w as i64 - 1) as usize;
                    acc += kv * img[(y * w + xx) * c + ch];
                }
                tmp[(y * w + x) * c + ch] = acc;
            }
        }
    }
    let mut out = vec![0f32; img.len()];
    for y in 0..h {
        for x in 0..w {
            for ch in 0..c {
                let mut acc = 0.0;
                for (j, kv) in k.iter().enumerate() {
                    let yy = (y as i64 + j as i64 - r).clamp(0, h as i64 - 1) as usize;
                    acc += kv * tmp[(yy * w + x) * c + ch];
                }
                out[(y * w + x) * c + ch] = acc;
            }
        }
    }
    out
}

/// Gaussian blur (σ in pixels, kernel radius ⌈3σ⌉, edges clamped) of an RGB image.
pub fn blur_rgb(img: &[f32], w: usize, h: usize, sigma: f32) -> Vec<f32> {
    separable(img, w, h, 3, &gaussian_kernel(sigma))
}

/// Mean |blur(out) − blur(input)| with σ = 4 px. Both images have the same size.
pub fn faithfulness(out: &[f32], input: &[f32], w: usize, h: usize) -> f64 {
    let a = blur_rgb(out, w, h, 4.0);
    let b = blur_rgb(input, w, h, 4.0);
    mean_abs_diff(&a, &b)
}

fn mean_abs_diff(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from((x - y).abs()))
        .sum::<f64>()
        / a.len().max(1) as f64
}

/// Mean over all pairs (i < j) of mean |out_i − out_j|; 0 for fewer than two images.
pub fn diversity(outs: &[Vec<f32>]) -> f64 {
    let mut sum = 0.0;
    let mut n = 0usize;
    for i in 0..outs.len() {
        for j in i + 1..outs.len() {
            sum += mean_abs_diff(&outs[i], &outs[j]);
            n += 1;
        }
    }
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// One pyramid level: interleaved RGB data and its size.
#[derive(Debug, Clone)]
pub struct Level {
    /// Interleaved RGB values.
    pub data: Vec<f32>,
    /// Width.
    pub w: usize,
    /// Height.
    pub h: usize,
}

const BINOMIAL: [f32; 5] = [1.0 / 16.0, 4.0 / 16.0, 6.0 / 16.0, 4.0 / 16.0, 1.0 / 16.0];

fn downsample(l: &Level) -> Level {
    let b = separable(&l.data, l.w, l.h, 3, &BINOMIAL);
    let (w, h) = (l.w.div_ceil(2), l.h.div_ceil(2));
    let mut data = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let i = ((2 * y) * l.w + 2 * x) * 3;
            data.extend_from_slice(&b[i..i + 3]);
        }
    }
    Level { data, w, h }
}

fn upsample(l: &Level, w: usize, h: usize) -> Vec<f32> {
    let mut up = vec![0f32; w * h * 3];
    for y in 0..h {
        for x in 0..w {
            let i = ((y / 2) * l.w + x / 2) * 3;
            let o = (y * w + x) * 3;
            up[o..o + 3].copy_from_slice(&l.data[i..i + 3]);
        }
    }
    separable(&up, w, h, 3, &BINOMIAL)
}

/// Laplacian pyramid with `levels` levels: band-pass differences, then the coarsest
/// Gaussian level last. Summing the upsampled levels reconstructs the image exactly.
pub fn laplacian_pyramid(img: &[f32], w: usize, h: usize, levels: usize) -> Vec<Level> {
    let mut out = Vec::with_capacity(levels);
    let mut cur = Level {
        data: img.to_vec(),
        w,
        h,
    };
    for _ in 1..levels {
        let next = downsample(&cur);
        let up = upsample(&next, cur.w, cur.h);
        let band: Vec<f32> = cur.data.iter().zip(&up).map(|(a, b)| a - b).collect();
        out.push(Level {
            data: band,
            w: cur.w,
            h: cur.h,
        });
        cur = next;
    }
    out.push(cur);
    out
}

/// Rebuilds the image from [`laplacian_pyramid`] (for tests and as documentation).
pub fn reconstruct(pyr: &[Level]) -> Vec<f32> {
    let mut cur = pyr[pyr.len() - 1].clone();
    for band in pyr[..pyr.len() - 1].iter().rev() {
        let up = upsample(&cur, band.w, band.h);
        cur = Level {
            data: up.iter().zip(&band.data).map(|(a, b)| a + b).collect(),
            w: band.w,
            h: band.h,
        };
    }
    cur.data
}

/// Sliced Wasserstein distance between two equally sized point sets of dimension
/// `dim` (row-major `n·dim`): the mean, over `dirs` random unit directions repeated
/// `repeats` times, of the mean |sorted projections of a − sorted projections of b|.
pub fn sliced_wasserstein(
    a: &[f32],
    b: &[f32],
    dim: usize,
    dirs: usize,
    repeats: usize,
    rng: &mut impl Rng,
) -> f64 {
    let n = a.len() / dim;
    assert_eq!(b.len() / dim, n, "sliced_wasserstein needs equal set sizes");
    let mut total = 0.0;
    for _ in 0..repeats * dirs {
        let mut d: Vec<f32> = (0..dim).map(|_| crate::sampling::normal(rng)).collect();
        let norm = d.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        d.iter_mut().for_each(|v| *v /= norm);
        let proj = |s: &[f32]| {
            let mut p: Vec<f32> = s
                .chunks_exact(dim)
                .map(|r| r.iter().zip(&d).map(|(x, y)| x * y).sum())
                .collect();
            p.sort_by(f32::total_cmp);
            p
        };
        let (pa, pb) = (proj(a), proj(b));
        total += pa
            .iter()
            .zip(&pb)
            .map(|(x, y)| f64::from((x - y).abs()))
            .sum::<f64>()
            / n as f64;
    }
    total / (repeats * dirs) as f64
}

/// Samples `count` 7×7 patch descriptors (147 values) from one pyramid level of a set
/// of images, then normalises each channel to zero mean and unit variance over the
/// set, as Progressive GAN does.
fn descriptors(levels: &[&Level], count: usize, rng: &mut impl Rng) -> Vec<f32> {
    const P: usize = 7;
    let mut out = Vec::with_capacity(count * P * P * 3);
    for _ in 0..count {
        let l = levels[rng.random_range(0..levels.len())];
        let x0 = rng.random_range(0..=l.w.saturating_sub(P));
        let y0 = rng.random_range(0..=l.h.saturating_sub(P));
        for y in 0..P {
            for x in 0..P {
                let (xx, yy) = ((x0 + x).min(l.w - 1), (y0 + y).min(l.h - 1));
                let i = (yy * l.w + xx) * 3;
                out.extend_from_slice(&l.data[i..i + 3]);
            }
        }
    }
    for c in 0..3 {
        let vals = out.iter().skip(c).step_by(3);
        let n = (out.len() / 3) as f32;
        let mean = vals.clone().sum::<f32>() / n;
        let var = vals.map(|v| (v - mean).powi(2)).sum::<f32>() / n;
        let sd = var.sqrt().max(1e-8);
        out.iter_mut()
            .skip(c)
            .step_by(3)
            .for_each(|v| *v = (*v - mean) / sd);
    }
    out
}

/// Progressive GAN's SWD (×1e3, averaged over 3 Laplacian levels) between two sets of
/// same-sized or differently sized RGB images (`(data, w, h)`), using
/// `descriptors_per_level` 7×7 patches from each set per level. Deterministic for a seed.
pub fn swd(
    a: &[(Vec<f32>, usize, usize)],
    b: &[(Vec<f32>, usize, usize)],
    descriptors_per_level: usize,
    seed: u64,
) -> f64 {
    let levels = swd_levels(a, b, descriptors_per_level, seed);
    levels.iter().sum::<f64>() / levels.len() as f64
}

/// [`swd`] per Laplacian level (×1e3), finest band first, coarsest Gaussian level last:
/// shows whether a distance comes from texture (fine) or colour layout (coarse).
pub fn swd_levels(
    a: &[(Vec<f32>, usize, usize)],
    b: &[(Vec<f32>, usize, usize)],
    descriptors_per_level: usize,
    seed: u64,
) -> Vec<f64> {
    const LEVELS: usize = 3;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let pa: Vec<Vec<Level>> = a
        .iter()
        .map(|(d, w, h)| laplacian_pyramid(d, *w, *h, LEVELS))
        .collect();
    let pb: Vec<Vec<Level>> = b
        .iter()
        .map(|(d, w, h)| laplacian_pyramid(d, *w, *h, LEVELS))
        .collect();
    (0..LEVELS)
        .map(|lvl| {
            let la: Vec<&Level> = pa.iter().map(|p| &p[lvl]).collect();
            let lb: Vec<&Level> = pb.iter().map(|p| &p[lvl]).collect();
            let da = descriptors(&la, descriptors_per_level, &mut rng);
            let db = descriptors(&lb, descriptors_per_level, &mut rng);
            sliced_wasserstein(&da, &db, 147, 128, 4, &mut rng) * 1e3
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(w: usize, h: usize, v: f32) -> Vec<f32> {
        vec![v; w * h * 3]
    }

    #[test]
    fn blur_preserves_constant_and_mean() {
        let b = blur_rgb(&flat(20, 10, 0.3), 20, 10, 4.0);
        assert!(b.iter().all(|v| (v - 0.3).abs() < 1e-6));
    }

    #[test]
    fn faithfulness_of_flat_images_is_their_difference() {
        let f = faithfulness(&flat(16, 16, 0.2), &flat(16, 16, 0.5), 16, 16);
        assert!((f - 0.3).abs() < 1e-6, "{f}");
        assert_eq!(faithfulness(&flat(8, 8, 0.7), &flat(8, 8, 0.7), 8, 8), 0.0);
    }

    #[test]
    fn faithfulness_ignores_fine_detail() {
        // A 1-px checkerboard of mean 0.5 blurs to ≈ flat 0.5.
        let (w, h) = (32, 32);
        let check: Vec<f32> = (0..w * h)
            .flat_map(|i| {
                let v = if (i % w + i / w) % 2 == 0 { 0.0 } else { 1.0 };
                [v, v, v]
            })
            .collect();
        assert!(faithfulness(&check, &flat(w, h, 0.5), w, h) < 0.01);
    }

    #[test]
    fn diversity_known_answers() {
        assert_eq!(diversity(&[flat(4, 4, 0.0), flat(4, 4, 1.0)]), 1.0);
        let d = diversity(&[flat(4, 4, 0.0), flat(4, 4, 0.0), flat(4, 4, 1.0)]);
        assert!((d - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(diversity(&[flat(4, 4, 0.0)]), 0.0);
    }

    #[test]
    fn laplacian_pyramid_reconstructs_exactly() {
        let (w, h) = (23, 17);
        let img: Vec<f32> = (0..w * h * 3)
            .map(|i| ((i * 7919) % 255) as f32 / 255.0)
            .collect();
        let pyr = laplacian_pyramid(&img, w, h, 3);
        assert_eq!(pyr.len(), 3);
        assert_eq!((pyr[2].w, pyr[2].h), (6, 5));
        let back = reconstruct(&pyr);
        assert!(back.iter().zip(&img).all(|(a, b)| (a - b).abs() < 1e-5));
    }

    #[test]
    fn one_dimensional_swd_is_the_shift() {
        // In 1-D every unit direction is ±1, so SWD is exactly W1 = |shift|.
        let a: Vec<f32> = (0..100).map(|i| i as f32 * 0.01).collect();
        let b: Vec<f32> = a.iter().map(|v| v + 0.25).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let d = sliced_wasserstein(&a, &b, 1, 8, 1, &mut rng);
        assert!((d - 0.25).abs() < 1e-5, "{d}");
        assert!(sliced_wasserstein(&a, &a, 1, 8, 1, &mut rng) < 1e-9);
    }

    #[test]
    fn swd_is_zero_for_identical_sets_and_grows_with_difference() {
        let (w, h) = (32, 32);
        let noise: Vec<f32> = (0..w * h * 3)
            .map(|i| ((i * 7919 + 13) % 97) as f32 / 97.0)
            .collect();
        let smooth = blur_rgb(&noise, w, h, 2.0);
        let set_n = vec![(noise.clone(), w, h)];
        let set_s = vec![(smooth, w, h)];
        let same = swd(&set_n, &set_n, 256, 5);
        let diff = swd(&set_n, &set_s, 256, 5);
        assert!(same < diff, "same {same} diff {diff}");
    }
}
