//! Vary: the canvas (or the selection, with some context around it) goes to
//! the GAN on a worker thread, and candidates come back one by one into a
//! grid where the artist accepts, rejects or favourites them. Accepting is an
//! ordinary undoable edit: a new layer carrying its provenance, or the
//! selection replaced in the active layer. A selection is regenerated through
//! a mask and blended back with a feathered edge.
//!
//! The GAN never touches the document: the worker gets a snapshot, flattens
//! it, and only the UI thread turns a candidate into pixels. Every candidate
//! is recorded in the project's candidate history, and every decision steers
//! the next samples.
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};

use eframe::egui;
use image::{GrayImage, RgbImage, RgbaImage};

use super::app::AtelierApp;
use crate::document::{CanvasRect, Document, Provenance};
use crate::gan::{VariationModel, VaryRequest};
use crate::refine::history::{CandidateRecord, Decision, encode_png, now};
use crate::refine::lines::LineWork;
use crate::refine::{CandidateHistory, LatentSteering, region, resolution};
use crate::render::cpu;

/// Side of a candidate's thumbnail in the grid.
pub const THUMB_SIDE: u32 = 160;

/// How far "more like this" samples stray from the chosen code.
pub const MORE_LIKE_SPREAD: f32 = 0.35;

/// A variation waiting for a decision.
pub struct Candidate {
    /// Pixels, the size of `rect`.
    pub image: RgbImage,
    /// Coverage over `rect` (feathered selection); None: fully opaque.
    pub alpha: Option<Arc<GrayImage>>,
    /// Where it goes on the canvas.
    pub rect: CanvasRect,
    /// The selection it regenerates (inside `rect`), if any.
    pub selection: Option<CanvasRect>,
    /// The seed that made it (its latent code is reproducible from it).
    pub seed: u64,
    /// The latent code it came from.
    pub z: Vec<f32>,
    /// The discriminator's mean patch score.
    pub critic: f32,
    /// Model version id.
    pub model: String,
    /// Strength used.
    pub strength: f32,
    /// Its record in the project's candidate history.
    pub id: u64,
    /// Marked as a favourite.
    pub favourite: bool,
    /// A small copy for the grid, made on the worker.
    pub(super) thumb_image: Arc<RgbaImage>,
    /// Key of `thumb_image` on the GPU: unique in the process (history ids
    /// restart with each project, and a stale texture must never show).
    pub(super) thumb_key: u64,
    pub(super) thumb: Option<egui::TextureHandle>,
    pub(super) full: Option<egui::TextureHandle>,
}

impl Candidate {
    /// Whether its full-size preview texture has been made (tests).
    pub fn full_preview_shown(&self) -> bool {
        self.full.is_some()
    }

    /// Straight RGBA over `rect`: the pixels with the feathered coverage.
    pub fn rgba(&self) -> Vec<u8> {
        rgba_with_alpha(&self.image, self.alpha.as_deref())
    }
}

/// A fresh [`Candidate::thumb_key`].
fn next_thumb_key() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn rgba_with_alpha(image: &RgbImage, alpha: Option<&GrayImage>) -> Vec<u8> {
    image
        .pixels()
        .enumerate()
        .flat_map(|(i, p)| {
            let a = alpha.map_or(255, |m| m.as_raw().get(i).copied().unwrap_or(255));
            [p[0], p[1], p[2], a]
        })
        .collect()
}

/// What the worker reports.
enum Report {
    /// The flattened input, PNG-encoded for the candidate history.
    Input {
        batch: u64,
        png: Vec<u8>,
    },
    /// A candidate and its PNG bytes for the history.
    Candidate {
        batch: u64,
        candidate: Box<Candidate>,
        png: Vec<u8>,
    },
    Done {
        batch: u64,
    },
    Failed {
        batch: u64,
        message: String,
    },
}

/// One request to the worker.
struct Job {
    batch: u64,
    /// A snapshot of the document (cheap: tiles are shared); the worker
    /// flattens it, so the UI thread never composites a whole canvas.
    doc: Document,
    /// What the GAN is shown (the selection plus context, or the canvas).
    rect: CanvasRect,
    /// The part of `rect` to regenerate.
    selection: Option<CanvasRect>,
    request: VaryRequest,
    cancel: Arc<AtomicBool>,
    /// Weights to use; None: the embedded default.
    model: Option<PathBuf>,
    /// Keep the canvas's line work ([`crate::refine::lines`]).
    keep_lines: bool,
}

/// The GAN worker thread and the variations panel's state.
pub struct Variations {
    /// How many candidates to show per Vary (1–9).
    pub count: usize,
    /// Generate this many and show the best `count` by the critic (≤ count: off).
    pub best_of: usize,
    /// 0..1: how far from the canvas.
    pub strength: f32,
    /// Reuse the same seed on every Vary.
    pub lock_seed: bool,
    /// Seed of the next Vary.
    pub seed: u64,
    /// Accepting a candidate made from a selection paints it into the active
    /// layer instead of adding a layer.
    pub replace_selection: bool,
    /// Keep the canvas's thin strokes through a variation (the generator fades them).
    pub keep_lines: bool,
    /// Candidates waiting for a decision.
    pub candidates: Vec<Candidate>,
    /// The candidate shown full size over the canvas.
    pub selected: Option<usize>,
    /// Show the original instead of the selected candidate.
    pub compare: bool,
    /// The sampling distribution the artist's decisions steer.
    pub steering: LatentSteering,
    /// Whether a batch is being generated.
    pub running: bool,
    /// Candidates received in the batch so far, and how many it will make.
    pub progress: (usize, usize),
    /// Every candidate generated in the project, with decisions.
    pub history: CandidateHistory,
    /// Bumped whenever the history or steering changes (unsaved changes).
    pub revision: u64,
    /// The model's weights (None: the embedded default).
    pub model: Option<PathBuf>,
    /// Best-of-K candidates held back until the batch is complete.
    incoming: Vec<Candidate>,
    /// Key of the current batch's input snapshot in `history`.
    input_key: String,
    batch: u64,
    cancel: Arc<AtomicBool>,
    to_worker: Option<Sender<Job>>,
    from_worker: Option<Receiver<Report>>,
}

impl Default for Variations {
    fn default() -> Self {
        Self {
            count: 4,
            best_of: 0,
            strength: crate::refine::DEFAULT_STRENGTH,
            lock_seed: false,
            seed: 1,
            replace_selection: false,
            keep_lines: true,
            candidates: Vec::new(),
            selected: None,
            compare: false,
            steering: LatentSteering::new(crate::gan::DEFAULT_LATENT_DIM),
            running: false,
            progress: (0, 0),
            history: CandidateHistory::default(),
            revision: 0,
            model: None,
            incoming: Vec::new(),
            input_key: String::new(),
            batch: 0,
            cancel: Arc::new(AtomicBool::new(false)),
            to_worker: None,
            from_worker: None,
        }
    }
}

/// The model for `path`, reusing the one already loaded when it matches.
fn model_for<'a>(
    loaded: &'a mut Option<(Option<PathBuf>, Result<VariationModel, String>)>,
    path: &Option<PathBuf>,
) -> &'a Result<VariationModel, String> {
    if loaded.as_ref().is_none_or(|(p, _)| p != path) {
        let device = tch::Device::cuda_if_available();
        let model = match path {
            Some(p) => VariationModel::load(p, device),
            None => VariationModel::load_default(device),
        }
        .map_err(|e| format!("The GAN could not be loaded: {e}"));
        *loaded = Some((path.clone(), model));
    }
    &loaded.as_ref().expect("set above").1
}

/// A candidate's thumbnail: its long side [`THUMB_SIDE`], its shape the canvas's.
/// (`imageops::thumbnail` fits both sides to the given size, which squeezed
/// every candidate of a non-square canvas into a square.)
fn thumbnail(image: &RgbImage) -> RgbaImage {
    let (w, h) = image.dimensions();
    let scale = f64::from(THUMB_SIDE) / f64::from(w.max(h).max(1));
    let fit = |side: u32| ((f64::from(side) * scale).round() as u32).clamp(1, THUMB_SIDE);
    let thumb = image::imageops::thumbnail(image, fit(w), fit(h));
    image::DynamicImage::ImageRgb8(thumb).into_rgba8()
}

/// The worker: loads a model when a job asks for a different one, then serves jobs.
fn worker(jobs: Receiver<Job>, reports: Sender<Report>, ctx: egui::Context) {
    let mut loaded = None;
    for job in jobs {
        let model = match model_for(&mut loaded, &job.model) {
            Ok(m) => m,
            Err(e) => {
                let _ = reports.send(Report::Failed {
                    batch: job.batch,
                    message: e.clone(),
                });
                ctx.request_repaint();
                continue;
            }
        };
        let version = model.info().version_id.clone();
        let (w, h) = (job.rect.w, job.rect.h);
        let seed = job.request.seed;
        // What the GAN sees: `rect` flattened over white, at work size.
        let canvas = cpu::flatten_over(&job.doc, job.rect, [255, 255, 255]);
        let input = resolution::to_work(&canvas);
        let lines = job.keep_lines.then(|| LineWork::find(&canvas));
        let mut request = job.request.clone();
        let alpha = job.selection.map(|sel| {
            let feather = region::feather_width(sel);
            request.mask = Some(region::feather_mask(
                job.rect,
                sel,
                feather,
                input.width(),
                input.height(),
            ));
            Arc::new(region::feather_mask(job.rect, sel, feather, w, h))
        });
        match encode_png(&input) {
            Ok(png) => {
                let _ = reports.send(Report::Input {
                    batch: job.batch,
                    png,
                });
            }
            Err(e) => tracing::warn!("input snapshot not kept in history: {e}"),
        }
        let result = model.vary(&input, &request, |i, v| {
            if job.cancel.load(Ordering::Relaxed) {
                return false;
            }
            let image = match &lines {
                Some(lines) => lines.compose(&canvas, &input, v.image),
                None => resolution::to_canvas(&canvas, &input, v.image),
            };
            let candidate = Candidate {
                thumb_image: Arc::new(thumbnail(&image)),
                thumb_key: next_thumb_key(),
                image,
                alpha: alpha.clone(),
                rect: job.rect,
                selection: job.selection,
                seed: seed.wrapping_add(i as u64),
                z: v.z,
                critic: v.critic,
                model: version.clone(),
                strength: request.strength,
                id: 0,
                favourite: false,
                thumb: None,
                full: None,
            };
            // Lossless copy for the history; encoding here keeps it off the UI thread.
            let png = encode_png(&candidate.image).unwrap_or_default();
            let alive = reports
                .send(Report::Candidate {
                    batch: job.batch,
                    candidate: Box::new(candidate),
                    png,
                })
                .is_ok();
            ctx.request_repaint();
            alive && !job.cancel.load(Ordering::Relaxed)
        });
        let report = match result {
            Ok(()) => Report::Done { batch: job.batch },
            Err(e) => Report::Failed {
                batch: job.batch,
                message: format!("Vary failed: {e}"),
            },
        };
        let _ = reports.send(report);
        ctx.request_repaint();
    }
}

impl Variations {
    /// Sends the canvas (or `selection` with context) to the GAN, with codes
    /// from the steered distribution.
    pub fn start(&mut self, ctx: &egui::Context, doc: &Document, selection: Option<CanvasRect>) {
        let n = self.count.clamp(1, 9).max(self.best_of.min(64));
        let latents = self.steering.sample(n, self.seed);
        self.send(ctx, doc, selection, latents);
    }

    /// Samples around candidate `i`'s code: more variations like it.
    pub fn more_like(&mut self, ctx: &egui::Context, doc: &Document, i: usize) {
        let Some(c) = self.candidates.get(i) else {
            return;
        };
        let (z, selection) = (c.z.clone(), c.selection);
        let latents =
            LatentSteering::sample_around(&z, MORE_LIKE_SPREAD, self.count.clamp(1, 9), self.seed);
        self.send(ctx, doc, selection, latents);
    }

    fn send(
        &mut self,
        ctx: &egui::Context,
        doc: &Document,
        selection: Option<CanvasRect>,
        latents: Vec<Vec<f32>>,
    ) {
        let selection = selection.filter(|r| !r.is_empty() && *r != doc.bounds());
        let rect = selection.map_or(doc.bounds(), |s| region::context_rect(s, doc.bounds()));
        self.cancel.store(true, Ordering::Relaxed);
        self.cancel = Arc::new(AtomicBool::new(false));
        self.batch += 1;
        if self.to_worker.is_none() {
            let (tx, rx) = channel();
            let (rtx, rrx) = channel();
            let ctx = ctx.clone();
            std::thread::Builder::new()
                .name("gan-worker".into())
                .spawn(move || {
                    super::background::lower_this_thread_priority(
                        super::background::GAN_WORKER_NICE,
                    );
                    worker(rx, rtx, ctx)
                })
                .map_err(|e| tracing::error!("cannot start the GAN worker: {e}"))
                .ok();
            self.to_worker = Some(tx);
            self.from_worker = Some(rrx);
        }
        let request = VaryRequest {
            count: latents.len(),
            seed: self.seed,
            strength: self.strength.clamp(0.0, 1.0),
            mask: None,
            latents: Some(latents),
        };
        self.progress = (0, request.count);
        if !self.lock_seed {
            self.seed = self.seed.wrapping_add(request.count as u64);
        }
        let job = Job {
            batch: self.batch,
            doc: doc.clone(),
            rect,
            selection,
            request,
            cancel: self.cancel.clone(),
            model: self.model.clone(),
            keep_lines: self.keep_lines,
        };
        self.candidates.clear();
        self.incoming.clear();
        self.selected = None;
        self.running = self
            .to_worker
            .as_ref()
            .is_some_and(|tx| tx.send(job).is_ok());
    }

    /// Stops the batch in progress (the candidates so far stay).
    pub fn cancel(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        self.running = false;
        self.reveal_best();
    }

    /// Best-of-K: once the batch is complete, the `count` best by the critic
    /// join the grid; the rest stay in the history, undecided.
    fn reveal_best(&mut self) {
        let mut held = std::mem::take(&mut self.incoming);
        held.sort_by(|a, b| b.critic.total_cmp(&a.critic));
        held.truncate(self.count.clamp(1, 9));
        self.candidates.extend(held);
    }

    /// Collects what the worker finished; returns an error message to show.
    pub fn poll(&mut self) -> Option<String> {
        let rx = self.from_worker.as_ref()?;
        let mut message = None;
        let mut done = false;
        while let Ok(report) = rx.try_recv() {
            match report {
                Report::Input { batch, png } if batch == self.batch => {
                    self.input_key = self.history.add_input(png);
                }
                Report::Candidate {
                    batch,
                    mut candidate,
                    png,
                } if batch == self.batch => {
                    let r = &candidate.rect;
                    candidate.id = self.history.record(
                        CandidateRecord {
                            id: 0,
                            input: self.input_key.clone(),
                            output: String::new(),
                            rect: [r.x, r.y, r.w, r.h],
                            selection: candidate.selection.map(|s| [s.x, s.y, s.w, s.h]),
                            seed: candidate.seed,
                            z: candidate.z.clone(),
                            model: candidate.model.clone(),
                            strength: candidate.strength,
                            critic: candidate.critic,
                            decision: Decision::Pending,
                            favourite: false,
                            time: now(),
                        },
                        png,
                    );
                    self.revision += 1;
                    self.progress.0 += 1;
                    if self.progress.1 > self.count.clamp(1, 9) {
                        self.incoming.push(*candidate);
                    } else {
                        self.candidates.push(*candidate);
                    }
                }
                Report::Done { batch } if batch == self.batch => done = true,
                Report::Failed { batch, message: m } if batch == self.batch => {
                    done = true;
                    message = Some(m);
                }
                _ => {}
            }
        }
        if done {
            self.running = false;
            self.reveal_best();
        }
        message
    }

    /// Waits (tests) until the batch in progress has finished.
    pub fn wait(&mut self, timeout: std::time::Duration) -> Option<String> {
        let start = std::time::Instant::now();
        while self.running && start.elapsed() < timeout {
            if let Some(m) = self.poll() {
                return Some(m);
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        None
    }

    /// Removes candidate `i` from the grid, keeping the selection on the same
    /// candidate (or the next one).
    fn take(&mut self, i: usize) -> Candidate {
        let c = self.candidates.remove(i);
        self.selected = match self.selected {
            Some(s) if s > i => Some(s - 1),
            Some(s) if s == i => (i < self.candidates.len()).then_some(i),
            other => other,
        };
        c
    }

    /// The state a project saves: settings, history and steering.
    pub fn project_meta(&self, active_layer: usize) -> crate::project::ProjectMeta {
        crate::project::ProjectMeta {
            settings: crate::project::ProjectSettings {
                vary_count: self.count,
                vary_strength: self.strength,
                vary_seed: self.seed,
                lock_seed: self.lock_seed,
                keep_lines: self.keep_lines,
                active_layer,
            },
            candidates: self.history.clone(),
            steering: (self.steering.decisions > 0).then(|| self.steering.clone()),
        }
    }

    /// Takes over what an opened project saved; the grid starts empty.
    pub fn restore(&mut self, meta: crate::project::ProjectMeta) {
        self.cancel();
        self.candidates.clear();
        self.selected = None;
        let s = meta.settings;
        self.count = s.vary_count.clamp(1, 9);
        self.strength = s.vary_strength.clamp(0.0, 1.0);
        self.seed = s.vary_seed;
        self.lock_seed = s.lock_seed;
        self.keep_lines = s.keep_lines;
        self.history = meta.candidates;
        self.steering = meta
            .steering
            .filter(|st| st.dim() == crate::gan::DEFAULT_LATENT_DIM)
            .unwrap_or_else(|| LatentSteering::new(crate::gan::DEFAULT_LATENT_DIM));
        self.revision = 0;
    }
}

/// Accepts candidate `i`: a new layer above the active one (or, with
/// "replace selection", painted into the active layer), one undo step.
pub fn accept(app: &mut AtelierApp, i: usize) {
    if i >= app.variations.candidates.len() {
        return;
    }
    let c = app.variations.take(i);
    let v = &mut app.variations;
    // The artist wants to see the layer just accepted, not the next candidate's
    // preview over it (which would also hide what they paint next).
    v.selected = None;
    v.steering.update(std::slice::from_ref(&c.z), &[]);
    v.history.decide(c.id, Decision::Accepted);
    v.revision += 1;
    let provenance = Provenance {
        model: c.model.clone(),
        seed: c.seed,
        strength: c.strength,
        candidate: Some(c.id),
    };
    if app.variations.replace_selection && c.selection.is_some() {
        replace_in_active_layer(app, &c);
    } else {
        insert_layer(app, &c.rgba(), c.rect, provenance, "Accept variation");
    }
}

/// Paints a candidate into the active layer through its feathered coverage
/// (source-over), recorded as one pixel edit.
fn replace_in_active_layer(app: &mut AtelierApp, c: &Candidate) {
    let rgba = c.rgba();
    let layer = app.doc.active();
    let Some(grid) = app.doc.grid_mut(layer) else {
        return;
    };
    let old = grid.read_rect(c.rect);
    let px: Vec<u8> = old
        .chunks_exact(4)
        .zip(rgba.chunks_exact(4))
        .flat_map(|(o, n)| {
            let src = crate::document::blend::premultiply([n[0], n[1], n[2], n[3]]);
            let ia = 255 - u32::from(src[3]);
            std::array::from_fn::<u8, 4, _>(|k| {
                (u32::from(src[k]) + (u32::from(o[k]) * ia + 127) / 255).min(255) as u8
            })
        })
        .collect();
    let mut edit = crate::document::history::PixelEdit::new(layer);
    for t in c.rect.tiles() {
        edit.touch(grid, t);
    }
    grid.write_rect(c.rect, &px);
    app.history
        .record_pixels(&app.doc, edit, "Replace selection");
}

/// Adds straight RGBA `rgba` as a new layer over `rect` carrying
/// `provenance`, as one undo step named `label`.
pub fn insert_layer(
    app: &mut AtelierApp,
    rgba: &[u8],
    rect: CanvasRect,
    provenance: Provenance,
    label: &str,
) {
    if rgba.len() != rect.w as usize * rect.h as usize * 4 {
        app.status = format!("{label}: the candidate does not fit its place on the canvas");
        return;
    }
    let name = format!("GAN {} seed {}", provenance.model, provenance.seed);
    if let Err(e) = app.history.edit_stack(&mut app.doc, label, None, |d| {
        let id = d.add_layer_with_pixels(&name, rect, rgba);
        match d.layer(id).map(|l| l.props.clone()) {
            Some(mut props) => {
                props.provenance = Some(provenance);
                d.set_props(id, props)
            }
            None => Ok(()),
        }
    }) {
        app.status = format!("{label}: {e}");
    }
}

/// Rejects candidate `i`: it leaves the grid and steers sampling away.
pub fn reject(app: &mut AtelierApp, i: usize) {
    if i < app.variations.candidates.len() {
        let c = app.variations.take(i);
        let v = &mut app.variations;
        v.steering.update(&[], std::slice::from_ref(&c.z));
        v.history.decide(c.id, Decision::Rejected);
        v.revision += 1;
    }
}

/// Toggles the favourite mark of candidate `i` (kept in the history).
pub fn toggle_favourite(app: &mut AtelierApp, i: usize) {
    let v = &mut app.variations;
    if let Some(c) = v.candidates.get_mut(i) {
        c.favourite = v.history.toggle_favourite(c.id);
        v.revision += 1;
    }
}

/// Inserts a candidate from the history again as a new layer (its feathered
/// selection too); the record is marked accepted.
pub fn reapply(app: &mut AtelierApp, id: u64) {
    let Some(r) = app.variations.history.get(id).cloned() else {
        return;
    };
    let image = match app.variations.history.image(&r.output) {
        Ok(img) => img,
        Err(e) => {
            app.status = format!("Re-apply: {e}");
            return;
        }
    };
    let rect = CanvasRect::new(r.rect[0], r.rect[1], r.rect[2], r.rect[3]);
    if rect.intersect(&app.doc.bounds()) != rect || image.dimensions() != (rect.w, rect.h) {
        app.status = "Re-apply: the candidate was made for a different canvas size".into();
        return;
    }
    let alpha = r.selection.map(|s| {
        let sel = CanvasRect::new(s[0], s[1], s[2], s[3]);
        region::feather_mask(rect, sel, region::feather_width(sel), rect.w, rect.h)
    });
    let provenance = Provenance {
        model: r.model.clone(),
        seed: r.seed,
        strength: r.strength,
        candidate: Some(r.id),
    };
    let rgba = rgba_with_alpha(&image, alpha.as_ref());
    insert_layer(app, &rgba, rect, provenance, "Re-apply variation");
    app.variations.history.decide(id, Decision::Accepted);
    app.variations.revision += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thumbnail_keeps_the_canvas_s_shape() {
        let wide = thumbnail(&RgbImage::new(2048, 1400));
        assert_eq!(wide.dimensions(), (THUMB_SIDE, 109));
        let tall = thumbnail(&RgbImage::new(30, 90));
        assert_eq!(tall.dimensions(), (53, THUMB_SIDE));
        let sliver = thumbnail(&RgbImage::new(16384, 1));
        assert_eq!(sliver.dimensions(), (THUMB_SIDE, 1));
    }
}
