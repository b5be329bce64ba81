//! Slice kernels: the only loops that touch weights.
//!
//! Every function here takes slices, not arrays: the arithmetic is written once for every
//! layer size. The kernels are `#[inline]`, so inside a typed network — where every length
//! is a constant — the compiler may specialise and unroll small layers (the notes' 2-wide
//! nets), and a run-time shaped network calls the same code with run-time lengths.
//! Summation orders are fixed by the code (no `mul_add`, no reassociation), which is what
//! makes the host and the microcontroller produce bit-identical weights.

use crate::{layer::Grads, Activation, Math, Scalar};

/// Layers with at most this many weights are inlined into the typed network (the notes'
/// 2-wide layers); larger ones share one out-of-line copy of each kernel per scalar type
/// and backend, so new layer sizes do not stamp out more code.
pub const SMALL_LAYER: usize = 64;

/// Dot product with four independent partial sums over blocks of four (combined
/// pairwise in a fixed order), then the tail in order. The fixed order keeps results
/// reproducible on every target; the partial sums let the compiler vectorise it.
#[inline(always)]
pub fn dot<S: Scalar>(a: &[S], b: &[S]) -> S {
    dot_finish(dot_partial(a, b), a, b)
}

/// [`dot`]'s four partial sums over the blocks of four.
#[inline(always)]
fn dot_partial<S: Scalar>(a: &[S], b: &[S]) -> [S; 4] {
    let (a4, _) = a.as_chunks::<4>();
    let (b4, _) = b.as_chunks::<4>();
    let mut s = [S::ZERO; 4];
    for (x, y) in a4.iter().zip(b4) {
        let [x0, x1, x2, x3] = *x;
        let [y0, y1, y2, y3] = *y;
        let [s0, s1, s2, s3] = s;
        s = [s0 + x0 * y0, s1 + x1 * y1, s2 + x2 * y2, s3 + x3 * y3];
    }
    s
}

/// [`dot`] from its partial sums: `(s0 + s2) + (s1 + s3)` (the pairs a vector unit
/// folds naturally), then the tail in order.
#[inline(always)]
fn dot_finish<S: Scalar>(s: [S; 4], a: &[S], b: &[S]) -> S {
    let (_, a_tail) = a.as_chunks::<4>();
    let (_, b_tail) = b.as_chunks::<4>();
    let [s0, s1, s2, s3] = s;
    let mut sum = (s0 + s2) + (s1 + s3);
    for (&x, &y) in a_tail.iter().zip(b_tail) {
        sum += x * y;
    }
    sum
}

/// Rows at least this wide are vectorised along the row (each row's own partial sums or
/// elements, 4 lanes at a time), not across rows: see [`row_boundary`].
pub const WIDE_ROW: usize = 8;

/// Marks the start of one row's work in a loop over the rows of a layer whose rows are at
/// least [`WIDE_ROW`] long: a compiler fence (no machine instruction, no effect on the
/// arithmetic) that keeps LLVM's loop vectoriser from vectorising the loop over rows
/// once a constant-length row loop is unrolled inside it — which gathers each lane's
/// weights one scalar load at a time (strided by the row length) and costs 2–4
/// instructions per weight. Within a row, the SLP vectoriser then packs the
/// independent element operations (or the dot product's partial sums) into vectors,
/// in the order the code fixes. Narrow rows (the notes' 2-wide layers) keep the
/// vectorisation across rows, which suits them.
#[inline(always)]
pub fn row_boundary(row_len: usize) {
    if row_len >= WIDE_ROW {
        core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
    }
}

/// `w[o][i] += alpha · (δ_o · x_i)`, row by row (`W` row-major, one row per `δ_o`): the
/// online SGD update of a dense layer's weights from its outer-product gradient.
///
/// Through the scalar's hook [`Scalar::outer_axpy`]: [`outer_axpy_generic`] for the
/// floats, a bit-identical faster kernel for [`Q16`](crate::Q16).
#[inline(always)]
pub fn outer_axpy<S: Scalar>(alpha: S, w: &mut [S], delta: &[S], x: &[S]) {
    S::outer_axpy(alpha, w, delta, x);
}

/// [`outer_axpy`] as its definition reads, one scalar operation at a time (the
/// arithmetic every scalar's hook must reproduce bit for bit).
#[inline(always)]
pub fn outer_axpy_generic<S: Scalar>(alpha: S, w: &mut [S], delta: &[S], x: &[S]) {
    let n = x.len().max(1);
    for (row, &d) in w.chunks_exact_mut(n).zip(delta) {
        row_boundary(n);
        for (p, &x) in row.iter_mut().zip(x) {
            *p += alpha * (d * x);
        }
    }
}

/// `y += alpha · x`, element by element (through [`Scalar::axpy`], as
/// [`outer_axpy`]).
#[inline(always)]
pub fn axpy<S: Scalar>(alpha: S, x: &[S], y: &mut [S]) {
    S::axpy(alpha, x, y);
}

/// [`axpy`] as its definition reads.
#[inline(always)]
pub fn axpy_generic<S: Scalar>(alpha: S, x: &[S], y: &mut [S]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// Dense forward pass: `z = W x + b`, `a = f(z)`, with `W` row-major (`W[o][i]` at
/// `o · inputs + i`, one row per output neuron).
#[inline(never)]
pub fn dense_forward<S: Scalar, M: Math<S>>(
    w: &[S],
    b: &[S],
    act: Activation<S>,
    x: &[S],
    z: &mut [S],
    a: &mut [S],
) {
    dense_forward_inline::<S, M>(w, b, act, x, z, a);
}

/// [`dense_forward`] for one compile-time layer shape: out of line, one copy per shape,
/// with every length a constant (compile-time layers larger than [`SMALL_LAYER`]).
#[inline(never)]
pub fn dense_forward_sized<S: Scalar, M: Math<S>, const IN: usize, const OUT: usize>(
    w: &[[S; IN]; OUT],
    b: &[S; OUT],
    act: Activation<S>,
    x: &[S; IN],
    z: &mut [S; OUT],
    a: &mut [S; OUT],
) {
    dense_forward_inline::<S, M>(w.as_flattened(), b, act, x, z, a);
}

/// [`dense_forward`], inlined into the caller: typed layers with at most
/// [`SMALL_LAYER`] weights use it, so the compiler unrolls them with constant sizes.
#[inline(always)]
pub fn dense_forward_inline<S: Scalar, M: Math<S>>(
    w: &[S],
    b: &[S],
    act: Activation<S>,
    x: &[S],
    z: &mut [S],
    a: &mut [S],
) {
    S::affine(w, b, x, z);
    act.apply::<M>(z, a);
}

/// `z_o = b_o + dot(W_o, x)` for every row `o` of `W` (row-major, `x.len()` wide):
/// through the scalar's hook [`Scalar::affine`] ([`affine_generic`] for the floats).
#[inline(always)]
pub fn affine<S: Scalar>(w: &[S], b: &[S], x: &[S], z: &mut [S]) {
    S::affine(w, b, x, z);
}

/// [`affine`] as its definition reads: [`dot`] per row, four rows at a time for wide
/// rows (bit for bit the same sums).
#[inline(always)]
pub fn affine_generic<S: Scalar>(w: &[S], b: &[S], x: &[S], z: &mut [S]) {
    let n = x.len().max(1);
    // Only where there are four rows to block (a layer's sizes are constants here, so the
    // other branch is compiled out), and not in the `compact` build (the M0 image), whose
    // flash it would overflow.
    if n >= WIDE_ROW && z.len() >= 4 && !cfg!(feature = "compact") {
        wide_rows_forward(w, b, x, z);
    } else {
        for ((z, row), &b) in z.iter_mut().zip(w.chunks_exact(n)).zip(b) {
            *z = b + dot(row, x);
        }
    }
}

/// `z = b + W x` for rows of at least [`WIDE_ROW`], bit for bit [`dot`]'s per row: four
/// rows at a time, each row's four partial sums computed in one vector and stored, then
/// the four rows finished together (the stored partial sums are what lets LLVM keep each
/// row's accumulators in one 4-lane register; 64 bytes of stack for `f32`).
#[inline(always)]
fn wide_rows_forward<S: Scalar>(w: &[S], b: &[S], x: &[S], z: &mut [S]) {
    let n = x.len().max(1);
    let mut z4 = z.chunks_exact_mut(4);
    let b4 = b.chunks_exact(4);
    let w4 = w.chunks_exact(4 * n);
    let (b_rest, w_rest) = (b4.remainder(), w4.remainder());
    for ((z4, b4), w4) in (&mut z4).zip(b4).zip(w4) {
        let mut part = [[S::ZERO; 4]; 4];
        for (p, row) in part.iter_mut().zip(w4.chunks_exact(n)) {
            row_boundary(n);
            *p = dot_partial(row, x);
        }
        row_boundary(n);
        let rows = w4.chunks_exact(n);
        for (((z, &p), &b), row) in z4.iter_mut().zip(&part).zip(b4).zip(rows) {
            *z = b + dot_finish(p, row, x);
        }
    }
    let rest = z4.into_remainder().iter_mut().zip(w_rest.chunks_exact(n));
    for ((z, row), &b) in rest.zip(b_rest) {
        row_boundary(n);
        *z = b + dot(row, x);
    }
}

/// `∂L/∂W = δ xᵀ`, `∂L/∂b = δ` of one row, as `grads` says (out of line: layers larger
/// than [`SMALL_LAYER`] share it).
#[inline(never)]
pub fn dense_grads<S: Scalar>(gw: &mut [S], gb: &mut [S], delta: &[S], x: &[S], grads: Grads) {
    dense_grads_inline(gw, gb, delta, x, grads);
}

/// [`dense_grads`] for one compile-time layer shape (see [`dense_forward_sized`]).
#[inline(never)]
pub fn dense_grads_sized<S: Scalar, const IN: usize, const OUT: usize>(
    gw: &mut [[S; IN]; OUT],
    gb: &mut [S; OUT],
    delta: &[S; OUT],
    x: &[S; IN],
    grads: Grads,
) {
    dense_grads_inline(gw.as_flattened_mut(), gb, delta, x, grads);
}

/// [`dense_grads`], inlined into the caller.
#[inline(always)]
pub fn dense_grads_inline<S: Scalar>(
    gw: &mut [S],
    gb: &mut [S],
    delta: &[S],
    x: &[S],
    grads: Grads,
) {
    let n = x.len().max(1);
    match grads {
        Grads::Skip => {}
        Grads::Overwrite => {
            for (gb, &d) in gb.iter_mut().zip(delta) {
                *gb = d;
            }
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

/// `out = Wᵀ δ`, accumulated row by row (vectorises over the inputs), through the
/// scalar's hook [`Scalar::transpose_times`] (as [`outer_axpy`]).
#[inline]
pub fn transpose_times<S: Scalar>(w: &[S], delta: &[S], out: &mut [S]) {
    S::transpose_times(w, delta, out);
}

/// [`transpose_times`] as its definition reads: the first row's products, then
/// [`axpy_generic`] row by row.
#[inline(always)]
pub fn transpose_times_generic<S: Scalar>(w: &[S], delta: &[S], out: &mut [S]) {
    let n = out.len().max(1);
    let mut rows = w.chunks_exact(n).zip(delta);
    if let Some((row, &d)) = rows.next() {
        for (o, &w) in out.iter_mut().zip(row) {
            *o = d * w;
        }
    }
    for (row, &d) in rows {
        axpy_generic(d, row, out);
    }
}

/// `z = f'(z, a) · g`: a layer's δ from `g = ∂L/∂a` (in place over its pre-activations;
/// [`Activation::delta`]).
#[inline(always)]
pub fn through_derivative<S: Scalar, M: Math<S>>(
    act: Activation<S>,
    z: &mut [S],
    a: &[S],
    g: &[S],
) {
    act.delta::<M>(z, a, g);
}

/// `Σ |v|`, with four partial sums over blocks of four (combined as in [`dot`]) then the
/// tail, so that it vectorises. Online steps use it only to bound their update (any order
/// of a sum of non-negative terms has the same worst-case rounding), never to compute a
/// weight.
///
/// Through the scalar's hook [`Scalar::sum_abs`] (as [`outer_axpy`]).
#[inline]
pub fn sum_abs<S: Scalar>(v: &[S]) -> S {
    S::sum_abs(v)
}

/// [`sum_abs`] as its definition reads.
#[inline(always)]
pub fn sum_abs_generic<S: Scalar>(v: &[S]) -> S {
    let (v4, tail) = v.as_chunks::<4>();
    let mut s = [S::ZERO; 4];
    for x in v4 {
        let [x0, x1, x2, x3] = *x;
        let [s0, s1, s2, s3] = s;
        s = [s0 + x0.abs(), s1 + x1.abs(), s2 + x2.abs(), s3 + x3.abs()];
    }
    let [s0, s1, s2, s3] = s;
    tail.iter().fold((s0 + s2) + (s1 + s3), |s, &v| s + v.abs())
}
