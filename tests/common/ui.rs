//! Helpers for the tests that drive the real app through its widgets with
//! egui_kittest, rendered on lavapipe (Mesa's software Vulkan).
#![allow(dead_code)] // each test binary uses its own subset

use atelier::document::{CanvasRect, Document};
use atelier::ui::AtelierApp;
use eframe::egui::{self, Pos2};
use egui_kittest::Harness;

pub fn harness(doc: Document) -> Harness<'static, AtelierApp> {
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .wgpu()
        .build_eframe(move |cc| AtelierApp::new(cc, doc));
    h.run_steps(3);
    h
}

pub fn white(w: u32, h: u32) -> Document {
    Document::new(w, h, [255, 255, 255, 255]).expect("valid size")
}

/// Drags the pointer across canvas positions (canvas space).
pub fn drag(h: &mut Harness<'static, AtelierApp>, points: &[Pos2]) {
    let screen: Vec<Pos2> = points
        .iter()
        .map(|p| h.state().screen_from_canvas(*p))
        .collect();
    h.hover_at(screen[0]);
    h.run_steps(1);
    h.drag_at(screen[0]);
    h.run_steps(1);
    for p in &screen[1..] {
        h.hover_at(*p);
        h.run_steps(1);
    }
    h.drop_at(*screen.last().expect("at least one point"));
    h.run_steps(2);
}

/// The active layer of the app's document.
pub fn active_layer(app: &AtelierApp) -> &atelier::document::Layer {
    app.editor
        .doc
        .layer(app.editor.doc.active())
        .expect("an active layer")
}

pub fn active_pixels(app: &AtelierApp) -> Vec<u8> {
    app.editor
        .doc
        .grid(app.editor.doc.active())
        .expect("active layer")
        .read_rect(app.editor.doc.bounds())
}

/// Answers file dialogs with fixed paths.
pub struct FixedDialogs(pub std::path::PathBuf);

impl atelier::ui::files::FileDialogs for FixedDialogs {
    fn open_project(&self) -> Option<std::path::PathBuf> {
        Some(self.0.clone())
    }
    fn save_project(&self, _suggested: &str) -> Option<std::path::PathBuf> {
        Some(self.0.clone())
    }
}

pub fn wait_for_file_job(h: &mut Harness<'static, AtelierApp>) {
    for _ in 0..200 {
        h.run_steps(1);
        if !h.state().file_job_running() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("the file job did not finish");
}

/// A canvas with a blue block, and an app ready to Vary it.
pub fn vary_harness() -> Harness<'static, AtelierApp> {
    let mut doc = white(96, 64);
    let id = doc.active();
    let blue: Vec<u8> = [30u8, 60, 200, 255].repeat(40 * 30);
    doc.grid_mut(id)
        .expect("layer")
        .write_rect(CanvasRect::new(20, 15, 40, 30), &blue);
    harness(doc)
}

pub fn vary_and_wait(h: &mut Harness<'static, AtelierApp>) {
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::G);
    wait_for_candidates(h);
}

/// Lets the request just made reach the worker, waits for its candidates and
/// lets them land in the grid.
pub fn wait_for_candidates(h: &mut Harness<'static, AtelierApp>) {
    h.run_steps(1);
    let error = h
        .state_mut()
        .variations
        .wait(std::time::Duration::from_secs(120));
    assert_eq!(error, None);
    h.run_steps(2);
}

/// Runs frames (20 ms apart, at most `frames`) until `done` holds, for
/// background jobs the app polls each frame.
pub fn run_until(
    h: &mut Harness<'static, AtelierApp>,
    frames: usize,
    done: impl Fn(&AtelierApp) -> bool,
) {
    for _ in 0..frames {
        h.run_steps(1);
        if done(h.state()) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
