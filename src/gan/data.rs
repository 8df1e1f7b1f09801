//! The training data pipeline: a folder of images → decoded, downscaled RGB images
//! in memory → batches of (sketch, target, mask) training pairs, produced on worker
//! threads so that the trainer never waits for them.
//!
//! Batches are reproducible: batch `k` depends only on `(seed, k)`, whichever worker
//! makes it, and the loader hands them out in order.
use super::GanError;
use super::sketchify::{ALL_STYLES, sketchify};
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};

/// File extensions the pipeline tries to decode.
pub const EXTENSIONS: [&str; 8] = ["png", "jpg", "jpeg", "webp", "tif", "tiff", "bmp", "gif"];

/// Decoded images plus how many files were skipped.
#[derive(Debug, Default, Clone)]
pub struct ImageSet {
    /// The usable images (already downscaled).
    pub images: Vec<image::RgbImage>,
    /// Files that could not be decoded or had no visible pixel.
    pub skipped: usize,
    /// Files tried.
    pub files: usize,
}

/// Recursively lists image files under `dir` (sorted, so the order is stable).
pub fn scan(dir: &Path) -> Result<Vec<PathBuf>, GanError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let rd = std::fs::read_dir(&d).map_err(|source| GanError::Io {
            path: d.clone(),
            source,
        })?;
        for entry in rd.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Decodes `paths` on `threads` threads, converts to RGB ([`flatten`]) and downscales
/// so that the shorter side is at most `max_short_side` (keeps memory small and makes
/// crops cover a meaningful part of each picture). Unreadable files, and images with
/// no visible pixel, are skipped with a warning and counted.
pub fn load_images(paths: &[PathBuf], max_short_side: u32, threads: usize) -> ImageSet {
    let threads = threads.max(1).min(paths.len().max(1));
    let next = AtomicU64::new(0);
    let results: Vec<Vec<(usize, Option<image::RgbImage>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                        let Some(p) = paths.get(i) else { break };
                        let img = match decode(p) {
                            Ok(img) => Some(shrink(img, max_short_side)),
                            Err(e) => {
                                tracing::warn!("skipping image {}: {e}", p.display());
                                None
                            }
                        };
                        mine.push((i, img));
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let mut all: Vec<(usize, Option<image::RgbImage>)> = results.into_iter().flatten().collect();
    all.sort_by_key(|(i, _)| *i);
    let files = paths.len();
    let images: Vec<image::RgbImage> = all.into_iter().filter_map(|(_, img)| img).collect();
    ImageSet {
        skipped: files - images.len(),
        images,
        files,
    }
}

fn decode(p: &Path) -> Result<image::RgbImage, String> {
    let read = || -> Result<_, image::ImageError> {
        image::ImageReader::open(p)?.with_guessed_format()?.decode()
    };
    let img = read().map_err(|e| e.to_string())?;
    flatten(img).ok_or_else(|| "it has no visible pixel (fully transparent)".to_owned())
}

/// Converts a decoded image to RGB as it looks, not as it is stored: translucent
/// pixels are composited over a background. `None` for an image with no visible pixel.
///
/// The colour under a transparent pixel is invisible in any viewer and often junk:
/// five of MATE's wallpapers are a flat white or black with the whole picture in
/// their alpha, so dropping the alpha left training on blank images. The background
/// is black or white, whichever contrasts with the visible colours (alpha-weighted
/// mean luminance), so that an overlay's picture survives whatever its own colour.
pub fn flatten(img: image::DynamicImage) -> Option<image::RgbImage> {
    if !img.color().has_alpha() {
        return Some(img.into_rgb8());
    }
    let rgba = img.into_rgba8();
    let (mut weight, mut lum) = (0.0f64, 0.0f64);
    for p in rgba.pixels() {
        let a = f64::from(p[3]);
        weight += a;
        lum += a * (0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]));
    }
    if weight == 0.0 {
        return None;
    }
    Some(over(&rgba, if lum / weight > 127.5 { 0 } else { 255 }))
}

/// `rgba` composited over the grey level `bg` (0 black, 255 white).
pub fn over(rgba: &image::RgbaImage, bg: u8) -> image::RgbImage {
    let bg = u32::from(bg);
    image::RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let p = rgba.get_pixel(x, y);
        let a = u32::from(p[3]);
        // Rounded (c·a + bg·(255 − a)) / 255; at most 255, so the cast cannot truncate.
        let mix = |c: u8| ((u32::from(c) * a + bg * (255 - a) + 127) / 255) as u8;
        image::Rgb([mix(p[0]), mix(p[1]), mix(p[2])])
    })
}

fn shrink(img: image::RgbImage, max_short_side: u32) -> image::RgbImage {
    let (w, h) = img.dimensions();
    let short = w.min(h);
    if short <= max_short_side {
        return img;
    }
    let s = f64::from(max_short_side) / f64::from(short);
    let (nw, nh) = (
        ((f64::from(w) * s).round() as u32).max(1),
        ((f64::from(h) * s).round() as u32).max(1),
    );
    image::imageops::resize(&img, nw, nh, image::imageops::FilterType::Triangle)
}

/// One batch, NCHW `f32`: inputs and targets in [-1, 1], masks in {0, 1}.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `n·3·size·size` sketch canvases (real image outside the mask).
    pub input: Vec<f32>,
    /// `n·3·size·size` targets.
    pub target: Vec<f32>,
    /// `n·1·size·size` masks (1 = regenerate).
    pub mask: Vec<f32>,
    /// Batch size.
    pub n: usize,
    /// Crop side.
    pub size: usize,
}

/// Everything batch making needs, shared read-only by the workers.
#[derive(Debug, Default)]
pub struct PairSource {
    /// Real images.
    pub images: Vec<image::RgbImage>,
    /// Extra (input, target) pairs, e.g. accepted candidates with their canvas.
    pub extra_pairs: Vec<(image::RgbImage, image::RgbImage)>,
}

/// Probability that a pair is a region-regeneration example (mask smaller than the image).
const MASKED_FRACTION: f64 = 0.25;

impl PairSource {
    /// Makes batch number `index` for `seed` (pure function of its arguments).
    pub fn make_batch(&self, seed: u64, index: u64, n: usize, size: usize) -> Batch {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(
            seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        let plane = size * size;
        let mut b = Batch {
            input: Vec::with_capacity(n * 3 * plane),
            target: Vec::with_capacity(n * 3 * plane),
            mask: Vec::with_capacity(n * plane),
            n,
            size,
        };
        for _ in 0..n {
            let use_extra =
                !self.extra_pairs.is_empty() && (self.images.is_empty() || rng.random_bool(0.5));
            let (input, target) = if use_extra {
                let (inp, tgt) = &self.extra_pairs[rng.random_range(0..self.extra_pairs.len())];
                let geo = Crop::random(
                    inp.width().min(tgt.width()),
                    inp.height().min(tgt.height()),
                    size,
                    &mut rng,
                );
                (geo.apply(inp, size), geo.apply(tgt, size))
            } else {
                let img = &self.images[rng.random_range(0..self.images.len())];
                let geo = Crop::random(img.width(), img.height(), size, &mut rng);
                let tgt = geo.apply(img, size);
                let style = ALL_STYLES[rng.random_range(0..ALL_STYLES.len())];
                (sketchify(&tgt, size, size, style, &mut rng), tgt)
            };
            let mask = random_mask(size, &mut rng);
            // Outside the mask the canvas is already finished: show the real image there.
            let input: Vec<f32> = (0..plane * 3)
                .map(|i| {
                    if mask[i / 3] > 0.5 {
                        input[i]
                    } else {
                        target[i]
                    }
                })
                .collect();
            push_planar(&mut b.input, &input, plane);
            push_planar(&mut b.target, &target, plane);
            b.mask.extend_from_slice(&mask);
        }
        b
    }
}

/// Interleaved [0,1] RGB → planar [-1,1], appended.
fn push_planar(dst: &mut Vec<f32>, src: &[f32], plane: usize) {
    for c in 0..3 {
        dst.extend((0..plane).map(|i| src[i * 3 + c] * 2.0 - 1.0));
    }
}

fn random_mask(size: usize, rng: &mut impl Rng) -> Vec<f32> {
    if !rng.random_bool(MASKED_FRACTION) {
        return vec![1.0; size * size];
    }
    let mw = rng.random_range(size / 4..=size * 3 / 4).max(1);
    let mh = rng.random_range(size / 4..=size * 3 / 4).max(1);
    let x0 = rng.random_range(0..=size - mw);
    let y0 = rng.random_range(0..=size - mh);
    (0..size * size)
        .map(|i| {
            let (x, y) = (i % size, i / size);
            if (x0..x0 + mw).contains(&x) && (y0..y0 + mh).contains(&y) {
                1.0
            } else {
                0.0
            }
        })
        .collect()
}

/// A random square crop (side between `size` and 3·`size`, clipped to the image),
/// resized to `size`, optionally mirrored.
struct Crop {
    x: u32,
    y: u32,
    side: u32,
    flip: bool,
}

impl Crop {
    fn random(w: u32, h: u32, size: usize, rng: &mut impl Rng) -> Self {
        let max_side = w.min(h).max(1);
        let lo = (size as u32).min(max_side);
        let hi = (size as u32 * 3).min(max_side).max(lo);
        let side = rng.random_range(lo..=hi);
        Self {
            x: rng.random_range(0..=w - side),
            y: rng.random_range(0..=h - side),
            side,
            flip: rng.random_bool(0.5),
        }
    }

    /// The crop as interleaved [0,1] RGB `size×size`.
    fn apply(&self, img: &image::RgbImage, size: usize) -> Vec<f32> {
        let view = image::imageops::crop_imm(img, self.x, self.y, self.side, self.side).to_image();
        let mut r = if self.side as usize == size {
            view
        } else {
            image::imageops::resize(
                &view,
                size as u32,
                size as u32,
                image::imageops::FilterType::Triangle,
            )
        };
        if self.flip {
            image::imageops::flip_horizontal_in_place(&mut r);
        }
        super::metrics::to_f32(&r)
    }
}

/// Produces batches on worker threads, in index order, until dropped.
pub struct BatchLoader {
    rx: mpsc::Receiver<(u64, Batch)>,
    pending: BTreeMap<u64, Batch>,
    next: u64,
    stop: Arc<AtomicBool>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl BatchLoader {
    /// Starts `workers` threads making batches `start, start+1, …` of `n` pairs of `size`².
    pub fn start(
        source: Arc<PairSource>,
        seed: u64,
        start: u64,
        n: usize,
        size: usize,
        workers: usize,
    ) -> Self {
        let (tx, rx) = mpsc::sync_channel(workers.max(1) * 2);
        let stop = Arc::new(AtomicBool::new(false));
        let counter = Arc::new(AtomicU64::new(start));
        let handles = (0..workers.max(1))
            .map(|_| {
                let (tx, stop, counter, source) =
                    (tx.clone(), stop.clone(), counter.clone(), source.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let k = counter.fetch_add(1, Ordering::Relaxed);
                        let batch = source.make_batch(seed, k, n, size);
                        if tx.send((k, batch)).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        Self {
            rx,
            pending: BTreeMap::new(),
            next: start,
            stop,
            workers: handles,
        }
    }

    /// The next batch in order; None only if every worker died.
    pub fn next_batch(&mut self) -> Option<Batch> {
        loop {
            if let Some(b) = self.pending.remove(&self.next) {
                self.next += 1;
                return Some(b);
            }
            let (k, b) = self.rx.recv().ok()?;
            self.pending.insert(k, b);
        }
    }
}

impl Drop for BatchLoader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Drain so that workers blocked on a full channel can see the stop flag.
        while self.rx.try_recv().is_ok() {}
        for h in self.workers.drain(..) {
            while !h.is_finished() {
                while self.rx.try_recv().is_ok() {}
                std::thread::yield_now();
            }
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> PairSource {
        let img = image::RgbImage::from_fn(50, 40, |x, y| {
            image::Rgb([(x * 5) as u8, (y * 6) as u8, 128])
        });
        PairSource {
            images: vec![img],
            extra_pairs: vec![],
        }
    }

    #[test]
    fn translucent_images_are_composited_so_an_overlay_keeps_its_picture() {
        // A white overlay whose picture is all in its alpha (as MATE's Silk): over
        // black, the alpha ramp becomes a grey ramp instead of a blank white image.
        let light =
            image::RgbaImage::from_fn(4, 1, |x, _| image::Rgba([255, 255, 255, (x * 85) as u8]));
        let out = flatten(image::DynamicImage::ImageRgba8(light)).unwrap();
        let reds: Vec<u8> = out.pixels().map(|p| p[0]).collect();
        assert_eq!(reds, [0, 85, 170, 255]);
        // A black overlay goes over white, or it would vanish.
        let dark = image::RgbaImage::from_fn(2, 1, |x, _| image::Rgba([0, 0, 0, (x * 255) as u8]));
        let out = flatten(image::DynamicImage::ImageRgba8(dark)).unwrap();
        assert_eq!(out.pixels().map(|p| p[0]).collect::<Vec<_>>(), [255, 0]);
        // An opaque RGBA image keeps its colours exactly, half alpha mixes evenly.
        let opaque = image::RgbaImage::from_pixel(2, 2, image::Rgba([10, 200, 30, 255]));
        let out = flatten(image::DynamicImage::ImageRgba8(opaque)).unwrap();
        assert!(out.pixels().all(|p| p.0 == [10, 200, 30]));
        let half = image::RgbaImage::from_pixel(1, 1, image::Rgba([200, 200, 200, 128]));
        assert_eq!(
            flatten(image::DynamicImage::ImageRgba8(half))
                .unwrap()
                .get_pixel(0, 0)
                .0,
            [100; 3]
        );
        // Nothing visible: no image rather than a flat one.
        let clear = image::RgbaImage::from_pixel(3, 3, image::Rgba([255, 0, 0, 0]));
        assert!(flatten(image::DynamicImage::ImageRgba8(clear)).is_none());
    }

    #[test]
    fn a_fully_transparent_file_is_skipped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let clear = dir.path().join("clear.png");
        image::RgbaImage::from_pixel(8, 8, image::Rgba([9, 9, 9, 0]))
            .save(&clear)
            .unwrap();
        let ok = dir.path().join("ok.png");
        image::RgbImage::from_pixel(8, 8, image::Rgb([9, 9, 9]))
            .save(&ok)
            .unwrap();
        let set = load_images(&[clear, ok], 64, 2);
        assert_eq!((set.images.len(), set.skipped, set.files), (1, 1, 2));
    }

    #[test]
    fn batches_are_deterministic_and_in_range() {
        let s = source();
        let a = s.make_batch(7, 3, 2, 16);
        let b = s.make_batch(7, 3, 2, 16);
        assert_eq!(a.input, b.input);
        assert_eq!(a.input.len(), 2 * 3 * 16 * 16);
        assert_eq!(a.mask.len(), 2 * 16 * 16);
        assert!(a.target.iter().all(|v| (-1.0..=1.0).contains(v)));
    }

    #[test]
    fn loader_returns_batches_in_order_regardless_of_workers() {
        let s = Arc::new(source());
        let mut one = BatchLoader::start(s.clone(), 5, 0, 2, 16, 1);
        let mut three = BatchLoader::start(s, 5, 0, 2, 16, 3);
        for _ in 0..5 {
            let (a, b) = (one.next_batch().unwrap(), three.next_batch().unwrap());
            assert_eq!(a.target, b.target);
        }
    }

    #[test]
    fn unreadable_files_are_skipped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("nested");
        std::fs::create_dir(&sub).unwrap();
        image::RgbImage::new(8, 8).save(sub.join("ok.png")).unwrap();
        std::fs::write(dir.path().join("broken.jpg"), b"not a jpeg").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"ignored").unwrap();
        let files = scan(dir.path()).unwrap();
        assert_eq!(files.len(), 2);
        let set = load_images(&files, 64, 2);
        assert_eq!((set.images.len(), set.skipped, set.files), (1, 1, 2));
    }
}
