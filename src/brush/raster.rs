//! Rasterising dabs onto a surface.
//!
//! The coverage of a dab at distance `d` from its centre is
//! `clamp((r − d) / max(r·(1 − hardness), 1), 0, 1)`: a fully opaque core and a
//! linear falloff at least one pixel wide (so hard brushes are anti-aliased).
//! Masks are cached per (radius, hardness, sub-pixel offset quantised to ¼ px),
//! so a stroke of equal dabs computes its mask once and the per-pixel work is
//! an integer blend that the compiler vectorises.
//!
//! Blending is source-over on premultiplied RGBA8 in 16-bit fixed point:
//! `dst = src·a + dst·(1 − a)`; erasing is `dst = dst·(1 − a)`; with alpha
//! locked the colour is blended and alpha kept.
use std::collections::HashMap;
use std::sync::Arc;

use super::Dab;
use super::settings::BrushSettings;
use crate::document::history::PixelEdit;
use crate::document::{CanvasRect, TILE_SIZE, TileCoord, TileGrid};

/// Whether a dab adds paint or removes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaintMode {
    /// Source-over with the brush colour.
    Paint,
    /// Reduce alpha (the eraser is a blend mode).
    Erase,
}

/// What a dab deposits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paint {
    /// Straight sRGB colour.
    pub color: [u8; 3],
    /// Paint or erase.
    pub mode: PaintMode,
}

impl Paint {
    /// Paint of `color` for a brush (erasing if the brush is an eraser).
    pub fn new(color: [u8; 3], brush: &BrushSettings) -> Self {
        Self {
            color,
            mode: if brush.eraser {
                PaintMode::Erase
            } else {
                PaintMode::Paint
            },
        }
    }
}

/// Anything that can receive dabs: layer tiles, test recorders, benchmarks.
pub trait DabSurface {
    /// Stamps one dab.
    fn draw_dab(&mut self, dab: &Dab, paint: &Paint);
}

/// Coverage of one dab shape, in 1/256 steps (`0..=256`).
#[derive(Debug)]
struct Mask {
    /// Side of the square mask.
    side: u32,
    /// Distance from the mask's first column/row to the dab's pixel.
    reach: u32,
    cov: Vec<u16>,
    /// Per row, the columns `start..end` with non-zero coverage (a disc
    /// leaves a fifth of its square empty; skipping it is free speed).
    spans: Vec<(u32, u32)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct MaskKey {
    radius_q: u32,
    hardness_q: u16,
    fx: u8,
    fy: u8,
}

/// Sub-pixel positions are quantised to 1/SUBPIXEL.
const SUBPIXEL: f32 = 4.0;
/// Radii are quantised to 1/RADIUS_STEPS pixel.
const RADIUS_STEPS: f32 = 8.0;
/// Cache entries kept before the cache is cleared (pressure makes many radii).
const CACHE_LIMIT: usize = 1024;

/// Dab masks already computed; keep one per canvas view or per benchmark.
#[derive(Debug, Default)]
pub struct MaskCache {
    masks: HashMap<MaskKey, Arc<Mask>>,
}

impl MaskCache {
    fn get(&mut self, key: MaskKey) -> Arc<Mask> {
        if self.masks.len() >= CACHE_LIMIT {
            self.masks.clear();
        }
        self.masks
            .entry(key)
            .or_insert_with(|| Arc::new(build_mask(key)))
            .clone()
    }
}

/// Coverage at distance `d` from the centre of a dab of radius `r`.
pub fn coverage(d: f32, r: f32, hardness: f32) -> f32 {
    let soft = (r * (1.0 - hardness)).max(1.0);
    ((r - d) / soft).clamp(0.0, 1.0)
}

fn build_mask(key: MaskKey) -> Mask {
    let r = key.radius_q as f32 / RADIUS_STEPS;
    let h = key.hardness_q as f32 / 1000.0;
    let (fx, fy) = (key.fx as f32 / SUBPIXEL, key.fy as f32 / SUBPIXEL);
    let reach = r.ceil() as u32 + 1;
    let side = 2 * reach + 1;
    let mut cov = Vec::with_capacity((side * side) as usize);
    for j in 0..side {
        // Pixel centre relative to the dab centre.
        let dy = j as f32 - reach as f32 + 0.5 - fy;
        for i in 0..side {
            let dx = i as f32 - reach as f32 + 0.5 - fx;
            let c = coverage((dx * dx + dy * dy).sqrt(), r, h);
            cov.push((c * 256.0).round() as u16);
        }
    }
    let spans = cov
        .chunks_exact(side as usize)
        .map(|row| {
            let start = row.iter().position(|&c| c > 0).unwrap_or(0) as u32;
            let end = row.iter().rposition(|&c| c > 0).map_or(0, |e| e as u32 + 1);
            (start, end.max(start))
        })
        .collect();
    Mask {
        side,
        reach,
        cov,
        spans,
    }
}

/// A layer's tiles as a dab surface, recording touched tiles for undo.
pub struct LayerSurface<'a> {
    grid: &'a mut TileGrid,
    edit: Option<&'a mut PixelEdit>,
    cache: &'a mut MaskCache,
    lock_alpha: bool,
}

impl<'a> LayerSurface<'a> {
    /// Paints into `grid`; with `edit`, every tile is snapshotted before its
    /// first change so the stroke can be undone.
    pub fn new(
        grid: &'a mut TileGrid,
        edit: Option<&'a mut PixelEdit>,
        cache: &'a mut MaskCache,
        lock_alpha: bool,
    ) -> Self {
        Self {
            grid,
            edit,
            cache,
            lock_alpha,
        }
    }
}

impl DabSurface for LayerSurface<'_> {
    fn draw_dab(&mut self, dab: &Dab, paint: &Paint) {
        if dab.alpha <= 0.0 || dab.radius <= 0.0 || !dab.x.is_finite() || !dab.y.is_finite() {
            return;
        }
        // Quantise the centre to ¼ px, carrying into the integer part.
        let qx = (dab.x * SUBPIXEL).round();
        let qy = (dab.y * SUBPIXEL).round();
        let (ix, iy) = (
            (qx / SUBPIXEL).floor() as i64,
            (qy / SUBPIXEL).floor() as i64,
        );
        let key = MaskKey {
            radius_q: (dab.radius * RADIUS_STEPS).round().max(1.0) as u32,
            hardness_q: (dab.hardness.clamp(0.0, 1.0) * 1000.0).round() as u16,
            fx: qx.rem_euclid(SUBPIXEL) as u8,
            fy: qy.rem_euclid(SUBPIXEL) as u8,
        };
        let mask = self.cache.get(key);
        let x0 = ix - mask.reach as i64;
        let y0 = iy - mask.reach as i64;
        // Clip the mask's square to the canvas.
        let cx0 = x0.max(0);
        let cy0 = y0.max(0);
        let cx1 = (x0 + mask.side as i64).min(self.grid.width() as i64);
        let cy1 = (y0 + mask.side as i64).min(self.grid.height() as i64);
        if cx1 <= cx0 || cy1 <= cy0 {
            return;
        }
        let rect = CanvasRect::new(
            cx0 as u32,
            cy0 as u32,
            (cx1 - cx0) as u32,
            (cy1 - cy0) as u32,
        );
        let alpha = (dab.alpha.clamp(0.0, 1.0) * 65536.0).round() as u32;
        let color = paint.color.map(u32::from);
        for c in rect.tiles() {
            let part = rect.intersect(&c.rect());
            if let Some(edit) = self.edit.as_deref_mut() {
                edit.touch(self.grid, c);
            }
            let tile = self.grid.tile_mut(TileCoord::new(c.tx, c.ty));
            for y in part.y..part.bottom() {
                let my = (y as i64 - y0) as u32;
                // Clip the row to the mask's non-empty span.
                let (s0, s1) = mask.spans[my as usize];
                let x_start = (part.x as i64).max(x0 + s0 as i64);
                let x_end = (part.right() as i64).min(x0 + s1 as i64);
                if x_end <= x_start {
                    continue;
                }
                let n = (x_end - x_start) as usize;
                let m0 = (my * mask.side) as usize + (x_start - x0) as usize;
                let mrow = &mask.cov[m0..m0 + n];
                let t0 = ((y % TILE_SIZE) * TILE_SIZE + x_start as u32 % TILE_SIZE) as usize * 4;
                let trow = &mut tile.px[t0..t0 + n * 4];
                blend_row(trow, mrow, alpha, color, paint.mode, self.lock_alpha);
            }
        }
    }
}

/// Blends one row, with the fastest kernel this CPU runs.
fn blend_row(
    px: &mut [u8],
    mask: &[u16],
    alpha: u32,
    color: [u32; 3],
    mode: PaintMode,
    lock_alpha: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { blend_row_avx2(px, mask, alpha, color, mode, lock_alpha) };
        return;
    }
    blend_row_portable(px, mask, alpha, color, mode, lock_alpha);
}

/// The same kernel compiled for AVX2 (8 × 32-bit lanes with `vpmulld`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn blend_row_avx2(
    px: &mut [u8],
    mask: &[u16],
    alpha: u32,
    color: [u32; 3],
    mode: PaintMode,
    lock_alpha: bool,
) {
    blend_row_portable(px, mask, alpha, color, mode, lock_alpha);
}

#[inline(always)]
fn blend_row_portable(
    px: &mut [u8],
    mask: &[u16],
    alpha: u32,
    color: [u32; 3],
    mode: PaintMode,
    lock_alpha: bool,
) {
    let (pixels, _) = px.as_chunks_mut::<4>();
    match (mode, lock_alpha) {
        (PaintMode::Paint, false) => paint_row(pixels, mask, alpha, color),
        (PaintMode::Paint, true) => paint_row_locked(pixels, mask, alpha, color),
        (PaintMode::Erase, false) => erase_row(pixels, mask, alpha),
        // Erasing keeps alpha when it is locked: nothing to do.
        (PaintMode::Erase, true) => {}
    }
}

#[inline(always)]
fn mix(src: u32, dst: u8, a: u32) -> u8 {
    ((src * a + dst as u32 * (65536 - a) + 32768) >> 16) as u8
}

#[inline(always)]
fn paint_row(px: &mut [[u8; 4]], mask: &[u16], alpha: u32, c: [u32; 3]) {
    for (p, &m) in px.iter_mut().zip(mask) {
        let a = (m as u32 * alpha) >> 8;
        *p = [
            mix(c[0], p[0], a),
            mix(c[1], p[1], a),
            mix(c[2], p[2], a),
            mix(255, p[3], a),
        ];
    }
}

#[inline(always)]
fn paint_row_locked(px: &mut [[u8; 4]], mask: &[u16], alpha: u32, c: [u32; 3]) {
    for (p, &m) in px.iter_mut().zip(mask) {
        let a = (m as u32 * alpha) >> 8;
        // Premultiply the colour by the pixel's own (kept) alpha.
        let pa = p[3] as u32;
        let pre = |v: u32| (v * pa * 257 + 32768) >> 16;
        *p = [
            mix(pre(c[0]), p[0], a),
            mix(pre(c[1]), p[1], a),
            mix(pre(c[2]), p[2], a),
            p[3],
        ];
    }
}

#[inline(always)]
fn erase_row(px: &mut [[u8; 4]], mask: &[u16], alpha: u32) {
    for (p, &m) in px.iter_mut().zip(mask) {
        let a = (m as u32 * alpha) >> 8;
        *p = p.map(|v| mix(0, v, a));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paint_dab(grid: &mut TileGrid, dab: Dab, paint: Paint, lock: bool) {
        let mut cache = MaskCache::default();
        LayerSurface::new(grid, None, &mut cache, lock).draw_dab(&dab, &paint);
    }

    const RED: Paint = Paint {
        color: [255, 0, 0],
        mode: PaintMode::Paint,
    };

    #[test]
    fn coverage_matches_its_formula() {
        assert_eq!(coverage(0.0, 10.0, 0.5), 1.0);
        assert_eq!(coverage(5.0, 10.0, 0.5), 1.0);
        assert!((coverage(7.5, 10.0, 0.5) - 0.5).abs() < 1e-6);
        assert_eq!(coverage(10.0, 10.0, 0.5), 0.0);
        // Hard brushes still get a one-pixel anti-aliased edge.
        assert!((coverage(9.5, 10.0, 1.0) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn opaque_dab_fills_its_core_and_nothing_far_away() {
        let mut g = TileGrid::new(128, 128);
        let dab = Dab {
            x: 64.0,
            y: 64.0,
            radius: 10.0,
            hardness: 0.5,
            alpha: 1.0,
        };
        paint_dab(&mut g, dab, RED, false);
        assert_eq!(g.pixel(64, 64), [255, 0, 0, 255]);
        assert_eq!(g.pixel(64, 76), [0; 4]);
        // Half-alpha at 7.5 px from the centre (pixel centre 71.5 → 7.5 px).
        let p = g.pixel(71, 64);
        assert!((p[3] as i32 - 128).abs() <= 1, "{p:?}");
    }

    #[test]
    fn half_alpha_over_blue_is_the_source_over_formula() {
        let mut g = TileGrid::new(64, 64);
        g.fill([0, 0, 255, 255]);
        let dab = Dab {
            x: 32.0,
            y: 32.0,
            radius: 8.0,
            hardness: 1.0,
            alpha: 0.5,
        };
        paint_dab(&mut g, dab, RED, false);
        assert_eq!(g.pixel(32, 32), [128, 0, 128, 255]);
    }

    #[test]
    fn eraser_and_alpha_lock() {
        let mut g = TileGrid::new(64, 64);
        g.fill([0, 0, 200, 200]);
        let dab = Dab {
            x: 32.0,
            y: 32.0,
            radius: 8.0,
            hardness: 1.0,
            alpha: 1.0,
        };
        let erase = Paint {
            color: [0; 3],
            mode: PaintMode::Erase,
        };
        paint_dab(&mut g, dab, erase, false);
        assert_eq!(g.pixel(32, 32), [0; 4]);
        let mut g = TileGrid::new(64, 64);
        g.fill([0, 0, 200, 200]);
        paint_dab(&mut g, dab, RED, true);
        assert_eq!(
            g.pixel(32, 32),
            [200, 0, 0, 200],
            "colour changes, alpha kept"
        );
        assert_eq!(g.pixel(0, 0), [0, 0, 200, 200]);
    }

    #[test]
    fn dabs_at_the_canvas_edge_are_clipped() {
        let mut g = TileGrid::new(70, 70);
        for (x, y) in [(-1.0, -1.0), (69.5, 69.5), (-100.0, 5.0), (f32::NAN, 1.0)] {
            let dab = Dab {
                x,
                y,
                radius: 6.0,
                hardness: 0.8,
                alpha: 1.0,
            };
            paint_dab(&mut g, dab, RED, false);
        }
        assert_eq!(g.pixel(0, 0)[3], 255);
        assert_eq!(g.pixel(69, 69)[3], 255);
    }
}
