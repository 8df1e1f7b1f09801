//! `atelier new`, `paint` and `info`: documents without a window.
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use serde::{Deserialize, Serialize};

use crate::brush::{Stroke, hex_color, raster::MaskCache};
use crate::document::{Document, History};
use crate::project;

/// `atelier new OUT --size WxH [--background #rrggbb]`
#[derive(Debug, Args)]
pub struct NewArgs {
    /// Project file to create (`.atelier`).
    pub out: PathBuf,
    /// Canvas size, e.g. 1920x1080.
    #[arg(long, value_parser = parse_size)]
    pub size: (u32, u32),
    /// Background colour; `transparent` for none.
    #[arg(long, default_value = "#ffffff")]
    pub background: String,
}

/// `atelier paint PROJECT --strokes FILE.json`
#[derive(Debug, Args)]
pub struct PaintArgs {
    /// Project file to paint on (rewritten in place, atomically).
    pub project: PathBuf,
    /// JSON stroke file (format in the README).
    #[arg(long)]
    pub strokes: PathBuf,
}

/// `atelier export PROJECT --out FILE.{png,jpg,webp,tif,ora} [--quality Q]`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Project to export.
    pub project: PathBuf,
    /// Output file; the extension picks the format. With `--candidates`, a folder.
    #[arg(long)]
    pub out: PathBuf,
    /// JPEG quality, 1–100.
    #[arg(long, default_value_t = 92, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub quality: u8,
    /// Export only this rectangle (a selection): `X,Y,W,H` in canvas pixels.
    #[arg(long, value_parser = parse_region)]
    pub region: Option<crate::document::CanvasRect>,
    /// Instead of the canvas, write the project's candidates from its history
    /// into the `--out` folder: `accepted`, `rejected`, `favourite` or `all`.
    #[arg(long, value_parser = parse_filter)]
    pub candidates: Option<crate::decisions::history::Filter>,
}

fn parse_region(s: &str) -> Result<crate::document::CanvasRect, String> {
    let v: Vec<u32> = s
        .split(',')
        .map(|p| p.trim().parse::<u32>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("`{s}` is not X,Y,W,H"))?;
    match v[..] {
        [x, y, w, h] if w > 0 && h > 0 => Ok(crate::document::CanvasRect::new(x, y, w, h)),
        _ => Err(format!("`{s}` is not X,Y,W,H with a non-zero size")),
    }
}

fn parse_filter(s: &str) -> Result<crate::decisions::history::Filter, String> {
    use crate::decisions::history::Filter;
    match s {
        "all" => Ok(Filter::All),
        "accepted" => Ok(Filter::Accepted),
        "rejected" => Ok(Filter::Rejected),
        "favourite" | "favorite" => Ok(Filter::Favourite),
        _ => Err(format!(
            "`{s}` is not one of accepted, rejected, favourite, all"
        )),
    }
}

/// `atelier import IMAGE... --into PROJECT [--as-layers]`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Images to import (PNG, JPEG, WebP, TIFF, BMP, GIF; an OpenRaster or
    /// project file gives all its layers).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// The project. Without `--as-layers` it must not exist yet: it is created
    /// as a new document from the first image (an OpenRaster file keeps its
    /// layers), and further images become layers.
    #[arg(long)]
    pub into: PathBuf,
    /// Add the images as layers to an existing project.
    #[arg(long)]
    pub as_layers: bool,
}

/// `atelier info FILE`
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// A project file.
    pub file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A stroke file: strokes replayed in order.
#[derive(Debug, Serialize, Deserialize)]
pub struct StrokeFile {
    /// The strokes.
    pub strokes: Vec<LayerStroke>,
}

/// A stroke and the layer it goes on.
#[derive(Debug, Serialize, Deserialize)]
pub struct LayerStroke {
    /// Layer index from the bottom (0); default: the top layer.
    #[serde(default)]
    pub layer: Option<usize>,
    /// The stroke itself.
    #[serde(flatten)]
    pub stroke: Stroke,
}

pub(super) fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X', '×'])
        .ok_or_else(|| format!("`{s}` is not WIDTHxHEIGHT"))?;
    let n = |v: &str| {
        v.trim()
            .parse::<u32>()
            .map_err(|_| format!("`{v}` is not a whole number"))
    };
    Ok((n(w)?, n(h)?))
}

/// Parses `#rrggbb`, `#rrggbbaa` or `transparent` into straight RGBA.
pub fn parse_background(s: &str) -> anyhow::Result<[u8; 4]> {
    if s.eq_ignore_ascii_case("transparent") {
        return Ok([0; 4]);
    }
    let hex = s.strip_prefix('#').unwrap_or(s);
    if hex.len() == 8 {
        let rgb = hex_color::parse(&hex[..6]);
        let a = u8::from_str_radix(&hex[6..], 16).ok();
        if let (Some(c), Some(a)) = (rgb, a) {
            return Ok([c[0], c[1], c[2], a]);
        }
    }
    let c = hex_color::parse(s)
        .with_context(|| format!("`{s}` is not a colour (#rrggbb, #rrggbbaa or transparent)"))?;
    Ok([c[0], c[1], c[2], 255])
}

pub(super) fn new(args: NewArgs) -> anyhow::Result<()> {
    let (w, h) = args.size;
    let doc = Document::new(w, h, parse_background(&args.background)?)?;
    project::save(&doc, &Default::default(), &args.out)?;
    outln!("created {} ({w}×{h})", args.out.display());
    Ok(())
}

pub(super) fn paint(args: PaintArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.strokes)
        .with_context(|| format!("cannot read stroke file {}", args.strokes.display()))?;
    let file: StrokeFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a valid stroke file", args.strokes.display()))?;
    let project::Project { mut doc, meta, .. } = load_reporting(&args.project)?;
    let mut history = History::default();
    let mut cache = MaskCache::default();
    for (i, entry) in file.strokes.iter().enumerate() {
        let index = entry.layer.unwrap_or(doc.layers().len() - 1);
        let Some(id) = doc.layers().get(index).map(|l| l.id) else {
            bail!(
                "stroke {i}: no layer {index} (the document has {})",
                doc.layers().len()
            );
        };
        let mut stroke = entry.stroke.clone();
        stroke.brush = stroke.brush.sanitized();
        stroke.paint_on(&mut doc, &mut history, &mut cache, id)?;
    }
    project::save(&doc, &meta, &args.project)?;
    outln!(
        "painted {} strokes onto {}",
        file.strokes.len(),
        args.project.display()
    );
    Ok(())
}

/// What `atelier info` reports.
#[derive(Debug, Serialize)]
pub struct Info {
    width: u32,
    height: u32,
    layers: Vec<LayerInfo>,
    candidates: CandidateCounts,
    steered_by: u32,
    authorship: AuthorshipInfo,
}

/// Whose picture it is ([`crate::document::authorship`]).
#[derive(Debug, Serialize)]
struct AuthorshipInfo {
    /// Share of the visible picture from GAN-made layers, 0..=1.
    gan_share: f64,
    /// Share painted by the artist (0 for an empty picture).
    artist_share: f64,
    /// Pixels that visibly show GAN work.
    gan_pixels: u64,
    /// The IPTC digital source type an export would carry.
    digital_source_type: &'static str,
    /// Share per model version, largest first.
    models: Vec<ModelShare>,
}

#[derive(Debug, Serialize)]
struct ModelShare {
    model: String,
    share: f64,
}

impl AuthorshipInfo {
    fn of(doc: &Document) -> Self {
        let a = crate::document::authorship::authorship(doc);
        Self {
            gan_share: a.gan_share(),
            artist_share: a.artist_share(),
            gan_pixels: a.gan_pixels,
            digital_source_type: project::xmp::XmpProvenance::new(&a, None).source_type,
            models: a
                .models()
                .into_iter()
                .map(|(model, share)| ModelShare { model, share })
                .collect(),
        }
    }

    /// One line for people: "GAN 42.0% (model a 30.0%, b 12.0%), artist 58.0%".
    fn summary(&self) -> String {
        let models: Vec<String> = self
            .models
            .iter()
            .map(|m| format!("model {} {:.1}%", m.model, m.share * 100.0))
            .collect();
        let by = if models.is_empty() {
            String::new()
        } else {
            format!(" ({})", models.join(", "))
        };
        format!(
            "GAN {:.1}%{by}, artist {:.1}% of the visible picture",
            self.gan_share * 100.0,
            self.artist_share * 100.0
        )
    }
}

#[derive(Debug, Serialize)]
struct CandidateCounts {
    total: usize,
    accepted: usize,
    rejected: usize,
    favourite: usize,
}

#[derive(Debug, Serialize)]
struct LayerInfo {
    name: String,
    blend: &'static str,
    opacity: f32,
    visible: bool,
    lock_alpha: bool,
    tiles: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    provenance: Option<crate::document::Provenance>,
}

/// Loads a project, printing anything read inexactly to standard error.
fn load_reporting(path: &std::path::Path) -> anyhow::Result<project::Project> {
    let p = project::load(path)?;
    for w in &p.warnings {
        eprintln!("warning: {}: {w}", path.display());
    }
    Ok(p)
}

pub(super) fn export(args: ExportArgs) -> anyhow::Result<()> {
    let p = load_reporting(&args.project)?;
    if let Some(filter) = args.candidates {
        let written = project::export_candidates(&p.meta.candidates, filter, &args.out)?;
        outln!(
            "exported {} candidates to {}",
            written.len(),
            args.out.display()
        );
        return Ok(());
    }
    let rect = args.region.unwrap_or(p.doc.bounds());
    let who = project::export::export_rect_with(&p.doc, rect, &args.out, args.quality, None)?;
    outln!(
        "exported {} to {}",
        args.project.display(),
        args.out.display()
    );
    if let Some(a) = who {
        let source = project::xmp::XmpProvenance::new(&a, None).source_type;
        outln!(
            "  authorship: GAN {:.1}% of the visible picture; digital source type {}",
            a.gan_share() * 100.0,
            source.rsplit('/').next().unwrap_or(source)
        );
    }
    Ok(())
}

/// Like the app: a new document from the first file ([`project::open_as_document`],
/// an OpenRaster file with its layers), and every other file added as layers
/// the way Import as layers adds them ([`project::import::decode_layers`]).
pub(super) fn import(args: ImportArgs) -> anyhow::Result<()> {
    let (project::Project { mut doc, meta, .. }, rest) = if args.as_layers {
        (load_reporting(&args.into)?, &args.images[..])
    } else if args.into.exists() {
        bail!(
            "{} already exists: pass --as-layers to add the images to it as layers",
            args.into.display()
        );
    } else {
        let first = &args.images[0];
        let p = project::open_as_document(first)?;
        for w in &p.warnings {
            eprintln!("warning: {}: {w}", first.display());
        }
        (p, &args.images[1..])
    };
    let paths: Vec<&std::path::Path> = rest.iter().map(PathBuf::as_path).collect();
    let (_, warnings) = project::import::import_layers(&mut doc, &mut History::default(), &paths)?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    project::save(&doc, &meta, &args.into)?;
    outln!(
        "imported {} files into {} ({} layers)",
        args.images.len(),
        args.into.display(),
        doc.layers().len()
    );
    Ok(())
}

pub(super) fn info(args: InfoArgs) -> anyhow::Result<()> {
    let project::Project { doc, meta, .. } = load_reporting(&args.file)?;
    let (total, accepted, rejected, favourite) = meta.candidates.counts();
    let info = Info {
        candidates: CandidateCounts {
            total,
            accepted,
            rejected,
            favourite,
        },
        steered_by: meta.steering.as_ref().map_or(0, |s| s.decisions),
        authorship: AuthorshipInfo::of(&doc),
        width: doc.width(),
        height: doc.height(),
        layers: doc
            .layers()
            .iter()
            .rev()
            .map(|l| LayerInfo {
                name: l.props.name.clone(),
                blend: l.props.blend.label(),
                opacity: l.props.opacity,
                visible: l.props.visible,
                lock_alpha: l.props.lock_alpha,
                tiles: l.grid.tile_count(),
                provenance: l.props.provenance.clone(),
            })
            .collect(),
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        outln!(
            "{}: {}×{}, {} layers (top first)",
            args.file.display(),
            info.width,
            info.height,
            info.layers.len()
        );
        for l in &info.layers {
            outln!(
                "  {:<24} {:<8} opacity {:.2}{}{}  {} tiles",
                l.name,
                l.blend,
                l.opacity,
                if l.visible { "" } else { " hidden" },
                if l.lock_alpha { " alpha-locked" } else { "" },
                l.tiles
            );
            if let Some(p) = &l.provenance {
                outln!(
                    "    made by model {} seed {} strength {:.2}",
                    p.model,
                    p.seed,
                    p.strength
                );
            }
        }
        let c = &info.candidates;
        outln!(
            "candidate history: {} generated, {} accepted, {} rejected, {} favourites; steering from {} decisions",
            c.total,
            c.accepted,
            c.rejected,
            c.favourite,
            info.steered_by
        );
        outln!("authorship: {}", info.authorship.summary());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_colours_parse() {
        assert_eq!(parse_size("1920x1080"), Ok((1920, 1080)));
        assert!(parse_size("12").is_err());
        assert!(parse_size("ax3").is_err());
        assert_eq!(parse_background("#ff8000").unwrap(), [255, 128, 0, 255]);
        assert_eq!(parse_background("transparent").unwrap(), [0; 4]);
        assert_eq!(parse_background("#ff800080").unwrap(), [255, 128, 0, 128]);
        assert!(parse_background("orange").is_err());
    }
}
