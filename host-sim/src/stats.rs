//! Measurements over a model and a data set that the experiments share.

use microprop::{diagnostics, Dataset, Loss, Model, Result};

/// Per-layer L2 norms of the *mean* gradient of `loss` over `data` (weights and biases of
/// each layer together). Leaves the gradients zero.
///
/// # Errors
/// As [`diagnostics::accumulate_gradients`].
pub fn grad_norms<T: Model>(
    model: &mut T,
    loss: Loss,
    data: &Dataset<'_, T::Scalar>,
) -> Result<Vec<f64>> {
    diagnostics::accumulate_gradients(model, loss, data)?;
    let mut out = vec![0.0; model.depth()];
    let n = diagnostics::grad_norms(model, 1.0, &mut out);
    out.truncate(n);
    model.zero_grads();
    Ok(out)
}

/// Mean and (population) standard deviation.
pub fn mean_std(xs: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (mut n, mut mean, mut m2) = (0.0f64, 0.0f64, 0.0f64);
    for x in xs {
        n += 1.0;
        let d = x - mean;
        mean += d / n;
        m2 += d * (x - mean);
    }
    if n == 0.0 {
        (0.0, 0.0)
    } else {
        (mean, (m2 / n).sqrt())
    }
}

/// Fraction of hidden units (all layers but the last) whose activation is 0 for every
/// sample of `data`: ReLUs that pass no gradient for any input ("dead"). The count is the
/// core's [`diagnostics::dead_units`].
///
/// # Errors
/// Shape or data errors from the forward pass.
pub fn dead_fraction<T: Model>(model: &mut T, data: &Dataset<'_, T::Scalar>) -> Result<f64> {
    let mut units = 0;
    model.visit_layers(|l| units += l.outputs);
    let mut alive = vec![false; units];
    Ok(diagnostics::dead_units(model, data, &mut alive, &mut [])?.fraction())
}

/// Formats a `u64` hash as the 16 hex digits the firmware logs.
pub fn hex16(h: u64) -> String {
    format!("{h:016x}")
}
