//! Opening and saving projects: native file dialogs behind a trait (tests use
//! a double), and the reads and writes themselves on background threads so the
//! canvas never freezes.
use std::path::{Path, PathBuf};

use crate::job::Job;

use crate::document::{CanvasRect, Document};
use crate::project::{self, Project, ProjectMeta};

/// Asks the user for file paths.
pub trait FileDialogs {
    /// A project or OpenRaster file to open.
    fn open_project(&self) -> Option<PathBuf>;
    /// Where to save a project; `suggested` is a file name.
    fn save_project(&self, suggested: &str) -> Option<PathBuf>;
    /// Where to export a flattened image or OpenRaster file.
    fn export_image(&self, suggested: &str) -> Option<PathBuf> {
        self.save_project(suggested)
    }
    /// Images to import as layers.
    fn import_images(&self) -> Vec<PathBuf> {
        self.open_project().into_iter().collect()
    }
    /// A folder to export into or import from.
    fn pick_folder(&self) -> Option<PathBuf> {
        None
    }
    /// Where to export a model version (`.safetensors`).
    fn export_model(&self, suggested: &str) -> Option<PathBuf> {
        self.save_project(suggested)
    }
    /// A model version file to import.
    fn import_model(&self) -> Option<PathBuf> {
        self.open_project()
    }
    /// Whether these dialogs can be shown here (when not, Atelier's own
    /// dialog is used: [`super::file_choice`]).
    fn available(&self) -> bool {
        true
    }
}

/// The platform's dialogs through rfd (the XDG desktop portal on Linux).
pub struct NativeDialogs;

impl FileDialogs for NativeDialogs {
    fn available(&self) -> bool {
        static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *AVAILABLE.get_or_init(super::file_choice::system_dialogs_available)
    }

    fn open_project(&self) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .add_filter("Atelier project", &["atelier", "ora"])
            .add_filter(
                "Images",
                &["png", "jpg", "jpeg", "webp", "tif", "tiff", "bmp", "gif"],
            )
            .pick_file()
    }

    fn pick_folder(&self) -> Option<PathBuf> {
        rfd::FileDialog::new().pick_folder()
    }

    fn export_model(&self, suggested: &str) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .add_filter("Model version", &["safetensors"])
            .set_file_name(suggested)
            .save_file()
    }

    fn import_model(&self) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .add_filter("Model version", &["safetensors"])
            .pick_file()
    }

    fn save_project(&self, suggested: &str) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .add_filter("Atelier project", &["atelier"])
            .set_file_name(suggested)
            .save_file()
    }

    fn export_image(&self, suggested: &str) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .add_filter("PNG", &["png"])
            .add_filter("JPEG", &["jpg", "jpeg"])
            .add_filter("WebP", &["webp"])
            .add_filter("TIFF", &["tif", "tiff"])
            .add_filter("OpenRaster", &["ora"])
            .set_file_name(suggested)
            .save_file()
    }

    fn import_images(&self) -> Vec<PathBuf> {
        rfd::FileDialog::new()
            .add_filter(
                "Images",
                &["png", "jpg", "jpeg", "webp", "tif", "tiff", "bmp", "gif"],
            )
            .pick_files()
            .unwrap_or_default()
    }
}

/// What a background file job reports when it ends.
pub enum FileOutcome {
    /// The project at this path was saved at this (history, meta) state.
    Saved(PathBuf, SaveState),
    /// This project was read from this path.
    Opened(PathBuf, Box<Project>),
    /// Exported to this path (a file, or a folder of candidates).
    Exported(PathBuf),
    /// These layers were decoded (properties, straight RGBA), ready to be
    /// added, with what the files had that could not be kept as it was.
    Imported(
        Vec<(crate::document::LayerProps, image::RgbaImage)>,
        Vec<String>,
    ),
    /// It failed; the message names the file and the problem.
    Failed(String),
}

/// What has been saved: the undo history's state and the revision of the
/// project's candidate history and steering.
pub type SaveState = (u64, u64);

/// A save or open running on its own thread.
pub struct FileJob {
    job: Job<FileOutcome>,
    /// Shown in the status bar while it runs.
    pub label: String,
}

impl FileJob {
    /// Saves a snapshot of `doc` (cheap: tiles are shared) and `meta` taken
    /// at `state`.
    pub fn save(doc: Document, meta: ProjectMeta, path: PathBuf, state: SaveState) -> Self {
        let label = format!("Saving {}…", display_name(&path));
        Self::spawn(label, move || match project::save(&doc, &meta, &path) {
            Ok(()) => FileOutcome::Saved(path, state),
            Err(e) => FileOutcome::Failed(format!("Could not save: {e}")),
        })
    }

    /// Reads a project, an OpenRaster file, or an image as a new document.
    pub fn open(path: PathBuf) -> Self {
        let label = format!("Opening {}…", display_name(&path));
        Self::spawn(label, move || match project::open_as_document(&path) {
            Ok(p) => FileOutcome::Opened(path, Box::new(p)),
            Err(e) => FileOutcome::Failed(format!("Could not open: {e}")),
        })
    }

    /// Exports a snapshot of `doc` inside `rect` (format from the extension).
    pub fn export(doc: Document, rect: CanvasRect, path: PathBuf) -> Self {
        let label = format!("Exporting {}…", display_name(&path));
        Self::spawn(label, move || {
            match project::export_rect(&doc, rect, &path, 92) {
                Ok(()) => FileOutcome::Exported(path),
                Err(e) => FileOutcome::Failed(format!("Could not export: {e}")),
            }
        })
    }

    /// Writes the accepted candidates of `history` into `dir`.
    pub fn export_candidates(history: crate::decisions::CandidateHistory, dir: PathBuf) -> Self {
        let label = format!("Exporting accepted candidates to {}…", display_name(&dir));
        Self::spawn(label, move || {
            match project::export_candidates(
                &history,
                crate::decisions::history::Filter::Accepted,
                &dir,
            ) {
                Ok(_) => FileOutcome::Exported(dir),
                Err(e) => FileOutcome::Failed(format!("Could not export: {e}")),
            }
        })
    }

    /// Decodes images (with size limits) for import as layers; an OpenRaster
    /// or project file contributes each of its layers.
    pub fn import(paths: Vec<PathBuf>) -> Self {
        let label = format!("Importing {} files…", paths.len());
        Self::spawn(label, move || {
            let (mut layers, mut warnings) = (Vec::new(), Vec::new());
            for p in &paths {
                match project::import::decode_layers_reporting(p) {
                    Ok((mut l, mut w)) => {
                        layers.append(&mut l);
                        warnings.append(&mut w);
                    }
                    Err(e) => return FileOutcome::Failed(format!("Could not import: {e}")),
                }
            }
            FileOutcome::Imported(layers, warnings)
        })
    }

    fn spawn(label: String, work: impl FnOnce() -> FileOutcome + Send + 'static) -> Self {
        let job = Job::spawn("file", work);
        Self { job, label }
    }

    /// The outcome, once the job has finished.
    pub fn poll(&self) -> Option<FileOutcome> {
        self.job
            .poll()
            .map(|r| r.unwrap_or_else(|e| FileOutcome::Failed(format!("{e}"))))
    }

    /// Waits for the outcome (tests and quitting).
    pub fn wait(self) -> FileOutcome {
        self.job
            .wait()
            .unwrap_or_else(|e| FileOutcome::Failed(format!("{e}")))
    }
}

/// File name for titles and messages.
pub fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
