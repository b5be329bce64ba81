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
//! | [`Fast`] | [`fast_expf`]: 64-entry table + `1 + r + r²/2` (≤ 2 ulp) | `libm::expm1f` | from [`fast_expf`] for `|x| ≥ 0.625`, else `libm::tanhf` | `libm::erff` |
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

/// Fast `f32` maths: a table-driven exponential in `f32` arithmetic alone (cheap on a
/// Cortex-M4F's single-precision FPU and on the host), with `tanh` built on it; the other
/// functions, and every `f64` one, are [`Libm`]'s.
///
/// * `exp(x)`, for `|x| ≤ 87` (where `e^x` is a normal `f32`): `k = round(64 x / ln 2)`
///   by the `1.5 · 2²³` rounding trick, `r = (x − k·C₁) − k·C₂` (Cody–Waite: `C₁ = ln 2 / 64`
///   to 9 bits, so `k·C₁` and `x − k·C₁` are exact; `|r| ≤ ln 2 / 128`), then
///   `2^(k / 64) · (1 + r + r²/2)`, with `2^(j/64)` from a 64-entry table (correctly
///   rounded) and `2^⌊k/64⌋` added into its exponent bits. No division, one branch, no
///   call. Outside `|x| ≤ 87` (overflow, subnormal results, NaN) it is `libm::expf`.
///   Error: ≤ 2 ulp over `[−88, 88]`, measured by `tests/fast_math.rs`.
/// * `tanh(x)`: `sign(x) · (1 − 2 / (e^{2|x|} + 1))` for `0.625 ≤ |x| ≤ 9` on the fast
///   `exp`, ±1 beyond 9, `libm::tanhf` below 0.625 (where `1 − q` would cancel).
/// * `exp_m1`, `ln`, `ln_1p`, `erf`, `sqrt`: `libm`'s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fast;

/// `2^(j/64)` for `j = 0..64`, correctly rounded to `f32` (bit patterns).
const EXP2_64THS: [u32; 64] = [
    0x3f80_0000,
    0x3f81_64d2,
    0x3f82_cd87,
    0x3f84_3a29,
    0x3f85_aac3,
    0x3f87_1f62,
    0x3f88_980f,
    0x3f8a_14d5,
    0x3f8b_95c2,
    0x3f8d_1adf,
    0x3f8e_a43a,
    0x3f90_31dc,
    0x3f91_c3d3,
    0x3f93_5a2b,
    0x3f94_f4f0,
    0x3f96_942d,
    0x3f98_37f0,
    0x3f99_e046,
    0x3f9b_8d3a,
    0x3f9d_3eda,
    0x3f9e_f532,
    0x3fa0_b051,
    0x3fa2_7043,
    0x3fa4_3516,
    0x3fa5_fed7,
    0x3fa7_cd94,
    0x3fa9_a15b,
    0x3fab_7a3a,
    0x3fad_583f,
    0x3faf_3b79,
    0x3fb1_23f6,
    0x3fb3_11c4,
    0x3fb5_04f3,
    0x3fb6_fd92,
    0x3fb8_fbaf,
    0x3fba_ff5b,
    0x3fbd_08a4,
    0x3fbf_179a,
    0x3fc1_2c4d,
    0x3fc3_46cd,
    0x3fc5_672a,
    0x3fc7_8d75,
    0x3fc9_b9be,
    0x3fcb_ec15,
    0x3fce_248c,
    0x3fd0_6334,
    0x3fd2_a81e,
    0x3fd4_f35b,
    0x3fd7_44fd,
    0x3fd9_9d16,
    0x3fdb_fbb8,
    0x3fde_60f5,
    0x3fe0_ccdf,
    0x3fe3_3f89,
    0x3fe5_b907,
    0x3fe8_396a,
    0x3fea_c0c7,
    0x3fed_4f30,
    0x3fef_e4ba,
    0x3ff2_8177,
    0x3ff5_257d,
    0x3ff7_d0df,
    0x3ffa_83b3,
    0x3ffd_3e0c,
];

/// [`EXP2_64THS`]`[j] − (j << 17)` (wrapping): what [`fast_expf`] adds `k << 17` to.
// Evaluated at compile time: an index out of bounds would be a compile error.
#[allow(clippy::indexing_slicing)]
const EXP2_64THS_SHIFTED: [u32; 64] = {
    let mut t = EXP2_64THS;
    let mut j = 0;
    while j < 64 {
        t[j] = t[j].wrapping_sub((j as u32) << 17);
        j += 1;
    }
    t
};

/// [`Fast`]'s `e^x` in `f32` (see its documentation for the method and the error).
#[inline(never)]
pub fn fast_expf(x: f32) -> f32 {
    if Scalar::abs(x) <= 87.0 {
        fast_expf_normal(x)
    } else {
        // Overflow, subnormal results and NaN.
        libm::expf(x)
    }
}

/// [`fast_expf`] for `|x| ≤ 87`, where `e^x` is a normal `f32`.
#[inline(always)]
fn fast_expf_normal(x: f32) -> f32 {
    /// `64 / ln 2`.
    const INV_STEP: f32 = 92.332_48;
    /// `ln 2 / 64` to 9 significant bits (`0.693359375 / 64`).
    const C1: f32 = 355.0 / 32_768.0;
    /// `ln 2 / 64 − C1`.
    const C2: f32 = -3.315_538_1e-6;
    /// `1.5 · 2²³`: adding it rounds to an integer in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let t = x * INV_STEP + ROUND;
    let k = t - ROUND;
    let r = (x - k * C1) - k * C2;
    // e^r − 1, kept apart from the 1 so that the table entry's rounding is the only
    // error at full weight: `s + s·q` rounds once at the end.
    let q = r + (r * r) * 0.5;
    // t's bits are ROUND's plus k (|k| < 2²²), and ROUND's shift out of `bits << 17`,
    // which is then `k << 17 = (⌊k / 64⌋ << 23) + (j << 17)` modulo 2³², j = k mod 64:
    // the exponent of 2^⌊k/64⌋ plus the `j << 17` that the table's entries subtract.
    let bits = t.to_bits();
    let j = (bits & 63) as usize;
    let entry = EXP2_64THS_SHIFTED.get(j).copied().unwrap_or(0x3f80_0000);
    let s = f32::from_bits(entry.wrapping_add(bits << 17));
    s + s * q
}

impl Math<f32> for Fast {
    const NAME: &'static str = "fast";
    #[inline]
    fn exp(x: f32) -> f32 {
        fast_expf(x)
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
        let ax = Scalar::abs(x);
        if ax < 0.625 || x.is_nan() {
            return libm::tanhf(x);
        }
        let t = if ax > 9.0 {
            1.0
        } else {
            1.0 - 2.0 / (fast_expf(2.0 * ax) + 1.0)
        };
        if x < 0.0 {
            -t
        } else {
            t
        }
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

impl Math<f64> for Fast {
    const NAME: &'static str = "fast";
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
