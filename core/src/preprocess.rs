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

/// One step of Welford's algorithm over slices of one width: `x` (finite, checked by the
/// caller) is the `count`-th sample of the running per-feature `mean` and sum of squared
/// deviations `m2`. [`Standardizer`] and the run-time
/// [`DynStandardize::fit`](crate::layer::DynStandardize::fit) both step through it.
pub(crate) fn welford<S: Scalar>(count: u32, mean: &mut [S], m2: &mut [S], x: &[S]) {
    let n = S::from_usize(count as usize);
    for ((mean, m2), &x) in mean.iter_mut().zip(m2.iter_mut()).zip(x) {
        let d = x - *mean;
        *mean += d / n;
        *m2 += d * (x - *mean);
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
        welford(self.count, &mut self.mean, &mut self.m2, x);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{data::Clusters, Libm};

    fn samples() -> [[f64; 2]; 500] {
        let (mut x, mut y) = ([[0.0f64; 2]; 500], [0u8; 500]);
        let centres = [[3.0, -2.0], [5.0, 1.0]];
        Clusters {
            centres: &centres,
            spread: 1.5,
        }
        .generate(&mut crate::rng(4), &mut x, &mut y)
        .unwrap();
        x
    }

    /// Welford, one sample at a time, equals the two-pass mean and variance.
    #[test]
    fn streaming_statistics_match_two_pass() {
        let x = samples();
        let s = Standardizer::<f64, 2>::fit(Preprocess::Standardize, &x).unwrap();
        for k in 0..2 {
            let mean = x.iter().map(|v| v[k]).sum::<f64>() / 500.0;
            let var = x.iter().map(|v| (v[k] - mean) * (v[k] - mean)).sum::<f64>() / 500.0;
            assert!(
                (s.mean()[k] - mean).abs() < 1e-12,
                "{} vs {mean}",
                s.mean()[k]
            );
            assert!(
                (s.variance()[k] - var).abs() < 1e-10,
                "{} vs {var}",
                s.variance()[k]
            );
        }
        assert_eq!(s.count(), 500);
    }

    /// The same transform at training and at inference: applied data is centred and, for
    /// `Standardize`, of unit variance; `Mean` leaves the scale alone.
    #[test]
    fn transforms_centre_and_scale() {
        let x = samples();
        for mode in [Preprocess::Mean, Preprocess::Standardize] {
            let s = Standardizer::<f64, 2>::fit(mode, &x).unwrap();
            let mut y = x;
            s.apply_all::<Libm>(&mut y);
            let after = Standardizer::<f64, 2>::fit(Preprocess::None, &y).unwrap();
            for k in 0..2 {
                assert!(after.mean()[k].abs() < 1e-12);
                let want = if mode == Preprocess::Standardize {
                    1.0
                } else {
                    s.variance()[k]
                };
                assert!((after.variance()[k] - want).abs() < 1e-9);
            }
            // A stored transform applies identically.
            let restored = Standardizer::from_stats(mode, s.count(), *s.mean(), s.variance());
            let (mut a, mut b) = ([1.0, 2.0], [1.0, 2.0]);
            s.apply::<Libm>(&mut a);
            restored.apply::<Libm>(&mut b);
            assert!((a[0] - b[0]).abs() < 1e-12 && (a[1] - b[1]).abs() < 1e-12);
        }
    }

    #[test]
    fn bad_samples_are_refused_and_change_nothing() {
        let mut s = Standardizer::<f32, 2>::new(Preprocess::Mean);
        s.update(&[1.0, 2.0]).unwrap();
        let before = s;
        assert_eq!(s.update(&[f32::NAN, 0.0]), Err(Error::NonFiniteInput));
        assert_eq!(s, before);
        assert_eq!(
            Standardizer::<f32, 2>::fit(Preprocess::Mean, &[]).err(),
            Some(Error::EmptyData)
        );
    }
}
