//! The layers panel: the stack top first, with visibility, opacity, blend
//! mode, alpha lock, thumbnails, rename, drag-to-reorder and layer actions.
use std::collections::HashMap;

use eframe::egui::{self, Color32};

use super::commands::Command;
use crate::document::blend::unpremultiply;
use crate::document::{BlendMode, Document, Layer, LayerId, TILE_SIZE, TileGrid};

/// Thumbnail side in pixels.
const THUMB: u32 = 40;

/// Layer thumbnails, refreshed when the layer's pixels change, at most every
/// [`REFRESH`] while they keep changing (a stroke changes them every frame).
#[derive(Default)]
pub struct Thumbnails {
    cache: HashMap<LayerId, Cached>,
}

/// How often a changing layer's thumbnail is redrawn.
const REFRESH: std::time::Duration = std::time::Duration::from_millis(250);

struct Cached {
    fingerprint: (usize, u64),
    made: std::time::Instant,
    texture: egui::TextureHandle,
    sums: ThumbSums,
}

/// A cheap fingerprint of a layer's pixels: the grid's address and the sum of
/// its cell revisions (revisions are unique, so any write changes the sum).
fn fingerprint(layer: &Layer) -> (usize, u64) {
    let g = &layer.grid;
    let sum = g
        .coords()
        .map(|c| g.revision(c))
        .fold(0u64, u64::wrapping_add);
    (std::sync::Arc::as_ptr(g) as usize, sum)
}

impl Thumbnails {
    fn get(&mut self, ctx: &egui::Context, layer: &Layer) -> egui::TextureId {
        let fp = fingerprint(layer);
        if let Some(c) = self.cache.get(&layer.id) {
            if c.fingerprint == fp {
                return c.texture.id();
            }
            let age = c.made.elapsed();
            if age < REFRESH {
                // Changed again soon after the last refresh: come back for it.
                ctx.request_repaint_after(REFRESH - age);
                return c.texture.id();
            }
        }
        let g = &layer.grid;
        let fresh = || ThumbSums::new(g.width(), g.height(), THUMB, g.coords().count());
        let image = |sums: &mut ThumbSums| {
            let px = sums.update(g);
            let mut img = egui::ColorImage::filled([sums.w, sums.h], Color32::TRANSPARENT);
            for (out, p) in img.pixels.iter_mut().zip(px) {
                let c = unpremultiply(p);
                *out = Color32::from_rgba_unmultiplied(c[0], c[1], c[2], c[3]);
            }
            img
        };
        let made = std::time::Instant::now();
        if let Some(c) = self.cache.get_mut(&layer.id) {
            if c.sums.size != (g.width(), g.height()) {
                c.sums = fresh();
            }
            // Updated in place rather than a new texture each time.
            c.texture
                .set(image(&mut c.sums), egui::TextureOptions::LINEAR);
            (c.fingerprint, c.made) = (fp, made);
            return c.texture.id();
        }
        let mut sums = fresh();
        let texture = ctx.load_texture(
            format!("thumb-{}", layer.id.0),
            image(&mut sums),
            egui::TextureOptions::LINEAR,
        );
        let id = texture.id();
        self.cache.insert(
            layer.id,
            Cached {
                fingerprint: fp,
                made,
                texture,
                sums,
            },
        );
        id
    }
}

/// A thumbnail of at most `side`² pixels (premultiplied RGBA), each pixel
/// the exact average of the canvas area it covers, so that a thin stroke on
/// a big canvas still shows (faintly) instead of falling between samples.
///
/// Kept per layer and updated incrementally: each tile cell's contribution to
/// the thumbnail's bins is remembered with the cell's revision, so a refresh
/// during a stroke reads only the few cells the stroke changed (a full 2048²
/// layer read from scratch takes ~10 ms, too long for a frame).
/// A thumbnail pixel (bin) and the RGBA sums one cell adds to it.
type BinSum = (usize, [u64; 4]);

struct ThumbSums {
    size: (u32, u32),
    /// Thumbnail size.
    w: usize,
    h: usize,
    /// Thumbnail column / row of each canvas column / row.
    bx: Vec<usize>,
    by: Vec<usize>,
    /// Canvas pixels per thumbnail column / row.
    cols: Vec<u64>,
    rows: Vec<u64>,
    /// Per cell: the revision summed, and its (bin, RGBA sums).
    cells: Vec<(u64, Vec<BinSum>)>,
}

impl ThumbSums {
    fn new(width: u32, height: u32, side: u32, cell_count: usize) -> Self {
        let scale = (width.max(height) as f64 / f64::from(side)).max(1.0);
        let bins = |len: u32| -> Vec<usize> {
            (0..len).map(|v| (f64::from(v) / scale) as usize).collect()
        };
        let (bx, by) = (bins(width), bins(height));
        let (w, h) = (bx[bx.len() - 1] + 1, by[by.len() - 1] + 1);
        let (mut cols, mut rows) = (vec![0u64; w], vec![0u64; h]);
        bx.iter().for_each(|&b| cols[b] += 1);
        by.iter().for_each(|&b| rows[b] += 1);
        Self {
            size: (width, height),
            w,
            h,
            bx,
            by,
            cols,
            rows,
            cells: vec![(0, Vec::new()); cell_count],
        }
    }

    /// Brings the sums up to date with `g` and returns the thumbnail.
    fn update(&mut self, g: &TileGrid) -> Vec<[u8; 4]> {
        for (i, c) in g.coords().enumerate() {
            let rev = g.revision(c);
            let Some(cell) = self.cells.get_mut(i) else {
                break;
            };
            if cell.0 == rev && rev != 0 {
                continue;
            }
            cell.0 = rev;
            cell.1.clear();
            let Some(tile) = g.tile(c) else { continue };
            let rect = c.rect().intersect(&crate::document::CanvasRect::new(
                0,
                0,
                self.size.0,
                self.size.1,
            ));
            for y in rect.y..rect.bottom() {
                let row = self.by[y as usize] * self.w;
                let ty = (y % TILE_SIZE) as usize;
                for x in rect.x..rect.right() {
                    let i = (ty * TILE_SIZE as usize + (x % TILE_SIZE) as usize) * 4;
                    let p = &tile.px[i..i + 4];
                    let bin = row + self.bx[x as usize];
                    // A cell spans at most a few bins: find or add it.
                    let sum = match cell.1.iter_mut().find(|(b, _)| *b == bin) {
                        Some((_, sum)) => sum,
                        None => {
                            cell.1.push((bin, [0; 4]));
                            &mut cell.1.last_mut().expect("just pushed").1
                        }
                    };
                    for k in 0..4 {
                        sum[k] += u64::from(p[k]);
                    }
                }
            }
        }
        let mut sums = vec![[0u64; 4]; self.w * self.h];
        for (bin, sum) in self.cells.iter().flat_map(|(_, v)| v) {
            for k in 0..4 {
                sums[*bin][k] += sum[k];
            }
        }
        sums.iter()
            .enumerate()
            .map(|(i, s)| {
                let n = self.cols[i % self.w] * self.rows[i / self.w];
                s.map(|v| ((v + n / 2) / n) as u8)
            })
            .collect()
    }
}

/// The layers panel's own state: layer thumbnails and a rename in progress.
/// It reads the document and emits commands; it changes nothing itself.
#[derive(Default)]
pub struct LayersPanel {
    /// Layer thumbnails, refreshed incrementally.
    pub thumbnails: Thumbnails,
    /// The layer being renamed and the name typed so far.
    pub rename: Option<(LayerId, String)>,
}

/// Draws the panel for `doc`; emits commands for every change.
pub fn show(panel: &mut LayersPanel, doc: &Document, ui: &mut egui::Ui, out: &mut Vec<Command>) {
    ui.heading("Layers");
    ui.horizontal(|ui| {
        let active = doc.active();
        for cmd in [
            Command::AddLayer,
            Command::DuplicateLayer(active),
            Command::MergeDown(active),
            Command::DeleteLayer(active),
        ] {
            let label = match cmd {
                Command::AddLayer => "Add",
                Command::DuplicateLayer(_) => "Duplicate",
                Command::MergeDown(_) => "Merge",
                _ => "Delete",
            };
            let b = ui.button(label).on_hover_text(cmd.tooltip(ui.ctx()));
            // Screen readers and tests find the button by the command's full name.
            b.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, cmd.label()));
            if b.clicked() {
                out.push(cmd);
            }
        }
    });
    ui.separator();
    let layers: Vec<Layer> = doc.layers().to_vec();
    let active = doc.active();
    let n = layers.len();
    egui::ScrollArea::vertical().show(ui, |ui| {
        for (index, layer) in layers.iter().enumerate().rev() {
            let frame = egui::Frame::group(ui.style()).fill(if layer.id == active {
                ui.visuals().selection.bg_fill.gamma_multiply(0.5)
            } else {
                Color32::TRANSPARENT
            });
            let row = frame.show(ui, |ui| layer_row(panel, doc, ui, layer, index, n, out));
            // Drop another layer's handle here to move it to this position.
            if let Some(dragged) = row.response.dnd_release_payload::<LayerId>()
                && *dragged != layer.id
            {
                out.push(Command::MoveLayer(*dragged, index));
            }
        }
    });
}

fn layer_row(
    panel: &mut LayersPanel,
    doc: &Document,
    ui: &mut egui::Ui,
    layer: &Layer,
    index: usize,
    n: usize,
    out: &mut Vec<Command>,
) {
    let id = layer.id;
    let p = layer.props.clone();
    ui.horizontal(|ui| {
        let handle = ui.dnd_drag_source(egui::Id::unique(("layer-drag", id.0)), id, |ui| {
            let tex = panel.thumbnails.get(ui.ctx(), layer);
            ui.add(
                egui::Image::new((tex, egui::vec2(THUMB as f32, THUMB as f32)))
                    .bg_fill(Color32::from_gray(160)),
            );
        });
        handle
            .response
            .on_hover_text("Drag onto another layer to reorder");
        ui.vertical(|ui| {
            if let Some((rid, text)) = &mut panel.rename
                && *rid == id
            {
                let edit = ui.text_edit_singleline(text);
                edit.request_focus();
                if edit.lost_focus() {
                    let mut props = p.clone();
                    props.name = text.trim().to_string();
                    if !props.name.is_empty() && props.name != p.name {
                        out.push(Command::SetLayerProps(id, props, false));
                    }
                    panel.rename = None;
                }
            } else {
                let name = ui.selectable_label(id == doc.active(), &p.name);
                if name.clicked() {
                    out.push(Command::ActivateLayer(id));
                }
                if name
                    .on_hover_text("Click to select, double-click to rename")
                    .double_clicked()
                {
                    panel.rename = Some((id, p.name.clone()));
                }
            }
            ui.horizontal(|ui| {
                let mut visible = p.visible;
                if ui.checkbox(&mut visible, "Visible").changed() {
                    out.push(Command::SetLayerProps(
                        id,
                        egui_props(&p, |q| q.visible = visible),
                        false,
                    ));
                }
                let mut lock = p.lock_alpha;
                if ui
                    .checkbox(&mut lock, "Lock α")
                    .on_hover_text("Lock alpha: paint only where the layer already has paint")
                    .changed()
                {
                    out.push(Command::SetLayerProps(
                        id,
                        egui_props(&p, |q| q.lock_alpha = lock),
                        false,
                    ));
                }
            });
            ui.horizontal(|ui| {
                let mut blend = p.blend;
                egui::ComboBox::new(("blend", id.0), "Blend")
                    .selected_text(blend.label())
                    .width(80.0)
                    .show_ui(ui, |ui| {
                        for m in BlendMode::ALL {
                            ui.selectable_value(&mut blend, m, m.label());
                        }
                    });
                if blend != p.blend {
                    out.push(Command::SetLayerProps(
                        id,
                        egui_props(&p, |q| q.blend = blend),
                        false,
                    ));
                }
                let mut opacity = p.opacity * 100.0;
                let slider = ui.add(
                    egui::DragValue::new(&mut opacity)
                        .range(0.0..=100.0)
                        .suffix(" %")
                        .speed(0.5),
                );
                if slider.changed() {
                    out.push(Command::SetLayerProps(
                        id,
                        egui_props(&p, |q| q.opacity = opacity / 100.0),
                        true,
                    ));
                }
            });
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(index + 1 < n, egui::Button::new("Up"))
                    .on_hover_text("Move layer up")
                    .clicked()
                {
                    out.push(Command::MoveLayer(id, index + 1));
                }
                if ui
                    .add_enabled(index > 0, egui::Button::new("Down"))
                    .on_hover_text("Move layer down")
                    .clicked()
                {
                    out.push(Command::MoveLayer(id, index - 1));
                }
            });
        });
    });
}

fn egui_props(
    p: &crate::document::LayerProps,
    f: impl FnOnce(&mut crate::document::LayerProps),
) -> crate::document::LayerProps {
    let mut q = p.clone();
    f(&mut q);
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{CanvasRect, Document};

    #[test]
    fn a_thin_line_on_a_big_canvas_shows_in_every_thumbnail_column() {
        let mut doc = Document::new(2048, 1024, [0; 4]).expect("valid size");
        let id = doc.add_layer_with_pixels(
            "line",
            CanvasRect::new(0, 500, 2048, 2),
            &[0, 0, 0, 255].repeat(2 * 2048),
        );
        let grid = &doc.layer(id).expect("layer").grid;
        let mut sums = ThumbSums::new(2048, 1024, 40, grid.coords().count());
        let px = sums.update(grid);
        let (w, h) = (sums.w, sums.h);
        assert_eq!((w, h), (40, 20));
        for x in 0..w {
            let column_alpha: u32 = (0..h).map(|y| u32::from(px[y * w + x][3])).sum();
            assert!(column_alpha > 0, "column {x} lost the line");
        }
        // Each pixel is the average of its area: 2 opaque rows of ~51.
        let row = 500 * h / 1024;
        assert!(
            (9..=11).contains(&px[row * w + 7][3]),
            "{:?}",
            px[row * w + 7]
        );
        // Elsewhere the thumbnail stays transparent.
        assert_eq!(px[0], [0, 0, 0, 0]);
        // An edit updates it incrementally to what a fresh computation gives.
        doc.grid_mut(id).expect("layer").write_rect(
            CanvasRect::new(100, 100, 30, 30),
            &[200, 0, 0, 255].repeat(900),
        );
        let grid = &doc.layer(id).expect("layer").grid;
        let updated = sums.update(grid);
        assert_ne!(updated, px);
        let mut from_scratch = ThumbSums::new(2048, 1024, 40, grid.coords().count());
        assert_eq!(updated, from_scratch.update(grid));
    }
}
