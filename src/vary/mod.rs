//! The one Vary pipeline, used by the Variations panel, `atelier vary` and
//! `atelier loop` (`bench gan-quality` scores the generator alone, see
//! [`pipeline`]): flatten the canvas (or a region
//! with context), take it to the GAN's work size, run the generator, keep the
//! artist's line work, blend a selection back through a feathered mask and
//! scale the change back to canvas resolution ([`pipeline`]).
//!
//! - [`resolution`]: canvas ↔ work size, adding only what the GAN changed.
//! - [`lines`]: finds thin strokes and keeps them through a variation.
//! - [`region`]: a selection's context rectangle and feathered mask.
//! - [`live`]: the rendition that follows the painting (newest request only,
//!   frames tagged with the canvas state they were made from).
//! - [`priority`]: the GAN workers run below the painting thread.
//! - [`decisions`]: candidates waiting for a decision, and accept / reject /
//!   re-apply over the document and its undo history.
pub mod decisions;
pub mod lines;
pub mod live;
pub mod pipeline;
pub mod priority;
pub mod region;
pub mod resolution;

pub use pipeline::{Made, Prepared};
