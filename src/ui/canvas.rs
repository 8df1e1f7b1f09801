//! The canvas view: shows the document through the view transform and turns
//! pointer input (in screen space) into tool gestures (in canvas space).
use eframe::egui::{self, Color32, Pos2, Rect, Sense, Stroke, Vec2, vec2};

use super::app::AtelierApp;
use super::tools::{self, Gesture, Tool};
use crate::brush::StrokeSample;
use crate::document::CanvasRect;
use crate::render::cpu;
use crate::render::gpu::{CanvasPaintCallback, CanvasView, ViewTransform};

/// Pointer state the canvas keeps between frames.
pub struct CanvasInput {
    /// The viewport the view was last fitted to (None: not fitted).
    pub(super) fitted_for: Option<Rect>,
    /// Last hover position in canvas space.
    pub hover: Option<Pos2>,
    /// Where the canvas view was laid out last frame, in screen space.
    pub viewport: Rect,
    /// Stroke start time, for sample timestamps.
    stroke_start: f64,
    /// Pressure from the latest touch/pen event (mouse: 1).
    pressure: f32,
}

impl Default for CanvasInput {
    fn default() -> Self {
        Self {
            fitted_for: None,
            hover: None,
            viewport: Rect::NOTHING,
            stroke_start: 0.0,
            pressure: 1.0,
        }
    }
}

/// The canvas size as a vector.
fn canvas_size(app: &AtelierApp) -> Vec2 {
    vec2(app.doc.width() as f32, app.doc.height() as f32)
}

/// This frame's screen ↔ canvas mapping for a canvas shown in `viewport`:
/// `pos_in_canvas = transform(..).canvas_from_screen(pos_in_screen)`.
pub fn transform(app: &AtelierApp, viewport: Rect) -> ViewTransform {
    app.view
        .transform(viewport.center().into(), canvas_size(app).into())
}

/// Draws the canvas and handles its input.
pub fn show(app: &mut AtelierApp, ui: &mut egui::Ui) {
    let viewport = ui.max_rect();
    let response = ui.allocate_rect(viewport, Sense::click_and_drag());
    app.canvas_input.viewport = viewport;
    let size = canvas_size(app);
    // A fitted view follows the viewport (side panels settle in the first
    // frames, the window is resized) until the artist zooms or pans.
    let fitted = |vp: Rect| CanvasView::fit(size.into(), (vp.size() - vec2(16.0, 16.0)).into());
    let still_fitted = app
        .canvas_input
        .fitted_for
        .is_some_and(|vp| app.view == fitted(vp));
    if (app.fit_pending || still_fitted) && viewport.width() > 32.0 {
        app.view = fitted(viewport);
        app.canvas_input.fitted_for = Some(viewport);
        app.fit_pending = false;
    }
    handle_view_input(app, ui, &response, viewport);
    handle_tool_input(app, ui, &response, viewport);
    paint(app, ui, viewport);
    paint_overlays(app, ui, viewport);
}

fn handle_view_input(
    app: &mut AtelierApp,
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
            app.view
                .zoom_about(viewport.center().into(), anchor.into(), factor);
        }
    }
    let primary_pan = space && response.is_pointer_button_down_on();
    if primary_pan || (middle_down && response.hovered()) {
        app.view.pan[0] += delta.x;
        app.view.pan[1] += delta.y;
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

fn handle_tool_input(
    app: &mut AtelierApp,
    ui: &egui::Ui,
    response: &egui::Response,
    viewport: Rect,
) {
    let t = transform(app, viewport);
    let to_canvas = |p: Pos2| -> Pos2 { t.canvas_from_screen(p.into()).into() };
    app.canvas_input.hover = response.hover_pos().map(to_canvas);
    // Space turns the primary button into panning (handled above).
    if ui.input(|i| i.key_down(egui::Key::Space)) {
        return;
    }
    let (steps, force, alt, time) = pointer_steps(ui);
    if let Some(f) = force {
        app.canvas_input.pressure = f.clamp(0.0, 1.0);
    }
    // Presses count only on the visible canvas (not under a window or panel).
    let can_start = response.hovered() || response.is_pointer_button_down_on();
    for step in steps {
        match step {
            PointerStep::Press(p)
                if can_start && viewport.contains(p) && matches!(app.gesture, Gesture::Idle) =>
            {
                app.canvas_input.pressure = force.unwrap_or(1.0);
                app.canvas_input.stroke_start = time;
                // Working on the canvas dismisses a candidate's preview: it
                // covers the canvas, so what the artist does would be hidden.
                // The candidate stays in the grid.
                app.variations.selected = None;
                let tool = if alt && matches!(app.tool(), Tool::Brush | Tool::Eraser | Tool::Fill) {
                    Tool::Picker
                } else {
                    app.tool()
                };
                begin(app, tool, to_canvas(p));
                feed(app, to_canvas(p), time);
            }
            PointerStep::Move(p) if !matches!(app.gesture, Gesture::Idle) => {
                feed(app, to_canvas(p), time)
            }
            PointerStep::Release(p) if !matches!(app.gesture, Gesture::Idle) => {
                feed(app, to_canvas(p), time);
                end_gesture(app, to_canvas(p));
            }
            _ => {}
        }
    }
}

/// Finishes the gesture in progress at canvas position `end`.
fn end_gesture(app: &mut AtelierApp, end: Pos2) {
    if let Gesture::Selecting { start } = &app.gesture {
        let rect =
            CanvasRect::from_corners(*start, [end.x, end.y], app.doc.width(), app.doc.height());
        app.selection = (!rect.is_empty()).then_some(rect);
    }
    let was_stroke = matches!(app.gesture, Gesture::Stroke { .. });
    let g = std::mem::take(&mut app.gesture);
    tools::finish(g, &mut app.doc, &mut app.history, &mut app.mask_cache);
    if was_stroke && app.tool() == Tool::Brush {
        let c = app.state.primary;
        app.state.push_recent(c);
    }
}

/// Starts a gesture for `tool` at canvas position `at`.
fn begin(app: &mut AtelierApp, tool: Tool, at: Pos2) {
    match tool {
        Tool::Brush | Tool::Eraser => {
            let mut brush = app.state.brush.clone();
            // The colour's own alpha scales the brush opacity.
            brush.opacity *= app.state.primary[3] as f32 / 255.0;
            let c = app.state.primary;
            let seed = app.next_seed();
            match tools::begin_stroke(
                &app.doc,
                &brush,
                [c[0], c[1], c[2]],
                tool == Tool::Eraser,
                seed,
            ) {
                Some(g) => app.gesture = g,
                None => app
                    .notify
                    .warn("The active layer is hidden: show it to paint on it"),
            }
        }
        Tool::Picker => {
            if let Some(c) = pick(app, at) {
                app.state.primary = c;
                app.state.push_recent(c);
            }
        }
        Tool::Fill => fill(app, at),
        Tool::Select => {
            app.gesture = Gesture::Selecting {
                start: [at.x, at.y],
            }
        }
        Tool::Move => {
            if let Some(g) = tools::begin_move(&app.doc, [at.x, at.y]) {
                app.gesture = g;
            }
        }
    }
}

/// Feeds the pointer at canvas position `at` to the gesture in progress.
fn feed(app: &mut AtelierApp, at: Pos2, time: f64) {
    match app.gesture {
        Gesture::Stroke { .. } => {
            let sample = StrokeSample {
                x: at.x,
                y: at.y,
                pressure: app.canvas_input.pressure,
                time: (time - app.canvas_input.stroke_start) as f32,
            };
            tools::stroke_sample(&mut app.gesture, &mut app.doc, &mut app.mask_cache, sample);
        }
        Gesture::Moving { .. } => {
            tools::move_to(&mut app.gesture, &mut app.doc, [at.x, at.y]);
        }
        Gesture::Selecting { .. } | Gesture::Idle => {}
    }
}

/// The composite colour under a canvas position (straight RGBA).
fn pick(app: &AtelierApp, at: Pos2) -> Option<[u8; 4]> {
    if at.x < 0.0 || at.y < 0.0 {
        return None;
    }
    let (x, y) = (at.x as u32, at.y as u32);
    if x >= app.doc.width() || y >= app.doc.height() {
        return None;
    }
    let px = cpu::composite_rect(&app.doc, CanvasRect::new(x, y, 1, 1));
    let c = crate::document::blend::unpremultiply([px[0], px[1], px[2], px[3]]);
    (c[3] > 0).then_some(c)
}

fn fill(app: &mut AtelierApp, at: Pos2) {
    if at.x < 0.0 || at.y < 0.0 || at.x >= app.doc.width() as f32 || at.y >= app.doc.height() as f32
    {
        return;
    }
    let id = app.doc.active();
    let Some(grid) = app.doc.grid(id).cloned() else {
        return;
    };
    let (tol, color) = (app.state.fill_tolerance, app.state.primary);
    // A fill may read the whole layer: compute it on a copy (tiles are shared,
    // so the copy is cheap) off the UI thread; `apply_fill` lands it.
    app.fill_job = Some(super::tools::FillJob::spawn(
        id,
        grid,
        at.x as u32,
        at.y as u32,
        tol,
        color,
    ));
}

fn paint(app: &mut AtelierApp, ui: &mut egui::Ui, viewport: Rect) {
    if app.gpu {
        // The document clone is cheap (tiles are shared); the callback uploads
        // only tiles whose revision changed.
        let cb = CanvasPaintCallback::with_transform(
            app.doc.clone(),
            transform(app, viewport),
            viewport,
        );
        ui.painter_at(viewport).add(cb.into_paint_callback());
    }
    paint_preview(app, ui, viewport);
    let corners = screen_corners(app, viewport, app.doc.bounds());
    ui.painter_at(viewport).add(egui::Shape::closed_line(
        corners.to_vec(),
        Stroke::new(1.0, Color32::from_gray(20)),
    ));
}

/// The selected candidate, full size over its place on the canvas (a
/// textured quad, so it follows zoom, pan and rotation).
fn paint_preview(app: &mut AtelierApp, ui: &egui::Ui, viewport: Rect) {
    let Some(tex) = super::variations_panel::preview_texture(app, ui.ctx()) else {
        return;
    };
    let Some(rect) = app.variations.previewed().map(|c| c.rect) else {
        return;
    };
    let corners = screen_corners(app, viewport, rect);
    let uv = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]].map(|[x, y]| egui::pos2(x, y));
    let mut mesh = egui::Mesh::with_texture(tex.id());
    for (p, t) in corners.iter().zip(uv) {
        mesh.vertices.push(egui::epaint::Vertex {
            pos: *p,
            uv: t,
            color: Color32::WHITE,
        });
    }
    mesh.indices.extend([0, 1, 2, 0, 2, 3]);
    ui.painter_at(viewport).add(egui::Shape::mesh(mesh));
}

/// Corners of a canvas rectangle on screen (rotation makes it a quad).
fn screen_corners(app: &AtelierApp, viewport: Rect, r: CanvasRect) -> [Pos2; 4] {
    let t = transform(app, viewport);
    let (x0, y0, x1, y1) = (r.x as f32, r.y as f32, r.right() as f32, r.bottom() as f32);
    [[x0, y0], [x1, y0], [x1, y1], [x0, y1]].map(|p| t.screen_from_canvas(p).into())
}

fn paint_overlays(app: &AtelierApp, ui: &egui::Ui, viewport: Rect) {
    let painter = ui.painter_at(viewport);
    let t = transform(app, viewport);
    let to_screen = |p: Pos2| -> Pos2 { t.screen_from_canvas(p.into()).into() };
    let selection = match (&app.gesture, app.canvas_input.hover) {
        (Gesture::Selecting { start }, Some(h)) => Some(CanvasRect::from_corners(
            *start,
            [h.x, h.y],
            app.doc.width(),
            app.doc.height(),
        )),
        _ => app.selection,
    };
    if let Some(r) = selection {
        let pts = screen_corners(app, viewport, r).to_vec();
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
    if let Some(h) = app.canvas_input.hover
        && matches!(app.tool(), Tool::Brush | Tool::Eraser)
    {
        // Brush outline cursor at the brush's full-pressure size.
        let centre = to_screen(h);
        let r = (app.state.brush.radius * app.view.zoom).max(1.5);
        painter.circle_stroke(centre, r, Stroke::new(1.5, Color32::BLACK));
        painter.circle_stroke(centre, r + 1.0, Stroke::new(1.0, Color32::WHITE));
        ui.ctx().set_cursor_icon(egui::CursorIcon::None);
    } else if app.canvas_input.hover.is_some() {
        ui.ctx().set_cursor_icon(egui::CursorIcon::Crosshair);
    }
}
