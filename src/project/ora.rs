//! Reading and writing the OpenRaster container.
use std::io::{Read, Seek, Write};
use std::path::Path;

use image::{ImageFormat, RgbaImage};
use quick_xml::events::Event;
use zip::write::SimpleFileOptions;

use super::ProjectError;
use crate::document::blend::{premultiply, unpremultiply};
use crate::document::{BlendMode, Document, History, LayerProps};
use crate::render::cpu;

/// Writes `doc` to `path` atomically: the previous file survives any failure.
pub fn save(doc: &Document, path: &Path) -> Result<(), ProjectError> {
    super::atomic_write(path, |file| write_zip(doc, file).map_err(|e| e.to_string()))
}

fn png_bytes(img: &RgbaImage) -> Result<Vec<u8>, image::ImageError> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png)?;
    Ok(out.into_inner())
}

fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

fn write_zip<W: Write + Seek>(doc: &Document, w: W) -> Result<(), Box<dyn std::error::Error>> {
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
pub fn load(path: &Path) -> Result<Document, ProjectError> {
    let file = std::fs::File::open(path).map_err(|e| ProjectError::io(path, e))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| ProjectError::NotAProject {
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
    let (w, h, entries) =
        parse_stack(&xml).map_err(|e| ProjectError::malformed(path, format!("stack.xml: {e}")))?;
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
    Ok(doc)
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

fn parse_stack(xml: &[u8]) -> Result<(u32, u32, Vec<LayerEntry>), String> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut size = None;
    let mut layers = Vec::new();
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Eof => break,
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
                    "image" => {
                        let num = |k: &str| -> Result<u32, String> {
                            attr.get(k)
                                .ok_or(format!("<image> has no {k}"))?
                                .parse()
                                .map_err(|_| format!("<image> {k} is not a number"))
                        };
                        size = Some((num("w")?, num("h")?));
                    }
                    "layer" => {
                        let src = attr.get("src").ok_or("<layer> has no src")?.clone();
                        let mut props = LayerProps::named(
                            attr.get("name").cloned().unwrap_or_else(|| "Layer".into()),
                        );
                        props.opacity = attr
                            .get("opacity")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(1.0);
                        props.visible = attr.get("visibility").is_none_or(|v| v != "hidden");
                        props.lock_alpha = attr.get("alpha-preserve").is_some_and(|v| v == "true");
                        props.blend = match attr.get("composite-op") {
                            None => BlendMode::Normal,
                            Some(op) => BlendMode::from_svg_name(op).unwrap_or_else(|| {
                                tracing::warn!("unknown blend mode {op}; using normal");
                                BlendMode::Normal
                            }),
                        };
                        let coord = |k: &str| {
                            attr.get(k)
                                .and_then(|v| v.parse::<f64>().ok())
                                .unwrap_or(0.0) as i64
                        };
                        layers.push(LayerEntry {
                            props,
                            src,
                            x: coord("x"),
                            y: coord("y"),
                        });
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    let (w, h) = size.ok_or("no <image> element")?;
    Ok((w, h, layers))
}
