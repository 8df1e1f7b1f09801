//! The command line on the same engine: new → paint → info, and clear errors
//! (non-zero exit, a message, never a panic) for bad input.
use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::{fine_detail, lined};
#[path = "fixtures/ora_zip.rs"]
mod ora_zip;

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

fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Names, opacities and visibility of a project's layers, bottom first.
fn layer_summary(path: &Path) -> Vec<(String, f32, bool)> {
    let p = atelier::project::load(path).expect("project loads");
    p.doc
        .layers()
        .iter()
        .map(|l| (l.props.name.clone(), l.props.opacity, l.props.visible))
        .collect()
}

/// An OpenRaster file (as Krita writes it, and as our own export writes it)
/// imports with all its layers, as the app's Import as layers does: into an
/// existing project with `--as-layers`, and as a new project.
#[test]
fn openraster_files_import_with_their_layers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let s = |p: &Path| p.to_str().expect("utf-8").to_owned();
    let krita = dir.path().join("krita.ora");
    ora_zip::write_krita_ora(&krita);
    let expected = ora_zip::krita_layers();
    let check_krita_layers = |project: &Path, first: usize| {
        let p = atelier::project::load(project).expect("project loads");
        let layers = &p.doc.layers()[first..];
        assert_eq!(layers.len(), expected.len(), "{}", project.display());
        for (layer, want) in layers.iter().zip(&expected) {
            assert_eq!(layer.props.name, want.name);
            assert!((layer.props.opacity - want.opacity).abs() < 1e-3);
            assert_eq!(layer.props.visible, want.visible, "{}", want.name);
            // Its pixels sit at its offset, and nothing outside.
            let [x, y, w, h] = want.rect;
            assert_eq!(layer.grid.pixel(x + w / 2, y + h / 2), want.colour);
            if x > 0 {
                assert_eq!(layer.grid.pixel(x - 1, y), [0; 4], "{}", want.name);
            }
        }
    };

    // Into an existing project, as layers.
    let target = dir.path().join("target.atelier");
    assert_success(&atelier(&["new", &s(&target), "--size", "64x48"]), "new");
    let out = atelier(&["import", &s(&krita), "--into", &s(&target), "--as-layers"]);
    assert_success(&out, "import krita.ora --as-layers");
    assert_eq!(layer_summary(&target)[0].0, "Background");
    check_krita_layers(&target, 1);

    // As a new project: the file's size and layers.
    let fresh = dir.path().join("fresh.atelier");
    assert_success(
        &atelier(&["import", &s(&krita), "--into", &s(&fresh)]),
        "import krita.ora into a new project",
    );
    let p = atelier::project::load(&fresh).expect("loads");
    assert_eq!((p.doc.width(), p.doc.height()), ora_zip::KRITA_SIZE);
    check_krita_layers(&fresh, 0);

    // A new project from an image, then an OpenRaster file's layers on top.
    let png = dir.path().join("paper.png");
    image::RgbaImage::from_pixel(64, 48, image::Rgba([1, 2, 3, 255]))
        .save(&png)
        .expect("png");
    let mixed = dir.path().join("mixed.atelier");
    assert_success(
        &atelier(&["import", &s(&png), &s(&krita), "--into", &s(&mixed)]),
        "import paper.png krita.ora",
    );
    assert_eq!(layer_summary(&mixed)[0].0, "paper");
    check_krita_layers(&mixed, 1);

    // Our own OpenRaster export round-trips through import too.
    let own = dir.path().join("own.ora");
    assert_success(
        &atelier(&["export", &s(&target), "--out", &s(&own)]),
        "export .ora",
    );
    let again = dir.path().join("again.atelier");
    assert_success(
        &atelier(&["new", &s(&again), "--size", "64x48"]),
        "new again",
    );
    assert_success(
        &atelier(&["import", &s(&own), "--into", &s(&again), "--as-layers"]),
        "import own.ora --as-layers",
    );
    check_krita_layers(&again, 2);
    let own_new = dir.path().join("own-new.atelier");
    assert_success(
        &atelier(&["import", &s(&own), "--into", &s(&own_new)]),
        "import own.ora into a new project",
    );
    assert_eq!(layer_summary(&own_new), layer_summary(&target));
}

/// `opacity="NaN"` in a hand-written stack.xml: the layer is read as opaque,
/// with a warning, instead of a NaN opacity reaching `atelier info`.
#[test]
fn info_never_shows_a_nan_opacity() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ora = dir.path().join("odd-values.ora");
    let layer = image::RgbaImage::from_pixel(8, 8, image::Rgba([9, 9, 9, 255]));
    ora_zip::write_ora(
        &ora,
        r#"<image w="8" h="8"><stack>
            <layer name="odd" src="data/a.png" opacity="NaN" x="NaN" y="0"/>
            <layer name="base" src="data/a.png" opacity="inf"/>
        </stack></image>"#,
        &[("data/a.png", &layer)],
        &[],
    );
    let p = ora.to_str().expect("utf-8");
    let out = atelier(&["info", p]);
    assert_success(&out, "info odd-values.ora");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stdout.contains("opacity NaN"), "{stdout}");
    assert!(!stdout.contains("opacity inf"), "{stdout}");
    assert_eq!(stdout.matches("opacity 1.00").count(), 2, "{stdout}");
    assert!(
        stderr.contains("warning") && stderr.contains("opacity") && stderr.contains("odd"),
        "{stderr}"
    );
    let out = atelier(&["info", p, "--json"]);
    assert_success(&out, "info --json");
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(info["layers"][0]["opacity"].as_f64(), Some(1.0), "{info}");
}

/// `vary --count 0` is refused before anything is loaded or written.
#[test]
fn vary_refuses_a_count_of_zero_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("in.png");
    image::RgbImage::from_pixel(16, 16, image::Rgb([200, 100, 50]))
        .save(&input)
        .expect("png");
    for count in ["0", "65"] {
        let out_dir = dir.path().join(format!("out-{count}"));
        let out = atelier(&[
            "vary",
            input.to_str().expect("utf-8"),
            "--count",
            count,
            "--out",
            out_dir.to_str().expect("utf-8"),
        ]);
        assert_clean_failure(&out, "--count must be 1–64");
        assert!(
            !out_dir.exists(),
            "--count {count}: the output folder was made"
        );
    }
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["in.png"], "nothing else was written");
}

/// The binary with `args` under `umask` (set by `sh` before it execs), headless.
fn atelier_with_umask(umask: &str, args: &[&str]) -> Output {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_atelier"))
        .args(args)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("sh runs the binary");
    assert_success(&out, &format!("umask {umask}: atelier {args:?}"));
    out
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("written")
        .permissions()
        .mode()
        & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Files the CLI writes get the mode a plain create gives (0666 less the
/// umask), not the temporary file's 0600; a file it overwrites keeps its mode.
#[test]
fn written_files_get_the_umask_s_mode_and_overwrites_keep_theirs() {
    use atelier::decisions::history::{CandidateRecord, Decision, encode_png};
    let dir = tempfile::tempdir().expect("temp dir");
    let s = |p: &Path| p.to_str().expect("utf-8").to_owned();
    let project = dir.path().join("p.atelier");
    atelier_with_umask("022", &["new", &s(&project), "--size", "32x24"]);
    assert_eq!(mode(&project), 0o644, "new");
    let strokes = dir.path().join("s.json");
    std::fs::write(
        &strokes,
        r##"{"strokes":[{"color":"#ff0000","brush":{"radius":3},"samples":[{"x":2,"y":2},{"x":20,"y":12}]}]}"##,
    )
    .expect("write strokes");
    atelier_with_umask("022", &["paint", &s(&project), "--strokes", &s(&strokes)]);
    assert_eq!(mode(&project), 0o644, "paint");
    let png = dir.path().join("e.png");
    atelier_with_umask("022", &["export", &s(&project), "--out", &s(&png)]);
    assert_eq!(mode(&png), 0o644, "export");
    // The umask decides: 027 gives 0640.
    let other = dir.path().join("q.atelier");
    atelier_with_umask("027", &["new", &s(&other), "--size", "8x8"]);
    assert_eq!(mode(&other), 0o640, "new under umask 027");

    // Overwritten files keep their own mode.
    set_mode(&project, 0o640);
    atelier_with_umask("022", &["paint", &s(&project), "--strokes", &s(&strokes)]);
    assert_eq!(mode(&project), 0o640, "paint over a 0640 project");
    set_mode(&png, 0o600);
    atelier_with_umask("022", &["export", &s(&project), "--out", &s(&png)]);
    assert_eq!(mode(&png), 0o600, "export over a 0600 file");

    // Exported candidates: a project with two in its history.
    let mut meta = atelier::project::ProjectMeta::default();
    let img = image::RgbImage::from_pixel(8, 6, image::Rgb([10, 200, 30]));
    let input = meta.candidates.add_input(encode_png(&img).expect("png"));
    for seed in [1, 2] {
        meta.candidates.record(
            CandidateRecord {
                id: 0,
                input: input.clone(),
                output: String::new(),
                rect: [0, 0, 8, 6],
                selection: None,
                seed,
                z: vec![0.0; 4],
                model: "test".into(),
                strength: 0.5,
                critic: 0.0,
                decision: Decision::Accepted,
                favourite: false,
                time: 1_700_000_000,
            },
            encode_png(&img).expect("png"),
        );
    }
    let with_candidates = dir.path().join("c.atelier");
    let doc = atelier::document::Document::new(8, 6, [255; 4]).expect("size");
    atelier::project::save(&doc, &meta, &with_candidates).expect("save");
    let out_dir = dir.path().join("candidates");
    atelier_with_umask(
        "022",
        &[
            "export",
            &s(&with_candidates),
            "--candidates",
            "all",
            "--out",
            &s(&out_dir),
        ],
    );
    let written: Vec<_> = std::fs::read_dir(&out_dir)
        .expect("candidates folder")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(written.len(), 2, "{written:?}");
    for path in &written {
        assert_eq!(mode(path), 0o644, "{}", path.display());
    }
}
