//! The scalar type a network computes in: `f32` everywhere, `f64` on the host, [`Q16`]
//! (Q16.16 fixed point, [`crate::fixed`]) on cores without an FPU.
//!
//! [`Q16`]: crate::Q16

use core::fmt::{Debug, Display};
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// A scalar: [`f32`] (the microcontroller's type), [`f64`] (for gradient checks on the
/// host) or [`Q16`](crate::Q16) (Q16.16 fixed point with saturating arithmetic, for cores
/// without an FPU; see [`crate::fixed`] for how "finite" and ε read there).
///
/// The trait only carries what the kernels need; every transcendental function goes
/// through a [`Math`](crate::Math) backend instead, so the numbers never depend on which
/// `f32` methods happen to be in scope.
///
/// Sealed: the crate's kernels, tolerances and model format know exactly these types.
pub trait Scalar:
    crate::layer::sealed::Sealed
    + Copy
    + Default
    + Debug
    + Display
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Send
    + Sync
    + 'static
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// 0.5.
    const HALF: Self;
    /// The largest finite value (for [`Q16`](crate::Q16) the saturation limit, itself
    /// counted as not finite).
    const MAX: Self;
    /// Machine epsilon (for [`Q16`](crate::Q16) the resolution 2⁻¹⁶).
    const EPSILON: Self;
    /// Bytes of one value (`size_of::<Self>()`).
    const BYTES: usize;
    /// A tag stored in the model format: `"f32"`, `"f64"` or `"q16"`.
    const NAME: &'static str;

    /// Converts from `f32` (exact for both floats; rounding to nearest and saturating for
    /// [`Q16`](crate::Q16)).
    fn from_f32(x: f32) -> Self;
    /// Converts from `f64`, rounding to nearest for `f32`.
    fn from_f64(x: f64) -> Self;
    /// Converts to `f64` (exact for every scalar).
    fn to_f64(self) -> f64;
    /// Converts a count, rounding to nearest.
    fn from_usize(n: usize) -> Self;
    /// Neither NaN nor infinite (for [`Q16`](crate::Q16): not saturated).
    fn is_finite(self) -> bool;
    /// Absolute value (clears the sign bit).
    fn abs(self) -> Self;
    /// The raw bits widened to `u64`, for hashing weights bit-exactly.
    fn to_bits_u64(self) -> u64;
    /// Whether every value of the slice is finite. Branch-free over the exponent bits, so
    /// it vectorises: batched steps run it over every gradient before updating.
    fn all_finite(xs: &[Self]) -> bool;
    /// Whether every `|x|` of the slice is below `limit` (NaN is not). Branch-free over the
    /// bits, so it vectorises: the cheap half of a step's finiteness check.
    fn all_abs_below(xs: &[Self], limit: Self) -> bool;

    /// Kernel hook: [`kernel::affine`](crate::kernel::affine), `z_o = b_o + dot(W_o, x)`.
    /// The default is [`kernel::affine_generic`](crate::kernel::affine_generic); a scalar
    /// may override it with a faster kernel only if that gives the same bits for every
    /// input ([`Q16`](crate::Q16) does).
    #[inline(always)]
    fn affine(w: &[Self], b: &[Self], x: &[Self], z: &mut [Self]) {
        crate::kernel::affine_generic(w, b, x, z);
    }
    /// Kernel hook: [`kernel::transpose_times`](crate::kernel::transpose_times),
    /// `out = Wᵀ δ` (as [`Scalar::affine`]).
    #[inline(always)]
    fn transpose_times(w: &[Self], delta: &[Self], out: &mut [Self]) {
        crate::kernel::transpose_times_generic(w, delta, out);
    }
    /// Kernel hook: [`kernel::outer_axpy`](crate::kernel::outer_axpy),
    /// `w[o][i] += alpha · (δ_o · x_i)` (as [`Scalar::affine`]).
    #[inline(always)]
    fn outer_axpy(alpha: Self, w: &mut [Self], delta: &[Self], x: &[Self]) {
        crate::kernel::outer_axpy_generic(alpha, w, delta, x);
    }
    /// Kernel hook: [`kernel::axpy`](crate::kernel::axpy), `y += alpha · x` (as
    /// [`Scalar::affine`]).
    #[inline(always)]
    fn axpy(alpha: Self, x: &[Self], y: &mut [Self]) {
        crate::kernel::axpy_generic(alpha, x, y);
    }
    /// Kernel hook: [`kernel::sum_abs`](crate::kernel::sum_abs), `Σ |v|` (as
    /// [`Scalar::affine`]).
    #[inline(always)]
    fn sum_abs(v: &[Self]) -> Self {
        crate::kernel::sum_abs_generic(v)
    }

    /// The larger of two values; `self` when they compare equal or `other` is NaN.
    #[inline(always)]
    fn max_of(self, other: Self) -> Self {
        if other > self {
            other
        } else {
            self
        }
    }
}

/// The floating-point scalars, [`f32`] and [`f64`]: what the optimizers that divide by
/// `√v + ε` (Adam, AdamW, RMSProp, AdaGrad) are built for. Their ε (10⁻⁸) is below
/// [`Q16`](crate::Q16)'s resolution 2⁻¹⁶ and their second moments (squared gradients)
/// underflow there, so those optimizers do not exist in fixed point: naming one with
/// `Q16` is a compile-time error.
///
/// ```compile_fail
/// use microprop::{Adam, AdamConfig, Q16, Scalar};
/// // error: the trait bound `Q16: Float` is not satisfied
/// let _ = Adam::<Q16, [Q16; 4]>::new(AdamConfig::default(), [Q16::ZERO; 4]);
/// ```
/// ```
/// use microprop::{Adam, AdamConfig};
/// assert!(Adam::<f32, [f32; 4]>::new(AdamConfig::default(), [0.0; 4]).is_ok());
/// ```
pub trait Float: Scalar {}

impl Float for f32 {}
impl Float for f64 {}

macro_rules! impl_scalar {
    ($t:ty, $bits:ty, $name:literal) => {
        impl crate::layer::sealed::Sealed for $t {}

        impl Scalar for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const HALF: Self = 0.5;
            const MAX: Self = <$t>::MAX;
            const EPSILON: Self = <$t>::EPSILON;
            const BYTES: usize = core::mem::size_of::<$t>();
            const NAME: &'static str = $name;

            #[inline(always)]
            fn from_f32(x: f32) -> Self {
                x as $t
            }
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn from_usize(n: usize) -> Self {
                n as $t
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::from_bits(self.to_bits() & !(1 << (<$bits>::BITS - 1)))
            }
            #[inline(always)]
            fn to_bits_u64(self) -> u64 {
                #[allow(clippy::useless_conversion)]
                u64::from(self.to_bits())
            }
            #[inline]
            fn all_finite(xs: &[Self]) -> bool {
                const EXP: $bits = (<$t>::INFINITY).to_bits();
                // A value is non-finite exactly when all its exponent bits are set; counting
                // them (rather than stopping at the first) lets the loop vectorise.
                let bad = xs.iter().fold(0 as $bits, |n, x| {
                    n + <$bits>::from((x.to_bits() & EXP) == EXP)
                });
                bad == 0
            }
            #[inline]
            fn all_abs_below(xs: &[Self], limit: Self) -> bool {
                // For non-negative floats (and NaN, whose bits are above ∞'s) the order of
                // the bits is the order of the values.
                const ABS: $bits = !(1 << (<$bits>::BITS - 1));
                let limit = limit.to_bits() & ABS;
                let bad = xs.iter().fold(0 as $bits, |n, x| {
                    n + <$bits>::from((x.to_bits() & ABS) >= limit)
                });
                bad == 0
            }
        }
    };
}

impl_scalar!(f32, u32, "f32");
impl_scalar!(f64, u64, "f64");
