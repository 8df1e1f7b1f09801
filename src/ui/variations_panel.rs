//! The variations panel: Vary controls, progress, and the candidate grid
//! (click a candidate to preview it full size over the canvas). Decisions go
//! through [`Command`]s like everything else.
use eframe::egui;

use super::app::AtelierApp;
use super::commands::Command;
use super::variations::Candidate;

use super::variations::THUMB_SIDE as THUMB;

fn thumb_texture(ctx: &egui::Context, c: &mut Candidate) -> egui::TextureHandle {
    c.thumb
        .get_or_insert_with(|| {
            let img = &c.thumb_image;
            let color = egui::ColorImage::from_rgba_unmultiplied(
                [img.width() as usize, img.height() as usize],
                img.as_raw(),
            );
            ctx.load_texture(
                format!("candidate-thumb-{}", c.id),
                color,
                egui::TextureOptions::LINEAR,
            )
        })
        .clone()
}

/// A candidate's thumbnail as a clickable button drawn by our own paint
/// callback (`render::gpu::ThumbnailPaintCallback`), cheaper on a software
/// rasteriser than an egui image button (measured in BENCHMARKS.md).
fn thumbnail_button(ui: &mut egui::Ui, c: &Candidate, n: usize, selected: bool) -> egui::Response {
    let img = &c.thumb_image;
    let side = img.width().max(img.height()).max(1) as f32;
    let size = egui::vec2(img.width() as f32, img.height() as f32) * (THUMB as f32 / side);
    let pad = ui.spacing().button_padding;
    let (rect, response) = ui.allocate_exact_size(size + 2.0 * pad, egui::Sense::click());
    if ui.is_rect_visible(rect) {
        // An outline only: a fill under the opaque thumbnail would be a blended
        // pass over its whole area every frame, for a padding ring.
        let visuals = ui.style().interact_selectable(&response, selected);
        let stroke = if selected {
            ui.visuals().selection.stroke
        } else {
            visuals.bg_stroke
        };
        ui.painter().rect_stroke(
            rect,
            visuals.corner_radius,
            stroke,
            egui::StrokeKind::Inside,
        );
        let painter = ui.painter();
        let image_rect = egui::emath::GuiRounding::round_to_pixels(
            egui::Rect::from_center_size(rect.center(), size),
            ui.pixels_per_point(),
        );
        painter.add(
            crate::render::gpu::ThumbnailPaintCallback {
                id: c.thumb_key,
                image: c.thumb_image.clone(),
                rect: image_rect,
            }
            .into_paint_callback(),
        );
    }
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::Role::Button, true, format!("Candidate {n}"))
    });
    response
}

/// The full-size texture of the selected candidate (made once per candidate),
/// with its feathered coverage, for the preview over the canvas.
pub fn preview_texture(app: &mut AtelierApp, ctx: &egui::Context) -> Option<egui::TextureHandle> {
    let v = &mut app.variations;
    if v.compare {
        return None;
    }
    let n = v.selected?;
    let c = v.get_mut(n)?;
    if c.full.is_none() {
        // Made once per candidate: a full-size RGBA copy is too costly per frame.
        let (w, h) = c.image.dimensions();
        let color = egui::ColorImage::from_rgba_unmultiplied([w as usize, h as usize], &c.rgba());
        c.full = Some(ctx.load_texture(
            format!("candidate-full-{}", c.id),
            color,
            egui::TextureOptions::LINEAR,
        ));
    }
    c.full.clone()
}

/// Draws the panel; decisions and Vary requests are pushed to `out`.
pub fn show(app: &mut AtelierApp, ui: &mut egui::Ui, out: &mut Vec<Command>) {
    if let Some(message) = app.variations.poll() {
        app.notify.error(message);
    }
    ui.heading("Variations");
    let v = &mut app.variations;
    ui.add(egui::Slider::new(&mut v.count, 1..=9).text("Count"));
    ui.add(egui::Slider::new(&mut v.best_of, 0..=32).text("Best of"))
        .on_hover_text(
            "Generate this many and show only those the critic rates best (0: show all). \
             The critic favours variations that stay near the canvas's colours, so its \
             picks differ less from each other.",
        );
    ui.add(egui::Slider::new(&mut v.strength, 0.0..=1.0).text("Strength"))
        .on_hover_text("How far the variations may stray from the canvas");
    ui.horizontal(|ui| {
        ui.checkbox(&mut v.lock_seed, "Lock seed");
        ui.add(egui::DragValue::new(&mut v.seed).prefix("seed "));
        // On this row so the candidates' buttons stay in view on short windows.
        ui.checkbox(&mut v.keep_lines, "Keep lines").on_hover_text(
            "Keep line work: thin strokes stay as you drew them and the variation changes \
             everything else. Applies from the next Vary.",
        );
    });
    ui.checkbox(&mut v.replace_selection, "Accept replaces the selection")
        .on_hover_text(
            "When a selection was varied, accepting paints the candidate into the active layer instead of adding a layer",
        );
    let tip = Command::Vary.tooltip(ui.ctx());
    ui.horizontal(|ui| {
        let label = if app.selection.is_some() {
            "Vary selection"
        } else {
            "Vary"
        };
        if ui.button(label).on_hover_text(tip).clicked() {
            out.push(Command::Vary);
        }
        if app.variations.running {
            let (done, total) = app.variations.progress;
            ui.add(
                egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                    .text(format!("{done} / {total}"))
                    .desired_width(80.0),
            );
            if ui.button("Cancel").clicked() {
                out.push(Command::CancelVary);
            }
        }
    });
    ui.horizontal(|ui| {
        let n = app.variations.decisions.steering().decisions;
        ui.label(if n == 0 {
            "Sampling: unsteered".to_string()
        } else {
            format!("Steered by {n} decisions")
        })
        .on_hover_text("Accepts pull the next variations towards them, rejects push away");
        if ui
            .add_enabled(n > 0, egui::Button::new("Reset steering"))
            .clicked()
        {
            app.variations.decisions.reset_steering();
        }
    });
    ui.horizontal_wrapped(|ui| {
        for cmd in [Command::ShowHistory, Command::ShowModels, Command::Refine] {
            let tip = cmd.tooltip(ui.ctx());
            if ui.button(cmd.label()).on_hover_text(tip).clicked() {
                out.push(cmd);
            }
        }
    });
    super::refine_panel::progress(app, ui, out);
    ui.separator();
    if app.variations.selected.is_some() {
        ui.checkbox(&mut app.variations.compare, "Show original (\\)")
            .on_hover_text("Hide the previewed candidate to compare with the canvas");
    }
    let ctx = ui.ctx().clone();
    let selected = app.variations.selected;
    let gpu = app.gpu;
    // The grid scrolls with the whole panel (app.rs wraps it in a ScrollArea).
    for c in app.variations.candidates.iter_mut() {
        let n = c.number;
        let response = if gpu {
            thumbnail_button(ui, c, n, selected == Some(n))
        } else {
            let tex = thumb_texture(&ctx, c);
            let image = egui::Image::new(&tex).max_width(THUMB as f32);
            ui.add(egui::Button::image(image).selected(selected == Some(n)))
        }
        .on_hover_text(format!("Preview candidate {n} over the canvas ({n})"));
        if response.clicked() {
            out.push(Command::SelectCandidate(n));
        }
        ui.horizontal(|ui| {
                ui.label(format!("{n}: seed {}", c.seed));
                ui.label(format!("critic {:+.2}", c.critic)).on_hover_text(
                    "The discriminator's mean patch score: higher means it looks more like real paintings to the model",
                );
            });
        ui.small(format!("model {}", c.model));
        ui.horizontal_wrapped(|ui| {
            if ui.button(format!("Accept {n}")).clicked() {
                out.push(Command::AcceptCandidate(n));
            }
            if ui.button(format!("Reject {n}")).clicked() {
                out.push(Command::RejectCandidate(n));
            }
            let star = if c.favourite {
                "Favourite *"
            } else {
                "Favourite"
            };
            if ui
                .selectable_label(c.favourite, format!("{star} {n}"))
                .clicked()
            {
                out.push(Command::FavouriteCandidate(n));
            }
            if ui
                .button(format!("More like {n}"))
                .on_hover_text("Sample new variations around this one")
                .clicked()
            {
                out.push(Command::MoreLike(n));
            }
        });
        ui.separator();
    }
}
