//! Vary: the canvas (or the selection) goes to the GAN on a worker thread, and
//! candidates come back one by one into a grid where the artist accepts or
//! rejects them. Accepting is an ordinary undoable edit: a new layer named
//! after the model version and seed.
//!
//! The GAN never touches the document: the worker gets a flattened snapshot,
//! and only the UI thread turns a candidate into pixels.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};

use eframe::egui;
use image::RgbImage;

use super::app::AtelierApp;
use crate::document::CanvasRect;
use crate::gan::{VariationModel, VaryRequest};
use crate::refine::history::{CandidateRecord, Decision, encode_png, now};
use crate::refine::{CandidateHistory, LatentSteering};
use crate::render::cpu;

/// Longest side the GAN works at; larger canvases are scaled down for it and
/// the results scaled back up, so Vary stays interactive on a CPU.
pub const WORK_SIDE: u32 = 512;

/// A variation waiting for a decision.
pub struct Candidate {
    /// Pixels, the size of `rect`.
    pub image: RgbImage,
    /// Where it goes on the canvas.
    pub rect: CanvasRect,
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
    thumb: Option<egui::TextureHandle>,
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
        candidate: Candidate,
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
    doc: crate::document::Document,
    rect: CanvasRect,
    request: VaryRequest,
    cancel: Arc<AtomicBool>,
}

/// The GAN worker thread and the variations panel's state.
pub struct Variations {
    /// How many candidates per Vary (1–9).
    pub count: usize,
    /// 0..1: how far from the canvas.
    pub strength: f32,
    /// Reuse the same seed on every Vary.
    pub lock_seed: bool,
    /// Seed of the next Vary.
    pub seed: u64,
    /// Candidates waiting for a decision.
    pub candidates: Vec<Candidate>,
    /// The sampling distribution the artist's decisions steer.
    pub steering: LatentSteering,
    /// Whether a batch is being generated.
    pub running: bool,
    /// Every candidate generated in the project, with decisions.
    pub history: CandidateHistory,
    /// Bumped whenever the history or steering changes (unsaved changes).
    pub revision: u64,
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
            strength: crate::gan::infer::DEFAULT_STRENGTH,
            lock_seed: false,
            seed: 1,
            candidates: Vec::new(),
            steering: LatentSteering::new(crate::gan::DEFAULT_LATENT_DIM),
            running: false,
            history: CandidateHistory::default(),
            revision: 0,
            input_key: String::new(),
            batch: 0,
            cancel: Arc::new(AtomicBool::new(false)),
            to_worker: None,
            from_worker: None,
        }
    }
}

/// What the GAN sees: `rect` flattened over white, at most WORK_SIDE on the
/// long side.
fn gan_input(doc: &crate::document::Document, rect: CanvasRect) -> RgbImage {
    let full = cpu::flatten_over(doc, rect, [255, 255, 255]);
    let scale = (WORK_SIDE as f32 / rect.w.max(rect.h) as f32).min(1.0);
    if scale < 1.0 {
        let side = |v: u32| ((v as f32 * scale).round() as u32).max(16);
        image::imageops::resize(
            &full,
            side(rect.w),
            side(rect.h),
            image::imageops::FilterType::Triangle,
        )
    } else {
        full
    }
}

/// The worker: loads the embedded default model once, then serves jobs.
fn worker(jobs: Receiver<Job>, reports: Sender<Report>, ctx: egui::Context) {
    let model = VariationModel::load_default(tch::Device::cuda_if_available());
    for job in jobs {
        let model = match &model {
            Ok(m) => m,
            Err(e) => {
                let _ = reports.send(Report::Failed {
                    batch: job.batch,
                    message: format!("The GAN could not be loaded: {e}"),
                });
                ctx.request_repaint();
                continue;
            }
        };
        let version = model.info().version_id.clone();
        let (w, h) = (job.rect.w, job.rect.h);
        let seed = job.request.seed;
        let input = gan_input(&job.doc, job.rect);
        match encode_png(&input) {
            Ok(png) => {
                let _ = reports.send(Report::Input {
                    batch: job.batch,
                    png,
                });
            }
            Err(e) => tracing::warn!("input snapshot not kept in history: {e}"),
        }
        let result = model.vary(&input, &job.request, |i, v| {
            if job.cancel.load(Ordering::Relaxed) {
                return false;
            }
            let image = if v.image.dimensions() == (w, h) {
                v.image
            } else {
                image::imageops::resize(&v.image, w, h, image::imageops::FilterType::CatmullRom)
            };
            let candidate = Candidate {
                image,
                rect: job.rect,
                seed: seed.wrapping_add(i as u64),
                z: v.z,
                critic: v.critic,
                model: version.clone(),
                strength: job.request.strength,
                id: 0,
                favourite: false,
                thumb: None,
            };
            // Lossless copy for the history; encoding here keeps it off the UI thread.
            let png = encode_png(&candidate.image).unwrap_or_default();
            let alive = reports
                .send(Report::Candidate {
                    batch: job.batch,
                    candidate,
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
    /// Sends the canvas (or `selection`) to the GAN.
    pub fn start(
        &mut self,
        ctx: &egui::Context,
        doc: &crate::document::Document,
        selection: Option<CanvasRect>,
    ) {
        let rect = selection.filter(|r| !r.is_empty()).unwrap_or(doc.bounds());
        self.cancel.store(true, Ordering::Relaxed);
        self.cancel = Arc::new(AtomicBool::new(false));
        self.batch += 1;
        if self.to_worker.is_none() {
            let (tx, rx) = channel();
            let (rtx, rrx) = channel();
            let ctx = ctx.clone();
            std::thread::Builder::new()
                .name("gan-worker".into())
                .spawn(move || worker(rx, rtx, ctx))
                .map_err(|e| tracing::error!("cannot start the GAN worker: {e}"))
                .ok();
            self.to_worker = Some(tx);
            self.from_worker = Some(rrx);
        }
        let count = self.count.clamp(1, 9);
        let request = VaryRequest {
            count,
            seed: self.seed,
            strength: self.strength.clamp(0.0, 1.0),
            mask: None,
            // Codes come from the steered distribution (the prior until the
            // artist has decided something).
            latents: Some(self.steering.sample(count, self.seed)),
        };
        if !self.lock_seed {
            self.seed = self.seed.wrapping_add(self.count as u64);
        }
        let job = Job {
            batch: self.batch,
            doc: doc.clone(),
            rect,
            request,
            cancel: self.cancel.clone(),
        };
        self.candidates.clear();
        self.running = self
            .to_worker
            .as_ref()
            .is_some_and(|tx| tx.send(job).is_ok());
    }

    /// Stops the batch in progress (the candidates so far stay).
    pub fn cancel(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        self.running = false;
    }

    /// Collects what the worker finished; returns an error message to show.
    pub fn poll(&mut self) -> Option<String> {
        let rx = self.from_worker.as_ref()?;
        let mut message = None;
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
                    self.candidates.push(candidate)
                }
                Report::Done { batch } if batch == self.batch => self.running = false,
                Report::Failed { batch, message: m } if batch == self.batch => {
                    self.running = false;
                    message = Some(m);
                }
                _ => {}
            }
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
}

/// Accepts candidate `i`: a new layer above the active one, one undo step.
pub fn accept(app: &mut AtelierApp, i: usize) {
    if i >= app.variations.candidates.len() {
        return;
    }
    let c = app.variations.candidates.remove(i);
    let v = &mut app.variations;
    v.steering.update(std::slice::from_ref(&c.z), &[]);
    v.history.decide(c.id, Decision::Accepted);
    v.revision += 1;
    let provenance = crate::document::Provenance {
        model: c.model.clone(),
        seed: c.seed,
        strength: c.strength,
        candidate: Some(c.id),
    };
    insert_layer(app, &c.image, c.rect, provenance, "Accept variation");
}

/// Adds `image` as a new layer over `rect` carrying `provenance`, as one
/// undo step named `label`.
pub fn insert_layer(
    app: &mut AtelierApp,
    image: &RgbImage,
    rect: CanvasRect,
    provenance: crate::document::Provenance,
    label: &str,
) {
    let rgba: Vec<u8> = image
        .pixels()
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect();
    if rgba.len() != rect.w as usize * rect.h as usize * 4 {
        app.status = format!("{label}: the candidate does not fit its place on the canvas");
        return;
    }
    let name = format!("GAN {} seed {}", provenance.model, provenance.seed);
    if let Err(e) = app.history.edit_stack(&mut app.doc, label, None, |d| {
        let id = d.add_layer_with_pixels(&name, rect, &rgba);
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
        let c = app.variations.candidates.remove(i);
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

impl Variations {
    /// The state a project saves: settings, history and steering.
    pub fn project_meta(&self, active_layer: usize) -> crate::project::ProjectMeta {
        crate::project::ProjectMeta {
            settings: crate::project::ProjectSettings {
                vary_count: self.count,
                vary_strength: self.strength,
                vary_seed: self.seed,
                lock_seed: self.lock_seed,
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
        let s = meta.settings;
        self.count = s.vary_count.clamp(1, 9);
        self.strength = s.vary_strength.clamp(0.0, 1.0);
        self.seed = s.vary_seed;
        self.lock_seed = s.lock_seed;
        self.history = meta.candidates;
        self.steering = meta
            .steering
            .filter(|st| st.dim() == crate::gan::DEFAULT_LATENT_DIM)
            .unwrap_or_else(|| LatentSteering::new(crate::gan::DEFAULT_LATENT_DIM));
        self.revision = 0;
    }
}

/// The variations panel: controls and the candidate grid.
pub fn show(app: &mut AtelierApp, ui: &mut egui::Ui) {
    if let Some(message) = app.variations.poll() {
        app.status = message;
    }
    ui.heading("Variations");
    let v = &mut app.variations;
    ui.add(egui::Slider::new(&mut v.count, 1..=9).text("Count"));
    ui.add(egui::Slider::new(&mut v.strength, 0.0..=1.0).text("Strength"))
        .on_hover_text("How far the variations may stray from the canvas");
    ui.horizontal(|ui| {
        ui.checkbox(&mut v.lock_seed, "Lock seed");
        ui.add(egui::DragValue::new(&mut v.seed).prefix("seed "));
    });
    let vary_cmd = super::commands::Command::Vary;
    let tip = vary_cmd.tooltip(ui.ctx());
    ui.horizontal(|ui| {
        let label = if app.selection.is_some() {
            "Vary selection"
        } else {
            "Vary"
        };
        if ui.button(label).on_hover_text(tip).clicked() {
            app.variations.start(ui.ctx(), &app.doc, app.selection);
        }
        if app.variations.running {
            ui.spinner();
            if ui.button("Cancel").clicked() {
                app.variations.cancel();
            }
        }
    });
    ui.horizontal(|ui| {
        let n = app.variations.steering.decisions;
        ui.label(if n == 0 {
            "Sampling: unsteered".to_string()
        } else {
            format!("Steered by {n} decisions")
        })
        .on_hover_text("Accepts pull the next variations towards them, rejects push away");
        if ui
            .add_enabled(n > 0, egui::Button::new("Reset steering"))
            .clicked()
        {
            app.variations.steering.reset();
        }
    });
    let mut decision = None;
    egui::ScrollArea::vertical().id_salt("candidates").show(ui, |ui| {
        for (i, c) in app.variations.candidates.iter_mut().enumerate() {
            let tex = c.thumb.get_or_insert_with(|| {
                let img = image::imageops::thumbnail(&c.image, 200, 200);
                let color = egui::ColorImage::from_rgb([img.width() as usize, img.height() as usize], img.as_raw());
                ui.ctx().load_texture(format!("candidate-{i}-{}", c.seed), color, egui::TextureOptions::LINEAR)
            });
            ui.add(egui::Image::new(&*tex).max_width(200.0));
            ui.horizontal(|ui| {
                ui.label(format!("seed {}", c.seed));
                ui.label(format!("critic {:+.2}", c.critic)).on_hover_text(
                    "The discriminator's mean patch score: higher means it looks more like real paintings to the model",
                );
            });
            ui.horizontal(|ui| {
                if ui.button(format!("Accept {}", i + 1)).clicked() {
                    decision = Some((i, Pick::Accept));
                }
                if ui.button(format!("Reject {}", i + 1)).clicked() {
                    decision = Some((i, Pick::Reject));
                }
                let star = if c.favourite { "Favourite *" } else { "Favourite" };
                if ui
                    .selectable_label(c.favourite, format!("{star} {}", i + 1))
                    .clicked()
                {
                    decision = Some((i, Pick::Favourite));
                }
            });
            ui.separator();
        }
    });
    match decision {
        Some((i, Pick::Accept)) => accept(app, i),
        Some((i, Pick::Reject)) => reject(app, i),
        Some((i, Pick::Favourite)) => toggle_favourite(app, i),
        None => {}
    }
}

/// A decision clicked in the grid.
enum Pick {
    Accept,
    Reject,
    Favourite,
}
