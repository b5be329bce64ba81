//! Q16.16 fixed point: the scalar [`Q16`] and its integer maths backends [`FixedTable`]
//! and [`FixedPoly`], for cores without an FPU (Cortex-M0/M0+, M3), where every float
//! operation is a library call.
//!
//! [`Q16`] wraps the `fixed` crate's `fixed::types::I16F16`: a signed 32-bit
//! integer counting units of 2⁻¹⁶.
//!
//! ## Range and resolution, and what they mean for training
//! * **Range** ±32768 (`[-32768, 32768 − 2⁻¹⁶]`). Pre-activations, weights, losses and
//!   gradients must stay well inside it; inputs should be standardised (|x| of a few units).
//! * **Resolution** 2⁻¹⁶ ≈ 1.53·10⁻⁵: the smallest nonzero magnitude, and the absolute
//!   error of every conversion and of every product (both round to nearest: at most ½
//!   unit).
//! * **Learning rates** are stored in Q16 too: 10⁻³ is 66 units (1.5 % rounding), below
//!   ≈ 10⁻⁴ the rate itself is a handful of units. Worse, an update `lr · g` smaller than
//!   ½ · 2⁻¹⁶ is 0: with `lr = 0.1` a gradient below ≈ 7.6·10⁻⁵ moves nothing. Use the largest rate that trains (0.05–0.5 on the small nets),
//!   and [`Sgd`](crate::Sgd) or [`Momentum`](crate::Momentum).
//! * **Gradients** below ½ · 2⁻¹⁶ are exactly 0: a deep sigmoid net's first layers (where the
//!   gradient shrinks by σ' ≤ ¼ per layer) stop learning altogether — the vanishing
//!   gradient in its most literal form (`core/tests/fixed_point.rs` measures it).
//! * **Initial weights** are rounded to 2⁻¹⁶ (harmless: He/Xavier scales of 0.1–1 keep
//!   4–5 significant digits); biases of 0 are exact.
//! * Optimizers that divide by `√v + ε` (Adam, AdamW, RMSProp, AdaGrad) do not exist in
//!   Q16: their ε (10⁻⁸) rounds to 0 and their second moments (squared gradients)
//!   underflow, so they are built for [`Float`](crate::Float) scalars only and naming one
//!   with `Q16` is a compile-time error. In a run-time choice
//!   ([`AnyOptimizer`](crate::optim::AnyOptimizer)) they are not offered either: it is
//!   `f32`/`f64` only.
//!
//! ## Overflow policy: nothing wraps silently
//! `fixed`'s operators panic on overflow in debug builds and wrap in release; [`Q16`]'s
//! operators saturate instead, always: `+`, `−`, `×`, `÷` and negation clamp to
//! [`Q16::MAX`] / [`Q16::MIN`], and division by zero gives `MAX` (or `MIN` for a negative
//! dividend). A saturated value then behaves like a float's ±∞: it is absorbing
//! (`∞ + x = ∞`, `∞ · x = ±∞`, even `∞ · 0`, `x / ∞ = 0`), so an overflow anywhere in a
//! pass reaches the loss and the gradients instead of being averaged, halved or
//! cancelled back into range (without that, a mean over a batch of saturated gradients
//! would look finite). Functions that map ±∞ to a finite value for floats do so here too
//! (σ(+∞) = 1, `exp(−∞) = 0`, `tanh`, `erf`); `sqrt` and `ln` keep +∞. Saturation is harmless where a value is merely large (a pre-activation
//! deep in a sigmoid's tail), harmful where it would be learnt from: a saturated value
//! (|x| ≥ 32768 − 2⁻¹⁶, i.e. at the format's limit) counts as **not finite** for
//! [`Scalar::is_finite`], [`Scalar::all_finite`] and [`Scalar::all_abs_below`]. So a step
//! whose gradient or update saturated is refused by the same machinery that refuses a
//! float step with NaN or ∞ ([`Error::NonFiniteGradient`],
//! [`Error::NonFiniteUpdate`]), weights bit-identical.
//! Conversions from floats saturate too, and NaN converts to `MAX` (not finite).
//!
//! ## Backends
//! | backend | sigmoid | tanh | exp | ln | sqrt | erf |
//! |---|---|---|---|---|---|---|
//! | [`FixedTable`] | table of σ on [0, 12] every 1/32 (385 × `u16`), linear interpolation, σ(−x) = 1 − σ(x) | `2σ(2x) − 1` | `2^k · e^r`, `|r| ≤ ln 2 / 2`, degree-6 polynomial in Q2.30 | `k ln 2 + ln m`, `m ∈ [1, 2)` by an atanh series | `fixed`'s integer square root | Abramowitz–Stegun 7.1.26 on this `exp` |
//! | [`FixedPoly`] | cubic Hermite segments on [0, 12] every 1/2 (σ and σ′ at 25 knots), σ(−x) = 1 − σ(x) | `2σ(2x) − 1` | as [`FixedTable`] | as [`FixedTable`] | as [`FixedTable`] | as [`FixedTable`] |
//! | [`Libm`] | through `f64` libm, rounded to nearest (a reference: float code on the device) | ← | ← | ← | ← | ← |
//!
//! Every activation of [`Activation::ALL`](crate::Activation::ALL) works with each backend;
//! the measured maximum errors against `f64` are in the `q16` table of
//! `core/docs/backend-accuracy.md` (checked by `core/tests/fixed_point.rs`).
//! All integer backends are deterministic integer arithmetic: the same on every core.

use core::cmp::Ordering;
use core::fmt;
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use fixed::types::I16F16;

use crate::{Error, Libm, Math, Model, Result, Scalar};

/// A Q16.16 fixed-point number with saturating arithmetic (see the [module
/// documentation](self) for the range, the resolution and the overflow policy).
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Q16(I16F16);

impl Q16 {
    /// The largest value, 32768 − 2⁻¹⁶ (saturated: not finite).
    pub const MAX: Q16 = Q16(I16F16::MAX);
    /// The smallest value, −32768 (saturated: not finite).
    pub const MIN: Q16 = Q16(I16F16::MIN);
    /// The resolution, 2⁻¹⁶: the smallest positive value.
    pub const DELTA: Q16 = Q16(I16F16::DELTA);

    /// The value of `bits` units of 2⁻¹⁶.
    #[inline(always)]
    pub const fn from_bits(bits: i32) -> Q16 {
        Q16(I16F16::from_bits(bits))
    }

    /// The raw value in units of 2⁻¹⁶.
    #[inline(always)]
    pub const fn to_bits(self) -> i32 {
        self.0.to_bits()
    }

    /// The `fixed` crate's value.
    #[inline(always)]
    pub const fn to_fixed(self) -> I16F16 {
        self.0
    }

    /// From the `fixed` crate's value.
    #[inline(always)]
    pub const fn from_fixed(x: I16F16) -> Q16 {
        Q16(x)
    }

    /// Whether the value sits at the format's limit (|x| ≥ 32768 − 2⁻¹⁶): what saturation
    /// produces, and what [`Scalar::is_finite`] rejects.
    #[inline(always)]
    pub const fn is_saturated(self) -> bool {
        // The three saturated bit patterns i32::MAX, i32::MIN and i32::MIN + 1 are
        // consecutive modulo 2³²: one subtraction and one unsigned compare.
        (self.0.to_bits() as u32).wrapping_sub(i32::MAX as u32) <= 2
    }

    /// Whether `bits` lies in the products' fast range, |x| < 2⁷ (−2²³ ≤ bits < 2²³):
    /// the product of two such values is below 2³⁰ units, so it neither saturates nor
    /// overflows, and neither operand is saturated.
    #[inline(always)]
    const fn in_mul_range(bits: i32) -> bool {
        (bits as u32).wrapping_add(1 << 23) < 1 << 24
    }

    /// A saturated 32-bit value from a wider integer of units.
    #[inline(always)]
    const fn clamp_i64(bits: i64) -> Q16 {
        Q16::from_bits(if bits > i32::MAX as i64 {
            i32::MAX
        } else if bits < i32::MIN as i64 {
            i32::MIN
        } else {
            bits as i32
        })
    }
}

impl crate::layer::sealed::Sealed for Q16 {}

impl fmt::Debug for Q16 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Q16 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Q16 {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=i32}/65536", self.to_bits());
    }
}

impl Q16 {
    /// The saturated value of a sign: [`Q16::MIN`] for negative, else [`Q16::MAX`].
    #[inline(always)]
    const fn saturated(negative: bool) -> Q16 {
        if negative {
            Q16::MIN
        } else {
            Q16::MAX
        }
    }
}

impl Add for Q16 {
    type Output = Q16;
    /// Saturating; a saturated operand is absorbing (`∞ + x = ∞`).
    #[inline(always)]
    fn add(self, rhs: Q16) -> Q16 {
        if self.is_saturated() {
            self
        } else if rhs.is_saturated() {
            rhs
        } else {
            Q16(self.0.saturating_add(rhs.0))
        }
    }
}

impl Sub for Q16 {
    type Output = Q16;
    /// Saturating; a saturated operand is absorbing (`x − ∞ = −∞`).
    #[inline(always)]
    fn sub(self, rhs: Q16) -> Q16 {
        if self.is_saturated() {
            self
        } else if rhs.is_saturated() {
            -rhs
        } else {
            Q16(self.0.saturating_sub(rhs.0))
        }
    }
}

impl Mul for Q16 {
    type Output = Q16;
    /// Saturating; the product rounds to nearest (ties toward +∞), not toward −∞ as
    /// `fixed`'s `saturating_mul` does: truncation biases every product by −½ unit on
    /// average, which turns a gradient below the resolution into a steady −1 unit drift of
    /// the weights instead of 0. A saturated operand is absorbing, even against 0
    /// (`∞ · 0` is NaN for floats: not finite either way).
    ///
    /// Both operands below 128 in magnitude (nearly every product of training): the
    /// rounded product from 32-bit multiplies (`mul_small`); otherwise the saturating
    /// general case (`mul_wide`). The two agree wherever both apply (a unit test checks
    /// it), so which one runs never shows in a result.
    #[inline(always)]
    fn mul(self, rhs: Q16) -> Q16 {
        let (a, b) = (self.to_bits(), rhs.to_bits());
        if Q16::in_mul_range(a) && Q16::in_mul_range(b) {
            Q16::from_bits(mul_small(a, b))
        } else {
            mul_wide(self, rhs)
        }
    }
}

/// The rounded product `(a · b + 2¹⁵) >> 16` of two values in [`Q16::in_mul_range`]
/// (|a|, |b| < 2²³ units, so the result is below 2³⁰ + 1 in magnitude): one `i64`
/// multiply where the core has a 32 × 32 → 64 multiply instruction.
#[cfg(not(all(target_arch = "arm", not(target_has_atomic = "32"))))]
#[inline(always)]
fn mul_small(a: i32, b: i32) -> i32 {
    ((i64::from(a) * i64::from(b) + (1 << 15)) >> 16) as i32
}

/// [`mul_small`] on ARMv6-M (Cortex-M0/M0+, no 64-bit multiply: `i64` products are
/// calls to `__aeabi_lmul`): [`mul_halves`].
#[cfg(all(target_arch = "arm", not(target_has_atomic = "32")))]
#[inline(always)]
fn mul_small(a: i32, b: i32) -> i32 {
    mul_halves(a, b)
}

/// `(a · b + 2¹⁶⁻¹) >> 16` from three 32-bit multiplies, exact for |a|, |b| < 2²³: with
/// `b = bₕ 2¹⁶ + bₗ` and `a = aₕ 2¹⁶ + aₗ` (`aₗ, bₗ ∈ [0, 2¹⁶)`),
/// `a b + 2¹⁵ = (a bₕ + aₕ bₗ) 2¹⁶ + (aₗ bₗ + 2¹⁵)`, so the shifted sum is
/// `a bₕ + aₕ bₗ + ⌊(aₗ bₗ + 2¹⁵) / 2¹⁶⌋`; `|a bₕ| ≤ 2³⁰`, `|aₕ bₗ| < 2²³` and
/// `aₗ bₗ < 2³²` fit their 32 bits. The last term is `((aₗ bₗ >> 15) + 1) >> 1` (no
/// 2¹⁵ constant, no carry out of 32 bits).
#[cfg_attr(
    not(all(target_arch = "arm", not(target_has_atomic = "32"))),
    allow(dead_code)
)]
#[inline(always)]
const fn mul_halves(a: i32, b: i32) -> i32 {
    let (ah, al) = (a >> 16, (a as u32) & 0xFFFF);
    let (bh, bl) = (b >> 16, (b as u32) & 0xFFFF);
    let lo = (((al * bl) >> 15) + 1) >> 1;
    a.wrapping_mul(bh)
        .wrapping_add(ah.wrapping_mul(bl as i32))
        .wrapping_add(lo as i32)
}

/// The general saturating product (out of line: rare in training), rounded to nearest
/// (ties toward +∞); a saturated operand is absorbing.
#[cold]
#[inline(never)]
fn mul_wide(x: Q16, y: Q16) -> Q16 {
    if x.is_saturated() || y.is_saturated() {
        Q16::saturated((x.0 < I16F16::ZERO) != (y.0 < I16F16::ZERO))
    } else {
        let p = i64::from(x.to_bits()) * i64::from(y.to_bits());
        Q16::clamp_i64((p + (1 << 15)) >> 16)
    }
}

impl Div for Q16 {
    type Output = Q16;
    /// Saturating; `x / 0` is [`Q16::MAX`] for `x ≥ 0` and [`Q16::MIN`] for `x < 0`
    /// (both not finite), never a panic; `∞ / x = ±∞`, `x / ∞ = 0` for finite `x`.
    #[inline(always)]
    fn div(self, rhs: Q16) -> Q16 {
        let negative = (self.0 < I16F16::ZERO) != (rhs.0 < I16F16::ZERO);
        if self.is_saturated() {
            Q16::saturated(negative)
        } else if rhs.0 == I16F16::ZERO {
            Q16::saturated(self.0 < I16F16::ZERO)
        } else if rhs.is_saturated() {
            Q16::ZERO
        } else {
            Q16(self.0.saturating_div(rhs.0))
        }
    }
}

impl Neg for Q16 {
    type Output = Q16;
    /// `−MIN` is `MAX`; `−MAX` is saturated too.
    #[inline(always)]
    fn neg(self) -> Q16 {
        Q16(self.0.saturating_neg())
    }
}

macro_rules! assign {
    ($($Trait:ident $method:ident $op:tt),*) => {$(
        impl $Trait for Q16 {
            #[inline(always)]
            fn $method(&mut self, rhs: Q16) {
                *self = *self $op rhs;
            }
        }
    )*};
}
assign!(AddAssign add_assign +, SubAssign sub_assign -, MulAssign mul_assign *, DivAssign div_assign /);

impl Scalar for Q16 {
    const ZERO: Self = Q16(I16F16::ZERO);
    const ONE: Self = Q16(I16F16::ONE);
    const HALF: Self = Q16::from_bits(1 << 15);
    const MAX: Self = Q16::MAX;
    /// The resolution 2⁻¹⁶ (the smallest step between two values).
    const EPSILON: Self = Q16::DELTA;
    const BYTES: usize = 4;
    const NAME: &'static str = "q16";

    #[inline(always)]
    fn from_f32(x: f32) -> Self {
        Self::from_f64(f64::from(x))
    }
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        if x.is_nan() {
            Q16::MAX
        } else {
            Q16(I16F16::saturating_from_num(x))
        }
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self.to_bits()) / 65536.0
    }
    #[inline(always)]
    fn from_usize(n: usize) -> Self {
        Q16(I16F16::saturating_from_num(n))
    }
    /// Not saturated: |x| below 32768 − 2⁻¹⁶ (see the overflow policy).
    #[inline(always)]
    fn is_finite(self) -> bool {
        !self.is_saturated()
    }
    #[inline(always)]
    fn abs(self) -> Self {
        Q16(self.0.saturating_abs())
    }
    #[inline(always)]
    fn to_bits_u64(self) -> u64 {
        u64::from(self.to_bits() as u32)
    }
    #[inline]
    fn all_finite(xs: &[Self]) -> bool {
        let bad = xs.iter().fold(0u32, |n, x| n + u32::from(x.is_saturated()));
        bad == 0
    }
    #[inline]
    fn all_abs_below(xs: &[Self], limit: Self) -> bool {
        // |MIN| is 2³¹ as u32: above every limit, like a saturated value should be.
        let limit = limit.to_bits().unsigned_abs().min(i32::MAX as u32);
        let bad = xs.iter().fold(0u32, |n, x| {
            n + u32::from(x.to_bits().unsigned_abs() >= limit)
        });
        bad == 0
    }
    #[inline(always)]
    fn max_of(self, other: Self) -> Self {
        match other.cmp(&self) {
            Ordering::Greater => other,
            _ => self,
        }
    }
    /// A faster kernel with exactly the bits of
    /// [`kernel::affine_generic`](crate::kernel::affine_generic) (see the module `fast`).
    #[inline(always)]
    fn affine(w: &[Self], b: &[Self], x: &[Self], z: &mut [Self]) {
        fast::affine(w, b, x, z);
    }
    /// A faster kernel with exactly the bits of
    /// [`kernel::transpose_times_generic`](crate::kernel::transpose_times_generic) (see the module `fast`).
    #[inline(always)]
    fn transpose_times(w: &[Self], delta: &[Self], out: &mut [Self]) {
        fast::transpose_times(w, delta, out);
    }
    /// A faster kernel with exactly the bits of
    /// [`kernel::outer_axpy_generic`](crate::kernel::outer_axpy_generic) (see the module `fast`).
    #[inline(always)]
    fn outer_axpy(alpha: Self, w: &mut [Self], delta: &[Self], x: &[Self]) {
        fast::outer_axpy(alpha, w, delta, x);
    }
    /// A faster kernel with exactly the bits of
    /// [`kernel::axpy_generic`](crate::kernel::axpy_generic) (see the module `fast`).
    #[inline(always)]
    fn axpy(alpha: Self, x: &[Self], y: &mut [Self]) {
        fast::axpy(alpha, x, y);
    }
    /// A faster kernel with exactly the bits of
    /// [`kernel::sum_abs_generic`](crate::kernel::sum_abs_generic) (see the module `fast`).
    #[inline]
    fn sum_abs(v: &[Self]) -> Self {
        fast::sum_abs(v)
    }
}

/// The Q16 kernels behind [`Scalar`]'s hooks: the generic kernels' exact results
/// (`crate::kernel::*_generic`, one saturating, absorbing operation at a time) at a
/// fraction of the cost, by proving once per call, or once per row, that no operation
/// of the generic order can saturate, overflow or meet a saturated value. Where that is
/// proven, every product is [`Q16::in_mul_range`]'s fast product (the same bits as
/// `*`), every sum is the plain integer sum (the same bits as saturating `+`, in any
/// order), and a zero product adds nothing (`w + 0 = w`, saturated or not). Where it is
/// not, the generic code runs (for the call, the row or the element, whichever the
/// proof covered), so the results never depend on which path ran: `core/tests/
/// fixed_point.rs` pins them bit for bit.
mod fast {
    use super::{mul_small, Q16};
    use crate::{kernel, Scalar};

    /// Sums of products with one operand in the mul range and the other at most `max`
    /// in magnitude, `n` terms of them, stay below the saturated values in every order:
    /// each |p| ≤ ⌊(2²³ · max + 2¹⁵) / 2¹⁶⌋ ≤ 128 · max + 1 units, and
    /// `n (128 max + 1) ≤ 2³¹ − 2`.
    #[inline(always)]
    fn sums_fit(n: usize, max: u32) -> bool {
        // max ≤ 2²³, so `per` ≤ 2³⁰ + 1. Without a division or a 64-bit product (library
        // calls on the M0): with per ≤ (⌊per / 2¹⁵⌋ + 1) 2¹⁵, it suffices that
        // n (⌊per / 2¹⁵⌋ + 1) ≤ 2¹⁶ − 1, as (2¹⁶ − 1) 2¹⁵ ≤ 2³¹ − 2; both factors are
        // below 2¹⁶ there, so their product fits 32 bits.
        let per = 128 * max + 1;
        match u32::try_from(n) {
            Ok(n) if n < 1 << 16 => n * ((per >> 15) + 1) < 1 << 16,
            _ => false,
        }
    }

    /// The largest |x| of `xs` in units (at most 2²³), if every value is in the mul range.
    #[inline(always)]
    fn max_in_range(xs: &[Q16]) -> Option<u32> {
        let mut ok = true;
        let mut max = 0u32;
        for x in xs {
            let b = x.to_bits();
            ok &= Q16::in_mul_range(b);
            max = max.max(b.unsigned_abs());
        }
        ok.then_some(max)
    }

    /// |w| < 2³⁰: adding a value of at most 2³⁰ in magnitude neither overflows nor meets
    /// a saturated `w`.
    #[inline(always)]
    const fn addable(bits: i32) -> bool {
        (bits as u32).wrapping_add(1 << 30) < 1 << 31
    }

    /// [`kernel::affine`]. Proof: every `x` in the mul range, and [`sums_fit`] for a
    /// row's products; then a row whose weights are all in the mul range has the exact
    /// integer sum as its [`kernel::dot`] (no partial sum of any order reaches the
    /// saturated values), and `b + sum` is the generic `+`. A row with a weight outside
    /// the mul range is recomputed by [`kernel::dot`]. Zero inputs are skipped (their
    /// products are 0 once the weight is in range).
    #[inline(always)]
    pub(super) fn affine(w: &[Q16], b: &[Q16], x: &[Q16], z: &mut [Q16]) {
        let n = x.len().max(1);
        let proven = max_in_range(x).is_some_and(|max| sums_fit(n, max));
        if !proven {
            return slow::affine(w, b, x, z);
        }
        for ((z, row), &b) in z.iter_mut().zip(w.chunks_exact(n)).zip(b) {
            let mut sum = 0i32;
            let mut ok = true;
            for (&w, &x) in row.iter().zip(x) {
                let (w, x) = (w.to_bits(), x.to_bits());
                ok &= Q16::in_mul_range(w);
                if x != 0 {
                    sum = sum.wrapping_add(mul_small(w, x));
                }
            }
            *z = if ok {
                b + Q16::from_bits(sum)
            } else {
                slow::dot(b, row, x)
            };
        }
    }

    /// [`kernel::transpose_times`]. Proof: every `δ` in the mul range, [`sums_fit`] for a
    /// column's products, and every weight of the used rows in the mul range (checked on
    /// the way; a weight outside it, even in a row whose `δ` is 0 since `0 · ∞ = ∞`,
    /// makes the whole call generic). Each `out_i` is then the exact integer sum.
    #[inline(always)]
    pub(super) fn transpose_times(w: &[Q16], delta: &[Q16], out: &mut [Q16]) {
        let n = out.len().max(1);
        let rows = delta.len().min(w.len() / n);
        let proven = max_in_range(delta).is_some_and(|max| sums_fit(rows, max));
        if !proven || rows == 0 {
            return slow::transpose_times(w, delta, out);
        }
        for o in out.iter_mut() {
            *o = Q16::ZERO;
        }
        let mut ok = true;
        for (row, &d) in w.chunks_exact(n).zip(delta) {
            let d = d.to_bits();
            if d == 0 {
                ok &= row.iter().all(|w| Q16::in_mul_range(w.to_bits()));
                continue;
            }
            for (o, &w) in out.iter_mut().zip(row) {
                let w = w.to_bits();
                ok &= Q16::in_mul_range(w);
                *o = Q16::from_bits(o.to_bits().wrapping_add(mul_small(d, w)));
            }
        }
        if !ok {
            slow::transpose_times(w, delta, out);
        }
    }

    /// `⌈a / 2⁸⌉ · ⌈b / 2⁸⌉ < 2²³ − 1` for `a, b ≤ 2²³`: then `a b < (2²³ − 1) 2¹⁶`, so
    /// the rounded product of values of these magnitudes is in the mul range.
    #[inline(always)]
    fn product_in_range(a: u32, b: u32) -> bool {
        ((a >> 8) + 1) * ((b >> 8) + 1) < (1 << 23) - 1
    }

    /// [`kernel::outer_axpy`], `w += α (δ_o x_i)`. Proof: `α` and every `x` in the mul
    /// range; per row, `δ_o` in the mul range with `δ_o · max|x|` small enough that
    /// every `δ_o x_i` is in the mul range too ([`product_in_range`]); then each update
    /// `p = α (δ_o x_i)` is the fast product (|p| ≤ 2³⁰), and `w + p` is the plain sum
    /// for |w| < 2³⁰ ([`addable`]) and the generic `+` otherwise. A row of `δ_o = 0` and
    /// an update of 0 change nothing. A row outside the proof runs the generic code.
    #[inline(always)]
    pub(super) fn outer_axpy(alpha: Q16, w: &mut [Q16], delta: &[Q16], x: &[Q16]) {
        let n = x.len().max(1);
        let a = alpha.to_bits();
        let max = match max_in_range(x) {
            Some(max) if Q16::in_mul_range(a) => max,
            _ => return slow::outer_axpy(alpha, w, delta, x),
        };
        for (row, &d) in w.chunks_exact_mut(n).zip(delta) {
            let db = d.to_bits();
            if db == 0 {
                continue;
            }
            if !(Q16::in_mul_range(db) && product_in_range(db.unsigned_abs(), max)) {
                slow::outer_axpy_row(alpha, row, d, x);
                continue;
            }
            for (p, &x) in row.iter_mut().zip(x) {
                let step = mul_small(a, mul_small(db, x.to_bits()));
                if step != 0 {
                    add_step(p, step);
                }
            }
        }
    }

    /// `*w += step` for a step of at most 2³⁰ in magnitude, exactly as the generic `+`.
    #[inline(always)]
    fn add_step(w: &mut Q16, step: i32) {
        let bits = w.to_bits();
        *w = if addable(bits) {
            Q16::from_bits(bits + step)
        } else {
            *w + Q16::from_bits(step)
        };
    }

    /// The generic kernels, out of line: the fast kernels are inlined where the layer
    /// sizes are constants, their fallbacks are not (rarely taken; one copy each).
    mod slow {
        use super::Q16;
        use crate::kernel;

        #[cold]
        #[inline(never)]
        pub(super) fn affine(w: &[Q16], b: &[Q16], x: &[Q16], z: &mut [Q16]) {
            kernel::affine_generic(w, b, x, z);
        }
        #[cold]
        #[inline(never)]
        pub(super) fn dot(b: Q16, row: &[Q16], x: &[Q16]) -> Q16 {
            b + kernel::dot(row, x)
        }
        #[cold]
        #[inline(never)]
        pub(super) fn transpose_times(w: &[Q16], delta: &[Q16], out: &mut [Q16]) {
            kernel::transpose_times_generic(w, delta, out);
        }
        #[cold]
        #[inline(never)]
        pub(super) fn outer_axpy(alpha: Q16, w: &mut [Q16], delta: &[Q16], x: &[Q16]) {
            kernel::outer_axpy_generic(alpha, w, delta, x);
        }
        #[cold]
        #[inline(never)]
        pub(super) fn outer_axpy_row(alpha: Q16, row: &mut [Q16], d: Q16, x: &[Q16]) {
            for (p, &x) in row.iter_mut().zip(x) {
                *p += alpha * (d * x);
            }
        }
        #[cold]
        #[inline(never)]
        pub(super) fn axpy(alpha: Q16, x: &[Q16], y: &mut [Q16]) {
            kernel::axpy_generic(alpha, x, y);
        }
    }

    /// [`kernel::sum_abs`]: the exact sum of the magnitudes (in 64 bits) when it is at
    /// most 2³¹ − 2 units; then no partial sum of the generic order (all of them at most
    /// the total) saturates or overflows, and no term is saturated. Otherwise the generic
    /// sum.
    #[inline]
    pub(super) fn sum_abs(v: &[Q16]) -> Q16 {
        let total = v
            .iter()
            .fold(0u64, |s, x| s + u64::from(x.to_bits().unsigned_abs()));
        match i32::try_from(total) {
            Ok(t) if t < i32::MAX => Q16::from_bits(t),
            _ => kernel::sum_abs_generic(v),
        }
    }

    /// [`kernel::axpy`], `y += α x`: per element, the fast product where `α` and `x` are
    /// in the mul range (then |α x| ≤ 2³⁰, added as in [`outer_axpy`]), the generic
    /// operations elsewhere.
    #[inline(always)]
    pub(super) fn axpy(alpha: Q16, x: &[Q16], y: &mut [Q16]) {
        let a = alpha.to_bits();
        if !Q16::in_mul_range(a) {
            return slow::axpy(alpha, x, y);
        }
        for (y, &x) in y.iter_mut().zip(x) {
            let xb = x.to_bits();
            if Q16::in_mul_range(xb) {
                let step = mul_small(a, xb);
                if step != 0 {
                    add_step(y, step);
                }
            } else {
                *y += alpha * x;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Compile-time tables (const f64 arithmetic: the values are computed, not pasted).

/// `e^x` in `f64` at compile time: `x = k ln 2 + r`, 25 Taylor terms of `e^r`, times `2^k`.
const fn const_exp(x: f64) -> f64 {
    let ln2 = core::f64::consts::LN_2;
    let kf = x / ln2;
    let k = if kf >= 0.0 {
        (kf + 0.5) as i32
    } else {
        (kf - 0.5) as i32
    };
    let r = x - k as f64 * ln2;
    let mut sum = 1.0;
    let mut term = 1.0;
    let mut n = 1;
    while n < 25 {
        term = term * r / n as f64;
        sum += term;
        n += 1;
    }
    let mut i = 0;
    if k >= 0 {
        while i < k {
            sum *= 2.0;
            i += 1;
        }
    } else {
        while i < -k {
            sum *= 0.5;
            i += 1;
        }
    }
    sum
}

const fn const_sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + const_exp(-x))
}

/// Rounds to the nearest integer (ties away from 0), at compile time.
const fn const_round(x: f64) -> i64 {
    if x >= 0.0 {
        (x + 0.5) as i64
    } else {
        (x - 0.5) as i64
    }
}

/// Where the sigmoid tables end: σ(12) = 1 − 6.1·10⁻⁶, within ½ unit of 1.
const SIG_END: i32 = 12 << 16;
/// Table steps per unit of `x` (1/32).
const TABLE_STEPS_LOG2: u32 = 5;
const TABLE_LEN: usize = (12 << TABLE_STEPS_LOG2) + 1;

/// `(σ(i/32) − ½) · 2¹⁶` rounded, for `i = 0..=384`: below 2¹⁵, so `u16`.
// Indexing in a constant's initialiser: out of range would fail the build, not a run.
#[allow(clippy::indexing_slicing)]
const SIGMOID_TABLE: [u16; TABLE_LEN] = {
    let mut t = [0u16; TABLE_LEN];
    let mut i = 0;
    while i < TABLE_LEN {
        let x = i as f64 / (1 << TABLE_STEPS_LOG2) as f64;
        t[i] = const_round((const_sigmoid(x) - 0.5) * 65536.0) as u16;
        i += 1;
    }
    t
};

/// Knots of the Hermite segments per unit of `x` (1/2).
const KNOTS_LOG2: u32 = 1;
const KNOTS: usize = (12 << KNOTS_LOG2) + 1;

/// `(σ(k/2), σ'(k/2) · ½)` in Q2.30 for `k = 0..=24`: the cubic Hermite segment on
/// `[k/2, (k+1)/2]` in the local coordinate `t ∈ [0, 1)` needs the slope times the width.
#[allow(clippy::indexing_slicing)]
const HERMITE: [(i32, i32); KNOTS] = {
    let mut t = [(0i32, 0i32); KNOTS];
    let mut k = 0;
    while k < KNOTS {
        let x = k as f64 / (1 << KNOTS_LOG2) as f64;
        let s = const_sigmoid(x);
        let d = s * (1.0 - s) / (1 << KNOTS_LOG2) as f64;
        t[k] = (
            const_round(s * (1u64 << 30) as f64) as i32,
            const_round(d * (1u64 << 30) as f64) as i32,
        );
        k += 1;
    }
    t
};

/// σ(x) for `x ≥ 0` in units of 2⁻¹⁶ (`x` in units), by table and linear interpolation.
#[inline(always)]
fn sigmoid_table_pos(x: i32) -> i32 {
    if x >= SIG_END {
        return 1 << 16;
    }
    let shift = 16 - TABLE_STEPS_LOG2;
    let i = (x >> shift) as usize;
    let frac = x & ((1 << shift) - 1);
    let lo = i32::from(SIGMOID_TABLE.get(i).copied().unwrap_or(1 << 15));
    let hi = i32::from(SIGMOID_TABLE.get(i + 1).copied().unwrap_or(1 << 15));
    // (hi − lo) < 2¹⁰ and frac < 2¹¹: the product fits easily; round to nearest.
    let v = lo + (((hi - lo) * frac + (1 << (shift - 1))) >> shift);
    v + (1 << 15)
}

/// σ(x) for `x ≥ 0` in units of 2⁻¹⁶, by cubic Hermite segments.
#[inline(always)]
fn sigmoid_poly_pos(x: i32) -> i32 {
    if x >= SIG_END {
        return 1 << 16;
    }
    let shift = 16 - KNOTS_LOG2;
    let k = (x >> shift) as usize;
    let (p0, m0) = HERMITE.get(k).copied().unwrap_or((1 << 30, 0));
    let (p1, m1) = HERMITE.get(k + 1).copied().unwrap_or((1 << 30, 0));
    let (p0, m0, p1, m1) = (i64::from(p0), i64::from(m0), i64::from(p1), i64::from(m1));
    // t ∈ [0, 1) in Q30.
    let t = i64::from(x & ((1 << shift) - 1)) << (30 - shift);
    let q = |a: i64, b: i64| (a * b) >> 30;
    // Hermite in the form p0 + t (m0 + t (c2 + t c3)):
    // c2 = 3(p1 − p0) − 2 m0 − m1, c3 = 2(p0 − p1) + m0 + m1.
    let c2 = 3 * (p1 - p0) - 2 * m0 - m1;
    let c3 = 2 * (p0 - p1) + m0 + m1;
    let v = p0 + q(t, m0 + q(t, c2 + q(t, c3)));
    ((v + (1 << 13)) >> 14) as i32
}

/// The sigmoid from its `x ≥ 0` half by symmetry: σ(−x) = 1 − σ(x).
#[inline(always)]
fn sigmoid_sym(x: Q16, pos: fn(i32) -> i32) -> Q16 {
    let b = x.to_bits();
    if b >= 0 {
        Q16::from_bits(pos(b))
    } else {
        // |MIN| saturates to MAX: far beyond the table's end either way.
        Q16::from_bits((1 << 16) - pos(b.saturating_neg()))
    }
}

/// `tanh x = 2σ(2x) − 1` (2x saturates harmlessly: σ is 1 there).
#[inline(always)]
fn tanh_from_sigmoid(x: Q16, pos: fn(i32) -> i32) -> Q16 {
    let s = sigmoid_sym(Q16::from_bits(x.to_bits().saturating_mul(2)), pos);
    Q16::from_bits(2 * s.to_bits() - (1 << 16))
}

/// `e^x`: `x = k ln 2 + r`, `|r| ≤ ln 2 / 2`, `e^r` by a degree-6 Taylor polynomial in Q2.30
/// (truncation ≤ 0.347⁷/7! ≈ 1.2·10⁻⁷, below a unit), then shifted by `k`. Saturates to
/// [`Q16::MAX`] above ln 32768 ≈ 10.397 and is 0 below −11.1.
#[inline]
fn exp_q16(x: Q16) -> Q16 {
    let b = i64::from(x.to_bits());
    // ln(32768) · 2¹⁶ ≈ 681 391.
    if b > 681_391 {
        return Q16::MAX;
    }
    // e^x < 2⁻¹⁷ (rounds to 0) below −17 ln 2 ≈ −11.78.
    if b < -772_243 {
        return Q16::ZERO;
    }
    // ln 2 in Q30, and x in Q30.
    const LN2_Q30: i64 = 744_261_118;
    let x30 = b << 14;
    let k = if x30 >= 0 {
        (x30 + LN2_Q30 / 2) / LN2_Q30
    } else {
        (x30 - LN2_Q30 / 2) / LN2_Q30
    };
    let r = x30 - k * LN2_Q30;
    let one: i64 = 1 << 30;
    let q = |a: i64, b: i64| (a * b) >> 30;
    // Horner: 1 + r (1 + r/2 (1 + r/3 (1 + r/4 (1 + r/5 (1 + r/6))))).
    let mut p = one;
    let mut n = 6;
    while n >= 1 {
        p = one + q(r, p) / n;
        n -= 1;
    }
    // p in Q30 ∈ [0.70, 1.42]; the result in Q16 is p · 2^k >> 14, rounded.
    let shift = 14 - k;
    let v = if shift > 0 {
        (p + (1 << (shift - 1))) >> shift
    } else {
        p << (-shift)
    };
    Q16::clamp_i64(v)
}

/// `ln x` for `x > 0`: `x = 2^k m`, `m ∈ [1, 2)`, `ln m = 2 atanh((m − 1)/(m + 1))` by its
/// series to `s¹³` in Q30 (`|s| ≤ 1/3`: truncation < 10⁻⁷). `ln 0` and negative inputs
/// give [`Q16::MIN`] (not finite).
#[inline]
fn ln_q16(x: Q16) -> Q16 {
    let b = x.to_bits();
    if b <= 0 {
        return Q16::MIN;
    }
    if x.is_saturated() {
        return Q16::MAX;
    }
    // b = 2^e · m with m ∈ [1, 2) in Q30: e is the position of the top bit.
    let top = 31 - b.leading_zeros() as i32;
    let m = (i64::from(b) << 30) >> top; // Q30 ∈ [1, 2)
    let k = i64::from(top - 16);
    let one: i64 = 1 << 30;
    let s = ((m - one) << 30) / (m + one); // Q30, |s| < 1/3
    let q = |a: i64, b: i64| (a * b) >> 30;
    let s2 = q(s, s);
    // atanh s = s (1 + s²/3 + s⁴/5 + …): Horner from the top.
    let mut p: i64 = one / 13;
    let mut n = 11;
    while n >= 1 {
        p = one / n + q(s2, p);
        n -= 2;
    }
    let ln_m = 2 * q(s, p);
    const LN2_Q30: i64 = 744_261_118;
    let v = k * LN2_Q30 + ln_m; // Q30
    Q16::clamp_i64((v + (1 << 13)) >> 14)
}

/// `√x` through `fixed`'s integer square root; negative inputs give [`Q16::MAX`] (not
/// finite, as NaN would be).
#[inline]
fn sqrt_q16(x: Q16) -> Q16 {
    if x.is_saturated() {
        return Q16::MAX;
    }
    match x.0.checked_sqrt() {
        Some(r) => Q16(r),
        None => Q16::MAX,
    }
}

/// Abramowitz–Stegun 7.1.26 (error ≤ 1.5·10⁻⁷) on [`exp_q16`].
#[inline]
fn erf_q16(x: Q16) -> Q16 {
    let c = Q16::from_f64;
    let ax = x.abs();
    let t = Q16::ONE / (Q16::ONE + c(0.327_591_1) * ax);
    let poly = t
        * (c(0.254_829_592)
            + t * (c(-0.284_496_736)
                + t * (c(1.421_413_741) + t * (c(-1.453_152_027) + t * c(1.061_405_429)))));
    let y = Q16::ONE - poly * exp_q16(-(ax * ax));
    if x < Q16::ZERO {
        -y
    } else {
        y
    }
}

/// Integer Q16.16 maths with the sigmoid (and `tanh = 2σ(2x) − 1`) from a table of 385
/// values with linear interpolation: the default fixed-point backend (see the [module
/// documentation](self)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FixedTable;

/// Integer Q16.16 maths with the sigmoid (and `tanh = 2σ(2x) − 1`) from cubic Hermite
/// segments every ½: the piecewise-polynomial alternative to [`FixedTable`] (fewer
/// constants, more multiplies).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FixedPoly;

macro_rules! fixed_backend {
    ($T:ty, $name:literal, $pos:path) => {
        impl Math<Q16> for $T {
            const NAME: &'static str = $name;
            #[inline]
            fn exp(x: Q16) -> Q16 {
                exp_q16(x)
            }
            /// `e^x − 1`: Q16's error is absolute, so nothing is lost near 0.
            #[inline]
            fn exp_m1(x: Q16) -> Q16 {
                exp_q16(x) - Q16::ONE
            }
            #[inline]
            fn ln(x: Q16) -> Q16 {
                ln_q16(x)
            }
            #[inline]
            fn ln_1p(x: Q16) -> Q16 {
                ln_q16(Q16::ONE + x)
            }
            #[inline]
            fn tanh(x: Q16) -> Q16 {
                tanh_from_sigmoid(x, $pos)
            }
            #[inline]
            fn erf(x: Q16) -> Q16 {
                erf_q16(x)
            }
            #[inline]
            fn sqrt(x: Q16) -> Q16 {
                sqrt_q16(x)
            }
            #[inline]
            fn sigmoid(x: Q16) -> Q16 {
                sigmoid_sym(x, $pos)
            }
        }
    };
}

fixed_backend!(FixedTable, "q16-table", sigmoid_table_pos);
fixed_backend!(FixedPoly, "q16-poly", sigmoid_poly_pos);

/// `f` through `f64` libm, rounded to nearest.
#[inline]
fn via_f64(x: Q16, f: fn(f64) -> f64) -> Q16 {
    Q16::from_f64(f(x.to_f64()))
}

/// The accurate reference: each function through `f64` libm, rounded to nearest (within
/// ½ unit wherever the result is in range). Float code on the device; prefer
/// [`FixedTable`] there.
impl Math<Q16> for Libm {
    const NAME: &'static str = "libm";
    #[inline]
    fn exp(x: Q16) -> Q16 {
        via_f64(x, libm::exp)
    }
    #[inline]
    fn exp_m1(x: Q16) -> Q16 {
        via_f64(x, libm::expm1)
    }
    #[inline]
    fn ln(x: Q16) -> Q16 {
        if x > Q16::ZERO {
            via_f64(x, libm::log)
        } else {
            Q16::MIN
        }
    }
    #[inline]
    fn ln_1p(x: Q16) -> Q16 {
        if x > -Q16::ONE {
            via_f64(x, libm::log1p)
        } else {
            Q16::MIN
        }
    }
    #[inline]
    fn tanh(x: Q16) -> Q16 {
        via_f64(x, libm::tanh)
    }
    #[inline]
    fn erf(x: Q16) -> Q16 {
        via_f64(x, libm::erf)
    }
    #[inline]
    fn sqrt(x: Q16) -> Q16 {
        if x >= Q16::ZERO {
            via_f64(x, libm::sqrt)
        } else {
            Q16::MAX
        }
    }
    #[inline]
    fn sigmoid(x: Q16) -> Q16 {
        via_f64(x, |x| 1.0 / (1.0 + libm::exp(-x)))
    }
}

/// Copies every parameter, state value and activation of `src` into `dst`, a model of the
/// same shape in another scalar: a float model to [`Q16`] (rounding to nearest, for
/// training on the host in `f32` and fine-tuning on the device in fixed point) or back
/// (exact: every Q16 value is an `f64`, and an `f32` for |x| < 256). `dst`'s gradients and
/// caches are left alone; nothing is changed unless everything converts.
///
/// # Errors
/// [`Error::ShapeMismatch`] if the two models' depths, layer kinds or widths differ (with
/// the first differing count), [`Error::InvalidHyperParameter`] if a value of `src` is not
/// finite in `dst` (beyond ±32768 for [`Q16`], or already not finite).
pub fn convert<A: Model, B: Model>(src: &A, dst: &mut B) -> Result<()> {
    if src.depth() != dst.depth() || src.params() != dst.params() {
        return Err(Error::ShapeMismatch {
            expected: src.params(),
            found: dst.params(),
        });
    }
    // First pass: shapes and values check, without writing.
    let mut res = Ok(());
    dst.visit_layers(|d| {
        src.visit_layers(|s| {
            if s.index != d.index || res.is_err() {
                return;
            }
            let same = s.kind == d.kind
                && s.inputs == d.inputs
                && s.outputs == d.outputs
                && s.w.len() == d.w.len()
                && s.b.len() == d.b.len()
                && s.state.len() == d.state.len();
            if !same {
                res = Err(Error::ShapeMismatch {
                    expected: s.w.len() + s.b.len(),
                    found: d.w.len() + d.b.len(),
                });
                return;
            }
            let ok =
                s.w.iter()
                    .chain(s.b)
                    .chain(s.state)
                    .all(|&x| B::Scalar::from_f64(x.to_f64()).is_finite())
                    && s.activation
                        .is_none_or(|a| a.cast::<B::Scalar>().is_valid());
            if !ok {
                res = Err(Error::InvalidHyperParameter(
                    "a value is not finite in the target scalar (beyond Q16's ±32768?)",
                ));
            }
        });
    });
    res?;
    dst.visit_layers_mut(|mut d| {
        src.visit_layers(|s| {
            if s.index != d.index {
                return;
            }
            for (d, &s) in d.w.iter_mut().zip(s.w) {
                *d = B::Scalar::from_f64(s.to_f64());
            }
            for (d, &s) in d.b.iter_mut().zip(s.b) {
                *d = B::Scalar::from_f64(s.to_f64());
            }
            for (d, &s) in d.state.iter_mut().zip(s.state) {
                *d = B::Scalar::from_f64(s.to_f64());
            }
            if let (Some(d), Some(s)) = (d.activation.as_deref_mut(), s.activation) {
                *d = s.cast();
            }
        });
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_saturate() {
        let big = Q16::from_f64(30000.0);
        assert_eq!(big + big, Q16::MAX);
        assert_eq!(-big - big, Q16::MIN);
        assert_eq!(big * big, Q16::MAX);
        assert_eq!(big * -big, Q16::MIN);
        assert_eq!(Q16::ONE / Q16::ZERO, Q16::MAX);
        assert_eq!(-Q16::ONE / Q16::ZERO, Q16::MIN);
        assert_eq!(-Q16::MIN, Q16::MAX);
        assert_eq!(Q16::MIN.abs(), Q16::MAX);
        // Saturation is absorbing, like ∞.
        assert_eq!((big + big) - big, Q16::MAX);
        assert_eq!((big + big) * Q16::HALF, Q16::MAX);
        assert_eq!((big + big) * Q16::ZERO, Q16::MAX);
        assert_eq!(Q16::ONE - Q16::MAX, Q16::from_bits(-i32::MAX));
        assert!(!(Q16::ONE - Q16::MAX).is_finite());
        assert_eq!(Q16::ONE / Q16::MAX, Q16::ZERO);
        assert_eq!(Q16::MIN / Q16::ONE, Q16::MIN);
        assert!(!(big + big).is_finite());
        assert!(big.is_finite());
        assert!(!Q16::from_f64(f64::NAN).is_finite());
        assert!(!Q16::all_finite(&[Q16::ONE, Q16::MIN]));
        assert!(!Q16::all_abs_below(&[Q16::MIN], Q16::MAX));
        assert!(Q16::all_abs_below(
            &[Q16::ONE, -Q16::ONE],
            Q16::from_f64(1.5)
        ));
    }

    /// The fast product agrees with the general one on the edges of its range and on
    /// many values inside, in both of its forms (the `i64` one and the 32-bit halves).
    #[test]
    fn the_fast_product_equals_the_general_one() {
        let lim = 1i32 << 23;
        let edges = [
            0,
            1,
            -1,
            2,
            -2,
            0x7FFF,
            0x8000,
            -0x8000,
            0xFFFF,
            0x1_0000,
            -0x1_0000,
            0x1_8000,
            -0x1_8000,
            lim - 1,
            -lim,
            -lim + 1,
            lim / 2,
            -lim / 2,
            0x12_3456,
            -0x65_4321,
        ];
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            // Every magnitude: shift some values down.
            (((s >> 40) as i32) - lim) >> (s % 23)
        };
        let check = |a: i32, b: i32| {
            assert!(Q16::in_mul_range(a) && Q16::in_mul_range(b));
            let (qa, qb) = (Q16::from_bits(a), Q16::from_bits(b));
            let want = mul_wide(qa, qb);
            assert_eq!(qa * qb, want, "{a} * {b}");
            assert_eq!(mul_halves(a, b), want.to_bits(), "{a} * {b} by halves");
        };
        for a in edges {
            for b in edges {
                check(a, b);
            }
            for _ in 0..1000 {
                let b = next();
                check(a, b);
                check(b, a);
            }
        }
        for _ in 0..200_000 {
            let (a, b) = (next(), next());
            check(a, b);
        }
        assert!(!Q16::in_mul_range(lim) && !Q16::in_mul_range(-lim - 1));
        assert!(!Q16::in_mul_range(i32::MAX) && !Q16::in_mul_range(i32::MIN));
        for bits in [i32::MAX, i32::MIN, i32::MIN + 1] {
            assert!(Q16::from_bits(bits).is_saturated());
        }
        for bits in [i32::MAX - 1, i32::MIN + 2, 0, 1, -1] {
            assert!(!Q16::from_bits(bits).is_saturated());
        }
    }

    #[test]
    fn tables_hold_the_sigmoid() {
        for (i, &v) in SIGMOID_TABLE.iter().enumerate() {
            let x = i as f64 / 32.0;
            let want = (1.0 / (1.0 + libm::exp(-x)) - 0.5) * 65536.0;
            assert!((f64::from(v) - want).abs() <= 0.5, "{i}: {v} vs {want}");
        }
        assert_eq!(exp_q16(Q16::ZERO), Q16::ONE);
        assert_eq!(ln_q16(Q16::ONE), Q16::ZERO);
    }
}
