//! The canvas view, cached: the compositor draws the view into a texture the
//! size of the window, and each frame only copies that texture to the screen.
//! The costly per-fragment work (view transform, box filter, every layer's
//! tile lookup and blend) runs again only where something changed:
//!
//! - all of the view when the transform, the layer stack (order, opacity,
//!   blend, visibility), the document size or the widget's place changed;
//! - otherwise only the screen area of the tiles that changed since the last
//!   frame, which for a brush stroke is a few thousand pixels.
//!
//! On a software rasteriser (Mesa lavapipe on a machine without a GPU) this
//! is the difference between shading the whole canvas widget and a few brush
//! dabs per frame; on a GPU it saves power.
use eframe::egui_wgpu::wgpu;

use super::view::ViewTransform;
use crate::document::TILE_SIZE;

/// A rectangle in physical pixels of the render target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PxRect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
}

impl PxRect {
    /// Builds a rectangle.
    pub fn new(x: u32, y: u32, w: u32, h: u32) -> Self {
        Self { x, y, w, h }
    }

    /// No pixels.
    pub fn is_empty(&self) -> bool {
        self.w == 0 || self.h == 0
    }

    /// The overlap of two rectangles (empty if none).
    pub fn intersect(&self, o: &PxRect) -> PxRect {
        let (x0, y0) = (self.x.max(o.x), self.y.max(o.y));
        let x1 = (self.x + self.w).min(o.x + o.w);
        let y1 = (self.y + self.h).min(o.y + o.h);
        PxRect::new(x0, y0, x1.saturating_sub(x0), y1.saturating_sub(y0))
    }

    /// Pixel count.
    pub fn area(&self) -> u64 {
        u64::from(self.w) * u64::from(self.h)
    }
}

/// What one view update redrew.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewUpdate {
    /// Nothing changed: the cached pixels are shown as they are.
    Unchanged,
    /// Only this part of the widget was drawn again.
    Partial(PxRect),
    /// The whole widget was drawn again.
    Full,
}

/// What changed in the compositor's copy of the document since the view was
/// last drawn: a bounding box of tile cells, or everything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Changes {
    /// Cells `[x0, y0, x1, y1)` whose tile changed in some layer.
    pub cells: Option<[u32; 4]>,
    /// The layer stack or the document size changed: redraw everything.
    pub all: bool,
}

impl Changes {
    /// Records a changed cell.
    pub fn cell(&mut self, tx: u32, ty: u32) {
        self.cells = Some(match self.cells {
            None => [tx, ty, tx + 1, ty + 1],
            Some([x0, y0, x1, y1]) => [x0.min(tx), y0.min(ty), x1.max(tx + 1), y1.max(ty + 1)],
        });
    }
}

/// The screen area, in physical pixels, that shows canvas cells
/// `[x0, y0, x1, y1)` under `transform` (rotation makes it the bounding box
/// of a quad), padded by two pixels for the box filter and rounding.
pub(super) fn screen_rect_of_cells(
    cells: [u32; 4],
    doc_size: [u32; 2],
    transform: &ViewTransform,
    pixels_per_point: f32,
) -> PxRect {
    let [x0, y0, x1, y1] = cells;
    let (cx0, cy0) = ((x0 * TILE_SIZE) as f32, (y0 * TILE_SIZE) as f32);
    let cx1 = (x1 * TILE_SIZE).min(doc_size[0]) as f32;
    let cy1 = (y1 * TILE_SIZE).min(doc_size[1]) as f32;
    let corners = [[cx0, cy0], [cx1, cy0], [cx1, cy1], [cx0, cy1]].map(|p| {
        transform
            .screen_from_canvas(p)
            .map(|v| v * pixels_per_point)
    });
    let min = |i: usize| corners.iter().map(|c| c[i]).fold(f32::INFINITY, f32::min);
    let max = |i: usize| {
        corners
            .iter()
            .map(|c| c[i])
            .fold(f32::NEG_INFINITY, f32::max)
    };
    const PAD: f32 = 2.0;
    let lo = |v: f32| (v - PAD).floor().max(0.0) as u32;
    let hi = |v: f32| (v + PAD).ceil().max(0.0) as u32;
    let (px0, py0, px1, py1) = (lo(min(0)), lo(min(1)), hi(max(0)), hi(max(1)));
    PxRect::new(px0, py0, px1.saturating_sub(px0), py1.saturating_sub(py0))
}

/// Everything that, when it changes, invalidates the whole cached view.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct ViewKey {
    /// The view uniforms as written for the shader (transform, scale, box
    /// filter, colours, layer count, document size).
    pub globals: Vec<u8>,
    /// The canvas widget on the target.
    pub viewport: PxRect,
    /// The target's size.
    pub screen: [u32; 2],
}

/// The cache texture and the pipeline that copies it to the screen.
pub(super) struct ViewCache {
    format: wgpu::TextureFormat,
    layout: wgpu::BindGroupLayout,
    blit_pipeline: wgpu::RenderPipeline,
    target: Option<CacheTarget>,
    key: Option<ViewKey>,
}

struct CacheTarget {
    texture: wgpu::Texture,
    view: wgpu::TextureView,
    bind_group: wgpu::BindGroup,
}

impl ViewCache {
    /// The copy pipeline for a render pass shaped like `display`; the cache
    /// texture has the display's colour format, so the copy is exact.
    pub fn new(device: &wgpu::Device, display: super::DisplayTarget) -> Self {
        let shader = super::fullscreen::fullscreen_shader(
            device,
            "atelier fullscreen.wgsl + view_cache.wgsl",
            include_str!("../../../shaders/view_cache.wgsl"),
        );
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("atelier view cache"),
            entries: &[super::fullscreen::loaded_texture_entry(0)],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("atelier view cache"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let blit_pipeline = super::fullscreen::fullscreen_pipeline(
            device,
            &pipeline_layout,
            &shader,
            "atelier view cache copy",
            "fs_view_cache",
            display.format,
            display.msaa_samples.max(1),
            display.depth_stencil_format,
        );
        Self {
            format: display.format,
            layout,
            blit_pipeline,
            target: None,
            key: None,
        }
    }

    /// Decides what to redraw for `key` given `changes`, (re)creating the
    /// texture when the target's size changed. `dirty` maps changed cells to
    /// the screen.
    pub fn plan(
        &mut self,
        device: &wgpu::Device,
        key: ViewKey,
        changes: Changes,
        dirty: impl FnOnce([u32; 4]) -> PxRect,
    ) -> ViewUpdate {
        let size = key.screen;
        let stale_texture = self
            .target
            .as_ref()
            .is_none_or(|t| t.texture.width() != size[0] || t.texture.height() != size[1]);
        if stale_texture {
            self.target = Some(self.create_target(device, size));
        }
        if stale_texture || changes.all || self.key.as_ref() != Some(&key) {
            self.key = Some(key);
            return ViewUpdate::Full;
        }
        match changes.cells {
            None => ViewUpdate::Unchanged,
            Some(cells) => {
                let rect = dirty(cells).intersect(&key.viewport);
                if rect.is_empty() {
                    ViewUpdate::Unchanged
                } else {
                    ViewUpdate::Partial(rect)
                }
            }
        }
    }

    /// Forgets the cached pixels, so that the next [`plan`](Self::plan) says
    /// [`ViewUpdate::Full`] (after drawing into the cache failed, say).
    pub fn invalidate(&mut self) {
        self.key = None;
    }

    /// The texture to draw the view into, once [`plan`](Self::plan) made it.
    pub fn target_view(&self) -> Option<&wgpu::TextureView> {
        self.target.as_ref().map(|t| &t.view)
    }

    /// The cache texture (for reading it back in tests).
    pub fn texture(&self) -> Option<&wgpu::Texture> {
        self.target.as_ref().map(|t| &t.texture)
    }

    /// Copies the cached view into `render_pass` (viewport and scissor as
    /// egui_wgpu set them for the paint callback).
    pub fn paint(&self, render_pass: &mut wgpu::RenderPass<'_>) {
        let Some(t) = &self.target else { return };
        render_pass.set_pipeline(&self.blit_pipeline);
        render_pass.set_bind_group(0, &t.bind_group, &[]);
        render_pass.draw(0..3, 0..1);
    }

    fn create_target(&self, device: &wgpu::Device, size: [u32; 2]) -> CacheTarget {
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("atelier canvas view cache"),
            size: wgpu::Extent3d {
                width: size[0].max(1),
                height: size[1].max(1),
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: self.format,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT
                | wgpu::TextureUsages::TEXTURE_BINDING
                | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("atelier view cache"),
            layout: &self.layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::TextureView(&view),
            }],
        });
        CacheTarget {
            texture,
            view,
            bind_group,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::gpu::CanvasView;

    #[test]
    fn changes_grow_a_bounding_box_of_cells() {
        let mut c = Changes::default();
        c.cell(3, 4);
        assert_eq!(c.cells, Some([3, 4, 4, 5]));
        c.cell(1, 6);
        assert_eq!(c.cells, Some([1, 4, 4, 7]));
        assert!(!c.all);
    }

    #[test]
    fn intersection_of_rects() {
        let a = PxRect::new(10, 10, 20, 20);
        assert_eq!(
            a.intersect(&PxRect::new(25, 0, 100, 15)),
            PxRect::new(25, 10, 5, 5)
        );
        assert!(a.intersect(&PxRect::new(40, 40, 5, 5)).is_empty());
        assert_eq!(a.area(), 400);
    }

    #[test]
    fn dirty_cells_map_to_their_screen_area() {
        // 1:1 view with the canvas origin at screen (100, 50).
        let t = ViewTransform::from_origin([100.0, 50.0], 1.0, 0.0);
        let r = screen_rect_of_cells([1, 0, 2, 1], [1000, 1000], &t, 1.0);
        assert_eq!(r, PxRect::new(100 + 64 - 2, 50 - 2, 64 + 4, 64 + 4));
        // Twice as many physical pixels per point doubles it.
        let r2 = screen_rect_of_cells([1, 0, 2, 1], [1000, 1000], &t, 2.0);
        assert_eq!(r2, PxRect::new(2 * 164 - 2, 2 * 50 - 2, 128 + 4, 128 + 4));
        // The last cell is clipped to the document's edge.
        let r3 = screen_rect_of_cells([0, 0, 1, 1], [10, 20], &t, 1.0);
        assert_eq!(r3, PxRect::new(98, 48, 14, 24));
    }

    #[test]
    fn rotated_cells_map_to_the_bounding_box_of_their_quad() {
        let view = CanvasView {
            zoom: 1.5,
            pan: [7.0, -3.0],
            rotation: 0.6,
        };
        let t = view.transform([600.0, 500.0], [640.0, 640.0]);
        let r = screen_rect_of_cells([2, 3, 4, 5], [640, 640], &t, 1.0);
        // Every point of those cells lands inside the rectangle.
        for (x, y) in [
            (128.0, 192.0),
            (255.9, 192.0),
            (128.0, 319.9),
            (255.9, 319.9),
            (190.0, 250.0),
        ] {
            let s = t.screen_from_canvas([x, y]);
            assert!(
                s[0] >= r.x as f32 && s[0] <= (r.x + r.w) as f32,
                "{s:?} outside {r:?}"
            );
            assert!(
                s[1] >= r.y as f32 && s[1] <= (r.y + r.h) as f32,
                "{s:?} outside {r:?}"
            );
        }
        // And it is not much larger than the quad's bounding box (128·1.5·(|cos|+|sin|)).
        let side = 128.0 * 1.5 * (0.6f32.cos() + 0.6f32.sin());
        assert!(
            (r.w as f32) < side + 6.0 && (r.h as f32) < side + 6.0,
            "{r:?}"
        );
    }
}
