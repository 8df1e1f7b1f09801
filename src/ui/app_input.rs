//! Keyboard input for [`AtelierApp`]: shortcuts become commands (digits,
//! Enter, Delete and Escape act on candidates while some wait), and which
//! input means the artist is working (a refinement pauses for it).
use eframe::egui;

use super::app::AtelierApp;
use super::commands::Command;

impl AtelierApp {
    pub(super) fn handle_shortcuts(&mut self, ctx: &egui::Context) {
        let typing = ctx.egui_wants_keyboard_input();
        let mut fired = Vec::new();
        ctx.input_mut(|i| {
            // While candidates wait for a decision, digits pick them (not the
            // view), Enter accepts and Delete rejects the previewed one.
            let waiting = self.variations.candidates.len();
            if waiting > 0 && !typing {
                let digits = [
                    egui::Key::Num1,
                    egui::Key::Num2,
                    egui::Key::Num3,
                    egui::Key::Num4,
                    egui::Key::Num5,
                    egui::Key::Num6,
                    egui::Key::Num7,
                    egui::Key::Num8,
                    egui::Key::Num9,
                ];
                for (k, key) in digits.into_iter().enumerate() {
                    let n = k + 1;
                    if self.variations.get(n).is_some() && i.consume_key(egui::Modifiers::NONE, key)
                    {
                        fired.push(Command::SelectCandidate(n));
                    }
                }
                if let Some(sel) = self.variations.selected {
                    if i.consume_key(egui::Modifiers::NONE, egui::Key::Enter) {
                        fired.push(Command::AcceptCandidate(sel));
                    }
                    if i.consume_key(egui::Modifiers::NONE, egui::Key::Delete) {
                        fired.push(Command::RejectCandidate(sel));
                    }
                    if i.consume_key(egui::Modifiers::NONE, egui::Key::Backslash) {
                        fired.push(Command::ToggleCompare);
                    }
                    // Escape closes the preview before it deselects anything.
                    if i.consume_key(egui::Modifiers::NONE, egui::Key::Escape) {
                        fired.push(Command::ClosePreview);
                    }
                }
            }
            // Ctrl+Y is a second Redo; check before plain Z so Shift is honoured.
            let redo_y = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::Y);
            if i.consume_shortcut(&redo_y) {
                fired.push(Command::Redo);
            }
            // Most modifiers first: consume_shortcut ignores extra Shift, so
            // Ctrl+Shift+Z must be tried before Ctrl+Z.
            let mut cmds: Vec<(Command, egui::KeyboardShortcut)> = Command::with_shortcuts()
                .into_iter()
                .filter_map(|c| c.shortcut().map(|s| (c, s)))
                .collect();
            cmds.sort_by_key(|(_, s)| {
                std::cmp::Reverse(s.modifiers.shift as u8 + s.modifiers.command as u8)
            });
            for (cmd, s) in cmds {
                if typing && s.modifiers.is_none() {
                    continue;
                }
                if i.consume_shortcut(&s) {
                    fired.push(cmd);
                }
            }
            if i.key_pressed(egui::Key::Escape) {
                fired.push(Command::Deselect);
            }
        });
        for cmd in fired {
            if cmd == Command::Deselect && self.editor.cancel() {
                continue;
            }
            self.apply(ctx, cmd);
        }
    }
}

/// Input that means the artist is working (a refinement pauses for it).
pub(super) fn is_artist_input(e: &egui::Event) -> bool {
    matches!(
        e,
        egui::Event::PointerMoved(_)
            | egui::Event::PointerButton { .. }
            | egui::Event::MouseWheel { .. }
            | egui::Event::Key { .. }
            | egui::Event::Text(_)
            | egui::Event::Touch { .. }
            | egui::Event::Zoom(_)
            | egui::Event::Rotate(_)
    )
}
