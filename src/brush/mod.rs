//! The brush engine: deterministic, pure data in, pixels out.
//!
//! A stroke is data ([`Stroke`]: samples of position in canvas space,
//! pressure and time). [`StrokeEngine`] smooths the samples, places dabs along
//! the path at a spacing that is a fraction of the diameter, maps pressure to
//! size and opacity, and hands each [`Dab`] to a [`DabSurface`]. Rendering a
//! stroke is a pure function of (settings, samples, colour, seed).
pub mod dabs;
mod deep;
pub mod fill;
mod kernel;
mod mask;
pub mod raster;
pub mod settings;
pub mod stabiliser;

pub use dabs::{Dab, StrokeEngine};
pub use raster::{DabSurface, LayerSurface, Paint, PaintMode};
pub use settings::{BrushSettings, presets};

use serde::{Deserialize, Serialize};

use crate::document::history::PixelEdit;
use crate::document::{Document, DocumentError, History, LayerId};
use raster::MaskCache;

/// One input sample of a stroke, in canvas space.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StrokeSample {
    /// Canvas x in pixels.
    pub x: f32,
    /// Canvas y in pixels.
    pub y: f32,
    /// 0..1; a mouse reports 1.
    #[serde(default = "full_pressure")]
    pub pressure: f32,
    /// Seconds since the stroke began.
    #[serde(default)]
    pub time: f32,
}

fn full_pressure() -> f32 {
    1.0
}

/// A complete stroke as data: what to replay and how.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stroke {
    /// Brush used.
    pub brush: BrushSettings,
    /// Straight sRGB colour, `#rrggbb` in JSON.
    #[serde(with = "hex_color")]
    pub color: [u8; 3],
    /// Seed of the jitter random numbers.
    #[serde(default)]
    pub seed: u64,
    /// Input samples in order.
    pub samples: Vec<StrokeSample>,
}

impl Stroke {
    /// Renders the whole stroke onto a surface.
    pub fn render(&self, surface: &mut dyn DabSurface) {
        let mut engine = StrokeEngine::new(self.brush.clone(), self.seed);
        let paint = Paint::new(self.color, &self.brush);
        for s in &self.samples {
            engine.add_sample(*s, &mut |dab| surface.draw_dab(&dab, &paint));
        }
        engine.finish(&mut |dab| surface.draw_dab(&dab, &paint));
    }

    /// Paints the stroke onto a layer as one undoable step.
    pub fn paint_on(
        &self,
        doc: &mut Document,
        history: &mut History,
        cache: &mut MaskCache,
        layer: LayerId,
    ) -> Result<(), DocumentError> {
        let lock = doc
            .layer(layer)
            .ok_or(DocumentError::NoSuchLayer(layer))?
            .props
            .lock_alpha;
        let mut edit = PixelEdit::new(layer);
        let grid = doc
            .grid_mut(layer)
            .ok_or(DocumentError::NoSuchLayer(layer))?;
        let mut surface = LayerSurface::new(grid, Some(&mut edit), cache, lock);
        self.render(&mut surface);
        history.record_pixels(
            doc,
            edit,
            if self.brush.eraser {
                "Erase"
            } else {
                "Brush stroke"
            },
        );
        Ok(())
    }
}

/// `#rrggbb` colours in JSON.
pub mod hex_color {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Parses `#rrggbb` or `rrggbb`.
    pub fn parse(s: &str) -> Option<[u8; 3]> {
        let s = s.strip_prefix('#').unwrap_or(s);
        if s.len() != 6 || !s.is_ascii() {
            return None;
        }
        let c = |i: usize| u8::from_str_radix(&s[i..i + 2], 16).ok();
        Some([c(0)?, c(2)?, c(4)?])
    }

    /// Formats as `#rrggbb`.
    pub fn format(c: [u8; 3]) -> String {
        format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
    }

    /// Serde serializer.
    pub fn serialize<S: Serializer>(c: &[u8; 3], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*c))
    }

    /// Serde deserializer.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 3], D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a #rrggbb colour")))
    }
}
