//! The stabiliser keeps a stroke's shape: corners of slow strokes, the outline
//! of sparse stroke files, and the end point (issue 36).
//!
//! Tolerances come from the bound in `src/brush/stabiliser.rs`: a corner is
//! cut by at most a quarter of the averaging window's arc length (plus one
//! resampling step for where the window happens to sit), and a dab lies within
//! half a dab step of any point of the smoothed path.
use atelier::brush::stabiliser::{RESAMPLE_STEP, windows};
use atelier::brush::{BrushSettings, Dab, StrokeEngine, StrokeSample};
use proptest::prelude::*;

fn dabs(settings: &BrushSettings, samples: &[StrokeSample]) -> Vec<Dab> {
    let mut out = Vec::new();
    let mut e = StrokeEngine::new(settings.clone(), 0);
    for s in samples {
        e.add_sample(*s, &mut |d| out.push(d));
    }
    e.finish(&mut |d| out.push(d));
    out
}

fn brush(radius: f32, spacing: f32, smoothing: f32) -> BrushSettings {
    BrushSettings {
        radius,
        spacing,
        smoothing,
        pressure_size: 0.0,
        jitter: 0.0,
        ..Default::default()
    }
}

fn nearest(dabs: &[Dab], (x, y): (f32, f32)) -> f32 {
    dabs.iter()
        .map(|d| (d.x - x).hypot(d.y - y))
        .fold(f32::INFINITY, f32::min)
}

/// Worst corner cut for an averaging window of `window` pixels of path.
fn corner_tolerance(window: f32, settings: &BrushSettings) -> f32 {
    (window + RESAMPLE_STEP) / 4.0 + RESAMPLE_STEP + settings.step_at(settings.radius) / 2.0 + 0.05
}

/// The user's house: six points, no times (a hand-written stroke file).
const HOUSE: [(f32, f32); 6] = [
    (100.0, 300.0),
    (100.0, 150.0),
    (200.0, 50.0),
    (300.0, 150.0),
    (300.0, 300.0),
    (100.0, 300.0),
];

#[test]
fn house_outline_keeps_its_bounding_box_and_corners() {
    let samples: Vec<StrokeSample> = HOUSE
        .iter()
        .map(|&(x, y)| StrokeSample {
            x,
            y,
            pressure: 1.0,
            time: 0.0,
        })
        .collect();
    for smoothing in [0.3, 0.6] {
        let b = brush(4.0, 0.15, smoothing);
        let d = dabs(&b, &samples);
        // No times: only the distance window applies.
        let tol = corner_tolerance(windows(smoothing).0, &b);
        let min_x = d.iter().map(|d| d.x).fold(f32::INFINITY, f32::min);
        let max_x = d.iter().map(|d| d.x).fold(f32::NEG_INFINITY, f32::max);
        let min_y = d.iter().map(|d| d.y).fold(f32::INFINITY, f32::min);
        let max_y = d.iter().map(|d| d.y).fold(f32::NEG_INFINITY, f32::max);
        let got = [min_x, max_x, min_y, max_y];
        let want = [100.0, 300.0, 50.0, 300.0];
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() <= tol,
                "smoothing {smoothing}: bounding box {got:?}, outline's {want:?} (tolerance {tol})"
            );
        }
        for &v in &HOUSE[..5] {
            let n = nearest(&d, v);
            assert!(
                n <= tol,
                "smoothing {smoothing}: no dab within {tol} of corner {v:?} (nearest {n})"
            );
        }
        let last = d.last().unwrap();
        assert!((last.x - 100.0).hypot(last.y - 300.0) <= b.step_at(b.radius) + 1e-3);
    }
}

/// A polyline through `corners` walked at `speed` px/s, sampled every `dt`
/// seconds, or at its corners only when `dt` is `None` (a sparse stroke file
/// with times).
fn walk(corners: &[(f32, f32)], speed: f32, dt: Option<f32>) -> Vec<StrokeSample> {
    let at = |x: f32, y: f32, time: f32| StrokeSample {
        x,
        y,
        pressure: 1.0,
        time,
    };
    let mut out = vec![at(corners[0].0, corners[0].1, 0.0)];
    let mut t0 = 0.0;
    for w in corners.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        let len = (x1 - x0).hypot(y1 - y0);
        let t1 = t0 + len / speed;
        if let Some(dt) = dt {
            let mut t = (t0 / dt).floor() * dt + dt;
            while t < t1 {
                let f = (t - t0) / (t1 - t0);
                out.push(at(x0 + (x1 - x0) * f, y0 + (y1 - y0) * f, t));
                t += dt;
            }
        } else {
            out.push(at(x1, y1, t1));
        }
        t0 = t1;
    }
    if dt.is_some() {
        let &(x, y) = corners.last().unwrap();
        out.push(at(x, y, t0));
    }
    out
}

/// Corners joined by segments of 40..200 px in any direction (hairpins too).
fn polyline() -> impl Strategy<Value = Vec<(f32, f32)>> {
    prop::collection::vec((40.0f32..200.0, 0.0f32..std::f32::consts::TAU), 2..6).prop_map(
        |segments| {
            let mut p = (500.0, 500.0);
            let mut out = vec![p];
            for (len, angle) in segments {
                p = (p.0 + len * angle.cos(), p.1 + len * angle.sin());
                out.push(p);
            }
            out
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A slow stroke (10..60 px/s, a careful line) keeps every corner and
    /// ends on its end point, at any smoothing the brush panel offers, whether
    /// the pen reports 60..250 times a second or only at the corners.
    #[test]
    fn slow_strokes_keep_their_corners_and_end_point(
        corners in polyline(),
        speed in 10.0f32..60.0,
        rate in prop::option::of(60.0f32..250.0),
        smoothing in 0.0f32..0.95,
        radius in 1.0f32..20.0,
        spacing in 0.05f32..0.5,
    ) {
        let b = brush(radius, spacing, smoothing);
        let dt = rate.map(|r| 1.0 / r);
        let d = dabs(&b, &walk(&corners, speed, dt));
        let (len, time) = windows(smoothing);
        // The window of a stroke at `speed`, and how far a sample can miss
        // the corner it straddles.
        let window = len.min(speed * time);
        let chord = dt.map_or(0.0, |dt| speed * dt / 2.0);
        let tol = corner_tolerance(window, &b) + chord;
        // The end point is checked below: dabs stop short of it by less than
        // a step.
        for &c in &corners[..corners.len() - 1] {
            let n = nearest(&d, c);
            prop_assert!(n <= tol, "corner {c:?}: nearest dab {n} px away, tolerance {tol}");
        }
        let (ex, ey) = *corners.last().unwrap();
        let last = d.last().unwrap();
        let gap = (last.x - ex).hypot(last.y - ey);
        prop_assert!(gap <= b.step_at(radius) + 1e-3, "last dab {gap} px from the end");
    }
}

/// The stabiliser still stabilises: a 10 Hz tremor of ±2 px on a line drawn
/// at 100 px/s comes out at under half its amplitude at smoothing 0.9.
#[test]
fn strong_smoothing_removes_tremor() {
    let samples: Vec<StrokeSample> = (0..=360)
        .map(|i| {
            let t = i as f32 / 120.0;
            StrokeSample {
                x: 100.0 + 100.0 * t,
                y: 200.0 + 2.0 * (std::f32::consts::TAU * 10.0 * t).sin(),
                pressure: 1.0,
                time: t,
            }
        })
        .collect();
    let d = dabs(&brush(4.0, 0.1, 0.9), &samples);
    // Away from the ends, where the window is full.
    let worst = d
        .iter()
        .filter(|d| (150.0..350.0).contains(&d.x))
        .map(|d| (d.y - 200.0).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1.0, "tremor left: ±{worst} px");
}
