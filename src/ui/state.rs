//! The app's saved state: preferences and choices that outlive a document.
//! Runtime objects (document, history, GPU resources, gestures) live beside it
//! in `AtelierApp`.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::brush::{BrushSettings, presets};
use crate::editor::tools::Tool;

/// How many recent colours are remembered.
pub const RECENT_COLORS: usize = 12;
/// How many recent files are remembered.
pub const RECENT_FILES: usize = 10;

/// Everything worth remembering between sessions.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct AppState {
    /// The tool in hand.
    pub tool: Tool,
    /// The brush in use (a preset, possibly adjusted).
    pub brush: BrushSettings,
    /// Brush presets offered in the brush panel.
    pub presets: Vec<BrushSettings>,
    /// Painting colour, straight sRGBA.
    pub primary: [u8; 4],
    /// The other colour (X swaps).
    pub secondary: [u8; 4],
    /// Fixed palette.
    pub swatches: Vec<[u8; 4]>,
    /// Colours used lately, newest first.
    pub recent: Vec<[u8; 4]>,
    /// Undo memory budget in MiB.
    pub undo_budget_mib: u32,
    /// Flood fill tolerance (0..255).
    pub fill_tolerance: u8,
    /// Minutes between autosaves to the recovery file.
    pub autosave_minutes: u32,
    /// Projects opened or saved lately, newest first.
    pub recent_files: Vec<std::path::PathBuf>,
    /// Optimiser steps of one refinement.
    pub refine_steps: u64,
    /// Refine automatically after this many decisions (0: off).
    pub auto_refine_every: u32,
}

impl Default for AppState {
    fn default() -> Self {
        let presets = presets();
        Self {
            tool: Tool::Brush,
            brush: presets.get(1).cloned().unwrap_or_default(),
            presets,
            primary: [20, 20, 24, 255],
            secondary: [255, 255, 255, 255],
            swatches: vec![
                [0, 0, 0, 255],
                [255, 255, 255, 255],
                [128, 128, 128, 255],
                [200, 40, 40, 255],
                [240, 140, 30, 255],
                [245, 215, 60, 255],
                [60, 160, 70, 255],
                [40, 120, 200, 255],
                [90, 60, 170, 255],
                [120, 80, 50, 255],
                [240, 200, 170, 255],
                [30, 60, 90, 255],
            ],
            recent: Vec::new(),
            undo_budget_mib: 512,
            fill_tolerance: 16,
            autosave_minutes: 3,
            recent_files: Vec::new(),
            refine_steps: 60,
            auto_refine_every: 0,
        }
    }
}

/// Where preferences live: `$XDG_CONFIG_HOME/atelier/settings.json`, else
/// `~/.config/atelier/settings.json`.
pub fn default_settings_path() -> Option<PathBuf> {
    Some(crate::project::user_dir("XDG_CONFIG_HOME", ".config")?.join("settings.json"))
}

impl AppState {
    /// Reads preferences from `path`; a missing file gives the defaults, and a
    /// damaged one gives the defaults plus a message to show.
    pub fn load(path: &Path) -> (Self, Option<String>) {
        match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(state) => (state, None),
                Err(e) => (
                    Self::default(),
                    Some(format!(
                        "Preferences in {} could not be read ({e}); using the defaults",
                        path.display()
                    )),
                ),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Self::default(), None),
            Err(e) => (
                Self::default(),
                Some(format!("Preferences in {}: {e}", path.display())),
            ),
        }
    }

    /// Writes preferences to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        crate::project::atomic_write(path, |f| {
            std::io::Write::write_all(f, &json).map_err(|e| e.to_string())
        })
        .map_err(|e| e.to_string())
    }

    /// Remembers a file as recently opened or saved.
    pub fn push_recent_file(&mut self, path: &Path) {
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        self.recent_files.retain(|p| *p != path);
        self.recent_files.insert(0, path);
        self.recent_files.truncate(RECENT_FILES);
    }

    /// Remembers a colour as recently used.
    pub fn push_recent(&mut self, c: [u8; 4]) {
        self.recent.retain(|r| *r != c);
        self.recent.insert(0, c);
        self.recent.truncate(RECENT_COLORS);
    }
}
