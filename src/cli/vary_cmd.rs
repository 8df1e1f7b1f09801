//! `atelier vary`: writes N variations of an image or a flattened project, through
//! the same Vary pipeline as the app.
use super::gan_args::{DeviceArg, PrecisionArg, load_model};
use crate::vary::pipeline::{Options, Prepared};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::{Path, PathBuf};

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
        ..Options::default()
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
