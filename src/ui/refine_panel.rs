//! What the artist sees of refinement: the progress block in the variations
//! panel (with a live loss plot) and the model versions window. Both read
//! [`Refinement`] and emit [`Command`]s; the window keeps only its own
//! state (open, a rename being typed).
use eframe::egui;

use super::commands::Command;
use super::refinement::{ModelAction, Refinement};
use super::state::AppState;

/// The model versions window's own state.
#[derive(Default)]
pub struct ModelsWindow {
    /// Whether it is shown.
    pub open: bool,
    /// Rename in progress: (version id, text).
    rename: Option<(String, String)>,
}

/// The refinement progress block in the variations panel.
pub fn progress(r: &Refinement, ui: &mut egui::Ui, out: &mut Vec<Command>) {
    if let Some(p) = &r.portfolio {
        let (i, n) = p.progress;
        ui.add(
            egui::ProgressBar::new(i as f32 / n.max(1) as f32)
                .text(format!("Importing your work {i} / {n}")),
        );
    }
    let Some(job) = &r.job else {
        return;
    };
    let (step, total, eta) = job.progress;
    ui.label(format!("Refining on {}", job.data));
    let text = if r.paused_for_artist() {
        format!("step {step} / {total}, paused while you work")
    } else {
        format!("step {step} / {total}, about {} s left", eta.as_secs())
    };
    ui.add(egui::ProgressBar::new(step as f32 / total.max(1) as f32).text(text));
    loss_plot(ui, &job.losses);
    if ui.button("Cancel refinement").clicked() {
        out.push(Command::CancelRefine);
    }
}

/// A small live plot of the smoothed losses (D in orange, G in blue).
fn loss_plot(ui: &mut egui::Ui, losses: &[[f64; 2]]) {
    let (rect, _) =
        ui.allocate_exact_size(egui::vec2(ui.available_width(), 60.0), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, egui::Color32::from_gray(30));
    if losses.len() < 2 {
        return;
    }
    let (lo, hi) = losses
        .iter()
        .flatten()
        .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
    let span = (hi - lo).max(1e-6);
    for (k, color) in [
        (0, egui::Color32::from_rgb(240, 150, 40)),
        (1, egui::Color32::from_rgb(80, 160, 240)),
    ] {
        let pts: Vec<egui::Pos2> = losses
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let x = rect.left() + rect.width() * i as f32 / (losses.len() - 1) as f32;
                let y = rect.bottom() - rect.height() * ((l[k] - lo) / span) as f32;
                egui::pos2(x, y)
            })
            .collect();
        painter.add(egui::Shape::line(pts, egui::Stroke::new(1.5, color)));
    }
    ui.label("losses: D (orange), G (blue)");
}

/// The models window: versions of the style profile.
pub fn models_window(
    win: &mut ModelsWindow,
    r: &Refinement,
    state: &AppState,
    ctx: &egui::Context,
    out: &mut Vec<Command>,
) {
    if !win.open {
        return;
    }
    let mut open = true;
    let mut action: Option<ModelAction> = None;
    egui::Window::new("Model versions")
        .open(&mut open)
        .default_width(420.0)
        .show(ctx, |ui| {
            let Some((versions, current)) = r.listing.clone() else {
                ui.label("No style profile folder is available.");
                return;
            };
            ui.horizontal(|ui| {
                let is_default = current.is_none();
                if ui
                    .selectable_label(is_default, "Embedded default model")
                    .clicked()
                {
                    action = Some(ModelAction::Switch(None));
                }
            });
            for v in versions.iter().rev() {
                ui.separator();
                let is_current = current.as_deref() == Some(v.id.as_str());
                ui.horizontal(|ui| {
                    if ui.selectable_label(is_current, &v.name).clicked() {
                        action = Some(ModelAction::Switch(Some(v.id.clone())));
                    }
                    ui.label(format!("from {}", v.parent.as_deref().unwrap_or("-")));
                });
                ui.label(format!(
                    "{}, {}",
                    v.note,
                    crate::decisions::history::format_time(v.created)
                ));
                ui.small(&v.metrics);
                ui.horizontal(|ui| {
                    match &mut win.rename {
                        Some((id, text)) if *id == v.id => {
                            ui.add(egui::TextEdit::singleline(text).desired_width(160.0));
                            if ui.button("OK").clicked() {
                                action = Some(ModelAction::Rename(id.clone(), text.clone()));
                            }
                        }
                        _ => {
                            if ui.button(format!("Rename {}", v.name)).clicked() {
                                win.rename = Some((v.id.clone(), v.name.clone()));
                            }
                        }
                    }
                    if ui.button(format!("Export {}", v.name)).clicked() {
                        action = Some(ModelAction::Export(v.id.clone()));
                    }
                    if ui.button(format!("Delete {}", v.name)).clicked() {
                        action = Some(ModelAction::Delete(v.id.clone()));
                    }
                });
            }
            ui.separator();
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(current.is_some(), egui::Button::new("Roll back"))
                    .on_hover_text("Go back to the version this one was refined from")
                    .clicked()
                {
                    action = Some(ModelAction::Rollback);
                }
                if ui.button("Import a version…").clicked() {
                    action = Some(ModelAction::Import);
                }
                let tip = Command::ImportPortfolio.tooltip(ui.ctx());
                if ui
                    .button(Command::ImportPortfolio.label())
                    .on_hover_text(tip)
                    .clicked()
                {
                    out.push(Command::ImportPortfolio);
                }
            });
            let mut steps = state.refine_steps;
            ui.add(egui::Slider::new(&mut steps, 10..=2000).text("Refine steps"));
            if steps != state.refine_steps {
                out.push(Command::SetRefineSteps(steps));
            }
            let mut every = state.auto_refine_every;
            ui.add(
                egui::Slider::new(&mut every, 0..=50).text("Auto-refine after decisions (0: off)"),
            );
            if every != state.auto_refine_every {
                out.push(Command::SetAutoRefine(every));
            }
        });
    win.open = open;
    if let Some(a) = action {
        if matches!(a, ModelAction::Rename(..)) {
            win.rename = None;
        }
        out.push(Command::Model(a));
    }
}
