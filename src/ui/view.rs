//! The canvas view transform: zoom, pan and rotation.
//!
//! `pos_in_canvas = canvas_from_screen(pos_in_screen)`: screen space is egui
//! points, canvas space is document pixels. The canvas centre sits at the
//! viewport centre plus `pan`; the canvas is scaled by `zoom` and rotated by
//! `rotation` (radians, clockwise on screen) about its centre.
use eframe::egui::{Pos2, Rect, Vec2, pos2, vec2};
use serde::{Deserialize, Serialize};

/// Smallest zoom (1 %).
pub const MIN_ZOOM: f32 = 0.01;
/// Largest zoom (3200 %).
pub const MAX_ZOOM: f32 = 32.0;

/// How the canvas is shown in its viewport.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct View {
    /// Screen points per canvas pixel.
    pub zoom: f32,
    /// Offset of the canvas centre from the viewport centre, in points.
    pub pan: [f32; 2],
    /// Rotation in radians.
    pub rotation: f32,
}

impl Default for View {
    fn default() -> Self {
        Self {
            zoom: 1.0,
            pan: [0.0, 0.0],
            rotation: 0.0,
        }
    }
}

fn rotate(v: Vec2, angle: f32) -> Vec2 {
    let (s, c) = angle.sin_cos();
    vec2(c * v.x - s * v.y, s * v.x + c * v.y)
}

impl View {
    /// Maps a canvas position to the screen, for a canvas of `size` shown in `viewport`.
    pub fn screen_from_canvas(&self, viewport: Rect, size: Vec2, p: Pos2) -> Pos2 {
        let centered = (p.to_vec2() - size * 0.5) * self.zoom;
        viewport.center() + Vec2::from(self.pan) + rotate(centered, self.rotation)
    }

    /// Maps a screen position to canvas space (the inverse of [`Self::screen_from_canvas`]).
    pub fn canvas_from_screen(&self, viewport: Rect, size: Vec2, s: Pos2) -> Pos2 {
        let v = rotate(s - viewport.center() - Vec2::from(self.pan), -self.rotation) / self.zoom;
        (v + size * 0.5).to_pos2()
    }

    /// Zooms by `factor` keeping the canvas point under `anchor` (screen) fixed.
    pub fn zoom_about(&mut self, viewport: Rect, size: Vec2, anchor: Pos2, factor: f32) {
        let before = self.canvas_from_screen(viewport, size, anchor);
        self.zoom = (self.zoom * factor).clamp(MIN_ZOOM, MAX_ZOOM);
        let after = self.screen_from_canvas(viewport, size, before);
        let fix = anchor - after;
        self.pan = [self.pan[0] + fix.x, self.pan[1] + fix.y];
    }

    /// Whole canvas visible and centred, unrotated.
    pub fn fit(viewport: Rect, size: Vec2) -> Self {
        let zoom = ((viewport.width() - 16.0) / size.x)
            .min((viewport.height() - 16.0) / size.y)
            .clamp(MIN_ZOOM, MAX_ZOOM);
        Self {
            zoom,
            ..Self::default()
        }
    }

    /// One canvas pixel per screen point, centred.
    pub fn actual_size() -> Self {
        Self::default()
    }

    /// Corners of the canvas on screen (for outlines and hit tests).
    pub fn canvas_corners(&self, viewport: Rect, size: Vec2) -> [Pos2; 4] {
        [
            pos2(0.0, 0.0),
            pos2(size.x, 0.0),
            pos2(size.x, size.y),
            pos2(0.0, size.y),
        ]
        .map(|p| self.screen_from_canvas(viewport, size, p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canvas_from_screen_inverts_screen_from_canvas() {
        let vp = Rect::from_min_size(pos2(10.0, 20.0), vec2(800.0, 600.0));
        let size = vec2(1000.0, 700.0);
        let view = View {
            zoom: 0.37,
            pan: [13.0, -40.0],
            rotation: 0.7,
        };
        for p in [pos2(0.0, 0.0), pos2(999.0, 3.0), pos2(500.0, 350.0)] {
            let back = view.canvas_from_screen(vp, size, view.screen_from_canvas(vp, size, p));
            assert!((back - p).length() < 1e-3, "{p:?} → {back:?}");
        }
    }

    #[test]
    fn zoom_about_keeps_the_anchor_still() {
        let vp = Rect::from_min_size(Pos2::ZERO, vec2(800.0, 600.0));
        let size = vec2(400.0, 300.0);
        let mut view = View::default();
        let anchor = pos2(100.0, 80.0);
        let before = view.canvas_from_screen(vp, size, anchor);
        view.zoom_about(vp, size, anchor, 2.5);
        let after = view.canvas_from_screen(vp, size, anchor);
        assert!((before - after).length() < 1e-3);
        view.zoom_about(vp, size, anchor, 1e6);
        assert_eq!(view.zoom, MAX_ZOOM);
    }
}
