//! Atelier: a painting application in which an artist and a GAN paint together.
//!
//! Modules by responsibility (see DESIGN.md):
//! - [`document`]: layers of sparse premultiplied tiles, blend modes, undo history.
//! - [`brush`]: the deterministic brush engine (strokes are data, dabs onto a surface).
//! - [`render`]: the CPU reference compositor and the wgpu canvas compositor.
//! - [`cli`]: subcommands that drive the same engine without a window.
pub mod cli;
pub mod document;
pub mod brush;
pub mod render;
