//! GAN smoke tests on tiny models: shapes, determinism, masks, checkpoints and their
//! typed errors, the embedded default model, and CUDA where a GPU exists.
use atelier::gan::{ArchConfig, GanError, Padding, VariationModel, VaryRequest};
use std::path::Path;
use tch::{Device, Tensor};

fn tiny_arch() -> ArchConfig {
    ArchConfig {
        base_width: 8,
        latent_dim: 4,
        levels: 4,
        d_width: 8,
        noise: true,
        ..Default::default()
    }
}

/// A tiny model whose generator is not the identity (the head starts at zero).
///
/// Its weights come from a local seeded generator, not `tch::manual_seed`: libtorch's
/// global generator is shared with the tests running beside this one, so a seed there
/// does not pin the weights, and a test could meet a different model on each run.
fn tiny_model(device: Device) -> VariationModel {
    use rand::{Rng, SeedableRng};
    let m = VariationModel::new(tiny_arch(), device);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    tch::no_grad(|| {
        for (name, v) in m
            .named_variables()
            .iter()
            .filter(|(n, _)| !n.ends_with(".noise"))
        {
            let size = v.size();
            let fan_in = (v.numel() as i64 / size[0].max(1)).max(1) as f32;
            // The head and the FiLM weights get larger values, as a trained model has.
            let bound = if name.starts_with("g.head") || name.contains("film.weight") {
                0.5
            } else {
                // Kaiming's bound for ReLU keeps the signal alive through every level.
                (6.0 / fan_in).sqrt()
            };
            let vals: Vec<f32> = (0..v.numel())
                .map(|_| rng.random_range(-bound..bound))
                .collect();
            v.shallow_clone().copy_(
                &Tensor::from_slice(&vals)
                    .view(size.as_slice())
                    .to_device(device),
            );
        }
    });
    m
}

fn canvas(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 7) as u8, (y * 5) as u8, ((x + y) * 3) as u8])
    })
}

fn vary_all(
    m: &VariationModel,
    img: &image::RgbImage,
    req: &VaryRequest,
) -> Vec<atelier::gan::Variation> {
    let mut out = Vec::new();
    m.vary(img, req, |_, v| {
        out.push(v);
        true
    })
    .unwrap();
    out
}

#[test]
fn any_size_in_same_size_out_and_deterministic_for_a_seed() {
    let m = tiny_model(Device::Cpu);
    let img = canvas(37, 21);
    let req = VaryRequest {
        count: 3,
        seed: 9,
        strength: 1.0,
        ..VaryRequest::default()
    };
    let a = vary_all(&m, &img, &req);
    let b = vary_all(&m, &img, &req);
    assert_eq!(a.len(), 3);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.image.dimensions(), (37, 21));
        assert_eq!(x.image, y.image);
        assert_eq!(x.z, y.z);
        assert_eq!(x.critic, y.critic);
        assert_eq!(x.z.len(), 4);
    }
    assert_ne!(
        a[0].image, a[1].image,
        "different codes must give different images"
    );
    // Variation i is reproducible alone with seed + i.
    let single = vary_all(
        &m,
        &img,
        &VaryRequest {
            count: 1,
            seed: 10,
            strength: 1.0,
            ..VaryRequest::default()
        },
    );
    assert_eq!(single[0].image, a[1].image);
}

#[test]
fn strength_zero_returns_the_canvas_and_mask_keeps_outside() {
    let m = tiny_model(Device::Cpu);
    let img = canvas(32, 32);
    let zero = vary_all(
        &m,
        &img,
        &VaryRequest {
            count: 1,
            strength: 0.0,
            ..VaryRequest::default()
        },
    );
    assert_eq!(zero[0].image, img);
    let mask =
        image::GrayImage::from_fn(32, 32, |x, _| image::Luma([if x < 16 { 255 } else { 0 }]));
    let v = vary_all(
        &m,
        &img,
        &VaryRequest {
            count: 1,
            strength: 1.0,
            mask: Some(mask),
            ..VaryRequest::default()
        },
    );
    for (x, y, p) in v[0].image.enumerate_pixels() {
        if x >= 16 {
            assert_eq!(p, img.get_pixel(x, y));
        }
    }
    assert_ne!(v[0].image, img);
}

#[test]
fn explicit_latents_and_cancel() {
    let m = tiny_model(Device::Cpu);
    let img = canvas(16, 16);
    let req = VaryRequest {
        latents: Some(vec![vec![0.5; 4], vec![-0.5; 4]]),
        ..VaryRequest::default()
    };
    let v = vary_all(&m, &img, &req);
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].z, vec![0.5; 4]);
    let mut seen = 0;
    m.vary(
        &img,
        &VaryRequest {
            count: 5,
            ..VaryRequest::default()
        },
        |_, _| {
            seen += 1;
            false
        },
    )
    .unwrap();
    assert_eq!(seen, 1);
    let bad = VaryRequest {
        latents: Some(vec![vec![0.0; 3]]),
        ..VaryRequest::default()
    };
    assert!(matches!(
        m.vary(&img, &bad, |_, _| true),
        Err(GanError::InvalidRequest(_))
    ));
}

#[test]
fn checkpoint_round_trip_has_every_variable_and_same_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let m = tiny_model(Device::Cpu);
    m.save(&path).unwrap();
    let back = VariationModel::load(&path, Device::Cpu).unwrap();
    let (a, b) = (m.named_variables(), back.named_variables());
    assert_eq!(a.len(), b.len());
    assert!(
        a.iter().any(|(n, _)| n.ends_with("sn_u")),
        "spectral-norm vectors are saved"
    );
    for ((na, ta), (nb, tb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        assert!(ta.equal(tb), "{na} differs after round trip");
    }
    assert_eq!(back.info().arch, tiny_arch());
    assert_eq!(back.info().version_id.len(), 16);
    let img = canvas(20, 20);
    let req = VaryRequest {
        count: 1,
        ..VaryRequest::default()
    };
    assert_eq!(
        vary_all(&m, &img, &req)[0].image,
        vary_all(&back, &img, &req)[0].image
    );
    assert_eq!(
        m.critic_score(&img, &img).unwrap(),
        back.critic_score(&img, &img).unwrap()
    );
}

fn saved_tiny(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("m.safetensors");
    tiny_model(Device::Cpu).save(&path).unwrap();
    path
}

#[test]
fn corrupt_and_mismatched_checkpoints_give_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = saved_tiny(dir.path());
    let side = path.with_extension("json");
    let good_side = std::fs::read_to_string(&side).unwrap();
    let good = std::fs::read(&path).unwrap();

    // Truncated weights.
    std::fs::write(&path, &good[..good.len() / 2]).unwrap();
    let e = VariationModel::load(&path, Device::Cpu).unwrap_err();
    assert!(matches!(e, GanError::CorruptCheckpoint { .. }), "{e}");
    // Garbage.
    std::fs::write(&path, b"definitely not safetensors").unwrap();
    assert!(matches!(
        VariationModel::load(&path, Device::Cpu),
        Err(GanError::CorruptCheckpoint { .. })
    ));
    std::fs::write(&path, &good).unwrap();

    // Sidecar describing another architecture → shape mismatch naming the variable.
    let wider = good_side.replace("\"base_width\": 8", "\"base_width\": 16");
    std::fs::write(&side, wider).unwrap();
    match VariationModel::load(&path, Device::Cpu) {
        Err(GanError::ShapeMismatch { name, .. }) => assert!(name.starts_with("g.")),
        other => panic!("expected ShapeMismatch, got {other:?}"),
    }
    // Fewer levels → the file has variables the architecture lacks.
    let fewer = good_side.replace("\"levels\": 4", "\"levels\": 3");
    std::fs::write(&side, fewer).unwrap();
    assert!(matches!(
        VariationModel::load(&path, Device::Cpu),
        Err(GanError::UnexpectedVariable { .. })
    ));
    // Broken / missing / future sidecar.
    std::fs::write(&side, "{ nope").unwrap();
    assert!(matches!(
        VariationModel::load(&path, Device::Cpu),
        Err(GanError::BadSidecar { .. })
    ));
    std::fs::write(
        &side,
        good_side.replace("\"format_version\": 1", "\"format_version\": 99"),
    )
    .unwrap();
    assert!(matches!(
        VariationModel::load(&path, Device::Cpu),
        Err(GanError::UnsupportedVersion { found: 99, .. })
    ));
    std::fs::remove_file(&side).unwrap();
    assert!(matches!(
        VariationModel::load(&path, Device::Cpu),
        Err(GanError::BadSidecar { .. })
    ));
    std::fs::write(&side, &good_side).unwrap();

    // A file lacking one variable.
    let mut named = tiny_model(Device::Cpu).named_variables();
    named.retain(|(n, _)| n != "g.head.bias");
    Tensor::write_safetensors(&named, &path).unwrap();
    match VariationModel::load(&path, Device::Cpu) {
        Err(GanError::MissingVariable { name }) => assert_eq!(name, "g.head.bias"),
        other => panic!("expected MissingVariable, got {other:?}"),
    }
    // Wrong dtype.
    let named: Vec<(String, Tensor)> = tiny_model(Device::Cpu)
        .named_variables()
        .into_iter()
        .map(|(n, t)| (n, t.to_kind(tch::Kind::Double)))
        .collect();
    Tensor::write_safetensors(&named, &path).unwrap();
    assert!(matches!(
        VariationModel::load(&path, Device::Cpu),
        Err(GanError::WrongDtype { .. })
    ));
}

/// A saved tiny model whose sidecar a test rewrites (as JSON) before loading.
struct EditedSidecar {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    json: serde_json::Value,
}

impl EditedSidecar {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = saved_tiny(dir.path());
        let text = std::fs::read_to_string(path.with_extension("json")).unwrap();
        Self {
            _dir: dir,
            path,
            json: serde_json::from_str(&text).unwrap(),
        }
    }

    /// Changes the sidecar with `edit`, writes it and loads the model.
    fn load(
        &mut self,
        edit: impl FnOnce(&mut serde_json::Value),
    ) -> Result<VariationModel, GanError> {
        edit(&mut self.json);
        let text = serde_json::to_string_pretty(&self.json).unwrap();
        std::fs::write(self.path.with_extension("json"), text).unwrap();
        VariationModel::load(&self.path, Device::Cpu)
    }

    /// Changes the sidecar with `edit` and checks that loading fails with a
    /// [`GanError::BadSidecar`] whose reason names `word`.
    fn rejects(&mut self, edit: impl FnOnce(&mut serde_json::Value), word: &str) {
        match self.load(edit) {
            Err(GanError::BadSidecar { reason, .. }) => assert!(reason.contains(word), "{reason}"),
            other => panic!("expected BadSidecar naming {word}, got {other:?}"),
        }
    }
}

/// One variation at full strength, so a change of the generator shows.
fn one_at_full_strength() -> VaryRequest {
    VaryRequest {
        count: 1,
        strength: 1.0,
        ..VaryRequest::default()
    }
}

#[test]
fn the_inference_margin_comes_from_the_sidecar() {
    let mut side = EditedSidecar::new();
    // Sidecars from before the margin existed were used with 16 px.
    let m16 = side
        .load(|j| {
            j["arch"].as_object_mut().unwrap().remove("margin");
        })
        .unwrap();
    assert_eq!(m16.info().arch.margin, 16);

    side.rejects(|j| j["arch"]["margin"] = 1000.into(), "margin");

    // The generator sees a different border, so the result differs, most at the edges.
    let m48 = side.load(|j| j["arch"]["margin"] = 48.into()).unwrap();
    assert_eq!(m48.info().arch.margin, 48);
    // At 16 px the id is the weights' hash, as it was before margins were recorded;
    // another margin makes another version.
    assert_eq!(m16.version_id(), m16.info().version_id);
    assert_ne!(m48.version_id(), m16.version_id());
    let img = canvas(64, 64);
    let req = one_at_full_strength();
    let (a, b) = (
        vary_all(&m16, &img, &req).remove(0).image,
        vary_all(&m48, &img, &req).remove(0).image,
    );
    let diff = |x: u32, y: u32| {
        let (p, q) = (a.get_pixel(x, y).0, b.get_pixel(x, y).0);
        (0..3).map(|c| p[c].abs_diff(q[c]) as u32).sum::<u32>()
    };
    let border: u32 = (0..64).map(|i| diff(i, 0) + diff(0, i)).sum();
    let inner: u32 = (0..64).map(|i| diff(i, 32) + diff(32, i)).sum();
    assert!(
        border > inner,
        "the margin should change the border most: border {border}, middle {inner}"
    );
    // Saving keeps the margin.
    let again = side.path.with_file_name("again.safetensors");
    m48.save(&again).unwrap();
    let back = VariationModel::load(&again, Device::Cpu).unwrap();
    assert_eq!(back.info().arch.margin, 48);
    assert_eq!(back.info().version_id, m48.version_id());
    assert_eq!(vary_all(&back, &img, &req).remove(0).image, b);
}

#[test]
fn the_padding_comes_from_the_sidecar_and_can_be_switched() {
    let mut side = EditedSidecar::new();
    // Sidecars from before the padding was recorded were made with zeros.
    let mut zeros = side
        .load(|j| {
            j["arch"].as_object_mut().unwrap().remove("padding");
        })
        .unwrap();
    assert_eq!(zeros.info().arch.padding, Padding::Zeros);

    side.rejects(|j| j["arch"]["padding"] = "mirror".into(), "mirror");

    let reflect = side
        .load(|j| j["arch"]["padding"] = "reflect".into())
        .unwrap();
    assert_eq!(reflect.info().arch.padding, Padding::Reflect);
    let img = canvas(48, 48);
    let req = one_at_full_strength();
    let (a, b) = (
        vary_all(&zeros, &img, &req).remove(0).image,
        vary_all(&reflect, &img, &req).remove(0).image,
    );
    assert_ne!(a, b, "the padding changed nothing");
    assert_ne!(reflect.version_id(), zeros.version_id());
    // Switching a loaded model is the same as loading it with that padding.
    zeros.set_padding(Padding::Reflect);
    assert_eq!(vary_all(&zeros, &img, &req).remove(0).image, b);
    assert_eq!(zeros.version_id(), reflect.version_id());
    // Without a margin a tiny canvas reaches the deepest level as a single pixel,
    // which a mirror cannot pad; it still varies.
    zeros.info_mut().arch.margin = 0;
    for (w, h) in [(1, 1), (5, 7), (17, 3)] {
        let out = vary_all(&zeros, &canvas(w, h), &req).remove(0).image;
        assert_eq!(out.dimensions(), (w, h));
    }
}

#[test]
fn a_latent_grid_from_the_sidecar_varies_regions_of_a_flat_canvas_apart() {
    let mut side = EditedSidecar::new();
    // Mirror padding and no margin: nothing tells the generator where the border is,
    // so one code gives a flat canvas a flat variation.
    let one = side
        .load(|j| {
            j["arch"].as_object_mut().unwrap().remove("z_grid");
            j["arch"]["padding"] = "reflect".into();
            j["arch"]["margin"] = 0.into();
        })
        .unwrap();
    assert_eq!(one.info().arch.z_grid, 1, "what older sidecars mean");
    // The tiny model's code has 4 values: a 3×3 grid has more cells than that.
    for bad in [0, 3] {
        side.rejects(|j| j["arch"]["z_grid"] = bad.into(), "grid");
    }
    let grid = side.load(|j| j["arch"]["z_grid"] = 2.into()).unwrap();
    assert_ne!(grid.version_id(), one.version_id());

    let flat = image::RgbImage::from_pixel(64, 48, image::Rgb([120, 140, 90]));
    let req = one_at_full_strength();
    // The largest difference between any two pixels, summed over the channels.
    let range = |img: &image::RgbImage| {
        let sums: Vec<u32> = img
            .pixels()
            .map(|p| p.0.iter().map(|&v| u32::from(v)).sum())
            .collect();
        sums.iter().max().unwrap() - sums.iter().min().unwrap()
    };
    let whole = vary_all(&one, &flat, &req).remove(0).image;
    let regions = vary_all(&grid, &flat, &req).remove(0).image;
    assert!(range(&whole) <= 1, "one code: {}", range(&whole));
    assert!(range(&regions) >= 10, "a grid: {}", range(&regions));
    assert_eq!(
        vary_all(&grid, &flat, &req).remove(0).image,
        regions,
        "a seed reproduces it"
    );
}

#[test]
fn without_mask_input_a_region_is_the_full_variation_blended_back() {
    let (w, h) = (40, 32);
    let img = canvas(w, h);
    let inside = |x: u32, y: u32| (10..30).contains(&x) && (8..24).contains(&y);
    let mask = image::GrayImage::from_fn(w, h, |x, y| {
        image::Luma([if inside(x, y) { 255 } else { 0 }])
    });
    let full = one_at_full_strength();
    let region = VaryRequest {
        mask: Some(mask),
        ..full.clone()
    };
    let mut m = tiny_model(Device::Cpu);
    assert!(
        m.info().arch.mask_input,
        "the default, and what older sidecars mean"
    );
    let whole = vary_all(&m, &img, &full).remove(0).image;
    let with_input = vary_all(&m, &img, &region).remove(0).image;
    m.info_mut().arch.mask_input = false;
    let without_input = vary_all(&m, &img, &region).remove(0).image;
    let mut differs_with_input = false;
    for (x, y, p) in without_input.enumerate_pixels() {
        let expect = if inside(x, y) {
            whole.get_pixel(x, y)
        } else {
            img.get_pixel(x, y)
        };
        assert_eq!(p, expect, "({x}, {y})");
        if inside(x, y) {
            differs_with_input |= with_input.get_pixel(x, y) != p;
        }
        if !inside(x, y) {
            assert_eq!(with_input.get_pixel(x, y), img.get_pixel(x, y));
        }
    }
    assert!(differs_with_input, "the mask as input changed nothing");
    assert_ne!(m.version_id(), tiny_model(Device::Cpu).version_id());
}

#[test]
fn embedded_default_model_loads_and_varies() {
    let m = VariationModel::load_default(Device::Cpu).expect("embedded default model");
    assert!(m.info().steps > 0, "the default model is trained");
    let img = canvas(40, 24);
    let v = vary_all(
        &m,
        &img,
        &VaryRequest {
            count: 2,
            ..VaryRequest::default()
        },
    );
    assert_eq!(v[0].image.dimensions(), (40, 24));
    assert_eq!(v[0].z.len(), atelier::gan::latent_dim(&m));
}

#[test]
fn ink_lines_drawn_on_a_large_canvas_come_back_as_drawn_when_line_work_is_kept() {
    use atelier::vary::{lines::LineWork, resolution};
    let m = VariationModel::load_default(Device::Cpu).expect("embedded default model");
    // 5 px ink lines on cream paper, 1024² (varied at 512²), as the brush draws them.
    let on_line = |y: u32| y % 64 < 5;
    let canvas = image::RgbImage::from_fn(1024, 1024, |_, y| {
        image::Rgb(if on_line(y) {
            [10, 10, 12]
        } else {
            [244, 239, 230]
        })
    });
    let input = resolution::to_work(&canvas);
    let v = vary_all(&m, &input, &VaryRequest::default()).remove(0);
    let plain = resolution::to_canvas(&canvas, &input, v.image.clone());
    let kept = LineWork::find(&canvas).compose(&canvas, &input, v.image);
    for y in (0..1024).filter(|&y| on_line(y)) {
        for x in (0..1024).step_by(37) {
            let (c, k) = (canvas.get_pixel(x, y).0, kept.get_pixel(x, y).0);
            assert!(
                c.iter().zip(k).all(|(a, b)| a.abs_diff(b) <= 1),
                "line pixel ({x}, {y}) came back {k:?}, drawn {c:?}"
            );
        }
    }
    // The paper between the lines is the variation's.
    let paper: Vec<(u32, u32)> = (0..1024)
        .filter(|&y| y % 64 > 20 && y % 64 < 44)
        .flat_map(|y| (0..1024).step_by(29).map(move |x| (x, y)))
        .collect();
    assert!(
        paper
            .iter()
            .all(|&(x, y)| kept.get_pixel(x, y) == plain.get_pixel(x, y))
    );
}

#[test]
fn cuda_vary_matches_cpu_when_a_gpu_exists() {
    if !tch::Cuda::is_available() {
        eprintln!("no CUDA device: skipped");
        return;
    }
    let cpu = tiny_model(Device::Cpu);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    cpu.save(&path).unwrap();
    let gpu = VariationModel::load(&path, Device::Cuda(0)).unwrap();
    let img = canvas(48, 32);
    let req = VaryRequest {
        count: 2,
        ..VaryRequest::default()
    };
    let (a, b) = (vary_all(&cpu, &img, &req), vary_all(&gpu, &img, &req));
    for (x, y) in a.iter().zip(&b) {
        let max = x
            .image
            .as_raw()
            .iter()
            .zip(y.image.as_raw())
            .map(|(p, q)| p.abs_diff(*q))
            .max()
            .unwrap();
        assert!(max <= 2, "CPU and CUDA differ by {max}/255");
    }
}

#[test]
fn model_and_trainer_can_move_to_a_worker_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<VariationModel>();
    assert_send::<atelier::gan::Trainer>();
    assert_send::<atelier::gan::Variation>();
}

#[test]
fn several_draws_are_the_mean_of_single_draws_at_consecutive_seeds() {
    use atelier::gan::eval::{evaluate_quality, evaluate_quality_draws, mean_of_draws};
    let m = tiny_model(Device::Cpu);
    let images = vec![canvas(48, 40), canvas(40, 48)];
    let (mean, each, examples) = evaluate_quality_draws(&m, &images, 32, 2, 0.8, 5, 3).unwrap();
    assert_eq!(each.len(), 3);
    assert_eq!(mean.draws, 3);
    // Draw d is exactly the one-draw benchmark at seed 5 + d …
    for (d, got) in each.iter().enumerate() {
        let (one, _) = evaluate_quality(&m, &images, 32, 2, 0.8, 5 + d as u64).unwrap();
        assert_eq!(got, &one, "draw {d}");
    }
    // … the draws differ (new sketches and codes), and the result is their mean.
    assert_ne!(each[0].swd_outputs, each[1].swd_outputs);
    assert_eq!(Some(mean), mean_of_draws(&each));
    // The examples are the first draw's: one sketch and two variations per image.
    assert_eq!(examples.len(), 2);
    assert!(examples.iter().all(|(_, outs)| outs.len() == 2));
}

/// `bench gan` times bf16 only where the hardware runs it (a CPU without
/// AVX512-BF16 or AMX emulates it at many minutes a row), and says so.
#[test]
fn bench_gan_skips_bf16_rows_the_cpu_cannot_run_fast() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_atelier"))
        .args([
            "bench", "gan", "--size", "32", "--count", "1", "--reps", "1",
        ])
        .args(["--no-train", "--device", "cpu", "--json"])
        .output()
        .expect("run atelier");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let flags: Vec<&str> = report["cpu_flags"]
        .as_array()
        .expect("cpu_flags")
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    let fast_bf16 = flags.contains(&"avx512_bf16") || flags.contains(&"amx_bf16");
    let rows = report["inference"].as_array().expect("inference rows");
    assert_eq!(rows.len(), 4);
    for row in rows {
        let skipped = row.get("skipped").is_some();
        match row["precision"].as_str() {
            Some("fp32") => assert!(!skipped && row["generator_ms"].is_number(), "{row}"),
            Some("bf16") => assert_eq!(skipped, !fast_bf16, "{row} with flags {flags:?}"),
            other => panic!("unexpected precision {other:?}"),
        }
    }
}
