//! Activation functions, each with its derivative beside it.
//!
//! An [`Activation`] is a small `Copy` value (so a layer's activation can be chosen at run
//! time, stored in a model file and compared by the simulator), and every loop over a layer
//! matches on it once, then runs a tight loop over the slice.
//!
//! | activation | `f(z)` | `f'(z)` (from `z` and `a = f(z)`) |
//! |---|---|---|
//! | Identity | `z` | `1` |
//! | Sigmoid | `1 / (1 + e^{-z})` | `a (1 - a)` ∈ (0, 0.25] |
//! | Tanh | `tanh z` | `1 - a²` |
//! | ReLU | `max(0, z)` | `1` if `z > 0` else `0` |
//! | Leaky ReLU(α) | `z` if `z > 0` else `α z` | `1` or `α` |
//! | ELU(α) | `z` if `z > 0` else `α (e^z - 1)` | `1` or `a + α` |
//! | GELU | `z Φ(z) = ½ z (1 + erf(z / √2))` | `Φ(z) + z φ(z)` |
//! | GELU (tanh) | `½ z (1 + tanh(√(2/π) (z + 0.044715 z³)))` | its exact derivative |
//! | Softmax | `e^{z_i - max z} / Σ_j e^{z_j - max z}` | Jacobian `diag(a) - a aᵀ` (output layer only) |
//!
//! Every function returns a finite value for every finite input, however large: sigmoid
//! and softmax only ever exponentiate non-positive numbers, GELU's derivatives saturate
//! before `z³` can overflow, and the micromath `tanh` saturates at ±1.
//!
//! ## Accuracy of the backends (measured over [-10, 10], 200,001 points, `f32`)
//!
//! Maximum absolute error against an `f64` libm reference, measured and asserted by
//! `core/tests/backend_accuracy.rs` (run `cargo test -p microprop --test backend_accuracy
//! -- --nocapture` to print the table):
//!
#![doc = include_str!("../docs/backend-accuracy.md")]

use crate::{Math, Scalar};

/// `√(2/π)`, for the tanh approximation of GELU.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
/// `1/√(2π)`, the standard normal density at 0.
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
/// `1/√2`.
const FRAC_1_SQRT_2: f64 = core::f64::consts::FRAC_1_SQRT_2;
/// The cubic coefficient of the GELU tanh approximation.
const GELU_C: f64 = 0.044_715;
/// Beyond this |z| the GELU derivatives are exactly 0 or 1 in `f32` and `f64`.
const GELU_SATURATION: f64 = 40.0;

/// An activation function. See the [module documentation](self) for the formulas.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Activation {
    /// `f(z) = z`.
    Identity,
    /// The logistic sigmoid.
    Sigmoid,
    /// The hyperbolic tangent.
    Tanh,
    /// Rectified linear unit.
    Relu,
    /// Leaky ReLU with slope α for negative inputs (α ≈ 0.01 is usual).
    LeakyRelu(f32),
    /// Exponential linear unit with scale α (α = 1 is usual).
    Elu(f32),
    /// Exact GELU through `erf`.
    Gelu,
    /// GELU through the tanh approximation.
    GeluTanh,
    /// Softmax over the layer (output layer only).
    Softmax,
}

impl Activation {
    /// Every activation, with the usual α, in a fixed order (for tables and sweeps).
    pub const ALL: [Activation; 9] = [
        Activation::Identity,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::LeakyRelu(0.01),
        Activation::Elu(1.0),
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Softmax,
    ];

    /// A short stable name (`"sigmoid"`, `"leaky-relu"`, …).
    pub const fn name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::LeakyRelu(_) => "leaky-relu",
            Activation::Elu(_) => "elu",
            Activation::Gelu => "gelu",
            Activation::GeluTanh => "gelu-tanh",
            Activation::Softmax => "softmax",
        }
    }

    /// A stable one-byte code (used by the model format's shape signature).
    pub const fn code(self) -> u8 {
        match self {
            Activation::Identity => 0,
            Activation::Sigmoid => 1,
            Activation::Tanh => 2,
            Activation::Relu => 3,
            Activation::LeakyRelu(_) => 4,
            Activation::Elu(_) => 5,
            Activation::Gelu => 6,
            Activation::GeluTanh => 7,
            Activation::Softmax => 8,
        }
    }

    /// The α parameter (0 for activations without one).
    pub const fn alpha(self) -> f32 {
        match self {
            Activation::LeakyRelu(a) | Activation::Elu(a) => a,
            _ => 0.0,
        }
    }

    /// Rebuilds an activation from [`code`](Self::code) and [`alpha`](Self::alpha).
    pub const fn from_code(code: u8, alpha: f32) -> Option<Activation> {
        Some(match code {
            0 => Activation::Identity,
            1 => Activation::Sigmoid,
            2 => Activation::Tanh,
            3 => Activation::Relu,
            4 => Activation::LeakyRelu(alpha),
            5 => Activation::Elu(alpha),
            6 => Activation::Gelu,
            7 => Activation::GeluTanh,
            8 => Activation::Softmax,
            _ => return None,
        })
    }

    /// Whether `f` acts on each element alone (everything but softmax).
    pub const fn is_elementwise(self) -> bool {
        !matches!(self, Activation::Softmax)
    }

    /// `f(z)` for one element. For [`Activation::Softmax`] this is the sigmoid (a softmax
    /// of one logit against a zero logit); use [`apply`](Self::apply) for layers.
    #[inline(always)]
    pub fn forward<S: Scalar, M: Math<S>>(self, z: S) -> S {
        match self {
            Activation::Identity => z,
            Activation::Sigmoid | Activation::Softmax => sigmoid::<S, M>(z),
            Activation::Tanh => M::tanh(z),
            Activation::Relu => relu(z),
            Activation::LeakyRelu(alpha) => leaky_relu(z, S::from_f32(alpha)),
            Activation::Elu(alpha) => elu::<S, M>(z, S::from_f32(alpha)),
            Activation::Gelu => gelu::<S, M>(z),
            Activation::GeluTanh => gelu_tanh::<S, M>(z),
        }
    }

    /// `f'(z)` for one element, given `z` and `a = f(z)`. For softmax this is the diagonal
    /// of its Jacobian, `a (1 - a)`.
    #[inline(always)]
    pub fn derivative<S: Scalar, M: Math<S>>(self, z: S, a: S) -> S {
        match self {
            Activation::Identity => S::ONE,
            Activation::Sigmoid | Activation::Softmax => a * (S::ONE - a),
            Activation::Tanh => S::ONE - a * a,
            Activation::Relu => relu_derivative(z),
            Activation::LeakyRelu(alpha) => leaky_relu_derivative(z, S::from_f32(alpha)),
            Activation::Elu(alpha) => elu_derivative(z, a, S::from_f32(alpha)),
            Activation::Gelu => gelu_derivative::<S, M>(z),
            Activation::GeluTanh => gelu_tanh_derivative::<S, M>(z),
        }
    }

    /// Applies the activation to a layer: `a = f(z)`. `z` and `a` have the same length
    /// (extra elements of the longer one are left alone).
    #[inline(always)]
    pub fn apply<S: Scalar, M: Math<S>>(self, z: &[S], a: &mut [S]) {
        match self {
            Activation::Identity => a.iter_mut().zip(z).for_each(|(a, &z)| *a = z),
            Activation::Sigmoid => map(z, a, sigmoid::<S, M>),
            Activation::Tanh => map(z, a, M::tanh),
            Activation::Relu => map(z, a, relu),
            Activation::LeakyRelu(alpha) => {
                let alpha = S::from_f32(alpha);
                map(z, a, |z| leaky_relu(z, alpha));
            }
            Activation::Elu(alpha) => {
                let alpha = S::from_f32(alpha);
                map(z, a, |z| elu::<S, M>(z, alpha));
            }
            Activation::Gelu => map(z, a, gelu::<S, M>),
            Activation::GeluTanh => map(z, a, gelu_tanh::<S, M>),
            Activation::Softmax => softmax::<S, M>(z, a),
        }
    }

    /// Back-propagates through the activation in place: on entry `g` holds `∂L/∂a`, on exit
    /// `∂L/∂z`. Uses the Jacobian–vector product for softmax:
    /// `∂L/∂z_i = a_i (g_i − Σ_j a_j g_j)`.
    #[inline]
    pub fn backward<S: Scalar, M: Math<S>>(self, z: &[S], a: &[S], g: &mut [S]) {
        match self {
            Activation::Identity => {}
            Activation::Sigmoid => {
                for (g, &a) in g.iter_mut().zip(a) {
                    *g *= a * (S::ONE - a);
                }
            }
            Activation::Tanh => {
                for (g, &a) in g.iter_mut().zip(a) {
                    *g *= S::ONE - a * a;
                }
            }
            Activation::Relu => {
                for (g, &z) in g.iter_mut().zip(z) {
                    *g = if z > S::ZERO { *g } else { S::ZERO };
                }
            }
            Activation::Softmax => {
                let dot = a
                    .iter()
                    .zip(g.iter())
                    .fold(S::ZERO, |s, (&a, &g)| s + a * g);
                for (g, &a) in g.iter_mut().zip(a) {
                    *g = a * (*g - dot);
                }
            }
            other => {
                for ((g, &z), &a) in g.iter_mut().zip(z).zip(a) {
                    *g *= other.derivative::<S, M>(z, a);
                }
            }
        }
    }
}

#[inline(always)]
fn map<S: Scalar>(z: &[S], a: &mut [S], f: impl Fn(S) -> S) {
    for (a, &z) in a.iter_mut().zip(z) {
        *a = f(z);
    }
}

/// The logistic sigmoid, computed from `e^{-|z|}` so it never overflows.
#[inline(always)]
pub fn sigmoid<S: Scalar, M: Math<S>>(z: S) -> S {
    let e = M::exp(-z.abs());
    let r = S::ONE / (S::ONE + e);
    if z >= S::ZERO {
        r
    } else {
        e * r
    }
}

#[inline(always)]
fn relu<S: Scalar>(z: S) -> S {
    if z > S::ZERO {
        z
    } else {
        S::ZERO
    }
}

#[inline(always)]
fn relu_derivative<S: Scalar>(z: S) -> S {
    if z > S::ZERO {
        S::ONE
    } else {
        S::ZERO
    }
}

#[inline(always)]
fn leaky_relu<S: Scalar>(z: S, alpha: S) -> S {
    if z > S::ZERO {
        z
    } else {
        alpha * z
    }
}

#[inline(always)]
fn leaky_relu_derivative<S: Scalar>(z: S, alpha: S) -> S {
    if z > S::ZERO {
        S::ONE
    } else {
        alpha
    }
}

#[inline(always)]
fn elu<S: Scalar, M: Math<S>>(z: S, alpha: S) -> S {
    if z > S::ZERO {
        z
    } else {
        alpha * (M::exp(z) - S::ONE)
    }
}

#[inline(always)]
fn elu_derivative<S: Scalar>(z: S, a: S, alpha: S) -> S {
    if z > S::ZERO {
        S::ONE
    } else {
        a + alpha
    }
}

#[inline(always)]
fn gelu<S: Scalar, M: Math<S>>(z: S) -> S {
    S::HALF * z * (S::ONE + M::erf(z * S::from_f64(FRAC_1_SQRT_2)))
}

#[inline(always)]
fn gelu_derivative<S: Scalar, M: Math<S>>(z: S) -> S {
    let sat = S::from_f64(GELU_SATURATION);
    if z > sat {
        return S::ONE;
    }
    if z < -sat {
        return S::ZERO;
    }
    let cdf = S::HALF * (S::ONE + M::erf(z * S::from_f64(FRAC_1_SQRT_2)));
    let pdf = S::from_f64(INV_SQRT_2PI) * M::exp(-S::HALF * z * z);
    cdf + z * pdf
}

#[inline(always)]
fn gelu_tanh<S: Scalar, M: Math<S>>(z: S) -> S {
    let sat = S::from_f64(GELU_SATURATION);
    if z > sat {
        return z;
    }
    if z < -sat {
        return S::ZERO;
    }
    let u = S::from_f64(SQRT_2_OVER_PI) * (z + S::from_f64(GELU_C) * z * z * z);
    S::HALF * z * (S::ONE + M::tanh(u))
}

#[inline(always)]
fn gelu_tanh_derivative<S: Scalar, M: Math<S>>(z: S) -> S {
    let sat = S::from_f64(GELU_SATURATION);
    if z > sat {
        return S::ONE;
    }
    if z < -sat {
        return S::ZERO;
    }
    let k = S::from_f64(SQRT_2_OVER_PI);
    let c = S::from_f64(GELU_C);
    let u = k * (z + c * z * z * z);
    let t = M::tanh(u);
    let du = k * (S::ONE + S::from_f64(3.0 * GELU_C) * z * z);
    S::HALF * (S::ONE + t) + S::HALF * z * (S::ONE - t * t) * du
}

/// Numerically stable softmax: subtracts the maximum before exponentiating, so every
/// exponent is ≤ 0 and the sum is ≥ 1.
#[inline]
pub fn softmax<S: Scalar, M: Math<S>>(z: &[S], a: &mut [S]) {
    let max = z.iter().fold(S::ZERO - S::MAX, |m, &v| m.max_of(v));
    let mut sum = S::ZERO;
    for (a, &z) in a.iter_mut().zip(z) {
        let e = M::exp(z - max);
        *a = e;
        sum += e;
    }
    let inv = S::ONE / sum;
    for a in a.iter_mut() {
        *a *= inv;
    }
}
