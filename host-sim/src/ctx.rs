//! What every command gets: the output mode, progress bars that stay out of `--json`, and
//! the errors' kinds ([`ErrorKind`]): with `--json` a failed command prints exactly one
//! JSON object, `{"error": {"kind": "<kind>", "message": "<message>"}}`, on stdout (and
//! the message on stderr), and exits 2 for `usage`, 1 for every other kind.

use std::io::Write as _;
use std::sync::OnceLock;
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

/// What went wrong, as `--json` names it: `{"error": {"kind": "<kind>", "message": …}}`.
/// The names are a contract (scripts branch on them); [`ErrorKind::ALL`] lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// `usage` (exit 2): the command line — an unknown flag, a value out of range, flags
    /// that do not fit together or a size over the simulator's limits; found before any
    /// work is done.
    Usage,
    /// `io`: a file, or stdout, could not be read or written.
    Io,
    /// `model`: a model file or a checkpoint is refused (corrupt, truncated, an old format
    /// version, a layer that cannot be built).
    Model,
    /// `compute`: the core refused or failed a computation during the run (a non-finite
    /// loss or gradient, an output that overflows, a layer or optimizer error).
    Compute,
    /// `plot`: a figure could not be drawn or encoded.
    Plot,
    /// `check`: the run finished but failed the check it exists to make (`demo`'s accuracy
    /// bar, `resume`'s resumed run against the uninterrupted one).
    Check,
    /// `internal`: anything else (a bug in the simulator).
    Internal,
}

impl ErrorKind {
    /// Every kind, in the order of the documentation.
    pub const ALL: [ErrorKind; 7] = [
        ErrorKind::Usage,
        ErrorKind::Io,
        ErrorKind::Model,
        ErrorKind::Compute,
        ErrorKind::Plot,
        ErrorKind::Check,
        ErrorKind::Internal,
    ];

    /// The name in the JSON (`"usage"`, `"io"`, …).
    pub const fn name(self) -> &'static str {
        match self {
            ErrorKind::Usage => "usage",
            ErrorKind::Io => "io",
            ErrorKind::Model => "model",
            ErrorKind::Compute => "compute",
            ErrorKind::Plot => "plot",
            ErrorKind::Check => "check",
            ErrorKind::Internal => "internal",
        }
    }

    /// The process's exit code: 2 for usage errors (as clap's own), 1 otherwise.
    pub const fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Usage => 2,
            _ => 1,
        }
    }

    /// The kind of a command's error: the kind it was given ([`UsageError`], [`Failure`]),
    /// else by its type (`std::io::Error` is `io`; the core's format errors are `model`,
    /// its other errors `compute`); anything else is `internal`.
    pub fn of(e: &(dyn std::error::Error + 'static)) -> ErrorKind {
        if e.is::<UsageError>() {
            return ErrorKind::Usage;
        }
        if let Some(f) = e.downcast_ref::<Failure>() {
            return f.kind;
        }
        if e.is::<std::io::Error>() {
            return ErrorKind::Io;
        }
        if let Some(c) = e.downcast_ref::<microprop::Error>() {
            return Self::of_core(c);
        }
        if e.is::<microprop::FormatError>() {
            return ErrorKind::Model;
        }
        ErrorKind::Internal
    }

    /// The kind of an error of the firmware's application: the core error's, `model` for a
    /// checkpoint.
    pub fn of_app(e: &microprop_app::Error) -> ErrorKind {
        match e {
            microprop_app::Error::Train(c) => Self::of_core(c),
            microprop_app::Error::Checkpoint(_) => ErrorKind::Model,
            microprop_app::Error::Led => ErrorKind::Internal,
        }
    }

    /// The kind of a core error: `model` for the model format's, `compute` otherwise.
    pub fn of_core(e: &microprop::Error) -> ErrorKind {
        match e {
            microprop::Error::Format(_) => ErrorKind::Model,
            _ => ErrorKind::Compute,
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A problem with the command line's values (not caught by clap itself): exit code 2,
/// kind [`ErrorKind::Usage`].
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

/// A run-time failure with its [`ErrorKind`] and message; a failed check may carry the
/// command's output (printed, with the error, as the one JSON object of `--json`).
#[derive(Debug)]
pub struct Failure {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// The message (names the flag or file concerned).
    pub message: String,
    /// The command's output despite the failure (a check that failed still reports).
    pub output: Option<Output>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// A [`Failure`] of `kind`, boxed as the commands' error type.
pub fn failure(
    kind: ErrorKind,
    msg: impl Into<String>,
) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(Failure {
        kind,
        message: msg.into(),
        output: None,
    })
}

/// `Err` of a [`failure`] of `kind`.
pub fn fail<T>(kind: ErrorKind, msg: impl Into<String>) -> crate::Res<T> {
    Err(failure(kind, msg))
}

/// `Err` of a failed [`ErrorKind::Check`] that still reports `output`.
pub fn check_failed<T>(msg: impl Into<String>, output: Output) -> crate::Res<T> {
    Err(Box::new(Failure {
        kind: ErrorKind::Check,
        message: msg.into(),
        output: Some(output),
    }))
}

/// The one JSON object `--json` prints for an error: `{"error": {"kind", "message"}}`,
/// merged into the command's own object when a failed check still reports one.
pub fn error_json(
    kind: ErrorKind,
    message: &str,
    output: Option<&serde_json::Value>,
) -> serde_json::Value {
    let error = serde_json::json!({ "kind": kind.name(), "message": message });
    match output {
        Some(serde_json::Value::Object(m)) => {
            let mut m = m.clone();
            m.insert("error".into(), error);
            serde_json::Value::Object(m)
        }
        _ => serde_json::json!({ "error": error }),
    }
}

/// The first failed write of [`print_line`].
static STDOUT_ERROR: OnceLock<String> = OnceLock::new();

/// Prints `line` and a newline on stdout now (the text-mode log of `demo` and `resume`,
/// line by line as the firmware prints it). A failed write does not stop the run; it is
/// remembered ([`stdout_error`]) and the process fails at the end.
pub fn print_line(line: &str) {
    if let Err(e) = writeln!(std::io::stdout(), "{line}") {
        let _ = STDOUT_ERROR.set(e.to_string());
    }
}

/// The first write to stdout by [`print_line`] that failed, if any.
pub fn stdout_error() -> Option<&'static str> {
    STDOUT_ERROR.get().map(String::as_str)
}

/// What a command produces: the JSON object for `--json`, and the text otherwise.
#[derive(Debug, Default)]
pub struct Output {
    /// The `--json` object.
    pub json: serde_json::Value,
    /// Readable text (ends with a newline).
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_error_object_has_the_contract_keys() {
        let v = error_json(ErrorKind::Io, "--load m: gone", None);
        assert_eq!(
            v,
            json!({"error": {"kind": "io", "message": "--load m: gone"}})
        );
        // A failed check keeps the command's keys beside the error.
        let out = json!({"passed": false, "lines": ["a"]});
        let v = error_json(ErrorKind::Check, "missed", Some(&out));
        assert_eq!(v["passed"], false);
        assert_eq!(v["error"], json!({"kind": "check", "message": "missed"}));
    }

    #[test]
    fn kinds_have_stable_names_and_exit_codes() {
        let names: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(
            names,
            ["usage", "io", "model", "compute", "plot", "check", "internal"]
        );
        for k in ErrorKind::ALL {
            assert_eq!(k.exit_code(), if k == ErrorKind::Usage { 2 } else { 1 });
        }
        let io = std::io::Error::other("x");
        assert_eq!(ErrorKind::of(&io), ErrorKind::Io);
        assert_eq!(ErrorKind::of(&UsageError("x".into())), ErrorKind::Usage);
        assert_eq!(
            ErrorKind::of(&microprop::Error::NonFiniteOutput),
            ErrorKind::Compute
        );
        let format = microprop::Error::Format(microprop::FormatError::Checksum);
        assert_eq!(ErrorKind::of(&format), ErrorKind::Model);
        assert_eq!(
            ErrorKind::of(&microprop::FormatError::Truncated),
            ErrorKind::Model
        );
    }
}
