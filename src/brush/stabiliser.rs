//! The stabiliser: a moving average over the recent path, windowed by both
//! distance and time.
//!
//! Input samples are first resampled along the pointer's path every
//! [`RESAMPLE_STEP`] pixels (position, pressure and time interpolated
//! linearly), so smoothing depends on the path and not on how often the device
//! reports: a six-point outline in a stroke file and a 1000 Hz tablet trace of
//! the same shape smooth alike. (The stabiliser this replaces moved a fraction
//! of the way to each *sample*; with sparse samples it cut every corner, by
//! more the sparser they were.)
//!
//! The smoothed point is the mean of the resampled points that lie within the
//! last `window_len` pixels of path *and* the last `window_time` seconds:
//! - the distance limit bounds the lag of fast strokes and of stroke files
//!   without times;
//! - the time limit makes the lag proportional to speed, so a slow, careful
//!   stroke keeps its corners, and a pen resting at a corner lets the line
//!   catch up to it (the time-based part of Krita's stabiliser and MyPaint's
//!   slow tracking).
//!
//! At the end of the stroke the window shrinks from its old end until only the
//! last point is left: the line catches up *along the path that was drawn*
//! (not by a straight cut across it) and ends exactly where the pen ended.
//!
//! How far a corner is cut: when the window is centred on a corner, every
//! point in it lies within its own path distance of the corner, so their mean
//! lies within the mean of those distances, a quarter of the window's arc
//! length, whatever the corner's angle (as long as no second corner is inside
//! the window). A stroke at speed `v` has a window of at most
//! `min(window_len, v · window_time)` pixels.
use std::collections::VecDeque;

use super::StrokeSample;

/// Distance between resampled points along the input path, in pixels: fine
/// enough that the window's mean moves smoothly, coarse enough that the window
/// of the strongest smoothing holds under a thousand points.
pub const RESAMPLE_STEP: f32 = 0.5;
/// Lag of a straight stroke along the distance window per unit of
/// `s / (1 − s)`, in pixels: the old per-sample stabiliser lagged
/// `s / (1 − s)` samples, and a 125 Hz mouse at a brisk 500 px/s reports every
/// 4 px, so the brush keeps its feel for pointer input.
const LAG_PX: f32 = 4.0;
/// The same in seconds, for the time window (samples about every 10 ms).
const LAG_S: f32 = 0.010;
/// Most resampled points one input segment makes: a wild coordinate in a
/// stroke file must not turn into billions of points.
const MAX_POINTS_PER_SEGMENT: f32 = 65536.0;

/// Window limits for a smoothing strength: `(pixels, seconds)` of path that
/// are averaged. Zero smoothing gives empty windows.
pub fn windows(smoothing: f32) -> (f32, f32) {
    let s = smoothing.clamp(0.0, 0.98);
    let k = s / (1.0 - s);
    // The mean of a window lags by half its length.
    (2.0 * LAG_PX * k, 2.0 * LAG_S * k)
}

/// One resampled point of the input path.
#[derive(Clone, Copy, Debug)]
struct PathPoint {
    x: f32,
    y: f32,
    pressure: f32,
    time: f32,
    /// Path length from the first sample.
    arc: f64,
}

/// Smooths a stream of samples (see the module documentation).
#[derive(Debug)]
pub struct Stabiliser {
    window_len: f64,
    window_time: f32,
    /// The window, oldest first.
    points: VecDeque<PathPoint>,
    /// Sums of x, y and pressure over `points` (f64: the window is updated
    /// millions of times along a long stroke without drifting).
    sum: [f64; 3],
    /// Path length walked up to the latest raw sample.
    arc: f64,
    /// Distance from the latest raw sample to the next resampled point.
    carry: f32,
    /// The latest raw sample.
    raw: Option<StrokeSample>,
}

impl Stabiliser {
    /// A stabiliser of the given strength (`BrushSettings::smoothing`).
    pub fn new(smoothing: f32) -> Self {
        let (len, time) = windows(smoothing);
        // The window never holds more points than its length allows, so this
        // is the only allocation of the stroke.
        let capacity = (len / RESAMPLE_STEP) as usize + 2;
        Self {
            window_len: len as f64,
            window_time: time,
            points: VecDeque::with_capacity(capacity),
            sum: [0.0; 3],
            arc: 0.0,
            carry: 0.0,
            raw: None,
        }
    }

    /// Feeds one raw sample; `out` receives the smoothed path as a sequence of
    /// points (the first sample comes out unchanged).
    pub fn push(&mut self, sample: StrokeSample, out: &mut dyn FnMut(StrokeSample)) {
        if !(sample.x.is_finite() && sample.y.is_finite()) {
            return;
        }
        let Some(prev) = self.raw else {
            self.raw = Some(sample);
            self.carry = RESAMPLE_STEP;
            self.add(
                PathPoint {
                    x: sample.x,
                    y: sample.y,
                    pressure: sample.pressure,
                    time: sample.time,
                    arc: 0.0,
                },
                out,
            );
            return;
        };
        // Times that run backwards (or are all zero, as in hand-written
        // stroke files) count as no time passing.
        let now = sample.time.max(prev.time);
        let (dx, dy) = (sample.x - prev.x, sample.y - prev.y);
        let len = (dx * dx + dy * dy).sqrt();
        let step = RESAMPLE_STEP.max(len / MAX_POINTS_PER_SEGMENT);
        let mut u = self.carry;
        while u <= len {
            let t = u / len;
            self.add(
                PathPoint {
                    x: prev.x + dx * t,
                    y: prev.y + dy * t,
                    pressure: prev.pressure + (sample.pressure - prev.pressure) * t,
                    time: prev.time + (now - prev.time) * t,
                    arc: self.arc + u as f64,
                },
                out,
            );
            u += step;
        }
        self.carry = u - len;
        self.arc += len as f64;
        // Time passes even where the pen did not move: the line catches up.
        if self.drain(now, f64::NEG_INFINITY, out) {
            out(self.mean(now));
        }
        self.raw = Some(StrokeSample {
            time: now,
            ..sample
        });
    }

    /// Ends the stroke: the line catches up along the path and ends exactly
    /// on the last sample.
    pub fn finish(&mut self, out: &mut dyn FnMut(StrokeSample)) {
        let Some(raw) = self.raw else { return };
        let newest = self.points.back().copied();
        if newest.is_none_or(|p| (p.x, p.y, p.pressure) != (raw.x, raw.y, raw.pressure)) {
            self.points.push_back(PathPoint {
                x: raw.x,
                y: raw.y,
                pressure: raw.pressure,
                time: raw.time,
                arc: self.arc,
            });
            self.sum_in(raw.x, raw.y, raw.pressure, 1.0);
            out(self.mean(raw.time));
        }
        while self.points.len() > 1 {
            self.pop();
            out(self.mean(raw.time));
        }
        // Exactly the last sample, whatever the sums' rounding.
        self.reset_sum();
        out(self.mean(raw.time));
    }

    /// Appends a resampled point, drops what fell out of the window and emits
    /// the new mean.
    fn add(&mut self, p: PathPoint, out: &mut dyn FnMut(StrokeSample)) {
        self.points.push_back(p);
        self.sum_in(p.x, p.y, p.pressure, 1.0);
        self.drain(p.time, p.arc - self.window_len, out);
        out(self.mean(p.time));
    }

    /// Drops points older than the time window (relative to `now`) or behind
    /// `min_arc`, keeping at least the newest. Returns whether any went.
    /// Points dropped one at a time are emitted one at a time, so that a long
    /// catch-up still follows the path.
    fn drain(&mut self, now: f32, min_arc: f64, out: &mut dyn FnMut(StrokeSample)) -> bool {
        let mut any = false;
        while self.points.len() > 1 {
            let front = self.points[0];
            if front.arc >= min_arc && now - front.time <= self.window_time {
                break;
            }
            if any {
                out(self.mean(now));
            }
            self.pop();
            any = true;
        }
        any
    }

    fn pop(&mut self) {
        if let Some(p) = self.points.pop_front() {
            self.sum_in(p.x, p.y, p.pressure, -1.0);
        }
        if self.points.len() == 1 {
            self.reset_sum();
        }
    }

    fn sum_in(&mut self, x: f32, y: f32, pressure: f32, sign: f64) {
        self.sum[0] += sign * x as f64;
        self.sum[1] += sign * y as f64;
        self.sum[2] += sign * pressure as f64;
    }

    /// Recomputes the sums from the window (exact with one point in it).
    fn reset_sum(&mut self) {
        self.sum = [0.0; 3];
        for i in 0..self.points.len() {
            let p = self.points[i];
            self.sum_in(p.x, p.y, p.pressure, 1.0);
        }
    }

    fn mean(&self, time: f32) -> StrokeSample {
        let n = self.points.len().max(1) as f64;
        StrokeSample {
            x: (self.sum[0] / n) as f32,
            y: (self.sum[1] / n) as f32,
            pressure: (self.sum[2] / n) as f32,
            time,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: f32, y: f32, time: f32) -> StrokeSample {
        StrokeSample {
            x,
            y,
            pressure: 1.0,
            time,
        }
    }

    fn run(st: &mut Stabiliser, samples: &[StrokeSample]) -> Vec<StrokeSample> {
        let mut out = Vec::new();
        for s in samples {
            st.push(*s, &mut |p| out.push(p));
        }
        out
    }

    #[test]
    fn a_straight_stroke_lags_half_the_window_and_ends_on_its_end() {
        let mut st = Stabiliser::new(0.6);
        let (len, _) = windows(0.6);
        let out = run(&mut st, &[at(0.0, 0.0, 0.0), at(100.0, 0.0, 0.0)]);
        let last = out.last().unwrap();
        assert!(
            (last.x - (100.0 - len / 2.0)).abs() < RESAMPLE_STEP,
            "{last:?}"
        );
        assert!(out.iter().all(|p| p.y == 0.0));
        let mut tail = Vec::new();
        st.finish(&mut |p| tail.push(p));
        assert_eq!(*tail.last().unwrap(), at(100.0, 0.0, 0.0));
        // The catch-up moves forward along the path, never back.
        assert!(tail.windows(2).all(|w| w[1].x >= w[0].x));
    }

    #[test]
    fn a_pen_resting_at_a_corner_lets_the_line_reach_it() {
        let mut st = Stabiliser::new(0.9);
        let (_, time) = windows(0.9);
        let mut samples: Vec<_> = (0..=50)
            .map(|i| at(i as f32 * 2.0, 0.0, i as f32 * 0.01))
            .collect();
        // Still at (100, 0) for longer than the time window.
        samples.push(at(100.0, 0.0, 0.5 + time * 1.1));
        let out = run(&mut st, &samples);
        let last = out.last().unwrap();
        assert!(
            (last.x - 100.0).abs() <= RESAMPLE_STEP && last.y == 0.0,
            "{last:?}"
        );
    }

    #[test]
    fn the_window_never_outgrows_its_first_allocation() {
        let mut st = Stabiliser::new(0.98);
        let cap = st.points.capacity();
        let samples: Vec<_> = (0..2000)
            .map(|i| at((i as f32 * 0.37).sin() * 900.0, i as f32 * 3.0, 0.0))
            .collect();
        run(&mut st, &samples);
        assert_eq!(st.points.capacity(), cap);
    }

    #[test]
    fn sparse_and_dense_samples_of_one_path_smooth_alike() {
        let corners = [(0.0, 0.0), (120.0, 0.0), (120.0, 90.0), (10.0, 150.0)];
        let sparse: Vec<_> = corners.iter().map(|&(x, y)| at(x, y, 0.0)).collect();
        let mut dense = vec![sparse[0]];
        for w in corners.windows(2) {
            for k in 1..=37 {
                let f = k as f32 / 37.0;
                dense.push(at(
                    w[0].0 + (w[1].0 - w[0].0) * f,
                    w[0].1 + (w[1].1 - w[0].1) * f,
                    0.0,
                ));
            }
        }
        let a = run(&mut Stabiliser::new(0.8), &sparse);
        let b = run(&mut Stabiliser::new(0.8), &dense);
        // The same resampled path, up to where each sample set resampled it.
        let gap = a
            .iter()
            .map(|p| {
                b.iter()
                    .map(|q| (p.x - q.x).hypot(p.y - q.y))
                    .fold(f32::INFINITY, f32::min)
            })
            .fold(0.0, f32::max);
        assert!(gap < 0.1, "{gap}");
    }

    #[test]
    fn non_finite_samples_are_skipped() {
        let mut st = Stabiliser::new(0.5);
        let mut out = run(
            &mut st,
            &[
                at(0.0, 0.0, 0.0),
                at(f32::NAN, 1.0, 0.0),
                at(10.0, 0.0, 0.0),
            ],
        );
        st.finish(&mut |p| out.push(p));
        assert!(out.iter().all(|p| p.x.is_finite() && p.y.is_finite()));
        assert_eq!(out.last().unwrap().x, 10.0);
    }
}
