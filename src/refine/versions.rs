//! Model versions: the artist's style profile in the user data directory.
//!
//! A profile is a folder holding one checkpoint per version
//! (`versions/<id>.safetensors` + sidecar) and `profile.json`: the versions
//! in creation order with their parent, name, time and what they were
//! trained on, and which one is current. The embedded default model is the
//! implicit root (version id of the default, no file). Switching, rollback,
//! rename, delete, export and import act on this folder; a version's weights
//! are never rewritten, so going back restores them exactly.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::Device;

use crate::gan::{GanError, VariationModel};

/// One version in a profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionEntry {
    /// Content hash of the weights (the sidecar's `version_id`).
    pub id: String,
    /// Name shown to the artist (defaults to the id).
    pub name: String,
    /// The version it was refined from.
    pub parent: Option<String>,
    /// Seconds since the Unix epoch.
    pub created: u64,
    /// What it was trained on, for the models window.
    pub note: String,
    /// Its training data summary and final smoothed losses.
    #[serde(default)]
    pub metrics: String,
}

/// `profile.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProfileIndex {
    /// Oldest first.
    pub versions: Vec<VersionEntry>,
    /// The version in use; None: the embedded default.
    pub current: Option<String>,
}

/// Why a profile operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    /// Reading or writing the profile folder failed.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// `profile.json` is damaged.
    #[error("{path} is damaged: {reason}")]
    BadIndex {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// No such version in the profile.
    #[error("no model version `{0}` in this profile")]
    Unknown(String),
    /// The current version has no parent to roll back to.
    #[error("the current model has no earlier version to roll back to")]
    NoParent,
    /// The checkpoint could not be read or written.
    #[error(transparent)]
    Model(#[from] GanError),
}

/// A style profile on disk.
pub struct ModelStore {
    dir: PathBuf,
    index: ProfileIndex,
}

/// `$XDG_DATA_HOME/atelier/profiles/default`, else
/// `~/.local/share/atelier/profiles/default`.
pub fn default_profile_dir() -> Option<PathBuf> {
    Some(crate::project::user_dir("XDG_DATA_HOME", ".local/share")?.join("profiles/default"))
}

/// "N images, P pairs, Q negatives, S steps; losses d 1.2, …" for the models window.
fn describe(info: &crate::gan::ModelInfo) -> String {
    let d = &info.data;
    let losses: Vec<String> = info
        .losses
        .iter()
        .map(|(k, v)| format!("{k} {v:.3}"))
        .collect();
    format!(
        "{} images, {} accepted pairs, {} rejected; {} steps in all; losses {}",
        d.images,
        d.extra_pairs,
        d.extra_negatives,
        info.steps,
        losses.join(", ")
    )
}

impl ModelStore {
    /// Opens (or starts) the profile in `dir`.
    pub fn open(dir: &Path) -> Result<Self, VersionError> {
        let path = dir.join("profile.json");
        let index = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| VersionError::BadIndex {
                path: path.clone(),
                reason: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ProfileIndex::default(),
            Err(source) => return Err(VersionError::Io { path, source }),
        };
        Ok(Self {
            dir: dir.to_owned(),
            index,
        })
    }

    /// The versions, oldest first.
    pub fn versions(&self) -> &[VersionEntry] {
        &self.index.versions
    }

    /// The current version's id (None: the embedded default).
    pub fn current(&self) -> Option<&str> {
        self.index.current.as_deref()
    }

    /// Where the weights of version `id` live.
    pub fn weights(&self, id: &str) -> PathBuf {
        self.dir.join("versions").join(format!("{id}.safetensors"))
    }

    fn entry(&self, id: &str) -> Result<&VersionEntry, VersionError> {
        self.index
            .versions
            .iter()
            .find(|v| v.id == id)
            .ok_or_else(|| VersionError::Unknown(id.to_owned()))
    }

    fn write_index(&self) -> Result<(), VersionError> {
        let path = self.dir.join("profile.json");
        let io = |source| VersionError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let json = serde_json::to_vec_pretty(&self.index).map_err(|e| VersionError::BadIndex {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }

    /// Loads the current model (the embedded default when there is none).
    pub fn load_current(&self, device: Device) -> Result<VariationModel, VersionError> {
        match &self.index.current {
            Some(id) => Ok(VariationModel::load(&self.weights(id), device)?),
            None => Ok(VariationModel::load_default(device)?),
        }
    }

    /// Stores `model` as a new version and makes it current; returns its id.
    pub fn add(&mut self, model: &VariationModel, note: &str) -> Result<String, VersionError> {
        // The id `VariationModel::save` writes into the sidecar.
        let id = model.version_id();
        model.save(&self.weights(&id))?;
        if self.entry(&id).is_err() {
            self.index.versions.push(VersionEntry {
                id: id.clone(),
                name: id.clone(),
                parent: model.info().parent.clone(),
                created: crate::decisions::history::now(),
                note: note.to_owned(),
                metrics: describe(model.info()),
            });
        }
        self.index.current = Some(id.clone());
        self.write_index()?;
        Ok(id)
    }

    /// Makes `id` current (None: the embedded default).
    pub fn switch(&mut self, id: Option<&str>) -> Result<(), VersionError> {
        if let Some(id) = id {
            self.entry(id)?;
        }
        self.index.current = id.map(str::to_owned);
        self.write_index()
    }

    /// Goes back to the current version's parent; returns it (None: default).
    pub fn rollback(&mut self) -> Result<Option<String>, VersionError> {
        let current = self.index.current.clone().ok_or(VersionError::NoParent)?;
        let parent = self.entry(&current)?.parent.clone();
        // A parent outside the profile is the embedded default.
        let parent = parent.filter(|p| self.entry(p).is_ok());
        self.switch(parent.as_deref())?;
        Ok(parent)
    }

    /// Renames a version.
    pub fn rename(&mut self, id: &str, name: &str) -> Result<(), VersionError> {
        self.entry(id)?;
        if let Some(v) = self.index.versions.iter_mut().find(|v| v.id == id) {
            v.name = name.trim().to_owned();
        }
        self.write_index()
    }

    /// Deletes a version (the current one falls back to its parent).
    pub fn delete(&mut self, id: &str) -> Result<(), VersionError> {
        let parent = self.entry(id)?.parent.clone();
        if self.index.current.as_deref() == Some(id) {
            self.index.current = parent.filter(|p| self.entry(p).is_ok());
        }
        self.index.versions.retain(|v| v.id != id);
        self.write_index()?;
        let path = self.weights(id);
        for p in [crate::gan::checkpoint::sidecar_path(&path), path] {
            if let Err(source) = std::fs::remove_file(&p)
                && source.kind() != std::io::ErrorKind::NotFound
            {
                return Err(VersionError::Io { path: p, source });
            }
        }
        Ok(())
    }

    /// Copies a version's checkpoint (and sidecar) to `dest`.
    pub fn export(&self, id: &str, dest: &Path) -> Result<(), VersionError> {
        self.entry(id)?;
        let src = self.weights(id);
        for (from, to) in [
            (src.clone(), dest.to_owned()),
            (
                crate::gan::checkpoint::sidecar_path(&src),
                crate::gan::checkpoint::sidecar_path(dest),
            ),
        ] {
            std::fs::copy(&from, &to).map_err(|source| VersionError::Io { path: to, source })?;
        }
        Ok(())
    }

    /// Imports a checkpoint file as a new version (checked by loading it).
    pub fn import(&mut self, file: &Path) -> Result<String, VersionError> {
        let model = VariationModel::load(file, Device::Cpu)?;
        let name = file
            .file_stem()
            .map_or("imported".into(), |s| s.to_string_lossy().into_owned());
        let id = self.add(&model, &format!("imported from {name}"))?;
        Ok(id)
    }
}
