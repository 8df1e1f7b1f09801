//! The real app driven through its widgets with egui_kittest, rendered on
//! lavapipe (Mesa's software Vulkan).
use atelier::document::{CanvasRect, Document};
use atelier::ui::AtelierApp;
use eframe::egui::{self, Pos2, pos2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

mod common;
use common::{fine_detail, lined};

fn harness(doc: Document) -> Harness<'static, AtelierApp> {
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .wgpu()
        .build_eframe(move |cc| AtelierApp::new(cc, doc));
    h.run_steps(3);
    h
}

fn white(w: u32, h: u32) -> Document {
    Document::new(w, h, [255, 255, 255, 255]).expect("valid size")
}

/// Drags the pointer across canvas positions (canvas space).
fn drag(h: &mut Harness<'static, AtelierApp>, points: &[Pos2]) {
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

fn active_pixels(app: &AtelierApp) -> Vec<u8> {
    app.doc
        .grid(app.doc.active())
        .expect("active layer")
        .read_rect(app.doc.bounds())
}

#[test]
fn brush_stroke_changes_only_pixels_along_its_path_and_undo_restores_them() {
    let mut h = harness(white(400, 300));
    h.get_by_label("Ink").click();
    h.run_steps(1);
    assert_eq!(h.state().state.brush.name, "Ink");
    let before = active_pixels(h.state());
    let path: Vec<Pos2> = (0..=10)
        .map(|i| pos2(50.0 + 30.0 * i as f32, 150.0))
        .collect();
    drag(&mut h, &path);
    let app = h.state();
    let after = active_pixels(app);
    let w = app.doc.width() as usize;
    let changed: Vec<(usize, usize)> = after
        .chunks_exact(4)
        .zip(before.chunks_exact(4))
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, _)| (i % w, i / w))
        .collect();
    assert!(
        changed.len() > 500,
        "the stroke painted only {} pixels",
        changed.len()
    );
    let reach = app.state.brush.radius + 2.0;
    for (x, y) in &changed {
        assert!(
            (*y as f32 - 150.0).abs() <= reach
                && (*x as f32) >= 50.0 - reach
                && (*x as f32) <= 350.0 + reach,
            "pixel ({x}, {y}) changed away from the stroke"
        );
    }
    // The middle of the stroke is covered.
    let mid = (150 * w + 200) * 4;
    assert_ne!(&after[mid..mid + 4], &before[mid..mid + 4]);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run_steps(2);
    assert!(
        active_pixels(h.state()) == before,
        "undo restores every pixel"
    );
    h.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::Z,
    );
    h.run_steps(2);
    assert!(active_pixels(h.state()) == after, "redo repeats the stroke");
}

#[test]
fn layers_are_added_reordered_and_hidden_through_their_widgets() {
    let mut h = harness(white(256, 256));
    h.get_by_label("Add layer").click();
    h.run_steps(2);
    assert_eq!(h.state().doc.layers().len(), 2);
    let added = h.state().doc.active();
    assert_eq!(h.state().doc.index_of(added), Some(1));
    // Rows are listed top first: the new layer's "Down" button is the first one.
    h.get_all_by_label("Down")
        .next()
        .expect("a Down button")
        .click();
    h.run_steps(2);
    assert_eq!(
        h.state().doc.index_of(added),
        Some(0),
        "moved below the background"
    );
    // Hide the top layer (first "Visible" checkbox).
    h.get_all_by_label("Visible")
        .next()
        .expect("a Visible checkbox")
        .click();
    h.run_steps(2);
    let top = h.state().doc.layers().last().expect("layers").clone();
    assert!(!top.props.visible);
    // All three edits undo.
    for _ in 0..3 {
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
        h.run_steps(1);
    }
    assert_eq!(h.state().doc.layers().len(), 1);
}

#[test]
fn fill_and_picker_tools_work_from_the_toolbar() {
    let mut doc = white(128, 128);
    let id = doc.active();
    // A black square to pick from.
    let black: Vec<u8> = [0u8, 0, 0, 255].repeat(16 * 16);
    doc.grid_mut(id)
        .expect("layer")
        .write_rect(CanvasRect::new(10, 10, 16, 16), &black);
    let mut h = harness(doc);
    h.get_by_label("Picker").click();
    h.run_steps(1);
    drag(&mut h, &[pos2(15.0, 15.0)]);
    assert_eq!(h.state().state.primary, [0, 0, 0, 255]);
    h.get_by_label("Fill").click();
    h.run_steps(1);
    h.state_mut().state.primary = [200, 30, 30, 255];
    drag(&mut h, &[pos2(100.0, 100.0)]);
    // The fill runs on a worker thread.
    for _ in 0..200 {
        h.run_steps(1);
        if !h.state().busy() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let g = h.state().doc.grid(id).expect("layer");
    assert_eq!(g.pixel(100, 100), [200, 30, 30, 255]);
    assert_eq!(g.pixel(15, 15), [0, 0, 0, 255], "fill stops at the square");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run_steps(1);
    assert_eq!(
        h.state().doc.grid(id).expect("layer").pixel(100, 100),
        [255, 255, 255, 255],
        "fill undoes"
    );
}

#[test]
fn shortcuts_change_tools_and_brush_size() {
    let mut h = harness(white(256, 256));
    h.key_press(egui::Key::E);
    h.run_steps(1);
    assert_eq!(h.state().tool(), atelier::ui::tools::Tool::Eraser);
    let r = h.state().state.brush.radius;
    h.key_press(egui::Key::CloseBracket);
    h.run_steps(1);
    assert!(h.state().state.brush.radius > r);
    h.key_press(egui::Key::F1);
    h.run_steps(2);
    // A row only the Shortcuts window shows.
    h.get_by_label("Pan");
}

#[test]
fn studio_snapshot() {
    let mut h = harness(white(512, 384));
    h.get_by_label("Ink").click();
    h.run_steps(1);
    let path: Vec<Pos2> = (0..=12)
        .map(|i| {
            pos2(
                60.0 + 30.0 * i as f32,
                190.0 + 60.0 * (i as f32 * 0.7).sin(),
            )
        })
        .collect();
    drag(&mut h, &path);
    h.remove_cursor();
    h.run_steps(2);
    h.snapshot_options(
        "studio",
        &egui_kittest::SnapshotOptions::new()
            .threshold(2.0)
            .max_failed_pixels(400),
    );
}

#[test]
fn new_canvas_dialog_and_layer_stack_snapshot() {
    let mut doc = Document::new(300, 200, [0, 0, 0, 0]).expect("size");
    let mut h = atelier::document::History::default();
    for (i, mode) in [
        atelier::document::BlendMode::Multiply,
        atelier::document::BlendMode::Screen,
    ]
    .into_iter()
    .enumerate()
    {
        h.edit_stack(&mut doc, "add", None, |d| {
            let px: Vec<u8> = [200u8, 60 + 100 * i as u8, 40, 255].repeat(120 * 80);
            let id = d.add_layer_with_pixels(
                &format!("Shape {i}"),
                CanvasRect::new(40 + 90 * i as u32, 40, 120, 80),
                &px,
            );
            let mut p = d.layer(id).expect("layer").props.clone();
            p.blend = mode;
            p.opacity = 0.8;
            d.set_props(id, p)
        })
        .expect("edit");
    }
    let mut h = harness(doc);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::N);
    h.run_steps(2);
    h.get_by_label("HD 1920×1080");
    h.snapshot_options(
        "layers_and_new_canvas",
        &egui_kittest::SnapshotOptions::new()
            .threshold(2.0)
            .max_failed_pixels(400),
    );
    h.get_by_label("Square 1024").click();
    h.run_steps(1);
    h.get_by_label("Create").click();
    h.run_steps(2);
    assert_eq!(
        (h.state().doc.width(), h.state().doc.height()),
        (1024, 1024)
    );
    assert_eq!(h.state().doc.layers().len(), 1);
}

/// Answers file dialogs with fixed paths.
struct FixedDialogs(std::path::PathBuf);

impl atelier::ui::files::FileDialogs for FixedDialogs {
    fn open_project(&self) -> Option<std::path::PathBuf> {
        Some(self.0.clone())
    }
    fn save_project(&self, _suggested: &str) -> Option<std::path::PathBuf> {
        Some(self.0.clone())
    }
}

fn wait_for_file_job(h: &mut Harness<'static, AtelierApp>) {
    for _ in 0..200 {
        h.run_steps(1);
        if !h.state().file_job_running() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("the file job did not finish");
}

#[test]
fn save_as_then_open_shows_the_same_layers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("saved"); // the app adds .atelier
    let mut h = harness(white(200, 150));
    h.state_mut()
        .set_file_dialogs(Box::new(FixedDialogs(path.clone())));
    h.get_by_label("Add layer").click();
    h.run_steps(1);
    h.get_by_label("Ink").click();
    h.run_steps(1);
    drag(&mut h, &[pos2(20.0, 20.0), pos2(180.0, 130.0)]);
    assert!(h.state().is_dirty());
    h.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::S,
    );
    wait_for_file_job(&mut h);
    let saved = path.with_extension("atelier");
    assert!(saved.exists(), "status: {}", h.state().status);
    assert!(!h.state().is_dirty());
    let painted = h.state().doc.layers()[1]
        .grid
        .read_rect(h.state().doc.bounds());

    // A fresh app opens it through File → Open.
    let mut h = harness(white(64, 64));
    h.state_mut()
        .set_file_dialogs(Box::new(FixedDialogs(saved.clone())));
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    wait_for_file_job(&mut h);
    let app = h.state();
    assert_eq!(
        (app.doc.width(), app.doc.height()),
        (200, 150),
        "status: {}",
        app.status
    );
    let names: Vec<&str> = app
        .doc
        .layers()
        .iter()
        .map(|l| l.props.name.as_str())
        .collect();
    assert_eq!(names, ["Background", "Layer 2"]);
    assert!(
        app.doc.layers()[1].grid.read_rect(app.doc.bounds()) == painted,
        "the stroke came back"
    );
    // The layers panel lists them.
    h.get_by_label("Layer 2");
    h.get_by_label("Background");

    // `atelier FILE` opens it the same way when the app starts.
    let mut h = harness(white(64, 64));
    h.state_mut().open(saved.clone());
    wait_for_file_job(&mut h);
    let app = h.state();
    assert_eq!(
        app.path.as_deref(),
        Some(saved.as_path()),
        "status: {}",
        app.status
    );
    assert!(app.doc.layers()[1].grid.read_rect(app.doc.bounds()) == painted);
}

#[test]
fn vary_accept_reject_and_undo() {
    let mut doc = white(96, 64);
    let id = doc.active();
    let blue: Vec<u8> = [30u8, 60, 200, 255].repeat(40 * 30);
    doc.grid_mut(id)
        .expect("layer")
        .write_rect(CanvasRect::new(20, 15, 40, 30), &blue);
    let mut h = harness(doc);
    h.state_mut().variations.count = 3;
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::G);
    h.run_steps(1);
    assert!(h.state().variations.running, "Vary started a batch");
    let error = h
        .state_mut()
        .variations
        .wait(std::time::Duration::from_secs(120));
    assert_eq!(error, None);
    h.run_steps(2);
    assert_eq!(
        h.state().variations.candidates.len(),
        3,
        "status: {}",
        h.state().status
    );
    // Reject the second candidate: it leaves the grid.
    let rejected_seed = h.state().variations.candidates[1].seed;
    h.get_by_label("Reject 2").click();
    h.run_steps(2);
    assert_eq!(h.state().variations.candidates.len(), 2);
    assert!(
        h.state()
            .variations
            .candidates
            .iter()
            .all(|c| c.seed != rejected_seed)
    );
    // Accept the first: a new layer with the candidate's pixels.
    let expected = h.state().variations.candidates[0].image.clone();
    h.get_by_label("Accept 1").click();
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.doc.layers().len(), 2);
    let layer = app.doc.layer(app.doc.active()).expect("accepted layer");
    assert!(layer.props.name.contains("seed"), "{}", layer.props.name);
    for (x, y, p) in expected.enumerate_pixels() {
        assert_eq!(layer.grid.pixel(x, y), [p[0], p[1], p[2], 255]);
    }
    let provenance = layer.props.provenance.clone().expect("provenance");
    assert_eq!(provenance.seed, app.variations.history.records[0].seed);
    // Favourite the remaining candidate; the history has every decision.
    h.get_by_label("Favourite 1").click();
    h.run_steps(2);
    use atelier::decisions::Decision;
    let decisions: Vec<(Decision, bool)> = h
        .state()
        .variations
        .history
        .records
        .iter()
        .map(|r| (r.decision, r.favourite))
        .collect();
    assert_eq!(
        decisions,
        [
            (Decision::Accepted, false),
            (Decision::Rejected, false),
            (Decision::Pending, true)
        ]
    );
    let steering = h.state().variations.steering.clone();
    assert_eq!(steering.decisions, 2);

    // Save, reopen in a fresh app: history (with lossless images), steering
    // and the accepted layer's provenance survive.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("loop.atelier");
    h.state_mut()
        .set_file_dialogs(Box::new(FixedDialogs(path.clone())));
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    wait_for_file_job(&mut h);
    assert!(!h.state().is_dirty(), "status: {}", h.state().status);
    let history = h.state().variations.history.clone();
    let mut h2 = harness(white(8, 8));
    h2.state_mut()
        .set_file_dialogs(Box::new(FixedDialogs(path.clone())));
    h2.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    wait_for_file_job(&mut h2);
    let app2 = h2.state();
    assert_eq!(app2.variations.history, history, "status: {}", app2.status);
    assert_eq!(app2.variations.steering, steering);
    let reopened = app2.doc.layers().last().expect("layer");
    assert_eq!(reopened.props.provenance, Some(provenance));
    let first = &history.records[0];
    assert_eq!(
        app2.variations.history.image(&first.output).expect("image"),
        expected
    );

    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run_steps(2);
    assert_eq!(
        h.state().doc.layers().len(),
        1,
        "undo removes the accepted layer"
    );
}

/// A dropped file, as the windowing integration hands it over.
#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn dropped_images_and_pasted_images_become_layers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let png = dir.path().join("dropped.png");
    image::RgbaImage::from_pixel(30, 20, image::Rgba([200, 10, 10, 255]))
        .save(&png)
        .expect("png");
    let mut h = harness(white(64, 48));
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(png.clone())));
    h.run_steps(1);
    wait_for_file_job(&mut h);
    h.run_steps(1);
    {
        let app = h.state();
        assert_eq!(app.doc.layers().len(), 2, "status: {}", app.status);
        let layer = app.doc.layer(app.doc.active()).expect("layer");
        assert_eq!(layer.props.name, "dropped");
        assert_eq!(layer.grid.pixel(29, 19), [200, 10, 10, 255]);
    }
    // The clipboard's image arrives as an event (egui-winit reads it on Ctrl+V).
    let img = egui::ColorImage::from_rgba_unmultiplied([4, 3], &[10u8, 200, 30, 255].repeat(12));
    h.event(egui::Event::PasteImage(std::sync::Arc::new(img)));
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.doc.layers().len(), 3);
    let layer = app.doc.layer(app.doc.active()).expect("layer");
    assert_eq!(layer.props.name, "Pasted");
    assert_eq!(layer.grid.pixel(3, 2), [10, 200, 30, 255]);
    assert_eq!(layer.grid.pixel(4, 2), [0, 0, 0, 0]);
    // Both are ordinary undo steps.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run_steps(2);
    assert_eq!(h.state().doc.layers().len(), 1);
}

#[test]
fn saved_and_opened_files_are_listed_under_open_recent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("recent.atelier");
    let mut h = harness(white(32, 32));
    h.state_mut()
        .set_file_dialogs(Box::new(FixedDialogs(path.clone())));
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    wait_for_file_job(&mut h);
    let canonical = std::fs::canonicalize(&path).expect("saved");
    assert_eq!(h.state().state.recent_files, [canonical]);
    // Reopen it from File → Open recent.
    h.state_mut().replace_document(white(8, 8));
    h.get_by_label("File").click();
    h.run_steps(3);
    h.get_by_label("Open recent").hover();
    h.run_steps(2);
    h.get_by_label("recent.atelier").click();
    wait_for_file_job(&mut h);
    assert_eq!(h.state().doc.width(), 32, "status: {}", h.state().status);
}

/// Export and import go through the same dialog trait as Save and Open.
#[test]
fn export_and_import_as_layers_from_the_file_menu() {
    let dir = tempfile::tempdir().expect("temp dir");
    let png = dir.path().join("piece.png");
    let mut h = harness(white(120, 80));
    h.state_mut()
        .set_file_dialogs(Box::new(FixedDialogs(png.clone())));
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::E);
    wait_for_file_job(&mut h);
    let exported = image::open(&png).expect("exported PNG").into_rgba8();
    assert_eq!(
        exported.dimensions(),
        (120, 80),
        "status: {}",
        h.state().status
    );
    h.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::I,
    );
    wait_for_file_job(&mut h);
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.doc.layers().len(), 2, "status: {}", app.status);
    assert_eq!(
        app.doc.layer(app.doc.active()).expect("layer").props.name,
        "piece"
    );
}

#[test]
fn quitting_with_unsaved_changes_asks_first() {
    let mut h = harness(white(100, 80));
    h.get_by_label("Add layer").click();
    h.run_steps(1);
    assert!(h.state().is_dirty());
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Q);
    h.run_steps(2);
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    assert!(
        h.query_by_label("Discard and quit").is_none(),
        "the question closed"
    );
    // Undoing back to the opened state makes the document clean again.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run_steps(1);
    assert!(!h.state().is_dirty());
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Y);
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Q);
    h.run_steps(2);
    h.get_by_label("Discard and quit");
}

#[test]
fn autosaved_work_is_offered_back_after_a_crash() {
    let dir = tempfile::tempdir().expect("temp dir");
    let recovery = dir.path().join("atelier").join("recovery.atelier");
    {
        let mut h = harness(white(80, 60));
        h.state_mut()
            .set_recovery_path(Some(recovery.clone()), std::time::Duration::ZERO);
        h.get_by_label("Add layer").click();
        for _ in 0..300 {
            h.run_steps(1);
            if recovery.exists() && !h.state().autosave.writing() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(recovery.exists(), "autosave wrote the recovery file");
        // The harness is dropped without quitting: a crash, as far as the file knows.
    }
    let mut h = harness(white(10, 10));
    h.state_mut()
        .set_recovery_path(Some(recovery.clone()), std::time::Duration::from_secs(3600));
    h.run_steps(2);
    h.get_by_label("Recover").click();
    wait_for_file_job(&mut h);
    let app = h.state();
    assert_eq!(
        (app.doc.width(), app.doc.height()),
        (80, 60),
        "status: {}",
        app.status
    );
    assert_eq!(app.doc.layers().len(), 2);
    assert!(app.is_dirty(), "recovered work is not saved yet");
    assert!(app.path.is_none());
}

/// A canvas with a blue block, and an app ready to Vary it.
fn vary_harness() -> Harness<'static, AtelierApp> {
    let mut doc = white(96, 64);
    let id = doc.active();
    let blue: Vec<u8> = [30u8, 60, 200, 255].repeat(40 * 30);
    doc.grid_mut(id)
        .expect("layer")
        .write_rect(CanvasRect::new(20, 15, 40, 30), &blue);
    harness(doc)
}

fn vary_and_wait(h: &mut Harness<'static, AtelierApp>) {
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::G);
    wait_for_candidates(h);
}

/// Lets the request just made reach the worker, waits for its candidates and
/// lets them land in the grid.
fn wait_for_candidates(h: &mut Harness<'static, AtelierApp>) {
    h.run_steps(1);
    let error = h
        .state_mut()
        .variations
        .wait(std::time::Duration::from_secs(120));
    assert_eq!(error, None);
    h.run_steps(2);
}

#[test]
fn keyboard_picks_previews_accepts_and_rejects_candidates() {
    let mut h = vary_harness();
    h.state_mut().variations.count = 3;
    vary_and_wait(&mut h);
    assert_eq!(h.state().variations.candidates.len(), 3);
    // 2 previews the second candidate (instead of rotating the view).
    h.key_press(egui::Key::Num2);
    h.run_steps(2);
    assert_eq!(h.state().variations.selected, Some(1));
    assert_eq!(h.state().view.rotation, 0.0);
    assert!(
        h.state().variations.candidates[1].full_preview_shown(),
        "the preview texture is made"
    );
    // Enter accepts it.
    let expected = h.state().variations.candidates[1].image.clone();
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.doc.layers().len(), 2);
    let layer = app.doc.layer(app.doc.active()).expect("layer");
    assert_eq!(layer.grid.pixel(5, 5)[..3], expected.get_pixel(5, 5).0);
    assert_eq!(
        app.variations.selected, None,
        "no other candidate's preview covers the accepted layer"
    );
    // 1 then Delete rejects the first.
    h.key_press(egui::Key::Num1);
    h.key_press(egui::Key::Delete);
    h.run_steps(2);
    let v = &h.state().variations;
    assert_eq!(v.candidates.len(), 1);
    use atelier::decisions::Decision;
    let decisions: Vec<Decision> = v.history.records.iter().map(|r| r.decision).collect();
    assert_eq!(
        decisions,
        [Decision::Rejected, Decision::Accepted, Decision::Pending]
    );
}

#[test]
fn a_large_canvas_comes_back_at_full_resolution_with_its_detail() {
    // 1 px lines every 4 px on a canvas the GAN sees at 512×341.
    let (w, h) = (1200u32, 800u32);
    let canvas = lined(w, h);
    let mut doc = white(w, h);
    let id = doc.active();
    let rgba: Vec<u8> = canvas
        .pixels()
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect();
    doc.grid_mut(id)
        .expect("layer")
        .write_rect(CanvasRect::new(0, 0, w, h), &rgba);
    let mut harness = harness(doc);
    harness.state_mut().variations.count = 1;
    vary_and_wait(&mut harness);
    let candidate = &harness.state().variations.candidates[0].image;
    assert_eq!(candidate.dimensions(), (w, h));
    // Scaling the work-size picture up would lose most of the lines; the
    // candidate keeps them.
    let work = atelier::vary::resolution::to_work(&canvas);
    let enlarged = image::imageops::resize(&work, w, h, image::imageops::FilterType::CatmullRom);
    let (kept, lost, original) = (
        fine_detail(candidate),
        fine_detail(&enlarged),
        fine_detail(&canvas),
    );
    assert!(
        lost < 0.5 * original,
        "enlarged {lost} vs canvas {original}"
    );
    assert!(
        kept > 0.8 * original,
        "candidate {kept} vs canvas {original}"
    );
    // And it is a variation, not the canvas.
    assert_ne!(candidate, &canvas);
}

#[test]
fn keep_line_work_brings_ink_lines_back_as_drawn_and_can_be_switched_off() {
    // 5 px ink lines every 64 px on a canvas the GAN sees at 512×384.
    let (w, h) = (1024u32, 768u32);
    let on_line = |y: u32| y % 64 < 5;
    let mut doc = white(w, h);
    let id = doc.active();
    let rgba: Vec<u8> = (0..h)
        .flat_map(|y| {
            let px = if on_line(y) {
                [10, 10, 12, 255]
            } else {
                [255; 4]
            };
            px.repeat(w as usize)
        })
        .collect();
    doc.grid_mut(id)
        .expect("layer")
        .write_rect(CanvasRect::new(0, 0, w, h), &rgba);
    let mut harness = harness(doc);
    harness.state_mut().variations.count = 1;
    harness.state_mut().variations.lock_seed = true;
    assert!(harness.state().variations.keep_lines, "on by default");
    vary_and_wait(&mut harness);
    let kept = harness.state().variations.candidates[0].image.clone();
    let line_pixels: Vec<(u32, u32)> = (0..h)
        .filter(|&y| on_line(y))
        .flat_map(|y| (0..w).step_by(31).map(move |x| (x, y)))
        .collect();
    assert!(
        line_pixels
            .iter()
            .all(|&(x, y)| kept.get_pixel(x, y).0 == [10, 10, 12]),
        "every line pixel as drawn"
    );
    // The checkbox turns it off: the same seed's variation, its lines the generator's.
    harness.get_by_label("Keep lines").click();
    harness.run_steps(2);
    assert!(!harness.state().variations.keep_lines);
    vary_and_wait(&mut harness);
    let plain = &harness.state().variations.candidates[0].image;
    assert!(
        line_pixels
            .iter()
            .any(|&(x, y)| plain.get_pixel(x, y).0 != [10, 10, 12]),
        "without it the generator's change reaches the lines"
    );
}

#[test]
fn painting_on_the_canvas_dismisses_the_preview_but_keeps_the_candidate() {
    let mut h = vary_harness();
    h.state_mut().variations.count = 2;
    vary_and_wait(&mut h);
    // A click on a thumbnail previews that candidate; 1 picks the first.
    h.get_by_label("Candidate 2").click();
    h.run_steps(2);
    assert_eq!(h.state().variations.selected, Some(1));
    h.key_press(egui::Key::Num1);
    h.run_steps(2);
    assert_eq!(h.state().variations.selected, Some(0));
    let before = active_pixels(h.state());
    let size = h.state().doc.width() as f32;
    drag(
        &mut h,
        &[pos2(size * 0.2, size * 0.5), pos2(size * 0.8, size * 0.5)],
    );
    let app = h.state();
    assert_eq!(app.variations.selected, None, "the preview is gone");
    assert_eq!(app.variations.candidates.len(), 2, "both candidates wait");
    assert_ne!(active_pixels(app), before, "the stroke was painted");
}

#[test]
fn a_varied_selection_blends_back_with_a_feathered_edge() {
    let mut h = vary_harness();
    h.state_mut().variations.count = 1;
    h.state_mut().selection = Some(CanvasRect::new(30, 20, 30, 24));
    vary_and_wait(&mut h);
    let c = &h.state().variations.candidates[0];
    assert_eq!(c.selection, Some(CanvasRect::new(30, 20, 30, 24)));
    assert!(
        c.rect.w > 30 && c.rect.h > 24,
        "context around the selection"
    );
    let (rect, image) = (c.rect, c.image.clone());
    h.get_by_label("Accept 1").click();
    h.run_steps(2);
    let app = h.state();
    let layer = app.doc.layer(app.doc.active()).expect("layer");
    // Inside the selection: the candidate, opaque.
    let p = layer.grid.pixel(45, 32);
    assert_eq!(p[3], 255);
    let q = image.get_pixel(45 - rect.x, 32 - rect.y);
    assert_eq!(p[..3], q.0);
    // Well outside it (but inside the context): untouched canvas shows through.
    assert_eq!(layer.grid.pixel(rect.x, rect.y), [0, 0, 0, 0]);
    // On the edge: partly covered.
    let edge = layer.grid.pixel(30, 32)[3];
    assert!(edge > 0 && edge < 255, "edge alpha {edge}");
}

#[test]
fn best_of_k_shows_the_critics_favourites_and_more_like_this_stays_close() {
    let mut h = vary_harness();
    h.state_mut().variations.count = 2;
    h.state_mut().variations.best_of = 6;
    vary_and_wait(&mut h);
    let v = &h.state().variations;
    assert_eq!(v.candidates.len(), 2, "status: {}", h.state().status);
    assert_eq!(v.history.records.len(), 6, "all six are in the history");
    let shown_min = v
        .candidates
        .iter()
        .map(|c| c.critic)
        .fold(f32::MAX, f32::min);
    let hidden_max = v
        .history
        .records
        .iter()
        .filter(|r| v.candidates.iter().all(|c| c.id != r.id))
        .map(|r| r.critic)
        .fold(f32::MIN, f32::max);
    assert!(shown_min >= hidden_max, "{shown_min} < {hidden_max}");
    // More like candidate 1: codes near its code.
    let z = v.candidates[0].z.clone();
    h.state_mut().variations.best_of = 0;
    h.get_by_label("More like 1").click();
    wait_for_candidates(&mut h);
    let v = &h.state().variations;
    assert_eq!(v.candidates.len(), 2);
    for c in &v.candidates {
        let d: f32 =
            c.z.iter()
                .zip(&z)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f32>()
                .sqrt();
        let prior: f32 = (z.len() as f32).sqrt();
        assert!(d < 0.6 * prior, "distance {d} from the chosen code");
    }
}

/// Runs frames (20 ms apart, at most `frames`) until `done` holds, for
/// background jobs the app polls each frame.
fn run_until(
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

/// Answers the folder picker (portfolio import).
struct FolderDialogs(std::path::PathBuf);

impl atelier::ui::files::FileDialogs for FolderDialogs {
    fn open_project(&self) -> Option<std::path::PathBuf> {
        None
    }
    fn save_project(&self, _suggested: &str) -> Option<std::path::PathBuf> {
        None
    }
    fn pick_folder(&self) -> Option<std::path::PathBuf> {
        Some(self.0.clone())
    }
}

#[test]
fn refine_makes_a_version_that_vary_uses_and_the_models_window_rolls_back() {
    let profile = tempfile::tempdir().expect("temp dir");
    let work = tempfile::tempdir().expect("temp dir");
    image::RgbImage::from_pixel(80, 80, image::Rgb([200, 120, 60]))
        .save(work.path().join("mine.png"))
        .expect("png");
    std::fs::write(work.path().join("broken.png"), b"not a png").expect("write");
    let mut h = vary_harness();
    h.state_mut().set_profile_dir(profile.path().to_owned());
    h.state_mut()
        .set_file_dialogs(Box::new(FolderDialogs(work.path().to_owned())));
    h.state_mut().state.refine_steps = 3;
    // Import my work: one image kept, the broken one reported by name.
    h.get_by_label("Models…").click();
    h.run_steps(4);
    h.get_by_label("Import my work…").click();
    run_until(&mut h, 200, |app| app.refinement.portfolio.is_none());
    assert!(
        h.state().status.contains("broken.png"),
        "{}",
        h.state().status
    );
    assert_eq!(
        std::fs::read_dir(profile.path().join("portfolio"))
            .expect("portfolio")
            .count(),
        1
    );
    // Accept one candidate, then refine.
    h.state_mut().variations.count = 2;
    vary_and_wait(&mut h);
    h.get_by_label("Accept 1").click();
    h.run_steps(2);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::R);
    h.run_steps(1);
    assert!(h.state().refinement.running());
    run_until(&mut h, 3000, |app| !app.refinement.running());
    let app = h.state();
    assert!(app.status.starts_with("Refined"), "{}", app.status);
    let (versions, current) = app.refinement.listing.clone().expect("listing");
    assert_eq!(versions.len(), 1);
    assert_eq!(current.as_deref(), Some(versions[0].id.as_str()));
    assert!(app.variations.model.is_some(), "Vary uses the new version");
    // Roll back from the models window.
    h.get_by_label("Roll back").click();
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.refinement.listing.clone().expect("listing").1, None);
    assert!(app.variations.model.is_none(), "back to the embedded model");
}

#[test]
fn the_history_window_filters_and_reapplies() {
    let mut h = vary_harness();
    h.state_mut().variations.count = 2;
    vary_and_wait(&mut h);
    h.get_by_label("Reject 2").click();
    h.run_steps(2);
    h.get_by_label("History…").click();
    // A window needs a frame to size itself before it is shown.
    h.run_steps(4);
    h.get_by_label("Rejected (1)").click();
    h.run_steps(2);
    let id = h.state().variations.history.records[1].id;
    assert!(h.query_by_label(&format!("Re-apply #{}", id - 1)).is_none());
    h.get_by_label(&format!("Re-apply #{id}")).click();
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.doc.layers().len(), 2, "status: {}", app.status);
    let layer = app.doc.layer(app.doc.active()).expect("layer");
    assert_eq!(
        layer.props.provenance.as_ref().and_then(|p| p.candidate),
        Some(id)
    );
}
