//! Project files: documents survive save → load with identical pixels and
//! layer properties, and saves replace the file atomically.
use atelier::document::{BlendMode, CanvasRect, Document, History};
use proptest::prelude::*;

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
            d.set_props(id, p)
        })
        .expect("edit");
    }
    doc
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn save_then_load_keeps_pixels_and_properties(seed in any::<u64>(), layers in 0usize..5) {
        let doc = random_doc(seed, layers);
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("d.atelier");
        atelier::project::save(&doc, &path).expect("save");
        let back = atelier::project::load(&path).expect("load");
        prop_assert_eq!((back.width(), back.height()), (doc.width(), doc.height()));
        prop_assert_eq!(back.layers().len(), doc.layers().len());
        for (a, b) in doc.layers().iter().zip(back.layers()) {
            prop_assert_eq!(&a.props.name, &b.props.name);
            prop_assert_eq!(a.props.blend, b.props.blend);
            prop_assert!((a.props.opacity - b.props.opacity).abs() < 1e-3);
            prop_assert_eq!(a.props.visible, b.props.visible);
            prop_assert_eq!(a.props.lock_alpha, b.props.lock_alpha);
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
    atelier::project::save(&doc, &path).expect("save");
    let before = std::fs::read(&path).expect("read");
    // Saving into a folder that does not exist fails without touching anything.
    assert!(atelier::project::save(&doc, &dir.path().join("missing/keep.atelier")).is_err());
    assert_eq!(std::fs::read(&path).expect("read"), before);
    // A damaged file is refused with a message naming the problem.
    std::fs::write(&path, &before[..before.len() / 2]).expect("truncate");
    let err = atelier::project::load(&path).expect_err("truncated file");
    assert!(err.to_string().contains("keep.atelier"), "{err}");
}
