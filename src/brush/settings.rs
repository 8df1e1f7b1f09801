//! Brush settings and the bundled presets (`assets/brushes/*.json`).
use serde::{Deserialize, Serialize};

/// Everything that shapes a dab and its placement. All fractions are 0..1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BrushSettings {
    /// Preset name shown in the brush panel.
    pub name: String,
    /// Radius in canvas pixels at full pressure.
    pub radius: f32,
    /// Fraction of the radius that is fully opaque; the rest falls off linearly.
    pub hardness: f32,
    /// Maximum opacity of a dab.
    pub opacity: f32,
    /// Paint laid per dab (multiplies opacity; low flow builds up).
    pub flow: f32,
    /// Distance between dabs as a fraction of the current diameter.
    pub spacing: f32,
    /// How much pressure scales the radius: `r = radius · (1 − k + k·p)`.
    pub pressure_size: f32,
    /// How much pressure scales opacity: `o = opacity · (1 − k + k·p)`.
    pub pressure_opacity: f32,
    /// Stabiliser strength: 0 follows the pointer, near 1 lags smoothly behind.
    pub smoothing: f32,
    /// Random offset of each dab as a fraction of the radius.
    pub jitter: f32,
    /// Erase instead of paint.
    pub eraser: bool,
}

impl Default for BrushSettings {
    fn default() -> Self {
        Self {
            name: "Round".into(),
            radius: 8.0,
            hardness: 0.8,
            opacity: 1.0,
            flow: 1.0,
            spacing: 0.15,
            pressure_size: 0.5,
            pressure_opacity: 0.0,
            smoothing: 0.3,
            jitter: 0.0,
            eraser: false,
        }
    }
}

impl BrushSettings {
    /// Smallest and largest radius the UI offers.
    pub const RADIUS_RANGE: std::ops::RangeInclusive<f32> = 0.5..=500.0;

    /// Radius of a dab at `pressure`.
    pub fn radius_at(&self, pressure: f32) -> f32 {
        let k = self.pressure_size.clamp(0.0, 1.0);
        self.radius * (1.0 - k + k * pressure.clamp(0.0, 1.0))
    }

    /// Alpha of a dab at `pressure` (opacity × flow × pressure curve).
    pub fn alpha_at(&self, pressure: f32) -> f32 {
        let k = self.pressure_opacity.clamp(0.0, 1.0);
        (self.opacity * self.flow * (1.0 - k + k * pressure.clamp(0.0, 1.0))).clamp(0.0, 1.0)
    }

    /// Distance between dab centres at a given radius (never below 0.5 px so
    /// a stroke always ends).
    pub fn step_at(&self, radius: f32) -> f32 {
        (self.spacing.max(0.01) * 2.0 * radius).max(0.5)
    }

    /// Clamps every field to its legal range (used after loading JSON).
    pub fn sanitized(mut self) -> Self {
        self.radius = self
            .radius
            .clamp(*Self::RADIUS_RANGE.start(), *Self::RADIUS_RANGE.end());
        for v in [
            &mut self.hardness,
            &mut self.opacity,
            &mut self.flow,
            &mut self.pressure_size,
            &mut self.pressure_opacity,
            &mut self.jitter,
        ] {
            *v = v.clamp(0.0, 1.0);
        }
        self.spacing = self.spacing.clamp(0.01, 5.0);
        self.smoothing = self.smoothing.clamp(0.0, 0.98);
        self
    }
}

/// The presets shipped in `assets/brushes/`, in panel order.
pub fn presets() -> Vec<BrushSettings> {
    const FILES: [&str; 5] = [
        include_str!("../../assets/brushes/pencil.json"),
        include_str!("../../assets/brushes/ink.json"),
        include_str!("../../assets/brushes/airbrush.json"),
        include_str!("../../assets/brushes/marker.json"),
        include_str!("../../assets/brushes/flat.json"),
    ];
    FILES
        .iter()
        .filter_map(|json| match serde_json::from_str::<BrushSettings>(json) {
            Ok(b) => Some(b.sanitized()),
            Err(err) => {
                // Bundled files are checked by a test; this only guards a bad edit.
                tracing::error!("bundled brush preset is invalid: {err}");
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_presets_all_load() {
        let names: Vec<String> = presets().into_iter().map(|b| b.name).collect();
        assert_eq!(names, ["Pencil", "Ink", "Soft airbrush", "Marker", "Flat"]);
    }

    #[test]
    fn pressure_curves_match_their_formulas() {
        let b = BrushSettings {
            radius: 10.0,
            pressure_size: 0.6,
            opacity: 0.8,
            flow: 0.5,
            pressure_opacity: 1.0,
            ..Default::default()
        };
        for p in [0.0f32, 0.25, 1.0] {
            assert!((b.radius_at(p) - 10.0 * (0.4 + 0.6 * p)).abs() < 1e-6);
            assert!((b.alpha_at(p) - 0.4 * p).abs() < 1e-6);
        }
        assert_eq!(b.step_at(10.0), 3.0);
    }
}
