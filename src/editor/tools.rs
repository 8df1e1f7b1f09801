//! Tools as explicit state machines inside undo transactions.
//!
//! A tool turns pointer events (already mapped to canvas space) into document
//! edits. Each gesture is one transaction: it starts on press, accumulates
//! while dragging, and is recorded in history on release (or reverted on
//! cancel), so undo always takes back a whole stroke, fill or move.
use serde::{Deserialize, Serialize};

use crate::brush::raster::MaskCache;
use crate::brush::{BrushSettings, LayerSurface, Paint, StrokeEngine, StrokeSample};
use crate::document::history::{Change, PixelEdit, Transaction};
use crate::document::{Document, History, Layer, LayerId};

/// The tools in the toolbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Tool {
    /// Paint with the current brush.
    Brush,
    /// Erase with the current brush.
    Eraser,
    /// Pick a colour from the canvas.
    Picker,
    /// Flood fill.
    Fill,
    /// Rectangle selection.
    Select,
    /// Move the active layer.
    Move,
}

impl Tool {
    /// Every tool, in toolbox order.
    pub const ALL: [Tool; 6] = [
        Tool::Brush,
        Tool::Eraser,
        Tool::Picker,
        Tool::Fill,
        Tool::Select,
        Tool::Move,
    ];

    /// Name shown on its button.
    pub fn label(self) -> &'static str {
        match self {
            Tool::Brush => "Brush",
            Tool::Eraser => "Eraser",
            Tool::Picker => "Picker",
            Tool::Fill => "Fill",
            Tool::Select => "Select",
            Tool::Move => "Move",
        }
    }
}

/// What a gesture in progress holds.
#[derive(Debug, Default)]
pub enum Gesture {
    /// Nothing pressed.
    #[default]
    Idle,
    /// Painting or erasing a stroke.
    Stroke {
        /// Dab placement state (boxed: it carries the jitter RNG).
        engine: Box<StrokeEngine>,
        /// Tiles touched so far (for undo).
        edit: PixelEdit,
        /// What the dabs deposit.
        paint: Paint,
        /// Whether alpha is locked on the target layer.
        lock_alpha: bool,
        /// Label of the undo step.
        label: &'static str,
    },
    /// Dragging a selection rectangle from `start`.
    Selecting {
        /// Where the drag began, in canvas space.
        start: [f32; 2],
    },
    /// Moving a layer.
    Moving {
        /// The layer stack before the move.
        before: (Vec<Layer>, LayerId),
        /// The moved layer as it was.
        original: Layer,
        /// Where the drag began, in canvas space.
        start: [f32; 2],
        /// Offset applied so far.
        offset: (i64, i64),
    },
}

/// Starts a brush or eraser stroke on the active layer. Returns `None` if the
/// layer is hidden (painting invisibly would surprise the artist).
pub fn begin_stroke(
    doc: &Document,
    brush: &BrushSettings,
    color: [u8; 3],
    eraser: bool,
    seed: u64,
) -> Option<Gesture> {
    let layer = doc.layer(doc.active())?;
    if !layer.props.visible {
        return None;
    }
    let mut settings = brush.clone();
    settings.eraser = eraser;
    Some(Gesture::Stroke {
        paint: Paint::new(color, &settings),
        engine: Box::new(StrokeEngine::new(settings, seed)),
        edit: PixelEdit::new(layer.id),
        lock_alpha: layer.props.lock_alpha,
        label: if eraser { "Erase" } else { "Brush stroke" },
    })
}

/// Feeds one pointer sample to a stroke.
pub fn stroke_sample(
    gesture: &mut Gesture,
    doc: &mut Document,
    cache: &mut MaskCache,
    sample: StrokeSample,
) {
    let Gesture::Stroke {
        engine,
        edit,
        paint,
        lock_alpha,
        ..
    } = gesture
    else {
        return;
    };
    let Some(grid) = doc.grid_mut(edit.layer()) else {
        return;
    };
    let mut surface = LayerSurface::new(grid, Some(edit), cache, *lock_alpha);
    engine.add_sample(sample, &mut |dab| {
        crate::brush::DabSurface::draw_dab(&mut surface, &dab, paint)
    });
}

/// Ends the gesture in progress, recording it as one undo step.
pub fn finish(gesture: Gesture, doc: &mut Document, history: &mut History, cache: &mut MaskCache) {
    match gesture {
        Gesture::Stroke {
            mut engine,
            mut edit,
            paint,
            lock_alpha,
            label,
        } => {
            if let Some(grid) = doc.grid_mut(edit.layer()) {
                let mut surface = LayerSurface::new(grid, Some(&mut edit), cache, lock_alpha);
                engine.finish(&mut |dab| {
                    crate::brush::DabSurface::draw_dab(&mut surface, &dab, &paint)
                });
            }
            history.record_pixels(doc, edit, label);
        }
        Gesture::Moving { before, offset, .. } => {
            if offset != (0, 0) {
                let after = (doc.layers().to_vec(), doc.active());
                history.record(Transaction::new(
                    "Move layer",
                    vec![Change::Stack { before, after }],
                ));
            }
        }
        Gesture::Selecting { .. } | Gesture::Idle => {}
    }
}

/// Abandons the gesture in progress, restoring the document.
pub fn cancel(gesture: Gesture, doc: &mut Document) {
    match gesture {
        Gesture::Stroke { edit, .. } => edit.revert(doc),
        Gesture::Moving { before, .. } => doc.set_stack(before.0, before.1),
        Gesture::Selecting { .. } | Gesture::Idle => {}
    }
}

/// Starts moving the active layer.
pub fn begin_move(doc: &Document, start: [f32; 2]) -> Option<Gesture> {
    let original = doc.layer(doc.active())?.clone();
    Some(Gesture::Moving {
        before: (doc.layers().to_vec(), doc.active()),
        original,
        start,
        offset: (0, 0),
    })
}

/// Moves the layer so that it follows the pointer at `now` (canvas space).
pub fn move_to(gesture: &mut Gesture, doc: &mut Document, now: [f32; 2]) {
    let Gesture::Moving {
        original,
        start,
        offset,
        ..
    } = gesture
    else {
        return;
    };
    let want = (
        (now[0] - start[0]).round() as i64,
        (now[1] - start[1]).round() as i64,
    );
    if want == *offset {
        return;
    }
    *offset = want;
    // Translate from the original each time, so nothing is lost at the edges mid-drag.
    let mut layers = doc.layers().to_vec();
    if let Some(slot) = layers.iter_mut().find(|l| l.id == original.id) {
        *slot = original.clone();
    }
    let active = doc.active();
    doc.set_stack(layers, active);
    if let Err(err) = doc.translate_layer(original.id, want.0, want.1) {
        tracing::warn!("move: {err}");
    }
}

/// A flood fill computed on a worker thread.
pub struct FillJob {
    layer: LayerId,
    job: crate::job::Job<(crate::document::CanvasRect, crate::document::TileGrid)>,
}

impl FillJob {
    /// Fills a copy of `grid` around `(x, y)` on a worker thread.
    pub fn spawn(
        layer: LayerId,
        mut grid: crate::document::TileGrid,
        x: u32,
        y: u32,
        tolerance: u8,
        color: [u8; 4],
    ) -> Self {
        let job = crate::job::Job::spawn("fill", move || {
            let rect = crate::brush::fill::flood_fill(&mut grid, x, y, tolerance, color);
            (rect, grid)
        });
        Self { layer, job }
    }

    /// When finished, copies the filled tiles into the layer as one undo
    /// step: `None` while it runs, `Some(true)` once landed, `Some(false)`
    /// when the fill was lost (nothing changes).
    pub fn apply_if_done(&self, doc: &mut Document, history: &mut History) -> Option<bool> {
        let (rect, filled) = match self.job.poll()? {
            Err(e) => {
                tracing::warn!("fill: {e}");
                return Some(false);
            }
            Ok(done) => done,
        };
        let mut edit = PixelEdit::new(self.layer);
        if let Some(grid) = doc.grid_mut(self.layer) {
            for c in rect.tiles() {
                edit.touch(grid, c);
                grid.set_tile(c, filled.tile(c).cloned());
            }
        }
        history.record_pixels(doc, edit, "Fill");
        Some(true)
    }
}
