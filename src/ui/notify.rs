//! Notifications: what the app tells the artist (a file saved, an error, a
//! warning from a file read), kept as a short log rather than one string
//! that the next message overwrites. The status bar shows the newest, in a
//! colour by level, and the log on hover, so an error is not lost behind
//! the "Saved" that follows it.
use std::collections::VecDeque;
use std::time::Instant;

/// How much a notice matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Something happened as asked.
    Info,
    /// It happened, with a caveat the artist should know.
    Warning,
    /// It did not happen.
    Error,
}

/// One message.
#[derive(Clone, Debug)]
pub struct Notice {
    /// How much it matters.
    pub level: Level,
    /// What to say.
    pub text: String,
    /// When it was said.
    pub at: Instant,
}

/// The newest notices, oldest first.
#[derive(Debug, Default)]
pub struct Notifications {
    log: VecDeque<Notice>,
}

/// How many notices the log keeps.
const KEEP: usize = 50;

impl Notifications {
    /// Adds a notice (empty text adds nothing).
    pub fn push(&mut self, level: Level, text: impl Into<String>) {
        let text = text.into();
        if text.is_empty() {
            return;
        }
        match level {
            Level::Error => tracing::warn!("{text}"),
            _ => tracing::info!("{text}"),
        }
        if self.log.len() == KEEP {
            self.log.pop_front();
        }
        self.log.push_back(Notice {
            level,
            text,
            at: Instant::now(),
        });
    }

    /// Something happened as asked.
    pub fn info(&mut self, text: impl Into<String>) {
        self.push(Level::Info, text);
    }

    /// It happened, with a caveat.
    pub fn warn(&mut self, text: impl Into<String>) {
        self.push(Level::Warning, text);
    }

    /// It did not happen.
    pub fn error(&mut self, text: impl Into<String>) {
        self.push(Level::Error, text);
    }

    /// The newest notice.
    pub fn latest(&self) -> Option<&Notice> {
        self.log.back()
    }

    /// The newest notice's text ("" when none).
    pub fn text(&self) -> &str {
        self.latest().map_or("", |n| n.text.as_str())
    }

    /// Every notice kept, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Notice> {
        self.log.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_stays_in_the_log_behind_later_notices() {
        let mut n = Notifications::default();
        assert_eq!(n.text(), "");
        n.error("Could not save: disk full");
        n.info("Opened a.atelier");
        n.info("");
        assert_eq!(n.text(), "Opened a.atelier");
        let levels: Vec<Level> = n.iter().map(|x| x.level).collect();
        assert_eq!(levels, [Level::Error, Level::Info]);
        for i in 0..KEEP + 5 {
            n.warn(format!("w{i}"));
        }
        assert_eq!(n.iter().count(), KEEP);
        assert_eq!(n.text(), format!("w{}", KEEP + 4));
    }
}
