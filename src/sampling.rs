//! Random sampling shared by the GAN (noise maps, metrics) and the saved
//! sampling state (latent steering), and the default Vary strength the
//! settings and the GAN agree on. It sits at the bottom so that neither the
//! GAN nor the project files import each other for it.

/// Default Vary strength (0..1): how far variations may stray from the canvas.
pub const DEFAULT_STRENGTH: f32 = 0.8;

/// A standard normal sample (Box–Muller; rand 0.9 has none without rand_distr).
pub fn normal(rng: &mut impl rand::Rng) -> f32 {
    let u1: f32 = rng.random_range(f32::EPSILON..1.0);
    let u2: f32 = rng.random_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}
