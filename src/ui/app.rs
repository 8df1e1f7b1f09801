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
use crate::document::Document;
use crate::editor::tools::Tool;
use crate::editor::{Editor, FillState};
use crate::render::gpu::CanvasView;

/// The painting studio.
pub struct AtelierApp {
    /// Preferences and choices (serde).
    pub state: AppState,
    /// The document, its history, the selection and the gesture in progress.
    pub editor: Editor,
    /// How the canvas is shown.
    pub view: CanvasView,
    /// Message for the status bar (errors shown to the user).
    pub notify: Notifications,
    /// Which windows are open, and the New canvas form.
    pub(super) windows: super::dialogs::Dialogs,
    pub(super) fit_pending: bool,
    pub(super) canvas_input: CanvasInput,
    /// The layers panel's thumbnails and rename in progress.
    pub(super) layers_panel: super::layers_panel::LayersPanel,
    /// The colour panel's hex entry.
    pub(super) colour_panel: super::panels::ColourPanel,
    /// The variations panel's textures.
    pub variations_panel: super::variations_panel::VariationsPanel,
    /// The model versions window.
    pub(super) models_window: super::refine_panel::ModelsWindow,
    /// Whether the wgpu canvas compositor is available.
    pub(super) gpu: bool,
    /// The GAN worker and the candidates waiting for a decision.
    pub variations: super::variations::Variations,
    /// Who made the visible picture (cached per tile).
    pub(super) authorship: crate::document::authorship::AuthorshipCache,
    /// Live: the GAN's rendition following the painting.
    pub live: super::live::Live,
    /// Refinement jobs, the portfolio and model versions.
    pub refinement: super::refinement::Refinement,
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
    /// File and folder pickers (a test double in tests).
    pub(super) dialogs: Box<dyn FileDialogs>,
    /// Atelier's own file dialog, open where the system has none.
    pub(super) file_chooser: Option<FileChooser>,
    /// Commands raised between frames (a save that finished), applied at
    /// the start of the next frame.
    pub(super) deferred: Vec<Command>,
    pub(super) title: String,
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
        super::refinement::sync_models(self);
    }

    /// Reads preferences from `path` and writes them back there on changes
    /// and at exit (without it, as in tests, nothing is persisted).
    pub fn load_settings(&mut self, path: std::path::PathBuf) {
        let (state, message) = AppState::load(&path);
        self.editor
            .history
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
        let editor = Editor::new(doc, state.undo_budget_mib as usize * 1024 * 1024);
        Self {
            state,
            editor,
            view: CanvasView::default(),
            notify: Notifications::default(),
            windows: Default::default(),
            fit_pending: true,
            canvas_input: CanvasInput::default(),
            layers_panel: Default::default(),
            colour_panel: Default::default(),
            variations_panel: Default::default(),
            models_window: Default::default(),
            gpu,
            variations: Default::default(),
            authorship: crate::document::authorship::AuthorshipCache::new(),
            live: Default::default(),
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
            dialogs: Box::new(NativeDialogs),
            file_chooser: None,
            deferred: Vec::new(),
            title: String::new(),
        }
    }

    /// Ends any gesture in progress (recording it) before another edit.
    pub(super) fn settle(&mut self) {
        self.editor.settle();
    }

    /// Carries out a command. The only place commands change the app.
    pub fn apply(&mut self, ctx: &egui::Context, cmd: Command) {
        let result = match cmd.clone() {
            Command::Undo => {
                if let Some(step) = self.editor.undo() {
                    if let Some(id) = step.decision {
                        self.variations.undo_accept(id);
                    }
                    self.notify.info(format!("Undid {}", step.label));
                }
                Ok(())
            }
            Command::Redo => {
                if let Some(step) = self.editor.redo() {
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
                self.editor.history.set_budget(mib as usize * 1024 * 1024);
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
                let rect = self.editor.doc.bounds();
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
            Command::ExportSelection => match self.editor.selection.filter(|r| !r.is_empty()) {
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
                let name = format!("Layer {}", self.editor.doc.layers().len() + 1);
                self.editor
                    .history
                    .edit_stack(&mut self.editor.doc, "Add layer", None, |d| {
                        d.add_layer(&name);
                        Ok(())
                    })
            }
            Command::DeleteLayer(id) => {
                self.settle();
                self.editor
                    .history
                    .edit_stack(&mut self.editor.doc, "Delete layer", None, |d| {
                        d.delete_layer(id)
                    })
            }
            Command::DuplicateLayer(id) => {
                self.settle();
                self.editor
                    .history
                    .edit_stack(&mut self.editor.doc, "Duplicate layer", None, |d| {
                        d.duplicate_layer(id).map(|_| ())
                    })
            }
            Command::MergeDown(id) => {
                self.settle();
                self.editor
                    .history
                    .edit_stack(&mut self.editor.doc, "Merge down", None, |d| {
                        d.merge_down(id)
                    })
            }
            Command::MoveLayer(id, to) => {
                self.settle();
                self.editor
                    .history
                    .edit_stack(&mut self.editor.doc, "Reorder layers", None, |d| {
                        d.move_layer(id, to)
                    })
            }
            Command::ActivateLayer(id) => {
                self.settle();
                self.editor.doc.set_active(id)
            }
            Command::SetLayerProps(id, props, continuous) => {
                self.settle();
                let key = continuous.then(|| format!("props-{}", id.0));
                if !continuous {
                    self.editor.history.seal();
                }
                self.editor
                    .history
                    .edit_stack(&mut self.editor.doc, "Layer properties", key, |d| {
                        d.set_props(id, props)
                    })
            }
            Command::Deselect => {
                self.editor.selection = None;
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
            Command::SetColour(c) => {
                self.state.primary = c;
                Ok(())
            }
            Command::UseColour(c) => {
                self.state.primary = c;
                self.state.push_recent(c);
                Ok(())
            }
            Command::SetBrush(b) => {
                self.state.brush = b.sanitized();
                Ok(())
            }
            Command::ChoosePreset(n) => {
                if let Some(preset) = self.state.presets.get(n).cloned() {
                    self.state.brush = preset;
                    if !matches!(self.state.tool, Tool::Brush | Tool::Eraser) {
                        self.settle();
                        self.state.tool = Tool::Brush;
                    }
                }
                Ok(())
            }
            Command::SetFillTolerance(t) => {
                self.state.fill_tolerance = t;
                Ok(())
            }
            Command::SetZoom(z) => {
                self.view.zoom = z.clamp(0.01, 32.0);
                Ok(())
            }
            Command::SetRotation(deg) => {
                self.view.rotation = deg.to_radians();
                Ok(())
            }
            Command::ShowSettings => {
                self.windows.show_settings = true;
                Ok(())
            }
            Command::Warn(message) => {
                self.notify.warn(message);
                Ok(())
            }
            cmd @ (Command::Vary
            | Command::SelectCandidate(..)
            | Command::ClosePreview
            | Command::AcceptCandidate(..)
            | Command::RejectCandidate(..)
            | Command::FavouriteCandidate(..)
            | Command::MoreLike(..)
            | Command::CancelVary
            | Command::ToggleCompare
            | Command::ShowHistory
            | Command::ShowModels
            | Command::Refine
            | Command::CancelRefine
            | Command::ImportPortfolio
            | Command::ReapplyCandidate(..)
            | Command::FavouriteRecord(..)
            | Command::SetVary(..)
            | Command::ResetSteering
            | Command::SetRefineSteps(..)
            | Command::SetAutoRefine(..)
            | Command::Model(..)
            | Command::ToggleLive
            | Command::ApplyLive
            | Command::VaryFromLive
            | Command::LiveNewSeed
            | Command::SetLive(..)) => {
                self.apply_vary(ctx, cmd);
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
        match self.editor.poll_fill() {
            FillState::Running => ctx.request_repaint_after(std::time::Duration::from_millis(16)),
            FillState::Lost => self
                .notify
                .error("The fill stopped unexpectedly; nothing changed"),
            FillState::Idle | FillState::Landed => {}
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
        let (doc, variations, active) = (&self.editor.doc, &self.variations, self.active_index());
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
        egui::Panel::top("menu").show(ui, |ui| {
            super::panels::menu_bar(&self.state, &self.editor, ui, &mut commands)
        });
        egui::Panel::top("toolbar").show(ui, |ui| {
            super::panels::toolbar(&self.state, &self.view, ui, &mut commands)
        });
        let gan_share = self.authorship.measure(&self.editor.doc).gan_share();
        let status = super::panels::Status {
            editor: &self.editor,
            view: &self.view,
            hover: self.canvas_input.hover,
            file_job: self.file_job.as_ref().map(|j| j.label.as_str()),
            gan_share,
            notify: &self.notify,
        };
        egui::Panel::bottom("status").show(ui, |ui| super::panels::status_bar(status, ui));
        egui::Panel::left("left")
            .default_size(230.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    super::panels::brush_panel(&self.state, ui, &mut commands);
                    ui.separator();
                    self.colour_panel.show(&self.state, ui, &mut commands);
                });
            });
        super::refinement::poll(self, &ctx);
        if let Some(message) = self.variations.poll() {
            self.notify.error(message);
        }
        self.tick_live(&ctx);
        let vary_cx = super::variations_panel::Context {
            refinement: &self.refinement,
            has_selection: self.editor.selection.is_some(),
            gpu: self.gpu,
        };
        egui::Panel::right("variations")
            .default_size(220.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("variations-panel")
                    .show(ui, |ui| {
                        super::variations_panel::show(
                            &mut self.variations_panel,
                            &self.variations,
                            vary_cx,
                            ui,
                            &mut commands,
                        )
                    })
            });
        egui::Panel::right("right")
            .default_size(240.0)
            .show(ui, |ui| {
                super::layers_panel::show(
                    &mut self.layers_panel,
                    &self.editor.doc,
                    ui,
                    &mut commands,
                )
            });
        // The canvas view paints every pixel of the central panel itself, so
        // a fill under it would only cost a full-area pass (tens of ms a frame
        // on a software rasteriser).
        let central = if self.gpu {
            egui::Frame::NONE
        } else {
            egui::Frame::NONE.fill(egui::Color32::from_gray(48))
        };
        let preview = self.variations_panel.preview(&self.variations, &ctx);
        let live_texture = self.live.texture(&ctx);
        let overlay = match &live_texture {
            Some((tex, rect)) if self.live.session.on && self.live.overlay => {
                Some((tex.clone(), *rect, self.live.opacity))
            }
            _ => None,
        };
        let canvas = super::canvas::Canvas {
            editor: &mut self.editor,
            view: &mut self.view,
            input: &mut self.canvas_input,
            state: &self.state,
            fit_pending: &mut self.fit_pending,
            preview,
            overlay,
            gpu: self.gpu,
            notify: &mut self.notify,
            out: &mut commands,
        };
        egui::CentralPanel::default()
            .frame(central)
            .show(ui, |ui| super::canvas::show(canvas, ui));
        let shown = super::dialogs::Shown {
            offer_recovery: self.offer_recovery.as_deref(),
            asking: self.guard.asking(),
            name: self.path.as_deref().map_or("Untitled".into(), display_name),
            undo_budget_mib: self.state.undo_budget_mib,
        };
        super::dialogs::windows(&mut self.windows, shown, &ctx, &mut commands);
        let live_view = super::live::View {
            texture: live_texture.as_ref().map(|(t, _)| t),
            current: self
                .live
                .is_current(&self.editor.doc, self.editor.selection),
            busy: self.live.session.busy(),
            live: &self.live,
        };
        super::live::window(live_view, &ctx, &mut commands);
        file_choice::window(&mut self.file_chooser, &ctx, &mut commands);
        super::history_window::show(
            &mut self.history_window,
            self.variations.history(),
            &ctx,
            &mut commands,
        );
        super::refine_panel::models_window(
            &mut self.models_window,
            &self.refinement,
            &self.state,
            &ctx,
            &mut commands,
        );
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
        super::canvas::transform(&self.view, &self.editor.doc, self.canvas_input.viewport)
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
