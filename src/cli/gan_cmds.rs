//! `atelier train`, `atelier vary` and `atelier bench gan|gan-quality`: the GAN from
//! the command line.
use crate::gan::bench;
use crate::gan::device::{CpuFeatures, DeviceChoice};
use crate::gan::trainer::Validation;
use crate::gan::{Precision, TrainConfig, Trainer, VariationModel};
use crate::vary::pipeline::{Options, Prepared};
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use tch::Device;

/// Where to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DeviceArg {
    /// CUDA if available, else CPU.
    #[default]
    Auto,
    /// CPU.
    Cpu,
    /// The first CUDA GPU (fails if there is none).
    Cuda,
}

impl DeviceArg {
    /// The device, chosen by [`crate::gan::device::choose`].
    pub fn resolve(self) -> Result<Device> {
        let choice = match self {
            DeviceArg::Auto => DeviceChoice::Auto,
            DeviceArg::Cpu => DeviceChoice::Cpu,
            DeviceArg::Cuda => DeviceChoice::Cuda,
        };
        Ok(crate::gan::device::choose(choice).context("--device")?)
    }
}

/// Inference precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum PrecisionArg {
    /// 32-bit float.
    #[default]
    Fp32,
    /// bfloat16.
    Bf16,
}

impl From<PrecisionArg> for Precision {
    fn from(p: PrecisionArg) -> Self {
        match p {
            PrecisionArg::Fp32 => Precision::Fp32,
            PrecisionArg::Bf16 => Precision::Bf16,
        }
    }
}

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
        // benchmark's `square` is an exact copy, so the scores are the same).
        let val = crate::gan::data::load_images(&validation_files, 4096, a.workers.max(1));
        if val.images.is_empty() {
            bail!("none of the {} validation images could be read", val.files);
        }
        let size = 512;
        let images: Vec<_> = val.images.iter().map(|i| bench::square(i, size)).collect();
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
            "D {:.3} G {:.3} L1 {:.3} MS {:.2} FM {:.3} SWD {:.3} Gd {:.3}",
            l.d, l.g_adv, l.l1, l.ms, l.fm, l.swd, l.g_detail
        ));
        if a.quiet && p.step % 50 == 0 {
            // With a time limit the run ends at whichever comes first.
            let left = limit.map_or(p.eta, |t| p.eta.min(t.saturating_sub(started.elapsed())));
            eprintln!(
                "step {} D {:.3} G {:.3} L1 {:.3} MS {:.2} FM {:.3} SWD {:.3} Gd {:.3} eta {}",
                p.step,
                l.d,
                l.g_adv,
                l.l1,
                l.ms,
                l.fm,
                l.swd,
                l.g_detail,
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

/// `dirs` for a message: "a, b".
fn folder_list(dirs: &[PathBuf]) -> String {
    let names: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    names.join(", ")
}

/// The image files of the held-out folders: each folder's sorted, the folders in the
/// order given (unlike [`training_files`]), so adding a folder after the others leaves
/// the sketches of theirs as they were.
fn heldout_files(dirs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for dir in dirs {
        files.extend(crate::gan::data::scan(dir)?);
    }
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

/// SWD per Laplacian level as `fine / mid / coarse`.
fn levels(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.1}"))
        .collect::<Vec<_>>()
        .join(" / ")
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

/// `atelier vary`: writes N variations of an image.
#[derive(Debug, Args)]
pub struct VaryArgs {
    /// Input image, or a project (`.atelier` / `.ora`), which is flattened over white.
    pub input: PathBuf,
    /// Number of variations.
    #[arg(long, default_value_t = 4)]
    pub count: usize,
    /// Seed (variation i uses seed + i).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// 0..1: how far the variations may move from the input.
    #[arg(long, default_value_t = crate::gan::infer::DEFAULT_STRENGTH)]
    pub strength: f32,
    /// Grayscale mask, white = regenerate (same size as the input).
    #[arg(long)]
    pub mask: Option<PathBuf>,
    /// Model (`.safetensors`); default: the embedded one.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Print per-variation z, seed and critic score as JSON.
    #[arg(long)]
    pub json: bool,
    /// Device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    pub device: DeviceArg,
    /// libtorch threads.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Inference precision.
    #[arg(long, value_enum, default_value_t = PrecisionArg::Fp32)]
    pub precision: PrecisionArg,
    /// Channels-last memory layout.
    #[arg(long)]
    pub channels_last: bool,
    /// Run the generator on every pixel of the input. By default it works at
    /// 512 px on the long side, as the app does, and the change it makes is
    /// scaled up and added to the input; at full resolution time and memory
    /// grow with the area (5–6 GB for 4 × 2560×1600 on the CPU).
    #[arg(long)]
    pub full_res: bool,
    /// Keep the input's thin strokes (line work) as they are; the generator
    /// would fade them. `--keep-lines false` writes its variations unchanged.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub keep_lines: bool,
}

fn load_model(path: Option<&Path>, device: Device) -> Result<VariationModel> {
    Ok(match path {
        Some(p) => VariationModel::load(p, device)
            .with_context(|| format!("loading model {}", p.display()))?,
        None => {
            VariationModel::load_default(device).context("loading the embedded default model")?
        }
    })
}

/// The image to vary: a project, or a decoded image (with the import limits),
/// flattened over white like the canvas's paper.
pub fn read_input(path: &Path) -> Result<image::RgbImage> {
    if crate::project::is_project_path(path) {
        let p = crate::project::load(path)?;
        return Ok(crate::render::cpu::flatten_over(
            &p.doc,
            p.doc.bounds(),
            [255, 255, 255],
        ));
    }
    let img = crate::project::decode_image(path)?;
    Ok(crate::gan::data::over(&img, 255))
}

/// Runs `atelier vary`.
pub fn run_vary(a: VaryArgs) -> Result<()> {
    if !(1..=64).contains(&a.count) {
        bail!("--count must be 1–64 (it was {})", a.count);
    }
    crate::gan::tune_cpu_allocator();
    let device = a.device.resolve()?;
    if let Some(t) = a.threads {
        tch::set_num_threads(t as i32);
    }
    let mut model = load_model(a.model.as_deref(), device)?;
    model.set_inference(a.precision.into(), a.channels_last);
    let canvas = read_input(&a.input)?;
    let mask = match &a.mask {
        Some(p) => {
            let m = image::open(p)
                .with_context(|| format!("reading {}", p.display()))?
                .to_luma8();
            if m.dimensions() != canvas.dimensions() {
                bail!(
                    "the mask {} is {}×{}, the input is {}×{}",
                    p.display(),
                    m.width(),
                    m.height(),
                    canvas.width(),
                    canvas.height()
                );
            }
            Some(m)
        }
        None => None,
    };
    // What the generator sees: the input at work size (as the app varies a
    // canvas), or the input itself with --full-res.
    let options = Options {
        keep_lines: a.keep_lines,
        full_res: a.full_res,
    };
    let prepared = Prepared::from_image(canvas, mask, options);
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let stem = a
        .input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "input".into());
    let req = prepared.request(a.count, a.seed, a.strength, None);
    let mut records = Vec::new();
    let mut err = None;
    prepared.run(&model, &req, |made| {
        let file = a.out.join(format!("{stem}_var{}.png", made.index));
        if let Err(e) = made.image.save(&file) {
            err = Some(anyhow::anyhow!("writing {}: {e}", file.display()));
            return false;
        }
        records.push(serde_json::json!({
            "index": made.index, "file": file.to_string_lossy(), "seed": made.seed,
            "critic": made.critic, "z": made.z,
        }));
        true
    })?;
    if let Some(e) = err {
        return Err(e);
    }
    if a.json {
        let doc = serde_json::json!({
            "model": model.info().version_id, "strength": a.strength, "variations": records,
        });
        outln!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        eprintln!("wrote {} variations to {}", records.len(), a.out.display());
    }
    Ok(())
}

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

/// Accepts inference margins from 0 to [`crate::gan::checkpoint::MAX_MARGIN`].
fn margin_parser() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(0..=i64::from(crate::gan::checkpoint::MAX_MARGIN))
}

/// Runs `atelier bench gan-quality`.
pub fn run_bench_gan_quality(a: BenchGanQualityArgs) -> Result<()> {
    crate::gan::tune_cpu_allocator();
    if let Some(t) = a.threads {
        tch::set_num_threads(t as i32);
    }
    let device = crate::gan::device::choose(DeviceChoice::Auto)?;
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
    let (m, draws, examples) = bench::evaluate_quality_draws(
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
    use super::*;

    /// Folders `a` (2.png, 9.jpg) and `b` (1.png, 5.webp) of empty image files.
    fn two_folders() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        for (d, names) in [(&a, ["2.png", "9.jpg"]), (&b, ["1.png", "5.webp"])] {
            std::fs::create_dir_all(d).unwrap();
            for n in names {
                std::fs::write(d.join(n), b"").unwrap();
            }
        }
        (dir, a, b)
    }

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
    fn a_translucent_input_is_varied_as_it_looks_over_white_paper() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("overlay.png");
        // Black ink: opaque, half transparent, and fully transparent (its stored
        // colour, black, must not show).
        let img = image::RgbaImage::from_fn(3, 1, |x, _| {
            image::Rgba([0, 0, 0, [255, 128, 0][x as usize]])
        });
        img.save(&p).unwrap();
        let reds: Vec<u8> = read_input(&p).unwrap().pixels().map(|p| p[0]).collect();
        assert_eq!(reds, [0, 127, 255]);
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
