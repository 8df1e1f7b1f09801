//! Provenance in XMP, the metadata other tools read.
//!
//! An exported picture says how it was made with the IPTC Digital Source Type
//! (`Iptc4xmpExt:DigitalSourceType`): `compositeWithTrainedAlgorithmicMedia`
//! when any visible pixel came from a GAN-made layer, `digitalCreation` when
//! the artist painted all of it. With it go the AI system and its versions
//! (`Iptc4xmpExt:AISystemUsed`, `AISystemVersionUsed`, IPTC 2025.1), the
//! creating tool (`xmp:CreatorTool`) and, in Atelier's own namespace
//! ([`NAMESPACE`]), the GAN's share of the picture
//! ([`crate::document::authorship`]), the model versions as a list and the
//! credit line of the data the model learned from.
//!
//! [`packet`] builds the XMP packet; [`insert_into_jpeg`] is the one piece of
//! container surgery done by hand (the JPEG encoder has no XMP hook); PNG,
//! WebP and TIFF get theirs from their encoders in [`super::export`].
use std::path::{Path, PathBuf};

use crate::document::authorship::Authorship;

/// IPTC digital source type: made by a person with digital tools.
pub const DIGITAL_CREATION: &str = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCreation";
/// IPTC digital source type: a composite that includes generative-AI output.
pub const COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA: &str =
    "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia";
/// Namespace of Atelier's own properties (`atelier:GanShare`,
/// `atelier:ModelVersions`, `atelier:TrainingDataCredit`). A URN: it names
/// the vocabulary without claiming a web address.
pub const NAMESPACE: &str = "urn:x-atelier:xmp:provenance:1.0/";
/// What `Iptc4xmpExt:AISystemUsed` names.
pub const AI_SYSTEM: &str = "Atelier variation GAN";
/// PNG iTXt keyword of an XMP packet.
pub const PNG_KEYWORD: &str = "XML:com.adobe.xmp";
/// Start of a JPEG APP1 segment that holds XMP.
pub const JPEG_HEADER: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
/// TIFF tag of an XMP packet (`XMLPacket`).
pub const TIFF_TAG: u16 = 700;
/// Where the training data's credit line is looked for first (a path to a
/// data card JSON file).
pub const DATA_CARD_ENV: &str = "ATELIER_DATA_CARD";

/// Longest credit line kept, in characters. With the limits on models
/// below, the packet stays under 30 KB even if every character must be
/// escaped, so that it always fits one JPEG segment (64 KiB).
const MAX_CREDIT: usize = 2000;
/// Longest model version id kept, in characters (ids are 16 hex digits).
const MAX_MODEL_ID: usize = 32;
/// Most model versions listed.
const MAX_MODELS: usize = 32;
/// Largest packet one JPEG APP1 segment holds.
pub const MAX_JPEG_PACKET: usize = u16::MAX as usize - 2 - JPEG_HEADER.len();

/// The embedded default model's sidecar: the fallback for the credit line.
static DEFAULT_SIDECAR: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/models/default.json"
));

/// Why XMP could not be put into a file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum XmpError {
    /// The bytes do not start with a JPEG start-of-image marker.
    #[error("not a JPEG stream (no start-of-image marker)")]
    NotJpeg,
    /// A segment before the insertion point runs past the end of the data.
    #[error("the JPEG stream is cut short in its header segments")]
    Truncated,
    /// The packet does not fit one APP1 segment.
    #[error("the XMP packet is {bytes} bytes; one JPEG segment holds at most {MAX_JPEG_PACKET}")]
    TooLarge {
        /// Packet size.
        bytes: usize,
    },
}

/// What an exported picture says about how it was made.
#[derive(Clone, Debug, PartialEq)]
pub struct XmpProvenance {
    /// The IPTC digital source type URI ([`DIGITAL_CREATION`] or
    /// [`COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA`]).
    pub source_type: &'static str,
    /// Share of the visible picture from GAN-made layers, 0..=1; None where
    /// it was not measured (a candidate exported on its own).
    pub gan_share: Option<f64>,
    /// Model versions whose output shows, largest share first.
    pub models: Vec<String>,
    /// Credit line of the data the model learned from; only written when the
    /// GAN contributed.
    pub training_credit: Option<String>,
}

impl XmpProvenance {
    /// The facts for a picture whose authorship is `a`.
    pub fn new(a: &Authorship, training_credit: Option<String>) -> Self {
        let gan = a.any_gan_visible();
        Self {
            source_type: if gan {
                COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA
            } else {
                DIGITAL_CREATION
            },
            gan_share: Some(a.gan_share()),
            models: if gan {
                a.models().into_iter().map(|(m, _)| m).collect()
            } else {
                Vec::new()
            },
            training_credit: training_credit.filter(|_| gan),
        }
    }

    /// The XMP packet (UTF-8, with the `<?xpacket?>` wrapper).
    pub fn packet(&self) -> String {
        packet(self)
    }
}

/// Serialises `p` as an XMP packet.
pub fn packet(p: &XmpProvenance) -> String {
    let tool = format!("Atelier {}", env!("CARGO_PKG_VERSION"));
    let mut props = String::new();
    let mut prop = |name: &str, value: &str| {
        props.push_str(&format!("   <{name}>{}</{name}>\n", escape(value)));
    };
    prop("xmp:CreatorTool", &tool);
    prop("Iptc4xmpExt:DigitalSourceType", p.source_type);
    let models: Vec<&str> = p
        .models
        .iter()
        .take(MAX_MODELS)
        .map(|m| clip(m, MAX_MODEL_ID))
        .collect();
    if !models.is_empty() {
        prop("Iptc4xmpExt:AISystemUsed", AI_SYSTEM);
        prop("Iptc4xmpExt:AISystemVersionUsed", &models.join(", "));
    }
    if let Some(share) = p.gan_share {
        prop("atelier:GanShare", &format!("{share:.4}"));
    }
    if let Some(credit) = &p.training_credit {
        prop("atelier:TrainingDataCredit", clip(credit, MAX_CREDIT));
    }
    if !models.is_empty() {
        props.push_str("   <atelier:ModelVersions>\n    <rdf:Bag>\n");
        for m in &models {
            props.push_str(&format!("     <rdf:li>{}</rdf:li>\n", escape(m)));
        }
        props.push_str("    </rdf:Bag>\n   </atelier:ModelVersions>\n");
    }
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
         <x:xmpmeta xmlns:x=\"adobe:ns:meta/\" x:xmptk=\"{tool}\">\n \
         <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n  \
         <rdf:Description rdf:about=\"\"\n    \
         xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n    \
         xmlns:Iptc4xmpExt=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\"\n    \
         xmlns:atelier=\"{NAMESPACE}\">\n\
         {props}  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n\
         <?xpacket end=\"w\"?>",
        tool = escape(&tool),
    )
}

/// `s` cut to `max` characters (on a character boundary).
fn clip(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// XML text: markup characters escaped, and the control characters XML 1.0
/// cannot hold dropped (a credit line is read from a file we do not control).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// The training data's credit line, for pictures the GAN contributed to.
///
/// From the data card's `credit` field (a string, or a list of strings
/// joined with "; "), looked for at `$ATELIER_DATA_CARD`, then at
/// `assets/models/data-card.json` beside the executable and in the source
/// tree it was built from. Without a readable card, from the default model's
/// own record of its data (`data.source` in its sidecar). None when neither
/// says anything.
///
/// A card that lists the model versions trained on it (`models`) speaks
/// only for those: a picture made by another model (the embedded default,
/// trained before the corpus existed) is not credited to the card's data.
pub fn training_credit(models: &[String]) -> Option<String> {
    let card = data_card_paths()
        .into_iter()
        .find_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t)));
    let from_card = card.and_then(|(path, text)| {
        if !card_covers(&text, models) {
            return None;
        }
        let credit = credit_from_card(&text);
        if credit.is_none() {
            tracing::warn!(
                "{}: no `credit` line in the data card; using the model's own record",
                path.display()
            );
        }
        credit
    });
    from_card.or_else(|| credit_from_sidecar(DEFAULT_SIDECAR))
}

fn data_card_paths() -> Vec<PathBuf> {
    const REL: &str = "assets/models/data-card.json";
    let mut paths = Vec::new();
    if let Some(p) = std::env::var_os(DATA_CARD_ENV).filter(|p| !p.is_empty()) {
        paths.push(PathBuf::from(p));
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        paths.push(dir.join(REL));
    }
    paths.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(REL));
    paths
}

/// Whether a data card speaks for one of `models`: it does when it names
/// no models, or names one of them.
pub fn card_covers(json: &str, models: &[String]) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else {
        return true;
    };
    match v.get("models").and_then(|m| m.as_array()) {
        None => true,
        Some(listed) => listed
            .iter()
            .filter_map(|m| m.as_str())
            .any(|m| models.iter().any(|x| x == m)),
    }
}

/// The `credit` field of a data card (JSON), trimmed; None when the card is
/// not JSON or has no non-empty credit.
pub fn credit_from_card(json: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let credit = match v.get("credit")? {
        serde_json::Value::String(s) => s.trim().to_string(),
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::trim))
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("; "),
        _ => return None,
    };
    (!credit.is_empty()).then_some(credit)
}

/// A credit line from a model sidecar's record of its training data.
pub fn credit_from_sidecar(json: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let source = v.get("data")?.get("source")?.as_str()?.trim();
    (!source.is_empty()).then(|| format!("Trained on {source}"))
}

/// `jpeg` with an APP1 segment holding `packet` inserted after the
/// start-of-image marker and any APP0 (JFIF) segments, which must come first.
pub fn insert_into_jpeg(jpeg: &[u8], packet: &[u8]) -> Result<Vec<u8>, XmpError> {
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return Err(XmpError::NotJpeg);
    }
    if packet.len() > MAX_JPEG_PACKET {
        return Err(XmpError::TooLarge {
            bytes: packet.len(),
        });
    }
    // The length field counts itself (2 bytes) and the payload.
    let len = 2 + JPEG_HEADER.len() + packet.len();
    let mut at = 2;
    while jpeg.get(at..at + 2) == Some(&[0xFF, 0xE0]) {
        let seg = jpeg.get(at + 2..at + 4).ok_or(XmpError::Truncated)?;
        let seg_len = u16::from_be_bytes([seg[0], seg[1]]) as usize;
        if seg_len < 2 || at + 2 + seg_len > jpeg.len() {
            return Err(XmpError::Truncated);
        }
        at += 2 + seg_len;
    }
    let mut out = Vec::with_capacity(jpeg.len() + len + 2);
    out.extend_from_slice(&jpeg[..at]);
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(JPEG_HEADER);
    out.extend_from_slice(packet);
    out.extend_from_slice(&jpeg[at..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gan_authorship() -> Authorship {
        Authorship {
            visible_area: 100.0,
            gan_area: 25.0,
            gan_pixels: 30,
            layers: vec![crate::document::authorship::LayerShare {
                id: crate::document::LayerId(2),
                model: "652de31c1581f8b6".into(),
                area: 25.0,
            }],
        }
    }

    #[test]
    fn packet_is_well_formed_and_says_what_happened() {
        let p = XmpProvenance::new(&gan_authorship(), Some("Photos by A & B <cc-by>".into()));
        let xml = p.packet();
        assert!(xml.contains(COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA));
        assert!(xml.contains("<atelier:GanShare>0.2500</atelier:GanShare>"));
        assert!(xml.contains("Photos by A &amp; B &lt;cc-by&gt;"));
        assert!(xml.contains("<rdf:li>652de31c1581f8b6</rdf:li>"));
        // Every element closes: a real XML parser reads it through.
        let mut reader = quick_xml::Reader::from_str(&xml);
        let mut depth = 0i32;
        loop {
            match reader.read_event().expect("well-formed XML") {
                quick_xml::events::Event::Start(_) => depth += 1,
                quick_xml::events::Event::End(_) => depth -= 1,
                quick_xml::events::Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(depth, 0);
    }

    #[test]
    fn painted_pictures_are_digital_creations_without_model_or_credit() {
        let mut a = gan_authorship();
        a.gan_pixels = 0;
        let p = XmpProvenance::new(&a, Some("credit".into()));
        assert_eq!(p.source_type, DIGITAL_CREATION);
        assert!(p.models.is_empty() && p.training_credit.is_none());
        let xml = p.packet();
        assert!(!xml.contains("AISystem") && !xml.contains("credit"));
        let blank = XmpProvenance::new(&Authorship::default(), None).packet();
        assert!(blank.contains("<atelier:GanShare>0.0000<"), "{blank}");
    }

    #[test]
    fn credit_comes_from_the_card_or_the_model() {
        assert_eq!(
            credit_from_card(r#"{"credit": " Debian wallpapers, CC BY-SA "}"#).as_deref(),
            Some("Debian wallpapers, CC BY-SA")
        );
        assert_eq!(
            credit_from_card(r#"{"credit": ["a", "", "b"]}"#).as_deref(),
            Some("a; b")
        );
        assert_eq!(credit_from_card(r#"{"credit": ""}"#), None);
        assert_eq!(credit_from_card("not json"), None);
        assert_eq!(credit_from_card(r#"{"sources": []}"#), None);
        let fallback =
            credit_from_sidecar(DEFAULT_SIDECAR).expect("the default model records its data");
        assert!(fallback.starts_with("Trained on "), "{fallback}");
        assert_eq!(credit_from_sidecar("{}"), None);
    }

    #[test]
    fn hostile_text_stays_inside_its_element_and_its_size() {
        // Every character escaped, every limit reached: still one segment.
        let p = XmpProvenance {
            source_type: COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA,
            gan_share: Some(1.0),
            models: vec![format!("\u{1}</x>{}", "\"".repeat(5000)); 500],
            training_credit: Some("&".repeat(100_000)),
        };
        let xml = p.packet();
        assert!(!xml.contains('\u{1}') && !xml.contains("</x>"));
        assert!(xml.len() < 30_000, "{}", xml.len());
        assert!(xml.len() <= MAX_JPEG_PACKET);
        assert_eq!(xml.matches("<rdf:li>").count(), MAX_MODELS);
        let jpeg = [0xFF, 0xD8, 0xFF, 0xD9];
        assert!(insert_into_jpeg(&jpeg, xml.as_bytes()).is_ok());
    }

    #[test]
    fn jpeg_segment_goes_after_jfif() {
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, b'J', b'F', 0xFF, 0xDB, 0x00, 0x02, 0xFF, 0xD9,
        ];
        let out = insert_into_jpeg(&jpeg, b"<x/>").unwrap();
        assert_eq!(&out[..8], &jpeg[..8]);
        assert_eq!(&out[8..10], &[0xFF, 0xE1]);
        let len = u16::from_be_bytes([out[10], out[11]]) as usize;
        assert_eq!(len, 2 + JPEG_HEADER.len() + 4);
        assert_eq!(&out[10 + len..], &jpeg[8..]);
        assert_eq!(insert_into_jpeg(b"GIF89a", b"x"), Err(XmpError::NotJpeg));
        assert_eq!(
            insert_into_jpeg(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x40], b"x"),
            Err(XmpError::Truncated)
        );
        assert!(matches!(
            insert_into_jpeg(&jpeg, &vec![b' '; 70_000]),
            Err(XmpError::TooLarge { .. })
        ));
    }
}
