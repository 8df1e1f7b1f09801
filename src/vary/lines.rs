//! Keeping the artist's line work through a variation.
//!
//! The generator learned from sketches whose dark edge lines are not in the
//! finished picture (the "flat colours with edges" style), so it treats thin
//! dark lines as sketch marks to remove: a 2 px ink line at work size comes
//! back as a faint grey dash, and on a large canvas the enlarged change fades
//! every line the artist drew. An artist sending line art wants the lines kept
//! and the rest varied.
//!
//! [`LineWork::find`] marks, once per canvas, the pixels that are part of thin
//! strokes: darker (or, away from dark strokes, lighter) than the surroundings
//! a morphological closing (opening) recovers within a window that grows with
//! the canvas's scale to work size. Broad shapes, their edges and gradients
//! are not marked, so the GAN stays free to change them. [`LineWork::keep`]
//! blends each variation back to the canvas by that coverage.
//!
//! Keeping the strokes alone leaves a light rim beside them on a large canvas:
//! the change that erased a line at work size spreads past its pixels when it
//! is scaled up. So [`LineWork::compose`] first mends the change at work size.
//! On and within [`MEND_RADIUS`] work pixels of a stroke, it takes the change
//! from the surroundings instead (a normalised convolution), which also
//! removes most of the dark shading the generator draws alongside lines. Amid
//! dense hatching, with little paper around to borrow from, the generator's
//! own change stays, so the variation is still a variation.
use image::RgbImage;

use super::resolution::{self, WORK_SIDE};
use crate::gan::metrics::blur_rgb;

/// Luma depth (0..1) below which a pixel is not line work, and above which it
/// is fully: paper grain and soft shading stay below the first, anti-aliased
/// stroke edges mostly above it.
///
/// A gradient beside a shape's edge also reaches some depth (its slope times
/// the window), which the first threshold keeps out for all but steep ramps.
const DEPTH_FROM: f32 = 0.05;
const DEPTH_FULL: f32 = 0.2;

/// Work-size pixels around a stroke whose change is taken from the surroundings.
pub const MEND_RADIUS: usize = 5;
/// σ (work-size pixels) of the surroundings the mended change is averaged over.
const MEND_SIGMA: f32 = 6.0;
/// Share of unmarked pixels in the surroundings from which the borrowed change
/// is trusted fully; below it the generator's own change takes over.
const MEND_MIN_SURROUNDINGS: f32 = 0.1;

/// Half-width (canvas pixels) of the window in which a stroke counts as thin:
/// strokes up to about twice this wide are kept. The generator erases lines up
/// to a few pixels wide at work size, which is `long side / WORK_SIDE` times
/// wider on the canvas.
pub fn line_radius(w: u32, h: u32) -> usize {
    let scale = (w.max(h) as f32 / WORK_SIDE as f32).max(1.0);
    (2.5 * scale).ceil() as usize
}

/// Per-pixel coverage (0..1) of the canvas's thin strokes.
#[derive(Clone, Debug)]
pub struct LineWork {
    w: u32,
    h: u32,
    coverage: Vec<f32>,
    /// [`mend_mask`] at the canvas's work size ([`resolution::work_size`]),
    /// made once: every variation of the canvas is mended with it.
    work_mask: Vec<f32>,
}

/// Where to mend a variation's change: the strokes' `coverage` (at the size
/// the generator saw, `w`×`h`) widened by [`MEND_RADIUS`].
fn mend_mask(coverage: &[f32], w: u32, h: u32) -> Vec<f32> {
    // Any part of a stroke in a pixel marks it: the generator saw the stroke there.
    let marked: Vec<f32> = coverage.iter().map(|c| (c * 4.0).min(1.0)).collect();
    extreme_2d(
        &marked,
        w as usize,
        h as usize,
        MEND_RADIUS,
        f32::max,
        f32::NEG_INFINITY,
    )
}

impl LineWork {
    /// Marks the thin strokes of `canvas` (see the module overview).
    pub fn find(canvas: &RgbImage) -> Self {
        let (w, h) = canvas.dimensions();
        if w == 0 || h == 0 {
            return Self {
                w,
                h,
                coverage: Vec::new(),
                work_mask: Vec::new(),
            };
        }
        let r = line_radius(w, h);
        let luma: Vec<f32> = canvas
            .pixels()
            .map(|p| {
                let [r, g, b] = p.0.map(f32::from);
                (0.299 * r + 0.587 * g + 0.114 * b) / 255.0
            })
            .collect();
        let (wu, hu) = (w as usize, h as usize);
        let max = |img: &[f32]| extreme_2d(img, wu, hu, r, f32::max, f32::NEG_INFINITY);
        let min = |img: &[f32]| extreme_2d(img, wu, hu, r, f32::min, f32::INFINITY);
        // Closing fills dark strokes narrower than the window with their
        // surroundings; opening removes light ones.
        let closed = min(&max(&luma));
        let opened = max(&min(&luma));
        let dark: Vec<f32> = luma
            .iter()
            .zip(&closed)
            .map(|(l, c)| smoothstep(c - l))
            .collect();
        // The paper between two dark lines closer than the window is a thin
        // light feature too; keeping it would stop the variation's change there
        // with a hard edge. So light strokes count only away from dark ones.
        let near_dark = max(&dark);
        let coverage = luma
            .iter()
            .zip(&opened)
            .zip(dark.iter().zip(&near_dark))
            .map(|((l, o), (d, near))| d.max(smoothstep(l - o) * (1.0 - near)))
            .collect();
        let coverage = image::ImageBuffer::<image::Luma<f32>, _>::from_raw(w, h, coverage)
            .expect("one coverage value per pixel");
        let at_work = resolution::to_work(&coverage);
        Self {
            w,
            h,
            work_mask: mend_mask(at_work.as_raw(), at_work.width(), at_work.height()),
            coverage: coverage.into_raw(),
        }
    }

    /// A variation made from `work_input` (the canvas at work size) on the
    /// canvas: its change mended around the strokes ([`Self::mend`]), brought to
    /// canvas size ([`resolution::to_canvas`]) and the strokes kept
    /// ([`Self::keep`]).
    pub fn compose(
        &self,
        canvas: &RgbImage,
        work_input: &RgbImage,
        mut variation: RgbImage,
    ) -> RgbImage {
        self.mend(work_input, &mut variation);
        let mut out = resolution::to_canvas(canvas, work_input, variation);
        self.keep(canvas, &mut out);
        out
    }

    /// Replaces the generator's change on and beside the strokes, at the size of
    /// `input` (what the generator saw), by the change around them.
    pub fn mend(&self, input: &RgbImage, variation: &mut RgbImage) {
        let (w, h) = input.dimensions();
        if variation.dimensions() != (w, h) || w == 0 || h == 0 {
            debug_assert!(false, "a variation of another size");
            return;
        }
        // The generator saw the canvas at work size, or (`atelier vary
        // --full-res`) at its own size.
        let mask = if (w, h) == resolution::work_size(self.w, self.h) {
            std::borrow::Cow::Borrowed(&self.work_mask)
        } else if (w, h) == (self.w, self.h) {
            std::borrow::Cow::Owned(mend_mask(&self.coverage, w, h))
        } else {
            debug_assert!(false, "an input neither at work nor at canvas size");
            return;
        };
        if mask.iter().all(|&m| m == 0.0) {
            return;
        }
        let change = resolution::change(input, variation);
        let weight: Vec<f32> = mask.iter().flat_map(|m| [1.0 - m; 3]).collect();
        let weighted: Vec<f32> = change.iter().zip(&weight).map(|(c, k)| c * k).collect();
        let (wu, hu) = (w as usize, h as usize);
        let num = blur_rgb(&weighted, wu, hu, MEND_SIGMA);
        let den = blur_rgb(&weight, wu, hu, MEND_SIGMA);
        for (i, (v, &inp)) in variation
            .as_mut()
            .iter_mut()
            .zip(input.as_raw())
            .enumerate()
        {
            let m = 1.0 - weight[i];
            if m > 0.0 {
                // Amid dense hatching there is little paper to borrow from, and
                // no change at all would hand back the canvas: the generator's
                // own change fills in for the missing surroundings.
                let trust = (den[i] / MEND_MIN_SURROUNDINGS).min(1.0);
                let around = if den[i] > 0.0 { num[i] / den[i] } else { 0.0 };
                let borrowed = around * trust + change[i] * (1.0 - trust);
                let mended = change[i] * weight[i] + borrowed * m;
                *v = (f32::from(inp) + mended).round().clamp(0.0, 255.0) as u8;
            }
        }
    }

    /// Coverage of pixel (x, y), 0..1.
    pub fn at(&self, x: u32, y: u32) -> f32 {
        self.coverage[(y * self.w + x) as usize]
    }

    /// Puts the canvas's line work back into `variation` (same size as the
    /// canvas this was found in): each pixel moves towards the canvas by its
    /// coverage.
    pub fn keep(&self, canvas: &RgbImage, variation: &mut RgbImage) {
        if variation.dimensions() != (self.w, self.h) || canvas.dimensions() != (self.w, self.h) {
            debug_assert!(false, "line work of another size");
            return;
        }
        for ((v, c), &k) in variation
            .pixels_mut()
            .zip(canvas.pixels())
            .zip(&self.coverage)
        {
            if k > 0.0 {
                for (vc, cc) in v.0.iter_mut().zip(c.0) {
                    let (a, b) = (f32::from(*vc), f32::from(cc));
                    *vc = (a + (b - a) * k).round().clamp(0.0, 255.0) as u8;
                }
            }
        }
    }
}

fn smoothstep(depth: f32) -> f32 {
    let t = ((depth - DEPTH_FROM) / (DEPTH_FULL - DEPTH_FROM)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// The running `pick` (max or min) over a square window of half-width `r`,
/// rows then columns (as rows of the transpose, which keeps memory access
/// sequential on large canvases); outside the image counts as `neutral`.
fn extreme_2d(
    img: &[f32],
    w: usize,
    h: usize,
    r: usize,
    pick: impl Fn(f32, f32) -> f32 + Copy,
    neutral: f32,
) -> Vec<f32> {
    let rows = |src: &[f32], width: usize| {
        let mut out = vec![0f32; src.len()];
        for (s, d) in src.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
            running_extreme(s, r, pick, neutral, d);
        }
        out
    };
    let across = rows(img, w);
    let down = rows(&transpose(&across, w, h), h);
    transpose(&down, h, w)
}

/// The `h`×`w` transpose of a `w`×`h` row-major image, in cache-sized tiles.
fn transpose(src: &[f32], w: usize, h: usize) -> Vec<f32> {
    const TILE: usize = 32;
    let mut out = vec![0f32; src.len()];
    for y0 in (0..h).step_by(TILE) {
        for x0 in (0..w).step_by(TILE) {
            for y in y0..(y0 + TILE).min(h) {
                for x in x0..(x0 + TILE).min(w) {
                    out[x * h + y] = src[y * w + x];
                }
            }
        }
    }
    out
}

/// van Herk / Gil–Werman: `out[i] = pick` over `src[i − r ..= i + r]` in O(n),
/// whatever `r`, from per-block prefix and suffix extremes of the input padded
/// with `neutral`.
/// Generic over `pick` so that it inlines: this runs ten times per pixel.
fn running_extreme(
    src: &[f32],
    r: usize,
    pick: impl Fn(f32, f32) -> f32,
    neutral: f32,
    out: &mut [f32],
) {
    let k = 2 * r + 1;
    let padded: Vec<f32> = std::iter::repeat_n(neutral, r)
        .chain(src.iter().copied())
        .chain(std::iter::repeat_n(neutral, r))
        .collect();
    let mut prefix = padded.clone();
    let mut suffix = padded.clone();
    for block in prefix.chunks_mut(k) {
        for i in 1..block.len() {
            block[i] = pick(block[i - 1], block[i]);
        }
    }
    for block in suffix.chunks_mut(k) {
        for i in (0..block.len() - 1).rev() {
            block[i] = pick(block[i + 1], block[i]);
        }
    }
    // The window of out[i] is padded[i ..= i + 2r].
    for (i, o) in out.iter_mut().enumerate() {
        *o = pick(suffix[i], prefix[i + 2 * r]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn fill(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| Rgb(f(x, y)))
    }

    #[test]
    fn the_2d_extreme_is_the_square_window_extreme() {
        let (w, h) = (13, 7);
        let img: Vec<f32> = (0..w * h).map(|i| ((i * 7919) % 31) as f32).collect();
        let out = extreme_2d(&img, w, h, 2, f32::min, f32::INFINITY);
        for y in 0..h {
            for x in 0..w {
                let want = (y.saturating_sub(2)..(y + 3).min(h))
                    .flat_map(|yy| (x.saturating_sub(2)..(x + 3).min(w)).map(move |xx| (xx, yy)))
                    .map(|(xx, yy)| img[yy * w + xx])
                    .fold(f32::INFINITY, f32::min);
                assert_eq!(out[y * w + x], want, "at ({x}, {y})");
            }
        }
    }

    #[test]
    fn the_running_extreme_is_the_window_extreme_at_every_position() {
        let src: Vec<f32> = (0..37).map(|i| ((i * 7919) % 23) as f32).collect();
        for r in [0, 1, 2, 5, 40] {
            let mut out = vec![0f32; src.len()];
            running_extreme(&src, r, f32::max, f32::NEG_INFINITY, &mut out);
            for (i, o) in out.iter().enumerate() {
                let window = &src[i.saturating_sub(r)..(i + r + 1).min(src.len())];
                let want = window.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                assert_eq!(*o, want, "r {r} at {i}");
            }
        }
    }

    #[test]
    fn a_thin_ink_line_erased_by_a_variation_comes_back() {
        // A 2 px black line on white paper; the variation erased it and tinted
        // the paper.
        let canvas = fill(
            64,
            64,
            |_, y| if y == 30 || y == 31 { [0; 3] } else { [255; 3] },
        );
        let mut variation = fill(64, 64, |_, _| [230, 240, 255]);
        let lines = LineWork::find(&canvas);
        lines.keep(&canvas, &mut variation);
        assert_eq!(variation.get_pixel(20, 30).0, [0, 0, 0]);
        assert_eq!(variation.get_pixel(20, 31).0, [0, 0, 0]);
        // Away from the line the variation's change stays.
        assert_eq!(variation.get_pixel(20, 10).0, [230, 240, 255]);
        assert_eq!(variation.get_pixel(20, 34).0, [230, 240, 255]);
    }

    #[test]
    fn a_thin_light_line_on_dark_paint_comes_back_too() {
        let canvas = fill(48, 48, |x, _| {
            if x == 20 {
                [250, 250, 240]
            } else {
                [20, 30, 40]
            }
        });
        let mut variation = fill(48, 48, |_, _| [40, 30, 20]);
        LineWork::find(&canvas).keep(&canvas, &mut variation);
        assert_eq!(variation.get_pixel(20, 5).0, [250, 250, 240]);
        assert_eq!(variation.get_pixel(30, 5).0, [40, 30, 20]);
    }

    #[test]
    fn the_paper_between_two_close_lines_is_not_a_light_line() {
        // Two ink lines 3 px apart: the gap between them is narrower than the window.
        let canvas = fill(
            64,
            64,
            |_, y| if y == 30 || y == 34 { [0; 3] } else { [255; 3] },
        );
        let lines = LineWork::find(&canvas);
        assert_eq!(lines.at(20, 30), 1.0);
        assert_eq!(lines.at(20, 34), 1.0);
        assert_eq!(lines.at(20, 32), 0.0, "the gap is paper, free to vary");
    }

    #[test]
    fn broad_shapes_their_edges_and_gradients_are_left_to_the_variation() {
        // A wide dark block on a left-to-right gradient (one level per pixel,
        // a ramp across half the image).
        let canvas = fill(128, 96, |x, y| {
            if (40..90).contains(&x) && (20..70).contains(&y) {
                [40, 40, 60]
            } else {
                let v = 60 + x as u8;
                [v, v, 200]
            }
        });
        let shifted = fill(128, 96, |x, y| {
            canvas.get_pixel(x, y).0.map(|c| c.saturating_add(30))
        });
        let mut variation = shifted.clone();
        let lines = LineWork::find(&canvas);
        lines.keep(&canvas, &mut variation);
        let marked: Vec<(u32, u32)> = (0..96)
            .flat_map(|y| (0..128).map(move |x| (x, y)))
            .filter(|&(x, y)| lines.at(x, y) > 0.0)
            .collect();
        assert!(marked.is_empty(), "marked as line work: {marked:?}");
        assert!(variation == shifted, "the variation changed");
    }

    #[test]
    fn the_change_beside_a_stroke_comes_from_its_surroundings() {
        // The generator brightened the paper by 20, erased the line and drew a
        // dark shadow along it, as the default model does.
        let on_line = |y: u32| y == 30 || y == 31;
        let canvas = fill(64, 64, |_, y| if on_line(y) { [0; 3] } else { [128; 3] });
        let variation = fill(64, 64, |_, y| match y {
            30 | 31 => [148; 3],
            28 | 29 | 32 | 33 => [88; 3],
            _ => [148; 3],
        });
        let out = LineWork::find(&canvas).compose(&canvas, &canvas, variation);
        for x in [0, 20, 63] {
            assert_eq!(out.get_pixel(x, 30).0, [0; 3], "the line as drawn");
            for y in [28, 29, 32, 33] {
                let v = out.get_pixel(x, y).0[0];
                assert!(
                    v.abs_diff(148) <= 2,
                    "({x}, {y}) is {v}, not the paper's change"
                );
            }
            assert_eq!(out.get_pixel(x, 10).0, [148; 3], "far away, untouched");
        }
    }

    #[test]
    fn dense_hatching_keeps_its_lines_and_the_paper_between_them_still_changes() {
        // 1 px lines every 4 px: every pixel is within the mend radius of one.
        let on_line = |x: u32, y: u32| x.is_multiple_of(4) || y.is_multiple_of(4);
        let canvas = fill(
            64,
            64,
            |x, y| if on_line(x, y) { [40; 3] } else { [220; 3] },
        );
        let variation = fill(64, 64, |_, _| [200; 3]);
        let out = LineWork::find(&canvas).compose(&canvas, &canvas, variation);
        assert_eq!(out.get_pixel(20, 21).0, [40; 3], "a line as drawn");
        for (x, y) in [(21, 21), (42, 39), (3, 62)] {
            let v = out.get_pixel(x, y).0[0];
            assert!(
                v.abs_diff(200) <= 2,
                "({x}, {y}) is {v}: the change is lost"
            );
        }
    }

    #[test]
    fn on_a_large_canvas_the_erased_line_leaves_no_light_rim() {
        // A 5 px line on a 2048² canvas is about one pixel at 512²; the
        // generator erased it there and brightened the paper by 10.
        let canvas = fill(2048, 64, |_, y| {
            if (30..35).contains(&y) {
                [0; 3]
            } else {
                [200; 3]
            }
        });
        let input = resolution::to_work(&canvas);
        let variation = fill(input.width(), input.height(), |_, _| [210; 3]);
        let lines = LineWork::find(&canvas);
        let rim = |img: &RgbImage| img.get_pixel(1000, 36).0[0];
        // Scaled up, the change that erased the line lightens the paper beside it…
        let mut plain = resolution::to_canvas(&canvas, &input, variation.clone());
        lines.keep(&canvas, &mut plain);
        assert!(rim(&plain) > 215, "rim {}", rim(&plain));
        // …unless it is mended first.
        let out = lines.compose(&canvas, &input, variation);
        assert!(rim(&out).abs_diff(210) <= 2, "rim {}", rim(&out));
        assert_eq!(out.get_pixel(1000, 32).0, [0; 3]);
        assert_eq!(out.get_pixel(1000, 5).0, [210; 3]);
    }

    #[test]
    fn the_window_grows_with_the_canvas_so_its_strokes_count_as_thin() {
        assert_eq!(line_radius(512, 300), 3);
        assert_eq!(line_radius(100, 80), 3);
        assert_eq!(line_radius(2048, 1024), 10);
        // A 12 px stroke is thin on a 2048 px canvas (3 px at work size)…
        let stroke = |w: u32| {
            fill(w, 64, |x, _| {
                if (100..112).contains(&x) {
                    [0; 3]
                } else {
                    [255; 3]
                }
            })
        };
        assert_eq!(LineWork::find(&stroke(2048)).at(105, 32), 1.0);
        // …but a shape on a 512 px one, which the generator sees as it is.
        assert_eq!(LineWork::find(&stroke(512)).at(105, 32), 0.0);
    }
}
