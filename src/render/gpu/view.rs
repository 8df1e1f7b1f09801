//! The canvas view transform: zoom, pan and rotation between screen and canvas.
//!
//! Spaces (see `document::coords`):
//! - *screen space*: egui points, absolute in the window, y down — what
//!   `egui::Response::hover_pos` and `PointerState` report.
//! - *canvas space*: document pixels, origin at the canvas's top-left corner,
//!   y down; pixel `(x, y)` covers `[x, x+1) × [y, y+1)`.
//!
//! The convention (the one `document::coords` names), shared with the WGSL
//! (`canvas_from_screen` in `shaders/composite.wgsl`):
//!
//! ```text
//! pos_in_screen = viewport_center + pan + zoom · R(rotation) · (pos_in_canvas − canvas_size / 2)
//!               = origin + zoom · R(rotation) · pos_in_canvas
//! pos_in_canvas = canvas_from_screen · pos_in_screen
//!               = R(−rotation) · (pos_in_screen − origin) / zoom
//! R(θ)          = [[cos θ, −sin θ], [sin θ, cos θ]]   (y down: positive θ turns clockwise on screen)
//! ```
//!
//! So `pan` is the offset of the canvas centre from the widget's centre, in
//! points; the canvas turns about its centre; `zoom` is screen points per
//! canvas pixel (on a HiDPI screen, `zoom = 1 / pixels_per_point` shows one
//! canvas pixel per physical pixel). `origin` is where canvas corner `(0, 0)`
//! lands on screen.

/// Smallest zoom (1 %).
pub const MIN_ZOOM: f32 = 0.01;
/// Largest zoom (3200 %).
pub const MAX_ZOOM: f32 = 32.0;

/// How the canvas sits in its widget: the UI's saved view state.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CanvasView {
    /// Screen points per canvas pixel, `MIN_ZOOM..=MAX_ZOOM`.
    pub zoom: f32,
    /// Offset of the canvas centre from the widget's centre, in points.
    pub pan: [f32; 2],
    /// Rotation of the canvas about its centre, radians, clockwise on screen.
    pub rotation: f32,
}

impl Default for CanvasView {
    fn default() -> Self {
        Self {
            zoom: 1.0,
            pan: [0.0, 0.0],
            rotation: 0.0,
        }
    }
}

impl CanvasView {
    /// The view that shows a whole `canvas_size` document centred in a
    /// widget of `viewport_size` points, unrotated, as large as fits.
    pub fn fit(canvas_size: [f32; 2], viewport_size: [f32; 2]) -> Self {
        let zoom = (viewport_size[0] / canvas_size[0].max(1.0))
            .min(viewport_size[1] / canvas_size[1].max(1.0))
            .clamp(MIN_ZOOM, MAX_ZOOM);
        Self::centered(zoom)
    }

    /// The document centred in the widget at `zoom`, unrotated (`1.0` is "100 %").
    pub fn centered(zoom: f32) -> Self {
        Self {
            zoom: zoom.clamp(MIN_ZOOM, MAX_ZOOM),
            pan: [0.0, 0.0],
            rotation: 0.0,
        }
    }

    /// Multiplies the zoom by `factor` (clamped to 1 %–3200 %), keeping the
    /// canvas point under the screen point `anchor` (e.g. the pointer) where
    /// it is. `viewport_center` is the widget's centre in screen points.
    pub fn zoom_about(&mut self, viewport_center: [f32; 2], anchor: [f32; 2], factor: f32) {
        let new_zoom = (self.zoom * factor).clamp(MIN_ZOOM, MAX_ZOOM);
        let k = new_zoom / self.zoom;
        // With a = anchor − centre and c the canvas centre's screen offset
        // (= pan), a − pan = zoom·R·q must hold before and after for the same q.
        let a = [
            anchor[0] - viewport_center[0],
            anchor[1] - viewport_center[1],
        ];
        self.pan = [
            a[0] - k * (a[0] - self.pan[0]),
            a[1] - k * (a[1] - self.pan[1]),
        ];
        self.zoom = new_zoom;
    }

    /// Turns the canvas by `delta` radians about the screen point `anchor`.
    pub fn rotate_about(&mut self, viewport_center: [f32; 2], anchor: [f32; 2], delta: f32) {
        let (s, c) = delta.sin_cos();
        let a = [
            anchor[0] - viewport_center[0],
            anchor[1] - viewport_center[1],
        ];
        let d = [self.pan[0] - a[0], self.pan[1] - a[1]];
        self.pan = [a[0] + c * d[0] - s * d[1], a[1] + s * d[0] + c * d[1]];
        self.rotation += delta;
    }

    /// The transform for a widget centred at `viewport_center` (screen
    /// points) showing a `canvas_size` document.
    pub fn transform(&self, viewport_center: [f32; 2], canvas_size: [f32; 2]) -> ViewTransform {
        let zoom = if self.zoom.is_finite() && self.zoom > 0.0 {
            self.zoom
        } else {
            1.0
        };
        let rotation = if self.rotation.is_finite() {
            self.rotation
        } else {
            0.0
        };
        // origin = centre + pan − zoom·R·(size / 2)
        let (s, c) = rotation.sin_cos();
        let half = [canvas_size[0] * 0.5 * zoom, canvas_size[1] * 0.5 * zoom];
        let origin = [
            viewport_center[0] + self.pan[0] - (c * half[0] - s * half[1]),
            viewport_center[1] + self.pan[1] - (s * half[0] + c * half[1]),
        ];
        ViewTransform::from_origin(origin, zoom, rotation)
    }
}

/// A resolved view: maps points between screen and canvas space, with the
/// same numbers the shader gets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ViewTransform {
    /// Linear part of `canvas_from_screen`, column-major `[m00, m10, m01, m11]`.
    linear: [f32; 4],
    /// Translation of `canvas_from_screen`.
    translation: [f32; 2],
    /// Where canvas `(0, 0)` is on screen.
    origin: [f32; 2],
    zoom: f32,
    rotation: f32,
}

impl ViewTransform {
    /// The view that puts canvas corner `(0, 0)` at screen point `origin`,
    /// scales by `zoom` (points per canvas pixel, > 0) and turns by
    /// `rotation` radians clockwise about that corner.
    pub fn from_origin(origin: [f32; 2], zoom: f32, rotation: f32) -> Self {
        // A degenerate view would put infinities into the shader.
        let zoom = if zoom.is_finite() && zoom > 0.0 {
            zoom
        } else {
            1.0
        };
        let rotation = if rotation.is_finite() { rotation } else { 0.0 };
        let (s, c) = rotation.sin_cos();
        // canvas_from_screen = R(−θ)/zoom; R(−θ) = [[c, s], [−s, c]].
        let linear = [c / zoom, -s / zoom, s / zoom, c / zoom];
        let translation = [
            -(linear[0] * origin[0] + linear[2] * origin[1]),
            -(linear[1] * origin[0] + linear[3] * origin[1]),
        ];
        Self {
            linear,
            translation,
            origin,
            zoom,
            rotation,
        }
    }

    /// `pos_in_canvas = canvas_from_screen * pos_in_screen` (screen in points).
    pub fn canvas_from_screen(&self, p: [f32; 2]) -> [f32; 2] {
        let m = self.linear;
        [
            m[0] * p[0] + m[2] * p[1] + self.translation[0],
            m[1] * p[0] + m[3] * p[1] + self.translation[1],
        ]
    }

    /// `pos_in_screen = screen_from_canvas * pos_in_canvas` (screen in points).
    pub fn screen_from_canvas(&self, p: [f32; 2]) -> [f32; 2] {
        let (s, c) = self.rotation.sin_cos();
        let z = self.zoom;
        [
            self.origin[0] + z * (c * p[0] - s * p[1]),
            self.origin[1] + z * (s * p[0] + c * p[1]),
        ]
    }

    /// Screen points per canvas pixel.
    pub fn zoom(&self) -> f32 {
        self.zoom
    }

    /// The linear part and translation of `canvas_from_screen`, as the shader
    /// receives them.
    pub(crate) fn shader_parts(&self) -> ([f32; 4], [f32; 2]) {
        (self.linear, self.translation)
    }

    /// The identity view offset so that screen `(0, 0)` is canvas `origin`
    /// (the offscreen 1:1 composite).
    pub(crate) fn identity_at(origin: [f32; 2]) -> Self {
        Self::from_origin([-origin[0], -origin[1]], 1.0, 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: [f32; 2], b: [f32; 2]) -> bool {
        (a[0] - b[0]).abs() < 1e-3 && (a[1] - b[1]).abs() < 1e-3
    }

    #[test]
    fn screen_and_canvas_round_trip_under_zoom_pan_rotation() {
        let view = CanvasView {
            zoom: 2.5,
            pan: [30.0, -12.0],
            rotation: 0.7,
        };
        let t = view.transform([400.0, 300.0], [100.0, 60.0]);
        for p in [[0.0, 0.0], [10.5, 3.25], [-4.0, 800.0]] {
            assert!(
                close(t.canvas_from_screen(t.screen_from_canvas(p)), p),
                "{p:?}"
            );
        }
        // The canvas centre sits at the widget centre plus pan, whatever the rotation.
        assert!(close(t.screen_from_canvas([50.0, 30.0]), [430.0, 288.0]));
    }

    #[test]
    fn unrotated_view_scales_and_offsets() {
        let t = CanvasView {
            zoom: 4.0,
            pan: [8.0, 16.0],
            rotation: 0.0,
        }
        .transform([0.0, 0.0], [2.0, 2.0]);
        // Origin = (8, 16) − 4·(1, 1).
        assert!(close(t.canvas_from_screen([8.0, 16.0]), [1.0, 1.0]));
        assert!(close(t.screen_from_canvas([0.0, 0.0]), [4.0, 12.0]));
        // A quarter turn clockwise sends canvas +x to screen +y.
        let q = ViewTransform::from_origin([0.0, 0.0], 1.0, std::f32::consts::FRAC_PI_2);
        assert!(close(q.screen_from_canvas([1.0, 0.0]), [0.0, 1.0]));
    }

    #[test]
    fn zoom_and_rotate_keep_the_anchor_fixed() {
        let size = [800.0, 600.0];
        let mut view = CanvasView::fit(size, [400.0, 400.0]);
        assert!((view.zoom - 0.5).abs() < 1e-6);
        let center = [250.0, 220.0];
        let anchor = [123.0, 77.0];
        let before = view.transform(center, size).canvas_from_screen(anchor);
        view.zoom_about(center, anchor, 3.0);
        view.rotate_about(center, anchor, 0.4);
        let after = view.transform(center, size).canvas_from_screen(anchor);
        assert!(close(before, after), "{before:?} {after:?}");
        view.zoom_about(center, anchor, 1e6);
        assert_eq!(view.zoom, MAX_ZOOM);
    }
}
