//! The soft airbrush lays an even stroke (issue 36): no periodic ripple
//! along a long stroke.
//!
//! Before the fix every dab's result was rounded to 8 bits; at the airbrush's
//! flow a dab adds 0 to 12 levels, so the rounding (up to half a level per
//! dab, over the ~10 dabs that overlap a pixel) summed differently at
//! different positions relative to the dab centres: ±1.5 to ±2.5 levels,
//! repeating along the stroke. Faint dabs now build up in 16 bits per channel
//! and are rounded once, so what remains is that one rounding.
use atelier::brush::raster::MaskCache;
use atelier::brush::{LayerSurface, Stroke, StrokeSample, presets};
use atelier::document::TileGrid;

/// Paints a 1400 px airbrush stroke from (50, y0) with `slope`, sampled every
/// 10 px like pointer input, and returns the worst deviation of any channel
/// along its centre line (middle 1000 px) from the 81 px moving average.
fn ripple(y0: f32, slope: f32) -> f64 {
    let brush = presets()
        .into_iter()
        .find(|b| b.name == "Soft airbrush")
        .unwrap();
    assert_eq!(
        (brush.hardness, brush.spacing, brush.flow),
        (0.0, 0.1, 0.08)
    );
    let stroke = Stroke {
        brush,
        color: [40, 90, 200],
        seed: 0,
        samples: (0..=140)
            .map(|i| StrokeSample {
                x: 50.0 + i as f32 * 10.0,
                y: y0 + slope * i as f32 * 10.0,
                pressure: 1.0,
                time: i as f32 * 0.01,
            })
            .collect(),
    };
    let mut grid = TileGrid::new(1500, 400);
    let mut cache = MaskCache::default();
    stroke.render(&mut LayerSurface::new(&mut grid, None, &mut cache, false));
    let line: Vec<[u8; 4]> = (250..1250)
        .map(|x| {
            let y = y0 + slope * (x as f32 - 50.0);
            grid.pixel(x, y.round() as u32)
        })
        .collect();
    assert!(line.iter().all(|p| p[3] > 40), "the stroke is painted");
    let mut worst = 0.0f64;
    for c in 0..4 {
        for i in 40..line.len() - 40 {
            let mean = line[i - 40..=i + 40]
                .iter()
                .map(|p| p[c] as f64)
                .sum::<f64>()
                / 81.0;
            worst = worst.max((line[i][c] as f64 - mean).abs());
        }
    }
    worst
}

#[test]
fn a_long_soft_airbrush_stroke_has_no_ripple() {
    // Horizontal, and slightly slanted so that the dabs' sub-pixel phase
    // drifts along the stroke (the banding case).
    for (y0, slope) in [(200.0, 0.0), (150.3, 0.05)] {
        let worst = ripple(y0, slope);
        assert!(
            worst <= 1.0,
            "slope {slope}: ripple ±{worst:.2}/255 along the centre line"
        );
    }
}
