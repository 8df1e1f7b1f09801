//! `atelier/manifest.json`: what a project holds beyond OpenRaster's layers.
//!
//! A versioned serde schema. Readers refuse a newer `schema` than they know
//! (with a message saying so) rather than drop what they do not understand;
//! fields added within a version have serde defaults so older files load.
use serde::{Deserialize, Serialize};

use crate::document::Provenance;
use crate::decisions::{CandidateRecord, LatentSteering};

/// The schema version this build writes and the newest it reads.
pub const SCHEMA: u32 = 1;

/// Project-level settings that travel with the file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProjectSettings {
    /// Candidates per Vary (1–9).
    pub vary_count: usize,
    /// Vary strength (0..1).
    pub vary_strength: f32,
    /// Seed of the next Vary.
    pub vary_seed: u64,
    /// Reuse the same seed on every Vary.
    pub lock_seed: bool,
    /// Keep the canvas's thin strokes through a variation (true in files
    /// written before it existed, as in new projects).
    pub keep_lines: bool,
    /// Index (bottom first) of the active layer.
    pub active_layer: usize,
}

impl Default for ProjectSettings {
    fn default() -> Self {
        Self {
            vary_count: 4,
            vary_strength: crate::sampling::DEFAULT_STRENGTH,
            vary_seed: 1,
            lock_seed: false,
            keep_lines: true,
            active_layer: 0,
        }
    }
}

/// Per-layer data OpenRaster has no place for, in stack order (bottom first).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerMeta {
    /// The layer's name, to check the entry matches its layer.
    pub name: String,
    /// Which model version and seed made it, if the GAN did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// The whole manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Schema version ([`SCHEMA`] when written by this build).
    pub schema: u32,
    /// Software that wrote it.
    #[serde(default)]
    pub generator: String,
    /// Project settings.
    #[serde(default)]
    pub settings: ProjectSettings,
    /// Per-layer metadata, bottom first.
    #[serde(default)]
    pub layers: Vec<LayerMeta>,
    /// Every candidate generated in the project; images in `atelier/history/`.
    #[serde(default)]
    pub candidates: Vec<CandidateRecord>,
    /// The latent steering state.
    #[serde(default)]
    pub steering: Option<LatentSteering>,
}

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Written by a newer Atelier.
    #[error(
        "atelier/manifest.json has schema version {found}, newer than this Atelier reads ({SCHEMA}); update Atelier to open it"
    )]
    Newer {
        /// The file's version.
        found: u32,
    },
    /// Not valid JSON for the schema.
    #[error("atelier/manifest.json is malformed: {0}")]
    Malformed(#[from] serde_json::Error),
}

impl Manifest {
    /// Parses and checks the version before trusting the rest of the schema.
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        #[derive(Deserialize)]
        struct Version {
            schema: u32,
        }
        let v: Version = serde_json::from_slice(bytes)?;
        if v.schema > SCHEMA {
            return Err(ManifestError::Newer { found: v.schema });
        }
        Ok(serde_json::from_slice(bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_schema_is_refused_by_name_and_older_fields_default() {
        let err = Manifest::parse(br#"{"schema": 99, "new_thing": 1}"#).unwrap_err();
        assert!(matches!(err, ManifestError::Newer { found: 99 }));
        assert!(err.to_string().contains("newer"));
        let m = Manifest::parse(br#"{"schema": 1}"#).unwrap();
        assert_eq!(m.settings, ProjectSettings::default());
        assert!(m.candidates.is_empty() && m.steering.is_none());
        assert!(Manifest::parse(b"{not json").is_err());
    }
}
