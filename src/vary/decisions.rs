//! The decision model shared by the app and `atelier loop`: the project's
//! candidate history and the latent steering it drives, and the acceptance of
//! a candidate into the document as one undoable step.
//!
//! Steering is kept as the state it started from ([`Decisions::restore`] or a
//! reset) plus the decisions made since, in order; the current distribution
//! is that state with the decisions replayed. So undoing an accept takes
//! exactly that decision out (history, steering and the data Refine trains
//! on, which reads the history), whatever was decided after it, and redo puts
//! it back.
use image::RgbImage;

use super::region;
use crate::decisions::history::{CandidateRecord, Decision, HistoryImageError, now};
use crate::decisions::{CandidateHistory, LatentSteering};
use crate::document::history::{History, PixelEdit};
use crate::document::{CanvasRect, Document, DocumentError, Provenance};

/// Why a decision could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    /// No candidate with that id in the history.
    #[error("candidate {0} is not in this project's history")]
    Unknown(u64),
    /// The candidate was made for another canvas.
    #[error("the candidate was made for a different canvas size")]
    DoesNotFit,
    /// Its stored image could not be read.
    #[error(transparent)]
    Image(#[from] HistoryImageError),
    /// The document refused the edit.
    #[error(transparent)]
    Document(#[from] DocumentError),
}

/// A candidate's pixels and where they go.
#[derive(Clone, Copy, Debug)]
pub struct Placement<'a> {
    /// Straight RGBA over `rect` (a selection's feathered coverage in alpha).
    pub rgba: &'a [u8],
    /// Where on the canvas.
    pub rect: CanvasRect,
    /// Paint it into the active layer instead of adding a layer.
    pub into_active_layer: bool,
}

/// One decision that moved the steering, as made.
#[derive(Clone, Debug)]
struct Logged {
    id: u64,
    z: Vec<f32>,
    before: Decision,
    after: Decision,
}

/// Candidate history + steering, and the decisions made this session.
#[derive(Clone, Debug)]
pub struct Decisions {
    /// Every candidate generated in the project, with its decision.
    pub history: CandidateHistory,
    base: LatentSteering,
    log: Vec<Logged>,
    undone: Vec<Logged>,
    steering: LatentSteering,
    revision: u64,
}

impl Decisions {
    /// An empty history, unsteered over `latent_dim` dimensions.
    pub fn new(latent_dim: usize) -> Self {
        Self::restore(CandidateHistory::default(), None, latent_dim)
    }

    /// What a project saved. Steering of another latent size (a project made
    /// with another model) starts over from the prior.
    pub fn restore(
        history: CandidateHistory,
        steering: Option<LatentSteering>,
        latent_dim: usize,
    ) -> Self {
        let steering = steering
            .filter(|s| s.dim() == latent_dim)
            .unwrap_or_else(|| LatentSteering::new(latent_dim));
        Self {
            history,
            base: steering.clone(),
            log: Vec::new(),
            undone: Vec::new(),
            steering,
            revision: 0,
        }
    }

    /// The current sampling distribution.
    pub fn steering(&self) -> &LatentSteering {
        &self.steering
    }

    /// Steering as a project saves it (None while unsteered).
    pub fn saved_steering(&self) -> Option<LatentSteering> {
        (!self.steering.is_prior()).then(|| self.steering.clone())
    }

    /// Follows the model's latent size: a model with another size starts
    /// steering over (codes of one model mean nothing to another).
    pub fn set_latent_dim(&mut self, dim: usize) {
        if self.steering.dim() != dim {
            self.base = LatentSteering::new(dim);
            self.log.clear();
            self.undone.clear();
            self.steering = self.base.clone();
            self.revision += 1;
        }
    }

    /// Back to the prior; earlier decisions no longer steer (they stay in the history).
    pub fn reset_steering(&mut self) {
        self.base = LatentSteering::new(self.steering.dim());
        self.log.clear();
        self.undone.clear();
        self.steering = self.base.clone();
        self.revision += 1;
    }

    /// Bumped by every change to the history or steering (unsaved changes).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Keeps the (PNG) input of a batch; returns its key.
    pub fn add_input(&mut self, png: Vec<u8>) -> String {
        self.revision += 1;
        self.history.add_input(png)
    }

    /// Records a new candidate, pending; `png` is its image. Returns its id.
    pub fn record(&mut self, candidate: NewCandidate<'_>, png: Vec<u8>) -> u64 {
        let r = candidate.rect;
        self.revision += 1;
        self.history.record(
            CandidateRecord {
                id: 0,
                input: candidate.input.to_string(),
                output: String::new(),
                rect: [r.x, r.y, r.w, r.h],
                selection: candidate.selection.map(|s| [s.x, s.y, s.w, s.h]),
                seed: candidate.seed,
                z: candidate.z.to_vec(),
                model: candidate.model.to_string(),
                strength: candidate.strength,
                critic: candidate.critic,
                decision: Decision::Pending,
                favourite: false,
                time: now(),
            },
            png,
        )
    }

    /// Decides candidate `id` without touching a document (a reject, or the
    /// loop's judge): the history records it and the steering moves.
    pub fn decide(&mut self, id: u64, decision: Decision) -> Result<(), DecisionError> {
        let r = self.history.get(id).ok_or(DecisionError::Unknown(id))?;
        let entry = Logged {
            id,
            z: r.z.clone(),
            before: r.decision,
            after: decision,
        };
        self.undone.retain(|u| u.id != id);
        self.apply(entry);
        Ok(())
    }

    /// Toggles candidate `id`'s favourite mark; returns the new state.
    pub fn toggle_favourite(&mut self, id: u64) -> bool {
        self.revision += 1;
        self.history.toggle_favourite(id)
    }

    /// Accepts candidate `id` into the document as one undoable step (a new
    /// layer carrying its provenance, or painted into the active layer)
    /// that carries the decision.
    pub fn accept_into(
        &mut self,
        doc: &mut Document,
        undo: &mut History,
        id: u64,
        place: Placement<'_>,
        label: &str,
    ) -> Result<(), DecisionError> {
        let r = self.history.get(id).ok_or(DecisionError::Unknown(id))?;
        let fits = place.rect.intersect(&doc.bounds()) == place.rect
            && place.rgba.len() == place.rect.w as usize * place.rect.h as usize * 4;
        if !fits {
            return Err(DecisionError::DoesNotFit);
        }
        let provenance = Provenance {
            model: r.model.clone(),
            seed: r.seed,
            strength: r.strength,
            candidate: Some(id),
        };
        if place.into_active_layer {
            paint_into_active_layer(doc, undo, place, label, id);
        } else {
            let name = format!("GAN {} seed {}", provenance.model, provenance.seed);
            undo.decide_stack(doc, label, id, |d| {
                let layer = d.add_layer_with_pixels(&name, place.rect, place.rgba);
                match d.layer(layer).map(|l| l.props.clone()) {
                    Some(mut props) => {
                        props.provenance = Some(provenance);
                        d.set_props(layer, props)
                    }
                    None => Ok(()),
                }
            })?;
        }
        self.decide(id, Decision::Accepted)
    }

    /// Inserts a candidate from the history again as a new layer (with its
    /// selection's feathered coverage): an accept like any other.
    pub fn reapply(
        &mut self,
        doc: &mut Document,
        undo: &mut History,
        id: u64,
    ) -> Result<(), DecisionError> {
        let r = self.history.get(id).ok_or(DecisionError::Unknown(id))?;
        let image = self.history.image(&r.output)?;
        let rect = CanvasRect::new(r.rect[0], r.rect[1], r.rect[2], r.rect[3]);
        if image.dimensions() != (rect.w, rect.h) {
            return Err(DecisionError::DoesNotFit);
        }
        let alpha = r.selection.map(|s| {
            let sel = CanvasRect::new(s[0], s[1], s[2], s[3]);
            region::feather_mask(rect, sel, region::feather_width(sel), rect.w, rect.h)
        });
        let rgba = rgba_with_alpha(&image, alpha.as_ref());
        let place = Placement {
            rgba: &rgba,
            rect,
            into_active_layer: false,
        };
        self.accept_into(doc, undo, id, place, "Re-apply variation")
    }

    /// An undone step carried candidate `id`'s acceptance: the decision goes
    /// back to what it was before, and steering forgets it.
    pub fn undo_decision(&mut self, id: u64) {
        if let Some(i) = self.log.iter().rposition(|l| l.id == id) {
            let entry = self.log.remove(i);
            self.history.decide(id, entry.before);
            self.undone.push(entry);
            self.replay();
        }
    }

    /// A redone step carried candidate `id`'s acceptance: it counts again.
    pub fn redo_decision(&mut self, id: u64) {
        if let Some(i) = self.undone.iter().rposition(|l| l.id == id) {
            let entry = self.undone.remove(i);
            self.apply(entry);
        }
    }

    fn apply(&mut self, entry: Logged) {
        self.history.decide(entry.id, entry.after);
        step(&mut self.steering, &entry);
        self.log.push(entry);
        self.revision += 1;
    }

    fn replay(&mut self) {
        self.steering = self.base.clone();
        for entry in &self.log {
            step(&mut self.steering, entry);
        }
        self.revision += 1;
    }
}

/// What [`Decisions::record`] needs to know about a new candidate.
#[derive(Clone, Copy, Debug)]
pub struct NewCandidate<'a> {
    /// Key of its batch's input in the history.
    pub input: &'a str,
    /// Where it goes on the canvas.
    pub rect: CanvasRect,
    /// The selection it regenerates, if any.
    pub selection: Option<CanvasRect>,
    /// The seed that made its code.
    pub seed: u64,
    /// Its latent code.
    pub z: &'a [f32],
    /// The critic's score.
    pub critic: f32,
    /// Model version id.
    pub model: &'a str,
    /// Strength used.
    pub strength: f32,
}

/// Moves steering by one decision.
fn step(steering: &mut LatentSteering, entry: &Logged) {
    let z = std::slice::from_ref(&entry.z);
    match entry.after {
        Decision::Accepted => steering.update(z, &[]),
        Decision::Rejected => steering.update(&[], z),
        Decision::Pending => {}
    }
}

/// Straight RGBA from `image` with `alpha` as coverage (None: opaque).
pub fn rgba_with_alpha(image: &RgbImage, alpha: Option<&image::GrayImage>) -> Vec<u8> {
    match alpha {
        Some(a) => image
            .pixels()
            .zip(a.pixels())
            .flat_map(|(p, m)| [p[0], p[1], p[2], m[0]])
            .collect(),
        None => image
            .pixels()
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
    }
}

/// Paints straight RGBA into the active layer through its coverage
/// (source-over), recorded as one pixel step carrying the decision.
fn paint_into_active_layer(
    doc: &mut Document,
    undo: &mut History,
    place: Placement<'_>,
    label: &str,
    id: u64,
) {
    let layer = doc.active();
    let Some(grid) = doc.grid_mut(layer) else {
        return;
    };
    let old = grid.read_rect(place.rect);
    let px: Vec<u8> = old
        .chunks_exact(4)
        .zip(place.rgba.chunks_exact(4))
        .flat_map(|(o, n)| {
            let src = crate::document::blend::premultiply([n[0], n[1], n[2], n[3]]);
            let ia = 255 - u32::from(src[3]);
            std::array::from_fn::<u8, 4, _>(|k| {
                (u32::from(src[k]) + (u32::from(o[k]) * ia + 127) / 255).min(255) as u8
            })
        })
        .collect();
    let mut edit = PixelEdit::new(layer);
    for t in place.rect.tiles() {
        edit.touch(grid, t);
    }
    grid.write_rect(place.rect, &px);
    undo.decide_pixels(doc, edit, label, id);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vary::pipeline::Made;

    fn made(z: f32) -> Made {
        Made {
            index: 0,
            seed: 5,
            z: vec![z; 4],
            critic: 0.1,
            work: RgbImage::new(8, 8),
            image: RgbImage::from_pixel(8, 8, image::Rgb([10, 200, 30])),
        }
    }

    fn with_candidates(n: usize) -> (Decisions, Vec<u64>) {
        let mut d = Decisions::new(4);
        let input = d.add_input(Vec::new());
        let ids = (0..n)
            .map(|i| {
                let m = made(i as f32 + 1.0);
                let png = crate::decisions::history::encode_png(&m.image).unwrap();
                d.record(
                    NewCandidate {
                        input: &input,
                        rect: CanvasRect::new(0, 0, 8, 8),
                        selection: None,
                        seed: m.seed,
                        z: &m.z,
                        critic: m.critic,
                        model: "m1",
                        strength: 0.8,
                    },
                    png,
                )
            })
            .collect();
        (d, ids)
    }

    /// Accepts candidate `id` as opaque green over `rect` of an 8×8 canvas.
    fn accept(d: &mut Decisions, id: u64, rect: CanvasRect, into: bool) -> (Document, History) {
        let mut doc = Document::new(8, 8, [255, 255, 255, 255]).unwrap();
        let mut undo = History::default();
        let px = [10u8, 200, 30, 255].repeat(rect.w as usize * rect.h as usize);
        let place = Placement {
            rgba: &px,
            rect,
            into_active_layer: into,
        };
        d.accept_into(&mut doc, &mut undo, id, place, "Accept")
            .unwrap();
        (doc, undo)
    }

    #[test]
    fn undoing_an_accept_undoes_the_decision_and_only_that_one() {
        let (mut d, ids) = with_candidates(3);
        let (mut doc, mut undo) = accept(&mut d, ids[0], CanvasRect::new(0, 0, 8, 8), false);
        d.decide(ids[1], Decision::Rejected).unwrap();
        // What steering would be had only the reject been made.
        let mut only_reject = LatentSteering::new(4);
        only_reject.update(&[], &[vec![2.0; 4]]);
        let layers = doc.layers().len();

        let step = undo.undo(&mut doc).unwrap();
        assert_eq!(step.decision, Some(ids[0]));
        d.undo_decision(ids[0]);
        assert_eq!(doc.layers().len(), layers - 1);
        assert_eq!(d.history.get(ids[0]).unwrap().decision, Decision::Pending);
        assert_eq!(d.history.get(ids[1]).unwrap().decision, Decision::Rejected);
        assert_eq!(d.steering(), &only_reject);
        assert_eq!(d.history.counts().1, 0, "no accepted candidate is left");

        let step = undo.redo(&mut doc).unwrap();
        d.redo_decision(step.decision.unwrap());
        assert_eq!(d.history.get(ids[0]).unwrap().decision, Decision::Accepted);
        assert_eq!(doc.layers().len(), layers);
        assert_eq!(d.steering().decisions, 2);
    }

    #[test]
    fn undoing_a_replacement_of_the_selection_undoes_its_decision() {
        let (mut d, ids) = with_candidates(1);
        let (mut doc, mut undo) = accept(&mut d, ids[0], CanvasRect::new(2, 2, 4, 4), true);
        assert_eq!(d.history.counts().1, 1);
        let step = undo.undo(&mut doc).unwrap();
        d.undo_decision(step.decision.unwrap());
        assert_eq!(d.history.counts().1, 0);
        assert!(d.steering().is_prior());
    }

    #[test]
    fn a_candidate_that_does_not_fit_is_refused_and_nothing_changes() {
        let (mut d, ids) = with_candidates(1);
        let mut doc = Document::new(4, 4, [255, 255, 255, 255]).unwrap();
        let mut undo = History::default();
        let rect = CanvasRect::new(0, 0, 8, 8);
        let px = vec![0; 8 * 8 * 4];
        let place = Placement {
            rgba: &px,
            rect,
            into_active_layer: false,
        };
        let err = d.accept_into(&mut doc, &mut undo, ids[0], place, "Accept");
        assert!(matches!(err, Err(DecisionError::DoesNotFit)));
        assert_eq!(undo.undo_len(), 0);
        assert_eq!(d.history.get(ids[0]).unwrap().decision, Decision::Pending);
        assert!(matches!(
            d.decide(999, Decision::Rejected),
            Err(DecisionError::Unknown(999))
        ));
    }

    #[test]
    fn reapplying_is_an_undoable_accept() {
        let (mut d, ids) = with_candidates(1);
        d.decide(ids[0], Decision::Rejected).unwrap();
        let mut doc = Document::new(8, 8, [255, 255, 255, 255]).unwrap();
        let mut undo = History::default();
        d.reapply(&mut doc, &mut undo, ids[0]).unwrap();
        assert_eq!(d.history.get(ids[0]).unwrap().decision, Decision::Accepted);
        let step = undo.undo(&mut doc).unwrap();
        d.undo_decision(step.decision.unwrap());
        assert_eq!(
            d.history.get(ids[0]).unwrap().decision,
            Decision::Rejected,
            "back to what it was before"
        );
        assert_eq!(d.steering().decisions, 1);
    }

    #[test]
    fn a_restored_steering_of_another_size_starts_from_the_prior() {
        let mut s = LatentSteering::new(3);
        s.update(&[vec![1.0; 3]], &[]);
        let d = Decisions::restore(CandidateHistory::default(), Some(s.clone()), 4);
        assert!(d.steering().is_prior() && d.steering().dim() == 4);
        let d = Decisions::restore(CandidateHistory::default(), Some(s.clone()), 3);
        assert_eq!(d.steering(), &s);
        assert_eq!(d.saved_steering(), Some(s));
    }
}
