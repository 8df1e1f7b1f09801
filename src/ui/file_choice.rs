//! Asking the artist for a file or folder, and what happens with the answer.
//!
//! Every command that needs a path says what it asks for ([`Ask`]); the
//! system's dialog answers at once, or, where there is none (no desktop
//! portal and no zenity: a bare X session, a minimal window manager),
//! Atelier's own dialog ([`FileChooser`], egui_file) opens and answers a few
//! frames later through `Command::Chosen`. Either way the answer goes to
//! [`chosen`], the one place that carries the command out, so a missing
//! system dialog never makes Save or Export silently do nothing.
use std::path::{Path, PathBuf};

use eframe::egui;

use super::app::AtelierApp;
use super::commands::Command;
use super::files::{FileDialogs, FileJob, display_name};
use crate::document::CanvasRect;

/// What a command asks the artist for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ask {
    /// A project, OpenRaster file or image to open.
    OpenProject,
    /// Where to save the project (`suggested`: a file name).
    SaveProject(String),
    /// Where to export `rect` of the flattened canvas.
    ExportImage(String, CanvasRect),
    /// Images (or OpenRaster files) to import as layers.
    ImportImages,
    /// A folder for the accepted candidates.
    ExportCandidates,
    /// A folder of the artist's images for the style profile.
    ImportPortfolio,
    /// Where to export this model version.
    ExportModel(String),
    /// A model version file to import.
    ImportModel,
}

impl Ask {
    /// Whether it asks for a folder.
    fn folder(&self) -> bool {
        matches!(self, Ask::ExportCandidates | Ask::ImportPortfolio)
    }

    /// Whether it asks for a place to write.
    fn saves(&self) -> bool {
        matches!(
            self,
            Ask::SaveProject(_) | Ask::ExportImage(..) | Ask::ExportModel(_)
        )
    }

    /// The title of Atelier's own dialog.
    fn title(&self) -> &'static str {
        match self {
            Ask::OpenProject => "Open",
            Ask::SaveProject(_) => "Save as",
            Ask::ExportImage(..) => "Export",
            Ask::ImportImages => "Import as layers",
            Ask::ExportCandidates => "Export accepted candidates to a folder",
            Ask::ImportPortfolio => "Import my work from a folder",
            Ask::ExportModel(_) => "Export model version",
            Ask::ImportModel => "Import model version",
        }
    }

    /// The suggested file name, if any.
    fn suggested(&self) -> Option<String> {
        match self {
            Ask::SaveProject(s) | Ask::ExportImage(s, _) => Some(s.clone()),
            Ask::ExportModel(id) => Some(format!("{id}.safetensors")),
            _ => None,
        }
    }
}

/// The system dialog's answer (empty: cancelled).
fn native(dialogs: &dyn FileDialogs, ask: &Ask) -> Vec<PathBuf> {
    match ask {
        Ask::OpenProject => dialogs.open_project().into_iter().collect(),
        Ask::SaveProject(s) => dialogs.save_project(s).into_iter().collect(),
        Ask::ExportImage(s, _) => dialogs.export_image(s).into_iter().collect(),
        Ask::ImportImages => dialogs.import_images(),
        Ask::ExportCandidates | Ask::ImportPortfolio => dialogs.pick_folder().into_iter().collect(),
        Ask::ExportModel(_) => dialogs
            .export_model(&ask.suggested().unwrap_or_default())
            .into_iter()
            .collect(),
        Ask::ImportModel => dialogs.import_model().into_iter().collect(),
    }
}

/// Asks for `ask` with the system's dialog, or opens Atelier's own when the
/// system has none.
pub fn ask(app: &mut AtelierApp, ask: Ask, ctx: &egui::Context) {
    if app.dialogs.available() {
        let paths = native(app.dialogs.as_ref(), &ask);
        if !paths.is_empty() {
            chosen(app, ask, paths, ctx);
        }
        return;
    }
    let start = app
        .path
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("HOME").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."));
    app.notify
        .warn("No system file dialog here (no desktop portal or zenity): using Atelier's own");
    app.file_chooser = Some(FileChooser::new(ask, &start));
}

/// Carries out the command that asked, with the artist's answer (no
/// paths: the artist cancelled).
pub fn chosen(app: &mut AtelierApp, ask: Ask, mut paths: Vec<PathBuf>, ctx: &egui::Context) {
    let Some(first) = paths.first().cloned() else {
        app.notify.info(format!("{}: cancelled", ask.title()));
        return;
    };
    let with_extension = |mut p: PathBuf, ext: &str| {
        if p.extension().is_none() {
            p.set_extension(ext);
        }
        p
    };
    match ask {
        Ask::OpenProject => app.open(first),
        Ask::SaveProject(_) => app.save_to(with_extension(first, "atelier")),
        Ask::ExportImage(_, rect) => {
            let path = with_extension(first, "png");
            app.settle();
            app.start_file_job(FileJob::export(app.editor.doc.clone(), rect, path));
        }
        Ask::ImportImages => {
            paths.retain(|p| p.is_file());
            if !paths.is_empty() {
                app.start_file_job(FileJob::import(paths));
            }
        }
        Ask::ExportCandidates => {
            let history = app.variations.history().clone();
            app.start_file_job(FileJob::export_candidates(history, first));
        }
        Ask::ImportPortfolio => super::refinement::import_portfolio(app, first, ctx),
        Ask::ExportModel(id) => {
            let dest = with_extension(first, "safetensors");
            super::refinement::model_file_op(app, move |s| {
                s.export(&id, &dest)
                    .map(|()| format!("Exported model version {id}"))
                    .map_err(|e| e.to_string())
            });
        }
        Ask::ImportModel => super::refinement::model_file_op(app, move |s| {
            s.import(&first)
                .map(|id| format!("Imported model version {id}; it is now in use"))
                .map_err(|e| e.to_string())
        }),
    }
}

/// Atelier's own file dialog, for systems without one.
pub struct FileChooser {
    ask: Ask,
    dialog: egui_file::FileDialog,
}

impl FileChooser {
    /// Opens a dialog for `ask`, starting in `start`.
    pub fn new(ask: Ask, start: &Path) -> Self {
        let mut dialog = if ask.folder() {
            egui_file::FileDialog::select_folder()
        } else if ask.saves() {
            egui_file::FileDialog::save_file()
        } else {
            egui_file::FileDialog::open_file().multi_select(ask == Ask::ImportImages)
        }
        .initial_path(start)
        .title(ask.title());
        if let Some(name) = ask.suggested() {
            dialog = dialog.default_filename(name);
        }
        dialog.open();
        Self { ask, dialog }
    }

    /// What it asks for.
    pub fn asking(&self) -> &Ask {
        &self.ask
    }

    /// Shows the dialog; once the artist has answered: Some(paths), empty
    /// when they cancelled.
    pub fn show(&mut self, ctx: &egui::Context) -> Option<Vec<PathBuf>> {
        self.dialog.show(ctx);
        match self.dialog.state() {
            egui_file::State::Open => None,
            egui_file::State::Selected => Some(if self.dialog.has_multi_select() {
                self.dialog
                    .selection()
                    .into_iter()
                    .map(Path::to_path_buf)
                    .collect()
            } else {
                self.dialog
                    .path()
                    .map(Path::to_path_buf)
                    .into_iter()
                    .collect()
            }),
            _ => Some(Vec::new()),
        }
    }
}

/// Shows Atelier's own dialog while one is open; the answer becomes a command.
/// A cancelled dialog is a `Chosen` with no paths.
pub fn window(open: &mut Option<FileChooser>, ctx: &egui::Context, out: &mut Vec<Command>) {
    let Some(chooser) = open.as_mut() else {
        return;
    };
    if let Some(paths) = chooser.show(ctx) {
        let ask = chooser.asking().clone();
        *open = None;
        let names: Vec<String> = paths.iter().map(|p| display_name(p)).collect();
        tracing::info!("{}: {}", ask.title(), names.join(", "));
        out.push(Command::Chosen(ask, paths));
    }
}

/// Whether the system has a file dialog rfd can use: zenity, or a desktop
/// portal that the session bus can start. `ATELIER_FILE_DIALOG=builtin`
/// (or `system`) overrides the guess.
pub fn system_dialogs_available() -> bool {
    match std::env::var("ATELIER_FILE_DIALOG").as_deref() {
        Ok("builtin") => return false,
        Ok("system") => return true,
        _ => {}
    }
    if cfg!(not(target_os = "linux")) {
        return true;
    }
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
    };
    let portal = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
        && [
            "/usr/share/dbus-1/services",
            "/usr/local/share/dbus-1/services",
        ]
        .iter()
        .any(|d| {
            Path::new(d)
                .join("org.freedesktop.portal.Desktop.service")
                .is_file()
        });
    portal || on_path("zenity")
}
