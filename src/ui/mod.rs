//! The desktop app: egui panels around a wgpu canvas.
//!
//! [`app::AtelierApp`] holds the saved [`state::AppState`] beside the runtime
//! objects (document, history, GPU resources). Panels emit
//! [`commands::Command`]s that `AtelierApp::apply` carries out; tools are state
//! machines (`editor::tools`) whose gestures are undo transactions.
pub mod app;
mod app_files;
mod app_input;
mod app_vary;
pub mod autosave;
pub mod background;
pub mod canvas;
pub mod commands;
pub mod dialogs;
pub mod file_choice;
pub mod files;
pub mod frame_stats;
pub mod guard;
pub mod history_window;
pub mod layers_panel;
pub mod live;
pub mod notify;
pub mod panels;
pub mod refine_panel;
pub mod refinement;
pub mod state;
pub mod variations;
pub mod variations_panel;
mod vary_worker;

pub use app::AtelierApp;

use anyhow::Context;

use crate::document::Document;

/// The size of the canvas the app opens with.
pub const START_SIZE: (u32, u32) = (2048, 2048);

/// Opens the main window, and `open` in it when given, and runs until it is
/// closed.
pub fn run_app(open: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    let doc = Document::new(START_SIZE.0, START_SIZE.1, [255, 255, 255, 255])?;
    let options = eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default()
            .with_title("Atelier")
            // The desktop entry's name: Wayland matches windows to it by this id.
            .with_app_id("atelier")
            .with_inner_size([1400.0, 900.0]),
        renderer: eframe::Renderer::Wgpu,
        // Dithering adds noise to in-between colours (candidate previews) and
        // costs per-pixel shader work on software rasterisers.
        dithering: false,
        ..Default::default()
    };
    eframe::run_native(
        "Atelier",
        options,
        Box::new(move |cc| {
            clear_behind_panels(&cc.egui_ctx);
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
            if let Some(path) = open {
                app.open(path);
            }
            Ok(Box::new(app))
        }),
    )
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("could not open the window (is a display and a Vulkan/GL driver available? On Debian: apt-get install mesa-vulkan-drivers libvulkan1 libegl1 libgl1-mesa-dri)")
}

/// The panel colour of egui's dark or light theme.
pub fn panel_colour(dark_mode: bool) -> eframe::egui::Color32 {
    if dark_mode {
        eframe::egui::Visuals::dark().panel_fill
    } else {
        eframe::egui::Visuals::light().panel_fill
    }
}

/// Makes the panels transparent; the window is cleared to their colour
/// instead (`AtelierApp::clear_color`), which looks the same. egui repaints
/// the whole window every frame, and on a software rasteriser each panel fill
/// is a shaded, blended pass over its area; a clear is a memset. Together the
/// fills cost more than everything else egui draws (measured in
/// BENCHMARKS.md).
pub fn clear_behind_panels(ctx: &eframe::egui::Context) {
    ctx.all_styles_mut(|style| style.visuals.panel_fill = eframe::egui::Color32::TRANSPARENT);
}
