//! Undo and redo.
//!
//! Every edit is a [`Transaction`] of [`Change`]s. Pixel changes record the
//! tiles before and after (shared `Arc`s, so a snapshot costs a pointer until
//! the document moves on); structural changes record the whole layer stack
//! before and after (layers are cheap to clone). Undo applies the "before"
//! side, redo the "after" side, so both are exact. Memory is bounded by a
//! byte budget: the oldest transactions are dropped first.
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use super::coords::TileCoord;
use super::layer::{Layer, LayerId};
use super::tile::{TILE_BYTES, Tile, TileGrid};
use super::{Document, DocumentError};

/// Default memory budget for undo history.
pub const DEFAULT_BUDGET_BYTES: usize = 512 * 1024 * 1024;

/// One tile of one layer before and after an edit.
#[derive(Clone, Debug)]
pub struct TileChange {
    /// Which tile.
    pub coord: TileCoord,
    /// Content before (`None`: empty cell).
    pub before: Option<Arc<Tile>>,
    /// Content after.
    pub after: Option<Arc<Tile>>,
}

/// A recorded part of a transaction.
#[derive(Clone, Debug)]
pub enum Change {
    /// Pixels of one layer changed.
    Tiles {
        /// The layer painted on.
        layer: LayerId,
        /// Changed tiles.
        tiles: Vec<TileChange>,
    },
    /// The layer stack (order, properties, or whole layers) changed.
    Stack {
        /// Layers and active layer before.
        before: (Vec<Layer>, LayerId),
        /// Layers and active layer after.
        after: (Vec<Layer>, LayerId),
    },
}

impl Change {
    /// Bytes this change keeps alive that the document may no longer hold.
    fn cost(&self) -> usize {
        match self {
            Change::Tiles { tiles, .. } => {
                64 + tiles.iter().filter(|t| t.before.is_some()).count() * TILE_BYTES
            }
            Change::Stack { before, after } => {
                let gone = before
                    .0
                    .iter()
                    .filter(|b| !after.0.iter().any(|a| Arc::ptr_eq(&a.grid, &b.grid)));
                256 + gone
                    .map(|l| l.grid.tile_count() * TILE_BYTES)
                    .sum::<usize>()
            }
        }
    }

    fn apply(&self, doc: &mut Document, forward: bool) {
        match self {
            Change::Tiles { layer, tiles } => {
                if let Some(grid) = doc.grid_mut(*layer) {
                    for t in tiles {
                        let tile = if forward { &t.after } else { &t.before };
                        grid.set_tile(t.coord, tile.clone());
                    }
                }
            }
            Change::Stack { before, after } => {
                let (layers, active) = if forward { after } else { before };
                doc.set_stack(layers.clone(), *active);
            }
        }
    }
}

/// A named group of changes undone and redone as one step.
#[derive(Clone, Debug)]
pub struct Transaction {
    /// Shown in Edit → Undo "…".
    pub label: String,
    /// In the order they were made.
    pub changes: Vec<Change>,
    /// Consecutive transactions with the same key merge (slider drags).
    pub merge_key: Option<String>,
    /// The candidate whose acceptance this step is (an id in the project's
    /// candidate history, opaque here): undoing the step undoes the decision
    /// too, which the caller learns from [`Step::decision`].
    pub decision: Option<u64>,
    cost: usize,
    /// Names the document state this step leads to (see [`History::state_id`]).
    state: u64,
}

impl Transaction {
    /// A transaction from its changes.
    pub fn new(label: impl Into<String>, changes: Vec<Change>) -> Self {
        let cost = changes.iter().map(Change::cost).sum();
        Self {
            label: label.into(),
            changes,
            merge_key: None,
            decision: None,
            cost,
            state: 0,
        }
    }

    /// Bytes it keeps alive (an estimate that counts what only history holds).
    pub fn cost(&self) -> usize {
        self.cost
    }
}

/// What an undo or redo did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The step's label.
    pub label: String,
    /// The candidate decision it carried ([`Transaction::decision`]).
    pub decision: Option<u64>,
}

/// Records the tiles a pixel edit touches, before it touches them.
#[derive(Debug)]
pub struct PixelEdit {
    layer: LayerId,
    before: BTreeMap<TileCoord, Option<Arc<Tile>>>,
}

impl PixelEdit {
    /// Starts recording an edit of `layer`.
    pub fn new(layer: LayerId) -> Self {
        Self {
            layer,
            before: BTreeMap::new(),
        }
    }

    /// The layer being edited.
    pub fn layer(&self) -> LayerId {
        self.layer
    }

    /// Call before writing tile `c` of `grid`: keeps its first version.
    pub fn touch(&mut self, grid: &TileGrid, c: TileCoord) {
        self.before
            .entry(c)
            .or_insert_with(|| grid.tile(c).cloned());
    }

    /// Whether any tile was touched.
    pub fn is_empty(&self) -> bool {
        self.before.is_empty()
    }

    /// Tiles touched so far.
    pub fn touched(&self) -> impl Iterator<Item = TileCoord> + '_ {
        self.before.keys().copied()
    }

    /// Puts every touched tile back as it was (cancelling a stroke).
    pub fn revert(self, doc: &mut Document) {
        if let Some(grid) = doc.grid_mut(self.layer) {
            for (c, t) in self.before {
                grid.set_tile(c, t);
            }
        }
    }

    /// The finished change, reading the "after" tiles from the document.
    /// Tiles that ended up identical to before are left out.
    pub fn finish(self, doc: &Document) -> Option<Change> {
        let grid = doc.grid(self.layer)?;
        let tiles: Vec<TileChange> = self
            .before
            .into_iter()
            .filter_map(|(coord, before)| {
                let after = grid.tile(coord).cloned();
                let same = match (&before, &after) {
                    (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
                    (None, None) => true,
                    (Some(t), None) | (None, Some(t)) => t.is_transparent(),
                };
                (!same).then_some(TileChange {
                    coord,
                    before,
                    after,
                })
            })
            .collect();
        (!tiles.is_empty()).then_some(Change::Tiles {
            layer: self.layer,
            tiles,
        })
    }
}

/// Undo and redo stacks with a memory budget.
#[derive(Debug)]
pub struct History {
    undo: VecDeque<Transaction>,
    redo: Vec<Transaction>,
    budget: usize,
    used: usize,
    /// Bumped on every change, so views know when to refresh.
    serial: u64,
}

impl Default for History {
    fn default() -> Self {
        Self::with_budget(DEFAULT_BUDGET_BYTES)
    }
}

impl History {
    /// Empty history that keeps at most about `budget` bytes.
    pub fn with_budget(budget: usize) -> Self {
        Self {
            undo: VecDeque::new(),
            redo: Vec::new(),
            budget,
            used: 0,
            serial: 0,
        }
    }

    /// Changes the budget, dropping old steps if needed.
    pub fn set_budget(&mut self, budget: usize) {
        self.budget = budget;
        self.trim();
    }

    /// The memory budget in bytes.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// Bytes held by undo steps (estimate).
    pub fn used(&self) -> usize {
        self.used
    }

    /// Number of steps that can be undone.
    pub fn undo_len(&self) -> usize {
        self.undo.len()
    }

    /// Number of steps that can be redone.
    pub fn redo_len(&self) -> usize {
        self.redo.len()
    }

    /// Label of the step Undo would revert.
    pub fn undo_label(&self) -> Option<&str> {
        self.undo.back().map(|t| t.label.as_str())
    }

    /// Label of the step Redo would repeat.
    pub fn redo_label(&self) -> Option<&str> {
        self.redo.last().map(|t| t.label.as_str())
    }

    /// Names the document state history has reached: equal ids mean equal
    /// documents, so undoing back to the state that was saved makes the
    /// document clean again. 0 is the state before any recorded step.
    pub fn state_id(&self) -> u64 {
        self.undo.back().map_or(0, |t| t.state)
    }

    /// Records a finished transaction (already applied to the document).
    /// Clears redo. Merges with the previous step when both carry the same
    /// merge key.
    pub fn record(&mut self, mut tx: Transaction) {
        if tx.changes.is_empty() {
            return;
        }
        self.serial += 1;
        self.redo.clear();
        if let (Some(key), Some(last)) = (&tx.merge_key, self.undo.back_mut())
            && last.merge_key.as_ref() == Some(key)
            && tx.decision.is_none()
            && last.decision.is_none()
            && let (
                Some(Change::Stack { after, .. }),
                [
                    Change::Stack {
                        after: new_after, ..
                    },
                ],
            ) = (last.changes.last_mut(), tx.changes.as_slice())
        {
            *after = new_after.clone();
            last.state = self.serial;
            return;
        }
        tx.state = self.serial;
        self.used += tx.cost;
        self.undo.push_back(tx);
        self.trim();
    }

    /// Records a finished pixel edit as one step (nothing if it changed nothing).
    pub fn record_pixels(&mut self, doc: &Document, edit: PixelEdit, label: &str) {
        if let Some(change) = edit.finish(doc) {
            self.record(Transaction::new(label, vec![change]));
        }
    }

    /// Stops the next record from merging into the last step (a slider drag
    /// ended).
    pub fn seal(&mut self) {
        if let Some(last) = self.undo.back_mut() {
            last.merge_key = None;
        }
    }

    fn trim(&mut self) {
        // Keep at least the newest step, however large: the user expects to
        // undo what they just did.
        while self.used > self.budget && self.undo.len() > 1 {
            if let Some(old) = self.undo.pop_front() {
                self.used -= old.cost;
            }
        }
    }

    /// Reverts the newest step; says which it was.
    pub fn undo(&mut self, doc: &mut Document) -> Option<Step> {
        let tx = self.undo.pop_back()?;
        self.used -= tx.cost;
        for c in tx.changes.iter().rev() {
            c.apply(doc, false);
        }
        self.serial += 1;
        let step = Step {
            label: tx.label.clone(),
            decision: tx.decision,
        };
        self.redo.push(tx);
        Some(step)
    }

    /// Repeats the newest undone step; says which it was.
    pub fn redo(&mut self, doc: &mut Document) -> Option<Step> {
        let tx = self.redo.pop()?;
        for c in &tx.changes {
            c.apply(doc, true);
        }
        self.serial += 1;
        let step = Step {
            label: tx.label.clone(),
            decision: tx.decision,
        };
        self.used += tx.cost;
        self.undo.push_back(tx);
        self.trim();
        Some(step)
    }

    /// Runs a structural edit on a copy of the layer stack and records it.
    /// If `edit` fails, the document is left unchanged.
    pub fn edit_stack(
        &mut self,
        doc: &mut Document,
        label: &str,
        merge_key: Option<String>,
        edit: impl FnOnce(&mut Document) -> Result<(), DocumentError>,
    ) -> Result<(), DocumentError> {
        let tx = Self::stack_edit(doc, label, edit)?;
        self.record(Transaction { merge_key, ..tx });
        Ok(())
    }

    /// [`Self::edit_stack`] for the acceptance of candidate `decision`: the
    /// step carries it, so undoing the step undoes the decision.
    pub fn decide_stack(
        &mut self,
        doc: &mut Document,
        label: &str,
        decision: u64,
        edit: impl FnOnce(&mut Document) -> Result<(), DocumentError>,
    ) -> Result<(), DocumentError> {
        let tx = Self::stack_edit(doc, label, edit)?;
        self.record(Transaction {
            decision: Some(decision),
            ..tx
        });
        Ok(())
    }

    /// [`Self::record_pixels`] for the acceptance of candidate `decision`.
    /// Returns whether a step was recorded (false: nothing changed).
    pub fn decide_pixels(
        &mut self,
        doc: &Document,
        edit: PixelEdit,
        label: &str,
        decision: u64,
    ) -> bool {
        let Some(change) = edit.finish(doc) else {
            return false;
        };
        self.record(Transaction {
            decision: Some(decision),
            ..Transaction::new(label, vec![change])
        });
        true
    }

    fn stack_edit(
        doc: &mut Document,
        label: &str,
        edit: impl FnOnce(&mut Document) -> Result<(), DocumentError>,
    ) -> Result<Transaction, DocumentError> {
        let before = (doc.layers().to_vec(), doc.active());
        let mut scratch = doc.clone();
        edit(&mut scratch)?;
        let after = (scratch.layers().to_vec(), scratch.active());
        *doc = scratch;
        Ok(Transaction::new(
            label,
            vec![Change::Stack { before, after }],
        ))
    }
}
