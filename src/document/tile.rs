//! Sparse grids of premultiplied RGBA8 tiles.
//!
//! A [`TileGrid`] holds one optional, reference-counted [`Tile`] per 64×64 cell:
//! an untouched cell costs one pointer. Tiles are shared copy-on-write with the
//! undo history, so a snapshot of a tile is an `Arc` clone. Every write stamps
//! the cell with a globally unique revision so that consumers (the GPU upload,
//! thumbnails) find what changed by comparing revisions, even across undo.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::coords::{CanvasRect, TileCoord};

/// Side of a square tile in pixels.
pub const TILE_SIZE: u32 = 64;
/// Bytes in one tile (RGBA8).
pub const TILE_BYTES: usize = (TILE_SIZE * TILE_SIZE * 4) as usize;

/// Source of revision stamps; 0 means "never written".
static NEXT_REVISION: AtomicU64 = AtomicU64::new(1);

fn next_revision() -> u64 {
    NEXT_REVISION.fetch_add(1, Ordering::Relaxed)
}

/// 64×64 premultiplied RGBA8 pixels, row-major.
#[derive(Clone, PartialEq, Eq)]
pub struct Tile {
    /// Pixel bytes, `(y * TILE_SIZE + x) * 4 + channel`.
    pub px: [u8; TILE_BYTES],
}

impl std::fmt::Debug for Tile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tile").finish_non_exhaustive()
    }
}

impl Tile {
    /// A fully transparent tile.
    pub fn transparent() -> Arc<Self> {
        Arc::new(Self {
            px: [0; TILE_BYTES],
        })
    }

    /// A tile filled with one premultiplied colour.
    pub fn filled(color: [u8; 4]) -> Arc<Self> {
        let mut px = [0; TILE_BYTES];
        for p in px.chunks_exact_mut(4) {
            p.copy_from_slice(&color);
        }
        Arc::new(Self { px })
    }

    /// Whether every pixel has zero alpha.
    pub fn is_transparent(&self) -> bool {
        self.px.chunks_exact(4).all(|p| p[3] == 0)
    }
}

/// A sparse grid of tiles covering a `width × height` canvas.
#[derive(Clone, Debug)]
pub struct TileGrid {
    width: u32,
    height: u32,
    tiles_x: u32,
    tiles_y: u32,
    slots: Vec<Option<Arc<Tile>>>,
    revisions: Vec<u64>,
}

impl PartialEq for TileGrid {
    /// Pixel equality: an empty cell equals a transparent tile.
    fn eq(&self, other: &Self) -> bool {
        if (self.width, self.height) != (other.width, other.height) {
            return false;
        }
        self.slots
            .iter()
            .zip(&other.slots)
            .all(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
                (Some(t), None) | (None, Some(t)) => t.is_transparent(),
                (None, None) => true,
            })
    }
}

impl TileGrid {
    /// An empty (transparent) grid.
    pub fn new(width: u32, height: u32) -> Self {
        let tiles_x = width.div_ceil(TILE_SIZE);
        let tiles_y = height.div_ceil(TILE_SIZE);
        let n = (tiles_x * tiles_y) as usize;
        Self {
            width,
            height,
            tiles_x,
            tiles_y,
            slots: vec![None; n],
            revisions: vec![0; n],
        }
    }

    /// Canvas width.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Canvas height.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Number of tile columns.
    pub fn tiles_x(&self) -> u32 {
        self.tiles_x
    }

    /// Number of tile rows.
    pub fn tiles_y(&self) -> u32 {
        self.tiles_y
    }

    fn slot(&self, c: TileCoord) -> usize {
        debug_assert!(c.tx < self.tiles_x && c.ty < self.tiles_y);
        (c.ty * self.tiles_x + c.tx) as usize
    }

    /// Whether a coordinate names a tile of this grid.
    pub fn in_grid(&self, c: TileCoord) -> bool {
        c.tx < self.tiles_x && c.ty < self.tiles_y
    }

    /// The tile at `c`, if it was ever written.
    pub fn tile(&self, c: TileCoord) -> Option<&Arc<Tile>> {
        self.slots[self.slot(c)].as_ref()
    }

    /// Revision stamp of the cell at `c` (changes on every write).
    pub fn revision(&self, c: TileCoord) -> u64 {
        self.revisions[self.slot(c)]
    }

    /// The tile at `c` for writing, created transparent if missing, copied if
    /// shared with history.
    pub fn tile_mut(&mut self, c: TileCoord) -> &mut Tile {
        let i = self.slot(c);
        self.revisions[i] = next_revision();
        Arc::make_mut(self.slots[i].get_or_insert_with(Tile::transparent))
    }

    /// Replaces the cell at `c` (history uses this to restore snapshots).
    pub fn set_tile(&mut self, c: TileCoord, tile: Option<Arc<Tile>>) {
        let i = self.slot(c);
        self.revisions[i] = next_revision();
        self.slots[i] = tile;
    }

    /// Fills every cell with one premultiplied colour (all cells share one tile).
    pub fn fill(&mut self, color: [u8; 4]) {
        let tile = Tile::filled(color);
        for ty in 0..self.tiles_y {
            for tx in 0..self.tiles_x {
                self.set_tile(TileCoord::new(tx, ty), Some(tile.clone()));
            }
        }
    }

    /// Number of cells holding a tile.
    pub fn tile_count(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    /// Coordinates and tiles of every written cell.
    pub fn iter(&self) -> impl Iterator<Item = (TileCoord, &Arc<Tile>)> {
        let tx = self.tiles_x;
        self.slots.iter().enumerate().filter_map(move |(i, s)| {
            s.as_ref()
                .map(|t| (TileCoord::new(i as u32 % tx, i as u32 / tx), t))
        })
    }

    /// Every cell coordinate.
    pub fn coords(&self) -> impl Iterator<Item = TileCoord> + use<> {
        let (tx, ty) = (self.tiles_x, self.tiles_y);
        (0..ty).flat_map(move |y| (0..tx).map(move |x| TileCoord::new(x, y)))
    }

    /// Premultiplied pixel at `(x, y)`; transparent outside the canvas.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        if x >= self.width || y >= self.height {
            return [0; 4];
        }
        let c = TileCoord::new(x / TILE_SIZE, y / TILE_SIZE);
        match self.tile(c) {
            Some(t) => {
                let i = (((y % TILE_SIZE) * TILE_SIZE + x % TILE_SIZE) * 4) as usize;
                [t.px[i], t.px[i + 1], t.px[i + 2], t.px[i + 3]]
            }
            None => [0; 4],
        }
    }

    /// Copies a rectangle out as premultiplied RGBA8 rows.
    pub fn read_rect(&self, rect: CanvasRect) -> Vec<u8> {
        let rect = rect.intersect(&CanvasRect::new(0, 0, self.width, self.height));
        let mut out = vec![0u8; (rect.w * rect.h * 4) as usize];
        for c in rect.tiles() {
            let Some(tile) = self.tile(c) else { continue };
            let part = rect.intersect(&c.rect());
            for y in part.y..part.bottom() {
                let src = (((y % TILE_SIZE) * TILE_SIZE + part.x % TILE_SIZE) * 4) as usize;
                let dst = (((y - rect.y) * rect.w + part.x - rect.x) * 4) as usize;
                let n = (part.w * 4) as usize;
                out[dst..dst + n].copy_from_slice(&tile.px[src..src + n]);
            }
        }
        out
    }

    /// Writes premultiplied RGBA8 rows into a rectangle, creating tiles only
    /// where a written pixel is not transparent or a tile already exists.
    pub fn write_rect(&mut self, rect: CanvasRect, data: &[u8]) {
        let full = rect;
        let rect = rect.intersect(&CanvasRect::new(0, 0, self.width, self.height));
        for c in rect.tiles() {
            let part = rect.intersect(&c.rect());
            let row = |y: u32| {
                let s = (((y - full.y) * full.w + part.x - full.x) * 4) as usize;
                &data[s..s + (part.w * 4) as usize]
            };
            let any = (part.y..part.bottom()).any(|y| row(y).chunks_exact(4).any(|p| p[3] != 0));
            if !any && self.tile(c).is_none() {
                continue;
            }
            let tile = self.tile_mut(c);
            for y in part.y..part.bottom() {
                let dst = (((y % TILE_SIZE) * TILE_SIZE + part.x % TILE_SIZE) * 4) as usize;
                tile.px[dst..dst + (part.w * 4) as usize].copy_from_slice(row(y));
            }
        }
    }
}

impl TileGrid {
    /// Writes a `w × h` premultiplied RGBA8 image whose top-left corner is at
    /// `(x, y)` (possibly off-canvas); what falls outside the canvas is cut.
    pub fn write_clipped(&mut self, x: i64, y: i64, w: u32, h: u32, data: &[u8]) {
        let (cx0, cy0) = (x.max(0), y.max(0));
        let cx1 = (x + w as i64).min(self.width as i64);
        let cy1 = (y + h as i64).min(self.height as i64);
        if cx1 <= cx0 || cy1 <= cy0 || data.len() < (w * h * 4) as usize {
            return;
        }
        let (cw, ch) = ((cx1 - cx0) as usize, (cy1 - cy0) as usize);
        let mut part = Vec::with_capacity(cw * ch * 4);
        for row in 0..ch {
            let s = (((cy0 - y) as usize + row) * w as usize + (cx0 - x) as usize) * 4;
            part.extend_from_slice(&data[s..s + cw * 4]);
        }
        self.write_rect(
            CanvasRect::new(cx0 as u32, cy0 as u32, cw as u32, ch as u32),
            &part,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read_round_trips_across_tile_borders() {
        let mut g = TileGrid::new(200, 100);
        let r = CanvasRect::new(50, 30, 40, 50);
        let data: Vec<u8> = (0..r.w * r.h * 4).map(|i| (i % 251) as u8 | 1).collect();
        g.write_rect(r, &data);
        assert_eq!(g.read_rect(r), data);
        assert_eq!(g.tile_count(), 4);
        assert_eq!(g.pixel(0, 0), [0; 4]);
    }

    #[test]
    fn writes_change_revisions_and_copy_shared_tiles() {
        let mut g = TileGrid::new(64, 64);
        let c = TileCoord::new(0, 0);
        g.tile_mut(c).px[3] = 9;
        let snapshot = g.tile(c).cloned();
        let rev = g.revision(c);
        g.tile_mut(c).px[3] = 10;
        assert!(g.revision(c) > rev);
        assert_eq!(
            snapshot.unwrap().px[3],
            9,
            "history snapshot must not change"
        );
    }

    #[test]
    fn empty_cells_equal_transparent_tiles() {
        let mut a = TileGrid::new(64, 64);
        let b = TileGrid::new(64, 64);
        a.tile_mut(TileCoord::new(0, 0));
        assert_eq!(a, b);
    }
}
