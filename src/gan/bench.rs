//! Measurements behind `atelier bench gan`: generator inference time, training-step
//! time, and the tensor dump that `benches/torch_reference.py` checks the PyTorch port
//! against. The held-out quality metrics of `atelier bench gan-quality` are in
//! [`super::eval`].
use super::GanError;
use super::infer::{Precision, VariationModel, VaryRequest};
use super::trainer::{TrainConfig, Trainer};
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
