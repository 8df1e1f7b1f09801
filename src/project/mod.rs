//! Project files: `.atelier` documents on disk.
//!
//! A project is an OpenRaster-compatible zip ([`ora`]): `mimetype` first and
//! stored, `stack.xml`, one PNG per layer, `mergedimage.png` and a thumbnail,
//! so Krita, GIMP and MyPaint open it when renamed to `.ora`. Saves are atomic
//! (temporary file in the same folder, fsync, rename).
pub mod ora;

use std::path::{Path, PathBuf};

pub use ora::{load, save};

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
