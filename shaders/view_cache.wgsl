// Copies the cached canvas view (src/render/gpu/view_cache.rs) to the
// screen. The cache texture is the size of the render target, so texel and
// fragment coordinates are the same and the copy is exact, whatever the
// viewport and scissor egui set for the paint callback.

@group(0) @binding(0) var view_cache: texture_2d<f32>;

// A triangle that covers the whole viewport; no vertex buffer needed.
@vertex
fn vs_fullscreen(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    let uv = vec2<f32>(f32((i << 1u) & 2u), f32(i & 2u));
    return vec4<f32>(uv * 2.0 - 1.0, 0.0, 1.0);
}

@fragment
fn fs_view_cache(@builtin(position) frag: vec4<f32>) -> @location(0) vec4<f32> {
    return textureLoad(view_cache, vec2<i32>(frag.xy), 0);
}
