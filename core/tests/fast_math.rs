//! The `Fast` backend's stated errors: its `exp` within 2 ulp of the exact value over
//! [−88, 88] (every 29th `f32` there, about 76 million inputs, plus every multiple of
//! ln 2 / 64 — the table's seams — and its neighbours), exact where it must be (`e^0 = 1`,
//! overflow, underflow, NaN, libm's bits beyond the fast path), monotone; and its `tanh`
//! within 3 ulp over [−10, 10]. The reference is `f64` libm, whose own error is far below
//! an `f32` ulp.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use microprop::{Fast, Libm, Math};

/// The `f32` ulp at the exact value `v` (the spacing of the `f32` binade holding `v`;
/// 2⁻¹⁴⁹ among subnormals).
fn ulp(v: f64) -> f64 {
    let v = v.abs();
    if v < f64::from(f32::MIN_POSITIVE) {
        return 2f64.powi(-149);
    }
    2f64.powi(v.log2().floor() as i32 - 23)
}

/// The largest error in ulp of `f` against `reference` over every `stride`-th `f32` bit
/// pattern of `[-limit, limit]`, with the input where it happens.
fn worst(
    f: impl Fn(f32) -> f32,
    reference: impl Fn(f64) -> f64,
    limit: f32,
    stride: u32,
) -> (f64, f32) {
    let top = limit.to_bits();
    let mut worst = (0.0f64, 0.0f32);
    for sign in [0u32, 0x8000_0000] {
        let mut b = 0u32;
        while b <= top {
            let x = f32::from_bits(b | sign);
            let want = reference(f64::from(x));
            let e = (f64::from(f(x)) - want).abs() / ulp(want);
            if e > worst.0 {
                worst = (e, x);
            }
            b += stride;
        }
    }
    worst
}

#[test]
fn fast_exp_is_within_two_ulp_over_the_activations_range() {
    let (fast, at) = worst(<Fast as Math<f32>>::exp, libm::exp, 88.0, 29);
    let (lib, _) = worst(<Libm as Math<f32>>::exp, libm::exp, 88.0, 29 * 16);
    println!("max error over [-88, 88]: fast {fast:.3} ulp (at {at:e}), libm {lib:.3} ulp");
    assert!(fast <= 2.0, "fast exp: {fast} ulp at {at:e}");
    // The sweep measures: libm's expf is within 1 ulp.
    assert!(lib <= 1.0, "libm expf: {lib} ulp");
    // Every table slot and both sides of the fast path's bounds, densely.
    for k in -8_100i32..=8_100 {
        let x = k as f32 * (core::f32::consts::LN_2 / 64.0);
        for x in [
            x,
            f32::from_bits(x.to_bits() + 1),
            f32::from_bits(x.to_bits().saturating_sub(1)),
        ] {
            let want = libm::exp(f64::from(x));
            let e = (f64::from(<Fast as Math<f32>>::exp(x)) - want).abs() / ulp(want);
            assert!(e <= 2.0, "fast exp({x:e}): {e} ulp");
        }
    }
}

#[test]
fn fast_exp_is_exact_at_the_edges() {
    let exp = <Fast as Math<f32>>::exp;
    assert_eq!(exp(0.0), 1.0);
    assert_eq!(exp(-0.0), 1.0);
    assert_eq!(exp(1e-30), 1.0);
    assert_eq!(exp(f32::INFINITY), f32::INFINITY);
    assert_eq!(exp(89.0), f32::INFINITY);
    assert_eq!(exp(f32::MAX), f32::INFINITY);
    assert_eq!(exp(f32::NEG_INFINITY), 0.0);
    assert_eq!(exp(-104.0), 0.0);
    assert_eq!(exp(-f32::MAX), 0.0);
    assert!(exp(f32::NAN).is_nan());
    // Beyond the fast path (|x| > 87): libm's, bit for bit, subnormals included.
    for x in [87.001f32, 88.5, 88.72, -87.001, -87.5, -95.0, -103.9] {
        assert_eq!(exp(x).to_bits(), libm::expf(x).to_bits(), "exp({x})");
    }
    // Monotone across the fast path's bound and the table's seams.
    let mut prev = 0.0f32;
    let mut x = -88.0f32;
    while x < 88.0 {
        let y = exp(x);
        assert!(y >= prev, "exp not monotone at {x}: {y} < {prev}");
        prev = y;
        x += 0.003;
    }
}

#[test]
fn fast_tanh_is_within_three_ulp() {
    let (e, at) = worst(<Fast as Math<f32>>::tanh, libm::tanh, 10.0, 97);
    println!("fast tanh max error over [-10, 10]: {e:.3} ulp at {at:e}");
    assert!(e <= 3.0, "fast tanh: {e} ulp at {at:e}");
    assert_eq!(<Fast as Math<f32>>::tanh(0.0).to_bits(), 0.0f32.to_bits());
    assert_eq!(<Fast as Math<f32>>::tanh(-1e-30), -1e-30);
    assert_eq!(<Fast as Math<f32>>::tanh(20.0), 1.0);
    assert_eq!(<Fast as Math<f32>>::tanh(-f32::INFINITY), -1.0);
    assert!(<Fast as Math<f32>>::tanh(f32::NAN).is_nan());
}
