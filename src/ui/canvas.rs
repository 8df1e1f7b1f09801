//! The canvas view: shows the document through the view transform and turns
//! pointer input (in screen space) into tool gestures (in canvas space).
use eframe::egui::{self, Color32, Pos2, Rect, Sense, Stroke, Vec2, vec2};

use super::commands::Command;
use super::notify::Notifications;
use super::state::AppState;
use crate::document::{CanvasRect, Document};
use crate::editor::tools::Tool;
use crate::editor::{Began, Editor, ToolInput};
use crate::render::gpu::{CanvasPaintCallback, CanvasView, ViewTransform};

/// What the canvas view reads and changes this frame. It edits the
/// document only through the [`Editor`]'s gestures; everything else it
/// wants (a picked colour, closing the preview) goes out as [`Command`]s.
pub struct Canvas<'a> {
    /// The document and the gesture in progress.
    pub editor: &'a mut Editor,
    /// Zoom, pan and rotation (the canvas pans and zooms itself).
    pub view: &'a mut CanvasView,
    /// Pointer state kept between frames.
    pub input: &'a mut CanvasInput,
    /// The tool, brush and colours.
    pub state: &'a AppState,
    /// Whether the view should be fitted to the viewport.
    pub fit_pending: &'a mut bool,
    /// The previewed candidate: its texture and where it goes on the canvas.
    pub preview: Option<(egui::TextureHandle, CanvasRect)>,
    /// Live's rendition over the canvas: texture, place and opacity.
    pub overlay: Option<(egui::TextureHandle, CanvasRect, f32)>,
    /// Whether the wgpu compositor draws the document.
    pub gpu: bool,
    /// Where warnings go.
    pub notify: &'a mut Notifications,
    /// Commands for the app to apply after the frame.
    pub out: &'a mut Vec<Command>,
}

/// Pointer state the canvas keeps between frames.
pub struct CanvasInput {
    /// The viewport the view was last fitted to (None: not fitted).
    pub(super) fitted_for: Option<Rect>,
    /// Last hover position in canvas space.
    pub hover: Option<Pos2>,
    /// Where the canvas view was laid out last frame, in screen space.
    pub viewport: Rect,
    /// Pressure from the latest touch/pen event (mouse: 1).
    pressure: f32,
}

impl Default for CanvasInput {
    fn default() -> Self {
        Self {
            fitted_for: None,
            hover: None,
            viewport: Rect::NOTHING,
            pressure: 1.0,
        }
    }
}

/// The canvas size as a vector.
fn canvas_size(doc: &Document) -> Vec2 {
    vec2(doc.width() as f32, doc.height() as f32)
}

/// This frame's screen ↔ canvas mapping for a canvas shown in `viewport`:
/// `pos_in_canvas = transform(..).canvas_from_screen(pos_in_screen)`.
pub fn transform(view: &CanvasView, doc: &Document, viewport: Rect) -> ViewTransform {
    view.transform(viewport.center().into(), canvas_size(doc).into())
}

/// Draws the canvas and handles its input.
pub fn show(mut cv: Canvas, ui: &mut egui::Ui) {
    let viewport = ui.max_rect();
    let response = ui.allocate_rect(viewport, Sense::click_and_drag());
    cv.input.viewport = viewport;
    let size = canvas_size(&cv.editor.doc);
    // A fitted view follows the viewport (side panels settle in the first
    // frames, the window is resized) until the artist zooms or pans.
    let fitted = |vp: Rect| CanvasView::fit(size.into(), (vp.size() - vec2(16.0, 16.0)).into());
    let still_fitted = cv.input.fitted_for.is_some_and(|vp| *cv.view == fitted(vp));
    if (*cv.fit_pending || still_fitted) && viewport.width() > 32.0 {
        *cv.view = fitted(viewport);
        cv.input.fitted_for = Some(viewport);
        *cv.fit_pending = false;
    }
    handle_view_input(cv.view, ui, &response, viewport);
    handle_tool_input(&mut cv, ui, &response, viewport);
    paint(&cv, ui, viewport);
    paint_overlays(&cv, ui, viewport);
}

fn handle_view_input(
    view: &mut CanvasView,
    ui: &egui::Ui,
    response: &egui::Response,
    viewport: Rect,
) {
    let (scroll, zoom, space, middle_down, delta) = ui.input(|i| {
        (
            i.smooth_scroll_delta.y,
            i.zoom_delta(),
            i.key_down(egui::Key::Space),
            i.pointer.middle_down(),
            i.pointer.delta(),
        )
    });
    if let Some(anchor) = response.hover_pos() {
        // Wheel and Ctrl+wheel (reported as zoom) both zoom about the pointer.
        let factor = zoom * (scroll * 0.0025).exp();
        if (factor - 1.0).abs() > 1e-4 {
            view.zoom_about(viewport.center().into(), anchor.into(), factor);
        }
    }
    let primary_pan = space && response.is_pointer_button_down_on();
    if primary_pan || (middle_down && response.hovered()) {
        view.pan[0] += delta.x;
        view.pan[1] += delta.y;
    }
}

/// A pointer event that matters to tools, in the order it happened.
enum PointerStep {
    Press(Pos2),
    Move(Pos2),
    Release(Pos2),
}

/// This frame's primary-button presses, moves and releases, oldest first.
/// Tools replay all of them, in order, so a fast stroke stays smooth and a
/// press, drag and release that land in one slow frame still paint the line.
fn pointer_steps(ui: &egui::Ui) -> (Vec<PointerStep>, Option<f32>, bool, f64) {
    ui.input(|i| {
        let mut force = None;
        let steps = i
            .events
            .iter()
            .filter_map(|e| match e {
                egui::Event::PointerMoved(p) => Some(PointerStep::Move(*p)),
                egui::Event::Touch { pos, force: f, .. } => {
                    force = *f;
                    Some(PointerStep::Move(*pos))
                }
                egui::Event::PointerButton {
                    pos,
                    button: egui::PointerButton::Primary,
                    pressed,
                    ..
                } => Some(if *pressed {
                    PointerStep::Press(*pos)
                } else {
                    PointerStep::Release(*pos)
                }),
                _ => None,
            })
            .collect();
        (steps, force, i.modifiers.alt, i.time)
    })
}

fn handle_tool_input(cv: &mut Canvas, ui: &egui::Ui, response: &egui::Response, viewport: Rect) {
    let t = transform(cv.view, &cv.editor.doc, viewport);
    let to_canvas = |p: Pos2| -> [f32; 2] { t.canvas_from_screen(p.into()) };
    cv.input.hover = response.hover_pos().map(|p| to_canvas(p).into());
    // Space turns the primary button into panning (handled above).
    if ui.input(|i| i.key_down(egui::Key::Space)) {
        return;
    }
    let (steps, force, alt, time) = pointer_steps(ui);
    if let Some(f) = force {
        cv.input.pressure = f.clamp(0.0, 1.0);
    }
    // Presses count only on the visible canvas (not under a window or panel).
    let can_start = response.hovered() || response.is_pointer_button_down_on();
    for step in steps {
        match step {
            PointerStep::Press(p) if can_start && viewport.contains(p) && cv.editor.is_idle() => {
                cv.input.pressure = force.unwrap_or(1.0);
                // Working on the canvas dismisses a candidate's preview: it
                // covers the canvas, so what the artist does would be hidden.
                // The candidate stays in the grid.
                if cv.preview.is_some() {
                    cv.out.push(Command::ClosePreview);
                }
                let tool = cv.state.tool;
                let tool = if alt && matches!(tool, Tool::Brush | Tool::Eraser | Tool::Fill) {
                    Tool::Picker
                } else {
                    tool
                };
                let input = ToolInput {
                    brush: &cv.state.brush,
                    color: cv.state.primary,
                    fill_tolerance: cv.state.fill_tolerance,
                };
                match cv.editor.begin(tool, to_canvas(p), time, input) {
                    Began::Started => {}
                    Began::Picked(c) => cv.out.push(Command::UseColour(c)),
                    Began::HiddenLayer => cv
                        .notify
                        .warn("The active layer is hidden: show it to paint on it"),
                    Began::Busy => cv.notify.info("A fill is still being computed"),
                }
                cv.editor.feed(to_canvas(p), cv.input.pressure, time);
            }
            PointerStep::Move(p) if !cv.editor.is_idle() => {
                cv.editor.feed(to_canvas(p), cv.input.pressure, time)
            }
            PointerStep::Release(p) if !cv.editor.is_idle() => {
                cv.editor.feed(to_canvas(p), cv.input.pressure, time);
                if cv.editor.end(to_canvas(p)) && cv.state.tool == Tool::Brush {
                    cv.out.push(Command::UseColour(cv.state.primary));
                }
            }
            _ => {}
        }
    }
}

fn paint(cv: &Canvas, ui: &mut egui::Ui, viewport: Rect) {
    let t = transform(cv.view, &cv.editor.doc, viewport);
    if cv.gpu {
        // The document clone is cheap (tiles are shared); the callback uploads
        // only tiles whose revision changed.
        let cb = CanvasPaintCallback::with_transform(cv.editor.doc.clone(), t, viewport);
        ui.painter_at(viewport).add(cb.into_paint_callback());
    }
    if let Some((tex, rect, opacity)) = &cv.overlay {
        paint_quad(ui, &t, viewport, tex, *rect, *opacity);
    }
    if let Some((tex, rect)) = &cv.preview {
        paint_quad(ui, &t, viewport, tex, *rect, 1.0);
    }
    let corners = screen_corners(&t, cv.editor.doc.bounds());
    ui.painter_at(viewport).add(egui::Shape::closed_line(
        corners.to_vec(),
        Stroke::new(1.0, Color32::from_gray(20)),
    ));
}

/// An image over its place on the canvas (a textured quad, so it follows
/// zoom, pan and rotation): the previewed candidate, or Live's overlay.
fn paint_quad(
    ui: &egui::Ui,
    t: &ViewTransform,
    viewport: Rect,
    tex: &egui::TextureHandle,
    rect: CanvasRect,
    opacity: f32,
) {
    let corners = screen_corners(t, rect);
    let tint = Color32::WHITE.gamma_multiply(opacity.clamp(0.0, 1.0));
    let uv = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]].map(|[x, y]| egui::pos2(x, y));
    let mut mesh = egui::Mesh::with_texture(tex.id());
    for (p, t) in corners.iter().zip(uv) {
        mesh.vertices.push(egui::epaint::Vertex {
            pos: *p,
            uv: t,
            color: tint,
        });
    }
    mesh.indices.extend([0, 1, 2, 0, 2, 3]);
    ui.painter_at(viewport).add(egui::Shape::mesh(mesh));
}

/// Corners of a canvas rectangle on screen (rotation makes it a quad).
fn screen_corners(t: &ViewTransform, r: CanvasRect) -> [Pos2; 4] {
    let (x0, y0, x1, y1) = (r.x as f32, r.y as f32, r.right() as f32, r.bottom() as f32);
    [[x0, y0], [x1, y0], [x1, y1], [x0, y1]].map(|p| t.screen_from_canvas(p).into())
}

fn paint_overlays(cv: &Canvas, ui: &egui::Ui, viewport: Rect) {
    let painter = ui.painter_at(viewport);
    let t = transform(cv.view, &cv.editor.doc, viewport);
    let to_screen = |p: Pos2| -> Pos2 { t.screen_from_canvas(p.into()).into() };
    let hover = cv.input.hover;
    let selection = hover
        .and_then(|h| cv.editor.pending_selection([h.x, h.y]))
        .or(cv.editor.selection);
    if let Some(r) = selection {
        let pts = screen_corners(&t, r).to_vec();
        painter.add(egui::Shape::closed_line(
            pts.clone(),
            Stroke::new(2.0, Color32::BLACK),
        ));
        painter.add(egui::Shape::dashed_line(
            &[pts.as_slice(), &pts[..1]].concat(),
            Stroke::new(1.0, Color32::WHITE),
            4.0,
            4.0,
        ));
    }
    if let Some(h) = hover
        && matches!(cv.state.tool, Tool::Brush | Tool::Eraser)
    {
        // Brush outline cursor at the brush's full-pressure size.
        let centre = to_screen(h);
        let r = (cv.state.brush.radius * cv.view.zoom).max(1.5);
        painter.circle_stroke(centre, r, Stroke::new(1.5, Color32::BLACK));
        painter.circle_stroke(centre, r + 1.0, Stroke::new(1.0, Color32::WHITE));
        ui.ctx().set_cursor_icon(egui::CursorIcon::None);
    } else if hover.is_some() {
        ui.ctx().set_cursor_icon(egui::CursorIcon::Crosshair);
    }
}
