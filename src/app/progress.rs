//! Progress on stderr: a bar per stage and a line per note, nothing under
//! `--quiet` (bars also hide when stderr is not a terminal).

use indicatif::{ProgressBar, ProgressStyle};

use crate::progress::{Progress, Stage};

/// Draws the library's progress as bars on stderr.
pub(super) struct Bars {
    quiet: bool,
}

impl Bars {
    pub(super) fn new(quiet: bool) -> Bars {
        Bars { quiet }
    }
}

struct Bar(ProgressBar);

impl Stage for Bar {
    fn advance(&self, items: usize) {
        self.0.inc(items as u64);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

impl Progress for Bars {
    fn stage(&self, label: &str, total: usize) -> Box<dyn Stage> {
        if self.quiet {
            return Box::new(Bar(ProgressBar::hidden()));
        }
        let bar = ProgressBar::new(total as u64);
        let style = ProgressStyle::with_template(
            "{prefix:>8} [{bar:30}] {pos}/{len} images, {per_sec}, eta {eta}",
        )
        .map(|style| style.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        Box::new(Bar(bar))
    }

    fn transfer(&self, label: &str, bytes: Option<u64>) -> Box<dyn Stage> {
        if self.quiet {
            return Box::new(Bar(ProgressBar::hidden()));
        }
        let (bar, template) = match bytes {
            Some(total) => (
                ProgressBar::new(total),
                "{prefix:>8} [{bar:30}] {bytes}/{total_bytes}, {bytes_per_sec}, eta {eta}",
            ),
            None => (
                ProgressBar::no_length(),
                "{prefix:>8} {spinner} {bytes}, {bytes_per_sec}",
            ),
        };
        let style = ProgressStyle::with_template(template)
            .map(|style| style.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        Box::new(Bar(bar))
    }

    fn note(&self, message: &str) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }
}
