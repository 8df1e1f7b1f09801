//! Candidate history: every variation ever generated in a project, with the
//! canvas it came from and what the artist decided.
//!
//! Records are small serde data saved in the project's manifest; the pixels
//! (each candidate's output and each Vary's input snapshot) are kept as PNG
//! bytes, lossless, and saved as `atelier/history/*.png`. PNG bytes rather
//! than decoded images keep a long history cheap in memory.
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// What the artist did with a candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Still in the grid, or dismissed without a decision.
    #[default]
    Pending,
    /// Inserted into the document.
    Accepted,
    /// Turned down.
    Rejected,
}

/// One generated candidate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CandidateRecord {
    /// Unique within the project.
    pub id: u64,
    /// Image key of the canvas snapshot it was generated from.
    pub input: String,
    /// Image key of its pixels.
    pub output: String,
    /// Where on the canvas it goes: x, y, w, h in canvas pixels.
    pub rect: [u32; 4],
    /// The selection it regenerates within `rect` (blended back with a
    /// feathered edge); None: the whole of `rect`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<[u32; 4]>,
    /// The candidate's seed.
    pub seed: u64,
    /// Its latent code.
    pub z: Vec<f32>,
    /// Model version id.
    pub model: String,
    /// Strength (0..1).
    pub strength: f32,
    /// The discriminator's mean patch score.
    pub critic: f32,
    /// Accepted, rejected or still pending.
    pub decision: Decision,
    /// Marked by the artist as a favourite.
    #[serde(default)]
    pub favourite: bool,
    /// When it was generated, seconds since the Unix epoch.
    pub time: u64,
}

/// `time` (seconds since the Unix epoch) as `YYYY-MM-DD HH:MM UTC`.
pub fn format_time(time: u64) -> String {
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let days = (time / 86_400) as i64;
    let secs = time % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

/// Which records a history view shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Filter {
    /// Every record.
    #[default]
    All,
    /// Accepted only.
    Accepted,
    /// Rejected only.
    Rejected,
    /// Favourites only.
    Favourite,
}

impl Filter {
    /// Whether `r` passes.
    pub fn admits(self, r: &CandidateRecord) -> bool {
        match self {
            Self::All => true,
            Self::Accepted => r.decision == Decision::Accepted,
            Self::Rejected => r.decision == Decision::Rejected,
            Self::Favourite => r.favourite,
        }
    }
}

/// The project's candidate history: records plus their PNG-encoded images.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CandidateHistory {
    /// Oldest first.
    pub records: Vec<CandidateRecord>,
    /// PNG bytes by image key (`input-N` / `candidate-N`).
    pub images: BTreeMap<String, Arc<Vec<u8>>>,
}

/// Why an image could not be stored in or read from the history.
#[derive(Debug, thiserror::Error)]
#[error("candidate history image {key}: {source}")]
pub struct HistoryImageError {
    key: String,
    source: image::ImageError,
}

/// Lossless PNG bytes of `img`, as the history stores them (workers encode,
/// so the UI thread only moves bytes).
pub fn encode_png(img: &image::RgbImage) -> Result<Vec<u8>, image::ImageError> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)?;
    Ok(out.into_inner())
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl CandidateHistory {
    fn next_id(&self) -> u64 {
        self.records.iter().map(|r| r.id + 1).max().unwrap_or(1)
    }

    /// Stores a Vary's input snapshot (PNG bytes); returns its key for
    /// [`Self::record`].
    pub fn add_input(&mut self, png: Vec<u8>) -> String {
        let n = self
            .images
            .keys()
            .filter(|k| k.starts_with("input-"))
            .count();
        let mut key = format!("input-{}", n + 1);
        while self.images.contains_key(&key) {
            key.push('b');
        }
        self.images.insert(key.clone(), Arc::new(png));
        key
    }

    /// Records a new candidate with its pixels (PNG bytes); returns its id.
    /// `record.id` and `record.output` are assigned here.
    pub fn record(&mut self, mut record: CandidateRecord, png: Vec<u8>) -> u64 {
        record.id = self.next_id();
        record.output = format!("candidate-{}", record.id);
        self.images.insert(record.output.clone(), Arc::new(png));
        let id = record.id;
        self.records.push(record);
        id
    }

    /// The record with `id`.
    pub fn get(&self, id: u64) -> Option<&CandidateRecord> {
        self.records.iter().find(|r| r.id == id)
    }

    /// Sets the decision of `id` (no-op for unknown ids).
    pub fn decide(&mut self, id: u64, decision: Decision) {
        if let Some(r) = self.records.iter_mut().find(|r| r.id == id) {
            r.decision = decision;
        }
    }

    /// Toggles the favourite mark of `id`; returns the new state.
    pub fn toggle_favourite(&mut self, id: u64) -> bool {
        self.records
            .iter_mut()
            .find(|r| r.id == id)
            .map(|r| {
                r.favourite = !r.favourite;
                r.favourite
            })
            .unwrap_or(false)
    }

    /// Decodes the image stored under `key`.
    pub fn image(&self, key: &str) -> Result<image::RgbImage, HistoryImageError> {
        let err = |source| HistoryImageError {
            key: key.to_owned(),
            source,
        };
        let bytes = self.images.get(key).ok_or_else(|| {
            err(image::ImageError::IoError(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "not in the project",
            )))
        })?;
        image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
            .map(|i| i.into_rgb8())
            .map_err(err)
    }

    /// Records passing `filter`, newest first.
    pub fn filtered(&self, filter: Filter) -> impl Iterator<Item = &CandidateRecord> {
        self.records.iter().rev().filter(move |r| filter.admits(r))
    }

    /// Counts of (all, accepted, rejected, favourite).
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let n = |f: Filter| self.records.iter().filter(|r| f.admits(r)).count();
        (
            self.records.len(),
            n(Filter::Accepted),
            n(Filter::Rejected),
            n(Filter::Favourite),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seed: u64) -> CandidateRecord {
        CandidateRecord {
            id: 0,
            input: String::new(),
            output: String::new(),
            rect: [0, 0, 2, 2],
            selection: None,
            seed,
            z: vec![0.5; 4],
            model: "m".into(),
            strength: 0.8,
            critic: 0.1,
            decision: Decision::Pending,
            favourite: false,
            time: 0,
        }
    }

    #[test]
    fn times_format_as_utc_dates() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(1_795_700_000), "2026-11-26 13:33 UTC");
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn images_are_lossless_and_decisions_filter() {
        let mut h = CandidateHistory::default();
        let img = image::RgbImage::from_fn(2, 2, |x, y| image::Rgb([x as u8 * 200, y as u8, 7]));
        let png = encode_png(&img).unwrap();
        let input = h.add_input(png.clone());
        let a = h.record(
            CandidateRecord {
                input: input.clone(),
                ..record(1)
            },
            png.clone(),
        );
        let b = h.record(record(2), png);
        assert_ne!(a, b);
        h.decide(a, Decision::Accepted);
        h.decide(b, Decision::Rejected);
        assert!(h.toggle_favourite(b));
        assert_eq!(h.image(&h.get(a).unwrap().output).unwrap(), img);
        assert_eq!(h.image(&input).unwrap(), img);
        assert_eq!(h.counts(), (2, 1, 1, 1));
        let fav: Vec<u64> = h.filtered(Filter::Favourite).map(|r| r.id).collect();
        assert_eq!(fav, vec![b]);
        assert!(h.image("candidate-99").is_err());
    }
}
