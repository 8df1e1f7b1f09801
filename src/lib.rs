//! Atelier: a painting application in which an artist and a GAN paint together.
//!
//! Modules by responsibility:
//! - [`document`]: layers of sparse premultiplied tiles, blend modes, undo history.
//! - [`brush`]: the deterministic brush engine (strokes are data, dabs onto a surface).
//! - [`editor`]: the document, history, selection and gesture in progress (no window).
//! - [`job`]: the one helper for one-shot background work.
//! - [`render`]: the CPU reference compositor and the wgpu canvas compositor.
//! - [`gan`]: the variation GAN (model, training, checkpoints, metrics).
//! - [`sampling`]: normal samples and the default strength (shared by GAN and settings).
//! - [`decisions`]: saved state of the artist's decisions (candidate history, steering).
//! - [`vary`]: the one Vary pipeline and the decision model over the document.
//! - [`refine`]: background fine-tuning and the style profile's model versions.
//! - [`project`]: `.atelier` files (OpenRaster-compatible zip), atomic saves.
//! - [`ui`]: the egui app: panels, commands, tools, canvas view.
//! - [`cli`]: subcommands that drive the same engine without a window.
//!
//! Without the default `app` feature only the pure modules build (document,
//! brush, editor, CPU compositor, project files, decisions, sampling), for the fuzz targets.
pub mod brush;
#[cfg(feature = "app")]
pub mod cli;
pub mod decisions;
pub mod document;
pub mod editor;
#[cfg(feature = "app")]
pub mod gan;
pub mod job;
pub mod project;
#[cfg(feature = "app")]
pub mod refine;
pub mod render;
pub mod sampling;
#[cfg(feature = "app")]
pub mod ui;
#[cfg(feature = "app")]
pub mod vary;
