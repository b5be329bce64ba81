//! PCA whitening of 2-D inputs, closed form: rotate onto the principal axes of the
//! covariance and scale each to unit variance, `x' = Λ^{-1/2} Uᵀ (x − μ)`.
//!
//! Fitting is streaming (Welford's mean and co-moments), as a device sees its data; the
//! eigen-decomposition of the 2×2 covariance is closed form. The fitted statistics
//! ([`WhiteningStats`]) are plain numbers so a model format can store them beside the
//! weights, and [`PcaWhitening::from_stats`] rebuilds exactly the same transform.

use crate::{Error, Result, Scalar};

/// What a fitted whitening transform is made of.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct WhiteningStats {
    /// Samples seen.
    pub count: u32,
    /// Mean `μ`.
    pub mean: [f64; 2],
    /// Population covariance `[σ_xx, σ_xy, σ_yy]`.
    pub cov: [f64; 3],
    /// `ε` added to each eigenvalue before the inverse square root.
    pub eps: f64,
}

/// Streaming 2-D PCA whitening.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PcaWhitening {
    count: u32,
    mean: [f64; 2],
    /// Co-moments `Σ dx dx`, `Σ dx dy`, `Σ dy dy`.
    m2: [f64; 3],
    eps: f64,
    /// Whitening matrix, row-major; valid after [`PcaWhitening::finish`].
    w: [f64; 4],
}

impl PcaWhitening {
    /// The identity transform (nothing fitted).
    pub const IDENTITY: PcaWhitening = PcaWhitening {
        count: 0,
        mean: [0.0; 2],
        m2: [0.0; 3],
        eps: 0.0,
        w: [1.0, 0.0, 0.0, 1.0],
    };

    /// An empty accumulator; `eps` (≥ 0, e.g. 1e-5) regularises tiny eigenvalues.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] for a negative or non-finite `eps`.
    pub fn new(eps: f64) -> Result<Self> {
        if !(eps.is_finite() && eps >= 0.0) {
            return Err(Error::InvalidHyperParameter("whitening eps must be >= 0"));
        }
        Ok(PcaWhitening {
            count: 0,
            mean: [0.0; 2],
            m2: [0.0; 3],
            eps,
            w: [1.0, 0.0, 0.0, 1.0],
        })
    }

    /// Adds one sample (call [`finish`](Self::finish) after the last).
    ///
    /// # Errors
    /// [`Error::NonFiniteInput`] for NaN/±∞ (nothing changes).
    pub fn update<S: Scalar>(&mut self, x: &[S; 2]) -> Result<()> {
        if !S::all_finite(x) {
            return Err(Error::NonFiniteInput);
        }
        let [x0, x1] = x.map(S::to_f64);
        self.count = self.count.saturating_add(1);
        let n = f64::from(self.count);
        let [m0, m1] = &mut self.mean;
        let d0 = x0 - *m0;
        let d1 = x1 - *m1;
        *m0 += d0 / n;
        *m1 += d1 / n;
        let (e0, e1) = (x0 - *m0, x1 - *m1);
        let [a, b, c] = &mut self.m2;
        *a += d0 * e0;
        *b += d0 * e1;
        *c += d1 * e1;
        Ok(())
    }

    /// Computes the transform from the statistics gathered so far.
    ///
    /// # Errors
    /// [`Error::BatchTooSmall`] with fewer than two samples; [`Error::NonFiniteInput`] if
    /// the covariance is degenerate (an eigenvalue plus ε is 0).
    pub fn finish(&mut self) -> Result<()> {
        if self.count < 2 {
            return Err(Error::BatchTooSmall);
        }
        let n = f64::from(self.count);
        let [a, b, c] = self.m2.map(|m| m / n);
        // Eigenvalues of [[a, b], [b, c]]: (a + c)/2 ± √(((a − c)/2)² + b²).
        let half = 0.5 * (a - c);
        let r = libm::sqrt(half * half + b * b);
        let l1 = 0.5 * (a + c) + r;
        let l2 = (0.5 * (a + c) - r).max(0.0);
        // Unit eigenvector of l1: (cos θ, sin θ) with θ = ½ atan2(2b, a − c).
        let theta = 0.5 * libm::atan2(2.0 * b, a - c);
        let (s, co) = (libm::sin(theta), libm::cos(theta));
        let (d1, d2) = (l1 + self.eps, l2 + self.eps);
        if d1 <= 0.0 || d2 <= 0.0 {
            return Err(Error::NonFiniteInput);
        }
        let (k1, k2) = (1.0 / libm::sqrt(d1), 1.0 / libm::sqrt(d2));
        // Rows of Uᵀ: u1 = (cos, sin), u2 = (−sin, cos).
        self.w = [k1 * co, k1 * s, -k2 * s, k2 * co];
        Ok(())
    }

    /// Fits on every sample of `xs` (streaming, in order) and finishes.
    ///
    /// # Errors
    /// As [`update`](Self::update) and [`finish`](Self::finish).
    pub fn fit<S: Scalar>(eps: f64, xs: &[[S; 2]]) -> Result<Self> {
        let mut p = Self::new(eps)?;
        for x in xs {
            p.update(x)?;
        }
        p.finish()?;
        Ok(p)
    }

    /// The statistics, for storing with the model.
    pub fn stats(&self) -> WhiteningStats {
        let n = f64::from(self.count.max(1));
        WhiteningStats {
            count: self.count,
            mean: self.mean,
            cov: self.m2.map(|m| m / n),
            eps: self.eps,
        }
    }

    /// Rebuilds the fitted transform from stored statistics. Statistics of no samples
    /// (`count` 0, as [`IDENTITY`](Self::IDENTITY) gives) rebuild the identity matrix.
    ///
    /// # Errors
    /// As [`new`](Self::new) and [`finish`](Self::finish) (with a `count` of 1);
    /// [`Error::NonFiniteInput`] for non-finite statistics.
    pub fn from_stats(stats: WhiteningStats) -> Result<Self> {
        if !(f64::all_finite(&stats.mean) && f64::all_finite(&stats.cov)) {
            return Err(Error::NonFiniteInput);
        }
        let mut p = Self::new(stats.eps)?;
        let n = f64::from(stats.count.max(1));
        p.count = stats.count;
        p.mean = stats.mean;
        p.m2 = stats.cov.map(|v| v * n);
        // Nothing fitted (the layer's default, `IDENTITY`): the matrix stays the identity,
        // so every layer that can be built can be saved and loaded back.
        if stats.count > 0 {
            p.finish()?;
        }
        Ok(p)
    }

    /// The whitening matrix `Λ^{-1/2} Uᵀ`, row-major.
    pub fn matrix(&self) -> [f64; 4] {
        self.w
    }

    /// Whitens one sample in place.
    pub fn apply<S: Scalar>(&self, x: &mut [S; 2]) {
        let [x0, x1] = x.map(S::to_f64);
        let (d0, d1) = (x0 - self.mean[0], x1 - self.mean[1]);
        let [w00, w01, w10, w11] = self.w;
        *x = [
            S::from_f64(w00 * d0 + w01 * d1),
            S::from_f64(w10 * d0 + w11 * d1),
        ];
    }

    /// Whitens every sample in place.
    pub fn apply_all<S: Scalar>(&self, xs: &mut [[S; 2]]) {
        for x in xs {
            self.apply(x);
        }
    }
}
