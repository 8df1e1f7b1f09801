//! A layer: pixels plus the properties that say how they are composited.
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::blend::BlendMode;
use super::tile::TileGrid;

/// Stable identity of a layer within a document (survives reordering).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LayerId(pub u64);

/// Everything about a layer except its pixels; saved as-is in project files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerProps {
    /// Name shown in the layers panel.
    pub name: String,
    /// How it combines with the layers below.
    pub blend: BlendMode,
    /// 0..1, multiplies the layer's alpha.
    pub opacity: f32,
    /// Hidden layers are skipped by compositing.
    pub visible: bool,
    /// When set, painting keeps each pixel's alpha.
    pub lock_alpha: bool,
    /// Where the pixels came from when the GAN made them (None: painted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// Which model made a layer, and how: enough to regenerate it and to be open
/// about which parts of a piece are AI-generated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Model version id (see `gan::checkpoint::ModelInfo::version_id`).
    pub model: String,
    /// Seed of the candidate.
    pub seed: u64,
    /// Strength of the variation (0..1).
    pub strength: f32,
    /// The candidate's id in the project's candidate history, if recorded.
    #[serde(default)]
    pub candidate: Option<u64>,
}

impl LayerProps {
    /// Visible, opaque, normal blending.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            blend: BlendMode::Normal,
            opacity: 1.0,
            visible: true,
            lock_alpha: false,
            provenance: None,
        }
    }
}

/// One layer of a document. Cloning is cheap: pixels are shared copy-on-write.
#[derive(Clone, Debug)]
pub struct Layer {
    /// Identity.
    pub id: LayerId,
    /// Compositing properties and name.
    pub props: LayerProps,
    /// Pixels (premultiplied RGBA8 tiles).
    pub grid: Arc<TileGrid>,
}

impl Layer {
    /// A layer with default properties over `grid`.
    pub fn new(id: LayerId, name: &str, grid: TileGrid) -> Self {
        Self {
            id,
            props: LayerProps::named(name),
            grid: Arc::new(grid),
        }
    }
}
