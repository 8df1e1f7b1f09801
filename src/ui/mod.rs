//! The desktop app: egui panels around a wgpu canvas.
//!
//! [`app::AtelierApp`] holds the saved [`state::AppState`] beside the runtime
//! objects (document, history, GPU resources). Panels emit
//! [`commands::Command`]s that `AtelierApp::apply` carries out; tools are state
//! machines ([`tools`]) whose gestures are undo transactions.
pub mod app;
pub mod autosave;
pub mod canvas;
pub mod commands;
pub mod dialogs;
pub mod files;
pub mod frame_stats;
pub mod history_window;
pub mod layers_panel;
pub mod panels;
pub mod refine_panel;
pub mod state;
pub mod tools;
pub mod variations;
pub mod variations_panel;

pub use app::AtelierApp;

use anyhow::Context;

use crate::document::Document;

/// The size of the canvas the app opens with.
pub const START_SIZE: (u32, u32) = (2048, 2048);

/// Opens the main window and runs until it is closed.
pub fn run_app() -> anyhow::Result<()> {
    let doc = Document::new(START_SIZE.0, START_SIZE.1, [255, 255, 255, 255])?;
    let options = eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default()
            .with_title("Atelier")
            .with_inner_size([1400.0, 900.0]),
        renderer: eframe::Renderer::Wgpu,
        ..Default::default()
    };
    eframe::run_native(
        "Atelier",
        options,
        Box::new(move |cc| {
            let mut app = AtelierApp::new(cc, doc);
            if let Some(path) = state::default_settings_path() {
                app.load_settings(path);
            }
            if let Some(dir) = crate::refine::versions::default_profile_dir() {
                app.set_profile_dir(dir);
            }
            app.frame_stats = frame_stats::FrameStats::from_env();
            let minutes = app.state.autosave_minutes.max(1) as u64;
            app.set_recovery_path(autosave::default_recovery_path(), std::time::Duration::from_secs(60 * minutes));
            Ok(Box::new(app))
        }),
    )
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("could not open the window (is a display and a Vulkan/GL driver available? On Debian: apt-get install mesa-vulkan-drivers libvulkan1 libegl1 libgl1-mesa-dri)")
}
