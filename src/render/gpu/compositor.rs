//! The long-lived GPU compositor: pipelines, uniforms, and the dirty-tile sync
//! that keeps the sparse tile atlas (`atlas`) and the per-layer tile index
//! (`tile_index`) equal to a document. The sync also records which cells
//! changed, so that the cached canvas view (`view_cache`) is redrawn only there.
//! The offscreen composite that reads the result back is in `offscreen`.
//!
//! Memory is proportional to the painted tiles, not to the canvas: a cell
//! costs 4 bytes of index per layer, and only cells holding a non-transparent
//! tile take an atlas slot. Identical `Arc<Tile>`s (a background fill shares
//! one tile across every cell; duplicated layers share all of theirs) take one
//! slot between them. To make that safe the atlas keeps an `Arc` of every
//! stored tile, so an address it keys on cannot be reused by another tile;
//! the price is that the document's next write to a displayed tile copies it
//! (16 KiB) instead of writing in place, once per frame at most.
use std::collections::HashMap;
use std::num::NonZeroU64;

use bytemuck::{Pod, Zeroable};
use eframe::egui_wgpu::wgpu;

use super::GpuError;
use super::atlas::Atlas;
use super::offscreen::read_texture;
use super::tile_index::TileIndex;
use super::view::ViewTransform;
use super::view_cache::{Changes, PxRect, ViewCache, ViewKey, ViewUpdate, screen_rect_of_cells};
use crate::document::{Document, LayerId, TILE_SIZE, TileCoord};

use super::fullscreen::fullscreen_pipeline;

/// Most visible layers one composite handles (size of the layer uniform array,
/// `MAX_LAYERS` in `shaders/composite.wgsl`).
pub const MAX_GPU_LAYERS: usize = 256;

/// The shader source: the fullscreen vertex stage, shared compositing code
/// and the canvas view.
const SHADER_SOURCE: &str = concat!(
    include_str!("../../../shaders/fullscreen.wgsl"),
    "\n",
    include_str!("../../../shaders/composite.wgsl"),
    "\n",
    include_str!("../../../shaders/canvas.wgsl")
);

/// Mirrors `struct Globals` in `shaders/composite.wgsl` (112 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(super) struct Globals {
    linear: [f32; 4],
    translation_ppp_checker: [f32; 4],
    doc_size: [u32; 2],
    tiles_x: u32,
    layer_count: u32,
    page_tiles: u32,
    samples: u32,
    output_linear: u32,
    _pad: u32,
    background: [f32; 4],
    checker_light: [f32; 4],
    checker_dark: [f32; 4],
}

/// Mirrors `struct LayerParams` in `shaders/composite.wgsl` (16 bytes, the
/// uniform array stride).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
struct LayerParams {
    blend: u32,
    opacity: f32,
    region: u32,
    _pad: u32,
}

const _: () = assert!(size_of::<Globals>() == 112);
const _: () = assert!(size_of::<LayerParams>() == 16);

/// Colours of the canvas view around and behind the document (sRGB-encoded,
/// 0..1, as egui's `Color32` values divided by 255).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CanvasStyle {
    /// Outside the canvas.
    pub background: [f32; 3],
    /// Light checkerboard squares behind transparency.
    pub checker_light: [f32; 3],
    /// Dark checkerboard squares.
    pub checker_dark: [f32; 3],
    /// Side of a checkerboard square in screen points.
    pub checker_size: f32,
}

impl Default for CanvasStyle {
    fn default() -> Self {
        Self {
            background: [0.16, 0.16, 0.17],
            checker_light: [0.80, 0.80, 0.80],
            checker_dark: [0.62, 0.62, 0.62],
            checker_size: 8.0,
        }
    }
}

/// What the render pass the canvas is drawn into looks like; the display
/// pipeline must match it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisplayTarget {
    /// Colour format (egui_wgpu's `RenderState::target_format`).
    pub format: wgpu::TextureFormat,
    /// MSAA sample count of the pass (eframe's `NativeOptions::multisampling`, at least 1).
    pub msaa_samples: u32,
    /// Depth/stencil format of the pass, if any (eframe's `depth_buffer`).
    pub depth_stencil_format: Option<wgpu::TextureFormat>,
}

impl DisplayTarget {
    /// eframe's defaults: no MSAA, no depth buffer.
    pub fn new(format: wgpu::TextureFormat) -> Self {
        Self {
            format,
            msaa_samples: 1,
            depth_stencil_format: None,
        }
    }
}

/// Upload counters, for tests and the debug overlay.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncStats {
    /// Tiles written to the atlas by the last [`GpuCompositor::sync`].
    pub last_uploaded: u64,
    /// Tiles written to the atlas since the compositor was made.
    pub total_uploaded: u64,
    /// Atlas slots holding a tile now.
    pub slots_in_use: u32,
    /// Atlas slots available without growing.
    pub slot_capacity: u32,
}

/// Identifies the textures a bind group was made with: the atlas only ever
/// grows (so its page count names it) and the index texture has a generation.
pub(super) type BindKey = (u32, u64);

/// What the compositor last uploaded for one layer.
struct LayerCache {
    region: u32,
    /// Revision uploaded per cell (0 = never written, as `TileGrid::revision`).
    revisions: Vec<u64>,
    /// Index texel per cell: 0 = empty, else slot + 1.
    entries: Vec<u32>,
    /// Seen in the current sync (unseen layers are freed after it).
    seen: bool,
}

/// The long-lived GPU side of the canvas: pipelines, tile atlas, tile index,
/// uniforms. Make one per device ([`super::install`] puts it in egui_wgpu's
/// callback resources) and [`sync`](Self::sync) it with the document each
/// frame; only tiles whose revision changed are uploaded.
///
/// The uniforms are shared: one canvas view per frame (the last prepared
/// callback wins).
pub struct GpuCompositor {
    layout: wgpu::BindGroupLayout,
    /// The canvas view (`fs_canvas`), drawn into the view cache.
    view_pipeline: wgpu::RenderPipeline,
    view_cache: ViewCache,
    /// What changed since the view cache was last drawn.
    changes: Changes,
    /// The layer parameters last written, to notice stack changes.
    params: Vec<LayerParams>,
    /// `fs_composite` into Rgba8Unorm, for [`composite_offscreen`](Self::composite_offscreen).
    pub(super) offscreen_pipeline: wgpu::RenderPipeline,
    /// The [`Globals`] uniform, shared by the view and the offscreen composite.
    pub(super) globals: wgpu::Buffer,
    layer_params: wgpu::Buffer,
    atlas: Atlas,
    index: TileIndex,
    /// Rebuilt when the atlas or index texture is replaced (see [`BindKey`]).
    pub(super) bind_group: Option<(BindKey, wgpu::BindGroup)>,
    /// Bumped whenever the index texture is replaced.
    index_generation: u64,
    layers: HashMap<LayerId, LayerCache>,
    doc_size: [u32; 2],
    layer_count: u32,
    output_linear: bool,
    stats: SyncStats,
    /// The last error logged by [`report`](Self::report), so that a failure
    /// that repeats every frame is logged once.
    last_error: Option<String>,
    /// Largest box filter side when zoomed out (see [`Self::set_max_box_samples`]).
    max_box_samples: u32,
}

impl std::fmt::Debug for GpuCompositor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuCompositor")
            .field("doc_size", &self.doc_size)
            .field("layers", &self.layers.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl GpuCompositor {
    /// Creates the pipelines and an empty atlas. `target` describes the
    /// render pass the canvas view is drawn into.
    pub fn new(device: &wgpu::Device, target: DisplayTarget) -> Self {
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("atelier fullscreen.wgsl + composite.wgsl + canvas.wgsl"),
            source: wgpu::ShaderSource::Wgsl(SHADER_SOURCE.into()),
        });
        let uniform = |binding, size: usize| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: NonZeroU64::new(size as u64),
            },
            count: None,
        };
        let texture = |binding, sample_type| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Texture {
                sample_type,
                view_dimension: wgpu::TextureViewDimension::D2Array,
                multisampled: false,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("atelier compositor"),
            entries: &[
                uniform(0, size_of::<Globals>()),
                uniform(1, size_of::<LayerParams>() * MAX_GPU_LAYERS),
                texture(2, wgpu::TextureSampleType::Float { filterable: false }),
                texture(3, wgpu::TextureSampleType::Uint),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("atelier compositor"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = |label, entry, format, samples, depth| {
            fullscreen_pipeline(
                device,
                &pipeline_layout,
                &shader,
                label,
                entry,
                format,
                samples,
                depth,
            )
        };
        // The view is drawn into the cache texture (display format, one
        // sample, no depth); the cache's own pipeline matches egui's pass.
        let view_pipeline = pipeline("atelier canvas view", "fs_canvas", target.format, 1, None);
        let offscreen_pipeline = pipeline(
            "atelier offscreen composite",
            "fs_composite",
            wgpu::TextureFormat::Rgba8Unorm,
            1,
            None,
        );
        let buffer = |label, size: usize| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: size as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        };
        Self {
            layout,
            view_pipeline,
            view_cache: ViewCache::new(device, target),
            changes: Changes::default(),
            params: Vec::new(),
            offscreen_pipeline,
            globals: buffer("atelier compositor globals", size_of::<Globals>()),
            layer_params: buffer(
                "atelier layer params",
                size_of::<LayerParams>() * MAX_GPU_LAYERS,
            ),
            atlas: Atlas::new(device),
            index: TileIndex::new(device, 1, 1),
            bind_group: None,
            index_generation: 0,
            layers: HashMap::new(),
            doc_size: [0, 0],
            layer_count: 0,
            output_linear: target.format.is_srgb(),
            stats: SyncStats::default(),
            last_error: None,
            max_box_samples: 4,
        }
    }

    /// Caps the zoomed-out box filter at `n`×`n` samples per fragment (1–4,
    /// default 4). A software rasteriser pays for every sample on the CPU
    /// the artist paints with, so the app uses 2 there.
    pub fn set_max_box_samples(&mut self, n: u32) {
        self.max_box_samples = n.clamp(1, 4);
    }

    /// Logs a sync error from the paint callback, once per distinct message.
    pub fn report(&mut self, error: GpuError) {
        let message = error.to_string();
        if self.last_error.as_deref() != Some(message.as_str()) {
            tracing::warn!("canvas compositor: {message}");
            self.last_error = Some(message);
        }
    }

    /// Upload counters.
    pub fn stats(&self) -> SyncStats {
        self.stats
    }

    /// Makes the GPU copy equal to `doc`: uploads tiles whose revision
    /// changed since the last sync, frees those of removed cells and layers,
    /// and writes the layer parameters. Cheap when nothing changed (one
    /// revision compare per cell and layer).
    pub fn sync(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        doc: &Document,
    ) -> Result<(), GpuError> {
        let max_regions = self.index.max_regions as usize;
        if doc.layers().len() > max_regions {
            return Err(GpuError::TooManyLayers {
                count: doc.layers().len(),
                max: max_regions,
            });
        }
        if self.doc_size != [doc.width(), doc.height()] {
            self.reset(device, doc);
        }
        self.stats.last_uploaded = 0;
        for cache in self.layers.values_mut() {
            cache.seen = false;
        }
        let mut result = Ok(());
        for layer in doc.layers() {
            if let Err(e) = self.sync_layer(device, queue, layer.id, &layer.grid) {
                // Keep going: the other layers still show; the failed cells
                // keep their old revision and are retried next frame.
                result = Err(e);
            }
        }
        // Free what the document no longer has.
        let gone: Vec<LayerId> = self
            .layers
            .iter()
            .filter(|(_, c)| !c.seen)
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            if let Some(cache) = self.layers.remove(&id) {
                for &e in &cache.entries {
                    if e != 0 {
                        self.atlas.release(e - 1);
                    }
                }
                self.index.release(cache.region);
            }
        }
        // Layer parameters, bottom to top, skipping what cannot show (as the
        // CPU reference does).
        let params: Vec<LayerParams> = doc
            .layers()
            .iter()
            .filter(|l| l.props.visible && l.props.opacity > 0.0)
            .filter_map(|l| {
                self.layers.get(&l.id).map(|c| LayerParams {
                    blend: l.props.blend.shader_index(),
                    opacity: l.props.opacity.clamp(0.0, 1.0),
                    region: c.region,
                    _pad: 0,
                })
            })
            .take(MAX_GPU_LAYERS)
            .collect();
        self.layer_count = params.len() as u32;
        if params != self.params {
            if !params.is_empty() {
                queue.write_buffer(&self.layer_params, 0, bytemuck::cast_slice(&params));
            }
            self.changes.all = true;
            self.params = params;
        }
        self.stats.slots_in_use = self.atlas.slots_in_use();
        self.stats.slot_capacity = self.atlas.capacity();
        result
    }

    /// Forgets everything (new document size): a fresh index texture.
    fn reset(&mut self, device: &wgpu::Device, doc: &Document) {
        let cells: Vec<LayerCache> = self.layers.drain().map(|(_, c)| c).collect();
        for cache in cells {
            for &e in &cache.entries {
                if e != 0 {
                    self.atlas.release(e - 1);
                }
            }
        }
        let tiles_x = doc.width().div_ceil(TILE_SIZE);
        let tiles_y = doc.height().div_ceil(TILE_SIZE);
        self.index = TileIndex::new(device, tiles_x, tiles_y);
        self.doc_size = [doc.width(), doc.height()];
        self.index_generation += 1;
        self.changes.all = true;
    }

    fn sync_layer(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        id: LayerId,
        grid: &crate::document::TileGrid,
    ) -> Result<(), GpuError> {
        let (tiles_x, tiles_y) = (self.index.tiles_x, self.index.tiles_y);
        let cells = (tiles_x * tiles_y) as usize;
        if !self.layers.contains_key(&id) {
            let region = match self.index.allocate() {
                Some(r) => r,
                None => {
                    self.grow_index(device, queue)?;
                    self.index.allocate().ok_or(GpuError::TooManyLayers {
                        count: self.layers.len() + 1,
                        max: self.index.max_regions as usize,
                    })?
                }
            };
            let cache = LayerCache {
                region,
                revisions: vec![0; cells],
                entries: vec![0; cells],
                seen: true,
            };
            // A reused region holds a removed layer's entries: clear it.
            self.index
                .write_rows(queue, region, &cache.entries, 0, tiles_y);
            self.layers.insert(id, cache);
        }
        let Some(cache) = self.layers.get_mut(&id) else {
            return Ok(());
        };
        cache.seen = true;
        let (mut y0, mut y1) = (u32::MAX, 0);
        let mut result = Ok(());
        for ty in 0..tiles_y {
            for tx in 0..tiles_x {
                let c = TileCoord::new(tx, ty);
                let i = (ty * tiles_x + tx) as usize;
                let rev = grid.revision(c);
                if rev == cache.revisions[i] {
                    continue;
                }
                // Acquire before releasing the old entry, so a tile that comes
                // back (undo) while still stored is not uploaded again.
                let new_entry = match self.atlas.entry_for(device, queue, grid.tile(c)) {
                    Ok((entry, uploaded)) => {
                        if uploaded {
                            self.stats.last_uploaded += 1;
                            self.stats.total_uploaded += 1;
                        }
                        entry
                    }
                    Err(e) => {
                        result = Err(e);
                        continue;
                    }
                };
                if cache.entries[i] != 0 {
                    self.atlas.release(cache.entries[i] - 1);
                }
                self.changes.cell(tx, ty);
                cache.entries[i] = new_entry;
                cache.revisions[i] = rev;
                y0 = y0.min(ty);
                y1 = y1.max(ty + 1);
            }
        }
        if y0 < y1 {
            self.index
                .write_rows(queue, cache.region, &cache.entries, y0, y1);
        }
        result
    }

    /// Doubles the index regions; rewrites every live layer's entries.
    fn grow_index(&mut self, device: &wgpu::Device, queue: &wgpu::Queue) -> Result<(), GpuError> {
        if !self.index.grow(device) {
            return Err(GpuError::TooManyLayers {
                count: self.layers.len() + 1,
                max: self.index.max_regions as usize,
            });
        }
        for cache in self.layers.values() {
            self.index
                .write_rows(queue, cache.region, &cache.entries, 0, self.index.tiles_y);
        }
        self.index_generation += 1;
        Ok(())
    }
}

impl GpuCompositor {
    /// Brings the cached canvas view up to date for a frame and records the
    /// drawing into `encoder`; [`paint`](Self::paint) then copies it to the
    /// screen. `transform` maps screen points to canvas pixels,
    /// `pixels_per_point` turns fragment positions (physical pixels) into
    /// points, `screen` is the render target's size and `viewport` the canvas
    /// widget on it, both in physical pixels. Call after [`sync`](Self::sync).
    ///
    /// Draws all of the widget when the view, the layer stack, the document
    /// size or the target changed, else only the screen area of tiles that
    /// changed since the last update, else nothing.
    #[allow(clippy::too_many_arguments)]
    pub fn update_view(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        transform: &ViewTransform,
        pixels_per_point: f32,
        style: &CanvasStyle,
        screen: [u32; 2],
        viewport: PxRect,
    ) -> ViewUpdate {
        let ppp = if pixels_per_point.is_finite() && pixels_per_point > 0.0 {
            pixels_per_point
        } else {
            1.0
        };
        // Canvas pixels per physical pixel decides the box filter: up to 4×4
        // samples, beyond that the view is small enough not to matter.
        let pixels_per_fragment = 1.0 / (transform.zoom() * ppp);
        let samples = (pixels_per_fragment.ceil().clamp(1.0, 4.0) as u32).min(self.max_box_samples);
        let globals = self.globals_for(transform, ppp, samples, style);
        self.ensure_bind_group(device);
        let viewport = viewport.intersect(&PxRect::new(0, 0, screen[0], screen[1]));
        let key = ViewKey {
            globals: bytemuck::bytes_of(&globals).to_vec(),
            viewport,
            screen,
        };
        let changes = std::mem::take(&mut self.changes);
        let doc_size = self.doc_size;
        let update = self.view_cache.plan(device, key, changes, |cells| {
            screen_rect_of_cells(cells, doc_size, transform, ppp)
        });
        let scissor = match update {
            ViewUpdate::Unchanged => return update,
            ViewUpdate::Full => viewport,
            ViewUpdate::Partial(r) => r,
        };
        if scissor.is_empty() {
            return update;
        }
        let (Some(target), Some((_, bind_group))) =
            (self.view_cache.target_view(), &self.bind_group)
        else {
            // Only a bug reaches this: plan() made the target, and
            // ensure_bind_group() the bind group.
            self.view_cache.invalidate();
            return ViewUpdate::Unchanged;
        };
        // The globals buffer is shared with the offscreen composite, so it is
        // written for every draw, not only when the view changed.
        queue.write_buffer(&self.globals, 0, bytemuck::bytes_of(&globals));
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("atelier canvas view cache"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: target,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Load,
                    store: wgpu::StoreOp::Store,
                },
            })],
            ..Default::default()
        });
        pass.set_viewport(
            viewport.x as f32,
            viewport.y as f32,
            viewport.w as f32,
            viewport.h as f32,
            0.0,
            1.0,
        );
        pass.set_scissor_rect(scissor.x, scissor.y, scissor.w, scissor.h);
        pass.set_pipeline(&self.view_pipeline);
        pass.set_bind_group(0, bind_group, &[]);
        pass.draw(0..3, 0..1);
        update
    }

    /// Copies the cached canvas view into `render_pass` (viewport and scissor
    /// as egui_wgpu set them for the paint callback). Does nothing before the
    /// first [`update_view`](Self::update_view).
    pub fn paint(&self, render_pass: &mut wgpu::RenderPass<'_>) {
        self.view_cache.paint(render_pass);
    }

    /// Reads the cached view back (RGBA rows of the target's width, in the
    /// display format's byte order); for tests. `None` before the first
    /// [`update_view`](Self::update_view).
    pub fn read_view_cache(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
    ) -> Option<Result<Vec<u8>, GpuError>> {
        let texture = self.view_cache.texture()?;
        Some(read_texture(device, queue, texture))
    }

    /// The uniforms for drawing through `transform` at `ppp` physical pixels per
    /// point with a `samples`×`samples` box filter.
    pub(super) fn globals_for(
        &self,
        transform: &ViewTransform,
        ppp: f32,
        samples: u32,
        style: &CanvasStyle,
    ) -> Globals {
        let (linear, t) = transform.shader_parts();
        let rgba = |c: [f32; 3]| [c[0], c[1], c[2], 1.0];
        Globals {
            linear,
            translation_ppp_checker: [t[0], t[1], ppp, style.checker_size.max(1.0)],
            doc_size: self.doc_size,
            tiles_x: self.index.tiles_x,
            layer_count: self.layer_count,
            page_tiles: self.atlas.page_tiles,
            samples,
            output_linear: u32::from(self.output_linear),
            _pad: 0,
            background: rgba(style.background),
            checker_light: rgba(style.checker_light),
            checker_dark: rgba(style.checker_dark),
        }
    }

    /// Makes the bind group again if the atlas or index texture was replaced.
    pub(super) fn ensure_bind_group(&mut self, device: &wgpu::Device) {
        let key = (self.atlas.pages, self.index_generation);
        if matches!(&self.bind_group, Some((k, _)) if *k == key) {
            return;
        }
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("atelier compositor"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: self.globals.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: self.layer_params.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::TextureView(&self.atlas.view),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: wgpu::BindingResource::TextureView(&self.index.view),
                },
            ],
        });
        self.bind_group = Some((key, bind_group));
    }
}
