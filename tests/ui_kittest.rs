//! The real app driven through its widgets with egui_kittest, rendered on
//! lavapipe (Mesa's software Vulkan): painting, layers, tools and files.
//! Vary and the decisions are in `ui_vary.rs`.
use atelier::document::{CanvasRect, Document};
use atelier::ui::AtelierApp;
use eframe::egui::{self, Pos2, pos2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

#[path = "common/ui.rs"]
mod ui;
use ui::*;

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
    let w = app.editor.doc.width() as usize;
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
    assert_eq!(h.state().editor.doc.layers().len(), 2);
    let added = h.state().editor.doc.active();
    assert_eq!(h.state().editor.doc.index_of(added), Some(1));
    // Rows are listed top first: the new layer's "Down" button is the first one.
    h.get_all_by_label("Down")
        .next()
        .expect("a Down button")
        .click();
    h.run_steps(2);
    assert_eq!(
        h.state().editor.doc.index_of(added),
        Some(0),
        "moved below the background"
    );
    // Hide the top layer (first "Visible" checkbox).
    h.get_all_by_label("Visible")
        .next()
        .expect("a Visible checkbox")
        .click();
    h.run_steps(2);
    let top = h
        .state()
        .editor
        .doc
        .layers()
        .last()
        .expect("layers")
        .clone();
    assert!(!top.props.visible);
    // All three edits undo.
    for _ in 0..3 {
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
        h.run_steps(1);
    }
    assert_eq!(h.state().editor.doc.layers().len(), 1);
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
    let g = h.state().editor.doc.grid(id).expect("layer");
    assert_eq!(g.pixel(100, 100), [200, 30, 30, 255]);
    assert_eq!(g.pixel(15, 15), [0, 0, 0, 255], "fill stops at the square");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run_steps(1);
    assert_eq!(
        h.state()
            .editor
            .doc
            .grid(id)
            .expect("layer")
            .pixel(100, 100),
        [255, 255, 255, 255],
        "fill undoes"
    );
}

#[test]
fn shortcuts_change_tools_and_brush_size() {
    let mut h = harness(white(256, 256));
    h.key_press(egui::Key::E);
    h.run_steps(1);
    assert_eq!(h.state().tool(), atelier::editor::tools::Tool::Eraser);
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
    // Layer thumbnails refresh at most every 250 ms while a layer changes:
    // wait past that so the snapshot does not depend on the test's speed.
    std::thread::sleep(std::time::Duration::from_millis(300));
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
        (h.state().editor.doc.width(), h.state().editor.doc.height()),
        (1024, 1024)
    );
    assert_eq!(h.state().editor.doc.layers().len(), 1);
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
    assert!(saved.exists(), "status: {}", h.state().status());
    assert!(!h.state().is_dirty());
    let painted = h.state().editor.doc.layers()[1]
        .grid
        .read_rect(h.state().editor.doc.bounds());

    // A fresh app opens it through File → Open.
    let mut h = harness(white(64, 64));
    h.state_mut()
        .set_file_dialogs(Box::new(FixedDialogs(saved.clone())));
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    wait_for_file_job(&mut h);
    let app = h.state();
    assert_eq!(
        (app.editor.doc.width(), app.editor.doc.height()),
        (200, 150),
        "status: {}",
        app.status()
    );
    let names: Vec<&str> = app
        .editor
        .doc
        .layers()
        .iter()
        .map(|l| l.props.name.as_str())
        .collect();
    assert_eq!(names, ["Background", "Layer 2"]);
    assert!(
        app.editor.doc.layers()[1]
            .grid
            .read_rect(app.editor.doc.bounds())
            == painted,
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
        app.status()
    );
    assert!(
        app.editor.doc.layers()[1]
            .grid
            .read_rect(app.editor.doc.bounds())
            == painted
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
        assert_eq!(app.editor.doc.layers().len(), 2, "status: {}", app.status());
        let layer = active_layer(app);
        assert_eq!(layer.props.name, "dropped");
        assert_eq!(layer.grid.pixel(29, 19), [200, 10, 10, 255]);
    }
    // The clipboard's image arrives as an event (egui-winit reads it on Ctrl+V).
    let img = egui::ColorImage::from_rgba_unmultiplied([4, 3], &[10u8, 200, 30, 255].repeat(12));
    h.event(egui::Event::PasteImage(std::sync::Arc::new(img)));
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.editor.doc.layers().len(), 3);
    let layer = active_layer(app);
    assert_eq!(layer.props.name, "Pasted");
    assert_eq!(layer.grid.pixel(3, 2), [10, 200, 30, 255]);
    assert_eq!(layer.grid.pixel(4, 2), [0, 0, 0, 0]);
    // Both are ordinary undo steps.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run_steps(2);
    assert_eq!(h.state().editor.doc.layers().len(), 1);
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
    assert_eq!(
        h.state().editor.doc.width(),
        32,
        "status: {}",
        h.state().status()
    );
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
        h.state().status()
    );
    h.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::I,
    );
    wait_for_file_job(&mut h);
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.editor.doc.layers().len(), 2, "status: {}", app.status());
    assert_eq!(active_layer(app).props.name, "piece");
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
        (app.editor.doc.width(), app.editor.doc.height()),
        (80, 60),
        "status: {}",
        app.status()
    );
    assert_eq!(app.editor.doc.layers().len(), 2);
    assert!(app.is_dirty(), "recovered work is not saved yet");
    assert!(app.path.is_none());
}

/// Opens one file and saves to another.
struct TwoDialogs {
    open: std::path::PathBuf,
    save: std::path::PathBuf,
}

impl atelier::ui::files::FileDialogs for TwoDialogs {
    fn open_project(&self) -> Option<std::path::PathBuf> {
        Some(self.open.clone())
    }
    fn save_project(&self, _suggested: &str) -> Option<std::path::PathBuf> {
        Some(self.save.clone())
    }
}

#[test]
fn open_open_recent_and_new_canvas_ask_before_replacing_unsaved_work() {
    let dir = tempfile::tempdir().expect("temp dir");
    let other = dir.path().join("other.atelier");
    let mine = dir.path().join("mine.atelier");
    let mut h = harness(white(32, 32));
    h.state_mut()
        .set_file_dialogs(Box::new(FixedDialogs(other.clone())));
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    wait_for_file_job(&mut h);
    h.state_mut().replace_document(white(100, 80));
    h.state_mut().set_file_dialogs(Box::new(TwoDialogs {
        open: other.clone(),
        save: mine.clone(),
    }));
    h.get_by_label("Add layer").click();
    h.run_steps(1);
    assert!(h.state().is_dirty());
    let unchanged = |h: &Harness<'static, AtelierApp>| {
        let app = h.state();
        app.editor.doc.width() == 100 && app.editor.doc.layers().len() == 2
    };

    // Open asks; Cancel keeps the work.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    h.run_steps(2);
    h.get_by_label("Discard and open");
    wait_for_file_job(&mut h);
    assert!(unchanged(&h), "nothing opened while the question shows");
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    assert!(h.query_by_label("Discard and open").is_none());
    assert!(unchanged(&h));

    // Open recent asks too.
    h.get_by_label("File").click();
    h.run_steps(3);
    h.get_by_label("Open recent").hover();
    h.run_steps(2);
    h.get_by_label("other.atelier").click();
    h.run_steps(2);
    h.get_by_label("Discard and open");
    wait_for_file_job(&mut h);
    assert!(unchanged(&h));
    h.get_by_label("Cancel").click();
    h.run_steps(2);

    // New canvas asks before its dialog; discarding opens the dialog, and the
    // document is replaced only by Create.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::N);
    h.run_steps(2);
    assert!(
        h.query_by_label("Create").is_none(),
        "no dialog before the answer"
    );
    h.get_by_label("Discard and start a new canvas").click();
    // A window is laid out unseen on its first frame.
    h.run_steps(3);
    h.get_by_label("Create");
    assert!(unchanged(&h));
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    assert!(unchanged(&h) && h.state().is_dirty());

    // Save in the question saves first, then opens.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    h.run_steps(2);
    h.get_by_label("Save").click();
    h.run_steps(2);
    wait_for_file_job(&mut h);
    wait_for_file_job(&mut h);
    let saved = atelier::project::load(&mine).expect("the work was saved first");
    assert_eq!(saved.doc.layers().len(), 2);
    assert_eq!(
        h.state().editor.doc.width(),
        32,
        "then the other file opened"
    );
    assert!(!h.state().is_dirty());
}

/// A system without file dialogs (no portal, no zenity).
struct NoDialogs;

impl atelier::ui::files::FileDialogs for NoDialogs {
    fn open_project(&self) -> Option<std::path::PathBuf> {
        panic!("the system dialog is not there to call")
    }
    fn save_project(&self, _suggested: &str) -> Option<std::path::PathBuf> {
        panic!("the system dialog is not there to call")
    }
    fn available(&self) -> bool {
        false
    }
}

#[test]
fn without_a_system_file_dialog_save_as_and_export_use_atelier_s_own() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = dir.path().join("first.atelier");
    let mut h = harness(white(40, 30));
    h.state_mut()
        .set_file_dialogs(Box::new(FixedDialogs(first.clone())));
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    wait_for_file_job(&mut h);
    h.state_mut().set_file_dialogs(Box::new(NoDialogs));
    h.get_by_label("Add layer").click();
    h.run_steps(1);

    // Save as: Atelier's dialog opens in the project's folder with its name.
    h.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::S,
    );
    h.run_steps(3);
    assert!(
        h.state().status().contains("Atelier's own"),
        "the status bar says why: {}",
        h.state().status()
    );
    h.get_by_label("Save").click();
    h.run_steps(2);
    wait_for_file_job(&mut h);
    assert!(!h.state().is_dirty(), "status: {}", h.state().status());
    let saved = atelier::project::load(&first).expect("saved through the built-in dialog");
    assert_eq!(saved.doc.layers().len(), 2);

    // Export: the same dialog, a PNG beside the project.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::E);
    h.run_steps(3);
    h.get_by_label("Save").click();
    h.run_steps(2);
    wait_for_file_job(&mut h);
    let png = dir.path().join("first.png");
    let img = image::open(&png).expect("exported through the built-in dialog");
    assert_eq!((img.width(), img.height()), (40, 30));
}
