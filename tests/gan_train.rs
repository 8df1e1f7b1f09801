//! Training smoke tests on tiny models and synthetic images: L1 goes down, fine-tuning
//! records its parent and uses extra pairs/negatives, cancel checkpoints, divergence
//! rolls back, a seed reproduces a run, validation scores a run without changing it,
//! the detail critic trains beside a model without being saved in it,
//! and a run can return a running average of its generator's weights. CUDA training
//! runs only where a GPU exists.
use atelier::gan::trainer::Validation;
use atelier::gan::{ArchConfig, Padding, TrainConfig, Trainer, VariationModel, is_style_variable};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tch::{Device, Tensor};

/// libtorch's RNG and thread count are global: training tests take turns.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn synthetic(n: u32) -> Vec<image::RgbImage> {
    (0..n)
        .map(|k| {
            // Coloured bands under a fine 2-px checker: every sketch style loses the
            // checker, so there is a clear, learnable difference between input and target.
            image::RgbImage::from_fn(96, 96, |x, y| {
                let band = ((x / 12 + y / 16 + k) % 3) as u8;
                let check = if (x / 2 + y / 2) % 2 == 0 { 50 } else { 0 };
                image::Rgb([
                    60 + band * 60 + check,
                    200 - band * 50 - check,
                    ((x + k * 10) % 150) as u8 + check,
                ])
            })
        })
        .collect()
}

/// A tiny model trained from scratch with `cfg` on synthetic images.
fn trained_base(cfg: TrainConfig) -> VariationModel {
    let mut t = Trainer::new(cfg, None).unwrap();
    t.set_images(synthetic(2), 0);
    t.run(Arc::new(AtomicBool::new(false)), |_| {})
        .unwrap()
        .model
}

fn tiny_config(steps: u64) -> TrainConfig {
    TrainConfig {
        arch: ArchConfig {
            base_width: 8,
            latent_dim: 4,
            levels: 4,
            d_width: 8,
            noise: true,
            ..Default::default()
        },
        steps,
        batch: 4,
        size: 32,
        seed: 3,
        lr_g: 1e-3,
        lr_d: 1e-3,
        threads: Some(1),
        workers: 1,
        checkpoint_every: 1000,
        ..TrainConfig::default()
    }
}

/// (canvas, target) pairs with a simple learnable relation: the target is the canvas
/// with its colours inverted, so a few seconds of training must lower L1 clearly.
fn inverted_pairs() -> Vec<(image::RgbImage, image::RgbImage)> {
    synthetic(3)
        .into_iter()
        .map(|img| {
            let mut inv = img.clone();
            inv.pixels_mut().for_each(|p| p.0 = p.0.map(|v| 255 - v));
            (img, inv)
        })
        .collect()
}

/// L1 to the target on a fixed batch (z = 0), composited the way the trainer does.
fn fixed_batch_l1(m: &VariationModel) -> f64 {
    use tch::{Kind, Tensor};
    let src = atelier::gan::data::PairSource {
        images: vec![],
        extra_pairs: inverted_pairs(),
    };
    let b = src.make_batch(99, 0, 16, 32);
    let input = Tensor::from_slice(&b.input).view([16, 3, 32, 32]);
    let mask = Tensor::from_slice(&b.mask).view([16, 1, 32, 32]);
    let target = Tensor::from_slice(&b.target).view([16, 3, 32, 32]);
    let out = m.generate_raw(
        &Tensor::cat(&[&input, &mask], 1),
        &Tensor::zeros([16, 4], (Kind::Float, Device::Cpu)),
    );
    let out = &mask * out + (mask.neg() + 1.0) * &input;
    (out - target).abs().mean(Kind::Float).double_value(&[])
}

#[test]
fn a_few_seconds_of_training_lower_l1() {
    let _guard = serial();
    let mut t = Trainer::new(tiny_config(60), None).unwrap();
    t.add_pairs(inverted_pairs());
    let before = fixed_batch_l1(t.model());
    let out = t.run(Arc::new(AtomicBool::new(false)), |_| {}).unwrap();
    let after = fixed_batch_l1(&out.model);
    assert_eq!(out.steps, 60);
    assert!(
        after < before * 0.8,
        "L1 on a fixed batch {before:.4} → {after:.4}"
    );
    assert_eq!(out.model.info().steps, 60);
    assert_eq!(out.model.info().data.extra_pairs, 3);
}

#[test]
fn the_detail_critic_trains_beside_the_model_and_is_not_saved_with_it() {
    let _guard = serial();
    let run = |w_adv_detail: f64| {
        let cfg = TrainConfig {
            w_adv_detail,
            ..tiny_config(6)
        };
        let mut t = Trainer::new(cfg, None).unwrap();
        t.set_images(synthetic(2), 0);
        let mut g_detail = Vec::new();
        let out = t
            .run(Arc::new(AtomicBool::new(false)), |p| {
                g_detail.push(p.losses.g_detail)
            })
            .unwrap();
        (out.model, g_detail)
    };
    let (with, g_detail) = run(1.0);
    assert_eq!(g_detail.len(), 6);
    assert!(g_detail.iter().all(|v| v.is_finite()), "{g_detail:?}");
    assert!(g_detail.iter().any(|v| *v != 0.0), "{g_detail:?}");
    let (without, off) = run(0.0);
    assert!(off.iter().all(|v| *v == 0.0), "{off:?}");
    // It is a training aid: the model keeps exactly the variables it had.
    let mut names: Vec<String> = with.variables().into_keys().collect();
    let mut plain: Vec<String> = without.variables().into_keys().collect();
    names.sort();
    plain.sort();
    assert_eq!(names, plain);
}

#[test]
fn same_seed_same_model() {
    let _guard = serial();
    let run = || {
        let mut t = Trainer::new(tiny_config(4), None).unwrap();
        t.set_images(synthetic(2), 0);
        t.run(Arc::new(AtomicBool::new(false)), |_| {})
            .unwrap()
            .model
            .info()
            .version_id
            .clone()
    };
    assert_eq!(run(), run());
}

#[test]
fn fine_tuning_uses_the_same_path_and_records_lineage() {
    let _guard = serial();
    let dir = tempfile::tempdir().unwrap();
    let base = trained_base(tiny_config(3));
    let imgs = synthetic(2);
    let mut ft = Trainer::new(
        TrainConfig {
            checkpoint_path: Some(dir.path().join("ft.safetensors")),
            ..tiny_config(3)
        },
        Some(&base),
    )
    .unwrap();
    ft.add_pairs(vec![(imgs[0].clone(), imgs[1].clone())]);
    ft.add_negatives(vec![(imgs[0].clone(), imgs[0].clone())]);
    let out = ft.run(Arc::new(AtomicBool::new(false)), |_| {}).unwrap();
    let info = out.model.info();
    assert_eq!(
        info.parent.as_deref(),
        Some(base.info().version_id.as_str())
    );
    assert_eq!(info.steps, 6);
    assert_eq!((info.data.extra_pairs, info.data.extra_negatives), (1, 1));
    let reloaded = VariationModel::load(&dir.path().join("ft.safetensors"), Device::Cpu).unwrap();
    assert_eq!(reloaded.info().parent, info.parent);
}

#[test]
fn a_style_only_run_trains_the_film_layers_and_the_head_and_nothing_else_of_g() {
    let _guard = serial();
    let base = trained_base(tiny_config(3));
    let before: std::collections::HashMap<String, Tensor> =
        base.named_variables().into_iter().collect();
    let mut ft = Trainer::new(
        TrainConfig {
            style_only: true,
            ..tiny_config(4)
        },
        Some(&base),
    )
    .unwrap();
    ft.set_images(synthetic(2), 0);
    let out = ft.run(Arc::new(AtomicBool::new(false)), |_| {}).unwrap();
    let (mut style_moved, mut d_moved) = (0, 0);
    for (name, after) in out.model.named_variables() {
        let same = after.equal(&before[&name]);
        if name.starts_with("g.") && !is_style_variable(&name) {
            assert!(same, "{name} changed in a style-only run");
        } else if !same && name.starts_with("g.") {
            style_moved += 1;
        } else if !same {
            d_moved += 1;
        }
    }
    assert!(style_moved > 0, "no FiLM or head variable moved");
    assert!(d_moved > 0, "the critic did not train");
    // A later full run trains every variable again.
    let mut full = Trainer::new(tiny_config(2), Some(&out.model)).unwrap();
    full.set_images(synthetic(2), 0);
    let again = full.run(Arc::new(AtomicBool::new(false)), |_| {}).unwrap();
    let stem = |m: &VariationModel| {
        m.named_variables()
            .into_iter()
            .find(|(n, _)| n == "g.stem.weight")
            .expect("the stem")
            .1
    };
    assert!(
        !stem(&again.model).equal(&stem(&out.model)),
        "a full run after a style-only one left the stem frozen"
    );
}

#[test]
fn the_margin_and_padding_are_inherited_unless_a_run_sets_them() {
    let _guard = serial();
    let fresh = Trainer::new(tiny_config(1), None).unwrap();
    assert_eq!(fresh.model().info().arch.margin, 16, "the default margin");
    let base = Trainer::new(
        TrainConfig {
            margin: Some(48),
            ..tiny_config(1)
        },
        None,
    )
    .unwrap();
    let base = base.model();
    assert_eq!(base.info().arch.margin, 48);
    let inherited = Trainer::new(tiny_config(1), Some(base)).unwrap();
    assert_eq!(inherited.model().info().arch.margin, 48);
    let set = Trainer::new(
        TrainConfig {
            margin: Some(0),
            ..tiny_config(1)
        },
        Some(base),
    )
    .unwrap();
    assert_eq!(set.model().info().arch.margin, 0);
    // The padding follows the same rule.
    let reflecting = Trainer::new(
        TrainConfig {
            padding: Some(Padding::Reflect),
            ..tiny_config(1)
        },
        Some(base),
    )
    .unwrap();
    let reflecting = reflecting.model();
    assert_eq!(reflecting.info().arch.padding, Padding::Reflect);
    let again = Trainer::new(tiny_config(1), Some(reflecting)).unwrap();
    assert_eq!(again.model().info().arch.padding, Padding::Reflect);
    assert_eq!(inherited.model().info().arch.padding, Padding::Zeros);
}

#[test]
fn a_run_of_no_steps_changes_only_how_the_model_is_used() {
    let _guard = serial();
    let base = trained_base(tiny_config(2));
    let mut zero = Trainer::new(
        TrainConfig {
            padding: Some(Padding::Reflect),
            data_source: "another folder".into(),
            ..tiny_config(0)
        },
        Some(&base),
    )
    .unwrap();
    zero.set_images(synthetic(1), 0);
    let out = zero.run(Arc::new(AtomicBool::new(false)), |_| {}).unwrap();
    let (info, parent) = (out.model.info(), base.info());
    assert_eq!(out.steps, 0);
    assert_eq!(info.arch.padding, Padding::Reflect);
    // Nothing was learned, so the record of how the weights were made stays.
    assert_eq!(info.steps, parent.steps);
    assert_eq!(info.data.source, parent.data.source);
    assert_eq!(info.training, parent.training);
    assert_eq!(info.losses, parent.losses);
    assert!(
        base.variables()
            .iter()
            .all(|(n, v)| v.equal(&out.model.variables()[n]))
    );
    // Used another way, it is another version, made from the first.
    assert_eq!(info.parent.as_deref(), Some(parent.version_id.as_str()));
    assert_ne!(info.version_id, parent.version_id);
}

#[test]
fn fine_tuning_can_add_noise_inputs_to_an_older_model() {
    use tch::{Kind, Tensor};
    let _guard = serial();
    let mut cfg = tiny_config(2);
    cfg.arch.noise = false;
    let base = trained_base(cfg);
    assert!(!base.variables().keys().any(|k| k.ends_with(".noise")));
    // Without noise asked for, a fine-tune keeps the parent's architecture.
    let mut keep = tiny_config(1);
    keep.arch.noise = false;
    let same = Trainer::new(keep, Some(&base)).unwrap();
    assert!(!same.model().info().arch.noise);
    let ft = Trainer::new(tiny_config(1), Some(&base)).unwrap();
    let m = ft.model();
    assert!(m.info().arch.noise);
    let scales: Vec<String> = m
        .variables()
        .keys()
        .filter(|k| k.ends_with(".noise"))
        .cloned()
        .collect();
    assert_eq!(scales.len(), 4, "{scales:?}");
    // Zero scales: before its first step the upgraded model computes what its parent did.
    let x = Tensor::rand([2, 4, 32, 32], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
    let z = Tensor::randn([2, 4], (Kind::Float, Device::Cpu));
    let diff = (m.generate_raw(&x, &z) - base.generate_raw(&x, &z))
        .abs()
        .max()
        .double_value(&[]);
    assert_eq!(diff, 0.0);
}

#[test]
fn cancel_stops_early_and_writes_a_checkpoint() {
    let _guard = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.safetensors");
    let cancel = Arc::new(AtomicBool::new(false));
    let mut t = Trainer::new(
        TrainConfig {
            checkpoint_path: Some(path.clone()),
            ..tiny_config(1000)
        },
        None,
    )
    .unwrap();
    t.set_images(synthetic(2), 0);
    let c = cancel.clone();
    let out = t
        .run(cancel, move |p| {
            if p.step == 3 {
                c.store(true, Ordering::Relaxed);
            }
        })
        .unwrap();
    assert!(out.cancelled);
    assert_eq!(out.steps, 3);
    assert_eq!(
        VariationModel::load(&path, Device::Cpu)
            .unwrap()
            .info()
            .steps,
        3
    );
}

#[test]
fn validation_scores_the_start_every_checkpoint_and_the_end_and_changes_nothing_learned() {
    let _guard = serial();
    let dir = tempfile::tempdir().unwrap();
    let best_path = dir.path().join("v.best.safetensors");
    let config = || TrainConfig {
        checkpoint_every: 2,
        ..tiny_config(5)
    };
    let plain = trained_base(config());
    let mut t = Trainer::new(config(), None).unwrap();
    t.set_images(synthetic(2), 0);
    t.set_validation(Validation {
        images: synthetic(3),
        size: 64,
        count: 2,
        strength: 0.8,
        draws: 1,
        best_path: Some(best_path.clone()),
    });
    let mut scored = Vec::new();
    let out = t
        .run(Arc::new(AtomicBool::new(false)), |p| {
            scored.extend(p.validated.iter().map(|v| (v.step, v.metrics.clone())))
        })
        .unwrap();
    let steps: Vec<u64> = scored.iter().map(|(s, _)| *s).collect();
    assert_eq!(steps, [0, 2, 4, 5]);
    for (step, m) in &scored {
        assert_eq!(m.images, 3, "step {step}");
        assert!(
            m.swd_inputs > 0.0 && m.swd_outputs > 0.0,
            "step {step}: {m:?}"
        );
    }
    // Scoring draws nothing from the training's random streams.
    let (a, b) = (plain.variables(), out.model.variables());
    assert_eq!(a.len(), b.len());
    for (name, v) in &a {
        assert!(v.equal(&b[name]), "{name} differs with validation on");
    }
    // The best weights are written with their score, unless the start stayed best.
    match &out.best {
        Some(best) if best.step > 0 => {
            let saved = VariationModel::load(&best_path, Device::Cpu).unwrap();
            let record = saved.info().validation.clone().unwrap();
            assert_eq!(record.step, best.step);
            assert_eq!(record.metrics, best.metrics);
            let at_step = &scored.iter().find(|(s, _)| *s == best.step).unwrap().1;
            assert_eq!(&record.metrics, at_step);
        }
        _ => assert!(!best_path.exists()),
    }
    // The final model is not the best record's; its own sidecar has no score.
    assert!(out.model.info().validation.is_none());
}

#[test]
fn a_weight_average_is_what_the_run_returns_while_training_goes_on_from_the_raw_weights() {
    let _guard = serial();
    let config = |ema| TrainConfig {
        checkpoint_every: 2,
        ema,
        ..tiny_config(5)
    };
    let start = trained_base(tiny_config(0));
    let raw = trained_base(config(0.0));
    // A decay near 1 barely moves the average from the initial weights; one near 0
    // follows the raw weights step by step.
    let still = trained_base(config(1.0 - 1e-9));
    let follows = trained_base(config(1e-9));
    let gap = |a: &VariationModel, b: &VariationModel, prefix: &str| {
        let (a, b) = (a.variables(), b.variables());
        a.iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(name, v)| (v - &b[name]).abs().max().double_value(&[]))
            .fold(0.0, f64::max)
    };
    assert!(
        gap(&raw, &start, "g.") > 1e-3,
        "training moved the generator"
    );
    assert!(gap(&still, &start, "g.") < 1e-5);
    assert!(gap(&follows, &raw, "g.") < 1e-5);
    // The critic trained against the raw generator in every run, across the
    // checkpoints' swaps to the average and back.
    for run in [&still, &follows] {
        assert_eq!(gap(run, &raw, "d."), 0.0);
    }
    // A decay outside [0, 1) is refused.
    assert!(Trainer::new(config(1.0), None).is_err());
}

#[test]
fn divergence_restores_the_last_good_snapshot() {
    let _guard = serial();
    let mut t = Trainer::new(
        TrainConfig {
            fault_injection_step: Some(2),
            ..tiny_config(5)
        },
        None,
    )
    .unwrap();
    t.set_images(synthetic(2), 0);
    let out = t.run(Arc::new(AtomicBool::new(false)), |_| {}).unwrap();
    assert_eq!(out.rollbacks, 1);
    assert_eq!(out.steps, 5);
}

#[test]
fn cuda_training_step_when_a_gpu_exists() {
    let _guard = serial();
    if !tch::Cuda::is_available() {
        eprintln!("no CUDA device: skipped");
        return;
    }
    let mut t = Trainer::new(
        TrainConfig {
            device: Device::Cuda(0),
            ..tiny_config(3)
        },
        None,
    )
    .unwrap();
    t.set_images(synthetic(2), 0);
    let out = t.run(Arc::new(AtomicBool::new(false)), |_| {}).unwrap();
    assert_eq!(out.steps, 3);
}
