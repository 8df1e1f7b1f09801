//! The measure on one cell: the per-pixel update of the module overview,
//! with a faster top-down form for cells whose layers all blend Normally.
use super::{CellSums, Stack, StackLayer, VISIBLE_EPSILON};
use crate::document::blend::BlendMode;
use crate::document::coords::{CanvasRect, TileCoord};
use crate::document::tile::{TILE_SIZE, Tile};

/// Per-pixel state of one cell, reused from cell to cell.
///
/// After [`measure`](Scratch::measure): `alpha` and `gan` per pixel and `slot_area`
/// per GAN layer present. Each layer is one pass over the cell's pixels per
/// array, without a branch per pixel, so that the loops vectorise.
#[derive(Default)]
pub(super) struct Scratch {
    /// Pixels in the cell part being measured.
    n: usize,
    /// Composite alpha per pixel.
    alpha: Vec<f32>,
    /// GAN-made alpha per pixel (all GAN layers together); only meaningful
    /// when `slots` is not empty.
    gan: Vec<f32>,
    /// Stack index of each GAN layer present, bottom first.
    slots: Vec<usize>,
    /// Each slot's GAN-made alpha summed over the cell part.
    slot_area: Vec<f32>,
    /// Indices into the stack of the layers measured in this cell.
    present: Vec<usize>,
    /// All-Normal cells: how much of each pixel still shows through, top down.
    through: Vec<f32>,
    /// General cells: the current layer's effective alpha per pixel.
    src_alpha: Vec<f32>,
    /// General cells: the current Darken/Lighten layer's share of the overlap.
    weight: Vec<f32>,
    /// General cells: premultiplied composite R, G, B, A, one array each;
    /// only kept below a Darken or Lighten layer, which needs the backdrop's
    /// colour.
    color: [Vec<f32>; 4],
    /// General cells: GAN-made alpha per pixel per slot, `per[slot·n + i]`.
    per: Vec<f32>,
}

impl Scratch {
    /// Measures the part `part` of cell `c`; None when no layer has a tile
    /// there (nothing visible). Afterwards [`gan_at`](Self::gan_at) reads
    /// the cell's pixels.
    pub(super) fn measure(
        &mut self,
        stack: &Stack<'_>,
        c: TileCoord,
        part: CanvasRect,
    ) -> Option<CellSums> {
        if !self.run(stack, c, part) {
            return None;
        }
        let n = self.n;
        Some(CellSums {
            // Summed in f32 within a cell (4096 values of at most 1), in f64
            // across cells: a 16384² canvas adds up 2.7·10⁸ of them.
            visible: self.alpha[..n].iter().sum::<f32>() as f64,
            gan_pixels: if self.slots.is_empty() {
                0
            } else {
                self.gan[..n]
                    .iter()
                    .filter(|&&g| g >= VISIBLE_EPSILON)
                    .count() as u64
            },
            layers: self
                .slots
                .iter()
                .zip(&self.slot_area)
                .map(|(&i, &area)| (stack.layers[i].id, area as f64))
                .collect(),
        })
    }

    /// GAN-made alpha of pixel `i` (row-major in the part) after
    /// [`measure`](Self::measure).
    pub(super) fn gan_at(&self, i: usize) -> f32 {
        if self.slots.is_empty() {
            0.0
        } else {
            self.gan[i]
        }
    }

    /// The per-pixel work of [`measure`](Self::measure). False when nothing
    /// is visible.
    fn run(&mut self, stack: &Stack<'_>, c: TileCoord, part: CanvasRect) -> bool {
        let n = (part.w * part.h) as usize;
        self.n = n;
        self.present.clear();
        self.present
            .extend((0..stack.layers.len()).filter(|&i| stack.layers[i].tile_at(c).is_some()));
        if self.present.is_empty() || n == 0 {
            return false;
        }
        // An opaque Normal layer at full opacity hides everything below it:
        // start there (a variation accepted over a region usually is one).
        let from = self
            .present
            .iter()
            .rposition(|&i| {
                let l = &stack.layers[i];
                l.mode == BlendMode::Normal
                    && l.opacity >= 1.0
                    && l.tile_at(c).is_some_and(|t| opaque_over(t, part))
            })
            .unwrap_or(0);
        self.present.drain(..from);
        self.slots.clear();
        for &i in &self.present {
            if stack.layers[i].model.is_some() {
                self.slots.push(i);
            }
        }
        self.slot_area.clear();
        self.slot_area.resize(self.slots.len(), 0.0);
        self.alpha.clear();
        self.alpha.resize(n, 0.0);
        self.gan.clear();
        self.gan.resize(n, 0.0);
        if self
            .present
            .iter()
            .all(|&i| stack.layers[i].mode == BlendMode::Normal)
        {
            self.run_normal(stack, c, part);
        } else {
            self.run_general(stack, c, part);
        }
        true
    }

    /// Only Normal layers: a layer's part of a pixel is its alpha times how
    /// much the layers above let through, so one top-down pass per layer
    /// gives every layer's part (the same numbers as the general update).
    fn run_normal(&mut self, stack: &Stack<'_>, c: TileCoord, part: CanvasRect) {
        let n = self.n;
        self.through.clear();
        self.through.resize(n, 1.0);
        let mut slot = self.slots.len();
        for k in (0..self.present.len()).rev() {
            let l = &stack.layers[self.present[k]];
            let Some(tile) = l.tile_at(c) else {
                continue;
            };
            let scale = l.opacity / 255.0;
            let w = part.w as usize;
            if l.model.is_some() {
                slot -= 1;
                let mut area = 0.0f32;
                let mut y = 0;
                for_rows(tile, part, |row| {
                    let through = &mut self.through[y * w..(y + 1) * w];
                    let gan = &mut self.gan[y * w..(y + 1) * w];
                    for ((t, g), s) in through.iter_mut().zip(gan).zip(row.chunks_exact(4)) {
                        let part = s[3] as f32 * scale * *t;
                        *g += part;
                        area += part;
                        *t -= part;
                    }
                    y += 1;
                });
                self.slot_area[slot] += area;
            } else {
                let mut y = 0;
                for_rows(tile, part, |row| {
                    let through = &mut self.through[y * w..(y + 1) * w];
                    for (t, s) in through.iter_mut().zip(row.chunks_exact(4)) {
                        *t -= s[3] as f32 * scale * *t;
                    }
                    y += 1;
                });
            }
        }
        for (a, t) in self.alpha.iter_mut().zip(&self.through) {
            *a = 1.0 - t;
        }
    }

    /// Any blend modes: the bottom-up update of the module overview, with
    /// one GAN-made alpha per pixel per GAN layer.
    fn run_general(&mut self, stack: &Stack<'_>, c: TileCoord, part: CanvasRect) {
        let n = self.n;
        // Darken and Lighten need the backdrop's colour: composite colour
        // too, but only below the last such layer.
        let last_kept = self
            .present
            .iter()
            .rposition(|&i| matches!(stack.layers[i].mode, BlendMode::Darken | BlendMode::Lighten));
        self.per.clear();
        self.per.resize(n * self.slots.len(), 0.0);
        for ch in &mut self.color {
            ch.clear();
            if last_kept.is_some() {
                ch.resize(n, 0.0);
            }
        }
        let mut slot = 0;
        for k in 0..self.present.len() {
            let l = &stack.layers[self.present[k]];
            let Some(tile) = l.tile_at(c) else {
                continue;
            };
            let own = l.model.map(|_| {
                slot += 1;
                slot - 1
            });
            let track_color = last_kept.is_some_and(|last| k < last);
            self.blend_layer(tile, l, own, part, track_color);
        }
        for (s, area) in self.slot_area.iter_mut().enumerate() {
            let q = &self.per[s * n..(s + 1) * n];
            *area = q.iter().sum();
            for (g, &q) in self.gan.iter_mut().zip(q) {
                *g += q;
            }
        }
    }

    /// One layer's step of the recurrence over the cell part; with
    /// `track_color`, the composite colour follows (a Darken or Lighten layer
    /// comes later).
    fn blend_layer(
        &mut self,
        tile: &Tile,
        l: &StackLayer<'_>,
        own: Option<usize>,
        part: CanvasRect,
        track_color: bool,
    ) {
        let scale = l.opacity / 255.0;
        self.src_alpha.clear();
        for_rows(tile, part, |row| {
            self.src_alpha
                .extend(row.chunks_exact(4).map(|s| s[3] as f32 * scale));
        });
        match l.mode {
            BlendMode::Normal => self.apply(own, |_| 1.0),
            // The colour below is known: every layer under this one tracked it.
            BlendMode::Darken | BlendMode::Lighten => {
                self.weight.clear();
                let mut i = 0;
                for_rows(tile, part, |row| {
                    for s in row.chunks_exact(4) {
                        let dst = [0, 1, 2, 3].map(|k| self.color[k][i]);
                        self.weight
                            .push(kept_weight(l.mode, dst, [s[0], s[1], s[2], s[3]], scale));
                        i += 1;
                    }
                });
                let weight = std::mem::take(&mut self.weight);
                self.apply(own, |i| weight[i]);
                self.weight = weight;
            }
            _ => self.apply(own, |_| 0.5),
        }
        if track_color {
            self.composite_color(tile, l, part);
        }
    }

    /// The composite colour after layer `l`, as the CPU compositor has it.
    fn composite_color(&mut self, tile: &Tile, l: &StackLayer<'_>, part: CanvasRect) {
        let scale = l.opacity / 255.0;
        let w = part.w as usize;
        let mut y = 0;
        for_rows(tile, part, |row| {
            let r = y * w..(y + 1) * w;
            if l.mode == BlendMode::Normal {
                // Source-over, as `composite` computes it for Normal, one
                // channel at a time so that it vectorises.
                let a = &self.src_alpha[r.clone()];
                for k in 0..4 {
                    let ch = &mut self.color[k][r.clone()];
                    for ((c, s), &a) in ch.iter_mut().zip(row.chunks_exact(4)).zip(a) {
                        *c = s[k] as f32 * scale + *c * (1.0 - a);
                    }
                }
            } else {
                for (x, s) in row.chunks_exact(4).enumerate() {
                    let i = r.start + x;
                    let src = [s[0], s[1], s[2], s[3]].map(|v| v as f32 * scale);
                    let dst = [0, 1, 2, 3].map(|k| self.color[k][i]);
                    let out = l.mode.composite(dst, src);
                    for (ch, v) in self.color.iter_mut().zip(out) {
                        ch[i] = v;
                    }
                }
            }
            y += 1;
        });
    }

    /// The update of the module overview, with the source's share of the
    /// overlap `w(i)`: what lies below keeps `1 − a·w`, the layer gets
    /// `a·(1 − ab·(1 − w))`, and the alpha becomes `a + ab·(1 − a)`.
    #[inline(always)]
    fn apply(&mut self, own: Option<usize>, w: impl Fn(usize) -> f32) {
        let n = self.n;
        let a = &self.src_alpha[..n];
        for slot in 0..self.slots.len() {
            let q = &mut self.per[slot * n..(slot + 1) * n];
            for (i, (q, &a)) in q.iter_mut().zip(a).enumerate() {
                *q *= 1.0 - a * w(i);
            }
        }
        let ab = &mut self.alpha[..n];
        if let Some(slot) = own {
            let q = &mut self.per[slot * n..(slot + 1) * n];
            for (i, ((q, &a), &ab)) in q.iter_mut().zip(a).zip(ab.iter()).enumerate() {
                *q = a * (1.0 - ab * (1.0 - w(i)));
            }
        }
        for (ab, &a) in ab.iter_mut().zip(a) {
            *ab = a + *ab * (1.0 - a);
        }
    }
}

/// Calls `f` with each row of `tile` inside `part` (RGBA bytes), top down.
#[inline(always)]
fn for_rows(tile: &Tile, part: CanvasRect, mut f: impl FnMut(&[u8])) {
    for y in 0..part.h {
        let t0 = (((part.y + y) % TILE_SIZE) * TILE_SIZE + part.x % TILE_SIZE) as usize * 4;
        f(&tile.px[t0..t0 + part.w as usize * 4]);
    }
}

/// Whether every pixel of `tile` inside `part` is opaque.
fn opaque_over(tile: &Tile, part: CanvasRect) -> bool {
    let mut opaque = true;
    for_rows(tile, part, |row| {
        opaque = opaque && row.chunks_exact(4).all(|p| p[3] == 255);
    });
    opaque
}

/// Darken and Lighten keep, per channel, either the backdrop's value or the
/// source's: the source's share of the overlap is the fraction of channels
/// where its value is the one kept (ties, within an 8-bit step, half each).
/// `dst` is the premultiplied backdrop, `src` the layer's premultiplied
/// bytes, `scale` its opacity over 255.
fn kept_weight(mode: BlendMode, dst: [f32; 4], src: [u8; 4], scale: f32) -> f32 {
    let (ab, as_) = (dst[3], src[3] as f32 * scale);
    if ab <= 0.0 || as_ <= 0.0 {
        // No overlap: the weight does not enter the update.
        return 1.0;
    }
    let mut w = 0.0;
    for c in 0..3 {
        // Straight values compared without dividing: cs/as against cb/ab.
        let (cs, cb) = (src[c] as f32 * scale * ab, dst[c] * as_);
        w += if (cs - cb).abs() < ab * as_ / 255.0 {
            0.5
        } else if (cs < cb) == (mode == BlendMode::Darken) {
            1.0
        } else {
            0.0
        };
    }
    w / 3.0
}
