//! Project files: `.atelier` documents on disk.
//!
//! A project is an OpenRaster-compatible zip ([`ora`]): `mimetype` first and
//! stored, `stack.xml`, one PNG per layer, `mergedimage.png` and a thumbnail,
//! so Krita, GIMP and MyPaint open it when renamed to `.ora`, plus Atelier's
//! own `atelier/manifest.json` ([`manifest`]) and `atelier/history/*.png`.
//! Saves are atomic (temporary file in the same folder, fsync, rename).
pub mod export;
pub mod import;
pub mod manifest;
pub mod ora;
pub mod xmp;

use std::path::{Path, PathBuf};

pub use export::{export, export_candidates, export_rect};
pub use import::{add_image_layer, decode_image, import_images, is_project_path, open_as_document};
pub use manifest::ProjectSettings;
pub use ora::{load, save};

use crate::decisions::{CandidateHistory, LatentSteering};
use crate::document::Document;

/// What a project file holds besides the layers (layer provenance lives on
/// the layers themselves, in `LayerProps`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProjectMeta {
    /// Vary settings and the active layer.
    pub settings: ProjectSettings,
    /// Every candidate generated in the project.
    pub candidates: CandidateHistory,
    /// The latent steering state, if the artist has steered.
    pub steering: Option<LatentSteering>,
}

/// A project read from disk.
#[derive(Clone, Debug)]
pub struct Project {
    /// Layers and pixels.
    pub doc: Document,
    /// Manifest and candidate history (defaults for a plain OpenRaster file).
    pub meta: ProjectMeta,
    /// Things that were read but not exactly (an unknown blend mode, a missing
    /// history image), to show to the user.
    pub warnings: Vec<String>,
}

/// A per-user folder following the XDG base directories: `$ENV_VAR` when it
/// is an absolute path, else `~/<home_fallback>`; with `atelier/` appended.
pub fn user_dir(env_var: &str, home_fallback: &str) -> Option<PathBuf> {
    let base = std::env::var_os(env_var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(home_fallback)))?;
    Some(base.join("atelier"))
}

/// Writes a file atomically: into a temporary file in the same folder, fsync,
/// then rename over `path`, so the previous file survives any failure.
///
/// The file gets the mode a plain create would give it (0666 less the
/// umask), or keeps the mode of the file it replaces: a temporary file is
/// made 0600, and that mode would otherwise survive the rename.
pub fn atomic_write(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> Result<(), String>,
) -> Result<(), ProjectError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The kernel takes the umask off this mode at creation.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(|e| ProjectError::io(path, e))?;
    if let Ok(existing) = std::fs::metadata(path) {
        std::fs::set_permissions(tmp.path(), existing.permissions())
            .map_err(|e| ProjectError::io(path, e))?;
    }
    write(tmp.as_file_mut())
        .map_err(|e| ProjectError::malformed(path, format!("writing failed: {e}")))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| ProjectError::io(path, e))?;
    tmp.persist(path)
        .map_err(|e| ProjectError::io(path, e.error))?;
    Ok(())
}

/// Largest canvas side accepted when reading a file.
pub const MAX_SIDE: u32 = crate::document::MAX_SIDE;

/// Why a project could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The file system refused.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// Not a zip, or a damaged one.
    #[error("{path}: not a readable OpenRaster/Atelier file ({reason})")]
    NotAProject {
        /// The file involved.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A part of the file is missing or malformed.
    #[error("{path}: {what}")]
    Malformed {
        /// The file involved.
        path: PathBuf,
        /// What is wrong, naming the part.
        what: String,
    },
}

impl ProjectError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn malformed(path: &Path, what: impl Into<String>) -> Self {
        Self::Malformed {
            path: path.to_owned(),
            what: what.into(),
        }
    }
}
