//! `atelier bench gan` (inference and training-step speed) and `atelier bench
//! gan-quality` (the held-out quality metrics of a model).
use super::gan_args::{DeviceArg, folder_list, levels, load_model, margin_parser};
use crate::gan::device::CpuFeatures;
use crate::gan::{Precision, TrainConfig, bench, eval};
use anyhow::{Result, bail};
use clap::Args;
use std::path::PathBuf;

/// `atelier bench gan`: inference and training-step speed.
#[derive(Debug, Args)]
pub struct BenchGanArgs {
    /// Image side for inference.
    #[arg(long, default_value_t = 512)]
    pub size: u32,
    /// Variations per inference run.
    #[arg(long, default_value_t = 4)]
    pub count: usize,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
    /// libtorch threads (default 2, the setting).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    pub device: DeviceArg,
    /// Timed repetitions (median reported).
    #[arg(long, default_value_t = 5)]
    pub reps: usize,
    /// Model (default: embedded).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Training steps to time.
    #[arg(long, default_value_t = 10)]
    pub train_steps: u64,
    /// Skip the training-step timing.
    #[arg(long)]
    pub no_train: bool,
    /// Also time the precisions this CPU has no hardware for (emulated bf16:
    /// many minutes a row on a CPU without AVX512-BF16 or AMX).
    #[arg(long)]
    pub all_precisions: bool,
    /// Also write the PyTorch cross-check tensors (input, z, fp32 outputs) here.
    #[arg(long)]
    pub dump_reference: Option<PathBuf>,
}

/// Runs `atelier bench gan`.
pub fn run_bench_gan(a: BenchGanArgs) -> Result<()> {
    crate::gan::tune_cpu_allocator();
    let device = a.device.resolve()?;
    tch::set_num_threads(a.threads as i32);
    let mut model = load_model(a.model.as_deref(), device)?;
    let size = i64::from(a.size);
    let cpu = CpuFeatures::detect();
    if let Some(p) = &a.dump_reference {
        model.set_inference(Precision::Fp32, false);
        bench::dump_reference(&model, size, a.count, p)?;
    }
    let mut inference = Vec::new();
    for (precision, cl) in [
        (Precision::Fp32, false),
        (Precision::Fp32, true),
        (Precision::Bf16, false),
        (Precision::Bf16, true),
    ] {
        // Emulated bf16 (a CPU without AVX512-BF16 or AMX) takes many
        // minutes a row and says nothing about a machine that has it.
        if !crate::gan::device::runs_fast(precision, device, cpu) && !a.all_precisions {
            inference.push(serde_json::json!({
                "precision": format!("{precision:?}").to_lowercase(), "channels_last": cl,
                "skipped": "no hardware support on this CPU (--all-precisions runs it anyway)",
            }));
            if !a.json {
                outln!(
                    "generator {precision:?}{}: skipped, this CPU has no bf16 hardware (--all-precisions runs it)",
                    if cl { " channels-last" } else { "" }
                );
            }
            continue;
        }
        let diff = bench::max_diff_vs_fp32(&mut model, precision, cl, size);
        let full = bench::time_generator(&model, size, a.count, a.reps, false);
        let shared = bench::time_generator(&model, size, a.count, a.reps, true);
        inference.push(serde_json::json!({
            "precision": format!("{precision:?}").to_lowercase(), "channels_last": cl,
            "generator_ms": full, "generator_shared_encoder_ms": shared, "max_abs_diff_vs_fp32": diff,
        }));
        if !a.json {
            outln!(
                "generator {precision:?}{}: {full:.1} ms for {} × {}² ({shared:.1} ms sharing the encoder; max |Δ| vs fp32 {diff:.2e})",
                if cl { " channels-last" } else { "" },
                a.count,
                a.size
            );
        }
    }
    model.set_inference(Precision::Fp32, false);
    let vary_ms = bench::time_vary(&model, a.size, a.count, a.reps.min(3))?;
    if !a.json {
        outln!("vary() fp32 end to end (generator + critic + conversion): {vary_ms:.1} ms");
    }
    let train_ms = if a.no_train {
        None
    } else {
        let cfg = TrainConfig {
            batch: 8,
            size: 64,
            device,
            threads: Some(a.threads),
            workers: 1,
            ..TrainConfig::default()
        };
        let ms = bench::time_train_step(cfg, a.train_steps)?;
        if !a.json {
            outln!("training step (batch 8 of 64², 2 variations per canvas, G + D): {ms:.1} ms");
        }
        Some(ms)
    };
    let report = serde_json::json!({
        "device": format!("{device:?}"), "threads": tch::get_num_threads(), "cpu_flags": cpu.names(),
        "size": a.size, "count": a.count, "generator_parameters": model.generator_parameters(),
        "inference": inference, "vary_fp32_ms": vary_ms, "train_step_ms": train_ms,
    });
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        outln!(
            "device {device:?}, {} threads, cpu flags {:?}",
            tch::get_num_threads(),
            cpu.names()
        );
    }
    Ok(())
}

/// `atelier bench gan-quality`: the held-out quality metrics of a model.
#[derive(Debug, Args)]
pub struct BenchGanQualityArgs {
    /// Folder of held-out images (never used in training; nested folders are
    /// searched). Repeat it to measure several folders as one set: the folders keep
    /// the order given, so the first one's images get the sketches they get alone.
    #[arg(long, required = true)]
    pub data: Vec<PathBuf>,
    /// Model (default: embedded).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Evaluation size.
    #[arg(long, default_value_t = 512)]
    pub size: u32,
    /// Variations per input.
    #[arg(long, default_value_t = 4)]
    pub count: usize,
    /// Strength.
    #[arg(long, default_value_t = crate::gan::infer::DEFAULT_STRENGTH)]
    pub strength: f32,
    /// Seed (of the first draw).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Independent draws to average: seeds `seed`, `seed + 1`, … each make new
    /// sketches, latent codes and sampled patches. With four images one draw's SWD
    /// change is noisy; the mean of several is the number to compare models by.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub draws: u32,
    /// Write the first draw's sketches and variations as PNGs here.
    #[arg(long)]
    pub examples: Option<PathBuf>,
    /// Store the metrics in the model's sidecar (only with --model).
    #[arg(long)]
    pub record: bool,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
    /// libtorch threads.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Measure with this inference margin (pixels) instead of the model's; with
    /// --record it is stored in the model together with the metrics.
    #[arg(long, value_parser = margin_parser())]
    pub margin: Option<u32>,
    /// Measure with this generator padding (`zeros` or `reflect`) instead of the
    /// model's; with --record it is stored in the model together with the metrics.
    #[arg(long)]
    pub padding: Option<crate::gan::Padding>,
}

/// The image files of the held-out folders: each folder's sorted, the folders in the
/// order given (unlike `atelier train`'s one sorted list), so adding a folder after the
/// others leaves the sketches of theirs as they were.
fn heldout_files(dirs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for dir in dirs {
        files.extend(crate::gan::data::scan(dir)?);
    }
    Ok(files)
}

/// Runs `atelier bench gan-quality`.
pub fn run_bench_gan_quality(a: BenchGanQualityArgs) -> Result<()> {
    crate::gan::tune_cpu_allocator();
    if let Some(t) = a.threads {
        tch::set_num_threads(t as i32);
    }
    let device = crate::gan::device::auto();
    let mut model = load_model(a.model.as_deref(), device)?;
    if let Some(m) = a.margin {
        model.info_mut().arch.margin = m;
    }
    if let Some(p) = a.padding {
        model.set_padding(p);
    }
    let files = heldout_files(&a.data)?;
    let set = crate::gan::data::load_images(&files, 4096, 2);
    if set.images.is_empty() {
        bail!("no readable images under {}", folder_list(&a.data));
    }
    if !a.json {
        outln!(
            "{} held-out images ({} skipped)",
            set.images.len(),
            set.skipped
        );
    }
    let (m, draws, examples) = eval::evaluate_quality_draws(
        &model,
        &set.images,
        a.size,
        a.count,
        a.strength,
        a.seed,
        a.draws,
    )?;
    if draws.len() > 1 && !a.json {
        for (d, dm) in draws.iter().enumerate() {
            outln!(
                "draw {} (seed {}): faithfulness {:.4}  diversity {:.4}  SWD×1e3 {:.2} vs {:.2} ({:+.1}%)",
                d + 1,
                a.seed.wrapping_add(d as u64),
                dm.faithfulness,
                dm.diversity,
                dm.swd_outputs,
                dm.swd_inputs,
                dm.swd_change() * 100.0
            );
        }
    }
    if let Some(dir) = &a.examples {
        std::fs::create_dir_all(dir)?;
        for (k, (sketch, outs)) in examples.iter().enumerate() {
            sketch.save(dir.join(format!("{k}_sketch.png")))?;
            for (i, o) in outs.iter().enumerate() {
                o.save(dir.join(format!("{k}_var{i}.png")))?;
            }
        }
    }
    if a.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::to_value(&m)?)?
        );
    } else {
        outln!(
            "faithfulness {:.4} (≤ 0.08)  diversity {:.4} (≥ 0.04)  SWD×1e3 outputs {:.2} vs sketches {:.2} ({:+.1}%)",
            m.faithfulness,
            m.diversity,
            m.swd_outputs,
            m.swd_inputs,
            m.swd_change() * 100.0
        );
        outln!(
            "SWD×1e3 per level (fine / mid / coarse): outputs {}  sketches {}",
            levels(&m.swd_outputs_levels),
            levels(&m.swd_inputs_levels)
        );
        if draws.len() > 1 {
            let changes: Vec<f64> = draws.iter().map(|d| d.swd_change() * 100.0).collect();
            let (lo, hi) = changes
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &c| {
                    (lo.min(c), hi.max(c))
                });
            outln!(
                "mean of {} draws; one draw's change ranged {lo:+.1}% to {hi:+.1}%",
                draws.len()
            );
        }
    }
    if a.record {
        let Some(p) = &a.model else {
            bail!("--record needs --model")
        };
        model.info_mut().metrics = Some(m);
        model.save(p)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::gan_args::fixtures::two_folders;
    use super::*;

    #[test]
    fn held_out_folders_keep_the_order_given() {
        let (dir, a, b) = two_folders();
        let paths = |names: [&str; 4]| -> Vec<PathBuf> {
            names.iter().map(|n| dir.path().join(n)).collect()
        };
        let want = paths(["b/1.png", "b/5.webp", "a/2.png", "a/9.jpg"]);
        assert_eq!(heldout_files(&[b.clone(), a.clone()]).unwrap(), want);
        let want = paths(["a/2.png", "a/9.jpg", "b/1.png", "b/5.webp"]);
        assert_eq!(heldout_files(&[a, b]).unwrap(), want);
        assert!(heldout_files(&[dir.path().join("missing")]).is_err());
    }
}
