//! The per-pixel work of a dab: blending its mask into one tile.
//!
//! Blending is source-over on premultiplied RGBA: `dst = src·a + dst·(1 − a)`;
//! erasing is `dst = dst·(1 − a)`; with alpha locked the colour is blended and
//! alpha kept. Two precisions:
//! - [`blend8`] works on the RGBA8 tile itself with a 15-bit alpha, four
//!   pixels per AVX2 instruction, rounding each dab's result to 8 bits;
//! - [`blend16`] works on a 16-bit copy of the tile (see [`super::deep`]) and
//!   writes the rounded result into the tile, so that rounding errors do not
//!   add up over the many faint dabs of a low-flow brush.
//!
//! Each entry point runs all rows of one (dab, tile) pair, compiled for AVX2
//! where the CPU has it (one feature check per tile, not per row).
use super::PaintMode;
use super::mask::Mask;
use crate::document::{CanvasRect, TILE_SIZE};

/// What one dab deposits, in fixed point.
#[derive(Clone, Copy, Debug)]
pub struct Blend {
    /// Dab alpha, `0..=65536`.
    pub alpha: u32,
    /// Straight colour, `0..=255`.
    pub color: [u32; 3],
    /// Paint or erase.
    pub mode: PaintMode,
    /// Keep the pixels' alpha.
    pub lock_alpha: bool,
}

/// The rows of one dab that fall inside one tile.
#[derive(Clone, Copy, Debug)]
pub struct Part<'a> {
    /// The dab's mask.
    pub mask: &'a Mask,
    /// Canvas position of the mask's first column and row.
    pub x0: i64,
    /// See `x0`.
    pub y0: i64,
    /// The canvas pixels to blend, inside one tile.
    pub rect: CanvasRect,
}

/// How many rows ahead of the blending the kernels ask for a part's cache
/// lines: far enough to cover a miss, near enough not to flood the core's
/// miss buffers (4–8 measured best on scattered dabs, 16 worse).
pub const PREFETCH_ROWS: u32 = 8;

/// Asks for the cache lines of a tile's pixels in `rect` (canvas coordinates
/// inside the tile) without waiting for them.
#[inline(always)]
pub fn prefetch(px: &[u8], rect: &CanvasRect) {
    #[cfg(target_arch = "x86_64")]
    for y in rect.y..rect.bottom() {
        let start = ((y % TILE_SIZE) * TILE_SIZE + rect.x % TILE_SIZE) as usize * 4;
        let end = start + rect.w as usize * 4;
        for i in (start..end).step_by(64).chain([end - 1]) {
            // SAFETY: SSE is part of x86_64; a prefetch only hints the cache
            // and `i` is inside `px`.
            unsafe {
                use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
                _mm_prefetch::<_MM_HINT_T0>(px.as_ptr().add(i).cast());
            }
        }
    }
}

impl Part<'_> {
    /// Asks for the row [`PREFETCH_ROWS`] below the tile pixel `first`, if
    /// the part reaches that far.
    #[inline(always)]
    fn prefetch_ahead(&self, px: &[u8], first: usize) {
        let y = first as u32 / TILE_SIZE + PREFETCH_ROWS;
        let bottom = (self.rect.bottom() - 1) % TILE_SIZE + 1;
        if y < bottom {
            let y = self.rect.y - self.rect.y % TILE_SIZE + y;
            prefetch(px, &CanvasRect::new(self.rect.x, y, self.rect.w, 1));
        }
    }

    /// For each row with coverage: the index of its first pixel in the tile
    /// and its mask values (the row clipped to the mask's non-empty span).
    #[inline(always)]
    pub fn rows(&self) -> impl Iterator<Item = (usize, &[u16])> + '_ {
        let r = self.rect;
        (r.y..r.bottom()).filter_map(move |y| {
            let my = (y as i64 - self.y0) as u32;
            let (s0, s1) = self.mask.spans[my as usize];
            let x_start = (r.x as i64).max(self.x0 + s0 as i64);
            let x_end = (r.right() as i64).min(self.x0 + s1 as i64);
            if x_end <= x_start {
                return None;
            }
            let m0 = (my * self.mask.side) as usize + (x_start - self.x0) as usize;
            let mrow = &self.mask.cov[m0..m0 + (x_end - x_start) as usize];
            let first = ((y % TILE_SIZE) * TILE_SIZE + x_start as u32 % TILE_SIZE) as usize;
            Some((first, mrow))
        })
    }
}

/// Blends a dab part into an RGBA8 tile.
pub fn blend8(px: &mut [u8], part: &Part, b: &Blend) {
    let alpha = b.alpha.min(65535);
    let src = match (b.mode, b.lock_alpha) {
        (PaintMode::Paint, false) => [b.color[0], b.color[1], b.color[2], 255].map(|v| v as i16),
        (PaintMode::Erase, false) => [0; 4],
        (PaintMode::Paint, true) => {
            // Rare (alpha lock) and the colour depends on each pixel: scalar.
            let (pixels, _) = px.as_chunks_mut::<4>();
            for (first, m) in part.rows() {
                paint_row_locked(&mut pixels[first..first + m.len()], m, alpha, b.color);
            }
            return;
        }
        // Erasing keeps alpha when it is locked: nothing to do.
        (PaintMode::Erase, true) => return,
    };
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { rows8_avx2(px, part, alpha, src) };
        return;
    }
    for (first, m) in part.rows() {
        part.prefetch_ahead(px, first);
        row8(&mut px[first * 4..(first + m.len()) * 4], m, alpha, src);
    }
}

/// Blends a dab part into a 16-bit copy of a tile and writes the result,
/// rounded, into the RGBA8 tile.
pub fn blend16(deep: &mut [u16], px: &mut [u8], part: &Part, b: &Blend) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { blend16_avx2(deep, px, part, b) };
        return;
    }
    blend16_rows(deep, px, part, b);
}

/// The 16-bit kernel compiled for AVX2 (8 × 32-bit lanes).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn blend16_avx2(deep: &mut [u16], px: &mut [u8], part: &Part, b: &Blend) {
    blend16_rows(deep, px, part, b);
}

/// Pixels in the longest row of a part (a part lies inside one tile).
const ROW: usize = TILE_SIZE as usize;

/// The colour as four channel values repeated along a row, so that the
/// 16-bit kernel runs as one flat loop over channels (measured 1.7× faster
/// than a loop over pixels, whose widening shuffles dominate).
#[inline(always)]
fn source_row(src: [u32; 4]) -> [u32; 4 * ROW] {
    std::array::from_fn(|i| src[i % 4])
}

/// A pixel's alpha in 15 bits (`0..=32768`) from its coverage and the dab's
/// alpha, rounded: a truncation here would bias every faint dab the same way.
#[inline(always)]
fn alpha15(m: u16, alpha: u32) -> u32 {
    (m as u32 * alpha + 256) >> 9
}

/// Per-channel alpha of a row for the 16-bit kernel, four times per pixel.
#[inline(always)]
fn alpha_row<'a>(buf: &'a mut [u32; 4 * ROW], mask: &[u16], alpha: u32) -> &'a [u32] {
    for (a4, &m) in buf.as_chunks_mut::<4>().0.iter_mut().zip(mask) {
        *a4 = [alpha15(m, alpha); 4];
    }
    &buf[..mask.len() * 4]
}

/// A pixel's alpha for the 8-bit kernel, `0..=32767`: `coverage/256 ×
/// alpha/65536` in 15 bits, rounded (`vpmulhuw` plus the rounding bit from
/// `vpmullw`), and capped where 32768 would overflow `vpmulhrsw` (a full dab
/// still lands exactly on the colour: `255 · 32767/32768` rounds to 255).
#[inline(always)]
fn alpha8(m: u16, alpha: u32) -> i32 {
    ((((m as u32) << 7) * alpha + 32768) >> 16).min(32767) as i32
}

/// `dst + (src − dst)·a/32768`, rounded half up: `vpmulhrsw`'s arithmetic,
/// so that the scalar and AVX2 kernels agree to the bit.
#[inline(always)]
fn mix(src: i32, dst: u8, a: i32) -> u8 {
    let d = dst as i32;
    (d + (((src - d) * a + (1 << 14)) >> 15)) as u8
}

/// One row of source-over (or erase, with `src` 0) on RGBA8.
#[inline(always)]
fn row8(px: &mut [u8], mask: &[u16], alpha: u32, src: [i16; 4]) {
    for (p, &m) in px.as_chunks_mut::<4>().0.iter_mut().zip(mask) {
        let a = alpha8(m, alpha);
        *p = std::array::from_fn(|c| mix(src[c] as i32, p[c], a));
    }
}

/// [`row8`] over a part, with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn rows8_avx2(px: &mut [u8], part: &Part, alpha: u32, src: [i16; 4]) {
    for (first, m) in part.rows() {
        part.prefetch_ahead(px, first);
        row8_avx2(&mut px[first * 4..(first + m.len()) * 4], m, alpha, src);
    }
}

/// [`row8`] four pixels at a time in 16-bit lanes: the same result to the
/// bit, about four times the pixels per instruction of the 32-bit kernel it
/// replaces.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn row8_avx2(px: &mut [u8], mask: &[u16], alpha: u32, src: [i16; 4]) {
    use std::arch::x86_64::*;
    let n = mask.len();
    assert_eq!(px.len(), n * 4);
    let s = src.map(|v| v as u16 as u64);
    let srcv = _mm256_set1_epi64x((s[0] | s[1] << 16 | s[2] << 32 | s[3] << 48) as i64);
    let alphav = _mm_set1_epi16(alpha as u16 as i16);
    let cap = _mm_set1_epi16(32767);
    // Each pixel's alpha word to the four words of its channels.
    let spread = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: `i + 4 <= n`: four mask values (8 bytes) and four pixels
        // (16 bytes) are in bounds; unaligned loads and stores.
        unsafe {
            let m = _mm_loadl_epi64(mask.as_ptr().add(i).cast());
            let m = _mm_slli_epi16::<7>(m);
            let round = _mm_srli_epi16::<15>(_mm_mullo_epi16(m, alphav));
            let a = _mm_min_epu16(_mm_add_epi16(_mm_mulhi_epu16(m, alphav), round), cap);
            let a = _mm256_permutevar8x32_epi32(
                _mm256_castsi128_si256(_mm_unpacklo_epi16(a, a)),
                spread,
            );
            let p = px.as_mut_ptr().add(i * 4);
            let d = _mm256_cvtepu8_epi16(_mm_loadu_si128(p.cast()));
            let out = _mm256_add_epi16(d, _mm256_mulhrs_epi16(_mm256_sub_epi16(srcv, d), a));
            let packed = _mm_packus_epi16(
                _mm256_castsi256_si128(out),
                _mm256_extracti128_si256::<1>(out),
            );
            _mm_storeu_si128(p.cast(), packed);
        }
        i += 4;
    }
    row8(&mut px[i * 4..], &mask[i..], alpha, src);
}

#[inline(always)]
fn blend16_rows(deep: &mut [u16], px: &mut [u8], part: &Part, b: &Blend) {
    let c = b.color.map(|v| v * 257);
    let src = match (b.mode, b.lock_alpha) {
        (PaintMode::Paint, false) => [c[0], c[1], c[2], 65535],
        (PaintMode::Erase, false) => [0; 4],
        (PaintMode::Paint, true) => {
            let (pixels, _) = px.as_chunks_mut::<4>();
            let (deep, _) = deep.as_chunks_mut::<4>();
            for (first, m) in part.rows() {
                let r = first..first + m.len();
                paint_row16_locked(&mut deep[r.clone()], &mut pixels[r], m, b.alpha, c);
            }
            return;
        }
        (PaintMode::Erase, true) => return,
    };
    let src = source_row(src);
    let mut a4 = [0; 4 * ROW];
    for (first, m) in part.rows() {
        part.prefetch_ahead(px, first);
        let a4 = alpha_row(&mut a4, m, b.alpha);
        let r = first * 4..(first + m.len()) * 4;
        let (d, p) = (&mut deep[r.clone()], &mut px[r]);
        for (((d, p), &a), &s) in d.iter_mut().zip(p).zip(a4).zip(&src) {
            *d = mix16(s, *d, a);
            *p = to8(*d);
        }
    }
}

#[inline(always)]
fn paint_row_locked(px: &mut [[u8; 4]], mask: &[u16], alpha: u32, c: [u32; 3]) {
    for (p, &m) in px.iter_mut().zip(mask) {
        let a = alpha8(m, alpha);
        // Premultiply the colour by the pixel's own (kept) alpha.
        let pa = p[3] as u32;
        let pre = |v: u32| ((v * pa * 257 + 32768) >> 16) as i32;
        *p = [
            mix(pre(c[0]), p[0], a),
            mix(pre(c[1]), p[1], a),
            mix(pre(c[2]), p[2], a),
            p[3],
        ];
    }
}

/// `dst + (src − dst)·a` in 16 bits, rounded; `a` is `0..=32768` (15 bits
/// keep `difference × alpha` of 16-bit values in i32).
#[inline(always)]
fn mix16(src: u32, dst: u16, a15: u32) -> u16 {
    let d = dst as i32;
    (d + (((src as i32 - d) * a15 as i32 + (1 << 14)) >> 15)) as u16
}

/// 16 bits to 8, rounded: exactly `round(v / 257)` for every `v`.
#[inline(always)]
fn to8(v: u16) -> u8 {
    ((v as u32 * 255 + 32895) >> 16) as u8
}

#[inline(always)]
fn paint_row16_locked(
    deep: &mut [[u16; 4]],
    px: &mut [[u8; 4]],
    mask: &[u16],
    alpha: u32,
    c: [u32; 3],
) {
    for ((d, p), &m) in deep.iter_mut().zip(px.iter_mut()).zip(mask) {
        let a = alpha15(m, alpha);
        let pa = d[3] as u32;
        let pre = |v: u32| (v * pa + 32768) >> 16;
        *d = [
            mix16(pre(c[0]), d[0], a),
            mix16(pre(c[1]), d[1], a),
            mix16(pre(c[2]), d[2], a),
            d[3],
        ];
        *p = d.map(to8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_to_eight_bits_rounds_to_nearest() {
        for v in 0..=u16::MAX {
            assert_eq!(to8(v) as f64, (v as f64 / 257.0).round(), "{v}");
        }
    }

    #[test]
    fn the_8_bit_mix_is_source_over_to_the_nearest_level() {
        for src in [0, 1, 128, 254, 255] {
            for dst in 0..=255u8 {
                for m in [0, 1, 77, 128, 255, 256] {
                    for alpha in [1, 3146, 32768, 65535] {
                        let a = m as f64 / 256.0 * alpha as f64 / 65536.0;
                        let exact = src as f64 * a + dst as f64 * (1.0 - a);
                        let got = mix(src, dst, alpha8(m, alpha)) as f64;
                        assert!((got - exact).abs() <= 0.51, "{src} {dst} {m} {alpha}");
                    }
                }
            }
        }
        // A full dab lands exactly on the colour, both ways.
        assert_eq!(mix(255, 0, alpha8(256, 65535)), 255);
        assert_eq!(mix(0, 255, alpha8(256, 65535)), 0);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx2_row_kernel_matches_the_scalar_one_to_the_bit() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for n in 0..40 {
            let mask: Vec<u16> = (0..n).map(|_| (next() % 257) as u16).collect();
            let px: Vec<u8> = (0..4 * n).map(|_| next() as u8).collect();
            let alpha = (next() % 65536) as u32;
            let src = [next() as u8, next() as u8, next() as u8, 255].map(i16::from);
            let (mut a, mut b) = (px.clone(), px);
            row8(&mut a, &mask, alpha, src);
            // SAFETY: AVX2 was checked above.
            unsafe { row8_avx2(&mut b, &mask, alpha, src) };
            assert_eq!(a, b, "{n} pixels");
        }
    }

    #[test]
    fn mix16_hits_both_ends_and_stays_in_range() {
        assert_eq!(mix16(65535, 0, 32768), 65535);
        assert_eq!(mix16(0, 65535, 32768), 0);
        assert_eq!(mix16(65535, 65535, 12345), 65535);
        assert_eq!(mix16(0, 0, 777), 0);
        assert_eq!(mix16(65535, 0, 16384), 32768);
    }
}
