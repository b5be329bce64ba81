//! The one error type of the crate.

use core::fmt;

/// Everything that can go wrong with data, shapes, hyper-parameters or numerics.
///
/// Programmer errors that the type system can catch (mismatched layer sizes) do not compile;
/// everything that depends on run-time data is reported here instead of panicking. A step
/// that returns an error leaves the network's weights and the optimizer's state exactly as
/// they were.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// An input feature was NaN or infinite.
    NonFiniteInput,
    /// A target value was NaN or infinite.
    NonFiniteTarget,
    /// The loss or a gradient became NaN or infinite during a step: the update was refused.
    NonFiniteGradient,
    /// The step's update would overflow: a weight, a bias, an optimizer-state value or a
    /// running statistic would become NaN or ±∞ although the gradients are finite (a
    /// learning rate too large for the weights, a squared gradient beyond the scalar's
    /// range). The step was refused: nothing changed.
    NonFiniteUpdate,
    /// Inference on a finite input overflowed: a layer's output became NaN or ±∞ (a later
    /// ReLU would have turned a NaN into a plausible 0).
    NonFiniteOutput,
    /// A slice had the wrong length.
    ShapeMismatch {
        /// The length that was required.
        expected: usize,
        /// The length that was given.
        found: usize,
    },
    /// A class label was not below the number of classes.
    LabelOutOfRange {
        /// The label that was given.
        label: usize,
        /// The number of classes.
        classes: usize,
    },
    /// A hyper-parameter was out of its valid range (the name says which).
    InvalidHyperParameter(&'static str),
    /// The loss does not fit the output layer (e.g. cross-entropy on a tanh output).
    LossMismatch,
    /// An empty data set, or a batch size of zero.
    EmptyData,
    /// Batch statistics need at least two samples.
    BatchTooSmall,
    /// Training diverged (loss above 3× its initial value, or non-finite).
    Diverged {
        /// The epoch in which it was detected (0-based).
        epoch: u32,
        /// The optimizer step, counted from the start of training.
        step: u32,
    },
    /// Serialised bytes were not a model of this shape and format (see the variant's text).
    Format(FormatError),
    /// A fixed-capacity buffer was too small.
    Capacity,
}

/// What differs when model bytes cannot be loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum FormatError {
    /// The bytes do not start with the model magic.
    BadMagic,
    /// The format version is not one this build reads.
    UnsupportedVersion {
        /// The version found in the bytes.
        found: u16,
    },
    /// The checksum does not match the contents.
    Checksum,
    /// The bytes end before the length their header states.
    Truncated,
    /// A field holds a value no writer produces (an unknown activation or preprocessing
    /// code, a non-zero reserved byte, layers that do not chain, a length that disagrees
    /// with the layers).
    Malformed,
    /// A stored layer has a kind code this build does not know.
    UnknownKind {
        /// The layer (0 = first).
        layer: usize,
        /// The stored code ([`Kind::code`](crate::layer::Kind::code)).
        code: u8,
    },
    /// A stored layer's hyper-parameters are refused by its kind
    /// ([`Spec::validate`](crate::layer::Spec::validate)), or by a network (softmax on a
    /// hidden layer, a last layer without an activation).
    InvalidSpec {
        /// The layer (0 = first).
        layer: usize,
    },
    /// The network has more layers than the format's [`MAX_DEPTH`](crate::format::MAX_DEPTH)
    /// (saving refuses it, loading too).
    TooDeep {
        /// The network's (or the stored) layer count.
        depth: usize,
        /// The limit.
        max: usize,
    },
    /// The stored scalar type differs from the network's: sizes in bytes, with
    /// [`Q16_SCALAR_TAG`](crate::format::Q16_SCALAR_TAG) for Q16.
    ScalarType {
        /// The network's scalar size (or the Q16 tag).
        expected: u8,
        /// The stored scalar size (or the Q16 tag).
        found: u8,
    },
    /// The stored input count differs.
    Inputs {
        /// The network's inputs.
        expected: usize,
        /// The stored inputs.
        found: usize,
    },
    /// The stored number of layers differs.
    Depth {
        /// The network's layers.
        expected: usize,
        /// The stored layers.
        found: usize,
    },
    /// A layer's kind differs.
    LayerKind {
        /// The layer (0 = first).
        layer: usize,
        /// The network's kind code ([`Kind::code`](crate::layer::Kind::code)).
        expected: u8,
        /// The stored kind code.
        found: u8,
    },
    /// A layer's neuron count differs.
    LayerWidth {
        /// The layer (0 = first).
        layer: usize,
        /// The network's neurons.
        expected: usize,
        /// The stored neurons.
        found: usize,
    },
    /// A layer's activation (or its α) differs.
    Activation {
        /// The layer (0 = first).
        layer: usize,
        /// The network's activation code ([`Activation::code`](crate::Activation::code)).
        expected: u8,
        /// The stored activation code (equal to `expected` when only α differs).
        found: u8,
    },
    /// The stored optimizer has another name.
    Optimizer,
    /// The stored optimizer state has a different length.
    OptimizerState {
        /// The target optimizer's state length.
        expected: usize,
        /// The stored state length.
        found: usize,
    },
    /// A section asked for is not stored (the text says which).
    Missing(&'static str),
    /// A stored weight, statistic or learning rate is NaN, infinite, or invalid (a negative
    /// variance, a learning rate that is not positive).
    NonFinite,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NonFiniteInput => f.write_str("an input value is NaN or infinite"),
            Error::NonFiniteTarget => f.write_str("a target value is NaN or infinite"),
            Error::NonFiniteGradient => {
                f.write_str("the loss or a gradient became non-finite; the step was refused")
            }
            Error::NonFiniteUpdate => f.write_str(
                "the update would make a weight or optimizer value non-finite; the step was refused",
            ),
            Error::ShapeMismatch { expected, found } => {
                write!(
                    f,
                    "shape mismatch: expected length {expected}, found {found}"
                )
            }
            Error::LabelOutOfRange { label, classes } => {
                write!(f, "label {label} is out of range for {classes} classes")
            }
            Error::InvalidHyperParameter(name) => write!(f, "invalid hyper-parameter: {name}"),
            Error::LossMismatch => f.write_str("the loss does not fit the output activation"),
            Error::EmptyData => f.write_str("empty data set or zero batch size"),
            Error::BatchTooSmall => f.write_str("batch statistics need at least two samples"),
            Error::NonFiniteOutput => {
                f.write_str("a layer's output overflowed to NaN or infinity for a finite input")
            }
            Error::Diverged { epoch, step } => {
                write!(f, "training diverged at epoch {epoch}, step {step}")
            }
            Error::Format(e) => write!(f, "model format: {e}"),
            Error::Capacity => f.write_str("a fixed-capacity buffer is too small"),
        }
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::BadMagic => f.write_str("bad magic: not a microprop model"),
            FormatError::UnsupportedVersion { found } => {
                write!(f, "unsupported format version {found}")
            }
            FormatError::Checksum => f.write_str("CRC-32 checksum mismatch"),
            FormatError::Truncated => f.write_str("truncated: the bytes end early"),
            FormatError::Malformed => f.write_str("malformed field"),
            FormatError::UnknownKind { layer, code } => {
                write!(f, "layer {layer} has unknown kind code {code}")
            }
            FormatError::InvalidSpec { layer } => {
                write!(f, "layer {layer} has invalid hyper-parameters")
            }
            FormatError::TooDeep { depth, max } => {
                write!(f, "{depth} layers: the format holds at most {max}")
            }
            FormatError::LayerKind {
                layer,
                expected,
                found,
            } => write!(
                f,
                "layer {layer} kind differs: network has code {expected}, stored code {found}"
            ),
            FormatError::ScalarType { expected, found } => {
                f.write_str("scalar type differs: network has ")?;
                scalar_name(f, *expected)?;
                f.write_str(" scalars, stored ")?;
                scalar_name(f, *found)
            }
            FormatError::Inputs { expected, found } => {
                write!(f, "inputs differ: network has {expected}, stored {found}")
            }
            FormatError::Depth { expected, found } => write!(
                f,
                "layer count differs: network has {expected}, stored {found}"
            ),
            FormatError::LayerWidth {
                layer,
                expected,
                found,
            } => write!(
                f,
                "layer {layer} width differs: network has {expected}, stored {found}"
            ),
            FormatError::Activation {
                layer,
                expected,
                found,
            } => write!(
                f,
                "layer {layer} activation differs: network has code {expected}, stored code {found} (or its alpha differs)"
            ),
            FormatError::Optimizer => f.write_str("stored optimizer has another name"),
            FormatError::OptimizerState { expected, found } => write!(
                f,
                "optimizer state length differs: optimizer has {expected}, stored {found}"
            ),
            FormatError::Missing(what) => write!(f, "{what} not stored"),
            FormatError::NonFinite => f.write_str("a stored value is NaN, infinite or invalid"),
        }
    }
}

impl core::error::Error for Error {}
impl core::error::Error for FormatError {}

impl From<FormatError> for Error {
    fn from(e: FormatError) -> Self {
        Error::Format(e)
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// A [`FormatError::ScalarType`] code as words: `f32`, `f64`, `q16` or its size.
fn scalar_name(f: &mut fmt::Formatter<'_>, code: u8) -> fmt::Result {
    match code {
        4 => f.write_str("f32 (4-byte)"),
        8 => f.write_str("f64 (8-byte)"),
        crate::format::Q16_SCALAR_TAG => f.write_str("q16 (4-byte fixed point)"),
        n => write!(f, "{n}-byte"),
    }
}
