//! Refinement in the app: the background fine-tuning job (progress, ETA,
//! cancel, optional auto-refine), the artist's portfolio import, and the
//! model versions' file operations. What the artist sees of them is drawn by
//! `refine_panel.rs`, which only reads this state and emits commands.
//!
//! All heavy work (decoding the history and portfolio, training, reading and
//! writing checkpoints) runs on worker threads; the UI thread only polls
//! channels and draws.
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::time::Duration;

use eframe::egui;

use super::app::AtelierApp;
use crate::refine::job::{RefineConfig, RefineData, refine};
use crate::refine::versions::{ModelStore, VersionEntry};

/// What the refine worker reports.
enum RefineReport {
    /// Training started on this much data.
    Started(String),
    /// One step: (step, total, ETA, D loss, G adversarial loss).
    Step(u64, u64, Duration, f64, f64),
    /// Finished: the new version's id, or why there is none.
    Done(Result<String, String>),
}

/// A refinement running in the background.
pub struct RefineJob {
    rx: Receiver<RefineReport>,
    cancel: Arc<AtomicBool>,
    /// Describes the data it trains on.
    pub data: String,
    /// (step, total, ETA).
    pub progress: (u64, u64, Duration),
    /// Smoothed losses per step: D and G adversarial.
    pub losses: Vec<[f64; 2]>,
}

/// The portfolio import running in the background: (done, total) and the
/// final report.
pub struct PortfolioJob {
    rx: Receiver<PortfolioReport>,
    /// Files handled so far and in all.
    pub progress: (usize, usize),
}

enum PortfolioReport {
    Progress(usize, usize),
    Done(Result<(usize, Vec<String>), String>),
}

/// Refinement and model-version state kept by the app.
#[derive(Default)]
pub struct Refinement {
    /// The artist's style profile folder (None: refinement unavailable, as in
    /// tests that do not set one).
    pub profile: Option<PathBuf>,
    /// The running refinement.
    pub job: Option<RefineJob>,
    /// The running portfolio import.
    pub portfolio: Option<PortfolioJob>,
    /// Decisions since the last refinement (for auto-refine).
    pub decisions_since: u32,
    /// The profile's versions and current one, as last read.
    pub listing: Option<(Vec<VersionEntry>, Option<String>)>,
    /// A model file operation (export/import) in progress.
    pub file_op: Option<crate::job::Job<Result<String, String>>>,
    /// The artist's last input; a running refinement pauses while it is recent.
    pub activity: super::background::ArtistActivity,
}

impl Refinement {
    /// Whether a refinement is running.
    pub fn running(&self) -> bool {
        self.job.is_some()
    }

    /// Whether a running refinement is waiting for the artist to stop
    /// (see [`super::background::ArtistActivity`]).
    pub fn paused_for_artist(&self) -> bool {
        self.running() && self.activity.active_within(super::background::YIELD_QUIET)
    }

    fn store(&self) -> Result<ModelStore, String> {
        let dir = self
            .profile
            .as_deref()
            .ok_or("no style profile folder is available")?;
        ModelStore::open(dir).map_err(|e| e.to_string())
    }

    /// Re-reads the profile's version list (small JSON).
    pub fn refresh(&mut self) {
        self.listing = self.store().ok().map(|s| listing_of(&s));
    }
}

/// Where the portfolio copies live inside a profile.
fn portfolio_dir(profile: &Path) -> PathBuf {
    profile.join("portfolio")
}

/// Starts fine-tuning the current model on the portfolio and the project's
/// decisions.
pub fn start(app: &mut AtelierApp, ctx: &egui::Context) {
    let r = &mut app.refinement;
    if r.job.is_some() {
        return;
    }
    let Some(profile) = r.profile.clone() else {
        app.notify
            .error("Refine: no style profile folder is available");
        return;
    };
    let history = app.variations.history().clone();
    let config = RefineConfig {
        steps: app.state.refine_steps.max(1),
        seed: app.variations.seed,
        // One intra-op thread leaves the other cores to the UI (and to the
        // software rasteriser on machines without a GPU) while it trains.
        threads: Some(1),
        ..RefineConfig::default()
    };
    let total = config.steps;
    let (tx, rx) = channel();
    let cancel = Arc::new(AtomicBool::new(false));
    let stop = cancel.clone();
    let between_steps = cancel.clone();
    let activity = app.refinement.activity.clone();
    let ctx = ctx.clone();
    let spawned = std::thread::Builder::new()
        .name("refine".into())
        .spawn(move || {
            super::background::run_this_thread_when_idle();
            let result = (|| -> Result<String, String> {
                let mut store = ModelStore::open(&profile).map_err(|e| e.to_string())?;
                let base = store
                    .load_current(crate::gan::device::auto())
                    .map_err(|e| e.to_string())?;
                let mut data = RefineData::from_decisions(&history);
                let paths = crate::gan::data::scan(&portfolio_dir(&profile)).unwrap_or_default();
                data.portfolio = crate::gan::data::load_images(&paths, 384, 1).images;
                let _ = tx.send(RefineReport::Started(format!(
                    "{} portfolio images, {} accepted, {} rejected",
                    data.portfolio.len(),
                    data.accepted.len(),
                    data.rejected.len()
                )));
                let mut last = std::time::Instant::now();
                let model = refine(&base, data, &config, stop, |p| {
                    let _ = tx.send(RefineReport::Step(
                        p.step,
                        p.total,
                        p.eta,
                        p.smoothed.d,
                        p.smoothed.g_adv,
                    ));
                    // Repaint at most ~10 times a second for progress.
                    if last.elapsed() > Duration::from_millis(100) {
                        last = std::time::Instant::now();
                        ctx.request_repaint();
                    }
                    // Step aside while the artist works (see ArtistActivity).
                    activity.wait_for_quiet(super::background::YIELD_QUIET, &between_steps);
                })
                .map_err(|e| e.to_string())?;
                store
                    .add(&model, "refined in the app")
                    .map_err(|e| e.to_string())
            })();
            let _ = tx.send(RefineReport::Done(result));
            ctx.request_repaint();
        });
    match spawned {
        Ok(_) => {
            app.refinement.decisions_since = 0;
            app.refinement.job = Some(RefineJob {
                rx,
                cancel,
                data: String::new(),
                progress: (0, total, Duration::ZERO),
                losses: Vec::new(),
            });
        }
        Err(e) => app
            .notify
            .error(format!("Refine: cannot start a worker: {e}")),
    }
}

/// Asks the running refinement to stop (the previous version stays).
pub fn cancel(app: &mut AtelierApp) {
    if let Some(job) = &app.refinement.job {
        job.cancel.store(true, Ordering::Relaxed);
    }
}

/// Collects reports from the background jobs; called every frame.
pub fn poll(app: &mut AtelierApp, ctx: &egui::Context) {
    let mut finished = None;
    if let Some(job) = &mut app.refinement.job {
        loop {
            match job.rx.try_recv() {
                Ok(RefineReport::Started(d)) => job.data = d,
                Ok(RefineReport::Step(step, total, eta, d, g)) => {
                    job.progress = (step, total, eta);
                    job.losses.push([d, g]);
                }
                Ok(RefineReport::Done(r)) => {
                    finished = Some(r);
                    break;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    finished = Some(Err("the refinement stopped unexpectedly".into()));
                    break;
                }
            }
        }
        ctx.request_repaint_after(Duration::from_millis(200));
    }
    if let Some(result) = finished {
        app.refinement.job = None;
        match result {
            Ok(id) => app
                .notify
                .info(format!("Refined: the model is now version {id}")),
            Err(e) => app.notify.error(format!("Refine: {e}")),
        }
        sync_models(app);
    }
    if let Some(p) = &mut app.refinement.portfolio {
        let mut done = None;
        while let Ok(report) = p.rx.try_recv() {
            match report {
                PortfolioReport::Progress(i, n) => p.progress = (i, n),
                PortfolioReport::Done(r) => done = Some(r),
            }
        }
        ctx.request_repaint_after(Duration::from_millis(100));
        if let Some(r) = done {
            app.refinement.portfolio = None;
            app.notify.info(match r {
                Ok((n, bad)) if bad.is_empty() => {
                    format!("Added {n} images to your portfolio")
                }
                Ok((n, bad)) => format!(
                    "Added {n} images to your portfolio; could not read: {}",
                    bad.join(", ")
                ),
                Err(e) => format!("Import my work: {e}"),
            });
        }
    }
    if let Some(job) = &app.refinement.file_op
        && let Some(r) = job.poll()
    {
        app.refinement.file_op = None;
        match r.map_err(|e| e.to_string()).and_then(|r| r) {
            Ok(m) => app.notify.info(m),
            Err(e) => app.notify.error(format!("Models: {e}")),
        }
        sync_models(app);
    }
    let every = app.state.auto_refine_every;
    if every > 0
        && app.refinement.decisions_since >= every
        && app.refinement.job.is_none()
        && app.refinement.profile.is_some()
    {
        start(app, ctx);
    }
}

/// Re-reads the profile's version list (one small JSON read) and points Vary
/// at its current version; after anything that may change the versions.
pub fn sync_models(app: &mut AtelierApp) {
    match app.refinement.store() {
        Ok(store) => {
            app.refinement.listing = Some(listing_of(&store));
            app.variations.model = store.current().map(|id| store.weights(id));
        }
        Err(_) => app.refinement.listing = None,
    }
}

/// The versions and the current one, as the models window lists them.
fn listing_of(store: &ModelStore) -> (Vec<VersionEntry>, Option<String>) {
    (
        store.versions().to_vec(),
        store.current().map(str::to_owned),
    )
}

/// Copies readable images from `dir` into the profile's portfolio, in the
/// background; unreadable files are reported by name.
pub fn import_portfolio(app: &mut AtelierApp, dir: PathBuf, ctx: &egui::Context) {
    let Some(profile) = app.refinement.profile.clone() else {
        app.notify
            .error("Import my work: no style profile folder is available");
        return;
    };
    let (tx, rx) = channel();
    let ctx = ctx.clone();
    std::thread::spawn(move || {
        let result = (|| -> Result<(usize, Vec<String>), String> {
            let files = crate::gan::data::scan(&dir).map_err(|e| e.to_string())?;
            let dest = portfolio_dir(&profile);
            std::fs::create_dir_all(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
            let (mut added, mut bad) = (0, Vec::new());
            for (i, f) in files.iter().enumerate() {
                let _ = tx.send(PortfolioReport::Progress(i, files.len()));
                ctx.request_repaint();
                let name = f
                    .file_name()
                    .map_or(String::new(), |n| n.to_string_lossy().into_owned());
                if crate::project::decode_image(f).is_err() {
                    bad.push(name);
                    continue;
                }
                let target = dest.join(format!("{i:05}-{name}"));
                match std::fs::copy(f, &target) {
                    Ok(_) => added += 1,
                    Err(_) => bad.push(name),
                }
            }
            Ok((added, bad))
        })();
        let _ = tx.send(PortfolioReport::Done(result));
        ctx.request_repaint();
    });
    app.refinement.portfolio = Some(PortfolioJob {
        rx,
        progress: (0, 0),
    });
}

/// Runs a model-file operation (export or import) in the background.
pub fn model_file_op(
    app: &mut AtelierApp,
    op: impl FnOnce(&mut ModelStore) -> Result<String, String> + Send + 'static,
) {
    let Some(profile) = app.refinement.profile.clone() else {
        return;
    };
    app.refinement.file_op = Some(crate::job::Job::spawn("model-file", move || {
        ModelStore::open(&profile)
            .map_err(|e| e.to_string())
            .and_then(|mut s| op(&mut s))
    }));
}

/// What the models window asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelAction {
    /// Make this version current (None: the embedded default model).
    Switch(Option<String>),
    /// Rename a version: (id, new name).
    Rename(String, String),
    /// Delete a version.
    Delete(String),
    /// Export a version to a file the artist chooses.
    Export(String),
    /// Import a version from a file the artist chooses.
    Import,
    /// Go back to the version the current one was refined from.
    Rollback,
}

impl ModelAction {
    /// What it is called in messages.
    pub fn label(&self) -> &'static str {
        match self {
            ModelAction::Switch(_) => "Use model version",
            ModelAction::Rename(..) => "Rename model version",
            ModelAction::Delete(_) => "Delete model version",
            ModelAction::Export(_) => "Export model version",
            ModelAction::Import => "Import a model version",
            ModelAction::Rollback => "Roll back",
        }
    }
}

/// Carries out what the models window asked for.
pub fn apply_model_action(app: &mut AtelierApp, action: ModelAction) {
    let result: Result<String, String> = (|| match action {
        ModelAction::Export(id) => {
            app.deferred_ask(super::file_choice::Ask::ExportModel(id));
            Ok(String::new())
        }
        ModelAction::Import => {
            app.deferred_ask(super::file_choice::Ask::ImportModel);
            Ok(String::new())
        }
        ModelAction::Switch(id) => {
            let mut s = app.refinement.store()?;
            s.switch(id.as_deref()).map_err(|e| e.to_string())?;
            Ok(format!(
                "Vary now uses {}",
                id.as_deref().unwrap_or("the embedded default model")
            ))
        }
        ModelAction::Rename(id, name) => {
            let mut s = app.refinement.store()?;
            s.rename(&id, &name).map_err(|e| e.to_string())?;
            Ok(format!("Renamed to {name}"))
        }
        ModelAction::Delete(id) => {
            let mut s = app.refinement.store()?;
            s.delete(&id).map_err(|e| e.to_string())?;
            Ok(format!("Deleted model version {id}"))
        }
        ModelAction::Rollback => {
            let mut s = app.refinement.store()?;
            let back = s.rollback().map_err(|e| e.to_string())?;
            Ok(format!(
                "Rolled back to {}",
                back.as_deref().unwrap_or("the embedded default model")
            ))
        }
    })();
    match result {
        Ok(m) if m.is_empty() => {}
        Ok(m) => app.notify.info(m),
        Err(e) => app.notify.error(format!("Models: {e}")),
    }
    sync_models(app);
}
