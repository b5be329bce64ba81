//! Transcendental maths backends, chosen by type parameter.
//!
//! Every `exp`, `exp_m1`, `ln`, `tanh`, `erf` and `sqrt` in the crate goes through
//! [`Math`], and the backends call their crate's free functions explicitly. That matters:
//! with `std` linked, `x.exp()` resolves to std's inherent `f32::exp` and silently shadows
//! `micromath::F32Ext::exp`, so a host test would check a different function from the one
//! the firmware runs. Because the backend is a type, both backends live side by side in
//! one binary (the activation-cost benchmark needs exactly that).
//!
//! | backend | `exp` | `exp_m1` | `tanh` | `erf` |
//! |---|---|---|---|---|
//! | [`Libm`] | `libm::expf` (≤ 1 ulp) | `libm::expm1f` (≤ 1 ulp) | `libm::tanhf` | `libm::erff` |
//! | [`Micromath`] | `micromath` `exp` (series + exponent trick) | its series without the `1`, then micromath `exp` − 1 | built from micromath `exp` | Abramowitz–Stegun 7.1.26 on micromath `exp` |
//!
//! The measured maximum errors of every activation under each backend over [-10, 10], and
//! of `exp` and `exp_m1`, are in [`crate::activation`]'s documentation and checked by
//! `tests/backend_accuracy.rs`.

use crate::Scalar;

/// A maths backend: the transcendental functions every activation and loss uses.
///
/// Implementations are zero-sized; they are selected by type (`Mlp<.., Libm>` or
/// `Mlp<.., Micromath>`), never by method resolution.
pub trait Math<S: Scalar>: Copy + Default + core::fmt::Debug + Send + Sync + 'static {
    /// Short name used in reports and benchmarks.
    const NAME: &'static str;
    /// `e^x`.
    fn exp(x: S) -> S;
    /// `e^x − 1`, accurate relative to the result near 0, where `exp(x) − 1` cancels
    /// (`exp(x) − 1` is 0 in `f32` for `|x| < 3·10⁻⁸`, and keeps only the absolute error of
    /// `exp` near 1, ~6·10⁻⁸, above that). Measured relative error (over the activations'
    /// sweep of [-10, 0] and every magnitude down to 10⁻³⁸): [`Libm`] `f32` ≤ 1 ulp
    /// (`libm::expm1f`); [`Micromath`] ≤ 2.4·10⁻³, the relative error of its `exp`.
    fn exp_m1(x: S) -> S;
    /// Natural logarithm.
    fn ln(x: S) -> S;
    /// `ln(1 + x)`, accurate for small `x` where the backend allows it.
    fn ln_1p(x: S) -> S;
    /// Hyperbolic tangent.
    fn tanh(x: S) -> S;
    /// The error function.
    fn erf(x: S) -> S;
    /// Square root.
    fn sqrt(x: S) -> S;
    /// The logistic sigmoid `1 / (1 + e^{-x})`. The default is
    /// [`activation::sigmoid`](crate::activation::sigmoid) on this backend's `exp` (what
    /// every float backend uses); the fixed-point backends replace it with a table or
    /// polynomial ([`crate::fixed`]).
    #[inline(always)]
    fn sigmoid(x: S) -> S {
        crate::activation::sigmoid::<S, Self>(x)
    }
}

/// Accurate maths from the `libm` crate (a port of musl's libm): the default backend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Libm;

/// Fast approximations from the `micromath` crate, with `tanh` and `erf` built from its
/// `exp` (micromath has neither).
///
/// * `tanh(x) = sign(x) · (1 − 2 / (e^{2|x|} + 1))`, saturated to ±1 for `|x| > 9`
///   (where `tanh` rounds to ±1 in `f32`).
/// * `erf(x) = sign(x) · (1 − (a₁t + a₂t² + a₃t³ + a₄t⁴ + a₅t⁵) e^{−x²})`,
///   `t = 1 / (1 + p|x|)`: Abramowitz & Stegun 7.1.26 (its own error ≤ 1.5·10⁻⁷), with the
///   exponential from micromath.
/// * `exp_m1(x)`: for `|x| < ln 2`, `x (1 + x (1/2 + x (1/6 + x/24)))`, the 4-term series
///   micromath's `exp` sums there without its leading `1`, so nothing cancels near 0 (the
///   relative error is the series' truncation, ~`x⁴/120`, largest at `x = −ln 2`);
///   elsewhere `exp(x) − 1`, where `|e^x − 1| > 1/2` and the relative error is that of
///   micromath's `exp` times `e^x / |e^x − 1| ≤ 2`.
/// * `ln_1p(x) = ln(1 + x)` (no extra care near 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Micromath;

impl Math<f32> for Libm {
    const NAME: &'static str = "libm";
    #[inline]
    fn exp(x: f32) -> f32 {
        libm::expf(x)
    }
    #[inline]
    fn exp_m1(x: f32) -> f32 {
        libm::expm1f(x)
    }
    #[inline]
    fn ln(x: f32) -> f32 {
        libm::logf(x)
    }
    #[inline]
    fn ln_1p(x: f32) -> f32 {
        libm::log1pf(x)
    }
    #[inline]
    fn tanh(x: f32) -> f32 {
        libm::tanhf(x)
    }
    #[inline]
    fn erf(x: f32) -> f32 {
        libm::erff(x)
    }
    #[inline]
    fn sqrt(x: f32) -> f32 {
        libm::sqrtf(x)
    }
}

impl Math<f64> for Libm {
    const NAME: &'static str = "libm";
    #[inline]
    fn exp(x: f64) -> f64 {
        libm::exp(x)
    }
    #[inline]
    fn exp_m1(x: f64) -> f64 {
        libm::expm1(x)
    }
    #[inline]
    fn ln(x: f64) -> f64 {
        libm::log(x)
    }
    #[inline]
    fn ln_1p(x: f64) -> f64 {
        libm::log1p(x)
    }
    #[inline]
    fn tanh(x: f64) -> f64 {
        libm::tanh(x)
    }
    #[inline]
    fn erf(x: f64) -> f64 {
        libm::erf(x)
    }
    #[inline]
    fn sqrt(x: f64) -> f64 {
        libm::sqrt(x)
    }
}

impl Math<f32> for Micromath {
    const NAME: &'static str = "micromath";
    #[inline]
    fn exp(x: f32) -> f32 {
        micromath::F32Ext::exp(x)
    }
    #[inline]
    fn exp_m1(x: f32) -> f32 {
        if Scalar::abs(x) < core::f32::consts::LN_2 {
            // micromath's own series for e^x on (−ln 2, ln 2), minus its leading 1.
            x * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0))))
        } else {
            micromath::F32Ext::exp(x) - 1.0
        }
    }
    #[inline]
    fn ln(x: f32) -> f32 {
        micromath::F32Ext::ln(x)
    }
    #[inline]
    fn ln_1p(x: f32) -> f32 {
        micromath::F32Ext::ln(1.0 + x)
    }
    #[inline]
    fn tanh(x: f32) -> f32 {
        let ax = Scalar::abs(x);
        let t = if ax > 9.0 {
            1.0
        } else {
            1.0 - 2.0 / (micromath::F32Ext::exp(2.0 * ax) + 1.0)
        };
        if x < 0.0 {
            -t
        } else {
            t
        }
    }
    #[inline]
    fn erf(x: f32) -> f32 {
        const P: f32 = 0.327_591_1;
        const A1: f32 = 0.254_829_6;
        const A2: f32 = -0.284_496_74;
        const A3: f32 = 1.421_413_7;
        const A4: f32 = -1.453_152_1;
        const A5: f32 = 1.061_405_4;
        let ax = Scalar::abs(x);
        let t = 1.0 / (1.0 + P * ax);
        let poly = t * (A1 + t * (A2 + t * (A3 + t * (A4 + t * A5))));
        let y = 1.0 - poly * micromath::F32Ext::exp(-ax * ax);
        if x < 0.0 {
            -y
        } else {
            y
        }
    }
    #[inline]
    fn sqrt(x: f32) -> f32 {
        micromath::F32Ext::sqrt(x)
    }
}
