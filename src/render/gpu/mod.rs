//! The wgpu compositor: layers blended in WGSL, drawn through an egui_wgpu
//! paint callback, with only dirty tiles uploaded.
//!
//! - [`GpuCompositor`] is the long-lived renderer (pipelines, sparse tile
//!   atlas, per-layer tile index); [`install`] stores one in egui_wgpu's
//!   callback resources at start-up.
//! - [`CanvasPaintCallback`] is the per-frame draw data: a cheap clone of the
//!   document plus the view. Its `prepare` syncs dirty tiles and writes the
//!   uniforms, and redraws the part of the cached view that changed
//!   (`view_cache`); its `paint` copies the cached view into the canvas rect.
//! - [`CanvasView`] / [`ViewTransform`] hold zoom, pan and rotation and map
//!   points both ways with the same math as the shader, so the UI maps the
//!   pointer exactly as pixels are drawn.
//! - [`ThumbnailPaintCallback`] draws a candidate thumbnail with a plain
//!   texel copy (`shaders/thumbnail.wgsl`), cheaper than an egui image.
//! - [`composite_offscreen`] runs the same shader at 1:1 into a texture and
//!   reads it back; tests hold it to [`crate::render::cpu::composite_rect`]
//!   within 1/255 per channel.
//!
//! Shaders live in `shaders/composite.wgsl` (bindings, blend math, offscreen
//! entry point), `shaders/canvas.wgsl` (view, checkerboard, background),
//! `shaders/view_cache.wgsl` (the copy to the screen) and
//! `shaders/fullscreen.wgsl` (the vertex stage they share).
mod atlas;
mod compositor;
mod fullscreen;
mod offscreen;
mod thumbnails;
mod tile_index;
mod view;
mod view_cache;

use eframe::egui;
use eframe::egui_wgpu::{self, wgpu};

pub use compositor::{CanvasStyle, DisplayTarget, GpuCompositor, MAX_GPU_LAYERS, SyncStats};
pub use thumbnails::{MAX_THUMBNAILS, ThumbnailPaintCallback, ThumbnailRenderer};
pub use view::{CanvasView, MAX_ZOOM, MIN_ZOOM, ViewTransform};
pub use view_cache::{PxRect, ViewUpdate};

use crate::document::{CanvasRect, Document};

/// Why GPU compositing failed.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// No adapter at all, not even a software one.
    #[error(
        "no GPU adapter found ({0}); for headless rendering install Mesa's software drivers: \
         apt-get install mesa-vulkan-drivers libvulkan1 (Vulkan/lavapipe) or libegl1 libgl1-mesa-dri (GL/llvmpipe)"
    )]
    NoAdapter(#[source] wgpu::RequestAdapterError),
    /// The adapter refused to make a device.
    #[error("could not create a GPU device: {0}")]
    NoDevice(#[from] wgpu::RequestDeviceError),
    /// The atlas reached the device's texture array limit.
    #[error("the GPU tile atlas is full ({tiles} tiles)")]
    AtlasFull {
        /// Tiles the atlas holds at its largest.
        tiles: u32,
    },
    /// More layers than the compositor can index.
    #[error("{count} layers, the GPU compositor shows at most {max}")]
    TooManyLayers {
        /// Layers in the document.
        count: usize,
        /// The limit on this device.
        max: usize,
    },
    /// Waiting for the GPU failed (device lost or timed out).
    #[error("waiting for the GPU failed: {0}")]
    Poll(#[from] wgpu::PollError),
    /// Reading the composite back failed.
    #[error("reading the composite back failed: {0}")]
    Readback(#[from] wgpu::BufferAsyncError),
    /// A broken invariant in this module.
    #[error("GPU compositor bug: {0}")]
    Internal(&'static str),
}

/// A device and queue without a window (tests, CLI export), from whichever
/// adapter wgpu finds first (`WGPU_BACKEND` and friends are honoured); on a
/// machine without a GPU that is Mesa's lavapipe or llvmpipe.
pub fn headless_device() -> Result<(wgpu::Device, wgpu::Queue), GpuError> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter =
        pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))
            .map_err(GpuError::NoAdapter)?;
    // The lowest limits eframe may give the app (its GL fallback), with the
    // adapter's texture sizes, so that tests prove the compositor within them.
    let limits = wgpu::Limits::downlevel_webgl2_defaults().using_resolution(adapter.limits());
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("atelier headless"),
        required_limits: limits,
        ..Default::default()
    }))?;
    Ok((device, queue))
}

/// Composites `rect` of `doc` (clipped to the document) on the GPU at 1:1;
/// premultiplied RGBA8 rows like [`crate::render::cpu::composite_rect`].
/// Builds a throw-away compositor: for repeated use keep a
/// [`GpuCompositor`] and call its `composite_offscreen`.
pub fn composite_offscreen(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    doc: &Document,
    rect: CanvasRect,
) -> Result<Vec<u8>, GpuError> {
    let mut compositor =
        GpuCompositor::new(device, DisplayTarget::new(wgpu::TextureFormat::Rgba8Unorm));
    compositor.composite_offscreen(device, queue, doc, rect)
}

/// Gives Mesa's software rasteriser (llvmpipe / lavapipe, what renders the
/// window on a machine without a GPU) two threads per core, unless
/// `LP_NUM_THREADS` is set already. Its default of one per core leaves cores
/// idle whenever the UI thread or the X server takes one: measured with
/// `scripts/bench-ui-during-refine.sh` on 2 cores, frame time p95 while
/// painting during a refinement went from 38–41 to 33–38 ms (BENCHMARKS.md).
/// GPU drivers ignore the variable.
///
/// # Safety
/// Sets an environment variable: call at the start of `main`, before any
/// other thread exists.
pub unsafe fn tune_software_rasteriser() {
    const VAR: &str = "LP_NUM_THREADS";
    if std::env::var_os(VAR).is_some() {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    // SAFETY: the caller guarantees no other thread reads the environment.
    unsafe { std::env::set_var(VAR, (2 * cores).min(16).to_string()) };
}

/// Creates the compositor for eframe's render state and stores it in the
/// callback resources (once, at start-up: `cc.wgpu_render_state`). Assumes
/// eframe's defaults of no MSAA and no depth buffer; otherwise use
/// [`install_with`].
pub fn install(render_state: &egui_wgpu::RenderState) {
    install_with(render_state, DisplayTarget::new(render_state.target_format));
}

/// [`install`] for a render pass with MSAA or a depth buffer.
pub fn install_with(render_state: &egui_wgpu::RenderState, target: DisplayTarget) {
    let mut compositor = GpuCompositor::new(&render_state.device, target);
    if render_state.adapter.get_info().device_type == wgpu::DeviceType::Cpu {
        // Software rendering (Mesa lavapipe/llvmpipe): a 4×4 box filter made
        // every zoomed-out frame cost ~200 ms on 2 cores; 2×2 takes ~100 ms.
        compositor.set_max_box_samples(2);
    }
    let thumbnails = ThumbnailRenderer::new(&render_state.device, target);
    let mut renderer = render_state.renderer.write();
    renderer.callback_resources.insert(compositor);
    renderer.callback_resources.insert(thumbnails);
}

/// Per-frame draw data for the canvas widget.
///
/// ```ignore
/// let (rect, response) = ui.allocate_exact_size(ui.available_size(), egui::Sense::click_and_drag());
/// ui.painter().add(CanvasPaintCallback::new(doc.clone(), view, rect).into_paint_callback());
/// // Pointer → canvas, the same mapping the shader uses:
/// let t = view.transform([rect.center().x, rect.center().y], [doc.width() as f32, doc.height() as f32]);
/// let pos_in_canvas = t.canvas_from_screen([pointer.x, pointer.y]);
/// ```
#[derive(Clone, Debug)]
pub struct CanvasPaintCallback {
    /// The document to show (a cheap clone: tiles are shared).
    pub doc: Document,
    /// Screen ↔ canvas mapping for this frame.
    pub transform: ViewTransform,
    /// Background and checkerboard colours.
    pub style: CanvasStyle,
    /// Where the canvas widget is, in screen points.
    pub rect: egui::Rect,
}

impl CanvasPaintCallback {
    /// Draw data for `doc` seen through `view` in the widget `rect`.
    pub fn new(doc: Document, view: CanvasView, rect: egui::Rect) -> Self {
        let size = [doc.width() as f32, doc.height() as f32];
        let transform = view.transform([rect.center().x, rect.center().y], size);
        Self::with_transform(doc, transform, rect)
    }

    /// Draw data with a transform the UI resolved itself (e.g. from its own
    /// view state through [`ViewTransform::from_origin`]).
    pub fn with_transform(doc: Document, transform: ViewTransform, rect: egui::Rect) -> Self {
        Self {
            doc,
            transform,
            style: CanvasStyle::default(),
            rect,
        }
    }

    /// Wraps it for `egui::Painter::add`.
    pub fn into_paint_callback(self) -> egui::PaintCallback {
        let rect = self.rect;
        egui_wgpu::Callback::new_paint_callback(rect, self)
    }
}

impl egui_wgpu::CallbackTrait for CanvasPaintCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        screen_descriptor: &egui_wgpu::ScreenDescriptor,
        egui_encoder: &mut wgpu::CommandEncoder,
        callback_resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        let Some(compositor) = callback_resources.get_mut::<GpuCompositor>() else {
            // A start-up bug, not a per-frame event: say so once.
            static MISSING: std::sync::Once = std::sync::Once::new();
            MISSING.call_once(|| {
                tracing::error!(
                    "canvas callback without a GpuCompositor: call render::gpu::install at start-up"
                );
            });
            return Vec::new();
        };
        if let Err(e) = compositor.sync(device, queue, &self.doc) {
            // Logged here, once per distinct error; the rest of the canvas still draws.
            compositor.report(e);
        }
        // The widget in physical pixels, rounded exactly as egui_wgpu rounds
        // the viewport it sets for `paint`.
        let ppp = screen_descriptor.pixels_per_point;
        let screen = screen_descriptor.size_in_pixels;
        let v = egui::epaint::ViewportInPixels::from_points(&self.rect, ppp, screen);
        let viewport = PxRect::new(
            v.left_px.max(0) as u32,
            v.top_px.max(0) as u32,
            v.width_px.max(0) as u32,
            v.height_px.max(0) as u32,
        );
        compositor.update_view(
            device,
            queue,
            egui_encoder,
            &self.transform,
            ppp,
            &self.style,
            screen,
            viewport,
        );
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        render_pass: &mut wgpu::RenderPass<'static>,
        callback_resources: &egui_wgpu::CallbackResources,
    ) {
        if let Some(compositor) = callback_resources.get::<GpuCompositor>() {
            compositor.paint(render_pass);
        }
    }
}
