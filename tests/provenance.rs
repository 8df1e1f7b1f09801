//! Provenance that other tools read: every flattened export format carries
//! the IPTC digital source type in XMP, checked with a real reader, exiftool
//! (Debian `libimage-exiftool-perl`, installed by `scripts/system-deps.sh`),
//! and `atelier info` reports whose picture it is.
//!
//! These tests fail, never skip, when exiftool is absent: a green run must
//! mean the files were read by it.
use std::path::Path;
use std::process::Command;

use atelier::document::{CanvasRect, Document, Provenance};
use atelier::project::xmp;

const FORMATS: [&str; 5] = ["png", "jpg", "webp", "tif", "tiff"];

/// White canvas, a GAN-made red layer over all of it and the artist's blue
/// paint over its left half: half the picture is the GAN's.
fn half_gan_document() -> Document {
    let mut doc = Document::new(96, 64, [255, 255, 255, 255]).expect("canvas");
    let all = doc.bounds();
    let gan = doc.add_layer_with_pixels("GAN", all, &[200, 0, 0, 255].repeat(96 * 64));
    let mut props = doc.layer(gan).expect("layer").props.clone();
    props.provenance = Some(Provenance {
        model: "652de31c1581f8b6".into(),
        seed: 3,
        strength: 0.6,
        candidate: None,
    });
    doc.set_props(gan, props).expect("props");
    doc.add_layer_with_pixels(
        "Paint",
        CanvasRect::new(0, 0, 48, 64),
        &[0, 0, 200, 255].repeat(48 * 64),
    );
    doc
}

/// The same picture painted by hand only.
fn painted_document() -> Document {
    let mut doc = Document::new(96, 64, [255, 255, 255, 255]).expect("canvas");
    doc.add_layer_with_pixels(
        "Paint",
        CanvasRect::new(0, 0, 48, 64),
        &[0, 0, 200, 255].repeat(48 * 64),
    );
    doc
}

fn save(doc: &Document, path: &Path) {
    atelier::project::save(doc, &Default::default(), path).expect("save project");
}

fn atelier(args: &[&str], env: &[(&str, &Path)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_atelier"));
    cmd.args(args)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove(xmp::DATA_CARD_ENV);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the binary runs");
    assert!(
        out.status.success(),
        "atelier {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// exiftool's JSON for `tags` of `file`, raw values (`-n`), one object.
fn exiftool(file: &Path, tags: &[&str]) -> serde_json::Value {
    let out = Command::new("exiftool")
        .args(["-j", "-n"])
        .args(tags)
        .arg(file)
        .output()
        .unwrap_or_else(|e| {
            panic!("exiftool does not run ({e}); install it with scripts/system-deps.sh")
        });
    assert!(
        out.status.success(),
        "exiftool failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("exiftool JSON");
    v[0].clone()
}

fn export_all(project: &Path, dir: &Path, env: &[(&str, &Path)]) -> Vec<std::path::PathBuf> {
    FORMATS
        .iter()
        .map(|ext| {
            let out = dir.join(format!("out.{ext}"));
            let p = project.to_str().expect("utf-8");
            atelier(&["export", p, "--out", out.to_str().expect("utf-8")], env);
            out
        })
        .collect()
}

#[test]
fn every_format_says_a_gan_made_part_of_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let project = dir.path().join("p.atelier");
    save(&half_gan_document(), &project);
    let card = dir.path().join("data-card.json");
    std::fs::write(
        &card,
        r#"{"credit": "Wallpapers from Debian packages (CC BY-SA 4.0 & GPL-2+)"}"#,
    )
    .expect("card");
    for file in export_all(&project, dir.path(), &[(xmp::DATA_CARD_ENV, &card)]) {
        let v = exiftool(&file, &["-XMP-iptcExt:DigitalSourceType"]);
        assert_eq!(
            v["DigitalSourceType"],
            xmp::COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA,
            "{}: {v}",
            file.display()
        );
        // Atelier's own properties are read too, by name.
        let all = exiftool(&file, &["-XMP:all"]);
        assert_eq!(all["GanShare"], 0.5, "{}: {all}", file.display());
        assert_eq!(
            all["TrainingDataCredit"],
            "Wallpapers from Debian packages (CC BY-SA 4.0 & GPL-2+)",
            "{}",
            file.display()
        );
        assert_eq!(all["ModelVersions"], "652de31c1581f8b6", "{all}");
        assert_eq!(all["AISystemVersionUsed"], "652de31c1581f8b6", "{all}");
        // And the picture itself is intact.
        let img = image::open(&file).expect("decodes").into_rgba8();
        assert_eq!(img.dimensions(), (96, 64));
        let (left, right) = (img.get_pixel(10, 10).0, img.get_pixel(80, 10).0);
        assert!(
            left[2] > 150 && left[0] < 60,
            "{}: {left:?}",
            file.display()
        );
        assert!(
            right[0] > 150 && right[2] < 60,
            "{}: {right:?}",
            file.display()
        );
    }
}

#[test]
fn a_painted_picture_is_a_digital_creation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let project = dir.path().join("p.atelier");
    save(&painted_document(), &project);
    for file in export_all(&project, dir.path(), &[]) {
        let v = exiftool(&file, &["-XMP-iptcExt:DigitalSourceType"]);
        assert_eq!(
            v["DigitalSourceType"],
            xmp::DIGITAL_CREATION,
            "{}: {v}",
            file.display()
        );
        let all = exiftool(&file, &["-XMP:all"]);
        assert_eq!(all["GanShare"], 0.0, "{all}");
        assert!(!all["GanShare"].to_string().starts_with('-'), "{all}");
        assert!(all.get("TrainingDataCredit").is_none(), "{all}");
        assert!(all.get("AISystemUsed").is_none(), "{all}");
    }
}

#[test]
fn a_gan_layer_painted_over_entirely_does_not_count() {
    let mut doc = half_gan_document();
    let all = doc.bounds();
    doc.add_layer_with_pixels("Cover", all, &[0, 120, 0, 255].repeat(96 * 64));
    let dir = tempfile::tempdir().expect("temp dir");
    let project = dir.path().join("p.atelier");
    save(&doc, &project);
    let out = dir.path().join("covered.png");
    atelier(
        &[
            "export",
            project.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
        ],
        &[],
    );
    let v = exiftool(&out, &["-XMP-iptcExt:DigitalSourceType"]);
    assert_eq!(v["DigitalSourceType"], xmp::DIGITAL_CREATION, "{v}");
}

#[test]
fn a_card_path_that_is_not_there_still_gives_a_credit_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let project = dir.path().join("p.atelier");
    save(&half_gan_document(), &project);
    let out = dir.path().join("out.jpg");
    // A card that is not there: the lookup goes on to the installed card, or
    // to the default model's record of its data.
    let missing = dir.path().join("no-card.json");
    atelier(
        &[
            "export",
            project.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
        ],
        &[(xmp::DATA_CARD_ENV, &missing)],
    );
    let all = exiftool(&out, &["-XMP:all"]);
    let credit = all["TrainingDataCredit"].as_str().unwrap_or_default();
    assert!(!credit.is_empty(), "{all}");
}

#[test]
fn info_reports_whose_picture_it_is() {
    let dir = tempfile::tempdir().expect("temp dir");
    let project = dir.path().join("p.atelier");
    save(&half_gan_document(), &project);
    let p = project.to_str().expect("utf-8");
    let out = atelier(&["info", p, "--json"], &[]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("info JSON");
    let a = &v["authorship"];
    let share = a["gan_share"].as_f64().expect("gan_share");
    assert!((share - 0.5).abs() < 1e-6, "{a}");
    assert_eq!(
        a["digital_source_type"],
        xmp::COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA
    );
    assert_eq!(a["models"][0]["model"], "652de31c1581f8b6");
    let text = atelier(&["info", p], &[]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("authorship: GAN 50.0% (model 652de31c1581f8b6 50.0%), artist 50.0%"),
        "{text}"
    );
}
