//! Slice kernels: the only loops that touch weights.
//!
//! Every function here takes slices, not arrays: the arithmetic is written once for every
//! layer size. The kernels are `#[inline]`, so inside a typed network — where every length
//! is a constant — the compiler may specialise and unroll small layers (the notes' 2-wide
//! nets), and a run-time shaped network calls the same code with run-time lengths.
//! Summation orders are fixed by the code (no `mul_add`, no reassociation), which is what
//! makes the host and the microcontroller produce bit-identical weights.

use crate::{Activation, Math, Scalar};

/// Layers with at most this many weights are inlined into the typed network (the notes'
/// 2-wide layers); larger ones share one out-of-line copy of each kernel per scalar type
/// and backend, so new layer sizes do not stamp out more code.
pub const SMALL_LAYER: usize = 64;

/// Dot product with four independent partial sums over blocks of four (combined
/// pairwise in a fixed order), then the tail in order. The fixed order keeps results
/// reproducible on every target; the partial sums let the compiler vectorise it.
#[inline(always)]
pub fn dot<S: Scalar>(a: &[S], b: &[S]) -> S {
    let (a4, a_tail) = a.as_chunks::<4>();
    let (b4, b_tail) = b.as_chunks::<4>();
    let mut s = [S::ZERO; 4];
    for (x, y) in a4.iter().zip(b4) {
        let [x0, x1, x2, x3] = *x;
        let [y0, y1, y2, y3] = *y;
        let [s0, s1, s2, s3] = s;
        s = [s0 + x0 * y0, s1 + x1 * y1, s2 + x2 * y2, s3 + x3 * y3];
    }
    // The pairs a vector unit folds naturally: (s0 + s2) + (s1 + s3).
    let [s0, s1, s2, s3] = s;
    let mut sum = (s0 + s2) + (s1 + s3);
    for (&x, &y) in a_tail.iter().zip(b_tail) {
        sum += x * y;
    }
    sum
}

/// `y += alpha · x`, element by element.
#[inline(always)]
pub fn axpy<S: Scalar>(alpha: S, x: &[S], y: &mut [S]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// The largest absolute value (0 for an empty slice; NaN is ignored).
#[inline]
pub fn max_abs<S: Scalar>(x: &[S]) -> S {
    x.iter().fold(S::ZERO, |m, &v| m.max_of(v.abs()))
}

/// Dense forward pass: `z = W x + b`, `a = f(z)`, with `W` row-major (`W[o][i]` at
/// `o · inputs + i`, one row per output neuron).
#[inline(never)]
pub fn dense_forward<S: Scalar, M: Math<S>>(
    w: &[S],
    b: &[S],
    act: Activation,
    x: &[S],
    z: &mut [S],
    a: &mut [S],
) {
    dense_forward_inline::<S, M>(w, b, act, x, z, a);
}

/// [`dense_forward`], inlined into the caller: typed layers with at most
/// [`SMALL_LAYER`] weights use it, so the compiler unrolls them with constant sizes.
#[inline(always)]
pub fn dense_forward_inline<S: Scalar, M: Math<S>>(
    w: &[S],
    b: &[S],
    act: Activation,
    x: &[S],
    z: &mut [S],
    a: &mut [S],
) {
    let n = x.len().max(1);
    for ((z, row), &b) in z.iter_mut().zip(w.chunks_exact(n)).zip(b) {
        *z = b + dot(row, x);
    }
    act.apply::<S, M>(z, a);
}

/// What the backward pass does with a layer's parameter gradients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grads {
    /// Leave `∂L/∂W`, `∂L/∂b` alone (online training applies the update from δ directly).
    Skip,
    /// Overwrite them with this sample's gradient (the first sample of a batch).
    Overwrite,
    /// Add this sample's gradient to them.
    Accumulate,
}

/// Where a dense layer's input came from, for the backward pass.
#[derive(Debug)]
pub enum Upstream<'a, S> {
    /// The network input; `grad`, when given, receives `∂L/∂x`.
    Input {
        /// Receives `∂L/∂x` when present.
        grad: Option<&'a mut [S]>,
    },
    /// The previous layer: on return its `z` holds its δ = `∂L/∂z`.
    Hidden {
        /// The previous layer's pre-activations (its δ on return).
        z: &'a mut [S],
        /// The previous layer's activations, read for the derivative.
        a: &'a [S],
        /// The previous layer's activation function.
        act: Activation,
        /// Scratch of the previous layer's width, for `Wᵀ δ`.
        scratch: &'a mut [S],
    },
}

/// Dense backward pass for one layer whose δ = `∂L/∂z` is in `delta` and whose input was
/// `x`: propagates `Wᵀ δ` upstream (through the previous layer's activation derivative,
/// or into the input gradient), then records `∂L/∂W = δ xᵀ` and `∂L/∂b = δ` as `grads`
/// says.
#[inline(never)]
pub fn dense_backward<S: Scalar, M: Math<S>>(
    w: &[S],
    gw: &mut [S],
    gb: &mut [S],
    delta: &[S],
    x: &[S],
    upstream: Upstream<'_, S>,
    grads: Grads,
) {
    dense_backward_inline::<S, M>(w, gw, gb, delta, x, upstream, grads);
}

/// [`dense_backward`], inlined into the caller (see [`dense_forward_inline`]).
#[inline(always)]
pub fn dense_backward_inline<S: Scalar, M: Math<S>>(
    w: &[S],
    gw: &mut [S],
    gb: &mut [S],
    delta: &[S],
    x: &[S],
    upstream: Upstream<'_, S>,
    grads: Grads,
) {
    match upstream {
        Upstream::Input { grad: None } => {}
        Upstream::Input { grad: Some(g) } => transpose_times(w, delta, g),
        Upstream::Hidden { z, a, act, scratch } => {
            transpose_times(w, delta, scratch);
            through_derivative::<S, M>(act, z, a, scratch);
        }
    }
    let n = x.len().max(1);
    match grads {
        Grads::Skip => {}
        Grads::Overwrite => {
            gb.copy_from_slice_checked(delta);
            for (grow, &d) in gw.chunks_exact_mut(n).zip(delta) {
                for (g, &x) in grow.iter_mut().zip(x) {
                    *g = d * x;
                }
            }
        }
        Grads::Accumulate => {
            for (gb, &d) in gb.iter_mut().zip(delta) {
                *gb += d;
            }
            for (grow, &d) in gw.chunks_exact_mut(n).zip(delta) {
                for (g, &x) in grow.iter_mut().zip(x) {
                    *g += d * x;
                }
            }
        }
    }
}

/// Copies without panicking on a length mismatch (extra elements are left alone).
trait CopyChecked<S> {
    fn copy_from_slice_checked(&mut self, src: &[S]);
}

impl<S: Copy> CopyChecked<S> for [S] {
    #[inline]
    fn copy_from_slice_checked(&mut self, src: &[S]) {
        for (d, &s) in self.iter_mut().zip(src) {
            *d = s;
        }
    }
}

/// `out = Wᵀ δ`, accumulated row by row (vectorises over the inputs).
#[inline]
pub fn transpose_times<S: Scalar>(w: &[S], delta: &[S], out: &mut [S]) {
    let n = out.len().max(1);
    let mut rows = w.chunks_exact(n).zip(delta);
    if let Some((row, &d)) = rows.next() {
        for (o, &w) in out.iter_mut().zip(row) {
            *o = d * w;
        }
    }
    for (row, &d) in rows {
        axpy(d, row, out);
    }
}

/// `z = f'(z, a) · g`: the previous layer's δ from `g = Wᵀ δ`.
#[inline(always)]
fn through_derivative<S: Scalar, M: Math<S>>(act: Activation, z: &mut [S], a: &[S], g: &[S]) {
    match act {
        Activation::Sigmoid => {
            for ((z, &a), &g) in z.iter_mut().zip(a).zip(g) {
                *z = a * (S::ONE - a) * g;
            }
        }
        Activation::Relu => {
            for (z, &g) in z.iter_mut().zip(g) {
                *z = if *z > S::ZERO { g } else { S::ZERO };
            }
        }
        Activation::Tanh => {
            for ((z, &a), &g) in z.iter_mut().zip(a).zip(g) {
                *z = (S::ONE - a * a) * g;
            }
        }
        other => {
            for ((z, &a), &g) in z.iter_mut().zip(a).zip(g) {
                *z = other.derivative::<S, M>(*z, a) * g;
            }
        }
    }
}

/// Whether the online update `W −= η δ xᵀ` of a layer is safe: δ finite and no product
/// `δ_o · x_i` overflows (checked exactly through the largest magnitudes: rounding is
/// monotonic, so the largest product overflows if and only if any does).
#[inline]
pub fn outer_is_finite<S: Scalar>(delta: &[S], x: &[S]) -> bool {
    S::all_finite(delta) && (max_abs(delta) * max_abs(x)).is_finite()
}
