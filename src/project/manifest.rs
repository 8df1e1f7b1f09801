//! `atelier/manifest.json`: what a project holds beyond OpenRaster's layers.
//!
//! A versioned serde schema. Readers refuse a newer `schema` than they know
//! (with a message saying so) rather than drop what they do not understand;
//! fields added within a version have serde defaults so older files load.
//!
//! Numbers are not trusted: after parsing, [`Manifest::sanitize`] brings each
//! into its range (a value outside it is clamped, a non-finite one replaced
//! by its default) and says what it changed.
use serde::{Deserialize, Serialize};

use crate::decisions::steering::MIN_STD;
use crate::decisions::{CandidateRecord, LatentSteering};
use crate::document::Provenance;

/// The schema version this build writes and the newest it reads.
pub const SCHEMA: u32 = 1;

/// Most candidates per Vary kept in the settings (the app's range is 1–9).
pub const MAX_VARY_COUNT: usize = 9;
/// Largest steering mean and spread per latent dimension read from a file:
/// the codes are N(0, 1) draws, and steering never gets near ±10.
pub const MAX_STEERING: f32 = 10.0;
/// Largest steering repel factor read from a file (the default is 0.3).
pub const MAX_REPEL: f32 = 1.0;

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

    /// Brings every number into its valid range, for a document with
    /// `layer_count` layers, and returns a warning for each value changed:
    ///
    /// - `vary_count` to 1..=[`MAX_VARY_COUNT`]; `active_layer` to an
    ///   existing layer (the top one when past it).
    /// - Strengths (settings, candidates, layer provenance) to 0..=1; a
    ///   non-finite one becomes the default strength.
    /// - Candidates: a non-finite critic score or latent value becomes 0;
    ///   rectangle coordinates are at most the largest canvas side.
    /// - Steering: mean and spread of different lengths reset it to the
    ///   prior; a non-finite mean becomes 0 and a non-finite spread 1; the
    ///   mean is clamped to ±[`MAX_STEERING`], the spread to
    ///   [`MIN_STD`]..=[`MAX_STEERING`], the learning rate to 0..=1 and the
    ///   repel factor to 0..=[`MAX_REPEL`] (non-finite: their defaults).
    pub fn sanitize(&mut self, layer_count: usize) -> Vec<String> {
        let mut warnings = Vec::new();
        let mut warn = |what: String| {
            warnings.push(format!("atelier/manifest.json: {what}"));
        };
        let s = &mut self.settings;
        let count = s.vary_count.clamp(1, MAX_VARY_COUNT);
        if count != s.vary_count {
            warn(format!(
                "settings.vary_count {} is outside 1–{MAX_VARY_COUNT}; using {count}",
                s.vary_count
            ));
            s.vary_count = count;
        }
        let default_strength = crate::sampling::DEFAULT_STRENGTH;
        if let Some(w) = clamp_f32(&mut s.vary_strength, 0.0, 1.0, default_strength) {
            warn(format!("settings.vary_strength {w}"));
        }
        let top = layer_count.saturating_sub(1);
        if s.active_layer > top {
            warn(format!(
                "settings.active_layer {} is past the {layer_count} layers; using {top}",
                s.active_layer
            ));
            s.active_layer = top;
        }
        for (i, layer) in self.layers.iter_mut().enumerate() {
            if let Some(p) = &mut layer.provenance
                && let Some(w) = clamp_f32(&mut p.strength, 0.0, 1.0, default_strength)
            {
                warn(format!("layers[{i}].provenance.strength {w}"));
            }
        }
        let max_side = crate::document::MAX_SIDE;
        for r in &mut self.candidates {
            let id = r.id;
            if let Some(w) = clamp_f32(&mut r.strength, 0.0, 1.0, default_strength) {
                warn(format!("candidate {id}: strength {w}"));
            }
            if let Some(w) = clamp_f32(&mut r.critic, f32::MIN, f32::MAX, 0.0) {
                warn(format!("candidate {id}: critic {w}"));
            }
            let bad_z = r.z.iter().filter(|v| !v.is_finite()).count();
            if bad_z > 0 {
                warn(format!(
                    "candidate {id}: {bad_z} latent values are not finite numbers; using 0"
                ));
                r.z.iter_mut()
                    .filter(|v| !v.is_finite())
                    .for_each(|v| *v = 0.0);
            }
            let rects = std::iter::once(&mut r.rect).chain(r.selection.as_mut());
            for rect in rects {
                if rect.iter().any(|&v| v > max_side) {
                    warn(format!(
                        "candidate {id}: rectangle {rect:?} is beyond the largest canvas; clamped to {max_side}"
                    ));
                    rect.iter_mut().for_each(|v| *v = (*v).min(max_side));
                }
            }
        }
        if let Some(st) = &mut self.steering {
            if st.mean.len() != st.std.len() {
                warn(format!(
                    "steering has {} means but {} spreads; reset to the prior",
                    st.mean.len(),
                    st.std.len()
                ));
                *st = LatentSteering::new(st.mean.len());
            }
            let mut changed = 0;
            for m in &mut st.mean {
                changed += usize::from(clamp_f32(m, -MAX_STEERING, MAX_STEERING, 0.0).is_some());
            }
            for sd in &mut st.std {
                changed += usize::from(clamp_f32(sd, MIN_STD, MAX_STEERING, 1.0).is_some());
            }
            if changed > 0 {
                warn(format!(
                    "steering: {changed} means or spreads were not finite or out of range; clamped"
                ));
            }
            let prior = LatentSteering::new(0);
            if let Some(w) = clamp_f32(&mut st.learning_rate, 0.0, 1.0, prior.learning_rate) {
                warn(format!("steering.learning_rate {w}"));
            }
            if let Some(w) = clamp_f32(&mut st.repel, 0.0, MAX_REPEL, prior.repel) {
                warn(format!("steering.repel {w}"));
            }
        }
        warnings
    }
}

/// Puts `v` into `lo..=hi` (a non-finite value becomes `default`); returns
/// what was wrong and what it became, or None if it was already in range.
fn clamp_f32(v: &mut f32, lo: f32, hi: f32, default: f32) -> Option<String> {
    let old = *v;
    if !old.is_finite() {
        *v = default;
        return Some(format!("`{old}` is not a finite number; using {default}"));
    }
    *v = old.clamp(lo, hi);
    (*v != old).then(|| format!("`{old}` is outside {lo}–{hi}; using {v}"))
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

    #[test]
    fn sanitize_clamps_numbers_and_keeps_valid_ones() {
        // serde reads 1e300 into an f32 as infinity.
        let mut m = Manifest::parse(
            br#"{"schema": 1, "settings": {"vary_count": 0, "vary_strength": 1e300,
                "active_layer": 5},
                "steering": {"mean": [0.5, 1e300], "std": [0.0, -2.0],
                "learning_rate": -1, "repel": 1e300, "decisions": 2}}"#,
        )
        .unwrap();
        assert!(m.settings.vary_strength.is_infinite());
        let warnings = m.sanitize(2);
        assert_eq!(m.settings.vary_count, 1);
        assert_eq!(m.settings.vary_strength, crate::sampling::DEFAULT_STRENGTH);
        assert_eq!(m.settings.active_layer, 1);
        let st = m.steering.as_ref().unwrap();
        assert_eq!(st.mean, [0.5, 0.0]);
        assert_eq!(st.std, [MIN_STD, MIN_STD]);
        assert_eq!((st.learning_rate, st.repel), (0.0, 0.3));
        assert_eq!(warnings.len(), 6, "{warnings:?}");
        // A valid manifest is left as it is, without warnings.
        let mut ok = Manifest::parse(br#"{"schema": 1}"#).unwrap();
        ok.steering = Some(LatentSteering::new(4));
        let before = ok.clone();
        assert!(ok.sanitize(1).is_empty());
        assert_eq!(ok, before);
    }
}
