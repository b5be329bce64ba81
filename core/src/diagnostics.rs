//! Instruments of the notes: what the gradients and activations of each layer look like.

use crate::{layer::Pass, train::walk_all, Dataset, Error, Loss, Model, Result, Scalar};

/// The mean gradient of `loss` over every sample of `data`, left in the model, without
/// updating anything (training mode with fixed dropout masks; running statistics
/// untouched). Old gradients are replaced.
///
/// # Errors
/// Bad data or a loss that does not fit the output (see [`crate::Trainer::step`]).
pub fn accumulate_gradients<T: Model>(
    model: &mut T,
    loss: Loss,
    data: &Dataset<'_, T::Scalar>,
) -> Result<()> {
    crate::train::mean_gradients(model, loss, data).map(|_| ())
}

/// L2 norm of the gradients (weights and biases together, or γ and β) of each layer with
/// parameters, in order, scaled by `scale`: layers without parameters (dropout,
/// preprocessing) are skipped, so `out[i]` is the `i`-th trainable layer. Returns the
/// number of norms written (at most `out.len()`).
pub fn grad_norms<T: Model>(model: &T, scale: f64, out: &mut [f64]) -> usize {
    let mut n = 0;
    let mut slots = out.iter_mut();
    model.visit_layers(|l| {
        if l.gw.is_empty() && l.gb.is_empty() {
            return;
        }
        let ss = l.gw.iter().chain(l.gb.iter()).fold(0.0f64, |s, &g| {
            let g = g.to_f64() * scale;
            s + g * g
        });
        if let Some(slot) = slots.next() {
            *slot = libm::sqrt(ss);
            n += 1;
        }
    });
    n
}

/// Mean loss over `data` with the mean gradients left in the model (old gradients are
/// replaced); [`crate::train::mean_gradients`] in `f64`.
///
/// # Errors
/// As [`accumulate_gradients`].
pub fn loss_and_gradients<T: Model>(
    model: &mut T,
    loss: Loss,
    data: &Dataset<'_, T::Scalar>,
) -> Result<f64> {
    crate::train::mean_gradients(model, loss, data).map(Scalar::to_f64)
}

/// Which kind of parameter a [`Param`] names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ParamKind {
    /// A weight: `w[neuron][input]`.
    Weight {
        /// The neuron (row of `W`).
        neuron: usize,
        /// The input (column of `W`).
        input: usize,
    },
    /// The bias of a neuron.
    Bias {
        /// The neuron.
        neuron: usize,
    },
}

/// One trainable parameter, named by layer and position.
///
/// The notes' surfaces sweep `w[0][0]` and `w[1][0]` of the first layer:
/// `Param::weight(0, 0, 0)` and `Param::weight(0, 1, 0)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Param {
    /// The layer, 0 = first.
    pub layer: usize,
    /// Weight or bias, and where.
    pub kind: ParamKind,
}

impl Param {
    /// The weight connecting `input` to `neuron` in `layer`.
    pub const fn weight(layer: usize, neuron: usize, input: usize) -> Self {
        Param {
            layer,
            kind: ParamKind::Weight { neuron, input },
        }
    }
    /// The bias of `neuron` in `layer`.
    pub const fn bias(layer: usize, neuron: usize) -> Self {
        Param {
            layer,
            kind: ParamKind::Bias { neuron },
        }
    }

    /// Calls `f` with the parameter and its gradient; `None` if the model has no such
    /// parameter.
    fn with_mut<T: Model, R>(
        self,
        model: &mut T,
        f: impl FnOnce(&mut T::Scalar, &mut T::Scalar) -> R,
    ) -> Option<R> {
        let mut f = Some(f);
        let mut out = None;
        model.visit_layers_mut(|l| {
            if l.index != self.layer {
                return;
            }
            let slot = match self.kind {
                ParamKind::Weight { neuron, input } if input < l.inputs => neuron
                    .checked_mul(l.inputs)
                    .and_then(|k| k.checked_add(input))
                    .and_then(|k| l.w.get_mut(k).zip(l.gw.get_mut(k))),
                ParamKind::Weight { .. } => None,
                ParamKind::Bias { neuron } => l.b.get_mut(neuron).zip(l.gb.get_mut(neuron)),
            };
            if let (Some((p, g)), Some(f)) = (slot, f.take()) {
                out = Some(f(p, g));
            }
        });
        out
    }

    /// The parameter's current value.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the model has no such parameter.
    pub fn get<T: Model>(self, model: &mut T) -> Result<T::Scalar> {
        self.with_mut(model, |p, _| *p).ok_or(Error::ShapeMismatch {
            expected: self.layer,
            found: model.depth(),
        })
    }

    /// Sets the parameter, returning its old value.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the model has no such parameter.
    pub fn set<T: Model>(self, model: &mut T, value: T::Scalar) -> Result<T::Scalar> {
        self.with_mut(model, |p, _| core::mem::replace(p, value))
            .ok_or(Error::ShapeMismatch {
                expected: self.layer,
                found: model.depth(),
            })
    }

    /// The parameter's accumulated gradient.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the model has no such parameter.
    pub fn grad<T: Model>(self, model: &mut T) -> Result<T::Scalar> {
        self.with_mut(model, |_, g| *g).ok_or(Error::ShapeMismatch {
            expected: self.layer,
            found: model.depth(),
        })
    }
}

/// One axis of a loss slice: a parameter and the values it takes, `steps` points evenly
/// spaced from `from` to `to` inclusive.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Axis {
    /// The parameter swept.
    pub param: Param,
    /// First value.
    pub from: f64,
    /// Last value.
    pub to: f64,
    /// Number of grid points (≥ 1; one point sits at `from`).
    pub steps: usize,
}

impl Axis {
    /// The `i`-th value of the axis.
    pub fn value(&self, i: usize) -> f64 {
        if self.steps <= 1 {
            self.from
        } else {
            self.from + (self.to - self.from) * (i as f64 / (self.steps - 1) as f64)
        }
    }
}

/// Which gradient norm a loss slice records at each point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SliceGrad {
    /// `‖(∂L/∂p₀, ∂L/∂p₁)‖` over the two swept parameters (the notes' gradient surface).
    #[default]
    Swept,
    /// The norm of the whole gradient, every parameter of the model.
    All,
}

/// The loss-slice evaluator: sweeps two parameters over a grid, every other parameter
/// fixed at its current value, and writes the mean loss over `data` and the norm of the
/// mean gradient at each point.
///
/// Point `(i, j)` (value `i` of axis `x`, value `j` of axis `y`) goes to
/// `losses[j · x.steps + i]` and `grads[j · x.steps + i]` (rows of constant `y`). Both
/// buffers must hold exactly `x.steps · y.steps` values. The two parameters are restored
/// afterwards (on error too); gradients are left cleared.
///
/// # Errors
/// [`Error::ShapeMismatch`] for buffers of the wrong length or a parameter the model does
/// not have; [`Error::EmptyData`] for an empty grid or data set; the data errors of
/// [`accumulate_gradients`].
#[allow(clippy::too_many_arguments)]
pub fn loss_slice<T: Model>(
    model: &mut T,
    loss: Loss,
    data: &Dataset<'_, T::Scalar>,
    x: Axis,
    y: Axis,
    grad: SliceGrad,
    losses: &mut [T::Scalar],
    grads: &mut [T::Scalar],
) -> Result<()> {
    let points = x.steps.checked_mul(y.steps).ok_or(Error::Capacity)?;
    if points == 0 {
        return Err(Error::EmptyData);
    }
    for len in [losses.len(), grads.len()] {
        if len != points {
            return Err(Error::ShapeMismatch {
                expected: points,
                found: len,
            });
        }
    }
    let x0 = x.param.get(model)?;
    let y0 = y.param.get(model)?;
    let result = sweep(model, loss, data, x, y, grad, losses, grads);
    // Restore whatever happened.
    x.param.set(model, x0)?;
    y.param.set(model, y0)?;
    model.zero_grads();
    result
}

#[allow(clippy::too_many_arguments)]
fn sweep<T: Model>(
    model: &mut T,
    loss: Loss,
    data: &Dataset<'_, T::Scalar>,
    x: Axis,
    y: Axis,
    grad: SliceGrad,
    losses: &mut [T::Scalar],
    grads: &mut [T::Scalar],
) -> Result<()> {
    let inv_n = 1.0;
    let mut cells = losses.iter_mut().zip(grads.iter_mut());
    for j in 0..y.steps {
        y.param.set(model, T::Scalar::from_f64(y.value(j)))?;
        for i in 0..x.steps {
            x.param.set(model, T::Scalar::from_f64(x.value(i)))?;
            let l = loss_and_gradients(model, loss, data)?;
            let ss = match grad {
                SliceGrad::Swept => {
                    let gx = x.param.grad(model)?.to_f64() * inv_n;
                    let gy = y.param.grad(model)?.to_f64() * inv_n;
                    gx * gx + gy * gy
                }
                SliceGrad::All => {
                    let mut ss = 0.0f64;
                    model.visit_layers(|l| {
                        for &g in l.gw.iter().chain(l.gb.iter()) {
                            let g = g.to_f64() * inv_n;
                            ss += g * g;
                        }
                    });
                    ss
                }
            };
            if let Some((lo, go)) = cells.next() {
                *lo = T::Scalar::from_f64(l);
                *go = T::Scalar::from_f64(libm::sqrt(ss));
            }
        }
    }
    Ok(())
}

/// Copies every parameter into `out` in the flat optimizer order (each layer's `w`, then
/// its `b`, first layer first): [`Model::copy_params`]. Returns the number written.
///
/// # Errors
/// [`Error::ShapeMismatch`] unless `out.len()` equals the model's parameter count.
pub fn snapshot<T: Model>(model: &T, out: &mut [T::Scalar]) -> Result<usize> {
    model.copy_params(out)
}

/// The update/weight ratio per layer, `‖W_after − W_before‖ / ‖W_before‖` over the
/// layer's weights (biases excluded: they often start at 0), written to `out[layer]`;
/// `before` is a [`snapshot`] taken before the step. The rule of thumb is about `1e-3`:
/// much lower and the learning rate is too small, much higher and it is too large.
/// A layer whose weights are all zero gets `+∞` if they moved, else 0. Returns the
/// number of layers written (at most `out.len()`).
///
/// # Errors
/// [`Error::ShapeMismatch`] unless `before.len()` equals the model's parameter count.
pub fn update_ratios<T: Model>(model: &T, before: &[T::Scalar], out: &mut [f64]) -> Result<usize> {
    if before.len() != model.params() {
        return Err(Error::ShapeMismatch {
            expected: model.params(),
            found: before.len(),
        });
    }
    let mut old = before.iter();
    let mut slots = out.iter_mut();
    let mut n = 0;
    model.visit_layers(|l| {
        let (mut du, mut dw) = (0.0f64, 0.0f64);
        for (&w, &o) in l.w.iter().zip(&mut old) {
            let (w, o) = (w.to_f64(), o.to_f64());
            du += (w - o) * (w - o);
            dw += o * o;
        }
        // Skip the biases in the snapshot.
        for _ in (&mut old).take(l.b.len()) {}
        let ratio = if dw > 0.0 {
            libm::sqrt(du / dw)
        } else if du > 0.0 {
            f64::INFINITY
        } else {
            0.0
        };
        if let Some(slot) = slots.next() {
            *slot = ratio;
            n += 1;
        }
    });
    Ok(n)
}

/// Statistics of one layer's activations over an evaluation pass (every unit of the layer,
/// every sample).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ActivationStats {
    /// Mean activation.
    pub mean: f64,
    /// Standard deviation of the activations (population).
    pub std: f64,
    /// Fraction of activations within `1e-2` of a bound of a sigmoid (0, 1) or tanh
    /// (−1, 1) layer; 0 for activations without bounds.
    pub saturated: f64,
}

/// How close to a bound an activation must be to count as saturated.
pub const SATURATION_MARGIN: f64 = 1e-2;

fn saturated<S>(act: crate::Activation<S>, a: f64) -> bool {
    match act {
        crate::Activation::Sigmoid => !(SATURATION_MARGIN..=1.0 - SATURATION_MARGIN).contains(&a),
        crate::Activation::Tanh => libm::fabs(a) > 1.0 - SATURATION_MARGIN,
        _ => false,
    }
}

/// Per-layer activation mean, standard deviation and saturated fraction over one forward
/// pass through `data`, written to `out[layer]`. Returns the number of layers written (at
/// most `out.len()`).
///
/// # Errors
/// [`Error::EmptyData`] for no samples; [`Error::NonFiniteInput`] or
/// [`Error::ShapeMismatch`] for bad samples.
pub fn activation_stats<T: Model>(
    model: &mut T,
    data: &Dataset<'_, T::Scalar>,
    out: &mut [ActivationStats],
) -> Result<usize> {
    if data.is_empty() {
        return Err(Error::EmptyData);
    }
    // Accumulate sums in the output slots: mean ← Σa, std ← Σa², saturated ← count.
    out.iter_mut().for_each(|s| *s = ActivationStats::default());
    let mut units = [0usize; MAX_LAYERS];
    walk_all(
        model,
        None,
        data,
        &mut Pass::eval(),
        None,
        Some(&mut |m: &T| {
            let mut slots = out.iter_mut().zip(units.iter_mut());
            m.visit_layers(|l| {
                if let Some((s, u)) = slots.next() {
                    let act = l.activation.unwrap_or(crate::Activation::Identity);
                    for &a in l.a {
                        let a = a.to_f64();
                        s.mean += a;
                        s.std += a * a;
                        s.saturated += f64::from(u8::from(saturated(act, a)));
                    }
                    *u += l.a.len();
                }
            });
        }),
    )?;
    let mut n = 0;
    for (s, &u) in out.iter_mut().zip(units.iter()) {
        if u == 0 {
            break;
        }
        let u = u as f64;
        let mean = s.mean / u;
        let var = (s.std / u - mean * mean).max(0.0);
        *s = ActivationStats {
            mean,
            std: libm::sqrt(var),
            saturated: s.saturated / u,
        };
        n += 1;
    }
    Ok(n)
}

/// Most layers the per-layer statistics track.
pub const MAX_LAYERS: usize = 32;

/// Dead units over an evaluation pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DeadUnits {
    /// Units whose activation was exactly 0 for every sample.
    pub dead: usize,
    /// Units examined.
    pub units: usize,
}

impl DeadUnits {
    /// `dead / units` (0 when there are no units).
    pub fn fraction(&self) -> f64 {
        if self.units == 0 {
            0.0
        } else {
            self.dead as f64 / self.units as f64
        }
    }
}

/// The dead-ReLU count: hidden units (every layer but the last) whose activation is
/// exactly zero for every sample of `data`. `alive` is scratch, at least one flag per
/// hidden unit; `per_layer[layer]` (if long enough) receives each hidden layer's dead
/// fraction. Meaningful for ReLU layers; any other layer is examined the same way.
///
/// # Errors
/// [`Error::Capacity`] if `alive` is too short; [`Error::EmptyData`] for no samples;
/// bad samples as [`activation_stats`].
pub fn dead_units<T: Model>(
    model: &mut T,
    data: &Dataset<'_, T::Scalar>,
    alive: &mut [bool],
    per_layer: &mut [f64],
) -> Result<DeadUnits> {
    if data.is_empty() {
        return Err(Error::EmptyData);
    }
    let depth = model.depth();
    let mut hidden = 0usize;
    model.visit_layers(|l| {
        if l.index + 1 < depth {
            hidden += l.outputs;
        }
    });
    let alive = alive.get_mut(..hidden).ok_or(Error::Capacity)?;
    alive.fill(false);
    walk_all(
        model,
        None,
        data,
        &mut Pass::eval(),
        None,
        Some(&mut |m: &T| {
            let mut base = 0;
            m.visit_layers(|l| {
                if l.index + 1 < depth && l.outputs > 0 {
                    if let Some(flags) = alive.get_mut(base..base + l.outputs) {
                        for row in l.a.chunks_exact(l.outputs) {
                            for (&a, f) in row.iter().zip(flags.iter_mut()) {
                                *f |= a != T::Scalar::ZERO;
                            }
                        }
                    }
                    base += l.outputs;
                }
            });
        }),
    )?;
    let mut flags = alive.iter();
    let mut total = DeadUnits::default();
    let mut slots = per_layer.iter_mut();
    model.visit_layers(|l| {
        if l.index + 1 < depth {
            let dead = (&mut flags).take(l.outputs).filter(|&&f| !f).count();
            total.dead += dead;
            total.units += l.outputs;
            if let Some(s) = slots.next() {
                *s = dead as f64 / l.outputs.max(1) as f64;
            }
        }
    });
    Ok(total)
}

/// The zig-zag diagnosis: how often the weight gradients of one neuron all share a sign.
///
/// Call [`observe`](Self::observe) after the gradients of a step are accumulated and
/// before they are applied (e.g. between [`train::walk`](crate::train::walk) and
/// [`Trainer::apply`](crate::Trainer::apply)). Zero gradients carry no sign and are
/// ignored; a step whose gradients are all zero is not counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SignAgreement {
    layer: usize,
    neuron: usize,
    steps: u32,
    agreeing: u32,
}

impl SignAgreement {
    /// Tracks `neuron` of `layer`.
    pub const fn new(layer: usize, neuron: usize) -> Self {
        SignAgreement {
            layer,
            neuron,
            steps: 0,
            agreeing: 0,
        }
    }

    /// Looks at the neuron's accumulated weight gradients; returns whether they all share
    /// a sign (`None` if the step is not counted: all zero).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the model has no such neuron.
    pub fn observe<T: Model>(&mut self, model: &T) -> Result<Option<bool>> {
        let mut signs: Option<(usize, usize)> = None;
        model.visit_layers(|l| {
            if l.index == self.layer {
                let start = self.neuron.saturating_mul(l.inputs);
                if let Some(row) = l.gw.get(start..start.saturating_add(l.inputs)) {
                    let pos = row.iter().filter(|&&g| g > T::Scalar::ZERO).count();
                    let neg = row.iter().filter(|&&g| g < T::Scalar::ZERO).count();
                    signs = Some((pos, neg));
                }
            }
        });
        let (pos, neg) = signs.ok_or(Error::ShapeMismatch {
            expected: self.layer,
            found: model.depth(),
        })?;
        if pos + neg == 0 {
            return Ok(None);
        }
        let agree = pos == 0 || neg == 0;
        self.steps = self.steps.saturating_add(1);
        self.agreeing = self.agreeing.saturating_add(u32::from(agree));
        Ok(Some(agree))
    }

    /// Steps counted.
    pub fn steps(&self) -> u32 {
        self.steps
    }
    /// Steps on which every weight gradient shared one sign.
    pub fn agreeing(&self) -> u32 {
        self.agreeing
    }
    /// `agreeing / steps` (0 before any step).
    pub fn fraction(&self) -> f64 {
        if self.steps == 0 {
            0.0
        } else {
            f64::from(self.agreeing) / f64::from(self.steps)
        }
    }
}
