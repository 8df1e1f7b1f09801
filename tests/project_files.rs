//! Project files: documents survive save → load with identical pixels and
//! layer properties, and saves replace the file atomically.
use atelier::decisions::history::{CandidateRecord, Decision, encode_png};
use atelier::decisions::{CandidateHistory, LatentSteering};
use atelier::document::{BlendMode, CanvasRect, Document, History, Provenance};
use atelier::project::{ProjectMeta, ProjectSettings};
use proptest::prelude::*;

#[path = "fixtures/ora_zip.rs"]
mod ora_zip;

/// A candidate history with images, decisions and favourites, and steering.
fn random_meta(seed: u64, n: usize) -> ProjectMeta {
    let mut candidates = CandidateHistory::default();
    let img = |k: u64| {
        image::RgbImage::from_fn(7, 5, |x, y| {
            image::Rgb([
                (x as u64 * 31 + k) as u8,
                (y as u64 * 17 + k * 3) as u8,
                k as u8,
            ])
        })
    };
    let input = candidates.add_input(encode_png(&img(seed)).expect("png"));
    let mut steering = LatentSteering::new(8);
    for i in 0..n as u64 {
        let z: Vec<f32> = (0..8)
            .map(|d| ((seed + i * 8 + d) % 13) as f32 / 6.0 - 1.0)
            .collect();
        let id = candidates.record(
            CandidateRecord {
                id: 0,
                input: input.clone(),
                output: String::new(),
                rect: [1, 2, 7, 5],
                selection: None,
                seed: seed.wrapping_add(i),
                z: z.clone(),
                model: format!("v{}", seed % 5),
                strength: 0.25 * (i % 4) as f32,
                critic: i as f32 * -0.5,
                decision: Decision::Pending,
                favourite: false,
                time: 1_700_000_000 + i,
            },
            encode_png(&img(seed + i + 1)).expect("png"),
        );
        match (seed + i) % 3 {
            0 => {
                candidates.decide(id, Decision::Accepted);
                steering.update(&[z], &[]);
            }
            1 => {
                candidates.decide(id, Decision::Rejected);
                steering.update(&[], &[z]);
            }
            _ => {}
        }
        if (seed + i).is_multiple_of(4) {
            candidates.toggle_favourite(id);
        }
    }
    ProjectMeta {
        settings: ProjectSettings {
            vary_count: 1 + (seed % 9) as usize,
            vary_strength: 0.3,
            vary_seed: seed,
            lock_seed: seed.is_multiple_of(2),
            keep_lines: seed.is_multiple_of(3),
            active_layer: 0,
        },
        candidates,
        steering: (n > 0).then_some(steering),
    }
}

fn random_doc(seed: u64, layers: usize) -> Document {
    let mut doc = Document::new(97, 70, [250, 240, 230, 255]).expect("size");
    let mut h = History::with_budget(0);
    let mut s = seed;
    let mut next = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) as u32
    };
    for i in 0..layers {
        let (x, y) = (next() % 90, next() % 60);
        let (w, hgt) = (1 + next() % 30, 1 + next() % 30);
        let px: Vec<u8> = (0..w * hgt)
            .flat_map(|_| {
                let a = (next() % 256) as u8;
                [
                    (next() % 256) as u8,
                    (next() % 256) as u8,
                    (next() % 256) as u8,
                    a,
                ]
            })
            .collect();
        h.edit_stack(&mut doc, "add", None, |d| {
            let id = d.add_layer_with_pixels(
                &format!("Layer <{i}> & \"q\""),
                CanvasRect::new(x, y, w, hgt),
                &px,
            );
            let mut p = d.layer(id).expect("layer").props.clone();
            p.blend = BlendMode::ALL[(next() % 7) as usize];
            p.opacity = (next() % 101) as f32 / 100.0;
            p.visible = next() % 4 != 0;
            p.lock_alpha = next() % 3 == 0;
            if next() % 2 == 0 {
                p.provenance = Some(Provenance {
                    model: format!("m{}", next() % 9),
                    seed: u64::from(next()),
                    strength: 0.5,
                    candidate: Some(u64::from(next() % 4)),
                });
            }
            d.set_props(id, p)
        })
        .expect("edit");
    }
    doc
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn save_then_load_keeps_pixels_properties_and_history(
        seed in any::<u64>(),
        layers in 0usize..5,
        candidates in 0usize..6,
    ) {
        let doc = random_doc(seed, layers);
        let meta = random_meta(seed, candidates);
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("d.atelier");
        atelier::project::save(&doc, &meta, &path).expect("save");
        let project = atelier::project::load(&path).expect("load");
        prop_assert!(project.warnings.is_empty(), "{:?}", project.warnings);
        // Candidate history (records and lossless images), steering, settings.
        prop_assert_eq!(&project.meta, &meta);
        let back = project.doc;
        prop_assert_eq!((back.width(), back.height()), (doc.width(), doc.height()));
        prop_assert_eq!(back.layers().len(), doc.layers().len());
        for (a, b) in doc.layers().iter().zip(back.layers()) {
            prop_assert_eq!(&a.props.name, &b.props.name);
            prop_assert_eq!(a.props.blend, b.props.blend);
            prop_assert!((a.props.opacity - b.props.opacity).abs() < 1e-3);
            prop_assert_eq!(a.props.visible, b.props.visible);
            prop_assert_eq!(a.props.lock_alpha, b.props.lock_alpha);
            prop_assert_eq!(&a.props.provenance, &b.props.provenance);
            // Layers are stored straight (non-premultiplied) in PNG: the
            // premultiplied round trip is exact up to one step where alpha is small.
            let (pa, pb) = (a.grid.read_rect(doc.bounds()), b.grid.read_rect(doc.bounds()));
            for (x, y) in pa.iter().zip(&pb) {
                prop_assert!(x.abs_diff(*y) <= 1, "pixel differs: {} vs {}", x, y);
            }
        }
    }
}

#[test]
fn a_failed_save_leaves_the_previous_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keep.atelier");
    let doc = random_doc(1, 2);
    let meta = ProjectMeta::default();
    atelier::project::save(&doc, &meta, &path).expect("save");
    let before = std::fs::read(&path).expect("read");
    // Saving into a folder that does not exist fails without touching anything.
    assert!(atelier::project::save(&doc, &meta, &dir.path().join("missing/keep.atelier")).is_err());
    assert_eq!(std::fs::read(&path).expect("read"), before);
    // A damaged file is refused with a message naming the problem.
    std::fs::write(&path, &before[..before.len() / 2]).expect("truncate");
    let err = atelier::project::load(&path).expect_err("truncated file");
    assert!(err.to_string().contains("keep.atelier"), "{err}");
}

/// Rewrites `src` into `dst`, dropping parts for which `keep` is false and
/// replacing `atelier/manifest.json` with `manifest` when given.
fn rewrite_zip(
    src: &std::path::Path,
    dst: &std::path::Path,
    keep: impl Fn(&str) -> bool,
    manifest: Option<&[u8]>,
) {
    use std::io::{Read, Write};
    let mut zin = zip::ZipArchive::new(std::fs::File::open(src).expect("open")).expect("zip");
    let mut zout = zip::ZipWriter::new(std::fs::File::create(dst).expect("create"));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..zin.len() {
        let mut entry = zin.by_index(i).expect("entry");
        let name = entry.name().expect("utf-8 name").into_owned();
        if !keep(&name) {
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("read");
        if name == "atelier/manifest.json"
            && let Some(m) = manifest
        {
            bytes = m.to_vec();
        }
        zout.start_file(name, stored).expect("start");
        zout.write_all(&bytes).expect("write");
    }
    zout.finish().expect("finish");
}

#[test]
fn damaged_projects_are_refused_naming_the_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = dir.path().join("good.atelier");
    atelier::project::save(&random_doc(3, 2), &random_meta(3, 2), &good).expect("save");
    let err = |path: &std::path::Path| {
        atelier::project::load(path)
            .map(|_| ())
            .expect_err("must be refused")
            .to_string()
    };
    // A missing layer PNG.
    let missing = dir.path().join("missing.atelier");
    rewrite_zip(&good, &missing, |n| n != "data/layer1.png", None);
    assert!(
        err(&missing).contains("missing part `data/layer1.png`"),
        "{}",
        err(&missing)
    );
    // A newer schema than this build reads.
    let newer = dir.path().join("newer.atelier");
    rewrite_zip(&good, &newer, |_| true, Some(br#"{"schema": 7}"#));
    assert!(err(&newer).contains("newer"), "{}", err(&newer));
    // A zip that is not an OpenRaster file.
    let other = dir.path().join("other.atelier");
    rewrite_zip(&good, &other, |n| n != "mimetype", None);
    assert!(err(&other).contains("mimetype"), "{}", err(&other));
    // A missing history image loads, with a warning naming it.
    let history = dir.path().join("history.atelier");
    rewrite_zip(
        &good,
        &history,
        |n| n != "atelier/history/candidate-1.png",
        None,
    );
    let project = atelier::project::load(&history).expect("loads");
    assert!(
        project
            .warnings
            .iter()
            .any(|w| w.contains("candidate-1.png")),
        "{:?}",
        project.warnings
    );
}

/// Every number in a hand-written stack.xml is checked: an opacity that is
/// not a finite number is refused (the layer is opaque, with a warning) and a
/// finite one is clamped to 0..1; offsets that are not finite numbers are 0
/// (with a warning) and huge ones stay off the canvas; unknown visibility and
/// alpha-preserve words warn and take the default; a canvas size that is not
/// a whole number within the limits refuses the file.
#[test]
fn numbers_in_stack_xml_are_clamped_or_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let px = image::RgbaImage::from_pixel(4, 4, image::Rgba([50, 60, 70, 255]));
    let ora = dir.path().join("odd.ora");
    ora_zip::write_ora(
        &ora,
        r#"<image w="40" h="30"><stack>
            <layer name="nan" src="data/a.png" opacity="NaN" x="NaN" y="inf"/>
            <layer name="big" src="data/a.png" opacity="7.5" x="1e300" y="-1e300" visibility="bogus"/>
            <layer name="low" src="data/a.png" opacity="-0.25" x="-9223372036854775808" y="3.6"
                   visibility=" HIDDEN " alpha-preserve="maybe"/>
            <layer name="neginf" src="data/a.png" opacity="-inf" x="5" y="4" visibility="Visible"
                   alpha-preserve="TRUE"/>
            <layer name="word" src="data/a.png" opacity="half" x="12abc" y=""/>
        </stack></image>"#,
        &[("data/a.png", &px)],
        &[],
    );
    let project = atelier::project::load(&ora).expect("loads");
    let doc = &project.doc;
    let by_name = |n: &str| {
        doc.layers()
            .iter()
            .find(|l| l.props.name == n)
            .unwrap_or_else(|| panic!("layer {n}"))
    };
    for l in doc.layers() {
        assert!(
            (0.0..=1.0).contains(&l.props.opacity),
            "{}: opacity {}",
            l.props.name,
            l.props.opacity
        );
    }
    let opacity = |n: &str| by_name(n).props.opacity;
    assert_eq!(opacity("nan"), 1.0);
    assert_eq!(opacity("big"), 1.0);
    assert_eq!(opacity("low"), 0.0);
    assert_eq!(opacity("neginf"), 1.0);
    assert_eq!(opacity("word"), 1.0);
    // Unreadable offsets are 0; huge ones leave the layer off the canvas.
    assert_eq!(by_name("nan").grid.pixel(0, 0), [50, 60, 70, 255]);
    assert_eq!(by_name("word").grid.pixel(0, 0), [50, 60, 70, 255]);
    assert_eq!(by_name("big").grid.tile_count(), 0);
    assert_eq!(by_name("low").grid.tile_count(), 0);
    assert_eq!(by_name("neginf").grid.pixel(5, 4), [50, 60, 70, 255]);
    assert_eq!(by_name("neginf").grid.pixel(4, 4), [0; 4]);
    // Visibility and alpha-preserve words.
    assert!(!by_name("low").props.visible);
    assert!(by_name("big").props.visible && by_name("neginf").props.visible);
    assert!(by_name("neginf").props.lock_alpha);
    assert!(!by_name("low").props.lock_alpha);
    let warned = |layer: &str, what: &str| {
        project
            .warnings
            .iter()
            .any(|w| w.contains(&format!("`{layer}`")) && w.contains(what))
    };
    for (layer, what) in [
        ("nan", "opacity"),
        ("nan", "x"),
        ("nan", "y"),
        ("big", "opacity"),
        ("big", "visibility"),
        ("low", "opacity"),
        ("low", "alpha-preserve"),
        ("neginf", "opacity"),
        ("word", "opacity"),
        ("word", "x"),
    ] {
        assert!(
            warned(layer, what),
            "no warning for {layer} {what}: {:?}",
            project.warnings
        );
    }
    // What was read saves as valid numbers.
    let saved = dir.path().join("saved.atelier");
    atelier::project::save(doc, &project.meta, &saved).expect("save");
    let again = atelier::project::load(&saved).expect("reload");
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);

    // Canvas sizes: not whole numbers in 1..=16384 refuse the file by name.
    for (w, h) in [
        ("0", "10"),
        ("NaN", "10"),
        ("-5", "10"),
        ("1e9", "10"),
        ("10", "99999"),
        ("10.5", "10"),
        ("10", "inf"),
    ] {
        let path = dir.path().join("size.ora");
        ora_zip::write_ora(
            &path,
            &format!(r#"<image w="{w}" h="{h}"><stack></stack></image>"#),
            &[],
            &[],
        );
        let err = atelier::project::load(&path)
            .map(|_| ())
            .expect_err(&format!("{w}×{h} must be refused"))
            .to_string();
        assert!(err.contains("size.ora"), "{err}");
        assert!(
            err.contains("16384") || err.contains("whole number"),
            "{w}×{h}: {err}"
        );
    }
}

/// Numbers in atelier/manifest.json outside their ranges (serde reads 1e300
/// into an f32 as infinity) are clamped, with warnings, so nothing
/// non-finite or out of range reaches the app.
#[test]
fn numbers_in_the_manifest_are_clamped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = dir.path().join("good.atelier");
    let doc = random_doc(5, 2);
    atelier::project::save(&doc, &random_meta(5, 3), &good).expect("save");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&good).expect("open")).expect("zip");
    let manifest: serde_json::Value = {
        let entry = zip.by_name("atelier/manifest.json").expect("manifest");
        serde_json::from_reader(entry).expect("json")
    };
    for (count, strength) in [(0u64, 1e300), (1_000_000, -1e300), (12, -0.5)] {
        let mut m = manifest.clone();
        m["settings"]["vary_count"] = count.into();
        m["settings"]["vary_strength"] = strength.into();
        m["settings"]["active_layer"] = 99.into();
        let c = &mut m["candidates"][0];
        c["strength"] = strength.into();
        c["critic"] = (-strength).into();
        c["z"][0] = 1e300.into();
        c["rect"] = serde_json::json!([u32::MAX, u32::MAX, u32::MAX, u32::MAX]);
        c["selection"] = serde_json::json!([u32::MAX, 0, u32::MAX, 1]);
        let st = &mut m["steering"];
        st["mean"][1] = 1e300.into();
        st["std"][0] = (-1e300).into();
        st["std"][2] = 0.into();
        st["learning_rate"] = strength.into();
        st["repel"] = 1e300.into();
        m["layers"][1]["provenance"] = serde_json::json!({
            "model": "m", "seed": 1, "strength": strength, "candidate": 1
        });
        let path = dir.path().join("odd.atelier");
        let bytes = serde_json::to_vec(&m).expect("json");
        rewrite_zip(&good, &path, |_| true, Some(&bytes));
        let p = atelier::project::load(&path).expect("loads");
        let s = &p.meta.settings;
        assert!(
            (1..=9).contains(&s.vary_count),
            "count {count}: {}",
            s.vary_count
        );
        assert!(
            (0.0..=1.0).contains(&s.vary_strength),
            "strength {strength}: {}",
            s.vary_strength
        );
        assert!(s.active_layer < p.doc.layers().len(), "{}", s.active_layer);
        let r = &p.meta.candidates.records[0];
        assert!((0.0..=1.0).contains(&r.strength), "{}", r.strength);
        assert!(r.critic.is_finite() && r.z.iter().all(|v| v.is_finite()));
        let max = atelier::document::MAX_SIDE;
        assert!(r.rect.iter().all(|&v| v <= max), "{:?}", r.rect);
        assert!(
            r.selection.is_some_and(|sel| sel.iter().all(|&v| v <= max)),
            "{:?}",
            r.selection
        );
        let st = p.meta.steering.as_ref().expect("steering");
        assert_eq!(st.mean.len(), st.std.len());
        assert!(st.mean.iter().chain(&st.std).all(|v| v.is_finite()));
        assert!(st.std.iter().all(|&v| v > 0.0), "{:?}", st.std);
        assert!(
            (0.0..=1.0).contains(&st.learning_rate),
            "{}",
            st.learning_rate
        );
        assert!(st.repel.is_finite() && st.repel >= 0.0, "{}", st.repel);
        // A sample from it is finite.
        assert!(st.sample(4, 1).iter().flatten().all(|v| v.is_finite()));
        let prov = p.doc.layers()[1]
            .props
            .provenance
            .as_ref()
            .expect("provenance");
        assert!((0.0..=1.0).contains(&prov.strength), "{}", prov.strength);
        assert!(
            p.warnings.iter().any(|w| w.contains("vary_strength")),
            "{:?}",
            p.warnings
        );
    }
    // Mismatched steering sizes would index out of bounds when sampling.
    let mut m = manifest.clone();
    m["steering"]["std"] = serde_json::json!([1.0]);
    let path = dir.path().join("short.atelier");
    rewrite_zip(
        &good,
        &path,
        |_| true,
        Some(&serde_json::to_vec(&m).expect("json")),
    );
    let p = atelier::project::load(&path).expect("loads");
    let st = p.meta.steering.as_ref().expect("steering");
    assert_eq!(st.mean.len(), st.std.len());
    assert_eq!(st.sample(4, 1).len(), 4);
    assert!(
        p.warnings.iter().any(|w| w.contains("steering")),
        "{:?}",
        p.warnings
    );
}

/// Krita writes groups as nested `<stack>`s. Atelier flattens them: a hidden
/// group hides its layers and a group's opacity applies to each of them, with
/// a warning where flattening changes the look.
#[test]
fn layers_in_groups_keep_the_group_s_visibility_and_opacity() {
    let dir = tempfile::tempdir().expect("temp dir");
    let px = image::RgbaImage::from_pixel(4, 4, image::Rgba([50, 60, 70, 255]));
    let ora = dir.path().join("groups.ora");
    ora_zip::write_ora(
        &ora,
        r#"<image w="40" h="30"><stack>
            <stack name="sketch" visibility="hidden" composite-op="svg:src-over">
                <layer name="under" src="data/a.png"/>
            </stack>
            <stack name="colour" opacity="0.5" composite-op="svg:multiply">
                <stack name="inner" opacity="0.5"><layer name="deep" src="data/a.png" opacity="0.8"/></stack>
                <layer name="shade" src="data/a.png"/>
            </stack>
            <stack name="empty"/>
            <layer name="top" src="data/a.png"/>
        </stack></image>"#,
        &[("data/a.png", &px)],
        &[],
    );
    let project = atelier::project::load(&ora).expect("loads");
    let layer = |n: &str| {
        project
            .doc
            .layers()
            .iter()
            .find(|l| l.props.name == n)
            .unwrap_or_else(|| panic!("layer {n}"))
            .props
            .clone()
    };
    assert!(!layer("under").visible, "a hidden group hides its layers");
    assert!(layer("shade").visible && layer("top").visible && layer("deep").visible);
    assert!((layer("shade").opacity - 0.5).abs() < 1e-6);
    assert!(
        (layer("deep").opacity - 0.2).abs() < 1e-6,
        "0.5 × 0.5 × 0.8"
    );
    assert_eq!(
        layer("top").opacity,
        1.0,
        "outside the groups nothing changes"
    );
    let warnings = project.warnings.join("\n");
    assert!(
        warnings.contains("group `colour`: its opacity 0.5"),
        "{warnings}"
    );
    assert!(
        warnings.contains("blend mode `svg:multiply` is not kept"),
        "{warnings}"
    );
    assert!(
        !warnings.contains("sketch"),
        "a hidden normal group needs no warning: {warnings}"
    );
}
