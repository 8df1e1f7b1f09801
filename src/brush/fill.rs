//! Flood fill: the contiguous region of similar colour around a seed pixel.
use crate::document::blend::premultiply;
use crate::document::{CanvasRect, TileGrid};

/// Fills the 4-connected region around `(x, y)` whose pixels differ from the
/// seed pixel by at most `tolerance` (0..255, per premultiplied channel) with
/// straight `color`. Returns the bounding rectangle of what changed.
pub fn flood_fill(
    grid: &mut TileGrid,
    x: u32,
    y: u32,
    tolerance: u8,
    color: [u8; 4],
) -> CanvasRect {
    let (w, h) = (grid.width(), grid.height());
    if x >= w || y >= h {
        return CanvasRect::default();
    }
    let bounds = CanvasRect::new(0, 0, w, h);
    let px = grid.read_rect(bounds);
    let at = |x: u32, y: u32| ((y * w + x) * 4) as usize;
    let seed = [
        px[at(x, y)],
        px[at(x, y) + 1],
        px[at(x, y) + 2],
        px[at(x, y) + 3],
    ];
    let fill = premultiply(color);
    let similar = |i: usize| (0..4).all(|k| px[i + k].abs_diff(seed[k]) <= tolerance);
    let mut inside = vec![false; (w * h) as usize];
    let mut stack = vec![(x, y)];
    let (mut x0, mut y0, mut x1, mut y1) = (x, y, x, y);
    // Scanline fill: walk each run left and right, then seed the rows above and below.
    while let Some((sx, sy)) = stack.pop() {
        let row = (sy * w) as usize;
        if inside[row + sx as usize] || !similar(at(sx, sy)) {
            continue;
        }
        let mut l = sx;
        while l > 0 && !inside[row + l as usize - 1] && similar(at(l - 1, sy)) {
            l -= 1;
        }
        let mut r = sx;
        while r + 1 < w && !inside[row + r as usize + 1] && similar(at(r + 1, sy)) {
            r += 1;
        }
        for cx in l..=r {
            inside[row + cx as usize] = true;
            for ny in [sy.wrapping_sub(1), sy + 1] {
                if ny < h && !inside[(ny * w + cx) as usize] {
                    stack.push((cx, ny));
                }
            }
        }
        (x0, x1, y0, y1) = (x0.min(l), x1.max(r), y0.min(sy), y1.max(sy));
    }
    let rect = CanvasRect::new(x0, y0, x1 - x0 + 1, y1 - y0 + 1);
    let mut out = grid.read_rect(rect);
    for yy in 0..rect.h {
        for xx in 0..rect.w {
            if inside[((rect.y + yy) * w + rect.x + xx) as usize] {
                let i = ((yy * rect.w + xx) * 4) as usize;
                out[i..i + 4].copy_from_slice(&fill);
            }
        }
    }
    grid.write_rect(rect, &out);
    rect
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_stops_at_a_closed_outline() {
        let mut g = TileGrid::new(100, 100);
        // A 1-px square outline from (10,10) to (30,30).
        let wall = [0u8, 0, 0, 255];
        for i in 10..=30 {
            for (x, y) in [(i, 10), (i, 30), (10, i), (30, i)] {
                g.write_rect(CanvasRect::new(x, y, 1, 1), &wall);
            }
        }
        let changed = flood_fill(&mut g, 20, 20, 0, [255, 0, 0, 255]);
        assert_eq!(changed, CanvasRect::new(11, 11, 19, 19));
        assert_eq!(g.pixel(20, 20), [255, 0, 0, 255]);
        assert_eq!(g.pixel(10, 20), wall);
        assert_eq!(g.pixel(50, 50), [0; 4]);
    }

    #[test]
    fn tolerance_includes_similar_colours() {
        let mut g = TileGrid::new(10, 1);
        let row: Vec<u8> = (0..10u8).flat_map(|i| [i * 10, 0, 0, 255]).collect();
        g.write_rect(CanvasRect::new(0, 0, 10, 1), &row);
        let changed = flood_fill(&mut g, 0, 0, 25, [0, 255, 0, 255]);
        assert_eq!(changed.w, 3, "0, 10, 20 are within 25 of 0");
    }
}
