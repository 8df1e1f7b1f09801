//! Reading and writing the OpenRaster container.
//!
//! Every number read from a file is checked before use: see `layer_entry`
//! for `stack.xml` and [`Manifest::sanitize`] for `atelier/manifest.json`.
use std::io::{Read, Seek, Write};
use std::path::Path;

use image::{ImageFormat, RgbaImage};
use quick_xml::events::Event;
use zip::write::SimpleFileOptions;

use super::manifest::{LayerMeta, Manifest, SCHEMA};
use super::{Project, ProjectError, ProjectMeta};
use crate::decisions::CandidateHistory;
use crate::document::blend::{premultiply, unpremultiply};
use crate::document::{BlendMode, Document, History, LayerProps};
use crate::render::cpu;

/// Writes a project (`doc` plus `meta` in `atelier/`) to `path` atomically:
/// the previous file survives any failure.
pub fn save(doc: &Document, meta: &ProjectMeta, path: &Path) -> Result<(), ProjectError> {
    super::atomic_write(path, |file| {
        write_zip(doc, Some(meta), file).map_err(|e| e.to_string())
    })
}

/// Writes a plain OpenRaster file, without Atelier's `atelier/` folder.
pub fn save_plain(doc: &Document, path: &Path) -> Result<(), ProjectError> {
    super::atomic_write(path, |file| {
        write_zip(doc, None, file).map_err(|e| e.to_string())
    })
}

fn png_bytes(img: &RgbaImage) -> Result<Vec<u8>, image::ImageError> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png)?;
    Ok(out.into_inner())
}

fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

fn write_zip<W: Write + Seek>(
    doc: &Document,
    meta: Option<&ProjectMeta>,
    w: W,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut zip = zip::ZipWriter::new(w);
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("mimetype", stored)?;
    zip.write_all(b"image/openraster")?;

    // stack.xml lists layers top first.
    let mut xml = format!(
        "<?xml version='1.0' encoding='UTF-8'?>\n<image version=\"0.0.5\" w=\"{}\" h=\"{}\">\n<stack>\n",
        doc.width(),
        doc.height()
    );
    for (i, layer) in doc.layers().iter().enumerate().rev() {
        let p = &layer.props;
        xml += &format!(
            "<layer name=\"{}\" src=\"data/layer{i}.png\" x=\"0\" y=\"0\" opacity=\"{:.4}\" visibility=\"{}\" composite-op=\"{}\" alpha-preserve=\"{}\"/>\n",
            escape(&p.name),
            p.opacity,
            if p.visible { "visible" } else { "hidden" },
            p.blend.svg_name(),
            p.lock_alpha
        );
    }
    xml += "</stack>\n</image>\n";
    zip.start_file("stack.xml", deflated)?;
    zip.write_all(xml.as_bytes())?;

    for (i, layer) in doc.layers().iter().enumerate() {
        let mut px = layer.grid.read_rect(doc.bounds());
        for p in px.chunks_exact_mut(4) {
            p.copy_from_slice(&unpremultiply([p[0], p[1], p[2], p[3]]));
        }
        let img = RgbaImage::from_raw(doc.width(), doc.height(), px).ok_or("layer buffer size")?;
        // PNG is already compressed: store it.
        zip.start_file(format!("data/layer{i}.png"), stored)?;
        zip.write_all(&png_bytes(&img)?)?;
    }
    let merged = cpu::flatten(doc);
    zip.start_file("mergedimage.png", stored)?;
    zip.write_all(&png_bytes(&merged)?)?;
    // At most 256 px on the long side, aspect kept.
    let scale = (256.0 / doc.width().max(doc.height()) as f32).min(1.0);
    let side = |v: u32| ((v as f32 * scale).round() as u32).max(1);
    let thumb = image::imageops::thumbnail(&merged, side(doc.width()), side(doc.height()));
    zip.start_file("Thumbnails/thumbnail.png", stored)?;
    zip.write_all(&png_bytes(&thumb)?)?;
    if let Some(meta) = meta {
        let manifest = Manifest {
            schema: SCHEMA,
            generator: format!("Atelier {}", env!("CARGO_PKG_VERSION")),
            settings: meta.settings.clone(),
            layers: doc
                .layers()
                .iter()
                .map(|l| LayerMeta {
                    name: l.props.name.clone(),
                    provenance: l.props.provenance.clone(),
                })
                .collect(),
            candidates: meta.candidates.records.clone(),
            steering: meta.steering.clone(),
        };
        zip.start_file("atelier/manifest.json", deflated)?;
        zip.write_all(&serde_json::to_vec_pretty(&manifest)?)?;
        for (key, png) in &meta.candidates.images {
            zip.start_file(format!("atelier/history/{key}.png"), stored)?;
            zip.write_all(png)?;
        }
    }
    zip.finish()?;
    Ok(())
}

/// One `<layer>` element of `stack.xml`.
struct LayerEntry {
    props: LayerProps,
    src: String,
    x: i64,
    y: i64,
}

/// Reads a project (or any OpenRaster file). Sizes beyond the document limits
/// and damaged parts are refused with an error naming the problem.
pub fn load(path: &Path) -> Result<Project, ProjectError> {
    let file = std::fs::File::open(path).map_err(|e| ProjectError::io(path, e))?;
    read(file, path)
}

/// Reads a project from any seekable reader; `path` only names it in errors.
pub fn read<R: Read + Seek>(reader: R, path: &Path) -> Result<Project, ProjectError> {
    let mut warnings = Vec::new();
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| ProjectError::NotAProject {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let mime = read_entry(&mut zip, path, "mimetype", 64)?;
    if mime.trim_ascii() != b"image/openraster" {
        return Err(ProjectError::NotAProject {
            path: path.to_owned(),
            reason: "mimetype is not image/openraster".into(),
        });
    }
    let xml = read_entry(&mut zip, path, "stack.xml", 16 << 20)?;
    let (w, h, entries) = parse_stack(&xml, &mut warnings)
        .map_err(|e| ProjectError::malformed(path, format!("stack.xml: {e}")))?;
    let mut doc =
        Document::new(w, h, [0; 4]).map_err(|e| ProjectError::malformed(path, e.to_string()))?;
    let first = doc.active();
    // stack.xml is top first; add bottom first.
    for entry in entries.iter().rev() {
        let bytes = read_entry(&mut zip, path, &entry.src, 1 << 30)?;
        let img = decode_png(&bytes, w, h)
            .map_err(|e| ProjectError::malformed(path, format!("{}: {e}", entry.src)))?;
        let (iw, ih) = img.dimensions();
        let mut px = img.into_raw();
        for p in px.chunks_exact_mut(4) {
            p.copy_from_slice(&premultiply([p[0], p[1], p[2], p[3]]));
        }
        let id = doc.add_layer(&entry.props.name);
        if let Some(grid) = doc.grid_mut(id) {
            grid.write_clipped(entry.x, entry.y, iw, ih, &px);
        }
        doc.set_props(id, entry.props.clone())
            .map_err(|e| ProjectError::malformed(path, e.to_string()))?;
    }
    if doc.layers().len() > 1 {
        // Drop the empty layer Document::new made; the file's layers replace it.
        let mut history = History::with_budget(0);
        history
            .edit_stack(&mut doc, "load", None, |d| d.delete_layer(first))
            .map_err(|e| ProjectError::malformed(path, e.to_string()))?;
    }
    let meta = read_meta(&mut zip, path, &mut doc, &mut warnings)?;
    Ok(Project {
        doc,
        meta,
        warnings,
    })
}

/// Reads `atelier/` if present (a plain OpenRaster file has none) and puts
/// each layer's provenance back on its layer.
fn read_meta<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    path: &Path,
    doc: &mut Document,
    warnings: &mut Vec<String>,
) -> Result<ProjectMeta, ProjectError> {
    if zip.index_for_name("atelier/manifest.json").is_none() {
        return Ok(ProjectMeta::default());
    }
    let bytes = read_entry(zip, path, "atelier/manifest.json", 256 << 20)?;
    let mut manifest =
        Manifest::parse(&bytes).map_err(|e| ProjectError::malformed(path, e.to_string()))?;
    warnings.extend(manifest.sanitize(doc.layers().len()));
    let ids: Vec<_> = doc.layers().iter().map(|l| l.id).collect();
    for (id, meta) in ids.into_iter().zip(&manifest.layers) {
        let Some(mut props) = doc.layer(id).map(|l| l.props.clone()) else {
            continue;
        };
        if props.name != meta.name {
            warnings.push(format!(
                "layer `{}` does not match its manifest entry `{}`; its provenance was not restored",
                props.name, meta.name
            ));
            continue;
        }
        props.provenance = meta.provenance.clone();
        doc.set_props(id, props)
            .map_err(|e| ProjectError::malformed(path, e.to_string()))?;
    }
    let mut candidates = CandidateHistory {
        records: manifest.candidates,
        images: Default::default(),
    };
    // Every stored history image, referenced or not (an input whose Vary was
    // cancelled before any candidate), so a save after an open loses nothing.
    let names: Vec<String> = zip
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| ProjectError::malformed(path, format!("a part name is unreadable: {e}")))?;
    let parts = names
        .into_iter()
        .filter(|n| n.starts_with("atelier/history/") && n.ends_with(".png"));
    for part in parts {
        let key = part["atelier/history/".len()..part.len() - 4].to_owned();
        let png = read_entry(zip, path, &part, 1 << 30)?;
        candidates.images.insert(key, std::sync::Arc::new(png));
    }
    let missing: std::collections::BTreeSet<&str> = candidates
        .records
        .iter()
        .flat_map(|r| [r.input.as_str(), r.output.as_str()])
        .filter(|k| !k.is_empty() && !candidates.images.contains_key(*k))
        .collect();
    for key in missing {
        warnings.push(format!(
            "candidate history image `atelier/history/{key}.png` is missing"
        ));
    }
    Ok(ProjectMeta {
        settings: manifest.settings,
        candidates,
        steering: manifest.steering,
    })
}

fn read_entry<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    path: &Path,
    name: &str,
    limit: u64,
) -> Result<Vec<u8>, ProjectError> {
    let entry = zip
        .by_name(name)
        .map_err(|_| ProjectError::malformed(path, format!("missing part `{name}`")))?;
    if entry.size() > limit {
        return Err(ProjectError::malformed(
            path,
            format!("part `{name}` is larger than {limit} bytes"),
        ));
    }
    let mut out = Vec::with_capacity(entry.size() as usize);
    entry
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| ProjectError::malformed(path, format!("part `{name}` is damaged: {e}")))?;
    Ok(out)
}

fn decode_png(bytes: &[u8], max_w: u32, max_h: u32) -> Result<RgbaImage, image::ImageError> {
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), ImageFormat::Png);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(max_w.max(1) * 2);
    limits.max_image_height = Some(max_h.max(1) * 2);
    limits.max_alloc = Some(1 << 30);
    reader.limits(limits);
    Ok(reader.decode()?.into_rgba8())
}

fn parse_stack(
    xml: &[u8],
    warnings: &mut Vec<String>,
) -> Result<(u32, u32, Vec<LayerEntry>), String> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut size = None;
    let mut layers = Vec::new();
    // The groups (`<stack>`) the reader is inside: their visibility and opacity.
    let mut groups: Vec<(bool, f32)> = Vec::new();
    loop {
        let event = reader.read_event().map_err(|e| e.to_string())?;
        let opens_group = matches!(&event, Event::Start(e) if e.name().as_ref() == "stack");
        match event {
            Event::Eof => break,
            Event::End(e) if e.name().as_ref() == "stack" => {
                groups.pop();
            }
            Event::Start(e) | Event::Empty(e) => {
                let mut attr = std::collections::HashMap::new();
                for a in e.attributes() {
                    let a = a.map_err(|e| e.to_string())?;
                    let key = AsRef::<str>::as_ref(&a.key).to_owned();
                    let value = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| e.to_string())?
                        .into_owned();
                    attr.insert(key, value);
                }
                match e.name().as_ref() {
                    "image" => size = Some((canvas_side(&attr, "w")?, canvas_side(&attr, "h")?)),
                    "layer" => {
                        let mut layer = layer_entry(&attr, warnings)?;
                        // Layers are flattened out of their groups: a hidden
                        // group hides them, and its opacity applies to each.
                        for (visible, opacity) in &groups {
                            layer.props.visible &= visible;
                            layer.props.opacity *= opacity;
                        }
                        layers.push(layer);
                    }
                    "stack" if opens_group => groups.push(group_entry(attr, warnings)?),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    let (w, h) = size.ok_or("no <image> element")?;
    Ok((w, h, layers))
}

/// A `<stack>` (a group, or the root): its visibility and opacity, read with
/// the checks of [`layer_entry`]. Atelier has no groups, so the group's layers
/// are flattened into the stack: where that changes how they look (a group's
/// opacity over overlapping layers, a group blend mode), a warning says so.
fn group_entry(mut attr: Attributes, warnings: &mut Vec<String>) -> Result<(bool, f32), String> {
    let name = attr.get("name").cloned().unwrap_or_else(|| "group".into());
    attr.insert("src".into(), String::new());
    let op = attr.remove("composite-op");
    let g = layer_entry(&attr, warnings)?;
    if g.props.opacity < 1.0 {
        warnings.push(format!(
            "group `{name}`: its opacity {} is applied to each of its layers (they were in one group)",
            g.props.opacity
        ));
    }
    if let Some(op) = op.filter(|op| !matches!(op.as_str(), "svg:src-over" | "svg:pass-through")) {
        warnings.push(format!(
            "group `{name}`: blend mode `{op}` is not kept (its layers were flattened out of it)"
        ));
    }
    Ok((g.props.visible, g.props.opacity))
}

/// Attributes of one element, by name.
type Attributes = std::collections::HashMap<String, String>;

/// Furthest a layer may be placed from the canvas, in pixels. Layer images are
/// at most twice the canvas side ([`decode_png`]), so a layer this far out is
/// entirely off the canvas, as it would be at any larger offset; clamping to
/// it keeps `offset + width` far from overflowing.
const MAX_OFFSET: f64 = 4.0 * super::MAX_SIDE as f64;

/// `<image>`'s `w` or `h`: a whole number of pixels, else the file is refused
/// (sizes outside 1..=[`super::MAX_SIDE`] are refused by `Document::new`).
fn canvas_side(attr: &Attributes, key: &str) -> Result<u32, String> {
    let v = attr.get(key).ok_or(format!("<image> has no {key}"))?;
    v.trim().parse().map_err(|_| {
        format!(
            "<image> {key} `{v}` is not a whole number of pixels (1–{})",
            super::MAX_SIDE
        )
    })
}

/// One `<layer>`. Every number and word read is checked, never trusted:
///
/// - `opacity`: a finite number is clamped to 0..=1 (with a warning when it
///   was outside); anything else (NaN, infinity, not a number) is refused and
///   the layer is opaque (1.0), with a warning.
/// - `x`, `y`: a finite number is rounded and clamped to ±[`MAX_OFFSET`];
///   anything else is 0, with a warning.
/// - `visibility`: `visible` or `hidden` (any case); anything else is
///   visible, with a warning. `alpha-preserve`: `true` or `false` (any
///   case); anything else is false, with a warning.
fn layer_entry(attr: &Attributes, warnings: &mut Vec<String>) -> Result<LayerEntry, String> {
    let src = attr.get("src").ok_or("<layer> has no src")?.clone();
    let mut props = LayerProps::named(attr.get("name").cloned().unwrap_or_else(|| "Layer".into()));
    let name = props.name.clone();
    let mut warn = |what: String| warnings.push(format!("layer `{name}`: {what}"));
    if let Some(v) = attr.get("opacity") {
        props.opacity = match v.trim().parse::<f32>() {
            Ok(o) if o.is_finite() => {
                if !(0.0..=1.0).contains(&o) {
                    warn(format!(
                        "opacity `{v}` is outside 0–1; using {}",
                        o.clamp(0.0, 1.0)
                    ));
                }
                o.clamp(0.0, 1.0)
            }
            _ => {
                warn(format!(
                    "opacity `{v}` is not a number from 0 to 1; using 1"
                ));
                1.0
            }
        };
    }
    let mut coord = |k: &str| match attr.get(k) {
        None => 0,
        Some(v) => match v.trim().parse::<f64>() {
            Ok(c) if c.is_finite() => c.round().clamp(-MAX_OFFSET, MAX_OFFSET) as i64,
            _ => {
                warn(format!("offset {k} `{v}` is not a number; using 0"));
                0
            }
        },
    };
    let (x, y) = (coord("x"), coord("y"));
    let mut word = |k: &str, yes: &str, no: &str, default: bool| match attr.get(k) {
        None => default,
        Some(v) if v.trim().eq_ignore_ascii_case(yes) => true,
        Some(v) if v.trim().eq_ignore_ascii_case(no) => false,
        Some(v) => {
            let used = if default { yes } else { no };
            warn(format!(
                "{k} `{v}` is neither `{yes}` nor `{no}`; using `{used}`"
            ));
            default
        }
    };
    props.visible = word("visibility", "visible", "hidden", true);
    props.lock_alpha = word("alpha-preserve", "true", "false", false);
    props.blend = match attr.get("composite-op") {
        None => BlendMode::Normal,
        Some(op) => BlendMode::from_svg_name(op).unwrap_or_else(|| {
            warn(format!("unknown blend mode `{op}`, using normal"));
            BlendMode::Normal
        }),
    };
    Ok(LayerEntry { props, src, x, y })
}
