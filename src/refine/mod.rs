//! The human-in-the-loop: what the artist's decisions do to sampling.
//!
//! [`steering`] keeps a sampling distribution over latent codes that accepts
//! pull towards and rejects push away from (cross-entropy-method style, with
//! exploration so it never collapses).
pub mod steering;

pub use steering::LatentSteering;
