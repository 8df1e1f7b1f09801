//! The offscreen composite: the document rendered at 1:1 by the same shader as the
//! canvas view, in chunks that fit the device's texture limits, and read back to
//! memory (for export without a window and for the tests that hold the GPU to
//! the CPU reference). Also the texture readback the view cache's test hook uses.
use eframe::egui_wgpu::wgpu;

use super::GpuError;
use super::compositor::{CanvasStyle, GpuCompositor};
use super::view::ViewTransform;
use crate::document::{CanvasRect, Document};

/// The offscreen composite renders in chunks of at most this side, so that
/// any document fits the device's texture limits.
const MAX_CHUNK_SIDE: u32 = 2048;

impl GpuCompositor {
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

/// Copies a 4-bytes-per-pixel texture back to memory (rows of `width * 4`
/// bytes). Blocks until the GPU is done.
pub(super) fn read_texture(
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
