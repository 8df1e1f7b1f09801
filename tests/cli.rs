//! The command line on the same engine: new → paint → info, and clear errors
//! (non-zero exit, a message, never a panic) for bad input.
use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::{fine_detail, lined};

/// The binary with `args`, headless (no display to open a window on).
fn atelier_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_atelier"));
    cmd.args(args)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY");
    cmd
}

fn atelier(args: &[&str]) -> Output {
    atelier_command(args).output().expect("the binary runs")
}

fn assert_clean_failure(out: &Output, expect_in_message: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "expected failure, got success; stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "panicked: {stderr}");
    assert!(
        stderr
            .to_lowercase()
            .contains(&expect_in_message.to_lowercase()),
        "message {stderr:?} does not mention {expect_in_message:?}"
    );
}

#[test]
fn new_paint_info_round_trip() {
    let dir = tempfile::tempdir().expect("temp dir");
    let project = dir.path().join("p.atelier");
    let p = project.to_str().expect("utf-8 path");
    let out = atelier(&["new", p, "--size", "300x200", "--background", "#102030"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let strokes = dir.path().join("s.json");
    std::fs::write(
        &strokes,
        r##"{"strokes":[{"color":"#ff0000","brush":{"radius":8,"smoothing":0},
            "samples":[{"x":20,"y":100},{"x":280,"y":100,"pressure":0.5}]}]}"##,
    )
    .expect("write strokes");
    let out = atelier(&["paint", p, "--strokes", strokes.to_str().expect("utf-8")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = atelier::project::load(Path::new(&project))
        .expect("project loads")
        .doc;
    assert_eq!((doc.width(), doc.height()), (300, 200));
    let g = doc.grid(doc.layers()[0].id).expect("layer");
    assert_eq!(
        g.pixel(150, 100),
        [255, 0, 0, 255],
        "the stroke is on the canvas"
    );
    assert_eq!(g.pixel(150, 20), [16, 32, 48, 255], "background elsewhere");
    for ext in ["png", "jpg", "webp", "tif", "ora"] {
        let out_file = dir.path().join(format!("export.{ext}"));
        let out = atelier(&["export", p, "--out", out_file.to_str().expect("utf-8")]);
        assert!(
            out.status.success(),
            "{ext}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out_file.metadata().expect("exported").len() > 0);
    }
    let png = dir.path().join("export.png");
    let out = atelier(&[
        "import",
        png.to_str().expect("utf-8"),
        "--into",
        p,
        "--as-layers",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = atelier(&["info", p, "--json"]);
    assert!(out.status.success());
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(info["width"], 300);
    assert_eq!(
        info["layers"].as_array().map(|a| a.len()),
        Some(2),
        "the imported image is a layer"
    );
}

#[test]
fn impossible_sizes_and_bad_files_fail_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path().join("x.atelier");
    let p = p.to_str().expect("utf-8");
    assert_clean_failure(&atelier(&["new", p, "--size", "0x10"]), "outside");
    assert_clean_failure(&atelier(&["new", p, "--size", "100000x100000"]), "outside");
    assert_clean_failure(&atelier(&["new", p, "--size", "big"]), "WIDTHxHEIGHT");
    assert_clean_failure(
        &atelier(&["new", p, "--size", "10x10", "--background", "teal"]),
        "not a colour",
    );
    assert!(atelier(&["new", p, "--size", "64x64"]).status.success());
    assert_clean_failure(
        &atelier(&["paint", p, "--strokes", "/nonexistent/strokes.json"]),
        "cannot read stroke file",
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"strokes\": [{\"color\": 3}]}").expect("write");
    assert_clean_failure(
        &atelier(&["paint", p, "--strokes", bad.to_str().expect("utf-8")]),
        "not a valid stroke file",
    );
    let layer = dir.path().join("layer.json");
    std::fs::write(
        &layer,
        r##"{"strokes":[{"layer":5,"color":"#000000","brush":{},"samples":[{"x":1,"y":1}]}]}"##,
    )
    .expect("write");
    assert_clean_failure(
        &atelier(&["paint", p, "--strokes", layer.to_str().expect("utf-8")]),
        "no layer 5",
    );
    let junk = dir.path().join("junk.atelier");
    std::fs::write(&junk, b"this is not a zip").expect("write");
    assert_clean_failure(
        &atelier(&["info", junk.to_str().expect("utf-8")]),
        "not a readable",
    );
    assert_clean_failure(
        &atelier(&["info", "/nonexistent/file.atelier"]),
        "no such file",
    );
}

#[test]
fn the_app_without_a_display_says_why_and_exits_non_zero() {
    let out = Command::new(env!("CARGO_BIN_EXE_atelier"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("the binary runs");
    assert_clean_failure(&out, "could not open the window");
}

#[test]
fn bench_brush_reports_json() {
    let out = atelier(&[
        "bench", "brush", "--dabs", "2000", "--size", "512", "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["pattern"], "stroke");
    assert_eq!(lines[1]["pattern"], "random");
    assert!(lines[0]["dabs_per_second"].as_f64().expect("number") > 0.0);
}

/// Ctrl+C (SIGINT) during `atelier train` stops after the current step and writes a
/// loadable checkpoint instead of losing the run.
#[test]
fn interrupted_training_writes_a_checkpoint() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("data dir");
    for i in 0..2u8 {
        image::RgbImage::from_fn(64, 64, |x, y| {
            image::Rgb([x as u8 * 4, y as u8 * 4, i * 100])
        })
        .save(data.join(format!("{i}.png")))
        .expect("write image");
    }
    let model = dir.path().join("m.safetensors");
    let mut child = Command::new(env!("CARGO_BIN_EXE_atelier"))
        .args(["train", "--data", data.to_str().expect("utf-8"), "--out"])
        .arg(&model)
        .args([
            "--steps",
            "1000000",
            "--size",
            "32",
            "--batch",
            "2",
            "--threads",
            "1",
        ])
        .args(["--workers", "1", "--checkpoint-every", "1000000", "--quiet"])
        .args(["--w-adv", "2.5"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    // Wait until it trains, then interrupt it.
    let started = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.starts_with("training on"));
    assert!(started, "training did not start");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().expect("it exits");
    assert!(status.success(), "exit {status:?}: {rest:?}");
    assert!(rest.iter().any(|l| l.starts_with("stopped")), "{rest:?}");
    let info: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(model.with_extension("json")).expect("sidecar written"),
    )
    .expect("sidecar parses");
    assert!(
        info["steps"]
            .as_u64()
            .is_some_and(|s| s > 0 && s < 1_000_000),
        "{info}"
    );
    // The settings it trained with are recorded, the adversarial weight among them.
    assert_eq!(info["training"]["w_adv"].as_f64(), Some(2.5), "{info}");
    // The checkpoint loads and runs.
    let outdir = dir.path().join("vars");
    let out = atelier(&[
        "vary",
        data.join("0.png").to_str().expect("utf-8"),
        "--count",
        "1",
        "--model",
        model.to_str().expect("utf-8"),
        "--out",
        outdir.to_str().expect("utf-8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_dir(&outdir).expect("variations").count(), 1);
}

#[test]
fn vary_works_at_the_app_s_size_and_keeps_a_large_input_s_detail() {
    let dir = tempfile::tempdir().expect("temp dir");
    // 1 px lines every 4 px: the generator sees this at 512×326.
    let lined = lined(1100, 700);
    let input = dir.path().join("lined.png");
    lined.save(&input).expect("written");
    let vary = |out: &str, extra: &[&str]| {
        let out = dir.path().join(out);
        let mut args = vec![
            "vary",
            input.to_str().expect("utf-8"),
            "--count",
            "1",
            "--out",
            out.to_str().expect("utf-8"),
        ];
        args.extend_from_slice(extra);
        let run = atelier(&args);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        image::open(out.join("lined_var0.png"))
            .expect("a variation")
            .to_rgb8()
    };
    let work = vary("work", &[]);
    assert_eq!(work.dimensions(), (1100, 700));
    assert!(
        fine_detail(&work) > 0.8 * fine_detail(&lined),
        "{} vs {}",
        fine_detail(&work),
        fine_detail(&lined)
    );
    assert_ne!(work, lined, "a variation, not the input");
    // --full-res runs the generator on every pixel: same size, another picture.
    let full = vary("full", &["--full-res"]);
    assert_eq!(full.dimensions(), (1100, 700));
    assert_ne!(full, work);

    let mask = dir.path().join("mask.png");
    image::GrayImage::new(100, 100)
        .save(&mask)
        .expect("written");
    let out = atelier(&[
        "vary",
        input.to_str().expect("utf-8"),
        "--mask",
        mask.to_str().expect("utf-8"),
        "--out",
        dir.path().join("m").to_str().expect("utf-8"),
    ]);
    assert_clean_failure(&out, "the mask");
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    // `atelier vary … --json | head -0`: the reader is gone before the JSON is
    // written (the model loads first), so the write meets a broken pipe.
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("flat.png");
    image::RgbImage::from_pixel(48, 32, image::Rgb([90, 140, 200]))
        .save(&input)
        .expect("written");
    let out_dir = dir.path().join("out");
    let mut child = atelier_command(&[
        "vary",
        input.to_str().expect("utf-8"),
        "--count",
        "1",
        "--out",
        out_dir.to_str().expect("utf-8"),
        "--json",
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("the binary runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("it ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "panicked: {stderr}");
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(
        out_dir.join("flat_var0.png").exists(),
        "the variation is written before the JSON"
    );
}
