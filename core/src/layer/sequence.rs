//! Sequences of layers: the one network walk.
//!
//! [`Seq`] is what a network is made of. It is implemented twice, by the two containers
//! of layers, and both implementations are one line per method around the walk steps
//! below (`forward_step`, `backward_step`, …), which hold the whole logic of chaining
//! layers:
//!
//! * a tuple chain `(A, (B, (C, ())))` of compile-time layers, walked by recursion over
//!   the types: no indirect call, every size a constant, and a chain whose sizes do not
//!   match does not compile (`B::Input` must be `A::Output`);
//! * a [`Sequential`] of run-time [`DynLayer`]s, walked by the same steps over a slice.

use core::fmt::Debug;

use super::{
    sealed::Sealed, At, DynBuffers, DynLayer, Family, Grads, Layer, LayerMut, LayerRef, Link, Pass,
    Receive, Spec,
};
use crate::{optim::Optimizer, Activation, Error, Math, Result, Scalar};

/// The scalar type of a layer or sequence (sealed, like [`Layer`] and [`Seq`]).
pub trait OfScalar: Sealed {
    /// `f32` or `f64`.
    type Scalar: Scalar;
}

/// A sequence of layers over its own scalar type: what a [`Network`](crate::Network) is
/// made of (implemented for every [`Seq`]).
pub trait Net: OfScalar + Seq<<Self as OfScalar>::Scalar> {}

impl<T: OfScalar + Seq<<T as OfScalar>::Scalar>> Net for T {}

/// A sequence of layers, first to last (users do not implement it: it is sealed).
///
/// The methods mirror [`Layer`]'s for the whole sequence.
pub trait Seq<S: Scalar>: Clone + Debug + Sealed {
    /// The first layer's input type (`[S; IN]` or `[S]`).
    type Input: ?Sized;
    /// The last layer's output type.
    type Output: ?Sized;
    /// Every layer's training buffers for batches of up to `B` rows.
    type Buffers<const B: usize>: Clone + Debug;
    /// `B` rows of the input, for gathering a batch.
    type InRows<const B: usize>: AsRef<[S]> + AsMut<[S]> + Clone + Debug;

    /// Layers.
    fn depth(&self) -> usize;
    /// Input features.
    fn inputs(&self) -> usize;
    /// Outputs of the last layer.
    fn outputs(&self) -> usize;
    /// Trainable parameters.
    fn params(&self) -> usize;
    /// Whether a layer needs the whole batch in one pass in training mode (batch norm).
    fn needs_batch(&self) -> bool;
    /// The last layer's activation (`None`: the last layer cannot feed a loss).
    fn output_activation(&self) -> Option<Activation<S>>;
    /// Zeroed buffers for `capacity` rows.
    ///
    /// # Errors
    /// [`Error::Capacity`] if they cannot hold `capacity` rows.
    fn buffers<const B: usize>(&self, capacity: usize) -> Result<Self::Buffers<B>>;
    /// Rows the buffers hold.
    fn capacity<const B: usize>(&self, buf: &Self::Buffers<B>) -> usize;
    /// `capacity` zeroed input rows.
    ///
    /// # Errors
    /// [`Error::Capacity`] if they cannot be held.
    fn in_rows<const B: usize>(&self, capacity: usize) -> Result<Self::InRows<B>>;
    /// Moves every layer's running statistics by the last training pass's (see
    /// [`Layer::commit`]).
    fn commit<const B: usize>(&mut self, buf: &Self::Buffers<B>, rows: usize);
    /// Forward pass over `n` rows of `x`.
    fn forward<M: Math<S>, const B: usize>(
        &self,
        pass: &mut Pass<'_>,
        x: &[S],
        n: usize,
        buf: &mut Self::Buffers<B>,
    );
    /// The last layer's output rows.
    fn output<'a, const B: usize>(&self, buf: &'a Self::Buffers<B>) -> &'a [S];
    /// The last layer's `(z, a)` rows, for the loss.
    fn head<'a, const B: usize>(
        &self,
        buf: &'a mut Self::Buffers<B>,
    ) -> Option<(&'a mut [S], &'a [S])>;
    /// Inference on one row (eval mode, no buffers).
    ///
    /// # Errors
    /// [`Error::Capacity`] if run-time storage cannot hold a row.
    fn infer<M: Math<S>>(&self, x: &[S], out: &mut [S]) -> Result<()>;
    /// Backward pass from the δ the loss wrote into [`head`](Seq::head).
    fn backward<M: Math<S>, U: Receive<S> + ?Sized, const B: usize>(
        &self,
        buf: &mut Self::Buffers<B>,
        x: &[S],
        n: usize,
        up: &mut U,
        grads: Grads,
    );
    /// Online update of every layer after a [`Grads::Skip`] backward pass of one row.
    fn update_online<O: Optimizer<S>, const B: usize>(
        &mut self,
        buf: &Self::Buffers<B>,
        x: &[S],
        opt: &mut O,
        offset: usize,
    );
    /// Whether every layer's online update would leave every value finite (see
    /// [`Layer::online_accepts`]; `offset`: the first layer's first flat parameter index).
    fn online_accepts<O: Optimizer<S>, const B: usize>(
        &self,
        buf: &Self::Buffers<B>,
        x: &[S],
        opt: &O,
        params: usize,
        offset: usize,
    ) -> bool;
    /// The sum of the layers' [`Layer::online_step_bound`]s (`None` if one has none): a bound
    /// of every layer's move that, unlike a maximum, keeps a NaN.
    fn online_step_bound<O: Optimizer<S>, const B: usize>(
        &self,
        buf: &Self::Buffers<B>,
        x: &[S],
        opt: &O,
    ) -> Option<S>;
    /// Whether [`commit`](Seq::commit) would leave every running statistic finite.
    fn commit_finite<const B: usize>(&self, buf: &Self::Buffers<B>, rows: usize) -> bool;
    /// Calls `f` for every layer, first to last.
    /// Calls `f` with every layer's [`Spec`], first to last.
    fn specs(&self, f: &mut dyn FnMut(Spec));
    /// Restores every layer's hyper-parameters from `next`'s specs, first to last (see
    /// [`Layer::set_spec`]); check them with [`Spec::validate`] first if nothing may change
    /// on error.
    ///
    /// # Errors
    /// [`Error::Format`] if `next` runs out; [`Layer::set_spec`]'s errors.
    fn set_specs(&mut self, next: &mut dyn FnMut() -> Option<Spec>) -> Result<()>;
    /// Calls `f` for every layer, first to last (dynamically: one copy of `f`'s code,
    /// however deep the network).
    fn visit<'a, const B: usize>(
        &'a self,
        buf: Option<&'a Self::Buffers<B>>,
        at: At,
        f: &mut dyn FnMut(LayerRef<'a, S>),
    );
    /// Calls `f` for every layer, first to last, mutably.
    fn visit_mut<'a, const B: usize>(
        &'a mut self,
        buf: Option<&'a mut Self::Buffers<B>>,
        at: At,
        f: &mut dyn FnMut(LayerMut<'a, S>),
    );
}

/// The sizes of a compile-time layer, as constants.
pub trait FixedLayer<S: Scalar>: Layer<S> + Default {
    /// `[S; INPUTS]`.
    type In: AsRef<[S]> + AsMut<[S]> + Copy;
    /// `[S; OUTPUTS]`.
    type Out: AsRef<[S]> + AsMut<[S]> + Copy;
    /// An all-zero output.
    const ZERO_OUT: Self::Out;
    /// Inputs.
    const INPUTS: usize;
    /// Outputs.
    const OUTPUTS: usize;
    /// Trainable parameters (and gradients).
    const PARAMS: usize;
    /// Non-trainable state scalars (running statistics, fitted preprocessing).
    const STATE: usize;
    /// Cache scalars per row of the batch capacity.
    const ROW: usize;
    /// Cache scalars independent of the batch (per-unit statistics).
    const FIXED: usize;
    /// Bytes of the layer's value.
    const BYTES: usize = core::mem::size_of::<Self>();
    /// Zeroed buffers for `B` rows.
    fn zeroed_buffers<const B: usize>() -> Self::Buffers<B>;
    /// `B` zeroed input rows.
    fn zeroed_rows<const B: usize>() -> Self::InRows<B>;
}

/// Compile-time buffers hold exactly `B ≥ 1` rows, so `capacity` must be `B`
/// ([`Error::Capacity`] otherwise).
#[inline(always)]
pub(crate) fn fixed_capacity<const B: usize>(capacity: usize) -> Result<()> {
    if capacity != B || B == 0 {
        return Err(Error::Capacity);
    }
    Ok(())
}

/// A compile-time layer's zeroed buffers (`capacity` must be `B`: [`fixed_capacity`]).
#[inline(always)]
pub(crate) fn fixed_buffers<S: Scalar, L: FixedLayer<S>, const B: usize>(
    capacity: usize,
) -> Result<L::Buffers<B>> {
    fixed_capacity::<B>(capacity)?;
    Ok(L::zeroed_buffers::<B>())
}

/// A compile-time layer's `B` zeroed input rows (`capacity` must be `B`).
#[inline(always)]
pub(crate) fn fixed_rows<S: Scalar, L: FixedLayer<S>, const B: usize>(
    capacity: usize,
) -> Result<L::InRows<B>> {
    if capacity != B {
        return Err(Error::Capacity);
    }
    Ok(L::zeroed_rows::<B>())
}

/// A compile-time layer's zeroed training buffers and input rows for `B` rows, as
/// constants (what [`FixedLayer::zeroed_buffers`] and [`FixedLayer::zeroed_rows`] return).
///
/// A constant is stored straight into the place that receives it (one `memset` when it is
/// all zero bytes), where a value built by functions is assembled in temporaries and
/// moved level by level: what lets [`Training::default`](crate::Training) build a
/// network's buffers where they stay. Every compile-time layer implements it.
pub trait ZeroedLayer<S: Scalar, const B: usize>: FixedLayer<S> {
    /// Zeroed buffers for `B` rows.
    const ZEROED_BUFFERS: Self::Buffers<B>;
    /// `B` zeroed input rows.
    const ZEROED_ROWS: Self::InRows<B>;
}

/// A compile-time sequence's zeroed training buffers and input rows for `B` rows, as
/// constants, built from its layers' [`ZeroedLayer`] constants (see there why constants).
pub trait Zeroed<S: Scalar, const B: usize>: Fixed<S> {
    /// Zeroed buffers for `B` rows (what [`Fixed::zeroed_buffers`] returns).
    const ZEROED_BUFFERS: Self::Buffers<B>;
    /// `B` zeroed input rows (what [`Fixed::zeroed_rows`] returns).
    const ZEROED_ROWS: Self::InRows<B>;
}

impl<S: Scalar, A: ZeroedLayer<S, B>, const B: usize> Zeroed<S, B> for (A, ()) {
    const ZEROED_BUFFERS: Self::Buffers<B> = A::ZEROED_BUFFERS;
    const ZEROED_ROWS: Self::InRows<B> = A::ZEROED_ROWS;
}

impl<S, A, T, const B: usize> Zeroed<S, B> for (A, T)
where
    S: Scalar,
    A: ZeroedLayer<S, B>,
    T: Zeroed<S, B> + Seq<S, Input = A::Output>,
{
    const ZEROED_BUFFERS: Self::Buffers<B> = (A::ZEROED_BUFFERS, T::ZEROED_BUFFERS);
    const ZEROED_ROWS: Self::InRows<B> = A::ZEROED_ROWS;
}

/// A compile-time sequence: its sizes as constants, its input and output as arrays.
pub trait Fixed<S: Scalar>: Seq<S> {
    /// `[S; INPUTS]`.
    type In: AsRef<[S]> + AsMut<[S]> + Copy;
    /// `[S; OUTPUTS]`.
    type Out: AsRef<[S]> + AsMut<[S]> + Copy;
    /// Input features.
    const INPUTS: usize;
    /// Outputs of the last layer.
    const OUTPUTS: usize;
    /// Layers.
    const DEPTH: usize;
    /// Trainable parameters.
    const PARAMS: usize;
    /// Non-trainable state scalars.
    const STATE: usize;
    /// Cache scalars per row of the batch capacity.
    const ROW: usize;
    /// Cache scalars independent of the batch.
    const FIXED: usize;
    /// The widest layer's output.
    const MAX_WIDTH: usize;
    /// Dense layers' outputs summed (the units the notes count).
    const UNITS: usize;
    /// Bytes of the layers' values.
    const BYTES: usize;
    /// An all-zero output.
    const ZERO_OUT: Self::Out;
    /// Every layer's default, built in one piece (the tuples' `Default` would build each
    /// tail apart and move it into place, level by level).
    fn zeroed_layers() -> Self;
    /// Zeroed buffers for `B` rows.
    fn zeroed_buffers<const B: usize>() -> Self::Buffers<B>;
    /// `B` zeroed input rows.
    fn zeroed_rows<const B: usize>() -> Self::InRows<B>;
    /// Backward pass from `∂L/∂output` given as `g` (`n` rows of [`OUTPUTS`](Fixed::OUTPUTS),
    /// row-major) instead of left in [`head`](Seq::head) by the loss: how a
    /// [`Repeat`](super::Repeat) or [`Then`](super::Then) hands the gradient from one
    /// sequence to the one before it without nesting their calls (the stack stays that of one
    /// block, however many are chained).
    fn backward_from<M: Math<S>, U: Receive<S> + ?Sized, const B: usize>(
        &self,
        buf: &mut Self::Buffers<B>,
        x: &[S],
        n: usize,
        up: &mut U,
        grads: Grads,
        g: &[S],
    );
}

// ---------------------------------------------------------------------------------------
// The walk, once: each step takes the head layer and a closure for the rest.

#[inline]
fn forward_step<S: Scalar, M: Math<S>, H: Layer<S>, const B: usize>(
    head: &H,
    pass: &mut Pass<'_>,
    x: &[S],
    n: usize,
    hb: &mut H::Buffers<B>,
    rest: impl FnOnce(&mut Pass<'_>, &[S]),
) {
    head.forward::<M, B>(pass, x, n, hb);
    rest(pass, H::output(hb));
}

#[inline]
fn backward_step<S, M, H, U, const B: usize>(
    head: &H,
    hb: &mut H::Buffers<B>,
    x: &[S],
    n: usize,
    up: &mut U,
    grads: Grads,
    rest: impl FnOnce(&[S], &mut Link<'_, S, M, H, U>),
) where
    S: Scalar,
    M: Math<S>,
    H: Layer<S>,
    U: Receive<S> + ?Sized,
{
    {
        let (out, store) = H::split(hb);
        let mut link = Link {
            math: core::marker::PhantomData,
            layer: head,
            out,
            store,
            up: &mut *up,
        };
        rest(out, &mut link);
    }
    head.backward::<M, U, B>(hb, x, n, up, grads);
}

#[inline]
fn update_step<S: Scalar, O: Optimizer<S>, H: Layer<S>, const B: usize>(
    head: &mut H,
    hb: &H::Buffers<B>,
    x: &[S],
    opt: &mut O,
    offset: usize,
    rest: impl FnOnce(&[S], &mut O, usize),
) {
    let next = offset + head.params();
    head.update_online(hb, x, opt, offset);
    rest(H::output(hb), opt, next);
}

#[inline]
fn infer_step<S: Scalar, M: Math<S>, H: Layer<S>>(
    head: &H,
    x: &[S],
    rest: impl FnOnce(&[S]) -> Result<()>,
) -> Result<()> {
    let mut mid = head.out_row()?;
    head.infer::<M>(x, mid.as_mut())?;
    finite_output(mid.as_ref())?;
    rest(mid.as_ref())
}

/// A layer's output in inference must be finite ([`Error::NonFiniteOutput`]).
#[inline]
pub(crate) fn finite_output<S: Scalar>(out: &[S]) -> Result<()> {
    if S::all_finite(out) {
        Ok(())
    } else {
        Err(Error::NonFiniteOutput)
    }
}

#[inline]
fn next_at<S: Scalar, H: Layer<S>>(head: &H, at: At) -> At {
    At {
        index: at.index + 1,
        offset: at.offset + head.params(),
        rows: at.rows,
    }
}

// ---------------------------------------------------------------------------------------
// Compile-time chains.

impl<A, T> Sealed for (A, T) {}

impl<A: OfScalar, T> OfScalar for (A, T) {
    type Scalar = A::Scalar;
}

/// The last layer of a chain.
impl<S: Scalar, A: Layer<S>> Seq<S> for (A, ()) {
    type Input = A::Input;
    type Output = A::Output;
    type Buffers<const B: usize> = A::Buffers<B>;
    type InRows<const B: usize> = A::InRows<B>;

    #[inline(always)]
    fn depth(&self) -> usize {
        1
    }
    #[inline(always)]
    fn inputs(&self) -> usize {
        self.0.inputs()
    }
    #[inline(always)]
    fn outputs(&self) -> usize {
        self.0.outputs()
    }
    #[inline(always)]
    fn params(&self) -> usize {
        self.0.params()
    }
    #[inline(always)]
    fn needs_batch(&self) -> bool {
        self.0.needs_batch()
    }
    #[inline(always)]
    fn output_activation(&self) -> Option<Activation<S>> {
        self.0.activation()
    }
    fn buffers<const B: usize>(&self, capacity: usize) -> Result<Self::Buffers<B>> {
        self.0.buffers::<B>(capacity)
    }
    #[inline(always)]
    fn capacity<const B: usize>(&self, buf: &Self::Buffers<B>) -> usize {
        A::capacity(buf)
    }
    fn in_rows<const B: usize>(&self, capacity: usize) -> Result<Self::InRows<B>> {
        self.0.in_rows::<B>(capacity)
    }
    #[inline(always)]
    fn commit<const B: usize>(&mut self, buf: &Self::Buffers<B>, rows: usize) {
        self.0.commit(buf, rows);
    }
    #[inline]
    fn forward<M: Math<S>, const B: usize>(
        &self,
        pass: &mut Pass<'_>,
        x: &[S],
        n: usize,
        buf: &mut Self::Buffers<B>,
    ) {
        forward_step::<S, M, A, B>(
            &self.0,
            pass,
            x,
            n,
            buf,
            #[inline]
            |_, _| {},
        );
    }
    #[inline]
    fn output<'a, const B: usize>(&self, buf: &'a Self::Buffers<B>) -> &'a [S] {
        A::output(buf)
    }
    #[inline]
    fn head<'a, const B: usize>(
        &self,
        buf: &'a mut Self::Buffers<B>,
    ) -> Option<(&'a mut [S], &'a [S])> {
        A::head(buf)
    }
    #[inline]
    fn infer<M: Math<S>>(&self, x: &[S], out: &mut [S]) -> Result<()> {
        self.0.infer::<M>(x, out)
    }
    #[inline]
    fn backward<M: Math<S>, U: Receive<S> + ?Sized, const B: usize>(
        &self,
        buf: &mut Self::Buffers<B>,
        x: &[S],
        n: usize,
        up: &mut U,
        grads: Grads,
    ) {
        self.0.backward::<M, U, B>(buf, x, n, up, grads);
    }
    #[inline]
    fn update_online<O: Optimizer<S>, const B: usize>(
        &mut self,
        buf: &Self::Buffers<B>,
        x: &[S],
        opt: &mut O,
        offset: usize,
    ) {
        update_step(
            &mut self.0,
            buf,
            x,
            opt,
            offset,
            #[inline]
            |_, _, _| {},
        );
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
        self.0.online_accepts(buf, x, opt, params, offset)
    }
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn online_step_bound<O: Optimizer<S>, const B: usize>(
        &self,
        buf: &Self::Buffers<B>,
        x: &[S],
        opt: &O,
    ) -> Option<S> {
        self.0.online_step_bound(buf, x, opt)
    }
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn commit_finite<const B: usize>(&self, buf: &Self::Buffers<B>, rows: usize) -> bool {
        self.0.commit_finite(buf, rows)
    }
    fn specs(&self, f: &mut dyn FnMut(Spec)) {
        f(self.0.spec());
    }
    fn set_specs(&mut self, next: &mut dyn FnMut() -> Option<Spec>) -> Result<()> {
        let spec = next().ok_or(crate::FormatError::Malformed)?;
        self.0.set_spec(&spec)
    }
    fn visit<'a, const B: usize>(
        &'a self,
        buf: Option<&'a Self::Buffers<B>>,
        at: At,
        f: &mut dyn FnMut(LayerRef<'a, S>),
    ) {
        f(self.0.view(buf, at));
    }
    fn visit_mut<'a, const B: usize>(
        &'a mut self,
        buf: Option<&'a mut Self::Buffers<B>>,
        at: At,
        f: &mut dyn FnMut(LayerMut<'a, S>),
    ) {
        f(self.0.view_mut(buf, at));
    }
}

/// A layer followed by more layers: the rest must take `A`'s output.
impl<S, A, T> Seq<S> for (A, T)
where
    S: Scalar,
    A: Layer<S>,
    T: Seq<S, Input = A::Output>,
{
    type Input = A::Input;
    type Output = T::Output;
    type Buffers<const B: usize> = (A::Buffers<B>, T::Buffers<B>);
    type InRows<const B: usize> = A::InRows<B>;

    #[inline(always)]
    fn depth(&self) -> usize {
        1 + self.1.depth()
    }
    #[inline(always)]
    fn inputs(&self) -> usize {
        self.0.inputs()
    }
    #[inline(always)]
    fn outputs(&self) -> usize {
        self.1.outputs()
    }
    #[inline(always)]
    fn params(&self) -> usize {
        self.0.params() + self.1.params()
    }
    #[inline(always)]
    fn needs_batch(&self) -> bool {
        self.0.needs_batch() || self.1.needs_batch()
    }
    #[inline(always)]
    fn output_activation(&self) -> Option<Activation<S>> {
        self.1.output_activation()
    }
    fn buffers<const B: usize>(&self, capacity: usize) -> Result<Self::Buffers<B>> {
        Ok((
            self.0.buffers::<B>(capacity)?,
            self.1.buffers::<B>(capacity)?,
        ))
    }
    #[inline(always)]
    fn capacity<const B: usize>(&self, buf: &Self::Buffers<B>) -> usize {
        A::capacity(&buf.0)
    }
    fn in_rows<const B: usize>(&self, capacity: usize) -> Result<Self::InRows<B>> {
        self.0.in_rows::<B>(capacity)
    }
    #[inline(always)]
    fn commit<const B: usize>(&mut self, buf: &Self::Buffers<B>, rows: usize) {
        self.0.commit(&buf.0, rows);
        self.1.commit(&buf.1, rows);
    }
    #[inline]
    fn forward<M: Math<S>, const B: usize>(
        &self,
        pass: &mut Pass<'_>,
        x: &[S],
        n: usize,
        buf: &mut Self::Buffers<B>,
    ) {
        let (hb, tb) = buf;
        forward_step::<S, M, A, B>(
            &self.0,
            pass,
            x,
            n,
            hb,
            #[inline]
            |pass, out| {
                self.1.forward::<M, B>(pass, out, n, tb);
            },
        );
    }
    #[inline]
    fn output<'a, const B: usize>(&self, buf: &'a Self::Buffers<B>) -> &'a [S] {
        self.1.output(&buf.1)
    }
    #[inline]
    fn head<'a, const B: usize>(
        &self,
        buf: &'a mut Self::Buffers<B>,
    ) -> Option<(&'a mut [S], &'a [S])> {
        self.1.head(&mut buf.1)
    }
    #[inline]
    fn infer<M: Math<S>>(&self, x: &[S], out: &mut [S]) -> Result<()> {
        infer_step::<S, M, A>(
            &self.0,
            x,
            #[inline]
            |mid| self.1.infer::<M>(mid, out),
        )
    }
    #[inline]
    fn backward<M: Math<S>, U: Receive<S> + ?Sized, const B: usize>(
        &self,
        buf: &mut Self::Buffers<B>,
        x: &[S],
        n: usize,
        up: &mut U,
        grads: Grads,
    ) {
        let (hb, tb) = buf;
        backward_step::<S, M, A, U, B>(
            &self.0,
            hb,
            x,
            n,
            up,
            grads,
            #[inline]
            |out, link| {
                self.1.backward::<M, _, B>(tb, out, n, link, grads);
            },
        );
    }
    #[inline]
    fn update_online<O: Optimizer<S>, const B: usize>(
        &mut self,
        buf: &Self::Buffers<B>,
        x: &[S],
        opt: &mut O,
        offset: usize,
    ) {
        let (hb, tb) = buf;
        let rest = &mut self.1;
        update_step(
            &mut self.0,
            hb,
            x,
            opt,
            offset,
            #[inline]
            |out, opt, next| {
                rest.update_online(tb, out, opt, next);
            },
        );
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
        let next = offset + self.0.params();
        let head = self.0.online_accepts(&buf.0, x, opt, params, offset);
        head & self
            .1
            .online_accepts(&buf.1, A::output(&buf.0), opt, params, next)
    }
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn online_step_bound<O: Optimizer<S>, const B: usize>(
        &self,
        buf: &Self::Buffers<B>,
        x: &[S],
        opt: &O,
    ) -> Option<S> {
        let head = self.0.online_step_bound(&buf.0, x, opt)?;
        let tail = self.1.online_step_bound(&buf.1, A::output(&buf.0), opt)?;
        Some(head + tail)
    }
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn commit_finite<const B: usize>(&self, buf: &Self::Buffers<B>, rows: usize) -> bool {
        self.0.commit_finite(&buf.0, rows) & self.1.commit_finite(&buf.1, rows)
    }
    fn specs(&self, f: &mut dyn FnMut(Spec)) {
        f(self.0.spec());
        self.1.specs(f);
    }
    fn set_specs(&mut self, next: &mut dyn FnMut() -> Option<Spec>) -> Result<()> {
        let spec = next().ok_or(crate::FormatError::Malformed)?;
        self.0.set_spec(&spec)?;
        self.1.set_specs(next)
    }
    fn visit<'a, const B: usize>(
        &'a self,
        buf: Option<&'a Self::Buffers<B>>,
        at: At,
        f: &mut dyn FnMut(LayerRef<'a, S>),
    ) {
        let (hb, tb) = buf.map(|(h, t)| (h, t)).unzip();
        f(self.0.view(hb, at));
        self.1.visit(tb, next_at(&self.0, at), f);
    }
    fn visit_mut<'a, const B: usize>(
        &'a mut self,
        buf: Option<&'a mut Self::Buffers<B>>,
        at: At,
        f: &mut dyn FnMut(LayerMut<'a, S>),
    ) {
        let (hb, tb) = buf.map(|(h, t)| (h, t)).unzip();
        let next = next_at(&self.0, at);
        f(self.0.view_mut(hb, at));
        self.1.visit_mut(tb, next, f);
    }
}

impl<S: Scalar, A: FixedLayer<S>> Fixed<S> for (A, ()) {
    type In = A::In;
    type Out = A::Out;
    const INPUTS: usize = A::INPUTS;
    const OUTPUTS: usize = A::OUTPUTS;
    const DEPTH: usize = 1;
    const PARAMS: usize = A::PARAMS;
    const STATE: usize = A::STATE;
    const ROW: usize = A::ROW;
    const FIXED: usize = A::FIXED;
    const MAX_WIDTH: usize = A::OUTPUTS;
    const UNITS: usize = A::OUTPUTS;
    const BYTES: usize = A::BYTES;
    const ZERO_OUT: Self::Out = A::ZERO_OUT;
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn zeroed_layers() -> Self {
        (A::default(), ())
    }
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn zeroed_buffers<const B: usize>() -> Self::Buffers<B> {
        A::zeroed_buffers::<B>()
    }
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn zeroed_rows<const B: usize>() -> Self::InRows<B> {
        A::zeroed_rows::<B>()
    }
    fn backward_from<M: Math<S>, U: Receive<S> + ?Sized, const B: usize>(
        &self,
        buf: &mut Self::Buffers<B>,
        x: &[S],
        n: usize,
        up: &mut U,
        grads: Grads,
        g: &[S],
    ) {
        backward_step::<S, M, A, U, B>(&self.0, buf, x, n, up, grads, |_, link| {
            for (r, row) in g.chunks_exact(A::OUTPUTS.max(1)).take(n).enumerate() {
                link.receive(r, row);
            }
        });
    }
}

impl<S, A, T> Fixed<S> for (A, T)
where
    S: Scalar,
    A: FixedLayer<S>,
    T: Fixed<S> + Seq<S, Input = A::Output>,
{
    type In = A::In;
    type Out = T::Out;
    const INPUTS: usize = A::INPUTS;
    const OUTPUTS: usize = T::OUTPUTS;
    const DEPTH: usize = 1 + T::DEPTH;
    const PARAMS: usize = A::PARAMS + T::PARAMS;
    const STATE: usize = A::STATE + T::STATE;
    const ROW: usize = A::ROW + T::ROW;
    const FIXED: usize = A::FIXED + T::FIXED;
    const MAX_WIDTH: usize = if A::OUTPUTS > T::MAX_WIDTH {
        A::OUTPUTS
    } else {
        T::MAX_WIDTH
    };
    const UNITS: usize = A::OUTPUTS + T::UNITS;
    const BYTES: usize = A::BYTES + T::BYTES;
    const ZERO_OUT: Self::Out = T::ZERO_OUT;
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn zeroed_layers() -> Self {
        (A::default(), T::zeroed_layers())
    }
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn zeroed_buffers<const B: usize>() -> Self::Buffers<B> {
        (A::zeroed_buffers::<B>(), T::zeroed_buffers::<B>())
    }
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn zeroed_rows<const B: usize>() -> Self::InRows<B> {
        A::zeroed_rows::<B>()
    }
    fn backward_from<M: Math<S>, U: Receive<S> + ?Sized, const B: usize>(
        &self,
        buf: &mut Self::Buffers<B>,
        x: &[S],
        n: usize,
        up: &mut U,
        grads: Grads,
        g: &[S],
    ) {
        let (hb, tb) = buf;
        backward_step::<S, M, A, U, B>(&self.0, hb, x, n, up, grads, |out, link| {
            self.1.backward_from::<M, _, B>(tb, out, n, link, grads, g);
        });
    }
}

// ---------------------------------------------------------------------------------------
// Run-time sequences.

/// A run-time sequence of layers whose numbers live in the storage family `F`: the host
/// simulator's `--layers 2,16,16,1`, or a network read from a model file.
#[derive(Clone, Debug, PartialEq)]
pub struct Sequential<S: Scalar, F: Family> {
    layers: F::Of<DynLayer<S, F>>,
}

/// The training buffers of a [`Sequential`].
#[derive(Clone, Debug, PartialEq)]
pub struct SequentialBuffers<S: Scalar, F: Family> {
    capacity: usize,
    layers: F::Of<DynBuffers<S, F>>,
}

impl<S: Scalar, F: Family> Sequential<S, F> {
    /// Chains `layers`, first to last.
    ///
    /// # Errors
    /// [`Error::EmptyData`] for no layers; [`Error::ShapeMismatch`] where a layer's inputs
    /// differ from the previous layer's outputs; [`Error::InvalidHyperParameter`] if the
    /// last layer has no activation (it cannot feed a loss) or softmax is on a hidden
    /// layer; [`Error::Capacity`] if the storage cannot hold them.
    pub fn new(layers: impl IntoIterator<Item = DynLayer<S, F>>) -> Result<Self> {
        let layers = F::collect(layers)?;
        check_chain(layers.as_ref())?;
        Ok(Sequential { layers })
    }

    /// The layers.
    pub fn layers(&self) -> &[DynLayer<S, F>] {
        self.layers.as_ref()
    }
}

/// The checks of [`Sequential::new`], for any chain of layers.
pub(crate) fn check_chain<S: Scalar, L: Layer<S>>(layers: &[L]) -> Result<()> {
    let Some(last) = layers.last() else {
        return Err(Error::EmptyData);
    };
    for pair in layers.windows(2) {
        if let [a, b] = pair {
            if a.outputs() != b.inputs() {
                return Err(Error::ShapeMismatch {
                    expected: a.outputs(),
                    found: b.inputs(),
                });
            }
            if a.activation() == Some(Activation::Softmax) {
                return Err(Error::InvalidHyperParameter(
                    "softmax is only valid on the output layer",
                ));
            }
        }
    }
    if last.activation().is_none() {
        return Err(Error::InvalidHyperParameter(
            "the last layer must be dense or batch norm (the loss needs its activation)",
        ));
    }
    Ok(())
}

impl<S: Scalar, F: Family> Sealed for Sequential<S, F> {}

impl<S: Scalar, F: Family> OfScalar for Sequential<S, F> {
    type Scalar = S;
}

type Layers<S, F> = [DynLayer<S, F>];
type Bufs<S, F> = [DynBuffers<S, F>];

fn forward_rec<S: Scalar, F: Family, M: Math<S>>(
    layers: &Layers<S, F>,
    bufs: &mut Bufs<S, F>,
    pass: &mut Pass<'_>,
    x: &[S],
    n: usize,
) {
    if let (Some((head, tail)), Some((hb, tb))) = (layers.split_first(), bufs.split_first_mut()) {
        forward_step::<S, M, DynLayer<S, F>, 1>(
            head,
            pass,
            x,
            n,
            hb,
            #[inline]
            |pass, out| {
                forward_rec::<S, F, M>(tail, tb, pass, out, n);
            },
        );
    }
}

fn backward_rec<S: Scalar, F: Family, M: Math<S>, U: Receive<S> + ?Sized>(
    layers: &Layers<S, F>,
    bufs: &mut Bufs<S, F>,
    x: &[S],
    n: usize,
    up: &mut U,
    grads: Grads,
) {
    let (Some((head, tail)), Some((hb, tb))) = (layers.split_first(), bufs.split_first_mut())
    else {
        return;
    };
    if tail.is_empty() {
        head.backward::<M, U, 1>(hb, x, n, up, grads);
        return;
    }
    backward_step::<S, M, DynLayer<S, F>, U, 1>(
        head,
        hb,
        x,
        n,
        up,
        grads,
        #[inline]
        |out, link| {
            backward_rec::<S, F, M, dyn Receive<S> + '_>(tail, tb, out, n, link, grads);
        },
    );
}

fn update_rec<S: Scalar, F: Family, O: Optimizer<S>>(
    layers: &mut Layers<S, F>,
    bufs: &Bufs<S, F>,
    x: &[S],
    opt: &mut O,
    offset: usize,
) {
    if let (Some((head, tail)), Some((hb, tb))) = (layers.split_first_mut(), bufs.split_first()) {
        update_step::<S, O, DynLayer<S, F>, 1>(
            head,
            hb,
            x,
            opt,
            offset,
            #[inline]
            |out, opt, next| {
                update_rec(tail, tb, out, opt, next);
            },
        );
    }
}

fn infer_rec<S: Scalar, F: Family, M: Math<S>>(
    layers: &Layers<S, F>,
    x: &[S],
    out: &mut [S],
) -> Result<()> {
    match layers.split_first() {
        None => Err(Error::EmptyData),
        Some((head, [])) => head.infer::<M>(x, out),
        Some((head, tail)) => {
            infer_step::<S, M, DynLayer<S, F>>(head, x, |mid| infer_rec::<S, F, M>(tail, mid, out))
        }
    }
}

impl<S: Scalar, F: Family> Seq<S> for Sequential<S, F> {
    type Input = [S];
    type Output = [S];
    type Buffers<const B: usize> = SequentialBuffers<S, F>;
    type InRows<const B: usize> = F::Of<S>;

    fn depth(&self) -> usize {
        self.layers().len()
    }
    fn inputs(&self) -> usize {
        self.layers().first().map_or(0, Layer::inputs)
    }
    fn outputs(&self) -> usize {
        self.layers().last().map_or(0, Layer::outputs)
    }
    fn params(&self) -> usize {
        self.layers().iter().map(Layer::params).sum()
    }
    fn needs_batch(&self) -> bool {
        self.layers().iter().any(Layer::needs_batch)
    }
    fn output_activation(&self) -> Option<Activation<S>> {
        self.layers().last().and_then(Layer::activation)
    }
    fn buffers<const B: usize>(&self, capacity: usize) -> Result<Self::Buffers<B>> {
        let mut made = Ok(());
        let layers = F::collect(self.layers().iter().map_while(
            |l| match l.buffers::<1>(capacity) {
                Ok(b) => Some(b),
                Err(e) => {
                    made = Err(e);
                    None
                }
            },
        ))?;
        made?;
        Ok(SequentialBuffers { capacity, layers })
    }
    fn capacity<const B: usize>(&self, buf: &Self::Buffers<B>) -> usize {
        buf.capacity
    }
    fn in_rows<const B: usize>(&self, capacity: usize) -> Result<F::Of<S>> {
        F::filled(
            self.inputs().checked_mul(capacity).ok_or(Error::Capacity)?,
            S::ZERO,
        )
    }
    fn commit<const B: usize>(&mut self, buf: &Self::Buffers<B>, rows: usize) {
        for (l, b) in self.layers.as_mut().iter_mut().zip(buf.layers.as_ref()) {
            l.commit::<1>(b, rows);
        }
    }
    fn forward<M: Math<S>, const B: usize>(
        &self,
        pass: &mut Pass<'_>,
        x: &[S],
        n: usize,
        buf: &mut Self::Buffers<B>,
    ) {
        forward_rec::<S, F, M>(self.layers(), buf.layers.as_mut(), pass, x, n);
    }
    fn output<'a, const B: usize>(&self, buf: &'a Self::Buffers<B>) -> &'a [S] {
        buf.layers
            .as_ref()
            .last()
            .map_or(&[], DynLayer::<S, F>::output::<1>)
    }
    fn head<'a, const B: usize>(
        &self,
        buf: &'a mut Self::Buffers<B>,
    ) -> Option<(&'a mut [S], &'a [S])> {
        buf.layers
            .as_mut()
            .last_mut()
            .and_then(DynLayer::<S, F>::head::<1>)
    }
    fn infer<M: Math<S>>(&self, x: &[S], out: &mut [S]) -> Result<()> {
        infer_rec::<S, F, M>(self.layers(), x, out)
    }
    fn backward<M: Math<S>, U: Receive<S> + ?Sized, const B: usize>(
        &self,
        buf: &mut Self::Buffers<B>,
        x: &[S],
        n: usize,
        up: &mut U,
        grads: Grads,
    ) {
        backward_rec::<S, F, M, U>(self.layers(), buf.layers.as_mut(), x, n, up, grads);
    }
    fn update_online<O: Optimizer<S>, const B: usize>(
        &mut self,
        buf: &Self::Buffers<B>,
        x: &[S],
        opt: &mut O,
        offset: usize,
    ) {
        update_rec(self.layers.as_mut(), buf.layers.as_ref(), x, opt, offset);
    }
    fn online_accepts<O: Optimizer<S>, const B: usize>(
        &self,
        buf: &Self::Buffers<B>,
        x: &[S],
        opt: &O,
        params: usize,
        offset: usize,
    ) -> bool {
        let (mut input, mut offset, mut ok) = (x, offset, true);
        for (l, b) in self.layers().iter().zip(buf.layers.as_ref()) {
            ok &= l.online_accepts::<O, 1>(b, input, opt, params, offset);
            input = DynLayer::<S, F>::output::<1>(b);
            offset = offset.saturating_add(l.params());
        }
        ok
    }
    fn online_step_bound<O: Optimizer<S>, const B: usize>(
        &self,
        buf: &Self::Buffers<B>,
        x: &[S],
        opt: &O,
    ) -> Option<S> {
        let (mut input, mut step) = (x, S::ZERO);
        for (l, b) in self.layers().iter().zip(buf.layers.as_ref()) {
            step += l.online_step_bound::<O, 1>(b, input, opt)?;
            input = DynLayer::<S, F>::output::<1>(b);
        }
        Some(step)
    }
    fn commit_finite<const B: usize>(&self, buf: &Self::Buffers<B>, rows: usize) -> bool {
        let layers = self.layers().iter().zip(buf.layers.as_ref());
        layers.fold(true, |ok, (l, b)| ok & l.commit_finite::<1>(b, rows))
    }
    fn specs(&self, f: &mut dyn FnMut(Spec)) {
        self.layers().iter().for_each(|l| f(l.spec()));
    }
    fn set_specs(&mut self, next: &mut dyn FnMut() -> Option<Spec>) -> Result<()> {
        for l in self.layers.as_mut() {
            let spec = next().ok_or(crate::FormatError::Malformed)?;
            l.set_spec(&spec)?;
        }
        Ok(())
    }
    fn visit<'a, const B: usize>(
        &'a self,
        buf: Option<&'a Self::Buffers<B>>,
        at: At,
        f: &mut dyn FnMut(LayerRef<'a, S>),
    ) {
        let mut bufs = buf.map(|b| b.layers.as_ref().iter());
        let mut at = at;
        for layer in self.layers() {
            let b = bufs.as_mut().and_then(Iterator::next);
            f(layer.view::<1>(b, at));
            at = next_at(layer, at);
        }
    }
    fn visit_mut<'a, const B: usize>(
        &'a mut self,
        buf: Option<&'a mut Self::Buffers<B>>,
        at: At,
        f: &mut dyn FnMut(LayerMut<'a, S>),
    ) {
        let mut bufs = buf.map(|b| b.layers.as_mut().iter_mut());
        let mut at = at;
        for layer in self.layers.as_mut() {
            let b = bufs.as_mut().and_then(Iterator::next);
            let next = next_at(layer, at);
            f(layer.view_mut::<1>(b, at));
            at = next;
        }
    }
}
