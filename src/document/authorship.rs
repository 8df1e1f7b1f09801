//! Whose picture it is: the share of the visible picture that came from
//! GAN-made layers.
//!
//! A layer is GAN-made when it carries a [`Provenance`](super::Provenance).
//! The share follows each layer's actual contribution to the composite that
//! `render::cpu` draws (same visibility rules, same
//! alpha, same bottom-to-top order), not a count of layers or of tiles.
//!
//! ## The measure
//!
//! Compositing a source with alpha `a` (pixel alpha × layer opacity) over a
//! backdrop with alpha `ab` splits the result's alpha `a + ab·(1 − a)` into
//! three parts (the W3C model [`BlendMode::composite`] implements):
//!
//! - `a·(1 − ab)`: source over nothing: all the layer's;
//! - `ab·(1 − a)`: backdrop the source leaves uncovered: stays whose it was;
//! - `a·ab`: the overlap, coloured by the blend function `B(cb, cs)`.
//!
//! Each pixel carries, for every GAN-made layer, the part of its alpha that
//! layer is responsible for. The overlap goes to the source with weight `w`
//! and to the backdrop (in proportion to who made it) with `1 − w`:
//!
//! - Normal: `w = 1` (the source replaces what is below);
//! - Darken and Lighten: per channel, `1` where the source's value is the one
//!   kept, `0` where the backdrop's is, `½` on a tie, averaged over R, G, B:
//!   the output *is* one of the two values;
//! - Multiply, Screen, Overlay, Add: `w = ½`. The result genuinely depends on
//!   both, and no formula splits "who made this colour" without a judgement,
//!   so the overlap is shared equally, and said so.
//!
//! A part's update is then `q ← q·(1 − a·w)` for what lies below and
//! `a·(1 − ab·(1 − w))` for the new layer, which sums to the composite alpha.
//! With Normal blending this is `gan ← a·[GAN] + (1 − a)·gan` in alpha terms.
//!
//! The share is `Σ GAN alpha / Σ alpha` over the canvas pixels: the mean of
//! each pixel's GAN fraction weighted by how visible the pixel is, so
//! transparent canvas counts for nothing and an empty picture has share 0.
//!
//! ## What it cannot see
//!
//! Provenance is per layer. The artist's strokes on a GAN-made layer count as
//! GAN-made, and a variation accepted *into* a painted layer (Vary's "replace
//! selection") counts as painted: nothing records per-pixel authorship
//! inside one layer. Accepting variations as layers (the default) keeps the
//! measure exact; the note `docs/notes/2026-12-08-provenance.md` says more.
//!
//! ## Use
//!
//! [`authorship`] (or [`authorship_rect`] for a selection) measures once;
//! an [`AuthorshipCache`] re-measures only what changed, for a status bar;
//! [`gan_coverage_rect`] gives the per-pixel GAN-made alpha a Provenance view
//! tints. The per-cell work is in `cell.rs`.
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use serde::Serialize;

use super::Document;
use super::blend::BlendMode;
use super::coords::{CanvasRect, TileCoord};
use super::layer::LayerId;
use super::tile::Tile;
use cell::Scratch;

/// GAN-made alpha at or above which a pixel counts as showing GAN work: half
/// an 8-bit step, the least that can change an exported pixel.
pub const VISIBLE_EPSILON: f32 = 0.5 / 255.0;

/// How much of the visible picture each author made.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Authorship {
    /// Sum of the composite's alpha over the measured pixels, in pixels: the
    /// area of the visible picture (an opaque 100×100 picture gives 10 000).
    pub visible_area: f64,
    /// The part of `visible_area` that GAN-made layers contributed.
    pub gan_area: f64,
    /// Pixels whose GAN-made alpha is at least [`VISIBLE_EPSILON`].
    pub gan_pixels: u64,
    /// Every visible GAN-made layer that contributes, bottom to top.
    pub layers: Vec<LayerShare>,
}

/// One GAN-made layer's contribution.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerShare {
    /// The layer.
    pub id: LayerId,
    /// Its model version (`Provenance::model`).
    pub model: String,
    /// Its part of the visible area, in pixels.
    pub area: f64,
}

impl Authorship {
    /// Share of the visible picture that came from GAN-made layers, 0..=1;
    /// 0 for an empty (fully transparent) picture.
    pub fn gan_share(&self) -> f64 {
        if self.visible_area > 0.0 && self.gan_area > 0.0 {
            (self.gan_area / self.visible_area).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    /// Share painted by the artist: `1 − gan_share`, and 0 for an empty picture.
    pub fn artist_share(&self) -> f64 {
        if self.visible_area > 0.0 {
            1.0 - self.gan_share()
        } else {
            0.0
        }
    }

    /// Whether any pixel visibly shows GAN work (decides the IPTC digital
    /// source type).
    pub fn any_gan_visible(&self) -> bool {
        self.gan_pixels > 0
    }

    /// Share of the visible picture per model version, largest first (ties by
    /// name), leaving out models whose layers are entirely covered.
    pub fn models(&self) -> Vec<(String, f64)> {
        let mut by: std::collections::BTreeMap<&str, f64> = Default::default();
        for l in &self.layers {
            *by.entry(&l.model).or_default() += l.area;
        }
        let mut v: Vec<(String, f64)> = by
            .into_iter()
            .filter(|(_, a)| *a > 0.0)
            .map(|(m, a)| (m.to_string(), a / self.visible_area.max(f64::MIN_POSITIVE)))
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }
}

/// Who made the whole visible picture of `doc`.
///
/// About 0.1 s for a 4096² canvas with a few layers; a view that shows the
/// share after every edit keeps an [`AuthorshipCache`] instead.
pub fn authorship(doc: &Document) -> Authorship {
    authorship_rect(doc, doc.bounds())
}

/// Who made the visible picture inside `rect` (clipped to the canvas): what a
/// selection's export shows.
///
/// Cells no visible layer has a tile in are skipped; the rest is split over
/// the available cores.
pub fn authorship_rect(doc: &Document, rect: CanvasRect) -> Authorship {
    let stack = Stack::new(doc);
    let rect = rect.intersect(&doc.bounds());
    let cells: Vec<TileCoord> = rect.tiles().filter(|&c| stack.any_at(c)).collect();
    let sums = par_measure(&stack, rect, &cells);
    stack.total(sums.iter().flatten())
}

/// The GAN-made part of each pixel's alpha inside `rect` (clipped to the
/// canvas), 0..=255: what a "Provenance" view tints. Row-major, `w·h` bytes.
pub fn gan_coverage_rect(doc: &Document, rect: CanvasRect) -> Vec<u8> {
    let stack = Stack::new(doc);
    let rect = rect.intersect(&doc.bounds());
    let mut out = vec![0u8; rect.w as usize * rect.h as usize];
    let mut scratch = Scratch::default();
    for c in rect.tiles() {
        let part = rect.intersect(&c.rect());
        if scratch.measure(&stack, c, part).is_none() {
            continue;
        }
        for y in 0..part.h {
            let o = ((part.y - rect.y + y) * rect.w + part.x - rect.x) as usize;
            let row = &mut out[o..o + part.w as usize];
            for (x, v) in row.iter_mut().enumerate() {
                let g = scratch.gan_at((y * part.w) as usize + x);
                *v = (g.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
    }
    out
}

/// Remembers each cell's measure, keyed by what the cell's result depends
/// on (its layers' order, tile revisions, opacity, blend mode and whether
/// each is GAN-made), so that measuring again after an edit recomputes only
/// the cells that changed: a stroke touches a few. For a status bar.
#[derive(Debug, Default)]
pub struct AuthorshipCache {
    size: (u32, u32),
    cells: HashMap<TileCoord, (u64, CellSums)>,
}

impl AuthorshipCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Who made the whole visible picture of `doc`: the same answer as
    /// [`authorship`], computed only where something changed since the last
    /// call.
    pub fn measure(&mut self, doc: &Document) -> Authorship {
        if self.size != (doc.width(), doc.height()) {
            self.cells.clear();
            self.size = (doc.width(), doc.height());
        }
        let stack = Stack::new(doc);
        let bounds = doc.bounds();
        let mut stale = Vec::new();
        let mut keys = HashMap::new();
        for c in bounds.tiles() {
            match stack.key_at(c) {
                None => {
                    self.cells.remove(&c);
                }
                Some(key) => {
                    if self.cells.get(&c).is_none_or(|(k, _)| *k != key) {
                        stale.push(c);
                        keys.insert(c, key);
                    }
                }
            }
        }
        let fresh = par_measure(&stack, bounds, &stale);
        for (c, sums) in stale.into_iter().zip(fresh) {
            match sums {
                Some(sums) => {
                    self.cells.insert(c, (keys[&c], sums));
                }
                None => {
                    self.cells.remove(&c);
                }
            }
        }
        stack.total(self.cells.values().map(|(_, s)| s))
    }
}

/// One cell's share of the totals.
#[derive(Clone, Debug, Default, PartialEq)]
struct CellSums {
    visible: f64,
    gan_pixels: u64,
    /// GAN-made area per GAN layer present.
    layers: Vec<(LayerId, f64)>,
}

/// Measures `cells` (parts of them inside `rect`) over the available cores;
/// None for a cell with nothing visible. In the order of `cells`.
fn par_measure(stack: &Stack<'_>, rect: CanvasRect, cells: &[TileCoord]) -> Vec<Option<CellSums>> {
    let serial = |cells: &[TileCoord]| {
        let mut scratch = Scratch::default();
        cells
            .iter()
            .map(|&c| scratch.measure(stack, c, rect.intersect(&c.rect())))
            .collect::<Vec<_>>()
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(cells.len().div_ceil(16))
        .max(1);
    if threads == 1 {
        return serial(cells);
    }
    let chunk = cells.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = cells
            .chunks(chunk)
            .map(|part| s.spawn(move || serial(part)))
            .collect();
        handles
            .into_iter()
            // A worker only does arithmetic on buffers it owns; should one
            // panic all the same, the panic is the caller's.
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// The layers that can show, with what the measure needs of each.
struct Stack<'a> {
    layers: Vec<StackLayer<'a>>,
}

struct StackLayer<'a> {
    id: LayerId,
    grid: &'a super::TileGrid,
    mode: BlendMode,
    opacity: f32,
    /// The model version of a GAN-made layer; None: painted.
    model: Option<&'a str>,
}

impl StackLayer<'_> {
    fn tile_at(&self, c: TileCoord) -> Option<&Tile> {
        self.grid.tile(c).map(|t| &**t)
    }
}

impl<'a> Stack<'a> {
    /// Visible layers with non-zero opacity, bottom to top: exactly the ones
    /// the CPU compositor blends.
    fn new(doc: &'a Document) -> Self {
        let layers = doc
            .layers()
            .iter()
            .filter(|l| l.props.visible && l.props.opacity > 0.0)
            .map(|l| StackLayer {
                id: l.id,
                grid: &l.grid,
                mode: l.props.blend,
                opacity: l.props.opacity,
                model: l.props.provenance.as_ref().map(|p| p.model.as_str()),
            })
            .collect();
        Self { layers }
    }

    fn any_at(&self, c: TileCoord) -> bool {
        self.layers.iter().any(|l| l.tile_at(c).is_some())
    }

    /// What cell `c`'s result depends on, hashed; None when no layer has a
    /// tile there. Tile revisions are globally unique per write, so equal
    /// keys mean equal pixels.
    fn key_at(&self, c: TileCoord) -> Option<u64> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        let mut any = false;
        for l in &self.layers {
            if l.tile_at(c).is_some() {
                any = true;
                (l.id, l.grid.revision(c), l.opacity.to_bits(), l.mode).hash(&mut h);
                l.model.is_some().hash(&mut h);
            }
        }
        any.then(|| h.finish())
    }

    /// The picture's totals from its cells' sums.
    fn total<'s>(&self, cells: impl Iterator<Item = &'s CellSums>) -> Authorship {
        let mut a = Authorship::default();
        let mut per: HashMap<LayerId, f64> = HashMap::new();
        for s in cells {
            a.visible_area += s.visible;
            a.gan_pixels += s.gan_pixels;
            for &(id, area) in &s.layers {
                *per.entry(id).or_default() += area;
            }
        }
        a.layers = self
            .layers
            .iter()
            .filter_map(|l| {
                let area = per.get(&l.id).copied().filter(|&a| a > 0.0)?;
                Some(LayerShare {
                    id: l.id,
                    model: l.model?.to_string(),
                    area,
                })
            })
            .collect();
        // A fold from +0: `sum` of no floats is −0, which prints as "-0.0%".
        a.gan_area = a.layers.iter().fold(0.0, |sum, l| sum + l.area);
        a
    }
}

mod cell;
#[cfg(test)]
mod tests;
