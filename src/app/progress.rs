//! Progress on stderr: a bar per stage and a line per note, nothing under
//! `--quiet` (bars also hide when stderr is not a terminal). Bars live in
//! one `MultiProgress`, so a stage inside another (each checkpoint's `eval`
//! under `curve`'s bar over checkpoints) draws below it instead of over it.

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::progress::{Progress, Stage};

/// Draws the library's progress as bars on stderr.
pub(super) struct Bars {
    quiet: bool,
    bars: MultiProgress,
}

impl Bars {
    pub(super) fn new(quiet: bool) -> Bars {
        Bars {
            quiet,
            bars: MultiProgress::new(),
        }
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
        self.stage_of(label, total, "images")
    }

    fn stage_of(&self, label: &str, total: usize, unit: &str) -> Box<dyn Stage> {
        if self.quiet {
            return Box::new(Bar(ProgressBar::hidden()));
        }
        let bar = self.bars.add(ProgressBar::new(total as u64));
        let template =
            format!("{{prefix:>8}} [{{bar:30}}] {{pos}}/{{len}} {unit}, {{per_sec}}, eta {{eta}}");
        let style = ProgressStyle::with_template(&template)
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
        Box::new(Bar(self.bars.add(bar)))
    }

    fn note(&self, message: &str) {
        if !self.quiet {
            self.bars.suspend(|| eprintln!("{message}"));
        }
    }
}
