//! The frozen feature network (`gan::features`) against PyTorch: every tap of the
//! converted EfficientNet-Lite0 matches the reference implementation's outputs stored
//! by `scripts/lib/convert_efficientnet.py`, gradients reach the input and never the
//! weights, the tap shapes at 256², and (printed, not asserted) the time of one 512²
//! forward pass.
//!
//! The weights are not in the repository: each test prints why and passes when
//! `scripts/fetch_feature_net.sh` has not been run.
use atelier::gan::GanError;
use atelier::gan::features::{FeatureNet, TAP_BLOCKS, TAP_CHANNELS, default_weights_path};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;
use tch::{Device, Kind, Tensor};

/// Largest allowed |Rust − PyTorch| over a tap, relative to the tap's largest |value|.
const TOLERANCE: f64 = 1e-4;

/// The tests run one at a time, so that the timing is not shared with another test.
static SERIAL: Mutex<()> = Mutex::new(());

fn reference_path() -> PathBuf {
    default_weights_path().with_file_name("reference.safetensors")
}

/// The network and its reference outputs, or `None` (with the reason printed) when
/// the converted files are absent.
fn setup(test: &str) -> Option<(FeatureNet, HashMap<String, Tensor>)> {
    let (weights, reference) = (default_weights_path(), reference_path());
    if !weights.exists() || !reference.exists() {
        println!(
            "{test}: skipped: {} or {} is absent (run scripts/fetch_feature_net.sh)",
            weights.display(),
            reference.display()
        );
        return None;
    }
    let net = FeatureNet::load(&weights, Device::Cpu).expect("the converted weights load");
    let reference = Tensor::read_safetensors(&reference)
        .expect("reference.safetensors reads")
        .into_iter()
        .collect();
    Some((net, reference))
}

/// Max |a − b| and max |b|.
fn difference(a: &Tensor, b: &Tensor) -> (f64, f64) {
    let diff = (a - b).abs().max().double_value(&[]);
    let scale = b.abs().max().double_value(&[]);
    (diff, scale)
}

/// Compares the taps of `net` on `{prefix}input` with `{prefix}tap{i}`; returns the
/// worst relative difference.
fn check_reference(net: &FeatureNet, reference: &HashMap<String, Tensor>, prefix: &str) -> f64 {
    let device = net.device();
    let input = reference[&format!("{prefix}input")].to_device(device);
    let taps = tch::no_grad(|| net.taps(&input));
    let mut worst: f64 = 0.0;
    for (tap, block) in taps.iter().zip(TAP_BLOCKS) {
        let want = &reference[&format!("{prefix}tap{block}")];
        assert_eq!(tap.size(), want.size(), "{prefix}tap{block}: shape");
        let (diff, scale) = difference(&tap.to_device(Device::Cpu), want);
        let rel = diff / scale;
        println!(
            "{device:?} {prefix}tap{block} {:?}: max |PyTorch| {scale:.4}, max |Rust − PyTorch| \
             {diff:.3e} = {rel:.2e} of it",
            want.size()
        );
        assert!(
            scale > 1.0,
            "{prefix}tap{block}: the reference tap is nearly zero"
        );
        worst = worst.max(rel);
    }
    worst
}

#[test]
fn taps_match_pytorch() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some((net, reference)) = setup("taps_match_pytorch") else {
        return;
    };
    // 1×3×64×64 against the model as from_pretrained builds it (padding fixed for
    // 224², the same as "SAME" at multiples of 32); 2×3×45×77 against its
    // dynamic-padding variant.
    for prefix in ["", "odd."] {
        let worst = check_reference(&net, &reference, prefix);
        assert!(
            worst <= TOLERANCE,
            "{prefix}taps differ from PyTorch by {worst:.2e} of their scale"
        );
    }
    // The GPU, where there is one. Convolutions there may run in TF32 (10-bit
    // mantissa), so its bound is looser; the number is printed either way.
    if tch::Cuda::is_available() {
        let gpu = FeatureNet::load(default_weights_path(), Device::Cuda(0)).unwrap();
        for prefix in ["", "odd."] {
            let worst = check_reference(&gpu, &reference, prefix);
            assert!(
                worst <= 1e-2,
                "CUDA {prefix}taps differ from PyTorch by {worst:.2e}"
            );
        }
    }
}

#[test]
fn gradients_reach_the_input_not_the_weights() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some((net, reference)) = setup("gradients_reach_the_input_not_the_weights") else {
        return;
    };
    let x = reference["input"].copy().set_requires_grad(true);
    let taps = net.taps(&x);
    let loss = taps
        .iter()
        .map(|t| t.square().mean(Kind::Float))
        .fold(Tensor::zeros([], (Kind::Float, Device::Cpu)), |a, b| a + b);
    loss.backward();
    let grad = x.grad();
    assert!(grad.defined(), "no gradient reached the input");
    let g_abs = grad.abs();
    assert!(
        g_abs.isfinite().all().int64_value(&[]) != 0,
        "non-finite input gradient"
    );
    let g_max = g_abs.max().double_value(&[]);
    assert!(g_max > 0.0, "the input gradient is zero");
    println!("input gradient: max |∂loss/∂x| = {g_max:.3e}");
    let vars = net.named_variables();
    assert_eq!(vars.len(), 96);
    for (name, v) in &vars {
        assert!(!v.requires_grad(), "{name} requires grad");
        assert!(!v.grad().defined(), "{name} received a gradient");
    }
}

#[test]
fn tap_shapes_at_256() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some((net, _)) = setup("tap_shapes_at_256") else {
        return;
    };
    let x = Tensor::rand([1, 3, 256, 256], (Kind::Float, Device::Cpu));
    let taps = tch::no_grad(|| net.taps(&x));
    let shapes: Vec<Vec<i64>> = taps.iter().map(|t| t.size()).collect();
    assert_eq!(
        shapes,
        vec![
            vec![1, 24, 64, 64],
            vec![1, 40, 32, 32],
            vec![1, 112, 16, 16],
            vec![1, 320, 8, 8]
        ]
    );
    for (t, c) in taps.iter().zip(TAP_CHANNELS) {
        assert_eq!(t.size()[1], c);
        assert!(t.isfinite().all().int64_value(&[]) != 0);
    }
}

#[test]
fn shape_mismatch_in_the_real_file_is_typed() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if setup("shape_mismatch_in_the_real_file_is_typed").is_none() {
        return;
    }
    // The real weights with one tensor transposed: a file for another layout.
    let mut named = Tensor::read_safetensors(default_weights_path()).unwrap();
    for (name, t) in named.iter_mut() {
        if name == "blocks.15.project.weight" {
            *t = t.transpose(0, 1).contiguous();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("efficientnet-lite0.safetensors");
    Tensor::write_safetensors(&named, &path).unwrap();
    match FeatureNet::load(&path, Device::Cpu) {
        Err(GanError::ShapeMismatch {
            name,
            expected,
            found,
        }) => {
            assert_eq!(name, "blocks.15.project.weight");
            assert_eq!(expected, vec![320, 1152, 1, 1]);
            assert_eq!(found, vec![1152, 320, 1, 1]);
        }
        other => panic!("expected ShapeMismatch, got {other:?}"),
    }
}

/// Not a benchmark with a bound: prints the time of a 1×3×512×512 forward pass (and
/// of forward + backward to the input) on the CPU, for FEATURES.md.
#[test]
fn time_a_512_forward_pass() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some((net, _)) = setup("time_a_512_forward_pass") else {
        return;
    };
    let x = Tensor::rand([1, 3, 512, 512], (Kind::Float, Device::Cpu));
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let _ = tch::no_grad(|| net.taps(&x)); // warm-up
    let forward: Vec<f64> = (0..7)
        .map(|_| {
            let t = Instant::now();
            let taps = tch::no_grad(|| net.taps(&x));
            assert_eq!(taps.len(), 4);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    let backward: Vec<f64> = (0..3)
        .map(|_| {
            let xg = x.copy().set_requires_grad(true);
            let t = Instant::now();
            let loss = net
                .taps(&xg)
                .iter()
                .fold(Tensor::zeros([], (Kind::Float, Device::Cpu)), |a, t| {
                    a + t.mean(Kind::Float)
                });
            loss.backward();
            assert!(xg.grad().defined());
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    let fastest = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "512×512 on the CPU, {} libtorch threads: forward (no grad) fastest {:.0} ms, median \
         {:.0} ms of {:?}; forward + backward to the input fastest {:.0} ms, median {:.0} ms",
        tch::get_num_threads(),
        fastest(&forward),
        median(forward.clone()),
        forward.iter().map(|v| v.round()).collect::<Vec<_>>(),
        fastest(&backward),
        median(backward.clone()),
    );
}

/// A smooth test image in −1..1 with edges at several scales.
fn pattern(n: i64, side: i64) -> Tensor {
    let ramp = Tensor::arange(side, (Kind::Float, Device::Cpu)) / side as f64;
    let x = ramp.view([1, 1, 1, side]).expand([n, 3, side, side], false);
    let y = ramp.view([1, 1, side, 1]).expand([n, 3, side, side], false);
    ((&x * 12.0).sin() * (&y * 7.0).cos() * 0.8).contiguous()
}

#[test]
fn the_perceptual_distance_is_zero_for_the_same_image_and_grows_with_blur() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some((net, _)) = setup("perceptual") else {
        return;
    };
    let a = pattern(2, 64).set_requires_grad(true);
    let same = atelier::gan::losses::perceptual(&net, &a, &a.detach());
    assert!(
        same.double_value(&[]).abs() < 1e-9,
        "{}",
        same.double_value(&[])
    );
    let blur =
        |t: &Tensor, k: i64| t.avg_pool2d([k, k], [1, 1], [k / 2, k / 2], false, false, None);
    let slight = atelier::gan::losses::perceptual(&net, &a, &blur(&a.detach(), 3));
    let strong = atelier::gan::losses::perceptual(&net, &a, &blur(&a.detach(), 9));
    let (s, t) = (slight.double_value(&[]), strong.double_value(&[]));
    println!("perceptual distance: 3×3 blur {s:.4}, 9×9 blur {t:.4}");
    assert!(s > 0.0 && t > s, "blur 3: {s}, blur 9: {t}");
    strong.backward();
    let grad = a.grad();
    assert!(grad.defined() && grad.abs().sum(Kind::Float).double_value(&[]) > 0.0);
}

#[test]
fn training_with_the_perceptual_term_reports_it_and_needs_the_weights() {
    use atelier::gan::{ArchConfig, TrainConfig, Trainer};
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tiny = TrainConfig {
        arch: ArchConfig {
            base_width: 8,
            latent_dim: 4,
            levels: 4,
            d_width: 8,
            ..Default::default()
        },
        steps: 3,
        batch: 2,
        size: 32,
        threads: Some(1),
        workers: 1,
        checkpoint_every: 1000,
        w_perceptual: 1.0,
        ..TrainConfig::default()
    };
    match Trainer::new(tiny.clone(), None) {
        Err(GanError::InvalidRequest(m)) => assert!(m.contains("fetch_feature_net"), "{m}"),
        Err(e) => panic!("another error: {e}"),
        Ok(_) => panic!("a perceptual run without the network's weights started"),
    }
    if setup("perceptual training").is_none() {
        return;
    }
    let cfg = TrainConfig {
        feature_net: Some(default_weights_path()),
        ..tiny
    };
    let mut t = Trainer::new(cfg, None).expect("trainer");
    let img = image::RgbImage::from_fn(64, 64, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 4) as u8, ((x + y) * 2) as u8])
    });
    t.set_images(vec![img.clone(), img], 0);
    let mut seen = Vec::new();
    t.run(Arc::new(AtomicBool::new(false)), |p| {
        seen.push(p.losses.perceptual)
    })
    .expect("three steps");
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|v| v.is_finite() && *v > 0.0), "{seen:?}");
}
