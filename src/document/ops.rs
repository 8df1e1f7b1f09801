//! Structural edits of a document: add, delete, duplicate, reorder, merge and
//! move layers, change their properties, insert pixels from an image.
//!
//! These mutate the document directly; callers wrap them in
//! [`History::edit_stack`](super::History::edit_stack) so that each is one
//! undoable step.
use std::sync::Arc;

use super::blend::BlendMode;
use super::coords::{CanvasRect, TileCoord};
use super::layer::{Layer, LayerId, LayerProps};
use super::tile::{TILE_SIZE, TileGrid};
use super::{Document, DocumentError};

impl Document {
    /// Adds an empty layer above the active one and makes it active.
    pub fn add_layer(&mut self, name: &str) -> LayerId {
        let id = self.allocate_id();
        let layer = Layer::new(id, name, TileGrid::new(self.width(), self.height()));
        let at = self.active_index() + 1;
        self.layers_mut().insert(at, layer);
        self.active = id;
        id
    }

    /// Adds a layer holding straight RGBA8 `pixels` of `rect` (the rest
    /// transparent) above the active one and makes it active.
    pub fn add_layer_with_pixels(
        &mut self,
        name: &str,
        rect: CanvasRect,
        straight_rgba: &[u8],
    ) -> LayerId {
        let id = self.add_layer(name);
        let premul: Vec<u8> = straight_rgba
            .chunks_exact(4)
            .flat_map(|p| super::blend::premultiply([p[0], p[1], p[2], p[3]]))
            .collect();
        if let Some(grid) = self.grid_mut(id) {
            grid.write_rect(rect, &premul);
        }
        id
    }

    /// Deletes a layer; the one below (or above) becomes active.
    pub fn delete_layer(&mut self, id: LayerId) -> Result<(), DocumentError> {
        let i = self.index_of(id).ok_or(DocumentError::NoSuchLayer(id))?;
        if self.layers().len() == 1 {
            return Err(DocumentError::LastLayer);
        }
        self.layers_mut().remove(i);
        if self.active == id {
            let j = i.saturating_sub(1).min(self.layers().len() - 1);
            self.active = self.layers()[j].id;
        }
        Ok(())
    }

    /// Copies a layer (sharing its tiles) above itself and makes the copy active.
    pub fn duplicate_layer(&mut self, id: LayerId) -> Result<LayerId, DocumentError> {
        let i = self.index_of(id).ok_or(DocumentError::NoSuchLayer(id))?;
        let new_id = self.allocate_id();
        let mut copy = self.layers()[i].clone();
        copy.id = new_id;
        copy.props.name = format!("{} copy", copy.props.name);
        self.layers_mut().insert(i + 1, copy);
        self.active = new_id;
        Ok(new_id)
    }

    /// Moves a layer to position `to` (bottom = 0), clamped to the stack.
    pub fn move_layer(&mut self, id: LayerId, to: usize) -> Result<(), DocumentError> {
        let i = self.index_of(id).ok_or(DocumentError::NoSuchLayer(id))?;
        let layer = self.layers_mut().remove(i);
        let to = to.min(self.layers().len());
        self.layers_mut().insert(to, layer);
        Ok(())
    }

    /// Replaces a layer's properties (name, blend, opacity, visibility, lock).
    pub fn set_props(&mut self, id: LayerId, props: LayerProps) -> Result<(), DocumentError> {
        let i = self.index_of(id).ok_or(DocumentError::NoSuchLayer(id))?;
        let mut props = props;
        props.opacity = props.opacity.clamp(0.0, 1.0);
        self.layers_mut()[i].props = props;
        Ok(())
    }

    /// Composites a layer into the one below it (with its blend mode and
    /// opacity) and removes it. The merged layer keeps the lower one's
    /// properties.
    pub fn merge_down(&mut self, id: LayerId) -> Result<(), DocumentError> {
        let i = self.index_of(id).ok_or(DocumentError::NoSuchLayer(id))?;
        if i == 0 {
            return Err(DocumentError::NoSuchLayer(id));
        }
        let upper = self.layers()[i].clone();
        let lower_id = self.layers()[i - 1].id;
        if upper.props.visible {
            let grid = self
                .grid_mut(lower_id)
                .ok_or(DocumentError::NoSuchLayer(lower_id))?;
            merge_into(grid, &upper.grid, upper.props.blend, upper.props.opacity);
        }
        self.layers_mut().remove(i);
        self.active = lower_id;
        Ok(())
    }

    /// Shifts a layer's pixels by whole pixels; what leaves the canvas is cut.
    pub fn translate_layer(&mut self, id: LayerId, dx: i64, dy: i64) -> Result<(), DocumentError> {
        let i = self.index_of(id).ok_or(DocumentError::NoSuchLayer(id))?;
        let src = self.layers()[i].grid.clone();
        let mut out = TileGrid::new(self.width(), self.height());
        for (c, tile) in src.iter() {
            let r = c.rect();
            out.write_clipped(
                r.x as i64 + dx,
                r.y as i64 + dy,
                TILE_SIZE,
                TILE_SIZE,
                &tile.px,
            );
        }
        self.layers_mut()[i].grid = Arc::new(out);
        Ok(())
    }

    fn layers_mut(&mut self) -> &mut Vec<Layer> {
        &mut self.layers
    }
}

/// Composites `src` (blend, opacity) onto `dst` tile by tile.
fn merge_into(dst: &mut TileGrid, src: &TileGrid, blend: BlendMode, opacity: f32) {
    let coords: Vec<TileCoord> = src.iter().map(|(c, _)| c).collect();
    for c in coords {
        let Some(s) = src.tile(c) else { continue };
        let d = dst.tile_mut(c);
        for (dp, sp) in d.px.chunks_exact_mut(4).zip(s.px.chunks_exact(4)) {
            if sp[3] == 0 {
                continue;
            }
            let f = |p: &[u8]| {
                [
                    p[0] as f32 / 255.0,
                    p[1] as f32 / 255.0,
                    p[2] as f32 / 255.0,
                    p[3] as f32 / 255.0,
                ]
            };
            let mut sv = f(sp);
            sv.iter_mut().for_each(|v| *v *= opacity);
            let out = blend.composite(f(dp), sv);
            for k in 0..4 {
                dp[k] = (out[k].clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::History;

    #[test]
    fn layer_operations_undo_exactly() {
        let mut doc = Document::new(100, 80, [255, 255, 255, 255]).unwrap();
        let mut h = History::default();
        let start = doc.clone();
        h.edit_stack(&mut doc, "Add layer", None, |d| {
            d.add_layer_with_pixels(
                "Red",
                CanvasRect::new(10, 10, 2, 1),
                &[255, 0, 0, 255, 255, 0, 0, 128],
            );
            Ok(())
        })
        .unwrap();
        let red = doc.active();
        h.edit_stack(&mut doc, "Duplicate", None, |d| {
            d.duplicate_layer(red).map(|_| ())
        })
        .unwrap();
        h.edit_stack(&mut doc, "Move", None, |d| d.move_layer(red, 0))
            .unwrap();
        h.edit_stack(&mut doc, "Translate", None, |d| {
            d.translate_layer(red, -5, 70)
        })
        .unwrap();
        h.edit_stack(&mut doc, "Merge", None, |d| d.merge_down(d.layers()[2].id))
            .unwrap();
        assert_eq!(doc.layers().len(), 2);
        while h.undo(&mut doc).is_some() {}
        assert_eq!(doc.layers().len(), start.layers().len());
        assert_eq!(*doc.layers()[0].grid, *start.layers()[0].grid);
    }

    #[test]
    fn translate_moves_pixels_and_cuts_at_the_edge() {
        let mut doc = Document::new(100, 100, [0; 4]).unwrap();
        let id = doc.add_layer_with_pixels("p", CanvasRect::new(63, 63, 1, 1), &[9, 9, 9, 255]);
        doc.translate_layer(id, 2, -3).unwrap();
        assert_eq!(doc.grid(id).unwrap().pixel(65, 60), [9, 9, 9, 255]);
        assert_eq!(doc.grid(id).unwrap().pixel(63, 63), [0; 4]);
        doc.translate_layer(id, 500, 0).unwrap();
        assert_eq!(doc.grid(id).unwrap().tile_count(), 0);
    }

    #[test]
    fn merge_down_multiplies() {
        let mut doc = Document::new(10, 10, [200, 200, 200, 255]).unwrap();
        let id = doc.add_layer_with_pixels("m", CanvasRect::new(0, 0, 1, 1), &[128, 128, 128, 255]);
        let mut props = doc.layer(id).unwrap().props.clone();
        props.blend = BlendMode::Multiply;
        doc.set_props(id, props).unwrap();
        doc.merge_down(id).unwrap();
        let p = doc.grid(doc.active()).unwrap().pixel(0, 0);
        let expect = (200.0f32 / 255.0 * 128.0 / 255.0 * 255.0).round() as u8;
        assert_eq!(p, [expect, expect, expect, 255]);
        assert_eq!(
            doc.grid(doc.active()).unwrap().pixel(5, 5),
            [200, 200, 200, 255]
        );
    }
}
