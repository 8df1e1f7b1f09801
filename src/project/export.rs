//! Exporting a finished piece: flattened PNG, JPEG, WebP or TIFF, or layered
//! OpenRaster.
//!
//! Every flattened format carries an XMP packet ([`super::xmp`]) with the IPTC
//! digital source type, the GAN's share of the picture, the model versions
//! and the training data's credit line, which exiftool, Photoshop, Lightroom
//! and the platforms that read IPTC see. PNGs also keep their plain text
//! chunks (software, and which layers came from the GAN).
use std::io::Write;
use std::path::{Path, PathBuf};

use image::RgbaImage;

use super::xmp::{self, XmpProvenance};
use super::{ProjectError, atomic_write};
use crate::decisions::CandidateHistory;
use crate::decisions::history::Filter;
use crate::document::authorship::{self, Authorship};
use crate::document::{CanvasRect, Document};
use crate::render::cpu;

/// Exports `doc` to `path`; the format follows the extension (`png`, `jpg` /
/// `jpeg`, `webp`, `tif` / `tiff`, `ora`). `quality` (1–100) is for JPEG.
pub fn export(doc: &Document, path: &Path, quality: u8) -> Result<(), ProjectError> {
    export_rect(doc, doc.bounds(), path, quality)
}

/// Exports the part of `doc` inside `rect` (a selection) as a flattened image;
/// the whole canvas may also go to `.ora`.
pub fn export_rect(
    doc: &Document,
    rect: CanvasRect,
    path: &Path,
    quality: u8,
) -> Result<(), ProjectError> {
    export_rect_with(doc, rect, path, quality, None).map(|_| ())
}

/// [`export_rect`], telling who made the exported picture: its
/// [`Authorship`] (None for `.ora`, which keeps provenance per layer).
/// `credit` is the training data's credit line for the XMP; None looks it up
/// ([`xmp::training_credit`]) when the GAN's work shows.
pub fn export_rect_with(
    doc: &Document,
    rect: CanvasRect,
    path: &Path,
    quality: u8,
    credit: Option<String>,
) -> Result<Option<Authorship>, ProjectError> {
    let rect = rect.intersect(&doc.bounds());
    if rect.is_empty() {
        return Err(ProjectError::malformed(
            path,
            "the area to export is outside the canvas",
        ));
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let format = match ext.as_str() {
        "ora" if rect == doc.bounds() => return super::ora::save_plain(doc, path).map(|_| None),
        "ora" => {
            return Err(ProjectError::malformed(
                path,
                "a selection exports as a flat image: use .png, .jpg, .webp or .tif",
            ));
        }
        "png" => Flat::Png,
        "jpg" | "jpeg" => Flat::Jpeg(quality.clamp(1, 100)),
        "webp" => Flat::WebP,
        "tif" | "tiff" => Flat::Tiff,
        other => {
            return Err(ProjectError::malformed(
                path,
                format!("cannot export to `.{other}`: use .png, .jpg, .webp, .tif or .ora"),
            ));
        }
    };
    let who = authorship::authorship_rect(doc, rect);
    // The credit is only written when the GAN's work shows: no lookup otherwise.
    let models: Vec<String> = who.models().into_iter().map(|(m, _)| m).collect();
    let credit = credit.or_else(|| {
        who.any_gan_visible()
            .then(|| xmp::training_credit(&models))
            .flatten()
    });
    let packet = XmpProvenance::new(&who, credit).packet();
    match format {
        Flat::Png => {
            let img = cpu::flatten_rect(doc, rect);
            atomic_write(path, |f| write_png(&img, &text_chunks(doc), &packet, f))?;
        }
        Flat::Jpeg(q) => {
            // JPEG has no alpha: flatten over white, as a printed page would.
            let img = cpu::flatten_over(doc, rect, [255, 255, 255]);
            atomic_write(path, |f| write_jpeg(&img, q, &packet, f))?;
        }
        Flat::WebP => {
            let img = cpu::flatten_rect(doc, rect);
            atomic_write(path, |f| write_webp(&img, &packet, f))?;
        }
        Flat::Tiff => {
            let img = cpu::flatten_rect(doc, rect);
            atomic_write(path, |f| write_tiff(&img, &packet, f))?;
        }
    }
    Ok(Some(who))
}

/// A flattened export format.
enum Flat {
    Png,
    /// With its quality, 1–100.
    Jpeg(u8),
    WebP,
    Tiff,
}

fn write_jpeg(
    img: &image::RgbImage,
    quality: u8,
    packet: &str,
    f: &mut std::fs::File,
) -> Result<(), String> {
    let mut buf = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, quality)
        .encode_image(img)
        .map_err(|e| e.to_string())?;
    let buf = xmp::insert_into_jpeg(&buf, packet.as_bytes()).map_err(|e| e.to_string())?;
    f.write_all(&buf).map_err(|e| e.to_string())
}

/// Lossless WebP (what `image` writes) with the packet in an `XMP ` chunk;
/// the encoder adds the VP8X header with its XMP flag.
fn write_webp(img: &RgbaImage, packet: &str, f: &mut std::fs::File) -> Result<(), String> {
    let mut buf = Vec::new();
    let mut enc = image_webp::WebPEncoder::new(&mut buf);
    enc.set_xmp_metadata(packet.as_bytes().to_vec());
    enc.encode(
        img.as_raw(),
        img.width(),
        img.height(),
        image_webp::ColorType::Rgba8,
    )
    .map_err(|e| e.to_string())?;
    f.write_all(&buf).map_err(|e| e.to_string())
}

/// Uncompressed RGBA TIFF (what `image` writes) with the packet in tag 700.
fn write_tiff(img: &RgbaImage, packet: &str, f: &mut std::fs::File) -> Result<(), String> {
    use tiff::encoder::{TiffEncoder, colortype::RGBA8};
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut enc = TiffEncoder::new(&mut buf).map_err(|e| e.to_string())?;
    let mut image = enc
        .new_image::<RGBA8>(img.width(), img.height())
        .map_err(|e| e.to_string())?;
    image
        .encoder()
        .write_tag(tiff::tags::Tag::Unknown(xmp::TIFF_TAG), packet.as_bytes())
        .map_err(|e| e.to_string())?;
    image.write_data(img.as_raw()).map_err(|e| e.to_string())?;
    f.write_all(buf.get_ref()).map_err(|e| e.to_string())
}

/// Writes every candidate in `history` that `filter` admits to `dir` as
/// lossless PNGs named by id, seed and model version, each carrying its
/// provenance (text chunks and XMP: a GAN composite of the canvas, with its
/// model version; no share, since a candidate is not measured by layers).
/// Returns the paths written.
pub fn export_candidates(
    history: &CandidateHistory,
    filter: Filter,
    dir: &Path,
) -> Result<Vec<PathBuf>, ProjectError> {
    std::fs::create_dir_all(dir).map_err(|e| ProjectError::io(dir, e))?;
    let mut written = Vec::new();
    for r in history.filtered(filter) {
        let credit = xmp::training_credit(std::slice::from_ref(&r.model));
        let path = dir.join(format!("candidate-{}-seed{}-{}.png", r.id, r.seed, r.model));
        let img = history
            .image(&r.output)
            .map_err(|e| ProjectError::malformed(&path, e.to_string()))?;
        let rgba = image::DynamicImage::ImageRgb8(img).into_rgba8();
        let text = vec![
            ("Software", format!("Atelier {}", env!("CARGO_PKG_VERSION"))),
            (
                "AI-generated",
                format!(
                    "GAN model {} seed {} strength {:.2} (critic {:+.3}, {:?})",
                    r.model, r.seed, r.strength, r.critic, r.decision
                ),
            ),
        ];
        let packet = XmpProvenance {
            source_type: xmp::COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA,
            gan_share: None,
            models: vec![r.model.clone()],
            training_credit: credit,
        }
        .packet();
        atomic_write(&path, |f| write_png(&rgba, &text, &packet, f))?;
        written.push(path);
    }
    Ok(written)
}

/// Text chunks describing how the piece was made: the software, and which
/// visible layers came from the GAN (model version, seed and strength each).
fn text_chunks(doc: &Document) -> Vec<(&'static str, String)> {
    let ai: Vec<String> = doc
        .layers()
        .iter()
        .filter(|l| l.props.visible)
        .filter_map(|l| {
            let p = l.props.provenance.as_ref()?;
            Some(format!(
                "layer `{}`: model {} seed {} strength {:.2}",
                l.props.name, p.model, p.seed, p.strength
            ))
        })
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
    packet: &str,
    w: &mut std::fs::File,
) -> Result<(), String> {
    let mut enc = png::Encoder::new(std::io::BufWriter::new(w), img.width(), img.height());
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    for (key, value) in text {
        enc.add_itxt_chunk((*key).to_string(), value.clone())
            .map_err(|e| e.to_string())?;
    }
    // Uncompressed iTXt, as the XMP specification asks, so that readers that
    // scan for the packet find it.
    enc.add_itxt_chunk(xmp::PNG_KEYWORD.to_string(), packet.to_string())
        .map_err(|e| e.to_string())?;
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
        let id = doc.add_layer_with_pixels(
            "Variation",
            CanvasRect::new(5, 5, 2, 2),
            &[200, 0, 0, 255].repeat(4),
        );
        let mut props = doc.layer(id).unwrap().props.clone();
        props.provenance = Some(crate::document::Provenance {
            model: "v1".into(),
            seed: 7,
            strength: 0.5,
            candidate: None,
        });
        doc.set_props(id, props).unwrap();
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
        // Every flat format carries the XMP packet where its own decoder
        // looks for it (exiftool reads them too: tests/provenance.rs).
        for ext in ["png", "jpg", "webp", "tif"] {
            use image::ImageDecoder;
            let path = dir.path().join(format!("out.{ext}"));
            let packet = if ext == "tif" {
                // image's TIFF reader caps tag values by the image's size,
                // which this 40×30 one is too small for: read the tag itself.
                let file = std::fs::File::open(&path).unwrap();
                tiff::decoder::Decoder::new(std::io::BufReader::new(file))
                    .unwrap()
                    .get_tag_u8_vec(tiff::tags::Tag::Unknown(xmp::TIFF_TAG))
                    .unwrap()
            } else {
                image::ImageReader::open(&path)
                    .unwrap()
                    .with_guessed_format()
                    .unwrap()
                    .into_decoder()
                    .unwrap()
                    .xmp_metadata()
                    .unwrap()
                    .expect(ext)
            };
            let packet = String::from_utf8(packet).unwrap();
            assert!(
                packet.contains(xmp::COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA),
                "{ext}: {packet}"
            );
            assert!(packet.contains("<rdf:li>v1</rdf:li>"), "{ext}: {packet}");
        }
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
            texts
                .iter()
                .any(|t| t.contains("model v1 seed 7 strength 0.50")),
            "{texts:?}"
        );
        // A selection exports only its pixels.
        let sel = dir.path().join("sel.png");
        export_rect(&doc, CanvasRect::new(4, 4, 4, 3), &sel, 90).unwrap();
        let back = image::open(&sel).unwrap().into_rgba8();
        assert_eq!(back.dimensions(), (4, 3));
        assert_eq!(back.get_pixel(1, 1).0, [200, 0, 0, 255]);
        assert_eq!(back.get_pixel(0, 0).0, [255, 255, 255, 255]);
        assert!(
            export_rect(
                &doc,
                CanvasRect::new(4, 4, 4, 3),
                &dir.path().join("s.ora"),
                90
            )
            .is_err()
        );
    }
}
