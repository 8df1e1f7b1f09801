//! Fullscreen passes: one triangle over the viewport (`vs_fullscreen` in
//! `shaders/fullscreen.wgsl`) running a fragment shader on every pixel. The
//! compositor, the view cache's copy to the screen and the thumbnails draw this
//! way, so the vertex stage and the pipeline setup are written once, here.
use eframe::egui_wgpu::wgpu;

/// Compiles `fragment` (WGSL) behind `shaders/fullscreen.wgsl`, whose
/// `vs_fullscreen` [`fullscreen_pipeline`] uses as its vertex stage.
pub(super) fn fullscreen_shader(
    device: &wgpu::Device,
    label: &str,
    fragment: &str,
) -> wgpu::ShaderModule {
    let source = format!(
        "{}\n{fragment}",
        include_str!("../../../shaders/fullscreen.wgsl")
    );
    device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    })
}

/// A fragment-stage `texture_2d<f32>` binding read with `textureLoad` only
/// (non-filterable).
pub(super) fn loaded_texture_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Texture {
            sample_type: wgpu::TextureSampleType::Float { filterable: false },
            view_dimension: wgpu::TextureViewDimension::D2,
            multisampled: false,
        },
        count: None,
    }
}

/// A pipeline that runs fragment `entry` of `shader` over the viewport with
/// one fullscreen triangle (`vs_fullscreen` in `shaders/fullscreen.wgsl`),
/// writing `format` without blending into a pass of `samples` samples and,
/// if given, a depth/stencil attachment it neither tests nor writes (as
/// egui's pass has).
#[allow(clippy::too_many_arguments)]
pub(super) fn fullscreen_pipeline(
    device: &wgpu::Device,
    layout: &wgpu::PipelineLayout,
    shader: &wgpu::ShaderModule,
    label: &str,
    entry: &str,
    format: wgpu::TextureFormat,
    samples: u32,
    depth: Option<wgpu::TextureFormat>,
) -> wgpu::RenderPipeline {
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(label),
        layout: Some(layout),
        vertex: wgpu::VertexState {
            module: shader,
            entry_point: Some("vs_fullscreen"),
            compilation_options: Default::default(),
            buffers: &[],
        },
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: depth.map(|format| wgpu::DepthStencilState {
            format,
            depth_write_enabled: Some(false),
            depth_compare: Some(wgpu::CompareFunction::Always),
            stencil: Default::default(),
            bias: Default::default(),
        }),
        multisample: wgpu::MultisampleState {
            count: samples,
            ..Default::default()
        },
        fragment: Some(wgpu::FragmentState {
            module: shader,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            targets: &[Some(wgpu::ColorTargetState {
                format,
                blend: None,
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        multiview_mask: None,
        cache: None,
    })
}
