//! GPU compositor against the CPU reference, on whatever adapter wgpu finds
//! (lavapipe on a machine without a GPU).
//!
//! These tests fail, never skip, when no adapter exists: a green run must
//! mean the WGSL was checked.
use atelier::document::{BlendMode, CanvasRect, Document, History, LayerId};
use atelier::render::cpu::composite_rect;
use atelier::render::gpu::{
    self, CanvasStyle, CanvasView, DisplayTarget, GpuCompositor, headless_device,
};
use eframe::egui_wgpu::wgpu;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn device() -> (wgpu::Device, wgpu::Queue) {
    headless_device().unwrap_or_else(|e| {
        panic!(
            "GPU tests need a wgpu adapter; on Debian/Ubuntu install Mesa's software Vulkan \
             driver with `apt-get install mesa-vulkan-drivers libvulkan1`. Error: {e}"
        )
    })
}

/// Largest per-channel difference, with where it happened.
fn max_diff(a: &[u8], b: &[u8], width: u32) -> (u8, String) {
    assert_eq!(a.len(), b.len(), "buffer sizes differ");
    let mut worst = (0u8, String::new());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let d = x.abs_diff(*y);
        if d > worst.0 {
            let p = i / 4;
            let (px, py) = (p as u32 % width, p as u32 / width);
            let gpu = &a[p * 4..p * 4 + 4];
            let cpu = &b[p * 4..p * 4 + 4];
            worst = (
                d,
                format!(
                    "pixel ({px}, {py}) channel {}: gpu {gpu:?} cpu {cpu:?}",
                    i % 4
                ),
            );
        }
    }
    worst
}

fn assert_matches_cpu(gpu_px: &[u8], doc: &Document, rect: CanvasRect, what: &str) {
    let cpu_px = composite_rect(doc, rect);
    let (d, at) = max_diff(gpu_px, &cpu_px, rect.intersect(&doc.bounds()).w);
    assert!(d <= 1, "{what}: GPU differs from CPU by {d}/255 at {at}");
}

fn set(doc: &mut Document, id: LayerId, f: impl FnOnce(&mut atelier::document::LayerProps)) {
    let mut p = doc.layer(id).expect("layer exists").props.clone();
    f(&mut p);
    doc.set_props(id, p).expect("layer exists");
}

/// Random straight-alpha pixels: many opaque, many partial, some clear.
fn random_pixels(rng: &mut ChaCha8Rng, n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n * 4);
    for _ in 0..n {
        let a = match rng.random_range(0..5) {
            0 => 0,
            1 => 255,
            _ => rng.random_range(1..=255),
        };
        v.extend_from_slice(&[rng.random(), rng.random(), rng.random(), a]);
    }
    v
}

/// Several layers, every blend mode, random opacities, hidden and empty
/// layers, partial tiles, a background that may be transparent.
fn random_doc(seed: u64, w: u32, h: u32) -> Document {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let background = if seed.is_multiple_of(2) {
        [rng.random(), rng.random(), rng.random(), 255]
    } else {
        [0; 4]
    };
    let mut doc = Document::new(w, h, background).expect("valid size");
    for (i, mode) in BlendMode::ALL
        .into_iter()
        .chain([BlendMode::Normal, BlendMode::Overlay])
        .enumerate()
    {
        let x = rng.random_range(0..w - 1);
        let y = rng.random_range(0..h - 1);
        let rw = rng.random_range(1..=w - x);
        let rh = rng.random_range(1..=h - y);
        let rect = CanvasRect::new(x, y, rw, rh);
        let px = random_pixels(&mut rng, (rw * rh) as usize);
        let id = doc.add_layer_with_pixels(&format!("layer {i}"), rect, &px);
        let opacity = match rng.random_range(0..4) {
            0 => 1.0,
            1 => 0.0,
            _ => rng.random_range(0.05..1.0),
        };
        let visible = rng.random_range(0..6) != 0;
        set(&mut doc, id, |p| {
            p.blend = mode;
            p.opacity = opacity;
            p.visible = visible;
        });
    }
    // An empty layer costs nothing and draws nothing.
    doc.add_layer("empty");
    doc
}

#[test]
fn random_documents_match_the_cpu_reference() {
    let (device, queue) = device();
    for seed in 0..6 {
        let doc = random_doc(seed, 203, 141);
        let whole =
            gpu::composite_offscreen(&device, &queue, &doc, doc.bounds()).expect("composite");
        assert_matches_cpu(
            &whole,
            &doc,
            doc.bounds(),
            &format!("seed {seed}, whole canvas"),
        );
        // A rectangle that starts inside a tile and runs past the canvas.
        let part = CanvasRect::new(37, 21, 400, 100);
        let sub = gpu::composite_offscreen(&device, &queue, &doc, part).expect("composite");
        assert_matches_cpu(&sub, &doc, part, &format!("seed {seed}, sub-rectangle"));
    }
}

#[test]
fn every_blend_mode_alone_matches_over_a_textured_backdrop() {
    let (device, queue) = device();
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let (w, h) = (70, 66);
    for mode in BlendMode::ALL {
        let mut doc = Document::new(w, h, [0; 4]).expect("valid size");
        let under = random_pixels(&mut rng, (w * h) as usize);
        doc.add_layer_with_pixels("under", doc.bounds(), &under);
        let over = random_pixels(&mut rng, (w * h) as usize);
        let id = doc.add_layer_with_pixels("over", doc.bounds(), &over);
        set(&mut doc, id, |p| {
            p.blend = mode;
            p.opacity = 0.7;
        });
        let px = gpu::composite_offscreen(&device, &queue, &doc, doc.bounds()).expect("composite");
        assert_matches_cpu(&px, &doc, doc.bounds(), mode.label());
    }
}

#[test]
fn only_changed_tiles_are_uploaded_and_results_stay_exact() {
    let (device, queue) = device();
    let mut comp = GpuCompositor::new(&device, DisplayTarget::new(wgpu::TextureFormat::Rgba8Unorm));
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    // 203×141 is 4×3 tiles; the white background shares one tile in all 12 cells.
    let mut doc = Document::new(203, 141, [255, 255, 255, 255]).expect("valid size");
    let a = doc.add_layer_with_pixels(
        "A",
        CanvasRect::new(5, 5, 40, 40),
        &random_pixels(&mut rng, 1600),
    );
    set(&mut doc, a, |p| p.blend = BlendMode::Multiply);
    let check = |comp: &mut GpuCompositor, doc: &Document, what: &str| {
        let px = comp
            .composite_offscreen(&device, &queue, doc, doc.bounds())
            .expect("composite");
        assert_matches_cpu(&px, doc, doc.bounds(), what);
        comp.stats().last_uploaded
    };

    assert_eq!(
        check(&mut comp, &doc, "first sync"),
        2,
        "one shared background tile + A's tile"
    );
    assert_eq!(comp.stats().slots_in_use, 2);
    assert_eq!(
        check(&mut comp, &doc, "unchanged"),
        0,
        "nothing changed, nothing uploaded"
    );

    // Property changes and reordering re-blend without uploading.
    set(&mut doc, a, |p| {
        p.opacity = 0.4;
        p.blend = BlendMode::Screen;
    });
    let bg = doc.layers()[0].id;
    doc.move_layer(bg, 1).expect("layer exists");
    assert_eq!(check(&mut comp, &doc, "props and order"), 0);
    doc.move_layer(bg, 0).expect("layer exists");

    // A new layer over two tiles (a rect across the border of tiles (1,1) and (2,1)).
    let mut history = History::default();
    let b = doc.add_layer_with_pixels(
        "B",
        CanvasRect::new(100, 70, 40, 20),
        &[200, 30, 90, 255].repeat(800),
    );
    assert_eq!(check(&mut comp, &doc, "new layer"), 2);

    // Merging B into A changes exactly those two cells of A; B's slots go.
    history
        .edit_stack(&mut doc, "Merge down", None, |d| d.merge_down(b))
        .expect("merge");
    assert_eq!(check(&mut comp, &doc, "merge down"), 2);
    assert_eq!(
        comp.stats().slots_in_use,
        4,
        "background, A's first tile, two merged tiles"
    );

    // Undo brings B back (two uploads) and empties A's merged cells (none).
    history.undo(&mut doc).expect("undo");
    assert_eq!(check(&mut comp, &doc, "undo"), 2);
    history.redo(&mut doc).expect("redo");
    assert_eq!(check(&mut comp, &doc, "redo"), 2);

    // Deleting a layer frees its slots.
    doc.delete_layer(a).expect("layer exists");
    assert_eq!(check(&mut comp, &doc, "delete"), 0);
    assert_eq!(
        comp.stats().slots_in_use,
        1,
        "only the background tile is left"
    );

    // A document of another size starts over.
    let other = random_doc(3, 130, 64);
    check(&mut comp, &other, "new document size");
}

#[test]
fn a_huge_sparse_document_uses_a_small_atlas() {
    let (device, queue) = device();
    let mut comp = GpuCompositor::new(&device, DisplayTarget::new(wgpu::TextureFormat::Rgba8Unorm));
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut doc = Document::new(8192, 8192, [0; 4]).expect("valid size");
    for i in 0..4 {
        let rect = CanvasRect::new(4000 + 37 * i, 3000 + 23 * i, 90, 70);
        let id = doc.add_layer_with_pixels("dab", rect, &random_pixels(&mut rng, 90 * 70));
        set(&mut doc, id, |p| p.blend = BlendMode::ALL[i as usize]);
    }
    let view = CanvasRect::new(3980, 2990, 300, 200);
    let px = comp
        .composite_offscreen(&device, &queue, &doc, view)
        .expect("composite");
    assert_matches_cpu(&px, &doc, view, "8192² sparse");
    let stats = comp.stats();
    assert!(stats.slots_in_use <= 4 * 6, "{stats:?}");
    // 5 layers × 16384 cells, yet the atlas keeps its first two pages.
    assert!(
        stats.slot_capacity <= 2048,
        "the atlas grew for a few tiles: {stats:?}"
    );
}

#[test]
fn the_atlas_grows_past_one_page() {
    let (device, queue) = device();
    let mut comp = GpuCompositor::new(&device, DisplayTarget::new(wgpu::TextureFormat::Rgba8Unorm));
    let capacity = {
        let doc = Document::new(64, 64, [0; 4]).expect("valid size");
        comp.sync(&device, &queue, &doc).expect("sync");
        comp.stats().slot_capacity
    };
    // Enough distinct tiles to overflow the first page.
    let side = ((capacity as f64).sqrt().ceil() as u32 + 2) * 64;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut doc = Document::new(side, side, [0; 4]).expect("valid size");
    let px = random_pixels(&mut rng, (side * side) as usize);
    doc.add_layer_with_pixels("noise", doc.bounds(), &px);
    let out = comp
        .composite_offscreen(&device, &queue, &doc, doc.bounds())
        .expect("composite");
    assert!(comp.stats().slot_capacity > capacity, "{:?}", comp.stats());
    assert_matches_cpu(&out, &doc, doc.bounds(), "after growing the atlas");
}

#[test]
fn the_canvas_view_draws_zoomed_pixels_checkerboard_and_background() {
    let (device, queue) = device();
    let mut comp = GpuCompositor::new(&device, DisplayTarget::new(wgpu::TextureFormat::Rgba8Unorm));
    // Left half opaque red, right half transparent.
    let mut doc = Document::new(20, 10, [0; 4]).expect("valid size");
    doc.add_layer_with_pixels(
        "red",
        CanvasRect::new(0, 0, 10, 10),
        &[255, 0, 0, 255].repeat(100),
    );
    comp.sync(&device, &queue, &doc).expect("sync");
    let transform = gpu::ViewTransform::from_origin([8.0, 4.0], 2.0, 0.0);
    let style = CanvasStyle {
        background: [0.0, 0.0, 1.0],
        checker_light: [1.0, 1.0, 1.0],
        checker_dark: [0.0, 1.0, 0.0],
        checker_size: 4.0,
    };
    let (w, h) = (64u32, 32u32);
    let data = draw_view(&device, &queue, &mut comp, &transform, &style, w, h);
    let at = |x: u32, y: u32| {
        let i = ((y * w + x) * 4) as usize;
        [data[i], data[i + 1], data[i + 2]]
    };
    for y in 0..h {
        for x in 0..w {
            let c = transform.canvas_from_screen([x as f32 + 0.5, y as f32 + 0.5]);
            let expected = if c[0] < 0.0 || c[1] < 0.0 || c[0] >= 20.0 || c[1] >= 10.0 {
                [0, 0, 255]
            } else if c[0] < 10.0 {
                [255, 0, 0]
            } else if ((x / 4) + (y / 4)) % 2 == 0 {
                [255, 255, 255]
            } else {
                [0, 255, 0]
            };
            assert_eq!(at(x, y), expected, "screen pixel ({x}, {y}) → canvas {c:?}");
        }
    }
}

#[test]
fn the_paint_callback_draws_through_egui_wgpu() {
    for pixels_per_point in [1.0, 2.0] {
        paint_callback_at(pixels_per_point);
    }
}

/// The real egui_wgpu path (install, prepare, paint in egui's render pass),
/// checked pixel by pixel against the view transform.
fn paint_callback_at(pixels_per_point: f32) {
    use eframe::egui;
    use egui_kittest::wgpu::{WgpuTestRenderer, create_render_state, default_wgpu_setup};

    let render_state = create_render_state(
        default_wgpu_setup(),
        eframe::egui_wgpu::RendererOptions::PREDICTABLE,
    );
    gpu::install(&render_state);
    let resources = render_state.renderer.clone();
    let mut doc = Document::new(20, 10, [0; 4]).expect("valid size");
    doc.add_layer_with_pixels(
        "red",
        CanvasRect::new(0, 0, 10, 10),
        &[255, 0, 0, 255].repeat(100),
    );
    let widget = egui::Rect::from_min_size(egui::pos2(10.0, 10.0), egui::vec2(60.0, 40.0));
    let view = CanvasView {
        zoom: 2.0,
        pan: [4.0, 4.0],
        rotation: 0.3,
    };
    let shown = doc.clone();
    let mut harness = egui_kittest::Harness::builder()
        .with_size(egui::vec2(80.0, 60.0))
        .with_pixels_per_point(pixels_per_point)
        .renderer(WgpuTestRenderer::from_render_state(render_state))
        .build_ui(move |ui| {
            ui.painter().add(
                gpu::CanvasPaintCallback::new(shown.clone(), view, widget).into_paint_callback(),
            );
        });
    let image = harness.render().expect("render");
    let transform = view.transform([widget.center().x, widget.center().y], [20.0, 10.0]);
    let style = CanvasStyle::default();
    let rgb = |c: [f32; 3]| c.map(|v| (v * 255.0).round() as u8);
    let ppp = pixels_per_point;
    let (x0, y0) = ((widget.min.x * ppp) as u32, (widget.min.y * ppp) as u32);
    let (x1, y1) = ((widget.max.x * ppp) as u32, (widget.max.y * ppp) as u32);
    let mut mismatches = Vec::new();
    for y in y0..y1 {
        for x in x0..x1 {
            let pt = [(x as f32 + 0.5) / ppp, (y as f32 + 0.5) / ppp];
            let c = transform.canvas_from_screen(pt);
            // Fragments right on a pixel edge may round either way.
            let frac = |v: f32| (v - v.round()).abs();
            if frac(c[0]) < 1e-3 || frac(c[1]) < 1e-3 {
                continue;
            }
            let expected = if c[0] < 0.0 || c[1] < 0.0 || c[0] >= 20.0 || c[1] >= 10.0 {
                rgb(style.background)
            } else if c[0] < 10.0 {
                [255, 0, 0]
            } else if ((pt[0] / 8.0) as u32 + (pt[1] / 8.0) as u32).is_multiple_of(2) {
                rgb(style.checker_light)
            } else {
                rgb(style.checker_dark)
            };
            let got = image.get_pixel(x, y).0;
            if !(0..3).all(|k| got[k].abs_diff(expected[k]) <= 2) {
                mismatches.push(format!(
                    "({x}, {y}) → {c:?}: got {got:?}, expected {expected:?}"
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "ppp {ppp}: {} pixels differ, first: {:?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(5)]
    );
    let uploaded = |r: &eframe::egui_wgpu::Renderer| {
        r.callback_resources
            .get::<GpuCompositor>()
            .expect("installed")
            .stats()
    };
    assert_eq!(uploaded(&resources.read()).total_uploaded, 1);
    // Another frame with nothing changed uploads nothing.
    harness.run();
    harness.render().expect("render");
    assert_eq!(uploaded(&resources.read()).last_uploaded, 0);
}

/// Draws the canvas view with `comp` into a `w × h` Rgba8Unorm texture at one
/// physical pixel per point and reads it back (rows of `w * 4` bytes).
fn draw_view(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    comp: &mut GpuCompositor,
    transform: &gpu::ViewTransform,
    style: &CanvasStyle,
    w: u32,
    h: u32,
) -> Vec<u8> {
    assert!((w * 4).is_multiple_of(256), "keep rows copy-aligned");
    let format = wgpu::TextureFormat::Rgba8Unorm;
    let mut encoder = device.create_command_encoder(&Default::default());
    comp.update_view(
        device,
        queue,
        &mut encoder,
        transform,
        1.0,
        style,
        [w, h],
        gpu::PxRect::new(0, 0, w, h),
    );
    let target = device.create_texture(&wgpu::TextureDescriptor {
        label: None,
        size: wgpu::Extent3d {
            width: w,
            height: h,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    let buffer = device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: u64::from(w * 4 * h),
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    {
        let target_view = target.create_view(&Default::default());
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: &target_view,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                    store: wgpu::StoreOp::Store,
                },
            })],
            ..Default::default()
        });
        comp.paint(&mut pass);
    }
    encoder.copy_texture_to_buffer(
        target.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &buffer,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(w * 4),
                rows_per_image: Some(h),
            },
        },
        target.size(),
    );
    queue.submit([encoder.finish()]);
    buffer
        .slice(..)
        .map_async(wgpu::MapMode::Read, |r| r.expect("map"));
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .expect("poll");
    buffer
        .slice(..)
        .get_mapped_range()
        .expect("mapped")
        .to_vec()
}

#[test]
fn zoomed_out_views_average_canvas_pixels() {
    let (device, queue) = device();
    let mut comp = GpuCompositor::new(&device, DisplayTarget::new(wgpu::TextureFormat::Rgba8Unorm));
    // One-pixel black and white stripes average to mid grey at 25 %.
    let (cw, ch) = (256u32, 128u32);
    let stripes: Vec<u8> = (0..cw * ch)
        .flat_map(|i| {
            let v = if (i % cw).is_multiple_of(2) { 0 } else { 255 };
            [v, v, v, 255]
        })
        .collect();
    let mut doc = Document::new(cw, ch, [0; 4]).expect("valid size");
    doc.add_layer_with_pixels("stripes", doc.bounds(), &stripes);
    comp.sync(&device, &queue, &doc).expect("sync");
    let view = CanvasView {
        zoom: 0.25,
        pan: [0.0, 0.0],
        rotation: 0.0,
    };
    let data = draw_view(
        &device,
        &queue,
        &mut comp,
        // Centred in the 64×32 target, the 64×32-point canvas fills it.
        &view.transform([32.0, 16.0], [cw as f32, ch as f32]),
        &CanvasStyle::default(),
        64,
        32,
    );
    for p in data.chunks_exact(4) {
        assert!(p[0].abs_diff(128) <= 1, "expected mid grey, got {p:?}");
    }
}

#[test]
fn the_cached_view_redraws_only_what_changed_and_stays_exact() {
    let (device, queue) = device();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut doc = Document::new(640, 480, [255, 255, 255, 255]).expect("valid size");
    let paint = doc.add_layer_with_pixels(
        "paint",
        CanvasRect::new(100, 80, 200, 150),
        &random_pixels(&mut rng, 200 * 150),
    );
    let (w, h) = (512u32, 384u32);
    let view = CanvasView {
        zoom: 0.8,
        pan: [12.0, -9.0],
        rotation: 0.3,
    };
    let transform = view.transform([w as f32 / 2.0, h as f32 / 2.0], [640.0, 480.0]);
    let style = CanvasStyle::default();
    let format = wgpu::TextureFormat::Rgba8Unorm;
    let whole = gpu::PxRect::new(0, 0, w, h);
    let update = |comp: &mut GpuCompositor, doc: &Document, t: &gpu::ViewTransform| {
        comp.sync(&device, &queue, doc).expect("sync");
        let mut encoder = device.create_command_encoder(&Default::default());
        let u = comp.update_view(&device, &queue, &mut encoder, t, 1.0, &style, [w, h], whole);
        queue.submit([encoder.finish()]);
        u
    };
    let read = |comp: &GpuCompositor| {
        comp.read_view_cache(&device, &queue)
            .expect("drawn")
            .expect("read back")
    };
    // The long-lived compositor against a fresh one that draws everything.
    let fresh = |doc: &Document, t: &gpu::ViewTransform| {
        let mut c = GpuCompositor::new(&device, DisplayTarget::new(format));
        assert_eq!(update(&mut c, doc, t), gpu::ViewUpdate::Full);
        read(&c)
    };
    let mut comp = GpuCompositor::new(&device, DisplayTarget::new(format));
    assert_eq!(update(&mut comp, &doc, &transform), gpu::ViewUpdate::Full);
    same(&read(&comp), &fresh(&doc, &transform), "first draw");
    assert_eq!(
        update(&mut comp, &doc, &transform),
        gpu::ViewUpdate::Unchanged,
        "nothing changed, nothing drawn"
    );

    // A small edit (a "dab" inside one tile) redraws a small part of the view.
    let dab: Vec<u8> = [20, 40, 200, 255].repeat(10 * 10);
    doc.grid_mut(paint)
        .expect("layer")
        .write_rect(CanvasRect::new(400, 300, 10, 10), &dab);
    match update(&mut comp, &doc, &transform) {
        gpu::ViewUpdate::Partial(r) => assert!(
            r.area() * 20 < whole.area(),
            "a one-tile edit redrew {r:?} of {whole:?}"
        ),
        other => panic!("expected a partial redraw, got {other:?}"),
    }
    same(
        &read(&comp),
        &fresh(&doc, &transform),
        "after a partial redraw",
    );

    // Edits in two far-apart corners.
    for (x, y) in [(5, 5), (630, 470)] {
        doc.grid_mut(paint)
            .expect("layer")
            .write_clipped(x, y, 10, 10, &dab);
    }
    assert!(matches!(
        update(&mut comp, &doc, &transform),
        gpu::ViewUpdate::Partial(_)
    ));
    same(&read(&comp), &fresh(&doc, &transform), "after two edits");

    // Layer properties, the view and the document size redraw everything.
    set(&mut doc, paint, |p| p.opacity = 0.5);
    assert_eq!(update(&mut comp, &doc, &transform), gpu::ViewUpdate::Full);
    same(
        &read(&comp),
        &fresh(&doc, &transform),
        "after an opacity change",
    );
    let panned = CanvasView {
        pan: [40.0, 3.0],
        ..view
    }
    .transform([w as f32 / 2.0, h as f32 / 2.0], [640.0, 480.0]);
    assert_eq!(update(&mut comp, &doc, &panned), gpu::ViewUpdate::Full);
    same(&read(&comp), &fresh(&doc, &panned), "after panning");
    let other = random_doc(5, 300, 200);
    assert_eq!(update(&mut comp, &other, &panned), gpu::ViewUpdate::Full);
    same(&read(&comp), &fresh(&other, &panned), "another document");
}

/// Pixel-exact equality, reported as a count and the first difference.
fn same(got: &[u8], expected: &[u8], what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}: sizes differ");
    let diff: Vec<usize> = (0..got.len() / 4)
        .filter(|&i| got[i * 4..i * 4 + 4] != expected[i * 4..i * 4 + 4])
        .collect();
    if let Some(&i) = diff.first() {
        panic!(
            "{what}: {} pixels differ, first at index {i}: {:?} vs {:?}",
            diff.len(),
            &got[i * 4..i * 4 + 4],
            &expected[i * 4..i * 4 + 4]
        );
    }
}

/// Candidate thumbnails through their own paint callback: every pixel of the
/// rectangle shows the nearest texel, at 1:1, scaled, on a HiDPI screen, and
/// scrolled half out of the window (egui clamps the callback's viewport to the
/// screen; the mapping must not follow it).
#[test]
fn thumbnails_show_their_texels_wherever_they_are_drawn() {
    use eframe::egui;
    use egui_kittest::wgpu::{WgpuTestRenderer, create_render_state, default_wgpu_setup};
    use std::sync::Arc;

    // 8×6 texels, each a distinct colour.
    let thumb = Arc::new(image::RgbaImage::from_fn(8, 6, |x, y| {
        image::Rgba([
            (x * 30) as u8,
            (y * 40) as u8,
            200 - (x + y) as u8 * 10,
            255,
        ])
    }));
    let cases = [
        // (pixels per point, rect in points)
        (
            1.0,
            egui::Rect::from_min_size(egui::pos2(5.0, 7.0), egui::vec2(8.0, 6.0)),
        ),
        (
            1.0,
            egui::Rect::from_min_size(egui::pos2(20.0, 4.0), egui::vec2(24.0, 18.0)),
        ),
        (
            2.0,
            egui::Rect::from_min_size(egui::pos2(3.0, 2.0), egui::vec2(16.0, 12.0)),
        ),
        (
            1.0,
            egui::Rect::from_min_size(egui::pos2(30.0, -9.0), egui::vec2(16.0, 12.0)),
        ),
    ];
    for (i, (ppp, rect)) in cases.into_iter().enumerate() {
        let render_state = create_render_state(
            default_wgpu_setup(),
            eframe::egui_wgpu::RendererOptions::PREDICTABLE,
        );
        gpu::install(&render_state);
        let image = thumb.clone();
        let mut harness = egui_kittest::Harness::builder()
            .with_size(egui::vec2(60.0, 30.0))
            .with_pixels_per_point(ppp)
            .renderer(WgpuTestRenderer::from_render_state(render_state.clone()))
            .build_ui(move |ui| {
                ui.painter().add(
                    gpu::ThumbnailPaintCallback {
                        id: 7,
                        image: image.clone(),
                        rect,
                    }
                    .into_paint_callback(),
                );
            });
        let shot = harness.render().expect("render");
        let (x0, y0) = ((rect.min.x * ppp).round(), (rect.min.y * ppp).round());
        let (w, h) = ((rect.width() * ppp).round(), (rect.height() * ppp).round());
        let mut checked = 0;
        for py in (y0.max(0.0) as u32)..((y0 + h).min(shot.height() as f32) as u32) {
            for px in (x0.max(0.0) as u32)..((x0 + w).min(shot.width() as f32) as u32) {
                let tx = ((px as f32 + 0.5 - x0) * 8.0 / w).floor() as u32;
                let ty = ((py as f32 + 0.5 - y0) * 6.0 / h).floor() as u32;
                assert_eq!(
                    shot.get_pixel(px, py),
                    thumb.get_pixel(tx, ty),
                    "case {i}: pixel ({px}, {py}) should show texel ({tx}, {ty})"
                );
                checked += 1;
            }
        }
        assert!(checked >= 48, "case {i}: only {checked} pixels on screen");
        let renderer = render_state.renderer.read();
        let thumbs = renderer
            .callback_resources
            .get::<gpu::ThumbnailRenderer>()
            .expect("installed with the compositor");
        assert_eq!(thumbs.len(), 1, "uploaded once");
    }
}
