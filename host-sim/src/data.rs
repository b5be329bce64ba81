//! Owned toy data sets built with the core's generators.

use microprop::{data, Dataset, DefaultRng, Result};

use crate::cli::DatasetArg;

/// Samples and labels, owned.
#[derive(Clone, Debug)]
pub struct Data {
    /// Inputs.
    pub x: Vec<[f32; 2]>,
    /// Labels.
    pub labels: Vec<u8>,
    /// Number of classes.
    pub classes: usize,
}

impl Data {
    /// `n` samples of `kind` with `classes` classes and spread/noise/margin `spread`.
    ///
    /// # Errors
    /// The generators' errors (bad spread, margin).
    pub fn generate(
        kind: DatasetArg,
        n: usize,
        classes: usize,
        spread: f32,
        rng: &mut DefaultRng,
    ) -> Result<Self> {
        let mut x = vec![[0.0f32; 2]; n];
        let mut labels = vec![0u8; n];
        match kind {
            DatasetArg::Clusters if classes == 2 => {
                data::Clusters::two(spread).generate(rng, &mut x, &mut labels)?;
            }
            DatasetArg::Clusters => {
                // K centres evenly on a circle of radius 2.
                let centres: Vec<[f32; 2]> = (0..classes)
                    .map(|k| {
                        let t = std::f64::consts::TAU * k as f64 / classes as f64;
                        [(2.0 * t.cos()) as f32, (2.0 * t.sin()) as f32]
                    })
                    .collect();
                data::Clusters {
                    centres: &centres,
                    spread,
                }
                .generate(rng, &mut x, &mut labels)?;
            }
            DatasetArg::Xor => data::xor(rng, spread, &mut x, &mut labels)?,
            DatasetArg::Spirals => data::spirals(rng, spread, &mut x, &mut labels)?,
        }
        Ok(Data { x, labels, classes })
    }

    /// Whether every input is finite (a spread past f32's range is not).
    pub fn is_finite(&self) -> bool {
        self.x.iter().flatten().all(|v| v.is_finite())
    }

    /// A borrowed view for the trainer.
    ///
    /// # Errors
    /// Never for data built here (lengths agree).
    pub fn view(&self) -> Result<Dataset<'_, f32>> {
        Dataset::new(&self.x, &self.labels)
    }

    /// Bounding box of the inputs, padded by 10 %.
    pub fn bounds(&self) -> ([f64; 2], [f64; 2]) {
        let mut lo = [f64::INFINITY; 2];
        let mut hi = [f64::NEG_INFINITY; 2];
        for p in &self.x {
            for d in 0..2 {
                lo[d] = lo[d].min(f64::from(p[d]));
                hi[d] = hi[d].max(f64::from(p[d]));
            }
        }
        let pad = |d: usize| ((hi[d] - lo[d]) * 0.1).max(0.1);
        (
            [lo[0] - pad(0), hi[0] + pad(0)],
            [lo[1] - pad(1), hi[1] + pad(1)],
        )
    }
}

/// The default spread/noise/margin of each data set.
pub fn default_spread(kind: DatasetArg) -> f32 {
    match kind {
        DatasetArg::Clusters => 0.7,
        DatasetArg::Xor => 0.1,
        DatasetArg::Spirals => 0.05,
    }
}
