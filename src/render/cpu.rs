//! The CPU reference compositor.
//!
//! Visible layers are blended bottom to top in `f32` with the formulas of
//! [`BlendMode::composite`](crate::document::BlendMode::composite), starting
//! from transparent, and rounded to 8 bits once at the end — the same order of
//! operations as the WGSL compositor, so the two agree within 1/255.
use image::{RgbImage, RgbaImage};

use crate::document::blend::unpremultiply;
use crate::document::{CanvasRect, Document, TILE_SIZE};

/// Composites `rect` of the document; premultiplied RGBA8 rows.
pub fn composite_rect(doc: &Document, rect: CanvasRect) -> Vec<u8> {
    let rect = rect.intersect(&doc.bounds());
    let mut out = vec![0u8; (rect.w * rect.h * 4) as usize];
    let mut acc: Vec<[f32; 4]> = Vec::new();
    for c in rect.tiles() {
        let part = rect.intersect(&c.rect());
        acc.clear();
        acc.resize((part.w * part.h) as usize, [0.0; 4]);
        for layer in doc
            .layers()
            .iter()
            .filter(|l| l.props.visible && l.props.opacity > 0.0)
        {
            let Some(tile) = layer.grid.tile(c) else {
                continue;
            };
            let (mode, opacity) = (layer.props.blend, layer.props.opacity);
            for y in 0..part.h {
                let t0 = (((part.y + y) % TILE_SIZE) * TILE_SIZE + part.x % TILE_SIZE) as usize * 4;
                let row = &tile.px[t0..t0 + part.w as usize * 4];
                let dst = &mut acc[(y * part.w) as usize..((y + 1) * part.w) as usize];
                for (d, s) in dst.iter_mut().zip(row.chunks_exact(4)) {
                    if s[3] == 0 {
                        continue;
                    }
                    let src = [s[0], s[1], s[2], s[3]].map(|v| v as f32 / 255.0 * opacity);
                    *d = mode.composite(*d, src);
                }
            }
        }
        for y in 0..part.h {
            let o = (((part.y - rect.y + y) * rect.w + part.x - rect.x) * 4) as usize;
            for (x, v) in acc[(y * part.w) as usize..((y + 1) * part.w) as usize]
                .iter()
                .enumerate()
            {
                for k in 0..4 {
                    out[o + x * 4 + k] = to_u8(v[k]);
                }
            }
        }
    }
    out
}

/// Rounds a 0..1 value to 8 bits.
pub fn to_u8(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// The flattened document as straight RGBA (for export).
pub fn flatten(doc: &Document) -> RgbaImage {
    flatten_rect(doc, doc.bounds())
}

/// The flattened part of the document inside `rect` (within the canvas) as
/// straight RGBA: a selection's export composites only its own pixels.
pub fn flatten_rect(doc: &Document, rect: CanvasRect) -> RgbaImage {
    let rect = rect.intersect(&doc.bounds());
    let mut px = composite_rect(doc, rect);
    for p in px.chunks_exact_mut(4) {
        p.copy_from_slice(&unpremultiply([p[0], p[1], p[2], p[3]]));
    }
    // The buffer length always matches the rectangle.
    RgbaImage::from_raw(rect.w, rect.h, px).expect("composite_rect returns w·h·4 bytes")
}

/// A rectangle flattened over an opaque background colour: what the GAN sees.
pub fn flatten_over(doc: &Document, rect: CanvasRect, background: [u8; 3]) -> RgbImage {
    let rect = rect.intersect(&doc.bounds());
    let px = composite_rect(doc, rect);
    let mut out = Vec::with_capacity((rect.w * rect.h * 3) as usize);
    for p in px.chunks_exact(4) {
        let ia = 255 - p[3] as u32;
        for k in 0..3 {
            out.push((p[k] as u32 + (background[k] as u32 * ia + 127) / 255).min(255) as u8);
        }
    }
    RgbImage::from_raw(rect.w, rect.h, out).expect("three bytes per pixel")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{BlendMode, CanvasRect};

    #[test]
    fn hidden_and_transparent_layers_do_not_count() {
        let mut doc = Document::new(70, 70, [10, 20, 30, 255]).unwrap();
        let id =
            doc.add_layer_with_pixels("x", CanvasRect::new(65, 65, 1, 1), &[255, 255, 255, 255]);
        let mut p = doc.layer(id).unwrap().props.clone();
        p.visible = false;
        doc.set_props(id, p).unwrap();
        let img = flatten(&doc);
        assert_eq!(img.get_pixel(65, 65).0, [10, 20, 30, 255]);
    }

    #[test]
    fn screen_layer_at_half_opacity() {
        let mut doc = Document::new(8, 8, [100, 100, 100, 255]).unwrap();
        let id = doc.add_layer_with_pixels("s", CanvasRect::new(0, 0, 1, 1), &[200, 200, 200, 255]);
        let mut p = doc.layer(id).unwrap().props.clone();
        p.blend = BlendMode::Screen;
        p.opacity = 0.5;
        doc.set_props(id, p).unwrap();
        let px = composite_rect(&doc, CanvasRect::new(0, 0, 1, 1));
        let (b, s) = (100.0 / 255.0, 200.0 / 255.0);
        let v = 0.5 * (b + s - b * s) + 0.5 * b;
        assert_eq!(px, vec![to_u8(v), to_u8(v), to_u8(v), 255]);
    }

    #[test]
    fn flatten_over_white_fills_transparency() {
        let doc = Document::new(4, 4, [0; 4]).unwrap();
        let img = flatten_over(&doc, doc.bounds(), [255, 255, 255]);
        assert_eq!(img.get_pixel(1, 1).0, [255, 255, 255]);
    }
}
