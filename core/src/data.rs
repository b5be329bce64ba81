//! Labelled data: a borrowed [`Dataset`] view, and no_std generators of 2-D toy problems
//! into caller-provided buffers (two clusters, XOR quadrants, two spirals).

use rand_core::RngCore;

use crate::{rng, Error, Result, Scalar};

/// Labelled samples, borrowed: features flat (`dim` per sample) and one class per sample.
#[derive(Clone, Copy, Debug)]
pub struct Dataset<'a, S> {
    x: &'a [S],
    labels: &'a [u8],
    dim: usize,
}

impl<'a, S: Scalar> Dataset<'a, S> {
    /// A view of `x.len()` samples of `D` features.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if there are not as many labels as samples.
    pub fn new<const D: usize>(x: &'a [[S; D]], labels: &'a [u8]) -> Result<Self> {
        Self::from_flat(x.as_flattened(), labels, D)
    }

    /// A view of flat features, `dim` per sample.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `x.len() != labels.len() · dim` or `dim == 0`.
    pub fn from_flat(x: &'a [S], labels: &'a [u8], dim: usize) -> Result<Self> {
        let expected = labels.len().saturating_mul(dim);
        if dim == 0 || x.len() != expected {
            return Err(Error::ShapeMismatch {
                expected,
                found: x.len(),
            });
        }
        Ok(Dataset { x, labels, dim })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Features per sample.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// Sample `i`: its features and label.
    pub fn get(&self, i: usize) -> Option<(&'a [S], u8)> {
        let start = i.checked_mul(self.dim)?;
        let x = self.x.get(start..start.checked_add(self.dim)?)?;
        Some((x, *self.labels.get(i)?))
    }
    /// Every sample in order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a [S], u8)> + 'a {
        self.x
            .chunks_exact(self.dim)
            .zip(self.labels.iter().copied())
    }
    /// The first `n` samples (all if fewer).
    pub fn head(&self, n: usize) -> Self {
        let n = n.min(self.len());
        Dataset {
            x: self.x.get(..n * self.dim).unwrap_or(self.x),
            labels: self.labels.get(..n).unwrap_or(self.labels),
            dim: self.dim,
        }
    }
}

/// K Gaussian clusters in the plane.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clusters<'c> {
    /// Cluster centres; sample `i` belongs to class `i mod K`.
    pub centres: &'c [[f32; 2]],
    /// Root-mean-square distance of a point from its centre: each coordinate is drawn
    /// with standard deviation `spread / √2`.
    pub spread: f32,
}

/// The notes' two clusters: centres ±(1, 1).
pub const TWO_CENTRES: [[f32; 2]; 2] = [[-1.0, -1.0], [1.0, 1.0]];

impl Clusters<'static> {
    /// Two clusters at ±(1, 1) with the given spread.
    pub const fn two(spread: f32) -> Self {
        Clusters {
            centres: &TWO_CENTRES,
            spread,
        }
    }
}

impl Clusters<'_> {
    /// Fills `x` and `labels` (same length): class `i mod K`, each coordinate
    /// centre + (spread / √2) · N(0, 1).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for different lengths, [`Error::EmptyData`] without
    /// centres, [`Error::InvalidHyperParameter`] for a negative or non-finite spread.
    pub fn generate<S: Scalar, R: RngCore + ?Sized>(
        &self,
        rng: &mut R,
        x: &mut [[S; 2]],
        labels: &mut [u8],
    ) -> Result<()> {
        same_len(x.len(), labels.len())?;
        if self.centres.is_empty() || self.centres.len() > usize::from(u8::MAX) {
            return Err(Error::EmptyData);
        }
        if !(self.spread.is_finite() && self.spread >= 0.0) {
            return Err(Error::InvalidHyperParameter("cluster spread"));
        }
        let s = f64::from(self.spread) * core::f64::consts::FRAC_1_SQRT_2;
        for (i, (x, label)) in x.iter_mut().zip(labels.iter_mut()).enumerate() {
            let k = i % self.centres.len();
            let c = self.centres.get(k).copied().unwrap_or([0.0; 2]);
            for (x, c) in x.iter_mut().zip(c) {
                *x = S::from_f64(f64::from(c) + s * rng::normal(rng));
            }
            *label = k as u8;
        }
        Ok(())
    }
}

/// `out.len()` cluster centres evenly on a circle of `radius` about the origin, the first
/// on the positive x axis (centre `k` at angle 2πk/K): the simulator's and the
/// playground's K clusters (radius 2). Computed in `f64` with `libm` and rounded to `f32`,
/// so every target gets the same centres.
pub fn circle_centres(radius: f32, out: &mut [[f32; 2]]) {
    let n = out.len() as f64;
    let r = f64::from(radius);
    for (k, c) in out.iter_mut().enumerate() {
        let t = core::f64::consts::TAU * k as f64 / n;
        *c = [(r * libm::cos(t)) as f32, (r * libm::sin(t)) as f32];
    }
}

/// XOR quadrants: points uniform in `[-1, 1]²` (kept `margin` away from the axes), class 1
/// when exactly one coordinate is negative.
///
/// # Errors
/// [`Error::ShapeMismatch`] for different lengths; [`Error::InvalidHyperParameter`] for a
/// margin outside `[0, 1)`.
pub fn xor<S: Scalar, R: RngCore + ?Sized>(
    rng: &mut R,
    margin: f32,
    x: &mut [[S; 2]],
    labels: &mut [u8],
) -> Result<()> {
    same_len(x.len(), labels.len())?;
    if !(0.0..1.0).contains(&margin) {
        return Err(Error::InvalidHyperParameter("xor margin"));
    }
    let m = f64::from(margin);
    for (i, (x, label)) in x.iter_mut().zip(labels.iter_mut()).enumerate() {
        // Balanced: the quadrant cycles with i, the position inside it is random.
        let q = i % 4;
        let sx = if q & 1 == 0 { 1.0 } else { -1.0 };
        let sy = if q & 2 == 0 { 1.0 } else { -1.0 };
        let px = sx * rng::uniform(rng, m, 1.0);
        let py = sy * rng::uniform(rng, m, 1.0);
        *x = [S::from_f64(px), S::from_f64(py)];
        *label = u8::from((px < 0.0) != (py < 0.0));
    }
    Ok(())
}

/// Two interleaved spirals: class `c = i mod 2`, radius `t`, angle `3π t + c π`, plus
/// Gaussian noise of standard deviation `noise`, for `t` uniform in `[0.05, 1]`
/// ([`spiral_arms`] with 2 arms, the same numbers bit for bit).
///
/// # Errors
/// [`Error::ShapeMismatch`] for different lengths; [`Error::InvalidHyperParameter`] for a
/// negative or non-finite noise.
pub fn spirals<S: Scalar, R: RngCore + ?Sized>(
    rng: &mut R,
    noise: f32,
    x: &mut [[S; 2]],
    labels: &mut [u8],
) -> Result<()> {
    spiral_arms(rng, 2, noise, x, labels)
}

/// `arms` interleaved spirals (the lecture's K-class spiral data): class
/// `c = i mod arms`, radius `t`, angle `3π t + c · 2π / arms`, plus Gaussian noise of
/// standard deviation `noise`, for `t` uniform in `[0.05, 1]` (one uniform and two normal
/// draws per sample, in that order). With 2 arms this is [`spirals`].
///
/// # Errors
/// [`Error::ShapeMismatch`] for different lengths; [`Error::InvalidHyperParameter`] for
/// fewer than 2 arms or a negative or non-finite noise.
pub fn spiral_arms<S: Scalar, R: RngCore + ?Sized>(
    rng: &mut R,
    arms: u8,
    noise: f32,
    x: &mut [[S; 2]],
    labels: &mut [u8],
) -> Result<()> {
    same_len(x.len(), labels.len())?;
    if arms < 2 {
        return Err(Error::InvalidHyperParameter("spiral arms"));
    }
    if !(noise.is_finite() && noise >= 0.0) {
        return Err(Error::InvalidHyperParameter("spiral noise"));
    }
    let n = f64::from(noise);
    // 2π / 2 is π exactly, so two arms give the angles `c π` of the two-spiral data.
    let turn = core::f64::consts::TAU / f64::from(arms);
    let k = usize::from(arms);
    for (i, (x, label)) in x.iter_mut().zip(labels.iter_mut()).enumerate() {
        let c = i % k;
        let t = rng::uniform(rng, 0.05, 1.0);
        let theta = 3.0 * core::f64::consts::PI * t + c as f64 * turn;
        let px = t * libm::cos(theta) + n * rng::normal(rng);
        let py = t * libm::sin(theta) + n * rng::normal(rng);
        *x = [S::from_f64(px), S::from_f64(py)];
        *label = c as u8;
    }
    Ok(())
}

fn same_len(x: usize, labels: usize) -> Result<()> {
    if x == labels {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            expected: x,
            found: labels,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// K centres on the circle, the first on the x axis, consecutive ones 2π/K apart,
    /// and as the host's own `f64` `cos`/`sin` put them (what the simulator used before).
    #[test]
    fn circle_centres_are_evenly_on_the_circle() {
        for k in [1usize, 2, 3, 5, 8] {
            let mut c = [[9.0f32; 2]; 8];
            circle_centres(2.0, &mut c[..k]);
            for (i, p) in c[..k].iter().enumerate() {
                let (x, y) = (f64::from(p[0]), f64::from(p[1]));
                assert!((x.hypot(y) - 2.0).abs() < 1e-6, "{k}: {p:?}");
                let t = core::f64::consts::TAU * i as f64 / k as f64;
                assert_eq!(
                    *p,
                    [(2.0 * t.cos()) as f32, (2.0 * t.sin()) as f32],
                    "{k} {i}"
                );
            }
            assert!(
                c[k..].iter().all(|p| *p == [9.0; 2]),
                "{k}: wrote past its slice"
            );
        }
    }

    /// Every arm is balanced and its noise-free points lie on it; two arms are
    /// [`spirals`] bit for bit.
    #[test]
    fn spiral_arms_label_what_they_say() {
        for arms in [2u8, 3, 4, 7] {
            let (mut x, mut y) = ([[0.0f64; 2]; 420], [0u8; 420]);
            spiral_arms(&mut crate::rng(4), arms, 0.0, &mut x, &mut y).unwrap();
            for c in 0..arms {
                assert_eq!(
                    y.iter().filter(|&&l| l == c).count(),
                    420 / usize::from(arms)
                );
            }
            for (p, &l) in x.iter().zip(&y) {
                let r = p[0].hypot(p[1]);
                let arm = 3.0 * core::f64::consts::PI * r
                    + f64::from(l) * core::f64::consts::TAU / f64::from(arms);
                let d = (p[1].atan2(p[0]) - arm).rem_euclid(core::f64::consts::TAU);
                assert!(
                    !(1e-6..=core::f64::consts::TAU - 1e-6).contains(&d),
                    "{arms}: {p:?} {l}"
                );
            }
        }
        // Two arms: the two-spiral data's formula before arms existed, bit for bit.
        let (mut a, mut la) = ([[0.0f32; 2]; 64], [0u8; 64]);
        spirals(&mut crate::rng(9), 0.05, &mut a, &mut la).unwrap();
        let mut r = crate::rng(9);
        for (i, (p, &l)) in a.iter().zip(&la).enumerate() {
            let c = i % 2;
            let t = rng::uniform(&mut r, 0.05, 1.0);
            let theta = 3.0 * core::f64::consts::PI * t + c as f64 * core::f64::consts::PI;
            let n = f64::from(0.05f32);
            let px = t * libm::cos(theta) + n * rng::normal(&mut r);
            let py = t * libm::sin(theta) + n * rng::normal(&mut r);
            assert_eq!(usize::from(l), c);
            let want = [f32::from_f64(px), f32::from_f64(py)];
            assert_eq!(p.map(f32::to_bits), want.map(f32::to_bits), "{i}");
        }
    }

    /// Classes alternate (balanced), and `spread` is the RMS distance from the centre.
    #[test]
    fn clusters_are_balanced_with_the_stated_spread() {
        let (mut x, mut y) = ([[0.0f64; 2]; 4000], [0u8; 4000]);
        Clusters::two(0.7)
            .generate(&mut crate::rng(1), &mut x, &mut y)
            .unwrap();
        assert_eq!(y.iter().filter(|&&l| l == 1).count(), 2000);
        let ms: f64 = x
            .iter()
            .zip(&y)
            .map(|(p, &l)| {
                let c = TWO_CENTRES[usize::from(l)];
                (p[0] - f64::from(c[0])).powi(2) + (p[1] - f64::from(c[1])).powi(2)
            })
            .sum::<f64>()
            / 4000.0;
        assert!((ms.sqrt() - 0.7).abs() < 0.02, "rms {}", ms.sqrt());
    }

    #[test]
    fn xor_and_spirals_label_what_they_say() {
        let (mut x, mut y) = ([[0.0f32; 2]; 400], [0u8; 400]);
        xor(&mut crate::rng(2), 0.1, &mut x, &mut y).unwrap();
        for (p, &l) in x.iter().zip(&y) {
            assert!(p[0].abs() >= 0.1 && p[1].abs() >= 0.1);
            assert_eq!(l == 1, (p[0] < 0.0) != (p[1] < 0.0));
        }
        spirals(&mut crate::rng(3), 0.0, &mut x, &mut y).unwrap();
        for (p, &l) in x.iter().zip(&y) {
            // Noise-free points lie on their arm: angle = 3π r + class · π (mod 2π).
            let r = f64::from(p[0]).hypot(f64::from(p[1]));
            let arm = 3.0 * core::f64::consts::PI * r + f64::from(l) * core::f64::consts::PI;
            let d =
                (f64::from(p[1]).atan2(f64::from(p[0])) - arm).rem_euclid(core::f64::consts::TAU);
            assert!(
                !(1e-4..=core::f64::consts::TAU - 1e-4).contains(&d),
                "{p:?} {l}"
            );
        }
        assert!(xor::<f32, _>(&mut crate::rng(0), 1.5, &mut x, &mut y).is_err());
        assert!(spiral_arms::<f32, _>(&mut crate::rng(0), 1, 0.0, &mut x, &mut y).is_err());
        assert!(Clusters::two(-1.0)
            .generate(&mut crate::rng(0), &mut x, &mut y)
            .is_err());
    }
}
