//! Live in the real app, driven through its widgets with egui_kittest: the
//! rendition follows the painting, stale frames are never shown as
//! current, Apply is an undoable decision, and a selection limits it.
use std::time::{Duration, Instant};

use atelier::document::{CanvasRect, Document};
use atelier::render::cpu;
use atelier::ui::AtelierApp;
use atelier::vary::live::{LiveFrame, LiveRequest, Render, canvas_state};
use eframe::egui::{self, pos2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use image::RgbImage;

#[path = "common/ui.rs"]
mod ui;
use ui::*;

/// A stand-in model: the negative of the canvas, after a delay.
fn negative(req: &LiveRequest, delay: Duration) -> LiveFrame {
    std::thread::sleep(delay);
    let rect = req.doc.bounds();
    let mut image: RgbImage = cpu::flatten_over(&req.doc, rect, [255, 255, 255]);
    image.pixels_mut().for_each(|p| p.0 = p.0.map(|v| 255 - v));
    LiveFrame {
        state: req.state,
        input: image.clone(),
        image,
        rect,
        selection: None,
        alpha: None,
        model: "negative".into(),
        z: req.z.clone(),
        seed: req.seed,
        strength: req.strength,
        critic: 0.0,
        side: req.side,
        latency: req.asked.elapsed(),
    }
}

struct Quick;
impl Render for Quick {
    fn latent_dim(&mut self, _: &Option<std::path::PathBuf>) -> Result<usize, String> {
        Ok(8)
    }
    fn render(&mut self, req: &LiveRequest) -> Result<LiveFrame, String> {
        Ok(negative(req, Duration::from_millis(20)))
    }
}

struct Slow;
impl Render for Slow {
    fn latent_dim(&mut self, _: &Option<std::path::PathBuf>) -> Result<usize, String> {
        Ok(8)
    }
    fn render(&mut self, req: &LiveRequest) -> Result<LiveFrame, String> {
        Ok(negative(req, Duration::from_millis(400)))
    }
}

/// Runs frames until `done` holds (or fails after `secs`).
fn wait_until(
    h: &mut Harness<'static, AtelierApp>,
    secs: u64,
    what: &str,
    done: impl Fn(&AtelierApp) -> bool,
) {
    let start = Instant::now();
    while !done(h.state()) {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}; status: {}",
            h.state().status()
        );
        h.run_steps(1);
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn is_current(app: &AtelierApp) -> bool {
    app.live.is_current(&app.editor.doc, app.editor.selection)
}

#[test]
fn live_follows_the_painting_and_apply_is_an_undoable_decision() {
    let mut h = harness(white(128, 96));
    h.state_mut().live.session.make_render = || Box::new(Quick);
    h.key_press(egui::Key::L);
    h.run_steps(2);
    assert!(h.state().live.session.on, "L turns Live on");
    wait_until(&mut h, 10, "a first frame", is_current);
    h.get_by_label("Up to date");
    // Paint: the rendition follows, made from the canvas as it is now.
    drag(
        &mut h,
        &[pos2(20.0, 50.0), pos2(60.0, 50.0), pos2(100.0, 50.0)],
    );
    wait_until(&mut h, 10, "the painted state", is_current);
    let app = h.state();
    let frame = app.live.session.frame.as_ref().expect("a frame");
    assert_eq!(frame.state, canvas_state(&app.editor.doc, None));
    let canvas = cpu::flatten_over(&app.editor.doc, app.editor.doc.bounds(), [255; 3]);
    let ink = canvas.get_pixel(60, 50).0;
    assert!(ink[0] < 128, "the stroke is on the canvas: {ink:?}");
    assert_eq!(
        frame.image.get_pixel(60, 50).0,
        ink.map(|v| 255 - v),
        "the live view shows this canvas state"
    );
    // Apply (A): a new layer with the frame and its provenance, and a
    // decision in the candidate history.
    let seed = app.live.session.seed;
    h.key_press(egui::Key::A);
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.editor.doc.layers().len(), 2, "status: {}", app.status());
    let layer = active_layer(app);
    let p = layer.props.provenance.clone().expect("provenance");
    assert_eq!((p.model.as_str(), p.seed), ("negative", seed));
    assert_eq!(layer.grid.pixel(60, 50)[..3], ink.map(|v| 255 - v)[..]);
    assert_eq!(
        app.variations.history().counts().1,
        1,
        "one accepted record"
    );
    assert_eq!(app.variations.decisions.steering().decisions, 1);
    // The status bar says whose picture it is: the applied frame covers it.
    h.get_by_label("GAN 100 %");
    // Undo takes the layer and the decision back.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run_steps(2);
    h.get_by_label("GAN 0 %");
    let app = h.state();
    assert_eq!(app.editor.doc.layers().len(), 1);
    assert_eq!(app.variations.history().counts().1, 0);
    assert_eq!(app.variations.decisions.steering().decisions, 0);
    // L again turns it off and the window goes.
    h.key_press(egui::Key::L);
    h.run_steps(2);
    assert!(!h.state().live.session.on);
    assert!(h.query_by_label("Apply").is_none());
}

#[test]
fn a_frame_for_an_older_canvas_state_is_never_shown_as_current() {
    let mut h = harness(white(128, 96));
    h.state_mut().live.session.make_render = || Box::new(Slow);
    h.key_press(egui::Key::L);
    h.run_steps(2);
    wait_until(&mut h, 10, "a first frame", is_current);
    // Two strokes in quick succession while the slow model works.
    drag(&mut h, &[pos2(10.0, 20.0), pos2(110.0, 20.0)]);
    drag(&mut h, &[pos2(10.0, 70.0), pos2(110.0, 70.0)]);
    let last = canvas_state(&h.state().editor.doc, None);
    let mut seen_stale = false;
    let start = Instant::now();
    while !is_current(h.state()) {
        assert!(start.elapsed() < Duration::from_secs(15), "Live caught up");
        let app = h.state();
        if let Some(f) = &app.live.session.frame
            && f.state != last
        {
            // An older state's frame is labelled as catching up.
            seen_stale = true;
            h.get_by_label("Catching up with your painting…");
        }
        h.run_steps(1);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(seen_stale, "the slow model was overtaken at least once");
    let app = h.state();
    assert_eq!(app.live.session.frame.as_ref().unwrap().state, last);
    h.get_by_label("Up to date");
}

#[test]
fn with_a_selection_live_and_apply_change_only_the_region() {
    let mut doc: Document = white(160, 120);
    let id = doc.active();
    let blue: Vec<u8> = [30u8, 60, 200, 255].repeat(60 * 40);
    doc.grid_mut(id)
        .expect("layer")
        .write_rect(CanvasRect::new(50, 40, 60, 40), &blue);
    let mut h = harness(doc);
    let sel = CanvasRect::new(40, 30, 80, 60);
    h.state_mut().editor.selection = Some(sel);
    // The real model, through the Vary pipeline.
    h.key_press(egui::Key::L);
    h.run_steps(2);
    wait_until(&mut h, 120, "the GAN's rendition", is_current);
    h.key_press(egui::Key::A);
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.editor.doc.layers().len(), 2, "status: {}", app.status());
    let layer = active_layer(app);
    assert!(layer.props.provenance.is_some());
    let grid = &layer.grid;
    // Outside the selection nothing is covered; its middle is.
    for (x, y) in [(5, 5), (150, 110), (20, 60), (140, 60), (80, 10), (80, 110)] {
        assert_eq!(
            grid.pixel(x, y)[3],
            0,
            "({x}, {y}) is outside the selection"
        );
    }
    assert_eq!(
        grid.pixel(80, 60)[3],
        255,
        "the selection's middle is replaced"
    );
}
