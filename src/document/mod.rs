//! The document: pure data, no GPU and no UI.
//!
//! A [`Document`] is a stack of [`Layer`]s over a canvas of fixed size. Pixels live
//! in sparse grids of premultiplied RGBA8 tiles ([`tile`]); every change goes
//! through [`history`] as a transaction so that undo and redo are exact.
pub mod authorship;
pub mod blend;
pub mod coords;
pub mod history;
pub mod layer;
mod ops;
pub mod tile;

pub use blend::BlendMode;
pub use coords::{CanvasRect, TileCoord};
pub use history::{History, Transaction};
pub use layer::{Layer, LayerId, LayerProps, Provenance};
pub use tile::{TILE_SIZE, Tile, TileGrid};

use std::sync::Arc;

/// Smallest canvas side a document may have.
pub const MIN_SIDE: u32 = 1;
/// Largest canvas side a document may have (GPU textures and the tile index
/// stay within common limits at this size).
pub const MAX_SIDE: u32 = 16384;

/// Why a document could not be made or changed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DocumentError {
    /// Width or height outside `MIN_SIDE..=MAX_SIDE`.
    #[error("canvas size {width}×{height} is outside 1×1 … {MAX_SIDE}×{MAX_SIDE}")]
    BadSize {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
    },
    /// A layer id that is not in the document.
    #[error("no layer with id {0:?}")]
    NoSuchLayer(LayerId),
    /// The last layer cannot be deleted.
    #[error("a document keeps at least one layer")]
    LastLayer,
}

/// A layered raster document.
#[derive(Clone, Debug)]
pub struct Document {
    width: u32,
    height: u32,
    /// Bottom to top.
    layers: Vec<Layer>,
    active: LayerId,
    next_id: u64,
}

impl Document {
    /// A document with one layer filled with `background` (straight RGBA8); a
    /// fully transparent background leaves the layer empty.
    pub fn new(width: u32, height: u32, background: [u8; 4]) -> Result<Self, DocumentError> {
        if !(MIN_SIDE..=MAX_SIDE).contains(&width) || !(MIN_SIDE..=MAX_SIDE).contains(&height) {
            return Err(DocumentError::BadSize { width, height });
        }
        let mut grid = TileGrid::new(width, height);
        if background[3] > 0 {
            grid.fill(blend::premultiply(background));
        }
        let first = Layer::new(LayerId(1), "Background", grid);
        Ok(Self {
            width,
            height,
            layers: vec![first],
            active: LayerId(1),
            next_id: 2,
        })
    }

    /// Canvas width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Canvas height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The whole canvas as a rectangle.
    pub fn bounds(&self) -> CanvasRect {
        CanvasRect::new(0, 0, self.width, self.height)
    }

    /// Layers from bottom to top.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The layer tools paint on.
    pub fn active(&self) -> LayerId {
        self.active
    }

    /// Index (bottom = 0) of the active layer.
    pub fn active_index(&self) -> usize {
        self.index_of(self.active).unwrap_or(0)
    }

    /// Makes `id` the active layer; unknown ids are refused.
    pub fn set_active(&mut self, id: LayerId) -> Result<(), DocumentError> {
        self.index_of(id).ok_or(DocumentError::NoSuchLayer(id))?;
        self.active = id;
        Ok(())
    }

    /// Position of a layer in the stack, bottom = 0.
    pub fn index_of(&self, id: LayerId) -> Option<usize> {
        self.layers.iter().position(|l| l.id == id)
    }

    /// A layer by id.
    pub fn layer(&self, id: LayerId) -> Option<&Layer> {
        self.layers.iter().find(|l| l.id == id)
    }

    /// A fresh id for a new layer.
    pub fn allocate_id(&mut self) -> LayerId {
        let id = LayerId(self.next_id);
        self.next_id += 1;
        id
    }

    /// The pixel grid of a layer, for reading.
    pub fn grid(&self, id: LayerId) -> Option<&TileGrid> {
        self.layer(id).map(|l| &*l.grid)
    }

    /// The pixel grid of a layer, for writing. Copy-on-write: history
    /// snapshots that share the grid keep their version. To make the write
    /// undoable, snapshot touched tiles with a
    /// [`PixelEdit`](history::PixelEdit) first.
    pub fn grid_mut(&mut self, id: LayerId) -> Option<&mut TileGrid> {
        self.layers
            .iter_mut()
            .find(|l| l.id == id)
            .map(|l| Arc::make_mut(&mut l.grid))
    }

    /// Replaces the layer stack and active layer (used by history).
    pub(crate) fn set_stack(&mut self, layers: Vec<Layer>, active: LayerId) {
        self.layers = layers;
        self.active = active;
    }

    /// Total bytes of tile pixel data held by the layers (shared tiles counted
    /// once per layer).
    pub fn pixel_bytes(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.grid.tile_count() * tile::TILE_BYTES)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_outside_limits_are_refused() {
        assert_eq!(
            Document::new(0, 10, [0; 4]).unwrap_err(),
            DocumentError::BadSize {
                width: 0,
                height: 10
            }
        );
        assert!(Document::new(MAX_SIDE + 1, 10, [0; 4]).is_err());
        assert!(Document::new(8192, 8192, [255; 4]).is_ok());
    }

    #[test]
    fn transparent_background_costs_no_tiles() {
        let doc = Document::new(4096, 4096, [0; 4]).unwrap();
        assert_eq!(doc.pixel_bytes(), 0);
        let white = Document::new(100, 100, [255; 4]).unwrap();
        assert_eq!(white.grid(white.active()).unwrap().pixel(99, 99), [255; 4]);
    }
}
