//! Property tests: undo then redo is the identity on random edit sequences,
//! and rendering a stroke is deterministic.
use atelier::brush::raster::MaskCache;
use atelier::brush::{BrushSettings, Stroke, StrokeSample};
use atelier::document::{BlendMode, Document, History, LayerId};
use proptest::prelude::*;

/// One random edit.
#[derive(Clone, Debug)]
enum Edit {
    Stroke {
        x0: f32,
        y0: f32,
        x1: f32,
        y1: f32,
        radius: f32,
        color: [u8; 3],
        eraser: bool,
    },
    AddLayer,
    DeleteLayer(usize),
    DuplicateLayer(usize),
    MoveLayer(usize, usize),
    SetOpacity(usize, f32),
    SetBlend(usize, usize),
    ToggleVisible(usize),
    Translate(usize, i64, i64),
    MergeDown(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (0f32..150.0, 0f32..100.0, 0f32..150.0, 0f32..100.0, 1f32..20.0, any::<[u8; 3]>(), any::<bool>())
            .prop_map(|(x0, y0, x1, y1, radius, color, eraser)| Edit::Stroke { x0, y0, x1, y1, radius, color, eraser }),
        1 => Just(Edit::AddLayer),
        1 => (0usize..8).prop_map(Edit::DeleteLayer),
        1 => (0usize..8).prop_map(Edit::DuplicateLayer),
        1 => (0usize..8, 0usize..8).prop_map(|(a, b)| Edit::MoveLayer(a, b)),
        1 => (0usize..8, 0f32..1.0).prop_map(|(a, o)| Edit::SetOpacity(a, o)),
        1 => (0usize..8, 0usize..7).prop_map(|(a, m)| Edit::SetBlend(a, m)),
        1 => (0usize..8).prop_map(Edit::ToggleVisible),
        1 => (0usize..8, -80i64..80, -80i64..80).prop_map(|(a, dx, dy)| Edit::Translate(a, dx, dy)),
        1 => (0usize..8).prop_map(Edit::MergeDown),
    ]
}

fn layer_at(doc: &Document, i: usize) -> LayerId {
    doc.layers()[i % doc.layers().len()].id
}

fn apply(doc: &mut Document, h: &mut History, cache: &mut MaskCache, e: &Edit) {
    match e.clone() {
        Edit::Stroke {
            x0,
            y0,
            x1,
            y1,
            radius,
            color,
            eraser,
        } => {
            let id = doc.active();
            stroke(x0, y0, x1, y1, radius, color, eraser)
                .paint_on(doc, h, cache, id)
                .unwrap();
        }
        Edit::AddLayer => h
            .edit_stack(doc, "Add", None, |d| {
                d.add_layer("L");
                Ok(())
            })
            .unwrap(),
        Edit::DeleteLayer(i) => {
            let id = layer_at(doc, i);
            let _ = h.edit_stack(doc, "Delete", None, |d| d.delete_layer(id));
        }
        Edit::DuplicateLayer(i) => {
            let id = layer_at(doc, i);
            h.edit_stack(doc, "Dup", None, |d| d.duplicate_layer(id).map(|_| ()))
                .unwrap();
        }
        Edit::MoveLayer(i, to) => {
            let id = layer_at(doc, i);
            h.edit_stack(doc, "Move", None, |d| d.move_layer(id, to))
                .unwrap();
        }
        Edit::SetOpacity(i, o) => {
            let id = layer_at(doc, i);
            let mut p = doc.layer(id).unwrap().props.clone();
            p.opacity = o;
            h.edit_stack(doc, "Opacity", Some(format!("o{}", id.0)), |d| {
                d.set_props(id, p)
            })
            .unwrap();
        }
        Edit::SetBlend(i, m) => {
            let id = layer_at(doc, i);
            let mut p = doc.layer(id).unwrap().props.clone();
            p.blend = BlendMode::ALL[m];
            h.edit_stack(doc, "Blend", None, |d| d.set_props(id, p))
                .unwrap();
        }
        Edit::ToggleVisible(i) => {
            let id = layer_at(doc, i);
            let mut p = doc.layer(id).unwrap().props.clone();
            p.visible = !p.visible;
            h.edit_stack(doc, "Visible", None, |d| d.set_props(id, p))
                .unwrap();
        }
        Edit::Translate(i, dx, dy) => {
            let id = layer_at(doc, i);
            h.edit_stack(doc, "Translate", None, |d| d.translate_layer(id, dx, dy))
                .unwrap();
        }
        Edit::MergeDown(i) => {
            let id = layer_at(doc, i);
            let _ = h.edit_stack(doc, "Merge", None, |d| d.merge_down(id));
        }
    }
}

fn stroke(x0: f32, y0: f32, x1: f32, y1: f32, radius: f32, color: [u8; 3], eraser: bool) -> Stroke {
    Stroke {
        brush: BrushSettings {
            radius,
            eraser,
            jitter: 0.3,
            ..Default::default()
        },
        color,
        seed: 1,
        samples: vec![
            StrokeSample {
                x: x0,
                y: y0,
                pressure: 1.0,
                time: 0.0,
            },
            StrokeSample {
                x: (x0 + x1) / 2.0,
                y: y1,
                pressure: 0.3,
                time: 0.05,
            },
            StrokeSample {
                x: x1,
                y: y1,
                pressure: 0.7,
                time: 0.1,
            },
        ],
    }
}

/// One layer as compared: id, name, opacity (×1e6), blend, visible, alpha lock, pixels.
type LayerSnapshot = (u64, String, u32, u32, bool, bool, Vec<u8>);

/// Everything that must come back: layer order, ids, properties, pixels.
fn snapshot(doc: &Document) -> Vec<LayerSnapshot> {
    doc.layers()
        .iter()
        .map(|l| {
            (
                l.id.0,
                l.props.name.clone(),
                (l.props.opacity * 1e6) as u32,
                l.props.blend.shader_index(),
                l.props.visible,
                l.props.lock_alpha,
                l.grid.read_rect(doc.bounds()),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn undo_all_then_redo_all_is_exact(edits in prop::collection::vec(edit(), 1..25)) {
        let mut doc = Document::new(150, 100, [255, 255, 255, 255]).unwrap();
        let mut h = History::default();
        let mut cache = MaskCache::default();
        let start = snapshot(&doc);
        for e in &edits {
            apply(&mut doc, &mut h, &mut cache, e);
        }
        let end = snapshot(&doc);
        let active_end = doc.active();
        while h.undo(&mut doc).is_some() {}
        prop_assert_eq!(snapshot(&doc), start);
        while h.redo(&mut doc).is_some() {}
        prop_assert_eq!(snapshot(&doc), end);
        prop_assert_eq!(doc.active(), active_end);
    }

    #[test]
    fn rendering_a_stroke_is_deterministic(
        x0 in 0f32..150.0, y0 in 0f32..100.0, x1 in 0f32..150.0, y1 in 0f32..100.0,
        radius in 0.5f32..30.0, color in any::<[u8; 3]>(),
    ) {
        let render = || {
            let mut doc = Document::new(150, 100, [0; 4]).unwrap();
            let id = doc.active();
            stroke(x0, y0, x1, y1, radius, color, false)
                .paint_on(&mut doc, &mut History::default(), &mut MaskCache::default(), id)
                .unwrap();
            doc.grid(id).unwrap().read_rect(doc.bounds())
        };
        prop_assert_eq!(render(), render());
    }
}

#[test]
fn history_memory_stays_within_budget_and_keeps_200_strokes() {
    let mut doc = Document::new(1024, 1024, [255; 4]).unwrap();
    // The default budget (512 MiB).
    let mut h = History::default();
    let mut cache = MaskCache::default();
    let id = doc.active();
    for i in 0..300 {
        let y = (i * 3 % 1000) as f32;
        stroke(10.0, y, 1000.0, y + 10.0, 6.0, [i as u8, 0, 0], false)
            .paint_on(&mut doc, &mut h, &mut cache, id)
            .unwrap();
        assert!(h.used() <= h.budget());
    }
    assert_eq!(
        h.undo_len(),
        300,
        "300 ordinary strokes fit in the default budget"
    );
    let mut small = History::with_budget(1024 * 1024);
    for i in 0..50 {
        let y = (i * 20) as f32;
        stroke(10.0, y, 1000.0, y, 6.0, [0, 0, 0], false)
            .paint_on(&mut doc, &mut small, &mut cache, id)
            .unwrap();
    }
    assert!(small.used() <= small.budget());
    assert!(small.undo_len() < 50, "oldest steps were dropped");
}
