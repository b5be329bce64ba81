//! The fully-connected layer.

use super::{Buffers, LayerMut, LayerRef, Layers, WeightsMut};
use crate::{
    kernel::{self, Grads, Upstream},
    optim::Optimizer,
    Activation, Math, Scalar,
};

/// A dense layer `a = f(W x + b)` with `IN` inputs and `OUT` neurons, followed by the rest
/// of the network `N` (`()` for the last layer).
///
/// Only the weights live here: `w` (`OUT × IN`, one row per neuron), `b` and the
/// activation. Gradients and the activation cache are in [`DenseBuffers`], so a trained
/// network can be kept and run without them.
///
/// Layers chain only when sizes agree: the next layer's input type must be `[S; OUT]`.
///
/// ```compile_fail
/// use microprop::layer::{Dense, Layers};
/// // 16 outputs feeding a layer that expects 8 inputs: does not compile.
/// type Broken = Dense<f32, 2, 16, Dense<f32, 8, 1>>;
/// let _ = <Broken as Layers>::PARAMS;
/// ```
///
/// ```
/// use microprop::layer::{Dense, Layers};
/// type Fine = Dense<f32, 2, 16, Dense<f32, 16, 1>>;
/// assert_eq!(<Fine as Layers>::PARAMS, 2 * 16 + 16 + 16 + 1);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dense<S, const IN: usize, const OUT: usize, N = ()> {
    w: [[S; IN]; OUT],
    b: [S; OUT],
    act: Activation,
    next: N,
}

/// Training buffers of one dense layer: gradients and the forward cache.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseBuffers<S, const IN: usize, const OUT: usize> {
    gw: [[S; IN]; OUT],
    gb: [S; OUT],
    z: [S; OUT],
    a: [S; OUT],
}

impl<S: Scalar, const IN: usize, const OUT: usize> DenseBuffers<S, IN, OUT> {
    const ZEROED: Self = Self {
        gw: [[S::ZERO; IN]; OUT],
        gb: [S::ZERO; OUT],
        z: [S::ZERO; OUT],
        a: [S::ZERO; OUT],
    };
}

impl<S: Scalar, const IN: usize, const OUT: usize> Buffers<S> for DenseBuffers<S, IN, OUT> {
    fn zeroed() -> Self {
        Self::ZEROED
    }
}

impl<S: Scalar, A: Buffers<S>, B: Buffers<S>> Buffers<S> for (A, B) {
    fn zeroed() -> Self {
        (A::zeroed(), B::zeroed())
    }
}

impl<S: Scalar, const IN: usize, const OUT: usize, N: Default> Default for Dense<S, IN, OUT, N> {
    /// All weights zero, identity activation.
    fn default() -> Self {
        Dense {
            w: [[S::ZERO; IN]; OUT],
            b: [S::ZERO; OUT],
            act: Activation::Identity,
            next: N::default(),
        }
    }
}

impl<S: Scalar, const IN: usize, const OUT: usize, N> Dense<S, IN, OUT, N> {
    /// The weight matrix, one row per neuron: `weights()[o][i]` connects input `i` to
    /// neuron `o`.
    pub fn weights(&self) -> &[[S; IN]; OUT] {
        &self.w
    }
    /// The biases.
    pub fn biases(&self) -> &[S; OUT] {
        &self.b
    }
    /// The activation.
    pub fn activation(&self) -> Activation {
        self.act
    }
    /// The rest of the chain.
    pub fn next(&self) -> &N {
        &self.next
    }

    fn weights_mut(&mut self, index: usize) -> WeightsMut<'_, S> {
        WeightsMut {
            index,
            inputs: IN,
            outputs: OUT,
            activation: &mut self.act,
            w: self.w.as_flattened_mut(),
            b: &mut self.b,
        }
    }
}

/// The forward kernel, inlined for small layers.
#[inline(always)]
fn forward<S: Scalar, M: Math<S>, const IN: usize, const OUT: usize>(
    w: &[S],
    b: &[S],
    act: Activation,
    x: &[S],
    z: &mut [S],
    a: &mut [S],
) {
    if IN * OUT <= kernel::SMALL_LAYER {
        kernel::dense_forward_inline::<S, M>(w, b, act, x, z, a);
    } else {
        kernel::dense_forward::<S, M>(w, b, act, x, z, a);
    }
}

/// The backward kernel, inlined for small layers.
#[inline(always)]
fn backward<S: Scalar, M: Math<S>, const IN: usize, const OUT: usize>(
    w: &[S],
    gw: &mut [S],
    gb: &mut [S],
    delta: &[S],
    x: &[S],
    upstream: Upstream<'_, S>,
    grads: Grads,
) {
    if IN * OUT <= kernel::SMALL_LAYER {
        kernel::dense_backward_inline::<S, M>(w, gw, gb, delta, x, upstream, grads);
    } else {
        kernel::dense_backward::<S, M>(w, gw, gb, delta, x, upstream, grads);
    }
}

#[inline]
fn update_layer<S: Scalar, O: Optimizer<S>, const IN: usize, const OUT: usize>(
    w: &mut [[S; IN]; OUT],
    b: &mut [S; OUT],
    buf: &DenseBuffers<S, IN, OUT>,
    opt: &mut O,
    offset: usize,
    scale: S,
) {
    opt.update(offset, w.as_flattened_mut(), buf.gw.as_flattened(), scale);
    opt.update(offset + IN * OUT, b, &buf.gb, scale);
}

#[inline]
fn update_layer_online<S: Scalar, O: Optimizer<S>, const IN: usize, const OUT: usize>(
    w: &mut [[S; IN]; OUT],
    b: &mut [S; OUT],
    buf: &DenseBuffers<S, IN, OUT>,
    x: &[S],
    opt: &mut O,
    offset: usize,
    scale: S,
) {
    opt.update_outer(offset, w.as_flattened_mut(), &buf.z, x, scale);
    opt.update(offset + IN * OUT, b, &buf.z, scale);
}

fn layer_mut<'a, S, const IN: usize, const OUT: usize>(
    index: usize,
    act: Activation,
    w: &'a mut [[S; IN]; OUT],
    b: &'a mut [S; OUT],
    buf: &'a mut DenseBuffers<S, IN, OUT>,
) -> LayerMut<'a, S> {
    LayerMut {
        index,
        inputs: IN,
        outputs: OUT,
        activation: act,
        w: w.as_flattened_mut(),
        b,
        gw: buf.gw.as_flattened_mut(),
        gb: &mut buf.gb,
        z: &mut buf.z,
        a: &mut buf.a,
    }
}

fn layer_ref<'a, S, const IN: usize, const OUT: usize>(
    index: usize,
    act: Activation,
    w: &'a [[S; IN]; OUT],
    b: &'a [S; OUT],
    buf: &'a DenseBuffers<S, IN, OUT>,
) -> LayerRef<'a, S> {
    LayerRef {
        index,
        inputs: IN,
        outputs: OUT,
        activation: act,
        w: w.as_flattened(),
        b,
        gw: buf.gw.as_flattened(),
        gb: &buf.gb,
        z: &buf.z,
        a: &buf.a,
    }
}

/// The last layer of a chain.
impl<S: Scalar, const IN: usize, const OUT: usize> Layers for Dense<S, IN, OUT, ()> {
    type Scalar = S;
    type Input = [S; IN];
    type Output = [S; OUT];
    type Buffers = DenseBuffers<S, IN, OUT>;
    const INPUTS: usize = IN;
    const OUTPUTS: usize = OUT;
    const DEPTH: usize = 1;
    const PARAMS: usize = IN * OUT + OUT;
    const UNITS: usize = OUT;
    const MAX_WIDTH: usize = OUT;
    const ZERO_OUTPUT: [S; OUT] = [S::ZERO; OUT];

    #[inline]
    fn infer<M: Math<S>>(&self, x: &[S], out: &mut [S]) {
        let mut z = [S::ZERO; OUT];
        forward::<S, M, IN, OUT>(self.w.as_flattened(), &self.b, self.act, x, &mut z, out);
    }

    #[inline]
    fn forward<M: Math<S>>(&self, buf: &mut Self::Buffers, x: &[S]) {
        forward::<S, M, IN, OUT>(
            self.w.as_flattened(),
            &self.b,
            self.act,
            x,
            &mut buf.z,
            &mut buf.a,
        );
    }

    #[inline]
    fn backward<M: Math<S>>(
        &self,
        buf: &mut Self::Buffers,
        x: &[S],
        upstream: Upstream<'_, S>,
        grads: Grads,
    ) {
        backward::<S, M, IN, OUT>(
            self.w.as_flattened(),
            buf.gw.as_flattened_mut(),
            &mut buf.gb,
            &buf.z,
            x,
            upstream,
            grads,
        );
    }

    #[inline]
    fn output(buf: &Self::Buffers) -> (&[S], &[S]) {
        (&buf.z, &buf.a)
    }

    #[inline]
    fn output_mut(buf: &mut Self::Buffers) -> (&mut [S], &[S]) {
        (&mut buf.z, &buf.a)
    }

    fn output_activation(&self) -> Activation {
        self.act
    }

    #[inline]
    fn update<O: Optimizer<S>>(
        &mut self,
        buf: &Self::Buffers,
        opt: &mut O,
        offset: usize,
        scale: S,
    ) {
        update_layer(&mut self.w, &mut self.b, buf, opt, offset, scale);
    }

    #[inline]
    fn update_online<O: Optimizer<S>>(
        &mut self,
        buf: &Self::Buffers,
        x: &[S],
        opt: &mut O,
        offset: usize,
        scale: S,
    ) {
        update_layer_online(&mut self.w, &mut self.b, buf, x, opt, offset, scale);
    }

    #[inline]
    fn online_finite(buf: &Self::Buffers, x: &[S]) -> bool {
        kernel::outer_is_finite(&buf.z, x)
    }

    #[inline]
    fn grads_finite(buf: &Self::Buffers) -> bool {
        S::all_finite(buf.gw.as_flattened()) & S::all_finite(&buf.gb)
    }

    fn visit_mut(
        &mut self,
        buf: &mut Self::Buffers,
        index: usize,
        f: &mut dyn FnMut(LayerMut<'_, S>),
    ) {
        f(layer_mut(index, self.act, &mut self.w, &mut self.b, buf));
    }

    fn visit(&self, buf: &Self::Buffers, index: usize, f: &mut dyn FnMut(LayerRef<'_, S>)) {
        f(layer_ref(index, self.act, &self.w, &self.b, buf));
    }

    fn visit_weights(&mut self, index: usize, f: &mut dyn FnMut(WeightsMut<'_, S>)) {
        f(self.weights_mut(index));
    }
}

/// A layer followed by more layers: the next chain must take `[S; OUT]`.
impl<S, const IN: usize, const OUT: usize, N> Layers for Dense<S, IN, OUT, N>
where
    S: Scalar,
    N: Layers<Scalar = S, Input = [S; OUT]>,
{
    type Scalar = S;
    type Input = [S; IN];
    type Output = N::Output;
    type Buffers = (DenseBuffers<S, IN, OUT>, N::Buffers);
    const INPUTS: usize = IN;
    const OUTPUTS: usize = N::OUTPUTS;
    const DEPTH: usize = 1 + N::DEPTH;
    const PARAMS: usize = IN * OUT + OUT + N::PARAMS;
    const UNITS: usize = OUT + N::UNITS;
    const MAX_WIDTH: usize = if OUT > N::MAX_WIDTH {
        OUT
    } else {
        N::MAX_WIDTH
    };
    const ZERO_OUTPUT: N::Output = N::ZERO_OUTPUT;

    #[inline]
    fn infer<M: Math<S>>(&self, x: &[S], out: &mut [S]) {
        let mut z = [S::ZERO; OUT];
        let mut a = [S::ZERO; OUT];
        forward::<S, M, IN, OUT>(self.w.as_flattened(), &self.b, self.act, x, &mut z, &mut a);
        self.next.infer::<M>(&a, out);
    }

    #[inline]
    fn forward<M: Math<S>>(&self, buf: &mut Self::Buffers, x: &[S]) {
        let (mine, rest) = buf;
        forward::<S, M, IN, OUT>(
            self.w.as_flattened(),
            &self.b,
            self.act,
            x,
            &mut mine.z,
            &mut mine.a,
        );
        self.next.forward::<M>(rest, &mine.a);
    }

    #[inline]
    fn backward<M: Math<S>>(
        &self,
        buf: &mut Self::Buffers,
        x: &[S],
        upstream: Upstream<'_, S>,
        grads: Grads,
    ) {
        let (mine, rest) = buf;
        let mut scratch = [S::ZERO; OUT];
        self.next.backward::<M>(
            rest,
            &mine.a,
            Upstream::Hidden {
                z: &mut mine.z,
                a: &mine.a,
                act: self.act,
                scratch: &mut scratch,
            },
            grads,
        );
        backward::<S, M, IN, OUT>(
            self.w.as_flattened(),
            mine.gw.as_flattened_mut(),
            &mut mine.gb,
            &mine.z,
            x,
            upstream,
            grads,
        );
    }

    #[inline]
    fn output(buf: &Self::Buffers) -> (&[S], &[S]) {
        N::output(&buf.1)
    }

    #[inline]
    fn output_mut(buf: &mut Self::Buffers) -> (&mut [S], &[S]) {
        N::output_mut(&mut buf.1)
    }

    fn output_activation(&self) -> Activation {
        self.next.output_activation()
    }

    #[inline]
    fn update<O: Optimizer<S>>(
        &mut self,
        buf: &Self::Buffers,
        opt: &mut O,
        offset: usize,
        scale: S,
    ) {
        let (mine, rest) = buf;
        update_layer(&mut self.w, &mut self.b, mine, opt, offset, scale);
        self.next.update(rest, opt, offset + IN * OUT + OUT, scale);
    }

    #[inline]
    fn update_online<O: Optimizer<S>>(
        &mut self,
        buf: &Self::Buffers,
        x: &[S],
        opt: &mut O,
        offset: usize,
        scale: S,
    ) {
        let (mine, rest) = buf;
        update_layer_online(&mut self.w, &mut self.b, mine, x, opt, offset, scale);
        self.next
            .update_online(rest, &mine.a, opt, offset + IN * OUT + OUT, scale);
    }

    #[inline]
    fn online_finite(buf: &Self::Buffers, x: &[S]) -> bool {
        kernel::outer_is_finite(&buf.0.z, x) & N::online_finite(&buf.1, &buf.0.a)
    }

    #[inline]
    fn grads_finite(buf: &Self::Buffers) -> bool {
        S::all_finite(buf.0.gw.as_flattened()) & S::all_finite(&buf.0.gb) & N::grads_finite(&buf.1)
    }

    fn visit_mut(
        &mut self,
        buf: &mut Self::Buffers,
        index: usize,
        f: &mut dyn FnMut(LayerMut<'_, S>),
    ) {
        let (mine, rest) = buf;
        f(layer_mut(index, self.act, &mut self.w, &mut self.b, mine));
        self.next.visit_mut(rest, index + 1, f);
    }

    fn visit(&self, buf: &Self::Buffers, index: usize, f: &mut dyn FnMut(LayerRef<'_, S>)) {
        f(layer_ref(index, self.act, &self.w, &self.b, &buf.0));
        self.next.visit(&buf.1, index + 1, f);
    }

    fn visit_weights(&mut self, index: usize, f: &mut dyn FnMut(WeightsMut<'_, S>)) {
        f(self.weights_mut(index));
        self.next.visit_weights(index + 1, f);
    }
}
