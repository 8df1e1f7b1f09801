//! Ink lines for training pairs: the same thin strokes drawn on a sketch and on
//! its target, so the generator learns that line work an artist inks over a
//! rough canvas belongs in the finished picture.
//!
//! Without them, the only thin dark lines it ever sees are the "flat colours
//! with edges" sketch's edge lines, which the target lacks; so it learned to
//! erase every thin dark line (BENCHMARKS.md, "Line work through a variation").
//! Ink lines cross colour regions wherever they like, where those edge lines
//! follow colour boundaries, so the two are told apart.
//!
//! Images are interleaved RGB `f32` in [0, 1] (`w·h·3`), as in
//! [`super::sketchify`].
use rand::Rng;

/// Draws 1–4 random anti-aliased curves (quadratic Béziers, 0.8–2.5 px wide, in
/// a dark ink colour) onto every image of `images`, at the same places.
pub fn draw_ink_lines(images: &mut [&mut [f32]], w: usize, h: usize, rng: &mut impl Rng) {
    if w == 0 || h == 0 {
        return;
    }
    let (wf, hf) = (w as f32, h as f32);
    for _ in 0..rng.random_range(1..=4) {
        let mut point = || {
            [
                rng.random_range(-0.1..1.1) * wf,
                rng.random_range(-0.1..1.1) * hf,
            ]
        };
        let (p0, p1, p2) = (point(), point(), point());
        let half_width = rng.random_range(0.4..1.25f32);
        let darkness = rng.random_range(0.0..0.2f32);
        let tint: [f32; 3] = std::array::from_fn(|_| darkness + rng.random_range(0.0..0.08));
        // A polyline fine enough that its segments are shorter than a pixel's width.
        let length = dist(p0, p1) + dist(p1, p2);
        let segments = ((length / 2.0).ceil() as usize).clamp(1, 4096);
        let at = |t: f32| {
            let u = 1.0 - t;
            std::array::from_fn::<f32, 2, _>(|k| {
                u * u * p0[k] + 2.0 * u * t * p1[k] + t * t * p2[k]
            })
        };
        let mut coverage = vec![0.0f32; w * h];
        for s in 0..segments {
            let (a, b) = (
                at(s as f32 / segments as f32),
                at((s + 1) as f32 / segments as f32),
            );
            stamp_segment(&mut coverage, w, h, a, b, half_width);
        }
        for img in images.iter_mut() {
            for (px, &c) in img.chunks_exact_mut(3).zip(&coverage) {
                if c > 0.0 {
                    for (v, t) in px.iter_mut().zip(tint) {
                        *v += (t - *v) * c;
                    }
                }
            }
        }
    }
}

fn dist(a: [f32; 2], b: [f32; 2]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// Raises `coverage` to the anti-aliased coverage of a segment `half_width`
/// px either side of a→b (one pixel of soft edge).
fn stamp_segment(
    coverage: &mut [f32],
    w: usize,
    h: usize,
    a: [f32; 2],
    b: [f32; 2],
    half_width: f32,
) {
    let pad = half_width + 1.0;
    let x0 = (a[0].min(b[0]) - pad).floor().max(0.0) as usize;
    let y0 = (a[1].min(b[1]) - pad).floor().max(0.0) as usize;
    let x1 = ((a[0].max(b[0]) + pad).ceil().max(0.0) as usize).min(w);
    let y1 = ((a[1].max(b[1]) + pad).ceil().max(0.0) as usize).min(h);
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = (dx * dx + dy * dy).max(1e-6);
    for y in y0..y1 {
        for x in x0..x1 {
            // Pixel centres, in the pixel space of `a` and `b`.
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let t = (((px - a[0]) * dx + (py - a[1]) * dy) / len2).clamp(0.0, 1.0);
            let d = dist([px, py], [a[0] + t * dx, a[1] + t * dy]);
            let c = (half_width + 0.5 - d).clamp(0.0, 1.0);
            let cell = &mut coverage[y * w + x];
            *cell = cell.max(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn the_same_dark_thin_lines_go_on_every_image() {
        let (w, h) = (64, 64);
        let mut fully_inked = 0;
        for seed in 0..8 {
            let mut sketch = vec![0.8f32; w * h * 3];
            let mut target: Vec<f32> = (0..w * h * 3)
                .map(|i| (i % 7) as f32 / 10.0 + 0.3)
                .collect();
            let (mut white, mut black) = (vec![1.0f32; w * h * 3], vec![0.0f32; w * h * 3]);
            let before = target.clone();
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let images: &mut [&mut [f32]] = &mut [&mut sketch, &mut target, &mut white, &mut black];
            draw_ink_lines(images, w, h, &mut rng);
            let touched: Vec<usize> = (0..w * h).filter(|&i| white[i * 3] < 1.0).collect();
            assert!(!touched.is_empty(), "no line drawn");
            // Thin: a handful of curves of a few px never cover most of the crop.
            assert!(
                touched.len() < w * h / 3,
                "{} of {} px inked",
                touched.len(),
                w * h
            );
            // Where white and black paper came out alike, the ink covers them (all
            // but 2%): the sketch and the target are that same dark ink there.
            for i in (0..w * h * 3).filter(|&i| (white[i] - black[i]).abs() < 0.02) {
                if white[i / 3 * 3] < 1.0 {
                    fully_inked += 1;
                    assert!(white[i] < 0.3, "ink, not paint: {}", white[i]);
                    assert!((sketch[i] - white[i]).abs() < 0.02);
                    assert!((target[i] - white[i]).abs() < 0.02);
                }
            }
            // Off the lines the images are untouched.
            for i in (0..w * h).filter(|i| !touched.contains(i)) {
                assert_eq!(target[i * 3..i * 3 + 3], before[i * 3..i * 3 + 3]);
            }
        }
        assert!(fully_inked > 0, "no pixel fully inked");
    }
}
