// Canvas view: appended to composite.wgsl (which declares the bindings and
// `composite_pixel`). Maps each screen fragment through the view transform,
// composites the document there over a screen-aligned checkerboard and paints
// a neutral background outside the canvas.

// Colour seen at one screen point (in points), straight and opaque.
fn view_sample(screen_pt: vec2<f32>) -> vec3<f32> {
    let p = pixel_at(canvas_from_screen(screen_pt));
    if p.x < 0 {
        return globals.background.rgb;
    }
    let px = clamp(composite_pixel(vec2<u32>(p)), vec4<f32>(0.0), vec4<f32>(1.0));
    // Checker squares are fixed on screen so they never look like canvas content.
    let square = vec2<i32>(floor(screen_pt / globals.translation_ppp_checker.w));
    var checker = globals.checker_light.rgb;
    if ((square.x + square.y) & 1) != 0 {
        checker = globals.checker_dark.rgb;
    }
    // Premultiplied "over": the checkerboard is opaque.
    return px.rgb + checker * (1.0 - px.a);
}

fn srgb_to_linear(c: vec3<f32>) -> vec3<f32> {
    let low = c / 12.92;
    let high = pow((c + 0.055) / 1.055, vec3<f32>(2.4));
    return select(high, low, c <= vec3<f32>(0.04045));
}

@fragment
fn fs_canvas(@builtin(position) frag: vec4<f32>) -> @location(0) vec4<f32> {
    let ppp = globals.translation_ppp_checker.z;
    // At most 4 samples per axis (see `loop_bound` for why not the uniform).
    let n = loop_bound(max(globals.samples, 1u), max(textureNumLayers(atlas), 4u));
    // Zoomed out, a box filter over n×n sub-pixel samples stands in for
    // mipmaps (which a sparse, ever-changing atlas does not have).
    var sum = vec3<f32>(0.0);
    for (var j = 0u; j < n; j++) {
        for (var i = 0u; i < n; i++) {
            let offset = (vec2<f32>(f32(i), f32(j)) + 0.5) / f32(n) - 0.5;
            sum += view_sample((frag.xy + offset) / ppp);
        }
    }
    var color = clamp(sum / f32(n * n), vec3<f32>(0.0), vec3<f32>(1.0));
    // Document values are sRGB-encoded; an *Srgb target would encode again.
    if globals.output_linear != 0u {
        color = srgb_to_linear(color);
    }
    return vec4<f32>(color, 1.0);
}
