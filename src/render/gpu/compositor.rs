//! The long-lived GPU compositor: sparse tile atlas, per-layer tile index,
//! pipelines, and the dirty-tile sync that keeps them equal to a document.
//! The sync also records which cells changed, so that the cached canvas view
//! (`view_cache`) is redrawn only there.
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
use std::sync::Arc;

use bytemuck::{Pod, Zeroable};
use eframe::egui_wgpu::wgpu;

use super::GpuError;
use super::view::ViewTransform;
use super::view_cache::{Changes, PxRect, ViewCache, ViewKey, ViewUpdate, screen_rect_of_cells};
use crate::document::{CanvasRect, Document, LayerId, TILE_SIZE, Tile, TileCoord};

/// Most visible layers one composite handles (size of the layer uniform array,
/// `MAX_LAYERS` in `shaders/composite.wgsl`).
pub const MAX_GPU_LAYERS: usize = 256;

/// Largest atlas page side in pixels (a 2048² page holds 1024 tiles, 16 MiB).
const MAX_PAGE_SIDE: u32 = 2048;
/// Tile index regions (array layers) allocated up front; doubled on demand.
const INITIAL_REGIONS: u32 = 4;
/// The offscreen composite renders in chunks of at most this side, so that
/// any document fits the device's texture limits.
const MAX_CHUNK_SIDE: u32 = 2048;

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
struct Globals {
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

/// One atlas slot: the tile it holds (kept alive so that its address cannot
/// be reused by another tile while the slot is keyed by it) and how many
/// cells point at it.
struct Slot {
    tile: Arc<Tile>,
    refs: u32,
}

/// The sparse tile store: an rgba8unorm 2D array of square pages.
struct Atlas {
    texture: wgpu::Texture,
    view: wgpu::TextureView,
    /// Tiles per page row.
    page_tiles: u32,
    pages: u32,
    max_pages: u32,
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    /// Slot by tile address, so shared tiles are stored once.
    by_tile: HashMap<usize, u32>,
}

impl Atlas {
    fn new(device: &wgpu::Device) -> Self {
        let limits = device.limits();
        let page_side = MAX_PAGE_SIDE.min(limits.max_texture_dimension_2d) / TILE_SIZE * TILE_SIZE;
        let page_tiles = page_side / TILE_SIZE;
        let max_pages = power_of_two_at_most(limits.max_texture_array_layers);
        // Two pages, not one: wgpu's GL backend makes a one-layer texture a
        // plain 2D texture, which the shader's texture_2d_array cannot read.
        let pages = 2.min(max_pages);
        let (texture, view) = Self::create(device, page_tiles, pages);
        Self {
            texture,
            view,
            page_tiles,
            pages,
            max_pages,
            slots: Vec::new(),
            free: Vec::new(),
            by_tile: HashMap::new(),
        }
    }

    fn create(
        device: &wgpu::Device,
        page_tiles: u32,
        pages: u32,
    ) -> (wgpu::Texture, wgpu::TextureView) {
        let side = page_tiles * TILE_SIZE;
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("atelier tile atlas"),
            size: wgpu::Extent3d {
                width: side,
                height: side,
                depth_or_array_layers: pages,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba8Unorm,
            usage: wgpu::TextureUsages::TEXTURE_BINDING
                | wgpu::TextureUsages::COPY_DST
                | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = array_view(&texture);
        (texture, view)
    }

    fn per_page(&self) -> u32 {
        self.page_tiles * self.page_tiles
    }

    fn capacity(&self) -> u32 {
        self.pages * self.per_page()
    }

    /// Slot for `tile`: shared if the same tile is stored already, else a
    /// fresh one that is uploaded. Returns the slot and whether it uploaded.
    fn acquire(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        tile: &Arc<Tile>,
    ) -> Result<(u32, bool), GpuError> {
        let key = Arc::as_ptr(tile) as usize;
        if let Some(&slot) = self.by_tile.get(&key)
            && let Some(Some(s)) = self.slots.get_mut(slot as usize)
        {
            s.refs += 1;
            return Ok((slot, false));
        }
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                if self.slots.len() as u32 >= self.capacity() {
                    self.grow(device, queue)?;
                }
                self.slots.push(None);
                self.slots.len() as u32 - 1
            }
        };
        let (page, x, y) = self.place(slot);
        queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: &self.texture,
                mip_level: 0,
                origin: wgpu::Origin3d { x, y, z: page },
                aspect: wgpu::TextureAspect::All,
            },
            &tile.px,
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(TILE_SIZE * 4),
                rows_per_image: Some(TILE_SIZE),
            },
            wgpu::Extent3d {
                width: TILE_SIZE,
                height: TILE_SIZE,
                depth_or_array_layers: 1,
            },
        );
        self.slots[slot as usize] = Some(Slot {
            tile: tile.clone(),
            refs: 1,
        });
        self.by_tile.insert(key, slot);
        Ok((slot, true))
    }

    /// The index entry for a cell holding `tile` (0 = draw nothing, else
    /// slot + 1) and whether it uploaded.
    fn entry_for(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        tile: Option<&Arc<Tile>>,
    ) -> Result<(u32, bool), GpuError> {
        let Some(tile) = tile else {
            return Ok((0, false));
        };
        let stored = self.by_tile.contains_key(&(Arc::as_ptr(tile) as usize));
        // An all-transparent tile (e.g. erased) draws like an empty cell and
        // costs no slot; the scan is cheaper than the upload it saves.
        if !stored && tile.is_transparent() {
            return Ok((0, false));
        }
        let (slot, uploaded) = self.acquire(device, queue, tile)?;
        Ok((slot + 1, uploaded))
    }

    /// Drops one reference to `slot`; the last one frees it.
    fn release(&mut self, slot: u32) {
        let Some(entry) = self.slots.get_mut(slot as usize) else {
            return;
        };
        let Some(s) = entry else { return };
        s.refs -= 1;
        if s.refs == 0 {
            self.by_tile.remove(&(Arc::as_ptr(&s.tile) as usize));
            *entry = None;
            self.free.push(slot);
        }
    }

    /// Page and pixel origin of a slot.
    fn place(&self, slot: u32) -> (u32, u32, u32) {
        let page = slot / self.per_page();
        let i = slot % self.per_page();
        (
            page,
            (i % self.page_tiles) * TILE_SIZE,
            (i / self.page_tiles) * TILE_SIZE,
        )
    }

    /// Doubles the pages, copying the old ones on the GPU. Submits at once so
    /// that the copy lands before any tile written to the new texture later.
    fn grow(&mut self, device: &wgpu::Device, queue: &wgpu::Queue) -> Result<(), GpuError> {
        if self.pages >= self.max_pages {
            return Err(GpuError::AtlasFull {
                tiles: self.capacity(),
            });
        }
        let pages = (self.pages * 2).min(self.max_pages);
        let (texture, view) = Self::create(device, self.page_tiles, pages);
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("atelier atlas grow"),
        });
        let side = self.page_tiles * TILE_SIZE;
        encoder.copy_texture_to_texture(
            self.texture.as_image_copy(),
            texture.as_image_copy(),
            wgpu::Extent3d {
                width: side,
                height: side,
                depth_or_array_layers: self.pages,
            },
        );
        queue.submit([encoder.finish()]);
        self.texture = texture;
        self.view = view;
        self.pages = pages;
        Ok(())
    }
}

/// Per-layer tile index: an r32uint 2D array, one array layer ("region") per
/// document layer, one texel per cell (0 = empty, else atlas slot + 1).
struct TileIndex {
    texture: wgpu::Texture,
    view: wgpu::TextureView,
    tiles_x: u32,
    tiles_y: u32,
    regions: u32,
    max_regions: u32,
    free: Vec<u32>,
    next: u32,
}

impl TileIndex {
    fn new(device: &wgpu::Device, tiles_x: u32, tiles_y: u32) -> Self {
        let max_regions = power_of_two_at_most(
            device
                .limits()
                .max_texture_array_layers
                .min(MAX_GPU_LAYERS as u32),
        );
        let regions = INITIAL_REGIONS.min(max_regions);
        let (texture, view) = Self::create(device, tiles_x, tiles_y, regions);
        Self {
            texture,
            view,
            tiles_x,
            tiles_y,
            regions,
            max_regions,
            free: Vec::new(),
            next: 0,
        }
    }

    fn create(
        device: &wgpu::Device,
        tiles_x: u32,
        tiles_y: u32,
        regions: u32,
    ) -> (wgpu::Texture, wgpu::TextureView) {
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("atelier tile index"),
            size: wgpu::Extent3d {
                width: tiles_x,
                height: tiles_y,
                depth_or_array_layers: regions,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::R32Uint,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        let view = array_view(&texture);
        (texture, view)
    }

    /// A free region; `None` when the texture must grow first.
    fn allocate(&mut self) -> Option<u32> {
        if let Some(r) = self.free.pop() {
            return Some(r);
        }
        (self.next < self.regions).then(|| {
            self.next += 1;
            self.next - 1
        })
    }

    /// Rows `y0..y1` of `region` from a full cell array.
    fn write_rows(&self, queue: &wgpu::Queue, region: u32, entries: &[u32], y0: u32, y1: u32) {
        if y1 <= y0 {
            return;
        }
        let tx = self.tiles_x as usize;
        queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: &self.texture,
                mip_level: 0,
                origin: wgpu::Origin3d {
                    x: 0,
                    y: y0,
                    z: region,
                },
                aspect: wgpu::TextureAspect::All,
            },
            bytemuck::cast_slice(&entries[y0 as usize * tx..y1 as usize * tx]),
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(self.tiles_x * 4),
                rows_per_image: Some(y1 - y0),
            },
            wgpu::Extent3d {
                width: self.tiles_x,
                height: y1 - y0,
                depth_or_array_layers: 1,
            },
        );
    }
}

/// Identifies the textures a bind group was made with: the atlas only ever
/// grows (so its page count names it) and the index texture has a generation.
type BindKey = (u32, u64);

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
    offscreen_pipeline: wgpu::RenderPipeline,
    globals: wgpu::Buffer,
    layer_params: wgpu::Buffer,
    atlas: Atlas,
    index: TileIndex,
    /// Rebuilt when the atlas or index texture is replaced (see [`BindKey`]).
    bind_group: Option<(BindKey, wgpu::BindGroup)>,
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
                self.index.free.push(cache.region);
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
        self.stats.slots_in_use = self.atlas.slots.iter().filter(|s| s.is_some()).count() as u32;
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
        if self.index.regions >= self.index.max_regions {
            return Err(GpuError::TooManyLayers {
                count: self.layers.len() + 1,
                max: self.index.max_regions as usize,
            });
        }
        let regions = (self.index.regions * 2).min(self.index.max_regions);
        let (texture, view) =
            TileIndex::create(device, self.index.tiles_x, self.index.tiles_y, regions);
        self.index.texture = texture;
        self.index.view = view;
        self.index.regions = regions;
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

    fn globals_for(
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

    fn ensure_bind_group(&mut self, device: &wgpu::Device) {
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

    /// Syncs `doc` and composites `rect` (clipped to the document) at 1:1 with
    /// the same shader code as the view; premultiplied RGBA8 rows, the layout
    /// of [`crate::render::cpu::composite_rect`]. Blocks until the GPU is done.
    pub fn composite_offscreen(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        doc: &Document,
        rect: CanvasRect,
    ) -> Result<Vec<u8>, GpuError> {
        self.sync(device, queue, doc)?;
        let rect = rect.intersect(&doc.bounds());
        let mut out = vec![0u8; (rect.w as usize) * (rect.h as usize) * 4];
        if rect.is_empty() {
            return Ok(out);
        }
        let chunk = MAX_CHUNK_SIDE.min(device.limits().max_texture_dimension_2d);
        for cy in (rect.y..rect.bottom()).step_by(chunk as usize) {
            for cx in (rect.x..rect.right()).step_by(chunk as usize) {
                let part = CanvasRect::new(
                    cx,
                    cy,
                    chunk.min(rect.right() - cx),
                    chunk.min(rect.bottom() - cy),
                );
                let px = self.render_chunk(device, queue, part)?;
                for y in 0..part.h {
                    let src = (y * part.w * 4) as usize;
                    let dst = (((part.y - rect.y + y) * rect.w + part.x - rect.x) * 4) as usize;
                    let n = (part.w * 4) as usize;
                    out[dst..dst + n].copy_from_slice(&px[src..src + n]);
                }
            }
        }
        Ok(out)
    }

    /// Renders one chunk into a fresh Rgba8Unorm texture and reads it back.
    fn render_chunk(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        part: CanvasRect,
    ) -> Result<Vec<u8>, GpuError> {
        let transform = ViewTransform::identity_at([part.x as f32, part.y as f32]);
        let globals = self.globals_for(&transform, 1.0, 1, &CanvasStyle::default());
        queue.write_buffer(&self.globals, 0, bytemuck::bytes_of(&globals));
        self.ensure_bind_group(device);
        let Some((_, bind_group)) = &self.bind_group else {
            return Err(GpuError::Internal("bind group missing after creation"));
        };
        let size = wgpu::Extent3d {
            width: part.w,
            height: part.h,
            depth_or_array_layers: 1,
        };
        let target = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("atelier offscreen composite"),
            size,
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba8Unorm,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = target.create_view(&wgpu::TextureViewDescriptor::default());
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("atelier offscreen composite"),
        });
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("atelier offscreen composite"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                ..Default::default()
            });
            pass.set_pipeline(&self.offscreen_pipeline);
            pass.set_bind_group(0, bind_group, &[]);
            pass.draw(0..3, 0..1);
        }
        queue.submit([encoder.finish()]);
        read_texture(device, queue, &target)
    }
}

/// Compiles `fragment` (WGSL) behind `shaders/fullscreen.wgsl`, whose
/// `vs_fullscreen` [`fullscreen_pipeline`] uses as its vertex stage.
pub(super) fn fullscreen_shader(
    device: &wgpu::Device,
    label: &str,
    fragment: &str,
) -> wgpu::ShaderModule {
    let source = format!(
        "{}\n{fragment}",
        include_str!("../../../shaders/fullscreen.wgsl")
    );
    device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    })
}

/// A fragment-stage `texture_2d<f32>` binding read with `textureLoad` only
/// (non-filterable).
pub(super) fn loaded_texture_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Texture {
            sample_type: wgpu::TextureSampleType::Float { filterable: false },
            view_dimension: wgpu::TextureViewDimension::D2,
            multisampled: false,
        },
        count: None,
    }
}

/// A pipeline that runs fragment `entry` of `shader` over the viewport with
/// one fullscreen triangle (`vs_fullscreen` in `shaders/fullscreen.wgsl`),
/// writing `format` without blending into a pass of `samples` samples and,
/// if given, a depth/stencil attachment it neither tests nor writes (as
/// egui's pass has).
#[allow(clippy::too_many_arguments)]
pub(super) fn fullscreen_pipeline(
    device: &wgpu::Device,
    layout: &wgpu::PipelineLayout,
    shader: &wgpu::ShaderModule,
    label: &str,
    entry: &str,
    format: wgpu::TextureFormat,
    samples: u32,
    depth: Option<wgpu::TextureFormat>,
) -> wgpu::RenderPipeline {
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(label),
        layout: Some(layout),
        vertex: wgpu::VertexState {
            module: shader,
            entry_point: Some("vs_fullscreen"),
            compilation_options: Default::default(),
            buffers: &[],
        },
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: depth.map(|format| wgpu::DepthStencilState {
            format,
            depth_write_enabled: Some(false),
            depth_compare: Some(wgpu::CompareFunction::Always),
            stencil: Default::default(),
            bias: Default::default(),
        }),
        multisample: wgpu::MultisampleState {
            count: samples,
            ..Default::default()
        },
        fragment: Some(wgpu::FragmentState {
            module: shader,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            targets: &[Some(wgpu::ColorTargetState {
                format,
                blend: None,
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        multiview_mask: None,
        cache: None,
    })
}

/// Copies a 4-bytes-per-pixel texture back to memory (rows of `width * 4`
/// bytes). Blocks until the GPU is done.
fn read_texture(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    texture: &wgpu::Texture,
) -> Result<Vec<u8>, GpuError> {
    let size = texture.size();
    // Buffer rows must be 256-byte aligned; the padding is dropped below.
    let row = size.width * 4;
    let padded_row =
        row.div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT) * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
    let readback = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("atelier readback"),
        size: u64::from(padded_row) * u64::from(size.height),
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
        label: Some("atelier readback"),
    });
    encoder.copy_texture_to_buffer(
        texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &readback,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(padded_row),
                rows_per_image: Some(size.height),
            },
        },
        wgpu::Extent3d {
            depth_or_array_layers: 1,
            ..size
        },
    );
    queue.submit([encoder.finish()]);
    let slice = readback.slice(..);
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        // The receiver waits below; a failed send only means it gave up.
        let _ = tx.send(r);
    });
    device.poll(wgpu::PollType::wait_indefinitely())?;
    rx.recv()
        .map_err(|_| GpuError::Internal("map callback dropped"))??;
    let mut px = Vec::with_capacity((row * size.height) as usize);
    {
        // Only a bug reaches the error: the whole buffer was just mapped.
        let data = slice
            .get_mapped_range()
            .map_err(|_| GpuError::Internal("mapped readback range unavailable"))?;
        for y in 0..size.height as usize {
            let s = y * padded_row as usize;
            px.extend_from_slice(&data[s..s + row as usize]);
        }
    }
    readback.unmap();
    Ok(px)
}

/// The largest power of two `<= n` (at least 1). Array sizes stay powers of
/// two so that a square texture never has a multiple of six layers, which
/// wgpu's GL backend would take for a cube map.
fn power_of_two_at_most(n: u32) -> u32 {
    if n <= 1 {
        1
    } else {
        1 << (31 - n.leading_zeros())
    }
}

/// A view of every array layer, typed as an array even when there is one.
fn array_view(texture: &wgpu::Texture) -> wgpu::TextureView {
    texture.create_view(&wgpu::TextureViewDescriptor {
        dimension: Some(wgpu::TextureViewDimension::D2Array),
        ..Default::default()
    })
}
