//! Vary in the real app, driven through its widgets with egui_kittest:
//! candidates, decisions and their undo, the history window, refinement.
use atelier::document::CanvasRect;
use eframe::egui::{self, pos2};
use egui_kittest::kittest::Queryable;

mod common;
use common::{fine_detail, lined};
#[path = "common/ui.rs"]
mod ui;
use ui::*;

#[test]
fn vary_accept_reject_and_undo() {
    let mut h = vary_harness();
    h.state_mut().variations.count = 3;
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::G);
    h.run_steps(1);
    assert!(h.state().variations.running, "Vary started a batch");
    wait_for_candidates(&mut h);
    assert_eq!(
        h.state().variations.candidates.len(),
        3,
        "status: {}",
        h.state().status()
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
    assert_eq!(app.editor.doc.layers().len(), 2);
    let layer = active_layer(app);
    assert!(layer.props.name.contains("seed"), "{}", layer.props.name);
    for (x, y, p) in expected.enumerate_pixels() {
        assert_eq!(layer.grid.pixel(x, y), [p[0], p[1], p[2], 255]);
    }
    let provenance = layer.props.provenance.clone().expect("provenance");
    assert_eq!(provenance.seed, app.variations.history().records[0].seed);
    // The remaining candidate kept its number; favourite it. The history has
    // every decision.
    assert_eq!(h.state().variations.candidates[0].number, 3);
    h.get_by_label("Favourite 3").click();
    h.run_steps(2);
    use atelier::decisions::Decision;
    let decisions: Vec<(Decision, bool)> = h
        .state()
        .variations
        .history()
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
    let steering = h.state().variations.decisions.steering().clone();
    assert_eq!(steering.decisions, 2);

    // Save, reopen in a fresh app: history (with lossless images), steering
    // and the accepted layer's provenance survive.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("loop.atelier");
    h.state_mut()
        .set_file_dialogs(Box::new(FixedDialogs(path.clone())));
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    wait_for_file_job(&mut h);
    assert!(!h.state().is_dirty(), "status: {}", h.state().status());
    let history = h.state().variations.history().clone();
    let mut h2 = harness(white(8, 8));
    h2.state_mut()
        .set_file_dialogs(Box::new(FixedDialogs(path.clone())));
    h2.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    wait_for_file_job(&mut h2);
    let app2 = h2.state();
    assert_eq!(
        *app2.variations.history(),
        history,
        "status: {}",
        app2.status()
    );
    assert_eq!(*app2.variations.decisions.steering(), steering);
    let reopened = app2.editor.doc.layers().last().expect("layer");
    assert_eq!(reopened.props.provenance, Some(provenance));
    let first = &history.records[0];
    assert_eq!(
        app2.variations
            .history()
            .image(&first.output)
            .expect("image"),
        expected
    );

    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run_steps(2);
    let app = h.state();
    assert_eq!(
        app.editor.doc.layers().len(),
        1,
        "undo removes the accepted layer"
    );
    // …and the decision: the history, the steering (only the reject is left)
    // and what Refine would train on.
    let history = app.variations.history();
    assert_eq!(history.records[0].decision, Decision::Pending);
    assert_eq!(history.counts().1, 0, "no accepted candidate is left");
    assert_eq!(app.variations.decisions.steering().decisions, 1);
    let mut only_reject = atelier::decisions::LatentSteering::new(steering.dim());
    only_reject.update(&[], &[history.records[1].z.clone()]);
    assert_eq!(*app.variations.decisions.steering(), only_reject);
    assert!(app.is_dirty(), "an undone decision is an unsaved change");
    let numbers: Vec<usize> = app.variations.candidates.iter().map(|c| c.number).collect();
    assert_eq!(
        numbers,
        [1, 3],
        "the candidate waits again under its number"
    );
    // Redo brings both back.
    h.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::Z,
    );
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.editor.doc.layers().len(), 2);
    assert_eq!(
        app.variations.history().records[0].decision,
        Decision::Accepted
    );
    assert_eq!(*app.variations.decisions.steering(), steering);
    assert_eq!(
        app.variations.candidates.len(),
        1,
        "accepted again, it left the grid"
    );
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
    assert_eq!(h.state().variations.selected, Some(2));
    assert_eq!(h.state().view.rotation, 0.0);
    assert!(
        h.state()
            .variations_panel
            .preview_made_for(h.state().variations.candidates[1].id),
        "the preview texture is made"
    );
    // Enter accepts it.
    let expected = h.state().variations.candidates[1].image.clone();
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.editor.doc.layers().len(), 2);
    let layer = active_layer(app);
    assert_eq!(layer.grid.pixel(5, 5)[..3], expected.get_pixel(5, 5).0);
    assert_eq!(
        app.variations.selected, None,
        "no other candidate's preview covers the accepted layer"
    );
    // 1 then Delete rejects the first; a second Delete rejects nothing more.
    h.key_press(egui::Key::Num1);
    h.key_press(egui::Key::Delete);
    h.run_steps(2);
    h.key_press(egui::Key::Delete);
    h.run_steps(2);
    let v = &h.state().variations;
    assert_eq!(v.candidates.len(), 1);
    assert_eq!(v.candidates[0].number, 3, "the third keeps its number");
    use atelier::decisions::Decision;
    let decisions: Vec<Decision> = v.history().records.iter().map(|r| r.decision).collect();
    assert_eq!(
        decisions,
        [Decision::Rejected, Decision::Accepted, Decision::Pending]
    );
    // 3 previews the third, Escape closes the preview and keeps it waiting.
    h.key_press(egui::Key::Num3);
    h.run_steps(2);
    assert_eq!(h.state().variations.selected, Some(3));
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert_eq!(h.state().variations.selected, None);
    assert_eq!(h.state().variations.candidates.len(), 1);
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
    // The first candidate still waits; the new one comes after it.
    assert_eq!(harness.state().variations.candidates.len(), 2);
    let plain = &harness.state().variations.candidates[1].image;
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
    assert_eq!(h.state().variations.selected, Some(2));
    h.key_press(egui::Key::Num1);
    h.run_steps(2);
    assert_eq!(h.state().variations.selected, Some(1));
    let before = active_pixels(h.state());
    let size = h.state().editor.doc.width() as f32;
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
    h.state_mut().editor.selection = Some(CanvasRect::new(30, 20, 30, 24));
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
    let layer = active_layer(app);
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
    assert_eq!(v.candidates.len(), 2, "status: {}", h.state().status());
    assert_eq!(v.history().records.len(), 6, "all six are in the history");
    let shown_min = v
        .candidates
        .iter()
        .map(|c| c.critic)
        .fold(f32::MAX, f32::min);
    let hidden_max = v
        .history()
        .records
        .iter()
        .filter(|r| v.candidates.iter().all(|c| c.id != r.id))
        .map(|r| r.critic)
        .fold(f32::MIN, f32::max);
    assert!(shown_min >= hidden_max, "{shown_min} < {hidden_max}");
    // More like candidate 1: codes near its code.
    let z = v.candidates[0].z.clone();
    let first_id = v.candidates[0].id;
    h.state_mut().variations.best_of = 0;
    h.get_by_label("More like 1").click();
    wait_for_candidates(&mut h);
    let v = &h.state().variations;
    // Nothing waiting was thrown away: the two shown, then two more like 1.
    assert_eq!(v.candidates.len(), 4);
    assert_eq!(
        v.candidates[0].id, first_id,
        "More like keeps its candidate"
    );
    let numbers: Vec<usize> = v.candidates.iter().map(|c| c.number).collect();
    assert_eq!(numbers, [1, 2, 3, 4]);
    for c in &v.candidates[2..] {
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
        h.state().status().contains("broken.png"),
        "{}",
        h.state().status()
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
    assert!(app.status().starts_with("Refined"), "{}", app.status());
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
    let id = h.state().variations.history().records[1].id;
    assert!(h.query_by_label(&format!("Re-apply #{}", id - 1)).is_none());
    h.get_by_label(&format!("Re-apply #{id}")).click();
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.editor.doc.layers().len(), 2, "status: {}", app.status());
    let layer = active_layer(app);
    assert_eq!(
        layer.props.provenance.as_ref().and_then(|p| p.candidate),
        Some(id)
    );
}

#[test]
fn cancel_stops_the_stream_and_a_new_vary_keeps_what_was_made() {
    // A canvas large enough that nine candidates take several seconds.
    let mut h = harness(white(512, 512));
    h.state_mut().variations.count = 9;
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::G);
    run_until(&mut h, 3000, |app| !app.variations.candidates.is_empty());
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    let (shown, recorded) = {
        let v = &h.state().variations;
        assert!(!v.running, "cancelled");
        (v.candidates.len(), v.history().records.len())
    };
    assert!((1..9).contains(&shown), "{shown} candidates before Cancel");
    // Whatever the worker was making when Cancel came never arrives.
    std::thread::sleep(std::time::Duration::from_secs(3));
    h.run_steps(3);
    let v = &h.state().variations;
    assert_eq!(v.candidates.len(), shown, "nothing arrives after Cancel");
    assert_eq!(v.history().records.len(), recorded);

    // A Vary started while one runs keeps the first one's candidates.
    h.state_mut().variations.count = 2;
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::G);
    run_until(&mut h, 3000, |app| app.variations.candidates.len() > shown);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::G);
    wait_for_candidates(&mut h);
    let v = &h.state().variations;
    assert!(
        v.candidates.len() >= shown + 3,
        "{} candidates: the waiting ones, what the interrupted Vary made and the new two",
        v.candidates.len()
    );
    let mut numbers: Vec<usize> = v.candidates.iter().map(|c| c.number).collect();
    numbers.dedup();
    assert_eq!(
        numbers.len(),
        v.candidates.len(),
        "every candidate has its own number"
    );
}
