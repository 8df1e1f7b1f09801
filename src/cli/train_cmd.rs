//! `atelier train`: trains a variation GAN on folders of images, or fine-tunes /
//! resumes one with `--from`, optionally scoring itself on held-out training images
//! and keeping the best checkpoint apart.
use super::gan_args::{DeviceArg, folder_list, levels, margin_parser};
use crate::gan::eval;
use crate::gan::trainer::Validation;
use crate::gan::{TrainConfig, Trainer, VariationModel};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// `atelier train`: trains (or, with `--from`, fine-tunes / resumes) a variation GAN.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Folder of training images (nested folders are searched); repeat it to train on
    /// several folders together.
    #[arg(long, required = true)]
    pub data: Vec<PathBuf>,
    /// Output model (`.safetensors`; the sidecar `.json` is written beside it).
    /// Checkpoints go here every `--checkpoint-every` steps.
    #[arg(long)]
    pub out: PathBuf,
    /// Start from this model (fine-tune or resume) instead of from scratch.
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// Steps to run.
    #[arg(long, default_value_t = 2000)]
    pub steps: u64,
    /// Canvases per batch.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Crop size (multiple of 16).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    pub device: DeviceArg,
    /// libtorch threads (default: libtorch's choice).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Data worker threads.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Checkpoint every N steps.
    #[arg(long, default_value_t = 250)]
    pub checkpoint_every: u64,
    /// Generator learning rate.
    #[arg(long, default_value_t = 2e-4)]
    pub lr_g: f64,
    /// Discriminator learning rate.
    #[arg(long, default_value_t = 2e-4)]
    pub lr_d: f64,
    /// Weight of the generator's adversarial (hinge) loss.
    #[arg(long, default_value_t = 1.0)]
    pub w_adv: f64,
    /// Weight of L1 to the target.
    #[arg(long, default_value_t = 10.0)]
    pub w_l1: f64,
    /// Weight of L1 to the target after 4×4 average pooling (colour layout only).
    #[arg(long, default_value_t = 0.0)]
    pub w_l1_low: f64,
    /// Weight of the patch sliced-Wasserstein texture loss on the finest bands (0 = off).
    #[arg(long, default_value_t = 0.0)]
    pub w_swd: f64,
    /// Weight of the LPIPS-style perceptual distance to the target on the frozen
    /// pretrained feature network (0 = off; needs `--feature-net`).
    #[arg(long, default_value_t = 0.0)]
    pub w_perceptual: f64,
    /// The feature network's weights, from `scripts/fetch_feature_net.sh`.
    #[arg(
        long,
        default_value = "assets/models/feature-net/efficientnet-lite0.safetensors"
    )]
    pub feature_net: PathBuf,
    /// Weight of the detail critic, a second critic that sees only an image's fine
    /// detail beside the canvas (0 = off; it is not saved with the model).
    #[arg(long, default_value_t = 0.0)]
    pub w_adv_detail: f64,
    /// Weight of the mode-seeking term (0 = off).
    #[arg(long, default_value_t = 1.0)]
    pub w_ms: f64,
    /// Measure the mode-seeking term on the detail band only (texture, not colour).
    #[arg(long)]
    pub ms_detail: bool,
    /// Draw K codes per training input and hold only the closest output to the
    /// target's L1 terms (conditional IMLE); 1 holds both of its two codes to it.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub imle_codes: u16,
    /// Weight of discriminator feature matching.
    #[arg(long, default_value_t = 1.0)]
    pub w_fm: f64,
    /// Train only the generator's FiLM layers and output head (the critic trains in
    /// full), as the app's refinement does.
    #[arg(long)]
    pub style_only: bool,
    /// Images are downscaled so their shorter side is at most this many pixels.
    #[arg(long, default_value_t = 384)]
    pub max_side: u32,
    /// Description of the data for the sidecar (default: the folder's name).
    #[arg(long)]
    pub data_label: Option<String>,
    /// Hold this many of the training images out of the run and score the model on
    /// them at the start and at every checkpoint (the metrics of `bench gan-quality`,
    /// at 512²); the best-scoring checkpoint is written beside `--out` as
    /// `NAME.best.safetensors`. The images are spread evenly over the sorted file list,
    /// so runs on the same folder validate on the same images.
    #[arg(long, default_value_t = 0)]
    pub validation: usize,
    /// Average this many independent draws (sketches, codes, sampled patches) in
    /// each validation score, as `bench gan-quality --draws` does; each costs one
    /// more pass over the validation images at every checkpoint.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub validation_draws: u32,
    /// Decay the learning rates along a half cosine to zero over `--steps`.
    #[arg(long)]
    pub lr_cosine: bool,
    /// Keep a running average of the generator's weights with this decay (about
    /// 1/(1 − decay) steps averaged, e.g. 0.999) and write and score the average;
    /// 0 keeps none.
    #[arg(long, default_value_t = 0.0)]
    pub ema: f64,
    /// Stop (and save) after this many minutes even if `--steps` are not done.
    #[arg(long)]
    pub time_limit_min: Option<f64>,
    /// No progress bar (prints a line every 50 steps instead).
    #[arg(long)]
    pub quiet: bool,
    /// Give the generator per-pixel noise inputs: a fresh model, or one fine-tuned
    /// (--from) from a model without them.
    #[arg(long)]
    pub add_noise: bool,
    /// Inference margin (pixels) to record in the model: how far beyond the canvas
    /// the generator sees a mirrored copy (default: the parent's, or 16).
    #[arg(long, value_parser = margin_parser())]
    pub margin: Option<u32>,
    /// How the generator pads at the image border, `zeros` or `reflect`, to record in
    /// the model (default: the parent's, or zeros). Reflect leaves no frame there.
    #[arg(long)]
    pub padding: Option<crate::gan::Padding>,
    /// Whether the generator is given a region's mask at inference (`true`), or
    /// regenerates the region's context and the mask only blends it back (`false`);
    /// recorded in the model (default: the parent's, or true).
    #[arg(long)]
    pub mask_input: Option<bool>,
    /// Cells per side of the grid the latent code is spread over, so regions of a
    /// variation vary apart; 1 is one code for the whole image. Recorded in the model
    /// (default: the parent's, or 1); G² may not exceed the code's size.
    #[arg(long)]
    pub z_grid: Option<u32>,
}

/// Runs `atelier train`.
pub fn run_train(a: TrainArgs) -> Result<()> {
    crate::gan::tune_cpu_allocator();
    let device = a.device.resolve()?;
    let init = match &a.from {
        Some(p) => Some(
            VariationModel::load(p, device).with_context(|| format!("loading {}", p.display()))?,
        ),
        None => None,
    };
    let label = a.data_label.clone().unwrap_or_else(|| {
        a.data
            .iter()
            .filter_map(|d| d.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" + ")
    });
    let config = TrainConfig {
        steps: a.steps,
        batch: a.batch,
        size: a.size,
        seed: a.seed,
        lr_g: a.lr_g,
        lr_d: a.lr_d,
        w_l1: a.w_l1,
        w_l1_low: a.w_l1_low,
        w_adv_detail: a.w_adv_detail,
        w_swd: a.w_swd,
        w_perceptual: a.w_perceptual,
        feature_net: Some(a.feature_net.clone()),
        ms_detail: a.ms_detail,
        imle_codes: usize::from(a.imle_codes),
        style_only: a.style_only,
        w_ms: a.w_ms,
        w_fm: a.w_fm,
        w_adv: a.w_adv,
        lr_cosine: a.lr_cosine,
        ema: a.ema,
        checkpoint_every: a.checkpoint_every,
        checkpoint_path: Some(a.out.clone()),
        device,
        threads: a.threads,
        workers: a.workers,
        data_source: label,
        arch: crate::gan::checkpoint::ArchConfig {
            noise: a.add_noise,
            ..Default::default()
        },
        margin: a.margin,
        padding: a.padding,
        mask_input: a.mask_input,
        z_grid: a.z_grid,
        ..TrainConfig::default()
    };
    let mut files = training_files(&a.data)?;
    let validation_files = split_validation(&mut files, a.validation)?;
    let set = crate::gan::data::load_images(&files, a.max_side, a.workers.max(1));
    if set.skipped > 0 {
        eprintln!(
            "warning: skipped {} of {} file(s): unreadable or fully transparent",
            set.skipped, set.files
        );
    }
    if set.images.is_empty() {
        bail!("no readable images under {}", folder_list(&a.data));
    }
    // After `Trainer::new`, which applies `--threads`, so the count printed is the one used.
    let mut trainer = Trainer::new(config, init.as_ref())?;
    eprintln!(
        "training on {} images ({} skipped), device {:?}, {} libtorch threads",
        set.images.len(),
        set.skipped,
        device,
        tch::get_num_threads()
    );
    trainer.set_images(set.images, set.skipped);
    let best_path = best_path(&a.out);
    if !validation_files.is_empty() {
        // Full resolution, as the held-out benchmark loads its images, then cropped
        // and resized once here rather than at every checkpoint (at its own size the
        // evaluation's `square` is an exact copy, so the scores are the same).
        let val = crate::gan::data::load_images(&validation_files, 4096, a.workers.max(1));
        if val.images.is_empty() {
            bail!("none of the {} validation images could be read", val.files);
        }
        let size = 512;
        let images: Vec<_> = val.images.iter().map(|i| eval::square(i, size)).collect();
        eprintln!(
            "validating on {} held-out training images; best checkpoint → {}",
            val.images.len(),
            best_path.display()
        );
        trainer.set_validation(Validation {
            images,
            size,
            count: 4,
            strength: crate::gan::infer::DEFAULT_STRENGTH,
            draws: a.validation_draws,
            best_path: Some(best_path.clone()),
        });
    }
    let bar = if a.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(a.steps)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} {elapsed_precise} eta {eta_precise} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let cancel = Arc::new(AtomicBool::new(false));
    stop_on_interrupt(&cancel);
    let started = std::time::Instant::now();
    let limit = a
        .time_limit_min
        .map(|min| Duration::from_secs_f64(min * 60.0));
    if let Some(min) = a.time_limit_min {
        let c = cancel.clone();
        // The trainer checks the flag between steps and saves a checkpoint when it stops.
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs_f64(min * 60.0));
            c.store(true, std::sync::atomic::Ordering::Relaxed);
        });
    }
    let outcome = trainer.run(cancel, |p| {
        for v in &p.validated {
            let m = &v.metrics;
            bar.suspend(|| {
                eprintln!(
                    "validation at step {}: faithfulness {:.4} diversity {:.4} SWD {:.2} ({}) vs sketches {:.2} ({:+.1}%){}",
                    v.step,
                    m.faithfulness,
                    m.diversity,
                    m.swd_outputs,
                    levels(&m.swd_outputs_levels),
                    m.swd_inputs,
                    m.swd_change() * 100.0,
                    if v.best { "  best" } else { "" }
                )
            });
        }
        bar.set_position(p.step);
        let l = p.smoothed;
        bar.set_message(format!(
            "D {:.3} G {:.3} L1 {:.3} MS {:.2} FM {:.3} SWD {:.3} Gd {:.3} P {:.3}",
            l.d, l.g_adv, l.l1, l.ms, l.fm, l.swd, l.g_detail, l.perceptual
        ));
        if a.quiet && p.step % 50 == 0 {
            // With a time limit the run ends at whichever comes first.
            let left = limit.map_or(p.eta, |t| p.eta.min(t.saturating_sub(started.elapsed())));
            eprintln!(
                "step {} D {:.3} G {:.3} L1 {:.3} MS {:.2} FM {:.3} SWD {:.3} Gd {:.3} P {:.3} eta {}",
                p.step,
                l.d,
                l.g_adv,
                l.l1,
                l.ms,
                l.fm,
                l.swd,
                l.g_detail,
                l.perceptual,
                hms(left)
            );
        }
    })?;
    bar.finish();
    eprintln!(
        "{}: {} steps in {:.1} s, {} rollbacks, model {} (version {})",
        if outcome.cancelled {
            "stopped (interrupted or at the time limit)"
        } else {
            "done"
        },
        outcome.steps,
        outcome.elapsed.as_secs_f64(),
        outcome.rollbacks,
        a.out.display(),
        outcome.model.info().version_id
    );
    match &outcome.best {
        Some(b) if b.step > 0 => eprintln!(
            "best validation score at step {} ({:+.1}% SWD): {}",
            b.step,
            b.metrics.swd_change() * 100.0,
            best_path.display()
        ),
        Some(b) => eprintln!(
            "no checkpoint beat the initial weights ({:+.1}% SWD); no best file written",
            b.metrics.swd_change() * 100.0
        ),
        None if !validation_files.is_empty() => eprintln!(
            "no checkpoint met the faithfulness and diversity floors; no best file written"
        ),
        None => {}
    }
    Ok(())
}

/// The image files under all of `dirs`, as one sorted list without repeats, so the
/// validation split does not depend on the order the folders were named in.
fn training_files(dirs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for dir in dirs {
        files.extend(crate::gan::data::scan(dir)?);
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// Moves `count` images, spread evenly over the sorted list, from `files` into the
/// returned validation list.
fn split_validation(files: &mut Vec<PathBuf>, count: usize) -> Result<Vec<PathBuf>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if count >= files.len() {
        bail!(
            "--validation {count} leaves no training images ({} found)",
            files.len()
        );
    }
    let n = files.len();
    let picked: Vec<usize> = (0..count).map(|i| (2 * i + 1) * n / (2 * count)).collect();
    let mut val = Vec::with_capacity(count);
    for &i in picked.iter().rev() {
        val.push(files.remove(i));
    }
    val.reverse();
    Ok(val)
}

/// `NAME.best.safetensors` beside `out`.
fn best_path(out: &Path) -> PathBuf {
    let stem = out.file_stem().unwrap_or_default().to_string_lossy();
    out.with_file_name(format!("{stem}.best.safetensors"))
}

/// A duration as `h:mm:ss`, for progress lines read by people.
fn hms(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// The first Ctrl+C (or SIGTERM) asks the trainer to stop after the current step and
/// write a checkpoint, so hours of training are not lost; a second one quits at once.
fn stop_on_interrupt(cancel: &Arc<AtomicBool>) {
    let c = cancel.clone();
    let result = ctrlc::set_handler(move || {
        if c.swap(true, std::sync::atomic::Ordering::Relaxed) {
            std::process::exit(130);
        }
        eprintln!("\nstopping after this step and writing a checkpoint (again to quit now)");
    });
    if let Err(e) = result {
        // Training still works; only an interrupt loses the steps since the last checkpoint.
        eprintln!("warning: cannot handle Ctrl+C ({e}); it will stop without a checkpoint");
    }
}

#[cfg(test)]
mod tests {
    use super::super::gan_args::fixtures::two_folders;
    use super::*;

    #[test]
    fn training_folders_are_merged_into_one_sorted_list_whatever_their_order() {
        let (dir, a, b) = two_folders();
        let want: Vec<PathBuf> = ["a/2.png", "a/9.jpg", "b/1.png", "b/5.webp"]
            .iter()
            .map(|n| dir.path().join(n))
            .collect();
        assert_eq!(training_files(&[b.clone(), a.clone()]).unwrap(), want);
        // A folder named twice contributes its files once.
        assert_eq!(training_files(&[a.clone(), b, a]).unwrap(), want);
        let missing = dir.path().join("missing");
        assert!(training_files(&[missing]).is_err());
    }

    #[test]
    fn validation_images_are_spread_over_the_sorted_list() {
        let mut files: Vec<PathBuf> = (0..10).map(|i| PathBuf::from(format!("{i}.png"))).collect();
        let val = split_validation(&mut files, 3).unwrap();
        assert_eq!(val, ["1.png", "5.png", "8.png"].map(PathBuf::from));
        assert_eq!(files.len(), 7);
        assert!(val.iter().all(|v| !files.contains(v)));
        assert!(split_validation(&mut files, 0).unwrap().is_empty());
        assert!(split_validation(&mut files, 7).is_err());
    }

    #[test]
    fn the_best_checkpoint_goes_beside_the_output() {
        assert_eq!(
            best_path(Path::new("runs/t.safetensors")),
            PathBuf::from("runs/t.best.safetensors")
        );
    }

    #[test]
    fn durations_print_as_hours_minutes_seconds() {
        assert_eq!(hms(Duration::from_secs(0)), "0:00:00");
        assert_eq!(hms(Duration::from_secs_f64(59.9)), "0:00:59");
        assert_eq!(hms(Duration::from_secs(3 * 3600 + 7 * 60 + 5)), "3:07:05");
        assert_eq!(hms(Duration::from_secs(260_877)), "72:27:57");
    }
}
