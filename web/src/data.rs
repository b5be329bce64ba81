//! The generated data sets, built with the core's generators in the simulator's order of
//! draws (host-sim's `data.rs`: `Data::generate`, `split`, `bounds`), so that a seed gives
//! the page the simulator's points.

use microprop::{data, Dataset, DefaultRng, Result};
use serde::{Deserialize, Serialize};

/// The generated data sets, as `--dataset` spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetKind {
    /// Gaussian clusters: two, or K on a circle of radius 2.
    Clusters,
    /// XOR of the quadrants, with a margin.
    Xor,
    /// Spiral arms, one per class.
    Spirals,
}

impl DatasetKind {
    /// The name `--dataset` takes.
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Clusters => "clusters",
            DatasetKind::Xor => "xor",
            DatasetKind::Spirals => "spirals",
        }
    }

    /// The simulator's default spread/noise/margin.
    pub fn default_spread(self) -> f32 {
        match self {
            DatasetKind::Clusters => 0.7,
            DatasetKind::Xor => 0.1,
            DatasetKind::Spirals => 0.05,
        }
    }
}

/// Samples (two features each) and labels, owned.
#[derive(Clone, Debug, PartialEq)]
pub struct Data {
    /// Inputs, `[x, y]` after `[x, y]`.
    pub x: Vec<f32>,
    /// Labels.
    pub labels: Vec<u8>,
    /// Number of classes.
    pub classes: usize,
}

/// Mixed into the seed for the split's own random stream (host-sim's `SPLIT_STREAM`).
pub const SPLIT_STREAM: u64 = 0x5be1_17ed_da7a_5e7f;

impl Data {
    /// No samples.
    pub fn empty(classes: usize) -> Self {
        Data {
            x: Vec::new(),
            labels: Vec::new(),
            classes,
        }
    }

    /// `n` samples of `kind` with `classes` classes and spread/noise/margin `spread`.
    ///
    /// # Errors
    /// The generators' errors (bad spread, margin, arms).
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
            DatasetKind::Xor => data::xor(rng, spread, &mut x, &mut labels)?,
            DatasetKind::Spirals => {
                let arms = u8::try_from(classes)
                    .map_err(|_| microprop::Error::InvalidHyperParameter("spiral arms"))?;
                data::spiral_arms(rng, arms, spread, &mut x, &mut labels)?;
            }
        }
        Ok(Data {
            x: x.into_flattened(),
            labels,
            classes,
        })
    }

    /// Adds `offset` to every sample.
    pub fn shift(&mut self, offset: [f32; 2]) {
        for row in self.x.chunks_exact_mut(2) {
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

    /// Whether every input is finite.
    pub fn is_finite(&self) -> bool {
        self.x.iter().all(|v| v.is_finite())
    }

    /// A borrowed view for the trainer.
    ///
    /// # Errors
    /// Never for data built here.
    pub fn view(&self) -> Result<Dataset<'_, f32>> {
        Dataset::from_flat(&self.x, &self.labels, 2)
    }

    fn select(&self, idx: &[usize]) -> Data {
        let mut x = Vec::with_capacity(2 * idx.len());
        let mut labels = Vec::with_capacity(idx.len());
        for &i in idx {
            if let (Some(p), Some(&l)) = (self.x.get(2 * i..2 * i + 2), self.labels.get(i)) {
                x.extend_from_slice(p);
                labels.push(l);
            }
        }
        Data {
            x,
            labels,
            classes: self.classes,
        }
    }

    /// Holds out `fraction` of the rows, stratified, by the seed's own stream: the
    /// simulator's `--val-fraction` split (the same rows for the same seed). Returns
    /// (training rows, held-out rows).
    ///
    /// # Errors
    /// A message if either side would be empty.
    pub fn split(&self, fraction: f64, seed: u64) -> crate::Res<(Data, Data)> {
        let mut rng = microprop::rng(seed ^ SPLIT_STREAM);
        let mut val_rows = Vec::new();
        for class in 0..=u8::MAX {
            let mut rows: Vec<usize> = (0..self.len())
                .filter(|&i| self.labels.get(i) == Some(&class))
                .collect();
            if rows.is_empty() {
                continue;
            }
            microprop::rng::shuffle(&mut rng, &mut rows);
            let n = (fraction * rows.len() as f64).round() as usize;
            val_rows.extend(rows.iter().take(n));
        }
        val_rows.sort_unstable();
        let train_rows: Vec<usize> = (0..self.len())
            .filter(|i| val_rows.binary_search(i).is_err())
            .collect();
        if val_rows.is_empty() || train_rows.is_empty() {
            return Err(format!(
                "test fraction {fraction}: {} samples leave {} for training and {} for \
                 testing; each side needs at least one",
                self.len(),
                train_rows.len(),
                val_rows.len()
            ));
        }
        Ok((self.select(&train_rows), self.select(&val_rows)))
    }

    /// Bounding box, padded by 10 % (at least 0.1).
    pub fn bounds(&self) -> ([f64; 2], [f64; 2]) {
        let mut lo = [f64::INFINITY; 2];
        let mut hi = [f64::NEG_INFINITY; 2];
        for p in self.x.chunks_exact(2) {
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
