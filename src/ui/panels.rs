//! The side and top panels: menu, toolbar, brush, colour and status bar.
//! Panels read state and emit [`Command`]s; they change nothing themselves
//! (the colour panel keeps only the hex text being typed).
use eframe::egui::{self, Color32, RichText};

use super::commands::Command;
use super::notify::{Level, Notifications};
use super::state::AppState;
use crate::brush::hex_color;
use crate::editor::Editor;
use crate::editor::tools::Tool;
use crate::render::gpu::CanvasView;

/// A button that emits `cmd`, with its shortcut in the tooltip.
fn command_button(ui: &mut egui::Ui, cmd: Command, out: &mut Vec<Command>) {
    let tip = cmd.tooltip(ui.ctx());
    if ui.button(cmd.label()).on_hover_text(tip).clicked() {
        out.push(cmd);
    }
}

/// Undo or Redo, naming the step it acts on; disabled when there is none.
fn history_button(ui: &mut egui::Ui, cmd: Command, step: Option<&str>, out: &mut Vec<Command>) {
    let text = match step {
        Some(step) => format!("{} {step}", cmd.label()),
        None => cmd.label(),
    };
    let tip = cmd.tooltip(ui.ctx());
    if ui
        .add_enabled(step.is_some(), egui::Button::new(text))
        .on_hover_text(tip)
        .clicked()
    {
        out.push(cmd);
    }
}

/// File / Edit / View / Layer / Help menus.
pub fn menu_bar(state: &AppState, editor: &Editor, ui: &mut egui::Ui, out: &mut Vec<Command>) {
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| {
            command_button(ui, Command::NewCanvas, out);
            command_button(ui, Command::Open, out);
            ui.add_enabled_ui(!state.recent_files.is_empty(), |ui| {
                ui.menu_button("Open recent", |ui| {
                    for path in state.recent_files.clone() {
                        let tip = path.display().to_string();
                        let cmd = Command::OpenRecent(path);
                        if ui.button(cmd.label()).on_hover_text(tip).clicked() {
                            out.push(cmd);
                        }
                    }
                });
            });
            command_button(ui, Command::Save, out);
            command_button(ui, Command::SaveAs, out);
            ui.separator();
            command_button(ui, Command::Export, out);
            ui.add_enabled_ui(editor.selection.is_some(), |ui| {
                command_button(ui, Command::ExportSelection, out)
            });
            command_button(ui, Command::ExportAccepted, out);
            ui.separator();
            command_button(ui, Command::ImportLayers, out);
            command_button(ui, Command::PasteImage, out);
            ui.separator();
            command_button(ui, Command::Quit, out);
        });
        ui.menu_button("Edit", |ui| {
            let (undo, redo) = (editor.history.undo_label(), editor.history.redo_label());
            history_button(ui, Command::Undo, undo, out);
            history_button(ui, Command::Redo, redo, out);
            command_button(ui, Command::Deselect, out);
            ui.separator();
            command_button(ui, Command::ShowSettings, out);
        });
        ui.menu_button("View", |ui| {
            for cmd in [
                Command::ZoomFit,
                Command::Zoom100,
                Command::RotateView(-15.0),
                Command::RotateView(15.0),
                Command::ResetRotation,
            ] {
                command_button(ui, cmd, out);
            }
        });
        ui.menu_button("Layer", |ui| {
            command_button(ui, Command::AddLayer, out);
            let id = editor.doc.active();
            command_button(ui, Command::DuplicateLayer(id), out);
            command_button(ui, Command::MergeDown(id), out);
            command_button(ui, Command::DeleteLayer(id), out);
        });
        ui.menu_button("Help", |ui| command_button(ui, Command::ShowShortcuts, out));
    });
}

/// Tool buttons and view controls.
pub fn toolbar(state: &AppState, view: &CanvasView, ui: &mut egui::Ui, out: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        for tool in Tool::ALL {
            let cmd = Command::SelectTool(tool);
            let tip = cmd.tooltip(ui.ctx());
            if ui
                .selectable_label(state.tool == tool, tool.label())
                .on_hover_text(tip)
                .clicked()
            {
                out.push(cmd);
            }
        }
        ui.separator();
        if state.tool == Tool::Fill {
            let mut tolerance = state.fill_tolerance;
            ui.add(egui::Slider::new(&mut tolerance, 0..=255).text("Tolerance"));
            if tolerance != state.fill_tolerance {
                out.push(Command::SetFillTolerance(tolerance));
            }
            ui.separator();
        }
        command_button(ui, Command::ZoomFit, out);
        command_button(ui, Command::Zoom100, out);
        let mut percent = view.zoom * 100.0;
        let zoom = ui.add(
            egui::DragValue::new(&mut percent)
                .range(1.0..=3200.0)
                .suffix(" %")
                .max_decimals(0)
                .speed(1.0),
        );
        if zoom.changed() {
            out.push(Command::SetZoom(percent / 100.0));
        }
        let mut deg = view.rotation.to_degrees();
        if ui
            .add(egui::DragValue::new(&mut deg).suffix("°").speed(1.0))
            .on_hover_text("View rotation (4 / 6 rotate, 5 resets)")
            .changed()
        {
            out.push(Command::SetRotation(deg));
        }
    });
}

/// What the status bar shows.
pub struct Status<'a> {
    /// The document and its history.
    pub editor: &'a Editor,
    /// The view (zoom).
    pub view: &'a CanvasView,
    /// The pointer over the canvas, in canvas space.
    pub hover: Option<egui::Pos2>,
    /// A file job in progress: what it does.
    pub file_job: Option<&'a str>,
    /// The share of the visible picture the GAN made (0..1).
    pub gan_share: f64,
    /// Messages, newest last.
    pub notify: &'a Notifications,
}

/// Zoom, size, pointer position, undo memory and the latest message.
pub fn status_bar(st: Status, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        let doc = &st.editor.doc;
        ui.label(format!("{}×{}", doc.width(), doc.height()));
        ui.separator();
        ui.label(format!("{:.0} %", st.view.zoom * 100.0));
        if let Some(h) = st.hover {
            ui.separator();
            ui.label(format!("{:.0}, {:.0}", h.x, h.y));
        }
        ui.separator();
        let history = &st.editor.history;
        ui.label(format!(
            "undo {} steps, {:.0} MiB",
            history.undo_len(),
            history.used() as f64 / (1024.0 * 1024.0)
        ));
        ui.separator();
        ui.label(format!("GAN {:.0} %", st.gan_share * 100.0))
            .on_hover_text(
                "How much of the visible picture came from GAN-made layers, after blending \
                 and your painting over them (exports carry it in their metadata)",
            );
        if let Some(label) = st.file_job {
            ui.separator();
            ui.spinner();
            ui.label(label);
        }
        if let Some(latest) = st.notify.latest() {
            ui.separator();
            let colour = match latest.level {
                Level::Info => ui.visuals().text_color(),
                Level::Warning => ui.visuals().warn_fg_color,
                Level::Error => ui.visuals().error_fg_color,
            };
            ui.label(egui::RichText::new(&latest.text).color(colour))
                .on_hover_ui(|ui| {
                    // The newest first: what happened before this message.
                    for n in st.notify.iter().rev().take(12) {
                        ui.label(format!("{} s ago: {}", n.at.elapsed().as_secs(), n.text));
                    }
                });
        }
    });
}

/// Presets and the current brush's settings.
pub fn brush_panel(state: &AppState, ui: &mut egui::Ui, out: &mut Vec<Command>) {
    ui.heading("Brush");
    ui.horizontal_wrapped(|ui| {
        for (n, preset) in state.presets.iter().enumerate() {
            let selected = state.brush.name == preset.name;
            if ui.selectable_label(selected, &preset.name).clicked() {
                out.push(Command::ChoosePreset(n));
            }
        }
    });
    let mut b = state.brush.clone();
    ui.add(
        egui::Slider::new(&mut b.radius, 0.5..=500.0)
            .logarithmic(true)
            .text("Size"),
    )
    .on_hover_text("Radius in pixels ([ and ] change it)");
    ui.add(egui::Slider::new(&mut b.hardness, 0.0..=1.0).text("Hardness"));
    ui.add(egui::Slider::new(&mut b.opacity, 0.0..=1.0).text("Opacity"));
    ui.add(egui::Slider::new(&mut b.flow, 0.01..=1.0).text("Flow"));
    ui.add(egui::Slider::new(&mut b.spacing, 0.02..=1.0).text("Spacing"))
        .on_hover_text("Distance between dabs as a fraction of the diameter");
    ui.add(egui::Slider::new(&mut b.smoothing, 0.0..=0.95).text("Smoothing"))
        .on_hover_text("Stabiliser: higher values follow the pointer more smoothly");
    ui.add(egui::Slider::new(&mut b.pressure_size, 0.0..=1.0).text("Size by pressure"));
    ui.add(egui::Slider::new(&mut b.pressure_opacity, 0.0..=1.0).text("Opacity by pressure"));
    ui.add(egui::Slider::new(&mut b.jitter, 0.0..=1.0).text("Jitter"));
    if b != state.brush {
        out.push(Command::SetBrush(b));
    }
}

fn to_color32(c: [u8; 4]) -> Color32 {
    Color32::from_rgba_unmultiplied(c[0], c[1], c[2], c[3])
}

fn from_color32(c: Color32) -> [u8; 4] {
    c.to_srgba_unmultiplied()
}

/// A small colour square that sets the primary colour when clicked.
fn swatch(ui: &mut egui::Ui, c: [u8; 4], out: &mut Vec<Command>) {
    let (rect, resp) = ui.allocate_exact_size(egui::vec2(18.0, 18.0), egui::Sense::click());
    ui.painter().rect_filled(rect, 2.0, to_color32(c));
    let resp = resp.on_hover_text(hex_color::format([c[0], c[1], c[2]]));
    if resp.clicked() {
        out.push(Command::SetColour(c));
    }
}

/// The colour panel's own state: the hex code being typed.
#[derive(Default)]
pub struct ColourPanel {
    hex_text: String,
}

impl ColourPanel {
    /// HSV picker with alpha, hex entry, swatches and recent colours.
    pub fn show(&mut self, state: &AppState, ui: &mut egui::Ui, out: &mut Vec<Command>) {
        ui.heading("Colour");
        let mut c = to_color32(state.primary);
        if egui::widgets::color_picker::color_picker_color32(
            ui,
            &mut c,
            egui::widgets::color_picker::Alpha::OnlyBlend,
        ) {
            out.push(Command::SetColour(from_color32(c)));
        }
        ui.horizontal(|ui| {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(28.0, 20.0), egui::Sense::hover());
            ui.painter()
                .rect_filled(rect, 2.0, to_color32(state.primary));
            let (rect2, resp) =
                ui.allocate_exact_size(egui::vec2(20.0, 14.0), egui::Sense::click());
            ui.painter()
                .rect_filled(rect2, 2.0, to_color32(state.secondary));
            if resp.on_hover_text("Secondary colour (X swaps)").clicked() {
                out.push(Command::SwapColors);
            }
            let p = state.primary;
            let current = hex_color::format([p[0], p[1], p[2]]);
            let edit = ui.add(
                egui::TextEdit::singleline(&mut self.hex_text)
                    .desired_width(70.0)
                    .hint_text(&current),
            );
            if edit.lost_focus() && !self.hex_text.is_empty() {
                let typed = self.hex_text.trim();
                out.push(match hex_color::parse(typed) {
                    Some(rgb) => Command::SetColour([rgb[0], rgb[1], rgb[2], p[3]]),
                    None => Command::Warn(format!("`{typed}` is not a #rrggbb colour")),
                });
                self.hex_text.clear();
            }
        });
        ui.label(RichText::new("Swatches").small());
        ui.horizontal_wrapped(|ui| {
            for &c in &state.swatches {
                swatch(ui, c, out);
            }
        });
        if !state.recent.is_empty() {
            ui.label(RichText::new("Recent").small());
            ui.horizontal_wrapped(|ui| {
                for &c in &state.recent {
                    swatch(ui, c, out);
                }
            });
        }
    }
}
