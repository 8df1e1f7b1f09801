//! 16-bit copies of the tiles that faint dabs paint, so that a low-flow brush
//! does not accumulate 8-bit rounding errors.
//!
//! Why: a dab of the soft airbrush (alpha 0.048) raises a pixel by 0 to 12
//! levels of 255, and rounding every dab's result to 8 bits is off by up to
//! half a level, a large fraction of what the dab adds. The ~10 dabs that
//! overlap a pixel add their errors up, and how they add up depends on where
//! the pixel lies relative to the dab centres; along a stroke that is a
//! pattern of ±2/255 that repeats with the dabs' sub-pixel phase and beats
//! into bands tens of pixels long when the phase drifts.
//!
//! A [`DeepTiles`] keeps, for recently painted tiles, the pixels at 16 bits
//! per channel. A faint dab blends into that copy and writes the rounded
//! result into the tile, so the tile is never more than half a level from the
//! exact result however many dabs built it up.
//!
//! Which copy belongs to which tile: tile revisions are globally unique and
//! change on every write, so a copy is filed under the revision its tile got
//! from the write that produced it. If anything else writes the tile (an 8-bit
//! dab, undo, a fill, another layer op) the revision moves on, the copy is
//! never found again, and the next faint dab starts a fresh one from the 8-bit
//! pixels. No invalidation is needed and a stale copy can never be used.
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::document::tile::{TILE_BYTES, Tile};

/// Copies kept (32 KiB each, 8 MiB in all): enough for a long stroke of the
/// largest airbrush, whose oldest tiles are finished anyway; the least
/// recently used copy makes room.
const DEEP_LIMIT: usize = 256;

/// 16-bit copies of recently painted tiles.
#[derive(Debug, Default)]
pub struct DeepTiles {
    /// Revision of the tile a copy matches → its slot.
    by_revision: HashMap<u64, usize, BuildHasherDefault<RevisionHasher>>,
    slots: Vec<Slot>,
    /// Use counter for least-recently-used eviction.
    clock: u64,
}

#[derive(Debug)]
struct Slot {
    revision: u64,
    used: u64,
    px: Box<[u16; TILE_BYTES]>,
}

impl DeepTiles {
    /// The slot holding the 16-bit pixels of a tile whose current revision
    /// is `revision`, filled from `tile` (`None`: transparent) when no copy
    /// matches. The copy is unfiled until [`DeepTiles::file`] is called.
    pub fn open(&mut self, revision: u64, tile: Option<&Tile>) -> usize {
        self.clock += 1;
        // Revision 0 is every never-written cell of every grid: not a key.
        if revision != 0
            && let Some(slot) = self.by_revision.remove(&revision)
        {
            self.slots[slot].used = self.clock;
            return slot;
        }
        let slot = if self.slots.len() < DEEP_LIMIT {
            self.slots.push(Slot {
                revision: 0,
                used: 0,
                px: Box::new([0; TILE_BYTES]),
            });
            self.slots.len() - 1
        } else {
            let (slot, old) = self
                .slots
                .iter()
                .enumerate()
                .min_by_key(|(_, s)| s.used)
                .map(|(i, s)| (i, s.revision))
                .unwrap_or_default();
            if self.by_revision.get(&old) == Some(&slot) {
                self.by_revision.remove(&old);
            }
            slot
        };
        let s = &mut self.slots[slot];
        s.used = self.clock;
        s.revision = 0;
        match tile {
            Some(t) => {
                for (d, &v) in s.px.iter_mut().zip(t.px.iter()) {
                    *d = v as u16 * 257;
                }
            }
            None => s.px.fill(0),
        }
        slot
    }

    /// The 16-bit pixels of a slot.
    pub fn pixels(&mut self, slot: usize) -> &mut [u16] {
        &mut self.slots[slot].px[..]
    }

    /// Files a slot under the revision its tile has after being written.
    pub fn file(&mut self, slot: usize, revision: u64) {
        self.slots[slot].revision = revision;
        self.by_revision.insert(revision, slot);
    }
}

/// Revisions are distinct counters: a multiply spreads them over the table
/// at a fraction of SipHash's cost (this runs for every tile of every dab).
#[derive(Debug, Default)]
struct RevisionHasher(u64);

impl Hasher for RevisionHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_found_only_under_its_tiles_current_revision() {
        let mut d = DeepTiles::default();
        let tile = Tile::filled([1, 2, 3, 4]);
        let s = d.open(7, Some(&tile));
        assert_eq!(&d.pixels(s)[..4], &[257, 514, 771, 1028]);
        d.pixels(s)[0] = 300;
        d.file(s, 8);
        // Under the new revision the copy (with its extra bits) is back …
        let again = d.open(8, Some(&tile));
        assert_eq!((again, d.pixels(again)[0]), (s, 300));
        // … but once taken it is no longer filed: a later writer's revision
        // finds a fresh copy.
        let fresh = d.open(8, Some(&tile));
        assert_eq!(d.pixels(fresh)[0], 257);
    }

    #[test]
    fn the_least_recently_used_copy_makes_room() {
        let mut d = DeepTiles::default();
        for r in 1..=DEEP_LIMIT as u64 + 10 {
            let s = d.open(0, None);
            d.file(s, r);
        }
        assert_eq!(d.slots.len(), DEEP_LIMIT);
        assert!(d.by_revision.len() <= DEEP_LIMIT);
        assert!(!d.by_revision.contains_key(&1));
        assert!(d.by_revision.contains_key(&(DEEP_LIMIT as u64 + 10)));
    }
}
