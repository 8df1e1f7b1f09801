//! The refinement loop headless (`atelier loop`) with a simulated artist, and
//! model versions: refinement makes a version, rollback restores the previous
//! weights exactly, a refinement forced to NaN is refused.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use atelier::gan::VariationModel;
use atelier::refine::job::{RefineConfig, RefineData, RefineError, refine};
use atelier::refine::versions::ModelStore;

fn python() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python")
}

/// A small sketch: sky, ground, a sun and a path.
fn canvas(dir: &Path) -> PathBuf {
    let img = image::RgbImage::from_fn(96, 96, |x, y| {
        let (dx, dy) = (x as i32 - 72, y as i32 - 24);
        if dx * dx + dy * dy < 144 {
            image::Rgb([240, 200, 60])
        } else if y >= 60 {
            image::Rgb([90, 140, 70])
        } else {
            image::Rgb([150, 180, 220])
        }
    });
    let path = dir.join("canvas.png");
    img.save(&path).expect("write canvas");
    path
}

fn run_loop(dir: &Path, judge: &str, rounds: usize, refine_steps: u64) -> std::process::Output {
    let input = canvas(dir);
    Command::new(env!("CARGO_BIN_EXE_atelier"))
        .args(["loop", input.to_str().expect("utf-8")])
        .args(["--rounds", &rounds.to_string(), "--count", "8"])
        .args([
            "--refine-steps",
            &refine_steps.to_string(),
            "--threads",
            "2",
        ])
        .args(["--judge", judge, "--judge-timeout", "5"])
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .expect("run atelier loop")
}

fn acceptance(dir: &Path) -> Vec<f64> {
    let text = std::fs::read_to_string(dir.join("out/loop.json")).expect("loop.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    v["rounds"]
        .as_array()
        .expect("rounds")
        .iter()
        .map(|r| r["acceptance"].as_f64().expect("acceptance"))
        .collect()
}

/// The simulated artist accepts candidates with a property above a threshold
/// (set near the 75th percentile of what the unsteered default model makes).
/// The loop never sees the rule, so it must learn it from decisions alone,
/// whichever property it is.
#[test]
fn a_simulated_artist_is_learned_whatever_the_rule() {
    let judge = |prop: &str, threshold: &str| {
        format!(
            "{} {} {prop} {threshold}",
            python().display(),
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/interop/judge.py")
                .display()
        )
    };
    for (prop, threshold) in [("warm", "-23"), ("bright", "157")] {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = run_loop(dir.path(), &judge(prop, threshold), 5, 20);
        assert!(
            out.status.success(),
            "{prop}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let curve = acceptance(dir.path());
        eprintln!("{prop}: acceptance per round {curve:?}");
        assert_eq!(curve.len(), 5);
        let (first, last) = (curve[0], curve[4]);
        assert!(
            last >= 2.0 * first.max(1.0 / 8.0) || last >= first + 0.3,
            "{prop}: acceptance went from {first} to {last}: {curve:?}"
        );
        // The decisions and the steering are in the saved project.
        let project =
            atelier::project::load(&dir.path().join("out/loop.atelier")).expect("project");
        assert_eq!(project.meta.candidates.records.len(), 40);
        assert!(project.meta.steering.is_some_and(|s| s.decisions > 0));
    }
}

#[test]
fn a_judge_that_crashes_hangs_or_babbles_is_reported_and_nothing_is_lost() {
    for (judge, expect) in [
        ("exit 3 #", "failed"),
        ("sleep 30 #", "did not answer"),
        (
            "echo maybe; for i in 1 2 3 4 5 6 7; do echo accept; done #",
            "`maybe`",
        ),
        ("echo accept #", "1 decisions for 8 candidates"),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = run_loop(dir.path(), judge, 2, 0);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{judge}: accepted");
        assert_eq!(out.status.code(), Some(1), "{judge}: {stderr}");
        assert!(stderr.contains(expect), "{judge}: {stderr}");
        // The state so far is on disk, with the error.
        let text = std::fs::read_to_string(dir.path().join("out/loop.json")).expect("loop.json");
        assert!(text.contains("\"error\""), "{text}");
        atelier::project::load(&dir.path().join("out/loop.atelier")).expect("project kept");
    }
}

fn weights(model: &VariationModel) -> Vec<(String, Vec<f32>)> {
    let mut v: Vec<(String, Vec<f32>)> = model
        .named_variables()
        .into_iter()
        .map(|(n, t)| {
            let flat = t.flatten(0, -1);
            (n, Vec::<f32>::try_from(&flat).expect("f32"))
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn refinement_makes_a_version_rollback_restores_it_exactly_and_nan_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = ModelStore::open(dir.path()).expect("profile");
    let base = store.load_current(tch::Device::Cpu).expect("default model");
    let before = weights(&base);
    let canvas = image::RgbImage::from_pixel(64, 64, image::Rgb([120, 140, 200]));
    let target = image::RgbImage::from_pixel(64, 64, image::Rgb([200, 120, 80]));
    let data = || RefineData {
        accepted: vec![(canvas.clone(), target.clone())],
        rejected: vec![(canvas.clone(), canvas.clone())],
        ..RefineData::default()
    };
    let config = RefineConfig {
        steps: 3,
        batch: 2,
        threads: Some(2),
        ..RefineConfig::default()
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let refined = refine(&base, data(), &config, cancel.clone(), |_| {}).expect("refine");
    assert_ne!(weights(&refined), before, "refinement changed the weights");
    let id = store.add(&refined, "test").expect("add version");
    assert_eq!(store.current(), Some(id.as_str()));
    assert_eq!(
        store.versions()[0].parent.as_deref(),
        Some(base.info().version_id.as_str())
    );
    let reloaded = store.load_current(tch::Device::Cpu).expect("load");
    assert_eq!(weights(&reloaded), weights(&refined));
    // Rollback: back to the default, bit for bit.
    assert_eq!(store.rollback().expect("rollback"), None);
    let back = store.load_current(tch::Device::Cpu).expect("load");
    assert_eq!(weights(&back), before);
    // Switch forward again, rename, export, delete, import.
    store.switch(Some(&id)).expect("switch");
    store.rename(&id, "warmer skies").expect("rename");
    let exported = dir.path().join("exported.safetensors");
    store.export(&id, &exported).expect("export");
    store.delete(&id).expect("delete");
    assert!(store.versions().is_empty() && store.current().is_none());
    let imported = store.import(&exported).expect("import");
    assert_eq!(imported, id, "the same weights have the same id");
    // A refinement that ends with NaN weights is refused: no new version.
    let poisoned = RefineConfig {
        poison_result: true,
        ..config
    };
    let err = refine(&base, data(), &poisoned, cancel, |_| {}).expect_err("NaN must be refused");
    assert!(matches!(err, RefineError::Diverged(_)), "{err}");
    assert!(err.to_string().contains("rolled back"), "{err}");
    assert_eq!(store.versions().len(), 1);
}
