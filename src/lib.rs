//! Atelier: a painting application in which an artist and a GAN paint together.
//!
//! Modules by responsibility (see DESIGN.md):
//! - [`cli`]: subcommands that drive the same engine without a window.
//! - [`gan`]: the variation GAN (model, training, checkpoints, metrics).
pub mod cli;
pub mod gan;
