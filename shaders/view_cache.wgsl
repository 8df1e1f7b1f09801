// Copies the cached canvas view (src/render/gpu/view_cache.rs) to the
// screen. The cache texture is the size of the render target, so texel and
// fragment coordinates are the same and the copy is exact, whatever the
// viewport and scissor egui set for the paint callback.

@group(0) @binding(0) var view_cache: texture_2d<f32>;

@fragment
fn fs_view_cache(@builtin(position) frag: vec4<f32>) -> @location(0) vec4<f32> {
    return textureLoad(view_cache, vec2<i32>(frag.xy), 0);
}
