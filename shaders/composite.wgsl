// Layer compositing, shared by the canvas view (canvas.wgsl, appended to this
// file at load time) and the offscreen 1:1 composite used by tests and export.
//
// The math mirrors `BlendMode::composite` in src/document/blend.rs and
// `render::cpu::composite_rect` exactly: premultiplied sRGB-encoded values,
// f32 accumulation from transparent, the source pre-scaled by layer opacity,
// W3C separable blending. Keep the two in step: tests compare them within
// 1/255 per channel.
//
// Resources (mirrored by `Globals` / `LayerParams` in src/render/gpu/compositor.rs):
// - `atlas`: sparse tile atlas, an rgba8unorm 2D array of pages, each page a
//   grid of `page_tiles × page_tiles` packed 64×64 tiles (premultiplied).
// - `tile_index`: r32uint 2D array, one array layer ("region") per document
//   layer, one texel per tile cell: 0 = empty cell, otherwise atlas slot + 1.
// - `layers`: the visible layers bottom to top (blend, opacity, region).
// Textures and uniforms only (no storage buffers) so that the GL backend with
// WebGL2-level limits can run it too.

const TILE: u32 = 64u;
const MAX_LAYERS: u32 = 256u;

struct Globals {
    // canvas_from_screen linear part, column-major: (m00, m10, m01, m11).
    linear: vec4<f32>,
    // xy: translation of canvas_from_screen; z: physical pixels per screen
    // point; w: checkerboard square side in screen points.
    translation_ppp_checker: vec4<f32>,
    doc_size: vec2<u32>,
    tiles_x: u32,
    layer_count: u32,
    // Tiles per atlas page row (pages are square).
    page_tiles: u32,
    // Supersamples per axis for minification in the canvas view (1 = nearest).
    samples: u32,
    // 1 when the render target is *Srgb, so the colour must be linearised.
    output_linear: u32,
    _pad: u32,
    background: vec4<f32>,
    checker_light: vec4<f32>,
    checker_dark: vec4<f32>,
}

struct LayerParams {
    blend: u32,
    opacity: f32,
    region: u32,
    _pad: u32,
}

struct Layers {
    items: array<LayerParams, MAX_LAYERS>,
}

@group(0) @binding(0) var<uniform> globals: Globals;
@group(0) @binding(1) var<uniform> layers: Layers;
@group(0) @binding(2) var atlas: texture_2d_array<f32>;
@group(0) @binding(3) var tile_index: texture_2d_array<u32>;

// The separable blend function B(cb, cs) on straight colour; the index is
// `BlendMode::shader_index()` (enum order).
fn blend_channel(mode: u32, cb: f32, cs: f32) -> f32 {
    switch mode {
        case 1u: { return cb * cs; }
        case 2u: { return cb + cs - cb * cs; }
        case 3u: {
            if cb <= 0.5 {
                return 2.0 * cb * cs;
            }
            let b = 2.0 * cb - 1.0;
            return b + cs - b * cs;
        }
        case 4u: { return min(cb, cs); }
        case 5u: { return max(cb, cs); }
        case 6u: { return min(cb + cs, 1.0); }
        default: { return cs; }
    }
}

// Premultiplied `src` (opacity applied) over premultiplied `dst`.
fn composite(mode: u32, dst: vec4<f32>, src: vec4<f32>) -> vec4<f32> {
    let ab = dst.a;
    let as_ = src.a;
    var out: vec4<f32>;
    for (var c = 0u; c < 3u; c++) {
        let cb = dst[c];
        let cs = src[c];
        var mixed = 0.0;
        if ab > 0.0 && as_ > 0.0 {
            mixed = as_ * ab * blend_channel(mode, cb / ab, cs / as_);
        }
        out[c] = cs * (1.0 - ab) + cb * (1.0 - as_) + mixed;
    }
    out.a = as_ + ab * (1.0 - as_);
    return out;
}

// `count` (a uniform, at most `cap`) as a loop bound the driver cannot fold
// into the shader. Mesa's lavapipe (Debian 12's 22.3) inlines uniforms that
// bound loops: before every draw it clones and re-optimises the shader with
// their values, about 2 ms and 1 MB a draw, and that memory was never freed
// (the canvas view grew the app by ~60 MB a second while painting). A bound
// that also depends on a texture query is not a uniform, so lavapipe leaves
// the shader alone; `cap` is never below `count`, so the value is the same.
fn loop_bound(count: u32, cap: u32) -> u32 {
    return min(count, cap);
}

// At least MAX_LAYERS, and not a uniform (see `loop_bound`).
fn tile_index_layers() -> u32 {
    return max(textureNumLayers(tile_index), MAX_LAYERS);
}

// All visible layers at canvas pixel `p` (inside the document), premultiplied.
fn composite_pixel(p: vec2<u32>) -> vec4<f32> {
    let cell = vec2<i32>(p / TILE);
    let local = p % TILE;
    let per_page = globals.page_tiles * globals.page_tiles;
    var acc = vec4<f32>(0.0);
    for (var i = 0u; i < loop_bound(globals.layer_count, tile_index_layers()); i++) {
        let layer = layers.items[i];
        let entry = textureLoad(tile_index, cell, i32(layer.region), 0).r;
        if entry == 0u {
            continue;
        }
        let slot = entry - 1u;
        let page = slot / per_page;
        let in_page = slot % per_page;
        let origin = vec2<u32>(in_page % globals.page_tiles, in_page / globals.page_tiles) * TILE;
        let texel = textureLoad(atlas, vec2<i32>(origin + local), i32(page), 0);
        // As the CPU reference: a transparent source pixel changes nothing.
        if texel.a == 0.0 {
            continue;
        }
        acc = composite(layer.blend, acc, texel * layer.opacity);
    }
    return acc;
}

// pos_in_canvas = canvas_from_screen * pos_in_screen (screen in points).
fn canvas_from_screen(s: vec2<f32>) -> vec2<f32> {
    let m = globals.linear;
    return vec2<f32>(m.x * s.x + m.z * s.y, m.y * s.x + m.w * s.y) + globals.translation_ppp_checker.xy;
}

// The canvas pixel a canvas-space position falls in, if inside the document.
fn pixel_at(c: vec2<f32>) -> vec2<i32> {
    let size = vec2<f32>(globals.doc_size);
    if c.x < 0.0 || c.y < 0.0 || c.x >= size.x || c.y >= size.y {
        return vec2<i32>(-1);
    }
    return vec2<i32>(floor(c));
}

// Offscreen composite: premultiplied RGBA, transparent outside the document.
// The unorm render target rounds to 8 bits once, as the CPU reference does.
@fragment
fn fs_composite(@builtin(position) frag: vec4<f32>) -> @location(0) vec4<f32> {
    let p = pixel_at(canvas_from_screen(frag.xy / globals.translation_ppp_checker.z));
    if p.x < 0 {
        return vec4<f32>(0.0);
    }
    return clamp(composite_pixel(vec2<u32>(p)), vec4<f32>(0.0), vec4<f32>(1.0));
}
