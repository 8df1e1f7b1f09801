//! `atelier bench live`: replays a painting session at its real timing, as
//! the window would (one UI frame every 16.7 ms feeds the samples that are
//! due to the editor and ticks Live), once with Live off and once with it
//! on, and reports how long after a stroke ends Live shows that canvas
//! state, how many renditions a second it makes, and what Live costs the
//! painting frames.
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;

use super::doc_cmds::StrokeFile;
use crate::brush::{BrushSettings, Stroke, StrokeSample};
use crate::decisions::LatentSteering;
use crate::document::Document;
use crate::editor::tools::Tool;
use crate::editor::{Editor, ToolInput};
use crate::vary::live::{LIVE_SIDE, LiveSession, Tick, canvas_state};

/// `atelier bench live`
#[derive(Debug, Args)]
pub struct BenchLiveArgs {
    /// A stroke file (as `atelier paint` reads; sample times in seconds).
    /// Default: a built-in session of 8 strokes of 1.2 s with pauses.
    #[arg(long)]
    pub strokes: Option<PathBuf>,
    /// Canvas size.
    #[arg(long, default_value = "1024x768", value_parser = super::doc_cmds::parse_size)]
    pub size: (u32, u32),
    /// Pause between strokes, in seconds.
    #[arg(long, default_value_t = 1.0)]
    pub pause: f32,
    /// Model (default: embedded).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

/// Percentiles of a set of durations, in ms.
#[derive(Debug, Serialize, Default)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Largest.
    pub max: f64,
    /// How many.
    pub n: usize,
}

fn percentiles(mut v: Vec<f64>) -> Percentiles {
    if v.is_empty() {
        return Percentiles::default();
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    Percentiles {
        p50: at(0.5),
        p95: at(0.95),
        max: at(1.0),
        n: v.len(),
    }
}

/// What the benchmark reports.
#[derive(Debug, Serialize)]
pub struct LiveReport {
    /// Canvas size.
    pub size: (u32, u32),
    /// Live's long side when no stroke is in progress.
    pub live_side: u32,
    /// Stroke end → a frame of that canvas state arrives (ms).
    pub latency_ms: Percentiles,
    /// Strokes whose state was never shown (overtaken by the next stroke).
    pub missed: usize,
    /// Request → frame of every rendition received (ms): the time one
    /// rendition takes, waiting for the worker included.
    pub render_ms: Percentiles,
    /// Renditions received per second of the Live-on run.
    pub frames_per_s: f64,
    /// Renditions asked for and dropped before the worker took them.
    pub dropped: u64,
    /// Painting frames' work time with Live off (ms).
    pub paint_frame_ms_off: Percentiles,
    /// The same with Live on (ms).
    pub paint_frame_ms_on: Percentiles,
    /// p95 on / p95 off.
    pub paint_p95_ratio: f64,
}

/// A default session: 8 wavy strokes of 1.2 s at 120 samples a second.
fn default_strokes(w: u32, h: u32) -> Vec<Stroke> {
    let brush = BrushSettings {
        radius: 12.0,
        ..BrushSettings::default()
    };
    (0..8)
        .map(|k| {
            let y0 = h as f32 * (0.15 + 0.1 * k as f32);
            let samples = (0..=144)
                .map(|i| {
                    let t = i as f32 / 120.0;
                    StrokeSample {
                        x: w as f32 * (0.1 + 0.8 * t / 1.2),
                        y: y0 + 30.0 * (t * 9.0 + k as f32).sin(),
                        pressure: 1.0,
                        time: t,
                    }
                })
                .collect();
            Stroke {
                brush: brush.clone(),
                color: [(40 * k) as u8, 80, 200 - (20 * k) as u8],
                seed: k as u64,
                samples,
            }
        })
        .collect()
}

/// Results of one replay.
#[derive(Default)]
struct Run {
    frame_ms: Vec<f64>,
    latencies: Vec<f64>,
    missed: usize,
    frames: u64,
    dropped: u64,
    seconds: f64,
    render_ms: Vec<f64>,
}

/// Live as the window drives it: the session, what it reads, and the
/// stroke ends waiting to be shown.
struct Driver<'a> {
    session: LiveSession,
    steering: LatentSteering,
    model: Option<PathBuf>,
    /// Stroke ends not yet shown: (canvas state, when the stroke ended).
    waiting: Vec<(u64, Instant)>,
    latencies: &'a mut Vec<f64>,
}

impl Driver<'_> {
    /// One UI frame of Live: tick, and note which waiting state arrived.
    fn tick(&mut self, editor: &Editor) {
        self.session.tick(Tick {
            doc: &editor.doc,
            selection: None,
            stroking: editor.is_stroking(),
            steering: &self.steering,
            strength: crate::sampling::DEFAULT_STRENGTH,
            model: self.model.clone(),
            keep_lines: true,
            hidden: false,
        });
        if let Some(shown) = self.session.frame.as_ref().map(|f| f.state) {
            let latencies = &mut *self.latencies;
            self.waiting.retain(|(state, at)| {
                let arrived = *state == shown;
                if arrived {
                    latencies.push(at.elapsed().as_secs_f64() * 1e3);
                }
                !arrived
            });
        }
    }
}

/// Waits for the next UI frame of a 60 Hz loop.
fn next_frame(at: &mut Instant) {
    *at += Duration::from_micros(16_667);
    if let Some(wait) = at.checked_duration_since(Instant::now()) {
        std::thread::sleep(wait);
    }
}

/// Replays `strokes` at their timing with Live on (a session) or off.
fn replay(
    doc: &Document,
    strokes: &[Stroke],
    pause: f32,
    live: Option<(LiveSession, Option<PathBuf>)>,
) -> Run {
    let mut editor = Editor::new(doc.clone(), 1 << 30);
    let mut run = Run::default();
    let mut latencies = Vec::new();
    let mut driver = live.map(|(session, model)| Driver {
        session,
        steering: LatentSteering::new(crate::gan::DEFAULT_LATENT_DIM),
        model,
        waiting: Vec::new(),
        latencies: &mut latencies,
    });
    let frames_before = driver.as_ref().map_or(0, |d| d.session.frames);
    let start = Instant::now();
    let mut frame_at = Instant::now();
    for stroke in strokes {
        let brush = stroke.brush.clone().sanitized();
        let c = stroke.color;
        let input = ToolInput {
            brush: &brush,
            color: [c[0], c[1], c[2], 255],
            fill_tolerance: 0,
        };
        let t0 = Instant::now();
        let mut samples = stroke.samples.iter().peekable();
        let mut begun = false;
        while samples.peek().is_some() {
            next_frame(&mut frame_at);
            let work = Instant::now();
            let now = t0.elapsed().as_secs_f64();
            while let Some(p) = samples.next_if(|p| f64::from(p.time) <= now) {
                if !begun {
                    editor.begin(Tool::Brush, [p.x, p.y], 0.0, input);
                    begun = true;
                }
                editor.feed([p.x, p.y], p.pressure, f64::from(p.time));
            }
            if samples.peek().is_none() {
                let last = stroke.samples.last().map_or([0.0; 2], |p| [p.x, p.y]);
                editor.end(last);
                if let Some(d) = &mut driver {
                    d.waiting
                        .push((canvas_state(&editor.doc, None), Instant::now()));
                }
            }
            if let Some(d) = &mut driver {
                d.tick(&editor);
            }
            run.frame_ms.push(work.elapsed().as_secs_f64() * 1e3);
        }
        // The pause: the window keeps ticking while Live catches up.
        let pause_end = Instant::now() + Duration::from_secs_f32(pause);
        while Instant::now() < pause_end {
            next_frame(&mut frame_at);
            if let Some(d) = &mut driver {
                d.tick(&editor);
            }
        }
        // A stroke whose state Live never showed before the next one began.
        if let Some(d) = &mut driver {
            run.missed += d.waiting.len();
            d.waiting.clear();
        }
    }
    run.seconds = start.elapsed().as_secs_f64();
    if let Some(d) = &driver {
        run.frames = d.session.frames - frames_before;
        run.dropped = d.session.dropped();
        let n = (run.frames as usize).min(d.session.latencies.len());
        run.render_ms = d.session.latencies[d.session.latencies.len() - n..]
            .iter()
            .map(|l| l.as_secs_f64() * 1e3)
            .collect();
    }
    drop(driver);
    run.latencies = latencies;
    run
}

/// Runs the benchmark.
pub fn run_bench_live(args: BenchLiveArgs) -> anyhow::Result<()> {
    let (w, h) = args.size;
    let doc = Document::new(w, h, [250, 248, 240, 255])?;
    let strokes = match &args.strokes {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read stroke file {}", path.display()))?;
            let file: StrokeFile = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a valid stroke file", path.display()))?;
            file.strokes.into_iter().map(|s| s.stroke).collect()
        }
        None => default_strokes(w, h),
    };
    anyhow::ensure!(!strokes.is_empty(), "the stroke file has no strokes");
    // Load the model and make one rendition before timing (the window
    // pays this once, when Live is first turned on).
    let mut session = LiveSession::default();
    session.toggle();
    let warm = Document::new(w, h, [255; 4])?;
    let steering = LatentSteering::new(crate::gan::DEFAULT_LATENT_DIM);
    let started = Instant::now();
    while session.frame.is_none() {
        let done = session.tick(Tick {
            doc: &warm,
            selection: None,
            stroking: false,
            steering: &steering,
            strength: crate::sampling::DEFAULT_STRENGTH,
            model: args.model.clone(),
            keep_lines: true,
            hidden: false,
        });
        if let Some(e) = done.error {
            anyhow::bail!(e);
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(300),
            "Live made no rendition in 5 minutes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let off = replay(&doc, &strokes, args.pause, None);
    let on = replay(
        &doc,
        &strokes,
        args.pause,
        Some((session, args.model.clone())),
    );
    let (p_off, p_on) = (percentiles(off.frame_ms), percentiles(on.frame_ms));
    let report = LiveReport {
        size: (w, h),
        live_side: LIVE_SIDE,
        latency_ms: percentiles(on.latencies),
        missed: on.missed,
        render_ms: percentiles(on.render_ms),
        frames_per_s: on.frames as f64 / on.seconds.max(1e-9),
        dropped: on.dropped,
        paint_p95_ratio: p_on.p95 / p_off.p95.max(1e-9),
        paint_frame_ms_off: p_off,
        paint_frame_ms_on: p_on,
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let l = &report.latency_ms;
        outln!(
            "live {}×{} at {} px: latency p50 {:.0} ms, p95 {:.0} ms ({} strokes, {} missed); {:.2} frames/s; painting frame p95 {:.2} ms off, {:.2} ms on ({:.2}×)",
            w,
            h,
            report.live_side,
            l.p50,
            l.p95,
            l.n,
            report.missed,
            report.frames_per_s,
            report.paint_frame_ms_off.p95,
            report.paint_frame_ms_on.p95,
            report.paint_p95_ratio
        );
    }
    Ok(())
}
