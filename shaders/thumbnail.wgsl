// Draws a small image (a candidate thumbnail, src/render/gpu/thumbnails.rs)
// into its rectangle, nearest texel per pixel, with textureLoad: no sampler
// and no filtering, so a software rasteriser spends almost nothing per pixel.

struct Placement {
    // Top-left corner of the thumbnail in framebuffer pixels (unclamped, so
    // a thumbnail scrolled half out of view keeps its mapping).
    origin: vec2<f32>,
    // Texels per framebuffer pixel along x and y.
    scale: vec2<f32>,
}

@group(0) @binding(0) var thumb: texture_2d<f32>;
@group(0) @binding(1) var<uniform> place: Placement;

@fragment
fn fs_thumbnail(@builtin(position) frag: vec4<f32>) -> @location(0) vec4<f32> {
    let size = vec2<i32>(textureDimensions(thumb));
    let texel = vec2<i32>(floor((frag.xy - place.origin) * place.scale));
    return textureLoad(thumb, clamp(texel, vec2<i32>(0), size - 1), 0);
}
