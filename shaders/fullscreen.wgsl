// The vertex stage every full-viewport pass shares (prepended to
// composite.wgsl + canvas.wgsl and to view_cache.wgsl).

// A triangle that covers the whole viewport; no vertex buffer needed.
@vertex
fn vs_fullscreen(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    let uv = vec2<f32>(f32((i << 1u) & 2u), f32(i & 2u));
    return vec4<f32>(uv * 2.0 - 1.0, 0.0, 1.0);
}
