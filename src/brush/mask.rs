//! Dab masks: the coverage of one dab shape, computed once and reused.
//!
//! The coverage of a dab at distance `d` from its centre is
//! `clamp((r − d) / max(r·(1 − hardness), 1), 0, 1)`: a fully opaque core and a
//! linear falloff at least one pixel wide (so hard brushes are anti-aliased).
//! Masks are kept per shape (radius quantised to ⅛ px, hardness to 1/1000) and
//! sub-pixel phase (¼ px in x and y), so a stroke of equal dabs computes its
//! mask once. The lookup is on the dab path of every stamp, so it avoids
//! hashing when the shape is the previous dab's (nearly always: pressure
//! changes the radius slowly) and indexes the 16 phases directly.
use std::collections::HashMap;

/// Sub-pixel positions are quantised to 1/SUBPIXEL.
pub const SUBPIXEL: f32 = 4.0;
/// Radii are quantised to 1/RADIUS_STEPS pixel.
const RADIUS_STEPS: f32 = 8.0;
/// Masks kept before the table is cleared (pressure makes many radii).
const MASK_LIMIT: usize = 1024;
/// Phases per shape.
const PHASES: usize = (SUBPIXEL * SUBPIXEL) as usize;

/// Coverage at distance `d` from the centre of a dab of radius `r`.
pub fn coverage(d: f32, r: f32, hardness: f32) -> f32 {
    let soft = (r * (1.0 - hardness)).max(1.0);
    ((r - d) / soft).clamp(0.0, 1.0)
}

/// Coverage of one dab shape at one sub-pixel phase, in 1/256 steps
/// (`0..=256`).
#[derive(Debug)]
pub struct Mask {
    /// Side of the square mask.
    pub side: u32,
    /// Distance from the mask's first column/row to the dab's pixel.
    pub reach: u32,
    /// Row-major coverage.
    pub cov: Vec<u16>,
    /// Per row, the columns `start..end` with non-zero coverage (a disc
    /// leaves a fifth of its square empty; skipping it is free speed).
    pub spans: Vec<(u32, u32)>,
}

/// A dab shape, quantised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    radius_q: u32,
    hardness_q: u16,
}

impl Shape {
    /// The quantised shape of a dab.
    pub fn new(radius: f32, hardness: f32) -> Self {
        Self {
            radius_q: (radius * RADIUS_STEPS).round().max(1.0) as u32,
            hardness_q: (hardness.clamp(0.0, 1.0) * 1000.0).round() as u16,
        }
    }
}

/// Every mask built so far.
#[derive(Debug, Default)]
pub struct Masks {
    index: HashMap<Shape, usize>,
    /// Per shape, its phases (built on first use).
    table: Vec<[Option<Box<Mask>>; PHASES]>,
    /// The shape looked up last and its row in `table`.
    last: Option<(Shape, usize)>,
    built: usize,
}

impl Masks {
    /// The mask of `shape` at phase `(fx, fy)` (each `0..SUBPIXEL`).
    pub fn get(&mut self, shape: Shape, fx: u32, fy: u32) -> &Mask {
        let row = match self.last {
            Some((s, row)) if s == shape => row,
            _ => {
                if self.built >= MASK_LIMIT {
                    self.index.clear();
                    self.table.clear();
                    self.built = 0;
                }
                let next = self.table.len();
                let row = *self.index.entry(shape).or_insert(next);
                if row == next {
                    self.table.push(Default::default());
                }
                self.last = Some((shape, row));
                row
            }
        };
        let phase = (fy * SUBPIXEL as u32 + fx) as usize;
        let slot = &mut self.table[row][phase];
        if slot.is_none() {
            self.built += 1;
        }
        slot.get_or_insert_with(|| Box::new(build(shape, fx, fy)))
    }
}

fn build(shape: Shape, fx: u32, fy: u32) -> Mask {
    let r = shape.radius_q as f32 / RADIUS_STEPS;
    let h = shape.hardness_q as f32 / 1000.0;
    let (fx, fy) = (fx as f32 / SUBPIXEL, fy as f32 / SUBPIXEL);
    let reach = r.ceil() as u32 + 1;
    let side = 2 * reach + 1;
    let mut cov = Vec::with_capacity((side * side) as usize);
    for j in 0..side {
        // Pixel centre relative to the dab centre.
        let dy = j as f32 - reach as f32 + 0.5 - fy;
        for i in 0..side {
            let dx = i as f32 - reach as f32 + 0.5 - fx;
            let c = coverage((dx * dx + dy * dy).sqrt(), r, h);
            cov.push((c * 256.0).round() as u16);
        }
    }
    let spans = cov
        .chunks_exact(side as usize)
        .map(|row| {
            let start = row.iter().position(|&c| c > 0).unwrap_or(0) as u32;
            let end = row.iter().rposition(|&c| c > 0).map_or(0, |e| e as u32 + 1);
            (start, end.max(start))
        })
        .collect();
    Mask {
        side,
        reach,
        cov,
        spans,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_matches_its_formula() {
        assert_eq!(coverage(0.0, 10.0, 0.5), 1.0);
        assert_eq!(coverage(5.0, 10.0, 0.5), 1.0);
        assert!((coverage(7.5, 10.0, 0.5) - 0.5).abs() < 1e-6);
        assert_eq!(coverage(10.0, 10.0, 0.5), 0.0);
        // Hard brushes still get a one-pixel anti-aliased edge.
        assert!((coverage(9.5, 10.0, 1.0) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn masks_are_reused_and_the_table_stays_bounded() {
        let mut m = Masks::default();
        let a: *const Mask = m.get(Shape::new(5.0, 0.5), 1, 2);
        m.get(Shape::new(6.0, 0.5), 1, 2);
        assert_eq!(a, m.get(Shape::new(5.0, 0.5), 1, 2) as *const Mask);
        for i in 0..2 * MASK_LIMIT {
            m.get(Shape::new(1.0 + i as f32 / 8.0, 0.5), 0, 0);
        }
        assert!(m.built <= MASK_LIMIT);
    }
}
