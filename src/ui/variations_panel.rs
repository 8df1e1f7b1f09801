//! The variations panel: Vary controls, progress, and the candidate grid
//! (click a candidate to preview it full size over the canvas). Decisions go
//! through [`Command`]s like everything else: the panel reads the
//! [`Variations`] and keeps only its own textures.
use std::collections::HashMap;

use eframe::egui;

use super::commands::Command;
use super::refinement::Refinement;
use super::variations::THUMB_SIDE as THUMB;
use super::variations::{Candidate, Variations, VarySetting};
use crate::document::CanvasRect;

/// The panel's own state: textures made from the candidates' images.
#[derive(Default)]
pub struct VariationsPanel {
    /// Thumbnail textures by candidate id (used without the wgpu renderer).
    thumbs: HashMap<u64, egui::TextureHandle>,
    /// The previewed candidate's full-size texture, by candidate id.
    full: Option<(u64, egui::TextureHandle)>,
}

impl VariationsPanel {
    /// Whether the full-size preview texture of candidate `id` exists.
    pub fn preview_made_for(&self, id: u64) -> bool {
        self.full.as_ref().is_some_and(|(k, _)| *k == id)
    }

    fn thumb_texture(&mut self, ctx: &egui::Context, c: &Candidate) -> egui::TextureHandle {
        self.thumbs
            .entry(c.id)
            .or_insert_with(|| {
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

    /// The full-size texture of the previewed candidate (made once per
    /// candidate), with its feathered coverage, and where it goes on the
    /// canvas: the preview over the canvas.
    pub fn preview(
        &mut self,
        v: &Variations,
        ctx: &egui::Context,
    ) -> Option<(egui::TextureHandle, CanvasRect)> {
        if v.compare {
            return None;
        }
        let c = v.previewed()?;
        if !self.preview_made_for(c.id) {
            // Made once per candidate: a full-size RGBA copy is too costly per frame.
            let (w, h) = c.image.dimensions();
            let color =
                egui::ColorImage::from_rgba_unmultiplied([w as usize, h as usize], &c.rgba());
            let tex = ctx.load_texture(
                format!("candidate-full-{}", c.id),
                color,
                egui::TextureOptions::LINEAR,
            );
            self.full = Some((c.id, tex));
        }
        self.full.as_ref().map(|(_, t)| (t.clone(), c.rect))
    }
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

/// What the panel reads besides the candidates.
pub struct Context<'a> {
    /// The refinement, for its progress block.
    pub refinement: &'a Refinement,
    /// Whether a selection is active (Vary then varies it).
    pub has_selection: bool,
    /// Whether thumbnails are drawn by the wgpu renderer.
    pub gpu: bool,
}

/// A control that changes one Vary setting through a command.
fn setting<T: PartialEq + Clone>(
    out: &mut Vec<Command>,
    value: &T,
    edit: impl FnOnce(&mut T),
    wrap: impl FnOnce(T) -> VarySetting,
) {
    let mut v = value.clone();
    edit(&mut v);
    if v != *value {
        out.push(Command::SetVary(wrap(v)));
    }
}

/// Draws the panel; decisions, settings and Vary requests are pushed to `out`.
pub fn show(
    panel: &mut VariationsPanel,
    v: &Variations,
    cx: Context,
    ui: &mut egui::Ui,
    out: &mut Vec<Command>,
) {
    ui.heading("Variations");
    setting(
        out,
        &v.count,
        |c| {
            ui.add(egui::Slider::new(c, 1..=9).text("Count"));
        },
        VarySetting::Count,
    );
    setting(
        out,
        &v.best_of,
        |b| {
            ui.add(egui::Slider::new(b, 0..=32).text("Best of"))
                .on_hover_text(
                    "Generate this many and show only those the critic rates best (0: show all). \
                     The critic favours variations that stay near the canvas's colours, so its \
                     picks differ less from each other.",
                );
        },
        VarySetting::BestOf,
    );
    setting(
        out,
        &v.strength,
        |s| {
            ui.add(egui::Slider::new(s, 0.0..=1.0).text("Strength"))
                .on_hover_text("How far the variations may stray from the canvas");
        },
        VarySetting::Strength,
    );
    ui.horizontal(|ui| {
        setting(
            out,
            &v.lock_seed,
            |l| {
                ui.checkbox(l, "Lock seed");
            },
            VarySetting::LockSeed,
        );
        setting(
            out,
            &v.seed,
            |s| {
                ui.add(egui::DragValue::new(s).prefix("seed "));
            },
            VarySetting::Seed,
        );
        // On this row so the candidates' buttons stay in view on short windows.
        setting(
            out,
            &v.keep_lines,
            |k| {
                ui.checkbox(k, "Keep lines").on_hover_text(
                    "Keep line work: thin strokes stay as you drew them and the variation changes \
                     everything else. Applies from the next Vary.",
                );
            },
            VarySetting::KeepLines,
        );
    });
    setting(
        out,
        &v.replace_selection,
        |r| {
            ui.checkbox(r, "Accept replaces the selection")
                .on_hover_text(
                    "When a selection was varied, accepting paints the candidate into the active layer instead of adding a layer",
                );
        },
        VarySetting::ReplaceSelection,
    );
    let tip = Command::Vary.tooltip(ui.ctx());
    ui.horizontal(|ui| {
        let label = if cx.has_selection {
            "Vary selection"
        } else {
            "Vary"
        };
        if ui.button(label).on_hover_text(tip).clicked() {
            out.push(Command::Vary);
        }
        if v.running {
            let (done, total) = v.progress;
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
        let n = v.decisions.steering().decisions;
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
            out.push(Command::ResetSteering);
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
    super::refine_panel::progress(cx.refinement, ui, out);
    ui.separator();
    if v.selected.is_some() {
        setting(
            out,
            &v.compare,
            |c| {
                ui.checkbox(c, "Show original (\\)")
                    .on_hover_text("Hide the previewed candidate to compare with the canvas");
            },
            VarySetting::Compare,
        );
    }
    // Textures of candidates that left the grid are dropped.
    panel
        .thumbs
        .retain(|id, _| v.candidates.iter().any(|c| c.id == *id));
    let ctx = ui.ctx().clone();
    // The grid scrolls with the whole panel (app.rs wraps it in a ScrollArea).
    for c in &v.candidates {
        let n = c.number;
        let selected = v.selected == Some(n);
        let response = if cx.gpu {
            thumbnail_button(ui, c, n, selected)
        } else {
            let tex = panel.thumb_texture(&ctx, c);
            let image = egui::Image::new(&tex).max_width(THUMB as f32);
            ui.add(egui::Button::image(image).selected(selected))
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
