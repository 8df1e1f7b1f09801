//! The per-layer tile index: for every document layer, one r32uint texel per cell
//! saying which atlas slot (if any) holds that cell's tile. The shader looks a
//! fragment's cell up here, then reads the tile from the atlas.
use eframe::egui_wgpu::wgpu;

use super::atlas::{array_view, power_of_two_at_most};
use super::compositor::MAX_GPU_LAYERS;

/// Tile index regions (array layers) allocated up front; doubled on demand.
const INITIAL_REGIONS: u32 = 4;

/// Per-layer tile index: an r32uint 2D array, one array layer ("region") per
/// document layer, one texel per cell (0 = empty, else atlas slot + 1).
pub(super) struct TileIndex {
    texture: wgpu::Texture,
    /// A view of every region, for the compositor's bind group.
    pub(super) view: wgpu::TextureView,
    /// Cells per row (the document's width in tiles).
    pub(super) tiles_x: u32,
    /// Cells per column.
    pub(super) tiles_y: u32,
    regions: u32,
    /// The most regions (layers) the device and the layer uniforms allow.
    pub(super) max_regions: u32,
    free: Vec<u32>,
    next: u32,
}

impl TileIndex {
    /// An index of `tiles_x`×`tiles_y` cells with a few regions.
    pub(super) fn new(device: &wgpu::Device, tiles_x: u32, tiles_y: u32) -> Self {
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

    /// The index texture and its array view.
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
    pub(super) fn allocate(&mut self) -> Option<u32> {
        if let Some(r) = self.free.pop() {
            return Some(r);
        }
        (self.next < self.regions).then(|| {
            self.next += 1;
            self.next - 1
        })
    }

    /// Rows `y0..y1` of `region` from a full cell array.
    pub(super) fn write_rows(
        &self,
        queue: &wgpu::Queue,
        region: u32,
        entries: &[u32],
        y0: u32,
        y1: u32,
    ) {
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

    /// Gives a removed layer's region back for reuse.
    pub(super) fn release(&mut self, region: u32) {
        self.free.push(region);
    }

    /// Doubles the regions in a new texture, whose contents the caller must write
    /// again; false when the index is at its largest already.
    pub(super) fn grow(&mut self, device: &wgpu::Device) -> bool {
        if self.regions >= self.max_regions {
            return false;
        }
        let regions = (self.regions * 2).min(self.max_regions);
        let (texture, view) = Self::create(device, self.tiles_x, self.tiles_y, regions);
        self.texture = texture;
        self.view = view;
        self.regions = regions;
        true
    }
}
