//! The Vary, Live and refinement commands: candidates and their decisions,
//! the live rendition, and the style profile's model versions. Part of
//! `AtelierApp::apply` (app.rs), split off by job.
use eframe::egui;

use super::app::AtelierApp;
use super::commands::Command;
use super::file_choice::{self, Ask};

impl AtelierApp {
    /// One UI frame of Live: takes in its frames and asks for a new
    /// rendition when the canvas changed.
    pub(super) fn tick_live(&mut self, ctx: &egui::Context) {
        let tick = crate::vary::live::Tick {
            doc: &self.editor.doc,
            selection: self.editor.selection,
            stroking: self.editor.is_stroking(),
            steering: self.variations.decisions.steering(),
            strength: self.variations.strength,
            model: self.variations.model.clone(),
            keep_lines: self.variations.keep_lines,
            hidden: ctx.input(|i| i.viewport().minimized == Some(true)),
        };
        if let Some(message) = self.live.tick(tick, ctx) {
            self.notify.error(message);
        }
    }

    /// Carries out a Vary, Live or refinement command.
    pub(super) fn apply_vary(&mut self, ctx: &egui::Context, cmd: Command) {
        match cmd {
            Command::Vary => {
                self.settle();
                self.variations
                    .start(ctx, &self.editor.doc, self.editor.selection);
            }
            Command::SelectCandidate(n) if self.variations.get(n).is_some() => {
                let v = &mut self.variations;
                v.selected = (v.selected != Some(n)).then_some(n);
                v.compare = false;
            }
            Command::ClosePreview => {
                self.variations.selected = None;
                self.variations.compare = false;
            }
            Command::AcceptCandidate(n) => {
                self.settle();
                if self.variations.get(n).is_some() {
                    super::variations::accept(self, n);
                    self.refinement.decisions_since += 1;
                }
            }
            Command::RejectCandidate(n) if self.variations.get(n).is_some() => {
                super::variations::reject(self, n);
                self.refinement.decisions_since += 1;
            }
            Command::FavouriteCandidate(i) => {
                super::variations::toggle_favourite(self, i);
            }
            Command::MoreLike(i) => {
                self.settle();
                self.variations.more_like(ctx, &self.editor.doc, i);
            }
            Command::CancelVary => {
                self.variations.cancel();
            }
            Command::ToggleCompare => {
                self.variations.compare = !self.variations.compare;
            }
            Command::ShowHistory => {
                self.history_window.open = true;
            }
            Command::ShowModels => {
                self.refinement.refresh();
                self.models_window.open = true;
            }
            Command::Refine => {
                super::refinement::start(self, ctx);
            }
            Command::CancelRefine => {
                super::refinement::cancel(self);
            }
            Command::ImportPortfolio => {
                file_choice::ask(self, Ask::ImportPortfolio, ctx);
            }
            Command::ReapplyCandidate(id) => {
                self.settle();
                super::variations::reapply(self, id);
            }
            Command::FavouriteRecord(id) => {
                let now = self.variations.decisions.toggle_favourite(id);
                if let Some(c) = self.variations.candidates.iter_mut().find(|c| c.id == id) {
                    c.favourite = now;
                }
            }
            Command::SetVary(setting) => {
                self.variations.set(setting);
            }
            Command::ResetSteering => {
                self.variations.decisions.reset_steering();
            }
            Command::SetRefineSteps(n) => {
                self.state.refine_steps = n.max(1);
            }
            Command::SetAutoRefine(n) => {
                self.state.auto_refine_every = n;
            }
            Command::Model(action) => {
                super::refinement::apply_model_action(self, action);
            }
            Command::ToggleLive => {
                // Each frame Live's worker finishes repaints the window.
                let wake = ctx.clone();
                self.live.session.wake = std::sync::Arc::new(move || wake.request_repaint());
                self.live.session.toggle();
                ctx.request_repaint();
            }
            Command::ApplyLive => {
                self.settle();
                match self.live.session.frame.clone() {
                    Some(frame) if self.live.session.on => {
                        if super::variations::apply_live(self, &frame).is_some() {
                            self.refinement.decisions_since += 1;
                        }
                    }
                    _ => self.notify.info("Apply: Live has no rendition yet"),
                }
            }
            Command::VaryFromLive => {
                self.settle();
                let z = self.live.session.code(self.variations.decisions.steering());
                let selection = self.editor.selection;
                self.variations
                    .vary_around(ctx, &self.editor.doc, selection, z);
            }
            Command::LiveNewSeed => {
                self.live.session.new_seed();
            }
            Command::SetLive(setting) => {
                self.live.set(setting);
            }
            _ => {}
        }
    }
}
