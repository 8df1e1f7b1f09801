//! Refinement: the model learns the artist's style in the background.
//!
//! - [`job`] fine-tunes the model on accepted (and against rejected)
//!   candidates and the portfolio, refusing a diverged result.
//! - [`versions`] keeps the model versions of the artist's style profile.
pub mod job;
pub mod versions;
