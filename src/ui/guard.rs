//! The unsaved-changes question: every action that would close or replace
//! the document (Quit, Open, Open recent, New canvas) asks first when there
//! are unsaved changes, and Save in the question carries the action out once
//! the save has succeeded. One enum instead of a flag per step.
use std::path::PathBuf;

/// An action that would lose unsaved work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replacing {
    /// Close the window.
    Quit,
    /// Open a file chosen in the file dialog.
    Open,
    /// Open this file.
    OpenRecent(PathBuf),
    /// Show the New canvas dialog.
    NewCanvas,
}

impl Replacing {
    /// The question's "go ahead" button.
    pub fn discard_label(&self) -> &'static str {
        match self {
            Replacing::Quit => "Discard and quit",
            Replacing::Open | Replacing::OpenRecent(_) => "Discard and open",
            Replacing::NewCanvas => "Discard and start a new canvas",
        }
    }

    /// What the question asks.
    pub fn question(&self, name: &str) -> String {
        match self {
            Replacing::Quit => format!("Save the changes to {name} before closing?"),
            _ => format!("Save the changes to {name} first?"),
        }
    }
}

/// Where the question stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Guard {
    /// Nothing asked.
    #[default]
    Idle,
    /// The question is showing for this action.
    Asking(Replacing),
    /// The artist chose Save: carry the action out once the save succeeds
    /// (a failed or cancelled save drops it, so nothing is lost).
    SavingThen(Replacing),
    /// Quitting was confirmed: close the window at the next frame.
    Close,
    /// The window is closing; a close request no longer asks.
    Closing,
}

impl Guard {
    /// The action whose question is showing.
    pub fn asking(&self) -> Option<&Replacing> {
        match self {
            Guard::Asking(a) => Some(a),
            _ => None,
        }
    }

    /// Whether quitting has been confirmed.
    pub fn closing(&self) -> bool {
        matches!(self, Guard::Close | Guard::Closing)
    }
}
