//! Helpers shared by the integration tests that check large canvases.

/// A canvas with 1 px dark lines every 4 px on a light ground: detail far finer
/// than the GAN's work size, so losing it shows.
pub fn lined(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb(if x.is_multiple_of(4) || y.is_multiple_of(4) {
            [40, 40, 40]
        } else {
            [230, 220, 200]
        })
    })
}

/// Mean |difference| between horizontal neighbours: how much fine detail an image has.
pub fn fine_detail(img: &image::RgbImage) -> f64 {
    let (w, h) = img.dimensions();
    let row_sum = |y: u32| -> u64 {
        (1..w)
            .map(|x| {
                let (a, b) = (img.get_pixel(x - 1, y).0, img.get_pixel(x, y).0);
                (0..3).map(|c| u64::from(a[c].abs_diff(b[c]))).sum::<u64>()
            })
            .sum()
    };
    (0..h).map(row_sum).sum::<u64>() as f64 / (3 * (w - 1) * h) as f64
}
