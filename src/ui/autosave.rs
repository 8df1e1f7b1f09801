//! Autosave and crash recovery: every few minutes, when there are unsaved
//! changes, a snapshot of the document is written (atomically, on a worker
//! thread) to a recovery file in the user's data folder. A clean exit removes
//! it; if it is still there at the next start, the app offers to recover it.
use crate::job::Job;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::files::SaveState;
use crate::document::Document;
use crate::project::ProjectMeta;

/// Where the recovery file lives: `$XDG_DATA_HOME/atelier/recovery.atelier`,
/// else `~/.local/share/atelier/recovery.atelier`.
pub fn default_recovery_path() -> Option<PathBuf> {
    Some(crate::project::user_dir("XDG_DATA_HOME", ".local/share")?.join("recovery.atelier"))
}

/// Autosave state kept by the app.
pub struct Autosave {
    /// The recovery file (none: autosave is off).
    pub path: Option<PathBuf>,
    /// Time between autosaves.
    pub interval: Duration,
    last: Instant,
    /// State last written to the recovery file.
    written_state: SaveState,
    job: Option<(SaveState, Job<Result<(), String>>)>,
}

impl Autosave {
    /// Autosave to `path` every `interval`.
    pub fn new(path: Option<PathBuf>, interval: Duration) -> Self {
        Self {
            path,
            interval,
            last: Instant::now(),
            written_state: (0, 0),
            job: None,
        }
    }

    /// A recovery file left by a session that did not exit cleanly.
    pub fn leftover(&self) -> Option<PathBuf> {
        self.path.clone().filter(|p| p.exists())
    }

    /// Called every frame: starts a write of `snapshot()` when due; returns an
    /// error to show.
    pub fn tick(
        &mut self,
        snapshot: impl FnOnce() -> (Document, ProjectMeta),
        state: SaveState,
        dirty: bool,
    ) -> Option<String> {
        let mut error = None;
        if let Some((written, job)) = &self.job
            && let Some(result) = job.poll()
        {
            match result.map_err(|e| e.to_string()).and_then(|r| r) {
                Ok(()) => self.written_state = *written,
                Err(e) => error = Some(format!("Autosave failed: {e}")),
            }
            self.job = None;
        }
        let due = self.last.elapsed() >= self.interval;
        if let Some(path) = &self.path
            && due
            && dirty
            && self.job.is_none()
            && state != self.written_state
        {
            self.last = Instant::now();
            let ((doc, meta), path) = (snapshot(), path.clone());
            let job = Job::spawn("autosave", move || {
                path.parent()
                    .map_or(Ok(()), std::fs::create_dir_all)
                    .map_err(|e| e.to_string())
                    .and_then(|()| {
                        crate::project::save(&doc, &meta, &path).map_err(|e| e.to_string())
                    })
            });
            self.job = Some((state, job));
        }
        error
    }

    /// Whether a write is in progress (tests).
    pub fn writing(&self) -> bool {
        self.job.is_some()
    }

    /// A clean exit: nothing to recover next time.
    pub fn discard(&mut self) {
        if let Some((_, job)) = self.job.take() {
            // Let the write finish so it cannot recreate the file afterwards.
            let _ = job.wait();
        }
        if let Some(path) = &self.path
            && let Err(e) = std::fs::remove_file(path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("could not remove the recovery file {}: {e}", path.display());
        }
    }
}
