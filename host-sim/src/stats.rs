//! Measurements over a model and a data set that the experiments share.

use microprop::{diagnostics, layer::Pass, Dataset, Loss, Math, Model, Result, Scalar};

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

/// Hidden units that never pass a gradient, and hidden units that are never on, over a
/// data set ([`unit_states`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnitStates {
    /// Units whose activation derivative `f'(z)` is exactly 0 on every sample ("dead":
    /// no gradient reaches their incoming weights from any sample).
    pub dead: usize,
    /// Units whose pre-activation `z` is ≤ 0 on every sample ("inactive": for ReLU the
    /// same units as `dead`; a Leaky ReLU or ELU unit can be inactive and still get a
    /// gradient).
    pub inactive: usize,
    /// Hidden units examined (every layer but the last).
    pub units: usize,
}

impl UnitStates {
    /// `dead / units` (0 without units).
    pub fn dead_fraction(&self) -> f64 {
        ratio(self.dead, self.units)
    }
    /// `inactive / units` (0 without units).
    pub fn inactive_fraction(&self) -> f64 {
        ratio(self.inactive, self.units)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Dead and inactive hidden units of `model` over `data` (eval-mode forward passes), and
/// per hidden unit (in layer order) whether it is inactive, in `inactive_units`.
///
/// # Errors
/// [`microprop::Error::EmptyData`] for no samples; shape or data errors from the forward
/// pass.
pub fn unit_states<T: Model, M: Math<T::Scalar>>(
    model: &mut T,
    data: &Dataset<'_, T::Scalar>,
    inactive_units: &mut Vec<bool>,
) -> Result<UnitStates> {
    if data.is_empty() {
        return Err(microprop::Error::EmptyData);
    }
    let depth = model.depth();
    let mut hidden = 0usize;
    model.visit_layers(|l| {
        if l.index + 1 < depth {
            hidden += l.outputs;
        }
    });
    // (some sample gives f'(z) != 0, some sample gives z > 0)
    let mut seen = vec![(false, false); hidden];
    microprop::train::walk_all(
        model,
        None,
        data,
        &mut Pass::eval(),
        None,
        Some(&mut |m: &T| {
            let mut base = 0;
            m.visit_layers(|l| {
                if l.index + 1 >= depth || l.outputs == 0 {
                    return;
                }
                let flags = &mut seen[base..base + l.outputs];
                base += l.outputs;
                let Some(act) = l.activation else {
                    return;
                };
                for (zr, ar) in l.z.chunks_exact(l.outputs).zip(l.a.chunks_exact(l.outputs)) {
                    for ((&z, &a), f) in zr.iter().zip(ar).zip(flags.iter_mut()) {
                        f.0 |= act.derivative::<M>(z, a) != T::Scalar::ZERO;
                        f.1 |= z > T::Scalar::ZERO;
                    }
                }
            });
        }),
    )?;
    inactive_units.clear();
    inactive_units.extend(seen.iter().map(|&(_, on)| !on));
    Ok(UnitStates {
        dead: seen.iter().filter(|f| !f.0).count(),
        inactive: seen.iter().filter(|f| !f.1).count(),
        units: hidden,
    })
}
