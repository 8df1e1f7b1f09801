//! Exporting a finished piece: flattened PNG, JPEG, WebP or TIFF, or layered
//! OpenRaster. PNGs carry where they came from in text chunks.
use std::io::Write;
use std::path::Path;

use image::{ImageFormat, RgbaImage};

use super::{ProjectError, atomic_write};
use crate::document::Document;
use crate::render::cpu;

/// Exports `doc` to `path`; the format follows the extension (`png`, `jpg` /
/// `jpeg`, `webp`, `tif` / `tiff`, `ora`). `quality` (1–100) is for JPEG.
pub fn export(doc: &Document, path: &Path, quality: u8) -> Result<(), ProjectError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "ora" => super::save(doc, path),
        "png" => {
            let img = cpu::flatten(doc);
            atomic_write(path, |f| write_png(&img, &provenance(doc), f))
        }
        "jpg" | "jpeg" => {
            // JPEG has no alpha: flatten over white, as a printed page would.
            let img = cpu::flatten_over(doc, doc.bounds(), [255, 255, 255]);
            let q = quality.clamp(1, 100);
            atomic_write(path, |f| {
                image::codecs::jpeg::JpegEncoder::new_with_quality(f, q)
                    .encode_image(&img)
                    .map_err(|e| e.to_string())
            })
        }
        "webp" | "tif" | "tiff" => {
            let format = if ext == "webp" {
                ImageFormat::WebP
            } else {
                ImageFormat::Tiff
            };
            let img = cpu::flatten(doc);
            atomic_write(path, |f| {
                let mut buf = std::io::Cursor::new(Vec::new());
                img.write_to(&mut buf, format).map_err(|e| e.to_string())?;
                f.write_all(buf.get_ref()).map_err(|e| e.to_string())
            })
        }
        other => Err(ProjectError::malformed(
            path,
            format!("cannot export to `.{other}`: use .png, .jpg, .webp, .tif or .ora"),
        )),
    }
}

/// Text chunks describing how the piece was made: the software, and which
/// layers came from the GAN (their names carry model version and seed).
fn provenance(doc: &Document) -> Vec<(&'static str, String)> {
    let ai: Vec<String> = doc
        .layers()
        .iter()
        .filter(|l| l.props.visible && l.props.name.starts_with("GAN "))
        .map(|l| l.props.name.clone())
        .collect();
    let mut chunks = vec![("Software", format!("Atelier {}", env!("CARGO_PKG_VERSION")))];
    chunks.push((
        "AI-generated",
        if ai.is_empty() {
            "none: every layer was painted by hand".to_string()
        } else {
            format!(
                "{} of {} layers came from the GAN: {}",
                ai.len(),
                doc.layers().len(),
                ai.join("; ")
            )
        },
    ));
    chunks
}

fn write_png(
    img: &RgbaImage,
    text: &[(&'static str, String)],
    w: &mut std::fs::File,
) -> Result<(), String> {
    let mut enc = png::Encoder::new(std::io::BufWriter::new(w), img.width(), img.height());
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    for (key, value) in text {
        enc.add_itxt_chunk((*key).to_string(), value.clone())
            .map_err(|e| e.to_string())?;
    }
    let mut writer = enc.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(img.as_raw())
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::CanvasRect;

    #[test]
    fn every_format_writes_a_readable_file() {
        let mut doc = Document::new(40, 30, [255, 255, 255, 255]).unwrap();
        doc.add_layer_with_pixels(
            "GAN v1 seed 7",
            CanvasRect::new(5, 5, 2, 2),
            &[200, 0, 0, 255].repeat(4),
        );
        let dir = tempfile::tempdir().unwrap();
        for ext in ["png", "jpg", "webp", "tif", "ora"] {
            let path = dir.path().join(format!("out.{ext}"));
            export(&doc, &path, 90).unwrap();
            if ext != "ora" {
                let back = image::open(&path).unwrap().into_rgba8();
                assert_eq!(back.dimensions(), (40, 30), "{ext}");
                let p = back.get_pixel(5, 5).0;
                assert!(p[0] > 150 && p[1] < 60, "{ext}: {p:?}");
            }
        }
        assert!(export(&doc, &dir.path().join("out.gif"), 90).is_err());
        // The PNG says which layers came from the GAN.
        let bytes = std::fs::read(dir.path().join("out.png")).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = decoder.read_info().unwrap();
        let texts: Vec<String> = reader
            .info()
            .utf8_text
            .iter()
            .map(|t| t.get_text().unwrap())
            .collect();
        assert!(
            texts.iter().any(|t| t.contains("GAN v1 seed 7")),
            "{texts:?}"
        );
    }
}
