//! Known answers for the authorship measure.
use super::*;
use crate::document::Provenance;

const RED: [u8; 4] = [200, 0, 0, 255];
const BLUE: [u8; 4] = [0, 0, 200, 255];

fn gan(doc: &mut Document, id: LayerId, model: &str) {
    let mut p = doc.layer(id).unwrap().props.clone();
    p.provenance = Some(Provenance {
        model: model.into(),
        seed: 1,
        strength: 0.5,
        candidate: None,
    });
    doc.set_props(id, p).unwrap();
}

fn edit(doc: &mut Document, id: LayerId, f: impl FnOnce(&mut crate::document::LayerProps)) {
    let mut p = doc.layer(id).unwrap().props.clone();
    f(&mut p);
    doc.set_props(id, p).unwrap();
}

fn layer(doc: &mut Document, rect: CanvasRect, c: [u8; 4]) -> LayerId {
    let px = c.repeat((rect.w * rect.h) as usize);
    doc.add_layer_with_pixels("l", rect, &px)
}

/// A layer covering the whole canvas.
fn full(doc: &mut Document, c: [u8; 4]) -> LayerId {
    let all = doc.bounds();
    layer(doc, all, c)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-4
}

#[test]
fn opaque_gan_layer_half_covered_by_paint_is_half() {
    // Sizes that are not multiples of the tile size, so edge cells count.
    let mut doc = Document::new(130, 70, [0; 4]).unwrap();
    let g = full(&mut doc, RED);
    gan(&mut doc, g, "m1");
    layer(&mut doc, CanvasRect::new(0, 0, 65, 70), BLUE);
    let a = authorship(&doc);
    assert!(close(a.gan_share(), 0.5), "{a:?}");
    assert!(close(a.visible_area, 130.0 * 70.0));
    assert_eq!(a.gan_pixels, 65 * 70);
    assert!(a.any_gan_visible());
    assert_eq!(a.models().len(), 1);
    assert!(close(a.models()[0].1, 0.5));
}

#[test]
fn hidden_or_covered_gan_layer_is_nothing() {
    let mut doc = Document::new(100, 100, [255, 255, 255, 255]).unwrap();
    let g = full(&mut doc, RED);
    gan(&mut doc, g, "m1");
    edit(&mut doc, g, |p| p.visible = false);
    let a = authorship(&doc);
    assert_eq!(a.gan_share(), 0.0);
    assert!(!a.any_gan_visible());
    assert!(a.layers.is_empty());
    // Visible but painted over entirely: still nothing.
    edit(&mut doc, g, |p| p.visible = true);
    full(&mut doc, BLUE);
    let a = authorship(&doc);
    assert_eq!(a.gan_share(), 0.0);
    assert!(!a.any_gan_visible());
    assert!(a.models().is_empty());
}

#[test]
fn half_opacity_gan_layer_over_paint_is_half() {
    let mut doc = Document::new(90, 90, [0, 200, 0, 255]).unwrap();
    let g = full(&mut doc, RED);
    gan(&mut doc, g, "m1");
    edit(&mut doc, g, |p| p.opacity = 0.5);
    assert!(close(authorship(&doc).gan_share(), 0.5));
    // Alone on a transparent canvas it made all there is to see.
    let mut doc = Document::new(90, 90, [0; 4]).unwrap();
    let g = full(&mut doc, RED);
    gan(&mut doc, g, "m1");
    edit(&mut doc, g, |p| p.opacity = 0.5);
    let a = authorship(&doc);
    assert!(close(a.gan_share(), 1.0));
    assert!(close(a.visible_area, 0.5 * 90.0 * 90.0));
}

#[test]
fn empty_document_is_zero_not_nan() {
    let doc = Document::new(4096, 4096, [0; 4]).unwrap();
    let a = authorship(&doc);
    assert_eq!(a.gan_share(), 0.0);
    assert_eq!(a.artist_share(), 0.0);
    assert_eq!(a.visible_area, 0.0);
    assert!(a.models().is_empty());
    let blank = Document::new(50, 50, [255; 4]).unwrap();
    assert_eq!(authorship(&blank).gan_share(), 0.0);
    // Not −0, which would print as "-0.0%".
    assert!(authorship(&blank).gan_share().is_sign_positive());
    assert!(authorship(&blank).gan_area.is_sign_positive());
    assert_eq!(authorship(&blank).artist_share(), 1.0);
}

#[test]
fn later_paint_at_half_alpha_takes_half_of_what_is_below() {
    let mut doc = Document::new(64, 64, [0; 4]).unwrap();
    let g = full(&mut doc, RED);
    gan(&mut doc, g, "m1");
    full(&mut doc, [0, 0, 200, 128]);
    let a = authorship(&doc);
    assert!(close(a.gan_share(), 1.0 - 128.0 / 255.0), "{a:?}");
}

#[test]
fn two_models_are_told_apart() {
    let mut doc = Document::new(100, 100, [255; 4]).unwrap();
    let g1 = layer(&mut doc, CanvasRect::new(0, 0, 50, 100), RED);
    gan(&mut doc, g1, "m1");
    let g2 = layer(&mut doc, CanvasRect::new(0, 0, 25, 100), BLUE);
    gan(&mut doc, g2, "m2");
    let a = authorship(&doc);
    assert!(close(a.gan_share(), 0.5));
    let m = a.models();
    assert_eq!(m[0].0, "m1");
    assert!(close(m[0].1, 0.25) && close(m[1].1, 0.25), "{m:?}");
    assert_eq!(a.layers.iter().map(|l| l.id).collect::<Vec<_>>(), [g1, g2]);
}

#[test]
fn blend_modes_share_the_overlap_as_documented() {
    // A cyan GAN layer over white.
    let mut doc = Document::new(64, 64, [255, 255, 255, 255]).unwrap();
    let g = full(&mut doc, [0, 255, 255, 255]);
    gan(&mut doc, g, "m");
    edit(&mut doc, g, |p| p.blend = BlendMode::Darken);
    // Channel R: source 0 < backdrop 255, kept (1); G, B: ties (½ each).
    assert!(close(authorship(&doc).gan_share(), (1.0 + 0.5 + 0.5) / 3.0));
    edit(&mut doc, g, |p| p.blend = BlendMode::Lighten);
    // R: backdrop kept (0); G, B: ties.
    assert!(close(authorship(&doc).gan_share(), 1.0 / 3.0));
    for m in [
        BlendMode::Multiply,
        BlendMode::Screen,
        BlendMode::Overlay,
        BlendMode::Add,
    ] {
        edit(&mut doc, g, |p| p.blend = m);
        assert!(close(authorship(&doc).gan_share(), 0.5), "{m:?}");
    }
    // Over transparency every mode is source-over: all the layer's.
    let mut doc = Document::new(64, 64, [0; 4]).unwrap();
    let g = full(&mut doc, RED);
    gan(&mut doc, g, "m");
    edit(&mut doc, g, |p| p.blend = BlendMode::Multiply);
    assert!(close(authorship(&doc).gan_share(), 1.0));
}

#[test]
fn a_selection_measures_only_its_pixels() {
    let mut doc = Document::new(200, 100, [255; 4]).unwrap();
    let g = layer(&mut doc, CanvasRect::new(0, 0, 100, 100), RED);
    gan(&mut doc, g, "m");
    assert!(close(
        authorship_rect(&doc, CanvasRect::new(0, 0, 100, 100)).gan_share(),
        1.0
    ));
    assert!(close(
        authorship_rect(&doc, CanvasRect::new(50, 0, 100, 100)).gan_share(),
        0.5
    ));
    assert_eq!(
        authorship_rect(&doc, CanvasRect::new(500, 0, 10, 10)).visible_area,
        0.0
    );
}

#[test]
fn coverage_map_marks_the_gan_pixels() {
    let mut doc = Document::new(100, 80, [255; 4]).unwrap();
    let g = layer(&mut doc, CanvasRect::new(10, 10, 70, 60), RED);
    gan(&mut doc, g, "m");
    edit(&mut doc, g, |p| p.opacity = 0.5);
    let map = gan_coverage_rect(&doc, CanvasRect::new(5, 5, 90, 70));
    assert_eq!(map.len(), 90 * 70);
    assert_eq!(map[0], 0);
    assert_eq!(map[(5 + 20) * 90 + 5 + 20], 128);
    assert_eq!(map[(5 + 59) * 90 + 5 + 69], 128);
    assert_eq!(map[(5 + 60) * 90 + 5 + 69], 0);
}

#[test]
fn matches_a_brute_force_walk_of_the_composite() {
    // The per-pixel recurrence over arbitrary alphas and opacities agrees
    // with the closed form for Normal: each layer's alpha times the
    // transparency of everything above it.
    let mut doc = Document::new(70, 70, [0; 4]).unwrap();
    let mut spec = Vec::new();
    for (i, (alpha, opacity, is_gan)) in [
        (255u8, 1.0f32, false),
        (180, 0.7, true),
        (90, 1.0, false),
        (255, 0.3, true),
    ]
    .into_iter()
    .enumerate()
    {
        let id = layer(
            &mut doc,
            CanvasRect::new(i as u32 * 3, 0, 60, 70),
            [100, 100, 100, alpha],
        );
        if is_gan {
            gan(&mut doc, id, "m");
        }
        edit(&mut doc, id, |p| p.opacity = opacity);
        spec.push((i as u32 * 3, alpha, opacity, is_gan));
    }
    let (mut vis, mut gan_area) = (0.0f64, 0.0f64);
    // Layers differ only along x, so one row stands for all 70.
    for _ in 0..70 {
        for x in 0..70u32 {
            let eff: Vec<(f64, bool)> = spec
                .iter()
                .filter(|(x0, ..)| x >= *x0 && x < x0 + 60)
                .map(|&(_, a, o, g)| (a as f64 / 255.0 * o as f64, g))
                .collect();
            let mut above = 1.0;
            for &(a, g) in eff.iter().rev() {
                vis += a * above;
                if g {
                    gan_area += a * above;
                }
                above *= 1.0 - a;
            }
        }
    }
    let a = authorship(&doc);
    assert!(
        (a.visible_area - vis).abs() < 1e-2,
        "{} {vis}",
        a.visible_area
    );
    assert!(
        (a.gan_area - gan_area).abs() < 1e-2,
        "{} {gan_area}",
        a.gan_area
    );
}

#[test]
fn the_cache_gives_the_same_answer_after_every_kind_of_edit() {
    let mut doc = Document::new(300, 200, [255; 4]).unwrap();
    let g = layer(&mut doc, CanvasRect::new(0, 0, 200, 200), RED);
    gan(&mut doc, g, "m1");
    let p = layer(
        &mut doc,
        CanvasRect::new(150, 0, 100, 100),
        [0, 0, 200, 128],
    );
    let mut cache = AuthorshipCache::new();
    let mut check = |doc: &Document, what: &str| {
        let (cached, fresh) = (cache.measure(doc), authorship(doc));
        assert!(
            (cached.gan_share() - fresh.gan_share()).abs() < 1e-9
                && cached.gan_pixels == fresh.gan_pixels
                && cached.layers.len() == fresh.layers.len(),
            "{what}: {cached:?} vs {fresh:?}"
        );
        cached.gan_share()
    };
    let first = check(&doc, "first");
    // Paint over part of the GAN layer: its tiles get new revisions.
    let green = [0, 200, 0, 255].repeat(40 * 40);
    let painted = doc.grid_mut(p).unwrap();
    painted.write_rect(CanvasRect::new(10, 10, 40, 40), &green);
    assert!(check(&doc, "stroke") < first);
    edit(&mut doc, g, |p| p.opacity = 0.3);
    check(&doc, "opacity");
    edit(&mut doc, p, |p| p.blend = BlendMode::Multiply);
    check(&doc, "blend");
    edit(&mut doc, g, |p| p.visible = false);
    assert_eq!(check(&doc, "hidden"), 0.0);
    edit(&mut doc, g, |p| p.visible = true);
    doc.move_layer(g, 2).unwrap();
    check(&doc, "reorder");
    doc.delete_layer(g).unwrap();
    assert_eq!(check(&doc, "deleted"), 0.0);
    let other = Document::new(64, 64, [0; 4]).unwrap();
    assert_eq!(check(&other, "another document"), 0.0);
}

/// `cargo test --release --lib authorship_timing -- --ignored --nocapture`
#[test]
#[ignore = "timing, not a check"]
fn authorship_timing_on_a_large_canvas() {
    let time = |doc: &Document, what: &str| {
        let runs = 5;
        let t = std::time::Instant::now();
        let mut share = 0.0;
        for _ in 0..runs {
            share = authorship(doc).gan_share();
        }
        println!(
            "4096², {what}: {:.1} ms per measure on {} threads (share {share:.3})",
            t.elapsed().as_secs_f64() * 1e3 / runs as f64,
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        );
    };
    // Typical: a white background, an opaque variation over most of it, the
    // artist's translucent paint, a second variation at 60 % opacity.
    let mut doc = Document::new(4096, 4096, [255; 4]).unwrap();
    let g = layer(&mut doc, CanvasRect::new(0, 0, 4096, 3000), RED);
    gan(&mut doc, g, "m1");
    layer(
        &mut doc,
        CanvasRect::new(1000, 1000, 2500, 2500),
        [0, 0, 200, 128],
    );
    let g2 = layer(&mut doc, CanvasRect::new(2000, 0, 2096, 4096), BLUE);
    gan(&mut doc, g2, "m2");
    edit(&mut doc, g2, |p| p.opacity = 0.6);
    time(&doc, "4 layers");
    // The status bar's case: a cache, and a small stroke since last time.
    let mut cache = AuthorshipCache::new();
    cache.measure(&doc);
    let t = std::time::Instant::now();
    for i in 0..5 {
        layer(&mut doc, CanvasRect::new(100 + i * 40, 100, 30, 30), BLUE);
        cache.measure(&doc);
    }
    println!(
        "4096², cached, after a 30×30 stroke: {:.2} ms per measure",
        t.elapsed().as_secs_f64() * 1e3 / 5.0
    );
    // Worst case: 8 translucent full-canvas layers, half of them GAN-made and
    // one in Darken, so nothing can be skipped.
    let mut doc = Document::new(4096, 4096, [0; 4]).unwrap();
    for i in 0..8 {
        let id = full(&mut doc, [40 * i as u8, 100, 200 - 20 * i as u8, 200]);
        if i % 2 == 1 {
            gan(&mut doc, id, &format!("m{i}"));
        }
        if i == 5 {
            edit(&mut doc, id, |p| p.blend = BlendMode::Darken);
        }
    }
    time(&doc, "8 translucent layers, one Darken");
}
