//! The application's error.

use core::fmt;

use embedded_storage::nor_flash::{NorFlashError, NorFlashErrorKind};
use microprop::checkpoint::CheckpointError;

/// Why a program stopped.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// The core library refused (bad hyper-parameter, non-finite gradient, ...).
    Train(microprop::Error),
    /// The status LED pin reported an error.
    Led,
    /// Writing or reading a checkpoint failed (the flash driver's error is reduced to its
    /// [`NorFlashErrorKind`]).
    Checkpoint(CheckpointError<NorFlashErrorKind>),
}

impl From<microprop::Error> for Error {
    fn from(e: microprop::Error) -> Self {
        Error::Train(e)
    }
}

impl<E: NorFlashError> From<CheckpointError<E>> for Error {
    fn from(e: CheckpointError<E>) -> Self {
        Error::Checkpoint(match e {
            CheckpointError::Flash(e) => CheckpointError::Flash(e.kind()),
            CheckpointError::Model(e) => CheckpointError::Model(e),
            CheckpointError::Layout(why) => CheckpointError::Layout(why),
            CheckpointError::TooLarge { len, capacity } => {
                CheckpointError::TooLarge { len, capacity }
            }
            CheckpointError::Verify => CheckpointError::Verify,
            CheckpointError::NoSuchSlot(slot) => CheckpointError::NoSuchSlot(slot),
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Train(e) => write!(f, "training failed: {e}"),
            Error::Led => f.write_str("status LED error"),
            Error::Checkpoint(e) => write!(f, "checkpoint failed: {e}"),
        }
    }
}
