//! Work resolution: Vary runs the GAN on at most [`WORK_SIDE`] px on the long
//! side, so it stays interactive on a CPU and sees a canvas at about the scale
//! it was trained at, and brings each variation back to canvas resolution.
//!
//! Scaling a variation up on its own would blur the artist's canvas: a
//! 2000 px canvas came back as a 512 px picture enlarged four times. Instead
//! the variation's *change* is scaled up and added to the canvas
//! ([`to_canvas`]): what the GAN altered (tone, colour, shapes at its scale)
//! arrives, and the canvas's finer detail (line work, grain, edges) stays
//! where the artist put it.
use image::{ImageBuffer, Pixel, RgbImage};

/// Longest side the GAN works at.
pub const WORK_SIDE: u32 = 512;

/// The size the GAN works at for a `w`×`h` canvas: the same when it fits in
/// [`WORK_SIDE`], else scaled to fit (each side at least 16 px).
pub fn work_size(w: u32, h: u32) -> (u32, u32) {
    work_size_at(w, h, WORK_SIDE)
}

/// The size of a `w`×`h` canvas with its long side at most `side` px (Live
/// works smaller while a stroke is in progress).
pub fn work_size_at(w: u32, h: u32, side: u32) -> (u32, u32) {
    let scale = (side.max(16) as f32 / w.max(h).max(1) as f32).min(1.0);
    if scale < 1.0 {
        let side = |v: u32| ((v as f32 * scale).round() as u32).max(16);
        (side(w), side(h))
    } else {
        (w, h)
    }
}

/// An image the size of a canvas (the canvas, a variation or a mask) at that
/// canvas's work size (area-averaged), or a copy when it already fits.
pub fn to_work<P>(img: &ImageBuffer<P, Vec<P::Subpixel>>) -> ImageBuffer<P, Vec<P::Subpixel>>
where
    P: Pixel + 'static,
{
    to_side(img, WORK_SIDE)
}

/// An image with its long side at most `side` px (area-averaged), or a copy
/// when it already fits.
pub fn to_side<P>(
    img: &ImageBuffer<P, Vec<P::Subpixel>>,
    side: u32,
) -> ImageBuffer<P, Vec<P::Subpixel>>
where
    P: Pixel + 'static,
{
    let (w, h) = work_size_at(img.width(), img.height(), side);
    if (w, h) == img.dimensions() {
        img.clone()
    } else {
        image::imageops::resize(img, w, h, image::imageops::FilterType::Triangle)
    }
}

/// What the generator changed: `variation − input`, signed, per channel
/// (interleaved RGB, the two images of one size).
pub fn change(input: &RgbImage, variation: &RgbImage) -> Vec<f32> {
    variation
        .as_raw()
        .iter()
        .zip(input.as_raw())
        .map(|(&v, &i)| f32::from(v) - f32::from(i))
        .collect()
}

/// A variation made from `work_input` (the canvas at work size), brought back
/// to the size of `canvas`: `canvas + upsample(variation − work_input)`, with a
/// bilinear upsampling and clamped to 0..=255. When the sizes already agree it
/// is the variation itself.
pub fn to_canvas(canvas: &RgbImage, work_input: &RgbImage, variation: RgbImage) -> RgbImage {
    let (w, h) = variation.dimensions();
    if canvas.dimensions() == (w, h) {
        return variation;
    }
    debug_assert_eq!(work_input.dimensions(), (w, h));
    let change = change(work_input, &variation);
    let (big_w, big_h) = canvas.dimensions();
    let cols = taps(w, big_w);
    let rows = taps(h, big_h);
    let stride = w as usize * 3;
    let mut out = canvas.clone();
    for (y, row) in out.rows_mut().enumerate() {
        let (y0, y1, fy) = rows[y];
        let (r0, r1) = (&change[y0 * stride..], &change[y1 * stride..]);
        for (px, &(x0, x1, fx)) in row.zip(&cols) {
            for (c, value) in px.0.iter_mut().enumerate() {
                let (a, b) = (x0 * 3 + c, x1 * 3 + c);
                let top = r0[a] + (r0[b] - r0[a]) * fx;
                let bottom = r1[a] + (r1[b] - r1[a]) * fx;
                let delta = top + (bottom - top) * fy;
                *value = (f32::from(*value) + delta).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

/// For each of `big` output positions, the two source samples of `small` that
/// bracket its centre and the weight of the second (pixel centres aligned, the
/// edges held).
fn taps(small: u32, big: u32) -> Vec<(usize, usize, f32)> {
    let scale = small as f32 / big as f32;
    let last = small.saturating_sub(1) as usize;
    (0..big)
        .map(|i| {
            let s = ((i as f32 + 0.5) * scale - 0.5).clamp(0.0, last as f32);
            let s0 = s.floor() as usize;
            (s0, (s0 + 1).min(last), s - s0 as f32)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A canvas with 1 px lines every 4 px: detail far finer than work size.
    fn lined(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            if x.is_multiple_of(4) || y.is_multiple_of(4) {
                image::Rgb([20, 30, 40])
            } else {
                image::Rgb([200, 190, 180])
            }
        })
    }

    #[test]
    fn work_size_fits_the_long_side_and_keeps_small_canvases() {
        assert_eq!(work_size(300, 200), (300, 200));
        assert_eq!(work_size(512, 512), (512, 512));
        assert_eq!(work_size(2048, 1024), (512, 256));
        assert_eq!(work_size(1000, 3000), (171, 512));
        assert_eq!(work_size(10000, 50), (512, 16));
    }

    #[test]
    fn an_unchanged_variation_gives_back_the_canvas_exactly() {
        let canvas = lined(1100, 700);
        let work = to_work(&canvas);
        assert_eq!(work.dimensions(), (512, 326));
        assert_eq!(to_canvas(&canvas, &work, work.clone()), canvas);
    }

    #[test]
    fn a_uniform_change_shifts_every_pixel_and_keeps_the_lines() {
        let canvas = lined(1100, 700);
        let work = to_work(&canvas);
        let mut brighter = work.clone();
        brighter
            .pixels_mut()
            .for_each(|p| p.0 = p.0.map(|v| v.saturating_add(30)));
        let out = to_canvas(&canvas, &work, brighter);
        // No work pixel reaches 226 (the lines darken every one), so the change
        // is 30 everywhere, and each canvas pixel, line or not, is 30 brighter:
        // the 1 px lines stay as sharp as they were.
        for (o, c) in out.pixels().zip(canvas.pixels()) {
            assert_eq!(o.0, c.0.map(|v| v + 30));
        }
    }

    #[test]
    fn a_local_change_arrives_where_it_was_made() {
        let canvas = RgbImage::from_pixel(2048, 1024, image::Rgb([100, 100, 100]));
        let work = to_work(&canvas);
        let mut var = work.clone();
        // Darken the right half of the work image.
        for (x, _, p) in var.enumerate_pixels_mut() {
            if x >= 256 {
                p.0 = [40, 40, 40];
            }
        }
        let out = to_canvas(&canvas, &work, var);
        assert_eq!(out.get_pixel(10, 500).0, [100; 3]);
        assert_eq!(out.get_pixel(1000, 500).0, [100; 3]);
        assert_eq!(out.get_pixel(1048, 500).0, [40; 3]);
        assert_eq!(out.get_pixel(2047, 500).0, [40; 3]);
        // The edge between them is a short ramp (one work pixel is 4 canvas px).
        let mid = out.get_pixel(1024, 500).0[0];
        assert!(mid > 40 && mid < 100, "{mid}");
    }

    #[test]
    fn a_mask_follows_its_canvas_to_work_size() {
        let mask = image::GrayImage::from_fn(2048, 1024, |x, _| {
            image::Luma([if x < 1024 { 0 } else { 255 }])
        });
        let work = to_work(&mask);
        assert_eq!(work.dimensions(), work_size(2048, 1024));
        assert_eq!(work.get_pixel(100, 100).0, [0]);
        assert_eq!(work.get_pixel(400, 100).0, [255]);
    }

    #[test]
    fn same_size_returns_the_variation() {
        let canvas = lined(64, 48);
        let var = RgbImage::from_pixel(64, 48, image::Rgb([1, 2, 3]));
        assert_eq!(to_canvas(&canvas, &canvas, var.clone()), var);
    }
}
