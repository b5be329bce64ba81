//! The layer kinds and their specs, generated from the registry in `layer/mod.rs`
//! (`registered_kinds!`): [`Kind`] (with the stable codes of the model format) and
//! [`Spec`] (one variant per kind, holding the kind's spec type). What each spec means —
//! its sizes, its checks, its bytes in a model file, the run-time layer made from it — is
//! the kind's [`KindSpec`] implementation, in the kind's file.

use super::{DynLayer, Family};
use crate::{
    format::{Reader, Writer},
    Activation, Result, Scalar,
};

/// What a kind's parameters ([`LayerMut::w`](super::LayerMut::w) and `b`) are, for the
/// initialisers and the L2 penalty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Params {
    /// None.
    None,
    /// A weight matrix (`outputs × inputs`, drawn by the initialiser from the fan-in and
    /// fan-out, penalised by L2) and a bias (set to the initialiser's bias).
    Weights,
    /// A scale (starts at 1) and a shift (starts at 0) per unit; not penalised.
    Affine,
}

/// What a layer kind's spec says, and how it is stored and built (one implementation per
/// kind, in the kind's file).
pub(crate) trait KindSpec: Sized {
    /// The kind's short stable name (`"dense"`, `"batch-norm"`, …).
    const NAME: &'static str;
    /// What its parameters are.
    const PARAMS: Params = Params::None;
    /// Whether it normalises its input (the layer before it then needs no activation of
    /// its own: [`Network::set_activations`](crate::Network::set_activations) makes it the
    /// identity).
    const NORMALIZES: bool = false;
    /// Bytes of the spec in a model file besides the kind code and the scalars.
    const FIXED_BYTES: usize;
    /// Scalars of the spec in a model file (each in the file's scalar type).
    const SCALARS: usize;
    /// Inputs.
    fn inputs(&self) -> usize;
    /// Outputs (the default: as many as inputs).
    fn outputs(&self) -> usize {
        self.inputs()
    }
    /// The activation, for kinds that have one.
    fn activation(&self) -> Option<Activation<f64>> {
        None
    }
    /// Trainable parameters.
    fn params(&self) -> usize {
        0
    }
    /// Non-trainable state scalars.
    fn state(&self) -> usize {
        0
    }
    /// Whether the second half of the state is variances (a load refuses negative ones).
    fn variances(&self) -> bool {
        false
    }
    /// The kind's own checks in scalar type `S` (sizes and α are checked by
    /// [`Spec::validate`]).
    fn check<S: Scalar>(&self) -> Result<()> {
        Ok(())
    }
    /// Writes the spec's fields (after the kind code), scalars in `S`.
    fn write<S: Scalar>(&self, w: &mut Writer<'_>) -> Result<()>;
    /// Reads the spec's fields, scalars of `width` bytes.
    fn read(r: &mut Reader<'_>, width: usize) -> Result<Self>;
    /// A run-time layer of this spec with its numbers zeroed (see [`DynLayer::from_spec`]).
    fn build<S: Scalar, F: Family>(&self) -> Result<DynLayer<S, F>>;
}

macro_rules! kinds_and_specs {
    ($($file:ident: $kind:ident($spec:ident; $layer:ident, $bufs:ident; $dyn:ident, $dynbufs:ident)),+ $(,)?) => {
        use super::{$($spec),+};

        /// The layer kinds, with their stable codes in the model format.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub enum Kind {
            $(
                #[doc = concat!("A [`", stringify!($layer), "`](super::", stringify!($layer), ") layer.")]
                $kind,
            )+
        }

        impl Kind {
            /// Every kind, in code order.
            pub const ALL: [Kind; [$(Kind::$kind),+].len()] = [$(Kind::$kind),+];
            /// The stable code stored in model files (its index in [`Kind::ALL`]).
            pub fn code(self) -> u8 {
                Kind::ALL.iter().position(|&k| k == self).unwrap_or(0) as u8
            }
            /// The kind with code `code`.
            pub fn from_code(code: u8) -> Option<Kind> {
                Kind::ALL.get(usize::from(code)).copied()
            }
            /// A short stable name (`"dense"`, `"batch-norm"`, …).
            pub const fn name(self) -> &'static str {
                match self {
                    $(Kind::$kind => <$spec as KindSpec>::NAME,)+
                }
            }
            /// What its parameters are (for initialisers and the L2 penalty).
            pub const fn params(self) -> Params {
                match self {
                    $(Kind::$kind => <$spec as KindSpec>::PARAMS,)+
                }
            }
            /// Whether it normalises its input (batch norm): the layer before it then has
            /// the identity activation.
            pub const fn normalizes(self) -> bool {
                match self {
                    $(Kind::$kind => <$spec as KindSpec>::NORMALIZES,)+
                }
            }
        }

        /// Everything that defines a layer except its numbers: kind, sizes and
        /// hyper-parameters (what a model file stores before the values, and what a
        /// run-time layer is made from: [`DynLayer::from_spec`]).
        #[derive(Clone, Copy, Debug, PartialEq)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub enum Spec {
            $(
                #[doc = concat!("A [`", stringify!($layer), "`](super::", stringify!($layer), ") layer.")]
                $kind($spec),
            )+
        }

        $(
            impl From<$spec> for Spec {
                fn from(s: $spec) -> Self {
                    Spec::$kind(s)
                }
            }
        )+

        /// `$body` with the kind's spec of `$self_` as `$s`.
        macro_rules! each_spec {
            ($self_:expr, $s:ident => $body:expr) => {
                match $self_ {
                    $(Spec::$kind($s) => $body,)+
                }
            };
        }

        impl Spec {
            /// The longest spec in a model file, kind code included (scalars counted at 8
            /// bytes).
            pub const MAX_LEN: usize = {
                let mut max = 0;
                $(
                    let len = <$spec as KindSpec>::FIXED_BYTES + 8 * <$spec as KindSpec>::SCALARS;
                    if len > max {
                        max = len;
                    }
                )+
                1 + max
            };
            /// The kind.
            pub fn kind(&self) -> Kind {
                match self {
                    $(Spec::$kind(_) => Kind::$kind,)+
                }
            }
            /// Bytes of the spec in a model file, kind code included, for scalars of
            /// `scalar_bytes`.
            pub const fn encoded_len(&self, scalar_bytes: usize) -> usize {
                1 + match self {
                    $(Spec::$kind(_) => {
                        <$spec as KindSpec>::FIXED_BYTES
                            + scalar_bytes * <$spec as KindSpec>::SCALARS
                    })+
                }
            }
            /// Reads the fields of a spec of `kind` (its code already read).
            pub(crate) fn read(kind: Kind, r: &mut Reader<'_>, width: usize) -> Result<Spec> {
                Ok(match kind {
                    $(Kind::$kind => Spec::$kind(<$spec as KindSpec>::read(r, width)?),)+
                })
            }
        }
    };
}

registered_kinds!(kinds_and_specs);

impl Spec {
    /// Inputs.
    pub fn inputs(&self) -> usize {
        each_spec!(self, s => s.inputs())
    }
    /// Outputs.
    pub fn outputs(&self) -> usize {
        each_spec!(self, s => s.outputs())
    }
    /// The activation, for kinds that have one.
    pub fn activation(&self) -> Option<Activation<f64>> {
        each_spec!(self, s => s.activation())
    }
    /// Trainable parameters of a layer of this spec.
    pub fn params(&self) -> usize {
        each_spec!(self, s => s.params())
    }
    /// Non-trainable state scalars (running statistics, fitted mean and variance).
    pub fn state(&self) -> usize {
        each_spec!(self, s => s.state())
    }
    /// Checks the hyper-parameters as a layer of scalar type `S` would accept them in
    /// [`Layer::set_spec`](super::Layer::set_spec) (finite α, batch norm's config,
    /// dropout's `p`, whitening statistics that define a transform), and that sizes are
    /// non-zero.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`](crate::Error::InvalidHyperParameter) or
    /// [`Error::NonFiniteInput`](crate::Error::NonFiniteInput) naming what is wrong.
    pub fn validate<S: Scalar>(&self) -> Result<()> {
        if self.inputs() == 0 || self.outputs() == 0 {
            return Err(crate::Error::InvalidHyperParameter(
                "layer sizes must be > 0",
            ));
        }
        if let Some(act) = self.activation() {
            super::checked_activation(act.cast::<S>())?;
        }
        each_spec!(self, s => s.check::<S>())
    }
    /// Whether the second half of the layer's state is variances.
    pub(crate) fn variances(&self) -> bool {
        each_spec!(self, s => s.variances())
    }
    /// Writes the spec (kind code, then its fields) with scalars in `S`.
    pub(crate) fn write<S: Scalar>(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u8(self.kind().code());
        each_spec!(self, s => s.write::<S>(w))
    }
    /// A run-time layer of this spec with its numbers zeroed.
    pub(crate) fn build<S: Scalar, F: Family>(&self) -> Result<DynLayer<S, F>> {
        each_spec!(self, s => s.build::<S, F>())
    }
}
