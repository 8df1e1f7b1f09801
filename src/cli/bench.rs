//! `atelier bench brush`: dab throughput on this machine, single-threaded.
//!
//! The workload mirrors `benches/mypaint_bench.c` so that
//! `scripts/bench-brush-vs-mypaint.sh` can compare the two side by side: a
//! 4096² canvas, radius 16, hardness 0.8, opacity 0.5, dabs every half radius
//! along a serpentine stroke, or at uniformly random positions. `--alpha`
//! below 0.25 measures the 16-bit path of faint dabs instead.
use std::time::Instant;

use clap::{Args, ValueEnum};
use serde::Serialize;

use crate::brush::raster::MaskCache;
use crate::brush::{Dab, DabSurface, LayerSurface, Paint, PaintMode};
use crate::document::TileGrid;
use crate::document::history::PixelEdit;

/// `atelier bench memory [--size 4096] [--layers 10] [--strokes 200] [--json]`
#[derive(Debug, Args)]
pub struct MemoryBenchArgs {
    /// Canvas side.
    #[arg(long, default_value_t = 4096)]
    pub size: u32,
    /// Number of layers, each painted over about a tenth of its area.
    #[arg(long, default_value_t = 10)]
    pub layers: usize,
    /// Undoable strokes, spread over the layers.
    #[arg(long, default_value_t = 200)]
    pub strokes: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// What `atelier bench memory` measured.
#[derive(Debug, Serialize)]
pub struct MemoryReport {
    size: u32,
    layers: usize,
    strokes: usize,
    /// Fraction of each layer's area covered by paint.
    coverage: f64,
    undo_steps: usize,
    /// Tile bytes held by the layers.
    document_bytes: usize,
    /// History's own estimate of the bytes only it holds.
    history_bytes: usize,
    /// Resident set size of the whole process.
    resident_bytes: u64,
}

/// Resident set size of this process, from /proc (Linux; `None` elsewhere).
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

pub(super) fn memory(args: MemoryBenchArgs) -> anyhow::Result<()> {
    use crate::brush::{BrushSettings, Stroke, StrokeSample};
    use crate::document::{Document, History};
    anyhow::ensure!(
        args.layers >= 1 && args.strokes >= 1,
        "--layers and --strokes must be at least 1"
    );
    let mut doc = Document::new(args.size, args.size, [255, 255, 255, 255])?;
    let mut history = History::default();
    let mut cache = MaskCache::default();
    let mut ids = Vec::new();
    for i in 0..args.layers {
        history.edit_stack(&mut doc, "Add layer", None, |d| {
            ids.push(d.add_layer(&format!("Layer {i}")));
            Ok(())
        })?;
    }
    // Each layer gets strokes/layers horizontal strokes in its own band: the
    // bands cover a tenth of the canvas height, the strokes fill them.
    let per_layer = args.strokes.div_ceil(args.layers);
    let s = args.size as f32;
    let band = s * 0.1;
    let radius = (band / per_layer as f32 / 2.0).clamp(2.0, 64.0);
    let mut painted = 0;
    for (li, id) in ids.iter().enumerate() {
        let top = (li as f32 * s / args.layers as f32).min(s - band);
        for k in 0..per_layer {
            if painted == args.strokes {
                break;
            }
            let y = top + radius + k as f32 * band / per_layer as f32;
            let stroke = Stroke {
                brush: BrushSettings {
                    radius: radius * 1.1,
                    hardness: 0.9,
                    spacing: 0.1,
                    smoothing: 0.0,
                    ..Default::default()
                },
                color: [(li * 25) as u8, 80, 160],
                seed: painted as u64,
                samples: (0..=20)
                    .map(|t| StrokeSample {
                        x: t as f32 / 20.0 * s,
                        y,
                        pressure: 1.0,
                        time: t as f32 * 0.01,
                    })
                    .collect(),
            };
            stroke.paint_on(&mut doc, &mut history, &mut cache, *id)?;
            painted += 1;
        }
    }
    // Measure before the coverage count below allocates its scratch buffers.
    let resident = resident_bytes().unwrap_or(0);
    let covered: usize = ids
        .iter()
        .map(|id| {
            let g = doc
                .grid(*id)
                .map(|g| g.read_rect(doc.bounds()))
                .unwrap_or_default();
            g.chunks_exact(4).filter(|p| p[3] > 0).count()
        })
        .sum();
    let report = MemoryReport {
        size: args.size,
        layers: args.layers,
        strokes: painted,
        coverage: covered as f64 / (args.layers as f64 * s as f64 * s as f64),
        undo_steps: history.undo_len(),
        document_bytes: doc.pixel_bytes(),
        history_bytes: history.used(),
        resident_bytes: resident,
    };
    if args.json {
        outln!("{}", serde_json::to_string(&report)?);
    } else {
        outln!(
            "{}² × {} layers, {:.1} % painted each, {} undo steps: resident {:.0} MiB (tiles {:.0} MiB, history {:.0} MiB)",
            report.size,
            report.layers,
            report.coverage * 100.0,
            report.undo_steps,
            report.resident_bytes as f64 / 1048576.0,
            report.document_bytes as f64 / 1048576.0,
            report.history_bytes as f64 / 1048576.0
        );
    }
    Ok(())
}

/// Where the dabs go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pattern {
    /// Serpentine rows, one dab every half radius.
    Stroke,
    /// Uniformly random positions.
    Random,
}

/// `atelier bench brush [--radius R] [--dabs N] [--pattern stroke|random] [--json]`
#[derive(Debug, Args)]
pub struct BrushBenchArgs {
    /// Dab radius in pixels.
    #[arg(long, default_value_t = 16.0)]
    pub radius: f32,
    /// Number of dabs per pattern.
    #[arg(long, default_value_t = 200_000)]
    pub dabs: u64,
    /// Only this pattern (default: both).
    #[arg(long)]
    pub pattern: Option<Pattern>,
    /// Canvas side.
    #[arg(long, default_value_t = 4096)]
    pub size: u32,
    /// Also record every touched tile for undo, as the app does.
    #[arg(long)]
    pub with_undo: bool,
    /// Dab alpha (the libmypaint reference paints at 0.5; below 0.25 dabs
    /// take the 16-bit path of faint brushes).
    #[arg(long, default_value_t = 0.5)]
    pub alpha: f32,
    /// One JSON line per pattern.
    #[arg(long)]
    pub json: bool,
}

/// One measured pattern.
#[derive(Debug, Serialize)]
pub struct BrushBenchReport {
    /// Always "atelier".
    pub engine: &'static str,
    /// Stroke or random.
    pub pattern: Pattern,
    /// Dab radius.
    pub radius: f32,
    /// Dabs drawn.
    pub dabs: u64,
    /// Whether undo recording was on.
    pub with_undo: bool,
    /// Dab alpha.
    pub alpha: f32,
    /// Wall time.
    pub seconds: f64,
    /// Throughput.
    pub dabs_per_second: f64,
}

/// xorshift64, the same generator as the C reference.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 * (1.0 / 9007199254740992.0)
    }
}

/// Runs one pattern and measures it.
pub fn run_brush_bench(args: &BrushBenchArgs, pattern: Pattern) -> BrushBenchReport {
    let size = args.size;
    let mut grid = TileGrid::new(size, size);
    let mut cache = MaskCache::default();
    let mut edit = PixelEdit::new(crate::document::LayerId(0));
    let paint = Paint {
        color: [204, 51, 26],
        mode: PaintMode::Paint,
    };
    let r = args.radius;
    let (step, margin) = (0.5 * r, r + 2.0);
    let (mut x, mut y, mut dir) = (margin, margin, 1.0f32);
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let start = Instant::now();
    {
        let mut surface = LayerSurface::new(
            &mut grid,
            args.with_undo.then_some(&mut edit),
            &mut cache,
            false,
        );
        for _ in 0..args.dabs {
            match pattern {
                Pattern::Stroke => {
                    x += dir * step;
                    if x > size as f32 - margin || x < margin {
                        dir = -dir;
                        x += dir * step;
                        y += 2.0 * r;
                    }
                    if y > size as f32 - margin {
                        y = margin;
                    }
                }
                Pattern::Random => {
                    x = margin + rng.next() as f32 * (size as f32 - 2.0 * margin);
                    y = margin + rng.next() as f32 * (size as f32 - 2.0 * margin);
                }
            }
            let dab = Dab {
                x,
                y,
                radius: r,
                hardness: 0.8,
                alpha: args.alpha,
            };
            surface.draw_dab(&dab, &paint);
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    BrushBenchReport {
        engine: "atelier",
        pattern,
        radius: r,
        dabs: args.dabs,
        with_undo: args.with_undo,
        alpha: args.alpha,
        seconds,
        dabs_per_second: args.dabs as f64 / seconds,
    }
}

pub(super) fn brush(args: BrushBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.radius > 0.0 && args.radius <= 500.0,
        "--radius must be in 0..500"
    );
    anyhow::ensure!(
        (64..=16384).contains(&args.size),
        "--size must be in 64..16384"
    );
    anyhow::ensure!(
        args.alpha > 0.0 && args.alpha <= 1.0,
        "--alpha must be in 0..1"
    );
    let patterns = match args.pattern {
        Some(p) => vec![p],
        None => vec![Pattern::Stroke, Pattern::Random],
    };
    for p in patterns {
        let report = run_brush_bench(&args, p);
        if args.json {
            outln!("{}", serde_json::to_string(&report)?);
        } else {
            outln!(
                "{:?}: {} dabs of radius {} in {:.3} s = {:.0} dabs/s{}",
                report.pattern,
                report.dabs,
                report.radius,
                report.seconds,
                report.dabs_per_second,
                if report.with_undo {
                    " (with undo recording)"
                } else {
                    ""
                }
            );
        }
    }
    Ok(())
}
