//! The application's error.

use core::fmt;

/// Why the application stopped.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// The core library refused (bad hyper-parameter, non-finite gradient, ...).
    Train(microprop::Error),
    /// The status LED pin reported an error.
    Led,
}

impl From<microprop::Error> for Error {
    fn from(e: microprop::Error) -> Self {
        Error::Train(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Train(e) => write!(f, "training failed: {e}"),
            Error::Led => f.write_str("status LED error"),
        }
    }
}
