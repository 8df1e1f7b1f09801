//! The canvas view's memory stays flat while the artist paints: every frame of
//! a stroke redraws part of the cached view, and nothing of it may pile up.
//!
//! Its own test binary, so that no other test's allocations share the process
//! whose resident size it reads. Like `gpu_composite`, it needs a wgpu adapter
//! (lavapipe on a machine without a GPU) and fails without one.
use atelier::document::{CanvasRect, Document};
use atelier::render::gpu::{
    self, CanvasStyle, CanvasView, DisplayTarget, GpuCompositor, headless_device,
};
use eframe::egui_wgpu::wgpu;

/// This process's resident memory in MiB, or `None` where /proc is missing.
fn resident_mib() -> Option<u64> {
    atelier::cli::resident_bytes().map(|b| b / (1024 * 1024))
}

/// Mesa's lavapipe re-optimised the view shader before every draw, because
/// uniforms bounded its loops, and kept ~1 MB each time: 300 frames of a
/// stroke grew the process by ~300 MB (composite.wgsl, `loop_bound`).
#[test]
fn painting_frames_do_not_grow_memory() {
    let (device, queue) = headless_device().unwrap_or_else(|e| {
        panic!("GPU tests need a wgpu adapter (apt-get install mesa-vulkan-drivers): {e}")
    });
    let mut doc = Document::new(1600, 1200, [255, 255, 255, 255]).expect("valid size");
    let layer = doc.add_layer_with_pixels("paint", CanvasRect::new(0, 0, 1, 1), &[0, 0, 0, 255]);
    let (w, h) = (1000u32, 800u32);
    let view = CanvasView {
        zoom: 0.7,
        pan: [0.0, 0.0],
        rotation: 0.0,
    };
    let transform = view.transform([w as f32 / 2.0, h as f32 / 2.0], [1600.0, 1200.0]);
    let style = CanvasStyle::default();
    let whole = gpu::PxRect::new(0, 0, w, h);
    let mut comp = GpuCompositor::new(&device, DisplayTarget::new(wgpu::TextureFormat::Rgba8Unorm));
    let dab: Vec<u8> = [20, 40, 200, 255].repeat(12 * 12);
    let mut frame = |i: u32| {
        // A dab along a stroke, then the frame's view update, as the app does.
        let (x, y) = (100 + (i * 7) % 1300, 100 + (i * 3) % 1000);
        doc.grid_mut(layer)
            .expect("layer exists")
            .write_rect(CanvasRect::new(x, y, 12, 12), &dab);
        comp.sync(&device, &queue, &doc).expect("sync");
        let mut encoder = device.create_command_encoder(&Default::default());
        let update = comp.update_view(
            &device,
            &queue,
            &mut encoder,
            &transform,
            1.0,
            &style,
            [w, h],
            whole,
        );
        queue.submit([encoder.finish()]);
        device
            .poll(wgpu::PollType::wait_indefinitely())
            .expect("device alive");
        update
    };
    // Warm up: the first frames build the atlas, the cache and the driver's
    // shader variants.
    for i in 0..20 {
        frame(i);
    }
    let Some(before) = resident_mib() else {
        eprintln!("no /proc/self/status: memory not measured on this OS");
        return;
    };
    let mut partial = 0;
    for i in 20..320 {
        partial += u32::from(matches!(frame(i), gpu::ViewUpdate::Partial(_)));
    }
    let after = resident_mib().expect("read before");
    assert!(
        partial > 250,
        "only {partial} of 300 frames were partial redraws"
    );
    assert!(
        after.saturating_sub(before) < 64,
        "300 painting frames grew the process from {before} to {after} MiB"
    );
}
