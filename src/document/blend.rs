//! Blend modes and their formulas.
//!
//! Layers are premultiplied RGBA, blended in sRGB space (gamma-encoded values,
//! as Krita's 8-bit mode and most painting programs do). Compositing follows
//! the W3C "Compositing and Blending" model: with premultiplied backdrop `cb,
//! ab` and source `cs, as` (source already scaled by layer opacity),
//!
//! ```text
//! co = cs·(1 − ab) + cb·(1 − as) + as·ab·B(cb/ab, cs/as)
//! ao = as + ab·(1 − as)
//! ```
//!
//! where `B` is the separable blend function of the mode. The WGSL compositor
//! implements the same formulas (`shaders/composite.wgsl`); tests hold the two
//! within 1/255.
use serde::{Deserialize, Serialize};

/// How a layer combines with what is below it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlendMode {
    /// Source over.
    #[default]
    Normal,
    /// `cb · cs`: darkens.
    Multiply,
    /// `cb + cs − cb · cs`: lightens.
    Screen,
    /// Multiply or screen depending on the backdrop.
    Overlay,
    /// `min(cb, cs)`.
    Darken,
    /// `max(cb, cs)`.
    Lighten,
    /// `min(1, cb + cs)` (linear dodge).
    Add,
}

impl BlendMode {
    /// Every mode, in menu order.
    pub const ALL: [BlendMode; 7] = [
        BlendMode::Normal,
        BlendMode::Multiply,
        BlendMode::Screen,
        BlendMode::Overlay,
        BlendMode::Darken,
        BlendMode::Lighten,
        BlendMode::Add,
    ];

    /// Name shown to the user.
    pub fn label(self) -> &'static str {
        match self {
            BlendMode::Normal => "Normal",
            BlendMode::Multiply => "Multiply",
            BlendMode::Screen => "Screen",
            BlendMode::Overlay => "Overlay",
            BlendMode::Darken => "Darken",
            BlendMode::Lighten => "Lighten",
            BlendMode::Add => "Add",
        }
    }

    /// OpenRaster `composite-op` name.
    pub fn svg_name(self) -> &'static str {
        match self {
            BlendMode::Normal => "svg:src-over",
            BlendMode::Multiply => "svg:multiply",
            BlendMode::Screen => "svg:screen",
            BlendMode::Overlay => "svg:overlay",
            BlendMode::Darken => "svg:darken",
            BlendMode::Lighten => "svg:lighten",
            BlendMode::Add => "svg:plus",
        }
    }

    /// The mode for an OpenRaster `composite-op`, if known.
    pub fn from_svg_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.svg_name() == name)
    }

    /// Index the WGSL compositor switches on (must match `shaders/composite.wgsl`).
    pub fn shader_index(self) -> u32 {
        self as u32
    }

    /// The separable blend function `B(cb, cs)` on straight colour in 0..1.
    pub fn blend_channel(self, cb: f32, cs: f32) -> f32 {
        match self {
            BlendMode::Normal => cs,
            BlendMode::Multiply => cb * cs,
            BlendMode::Screen => cb + cs - cb * cs,
            BlendMode::Overlay => {
                if cb <= 0.5 {
                    2.0 * cb * cs
                } else {
                    let (b, s) = (2.0 * cb - 1.0, cs);
                    b + s - b * s
                }
            }
            BlendMode::Darken => cb.min(cs),
            BlendMode::Lighten => cb.max(cs),
            BlendMode::Add => (cb + cs).min(1.0),
        }
    }

    /// Composites premultiplied `src` (opacity already applied) over
    /// premultiplied `dst`, all in 0..1.
    pub fn composite(self, dst: [f32; 4], src: [f32; 4]) -> [f32; 4] {
        let (ab, as_) = (dst[3], src[3]);
        let mut out = [0.0; 4];
        for c in 0..3 {
            let (cb, cs) = (dst[c], src[c]);
            let mixed = if ab > 0.0 && as_ > 0.0 {
                as_ * ab * self.blend_channel(cb / ab, cs / as_)
            } else {
                0.0
            };
            out[c] = cs * (1.0 - ab) + cb * (1.0 - as_) + mixed;
        }
        out[3] = as_ + ab * (1.0 - as_);
        out
    }
}

/// Straight RGBA8 → premultiplied RGBA8 (rounded).
pub fn premultiply(c: [u8; 4]) -> [u8; 4] {
    let a = c[3] as u32;
    let m = |v: u8| ((v as u32 * a + 127) / 255) as u8;
    [m(c[0]), m(c[1]), m(c[2]), c[3]]
}

/// Premultiplied RGBA8 → straight RGBA8 (rounded; transparent stays black).
pub fn unpremultiply(c: [u8; 4]) -> [u8; 4] {
    let a = c[3] as u32;
    if a == 0 {
        return [0; 4];
    }
    let u = |v: u8| ((v as u32 * 255 + a / 2) / a).min(255) as u8;
    [u(c[0]), u(c[1]), u(c[2]), c[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: [f32; 4], b: [f32; 4]) -> bool {
        a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6)
    }

    #[test]
    fn opaque_formulas_match_definitions() {
        let (cb, cs) = (0.25f32, 0.75f32);
        let dst = [cb, cb, cb, 1.0];
        let src = [cs, cs, cs, 1.0];
        let expect = |v: f32| [v, v, v, 1.0];
        assert!(close(BlendMode::Normal.composite(dst, src), expect(cs)));
        assert!(close(
            BlendMode::Multiply.composite(dst, src),
            expect(cb * cs)
        ));
        assert!(close(
            BlendMode::Screen.composite(dst, src),
            expect(cb + cs - cb * cs)
        ));
        assert!(close(
            BlendMode::Overlay.composite(dst, src),
            expect(2.0 * cb * cs)
        ));
        assert!(close(BlendMode::Darken.composite(dst, src), expect(cb)));
        assert!(close(BlendMode::Lighten.composite(dst, src), expect(cs)));
        assert!(close(BlendMode::Add.composite(dst, src), expect(1.0)));
        // Overlay's other branch: backdrop above one half screens.
        let bright = [0.75, 0.75, 0.75, 1.0];
        let v = 0.5 + 0.75 - 0.5 * 0.75;
        assert!(close(BlendMode::Overlay.composite(bright, src), expect(v)));
    }

    #[test]
    fn every_mode_is_source_over_on_transparent_backdrop() {
        let src = [0.2, 0.1, 0.3, 0.5];
        for m in BlendMode::ALL {
            assert!(close(m.composite([0.0; 4], src), src), "{m:?}");
            assert!(close(m.composite(src, [0.0; 4]), src), "{m:?}");
        }
    }

    #[test]
    fn normal_half_alpha_is_porter_duff_over() {
        let dst = [0.0, 0.0, 1.0, 1.0];
        let src = [0.5, 0.0, 0.0, 0.5];
        assert!(close(
            BlendMode::Normal.composite(dst, src),
            [0.5, 0.0, 0.5, 1.0]
        ));
    }

    #[test]
    fn svg_names_round_trip_and_premultiply_inverts() {
        for m in BlendMode::ALL {
            assert_eq!(BlendMode::from_svg_name(m.svg_name()), Some(m));
        }
        for a in [1u8, 17, 128, 255] {
            for v in [0u8, 1, 100, 255] {
                let p = premultiply([v, v, v, a]);
                let back = unpremultiply(p);
                let err = (back[0] as i32 - v as i32).abs();
                assert!(err <= (255 / a as i32).max(1), "v {v} a {a} back {back:?}");
            }
        }
    }
}
