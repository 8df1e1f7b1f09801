//! Live: the GAN's rendition of the canvas, kept up to date while the artist
//! paints, through the same Vary pipeline as the candidates.
//!
//! The window submits a [`LiveRequest`] whenever the canvas changed
//! ([`canvas_state`] fingerprints it). One worker thread renders; it keeps
//! only the newest request, so a request that is overtaken before the
//! worker reaches it is dropped, and the brush never waits. Every
//! [`LiveFrame`] names the canvas state it was made from, so the window can
//! tell a current frame from one that is catching up. The latent code is
//! held fixed by the caller, so the rendition changes where the artist
//! painted, not everywhere at random.
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use image::{GrayImage, RgbImage};

use super::pipeline::{Options, Prepared};
use crate::decisions::LatentSteering;
use crate::document::{CanvasRect, Document};
use crate::gan::VariationModel;

/// The long side Live works at when no stroke is in progress.
pub const LIVE_SIDE: u32 = 512;
/// The long side of Live's renditions: the canvas is shown at screen size,
/// so a large canvas is not rendered at its full resolution (Apply brings
/// the rendition up to the canvas's size).
pub const DISPLAY_SIDE: u32 = 1024;
/// The long side Live works at while a stroke is in progress (cheaper, so
/// the rendition keeps up with the brush).
pub const STROKE_SIDE: u32 = 256;

/// A fingerprint of what Live renders: the layer stack, every layer's
/// properties and the revision of every tile, and the selection. Equal
/// fingerprints mean the same picture (revisions are unique in the
/// process, so an undo gives a new fingerprint only where the pixels did
/// change back to an older revision, which is the same picture).
pub fn canvas_state(doc: &Document, selection: Option<CanvasRect>) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (doc.width(), doc.height()).hash(&mut h);
    for layer in doc.layers() {
        layer.id.0.hash(&mut h);
        let p = &layer.props;
        (p.visible, p.opacity.to_bits(), format!("{:?}", p.blend)).hash(&mut h);
        for c in layer.grid.coords() {
            layer.grid.revision(c).hash(&mut h);
        }
    }
    selection.map(|s| (s.x, s.y, s.w, s.h)).hash(&mut h);
    h.finish()
}

/// One request: render this canvas state.
#[derive(Clone)]
pub struct LiveRequest {
    /// The canvas state's fingerprint ([`canvas_state`]).
    pub state: u64,
    /// A snapshot of the document (cheap: tiles are shared).
    pub doc: Document,
    /// The region to render (None: the whole canvas).
    pub selection: Option<CanvasRect>,
    /// The latent code, held fixed between requests.
    pub z: Vec<f32>,
    /// The seed `z` was drawn from (for provenance).
    pub seed: u64,
    /// How far from the canvas (0..1).
    pub strength: f32,
    /// Weights to use; None: the embedded default.
    pub model: Option<PathBuf>,
    /// The work size's long side.
    pub side: u32,
    /// Keep thin strokes as drawn.
    pub keep_lines: bool,
    /// When the window asked (for latency).
    pub asked: Instant,
}

/// One rendition.
#[derive(Clone)]
pub struct LiveFrame {
    /// The canvas state it was made from.
    pub state: u64,
    /// The rendition over `rect`, at most [`DISPLAY_SIDE`] px on its long
    /// side ([`LiveFrame::at_canvas_size`] brings it to the size of `rect`).
    pub image: RgbImage,
    /// What the generator saw (work size), for the candidate history.
    pub input: RgbImage,
    /// The part of the canvas it covers.
    pub rect: CanvasRect,
    /// The selection it regenerated, if any.
    pub selection: Option<CanvasRect>,
    /// The selection's feathered coverage over `rect`.
    pub alpha: Option<Arc<GrayImage>>,
    /// The model version that made it.
    pub model: String,
    /// Its latent code and the seed it was drawn from.
    pub z: Vec<f32>,
    /// The seed of `z`.
    pub seed: u64,
    /// The strength used.
    pub strength: f32,
    /// The critic's score.
    pub critic: f32,
    /// The work size's long side it was made at.
    pub side: u32,
    /// From the request to the frame being ready.
    pub latency: Duration,
}

impl LiveFrame {
    /// The rendition and its coverage at the size of `rect` (what Apply
    /// puts into the document).
    pub fn at_canvas_size(&self) -> (RgbImage, Option<Arc<GrayImage>>) {
        let (w, h) = (self.rect.w.max(1), self.rect.h.max(1));
        if self.image.dimensions() == (w, h) {
            return (self.image.clone(), self.alpha.clone());
        }
        let filter = image::imageops::FilterType::CatmullRom;
        let image = image::imageops::resize(&self.image, w, h, filter);
        let alpha = self
            .alpha
            .as_deref()
            .map(|a| Arc::new(image::imageops::resize(a, w, h, filter)));
        (image, alpha)
    }
}

/// What renders a request: the GAN, or a fake in tests.
pub trait Render: Send {
    /// The latent size the renderer wants for `model`, once it is loaded.
    fn latent_dim(&mut self, model: &Option<PathBuf>) -> Result<usize, String>;
    /// Renders one request.
    fn render(&mut self, req: &LiveRequest) -> Result<LiveFrame, String>;
}

/// The loaded model, reused while requests name the same weights.
#[derive(Default)]
pub struct ModelCache {
    loaded: Option<(Option<PathBuf>, Result<VariationModel, String>)>,
}

impl ModelCache {
    /// The model for `path` (None: the embedded default), loading it on the
    /// device [`crate::gan::device::auto`] picks when it is not the one held.
    pub fn get(&mut self, path: &Option<PathBuf>) -> &Result<VariationModel, String> {
        if self.loaded.as_ref().is_none_or(|(p, _)| p != path) {
            let device = crate::gan::device::auto();
            let model = match path {
                Some(p) => VariationModel::load(p, device),
                None => VariationModel::load_default(device),
            }
            .map_err(|e| format!("The GAN could not be loaded: {e}"));
            self.loaded = Some((path.clone(), model));
        }
        &self.loaded.as_ref().expect("set above").1
    }
}

/// The GAN through the Vary pipeline.
#[derive(Default)]
pub struct GanRender {
    models: ModelCache,
}

impl Render for GanRender {
    fn latent_dim(&mut self, model: &Option<PathBuf>) -> Result<usize, String> {
        let m = self.models.get(model).as_ref().map_err(Clone::clone)?;
        Ok(m.info().arch.latent_dim)
    }

    fn render(&mut self, req: &LiveRequest) -> Result<LiveFrame, String> {
        let model = self.models.get(&req.model).as_ref().map_err(Clone::clone)?;
        // A code of another size (the steering of another model) is redrawn
        // from the prior with the same seed.
        let dim = model.info().arch.latent_dim;
        let z = if req.z.len() == dim {
            req.z.clone()
        } else {
            crate::decisions::LatentSteering::new(dim)
                .sample(1, req.seed)
                .remove(0)
        };
        let options = Options {
            keep_lines: req.keep_lines,
            work_side: req.side,
            ..Options::default()
        };
        let prepared =
            Prepared::from_document_at(&req.doc, req.selection, options, Some(DISPLAY_SIDE));
        let request = prepared.request(1, req.seed, req.strength, Some(vec![z]));
        let mut made = None;
        prepared
            .run(model, &request, |m| {
                made = Some(m);
                false
            })
            .map_err(|e| format!("Live: {e}"))?;
        let made = made.ok_or("Live: the model made nothing")?;
        Ok(LiveFrame {
            state: req.state,
            image: made.image,
            input: prepared.input.clone(),
            rect: prepared.rect,
            selection: prepared.selection,
            alpha: prepared.alpha.clone(),
            model: model.info().version_id.clone(),
            z: made.z,
            seed: req.seed,
            strength: req.strength,
            critic: made.critic,
            side: req.side,
            latency: req.asked.elapsed(),
        })
    }
}

/// What the worker sends back.
pub enum LiveReport {
    /// A finished rendition.
    Frame(Box<LiveFrame>),
    /// A request failed (the model could not load, bad input).
    Failed(String),
}

/// The newest request waiting for the worker, and whether it should stop.
#[derive(Default)]
struct Slot {
    pending: Option<LiveRequest>,
    stop: bool,
    /// A request is being rendered.
    rendering: bool,
    /// Requests replaced before the worker took them.
    dropped: u64,
}

/// The Live worker thread: renders the newest request, drops the others.
pub struct LiveWorker {
    slot: Arc<(Mutex<Slot>, Condvar)>,
    reports: Receiver<LiveReport>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LiveWorker {
    /// Starts the worker with `render`; `wake` is called after each report
    /// (the window repaints).
    pub fn spawn(
        mut render: Box<dyn Render>,
        wake: impl Fn() + Send + 'static,
    ) -> std::io::Result<Self> {
        let slot: Arc<(Mutex<Slot>, Condvar)> = Arc::default();
        let (tx, rx): (Sender<LiveReport>, _) = channel();
        let slot2 = slot.clone();
        let thread = std::thread::Builder::new()
            .name("live".into())
            .spawn(move || {
                // Below the painting thread, as the Vary worker (torch's
                // threads, started from here, inherit it).
                super::priority::lower_this_thread_priority(super::priority::GAN_WORKER_NICE);
                let (lock, cv) = &*slot2;
                loop {
                    let req = {
                        let mut s = lock.lock().unwrap_or_else(|e| e.into_inner());
                        while s.pending.is_none() && !s.stop {
                            s = cv.wait(s).unwrap_or_else(|e| e.into_inner());
                        }
                        if s.stop {
                            return;
                        }
                        s.rendering = true;
                        s.pending.take().expect("checked above")
                    };
                    let report = match render.render(&req) {
                        Ok(frame) => LiveReport::Frame(Box::new(frame)),
                        Err(e) => LiveReport::Failed(e),
                    };
                    lock.lock().unwrap_or_else(|e| e.into_inner()).rendering = false;
                    if tx.send(report).is_err() {
                        return;
                    }
                    wake();
                }
            })?;
        Ok(Self {
            slot,
            reports: rx,
            thread: Some(thread),
        })
    }

    /// Asks for `req`; a request still waiting is replaced (dropped).
    pub fn submit(&self, req: LiveRequest) {
        let (lock, cv) = &*self.slot;
        let mut s = lock.lock().unwrap_or_else(|e| e.into_inner());
        if s.pending.replace(req).is_some() {
            s.dropped += 1;
        }
        cv.notify_one();
    }

    /// Whether a request waits or is being rendered.
    pub fn busy(&self) -> bool {
        let s = self.slot.0.lock().unwrap_or_else(|e| e.into_inner());
        s.pending.is_some() || s.rendering
    }

    /// How many requests were replaced before the worker took them.
    pub fn dropped(&self) -> u64 {
        self.slot.0.lock().map(|s| s.dropped).unwrap_or(0)
    }

    /// Everything reported since the last call, oldest first.
    pub fn reports(&self) -> Vec<LiveReport> {
        self.reports.try_iter().collect()
    }
}

impl Drop for LiveWorker {
    /// Stops the worker and waits for the rendition in progress: libtorch
    /// must not be running when the process tears it down.
    fn drop(&mut self) {
        let (lock, cv) = &*self.slot;
        if let Ok(mut s) = lock.lock() {
            s.stop = true;
            s.pending = None;
        }
        cv.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How often a stroke in progress is sent to Live.
pub const STROKE_INTERVAL: Duration = Duration::from_millis(150);

/// A painting session's Live: when to ask for a rendition, the held code,
/// the worker and the newest frame.
pub struct LiveSession {
    /// Whether Live is on.
    pub on: bool,
    /// The seed of the held latent code.
    pub seed: u64,
    z: Option<Vec<f32>>,
    worker: Option<LiveWorker>,
    /// The newest frame.
    pub frame: Option<LiveFrame>,
    /// Frames received since Live started (tests, the window's counter).
    pub frames: u64,
    asked: Option<(u64, u32)>,
    last_ask: Option<Instant>,
    /// Latencies of the frames received, newest last (at most 64).
    pub latencies: Vec<Duration>,
    /// Makes the renderer (tests put a fake model here).
    pub make_render: fn() -> Box<dyn Render>,
    /// Called after each frame arrives (the window repaints).
    pub wake: Arc<dyn Fn() + Send + Sync>,
}

impl Default for LiveSession {
    fn default() -> Self {
        Self {
            on: false,
            seed: 1,
            z: None,
            worker: None,
            frame: None,
            frames: 0,
            asked: None,
            last_ask: None,
            latencies: Vec::new(),
            make_render: || Box::new(GanRender::default()),
            wake: Arc::new(|| {}),
        }
    }
}

/// What Live reads from the app each frame.
pub struct Tick<'a> {
    /// The document.
    pub doc: &'a Document,
    /// The selection (Live renders only it, with context).
    pub selection: Option<CanvasRect>,
    /// Whether a stroke is being painted.
    pub stroking: bool,
    /// The steering the latent code is drawn from.
    pub steering: &'a LatentSteering,
    /// Strength, model and Keep lines, as Vary uses them.
    pub strength: f32,
    /// Weights (None: the embedded default).
    pub model: Option<std::path::PathBuf>,
    /// Keep thin strokes as drawn.
    pub keep_lines: bool,
    /// The window is minimised: Live pauses.
    pub hidden: bool,
}

/// What a tick did.
#[derive(Debug, Default)]
pub struct Ticked {
    /// A request failed: what to tell the artist.
    pub error: Option<String>,
    /// Call again after this long (a stroke's next request is due).
    pub again_in: Option<Duration>,
    /// A new rendition was asked for.
    pub asked: bool,
}

impl LiveSession {
    /// Turns Live on or off (off stops the worker; the last frame stays
    /// until Live is turned on again).
    pub fn toggle(&mut self) {
        self.on = !self.on;
        if !self.on {
            // Stopping waits for the rendition in progress: off the caller's
            // thread, so the window never waits for it.
            if let Some(w) = self.worker.take() {
                let _ = std::thread::Builder::new()
                    .name("live-stop".into())
                    .spawn(move || drop(w));
            }
            self.asked = None;
        }
    }

    /// A new latent code: the next rendition looks different everywhere.
    pub fn new_seed(&mut self) {
        self.seed = self.seed.wrapping_add(1);
        self.z = None;
        self.asked = None;
    }

    /// Whether the newest frame shows the canvas as it is now.
    pub fn is_current(&self, doc: &Document, selection: Option<CanvasRect>) -> bool {
        self.frame
            .as_ref()
            .is_some_and(|f| f.state == canvas_state(doc, selection))
    }

    /// The held latent code (drawn from the steering when there is none).
    pub fn code(&mut self, steering: &LatentSteering) -> Vec<f32> {
        self.z
            .get_or_insert_with(|| steering.sample(1, self.seed).remove(0))
            .clone()
    }

    /// Takes in finished frames and asks for a new one when the canvas
    /// changed. Called once per UI frame (the benchmark calls it as often).
    pub fn tick(&mut self, t: Tick) -> Ticked {
        let mut done = Ticked::default();
        if let Some(w) = &self.worker {
            for r in w.reports() {
                match r {
                    LiveReport::Frame(f) => {
                        self.latencies.push(f.latency);
                        if self.latencies.len() > 64 {
                            self.latencies.remove(0);
                        }
                        self.frames += 1;
                        self.frame = Some(*f);
                    }
                    LiveReport::Failed(e) => done.error = Some(e),
                }
            }
        }
        if !self.on || t.hidden {
            return done;
        }
        let state = canvas_state(t.doc, t.selection);
        let side = if t.stroking { STROKE_SIDE } else { LIVE_SIDE };
        if self.asked == Some((state, side))
            || (t.stroking && self.asked.map(|a| a.0) == Some(state))
        {
            return done;
        }
        // During a stroke, at a steady rate: the brush never waits for Live.
        if t.stroking
            && self
                .last_ask
                .is_some_and(|at| at.elapsed() < STROKE_INTERVAL)
        {
            done.again_in = Some(STROKE_INTERVAL);
            return done;
        }
        if self.worker.is_none() {
            let wake = self.wake.clone();
            match LiveWorker::spawn((self.make_render)(), move || wake()) {
                Ok(w) => self.worker = Some(w),
                Err(e) => {
                    done.error = Some(format!("Live: cannot start its worker: {e}"));
                    return done;
                }
            }
        }
        let z = self.code(t.steering);
        let request = LiveRequest {
            state,
            doc: t.doc.clone(),
            selection: t.selection,
            z,
            seed: self.seed,
            strength: t.strength,
            model: t.model,
            side,
            keep_lines: t.keep_lines,
            asked: Instant::now(),
        };
        if let Some(w) = &self.worker {
            w.submit(request);
        }
        self.asked = Some((state, side));
        self.last_ask = Some(Instant::now());
        done.asked = true;
        done
    }

    /// Requests replaced before the worker took them.
    pub fn dropped(&self) -> u64 {
        self.worker.as_ref().map_or(0, LiveWorker::dropped)
    }

    /// Whether a rendition is being made or waits to be.
    pub fn busy(&self) -> bool {
        self.worker.as_ref().is_some_and(LiveWorker::busy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders a flat colour from the request's state after a delay.
    struct Slow(Duration);

    impl Render for Slow {
        fn latent_dim(&mut self, _: &Option<PathBuf>) -> Result<usize, String> {
            Ok(4)
        }
        fn render(&mut self, req: &LiveRequest) -> Result<LiveFrame, String> {
            std::thread::sleep(self.0);
            let rect = req.doc.bounds();
            Ok(LiveFrame {
                state: req.state,
                image: RgbImage::new(rect.w, rect.h),
                input: RgbImage::new(1, 1),
                rect,
                selection: None,
                alpha: None,
                model: "fake".into(),
                z: req.z.clone(),
                seed: req.seed,
                strength: req.strength,
                critic: 0.0,
                side: req.side,
                latency: req.asked.elapsed(),
            })
        }
    }

    fn request(doc: &Document, state: u64) -> LiveRequest {
        LiveRequest {
            state,
            doc: doc.clone(),
            selection: None,
            z: vec![0.0; 4],
            seed: 1,
            strength: 0.5,
            model: None,
            side: 64,
            keep_lines: false,
            asked: Instant::now(),
        }
    }

    #[test]
    fn only_the_newest_request_is_rendered_while_the_worker_is_busy() {
        let doc = Document::new(32, 32, [255; 4]).unwrap();
        let w = LiveWorker::spawn(Box::new(Slow(Duration::from_millis(150))), || {}).unwrap();
        w.submit(request(&doc, 1));
        std::thread::sleep(Duration::from_millis(30));
        // The worker is busy with 1; 2, 3 and 4 queue up and only 4 stays.
        for s in 2..=4 {
            w.submit(request(&doc, s));
        }
        let start = Instant::now();
        let mut states = Vec::new();
        while states.len() < 2 && start.elapsed() < Duration::from_secs(5) {
            for r in w.reports() {
                if let LiveReport::Frame(f) = r {
                    states.push(f.state);
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(200));
        assert!(w.reports().is_empty(), "nothing else is rendered");
        assert_eq!(states, vec![1, 4]);
        assert_eq!(w.dropped(), 2);
        assert!(!w.busy());
    }

    #[test]
    fn the_fingerprint_follows_pixels_props_and_selection() {
        let mut doc = Document::new(100, 80, [255; 4]).unwrap();
        let a = canvas_state(&doc, None);
        assert_eq!(
            a,
            canvas_state(&doc.clone(), None),
            "a snapshot is the same state"
        );
        let id = doc.active();
        doc.grid_mut(id)
            .unwrap()
            .tile_mut(crate::document::TileCoord { tx: 1, ty: 0 });
        let b = canvas_state(&doc, None);
        assert_ne!(a, b, "a written tile changes it");
        let mut props = doc.layer(id).unwrap().props.clone();
        props.opacity = 0.5;
        doc.set_props(id, props).unwrap();
        let c = canvas_state(&doc, None);
        assert_ne!(b, c, "layer properties change it");
        assert_ne!(c, canvas_state(&doc, Some(CanvasRect::new(0, 0, 10, 10))));
    }
}
