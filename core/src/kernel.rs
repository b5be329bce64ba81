//! Slice kernels: the only loops that touch weights.
//!
//! Every function here takes slices, not arrays, so a new layer size does not stamp out
//! another copy of the arithmetic; the typed layers only lend their arrays. Summation
//! orders are fixed by the code (no `mul_add`, no reassociation), which is what makes the
//! host and the microcontroller produce bit-identical weights.

use crate::{Activation, Math, Scalar};

/// Dot product with four independent partial sums (combined as `(s0 + s1) + (s2 + s3)`,
/// then the tail in order). The fixed order keeps results reproducible; the four sums let
/// the compiler vectorise it.
#[inline]
pub fn dot<S: Scalar>(a: &[S], b: &[S]) -> S {
    let mut ca = a.chunks_exact(4);
    let mut cb = b.chunks_exact(4);
    let mut s = [S::ZERO; 4];
    for (x, y) in (&mut ca).zip(&mut cb) {
        for ((s, &x), &y) in s.iter_mut().zip(x).zip(y) {
            *s += x * y;
        }
    }
    let [s0, s1, s2, s3] = s;
    let mut sum = (s0 + s1) + (s2 + s3);
    for (&x, &y) in ca.remainder().iter().zip(cb.remainder()) {
        sum += x * y;
    }
    sum
}

/// `y += alpha · x`, element by element.
#[inline]
pub fn axpy<S: Scalar>(alpha: S, x: &[S], y: &mut [S]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// Dense forward pass: `z = W x + b`, `a = f(z)`, with `W` row-major (`W[o][i]` at
/// `o · inputs + i`, one row per output neuron).
#[inline]
pub fn dense_forward<S: Scalar, M: Math<S>>(
    w: &[S],
    b: &[S],
    act: Activation,
    x: &[S],
    z: &mut [S],
    a: &mut [S],
) {
    let n = x.len();
    if n == 2 {
        // The notes' nets are two wide: a straight-line row beats the chunked dot.
        if let [x0, x1] = *x {
            for ((z, row), &b) in z.iter_mut().zip(w.chunks_exact(2)).zip(b) {
                if let [w0, w1] = *row {
                    *z = b + (w0 * x0 + w1 * x1);
                }
            }
        }
    } else {
        for ((z, row), &b) in z.iter_mut().zip(w.chunks_exact(n.max(1))).zip(b) {
            *z = b + dot(row, x);
        }
    }
    act.apply::<S, M>(z, a);
}

/// Where a dense layer's input came from, for the backward pass.
#[derive(Debug)]
pub enum Upstream<'a, S> {
    /// The network input `x`; `grad`, when given, receives `∂L/∂x`.
    Input {
        /// The input the forward pass saw.
        x: &'a [S],
        /// Receives `∂L/∂x` when present.
        grad: Option<&'a mut [S]>,
    },
    /// The previous layer's cache. On return its `z` holds its `∂L/∂z` (its δ) and its
    /// `a` has been used as scratch.
    Hidden {
        /// The previous layer's pre-activations.
        z: &'a mut [S],
        /// The previous layer's activations (this layer's input).
        a: &'a mut [S],
        /// The previous layer's activation function.
        act: Activation,
    },
}

/// Dense backward pass for one layer whose δ = `∂L/∂z` is in `delta`:
/// accumulates `∂L/∂W += δ xᵀ` and `∂L/∂b += δ`, then propagates `Wᵀ δ` upstream — through
/// the previous layer's activation derivative, or into the input gradient.
///
/// The previous layer's activations are this layer's input; they are read for the weight
/// gradient first, then reused as scratch for `Wᵀ δ`, so backprop needs no buffer beyond
/// the forward cache.
#[inline]
pub fn dense_backward<S: Scalar, M: Math<S>>(
    w: &[S],
    gw: &mut [S],
    gb: &mut [S],
    delta: &[S],
    upstream: Upstream<'_, S>,
) {
    let x: &[S] = match &upstream {
        Upstream::Input { x, .. } => x,
        Upstream::Hidden { a, .. } => a,
    };
    let n = x.len().max(1);
    for (gb, &d) in gb.iter_mut().zip(delta) {
        *gb += d;
    }
    for (grow, &d) in gw.chunks_exact_mut(n).zip(delta) {
        axpy(d, x, grow);
    }
    match upstream {
        Upstream::Input { grad: None, .. } => {}
        Upstream::Input { grad: Some(g), .. } => transpose_times(w, delta, g),
        Upstream::Hidden { z, a, act } => {
            derivative_in_place::<S, M>(act, z, a);
            transpose_times(w, delta, a);
            for (z, &g) in z.iter_mut().zip(a.iter()) {
                *z *= g;
            }
        }
    }
}

/// `out = Wᵀ δ`, accumulated row by row (vectorises over the inputs).
#[inline]
fn transpose_times<S: Scalar>(w: &[S], delta: &[S], out: &mut [S]) {
    let n = out.len().max(1);
    out.iter_mut().for_each(|o| *o = S::ZERO);
    for (row, &d) in w.chunks_exact(n).zip(delta) {
        axpy(d, row, out);
    }
}

/// `z = f'(z, a)` in place, for an element-wise activation.
#[inline]
fn derivative_in_place<S: Scalar, M: Math<S>>(act: Activation, z: &mut [S], a: &[S]) {
    match act {
        Activation::Sigmoid => {
            for (z, &a) in z.iter_mut().zip(a) {
                *z = a * (S::ONE - a);
            }
        }
        Activation::Relu => {
            for z in z.iter_mut() {
                *z = if *z > S::ZERO { S::ONE } else { S::ZERO };
            }
        }
        other => {
            for (z, &a) in z.iter_mut().zip(a) {
                *z = other.derivative::<S, M>(*z, a);
            }
        }
    }
}
