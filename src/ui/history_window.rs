//! The candidate history window: every candidate generated in the project,
//! newest first, filtered by decision, with its seed, model, critic score and
//! time; any of them can be re-applied or marked a favourite.
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, Sender, channel};

use eframe::egui;

use super::commands::Command;
use crate::decisions::CandidateHistory;
use crate::decisions::history::{Decision, Filter};

/// A thumbnail decoded on a worker: (image key, pixels).
type Decoded = (String, egui::ColorImage);

/// Thumbnail side in the list.
const THUMB: u32 = 96;

/// The window's state.
#[derive(Default)]
pub struct HistoryWindow {
    /// Shown.
    pub open: bool,
    /// Which records are listed.
    pub filter: Filter,
    /// Thumbnails by image key (None: being decoded on a worker).
    thumbs: HashMap<String, Option<egui::TextureHandle>>,
    decoded: Option<(Sender<Decoded>, Receiver<Decoded>)>,
}

impl HistoryWindow {
    /// Forgets thumbnails (another project was opened).
    pub fn clear(&mut self) {
        self.thumbs.clear();
        // Decodes still running for the old project report into the old channel.
        self.decoded = None;
    }

    /// The thumbnail of `key`, decoding it on a worker thread the first time
    /// (a candidate can be as large as the canvas).
    fn thumb(
        &mut self,
        ctx: &egui::Context,
        key: &str,
        png: Option<std::sync::Arc<Vec<u8>>>,
    ) -> Option<egui::TextureHandle> {
        let (tx, rx) = self.decoded.get_or_insert_with(channel);
        while let Ok((k, img)) = rx.try_recv() {
            let tex = ctx.load_texture(format!("history-{k}"), img, egui::TextureOptions::LINEAR);
            self.thumbs.insert(k, Some(tex));
        }
        if !self.thumbs.contains_key(key) {
            self.thumbs.insert(key.to_owned(), None);
            let (tx, key, ctx) = (tx.clone(), key.to_owned(), ctx.clone());
            std::thread::spawn(move || {
                let img = png
                    .and_then(|b| image::load_from_memory(&b).ok())
                    .map(|i| i.thumbnail(THUMB, THUMB).into_rgb8())
                    .unwrap_or_else(|| image::RgbImage::new(1, 1));
                let color = egui::ColorImage::from_rgb(
                    [img.width() as usize, img.height() as usize],
                    img.as_raw(),
                );
                let _ = tx.send((key, color));
                ctx.request_repaint();
            });
        }
        self.thumbs.get(key).cloned().flatten()
    }
}

/// Draws the window over `history`; re-apply and favourite go out as
/// commands. It reads the project's state and never changes it itself.
pub fn show(
    win: &mut HistoryWindow,
    history: &CandidateHistory,
    ctx: &egui::Context,
    out: &mut Vec<Command>,
) {
    if !win.open {
        return;
    }
    let mut open = true;
    egui::Window::new("Candidate history")
        .open(&mut open)
        .default_width(380.0)
        .default_height(480.0)
        .show(ctx, |ui| {
            let (all, accepted, rejected, favourite) = history.counts();
            ui.horizontal_wrapped(|ui| {
                for (f, label) in [
                    (Filter::All, format!("All ({all})")),
                    (Filter::Accepted, format!("Accepted ({accepted})")),
                    (Filter::Rejected, format!("Rejected ({rejected})")),
                    (Filter::Favourite, format!("Favourites ({favourite})")),
                ] {
                    ui.selectable_value(&mut win.filter, f, label);
                }
            });
            ui.separator();
            let records: Vec<_> = history.filtered(win.filter).collect();
            if records.is_empty() {
                ui.label("Nothing here yet.");
                return;
            }
            let row = THUMB as f32 + 8.0;
            egui::ScrollArea::vertical().id_salt("history").show_rows(
                ui,
                row,
                records.len(),
                |ui, range| {
                    for r in &records[range] {
                        ui.horizontal(|ui| {
                            let png = history.images.get(&r.output).cloned();
                            match win.thumb(ctx, &r.output, png) {
                                Some(tex) => {
                                    ui.add(egui::Image::new(&tex).max_width(THUMB as f32));
                                }
                                None => {
                                    ui.add_sized(
                                        [THUMB as f32, THUMB as f32],
                                        egui::Spinner::new(),
                                    );
                                }
                            }
                            ui.vertical(|ui| {
                                let decision = match r.decision {
                                    Decision::Accepted => "accepted",
                                    Decision::Rejected => "rejected",
                                    Decision::Pending => "undecided",
                                };
                                ui.label(format!(
                                    "#{} {decision}{}",
                                    r.id,
                                    if r.favourite { ", favourite" } else { "" }
                                ));
                                ui.label(format!("seed {}  critic {:+.2}", r.seed, r.critic));
                                ui.label(format!("model {}  strength {:.2}", r.model, r.strength));
                                ui.small(crate::decisions::history::format_time(r.time));
                                ui.horizontal(|ui| {
                                    if ui.button(format!("Re-apply #{}", r.id)).clicked() {
                                        out.push(Command::ReapplyCandidate(r.id));
                                    }
                                    let star = if r.favourite {
                                        "Unfavourite"
                                    } else {
                                        "Favourite"
                                    };
                                    if ui.button(format!("{star} #{}", r.id)).clicked() {
                                        out.push(Command::FavouriteRecord(r.id));
                                    }
                                });
                            });
                        });
                    }
                },
            );
        });
    win.open = open;
}
