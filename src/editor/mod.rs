//! The editor: the document, its undo history, the selection and the gesture
//! in progress — everything a painting session changes, without a window.
//!
//! The window (`ui`) maps pointer input from screen space into canvas space
//! and calls [`Editor::begin`], [`Editor::feed`] and [`Editor::end`]; every
//! gesture is one undo transaction ([`tools`]). Nothing here knows egui, so
//! the same editing rules hold for tests, the command line and the window.
pub mod tools;

use crate::brush::raster::MaskCache;
use crate::brush::{BrushSettings, StrokeSample};
use crate::document::history::Step;
use crate::document::{CanvasRect, Document, History};
use tools::{FillJob, Gesture, Tool};

/// What the tools read from the artist's settings when a gesture starts.
#[derive(Clone, Copy, Debug)]
pub struct ToolInput<'a> {
    /// The brush in use.
    pub brush: &'a BrushSettings,
    /// The primary colour, straight sRGBA.
    pub color: [u8; 4],
    /// Flood fill tolerance (0..255).
    pub fill_tolerance: u8,
}

/// What starting a gesture did, for the window to report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Began {
    /// A gesture is in progress (or nothing needed one).
    Started,
    /// The picker read this colour (straight sRGBA) from the composite.
    Picked([u8; 4]),
    /// The active layer is hidden: painting on it would be invisible.
    HiddenLayer,
    /// A fill is already being computed; this press is ignored.
    Busy,
}

/// Where a background flood fill stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FillState {
    /// No fill is running.
    Idle,
    /// A fill is being computed.
    Running,
    /// A fill has just landed in the document as one undo step.
    Landed,
    /// The fill's thread stopped without a result; nothing changed.
    Lost,
}

/// The document being painted and everything that edits it.
pub struct Editor {
    /// The open document.
    pub doc: Document,
    /// Its undo history.
    pub history: History,
    /// The active rectangular selection, in canvas space.
    pub selection: Option<CanvasRect>,
    gesture: Gesture,
    mask_cache: MaskCache,
    fill: Option<FillJob>,
    /// Seeds each stroke's jitter, so replays are exact.
    stroke_seed: u64,
    /// Where the current stroke started, in seconds of the caller's clock.
    stroke_start: f64,
}

impl Editor {
    /// An editor around `doc` with an empty history of `undo_budget` bytes.
    pub fn new(doc: Document, undo_budget: usize) -> Self {
        Self {
            doc,
            history: History::with_budget(undo_budget),
            selection: None,
            gesture: Gesture::Idle,
            mask_cache: MaskCache::default(),
            fill: None,
            stroke_seed: 0,
            stroke_start: 0.0,
        }
    }

    /// Replaces the document: a fresh history (same budget), no selection,
    /// no gesture. The caller has already asked about unsaved changes.
    pub fn replace(&mut self, doc: Document) {
        self.gesture = Gesture::Idle;
        self.fill = None;
        self.doc = doc;
        self.history = History::with_budget(self.history.budget());
        self.selection = None;
    }

    /// Whether no gesture is in progress.
    pub fn is_idle(&self) -> bool {
        matches!(self.gesture, Gesture::Idle)
    }

    /// Whether a stroke is being painted.
    pub fn is_stroking(&self) -> bool {
        matches!(self.gesture, Gesture::Stroke { .. })
    }

    /// The selection a drag in progress would make if released at `at`.
    pub fn pending_selection(&self, at: [f32; 2]) -> Option<CanvasRect> {
        match &self.gesture {
            Gesture::Selecting { start } => Some(CanvasRect::from_corners(
                *start,
                at,
                self.doc.width(),
                self.doc.height(),
            )),
            _ => None,
        }
    }

    /// Whether a flood fill is being computed.
    pub fn is_filling(&self) -> bool {
        self.fill.is_some()
    }

    /// Ends any gesture in progress (recording it) before another edit.
    pub fn settle(&mut self) {
        let g = std::mem::take(&mut self.gesture);
        tools::finish(g, &mut self.doc, &mut self.history, &mut self.mask_cache);
    }

    /// Abandons the gesture in progress, restoring the document. Returns
    /// whether there was one.
    pub fn cancel(&mut self) -> bool {
        let g = std::mem::take(&mut self.gesture);
        let was = !matches!(g, Gesture::Idle);
        tools::cancel(g, &mut self.doc);
        was
    }

    /// Undoes the last step (after recording any gesture in progress).
    pub fn undo(&mut self) -> Option<Step> {
        self.settle();
        self.history.undo(&mut self.doc)
    }

    /// Redoes the last undone step.
    pub fn redo(&mut self) -> Option<Step> {
        self.settle();
        self.history.redo(&mut self.doc)
    }

    /// Starts a gesture of `tool` at canvas position `at`; `time` is the
    /// caller's clock in seconds (stroke samples are timed from here).
    pub fn begin(&mut self, tool: Tool, at: [f32; 2], time: f64, input: ToolInput) -> Began {
        self.settle();
        match tool {
            Tool::Brush | Tool::Eraser => {
                let mut brush = input.brush.clone();
                // The colour's own alpha scales the brush opacity.
                brush.opacity *= input.color[3] as f32 / 255.0;
                let c = input.color;
                self.stroke_seed += 1;
                self.stroke_start = time;
                match tools::begin_stroke(
                    &self.doc,
                    &brush,
                    [c[0], c[1], c[2]],
                    tool == Tool::Eraser,
                    self.stroke_seed,
                ) {
                    Some(g) => {
                        self.gesture = g;
                        Began::Started
                    }
                    None => Began::HiddenLayer,
                }
            }
            Tool::Picker => match self.pick(at) {
                Some(c) => Began::Picked(c),
                None => Began::Started,
            },
            Tool::Fill => self.fill(at, input),
            Tool::Select => {
                self.gesture = Gesture::Selecting { start: at };
                Began::Started
            }
            Tool::Move => {
                if let Some(g) = tools::begin_move(&self.doc, at) {
                    self.gesture = g;
                }
                Began::Started
            }
        }
    }

    /// Feeds the pointer at canvas position `at` to the gesture in progress.
    pub fn feed(&mut self, at: [f32; 2], pressure: f32, time: f64) {
        match self.gesture {
            Gesture::Stroke { .. } => {
                let sample = StrokeSample {
                    x: at[0],
                    y: at[1],
                    pressure,
                    time: (time - self.stroke_start) as f32,
                };
                tools::stroke_sample(
                    &mut self.gesture,
                    &mut self.doc,
                    &mut self.mask_cache,
                    sample,
                );
            }
            Gesture::Moving { .. } => tools::move_to(&mut self.gesture, &mut self.doc, at),
            Gesture::Selecting { .. } | Gesture::Idle => {}
        }
    }

    /// Finishes the gesture in progress at canvas position `end`, recording
    /// it as one undo step. Returns whether it was a brush or eraser stroke.
    pub fn end(&mut self, end: [f32; 2]) -> bool {
        if let Gesture::Selecting { start } = &self.gesture {
            let rect = CanvasRect::from_corners(*start, end, self.doc.width(), self.doc.height());
            self.selection = (!rect.is_empty()).then_some(rect);
        }
        let was_stroke = self.is_stroking();
        self.settle();
        was_stroke
    }

    /// Lands a finished flood fill in the document (call once per frame).
    pub fn poll_fill(&mut self) -> FillState {
        let Some(job) = &self.fill else {
            return FillState::Idle;
        };
        match job.apply_if_done(&mut self.doc, &mut self.history) {
            None => FillState::Running,
            Some(landed) => {
                self.fill = None;
                if landed {
                    FillState::Landed
                } else {
                    FillState::Lost
                }
            }
        }
    }

    /// The composite colour under a canvas position (straight RGBA), or
    /// None off the canvas or over transparent pixels.
    pub fn pick(&self, at: [f32; 2]) -> Option<[u8; 4]> {
        let (x, y) = self.pixel(at)?;
        let px = crate::render::cpu::composite_rect(&self.doc, CanvasRect::new(x, y, 1, 1));
        let c = crate::document::blend::unpremultiply([px[0], px[1], px[2], px[3]]);
        (c[3] > 0).then_some(c)
    }

    /// The pixel under a canvas position, when it is on the canvas.
    fn pixel(&self, at: [f32; 2]) -> Option<(u32, u32)> {
        let inside = at[0] >= 0.0
            && at[1] >= 0.0
            && at[0] < self.doc.width() as f32
            && at[1] < self.doc.height() as f32;
        inside.then_some((at[0] as u32, at[1] as u32))
    }

    /// Starts a flood fill of the active layer around `at`. A fill may read
    /// the whole layer, so it runs on a copy (tiles are shared, so the copy
    /// is cheap) off the calling thread; [`Editor::poll_fill`] lands it.
    fn fill(&mut self, at: [f32; 2], input: ToolInput) -> Began {
        if self.fill.is_some() {
            return Began::Busy;
        }
        let Some((x, y)) = self.pixel(at) else {
            return Began::Started;
        };
        let id = self.doc.active();
        if let Some(grid) = self.doc.grid(id).cloned() {
            self.fill = Some(FillJob::spawn(
                id,
                grid,
                x,
                y,
                input.fill_tolerance,
                input.color,
            ));
        }
        Began::Started
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(brush: &BrushSettings) -> ToolInput<'_> {
        ToolInput {
            brush,
            color: [200, 30, 30, 255],
            fill_tolerance: 16,
        }
    }

    #[test]
    fn a_stroke_is_one_undo_step_and_a_selection_is_clamped() {
        let doc = Document::new(64, 64, [255, 255, 255, 255]).unwrap();
        let mut ed = Editor::new(doc, 64 << 20);
        ed.doc.add_layer("ink");
        let brush = BrushSettings::default();
        assert_eq!(
            ed.begin(Tool::Brush, [10.0, 10.0], 0.0, input(&brush)),
            Began::Started
        );
        for i in 0..20 {
            ed.feed([10.0 + i as f32 * 2.0, 20.0], 1.0, i as f64 * 0.01);
        }
        assert!(ed.end([50.0, 20.0]), "a brush gesture is a stroke");
        assert_eq!(ed.pick([30.0, 20.0]).map(|c| c[0] > c[1]), Some(true));
        assert_eq!(ed.history.undo_len(), 1);
        ed.undo();
        assert_eq!(ed.pick([30.0, 20.0]), Some([255, 255, 255, 255]));

        ed.begin(Tool::Select, [-5.0, 40.0], 0.0, input(&brush));
        assert!(!ed.end([30.0, 90.0]));
        assert_eq!(ed.selection, Some(CanvasRect::new(0, 40, 30, 24)));
    }

    #[test]
    fn painting_a_hidden_layer_is_refused_and_cancel_restores() {
        let doc = Document::new(32, 32, [0, 0, 0, 255]).unwrap();
        let mut ed = Editor::new(doc, 64 << 20);
        let brush = BrushSettings::default();
        let id = ed.doc.active();
        let mut props = ed.doc.layer(id).unwrap().props.clone();
        props.visible = false;
        ed.doc.set_props(id, props.clone()).unwrap();
        assert_eq!(
            ed.begin(Tool::Brush, [5.0, 5.0], 0.0, input(&brush)),
            Began::HiddenLayer
        );
        props.visible = true;
        ed.doc.set_props(id, props).unwrap();
        ed.begin(Tool::Brush, [5.0, 5.0], 0.0, input(&brush));
        ed.feed([20.0, 5.0], 1.0, 0.1);
        assert!(ed.cancel());
        assert!(ed.is_idle());
        assert_eq!(ed.pick([12.0, 5.0]), Some([0, 0, 0, 255]));
        assert_eq!(
            ed.history.undo_len(),
            0,
            "a cancelled stroke leaves no step"
        );
    }
}
