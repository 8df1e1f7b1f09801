//! The document's files, for [`AtelierApp`]: opening, saving and the
//! unsaved-changes rule around them (the guard), the background file jobs
//! and what their outcomes do, recovery after a crash, preferences, and
//! files dropped on the window or pasted.
use eframe::egui;

use super::app::AtelierApp;
use super::commands::Command;
use super::dialogs::NewCanvasDialog;
use super::file_choice::Ask;
use super::files::{FileDialogs, FileJob, FileOutcome, SaveState, display_name};
use super::guard::{Guard, Replacing};
use crate::document::Document;

impl AtelierApp {
    /// Autosaves to `path` (none: off) every `interval`, and offers to recover
    /// a file left there by a session that did not exit cleanly.
    pub fn set_recovery_path(
        &mut self,
        path: Option<std::path::PathBuf>,
        interval: std::time::Duration,
    ) {
        self.autosave = super::autosave::Autosave::new(path, interval);
        self.offer_recovery = self.autosave.leftover();
    }

    /// Recovers the autosaved document offered at start-up.
    pub(super) fn recover(&mut self, path: std::path::PathBuf) {
        self.start_file_job(FileJob::open(path));
    }

    /// Uses `dialogs` instead of the native file dialogs (tests).
    pub fn set_file_dialogs(&mut self, dialogs: Box<dyn FileDialogs>) {
        self.dialogs = dialogs;
    }

    /// Whether the project changed since it was last saved or opened.
    pub fn is_dirty(&self) -> bool {
        self.save_state() != self.saved_state
    }

    /// The state a save now would record.
    pub(super) fn save_state(&self) -> SaveState {
        (
            self.editor.history.state_id(),
            self.variations.decisions.revision(),
        )
    }

    /// Index (bottom first) of the active layer.
    pub(super) fn active_index(&self) -> usize {
        let active = self.editor.doc.active();
        self.editor
            .doc
            .layers()
            .iter()
            .position(|l| l.id == active)
            .unwrap_or(0)
    }

    /// Writes preferences in the background (no-op without a settings path).
    pub(super) fn persist_state(&self) {
        if let Some(path) = self.settings_path.clone() {
            let state = self.state.clone();
            // Nothing waits for it: a failure is only logged.
            let _ = crate::job::Job::spawn("preferences", move || {
                if let Err(e) = state.save(&path) {
                    tracing::warn!("could not save preferences: {e}");
                }
            });
        }
    }

    pub(super) fn remember_file(&mut self, path: &std::path::Path) {
        self.state.push_recent_file(path);
        self.persist_state();
    }

    /// Whether a save or open is still running.
    pub fn file_job_running(&self) -> bool {
        self.file_job.is_some()
    }

    /// Whether any background work (file, fill) is still running.
    pub fn busy(&self) -> bool {
        self.file_job.is_some() || self.editor.is_filling()
    }

    pub(super) fn save_to(&mut self, path: std::path::PathBuf) {
        self.settle();
        let meta = self.variations.project_meta(self.active_index());
        let job = FileJob::save(self.editor.doc.clone(), meta, path, self.save_state());
        self.start_file_job(job);
    }

    /// Opens a project, OpenRaster file or image in the background, replacing the
    /// document when it has been read (File → Open, Open Recent, `atelier FILE`).
    pub fn open(&mut self, path: std::path::PathBuf) {
        self.start_file_job(FileJob::open(path));
    }

    /// The newest notification's text, as the status bar shows it.
    pub fn status(&self) -> &str {
        self.notify.text()
    }

    /// Asks for a file at the start of the next frame (from code that has
    /// no frame context, such as the models window's actions).
    pub(super) fn deferred_ask(&mut self, ask: Ask) {
        self.deferred.push(Command::AskFile(ask));
    }

    /// Carries out `action` now, or asks first when there are unsaved changes.
    pub(super) fn guarded(&mut self, action: Replacing) {
        self.settle();
        if self.is_dirty() {
            self.guard = Guard::Asking(action);
        } else {
            self.proceed(action);
        }
    }

    /// Carries out an action the artist agreed to (or that loses nothing).
    pub(super) fn proceed(&mut self, action: Replacing) {
        self.guard = Guard::Idle;
        match action {
            Replacing::Quit => self.guard = Guard::Close,
            // Asked at the next frame: this may run between frames.
            Replacing::Open => self.deferred.push(Command::AskFile(Ask::OpenProject)),
            Replacing::OpenRecent(path) => self.open(path),
            Replacing::NewCanvas => self.windows.new_canvas = Some(NewCanvasDialog::default()),
        }
    }

    pub(super) fn start_file_job(&mut self, job: FileJob) {
        if let Some(running) = self.file_job.take() {
            // One file job at a time: finish the previous one first (rare: a
            // second request while a save is still writing).
            self.finish_file_job(running.wait());
        }
        self.file_job = Some(job);
    }

    pub(super) fn finish_file_job(&mut self, outcome: FileOutcome) {
        match outcome {
            FileOutcome::Saved(path, state) => {
                self.notify.info(format!("Saved {}", display_name(&path)));
                self.remember_file(&path);
                self.path = Some(path);
                self.saved_state = state;
                if let Guard::SavingThen(action) = std::mem::take(&mut self.guard) {
                    self.proceed(action);
                }
            }
            FileOutcome::Opened(path, project) => {
                let project = *project;
                let active = project.meta.settings.active_layer;
                self.replace_document(project.doc);
                self.variations.restore(project.meta);
                if let Some(id) = self.editor.doc.layers().get(active).map(|l| l.id) {
                    let _ = self.editor.doc.set_active(id);
                }
                let is_project = crate::project::is_project_path(&path);
                if self.autosave.path.as_ref() == Some(&path) {
                    // Recovered work has never been saved by the user: keep it
                    // marked unsaved and without a file name.
                    self.notify
                        .info("Recovered the autosaved work: save it to keep it");
                    self.saved_state = (u64::MAX, u64::MAX);
                } else if is_project {
                    self.notify.info(format!("Opened {}", display_name(&path)));
                    self.remember_file(&path);
                    self.path = Some(path);
                    self.saved_state = self.save_state();
                } else {
                    // An image opened as a new document: saving asks for a
                    // project name rather than overwriting the image.
                    self.notify
                        .info(format!("Opened {} as a new document", display_name(&path)));
                    self.remember_file(&path);
                    self.saved_state = self.save_state();
                }
                if !project.warnings.is_empty() {
                    self.notify.warn(project.warnings.join("; "));
                }
            }
            FileOutcome::Exported(path) => self
                .notify
                .info(format!("Exported {}", display_name(&path))),
            FileOutcome::Imported(images, warnings) => {
                self.settle();
                for (props, img) in images {
                    if let Err(e) = crate::project::import::add_layer_with_props(
                        &mut self.editor.doc,
                        &mut self.editor.history,
                        props,
                        &img,
                    ) {
                        self.notify.error(format!("Import: {e}"));
                    }
                }
                if !warnings.is_empty() {
                    self.notify.warn(format!("Import: {}", warnings.join("; ")));
                }
            }
            FileOutcome::Failed(message) => {
                tracing::warn!("{message}");
                // A failed save must not close or replace anything: the work
                // is not on disk.
                if matches!(self.guard, Guard::SavingThen(_)) {
                    self.guard = Guard::Idle;
                }
                self.notify.error(message);
            }
        }
    }

    pub(super) fn poll_file_job(&mut self, ctx: &egui::Context) {
        if let Some(outcome) = self.file_job.as_ref().and_then(FileJob::poll) {
            self.file_job = None;
            self.finish_file_job(outcome);
        }
        if self.file_job.is_some() {
            // Keep polling while the worker runs.
            ctx.request_repaint_after(std::time::Duration::from_millis(50));
        }
        let name = self.path.as_deref().map_or("Untitled".into(), display_name);
        let title = format!(
            "{}{} - Atelier",
            if self.is_dirty() { "*" } else { "" },
            name
        );
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }

    /// Replaces the document (New canvas); undo and candidate history start over.
    pub fn replace_document(&mut self, doc: Document) {
        self.editor.replace(doc);
        self.variations
            .restore(crate::project::ProjectMeta::default());
        self.history_window.clear();
        self.saved_state = self.save_state();
        self.path = None;
        self.fit_pending = true;
    }

    /// Files dropped on the window: one project or OpenRaster file opens (after
    /// the unsaved-changes rule of Open: it replaces the document only when
    /// nothing is unsaved), images become layers. A pasted image becomes a layer.
    pub(super) fn handle_drops_and_paste(&mut self, ctx: &egui::Context) {
        let (dropped, pasted): (Vec<std::path::PathBuf>, Vec<_>) = ctx.input(|i| {
            let dropped = i
                .raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_owned())
                .collect();
            let pasted = i
                .events
                .iter()
                .filter_map(|e| match e {
                    egui::Event::PasteImage(img) => Some(img.clone()),
                    _ => None,
                })
                .collect();
            (dropped, pasted)
        });
        if !dropped.is_empty() {
            let (projects, images): (Vec<_>, Vec<_>) = dropped
                .into_iter()
                .partition(|p| crate::project::is_project_path(p));
            if !images.is_empty() {
                self.start_file_job(FileJob::import(images));
            } else if let Some(path) = projects.into_iter().next() {
                if self.is_dirty() {
                    self.notify.warn(format!(
                        "Save or undo your changes before opening {} (dropped files with unsaved work only import images)",
                        display_name(&path)
                    ));
                } else {
                    self.start_file_job(FileJob::open(path));
                }
            }
        }
        for img in pasted {
            self.settle();
            let [w, h] = img.size;
            let rgba: Vec<u8> = img
                .pixels
                .iter()
                .flat_map(|c| c.to_srgba_unmultiplied())
                .collect();
            match image::RgbaImage::from_raw(w as u32, h as u32, rgba) {
                Some(img) => {
                    if let Err(e) = crate::project::add_image_layer(
                        &mut self.editor.doc,
                        &mut self.editor.history,
                        "Pasted",
                        &img,
                    ) {
                        self.notify.error(format!("Paste: {e}"));
                    }
                }
                None => self.notify.error("Paste: the clipboard image is malformed"),
            }
        }
    }
}
