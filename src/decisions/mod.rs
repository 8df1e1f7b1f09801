//! What the artist decided, as saved state: every candidate ever generated in
//! a project ([`history`]) and the sampling distribution those decisions
//! steer ([`steering`]). Pure data with no GAN and no window, so project files
//! (which save it) and the fuzz targets build without libtorch.
//!
//! The runtime side (accepting into the document, undo) is `vary::decisions`,
//! above this module (with the `app` feature).
pub mod history;
pub mod steering;

pub use history::{CandidateHistory, CandidateRecord, Decision};
pub use steering::LatentSteering;
