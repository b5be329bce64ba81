//! The fully-connected layer: `a = f(W x + b)`.
//!
//! The arithmetic is written once, over slices ([`forward`], [`receive`], [`backward`],
//! [`update_online`]); [`Dense`] (sizes in the type, arrays inside the value) and
//! [`DynDense`] (sizes chosen at run time, any storage) both call it. Small compile-time
//! layers (at most [`kernel::SMALL_LAYER`] weights) are inlined with their constant sizes,
//! larger ones and every run-time layer share one out-of-line copy of each kernel per
//! scalar type and backend.

use super::storage::Family;
use super::{
    rows, shape_of, At, Cache, CacheMut, FixedLayer, ZeroedLayer, Grads, Kind, Layer, LayerMut, LayerRef,
    OfScalar, Parts, PartsMut, Pass, Receive, Rows, Spec,
};
use crate::{kernel, optim::Optimizer, Activation, Error, Math, Result, Scalar};
use crate::format::{count, Reader, Writer};
use super::{DynLayer, KindSpec};

/// A dense layer's spec: its sizes and activation.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DenseSpec {
    /// Inputs.
    pub inputs: usize,
    /// Neurons.
    pub outputs: usize,
    /// Activation (with its α, in the network's scalar type, widened).
    pub activation: Activation<f64>,
}

impl KindSpec for DenseSpec {
    const NAME: &'static str = "dense";
    const PARAMS: super::Params = super::Params::Weights;
    const FIXED_BYTES: usize = 4 + 4 + 1;
    const SCALARS: usize = 1;
    fn inputs(&self) -> usize {
        self.inputs
    }
    fn outputs(&self) -> usize {
        self.outputs
    }
    fn activation(&self) -> Option<Activation<f64>> {
        Some(self.activation)
    }
    fn params(&self) -> usize {
        self.inputs
            .saturating_mul(self.outputs)
            .saturating_add(self.outputs)
    }
    fn write<S: Scalar>(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u32(count(self.inputs)?);
        w.u32(count(self.outputs)?);
        w.activation::<S>(self.activation);
        Ok(())
    }
    fn read(r: &mut Reader<'_>, width: usize) -> Result<Self> {
        Ok(DenseSpec {
            inputs: r.usize()?,
            outputs: r.usize()?,
            activation: r.activation(width)?,
        })
    }
    fn build<S: Scalar, F: Family>(&self) -> Result<DynLayer<S, F>> {
        Ok(DynDense::zeroed(self.inputs, self.outputs, self.activation.cast())?.into())
    }
}


/// A dense layer with `IN` inputs and `OUT` neurons, its weights in the value.
///
/// `w` is `OUT × IN`, one row per neuron; `b` has one bias per neuron. Gradients and the
/// forward cache are in [`DenseBuffers`], so a trained network can be kept and run without
/// them. Layers chain only when sizes agree:
///
/// ```compile_fail
/// use microprop::layer::{Dense, Fixed};
/// // 16 outputs feeding a layer that expects 8 inputs: does not compile.
/// type Broken = (Dense<f32, 2, 16>, (Dense<f32, 8, 1>, ()));
/// let _ = <Broken as Fixed<f32>>::PARAMS;
/// ```
///
/// ```
/// use microprop::layer::{Dense, Fixed};
/// type Fine = (Dense<f32, 2, 16>, (Dense<f32, 16, 1>, ()));
/// assert_eq!(<Fine as Fixed<f32>>::PARAMS, 2 * 16 + 16 + 16 + 1);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dense<S, const IN: usize, const OUT: usize> {
    w: [[S; IN]; OUT],
    b: [S; OUT],
    act: Activation<S>,
}

/// Training buffers of a [`Dense`] layer for batches of up to `B` rows: gradients and the
/// forward cache (`z`, then δ after a backward pass; `a`).
#[derive(Clone, Debug, PartialEq)]
pub struct DenseBuffers<S, const IN: usize, const OUT: usize, const B: usize> {
    gw: [[S; IN]; OUT],
    gb: [S; OUT],
    z: [[S; OUT]; B],
    a: [[S; OUT]; B],
}

impl<S: Scalar, const IN: usize, const OUT: usize> Default for Dense<S, IN, OUT> {
    /// All weights zero, identity activation.
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn default() -> Self {
        // A constant: stored straight into the place that receives it (one `memset`),
        // not assembled in a temporary and moved.
        const {
            Dense {
                w: [[S::ZERO; IN]; OUT],
                b: [S::ZERO; OUT],
                act: Activation::Identity,
            }
        }
    }
}

impl<S: Scalar, const IN: usize, const OUT: usize> Dense<S, IN, OUT> {
    /// A layer with all weights zero and activation `act`.
    pub fn zeroed(act: Activation<S>) -> Self {
        Dense {
            act,
            ..Self::default()
        }
    }
    /// A layer from its weights (`w[o][i]` connects input `i` to neuron `o`), biases and
    /// activation: a `const fn`, so a trained layer can live in a `static` (what
    /// `microprop-sim export --rust` generates). Any finite values make a valid layer;
    /// [`Network::validate`](crate::Network::validate) checks the activations' places.
    ///
    /// ```
    /// use microprop::{layer::Dense, Activation};
    /// static LAYER: Dense<f32, 2, 1> = Dense::from_parts([[0.5, -0.25]], [0.1], Activation::Sigmoid);
    /// assert_eq!(LAYER.weights(), &[[0.5, -0.25]]);
    /// ```
    pub const fn from_parts(w: [[S; IN]; OUT], b: [S; OUT], act: Activation<S>) -> Self {
        Dense { w, b, act }
    }
    /// The activation.
    pub const fn activation(&self) -> Activation<S> {
        self.act
    }
    /// The weight matrix, one row per neuron: `weights()[o][i]` connects input `i` to
    /// neuron `o`.
    pub fn weights(&self) -> &[[S; IN]; OUT] {
        &self.w
    }
    /// The biases.
    pub fn biases(&self) -> &[S; OUT] {
        &self.b
    }
}

impl<S: Scalar, const IN: usize, const OUT: usize> Dense<S, IN, OUT> {
    /// Backward over `n` rows: inlined into the network by default (every size and the
    /// upstream known); with the `compact` feature the run-time layers' out-of-line code,
    /// one copy for every shape, its upstream dynamic.
    #[cfg(feature = "compact")]
    #[inline(always)]
    fn backward_rows<const B: usize>(
        &self,
        buf: &mut DenseBuffers<S, IN, OUT, B>,
        x: &[S],
        n: usize,
        up: &mut dyn Receive<S>,
        grads: Grads,
    ) {
        let mut scratch = [S::ZERO; IN];
        let (w, gw) = (self.w.as_flattened(), buf.gw.as_flattened_mut());
        backward_compact(
            w,
            gw,
            &mut buf.gb,
            buf.z.as_flattened(),
            x,
            n,
            &mut scratch,
            up,
            grads,
        );
    }

    /// Backward over `n` rows (see the `compact` version above).
    #[cfg(not(feature = "compact"))]
    #[inline(always)]
    fn backward_rows<U: Receive<S> + ?Sized, const B: usize>(
        &self,
        buf: &mut DenseBuffers<S, IN, OUT, B>,
        x: &[S],
        n: usize,
        up: &mut U,
        grads: Grads,
    ) {
        let mut scratch = [S::ZERO; IN];
        let wants = up.wants();
        let (gw, gb) = (&mut buf.gw, &mut buf.gb);
        if B == 1 {
            // One row: no row loop (online and per-sample training).
            if let (Some(delta), Some(x), true) = (buf.z.first(), x.first_chunk::<IN>(), n > 0) {
                self.backward_row(0, delta, x, gw, gb, &mut scratch, wants, up, grads);
            }
            return;
        }
        let mut grads = grads;
        let rows = buf.z.iter().zip(x.as_chunks::<IN>().0).take(n);
        for (r, (delta, x)) in rows.enumerate() {
            self.backward_row(r, delta, x, gw, gb, &mut scratch, wants, up, grads);
            if grads == Grads::Overwrite {
                grads = Grads::Accumulate;
            }
        }
    }

    /// Forward over `n` rows: with the `compact` feature the run-time layers'
    /// out-of-line code, as [`backward_rows`](Self::backward_rows).
    #[cfg(feature = "compact")]
    #[inline(always)]
    fn forward_rows<M: Math<S>, const B: usize>(
        &self,
        x: &[S],
        n: usize,
        buf: &mut DenseBuffers<S, IN, OUT, B>,
    ) {
        let (z, a) = (buf.z.as_flattened_mut(), buf.a.as_flattened_mut());
        forward_compact::<S, M>(self.w.as_flattened(), &self.b, self.act, x, n, z, a);
    }

    /// Forward over `n` rows, inlined into the network (every size known).
    #[cfg(not(feature = "compact"))]
    #[inline(always)]
    fn forward_rows<M: Math<S>, const B: usize>(
        &self,
        x: &[S],
        n: usize,
        buf: &mut DenseBuffers<S, IN, OUT, B>,
    ) {
        if B == 1 {
            // One row: no row loop (online and per-sample training).
            if let (Some(x), Some(z), Some(a), true) = (
                x.first_chunk::<IN>(),
                buf.z.first_mut(),
                buf.a.first_mut(),
                n > 0,
            ) {
                self.forward_row::<M>(x, z, a);
            }
            return;
        }
        let rows = x.as_chunks::<IN>().0.iter();
        let rows = rows.zip(buf.z.iter_mut().zip(buf.a.iter_mut())).take(n);
        for (x, (z, a)) in rows {
            self.forward_row::<M>(x, z, a);
        }
    }

    /// One row backward: `Wᵀ δ` to `up` (if it wants it), then the parameter gradients.
    #[cfg(not(feature = "compact"))]
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn backward_row<U: Receive<S> + ?Sized>(
        &self,
        r: usize,
        delta: &[S; OUT],
        x: &[S; IN],
        gw: &mut [[S; IN]; OUT],
        gb: &mut [S; OUT],
        scratch: &mut [S; IN],
        wants: bool,
        up: &mut U,
        grads: Grads,
    ) {
        if wants {
            kernel::transpose_times(self.w.as_flattened(), delta, scratch);
            up.receive(r, scratch);
        }
        if small(IN, OUT) {
            kernel::dense_grads_inline(gw.as_flattened_mut(), gb, delta, x, grads);
        } else {
            kernel::dense_grads_sized(gw, gb, delta, x, grads);
        }
    }

    /// One row forward: the inlined kernel for small layers, the layer shape's out-of-line
    /// copy for large ones.
    #[inline(always)]
    fn forward_row<M: Math<S>>(&self, x: &[S; IN], z: &mut [S; OUT], a: &mut [S; OUT]) {
        if small(IN, OUT) {
            kernel::dense_forward_inline::<S, M>(self.w.as_flattened(), &self.b, self.act, x, z, a);
        } else {
            kernel::dense_forward_sized::<S, M, IN, OUT>(&self.w, &self.b, self.act, x, z, a);
        }
    }
}

impl<S, const IN: usize, const OUT: usize> super::sealed::Sealed for Dense<S, IN, OUT> {}

impl<S: Scalar, const IN: usize, const OUT: usize> OfScalar for Dense<S, IN, OUT> {
    type Scalar = S;
}

impl<S: Scalar, const IN: usize, const OUT: usize> FixedLayer<S> for Dense<S, IN, OUT> {
    type In = [S; IN];
    type Out = [S; OUT];
    const ZERO_OUT: [S; OUT] = [S::ZERO; OUT];
    const INPUTS: usize = IN;
    const OUTPUTS: usize = OUT;
    const PARAMS: usize = IN * OUT + OUT;
    const STATE: usize = 0;
    const ROW: usize = 2 * OUT;
    const FIXED: usize = IN * OUT + OUT;
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn zeroed_buffers<const B: usize>() -> Self::Buffers<B> {
        <Self as ZeroedLayer<S, B>>::ZEROED_BUFFERS
    }
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn zeroed_rows<const B: usize>() -> Rows<S, IN, B> {
        <Self as ZeroedLayer<S, B>>::ZEROED_ROWS
    }
}

impl<S: Scalar, const IN: usize, const OUT: usize, const B: usize> ZeroedLayer<S, B> for Dense<S, IN, OUT> {
    const ZEROED_BUFFERS: Self::Buffers<B> = DenseBuffers {
        gw: [[S::ZERO; IN]; OUT],
        gb: [S::ZERO; OUT],
        z: [[S::ZERO; OUT]; B],
        a: [[S::ZERO; OUT]; B],
    };
    const ZEROED_ROWS: Rows<S, IN, B> = Rows([[S::ZERO; IN]; B]);
}

/// Whether a compile-time layer of this size is inlined into its network.
const fn small(inputs: usize, outputs: usize) -> bool {
    inputs * outputs <= kernel::SMALL_LAYER
}

impl<S: Scalar, const IN: usize, const OUT: usize> Layer<S> for Dense<S, IN, OUT> {
    type Input = [S; IN];
    type Output = [S; OUT];
    type Buffers<const B: usize> = DenseBuffers<S, IN, OUT, B>;
    type InRows<const B: usize> = Rows<S, IN, B>;
    type OutRow = [S; OUT];

    fn kind(&self) -> Kind {
        Kind::Dense
    }
    fn spec(&self) -> Spec {
        Spec::Dense(DenseSpec {
            inputs: IN,
            outputs: OUT,
            activation: self.act.cast(),
        })
    }
    fn set_spec(&mut self, spec: &Spec) -> Result<()> {
        match *spec {
            Spec::Dense(DenseSpec {
                inputs,
                outputs,
                activation,
            }) if inputs == IN && outputs == OUT => {
                self.act = super::checked_activation(activation.cast())?;
                Ok(())
            }
            _ => Err(crate::Error::ShapeMismatch {
                expected: self.spec().outputs(),
                found: spec.outputs(),
            }),
        }
    }
    #[inline(always)]
    fn inputs(&self) -> usize {
        IN
    }
    #[inline(always)]
    fn outputs(&self) -> usize {
        OUT
    }
    fn activation(&self) -> Option<Activation<S>> {
        Some(self.act)
    }
    fn params(&self) -> usize {
        IN * OUT + OUT
    }
    fn buffers<const B: usize>(&self, capacity: usize) -> Result<Self::Buffers<B>> {
        super::fixed_buffers::<S, Self, B>(capacity)
    }
    #[inline(always)]
    fn capacity<const B: usize>(_buf: &Self::Buffers<B>) -> usize {
        B
    }
    fn in_rows<const B: usize>(&self, capacity: usize) -> Result<Rows<S, IN, B>> {
        super::fixed_rows::<S, Self, B>(capacity)
    }
    #[inline(always)]
    fn out_row(&self) -> Result<[S; OUT]> {
        Ok([S::ZERO; OUT])
    }

    #[inline(always)]
    fn forward<M: Math<S>, const B: usize>(
        &self,
        _pass: &mut Pass<'_>,
        x: &[S],
        n: usize,
        buf: &mut Self::Buffers<B>,
    ) {
        self.forward_rows::<M, B>(x, n, buf);
    }

    #[inline(always)]
    fn infer<M: Math<S>>(&self, x: &[S], out: &mut [S]) -> Result<()> {
        let mut z = [S::ZERO; OUT];
        let mut a = [S::ZERO; OUT];
        if let Some(x) = x.first_chunk::<IN>() {
            self.forward_row::<M>(x, &mut z, &mut a);
        }
        out.iter_mut().zip(a).for_each(|(o, a)| *o = a);
        Ok(())
    }

    #[inline(always)]
    fn split<const B: usize>(buf: &mut Self::Buffers<B>) -> (&[S], &mut [S]) {
        (buf.a.as_flattened(), buf.z.as_flattened_mut())
    }
    #[inline(always)]
    fn output<const B: usize>(buf: &Self::Buffers<B>) -> &[S] {
        buf.a.as_flattened()
    }
    #[inline(always)]
    fn head<const B: usize>(buf: &mut Self::Buffers<B>) -> Option<(&mut [S], &[S])> {
        Some((buf.z.as_flattened_mut(), buf.a.as_flattened()))
    }
    #[inline(always)]
    fn wants(&self, _upstream: bool) -> bool {
        true
    }
    #[inline(always)]
    fn receive<M: Math<S>, U: Receive<S> + ?Sized>(
        &self,
        out: &[S],
        store: &mut [S],
        r: usize,
        g: &[S],
        _up: &mut U,
    ) {
        receive::<S, M>(self.act, OUT, out, store, r, g);
    }

    #[inline(always)]
    fn backward<M: Math<S>, U: Receive<S> + ?Sized, const B: usize>(
        &self,
        buf: &mut Self::Buffers<B>,
        x: &[S],
        n: usize,
        up: &mut U,
        grads: Grads,
    ) {
        // Compact images take the upstream dynamically: one copy for every shape.
        #[cfg(feature = "compact")]
        self.backward_rows::<B>(buf, x, n, &mut super::Erased(up), grads);
        #[cfg(not(feature = "compact"))]
        self.backward_rows::<U, B>(buf, x, n, up, grads);
    }

    #[inline(always)]
    fn update_online<O: Optimizer<S>, const B: usize>(
        &mut self,
        buf: &Self::Buffers<B>,
        x: &[S],
        opt: &mut O,
        offset: usize,
    ) {
        // Row 0 of δ and of the input, as arrays: every length a constant.
        if let (Some(delta), Some(x)) = (buf.z.first(), x.first_chunk::<IN>()) {
            opt.update_outer(offset, self.w.as_flattened_mut(), delta, x);
            opt.update(offset + IN * OUT, &mut self.b, delta);
        }
    }

    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn online_accepts<O: Optimizer<S>, const B: usize>(
        &self,
        buf: &Self::Buffers<B>,
        x: &[S],
        opt: &O,
        params: usize,
        offset: usize,
    ) -> bool {
        match (buf.z.first(), x.first_chunk::<IN>()) {
            (Some(delta), Some(x)) => {
                online_accepts(self.w.as_flattened(), &self.b, delta, x, opt, params, offset)
            }
            _ => false,
        }
    }

    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn online_step_bound<O: Optimizer<S>, const B: usize>(
        &self,
        buf: &Self::Buffers<B>,
        x: &[S],
        opt: &O,
    ) -> Option<S> {
        online_step_bound(buf.z.first()?, x.first_chunk::<IN>()?, opt)
    }

    fn view<'a, const B: usize>(
        &'a self,
        buf: Option<&'a Self::Buffers<B>>,
        at: At,
    ) -> LayerRef<'a, S> {
        Parts {
            w: self.w.as_flattened(),
            b: &self.b,
            state: &[],
            cache: buf.map(|c| Cache {
                gw: c.gw.as_flattened(),
                gb: &c.gb,
                z: c.z.as_flattened(),
                a: c.a.as_flattened(),
            }),
        }
        .view(at, Kind::Dense, shape_of(self))
    }

    fn view_mut<'a, const B: usize>(
        &'a mut self,
        buf: Option<&'a mut Self::Buffers<B>>,
        at: At,
    ) -> LayerMut<'a, S> {
        let shape = shape_of(self);
        PartsMut {
            activation: Some(&mut self.act),
            w: self.w.as_flattened_mut(),
            b: &mut self.b,
            state: &mut [],
            cache: buf.map(|c| CacheMut {
                gw: c.gw.as_flattened_mut(),
                gb: &mut c.gb,
                z: c.z.as_flattened_mut(),
                a: c.a.as_flattened_mut(),
            }),
        }
        .view(at, Kind::Dense, shape)
    }
}

/// A dense layer whose sizes are chosen at run time; its numbers live in the storage
/// family `F` (`Vec` on the host, [`Bounded`](super::Bounded) on a device). The arithmetic
/// is [`Dense`]'s.
#[derive(Clone, Debug, PartialEq)]
pub struct DynDense<S: Scalar, F: Family> {
    inputs: usize,
    act: Activation<S>,
    w: F::Of<S>,
    b: F::Of<S>,
}

impl<S: Scalar, F: Family> DynDense<S, F> {
    /// A layer of `inputs → outputs` with all weights zero and activation `act`.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] for a zero size; [`Error::Capacity`] if the storage
    /// cannot hold the weights.
    pub fn zeroed(inputs: usize, outputs: usize, act: Activation<S>) -> Result<Self> {
        if inputs == 0 || outputs == 0 {
            return Err(Error::InvalidHyperParameter("layer sizes must be > 0"));
        }
        let weights = inputs.checked_mul(outputs).ok_or(Error::Capacity)?;
        Ok(DynDense {
            inputs,
            act,
            w: F::filled(weights, S::ZERO)?,
            b: F::filled(outputs, S::ZERO)?,
        })
    }
}

/// Training buffers of a [`DynDense`] layer.
#[derive(Clone, Debug, PartialEq)]
pub struct DynDenseBuffers<S: Scalar, F: Family> {
    capacity: usize,
    gw: F::Of<S>,
    gb: F::Of<S>,
    z: F::Of<S>,
    a: F::Of<S>,
    /// `Wᵀ δ` of one row.
    scratch: F::Of<S>,
}

impl<S: Scalar, F: Family> super::sealed::Sealed for DynDense<S, F> {}

impl<S: Scalar, F: Family> OfScalar for DynDense<S, F> {
    type Scalar = S;
}

impl<S: Scalar, F: Family> Layer<S> for DynDense<S, F> {
    type Input = [S];
    type Output = [S];
    type Buffers<const B: usize> = DynDenseBuffers<S, F>;
    type InRows<const B: usize> = F::Of<S>;
    type OutRow = F::Of<S>;

    fn kind(&self) -> Kind {
        Kind::Dense
    }
    fn spec(&self) -> Spec {
        Spec::Dense(DenseSpec {
            inputs: self.inputs,
            outputs: self.outputs(),
            activation: self.act.cast(),
        })
    }
    fn set_spec(&mut self, spec: &Spec) -> Result<()> {
        match *spec {
            Spec::Dense(DenseSpec {
                inputs,
                outputs,
                activation,
            }) if inputs == self.inputs && outputs == self.outputs() => {
                self.act = super::checked_activation(activation.cast())?;
                Ok(())
            }
            _ => Err(crate::Error::ShapeMismatch {
                expected: self.spec().outputs(),
                found: spec.outputs(),
            }),
        }
    }
    fn inputs(&self) -> usize {
        self.inputs
    }
    fn outputs(&self) -> usize {
        self.b.as_ref().len()
    }
    fn activation(&self) -> Option<Activation<S>> {
        Some(self.act)
    }
    fn params(&self) -> usize {
        self.w.as_ref().len() + self.b.as_ref().len()
    }
    fn buffers<const B: usize>(&self, capacity: usize) -> Result<Self::Buffers<B>> {
        if capacity == 0 {
            return Err(Error::Capacity);
        }
        let cache = self
            .outputs()
            .checked_mul(capacity)
            .ok_or(Error::Capacity)?;
        Ok(DynDenseBuffers {
            capacity,
            gw: F::filled(self.w.as_ref().len(), S::ZERO)?,
            gb: F::filled(self.outputs(), S::ZERO)?,
            z: F::filled(cache, S::ZERO)?,
            a: F::filled(cache, S::ZERO)?,
            scratch: F::filled(self.inputs, S::ZERO)?,
        })
    }
    fn capacity<const B: usize>(buf: &Self::Buffers<B>) -> usize {
        buf.capacity
    }
    fn in_rows<const B: usize>(&self, capacity: usize) -> Result<F::Of<S>> {
        F::filled(
            self.inputs.checked_mul(capacity).ok_or(Error::Capacity)?,
            S::ZERO,
        )
    }
    fn out_row(&self) -> Result<F::Of<S>> {
        F::filled(self.outputs(), S::ZERO)
    }

    fn forward<M: Math<S>, const B: usize>(
        &self,
        _pass: &mut Pass<'_>,
        x: &[S],
        n: usize,
        buf: &mut Self::Buffers<B>,
    ) {
        let (inputs, outputs) = (self.inputs, self.outputs());
        let out = buf.z.as_mut().chunks_exact_mut(outputs);
        let out = out.zip(buf.a.as_mut().chunks_exact_mut(outputs));
        let rows = x.chunks_exact(inputs).zip(out).take(n);
        forward::<S, M>(self.w.as_ref(), self.b.as_ref(), self.act, rows);
    }

    fn infer<M: Math<S>>(&self, x: &[S], out: &mut [S]) -> Result<()> {
        let mut z = self.out_row()?;
        let row = core::iter::once((x, (z.as_mut(), out)));
        forward::<S, M>(self.w.as_ref(), self.b.as_ref(), self.act, row);
        Ok(())
    }

    fn split<const B: usize>(buf: &mut Self::Buffers<B>) -> (&[S], &mut [S]) {
        (buf.a.as_ref(), buf.z.as_mut())
    }
    fn output<const B: usize>(buf: &Self::Buffers<B>) -> &[S] {
        buf.a.as_ref()
    }
    fn head<const B: usize>(buf: &mut Self::Buffers<B>) -> Option<(&mut [S], &[S])> {
        Some((buf.z.as_mut(), buf.a.as_ref()))
    }
    fn wants(&self, _upstream: bool) -> bool {
        true
    }
    fn receive<M: Math<S>, U: Receive<S> + ?Sized>(
        &self,
        out: &[S],
        store: &mut [S],
        r: usize,
        g: &[S],
        _up: &mut U,
    ) {
        receive::<S, M>(self.act, self.outputs(), out, store, r, g);
    }

    fn backward<M: Math<S>, U: Receive<S> + ?Sized, const B: usize>(
        &self,
        buf: &mut Self::Buffers<B>,
        x: &[S],
        n: usize,
        up: &mut U,
        grads: Grads,
    ) {
        let (inputs, outputs) = (self.inputs, self.outputs());
        let rows = buf.z.as_ref().chunks_exact(outputs);
        let rows = rows.zip(x.chunks_exact(inputs)).take(n);
        backward::<S, U>(
            self.w.as_ref(),
            buf.gw.as_mut(),
            buf.gb.as_mut(),
            rows,
            buf.scratch.as_mut(),
            up,
            grads,
        );
    }

    fn update_online<O: Optimizer<S>, const B: usize>(
        &mut self,
        buf: &Self::Buffers<B>,
        x: &[S],
        opt: &mut O,
        offset: usize,
    ) {
        update_online(
            self.w.as_mut(),
            self.b.as_mut(),
            buf.z.as_ref(),
            x,
            opt,
            offset,
        );
    }

    fn online_accepts<O: Optimizer<S>, const B: usize>(
        &self,
        buf: &Self::Buffers<B>,
        x: &[S],
        opt: &O,
        params: usize,
        offset: usize,
    ) -> bool {
        let (outputs, inputs) = (self.outputs(), self.inputs());
        let (delta, x) = (rows(buf.z.as_ref(), outputs, 1), rows(x, inputs, 1));
        let (w, b) = (self.w.as_ref(), self.b.as_ref());
        online_accepts(w, b, delta, x, opt, params, offset)
    }

    fn online_step_bound<O: Optimizer<S>, const B: usize>(
        &self,
        buf: &Self::Buffers<B>,
        x: &[S],
        opt: &O,
    ) -> Option<S> {
        let (outputs, inputs) = (self.outputs(), self.inputs());
        online_step_bound(rows(buf.z.as_ref(), outputs, 1), rows(x, inputs, 1), opt)
    }

    fn view<'a, const B: usize>(
        &'a self,
        buf: Option<&'a Self::Buffers<B>>,
        at: At,
    ) -> LayerRef<'a, S> {
        Parts {
            w: self.w.as_ref(),
            b: self.b.as_ref(),
            state: &[],
            cache: buf.map(|c| Cache {
                gw: c.gw.as_ref(),
                gb: c.gb.as_ref(),
                z: c.z.as_ref(),
                a: c.a.as_ref(),
            }),
        }
        .view(at, Kind::Dense, shape_of(self))
    }

    fn view_mut<'a, const B: usize>(
        &'a mut self,
        buf: Option<&'a mut Self::Buffers<B>>,
        at: At,
    ) -> LayerMut<'a, S> {
        let shape = shape_of(self);
        PartsMut {
            activation: Some(&mut self.act),
            w: self.w.as_mut(),
            b: self.b.as_mut(),
            state: &mut [],
            cache: buf.map(|c| CacheMut {
                gw: c.gw.as_mut(),
                gb: c.gb.as_mut(),
                z: c.z.as_mut(),
                a: c.a.as_mut(),
            }),
        }
        .view(at, Kind::Dense, shape)
    }
}

// ---------------------------------------------------------------------------------------
// The arithmetic, once.

/// `z = W x + b`, `a = f(z)` for each `(x, (z, a))` row of a run-time layer (the shared
/// out-of-line kernels).
#[inline(always)]
fn forward<'r, S: Scalar + 'r, M: Math<S>>(
    w: &[S],
    b: &[S],
    act: Activation<S>,
    rows: impl Iterator<Item = (&'r [S], (&'r mut [S], &'r mut [S]))>,
) {
    for (x, (z, a)) in rows {
        kernel::dense_forward::<S, M>(w, b, act, x, z, a);
    }
}

/// Row `r`'s δ from `g = ∂L/∂a`: `z_r ← f'(z_r, a_r) · g`.
#[inline(always)]
fn receive<S: Scalar, M: Math<S>>(
    act: Activation<S>,
    outputs: usize,
    a: &[S],
    z: &mut [S],
    r: usize,
    g: &[S],
) {
    let start = r.saturating_mul(outputs);
    let end = start.saturating_add(outputs);
    if let (Some(z), Some(a)) = (z.get_mut(start..end), a.get(start..end)) {
        kernel::through_derivative::<S, M>(act, z, a, g);
    }
}

/// Backward over `(δ, x)` rows of a run-time layer: `Wᵀ δ` to `up` (when it wants it),
/// then `∂L/∂W = Σ δ xᵀ`, `∂L/∂b = Σ δ` as `grads` says.
#[inline(always)]
fn backward<'r, S: Scalar + 'r, U: Receive<S> + ?Sized>(
    w: &[S],
    gw: &mut [S],
    gb: &mut [S],
    rows: impl Iterator<Item = (&'r [S], &'r [S])>,
    scratch: &mut [S],
    up: &mut U,
    grads: Grads,
) {
    let wants = up.wants();
    let mut grads = grads;
    for (r, (delta, x)) in rows.enumerate() {
        if wants {
            kernel::transpose_times(w, delta, scratch);
            up.receive(r, scratch);
        }
        kernel::dense_grads(gw, gb, delta, x, grads);
        if grads == Grads::Overwrite {
            grads = Grads::Accumulate;
        }
    }
}

/// [`forward`] over the first `n` rows of flat row-major `x`, `z`, `a`: the `compact`
/// feature's one out-of-line copy, shared by every compile-time layer shape.
#[cfg(feature = "compact")]
#[inline(never)]
fn forward_compact<S: Scalar, M: Math<S>>(
    w: &[S],
    b: &[S],
    act: Activation<S>,
    x: &[S],
    n: usize,
    z: &mut [S],
    a: &mut [S],
) {
    let outputs = b.len().max(1);
    let inputs = (w.len() / outputs).max(1);
    let rows = x.chunks_exact(inputs);
    let rows = rows.zip(z.chunks_exact_mut(outputs).zip(a.chunks_exact_mut(outputs)));
    forward::<S, M>(w, b, act, rows.take(n));
}

/// [`backward`] over the first `n` rows of flat row-major `deltas` and `x` (see
/// [`forward_compact`]); `scratch` holds one input row.
#[cfg(feature = "compact")]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn backward_compact<S: Scalar>(
    w: &[S],
    gw: &mut [S],
    gb: &mut [S],
    deltas: &[S],
    x: &[S],
    n: usize,
    scratch: &mut [S],
    up: &mut dyn Receive<S>,
    grads: Grads,
) {
    let outputs = gb.len().max(1);
    let inputs = scratch.len().max(1);
    let rows = deltas.chunks_exact(outputs).zip(x.chunks_exact(inputs));
    backward(w, gw, gb, rows.take(n), scratch, up, grads);
}

/// Applies row 0's outer-product gradient `δ xᵀ` (and `δ` to the biases) through `opt`.
#[inline(always)]
fn update_online<S: Scalar, O: Optimizer<S>>(
    w: &mut [S],
    b: &mut [S],
    delta: &[S],
    x: &[S],
    opt: &mut O,
    offset: usize,
) {
    let outputs = b.len();
    let inputs = w.len() / outputs.max(1);
    let (delta, x) = (rows(delta, outputs, 1), rows(x, inputs, 1));
    opt.update_outer(offset, w, delta, x);
    opt.update(offset + w.len(), b, delta);
}

/// How far row 0's online update of [`update_online`] moves a weight or bias at most:
/// `|δ_o x_i| ≤ Σ|δ| · Σ|x|` and `|δ_o| ≤ Σ|δ|`, through `opt`'s
/// [`max_step`](Optimizer::max_step).
#[cfg_attr(not(feature = "compact"), inline(always))]
fn online_step_bound<S: Scalar, O: Optimizer<S>>(delta: &[S], x: &[S], opt: &O) -> Option<S> {
    let sx = kernel::sum_abs(x);
    // At least 1, for the biases; NaN stays NaN (and fails the proof).
    let sx = if sx < S::ONE { S::ONE } else { sx };
    opt.max_step(kernel::sum_abs(delta) * sx)
}

/// Whether row 0's online update of [`update_online`] would keep every value finite: `opt`
/// accepts the weights' and the biases' updates (an exact answer, which a non-finite
/// product `δ_o · x_i` cannot pass).
#[cfg_attr(not(feature = "compact"), inline(always))]
fn online_accepts<S: Scalar, O: Optimizer<S>>(
    w: &[S],
    b: &[S],
    delta: &[S],
    x: &[S],
    opt: &O,
    params: usize,
    offset: usize,
) -> bool {
    opt.accepts_outer(params, offset, w, delta, x)
        && opt.accepts(params, offset + w.len(), b, delta)
}
