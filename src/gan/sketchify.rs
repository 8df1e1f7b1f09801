//! "Sketchify": turns a finished image into a rough canvas of the kind an artist
//! sends to the GAN. Training pairs are (sketchify(crop), crop), so the generator
//! learns to turn rough canvases into finished-looking ones.
//!
//! Images here are interleaved RGB `f32` in [0, 1] (`Vec<f32>` of `w·h·3`), the
//! same convention as [`super::metrics`].
use super::metrics::blur_rgb;
use rand::Rng;

/// The sketch styles; one is picked at random per training pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Gaussian blur then posterise to a few levels per channel.
    BlurPosterize,
    /// Mild blur then a k-means palette of 4–8 colours.
    KMeansPalette,
    /// Box-downscale by 4–8× then nearest-neighbour upscale.
    LowRes,
    /// Flat k-means colours plus dark edges from the luminance gradient.
    FlatEdges,
    /// A heavily blurred base with rough random strokes in the image's colours.
    RoughStrokes,
}

/// All styles, for uniform sampling.
pub const ALL_STYLES: [Style; 5] = [
    Style::BlurPosterize,
    Style::KMeansPalette,
    Style::LowRes,
    Style::FlatEdges,
    Style::RoughStrokes,
];

/// Applies `style` to `img` (`w·h·3`, [0, 1]).
pub fn sketchify(img: &[f32], w: usize, h: usize, style: Style, rng: &mut impl Rng) -> Vec<f32> {
    match style {
        Style::BlurPosterize => {
            let sigma = rng.random_range(1.0..3.0);
            let levels = rng.random_range(3..=6) as f32;
            blur_rgb(img, w, h, sigma)
                .into_iter()
                .map(|v| (v * (levels - 1.0)).round() / (levels - 1.0))
                .collect()
        }
        Style::KMeansPalette => {
            let k = rng.random_range(4..=8);
            let b = blur_rgb(img, w, h, 1.0);
            kmeans_quantize(&b, k, rng)
        }
        Style::LowRes => {
            let f = rng.random_range(4..=8);
            low_res(img, w, h, f)
        }
        Style::FlatEdges => {
            let k = rng.random_range(5..=8);
            let b = blur_rgb(img, w, h, 2.0);
            let mut flat = kmeans_quantize(&b, k, rng);
            let thr = rng.random_range(0.08..0.16);
            for y in 0..h {
                for x in 0..w {
                    let lum = |xx: usize, yy: usize| {
                        let i = (yy * w + xx) * 3;
                        0.299 * b[i] + 0.587 * b[i + 1] + 0.114 * b[i + 2]
                    };
                    let (xl, xr) = (x.saturating_sub(1), (x + 1).min(w - 1));
                    let (yu, yd) = (y.saturating_sub(1), (y + 1).min(h - 1));
                    let gx = lum(xr, y) - lum(xl, y);
                    let gy = lum(x, yd) - lum(x, yu);
                    if (gx * gx + gy * gy).sqrt() > thr {
                        let i = (y * w + x) * 3;
                        for c in 0..3 {
                            flat[i + c] *= 0.2;
                        }
                    }
                }
            }
            flat
        }
        Style::RoughStrokes => rough_strokes(img, w, h, rng),
    }
}

/// k-means (a few Lloyd iterations on a pixel sample) and mapping to the palette.
fn kmeans_quantize(img: &[f32], k: usize, rng: &mut impl Rng) -> Vec<f32> {
    let n = img.len() / 3;
    let px = |i: usize| [img[i * 3], img[i * 3 + 1], img[i * 3 + 2]];
    let sample: Vec<[f32; 3]> = (0..n.min(1024))
        .map(|_| px(rng.random_range(0..n)))
        .collect();
    let mut centers: Vec<[f32; 3]> = (0..k)
        .map(|_| sample[rng.random_range(0..sample.len())])
        .collect();
    let nearest = |p: &[f32; 3], centers: &[[f32; 3]]| {
        let mut best = (f32::MAX, 0);
        for (j, c) in centers.iter().enumerate() {
            let d = (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2) + (p[2] - c[2]).powi(2);
            if d < best.0 {
                best = (d, j);
            }
        }
        best.1
    };
    for _ in 0..6 {
        let mut sum = vec![[0f32; 4]; k];
        for p in &sample {
            let j = nearest(p, &centers);
            for c in 0..3 {
                sum[j][c] += p[c];
            }
            sum[j][3] += 1.0;
        }
        for (c, s) in centers.iter_mut().zip(&sum) {
            if s[3] > 0.0 {
                *c = [s[0] / s[3], s[1] / s[3], s[2] / s[3]];
            }
        }
    }
    let mut out = Vec::with_capacity(img.len());
    for i in 0..n {
        out.extend_from_slice(&centers[nearest(&px(i), &centers)]);
    }
    out
}

/// Box-average over `f×f` blocks, then replicate each block (nearest upscale).
fn low_res(img: &[f32], w: usize, h: usize, f: usize) -> Vec<f32> {
    let mut out = vec![0f32; img.len()];
    for by in (0..h).step_by(f) {
        for bx in (0..w).step_by(f) {
            let (ye, xe) = ((by + f).min(h), (bx + f).min(w));
            let mut acc = [0f32; 3];
            for y in by..ye {
                for x in bx..xe {
                    for c in 0..3 {
                        acc[c] += img[(y * w + x) * 3 + c];
                    }
                }
            }
            let cnt = ((ye - by) * (xe - bx)) as f32;
            for y in by..ye {
                for x in bx..xe {
                    for c in 0..3 {
                        out[(y * w + x) * 3 + c] = acc[c] / cnt;
                    }
                }
            }
        }
    }
    out
}

/// A blurred base with thick straight strokes coloured from the (lightly blurred)
/// image at the stroke's start, like a quick colour study.
fn rough_strokes(img: &[f32], w: usize, h: usize, rng: &mut impl Rng) -> Vec<f32> {
    let mut out = blur_rgb(img, w, h, (w.min(h) as f32 / 10.0).max(2.0));
    let colour_src = blur_rgb(img, w, h, 1.5);
    let side = w.min(h) as f32;
    let strokes = ((w * h) as f32 / 60.0).sqrt() as usize + 20;
    for _ in 0..strokes {
        let (x0, y0) = (
            rng.random_range(0.0..w as f32),
            rng.random_range(0.0..h as f32),
        );
        let i0 = ((y0 as usize).min(h - 1) * w + (x0 as usize).min(w - 1)) * 3;
        let col = [colour_src[i0], colour_src[i0 + 1], colour_src[i0 + 2]];
        let angle = rng.random_range(0.0..std::f32::consts::TAU);
        let len = rng.random_range(0.05..0.25) * side;
        let radius = rng.random_range(1.0..(side / 20.0).max(1.5));
        let steps = (len / (radius * 0.5)).ceil().max(1.0) as usize;
        for s in 0..=steps {
            let t = s as f32 / steps as f32 * len;
            let (cx, cy) = (x0 + angle.cos() * t, y0 + angle.sin() * t);
            let r = radius.ceil() as i64;
            for dy in -r..=r {
                for dx in -r..=r {
                    let (px, py) = (cx as i64 + dx, cy as i64 + dy);
                    if px < 0 || py < 0 || px >= w as i64 || py >= h as i64 {
                        continue;
                    }
                    if ((dx * dx + dy * dy) as f32) <= radius * radius {
                        let i = (py as usize * w + px as usize) * 3;
                        out[i..i + 3].copy_from_slice(&col);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_style_keeps_size_and_range() {
        let (w, h) = (40, 24);
        let img: Vec<f32> = (0..w * h * 3)
            .map(|i| ((i * 37) % 101) as f32 / 100.0)
            .collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for s in ALL_STYLES {
            let out = sketchify(&img, w, h, s, &mut rng);
            assert_eq!(out.len(), img.len(), "{s:?}");
            assert!(out.iter().all(|v| (-1e-4..=1.0001).contains(v)), "{s:?}");
        }
    }

    #[test]
    fn posterize_of_flat_image_is_flat() {
        let img = vec![0.5f32; 16 * 16 * 3];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let out = sketchify(&img, 16, 16, Style::LowRes, &mut rng);
        assert!(out.iter().all(|v| (v - 0.5).abs() < 1e-5));
    }
}
