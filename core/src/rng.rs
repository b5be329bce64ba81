//! Randomness: any `rand_core::RngCore` (a hardware RNG plugs in), a seedable default,
//! and the few distributions the crate needs, computed the same way on every target.
//!
//! `rand_core` 0.6 is the version the embedded HALs implement (`stm32f4xx-hal`'s RNG
//! peripheral, `nrf-hal`'s), so a board's true RNG can drive initialisation directly.

use rand_core::{RngCore, SeedableRng};

/// The default generator: xoshiro128++ (32-bit state words, fast on Cortex-M0).
pub type DefaultRng = rand_xoshiro::Xoshiro128PlusPlus;

/// The default generator seeded from a `u64` (SplitMix64 expansion).
pub fn rng(seed: u64) -> DefaultRng {
    DefaultRng::seed_from_u64(seed)
}

/// Uniform in `[0, 1)` with 53 random bits.
pub fn uniform01<R: RngCore + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform in `[lo, hi)`.
pub fn uniform<R: RngCore + ?Sized>(rng: &mut R, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * uniform01(rng)
}

/// A standard normal sample (Box–Muller, one of the pair; `libm` maths, so identical on
/// every target).
pub fn normal<R: RngCore + ?Sized>(rng: &mut R) -> f64 {
    // 1 - u is in (0, 1], so the logarithm is finite.
    let u1 = 1.0 - uniform01(rng);
    let u2 = uniform01(rng);
    libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(core::f64::consts::TAU * u2)
}

/// An index uniform in `0..n` (Lemire's multiply-shift; `n` must fit in `u32`).
pub fn below<R: RngCore + ?Sized>(rng: &mut R, n: u32) -> u32 {
    ((u64::from(rng.next_u32()) * u64::from(n)) >> 32) as u32
}

/// Fisher–Yates shuffle.
pub fn shuffle<T, R: RngCore + ?Sized>(rng: &mut R, items: &mut [T]) {
    let mut i = items.len();
    while i > 1 {
        let j = below(rng, i as u32) as usize;
        i -= 1;
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let (mut a, mut b) = (rng(7), rng(7));
        for _ in 0..100 {
            assert_eq!(a.next_u32(), b.next_u32());
        }
    }

    #[test]
    fn normal_has_unit_variance() {
        let mut r = rng(1);
        let n = 20_000;
        let (mut s, mut s2) = (0.0, 0.0);
        for _ in 0..n {
            let x = normal(&mut r);
            s += x;
            s2 += x * x;
        }
        let mean = s / n as f64;
        let var = s2 / n as f64 - mean * mean;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "var {var}");
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut v: [u16; 50] = core::array::from_fn(|i| i as u16);
        shuffle(&mut rng(3), &mut v);
        let mut sorted = v;
        sorted.sort_unstable();
        assert!(sorted.iter().enumerate().all(|(i, &x)| x as usize == i));
        assert_ne!(v, sorted);
    }
}

/// A borrowed generator of any (possibly unsized) type, as a sized one: lets a `&mut R`
/// with `R: ?Sized` be lent as `&mut dyn RngCore`.
#[derive(Debug)]
pub struct Borrowed<'a, R: ?Sized>(pub &'a mut R);

impl<R: RngCore + ?Sized> RngCore for Borrowed<'_, R> {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> core::result::Result<(), rand_core::Error> {
        self.0.try_fill_bytes(dest)
    }
}
