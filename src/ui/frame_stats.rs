//! Frame timing for benchmarks: with `ATELIER_FRAME_STATS=FILE` set, the app
//! records how long each frame's UI work takes and the interval between
//! frames, separately for frames with no refinement, frames while one
//! computes and frames while one is paused for the artist's input (see
//! `background::ArtistActivity`), with the refinement steps made in each, and
//! writes a summary to FILE every 2 s and when it exits.
//!
//! An event-driven app draws a frame when something happens, so the interval
//! between frames also measures how fast input arrives. With
//! `ATELIER_FRAME_STATS_CONTINUOUS=1` the app redraws as fast as it can, and
//! the interval is the frame time: UI work, rendering and presenting.
//!
//! With `ATELIER_FRAME_LOG=FILE` it also writes one CSV line per frame (time
//! since the first frame, [`Phase`] as 0–2, UI work, interval, primary button
//! down), to see *which* frames make up a percentile's tail.
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

/// Frames recorded so far.
pub struct FrameStats {
    path: PathBuf,
    /// Redraw continuously (see the module overview).
    pub continuous: bool,
    last_start: Option<Instant>,
    /// (UI work ms, interval since the previous frame ms), by [`Phase`].
    samples: [Vec<(f32, f32)>; 3],
    /// Refinement steps completed while in each phase.
    steps: [u64; 3],
    last_step: Option<u64>,
    last_write: Instant,
    /// Per-frame CSV log (`ATELIER_FRAME_LOG`) and the first frame's start.
    log: Option<(std::io::BufWriter<std::fs::File>, Instant)>,
}

/// How often the summary file is rewritten while the app runs.
const WRITE_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// What the refinement was doing during a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// No refinement running.
    Idle,
    /// A refinement running and computing.
    Training,
    /// A refinement running but paused for the artist's input.
    TrainingPaused,
}

/// Percentiles of one set of samples.
#[derive(Serialize)]
struct Summary {
    frames: usize,
    refine_steps: u64,
    work_p50_ms: f32,
    work_p95_ms: f32,
    work_max_ms: f32,
    interval_p50_ms: f32,
    interval_p95_ms: f32,
    interval_max_ms: f32,
}

fn summary(samples: &[(f32, f32)], refine_steps: u64) -> Summary {
    let pick = |f: fn(&(f32, f32)) -> f32, q: f32| {
        let mut v: Vec<f32> = samples.iter().map(f).collect();
        v.sort_by(f32::total_cmp);
        v.get(((v.len() as f32 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    Summary {
        frames: samples.len(),
        refine_steps,
        work_p50_ms: pick(|s| s.0, 0.5),
        work_p95_ms: pick(|s| s.0, 0.95),
        work_max_ms: pick(|s| s.0, 1.0),
        interval_p50_ms: pick(|s| s.1, 0.5),
        interval_p95_ms: pick(|s| s.1, 0.95),
        interval_max_ms: pick(|s| s.1, 1.0),
    }
}

impl FrameStats {
    /// Enabled by `ATELIER_FRAME_STATS`.
    pub fn from_env() -> Option<Self> {
        let path = std::env::var_os("ATELIER_FRAME_STATS")?;
        Some(Self {
            path: path.into(),
            continuous: std::env::var_os("ATELIER_FRAME_STATS_CONTINUOUS")
                .is_some_and(|v| v == "1"),
            last_start: None,
            samples: [Vec::new(), Vec::new(), Vec::new()],
            steps: [0; 3],
            last_step: None,
            last_write: Instant::now(),
            log: std::env::var_os("ATELIER_FRAME_LOG").and_then(|p| {
                let created = std::fs::File::create(&p).and_then(|f| {
                    let mut log = std::io::BufWriter::new(f);
                    writeln!(log, "t_ms,phase,work_ms,interval_ms,pressed")?;
                    Ok(log)
                });
                match created {
                    Ok(log) => Some((log, Instant::now())),
                    Err(e) => {
                        tracing::warn!("frame log: {}: {e}", PathBuf::from(p).display());
                        None
                    }
                }
            }),
        })
    }

    /// Call at the end of a frame's UI work, with the frame's start time,
    /// the refinement's phase, its step count (0 when none runs) and whether
    /// the primary button is down (for the log).
    pub fn end(&mut self, start: Instant, phase: Phase, refine_step: u64, pressed: bool) {
        let work = start.elapsed().as_secs_f32() * 1e3;
        let i = phase as usize;
        if let Some(prev) = self.last_start {
            let interval = start.duration_since(prev).as_secs_f32() * 1e3;
            self.samples[i].push((work, interval));
            if let Some((log, t0)) = &mut self.log {
                let t = start.duration_since(*t0).as_secs_f64() * 1e3;
                let pressed = u8::from(pressed);
                if let Err(e) = writeln!(log, "{t:.1},{i},{work:.2},{interval:.2},{pressed}") {
                    tracing::warn!("frame log: {e}; no more lines are written");
                    self.log = None;
                }
            }
        }
        if let Some(last) = self.last_step
            && refine_step > last
        {
            self.steps[i] += refine_step - last;
        }
        self.last_step = (phase != Phase::Idle).then_some(refine_step);
        self.last_start = Some(start);
        // Also every few seconds, so a benchmark that kills the app has data
        // (not every few frames: sorting and writing is UI-thread work that
        // would show up in the frames it measures).
        if self.last_write.elapsed() >= WRITE_EVERY {
            self.write();
            self.last_write = Instant::now();
        }
    }

    /// Writes the summary (and flushes the log).
    pub fn write(&mut self) {
        if let Some((log, _)) = &mut self.log
            && let Err(e) = log.flush()
        {
            tracing::warn!("frame log: {e}");
        }
        #[derive(Serialize)]
        struct Report {
            idle: Summary,
            training: Summary,
            training_paused: Summary,
        }
        let report = Report {
            idle: summary(&self.samples[0], self.steps[0]),
            training: summary(&self.samples[1], self.steps[1]),
            training_paused: summary(&self.samples[2], self.steps[2]),
        };
        match serde_json::to_vec_pretty(&report) {
            Ok(json) => {
                if let Err(e) = std::fs::write(&self.path, json) {
                    tracing::warn!("frame stats: {}: {e}", self.path.display());
                }
            }
            Err(e) => tracing::warn!("frame stats: {e}"),
        }
    }
}
