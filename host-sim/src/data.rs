//! Owned data: the toy data sets built with the core's generators and the rows of a CSV
//! file ([`table`](crate::table)), both as one [`Data`] (the trainer walks its
//! [`view`](Data::view)), and the held-out split of `--val-fraction` ([`Data::split`]).

use microprop::{data, Dataset, DefaultRng, Result};

use crate::cli::DatasetArg;
use crate::{ctx::usage, Res};

/// Samples and labels, owned.
#[derive(Clone, Debug)]
pub struct Data {
    /// Inputs, [`features`](Self::features) per sample, sample after sample.
    pub x: Vec<f32>,
    /// Features per sample (2 for the generated data sets).
    pub features: usize,
    /// Labels.
    pub labels: Vec<u8>,
    /// Number of classes.
    pub classes: usize,
}

/// A [`Data`] split into training and validation rows ([`Data::split`]).
#[derive(Clone, Debug)]
pub struct Split {
    /// The training rows, in the data's order.
    pub train: Data,
    /// The held-out rows, in the data's order.
    pub val: Data,
    /// The held-out rows' indices in the data (0-based, ascending).
    pub val_rows: Vec<usize>,
}

/// Mixed into `--seed` for the split's own random stream ([`Data::split`]), so that
/// holding rows out shifts neither the initialisation nor the shuffling.
pub const SPLIT_STREAM: u64 = 0x5be1_17ed_da7a_5e7f;

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
            DatasetArg::Spirals => {
                let arms = u8::try_from(classes)
                    .map_err(|_| microprop::Error::InvalidHyperParameter("spiral arms"))?;
                data::spiral_arms(rng, arms, spread, &mut x, &mut labels)?;
            }
        }
        Ok(Data {
            x: x.into_flattened(),
            features: 2,
            labels,
            classes,
        })
    }

    /// Adds `offset` to the first two features of every sample (`train --offset`).
    pub fn shift(&mut self, offset: [f32; 2]) {
        for row in self.x.chunks_exact_mut(self.features.max(1)) {
            for (v, o) in row.iter_mut().zip(offset) {
                *v += o;
            }
        }
    }

    /// Samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Every sample's features, in order.
    pub fn rows(&self) -> impl Iterator<Item = &[f32]> {
        self.x.chunks_exact(self.features.max(1))
    }

    /// Whether every input is finite (a spread past f32's range is not).
    pub fn is_finite(&self) -> bool {
        self.x.iter().all(|v| v.is_finite())
    }

    /// A borrowed view for the trainer.
    ///
    /// # Errors
    /// Never for data built here (lengths agree, at least one feature).
    pub fn view(&self) -> Result<Dataset<'_, f32>> {
        Dataset::from_flat(&self.x, &self.labels, self.features)
    }

    /// The rows `idx` (each below [`len`](Self::len), in that order), with the same
    /// features and classes.
    fn select(&self, idx: &[usize]) -> Data {
        let rows: Vec<&[f32]> = self.rows().collect();
        Data {
            x: idx.iter().flat_map(|&i| rows[i].iter().copied()).collect(),
            features: self.features,
            labels: idx.iter().map(|&i| self.labels[i]).collect(),
            classes: self.classes,
        }
    }

    /// Holds out `fraction` (in `[0, 1)`) of the rows for validation, stratified: of each
    /// class's `n` rows, `round(fraction · n)` chosen uniformly (a Fisher–Yates shuffle of
    /// the class's rows) by a random stream of its own, seeded by `seed` ^
    /// [`SPLIT_STREAM`]. The same seed splits the same data the same way, whatever the
    /// other flags; the training's own random numbers are untouched.
    ///
    /// # Errors
    /// A usage error (naming `--val-fraction` and the counts) if either side would be
    /// empty.
    pub fn split(&self, fraction: f64, seed: u64) -> Res<Split> {
        let mut rng = microprop::rng(seed ^ SPLIT_STREAM);
        let mut val_rows = Vec::new();
        for class in 0..=u8::MAX {
            let mut rows: Vec<usize> = (0..self.len())
                .filter(|&i| self.labels[i] == class)
                .collect();
            if rows.is_empty() {
                continue;
            }
            microprop::rng::shuffle(&mut rng, &mut rows);
            let n = (fraction * rows.len() as f64).round() as usize;
            val_rows.extend_from_slice(&rows[..n.min(rows.len())]);
        }
        val_rows.sort_unstable();
        let train_rows: Vec<usize> = (0..self.len())
            .filter(|i| val_rows.binary_search(i).is_err())
            .collect();
        if val_rows.is_empty() || train_rows.is_empty() {
            return usage(format!(
                "--val-fraction {fraction}: {} rows leave {} for training and {} for \
                 validation (round({fraction} × each class's rows)); each side needs at least \
                 one",
                self.len(),
                train_rows.len(),
                val_rows.len()
            ));
        }
        Ok(Split {
            train: self.select(&train_rows),
            val: self.select(&val_rows),
            val_rows,
        })
    }

    /// Bounding box of the first two features, padded by 10 %.
    pub fn bounds(&self) -> ([f64; 2], [f64; 2]) {
        let mut lo = [f64::INFINITY; 2];
        let mut hi = [f64::NEG_INFINITY; 2];
        for p in self.rows() {
            for d in 0..2.min(p.len()) {
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
