//! Input preprocessing, fitted on training data and applied identically at inference.
//!
//! Statistics are accumulated one sample at a time (Welford's algorithm), as a device sees
//! its data; fitting on a whole data set is the same loop.

use crate::{Error, Result, Scalar};

/// What to do to each input feature.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Preprocess {
    /// Leave the inputs as they are.
    #[default]
    None,
    /// Subtract the per-feature mean (zero-centre: the notes' cure for same-sign updates).
    Mean,
    /// Subtract the mean and divide by the standard deviation.
    Standardize,
}

impl Preprocess {
    /// A short stable name.
    pub const fn name(self) -> &'static str {
        match self {
            Preprocess::None => "none",
            Preprocess::Mean => "mean",
            Preprocess::Standardize => "standardize",
        }
    }
}

/// Streaming per-feature statistics (Welford) and the transform they define.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Standardizer<S, const D: usize> {
    mode: Preprocess,
    count: u32,
    mean: [S; D],
    m2: [S; D],
}

impl<S: Scalar, const D: usize> Standardizer<S, D> {
    /// An empty accumulator for `mode`.
    pub const fn new(mode: Preprocess) -> Self {
        Standardizer {
            mode,
            count: 0,
            mean: [S::ZERO; D],
            m2: [S::ZERO; D],
        }
    }

    /// Adds one sample.
    ///
    /// # Errors
    /// [`Error::NonFiniteInput`] for NaN/±∞ (the statistics are left unchanged).
    pub fn update(&mut self, x: &[S; D]) -> Result<()> {
        if !S::all_finite(x) {
            return Err(Error::NonFiniteInput);
        }
        self.count = self.count.saturating_add(1);
        let n = S::from_usize(self.count as usize);
        for ((mean, m2), &x) in self.mean.iter_mut().zip(self.m2.iter_mut()).zip(x) {
            let d = x - *mean;
            *mean += d / n;
            *m2 += d * (x - *mean);
        }
        Ok(())
    }

    /// Fits on every sample of `xs` (streaming, in order).
    ///
    /// # Errors
    /// [`Error::NonFiniteInput`] at the first bad sample; [`Error::EmptyData`] for none.
    pub fn fit(mode: Preprocess, xs: &[[S; D]]) -> Result<Self> {
        if xs.is_empty() {
            return Err(Error::EmptyData);
        }
        let mut s = Self::new(mode);
        for x in xs {
            s.update(x)?;
        }
        Ok(s)
    }

    /// Samples seen.
    pub fn count(&self) -> u32 {
        self.count
    }
    /// The transform.
    pub fn mode(&self) -> Preprocess {
        self.mode
    }
    /// Per-feature mean.
    pub fn mean(&self) -> &[S; D] {
        &self.mean
    }
    /// Per-feature population variance.
    pub fn variance(&self) -> [S; D] {
        let n = S::from_usize(self.count.max(1) as usize);
        self.m2.map(|m2| m2 / n)
    }
    /// Per-feature multiplier applied after centring (`1/σ`, or 1 for a constant feature
    /// or a mode that does not scale).
    pub fn scale<M: crate::Math<S>>(&self) -> [S; D] {
        match self.mode {
            Preprocess::Standardize => self.variance().map(|v| {
                let sd = M::sqrt(v);
                if sd > S::EPSILON {
                    S::ONE / sd
                } else {
                    S::ONE
                }
            }),
            _ => [S::ONE; D],
        }
    }

    /// Rebuilds a fitted transform from stored statistics (mean and variance).
    pub fn from_stats(mode: Preprocess, count: u32, mean: [S; D], variance: [S; D]) -> Self {
        let n = S::from_usize(count.max(1) as usize);
        Standardizer {
            mode,
            count,
            mean,
            m2: variance.map(|v| v * n),
        }
    }

    /// Transforms one sample in place.
    pub fn apply<M: crate::Math<S>>(&self, x: &mut [S; D]) {
        if self.mode == Preprocess::None {
            return;
        }
        let scale = self.scale::<M>();
        for ((x, &m), &s) in x.iter_mut().zip(&self.mean).zip(&scale) {
            *x = (*x - m) * s;
        }
    }

    /// Transforms every sample in place.
    pub fn apply_all<M: crate::Math<S>>(&self, xs: &mut [[S; D]]) {
        for x in xs {
            self.apply::<M>(x);
        }
    }
}
