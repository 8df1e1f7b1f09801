//! Importing images: decoding with size and memory limits, so a hostile file
//! (a decompression bomb, a header claiming 100000×100000) is refused with a
//! message instead of exhausting memory.
use std::path::Path;

use image::RgbaImage;

use super::ProjectError;
use crate::document::{CanvasRect, Document, DocumentError, History, LayerProps};

/// Largest image side accepted.
pub const MAX_IMAGE_SIDE: u32 = 16384;
/// Largest decoded size in bytes.
pub const MAX_IMAGE_BYTES: u64 = 1 << 30;

/// Decodes PNG, JPEG, WebP, TIFF, BMP or GIF (first frame) into straight RGBA.
pub fn decode_image(path: &Path) -> Result<RgbaImage, ProjectError> {
    let size = std::fs::metadata(path)
        .map_err(|e| ProjectError::io(path, e))?
        .len();
    if size > MAX_IMAGE_BYTES {
        return Err(ProjectError::malformed(
            path,
            format!("the file is larger than {MAX_IMAGE_BYTES} bytes"),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| ProjectError::io(path, e))?;
    let mut reader = image::ImageReader::new(std::io::Cursor::new(&bytes))
        .with_guessed_format()
        .map_err(|e| ProjectError::io(path, e))?;
    if reader.format() == Some(image::ImageFormat::Jpeg) && !jpeg_is_complete(&bytes) {
        // The JPEG decoder fills a cut-off scan with grey instead of failing.
        return Err(ProjectError::malformed(
            path,
            "cannot decode image: the JPEG is truncated (no end-of-image marker after its last scan)",
        ));
    }
    if reader.format() == Some(image::ImageFormat::WebP) && !riff_is_complete(&bytes) {
        // A WebP cut after its image data (before its XMP chunk, say) still
        // decodes: refuse it as what it is, a damaged file.
        return Err(ProjectError::malformed(
            path,
            "cannot decode image: the WebP file is truncated (shorter than its RIFF header says)",
        ));
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_IMAGE_BYTES);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| ProjectError::malformed(path, format!("cannot decode image: {e}")))?;
    Ok(img.into_rgba8())
}

/// A complete JPEG has an end-of-image marker (FF D9) after its last
/// start-of-scan (FF DA). Inside scan data FF is always followed by 00 or a
/// restart marker, so FF D9 there cannot be a false match.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last = |m: [u8; 2]| bytes.windows(2).rposition(|w| w == m);
    matches!((last([0xFF, 0xDA]), last([0xFF, 0xD9])), (Some(sos), Some(eoi)) if eoi > sos)
}

/// A complete RIFF file (WebP) is at least as long as its header says: 8
/// bytes of header plus the size in bytes 4..8 (little-endian).
fn riff_is_complete(bytes: &[u8]) -> bool {
    match bytes.get(4..8) {
        Some(n) => {
            let size = u32::from_le_bytes([n[0], n[1], n[2], n[3]]) as usize;
            bytes.len() >= 8 + size
        }
        None => false,
    }
}

/// Whether `path` names a project or OpenRaster file (by extension).
pub fn is_project_path(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("atelier") || e.eq_ignore_ascii_case("ora"))
}

/// Opens any supported file as a document: a project or OpenRaster file as
/// itself, an image as a new one-layer document of its size.
pub fn open_as_document(path: &Path) -> Result<super::Project, ProjectError> {
    if is_project_path(path) {
        return super::load(path);
    }
    let img = decode_image(path)?;
    let mut doc = Document::new(img.width(), img.height(), [0; 4])
        .map_err(|e| ProjectError::malformed(path, e.to_string()))?;
    let first = doc.active();
    let mut history = History::with_budget(0);
    add_image_layer(&mut doc, &mut history, &layer_name(path), &img)
        .and_then(|()| history.edit_stack(&mut doc, "open", None, |d| d.delete_layer(first)))
        .map_err(|e| ProjectError::malformed(path, e.to_string()))?;
    Ok(super::Project {
        doc,
        meta: Default::default(),
        warnings: Vec::new(),
    })
}

/// One layer decoded for import: its properties and straight-RGBA pixels.
pub type DecodedLayer = (LayerProps, RgbaImage);

/// Decodes a file for import as layers: an image is one layer named after
/// the file; an OpenRaster or project file gives each of its layers (bottom
/// first) with their properties.
pub fn decode_layers(path: &Path) -> Result<Vec<DecodedLayer>, ProjectError> {
    decode_layers_reporting(path).map(|(layers, _)| layers)
}

/// [`decode_layers`], with what an OpenRaster or project file had that was
/// read inexactly (see [`super::Project::warnings`]).
pub fn decode_layers_reporting(
    path: &Path,
) -> Result<(Vec<DecodedLayer>, Vec<String>), ProjectError> {
    if !is_project_path(path) {
        return Ok((
            vec![(LayerProps::named(layer_name(path)), decode_image(path)?)],
            Vec::new(),
        ));
    }
    let p = super::load(path)?;
    let bounds = p.doc.bounds();
    let layers = p
        .doc
        .layers()
        .iter()
        .map(|l| {
            let mut px = l.grid.read_rect(bounds);
            for q in px.chunks_exact_mut(4) {
                q.copy_from_slice(&crate::document::blend::unpremultiply([
                    q[0], q[1], q[2], q[3],
                ]));
            }
            let img = RgbaImage::from_raw(bounds.w, bounds.h, px)
                .ok_or_else(|| ProjectError::malformed(path, "layer buffer size"))?;
            Ok((l.props.clone(), img))
        })
        .collect::<Result<_, ProjectError>>()?;
    Ok((layers, p.warnings))
}

/// Adds one straight-RGBA image as a new layer named `name`, top-left
/// aligned and cut to the canvas, as one undoable step.
pub fn add_image_layer(
    doc: &mut Document,
    history: &mut History,
    name: &str,
    img: &RgbaImage,
) -> Result<(), DocumentError> {
    add_layer_with_props(doc, history, LayerProps::named(name), img)
}

/// Like [`add_image_layer`], with all of the new layer's properties.
pub fn add_layer_with_props(
    doc: &mut Document,
    history: &mut History,
    props: LayerProps,
    img: &RgbaImage,
) -> Result<(), DocumentError> {
    let rect = CanvasRect::new(
        0,
        0,
        img.width().min(doc.width()),
        img.height().min(doc.height()),
    );
    let cropped = image::imageops::crop_imm(img, 0, 0, rect.w, rect.h).to_image();
    history.edit_stack(doc, "Import image", None, |d| {
        let id = d.add_layer_with_pixels(&props.name, rect, cropped.as_raw());
        d.set_props(id, props)
    })
}

/// The layer name an imported file gets: its file name without extension.
pub fn layer_name(path: &Path) -> String {
    path.file_stem()
        .map_or("Imported".into(), |s| s.to_string_lossy().into_owned())
}

/// Adds each file as layers, as the app's Import as layers does
/// ([`decode_layers`]): an image is one layer, an OpenRaster or project file
/// gives every one of its layers with their properties; one undoable step
/// per layer. Returns how many layers were added.
pub fn import_images(
    doc: &mut Document,
    history: &mut History,
    paths: &[&Path],
) -> Result<usize, ProjectError> {
    import_layers(doc, history, paths).map(|(added, _)| added)
}

/// [`import_images`], also returning what was read inexactly, each message
/// prefixed with its file.
pub fn import_layers(
    doc: &mut Document,
    history: &mut History,
    paths: &[&Path],
) -> Result<(usize, Vec<String>), ProjectError> {
    let mut added = 0;
    let mut warnings = Vec::new();
    for path in paths {
        let (layers, read) = decode_layers_reporting(path)?;
        warnings.extend(read.into_iter().map(|w| format!("{}: {w}", path.display())));
        for (props, img) in layers {
            add_layer_with_props(doc, history, props, &img)
                .map_err(|e| ProjectError::malformed(path, e.to_string()))?;
            added += 1;
        }
    }
    Ok((added, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_headers_and_garbage_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        // A valid PNG header claiming 100000×100000 pixels.
        let mut png = Vec::new();
        png.extend_from_slice(b"\x89PNG\r\n\x1a\n");
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(b"IHDR");
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
        png.extend_from_slice(&13u32.to_be_bytes());
        png.extend_from_slice(&ihdr);
        png.extend_from_slice(&[0, 0, 0, 0]);
        let bomb = dir.path().join("bomb.png");
        std::fs::write(&bomb, &png).unwrap();
        assert!(decode_image(&bomb).is_err());
        let junk = dir.path().join("junk.png");
        std::fs::write(&junk, b"not an image").unwrap();
        let err = decode_image(&junk).unwrap_err().to_string();
        assert!(err.contains("junk.png"), "{err}");
    }

    #[test]
    fn images_become_layers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dot.png");
        RgbaImage::from_pixel(300, 10, image::Rgba([10, 20, 30, 255]))
            .save(&path)
            .unwrap();
        let mut doc = Document::new(100, 100, [0; 4]).unwrap();
        let mut h = History::default();
        assert_eq!(import_images(&mut doc, &mut h, &[&path]).unwrap(), 1);
        let layer = doc.layer(doc.active()).unwrap();
        assert_eq!(layer.props.name, "dot");
        assert_eq!(layer.grid.pixel(99, 9), [10, 20, 30, 255]);
        assert_eq!(layer.grid.pixel(0, 10), [0; 4]);
        h.undo(&mut doc);
        assert_eq!(doc.layers().len(), 1);
        // As a new document: its size, one layer.
        let p = open_as_document(&path).unwrap();
        assert_eq!(
            (p.doc.width(), p.doc.height(), p.doc.layers().len()),
            (300, 10, 1)
        );
        assert_eq!(p.doc.layers()[0].grid.pixel(299, 9), [10, 20, 30, 255]);
    }
}
