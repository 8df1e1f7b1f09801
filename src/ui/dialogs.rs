//! Windows: New canvas, the recovery offer, the unsaved-changes question,
//! Help → Shortcuts, Settings. They read what they show and emit commands;
//! only their own fields (which window is open, the New canvas form) change
//! here.
use std::path::Path;

use eframe::egui;

use super::commands::{CANDIDATE_SHORTCUTS, Command, POINTER_SHORTCUTS};
use super::guard::Replacing;
use crate::document::MAX_SIDE;

/// Canvas size presets offered by the New canvas dialog.
pub const PRESETS: [(&str, u32, u32); 6] = [
    ("Square 1024", 1024, 1024),
    ("Square 2048", 2048, 2048),
    ("HD 1920×1080", 1920, 1080),
    ("4K 3840×2160", 3840, 2160),
    ("A4 300 dpi", 2480, 3508),
    ("Large 8192", 8192, 8192),
];

/// The New canvas dialog's fields.
#[derive(Clone, Debug)]
pub struct NewCanvasDialog {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Background colour (straight RGBA; alpha 0 = transparent).
    pub background: [u8; 4],
}

impl Default for NewCanvasDialog {
    fn default() -> Self {
        Self {
            width: 2048,
            height: 2048,
            background: [255, 255, 255, 255],
        }
    }
}

/// Which windows are open, and the New canvas form.
#[derive(Default)]
pub struct Dialogs {
    /// The New canvas dialog, while it is open.
    pub new_canvas: Option<NewCanvasDialog>,
    /// Help → Shortcuts is open.
    pub show_shortcuts: bool,
    /// Edit → Settings is open.
    pub show_settings: bool,
}

/// What the windows show, read from the app.
pub struct Shown<'a> {
    /// A recovery file left by a session that did not exit cleanly.
    pub offer_recovery: Option<&'a Path>,
    /// The action whose unsaved-changes question is showing.
    pub asking: Option<&'a Replacing>,
    /// The document's file name (or "Untitled").
    pub name: String,
    /// The undo memory budget in MiB.
    pub undo_budget_mib: u32,
}

/// Shows whichever windows are open.
pub fn windows(d: &mut Dialogs, shown: Shown<'_>, ctx: &egui::Context, out: &mut Vec<Command>) {
    new_canvas(d, ctx, out);
    if let Some(path) = shown.offer_recovery {
        egui::Window::new("Recover unsaved work?")
            .collapsible(false)
            .resizable(false)
            .show(ctx, |ui| {
                ui.label("Atelier did not exit cleanly last time. Recover the autosaved work?");
                ui.horizontal(|ui| {
                    if ui.button("Recover").clicked() {
                        out.push(Command::Recover(path.to_path_buf()));
                    }
                    if ui.button("Discard").clicked() {
                        out.push(Command::DiscardRecovery);
                    }
                });
            });
    }
    if let Some(action) = shown.asking {
        egui::Window::new("Unsaved changes")
            .collapsible(false)
            .resizable(false)
            .show(ctx, |ui| {
                ui.label(action.question(&shown.name));
                ui.horizontal(|ui| {
                    if ui.button("Save").clicked() {
                        out.push(Command::SaveThen(action.clone()));
                    }
                    if ui.button(action.discard_label()).clicked() {
                        out.push(Command::Proceed(action.clone()));
                    }
                    if ui.button("Cancel").clicked() {
                        out.push(Command::CancelQuestion);
                    }
                });
            });
    }
    if d.show_shortcuts {
        let mut open = true;
        egui::Window::new("Shortcuts")
            .open(&mut open)
            .show(ctx, |ui| {
                egui::Grid::new("shortcuts").striped(true).show(ui, |ui| {
                    for cmd in Command::with_shortcuts() {
                        if let Some(s) = cmd.shortcut() {
                            ui.label(ctx.format_shortcut(&s));
                            ui.label(cmd.label());
                            ui.end_row();
                        }
                    }
                    for &(keys, what) in POINTER_SHORTCUTS.iter().chain(&CANDIDATE_SHORTCUTS) {
                        ui.label(keys);
                        ui.label(what);
                        ui.end_row();
                    }
                });
            });
        d.show_shortcuts = open;
    }
    if d.show_settings {
        let mut open = true;
        egui::Window::new("Settings")
            .open(&mut open)
            .show(ctx, |ui| {
                let mut mib = shown.undo_budget_mib;
                ui.add(
                    egui::Slider::new(&mut mib, 16..=8192)
                        .logarithmic(true)
                        .text("Undo memory (MiB)"),
                );
                if mib != shown.undo_budget_mib {
                    out.push(Command::SetUndoBudget(mib));
                }
            });
        d.show_settings = open;
    }
}

fn new_canvas(d: &mut Dialogs, ctx: &egui::Context, out: &mut Vec<Command>) {
    let Some(mut dialog) = d.new_canvas.take() else {
        return;
    };
    let mut keep_open = true;
    let mut create = false;
    egui::Window::new("New canvas")
        .collapsible(false)
        .show(ctx, |ui| {
            ui.horizontal_wrapped(|ui| {
                for (name, w, h) in PRESETS {
                    if ui.button(name).clicked() {
                        (dialog.width, dialog.height) = (w, h);
                    }
                }
            });
            egui::Grid::new("new-canvas").show(ui, |ui| {
                ui.label("Width");
                ui.add(
                    egui::DragValue::new(&mut dialog.width)
                        .range(1..=MAX_SIDE)
                        .suffix(" px"),
                );
                ui.end_row();
                ui.label("Height");
                ui.add(
                    egui::DragValue::new(&mut dialog.height)
                        .range(1..=MAX_SIDE)
                        .suffix(" px"),
                );
                ui.end_row();
                ui.label("Background");
                ui.horizontal(|ui| {
                    let mut c = egui::Color32::from_rgba_unmultiplied(
                        dialog.background[0],
                        dialog.background[1],
                        dialog.background[2],
                        dialog.background[3],
                    );
                    if egui::widgets::color_picker::color_edit_button_srgba(
                        ui,
                        &mut c,
                        egui::widgets::color_picker::Alpha::OnlyBlend,
                    )
                    .changed()
                    {
                        dialog.background = c.to_srgba_unmultiplied();
                    }
                    if ui.button("White").clicked() {
                        dialog.background = [255; 4];
                    }
                    if ui.button("Transparent").clicked() {
                        dialog.background = [0; 4];
                    }
                });
                ui.end_row();
            });
            ui.horizontal(|ui| {
                if ui.button("Create").clicked() {
                    create = true;
                }
                if ui.button("Cancel").clicked() {
                    keep_open = false;
                }
            });
        });
    if create {
        out.push(Command::NewDocument(
            dialog.width,
            dialog.height,
            dialog.background,
        ));
        keep_open = false;
    }
    if keep_open {
        d.new_canvas = Some(dialog);
    }
}
