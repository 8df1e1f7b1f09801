//! Commands: everything the user can ask for, with its label, tooltip and
//! shortcut. Panels and shortcuts emit commands; `AtelierApp::apply` is the one
//! place that carries them out.
use eframe::egui::{Key, KeyboardShortcut, Modifiers};

use crate::brush::BrushSettings;
use crate::document::{LayerId, LayerProps};
use crate::editor::tools::Tool;

/// A user request.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Undo the last step.
    Undo,
    /// Redo the last undone step.
    Redo,
    /// Open the New canvas dialog.
    NewCanvas,
    /// Open a project file.
    Open,
    /// Save to the current file (or ask where).
    Save,
    /// Save under a new name.
    SaveAs,
    /// Export a flattened image or OpenRaster file.
    Export,
    /// Import images as new layers.
    ImportLayers,
    /// Open a file from the recent files list.
    OpenRecent(std::path::PathBuf),
    /// Export only the selection as a flattened image.
    ExportSelection,
    /// Export every accepted candidate of the project into a folder.
    ExportAccepted,
    /// Paste the clipboard's image as a new layer.
    PasteImage,
    /// Pick a tool.
    SelectTool(Tool),
    /// Grow the brush.
    BrushBigger,
    /// Shrink the brush.
    BrushSmaller,
    /// Swap primary and secondary colours.
    SwapColors,
    /// Fit the canvas in the window.
    ZoomFit,
    /// Show the canvas at 100 %.
    Zoom100,
    /// Rotate the view by a number of degrees.
    RotateView(f32),
    /// Reset the view rotation.
    ResetRotation,
    /// Add a layer above the active one.
    AddLayer,
    /// Delete a layer.
    DeleteLayer(LayerId),
    /// Duplicate a layer.
    DuplicateLayer(LayerId),
    /// Merge a layer into the one below.
    MergeDown(LayerId),
    /// Move a layer to a stack position (bottom = 0).
    MoveLayer(LayerId, usize),
    /// Make a layer active.
    ActivateLayer(LayerId),
    /// Change a layer's properties; `continuous` merges slider drags into one step.
    SetLayerProps(LayerId, LayerProps, bool),
    /// Drop the selection.
    Deselect,
    /// Send the canvas (or selection) to the GAN for variations.
    Vary,
    /// Preview candidate number `n` (1, 2, …) over the canvas, or close
    /// its preview.
    SelectCandidate(usize),
    /// Close the candidate preview.
    ClosePreview,
    /// Accept candidate number `n`.
    AcceptCandidate(usize),
    /// Reject candidate number `n`.
    RejectCandidate(usize),
    /// Mark or unmark candidate number `n` as a favourite.
    FavouriteCandidate(usize),
    /// Vary again around candidate number `n`'s latent code.
    MoreLike(usize),
    /// Stop the Vary in progress.
    CancelVary,
    /// Hide or show the previewed candidate (compare with the original).
    ToggleCompare,
    /// Open the candidate history window.
    ShowHistory,
    /// Open the model versions window.
    ShowModels,
    /// Fine-tune the model on the artist's decisions and portfolio.
    Refine,
    /// Stop the refinement in progress.
    CancelRefine,
    /// Add a folder of the artist's own images to the style profile.
    ImportPortfolio,
    /// Insert a candidate from the history again.
    ReapplyCandidate(u64),
    /// Toggle the favourite mark of a history record.
    FavouriteRecord(u64),
    /// Show the shortcuts window.
    ShowShortcuts,
    /// Quit the app.
    Quit,
    /// Ask the artist for a file or folder (system dialog or Atelier's own).
    AskFile(super::file_choice::Ask),
    /// The artist chose these paths for what was asked.
    Chosen(super::file_choice::Ask, Vec<std::path::PathBuf>),
    /// Save, then carry out the action the unsaved-changes question held back.
    SaveThen(super::guard::Replacing),
    /// Close the unsaved-changes question and do nothing.
    CancelQuestion,
    /// Replace the document by a new canvas (width, height, straight RGBA
    /// background): the New canvas dialog's Create.
    NewDocument(u32, u32, [u8; 4]),
    /// Open the autosaved work a crashed session left.
    Recover(std::path::PathBuf),
    /// Delete the autosaved work a crashed session left.
    DiscardRecovery,
    /// Set the undo memory budget (MiB).
    SetUndoBudget(u32),
    /// Carry out an action the unsaved-changes question held back (the
    /// artist chose to discard the changes).
    Proceed(super::guard::Replacing),
    /// Make this the primary colour (straight sRGBA).
    SetColour([u8; 4]),
    /// Make this the primary colour and remember it among the recent ones
    /// (the picker, a finished stroke).
    UseColour([u8; 4]),
    /// Replace the brush settings (the brush panel's sliders).
    SetBrush(BrushSettings),
    /// Take brush preset number `n` (and the brush, unless erasing).
    ChoosePreset(usize),
    /// Set the flood fill tolerance.
    SetFillTolerance(u8),
    /// Set the view's zoom (1 = 100 %).
    SetZoom(f32),
    /// Set the view's rotation in degrees.
    SetRotation(f32),
    /// Open the settings window.
    ShowSettings,
    /// Change one of the Vary controls.
    SetVary(super::variations::VarySetting),
    /// Forget what the decisions taught the sampler (history stays).
    ResetSteering,
    /// Set how many optimiser steps a refinement takes.
    SetRefineSteps(u64),
    /// Refine automatically after this many decisions (0: off).
    SetAutoRefine(u32),
    /// Act on the style profile's model versions.
    Model(super::refinement::ModelAction),
    /// Show a warning in the status bar (a panel found bad input).
    Warn(String),
    /// Turn Live on or off.
    ToggleLive,
    /// Copy the live frame into the document as a new layer (a decision).
    ApplyLive,
    /// Vary around the live frame's latent code: candidates near it.
    VaryFromLive,
    /// A new latent code for Live.
    LiveNewSeed,
    /// Change how Live is shown.
    SetLive(super::live::LiveSetting),
}

impl Command {
    /// Text for menus and buttons.
    pub fn label(&self) -> String {
        match self {
            Command::Undo => "Undo".into(),
            Command::Redo => "Redo".into(),
            Command::NewCanvas => "New canvas…".into(),
            Command::Open => "Open…".into(),
            Command::Save => "Save".into(),
            Command::SaveAs => "Save as…".into(),
            Command::Export => "Export…".into(),
            Command::ImportLayers => "Import as layers…".into(),
            Command::OpenRecent(p) => super::files::display_name(p),
            Command::ExportSelection => "Export selection…".into(),
            Command::ExportAccepted => "Export accepted candidates…".into(),
            Command::PasteImage => "Paste image".into(),
            Command::SelectTool(t) => t.label().into(),
            Command::BrushBigger => "Bigger brush".into(),
            Command::BrushSmaller => "Smaller brush".into(),
            Command::SwapColors => "Swap colours".into(),
            Command::ZoomFit => "Fit".into(),
            Command::Zoom100 => "100%".into(),
            Command::RotateView(d) if *d < 0.0 => "Rotate left".into(),
            Command::RotateView(_) => "Rotate right".into(),
            Command::ResetRotation => "Reset rotation".into(),
            Command::AddLayer => "Add layer".into(),
            Command::DeleteLayer(_) => "Delete layer".into(),
            Command::DuplicateLayer(_) => "Duplicate layer".into(),
            Command::MergeDown(_) => "Merge down".into(),
            Command::MoveLayer(..) => "Move layer".into(),
            Command::ActivateLayer(_) => "Select layer".into(),
            Command::SetLayerProps(..) => "Layer properties".into(),
            Command::Deselect => "Deselect".into(),
            Command::Vary => "Vary".into(),
            Command::SelectCandidate(n) => format!("Preview candidate {n}"),
            Command::ClosePreview => "Close the preview".into(),
            Command::AcceptCandidate(n) => format!("Accept candidate {n}"),
            Command::RejectCandidate(n) => format!("Reject candidate {n}"),
            Command::FavouriteCandidate(n) => format!("Favourite candidate {n}"),
            Command::MoreLike(n) => format!("More like candidate {n}"),
            Command::CancelVary => "Cancel Vary".into(),
            Command::ToggleCompare => "Compare with the original".into(),
            Command::ShowHistory => "History…".into(),
            Command::ShowModels => "Models…".into(),
            Command::Refine => "Refine model".into(),
            Command::CancelRefine => "Cancel refinement".into(),
            Command::ImportPortfolio => "Import my work…".into(),
            Command::ReapplyCandidate(id) => format!("Re-apply #{id}"),
            Command::FavouriteRecord(id) => format!("Favourite #{id}"),
            Command::ShowShortcuts => "Shortcuts".into(),
            Command::Quit => "Quit".into(),
            Command::Proceed(action) => action.discard_label().into(),
            Command::AskFile(_) | Command::Chosen(..) => "Choose a file".into(),
            Command::SaveThen(_) => "Save".into(),
            Command::CancelQuestion => "Cancel".into(),
            Command::NewDocument(..) => "New canvas".into(),
            Command::Recover(_) => "Recover".into(),
            Command::DiscardRecovery => "Discard the autosaved work".into(),
            Command::SetUndoBudget(_) => "Undo memory".into(),
            Command::SetColour(_) | Command::UseColour(_) => "Colour".into(),
            Command::SetBrush(_) => "Brush".into(),
            Command::ChoosePreset(_) => "Brush preset".into(),
            Command::SetFillTolerance(_) => "Tolerance".into(),
            Command::SetZoom(_) => "Zoom".into(),
            Command::SetRotation(_) => "Rotation".into(),
            Command::ShowSettings => "Settings…".into(),
            Command::SetVary(_) => "Vary settings".into(),
            Command::ResetSteering => "Reset steering".into(),
            Command::SetRefineSteps(_) => "Refine steps".into(),
            Command::SetAutoRefine(_) => "Auto-refine".into(),
            Command::Model(a) => a.label().into(),
            Command::Warn(_) => "Warning".into(),
            Command::ToggleLive => "Live".into(),
            Command::ApplyLive => "Apply".into(),
            Command::VaryFromLive => "Vary from here".into(),
            Command::LiveNewSeed => "New seed".into(),
            Command::SetLive(_) => "Live settings".into(),
        }
    }

    /// Keyboard shortcut, if any.
    pub fn shortcut(&self) -> Option<KeyboardShortcut> {
        let plain = |k| Some(KeyboardShortcut::new(Modifiers::NONE, k));
        let cmd = |k| Some(KeyboardShortcut::new(Modifiers::COMMAND, k));
        match self {
            Command::Undo => cmd(Key::Z),
            Command::Redo => Some(KeyboardShortcut::new(
                Modifiers::COMMAND | Modifiers::SHIFT,
                Key::Z,
            )),
            Command::NewCanvas => cmd(Key::N),
            Command::Open => cmd(Key::O),
            Command::Save => cmd(Key::S),
            Command::SaveAs => Some(KeyboardShortcut::new(
                Modifiers::COMMAND | Modifiers::SHIFT,
                Key::S,
            )),
            Command::Export => cmd(Key::E),
            Command::ImportLayers => Some(KeyboardShortcut::new(
                Modifiers::COMMAND | Modifiers::SHIFT,
                Key::I,
            )),
            Command::SelectTool(t) => plain(tool_key(*t)),
            Command::BrushBigger => plain(Key::CloseBracket),
            Command::BrushSmaller => plain(Key::OpenBracket),
            Command::SwapColors => plain(Key::X),
            Command::ZoomFit => plain(Key::Num0),
            Command::Zoom100 => plain(Key::Num1),
            Command::RotateView(d) if *d < 0.0 => plain(Key::Num4),
            Command::RotateView(_) => plain(Key::Num6),
            Command::ResetRotation => plain(Key::Num5),
            Command::Deselect => cmd(Key::D),
            Command::PasteImage => cmd(Key::V),
            Command::Vary => cmd(Key::G),
            Command::Refine => cmd(Key::R),
            Command::ToggleLive => plain(Key::L),
            Command::ApplyLive => plain(Key::A),
            Command::ShowShortcuts => plain(Key::F1),
            Command::Quit => cmd(Key::Q),
            _ => None,
        }
    }

    /// Tooltip: the label and the shortcut.
    pub fn tooltip(&self, ctx: &eframe::egui::Context) -> String {
        match self.shortcut() {
            Some(s) => format!("{} ({})", self.label(), ctx.format_shortcut(&s)),
            None => self.label(),
        }
    }

    /// Commands that have a global shortcut, in the order shown in Help → Shortcuts.
    pub fn with_shortcuts() -> Vec<Command> {
        let mut all = vec![Command::Undo, Command::Redo];
        all.extend(Tool::ALL.map(Command::SelectTool));
        all.extend([
            Command::BrushSmaller,
            Command::BrushBigger,
            Command::SwapColors,
            Command::ZoomFit,
            Command::Zoom100,
            Command::RotateView(-15.0),
            Command::RotateView(15.0),
            Command::ResetRotation,
            Command::Deselect,
            Command::NewCanvas,
            Command::Open,
            Command::Save,
            Command::SaveAs,
            Command::Export,
            Command::ImportLayers,
            Command::PasteImage,
            Command::Vary,
            Command::ToggleLive,
            Command::ApplyLive,
            Command::Refine,
            Command::ShowShortcuts,
            Command::Quit,
        ]);
        all
    }
}

/// The key that selects a tool.
fn tool_key(tool: Tool) -> Key {
    match tool {
        Tool::Brush => Key::B,
        Tool::Eraser => Key::E,
        Tool::Picker => Key::I,
        Tool::Fill => Key::G,
        Tool::Select => Key::M,
        Tool::Move => Key::V,
    }
}

/// Keys that act on the candidate grid while candidates are waiting (then
/// the digits pick candidates instead of zooming or rotating the view).
pub const CANDIDATE_SHORTCUTS: [(&str, &str); 4] = [
    ("1 to 9", "Preview candidate 1 to 9 over the canvas"),
    ("Enter", "Accept the previewed candidate"),
    ("Delete", "Reject the previewed candidate"),
    ("\\", "Compare: hide or show the preview"),
];

/// Shortcuts handled by the canvas itself rather than a command.
pub const POINTER_SHORTCUTS: [(&str, &str); 5] = [
    ("Space + drag / middle drag", "Pan"),
    ("Wheel / Ctrl + wheel", "Zoom about the pointer"),
    ("Alt + click", "Pick colour"),
    ("Ctrl + Y", "Redo"),
    ("Escape", "Cancel the stroke in progress"),
];
