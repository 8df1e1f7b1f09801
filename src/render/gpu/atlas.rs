//! The sparse tile atlas: every painted tile the compositor shows, stored once in
//! an rgba8unorm 2D array texture of square pages that doubles when full. Cells
//! holding the same `Arc<Tile>` share one slot, keyed by the tile's address; the
//! atlas keeps an `Arc` of every stored tile so that address cannot be reused.
//! Also the texture helpers the tile index shares.
use std::collections::HashMap;
use std::sync::Arc;

use eframe::egui_wgpu::wgpu;

use super::GpuError;
use crate::document::{TILE_SIZE, Tile};

/// Largest atlas page side in pixels (a 2048² page holds 1024 tiles, 16 MiB).
const MAX_PAGE_SIDE: u32 = 2048;

/// One atlas slot: the tile it holds (kept alive so that its address cannot
/// be reused by another tile while the slot is keyed by it) and how many
/// cells point at it.
struct Slot {
    tile: Arc<Tile>,
    refs: u32,
}

/// The sparse tile store: an rgba8unorm 2D array of square pages.
pub(super) struct Atlas {
    texture: wgpu::Texture,
    /// A view of every page, for the compositor's bind group.
    pub(super) view: wgpu::TextureView,
    /// Tiles per page row.
    pub(super) page_tiles: u32,
    /// Pages now; it only grows, so the count also names the texture.
    pub(super) pages: u32,
    max_pages: u32,
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    /// Slot by tile address, so shared tiles are stored once.
    by_tile: HashMap<usize, u32>,
}

impl Atlas {
    /// An atlas of two pages (or one, where the device allows no more).
    pub(super) fn new(device: &wgpu::Device) -> Self {
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

    /// The page texture and its array view.
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

    /// Slots per page.
    fn per_page(&self) -> u32 {
        self.page_tiles * self.page_tiles
    }

    /// Slots available without growing.
    pub(super) fn capacity(&self) -> u32 {
        self.pages * self.per_page()
    }

    /// Slots holding a tile now.
    pub(super) fn slots_in_use(&self) -> u32 {
        self.slots.iter().filter(|s| s.is_some()).count() as u32
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
    pub(super) fn entry_for(
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
    pub(super) fn release(&mut self, slot: u32) {
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

/// The largest power of two `<= n` (at least 1). Array sizes stay powers of
/// two so that a square texture never has a multiple of six layers, which
/// wgpu's GL backend would take for a cube map.
pub(super) fn power_of_two_at_most(n: u32) -> u32 {
    if n <= 1 {
        1
    } else {
        1 << (31 - n.leading_zeros())
    }
}

/// A view of every array layer, typed as an array even when there is one.
pub(super) fn array_view(texture: &wgpu::Texture) -> wgpu::TextureView {
    texture.create_view(&wgpu::TextureViewDescriptor {
        dimension: Some(wgpu::TextureViewDimension::D2Array),
        ..Default::default()
    })
}
