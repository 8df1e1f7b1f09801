//! Candidate thumbnails, drawn by a paint callback that copies texels with
//! `textureLoad` (`shaders/thumbnail.wgsl`) instead of as egui images.
//!
//! egui redraws the whole window every frame. Under lavapipe, four 160-px
//! thumbnails drawn as egui image buttons (a blended fill, then a filtered
//! textured quad) raised a static frame from ~23 to ~30 ms; drawn this way,
//! with an outline instead of the fill, the frame after an Accept took 13% less
//! time (BENCHMARKS.md, "UI responsiveness"). Each thumbnail's texture
//! is uploaded once, keyed by the candidate's id, and the least recently
//! drawn are dropped beyond [`MAX_THUMBNAILS`].
use std::collections::HashMap;
use std::sync::Arc;

use eframe::egui;
use eframe::egui_wgpu::{self, wgpu};

use super::DisplayTarget;

/// Thumbnail textures kept on the GPU (160² RGBA is 100 KiB each).
pub const MAX_THUMBNAILS: usize = 64;

/// The pipeline and the uploaded thumbnails; lives in egui_wgpu's callback
/// resources (installed with the compositor by [`super::install_with`]).
pub struct ThumbnailRenderer {
    layout: wgpu::BindGroupLayout,
    pipeline: wgpu::RenderPipeline,
    texture_format: wgpu::TextureFormat,
    entries: HashMap<u64, Entry>,
    /// Frame-independent use counter, for dropping the least recently drawn.
    clock: u64,
}

struct Entry {
    bind_group: wgpu::BindGroup,
    placement: wgpu::Buffer,
    size: [u32; 2],
    last_used: u64,
}

impl ThumbnailRenderer {
    /// Builds the pipeline for the pass egui draws into.
    pub fn new(device: &wgpu::Device, display: DisplayTarget) -> Self {
        let shader = super::fullscreen::fullscreen_shader(
            device,
            "atelier fullscreen.wgsl + thumbnail.wgsl",
            include_str!("../../../shaders/thumbnail.wgsl"),
        );
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("atelier thumbnail"),
            entries: &[
                super::fullscreen::loaded_texture_entry(0),
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("atelier thumbnail"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = super::fullscreen::fullscreen_pipeline(
            device,
            &pipeline_layout,
            &shader,
            "atelier thumbnail",
            "fs_thumbnail",
            display.format,
            display.msaa_samples.max(1),
            display.depth_stencil_format,
        );
        // The pixels are sRGB-encoded bytes. Into an sRGB target they go through
        // an sRGB texture (decoded on load, encoded again on store); into a
        // linear-format target, as egui's own colours do, unchanged.
        let texture_format = if display.format.is_srgb() {
            wgpu::TextureFormat::Rgba8UnormSrgb
        } else {
            wgpu::TextureFormat::Rgba8Unorm
        };
        Self {
            layout,
            pipeline,
            texture_format,
            entries: HashMap::new(),
            clock: 0,
        }
    }

    /// Thumbnails held on the GPU now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none are held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Uploads `image` under `id` unless it is there already, and places it
    /// at `origin_px` (framebuffer pixels) scaled to `size_px`.
    fn prepare(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        id: u64,
        image: &image::RgbaImage,
        origin_px: [f32; 2],
        size_px: [f32; 2],
    ) {
        self.clock += 1;
        if !self.entries.contains_key(&id) {
            if self.entries.len() >= MAX_THUMBNAILS
                && let Some(oldest) = self
                    .entries
                    .iter()
                    .min_by_key(|(_, e)| e.last_used)
                    .map(|(k, _)| *k)
            {
                self.entries.remove(&oldest);
            }
            let entry = self.upload(device, queue, image);
            self.entries.insert(id, entry);
        }
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        entry.last_used = self.clock;
        let scale = |i: usize| entry.size[i] as f32 / size_px[i].max(1.0);
        let placement = [origin_px[0], origin_px[1], scale(0), scale(1)];
        queue.write_buffer(&entry.placement, 0, bytemuck::cast_slice(&placement));
    }

    fn upload(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        image: &image::RgbaImage,
    ) -> Entry {
        let size = [image.width().max(1), image.height().max(1)];
        let extent = wgpu::Extent3d {
            width: size[0],
            height: size[1],
            depth_or_array_layers: 1,
        };
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("atelier thumbnail"),
            size: extent,
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: self.texture_format,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        if image.width() > 0 && image.height() > 0 {
            queue.write_texture(
                texture.as_image_copy(),
                image.as_raw(),
                wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(4 * size[0]),
                    rows_per_image: Some(size[1]),
                },
                extent,
            );
        }
        let placement = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("atelier thumbnail placement"),
            size: 16,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("atelier thumbnail"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(&view),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: placement.as_entire_binding(),
                },
            ],
        });
        Entry {
            bind_group,
            placement,
            size,
            last_used: 0,
        }
    }

    fn paint(&self, id: u64, render_pass: &mut wgpu::RenderPass<'_>) {
        if let Some(entry) = self.entries.get(&id) {
            render_pass.set_pipeline(&self.pipeline);
            render_pass.set_bind_group(0, &entry.bind_group, &[]);
            render_pass.draw(0..3, 0..1);
        }
    }
}

/// Per-frame draw data for one thumbnail. Each id must be drawn at most once
/// per frame: its placement is one uniform, written in `prepare`.
#[derive(Clone)]
pub struct ThumbnailPaintCallback {
    /// Stable key of the image (a candidate's id).
    pub id: u64,
    /// The pixels, uploaded the first time this id is drawn.
    pub image: Arc<image::RgbaImage>,
    /// Where to draw it, in screen points.
    pub rect: egui::Rect,
}

impl ThumbnailPaintCallback {
    /// Wraps it for `egui::Painter::add`.
    pub fn into_paint_callback(self) -> egui::PaintCallback {
        let rect = self.rect;
        egui_wgpu::Callback::new_paint_callback(rect, self)
    }
}

impl egui_wgpu::CallbackTrait for ThumbnailPaintCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        screen_descriptor: &egui_wgpu::ScreenDescriptor,
        _egui_encoder: &mut wgpu::CommandEncoder,
        callback_resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        if let Some(r) = callback_resources.get_mut::<ThumbnailRenderer>() {
            let ppp = screen_descriptor.pixels_per_point;
            // Rounded as egui_wgpu rounds the viewport of the callback.
            let origin = [
                (self.rect.min.x * ppp).round(),
                (self.rect.min.y * ppp).round(),
            ];
            let size = [
                (self.rect.max.x * ppp).round() - origin[0],
                (self.rect.max.y * ppp).round() - origin[1],
            ];
            r.prepare(device, queue, self.id, &self.image, origin, size);
        }
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        render_pass: &mut wgpu::RenderPass<'static>,
        callback_resources: &egui_wgpu::CallbackResources,
    ) {
        if let Some(r) = callback_resources.get::<ThumbnailRenderer>() {
            r.paint(self.id, render_pass);
        }
    }
}
