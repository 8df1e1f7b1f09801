//! Measurements behind `atelier bench gan` and `atelier bench gan-quality`: generator
//! inference time, training-step time, the held-out quality metrics, and the tensor
//! dump that `benches/torch_reference.py` checks the PyTorch port against.
use super::GanError;
use super::checkpoint::QualityMetrics;
use super::infer::{Precision, VariationModel, VaryRequest};
use super::metrics;
use super::sketchify::{ALL_STYLES, sketchify};
use super::trainer::{TrainConfig, Trainer};
use rand::SeedableRng;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;
use tch::{Kind, Tensor};

/// Median of a list of milliseconds.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
    }
}

/// A deterministic benchmark input: `[1, 4, size, size]` (smooth random colours, mask 1)
/// and `count` codes `[1, zdim]`.
pub fn bench_input(size: i64, zdim: i64, count: usize, seed: i64) -> (Tensor, Vec<Tensor>) {
    tch::manual_seed(seed);
    let opts = (Kind::Float, tch::Device::Cpu);
    let coarse = Tensor::rand([1, 3, size / 16, size / 16], opts) * 2.0 - 1.0;
    let rgb = coarse.upsample_bilinear2d([size, size], false, None, None);
    let x = Tensor::cat(&[rgb, Tensor::ones([1, 1, size, size], opts)], 1);
    let zs = (0..count).map(|_| Tensor::randn([1, zdim], opts)).collect();
    (x, zs)
}

/// Milliseconds (median of `reps` after one warm-up) for `count` variations of one
/// `size`² image: `count` full generator forwards, or with `shared` one encoder pass and
/// `count` decoder passes (what `vary` does).
pub fn time_generator(
    model: &VariationModel,
    size: i64,
    count: usize,
    reps: usize,
    shared: bool,
) -> f64 {
    let zdim = model.info().arch.latent_dim as i64;
    let (x, zs) = bench_input(size, zdim, count, 0);
    let x = x.to_device(model.device());
    let run = || {
        if shared {
            let _ = model.generate_raw_shared(&x, &zs);
        } else {
            for z in &zs {
                let _ = model.generate_raw(&x, z);
            }
        }
        if let tch::Device::Cuda(i) = model.device() {
            tch::Cuda::synchronize(i as i64);
        }
    };
    run();
    median(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                run();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

/// Milliseconds for the whole public `vary` call (generator + compositing + critic +
/// image conversion) on a `size`² image.
pub fn time_vary(
    model: &VariationModel,
    size: u32,
    count: usize,
    reps: usize,
) -> Result<f64, GanError> {
    let img = image::RgbImage::from_fn(size, size, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let req = VaryRequest {
        count,
        ..VaryRequest::default()
    };
    model.vary(&img, &req, |_, _| true)?;
    let mut times = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        model.vary(&img, &req, |_, _| true)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(median(times))
}

/// Max |out − out_fp32| of the current inference mode against fp32, on the benchmark input.
pub fn max_diff_vs_fp32(
    model: &mut VariationModel,
    precision: Precision,
    channels_last: bool,
    size: i64,
) -> f64 {
    let zdim = model.info().arch.latent_dim as i64;
    let (x, zs) = bench_input(size, zdim, 1, 1);
    model.set_inference(Precision::Fp32, false);
    let reference = model.generate_raw(&x, &zs[0]);
    model.set_inference(precision, channels_last);
    let out = model.generate_raw(&x, &zs[0]);
    (out - reference).abs().max().double_value(&[])
}

/// Milliseconds per training step (median over `steps` after 2 warm-up steps) on
/// synthetic images, with the given batch and crop size.
pub fn time_train_step(config: TrainConfig, steps: u64) -> Result<f64, GanError> {
    let images: Vec<image::RgbImage> = (0..4u32)
        .map(|k| {
            image::RgbImage::from_fn(160, 160, |x, y| {
                image::Rgb([(x * 3 + k * 40) as u8, (y * 2) as u8, ((x ^ y) * 4) as u8])
            })
        })
        .collect();
    let mut t = Trainer::new(
        TrainConfig {
            steps: steps + 2,
            checkpoint_every: u64::MAX,
            ..config
        },
        None,
    )?;
    t.set_images(images, 0);
    let mut stamps = Vec::new();
    let _ = t.run(Arc::new(AtomicBool::new(false)), |_| {
        stamps.push(Instant::now())
    })?;
    let times: Vec<f64> = stamps
        .windows(2)
        .skip(1)
        .map(|w| (w[1] - w[0]).as_secs_f64() * 1e3)
        .collect();
    Ok(median(times))
}

/// Writes the cross-check file for `benches/torch_reference.py`: `input` `[1,4,S,S]`,
/// `z` `[count,zdim]`, `output` `[count,3,S,S]` (fp32 generator outputs) and, for a
/// generator with noise inputs, the maps it drew, `noise{i}` `[count,1,S/2^i,S/2^i]`.
pub fn dump_reference(
    model: &VariationModel,
    size: i64,
    count: usize,
    path: &Path,
) -> Result<(), GanError> {
    let zdim = model.info().arch.latent_dim as i64;
    let (x, zs) = bench_input(size, zdim, count, 0);
    let outs: Vec<Tensor> = zs
        .iter()
        .map(|z| model.generate_raw(&x, z).to_device(tch::Device::Cpu))
        .collect();
    let z = Tensor::cat(&zs, 0);
    let mut named = Vec::new();
    if model.info().arch.noise {
        // The generator draws its noise from z; the reference gets the same maps.
        let levels = model.info().arch.levels;
        let sizes: Vec<[i64; 2]> = (0..levels).map(|i| [size >> i, size >> i]).collect();
        for (i, map) in super::generator::noise_maps(&z, &sizes)
            .into_iter()
            .enumerate()
        {
            named.push((format!("noise{i}"), map));
        }
    }
    named.extend([
        ("input".to_string(), x),
        ("z".to_string(), z),
        ("output".to_string(), Tensor::cat(&outs, 0)),
    ]);
    Tensor::write_safetensors(&named, path)?;
    Ok(())
}

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
