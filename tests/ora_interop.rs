//! OpenRaster interop against an independent reader and writer: Python's
//! `pyora` (installed into `.venv` by scripts/env.sh). Our `.ora` exports and
//! `.atelier` projects open in it with their layers, and its rendering of the
//! stack matches our flattened export; files it writes import with their layers.
use std::path::{Path, PathBuf};
use std::process::Command;

use atelier::document::{BlendMode, CanvasRect, Document, History};

fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    std::env::var_os("ATELIER_PYTHON")
        .map(PathBuf::from)
        .unwrap_or(venv)
}

fn pyora(args: &[&str]) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/pyora_check.py");
    let out = Command::new(python())
        .arg(script)
        .args(args)
        .output()
        .expect("run python (scripts/env.sh creates .venv with pyora)");
    assert!(
        out.status.success(),
        "pyora_check.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("pyora_check.py prints JSON")
}

/// Normal-blend layers with partial opacity, a hidden layer and
/// semi-transparent pixels over an opaque background.
fn normal_blend_doc() -> Document {
    let mut doc = Document::new(90, 60, [235, 225, 205, 255]).expect("size");
    let mut h = History::with_budget(0);
    let layers: [(&str, [u8; 4], CanvasRect, f32, bool); 3] = [
        (
            "sky",
            [40, 110, 220, 255],
            CanvasRect::new(0, 0, 90, 25),
            0.7,
            true,
        ),
        (
            "sun",
            [250, 200, 30, 140],
            CanvasRect::new(50, 5, 20, 20),
            1.0,
            true,
        ),
        (
            "sketch",
            [10, 10, 10, 255],
            CanvasRect::new(5, 30, 60, 10),
            1.0,
            false,
        ),
    ];
    for (name, colour, rect, opacity, visible) in layers {
        let px = colour.repeat((rect.w * rect.h) as usize);
        h.edit_stack(&mut doc, "add", None, |d| {
            let id = d.add_layer_with_pixels(name, rect, &px);
            let mut p = d.layer(id).expect("layer").props.clone();
            p.opacity = opacity;
            p.visible = visible;
            d.set_props(id, p)
        })
        .expect("edit");
    }
    doc
}

#[test]
fn pyora_reads_our_files_and_renders_them_as_we_do() {
    let doc = normal_blend_doc();
    let dir = tempfile::tempdir().expect("temp dir");
    let ours = dir.path().join("flat.png");
    atelier::project::export(&doc, &ours, 92).expect("png export");
    let ours = image::open(&ours).expect("png").into_rgba8();
    let ora = dir.path().join("piece.ora");
    atelier::project::export(&doc, &ora, 92).expect("ora export");
    let project = dir.path().join("piece.atelier");
    atelier::project::save(&doc, &Default::default(), &project).expect("save");
    for file in [&ora, &project] {
        let path = file.to_str().expect("utf-8");
        let info = pyora(&["read", path]);
        assert_eq!(
            (info["width"].as_u64(), info["height"].as_u64()),
            (Some(90), Some(60))
        );
        let layers = info["layers"].as_array().expect("layers");
        let names: Vec<&str> = layers.iter().filter_map(|l| l["name"].as_str()).collect();
        assert_eq!(names, ["Background", "sky", "sun", "sketch"], "{path}");
        assert_eq!(
            layers[1]["opacity"].as_f64().map(|o| (o * 100.0).round()),
            Some(70.0)
        );
        assert_eq!(layers[3]["visible"].as_bool(), Some(false));
        assert_eq!(layers[2]["composite_op"].as_str(), Some("svg:src-over"));
        let theirs = image::open(format!("{path}.pyora.png"))
            .expect("pyora render")
            .into_rgba8();
        assert_eq!(theirs.dimensions(), ours.dimensions());
        let worst = ours
            .as_raw()
            .iter()
            .zip(theirs.as_raw())
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap_or(0);
        assert!(
            worst <= 1,
            "{path}: pyora's rendering differs by {worst}/255"
        );
    }
}

#[test]
fn files_written_by_pyora_import_with_their_layers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ora = dir.path().join("from-pyora.ora");
    let written = pyora(&["write", ora.to_str().expect("utf-8")]);
    let written = written.as_array().expect("layers");
    let project = atelier::project::load(&ora).expect("pyora's file opens");
    assert!(project.warnings.is_empty(), "{:?}", project.warnings);
    let doc = &project.doc;
    assert_eq!((doc.width(), doc.height()), (64, 48));
    assert_eq!(doc.layers().len(), written.len());
    for (layer, w) in doc.layers().iter().zip(written) {
        let p = &layer.props;
        assert_eq!(Some(p.name.as_str()), w["name"].as_str());
        assert!((f64::from(p.opacity) - w["opacity"].as_f64().expect("opacity")).abs() < 1e-3);
        assert_eq!(Some(p.visible), w["visible"].as_bool());
        assert_eq!(Some(p.blend.svg_name()), w["composite_op"].as_str());
        // The layer's pixels sit at its offset.
        let b: Vec<u32> = w["box"]
            .as_array()
            .expect("box")
            .iter()
            .filter_map(|v| v.as_u64().map(|v| v as u32))
            .collect();
        let c: Vec<u8> = w["colour"]
            .as_array()
            .expect("colour")
            .iter()
            .filter_map(|v| v.as_u64().map(|v| v as u8))
            .collect();
        let px = layer.grid.pixel(b[0] + b[2] / 2, b[1] + b[3] / 2);
        let straight = atelier::document::blend::unpremultiply(px);
        for i in 0..4 {
            assert!(
                straight[i].abs_diff(c[i]) <= 2,
                "{}: {straight:?} vs {c:?}",
                p.name
            );
        }
        if b[0] > 0 {
            assert_eq!(layer.grid.pixel(b[0] - 1, b[1]), [0; 4], "{}", p.name);
        }
    }
    assert_eq!(doc.layers()[1].props.blend, BlendMode::Multiply);
    // Import as layers into another project keeps them too.
    let mut target = Document::new(64, 48, [255; 4]).expect("size");
    let layers = atelier::project::import::decode_layers(&ora).expect("decode");
    let mut h = History::default();
    for (props, img) in layers {
        atelier::project::import::add_layer_with_props(&mut target, &mut h, props, &img)
            .expect("add");
    }
    let names: Vec<&str> = target
        .layers()
        .iter()
        .map(|l| l.props.name.as_str())
        .collect();
    assert_eq!(names, ["Background", "paper", "wash", "notes", "glaze"]);
    // The CLI imports it the same way, as layers and as a new project.
    let cli = |args: &[&std::ffi::OsStr]| {
        let out = Command::new(env!("CARGO_BIN_EXE_atelier"))
            .args(args)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .output()
            .expect("the binary runs");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let into = dir.path().join("into.atelier");
    atelier::project::save(
        &Document::new(64, 48, [255; 4]).expect("size"),
        &Default::default(),
        &into,
    )
    .expect("save");
    cli(&[
        "import".as_ref(),
        ora.as_os_str(),
        "--into".as_ref(),
        into.as_os_str(),
        "--as-layers".as_ref(),
    ]);
    let fresh = dir.path().join("fresh.atelier");
    cli(&[
        "import".as_ref(),
        ora.as_os_str(),
        "--into".as_ref(),
        fresh.as_os_str(),
    ]);
    for (path, first) in [(&into, 1), (&fresh, 0)] {
        let doc = atelier::project::load(path).expect("loads").doc;
        let got: Vec<_> = doc.layers()[first..]
            .iter()
            .map(|l| (l.props.name.as_str(), l.props.visible, l.props.blend))
            .collect();
        let want: Vec<_> = target.layers()[1..]
            .iter()
            .map(|l| (l.props.name.as_str(), l.props.visible, l.props.blend))
            .collect();
        assert_eq!(got, want, "{}", path.display());
    }
}
