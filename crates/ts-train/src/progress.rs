//! A terminal progress bar for training (indicatif), hidden when output is not a terminal.

use crate::trainer::{EpochRecord, Observer, TrainReport};

/// Draws epochs and the current losses; prints a line every `every` epochs (0 = never).
pub struct ProgressBar {
    bar: indicatif::ProgressBar,
    every: usize,
    quiet: bool,
    stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl ProgressBar {
    /// A bar; `quiet` hides the bar and the periodic lines.
    pub fn new(quiet: bool, every: usize) -> Self {
        let bar = if quiet {
            indicatif::ProgressBar::hidden()
        } else {
            indicatif::ProgressBar::new(0)
        };
        Self {
            bar,
            every,
            quiet,
            stop: None,
        }
    }

    /// Stops training after the current batch once `flag` is set (for example by Ctrl-C).
    pub fn with_stop_flag(mut self, flag: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Self {
        self.stop = Some(flag);
        self
    }
}

impl Observer for ProgressBar {
    fn on_start(&mut self, epochs: usize, _train: usize, _val: usize) {
        self.bar.set_length(epochs as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} epoch {pos}/{len} [{bar:30}] {msg} ({elapsed}, eta {eta})",
        ) {
            self.bar.set_style(style.progress_chars("=> "));
        }
    }

    fn on_epoch(&mut self, r: &EpochRecord, best: usize) {
        let val = r
            .val_loss
            .map(|v| format!("{v:.6}"))
            .unwrap_or_else(|| "-".into());
        self.bar.set_message(format!(
            "train {:.6} val {val} best epoch {best}",
            r.train_loss
        ));
        self.bar.set_position(r.epoch as u64);
        if !self.quiet && self.every > 0 && r.epoch.is_multiple_of(self.every) {
            let line = format!(
                "Epoch [{}/{}], Train Loss: {:.6}, Val Loss: {val}",
                r.epoch,
                self.bar.length().unwrap_or(0),
                r.train_loss
            );
            if self.bar.is_hidden() {
                // A closed pipe (`tsf train … | head`) must not stop the run.
                use std::io::Write;
                let _ = writeln!(std::io::stdout().lock(), "{line}");
            } else {
                self.bar.println(line);
            }
        }
    }

    fn on_end(&mut self, _report: &TrainReport) {
        self.bar.finish_and_clear();
    }

    fn should_stop(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed))
    }
}
