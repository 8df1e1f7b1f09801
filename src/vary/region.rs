//! Varying a selection: the GAN sees the selection with some canvas around
//! it (context), regenerates through a mask, and the result is blended back
//! with a feathered edge so no seam shows.
use crate::document::CanvasRect;

/// The selection grown by a margin (a quarter of its longer side, at least
/// 16 px), clipped to the canvas: what the GAN is shown.
pub fn context_rect(selection: CanvasRect, canvas: CanvasRect) -> CanvasRect {
    let margin = (selection.w.max(selection.h) / 4).max(16);
    let x0 = selection.x.saturating_sub(margin);
    let y0 = selection.y.saturating_sub(margin);
    let x1 = selection.right().saturating_add(margin);
    let y1 = selection.bottom().saturating_add(margin);
    CanvasRect::new(x0, y0, x1 - x0, y1 - y0).intersect(&canvas)
}

/// Width of the feathered edge for a selection: an eighth of its shorter
/// side, between 2 and 24 px.
pub fn feather_width(selection: CanvasRect) -> f32 {
    (selection.w.min(selection.h) as f32 / 8.0).clamp(2.0, 24.0)
}

/// A `w`×`h` mask over `context` (canvas pixels scaled to `w`×`h`): 255
/// inside `selection`, 0 outside, with a linear ramp `feather` canvas pixels
/// wide centred on the selection's edge.
pub fn feather_mask(
    context: CanvasRect,
    selection: CanvasRect,
    feather: f32,
    w: u32,
    h: u32,
) -> image::GrayImage {
    let (sx, sy) = (context.w as f32 / w as f32, context.h as f32 / h as f32);
    let (left, top) = (selection.x as f32, selection.y as f32);
    let (right, bottom) = (selection.right() as f32, selection.bottom() as f32);
    image::GrayImage::from_fn(w, h, |x, y| {
        // Centre of the output pixel, in canvas space.
        let cx = context.x as f32 + (x as f32 + 0.5) * sx;
        let cy = context.y as f32 + (y as f32 + 0.5) * sy;
        // Signed distance to the selection's edge (negative inside).
        let dx = (left - cx).max(cx - right);
        let dy = (top - cy).max(cy - bottom);
        let d = if dx > 0.0 || dy > 0.0 {
            dx.max(0.0).hypot(dy.max(0.0))
        } else {
            dx.max(dy)
        };
        let a = (0.5 - d / feather.max(1e-3)).clamp(0.0, 1.0);
        image::Luma([(a * 255.0).round() as u8])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_grows_and_stays_on_the_canvas() {
        let canvas = CanvasRect::new(0, 0, 200, 100);
        let sel = CanvasRect::new(5, 40, 40, 20);
        assert_eq!(context_rect(sel, canvas), CanvasRect::new(0, 24, 61, 52));
    }

    #[test]
    fn mask_is_full_inside_empty_outside_and_ramps_at_the_edge() {
        let context = CanvasRect::new(0, 0, 100, 100);
        let sel = CanvasRect::new(30, 30, 40, 40);
        let m = feather_mask(context, sel, 10.0, 100, 100);
        assert_eq!(m.get_pixel(50, 50)[0], 255);
        assert_eq!(m.get_pixel(5, 5)[0], 0);
        assert_eq!(m.get_pixel(80, 50)[0], 0);
        // At the edge itself, half; monotone across it.
        let row: Vec<u8> = (20..40).map(|x| m.get_pixel(x, 50)[0]).collect();
        assert!(row.windows(2).all(|p| p[0] <= p[1]), "{row:?}");
        assert!((110..=145).contains(&m.get_pixel(30, 50)[0]), "{row:?}");
        // A half-resolution mask of the same region matches.
        let half = feather_mask(context, sel, 10.0, 50, 50);
        assert_eq!(half.get_pixel(25, 25)[0], 255);
        assert_eq!(half.get_pixel(2, 2)[0], 0);
    }
}
