//! The human-in-the-loop: what the artist's decisions do.
//!
//! - [`steering`] keeps a sampling distribution over latent codes that accepts
//!   pull towards and rejects push away from (cross-entropy-method style, with
//!   exploration so it never collapses).
//! - [`history`] records every candidate ever generated in a project, with its
//!   input, latent code, seed, model version, critic score and decision.
pub mod history;
pub mod steering;

pub use history::{CandidateHistory, CandidateRecord, Decision};
pub use steering::LatentSteering;
