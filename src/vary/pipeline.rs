//! The Vary chain in one place. Every caller (the Variations panel's worker,
//! `atelier vary`, `atelier loop`) goes through [`Prepared`], so the artist,
//! a script and the judge of a loop see the same candidates:
//!
//! 1. flatten the document's region (or take a decoded image) over white paper;
//! 2. take it to the GAN's work size ([`resolution::to_work`]), unless full
//!    resolution is asked for;
//! 3. run the generator with the request's codes (and the selection's
//!    feathered mask at work size);
//! 4. bring each output back: Keep lines ([`LineWork::compose`]) or only the
//!    change scaled up ([`resolution::to_canvas`]);
//! 5. a selection's candidate carries its feathered coverage over the region,
//!    for the caller to blend it back.
//!
//! The quality benchmark (`bench gan-quality`) scores the generator itself on
//! work-size sketches, without line keeping, so its numbers compare with the
//! trainer's validation; it does not go through here.
use std::sync::Arc;

use image::{GrayImage, RgbImage};

use super::lines::LineWork;
use super::{region, resolution};
use crate::document::{CanvasRect, Document};
use crate::gan::{GanError, VariationModel, VaryRequest};
use crate::render::cpu;

/// How the chain treats its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Keep the canvas's thin strokes exactly as drawn ([`super::lines`]).
    pub keep_lines: bool,
    /// Give the generator the canvas at its own size instead of the work size
    /// (memory grows with the area).
    pub full_res: bool,
    /// The work size's long side ([`resolution::WORK_SIDE`] unless Live asks
    /// for less while a stroke is in progress).
    pub work_side: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            keep_lines: true,
            full_res: false,
            work_side: resolution::WORK_SIDE,
        }
    }
}

/// A canvas made ready for the generator, and what is needed to bring its
/// outputs back.
#[derive(Clone)]
pub struct Prepared {
    /// The part of the canvas the candidates cover (canvas space).
    pub rect: CanvasRect,
    /// The selection regenerated inside `rect`, if any.
    pub selection: Option<CanvasRect>,
    /// `rect` flattened over white, at canvas resolution.
    pub canvas: RgbImage,
    /// What the generator sees: `canvas` at work size (or itself at full resolution).
    pub input: RgbImage,
    /// The selection's feathered coverage over `rect` at canvas resolution.
    pub alpha: Option<Arc<GrayImage>>,
    /// Where to regenerate, at the size of `input`.
    mask: Option<GrayImage>,
    lines: Option<LineWork>,
}

/// One candidate out of the chain.
#[derive(Clone, Debug)]
pub struct Made {
    /// Its index in the request.
    pub index: usize,
    /// The request's seed plus its index: with seed-drawn codes, the seed of
    /// its code; with explicit codes, the seed they were drawn from plus the
    /// index (how the steered sampler draws them), so it can be reproduced.
    pub seed: u64,
    /// Its latent code.
    pub z: Vec<f32>,
    /// The discriminator's mean patch score.
    pub critic: f32,
    /// The generator's output at the size of [`Prepared::input`] (what
    /// refinement trains on, paired with the input).
    pub work: RgbImage,
    /// The candidate at canvas resolution, the size of [`Prepared::rect`].
    pub image: RgbImage,
}

impl Prepared {
    /// The document's canvas, or `selection` with some canvas around it
    /// ([`region::context_rect`]), flattened over white. A selection that is
    /// empty or the whole canvas varies the whole canvas.
    pub fn from_document(doc: &Document, selection: Option<CanvasRect>, opts: Options) -> Self {
        Self::from_document_at(doc, selection, opts, None)
    }

    /// [`Prepared::from_document`] with the canvas copy (and so the
    /// outputs) at most `canvas_side` px on the long side: Live shows and
    /// works at screen size, not at the full resolution of a large canvas.
    /// `rect` stays in canvas space; the outputs are smaller than it.
    pub fn from_document_at(
        doc: &Document,
        selection: Option<CanvasRect>,
        opts: Options,
        canvas_side: Option<u32>,
    ) -> Self {
        let bounds = doc.bounds();
        let selection = selection
            .map(|s| s.intersect(&bounds))
            .filter(|r| !r.is_empty() && *r != bounds);
        let rect = selection.map_or(bounds, |s| region::context_rect(s, bounds));
        let mut canvas = cpu::flatten_over(doc, rect, [255, 255, 255]);
        if let Some(side) = canvas_side {
            canvas = resolution::to_side(&canvas, side);
        }
        let (cw, ch) = canvas.dimensions();
        let mut prepared = Self::from_image(canvas, None, opts);
        prepared.rect = rect;
        if let Some(sel) = selection {
            let feather = region::feather_width(sel);
            let (iw, ih) = prepared.input.dimensions();
            prepared.mask = Some(region::feather_mask(rect, sel, feather, iw, ih));
            prepared.alpha = Some(Arc::new(region::feather_mask(rect, sel, feather, cw, ch)));
            prepared.selection = Some(sel);
        }
        prepared
    }

    /// An already flattened canvas (a decoded image or project), with an
    /// optional mask of the same size (white = change).
    pub fn from_image(canvas: RgbImage, mask: Option<GrayImage>, opts: Options) -> Self {
        let (input, mask) = if opts.full_res {
            (canvas.clone(), mask)
        } else {
            (
                resolution::to_side(&canvas, opts.work_side),
                mask.as_ref()
                    .map(|m| resolution::to_side(m, opts.work_side)),
            )
        };
        let lines = opts.keep_lines.then(|| LineWork::find(&canvas));
        Self {
            rect: CanvasRect::new(0, 0, canvas.width(), canvas.height()),
            selection: None,
            canvas,
            input,
            alpha: None,
            mask,
            lines,
        }
    }

    /// A request for these codes (or `count` codes from `seed` when `latents`
    /// is None), with the selection's mask. The generator refuses a strength
    /// outside 0..1.
    pub fn request(
        &self,
        count: usize,
        seed: u64,
        strength: f32,
        latents: Option<Vec<Vec<f32>>>,
    ) -> VaryRequest {
        VaryRequest {
            count: latents.as_ref().map_or(count, Vec::len),
            seed,
            strength,
            mask: self.mask.clone(),
            latents,
        }
    }

    /// A generator output (the size of `input`) brought back to the canvas.
    pub fn finish(&self, output: RgbImage) -> RgbImage {
        match &self.lines {
            Some(lines) => lines.compose(&self.canvas, &self.input, output),
            None => resolution::to_canvas(&self.canvas, &self.input, output),
        }
    }

    /// Runs the generator and calls `on_each` with every candidate as it is
    /// finished; returning false stops the rest.
    pub fn run(
        &self,
        model: &VariationModel,
        request: &VaryRequest,
        mut on_each: impl FnMut(Made) -> bool,
    ) -> Result<(), GanError> {
        model.vary(&self.input, request, |index, v| {
            let image = self.finish(v.image.clone());
            on_each(Made {
                index,
                seed: request.seed.wrapping_add(index as u64),
                z: v.z,
                critic: v.critic,
                work: v.image,
                image,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(w: u32, h: u32) -> Document {
        Document::new(w, h, [200, 180, 160, 255]).unwrap()
    }

    #[test]
    fn a_large_canvas_goes_to_work_size_and_keeps_its_rect() {
        let p = Prepared::from_document(&doc(1600, 800), None, Options::default());
        assert_eq!(p.rect, CanvasRect::new(0, 0, 1600, 800));
        assert_eq!(p.canvas.dimensions(), (1600, 800));
        assert_eq!(p.input.dimensions(), (512, 256));
        assert!(p.alpha.is_none() && p.selection.is_none());
        let full = Prepared::from_document(
            &doc(1600, 800),
            None,
            Options {
                full_res: true,
                keep_lines: false,
                ..Options::default()
            },
        );
        assert_eq!(full.input.dimensions(), (1600, 800));
        let small = Prepared::from_document(
            &doc(1600, 800),
            None,
            Options {
                work_side: 256,
                ..Options::default()
            },
        );
        assert_eq!(small.input.dimensions(), (256, 128));
        assert_eq!(small.canvas.dimensions(), (1600, 800));
    }

    #[test]
    fn a_selection_gets_context_a_mask_at_work_size_and_coverage_at_canvas_size() {
        let sel = CanvasRect::new(100, 100, 50, 40);
        let p = Prepared::from_document(&doc(400, 300), Some(sel), Options::default());
        assert_eq!(p.selection, Some(sel));
        assert!(p.rect.w > sel.w && p.rect.h > sel.h, "{:?}", p.rect);
        assert_eq!(p.rect.intersect(&sel), sel);
        let alpha = p.alpha.as_ref().unwrap();
        assert_eq!(alpha.dimensions(), (p.rect.w, p.rect.h));
        let req = p.request(3, 7, 0.5, None);
        assert_eq!(
            req.mask.as_ref().unwrap().dimensions(),
            p.input.dimensions()
        );
        assert_eq!(req.count, 3);
        // Inside the selection the coverage is full, far outside it is none.
        let (cx, cy) = (sel.x + sel.w / 2 - p.rect.x, sel.y + sel.h / 2 - p.rect.y);
        assert_eq!(alpha.get_pixel(cx, cy)[0], 255);
        assert_eq!(alpha.get_pixel(0, 0)[0], 0);
    }

    #[test]
    fn a_selection_of_the_whole_canvas_varies_the_canvas() {
        let d = doc(64, 48);
        let p = Prepared::from_document(&d, Some(d.bounds()), Options::default());
        assert!(p.selection.is_none() && p.mask.is_none());
        let outside = Prepared::from_document(
            &d,
            Some(CanvasRect::new(500, 500, 5, 5)),
            Options::default(),
        );
        assert!(outside.selection.is_none());
    }

    #[test]
    fn explicit_codes_set_the_count() {
        let p = Prepared::from_image(RgbImage::new(32, 32), None, Options::default());
        let req = p.request(9, 1, 0.5, Some(vec![vec![0.0; 4]; 2]));
        assert_eq!((req.count, req.strength), (2, 0.5));
    }

    #[test]
    fn an_unchanged_output_brings_the_canvas_back_exactly() {
        let mut canvas = RgbImage::from_pixel(1024, 512, image::Rgb([240, 235, 220]));
        for x in 0..1024 {
            canvas.put_pixel(x, 256, image::Rgb([20, 20, 20]));
        }
        for keep_lines in [false, true] {
            let p = Prepared::from_image(
                canvas.clone(),
                None,
                Options {
                    keep_lines,
                    full_res: false,
                    ..Options::default()
                },
            );
            let back = p.finish(p.input.clone());
            assert_eq!(back, canvas, "keep_lines {keep_lines}");
        }
    }
}
