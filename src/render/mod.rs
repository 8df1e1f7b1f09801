//! Turning layers into pictures.
//!
//! [`cpu`] is the reference compositor (export, thumbnails, GAN snapshots and
//! tests); [`gpu`] composites the same way in WGSL for the canvas view and is
//! held to the reference within 1/255 per channel.
pub mod cpu;
#[cfg(feature = "app")]
pub mod gpu;
