//! Weight initialisers.

use rand_core::RngCore;

use crate::{rng, Error, Result, Scalar};

/// How to draw a layer's weights (biases are set to a constant separately; the notes'
/// remedy for dead ReLUs is 0.01).
///
/// `fan_in` is the layer's input count, `fan_out` its output count.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Init {
    /// All zero: every neuron of a layer computes the same thing forever (symmetry is never
    /// broken), the lesson of lecture 6.
    Zeros,
    /// Every weight equal to the value.
    Constant(f32),
    /// Uniform in `[-a, a]`.
    Uniform(f32),
    /// Normal with standard deviation σ (`Normal(0.01)` is lecture 6's "small random").
    Normal(f32),
    /// Xavier/Glorot uniform: `U[-√(6/(fan_in+fan_out)), +√(6/(fan_in+fan_out))]`.
    XavierUniform,
    /// Xavier/Glorot normal: σ = `√(2/(fan_in+fan_out))`.
    XavierNormal,
    /// He/Kaiming uniform: `U[-√(6/fan_in), +√(6/fan_in)]` (for ReLU).
    HeUniform,
    /// He/Kaiming normal: σ = `√(2/fan_in)` (for ReLU).
    HeNormal,
}

impl Init {
    /// A short stable name.
    pub const fn name(self) -> &'static str {
        match self {
            Init::Zeros => "zeros",
            Init::Constant(_) => "constant",
            Init::Uniform(_) => "uniform",
            Init::Normal(_) => "normal",
            Init::XavierUniform => "xavier-uniform",
            Init::XavierNormal => "xavier-normal",
            Init::HeUniform => "he-uniform",
            Init::HeNormal => "he-normal",
        }
    }

    /// Checks the scale.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] for a non-finite value or a negative scale.
    pub fn validate(self) -> Result<()> {
        match self {
            Init::Constant(v) if !v.is_finite() => {
                Err(Error::InvalidHyperParameter("init constant"))
            }
            Init::Uniform(a) | Init::Normal(a) if !(a.is_finite() && a >= 0.0) => {
                Err(Error::InvalidHyperParameter("init scale"))
            }
            _ => Ok(()),
        }
    }

    /// Fills a layer's weights (`fan_out` rows of `fan_in`).
    pub fn fill<S: Scalar, R: RngCore + ?Sized>(
        self,
        w: &mut [S],
        fan_in: usize,
        fan_out: usize,
        rng: &mut R,
    ) {
        enum Dist {
            Constant(f64),
            Uniform(f64),
            Normal(f64),
        }
        let fi = fan_in.max(1) as f64;
        let fo = fan_out.max(1) as f64;
        let dist = match self {
            Init::Zeros => Dist::Constant(0.0),
            Init::Constant(v) => Dist::Constant(f64::from(v)),
            Init::Uniform(a) => Dist::Uniform(f64::from(a)),
            Init::Normal(s) => Dist::Normal(f64::from(s)),
            Init::XavierUniform => Dist::Uniform(libm::sqrt(6.0 / (fi + fo))),
            Init::XavierNormal => Dist::Normal(libm::sqrt(2.0 / (fi + fo))),
            Init::HeUniform => Dist::Uniform(libm::sqrt(6.0 / fi)),
            Init::HeNormal => Dist::Normal(libm::sqrt(2.0 / fi)),
        };
        for w in w.iter_mut() {
            *w = S::from_f64(match dist {
                Dist::Constant(v) => v,
                Dist::Uniform(a) => rng::uniform(rng, -a, a),
                Dist::Normal(s) => s * rng::normal(rng),
            });
        }
    }

    /// Initialises one layer of a network as its kind's [`Params`](crate::layer::Params)
    /// say: weights (a dense layer's) by `self` (fan-in its inputs, fan-out its outputs) and
    /// biases to `bias`; a scale and shift (batch norm's γ, β) to 1 and 0; nothing for kinds
    /// without parameters.
    #[inline(never)]
    pub fn layer<S: Scalar, R: RngCore + ?Sized>(
        self,
        l: crate::layer::LayerMut<'_, S>,
        bias: f32,
        rng: &mut R,
    ) {
        match l.kind.params() {
            crate::layer::Params::Weights => {
                self.fill(l.w, l.inputs, l.outputs, rng);
                l.b.fill(S::from_f32(bias));
            }
            crate::layer::Params::Affine => {
                l.w.fill(S::ONE);
                l.b.fill(S::ZERO);
            }
            crate::layer::Params::None => {}
        }
    }
}
