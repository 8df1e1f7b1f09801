//! Rasterising dabs onto a surface.
//!
//! A dab is its mask ([`super::mask`]: coverage per pixel, cached per shape
//! and sub-pixel phase) blended into the layer's tiles ([`super::kernel`]).
//! Faint dabs (alpha below [`DEEP_ALPHA`]) blend through 16-bit copies of the
//! tiles ([`super::deep`]) so that a low-flow brush builds up smoothly instead
//! of in 8-bit steps.
//!
//! The dab loop is memory-bound when dabs land far apart (a 4096² layer is
//! 64 MiB, larger than the caches): the cache lines a dab will touch are
//! requested ahead of the blending (the first rows of each tile before any
//! is blended, the rest a few rows ahead), so the misses overlap instead of
//! coming one row at a time.
use super::Dab;
use super::deep::DeepTiles;
use super::kernel::{self, Blend, Part};
use super::mask::{Masks, SUBPIXEL, Shape};
use super::settings::BrushSettings;
use crate::document::history::PixelEdit;
use crate::document::{CanvasRect, TileGrid};

pub use super::mask::coverage;

/// Dabs with less alpha than this blend at 16 bits per channel. Their
/// increments are a few levels, so rounding each dab to 8 bits (up to half a
/// level) adds up over the overlapping dabs into a visible ripple (±1.5–2.8
/// levels for the soft airbrush, `tests/brush_ripple.rs`). Above it the
/// increments are large and the error stays within 1–3 levels of exact
/// compositing without banding, and the 8-bit kernel is 3–5× faster.
pub const DEEP_ALPHA: f32 = 0.25;

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

/// Dab masks and 16-bit tile copies kept between dabs; keep one per canvas
/// view or per benchmark.
#[derive(Debug, Default)]
pub struct MaskCache {
    masks: Masks,
    deep: DeepTiles,
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
        // Quantise the centre to ¼ px, carrying into the integer part (the
        // casts saturate, and a far-off dab is clipped away below).
        let s = SUBPIXEL as i64;
        let qx = (dab.x * SUBPIXEL).round() as i64;
        let qy = (dab.y * SUBPIXEL).round() as i64;
        let MaskCache { masks, deep } = &mut *self.cache;
        let mask = masks.get(
            Shape::new(dab.radius, dab.hardness),
            qx.rem_euclid(s) as u32,
            qy.rem_euclid(s) as u32,
        );
        let x0 = qx.div_euclid(s) - mask.reach as i64;
        let y0 = qy.div_euclid(s) - mask.reach as i64;
        // Clip the mask's square to the canvas.
        let cx0 = x0.max(0);
        let cy0 = y0.max(0);
        let cx1 = x0
            .saturating_add(mask.side as i64)
            .min(self.grid.width() as i64);
        let cy1 = y0
            .saturating_add(mask.side as i64)
            .min(self.grid.height() as i64);
        if cx1 <= cx0 || cy1 <= cy0 {
            return;
        }
        let rect = CanvasRect::new(
            cx0 as u32,
            cy0 as u32,
            (cx1 - cx0) as u32,
            (cy1 - cy0) as u32,
        );
        let alpha = dab.alpha.clamp(0.0, 1.0);
        let blend = Blend {
            alpha: (alpha * 65536.0).round() as u32,
            color: paint.color.map(u32::from),
            mode: paint.mode,
            lock_alpha: self.lock_alpha,
        };
        // The first rows of every tile the dab touches are asked for before
        // any is blended; the kernels ask for the rest a few rows ahead.
        for c in rect.tiles() {
            if let Some(t) = self.grid.tile(c) {
                let mut first_rows = rect.intersect(&c.rect());
                first_rows.h = first_rows.h.min(kernel::PREFETCH_ROWS);
                kernel::prefetch(&t.px, &first_rows);
            }
        }
        for c in rect.tiles() {
            let part = Part {
                mask,
                x0,
                y0,
                rect: rect.intersect(&c.rect()),
            };
            if let Some(edit) = self.edit.as_deref_mut() {
                edit.touch(self.grid, c);
            }
            if alpha < DEEP_ALPHA {
                let slot = deep.open(self.grid.revision(c), self.grid.tile(c).map(|t| &**t));
                let tile = self.grid.tile_mut(c);
                kernel::blend16(deep.pixels(slot), &mut tile.px, &part, &blend);
                deep.file(slot, self.grid.revision(c));
            } else {
                kernel::blend8(&mut self.grid.tile_mut(c).px, &part, &blend);
            }
        }
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

    /// Faint dabs laid along a slanted line, the same for every test below.
    fn faint_dabs() -> Vec<Dab> {
        (0..150)
            .map(|i| Dab {
                x: 40.0 + i as f32 * 3.7,
                y: 60.0 + i as f32 * 0.13,
                radius: 30.0,
                hardness: 0.2,
                alpha: 0.06,
            })
            .collect()
    }

    #[test]
    fn faint_dabs_stay_within_rounding_of_exact_compositing() {
        let paint = Paint {
            color: [200, 100, 50],
            mode: PaintMode::Paint,
        };
        let (w, h) = (640usize, 128usize);
        let mut g = TileGrid::new(w as u32, h as u32);
        let mut cache = MaskCache::default();
        let mut exact = vec![[0f64; 4]; w * h];
        let mut masks = Masks::default();
        for d in faint_dabs() {
            LayerSurface::new(&mut g, None, &mut cache, false).draw_dab(&d, &paint);
            // The same mask and alpha, composited in f64 without rounding.
            let (qx, qy) = ((d.x * 4.0).round() as i64, (d.y * 4.0).round() as i64);
            let m = masks.get(
                Shape::new(d.radius, d.hardness),
                qx as u32 % 4,
                qy as u32 % 4,
            );
            let (x0, y0) = (qx / 4 - m.reach as i64, qy / 4 - m.reach as i64);
            for (j, row) in m.cov.chunks_exact(m.side as usize).enumerate() {
                for (i, &c) in row.iter().enumerate() {
                    let (x, y) = (x0 + i as i64, y0 + j as i64);
                    if (0..w as i64).contains(&x) && (0..h as i64).contains(&y) {
                        let a = c as f64 / 256.0 * d.alpha as f64;
                        let p = &mut exact[y as usize * w + x as usize];
                        for (v, s) in p.iter_mut().zip([200.0, 100.0, 50.0, 255.0]) {
                            *v = s * a + *v * (1.0 - a);
                        }
                    }
                }
            }
        }
        for y in 0..h {
            for x in 0..w {
                let (p, q) = (g.pixel(x as u32, y as u32), exact[y * w + x]);
                for c in 0..4 {
                    // Half a level of the final rounding, plus the 16-bit
                    // steps of ~100 dabs.
                    assert!(
                        (p[c] as f64 - q[c]).abs() <= 0.52,
                        "({x}, {y}) channel {c}: {} vs exact {:.3}",
                        p[c],
                        q[c]
                    );
                }
            }
        }
    }

    #[test]
    fn a_16_bit_copy_is_not_used_once_something_else_wrote_the_tile() {
        let paint = Paint {
            color: [10, 200, 90],
            mode: PaintMode::Paint,
        };
        let dabs = faint_dabs();
        let paint_all = |g: &mut TileGrid, cache: &mut MaskCache, dabs: &[Dab]| {
            let mut s = LayerSurface::new(g, None, cache, false);
            for d in dabs {
                s.draw_dab(d, &paint);
            }
        };
        let mut fresh = TileGrid::new(640, 128);
        paint_all(&mut fresh, &mut MaskCache::default(), &dabs[75..]);
        // The same cache paints the first half, the tiles are put back (as
        // undo does), and the second half is painted: only the 8-bit pixels
        // may count, as on a fresh grid.
        let mut g = TileGrid::new(640, 128);
        let mut cache = MaskCache::default();
        let blank = g.clone();
        paint_all(&mut g, &mut cache, &dabs[..75]);
        for c in blank.coords() {
            g.set_tile(c, blank.tile(c).cloned());
        }
        paint_all(&mut g, &mut cache, &dabs[75..]);
        assert!(g == fresh);
        // An 8-bit dab between faint ones is honoured too.
        let opaque = Dab {
            alpha: 1.0,
            ..dabs[100]
        };
        paint_all(&mut g, &mut cache, &[opaque, dabs[101]]);
        paint_all(&mut fresh, &mut MaskCache::default(), &[opaque]);
        paint_all(&mut fresh, &mut MaskCache::default(), &[dabs[101]]);
        let (x, y) = (dabs[100].x as u32, dabs[100].y as u32);
        assert_eq!(g.pixel(x, y), fresh.pixel(x, y));
    }
}
