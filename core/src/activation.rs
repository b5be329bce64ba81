//! Activation functions, each with its derivative beside it, all defined in one table.
//!
//! An [`Activation`] is a small `Copy` value (so a layer's activation can be chosen at run
//! time, stored in a model file and compared by the simulator), and every loop over a layer
//! matches on it once, then runs a tight loop over the slice. Its parameter α (leaky ReLU's
//! slope, ELU's scale) is a value of the network's scalar type `S` (`Activation<f64>` for an
//! `f64` network); `Activation` alone is `Activation<f32>`.
//!
//! | activation | `f(z)` | `f'(z)` (from `z` and `a = f(z)`) |
//! |---|---|---|
//! | Identity | `z` | `1` |
//! | Sigmoid | `1 / (1 + e^{-z})` | `a (1 - a)` ∈ (0, 0.25] |
//! | Tanh | `tanh z` | `1 - a²` |
//! | ReLU | `max(0, z)` | `1` if `z > 0` else `0` |
//! | Leaky ReLU(α) | `z` if `z > 0` else `α z` | `1` or `α` |
//! | ELU(α) | `z` if `z > 0` else `α (e^z - 1)` (through `exp_m1`) | `1` or `α e^z` |
//! | GELU | `z Φ(z) = ½ z (1 + erf(z / √2))` | `Φ(z) + z φ(z)` |
//! | GELU (tanh) | `½ z (1 + tanh(√(2/π) (z + 0.044715 z³)))` | its exact derivative |
//! | Softmax | `e^{z_i - max z} / Σ_j e^{z_j - max z}` | Jacobian `diag(a) - a aᵀ` (output layer only) |
//!
//! Every function returns a finite value for every finite input, however large: sigmoid
//! and softmax only ever exponentiate non-positive numbers, GELU's derivatives saturate
//! before `z³` can overflow, and the micromath `tanh` saturates at ±1.
//!
//! ## Adding an activation
//! Every activation is one entry of the `activations!` table at the end of this file: its
//! variant (with `(alpha: S = usual)` if it has a parameter), its name (the CLI and JSON
//! spelling, parsed by [`FromStr`]), its stable code (stored by the model format: never
//! reuse one), whether it is output-only, optionally `hot: true` (its own δ loop in
//! [`delta`](Activation::delta), for activations common on the training path), its forward
//! `f(z)` and its derivative `f'(z, a)`, optionally the chain rule `∂L/∂z` from
//! `(z, a, g = ∂L/∂a)` when a select beats a multiply, and for vector forms (softmax) the
//! layer-wide forward and backward. [`ALL`](Activation::ALL), [`name`](Activation::name),
//! [`code`](Activation::code), [`from_code`](Activation::from_code), parsing, the scalar
//! [`forward`](Activation::forward) / [`derivative`](Activation::derivative) /
//! [`chain`](Activation::chain) and the slice loops [`apply`](Activation::apply),
//! [`backward`](Activation::backward) and [`delta`](Activation::delta) are generated from
//! it, as are the simulator's `--activation` / `--output` values. Then add its row to the
//! table above and run `backend_accuracy` with `--nocapture` to refresh the accuracy table
//! below; the tests that sweep [`Activation::ALL`] (accuracy, finite-difference gradient
//! checks, benchmarks) pick it up by themselves.
//!
//! ## Accuracy of the backends (measured over [-10, 10], 200,001 points, `f32`)
//!
//! Maximum absolute error against an `f64` libm reference, measured and asserted by
//! `core/tests/backend_accuracy.rs` (run `cargo test -p microprop --test backend_accuracy
//! -- --nocapture` to print the table):
//!
#![doc = include_str!("../docs/backend-accuracy.md")]

use core::{fmt, str::FromStr};

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

/// Why a string is not an activation ([`Activation::from_str`](core::str::FromStr)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ParseActivationError {
    /// No activation has this name (see [`Activation::name`]).
    UnknownName,
    /// `name:α` for an activation without a parameter.
    NoParameter,
    /// The α after `name:` is not a finite number.
    BadAlpha,
}

impl fmt::Display for ParseActivationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseActivationError::UnknownName => "unknown activation name",
            ParseActivationError::NoParameter => "this activation takes no α parameter",
            ParseActivationError::BadAlpha => "α is not a finite number",
        })
    }
}

impl core::error::Error for ParseActivationError {}

/// Defines [`Activation`] and everything derived from it from one table (see the
/// [module documentation](self) for the entry syntax).
macro_rules! activations {
    // Internal: the layer-wide forward, a map of `forward` unless the entry gives one.
    (@apply [] [$fz:pat_param => $fwd:expr] ($z:expr, $a:expr)) => {
        map($z, $a, |$fz| $fwd)
    };
    (@apply [$lz:ident, $la:ident => $lapply:expr] [$($rest:tt)*] ($z:expr, $a:expr)) => {{
        let ($lz, $la) = ($z, $a);
        $lapply
    }};
    // Internal: the chain rule of one element, `f'(z, a) · g` unless the entry gives one.
    (@chain [] [$dz:pat_param, $da:pat_param => $der:expr] ($z:expr, $a:expr, $g:expr)) => {{
        let ($dz, $da) = ($z, $a);
        $g * ($der)
    }};
    (@chain [$cz:pat_param, $ca:pat_param, $cg:pat_param => $chain:expr] [$($rest:tt)*]
        ($z:expr, $a:expr, $g:expr)) => {{
        let ($cz, $ca, $cg) = ($z, $a, $g);
        $chain
    }};
    // Internal: the in-place backward over a layer, elementwise unless the entry gives one.
    (@backward [] [$($chain:tt)*] ($z:expr, $a:expr, $g:expr)) => {
        for ((g, &z), &a) in $g.iter_mut().zip($z).zip($a) {
            *g = activations!(@chain $($chain)* (z, a, *g));
        }
    };
    (@backward [$bz:ident, $ba:ident, $bg:ident => $lback:expr] [$($rest:tt)*]
        ($z:expr, $a:expr, $g:expr)) => {{
        let ($bz, $ba, $bg) = ($z, $a, $g);
        $lback
    }};
    // Internal: the usual α as a scalar.
    (@usual $s:ty, $usual:literal) => {
        <$s as Scalar>::from_f64($usual)
    };

    (
        $(
            $(#[doc = $doc:literal])*
            $Variant:ident $( ($alpha:ident: $aty:ty = $usual:literal) )? {
                name: $name:literal,
                code: $code:literal,
                output_only: $output_only:literal,
                $( hot: $hot:literal, )?
                forward: |$fz:pat_param| $fwd:expr,
                derivative: |$dz:pat_param, $da:pat_param| $der:expr,
                $( chain: |$cz:pat_param, $ca:pat_param, $cg:pat_param| $chain:expr, )?
                $( layer: {
                    apply: |$lz:ident, $la:ident| $lapply:expr,
                    backward: |$bz:ident, $ba:ident, $bg:ident| $lback:expr,
                }, )?
            }
        )*
    ) => {
        /// An activation function; its α (if any) is a value of the scalar `S`. See the
        /// [module documentation](self) for the formulas.
        #[derive(Clone, Copy, Debug, PartialEq)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub enum Activation<S = f32> {
            $(
                $(#[doc = $doc])*
                $Variant $( ($aty) )?,
            )*
        }

        impl Activation<f32> {
            /// How many activations the table defines.
            pub const COUNT: usize = [$($code),*].len();

            /// Every activation, with the usual α, in table order (for tables and sweeps);
            /// [`all`](Activation::all) gives the same list in any scalar.
            pub const ALL: [Activation<f32>; Activation::COUNT] = [
                $( Activation::$Variant $( ({ let $alpha = $usual as f32; $alpha }) )?, )*
            ];
        }

        impl<S: Scalar> Activation<S> {
            /// Every activation with the usual α in the scalar `S`, in the order of
            /// [`ALL`](Activation::ALL).
            pub fn all() -> [Self; Activation::COUNT] {
                [ $( Self::$Variant $( (activations!(@usual S, $usual)) )?, )* ]
            }

            /// A short stable name (`"sigmoid"`, `"leaky-relu"`, …): the CLI and JSON
            /// spelling, parsed back by [`FromStr`](core::str::FromStr).
            pub const fn name(self) -> &'static str {
                match self {
                    $( Self::$Variant { .. } => $name, )*
                }
            }

            /// A one-line description (the first line of the variant's documentation).
            pub const fn about(self) -> &'static str {
                match self {
                    $( Self::$Variant { .. } => activations!(@first $($doc)*), )*
                }
            }

            /// A stable one-byte code (stored by the model format).
            pub const fn code(self) -> u8 {
                match self {
                    $( Self::$Variant { .. } => $code, )*
                }
            }

            /// Whether the activation has an α parameter.
            pub const fn has_alpha(self) -> bool {
                match self {
                    $( Self::$Variant { .. } => activations!(@has $($usual)?), )*
                }
            }

            /// The α parameter (0 for activations without one).
            pub const fn alpha(self) -> S {
                match self {
                    $( Self::$Variant $( ($alpha) )? => {
                        activations!(@or_zero S $(, $alpha)?)
                    } )*
                }
            }

            /// The same activation with α replaced (activations without α are returned as
            /// they are).
            pub const fn with_alpha(self, alpha: S) -> Self {
                match self {
                    $( Self::$Variant $( ($alpha) )? => {
                        $( let _ = $alpha; let $alpha = alpha; )?
                        Self::$Variant $( ($alpha) )?
                    } )*
                }
            }

            /// Rebuilds an activation from [`code`](Self::code) and [`alpha`](Self::alpha)
            /// (`alpha` is ignored by activations without one; it is not validated).
            pub const fn from_code(code: u8, alpha: S) -> Option<Self> {
                let _ = alpha;
                match code {
                    $( $code => Some(Self::$Variant $( ({ let $alpha = alpha; $alpha }) )?), )*
                    _ => None,
                }
            }

            /// Whether the activation only makes sense on the output layer (softmax).
            pub const fn is_output_only(self) -> bool {
                match self {
                    $( Self::$Variant { .. } => $output_only, )*
                }
            }

            /// Whether `f` acts on each element alone (everything but softmax: the entries
            /// without a layer-wide form).
            pub const fn is_elementwise(self) -> bool {
                match self {
                    $( Self::$Variant { .. } => !activations!(@has_layer $($lz)?), )*
                }
            }

            /// Whether α is finite (always true without α): what every constructor that
            /// takes an activation from outside checks.
            pub fn is_valid(self) -> bool {
                self.alpha().is_finite()
            }

            /// The same activation in another scalar (α converted, rounding to nearest).
            pub fn cast<T: Scalar>(self) -> Activation<T> {
                match self {
                    $( Self::$Variant $( ($alpha) )? => {
                        Activation::$Variant $( (T::from_f64($alpha.to_f64())) )?
                    } )*
                }
            }

            /// `f(z)` for one element. For [`Activation::Softmax`] this is the sigmoid (a
            /// softmax of one logit against a zero logit); use [`apply`](Self::apply) for
            /// layers.
            #[inline(always)]
            pub fn forward<M: Math<S>>(self, z: S) -> S {
                match self {
                    $( Self::$Variant $( ($alpha) )? => {
                        let $fz = z;
                        $fwd
                    } )*
                }
            }

            /// `f'(z)` for one element, given `z` and `a = f(z)`. For softmax this is the
            /// diagonal of its Jacobian, `a (1 - a)`.
            #[inline(always)]
            pub fn derivative<M: Math<S>>(self, z: S, a: S) -> S {
                match self {
                    $( Self::$Variant $( ($alpha) )? => {
                        let ($dz, $da) = (z, a);
                        $der
                    } )*
                }
            }

            /// Applies the activation to a layer: `a = f(z)`. `z` and `a` have the same
            /// length (extra elements of the longer one are left alone).
            #[inline(always)]
            pub fn apply<M: Math<S>>(self, z: &[S], a: &mut [S]) {
                match self {
                    $( Self::$Variant $( ($alpha) )? => activations!(@apply
                        [$($lz, $la => $lapply)?] [$fz => $fwd] (z, a)), )*
                }
            }

            /// Back-propagates through the activation in place: on entry `g` holds
            /// `∂L/∂a`, on exit `∂L/∂z`. Uses the Jacobian–vector product for softmax:
            /// `∂L/∂z_i = a_i (g_i − Σ_j a_j g_j)`.
            #[inline]
            pub fn backward<M: Math<S>>(self, z: &[S], a: &[S], g: &mut [S]) {
                match self {
                    $( Self::$Variant $( ($alpha) )? => activations!(@backward
                        [$($bz, $ba, $bg => $lback)?]
                        [[$($cz, $ca, $cg => $chain)?] [$dz, $da => $der]] (z, a, g)), )*
                }
            }

            /// A layer's δ from `g = ∂L/∂a`, in place over its pre-activations:
            /// `z ← f'(z, a) · g`, element by element (softmax uses the diagonal of its
            /// Jacobian here; [`backward`](Self::backward) has the full product). The
            /// entries marked `hot` (the training path's common activations, whose
            /// derivatives are a few operations) each get their own loop; the others share
            /// one loop over [`chain`](Self::chain), which keeps every layer's backward
            /// pass small (measured: fewer instructions per step on the deep 2-wide net).
            #[inline(always)]
            pub fn delta<M: Math<S>>(self, z: &mut [S], a: &[S], g: &[S]) {
                match self {
                    $( Self::$Variant $( ($alpha) )? if activations!(@or_false $($hot)?) => {
                        for ((z, &a), &g) in z.iter_mut().zip(a).zip(g) {
                            *z = activations!(@chain [$($cz, $ca, $cg => $chain)?]
                                [$dz, $da => $der] (*z, a, g));
                        }
                    } )*
                    other => {
                        for ((z, &a), &g) in z.iter_mut().zip(a).zip(g) {
                            *z = other.chain::<M>(*z, a, g);
                        }
                    }
                }
            }

            /// `∂L/∂z` of one element from `z`, `a = f(z)` and `g = ∂L/∂a`: the entry's
            /// chain rule, `f'(z, a) · g` unless it gives its own.
            #[inline(always)]
            pub fn chain<M: Math<S>>(self, z: S, a: S, g: S) -> S {
                match self {
                    $( Self::$Variant $( ($alpha) )? => activations!(@chain
                        [$($cz, $ca, $cg => $chain)?] [$dz, $da => $der] (z, a, g)), )*
                }
            }
        }

        impl<S: Scalar> FromStr for Activation<S> {
            type Err = ParseActivationError;

            /// Parses a [name](Activation::name) (the usual α) or `name:α` (α finite,
            /// only for activations with α).
            fn from_str(s: &str) -> Result<Self, ParseActivationError> {
                let (name, alpha) = match s.split_once(':') {
                    Some((name, alpha)) => (name, Some(alpha)),
                    None => (s, None),
                };
                let act = Self::all()
                    .into_iter()
                    .find(|a| a.name() == name)
                    .ok_or(ParseActivationError::UnknownName)?;
                match alpha {
                    None => Ok(act),
                    Some(_) if !act.has_alpha() => Err(ParseActivationError::NoParameter),
                    Some(text) => match text.trim().parse::<f64>() {
                        Ok(v) if S::from_f64(v).is_finite() => Ok(act.with_alpha(S::from_f64(v))),
                        _ => Err(ParseActivationError::BadAlpha),
                    },
                }
            }
        }
    };
    // Internal: the first doc line.
    (@first $first:literal $($rest:literal)*) => {
        $first.trim_ascii()
    };
    (@has) => { false };
    (@has_layer) => { false };
    (@or_false) => { false };
    (@or_false $x:literal) => { $x };
    (@has_layer $lz:ident) => { true };
    (@has $usual:literal) => { true };
    (@or_zero $s:ty) => { <$s as Scalar>::ZERO };
    (@or_zero $s:ty, $alpha:ident) => { $alpha };
}

activations! {
    /// `f(z) = z`.
    Identity {
        name: "identity",
        code: 0,
        output_only: false,
        forward: |z| z,
        derivative: |_z, _a| S::ONE,
        chain: |_z, _a, g| g,
    }
    /// The logistic sigmoid.
    Sigmoid {
        name: "sigmoid",
        code: 1,
        output_only: false,
        hot: true,
        forward: |z| M::sigmoid(z),
        derivative: |_z, a| a * (S::ONE - a),
    }
    /// The hyperbolic tangent.
    Tanh {
        name: "tanh",
        code: 2,
        output_only: false,
        hot: true,
        forward: |z| M::tanh(z),
        derivative: |_z, a| S::ONE - a * a,
    }
    /// Rectified linear unit.
    Relu {
        name: "relu",
        code: 3,
        output_only: false,
        hot: true,
        forward: |z| relu(z),
        derivative: |z, _a| relu_derivative(z),
        chain: |z, _a, g| if z > S::ZERO { g } else { S::ZERO },
    }
    /// Leaky ReLU with slope α for negative inputs (α ≈ 0.01 is usual).
    LeakyRelu(alpha: S = 0.01) {
        name: "leaky-relu",
        code: 4,
        output_only: false,
        forward: |z| leaky_relu(z, alpha),
        derivative: |z, _a| leaky_relu_derivative(z, alpha),
    }
    /// Exponential linear unit with scale α (α = 1 is usual).
    Elu(alpha: S = 1.0) {
        name: "elu",
        code: 5,
        output_only: false,
        forward: |z| elu::<S, M>(z, alpha),
        derivative: |z, _a| elu_derivative::<S, M>(z, alpha),
    }
    /// Exact GELU through `erf`.
    Gelu {
        name: "gelu",
        code: 6,
        output_only: false,
        forward: |z| gelu::<S, M>(z),
        derivative: |z, _a| gelu_derivative::<S, M>(z),
    }
    /// GELU through the tanh approximation.
    GeluTanh {
        name: "gelu-tanh",
        code: 7,
        output_only: false,
        forward: |z| gelu_tanh::<S, M>(z),
        derivative: |z, _a| gelu_tanh_derivative::<S, M>(z),
    }
    /// Softmax over the layer (output layer only).
    Softmax {
        name: "softmax",
        code: 8,
        output_only: true,
        forward: |z| sigmoid::<S, M>(z),
        derivative: |_z, a| a * (S::ONE - a),
        layer: {
            apply: |z, a| softmax::<S, M>(z, a),
            backward: |_z, a, g| softmax_backward(a, g),
        },
    }
}

/// Every code in [`Activation::ALL`] is distinct (the format relies on it).
const _: () = {
    let mut rest: &[Activation] = &Activation::ALL;
    while let [first, tail @ ..] = rest {
        let mut others = tail;
        while let [other, more @ ..] = others {
            assert!(first.code() != other.code(), "two activations share a code");
            others = more;
        }
        rest = tail;
    }
};

impl<S: Scalar> fmt::Display for Activation<S> {
    /// The [name](Activation::name), then `:α` for activations with α (what
    /// [`FromStr`] parses back).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        if self.has_alpha() {
            write!(f, ":{}", self.alpha())?;
        }
        Ok(())
    }
}

#[inline(always)]
fn map<S: Scalar>(z: &[S], a: &mut [S], f: impl Fn(S) -> S) {
    for (a, &z) in a.iter_mut().zip(z) {
        *a = f(z);
    }
}

/// Softmax's Jacobian–vector product in place: `g_i ← a_i (g_i − Σ_j a_j g_j)`.
#[inline(always)]
fn softmax_backward<S: Scalar>(a: &[S], g: &mut [S]) {
    let dot = a
        .iter()
        .zip(g.iter())
        .fold(S::ZERO, |s, (&a, &g)| s + a * g);
    for (g, &a) in g.iter_mut().zip(a) {
        *g = a * (*g - dot);
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

/// `α (e^z − 1)` for `z ≤ 0` through [`Math::exp_m1`]: `e^z − 1` itself is 0 in `f32` for
/// `|z| < 3·10⁻⁸` and has only absolute accuracy near 0.
#[inline(always)]
fn elu<S: Scalar, M: Math<S>>(z: S, alpha: S) -> S {
    if z > S::ZERO {
        z
    } else {
        alpha * M::exp_m1(z)
    }
}

/// `α e^z` for `z ≤ 0`, from `z`: the shortcut `a + α` cancels as `a → −α` (it is 0 in
/// `f32` from z ≈ −17 on, where `α e^z` is still 4·10⁻⁸ α).
#[inline(always)]
fn elu_derivative<S: Scalar, M: Math<S>>(z: S, alpha: S) -> S {
    if z > S::ZERO {
        S::ONE
    } else {
        alpha * M::exp(z)
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
