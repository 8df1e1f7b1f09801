//! The human-in-the-loop: what the artist's decisions do.
//!
//! - [`steering`] keeps a sampling distribution over latent codes that accepts
//!   pull towards and rejects push away from (cross-entropy-method style, with
//!   exploration so it never collapses).
//! - [`history`] records every candidate ever generated in a project, with its
//!   input, latent code, seed, model version, critic score and decision.
//! - [`job`] fine-tunes the model on accepted (and against rejected)
//!   candidates and the portfolio, refusing a diverged result.
//! - [`lines`] finds the canvas's thin strokes and keeps them through a
//!   variation, which would otherwise fade them.
//! - [`region`] shapes a selection's context and feathered mask for Vary.
//! - [`resolution`] takes a canvas to the GAN's work size and brings a
//!   variation back to canvas resolution with the canvas's own detail.
//! - [`versions`] keeps the model versions of the artist's style profile.
pub mod history;
#[cfg(feature = "app")]
pub mod job;
pub mod lines;
pub mod region;
pub mod resolution;
pub mod steering;
#[cfg(feature = "app")]
pub mod versions;

/// Default Vary strength (0..1): how far variations may stray from the canvas.
pub const DEFAULT_STRENGTH: f32 = 0.8;

pub use history::{CandidateHistory, CandidateRecord, Decision};
pub use steering::LatentSteering;
