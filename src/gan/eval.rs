//! The held-out quality evaluation behind `atelier bench gan-quality` and a training
//! run's validation: sketchify each image, vary the sketch, and measure faithfulness,
//! diversity and SWD realism against the originals, averaged over independent draws.
//!
//! It lives apart from [`super::bench`] (timing) and [`super::trainer`] (which
//! validates with it) so that neither of those needs the other for it.
use super::GanError;
use super::checkpoint::QualityMetrics;
use super::infer::{VariationModel, VaryRequest};
use super::metrics;
use super::sketchify::{ALL_STYLES, sketchify};
use rand::SeedableRng;

/// Centre square crop resized to `size` (Lanczos3, for benchmark inputs).
pub fn square(img: &image::RgbImage, size: u32) -> image::RgbImage {
    square_with(img, size, image::imageops::FilterType::Lanczos3)
}

/// Centre square crop resized to `size` with `filter`.
pub fn square_with(
    img: &image::RgbImage,
    size: u32,
    filter: image::imageops::FilterType,
) -> image::RgbImage {
    let side = img.width().min(img.height());
    let c = image::imageops::crop_imm(
        img,
        (img.width() - side) / 2,
        (img.height() - side) / 2,
        side,
        side,
    )
    .to_image();
    image::imageops::resize(&c, size, size, filter)
}

/// The mean of several draws of [`evaluate_quality`] (same images, size, count and
/// strength; different seeds), field by field; `draws` counts them. None when empty.
pub fn mean_of_draws(draws: &[QualityMetrics]) -> Option<QualityMetrics> {
    let first = draws.first()?;
    let n = draws.len() as f64;
    let mean = |f: fn(&QualityMetrics) -> f64| draws.iter().map(f).sum::<f64>() / n;
    // Every draw has the same pyramid levels (one `evaluate_quality` each).
    let mean_levels = |f: fn(&QualityMetrics) -> &[f64]| -> Vec<f64> {
        (0..f(first).len())
            .map(|l| draws.iter().map(|m| f(m)[l]).sum::<f64>() / n)
            .collect()
    };
    Some(QualityMetrics {
        faithfulness: mean(|m| m.faithfulness),
        diversity: mean(|m| m.diversity),
        swd_outputs: mean(|m| m.swd_outputs),
        swd_inputs: mean(|m| m.swd_inputs),
        swd_outputs_levels: mean_levels(|m| &m.swd_outputs_levels),
        swd_inputs_levels: mean_levels(|m| &m.swd_inputs_levels),
        draws: draws.iter().map(|m| m.draws).sum(),
        ..first.clone()
    })
}

/// [`evaluate_quality`] at seeds `seed`, `seed + 1`, … (`draws` of them, at least one):
/// their mean ([`mean_of_draws`]), each draw's metrics, and the first draw's examples.
pub fn evaluate_quality_draws(
    model: &VariationModel,
    originals: &[image::RgbImage],
    size: u32,
    count: usize,
    strength: f32,
    seed: u64,
    draws: u32,
) -> Result<(QualityMetrics, Vec<QualityMetrics>, Vec<Example>), GanError> {
    let mut each = Vec::new();
    let mut examples = Vec::new();
    for d in 0..u64::from(draws.max(1)) {
        let (m, ex) = evaluate_quality(
            model,
            originals,
            size,
            count,
            strength,
            seed.wrapping_add(d),
        )?;
        if d == 0 {
            examples = ex;
        }
        each.push(m);
    }
    let mean = mean_of_draws(&each).ok_or_else(|| GanError::InvalidRequest("no draw".into()))?;
    Ok((mean, each, examples))
}

/// One benchmark input: the sketch and its variations.
pub type Example = (image::RgbImage, Vec<image::RgbImage>);

/// The held-out quality benchmark: each image is centre-cropped to `size`², sketchified
/// (styles in turn, fixed seed), varied `count` times at `strength`; returns
/// faithfulness and diversity (means over inputs) and SWD of outputs / sketches against
/// the originals. Also returns the sketches and outputs for inspection.
pub fn evaluate_quality(
    model: &VariationModel,
    originals: &[image::RgbImage],
    size: u32,
    count: usize,
    strength: f32,
    seed: u64,
) -> Result<(QualityMetrics, Vec<Example>), GanError> {
    let s = size as usize;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (mut faith, mut div) = (0.0, 0.0);
    let (mut set_orig, mut set_out, mut set_sketch) = (Vec::new(), Vec::new(), Vec::new());
    let mut examples = Vec::new();
    for (k, orig) in originals.iter().enumerate() {
        let o = square(orig, size);
        let of = metrics::to_f32(&o);
        let sk = sketchify(&of, s, s, ALL_STYLES[k % ALL_STYLES.len()], &mut rng);
        let sk_img = image::RgbImage::from_raw(
            size,
            size,
            sk.iter()
                .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
                .collect(),
        )
        .ok_or_else(|| GanError::InvalidRequest("sketch buffer".into()))?;
        let skf = metrics::to_f32(&sk_img);
        let mut outs = Vec::new();
        let req = VaryRequest {
            count,
            seed: seed.wrapping_add(1000 * k as u64),
            strength,
            mask: None,
            latents: None,
        };
        model.vary(&sk_img, &req, |_, v| {
            outs.push(v.image);
            true
        })?;
        let outs_f: Vec<Vec<f32>> = outs.iter().map(metrics::to_f32).collect();
        faith += outs_f
            .iter()
            .map(|of| metrics::faithfulness(of, &skf, s, s))
            .sum::<f64>()
            / count as f64;
        div += metrics::diversity(&outs_f);
        for _ in 0..count {
            set_orig.push((of.clone(), s, s));
            set_sketch.push((skf.clone(), s, s));
        }
        set_out.extend(outs_f.into_iter().map(|v| (v, s, s)));
        examples.push((sk_img, outs));
    }
    let n = originals.len().max(1) as f64;
    let per_level = 4096;
    let swd_outputs_levels = metrics::swd_levels(&set_out, &set_orig, per_level, seed);
    let swd_inputs_levels = metrics::swd_levels(&set_sketch, &set_orig, per_level, seed);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let m = QualityMetrics {
        faithfulness: faith / n,
        diversity: div / n,
        swd_outputs: mean(&swd_outputs_levels),
        swd_inputs: mean(&swd_inputs_levels),
        swd_outputs_levels,
        swd_inputs_levels,
        size,
        images: originals.len(),
        strength,
        draws: 1,
    };
    Ok((m, examples))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw(faithfulness: f64, swd_outputs: f64, swd_inputs: f64) -> QualityMetrics {
        QualityMetrics {
            faithfulness,
            diversity: 0.05,
            swd_outputs,
            swd_inputs,
            swd_outputs_levels: vec![swd_outputs - 1.0, swd_outputs, swd_outputs + 1.0],
            swd_inputs_levels: vec![swd_inputs; 3],
            size: 512,
            images: 4,
            strength: 0.8,
            draws: 1,
        }
    }

    #[test]
    fn the_mean_of_draws_averages_every_number_and_counts_the_draws() {
        assert!(mean_of_draws(&[]).is_none());
        let m = mean_of_draws(&[draw(0.02, 60.0, 100.0), draw(0.04, 90.0, 80.0)]).unwrap();
        assert!((m.faithfulness - 0.03).abs() < 1e-12);
        assert!((m.swd_outputs - 75.0).abs() < 1e-12);
        assert!((m.swd_inputs - 90.0).abs() < 1e-12);
        assert_eq!(m.swd_outputs_levels, vec![74.0, 75.0, 76.0]);
        assert_eq!(m.swd_inputs_levels, vec![90.0; 3]);
        // The change is of the mean distances (75 / 90), not the mean of the changes
        // (−40% and +12.5%), so a draw with a small SWD does not dominate.
        assert!((m.swd_change() + 1.0 / 6.0).abs() < 1e-12);
        assert_eq!((m.draws, m.images, m.size), (2, 4, 512));
    }
}
