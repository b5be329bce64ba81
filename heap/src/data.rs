//! Owned data for the simulator and the playground: the generated data sets (the core's
//! generators, in one order of draws, so that a seed gives both the same points), a CSV's
//! rows (the simulator fills [`Data`] itself), and the stratified held-out split.

use alloc::{vec, vec::Vec};
use core::fmt;

use microprop::{data, rng, Dataset, DefaultRng, Error, Result};

/// The generated data sets (with feature `serde`, (de)serialised by their lower-case
/// [`name`](Self::name)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum DatasetKind {
    /// Gaussian clusters: two at ±(1, 1), or K evenly on a circle of radius 2.
    Clusters,
    /// XOR of the quadrants, with a margin.
    Xor,
    /// Spiral arms, one per class.
    Spirals,
}

impl DatasetKind {
    /// The lower-case name (`"clusters"`, `"xor"`, `"spirals"`).
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Clusters => "clusters",
            DatasetKind::Xor => "xor",
            DatasetKind::Spirals => "spirals",
        }
    }

    /// The default spread (clusters), margin (XOR) or noise (spirals).
    pub fn default_spread(self) -> f32 {
        match self {
            DatasetKind::Clusters => 0.7,
            DatasetKind::Xor => 0.1,
            DatasetKind::Spirals => 0.05,
        }
    }
}

/// Samples and labels, owned.
#[derive(Clone, Debug, PartialEq)]
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

/// A [`Data`] split into training and held-out rows ([`Data::split`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// The training rows, in the data's order.
    pub train: Data,
    /// The held-out rows, in the data's order.
    pub val: Data,
    /// The held-out rows' indices in the data (0-based, ascending).
    pub val_rows: Vec<usize>,
}

/// A split that would leave one side empty ([`Data::split`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EmptySide {
    /// The fraction asked for.
    pub fraction: f64,
    /// Rows in the data.
    pub rows: usize,
    /// Rows the split left for training.
    pub train: usize,
    /// Rows the split held out.
    pub val: usize,
}

impl fmt::Display for EmptySide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} rows leave {} for training and {} held out (round({} × each class's rows)); \
             each side needs at least one",
            self.rows, self.train, self.val, self.fraction
        )
    }
}

/// Mixed into the seed for the split's own random stream ([`Data::split`]), so that
/// holding rows out shifts neither the initialisation nor the shuffling.
pub const SPLIT_STREAM: u64 = 0x5be1_17ed_da7a_5e7f;

impl Data {
    /// No samples, two features.
    pub fn empty(classes: usize) -> Self {
        Data {
            x: Vec::new(),
            features: 2,
            labels: Vec::new(),
            classes,
        }
    }

    /// `n` samples of `kind` with `classes` classes and spread/margin/noise `spread`.
    ///
    /// # Errors
    /// The generators' errors (bad spread, margin, number of arms).
    pub fn generate(
        kind: DatasetKind,
        n: usize,
        classes: usize,
        spread: f32,
        rng: &mut DefaultRng,
    ) -> Result<Self> {
        let mut x = vec![[0.0f32; 2]; n];
        let mut labels = vec![0u8; n];
        match kind {
            DatasetKind::Clusters if classes == 2 => {
                data::Clusters::two(spread).generate(rng, &mut x, &mut labels)?;
            }
            DatasetKind::Clusters => {
                let mut centres = vec![[0.0f32; 2]; classes];
                data::circle_centres(2.0, &mut centres);
                data::Clusters {
                    centres: &centres,
                    spread,
                }
                .generate(rng, &mut x, &mut labels)?;
            }
            DatasetKind::Xor => data::xor(rng, spread, &mut x, &mut labels)?,
            DatasetKind::Spirals => {
                let arms = u8::try_from(classes)
                    .map_err(|_| Error::InvalidHyperParameter("spiral arms"))?;
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

    /// Adds `offset` to the first two features of every sample.
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

    /// Whether every input is finite (a spread past `f32`'s range is not).
    pub fn is_finite(&self) -> bool {
        self.x.iter().all(|v| v.is_finite())
    }

    /// A borrowed view for the trainer.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the fields disagree (never for data built here).
    pub fn view(&self) -> Result<Dataset<'_, f32>> {
        Dataset::from_flat(&self.x, &self.labels, self.features)
    }

    /// The rows `idx` (those below [`len`](Self::len), in that order), with the same
    /// features and classes.
    fn select(&self, idx: &[usize]) -> Data {
        let f = self.features.max(1);
        let mut x = Vec::with_capacity(f * idx.len());
        let mut labels = Vec::with_capacity(idx.len());
        for &i in idx {
            let row = i
                .checked_mul(f)
                .and_then(|a| self.x.get(a..a.checked_add(f)?));
            if let (Some(row), Some(&l)) = (row, self.labels.get(i)) {
                x.extend_from_slice(row);
                labels.push(l);
            }
        }
        Data {
            x,
            features: self.features,
            labels,
            classes: self.classes,
        }
    }

    /// Holds out `fraction` (in `[0, 1)`) of the rows, stratified: of each class's `n`
    /// rows, `round(fraction · n)` chosen uniformly (a Fisher–Yates shuffle of the class's
    /// rows) by a random stream of its own, seeded by `seed ^` [`SPLIT_STREAM`]. The same
    /// seed splits the same data the same way; the training's own random numbers are
    /// untouched.
    ///
    /// # Errors
    /// [`EmptySide`] (with the counts) if either side would be empty.
    pub fn split(&self, fraction: f64, seed: u64) -> core::result::Result<Split, EmptySide> {
        let mut stream = microprop::rng(seed ^ SPLIT_STREAM);
        let mut val_rows = Vec::new();
        for class in 0..=u8::MAX {
            let mut rows: Vec<usize> = (0..self.len())
                .filter(|&i| self.labels.get(i) == Some(&class))
                .collect();
            if rows.is_empty() {
                continue;
            }
            rng::shuffle(&mut stream, &mut rows);
            let n = libm::round(fraction * rows.len() as f64) as usize;
            val_rows.extend(rows.iter().take(n));
        }
        val_rows.sort_unstable();
        let train_rows: Vec<usize> = (0..self.len())
            .filter(|i| val_rows.binary_search(i).is_err())
            .collect();
        if val_rows.is_empty() || train_rows.is_empty() {
            return Err(EmptySide {
                fraction,
                rows: self.len(),
                train: train_rows.len(),
                val: val_rows.len(),
            });
        }
        Ok(Split {
            train: self.select(&train_rows),
            val: self.select(&val_rows),
            val_rows,
        })
    }

    /// Bounding box of the first two features, each side padded by 10 % of its extent
    /// (at least 0.1).
    pub fn bounds(&self) -> ([f64; 2], [f64; 2]) {
        let mut lo = [f64::INFINITY; 2];
        let mut hi = [f64::NEG_INFINITY; 2];
        for p in self.rows() {
            for ((l, h), &v) in lo.iter_mut().zip(hi.iter_mut()).zip(p) {
                *l = l.min(f64::from(v));
                *h = h.max(f64::from(v));
            }
        }
        let pad = |l: f64, h: f64| ((h - l) * 0.1).max(0.1);
        let [l0, l1] = lo;
        let [h0, h1] = hi;
        (
            [l0 - pad(l0, h0), h0 + pad(l0, h0)],
            [l1 - pad(l1, h1), h1 + pad(l1, h1)],
        )
    }
}
