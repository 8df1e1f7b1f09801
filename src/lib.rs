//! Atelier: a painting application in which an artist and a GAN paint together.
//!
//! Modules by responsibility (see DESIGN.md):
//! - [`cli`]: subcommands that drive the same engine without a window.
pub mod cli;
