//! Vary in the window: the canvas (or the selection, with some context
//! around it) goes through the one Vary pipeline ([`crate::vary`]) on a
//! worker thread, and candidates come back one by one into a grid where the
//! artist accepts, rejects or favourites them.
//!
//! The GAN never touches the document: the worker gets a snapshot and only
//! the UI thread turns a candidate into pixels, through the decision model
//! ([`Decisions`]), so an accept is one undo step that carries its decision.
//!
//! Candidates that wait for a decision are never thrown away: a new Vary,
//! More like or Best of adds to the grid. Each keeps the number it arrived
//! with (its key, 1–9) while others are decided. Cancel stops the stream:
//! nothing arrives after it. The worker thread itself is `vary_worker.rs`.
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};

use eframe::egui;
use image::{GrayImage, RgbImage, RgbaImage};

use super::app::AtelierApp;
use super::vary_worker::{Codes, Job, Report, worker};
use crate::decisions::CandidateHistory;
use crate::decisions::history::Decision;
use crate::document::{CanvasRect, Document};
use crate::vary::decisions::{Decisions, NewCandidate, Placement, rgba_with_alpha};
use crate::vary::pipeline::Options;

/// Side of a candidate's thumbnail in the grid.
pub const THUMB_SIDE: u32 = 160;

/// How far "more like this" samples stray from the chosen code.
pub const MORE_LIKE_SPREAD: f32 = 0.35;

/// A variation waiting for a decision.
pub struct Candidate {
    /// Its number in the grid (1, 2, …): the key that picks it, kept while
    /// other candidates are decided.
    pub number: usize,
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
}

impl Candidate {
    /// Straight RGBA over `rect`: the pixels with the feathered coverage.
    pub fn rgba(&self) -> Vec<u8> {
        rgba_with_alpha(&self.image, self.alpha.as_deref())
    }
}

/// One Vary control, as the variations panel changes it.
#[derive(Clone, Debug, PartialEq)]
pub enum VarySetting {
    /// Candidates per Vary (1–9).
    Count(usize),
    /// Generate this many and show the critic's best (0: off).
    BestOf(usize),
    /// How far from the canvas (0..1).
    Strength(f32),
    /// Reuse the same seed on every Vary.
    LockSeed(bool),
    /// The seed of the next Vary.
    Seed(u64),
    /// Keep thin strokes through a variation.
    KeepLines(bool),
    /// Accepting a region's candidate paints it into the active layer.
    ReplaceSelection(bool),
    /// Show the original instead of the previewed candidate.
    Compare(bool),
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
    /// Candidates waiting for a decision, in the order they arrived.
    pub candidates: Vec<Candidate>,
    /// The number of the candidate shown full size over the canvas.
    pub selected: Option<usize>,
    /// Show the original instead of the selected candidate.
    pub compare: bool,
    /// The candidate history and the steering it drives.
    pub decisions: Decisions,
    /// Whether a batch is being generated.
    pub running: bool,
    /// Candidates received in the batch so far, and how many it will make.
    pub progress: (usize, usize),
    /// The model's weights (None: the embedded default).
    pub model: Option<PathBuf>,
    /// Accepted candidates, so that undoing an accept puts the candidate
    /// back in the grid as it was.
    accepted: Vec<Candidate>,
    /// Best-of-K candidates held back until the batch is complete, and how
    /// many of them to show.
    incoming: Vec<Candidate>,
    show_best: usize,
    /// Key of the current batch's input snapshot in the history.
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
            strength: crate::sampling::DEFAULT_STRENGTH,
            lock_seed: false,
            seed: 1,
            replace_selection: false,
            keep_lines: true,
            candidates: Vec::new(),
            selected: None,
            compare: false,
            decisions: Decisions::new(crate::gan::DEFAULT_LATENT_DIM),
            running: false,
            progress: (0, 0),
            model: None,
            accepted: Vec::new(),
            incoming: Vec::new(),
            show_best: 0,
            input_key: String::new(),
            batch: 0,
            cancel: Arc::new(AtomicBool::new(false)),
            to_worker: None,
            from_worker: None,
        }
    }
}

impl Variations {
    /// Sends the canvas (or `selection` with context) to the GAN, with codes
    /// from the steered distribution. Candidates waiting stay in the grid.
    pub fn start(&mut self, ctx: &egui::Context, doc: &Document, selection: Option<CanvasRect>) {
        let show = self.count.clamp(1, 9);
        let n = show.max(self.best_of.min(64));
        let codes = Codes::Steered(self.decisions.steering().clone());
        self.send(ctx, doc, selection, codes, n, show);
    }

    /// Samples around candidate number `n`'s code: more variations like it.
    /// It stays in the grid.
    pub fn more_like(&mut self, ctx: &egui::Context, doc: &Document, n: usize) {
        let Some(c) = self.get(n) else {
            return;
        };
        let (codes, selection) = (Codes::Around(c.z.clone()), c.selection);
        let count = self.count.clamp(1, 9);
        self.send(ctx, doc, selection, codes, count, count);
    }

    /// Samples around a latent code (Live's "Vary from here"): the usual
    /// candidates, near what the live view shows.
    pub fn vary_around(
        &mut self,
        ctx: &egui::Context,
        doc: &Document,
        selection: Option<CanvasRect>,
        z: Vec<f32>,
    ) {
        let count = self.count.clamp(1, 9);
        self.send(ctx, doc, selection, Codes::Around(z), count, count);
    }

    /// The candidate numbered `n`.
    pub fn get(&self, n: usize) -> Option<&Candidate> {
        self.candidates.iter().find(|c| c.number == n)
    }

    /// The candidate numbered `n`, to change.
    pub fn get_mut(&mut self, n: usize) -> Option<&mut Candidate> {
        self.candidates.iter_mut().find(|c| c.number == n)
    }

    /// The candidate previewed over the canvas.
    pub fn previewed(&self) -> Option<&Candidate> {
        self.selected.and_then(|n| self.get(n))
    }

    fn send(
        &mut self,
        ctx: &egui::Context,
        doc: &Document,
        selection: Option<CanvasRect>,
        codes: Codes,
        count: usize,
        show: usize,
    ) {
        // A batch still running keeps what it made (and its best so far).
        self.cancel();
        self.cancel = Arc::new(AtomicBool::new(false));
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
        let job = Job {
            batch: self.batch,
            doc: doc.clone(),
            selection,
            codes,
            count,
            seed: self.seed,
            strength: self.strength.clamp(0.0, 1.0),
            cancel: self.cancel.clone(),
            model: self.model.clone(),
            options: Options {
                keep_lines: self.keep_lines,
                full_res: false,
                ..Options::default()
            },
        };
        self.progress = (0, count);
        self.show_best = if count > show { show } else { 0 };
        if !self.lock_seed {
            self.seed = self.seed.wrapping_add(count as u64);
        }
        self.running = self
            .to_worker
            .as_ref()
            .is_some_and(|tx| tx.send(job).is_ok());
    }

    /// Stops the batch in progress: what has arrived stays (it is taken in
    /// now), and the batch's later reports belong to a batch that no longer
    /// exists and are dropped, so nothing arrives after this.
    pub fn cancel(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        self.collect();
        self.batch += 1;
        self.running = false;
        self.reveal_best();
    }

    /// Best-of-K: once the batch is complete (or stopped), the best by the
    /// critic join the grid; the rest stay in the history, undecided.
    fn reveal_best(&mut self) {
        let mut held = std::mem::take(&mut self.incoming);
        held.sort_by(|a, b| b.critic.total_cmp(&a.critic));
        held.truncate(self.show_best.max(1));
        for c in held {
            self.add(c);
        }
    }

    /// Adds a candidate to the grid under the lowest free number.
    fn add(&mut self, mut c: Candidate) {
        c.number = (1..)
            .find(|n| self.candidates.iter().all(|c| c.number != *n))
            .expect("a free number");
        self.candidates.push(c);
    }

    /// An undo took back the acceptance of candidate `id`: the decision is
    /// undone and the candidate waits in the grid again, under its old
    /// number when that is free.
    pub fn undo_accept(&mut self, id: u64) {
        self.decisions.undo_decision(id);
        if let Some(i) = self.accepted.iter().position(|c| c.id == id) {
            let c = self.accepted.remove(i);
            self.put_back(c);
        }
    }

    /// Returns a candidate to the grid under its own number when that is
    /// free (otherwise the lowest free one).
    fn put_back(&mut self, c: Candidate) {
        if self.get(c.number).is_none() {
            self.candidates.push(c);
            self.candidates.sort_by_key(|c| c.number);
        } else {
            self.add(c);
        }
    }

    /// A redo accepted candidate `id` again: it leaves the grid.
    pub fn redo_accept(&mut self, id: u64) {
        self.decisions.redo_decision(id);
        if let Some(n) = self
            .candidates
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.number)
            && let Some(c) = self.take(n)
        {
            self.accepted.push(c);
        }
    }

    /// Changes one Vary control (values outside their range are clamped).
    pub fn set(&mut self, setting: VarySetting) {
        match setting {
            VarySetting::Count(n) => self.count = n.clamp(1, 9),
            VarySetting::BestOf(n) => self.best_of = n.min(64),
            VarySetting::Strength(s) => self.strength = s.clamp(0.0, 1.0),
            VarySetting::LockSeed(b) => self.lock_seed = b,
            VarySetting::Seed(s) => self.seed = s,
            VarySetting::KeepLines(b) => self.keep_lines = b,
            VarySetting::ReplaceSelection(b) => self.replace_selection = b,
            VarySetting::Compare(b) => self.compare = b,
        }
    }

    /// Collects what the worker finished; returns an error message to show.
    pub fn poll(&mut self) -> Option<String> {
        let (done, message) = self.collect();
        if done {
            self.running = false;
            self.reveal_best();
        }
        message
    }

    /// Takes in the current batch's reports: whether it finished, and an error.
    fn collect(&mut self) -> (bool, Option<String>) {
        let Some(rx) = self.from_worker.as_ref() else {
            return (false, None);
        };
        let reports: Vec<Report> = rx.try_iter().collect();
        let (mut done, mut message) = (false, None);
        for report in reports {
            match report {
                Report::Input {
                    batch,
                    png,
                    latent_dim,
                } if batch == self.batch => {
                    self.decisions.set_latent_dim(latent_dim);
                    self.input_key = self.decisions.add_input(png);
                }
                Report::Candidate {
                    batch,
                    mut candidate,
                    png,
                } if batch == self.batch => {
                    let c = &*candidate;
                    candidate.id = self.decisions.record(
                        NewCandidate {
                            input: &self.input_key,
                            rect: c.rect,
                            selection: c.selection,
                            seed: c.seed,
                            z: &c.z,
                            critic: c.critic,
                            model: &c.model,
                            strength: c.strength,
                        },
                        png,
                    );
                    self.progress.0 += 1;
                    if self.show_best > 0 {
                        self.incoming.push(*candidate);
                    } else {
                        self.add(*candidate);
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
        (done, message)
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

    /// Removes candidate number `n` from the grid; the preview closes if it
    /// was that one (a second key press must not decide another candidate).
    fn take(&mut self, n: usize) -> Option<Candidate> {
        let i = self.candidates.iter().position(|c| c.number == n)?;
        if self.selected == Some(n) {
            self.selected = None;
        }
        Some(self.candidates.remove(i))
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
            candidates: self.decisions.history.clone(),
            steering: self.decisions.saved_steering(),
        }
    }

    /// Takes over what an opened project saved; the grid starts empty.
    pub fn restore(&mut self, meta: crate::project::ProjectMeta) {
        self.cancel();
        self.candidates.clear();
        self.incoming.clear();
        self.accepted.clear();
        self.selected = None;
        let s = meta.settings;
        self.count = s.vary_count.clamp(1, 9);
        self.strength = s.vary_strength.clamp(0.0, 1.0);
        self.seed = s.vary_seed;
        self.lock_seed = s.lock_seed;
        self.keep_lines = s.keep_lines;
        let dim = self.decisions.steering().dim();
        self.decisions = Decisions::restore(meta.candidates, meta.steering, dim);
    }

    /// The history of the project's candidates.
    pub fn history(&self) -> &CandidateHistory {
        &self.decisions.history
    }
}

/// Accepts candidate number `n`: a new layer above the active one (or, with
/// "replace selection", painted into the active layer), one undo step that
/// carries the decision.
pub fn accept(app: &mut AtelierApp, n: usize) {
    accept_as(app, n, "Accept variation");
}

/// [`accept`] with the undo step's label for a new layer.
fn accept_as(app: &mut AtelierApp, n: usize, new_layer: &'static str) {
    let Some(c) = app.variations.take(n) else {
        return;
    };
    let rgba = c.rgba();
    let place = Placement {
        rgba: &rgba,
        rect: c.rect,
        into_active_layer: app.variations.replace_selection && c.selection.is_some(),
    };
    let label = if place.into_active_layer {
        "Replace selection"
    } else {
        new_layer
    };
    let result = app.variations.decisions.accept_into(
        &mut app.editor.doc,
        &mut app.editor.history,
        c.id,
        place,
        label,
    );
    // The artist wants to see the layer just accepted, not another
    // candidate's preview over it.
    app.variations.selected = None;
    match result {
        Ok(()) => app.variations.accepted.push(c),
        Err(e) => {
            app.notify.error(format!("{label}: {e}"));
            // Nothing changed: the candidate waits again.
            app.variations.put_back(c);
        }
    }
}

/// Applies a live frame: it is recorded in the candidate history like a
/// candidate of its own batch and accepted through the same path, so it
/// becomes an undoable layer with its provenance, steers sampling and is
/// trained on by Refine. Returns the candidate's number while it was in
/// the grid (for tests), or None when the history could not take it.
pub fn apply_live(app: &mut AtelierApp, frame: &crate::vary::live::LiveFrame) -> Option<u64> {
    use crate::decisions::history::encode_png;
    let v = &mut app.variations;
    let (full, alpha) = frame.at_canvas_size();
    let (input, image) = match (encode_png(&frame.input), encode_png(&full)) {
        (Ok(i), Ok(c)) => (i, c),
        (Err(e), _) | (_, Err(e)) => {
            app.notify.error(format!("Apply live: {e}"));
            return None;
        }
    };
    v.decisions.set_latent_dim(frame.z.len());
    let input_key = v.decisions.add_input(input);
    let id = v.decisions.record(
        NewCandidate {
            input: &input_key,
            rect: frame.rect,
            selection: frame.selection,
            seed: frame.seed,
            z: &frame.z,
            critic: frame.critic,
            model: &frame.model,
            strength: frame.strength,
        },
        image,
    );
    let candidate = Candidate {
        number: 0,
        thumb_image: Arc::new(super::vary_worker::thumbnail(&frame.image)),
        thumb_key: super::vary_worker::next_thumb_key(),
        image: full,
        alpha,
        rect: frame.rect,
        selection: frame.selection,
        seed: frame.seed,
        z: frame.z.clone(),
        critic: frame.critic,
        model: frame.model.clone(),
        strength: frame.strength,
        id,
        favourite: false,
    };
    v.add(candidate);
    let n = v.candidates.iter().find(|c| c.id == id)?.number;
    accept_as(app, n, "Apply live");
    Some(id)
}

/// Rejects candidate number `n`: it leaves the grid and steers sampling away.
pub fn reject(app: &mut AtelierApp, n: usize) {
    if let Some(c) = app.variations.take(n)
        && let Err(e) = app.variations.decisions.decide(c.id, Decision::Rejected)
    {
        app.notify.error(format!("Reject: {e}"));
    }
}

/// Toggles the favourite mark of candidate number `n` (kept in the history).
pub fn toggle_favourite(app: &mut AtelierApp, n: usize) {
    let v = &mut app.variations;
    let Some(id) = v.get(n).map(|c| c.id) else {
        return;
    };
    let now = v.decisions.toggle_favourite(id);
    if let Some(c) = v.get_mut(n) {
        c.favourite = now;
    }
}

/// Inserts a candidate from the history again as a new layer (its feathered
/// selection too), as an accept.
pub fn reapply(app: &mut AtelierApp, id: u64) {
    let result = app
        .variations
        .decisions
        .reapply(&mut app.editor.doc, &mut app.editor.history, id);
    if let Err(e) = result {
        app.notify.error(format!("Re-apply: {e}"));
    }
}
