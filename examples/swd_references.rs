//! Reference points for the realism metric of `atelier bench gan-quality`: what SWD
//! (×1e3, fine / mid / coarse, mean) do sets of images whose realism we know score
//! against the same originals, beside the sketches and a model's outputs?
//!
//! - originals: a second draw of patches from the originals themselves (the floor);
//! - originals, 3×3 box blur: what losing only the finest detail costs;
//! - sketches (+ originals' detail): the sketches with the originals' exact fine detail
//!   (original − its 3×3 box blur) added, i.e. perfect texture on the sketch's colours;
//! - outputs (+ originals' detail): the same on the model's variations.
//!
//! `cargo run --release --example swd_references -- HELDOUT_DIR [MODEL]`
use atelier::gan::{VariationModel, bench, data, infer::DEFAULT_STRENGTH, metrics};
use std::path::Path;

type Set = Vec<(Vec<f32>, usize, usize)>;

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

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        anyhow::bail!("usage: swd_references HELDOUT_DIR [MODEL]");
    };
    let model = match args.get(1) {
        Some(p) => VariationModel::load(Path::new(p), tch::Device::Cpu)?,
        None => VariationModel::load_default(tch::Device::Cpu)?,
    };
    let files = data::scan(Path::new(dir))?;
    let originals = data::load_images(&files, 4096, 2).images;
    let size = 512u32;
    let s = size as usize;
    // The benchmark's own sketches and variations (seed 0, 4 per image).
    let (m, examples) = bench::evaluate_quality(&model, &originals, size, 4, DEFAULT_STRENGTH, 0)?;
    let mut sets: Vec<(&str, Set)> = [
        "originals",
        "originals, 3×3 box blur",
        "sketches",
        "sketches + originals' detail",
        "outputs",
        "outputs + originals' detail",
    ]
    .into_iter()
    .map(|n| (n, Vec::new()))
    .collect();
    let mut reference = Set::new();
    for (orig, (sketch, outs)) in originals.iter().zip(&examples) {
        let o = metrics::to_f32(&bench::square(orig, size));
        let blurred = box3(&o, s, s);
        let detail: Vec<f32> = o.iter().zip(&blurred).map(|(a, b)| a - b).collect();
        let plus_detail = |x: &[f32]| {
            x.iter()
                .zip(&detail)
                .map(|(a, d)| a + d)
                .collect::<Vec<_>>()
        };
        let sk = metrics::to_f32(sketch);
        for out in outs {
            let out = metrics::to_f32(out);
            reference.push((o.clone(), s, s));
            for (k, v) in [
                o.clone(),
                blurred.clone(),
                sk.clone(),
                plus_detail(&sk),
                out.clone(),
                plus_detail(&out),
            ]
            .into_iter()
            .enumerate()
            {
                sets[k].1.push((v, s, s));
            }
        }
    }
    println!(
        "{} images at {size}², 4 variations each; SWD×1e3 against the originals",
        originals.len()
    );
    println!(
        "(the benchmark measured outputs {:.1} and sketches {:.1})",
        m.swd_outputs, m.swd_inputs
    );
    for (name, set) in &sets {
        let l = metrics::swd_levels(set, &reference, 4096, 0);
        let mean = l.iter().sum::<f64>() / l.len() as f64;
        println!(
            "{name:30} {:6.1} / {:6.1} / {:6.1}   mean {:6.1}  ({:+.1}% vs sketches)",
            l[0],
            l[1],
            l[2],
            mean,
            (mean / m.swd_inputs - 1.0) * 100.0
        );
    }
    Ok(())
}
