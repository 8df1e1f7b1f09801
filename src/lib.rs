//! Atelier: a painting application in which an artist and a GAN paint together.
//!
//! Modules by responsibility:
//! - [`document`]: layers of sparse premultiplied tiles, blend modes, undo history.
//! - [`brush`]: the deterministic brush engine (strokes are data, dabs onto a surface).
//! - [`render`]: the CPU reference compositor and the wgpu canvas compositor.
//! - [`gan`]: the variation GAN (model, training, checkpoints, metrics).
//! - [`refine`]: the human-in-the-loop: latent steering from the artist's decisions.
//! - [`project`]: `.atelier` files (OpenRaster-compatible zip), atomic saves.
//! - [`ui`]: the egui app: panels, commands, tools, canvas view.
//! - [`cli`]: subcommands that drive the same engine without a window.
//!
//! Without the default `app` feature only the pure modules build (document,
//! brush, CPU compositor, project files, refinement data), for the fuzz targets.
pub mod brush;
#[cfg(feature = "app")]
pub mod cli;
pub mod document;
#[cfg(feature = "app")]
pub mod gan;
pub mod project;
pub mod refine;
pub mod render;
#[cfg(feature = "app")]
pub mod ui;
