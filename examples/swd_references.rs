//! Reference points for the realism metric of `atelier bench gan-quality`: what SWD
//! (×1e3, fine / mid / coarse, mean) do sets of images whose realism we know score
//! against the same originals, beside the sketches and a model's outputs?
//!
//! - originals: a second draw of patches from the originals themselves (the floor);
//! - originals, 3×3 box blur: what losing only the finest detail costs;
//! - sketches (+ originals' detail): the sketches with the originals' exact fine detail
//!   (original − its 3×3 box blur) added, i.e. perfect texture on the sketch's colours;
//! - outputs (+ originals' detail): the same on the model's variations;
//! - outputs + grain at the originals' detail strength: white noise, band-passed like
//!   the detail, scaled pixel by pixel to the originals' local detail RMS (Gaussian
//!   σ = 2 px). An oracle for texture as statistics alone: the best that a learned
//!   "how much detail goes here" map with noise could do;
//! - sketches / outputs with the originals' coarse level, or with their fine and mid
//!   levels (Laplacian levels swapped): how much of the distance is colour layout and how
//!   much is texture;
//! - outputs with the sketch's line work kept, as the app and `atelier vary` compose
//!   them by default (`vary::lines`);
//! - sketches / outputs with image k replaced by its original: which image's sketch the
//!   distance comes from (the metric pools the patches of all images);
//! - outputs with image k's mean colour moved to its original's, or with its original's
//!   colour layout (Gaussian σ = 16 px, less its mean) added: whether what image k's
//!   variations lack is the right colour or the right shape of colour.
//!
//! `cargo run --release --example swd_references -- HELDOUT_DIR [MODEL|-] [SEED] [DRAWS]`:
//! the mean of DRAWS benchmark draws from SEED (seeds as `bench gan-quality --draws`;
//! `-` is the embedded default model).
use atelier::gan::{VariationModel, data, eval, infer::DEFAULT_STRENGTH, metrics};
use atelier::vary::lines::LineWork;
use rand::SeedableRng;
use std::path::Path;

type Set = Vec<(Vec<f32>, usize, usize)>;
/// A reference set's name and its SWD per level (fine, mid, coarse).
type Row = (String, [f64; 3]);

/// 3×3 box blur; at the border, the mean of the neighbours that exist.
fn box3(img: &[f32], w: usize, h: usize) -> Vec<f32> {
    let mut out = vec![0f32; img.len()];
    for y in 0..h {
        let ys = y.saturating_sub(1)..=(y + 1).min(h - 1);
        for x in 0..w {
            let xs = x.saturating_sub(1)..=(x + 1).min(w - 1);
            let n = (ys.clone().count() * xs.clone().count()) as f32;
            for c in 0..3 {
                let sum: f32 = ys
                    .clone()
                    .flat_map(|yy| xs.clone().map(move |xx| img[(yy * w + xx) * 3 + c]))
                    .sum();
                out[(y * w + x) * 3 + c] = sum / n;
            }
        }
    }
    out
}

/// `img` plus white noise band-passed like the detail (noise − its 3×3 box blur), scaled
/// to unit variance and then to the local RMS of `detail` (mean over channels, Gaussian
/// σ = 2 px). Deterministic for a seed.
fn plus_grain(img: &[f32], detail: &[f32], w: usize, h: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let noise: Vec<f32> = (0..img.len())
        .map(|_| atelier::sampling::normal(&mut rng))
        .collect();
    let noise_low = box3(&noise, w, h);
    let band: Vec<f32> = noise.iter().zip(&noise_low).map(|(a, b)| a - b).collect();
    let sd = (band.iter().map(|v| v * v).sum::<f32>() / band.len() as f32).sqrt();
    let energy: Vec<f32> = detail
        .chunks_exact(3)
        .flat_map(|p| {
            let e = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]) / 3.0;
            [e; 3]
        })
        .collect();
    let rms = metrics::blur_rgb(&energy, w, h, 2.0);
    img.iter()
        .zip(&band)
        .zip(&rms)
        .map(|((v, n), e)| v + n / sd * e.max(0.0).sqrt())
        .collect()
}

/// Mean of each channel of an interleaved RGB image.
fn mean_rgb(img: &[f32]) -> [f32; 3] {
    let mut sum = [0f64; 3];
    for p in img.chunks_exact(3) {
        for c in 0..3 {
            sum[c] += f64::from(p[c]);
        }
    }
    let n = (img.len() / 3).max(1) as f64;
    sum.map(|v| (v / n) as f32)
}

/// `a` with the Laplacian levels (fine, mid, coarse) marked in `take` from `b` instead.
fn swap_levels(a: &[f32], b: &[f32], s: usize, take: [bool; 3]) -> Vec<f32> {
    let (pa, pb) = (
        metrics::laplacian_pyramid(a, s, s, 3),
        metrics::laplacian_pyramid(b, s, s, 3),
    );
    let mixed: Vec<_> = (0..3)
        .map(|l| if take[l] { &pb[l] } else { &pa[l] }.clone())
        .collect();
    metrics::reconstruct(&mixed)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        anyhow::bail!("usage: swd_references HELDOUT_DIR [MODEL|-] [SEED] [DRAWS]");
    };
    let model = match args.get(1).map(String::as_str) {
        Some(p) if p != "-" => VariationModel::load(Path::new(p), tch::Device::Cpu)?,
        _ => VariationModel::load_default(tch::Device::Cpu)?,
    };
    let seed: u64 = match args.get(2) {
        Some(s) => s.parse()?,
        None => 0,
    };
    let draws: u64 = match args.get(3) {
        Some(s) => s.parse::<u64>()?.max(1),
        None => 1,
    };
    let files = data::scan(Path::new(dir))?;
    let loaded = data::load_images(&files, 4096, 2);
    if loaded.skipped > 0 {
        anyhow::bail!("{} of the images could not be read", loaded.skipped);
    }
    let originals = loaded.images;
    let stems: Vec<String> = files
        .iter()
        .enumerate()
        .map(|(k, f)| {
            f.file_stem()
                .map_or(k.to_string(), |s| s.to_string_lossy().into_owned())
        })
        .collect();
    // Each set's levels and the sketches' mean SWD, summed over the draws.
    let (mut sketches, mut total) = draw(&model, &originals, &stems, seed)?;
    for d in 1..draws {
        let (inputs, rows) = draw(&model, &originals, &stems, seed + d)?;
        sketches += inputs;
        for ((_, sum), (_, l)) in total.iter_mut().zip(&rows) {
            (0..3).for_each(|i| sum[i] += l[i]);
        }
    }
    let n = draws as f64;
    let sketches = sketches / n;
    println!(
        "{} images at 512², 4 variations each, {n} draw(s) from seed {seed}; SWD×1e3 against the originals",
        originals.len()
    );
    println!("(the benchmark measured sketches {sketches:.1})");
    for (name, sum) in &total {
        let l = sum.map(|v| v / n);
        let mean = l.iter().sum::<f64>() / 3.0;
        println!(
            "{name:40} {:6.1} / {:6.1} / {:6.1}   mean {:6.1}  ({:+.1}% vs sketches)",
            l[0],
            l[1],
            l[2],
            mean,
            (mean / sketches - 1.0) * 100.0
        );
    }
    Ok(())
}

/// One draw (benchmark seed `seed`): the sketches' mean SWD as the benchmark measures it,
/// and every reference set's SWD per level (fine, mid, coarse).
fn draw(
    model: &VariationModel,
    originals: &[image::RgbImage],
    stems: &[String],
    seed: u64,
) -> anyhow::Result<(f64, Vec<Row>)> {
    let stem = |k: usize| &stems[k];
    let size = 512u32;
    let s = size as usize;
    // The benchmark's own sketches and variations (4 per image).
    let (m, examples) = eval::evaluate_quality(model, originals, size, 4, DEFAULT_STRENGTH, seed)?;
    let mut sets: Vec<(String, Set)> = [
        "originals",
        "originals, 3×3 box blur",
        "sketches",
        "sketches + originals' detail",
        "outputs",
        "outputs + originals' detail",
        "outputs + grain (oracle strength)",
        "sketches, originals' coarse level",
        "sketches, originals' fine + mid",
        "outputs, originals' coarse level",
        "outputs, originals' fine + mid",
        "outputs, the sketch's line work kept",
    ]
    .into_iter()
    .map(String::from)
    .chain((0..originals.len()).flat_map(|k| {
        [
            format!("sketches, {} = original", stem(k)),
            format!("outputs, {} = original", stem(k)),
            format!("outputs, {}: original's mean", stem(k)),
            format!("outputs, {}: + original's layout", stem(k)),
        ]
    }))
    .map(|n| (n, Vec::new()))
    .collect();
    const FIXED: usize = 12;
    const PER_IMAGE: usize = 4;
    let mut reference = Set::new();
    for (i, (orig, (sketch, outs))) in originals.iter().zip(&examples).enumerate() {
        let o = metrics::to_f32(&eval::square(orig, size));
        let blurred = box3(&o, s, s);
        let detail: Vec<f32> = o.iter().zip(&blurred).map(|(a, b)| a - b).collect();
        let plus_detail = |x: &[f32]| {
            x.iter()
                .zip(&detail)
                .map(|(a, d)| a + d)
                .collect::<Vec<_>>()
        };
        let mean = mean_rgb(&o);
        let layout: Vec<f32> = metrics::blur_rgb(&o, s, s, 16.0)
            .iter()
            .enumerate()
            .map(|(j, v)| v - mean[j % 3])
            .collect();
        let sk = metrics::to_f32(sketch);
        let lines = LineWork::find(sketch);
        for out_img in outs {
            let out = metrics::to_f32(out_img);
            let kept = lines.compose(sketch, sketch, out_img.clone());
            // One noise draw per variation: `reference` holds one entry per variation so far.
            let grain = plus_grain(&out, &detail, s, s, reference.len() as u64);
            reference.push((o.clone(), s, s));
            for (k, v) in [
                o.clone(),
                blurred.clone(),
                sk.clone(),
                plus_detail(&sk),
                out.clone(),
                plus_detail(&out),
                grain,
                swap_levels(&sk, &o, s, [false, false, true]),
                swap_levels(&sk, &o, s, [true, true, false]),
                swap_levels(&out, &o, s, [false, false, true]),
                swap_levels(&out, &o, s, [true, true, false]),
                metrics::to_f32(&kept),
            ]
            .into_iter()
            .enumerate()
            {
                sets[k].1.push((v, s, s));
            }
            let out_mean = mean_rgb(&out);
            let recoloured: Vec<f32> = out
                .iter()
                .enumerate()
                .map(|(j, v)| (v - out_mean[j % 3] + mean[j % 3]).clamp(0.0, 1.0))
                .collect();
            let with_layout: Vec<f32> = out
                .iter()
                .zip(&layout)
                .map(|(v, l)| (v + l).clamp(0.0, 1.0))
                .collect();
            for k in 0..originals.len() {
                let own = k == i;
                let pick =
                    |mine: &Vec<f32>, other: &Vec<f32>| (if own { mine } else { other }).clone();
                let first = FIXED + PER_IMAGE * k;
                sets[first].1.push((pick(&o, &sk), s, s));
                sets[first + 1].1.push((pick(&o, &out), s, s));
                sets[first + 2].1.push((pick(&recoloured, &out), s, s));
                sets[first + 3].1.push((pick(&with_layout, &out), s, s));
            }
        }
    }
    let rows = sets
        .iter()
        .map(|(name, set)| {
            let l = metrics::swd_levels(set, &reference, 4096, seed);
            (name.clone(), [l[0], l[1], l[2]])
        })
        .collect();
    Ok((m.swd_inputs, rows))
}
