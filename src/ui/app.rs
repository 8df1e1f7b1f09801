//! `AtelierApp`: the saved state, the document and its runtime companions,
//! and the one function that applies commands.
use eframe::egui;

use super::canvas::CanvasInput;
use super::commands::Command;
use super::dialogs::NewCanvasDialog;
use super::files::{FileDialogs, FileJob, FileOutcome, NativeDialogs, display_name};
use super::state::AppState;
use super::tools::{self, Gesture, Tool};
use crate::brush::raster::MaskCache;
use crate::document::{CanvasRect, Document, History};
use crate::render::gpu::CanvasView;

/// The painting studio.
pub struct AtelierApp {
    /// Preferences and choices (serde).
    pub state: AppState,
    /// The open document.
    pub doc: Document,
    /// Its undo history.
    pub history: History,
    /// How the canvas is shown.
    pub view: CanvasView,
    /// The active rectangular selection, in canvas space.
    pub selection: Option<CanvasRect>,
    /// Message for the status bar (errors shown to the user).
    pub status: String,
    pub(super) gesture: Gesture,
    pub(super) mask_cache: MaskCache,
    pub(super) new_canvas: Option<NewCanvasDialog>,
    pub(super) show_shortcuts: bool,
    pub(super) show_settings: bool,
    pub(super) fit_pending: bool,
    pub(super) canvas_input: CanvasInput,
    pub(super) thumbnails: super::layers_panel::Thumbnails,
    pub(super) rename: Option<(crate::document::LayerId, String)>,
    pub(super) hex_text: String,
    /// Whether the wgpu canvas compositor is available.
    pub(super) gpu: bool,
    /// The GAN worker and the candidates waiting for a decision.
    pub variations: super::variations::Variations,
    /// The file the document was last opened from or saved to.
    pub path: Option<std::path::PathBuf>,
    /// History state at the last save or open (unsaved changes when it differs).
    saved_state: u64,
    /// The unsaved-changes question is showing.
    pub(super) confirm_quit: bool,
    /// Quit once the save in progress succeeds.
    pub(super) quit_after_save: bool,
    /// Close the window at the next frame (the user chose to).
    pub(super) quit_now: bool,
    /// The user agreed to close with unsaved changes.
    quit_confirmed: bool,
    /// A save or open in progress.
    pub(super) file_job: Option<FileJob>,
    /// Autosave to the recovery file.
    pub autosave: super::autosave::Autosave,
    /// A recovery file from a session that did not exit cleanly.
    pub(super) offer_recovery: Option<std::path::PathBuf>,
    /// A flood fill being computed.
    pub(super) fill_job: Option<super::tools::FillJob>,
    dialogs: Box<dyn FileDialogs>,
    title: String,
    stroke_seed: u64,
}

impl AtelierApp {
    /// The app with a fresh document. `cc` gives access to the wgpu renderer.
    pub fn new(cc: &eframe::CreationContext<'_>, doc: Document) -> Self {
        let gpu = match &cc.wgpu_render_state {
            Some(rs) => {
                crate::render::gpu::install(rs);
                true
            }
            None => {
                tracing::error!("no wgpu renderer: the canvas cannot be drawn");
                false
            }
        };
        Self::with_document(doc, gpu)
    }

    /// The app around a document, without a window (tests, headless use).
    pub fn with_document(doc: Document, gpu: bool) -> Self {
        let state = AppState::default();
        let mut history = History::default();
        history.set_budget(state.undo_budget_mib as usize * 1024 * 1024);
        Self {
            state,
            doc,
            history,
            view: CanvasView::default(),
            selection: None,
            status: String::new(),
            gesture: Gesture::Idle,
            mask_cache: MaskCache::default(),
            new_canvas: None,
            show_shortcuts: false,
            show_settings: false,
            fit_pending: true,
            canvas_input: CanvasInput::default(),
            thumbnails: Default::default(),
            rename: None,
            hex_text: String::new(),
            gpu,
            variations: Default::default(),
            path: None,
            saved_state: 0,
            confirm_quit: false,
            quit_after_save: false,
            quit_now: false,
            quit_confirmed: false,
            file_job: None,
            autosave: super::autosave::Autosave::new(None, std::time::Duration::from_secs(180)),
            offer_recovery: None,
            fill_job: None,
            dialogs: Box::new(NativeDialogs),
            title: String::new(),
            stroke_seed: 0,
        }
    }

    /// A new seed for each stroke's jitter, so replays are exact.
    pub(super) fn next_seed(&mut self) -> u64 {
        self.stroke_seed += 1;
        self.stroke_seed
    }

    /// Ends any gesture in progress (recording it) before another edit.
    fn settle(&mut self) {
        let g = std::mem::take(&mut self.gesture);
        tools::finish(g, &mut self.doc, &mut self.history, &mut self.mask_cache);
    }

    /// Carries out a command. The only place commands change the app.
    pub fn apply(&mut self, ctx: &egui::Context, cmd: Command) {
        let result = match cmd.clone() {
            Command::Undo => {
                self.settle();
                if let Some(label) = self.history.undo(&mut self.doc) {
                    self.status = format!("Undid {label}");
                }
                Ok(())
            }
            Command::Redo => {
                self.settle();
                if let Some(label) = self.history.redo(&mut self.doc) {
                    self.status = format!("Redid {label}");
                }
                Ok(())
            }
            Command::NewCanvas => {
                self.new_canvas = Some(NewCanvasDialog::default());
                Ok(())
            }
            Command::Open => {
                if let Some(path) = self.dialogs.open_project() {
                    self.start_file_job(FileJob::open(path));
                }
                Ok(())
            }
            Command::Save => {
                match self.path.clone() {
                    Some(path) => self.save_to(path),
                    None => self.apply(ctx, Command::SaveAs),
                }
                Ok(())
            }
            Command::SaveAs => {
                let suggested = self
                    .path
                    .as_deref()
                    .map_or("Untitled.atelier".into(), display_name);
                if let Some(mut path) = self.dialogs.save_project(&suggested) {
                    if path.extension().is_none() {
                        path.set_extension("atelier");
                    }
                    self.save_to(path);
                }
                Ok(())
            }
            Command::Export => {
                let stem = self
                    .path
                    .as_deref()
                    .and_then(|p| p.file_stem())
                    .map_or("Untitled".into(), |s| s.to_string_lossy().into_owned());
                if let Some(mut path) = self.dialogs.export_image(&format!("{stem}.png")) {
                    if path.extension().is_none() {
                        path.set_extension("png");
                    }
                    self.settle();
                    self.start_file_job(FileJob::export(self.doc.clone(), path));
                }
                Ok(())
            }
            Command::ImportLayers => {
                let paths = self.dialogs.import_images();
                if !paths.is_empty() {
                    self.start_file_job(FileJob::import(paths));
                }
                Ok(())
            }
            Command::SelectTool(t) => {
                self.settle();
                self.state.tool = t;
                Ok(())
            }
            Command::BrushBigger | Command::BrushSmaller => {
                let f = if cmd == Command::BrushBigger {
                    1.25
                } else {
                    0.8
                };
                let r = &mut self.state.brush.radius;
                *r = (*r * f).clamp(
                    *crate::brush::BrushSettings::RADIUS_RANGE.start(),
                    *crate::brush::BrushSettings::RADIUS_RANGE.end(),
                );
                Ok(())
            }
            Command::SwapColors => {
                std::mem::swap(&mut self.state.primary, &mut self.state.secondary);
                Ok(())
            }
            Command::ZoomFit => {
                self.fit_pending = true;
                Ok(())
            }
            Command::Zoom100 => {
                self.view = CanvasView::centered(1.0);
                Ok(())
            }
            Command::RotateView(deg) => {
                self.view.rotation += deg.to_radians();
                Ok(())
            }
            Command::ResetRotation => {
                self.view.rotation = 0.0;
                Ok(())
            }
            Command::AddLayer => {
                self.settle();
                let name = format!("Layer {}", self.doc.layers().len() + 1);
                self.history
                    .edit_stack(&mut self.doc, "Add layer", None, |d| {
                        d.add_layer(&name);
                        Ok(())
                    })
            }
            Command::DeleteLayer(id) => {
                self.settle();
                self.history
                    .edit_stack(&mut self.doc, "Delete layer", None, |d| d.delete_layer(id))
            }
            Command::DuplicateLayer(id) => {
                self.settle();
                self.history
                    .edit_stack(&mut self.doc, "Duplicate layer", None, |d| {
                        d.duplicate_layer(id).map(|_| ())
                    })
            }
            Command::MergeDown(id) => {
                self.settle();
                self.history
                    .edit_stack(&mut self.doc, "Merge down", None, |d| d.merge_down(id))
            }
            Command::MoveLayer(id, to) => {
                self.settle();
                self.history
                    .edit_stack(&mut self.doc, "Reorder layers", None, |d| {
                        d.move_layer(id, to)
                    })
            }
            Command::ActivateLayer(id) => {
                self.settle();
                self.doc.set_active(id)
            }
            Command::SetLayerProps(id, props, continuous) => {
                self.settle();
                let key = continuous.then(|| format!("props-{}", id.0));
                if !continuous {
                    self.history.seal();
                }
                self.history
                    .edit_stack(&mut self.doc, "Layer properties", key, |d| {
                        d.set_props(id, props)
                    })
            }
            Command::Deselect => {
                self.selection = None;
                Ok(())
            }
            Command::Vary => {
                self.settle();
                self.variations.start(ctx, &self.doc, self.selection);
                Ok(())
            }
            Command::ShowShortcuts => {
                self.show_shortcuts = true;
                Ok(())
            }
            Command::Quit => {
                self.settle();
                if self.is_dirty() {
                    self.confirm_quit = true;
                } else {
                    self.quit_now = true;
                }
                Ok(())
            }
        };
        if let Err(err) = result {
            self.status = format!("{}: {err}", cmd.label());
        }
    }

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

    /// Whether the document changed since it was last saved or opened.
    pub fn is_dirty(&self) -> bool {
        self.history.state_id() != self.saved_state
    }

    /// Whether a save or open is still running.
    pub fn file_job_running(&self) -> bool {
        self.file_job.is_some()
    }

    /// Whether any background work (file, fill) is still running.
    pub fn busy(&self) -> bool {
        self.file_job.is_some() || self.fill_job.is_some()
    }

    fn save_to(&mut self, path: std::path::PathBuf) {
        self.settle();
        let job = FileJob::save(self.doc.clone(), path, self.history.state_id());
        self.start_file_job(job);
    }

    fn start_file_job(&mut self, job: FileJob) {
        if let Some(running) = self.file_job.take() {
            // One file job at a time: finish the previous one first (rare: a
            // second request while a save is still writing).
            self.finish_file_job(running.wait());
        }
        self.file_job = Some(job);
    }

    fn finish_file_job(&mut self, outcome: FileOutcome) {
        match outcome {
            FileOutcome::Saved(path, state) => {
                self.status = format!("Saved {}", display_name(&path));
                self.path = Some(path);
                self.saved_state = state;
                if self.quit_after_save {
                    self.quit_after_save = false;
                    self.quit_now = true;
                }
            }
            FileOutcome::Opened(path, doc) => {
                self.replace_document(*doc);
                if self.autosave.path.as_ref() == Some(&path) {
                    // Recovered work has never been saved by the user: keep it
                    // marked unsaved and without a file name.
                    self.status = "Recovered the autosaved work: save it to keep it".into();
                    self.saved_state = u64::MAX;
                } else {
                    self.status = format!("Opened {}", display_name(&path));
                    self.path = Some(path);
                    self.saved_state = self.history.state_id();
                }
            }
            FileOutcome::Exported(path) => {
                self.status = format!("Exported {}", display_name(&path))
            }
            FileOutcome::Imported(images) => {
                self.settle();
                for (name, img) in images {
                    if let Err(e) = crate::project::add_image_layer(
                        &mut self.doc,
                        &mut self.history,
                        &name,
                        &img,
                    ) {
                        self.status = format!("Import: {e}");
                    }
                }
            }
            FileOutcome::Failed(message) => {
                tracing::warn!("{message}");
                // A failed save must not close the window: the work is not on disk.
                self.quit_after_save = false;
                self.status = message;
            }
        }
    }

    fn poll_file_job(&mut self, ctx: &egui::Context) {
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

    /// Replaces the document (New canvas); history starts over.
    pub fn replace_document(&mut self, doc: Document) {
        self.gesture = Gesture::Idle;
        self.doc = doc;
        self.history = History::with_budget(self.history.budget());
        self.saved_state = self.history.state_id();
        self.path = None;
        self.selection = None;
        self.fit_pending = true;
    }

    fn handle_shortcuts(&mut self, ctx: &egui::Context) {
        let typing = ctx.egui_wants_keyboard_input();
        let mut fired = Vec::new();
        ctx.input_mut(|i| {
            // Ctrl+Y is a second Redo; check before plain Z so Shift is honoured.
            let redo_y = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::Y);
            if i.consume_shortcut(&redo_y) {
                fired.push(Command::Redo);
            }
            // Most modifiers first: consume_shortcut ignores extra Shift, so
            // Ctrl+Shift+Z must be tried before Ctrl+Z.
            let mut cmds: Vec<(Command, egui::KeyboardShortcut)> = Command::with_shortcuts()
                .into_iter()
                .filter_map(|c| c.shortcut().map(|s| (c, s)))
                .collect();
            cmds.sort_by_key(|(_, s)| {
                std::cmp::Reverse(s.modifiers.shift as u8 + s.modifiers.command as u8)
            });
            for (cmd, s) in cmds {
                if typing && s.modifiers.is_none() {
                    continue;
                }
                if i.consume_shortcut(&s) {
                    fired.push(cmd);
                }
            }
            if i.key_pressed(egui::Key::Escape) {
                fired.push(Command::Deselect);
            }
        });
        for cmd in fired {
            if cmd == Command::Deselect && !matches!(self.gesture, Gesture::Idle) {
                let g = std::mem::take(&mut self.gesture);
                tools::cancel(g, &mut self.doc);
                continue;
            }
            self.apply(ctx, cmd);
        }
    }

    /// Draws the whole window. `AtelierApp` implements `eframe::App` with this.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.poll_file_job(&ctx);
        if let Some(job) = &self.fill_job {
            if job.apply_if_done(&mut self.doc, &mut self.history) {
                self.fill_job = None;
            } else {
                ctx.request_repaint_after(std::time::Duration::from_millis(16));
            }
        }
        // Closing the window with unsaved changes asks first.
        if ctx.input(|i| i.viewport().close_requested()) {
            if self.is_dirty() && !self.quit_confirmed {
                ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
                self.confirm_quit = true;
            } else {
                // A deliberate exit: the recovery file is no longer needed.
                self.autosave.discard();
            }
        }
        if self.quit_now {
            self.quit_now = false;
            self.quit_confirmed = true;
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        let (state, dirty) = (self.history.state_id(), self.is_dirty());
        if let Some(message) = self.autosave.tick(&self.doc, state, dirty) {
            self.status = message;
        }
        if self.autosave.writing() {
            ctx.request_repaint_after(std::time::Duration::from_millis(50));
        } else if dirty {
            // Wake up for the next autosave even if nothing else happens.
            ctx.request_repaint_after(self.autosave.interval);
        }
        self.handle_shortcuts(&ctx);
        let mut commands = Vec::new();
        egui::Panel::top("menu").show(ui, |ui| super::panels::menu_bar(self, ui, &mut commands));
        egui::Panel::top("toolbar").show(ui, |ui| super::panels::toolbar(self, ui, &mut commands));
        egui::Panel::bottom("status").show(ui, |ui| super::panels::status_bar(self, ui));
        egui::Panel::left("left")
            .default_size(230.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    super::panels::brush_panel(self, ui);
                    ui.separator();
                    super::panels::color_panel(self, ui);
                });
            });
        egui::Panel::right("variations")
            .default_size(220.0)
            .show(ui, |ui| super::variations::show(self, ui));
        egui::Panel::right("right")
            .default_size(240.0)
            .show(ui, |ui| super::layers_panel::show(self, ui, &mut commands));
        egui::CentralPanel::default()
            .frame(egui::Frame::NONE.fill(egui::Color32::from_gray(48)))
            .show(ui, |ui| super::canvas::show(self, ui));
        super::dialogs::windows(self, &ctx, &mut commands);
        for cmd in commands {
            self.apply(&ctx, cmd);
        }
        if self.quit_after_save && self.file_job.is_none() {
            // The save dialog was cancelled: stay open.
            self.quit_after_save = false;
        }
    }

    /// Screen position of a canvas position in the last frame's layout.
    pub fn screen_from_canvas(&self, p: egui::Pos2) -> egui::Pos2 {
        super::canvas::transform(self, self.canvas_input.viewport)
            .screen_from_canvas(p.into())
            .into()
    }

    /// Shorthand used by tools: the current tool.
    pub fn tool(&self) -> Tool {
        self.state.tool
    }
}

impl eframe::App for AtelierApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}
