//! What every command gets: the output mode, and progress bars that stay out of `--json`.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How a command reports.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ctx {
    /// `--json`: one JSON object on stdout, nothing else anywhere.
    pub json: bool,
}

impl Ctx {
    /// A progress bar on stderr with `len` steps; hidden under `--json` (and, by
    /// indicatif, when stderr is not a terminal).
    pub fn progress(&self, len: u64, msg: &str) -> ProgressBar {
        let target = if self.json {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let pb = ProgressBar::with_draw_target(Some(len), target);
        let style = ProgressStyle::with_template("{msg:>14} [{bar:36}] {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        pb.set_style(style);
        pb.set_message(msg.to_string());
        pb.enable_steady_tick(Duration::from_millis(200));
        pb
    }
}

/// A problem with the command line's values (not caught by clap itself): exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Returns a [`UsageError`] boxed for `?`.
pub fn usage<T>(msg: impl Into<String>) -> crate::Res<T> {
    Err(Box::new(UsageError(msg.into())))
}

/// What a command produces: the JSON object for `--json`, and the text otherwise.
#[derive(Debug, Default)]
pub struct Output {
    /// The `--json` object.
    pub json: serde_json::Value,
    /// Readable text (ends with a newline).
    pub text: String,
}
