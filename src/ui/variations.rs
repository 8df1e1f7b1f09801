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
use crate::refine::LatentSteering;
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
    thumb: Option<egui::TextureHandle>,
}

/// What the worker reports.
enum Report {
    Candidate { batch: u64, candidate: Candidate },
    Done { batch: u64 },
    Failed { batch: u64, message: String },
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
                thumb: None,
            };
            let alive = reports
                .send(Report::Candidate {
                    batch: job.batch,
                    candidate,
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
                Report::Candidate { batch, candidate } if batch == self.batch => {
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
    app.variations
        .steering
        .update(std::slice::from_ref(&c.z), &[]);
    let rgba: Vec<u8> = c
        .image
        .pixels()
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect();
    let name = format!("GAN {} seed {}", c.model, c.seed);
    let rect = c.rect;
    if let Err(e) = app
        .history
        .edit_stack(&mut app.doc, "Accept variation", None, |d| {
            d.add_layer_with_pixels(&name, rect, &rgba);
            Ok(())
        })
    {
        app.status = format!("Accept: {e}");
    }
}

/// Rejects candidate `i`: it leaves the grid and steers sampling away.
pub fn reject(app: &mut AtelierApp, i: usize) {
    if i < app.variations.candidates.len() {
        let c = app.variations.candidates.remove(i);
        app.variations
            .steering
            .update(&[], std::slice::from_ref(&c.z));
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
                    decision = Some((i, true));
                }
                if ui.button(format!("Reject {}", i + 1)).clicked() {
                    decision = Some((i, false));
                }
            });
            ui.separator();
        }
    });
    match decision {
        Some((i, true)) => accept(app, i),
        Some((i, false)) => reject(app, i),
        None => {}
    }
}
