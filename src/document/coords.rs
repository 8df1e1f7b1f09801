//! Named coordinate spaces.
//!
//! - *canvas space*: pixels of the document, origin top-left, y down; `f32` for
//!   input positions, `u32`/`i64` for pixel indices.
//! - *tile space*: which tile a pixel is in (`canvas / TILE_SIZE`).
//! - *screen space* (egui points) lives in the UI's view transform
//!   (`render::gpu::view`), written `canvas_from_screen` / `screen_from_canvas`.
use serde::{Deserialize, Serialize};

use super::tile::TILE_SIZE;

/// A tile's position in tile space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TileCoord {
    /// Column.
    pub tx: u32,
    /// Row.
    pub ty: u32,
}

impl TileCoord {
    /// The tile at column `tx`, row `ty`.
    pub fn new(tx: u32, ty: u32) -> Self {
        Self { tx, ty }
    }

    /// Canvas-space rectangle this tile covers (clipped by nothing).
    pub fn rect(self) -> CanvasRect {
        CanvasRect::new(
            self.tx * TILE_SIZE,
            self.ty * TILE_SIZE,
            TILE_SIZE,
            TILE_SIZE,
        )
    }
}

/// An axis-aligned rectangle of canvas pixels, `x..x+w`, `y..y+h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct CanvasRect {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width in pixels.
    pub w: u32,
    /// Height in pixels.
    pub h: u32,
}

impl CanvasRect {
    /// A rectangle from its top-left corner and size.
    pub fn new(x: u32, y: u32, w: u32, h: u32) -> Self {
        Self { x, y, w, h }
    }

    /// The smallest rectangle holding two corners given in any order, clipped
    /// to `0..max_w`, `0..max_h`.
    pub fn from_corners(a: [f32; 2], b: [f32; 2], max_w: u32, max_h: u32) -> Self {
        let clamp = |v: f32, max: u32| v.round().clamp(0.0, max as f32) as u32;
        let (x0, x1) = (clamp(a[0].min(b[0]), max_w), clamp(a[0].max(b[0]), max_w));
        let (y0, y1) = (clamp(a[1].min(b[1]), max_h), clamp(a[1].max(b[1]), max_h));
        Self::new(x0, y0, x1 - x0, y1 - y0)
    }

    /// True when it holds no pixel.
    pub fn is_empty(&self) -> bool {
        self.w == 0 || self.h == 0
    }

    /// One past the right column.
    pub fn right(&self) -> u32 {
        self.x + self.w
    }

    /// One past the bottom row.
    pub fn bottom(&self) -> u32 {
        self.y + self.h
    }

    /// Whether pixel `(x, y)` is inside.
    pub fn contains(&self, x: u32, y: u32) -> bool {
        x >= self.x && x < self.right() && y >= self.y && y < self.bottom()
    }

    /// The overlap of two rectangles (empty when they do not meet).
    pub fn intersect(&self, other: &CanvasRect) -> CanvasRect {
        let x0 = self.x.max(other.x);
        let y0 = self.y.max(other.y);
        let x1 = self.right().min(other.right());
        let y1 = self.bottom().min(other.bottom());
        if x1 <= x0 || y1 <= y0 {
            CanvasRect::default()
        } else {
            CanvasRect::new(x0, y0, x1 - x0, y1 - y0)
        }
    }

    /// The smallest rectangle holding both (an empty one adds nothing).
    pub fn union(&self, other: &CanvasRect) -> CanvasRect {
        if self.is_empty() {
            return *other;
        }
        if other.is_empty() {
            return *self;
        }
        let x0 = self.x.min(other.x);
        let y0 = self.y.min(other.y);
        let x1 = self.right().max(other.right());
        let y1 = self.bottom().max(other.bottom());
        CanvasRect::new(x0, y0, x1 - x0, y1 - y0)
    }

    /// Tiles this rectangle touches.
    pub fn tiles(&self) -> impl Iterator<Item = TileCoord> + use<> {
        let (tx0, ty0) = (self.x / TILE_SIZE, self.y / TILE_SIZE);
        let (tx1, ty1) = if self.is_empty() {
            (tx0, ty0)
        } else {
            (
                (self.right() - 1) / TILE_SIZE + 1,
                (self.bottom() - 1) / TILE_SIZE + 1,
            )
        };
        (ty0..ty1).flat_map(move |ty| (tx0..tx1).map(move |tx| TileCoord::new(tx, ty)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rect_tiles_cover_exactly_the_touched_tiles() {
        let r = CanvasRect::new(60, 0, 10, 65);
        let tiles: Vec<_> = r.tiles().collect();
        assert_eq!(
            tiles,
            vec![
                TileCoord::new(0, 0),
                TileCoord::new(1, 0),
                TileCoord::new(0, 1),
                TileCoord::new(1, 1)
            ]
        );
        assert_eq!(CanvasRect::default().tiles().count(), 0);
    }

    #[test]
    fn intersect_and_union() {
        let a = CanvasRect::new(0, 0, 10, 10);
        let b = CanvasRect::new(5, 5, 10, 10);
        assert_eq!(a.intersect(&b), CanvasRect::new(5, 5, 5, 5));
        assert_eq!(a.union(&b), CanvasRect::new(0, 0, 15, 15));
        assert!(a.intersect(&CanvasRect::new(20, 20, 1, 1)).is_empty());
        assert_eq!(
            CanvasRect::from_corners([9.0, 2.0], [1.0, 7.0], 8, 8),
            CanvasRect::new(1, 2, 7, 5)
        );
    }
}
