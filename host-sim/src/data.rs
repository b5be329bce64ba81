//! Owned data: [`microprop_heap::data`] (the generated data sets and the stratified split,
//! shared with the browser playground), the rows of a CSV file filling the same [`Data`]
//! ([`table`](crate::table)), and `--dataset` and `--val-fraction` on top of them.

pub use microprop_heap::data::{Data, DatasetKind, Split, SPLIT_STREAM};

use crate::cli::DatasetArg;
use crate::{ctx::usage, Res};

impl From<DatasetArg> for DatasetKind {
    fn from(arg: DatasetArg) -> Self {
        match arg {
            DatasetArg::Clusters => DatasetKind::Clusters,
            DatasetArg::Xor => DatasetKind::Xor,
            DatasetArg::Spirals => DatasetKind::Spirals,
        }
    }
}

/// `--val-fraction`: [`Data::split`] of `data`.
///
/// # Errors
/// A usage error naming `--val-fraction` and the counts if either side would be empty.
pub fn split(data: &Data, fraction: f64, seed: u64) -> Res<Split> {
    data.split(fraction, seed).or_else(|e| {
        usage(format!(
            "--val-fraction {fraction}: {} rows leave {} for training and {} for validation \
             (round({fraction} × each class's rows)); each side needs at least one",
            e.rows, e.train, e.val
        ))
    })
}
