//! Importing images: decoding with size and memory limits, so a hostile file
//! (a decompression bomb, a header claiming 100000×100000) is refused with a
//! message instead of exhausting memory.
use std::path::Path;

use image::RgbaImage;

use super::ProjectError;
use crate::document::{CanvasRect, Document, DocumentError, History};

/// Largest image side accepted.
pub const MAX_IMAGE_SIDE: u32 = 16384;
/// Largest decoded size in bytes.
pub const MAX_IMAGE_BYTES: u64 = 1 << 30;

/// Decodes PNG, JPEG, WebP, TIFF, BMP or GIF (first frame) into straight RGBA.
pub fn decode_image(path: &Path) -> Result<RgbaImage, ProjectError> {
    let mut reader = image::ImageReader::open(path)
        .map_err(|e| ProjectError::io(path, e))?
        .with_guessed_format()
        .map_err(|e| ProjectError::io(path, e))?;
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

/// Adds one straight-RGBA image as a new layer named `name`, top-left
/// aligned and cut to the canvas, as one undoable step.
pub fn add_image_layer(
    doc: &mut Document,
    history: &mut History,
    name: &str,
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
        d.add_layer_with_pixels(name, rect, cropped.as_raw());
        Ok(())
    })
}

/// The layer name an imported file gets: its file name without extension.
pub fn layer_name(path: &Path) -> String {
    path.file_stem()
        .map_or("Imported".into(), |s| s.to_string_lossy().into_owned())
}

/// Decodes each image and adds it as a layer (one undoable step per image).
/// Returns how many layers were added.
pub fn import_images(
    doc: &mut Document,
    history: &mut History,
    paths: &[&Path],
) -> Result<usize, ProjectError> {
    for path in paths {
        let img = decode_image(path)?;
        add_image_layer(doc, history, &layer_name(path), &img)
            .map_err(|e| ProjectError::malformed(path, e.to_string()))?;
    }
    Ok(paths.len())
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
    }
}
