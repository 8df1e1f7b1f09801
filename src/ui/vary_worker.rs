//! The GAN worker behind the Variations panel: one long-lived thread that
//! loads the model a job asks for, runs the Vary pipeline on a document
//! snapshot and reports the input, each candidate (with its thumbnail and
//! lossless PNG, made here, off the UI thread) and the end of the batch.
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};

use eframe::egui;
use image::{RgbImage, RgbaImage};

use super::variations::{Candidate, MORE_LIKE_SPREAD, THUMB_SIDE};
use crate::decisions::LatentSteering;
use crate::decisions::history::encode_png;
use crate::document::{CanvasRect, Document};
use crate::vary::live::ModelCache;
use crate::vary::pipeline::{Options, Prepared};

/// A fresh [`Candidate::thumb_key`].
pub(super) fn next_thumb_key() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// What the worker reports.
pub(super) enum Report {
    /// The flattened input, PNG-encoded for the candidate history, and the
    /// latent size of the model that varies it.
    Input {
        batch: u64,
        png: Vec<u8>,
        latent_dim: usize,
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

/// Where a batch's latent codes come from; the worker draws them at the
/// model's latent size.
pub(super) enum Codes {
    /// From the steered distribution (the prior when it has another size).
    Steered(LatentSteering),
    /// Around a candidate's code ("more like this").
    Around(Vec<f32>),
}

impl Codes {
    fn draw(&self, count: usize, seed: u64, dim: usize) -> Vec<Vec<f32>> {
        match self {
            Codes::Steered(s) if s.dim() == dim => s.sample(count, seed),
            Codes::Around(z) if z.len() == dim => {
                LatentSteering::sample_around(z, MORE_LIKE_SPREAD, count, seed)
            }
            _ => LatentSteering::new(dim).sample(count, seed),
        }
    }
}

/// One request to the worker.
pub(super) struct Job {
    pub(super) batch: u64,
    /// A snapshot of the document (cheap: tiles are shared); the worker
    /// flattens it, so the UI thread never composites a whole canvas.
    pub(super) doc: Document,
    /// The part of the canvas to regenerate.
    pub(super) selection: Option<CanvasRect>,
    pub(super) codes: Codes,
    pub(super) count: usize,
    pub(super) seed: u64,
    pub(super) strength: f32,
    pub(super) cancel: Arc<AtomicBool>,
    /// Weights to use; None: the embedded default.
    pub(super) model: Option<PathBuf>,
    pub(super) options: Options,
}

/// A candidate's thumbnail: its long side [`THUMB_SIDE`], its shape the canvas's.
/// (`imageops::thumbnail` fits both sides to the given size, which squeezed
/// every candidate of a non-square canvas into a square.)
pub(super) fn thumbnail(image: &RgbImage) -> RgbaImage {
    let (w, h) = image.dimensions();
    let scale = f64::from(THUMB_SIDE) / f64::from(w.max(h).max(1));
    let fit = |side: u32| ((f64::from(side) * scale).round() as u32).clamp(1, THUMB_SIDE);
    let thumb = image::imageops::thumbnail(image, fit(w), fit(h));
    image::DynamicImage::ImageRgb8(thumb).into_rgba8()
}

/// The worker: loads a model when a job asks for a different one, then
/// serves jobs through the Vary pipeline.
pub(super) fn worker(jobs: Receiver<Job>, reports: Sender<Report>, ctx: egui::Context) {
    let mut models = ModelCache::default();
    for job in jobs {
        let send = |r: Report| {
            let alive = reports.send(r).is_ok();
            ctx.request_repaint();
            alive
        };
        let model = match models.get(&job.model) {
            Ok(m) => m,
            Err(e) => {
                send(Report::Failed {
                    batch: job.batch,
                    message: e.clone(),
                });
                continue;
            }
        };
        let version = model.info().version_id.clone();
        let latent_dim = model.info().arch.latent_dim;
        let prepared = Prepared::from_document(&job.doc, job.selection, job.options);
        let codes = job.codes.draw(job.count, job.seed, latent_dim);
        let request = prepared.request(job.count, job.seed, job.strength, Some(codes));
        let png = encode_png(&prepared.input).unwrap_or_else(|e| {
            tracing::warn!("input snapshot not kept in history: {e}");
            Vec::new()
        });
        send(Report::Input {
            batch: job.batch,
            png,
            latent_dim,
        });
        let result = prepared.run(model, &request, |made| {
            if job.cancel.load(Ordering::Relaxed) {
                return false;
            }
            let candidate = Candidate {
                number: 0,
                thumb_image: Arc::new(thumbnail(&made.image)),
                thumb_key: next_thumb_key(),
                image: made.image,
                alpha: prepared.alpha.clone(),
                rect: prepared.rect,
                selection: prepared.selection,
                seed: made.seed,
                z: made.z,
                critic: made.critic,
                model: version.clone(),
                strength: request.strength,
                id: 0,
                favourite: false,
            };
            // Lossless copy for the history; encoding here keeps it off the UI thread.
            let png = encode_png(&candidate.image).unwrap_or_default();
            let alive = send(Report::Candidate {
                batch: job.batch,
                candidate: Box::new(candidate),
                png,
            });
            alive && !job.cancel.load(Ordering::Relaxed)
        });
        send(match result {
            Ok(()) => Report::Done { batch: job.batch },
            Err(e) => Report::Failed {
                batch: job.batch,
                message: format!("Vary failed: {e}"),
            },
        });
    }
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
