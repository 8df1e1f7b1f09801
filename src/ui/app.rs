//! `AtelierApp`: the saved state, the document and its runtime companions,
//! and the one function that applies commands. The document's files (open,
//! save, the unsaved-changes rule, file jobs, drops) are in `app_files.rs`.
use eframe::egui;

use super::canvas::CanvasInput;
use super::commands::Command;
use super::file_choice::{self, Ask, FileChooser};
use super::files::{FileDialogs, FileJob, NativeDialogs, SaveState, display_name};
use super::guard::{Guard, Replacing};
use super::notify::Notifications;
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
    pub notify: Notifications,
    pub(super) gesture: Gesture,
    pub(super) mask_cache: MaskCache,
    /// Which windows are open, and the New canvas form.
    pub(super) windows: super::dialogs::Dialogs,
    pub(super) fit_pending: bool,
    pub(super) canvas_input: CanvasInput,
    /// The layers panel's thumbnails and rename in progress.
    pub(super) layers_panel: super::layers_panel::LayersPanel,
    pub(super) hex_text: String,
    /// Whether the wgpu canvas compositor is available.
    pub(super) gpu: bool,
    /// The GAN worker and the candidates waiting for a decision.
    pub variations: super::variations::Variations,
    /// Refinement jobs, the portfolio and model versions.
    pub refinement: super::refine_panel::Refinement,
    /// The candidate history window.
    pub history_window: super::history_window::HistoryWindow,
    /// Frame timing for benchmarks (`ATELIER_FRAME_STATS`).
    pub frame_stats: Option<super::frame_stats::FrameStats>,
    /// The file the document was last opened from or saved to.
    pub path: Option<std::path::PathBuf>,
    /// State at the last save or open (unsaved changes when it differs).
    pub(super) saved_state: SaveState,
    /// Where preferences are written (none: not persisted, as in tests).
    pub(super) settings_path: Option<std::path::PathBuf>,
    /// The unsaved-changes question and what waits on it.
    pub(super) guard: Guard,
    /// A save or open in progress.
    pub(super) file_job: Option<FileJob>,
    /// Autosave to the recovery file.
    pub autosave: super::autosave::Autosave,
    /// A recovery file from a session that did not exit cleanly.
    pub(super) offer_recovery: Option<std::path::PathBuf>,
    /// A flood fill being computed.
    pub(super) fill_job: Option<super::tools::FillJob>,
    /// File and folder pickers (a test double in tests).
    pub(super) dialogs: Box<dyn FileDialogs>,
    /// Atelier's own file dialog, open where the system has none.
    pub(super) file_chooser: Option<FileChooser>,
    /// Commands raised between frames (a save that finished), applied at
    /// the start of the next frame.
    pub(super) deferred: Vec<Command>,
    pub(super) title: String,
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

    /// Uses the style profile in `dir` for refinement and model versions, and
    /// Vary uses its current version.
    pub fn set_profile_dir(&mut self, dir: std::path::PathBuf) {
        self.refinement.profile = Some(dir);
        super::refine_panel::sync_models(self);
    }

    /// Reads preferences from `path` and writes them back there on changes
    /// and at exit (without it, as in tests, nothing is persisted).
    pub fn load_settings(&mut self, path: std::path::PathBuf) {
        let (state, message) = AppState::load(&path);
        self.history
            .set_budget(state.undo_budget_mib as usize * 1024 * 1024);
        self.state = state;
        self.settings_path = Some(path);
        if let Some(m) = message {
            self.notify.error(m);
        }
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
            notify: Notifications::default(),
            gesture: Gesture::Idle,
            mask_cache: MaskCache::default(),
            windows: Default::default(),
            fit_pending: true,
            canvas_input: CanvasInput::default(),
            layers_panel: Default::default(),
            hex_text: String::new(),
            gpu,
            variations: Default::default(),
            refinement: Default::default(),
            history_window: Default::default(),
            frame_stats: None,
            path: None,
            saved_state: (0, 0),
            settings_path: None,
            guard: Guard::Idle,
            file_job: None,
            autosave: super::autosave::Autosave::new(None, std::time::Duration::from_secs(180)),
            offer_recovery: None,
            fill_job: None,
            dialogs: Box::new(NativeDialogs),
            file_chooser: None,
            deferred: Vec::new(),
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
    pub(super) fn settle(&mut self) {
        let g = std::mem::take(&mut self.gesture);
        tools::finish(g, &mut self.doc, &mut self.history, &mut self.mask_cache);
    }

    /// Carries out a command. The only place commands change the app.
    pub fn apply(&mut self, ctx: &egui::Context, cmd: Command) {
        let result = match cmd.clone() {
            Command::Undo => {
                self.settle();
                if let Some(step) = self.history.undo(&mut self.doc) {
                    if let Some(id) = step.decision {
                        self.variations.undo_accept(id);
                    }
                    self.notify.info(format!("Undid {}", step.label));
                }
                Ok(())
            }
            Command::Redo => {
                self.settle();
                if let Some(step) = self.history.redo(&mut self.doc) {
                    if let Some(id) = step.decision {
                        self.variations.redo_accept(id);
                    }
                    self.notify.info(format!("Redid {}", step.label));
                }
                Ok(())
            }
            Command::NewCanvas => {
                self.guarded(Replacing::NewCanvas);
                Ok(())
            }
            Command::Open => {
                self.guarded(Replacing::Open);
                Ok(())
            }
            Command::Proceed(action) => {
                self.proceed(action);
                Ok(())
            }
            Command::SaveThen(action) => {
                self.guard = Guard::SavingThen(action);
                self.apply(ctx, Command::Save);
                Ok(())
            }
            Command::CancelQuestion => {
                self.guard = Guard::Idle;
                Ok(())
            }
            Command::NewDocument(w, h, background) => {
                Document::new(w, h, background).map(|doc| self.replace_document(doc))
            }
            Command::Recover(path) => {
                self.offer_recovery = None;
                self.recover(path);
                Ok(())
            }
            Command::DiscardRecovery => {
                self.offer_recovery = None;
                self.autosave.discard();
                Ok(())
            }
            Command::SetUndoBudget(mib) => {
                self.state.undo_budget_mib = mib;
                self.history.set_budget(mib as usize * 1024 * 1024);
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
                file_choice::ask(self, Ask::SaveProject(suggested), ctx);
                Ok(())
            }
            Command::Export => {
                let stem = self
                    .path
                    .as_deref()
                    .and_then(|p| p.file_stem())
                    .map_or("Untitled".into(), |s| s.to_string_lossy().into_owned());
                let rect = self.doc.bounds();
                file_choice::ask(self, Ask::ExportImage(format!("{stem}.png"), rect), ctx);
                Ok(())
            }
            Command::ImportLayers => {
                file_choice::ask(self, Ask::ImportImages, ctx);
                Ok(())
            }
            Command::AskFile(ask) => {
                file_choice::ask(self, ask, ctx);
                Ok(())
            }
            Command::Chosen(ask, paths) => {
                file_choice::chosen(self, ask, paths, ctx);
                Ok(())
            }
            Command::OpenRecent(path) => {
                self.guarded(Replacing::OpenRecent(path));
                Ok(())
            }
            Command::ExportSelection => match self.selection.filter(|r| !r.is_empty()) {
                None => {
                    self.notify
                        .info("Export selection: select a rectangle first");
                    Ok(())
                }
                Some(rect) => {
                    file_choice::ask(self, Ask::ExportImage("Selection.png".into(), rect), ctx);
                    Ok(())
                }
            },
            Command::ExportAccepted => {
                if self.variations.history().counts().1 == 0 {
                    self.notify
                        .info("No candidate has been accepted in this project yet");
                    Ok(())
                } else {
                    file_choice::ask(self, Ask::ExportCandidates, ctx);
                    Ok(())
                }
            }
            Command::PasteImage => {
                // egui-winit reads the clipboard and answers with Event::PasteImage.
                ctx.send_viewport_cmd(egui::ViewportCommand::RequestPaste);
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
            Command::SelectCandidate(n) => {
                if self.variations.get(n).is_some() {
                    let v = &mut self.variations;
                    v.selected = (v.selected != Some(n)).then_some(n);
                    v.compare = false;
                }
                Ok(())
            }
            Command::ClosePreview => {
                self.variations.selected = None;
                self.variations.compare = false;
                Ok(())
            }
            Command::AcceptCandidate(n) => {
                self.settle();
                if self.variations.get(n).is_some() {
                    super::variations::accept(self, n);
                    self.refinement.decisions_since += 1;
                }
                Ok(())
            }
            Command::RejectCandidate(n) => {
                if self.variations.get(n).is_some() {
                    super::variations::reject(self, n);
                    self.refinement.decisions_since += 1;
                }
                Ok(())
            }
            Command::FavouriteCandidate(i) => {
                super::variations::toggle_favourite(self, i);
                Ok(())
            }
            Command::MoreLike(i) => {
                self.settle();
                self.variations.more_like(ctx, &self.doc, i);
                Ok(())
            }
            Command::CancelVary => {
                self.variations.cancel();
                Ok(())
            }
            Command::ToggleCompare => {
                self.variations.compare = !self.variations.compare;
                Ok(())
            }
            Command::ShowHistory => {
                self.history_window.open = true;
                Ok(())
            }
            Command::ShowModels => {
                self.refinement.refresh();
                self.refinement.models_open = true;
                Ok(())
            }
            Command::Refine => {
                super::refine_panel::start(self, ctx);
                Ok(())
            }
            Command::CancelRefine => {
                super::refine_panel::cancel(self);
                Ok(())
            }
            Command::ImportPortfolio => {
                file_choice::ask(self, Ask::ImportPortfolio, ctx);
                Ok(())
            }
            Command::ReapplyCandidate(id) => {
                self.settle();
                super::variations::reapply(self, id);
                Ok(())
            }
            Command::FavouriteRecord(id) => {
                let now = self.variations.decisions.toggle_favourite(id);
                if let Some(c) = self.variations.candidates.iter_mut().find(|c| c.id == id) {
                    c.favourite = now;
                }
                Ok(())
            }
            Command::ShowShortcuts => {
                self.windows.show_shortcuts = true;
                Ok(())
            }
            Command::Quit => {
                self.guarded(Replacing::Quit);
                Ok(())
            }
        };
        if let Err(err) = result {
            self.notify.error(format!("{}: {err}", cmd.label()));
        }
    }

    /// Draws the whole window. `AtelierApp` implements `eframe::App` with this.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        if ctx.input(|i| {
            i.pointer.any_down() || i.events.iter().any(super::app_input::is_artist_input)
        }) {
            self.refinement.activity.touch();
        }
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
            if self.is_dirty() && !self.guard.closing() {
                ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
                self.guard = Guard::Asking(Replacing::Quit);
            } else {
                // A deliberate exit: the recovery file is no longer needed.
                self.autosave.discard();
                if let Some(path) = &self.settings_path
                    && let Err(e) = self.state.save(path)
                {
                    tracing::warn!("could not save preferences: {e}");
                }
            }
        }
        if self.guard == Guard::Close {
            self.guard = Guard::Closing;
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        let (state, dirty) = (self.save_state(), self.is_dirty());
        let (doc, variations, active) = (&self.doc, &self.variations, self.active_index());
        let snapshot = || (doc.clone(), variations.project_meta(active));
        if let Some(message) = self.autosave.tick(snapshot, state, dirty) {
            self.notify.warn(message);
        }
        if self.autosave.writing() {
            ctx.request_repaint_after(std::time::Duration::from_millis(50));
        } else if dirty {
            // Wake up for the next autosave even if nothing else happens.
            ctx.request_repaint_after(self.autosave.interval);
        }
        for cmd in std::mem::take(&mut self.deferred) {
            self.apply(&ctx, cmd);
        }
        self.handle_shortcuts(&ctx);
        self.handle_drops_and_paste(&ctx);
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
        super::refine_panel::poll(self, &ctx);
        egui::Panel::right("variations")
            .default_size(220.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("variations-panel")
                    .show(ui, |ui| {
                        super::variations_panel::show(self, ui, &mut commands)
                    })
            });
        egui::Panel::right("right")
            .default_size(240.0)
            .show(ui, |ui| {
                super::layers_panel::show(&mut self.layers_panel, &self.doc, ui, &mut commands)
            });
        // The canvas view paints every pixel of the central panel itself, so
        // a fill under it would only cost a full-area pass (tens of ms a frame
        // on a software rasteriser).
        let central = if self.gpu {
            egui::Frame::NONE
        } else {
            egui::Frame::NONE.fill(egui::Color32::from_gray(48))
        };
        egui::CentralPanel::default()
            .frame(central)
            .show(ui, |ui| super::canvas::show(self, ui));
        let shown = super::dialogs::Shown {
            offer_recovery: self.offer_recovery.as_deref(),
            asking: self.guard.asking(),
            name: self.path.as_deref().map_or("Untitled".into(), display_name),
            undo_budget_mib: self.state.undo_budget_mib,
        };
        super::dialogs::windows(&mut self.windows, shown, &ctx, &mut commands);
        file_choice::window(self, &ctx, &mut commands);
        super::history_window::show(
            &mut self.history_window,
            self.variations.history(),
            &ctx,
            &mut commands,
        );
        super::refine_panel::models_window(self, &ctx, &mut commands);
        for cmd in commands {
            self.apply(&ctx, cmd);
        }
        if matches!(self.guard, Guard::SavingThen(_)) && self.file_job.is_none() {
            // The save dialog was cancelled: nothing is closed or replaced.
            self.guard = Guard::Idle;
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
        let start = self.frame_stats.is_some().then(std::time::Instant::now);
        self.show(ui);
        if let (Some(stats), Some(start)) = (&mut self.frame_stats, start) {
            use super::frame_stats::Phase;
            let r = &self.refinement;
            let phase = match &r.job {
                None => Phase::Idle,
                Some(_) if r.paused_for_artist() => Phase::TrainingPaused,
                Some(_) => Phase::Training,
            };
            let step = r.job.as_ref().map_or(0, |j| j.progress.0);
            let pressed = ui.ctx().input(|i| i.pointer.primary_down());
            stats.end(start, phase, step, pressed);
            if stats.continuous {
                ui.ctx().request_repaint();
            }
        }
    }

    /// The panels' colour: with [`super::clear_behind_panels`] the panels
    /// are transparent and the clear shows through them.
    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        super::panel_colour(visuals.dark_mode).to_normalized_gamma_f32()
    }

    fn on_exit(&mut self) {
        if let Some(stats) = &mut self.frame_stats {
            stats.write();
        }
    }
}
