//! Dab placement: smoothing the input path ([`super::stabiliser`]) and spacing
//! dabs along it at a fraction of their diameter.
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::StrokeSample;
use super::settings::BrushSettings;
use super::stabiliser::Stabiliser;

/// One stamp of the brush, in canvas space.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dab {
    /// Centre x.
    pub x: f32,
    /// Centre y.
    pub y: f32,
    /// Radius in pixels.
    pub radius: f32,
    /// 0..1 fully opaque core as a fraction of the radius.
    pub hardness: f32,
    /// 0..1 alpha at the core.
    pub alpha: f32,
}

/// Turns samples into dabs, one sample at a time (the UI feeds pointer events
/// as they arrive; replay feeds a stored stroke). Pure: the same settings,
/// seed and samples give the same dabs.
#[derive(Debug)]
pub struct StrokeEngine {
    walker: Walker,
    /// `None` without smoothing: the path is the samples joined by lines.
    stabiliser: Option<Stabiliser>,
}

/// Places dabs along the (smoothed) path.
#[derive(Debug)]
struct Walker {
    settings: BrushSettings,
    rng: ChaCha8Rng,
    /// The previous point on the path.
    last: Option<StrokeSample>,
    /// Path length still to walk before the next dab.
    to_next: f32,
}

impl StrokeEngine {
    /// A new stroke with `settings`; `seed` drives jitter.
    pub fn new(settings: BrushSettings, seed: u64) -> Self {
        let stabiliser = (settings.smoothing > 0.0).then(|| Stabiliser::new(settings.smoothing));
        Self {
            walker: Walker {
                settings,
                rng: ChaCha8Rng::seed_from_u64(seed),
                last: None,
                to_next: 0.0,
            },
            stabiliser,
        }
    }

    /// The brush this stroke paints with.
    pub fn settings(&self) -> &BrushSettings {
        &self.walker.settings
    }

    /// Feeds one input sample; emits the dabs it completes.
    pub fn add_sample(&mut self, sample: StrokeSample, emit: &mut dyn FnMut(Dab)) {
        let walker = &mut self.walker;
        match &mut self.stabiliser {
            Some(st) => st.push(sample, &mut |p| walker.to(p, emit)),
            None => walker.to(sample, emit),
        }
    }

    /// Ends the stroke: the stabiliser catches up with the last sample along
    /// the path.
    pub fn finish(&mut self, emit: &mut dyn FnMut(Dab)) {
        let walker = &mut self.walker;
        if let Some(st) = &mut self.stabiliser {
            st.finish(&mut |p| walker.to(p, emit));
        }
    }
}

impl Walker {
    /// Extends the path to `to` (a non-finite point is skipped, so one bad
    /// sample cannot end the stroke).
    fn to(&mut self, to: StrokeSample, emit: &mut dyn FnMut(Dab)) {
        if !(to.x.is_finite() && to.y.is_finite()) {
            return;
        }
        match self.last {
            Some(from) => self.walk(from, to, emit),
            None => {
                // The first point is a dab of its own, so a click leaves a mark.
                self.last = Some(to);
                self.emit_at(to, emit);
                self.to_next = self.settings.step_at(self.settings.radius_at(to.pressure));
            }
        }
    }

    /// Places dabs from `from` towards `to` along a straight segment,
    /// interpolating pressure, and carries the remainder to the next segment.
    fn walk(&mut self, from: StrokeSample, to: StrokeSample, emit: &mut dyn FnMut(Dab)) {
        let (dx, dy) = (to.x - from.x, to.y - from.y);
        let len = (dx * dx + dy * dy).sqrt();
        let mut travelled = 0.0;
        while len > 0.0 && travelled + self.to_next <= len {
            travelled += self.to_next;
            let t = travelled / len;
            let at = StrokeSample {
                x: from.x + dx * t,
                y: from.y + dy * t,
                pressure: from.pressure + (to.pressure - from.pressure) * t,
                time: from.time + (to.time - from.time) * t,
            };
            self.emit_at(at, emit);
            self.to_next = self.settings.step_at(self.settings.radius_at(at.pressure));
        }
        // An infinite length (coordinates near f32::MAX) must not poison the
        // carry.
        if len.is_finite() {
            self.to_next -= len - travelled;
            self.last = Some(to);
        }
    }

    fn emit_at(&mut self, at: StrokeSample, emit: &mut dyn FnMut(Dab)) {
        let radius = self.settings.radius_at(at.pressure);
        let (mut x, mut y) = (at.x, at.y);
        if self.settings.jitter > 0.0 {
            let j = self.settings.jitter * radius;
            x += self.rng.random_range(-1.0f32..=1.0) * j;
            y += self.rng.random_range(-1.0f32..=1.0) * j;
        }
        emit(Dab {
            x,
            y,
            radius,
            hardness: self.settings.hardness,
            alpha: self.settings.alpha_at(at.pressure),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(x: f32, y: f32, pressure: f32) -> StrokeSample {
        StrokeSample {
            x,
            y,
            pressure,
            time: 0.0,
        }
    }

    fn dabs(settings: BrushSettings, samples: &[StrokeSample], seed: u64) -> Vec<Dab> {
        let mut out = Vec::new();
        let mut e = StrokeEngine::new(settings, seed);
        for s in samples {
            e.add_sample(*s, &mut |d| out.push(d));
        }
        e.finish(&mut |d| out.push(d));
        out
    }

    #[test]
    fn dabs_are_spaced_a_fraction_of_the_diameter() {
        let b = BrushSettings {
            radius: 10.0,
            spacing: 0.25,
            smoothing: 0.0,
            pressure_size: 0.0,
            ..Default::default()
        };
        let d = dabs(b, &[sample(0.0, 0.0, 1.0), sample(100.0, 0.0, 1.0)], 0);
        // step = 0.25 · 20 = 5 px → dabs at 0, 5, …, 100.
        assert_eq!(d.len(), 21);
        for (i, dab) in d.iter().enumerate() {
            assert!(
                (dab.x - 5.0 * i as f32).abs() < 1e-3,
                "dab {i} at {}",
                dab.x
            );
        }
    }

    #[test]
    fn spacing_follows_pressure_and_carries_across_segments() {
        let b = BrushSettings {
            radius: 10.0,
            spacing: 0.5,
            smoothing: 0.0,
            pressure_size: 1.0,
            ..Default::default()
        };
        let pts: Vec<_> = (0..=10).map(|i| sample(i as f32 * 3.0, 0.0, 0.5)).collect();
        let d = dabs(b, &pts, 0);
        // At pressure 0.5 the radius is 5 and the step 5 px, whatever the sample spacing.
        for w in d.windows(2) {
            assert!((w[1].x - w[0].x - 5.0).abs() < 1e-3);
            assert!((w[0].radius - 5.0).abs() < 1e-6);
        }
    }

    #[test]
    fn jitter_is_repeatable_for_a_seed() {
        let b = BrushSettings {
            jitter: 0.5,
            ..Default::default()
        };
        let pts = [sample(0.0, 0.0, 1.0), sample(50.0, 20.0, 0.7)];
        assert_eq!(dabs(b.clone(), &pts, 7), dabs(b.clone(), &pts, 7));
        assert_ne!(dabs(b.clone(), &pts, 7), dabs(b, &pts, 8));
    }

    #[test]
    fn smoothing_ends_on_the_last_sample() {
        let b = BrushSettings {
            smoothing: 0.9,
            ..Default::default()
        };
        let d = dabs(b, &[sample(0.0, 0.0, 1.0), sample(40.0, 0.0, 1.0)], 0);
        assert!(d.last().unwrap().x > 38.0);
    }
}
