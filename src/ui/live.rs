//! Live in the window: the session (`vary::live::LiveSession`: when to ask
//! for a rendition, the held latent code, the worker) ticks once per UI
//! frame, and the newest frame is shown in its own window beside the canvas
//! or over it with an opacity. The window reads this state and emits
//! commands.

use eframe::egui;

use super::commands::Command;
use crate::document::{CanvasRect, Document};
use crate::vary::live::{LiveSession, Tick};

/// One Live control, as the live window changes it.
#[derive(Clone, Debug, PartialEq)]
pub enum LiveSetting {
    /// Show the rendition over the canvas instead of beside it.
    Overlay(bool),
    /// The overlay's opacity (0..1).
    Opacity(f32),
}

/// Live in the window: the session and how it is shown.
pub struct Live {
    /// When to ask, the held code, the worker and the newest frame.
    pub session: LiveSession,
    /// Shown over the canvas (true) or in its own window beside it.
    pub overlay: bool,
    /// The overlay's opacity.
    pub opacity: f32,
    texture: Option<(u64, egui::TextureHandle)>,
}

impl Default for Live {
    fn default() -> Self {
        Self {
            session: LiveSession::default(),
            overlay: false,
            opacity: 0.75,
            texture: None,
        }
    }
}

impl Live {
    /// Changes a display setting.
    pub fn set(&mut self, s: LiveSetting) {
        match s {
            LiveSetting::Overlay(b) => self.overlay = b,
            LiveSetting::Opacity(o) => self.opacity = o.clamp(0.0, 1.0),
        }
    }

    /// One UI frame: frames in, a request out when the canvas changed;
    /// returns an error to show.
    pub fn tick(&mut self, t: Tick, ctx: &egui::Context) -> Option<String> {
        let done = self.session.tick(t);
        if let Some(d) = done.again_in {
            ctx.request_repaint_after(d);
        }
        done.error
    }

    /// The newest frame as a texture (made once per frame received), with
    /// where it goes on the canvas.
    pub fn texture(&mut self, ctx: &egui::Context) -> Option<(egui::TextureHandle, CanvasRect)> {
        let s = &self.session;
        let f = s.frame.as_ref()?;
        if self.texture.as_ref().is_none_or(|(n, _)| *n != s.frames) {
            let (w, h) = f.image.dimensions();
            let rgba = crate::vary::decisions::rgba_with_alpha(&f.image, f.alpha.as_deref());
            let img = egui::ColorImage::from_rgba_unmultiplied([w as usize, h as usize], &rgba);
            let tex = ctx.load_texture("live-frame", img, egui::TextureOptions::LINEAR);
            self.texture = Some((s.frames, tex));
        }
        self.texture.as_ref().map(|(_, t)| (t.clone(), f.rect))
    }

    /// Whether the newest frame shows the canvas as it is now.
    pub fn is_current(&self, doc: &Document, selection: Option<CanvasRect>) -> bool {
        self.session.is_current(doc, selection)
    }
}

/// What the live window shows.
pub struct View<'a> {
    /// The frame's texture.
    pub texture: Option<&'a egui::TextureHandle>,
    /// Whether it shows the canvas as it is now.
    pub current: bool,
    /// Whether a rendition is being made.
    pub busy: bool,
    /// The live state.
    pub live: &'a Live,
}

/// The live window: the rendition (unless it is shown over the canvas),
/// Apply, Vary from here, New seed and the overlay controls.
pub fn window(v: View, ctx: &egui::Context, out: &mut Vec<Command>) {
    if !v.live.session.on {
        return;
    }
    let mut open = true;
    egui::Window::new("Live")
        .open(&mut open)
        .default_width(300.0)
        .default_pos(egui::pos2(320.0, 80.0))
        .show(ctx, |ui| {
            let status = match (&v.live.session.frame, v.current, v.busy) {
                (None, _, _) => "Painting along…".to_string(),
                (Some(_), true, _) => "Up to date".to_string(),
                (Some(_), false, _) => "Catching up with your painting…".to_string(),
            };
            ui.horizontal(|ui| {
                if v.busy {
                    ui.spinner();
                }
                ui.label(status);
            });
            if let (Some(tex), false) = (v.texture, v.live.overlay) {
                let size = tex.size_vec2();
                let scale = (ui.available_width() / size.x).min(1.0);
                ui.image((tex.id(), size * scale));
            }
            if let Some(f) = &v.live.session.frame {
                ui.small(format!(
                    "model {}, seed {}, strength {:.2}, {} ms",
                    f.model,
                    f.seed,
                    f.strength,
                    f.latency.as_millis()
                ));
            }
            ui.horizontal_wrapped(|ui| {
                for cmd in [
                    Command::ApplyLive,
                    Command::VaryFromLive,
                    Command::LiveNewSeed,
                ] {
                    let tip = cmd.tooltip(ui.ctx());
                    let enabled = cmd == Command::LiveNewSeed || v.live.session.frame.is_some();
                    if ui
                        .add_enabled(enabled, egui::Button::new(cmd.label()))
                        .on_hover_text(tip)
                        .clicked()
                    {
                        out.push(cmd);
                    }
                }
            });
            ui.horizontal(|ui| {
                let mut overlay = v.live.overlay;
                if ui.checkbox(&mut overlay, "Over the canvas").changed() {
                    out.push(Command::SetLive(LiveSetting::Overlay(overlay)));
                }
                let mut opacity = v.live.opacity;
                if ui
                    .add_enabled(
                        overlay,
                        egui::Slider::new(&mut opacity, 0.0..=1.0).text("Opacity"),
                    )
                    .changed()
                {
                    out.push(Command::SetLive(LiveSetting::Opacity(opacity)));
                }
            });
        });
    if !open {
        out.push(Command::ToggleLive);
    }
}
