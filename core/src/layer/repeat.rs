//! Repeated blocks of compile-time layers: `N` copies of one block walked by a loop.
//!
//! A tuple chain is walked by recursion over its types, so each layer position gets its
//! own copy of the code: the fastest walk, but on a Cortex-M0 every position of a deep
//! net costs about a kilobyte of flash. [`Repeat<T, N>`] holds `N` blocks of one type `T`
//! (a compile-time sequence that keeps its width, e.g. a dense layer and its batch norm)
//! in an array and walks them with a loop: the block's code exists once, whatever `N` is.
//! [`Then<P, T>`] puts any compile-time sequence after another. Both are sequences
//! ([`Seq`], [`Fixed`]) with the same layers, parameters, specs and arithmetic as the
//! written-out chain, so their weights, model files and results are bit-identical to it;
//! only the code size and the walk differ. [`layers!`](crate::layers) writes them as
//! `N * (block)`.
//!
//! Going backwards, a block's input gradient is gathered row by row into a scratch of `B`
//! rows and handed to the block before it ([`Fixed::backward_from`]), instead of nesting
//! one block's backward pass inside the next one's: the stack holds one block's calls,
//! however many blocks there are (the values are the ones the nested walk passes on).
//!
//! The loop costs time where the blocks are tiny: the notes' 9-layer net of 2-wide sigmoid
//! layers, online, takes 2,917 host instructions a step with its eight 2-to-2 layers in a
//! `Repeat` against 2,016 written out (callgrind, `train_steps`-style run), and the device
//! demo's copy of it 30 % more M4F cycles. Write a net out where speed matters more than
//! flash (the cost benchmark's N3 is written out); repeat its blocks where flash is short.

use super::{
    finite_output, fixed_capacity, sealed::Sealed, At, Erased, Fixed, Grads, InputGrad, LayerMut,
    LayerRef, OfScalar, Pass, Receive, Seq, Spec, Zeroed,
};
use crate::{optim::Optimizer, Activation, Error, Math, Result, Scalar};

/// `N ≥ 1` blocks of the compile-time sequence `T`, which must keep its width (its input
/// type is its output type), walked by a loop.
///
/// ```
/// use microprop::{layers, layer::{Fixed, Repeat}};
/// type Looped = layers![f32; 2 => 9 * (dense 2, batch_norm), dense 1];
/// type Unrolled = layers![f32; 2 =>
///     dense 2, batch_norm, dense 2, batch_norm, dense 2, batch_norm,
///     dense 2, batch_norm, dense 2, batch_norm, dense 2, batch_norm,
///     dense 2, batch_norm, dense 2, batch_norm, dense 2, batch_norm,
///     dense 1];
/// assert_eq!(Looped::DEPTH, 19);
/// assert_eq!(Looped::PARAMS, Unrolled::PARAMS);
/// assert_eq!(Looped::BYTES, Unrolled::BYTES);
/// ```
///
/// A block must keep its width (its input is the next block's):
///
/// ```compile_fail
/// use microprop::{layers, Activation::Sigmoid};
/// type Widening = layers![f32; 2 => 3 * (dense 4), dense 1];
/// let _ = Widening::zeroed(Sigmoid, Sigmoid);
/// ```
///
/// and there is at least one:
///
/// ```compile_fail
/// use microprop::{layers, Activation::Sigmoid};
/// type Empty = layers![f32; 2 => 0 * (dense 2), dense 1];
/// let _ = Empty::zeroed(Sigmoid, Sigmoid);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Repeat<T, const N: usize>(pub [T; N]);

/// The sequence `P` followed by the sequence `T` (which takes `P`'s output): how a
/// [`Repeat`] is followed by more layers.
#[derive(Clone, Debug, PartialEq)]
pub struct Then<P, T>(pub P, pub T);

impl<T, const N: usize> Sealed for Repeat<T, N> {}
impl<P, T> Sealed for Then<P, T> {}

impl<T: OfScalar, const N: usize> OfScalar for Repeat<T, N> {
    type Scalar = T::Scalar;
}

impl<P: OfScalar, T> OfScalar for Then<P, T> {
    type Scalar = P::Scalar;
}

impl<T, const N: usize> Default for Repeat<T, N>
where
    T: OfScalar + Fixed<T::Scalar> + Seq<T::Scalar, Output = <T as Seq<T::Scalar>>::Input>,
{
    fn default() -> Self {
        <Self as Fixed<T::Scalar>>::zeroed_layers()
    }
}

impl<P, T> Default for Then<P, T>
where
    P: Fixed<P::Scalar> + OfScalar,
    T: Fixed<P::Scalar> + Seq<P::Scalar, Input = <P as Seq<P::Scalar>>::Output>,
{
    fn default() -> Self {
        <Self as Fixed<P::Scalar>>::zeroed_layers()
    }
}

/// Where the layer after `seq` sits.
fn after<S: Scalar, Q: Seq<S>>(seq: &Q, at: At) -> At {
    At {
        index: at.index.saturating_add(seq.depth()),
        offset: at.offset.saturating_add(seq.params()),
        rows: at.rows,
    }
}

fn forward_blocks<S: Scalar, M: Math<S>, T: Seq<S>, const B: usize>(
    blocks: &[T],
    bufs: &mut [T::Buffers<B>],
    pass: &mut Pass<'_>,
    x: &[S],
    n: usize,
) {
    if let (Some((head, tail)), Some((hb, tb))) = (blocks.split_first(), bufs.split_first_mut()) {
        head.forward::<M, B>(pass, x, n, hb);
        forward_blocks::<S, M, T, B>(tail, tb, pass, head.output(hb), n);
    }
}

/// The backward pass of `blocks` (the first one's input `x`), last block to first: from
/// the δ the loss left in the last block's head, or from `g` (`∂L/∂output`, see
/// [`Fixed::backward_from`]). Each block's input gradient is gathered in a scratch of `B`
/// rows and handed to the block before it, so the walk is a loop: the stack holds one
/// block's calls, however many blocks there are.
fn backward_blocks<S, M, T, U, const B: usize>(
    blocks: &[T],
    bufs: &mut [T::Buffers<B>],
    x: &[S],
    n: usize,
    up: &mut U,
    grads: Grads,
    g: Option<&[S]>,
) where
    S: Scalar,
    M: Math<S>,
    T: Fixed<S>,
    U: Receive<S> + ?Sized,
{
    let (mut delta, mut next) = (T::zeroed_rows::<B>(), T::zeroed_rows::<B>());
    for i in (0..blocks.len()).rev() {
        let (before, from) = bufs.split_at_mut(i);
        let (Some(block), Some(buf)) = (blocks.get(i), from.first_mut()) else {
            return;
        };
        let input = match (i.checked_sub(1).and_then(|j| blocks.get(j)), before.last()) {
            (Some(prev), Some(pb)) => prev.output(pb),
            _ => x,
        };
        let mut outer = Erased(&mut *up);
        let mut gather = InputGrad {
            grad: next.as_mut(),
            width: T::INPUTS,
        };
        let to: &mut dyn Receive<S> = if i == 0 { &mut outer } else { &mut gather };
        let delivered = if i + 1 == blocks.len() {
            g
        } else {
            Some(delta.as_ref())
        };
        match delivered {
            None => block.backward::<M, dyn Receive<S>, B>(buf, input, n, to, grads),
            Some(g) => block.backward_from::<M, dyn Receive<S>, B>(buf, input, n, to, grads, g),
        }
        core::mem::swap(&mut delta, &mut next);
    }
}

fn update_blocks<S: Scalar, O: Optimizer<S>, T: Seq<S>, const B: usize>(
    blocks: &mut [T],
    bufs: &[T::Buffers<B>],
    x: &[S],
    opt: &mut O,
    offset: usize,
) {
    if let (Some((head, tail)), Some((hb, tb))) = (blocks.split_first_mut(), bufs.split_first()) {
        let next = offset.saturating_add(head.params());
        head.update_online(hb, x, opt, offset);
        update_blocks(tail, tb, head.output(hb), opt, next);
    }
}

impl<S, T, const N: usize> Seq<S> for Repeat<T, N>
where
    S: Scalar,
    T: Fixed<S> + Seq<S, Output = <T as Seq<S>>::Input>,
{
    type Input = T::Input;
    type Output = T::Output;
    type Buffers<const B: usize> = [T::Buffers<B>; N];
    type InRows<const B: usize> = T::InRows<B>;

    fn depth(&self) -> usize {
        const { assert!(N > 0, "a Repeat holds at least one block") };
        N * T::DEPTH
    }
    fn inputs(&self) -> usize {
        T::INPUTS
    }
    fn outputs(&self) -> usize {
        T::OUTPUTS
    }
    fn params(&self) -> usize {
        N * T::PARAMS
    }
    fn needs_batch(&self) -> bool {
        self.0.iter().any(Seq::needs_batch)
    }
    fn output_activation(&self) -> Option<Activation<S>> {
        self.0.last().and_then(Seq::output_activation)
    }
    fn buffers<const B: usize>(&self, capacity: usize) -> Result<Self::Buffers<B>> {
        fixed_capacity::<B>(capacity)?;
        Ok(Self::zeroed_buffers::<B>())
    }
    fn capacity<const B: usize>(&self, _buf: &Self::Buffers<B>) -> usize {
        B
    }
    fn in_rows<const B: usize>(&self, capacity: usize) -> Result<Self::InRows<B>> {
        self.0
            .first()
            .ok_or(Error::Capacity)?
            .in_rows::<B>(capacity)
    }
    fn commit<const B: usize>(&mut self, buf: &Self::Buffers<B>, rows: usize) {
        for (block, b) in self.0.iter_mut().zip(buf) {
            block.commit(b, rows);
        }
    }
    fn forward<M: Math<S>, const B: usize>(
        &self,
        pass: &mut Pass<'_>,
        x: &[S],
        n: usize,
        buf: &mut Self::Buffers<B>,
    ) {
        forward_blocks::<S, M, T, B>(&self.0, buf, pass, x, n);
    }
    fn output<'a, const B: usize>(&self, buf: &'a Self::Buffers<B>) -> &'a [S] {
        match (self.0.last(), buf.last()) {
            (Some(block), Some(b)) => block.output(b),
            _ => &[],
        }
    }
    fn head<'a, const B: usize>(
        &self,
        buf: &'a mut Self::Buffers<B>,
    ) -> Option<(&'a mut [S], &'a [S])> {
        self.0.last()?.head(buf.last_mut()?)
    }
    fn infer<M: Math<S>>(&self, x: &[S], out: &mut [S]) -> Result<()> {
        let Some((last, init)) = self.0.split_last() else {
            return Err(Error::EmptyData);
        };
        let (mut cur, mut next) = (T::ZERO_OUT, T::ZERO_OUT);
        for (i, block) in init.iter().enumerate() {
            if i == 0 {
                block.infer::<M>(x, cur.as_mut())?;
            } else {
                block.infer::<M>(cur.as_ref(), next.as_mut())?;
                core::mem::swap(&mut cur, &mut next);
            }
            finite_output(cur.as_ref())?;
        }
        last.infer::<M>(if init.is_empty() { x } else { cur.as_ref() }, out)
    }
    fn backward<M: Math<S>, U: Receive<S> + ?Sized, const B: usize>(
        &self,
        buf: &mut Self::Buffers<B>,
        x: &[S],
        n: usize,
        up: &mut U,
        grads: Grads,
    ) {
        backward_blocks::<S, M, T, U, B>(&self.0, buf, x, n, up, grads, None);
    }
    fn update_online<O: Optimizer<S>, const B: usize>(
        &mut self,
        buf: &Self::Buffers<B>,
        x: &[S],
        opt: &mut O,
        offset: usize,
    ) {
        update_blocks(&mut self.0, buf, x, opt, offset);
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
        for (block, b) in self.0.iter().zip(buf) {
            ok &= block.online_accepts(b, input, opt, params, offset);
            input = block.output(b);
            offset = offset.saturating_add(block.params());
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
        for (block, b) in self.0.iter().zip(buf) {
            step += block.online_step_bound(b, input, opt)?;
            input = block.output(b);
        }
        Some(step)
    }
    fn commit_finite<const B: usize>(&self, buf: &Self::Buffers<B>, rows: usize) -> bool {
        let blocks = self.0.iter().zip(buf);
        blocks.fold(true, |ok, (block, b)| ok & block.commit_finite(b, rows))
    }
    fn specs(&self, f: &mut dyn FnMut(Spec)) {
        self.0.iter().for_each(|block| block.specs(f));
    }
    fn set_specs(&mut self, next: &mut dyn FnMut() -> Option<Spec>) -> Result<()> {
        self.0
            .iter_mut()
            .try_for_each(|block| block.set_specs(next))
    }
    fn visit<'a, const B: usize>(
        &'a self,
        buf: Option<&'a Self::Buffers<B>>,
        at: At,
        f: &mut dyn FnMut(LayerRef<'a, S>),
    ) {
        let mut bufs = buf.map(|b| b.iter());
        let mut at = at;
        for block in &self.0 {
            block.visit(bufs.as_mut().and_then(Iterator::next), at, f);
            at = after(block, at);
        }
    }
    fn visit_mut<'a, const B: usize>(
        &'a mut self,
        buf: Option<&'a mut Self::Buffers<B>>,
        at: At,
        f: &mut dyn FnMut(LayerMut<'a, S>),
    ) {
        let mut bufs = buf.map(|b| b.iter_mut());
        let mut at = at;
        for block in &mut self.0 {
            let next = after(block, at);
            block.visit_mut(bufs.as_mut().and_then(Iterator::next), at, f);
            at = next;
        }
    }
}

impl<S, T, const N: usize, const B: usize> Zeroed<S, B> for Repeat<T, N>
where
    S: Scalar,
    T: Zeroed<S, B> + Seq<S, Output = <T as Seq<S>>::Input>,
{
    const ZEROED_BUFFERS: Self::Buffers<B> = [const { T::ZEROED_BUFFERS }; N];
    const ZEROED_ROWS: Self::InRows<B> = T::ZEROED_ROWS;
}

impl<S, T, const N: usize> Fixed<S> for Repeat<T, N>
where
    S: Scalar,
    T: Fixed<S> + Seq<S, Output = <T as Seq<S>>::Input>,
{
    type In = T::In;
    type Out = T::Out;
    const INPUTS: usize = T::INPUTS;
    const OUTPUTS: usize = T::OUTPUTS;
    const DEPTH: usize = N * T::DEPTH;
    const PARAMS: usize = N * T::PARAMS;
    const STATE: usize = N * T::STATE;
    const ROW: usize = N * T::ROW;
    const FIXED: usize = N * T::FIXED;
    const MAX_WIDTH: usize = T::MAX_WIDTH;
    const UNITS: usize = N * T::UNITS;
    const BYTES: usize = N * T::BYTES;
    const ZERO_OUT: Self::Out = T::ZERO_OUT;
    fn zeroed_layers() -> Self {
        const { assert!(N > 0, "a Repeat holds at least one block") };
        Repeat(core::array::from_fn(|_| T::zeroed_layers()))
    }
    fn zeroed_buffers<const B: usize>() -> Self::Buffers<B> {
        core::array::from_fn(|_| T::zeroed_buffers::<B>())
    }
    fn zeroed_rows<const B: usize>() -> Self::InRows<B> {
        T::zeroed_rows::<B>()
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
        backward_blocks::<S, M, T, U, B>(&self.0, buf, x, n, up, grads, Some(g));
    }
}

/// The backward pass of a [`Then`]: `T`'s from the loss's δ in its head (`g` `None`) or
/// from `g`, its input gradient gathered in a scratch of `B` rows, then `P`'s from that.
fn then_backward<S, M, P, T, U, const B: usize>(
    then: &Then<P, T>,
    buf: &mut (P::Buffers<B>, T::Buffers<B>),
    x: &[S],
    n: usize,
    up: &mut U,
    grads: Grads,
    g: Option<&[S]>,
) where
    S: Scalar,
    M: Math<S>,
    P: Fixed<S>,
    T: Fixed<S> + Seq<S, Input = P::Output>,
    U: Receive<S> + ?Sized,
{
    let (pb, tb) = buf;
    let mut delta = T::zeroed_rows::<B>();
    let mut gather = InputGrad {
        grad: delta.as_mut(),
        width: T::INPUTS,
    };
    let input = then.0.output(pb);
    match g {
        None => then.1.backward::<M, _, B>(tb, input, n, &mut gather, grads),
        Some(g) => then
            .1
            .backward_from::<M, _, B>(tb, input, n, &mut gather, grads, g),
    }
    then.0
        .backward_from::<M, U, B>(pb, x, n, up, grads, delta.as_ref());
}

impl<S, P, T> Seq<S> for Then<P, T>
where
    S: Scalar,
    P: Fixed<S>,
    T: Fixed<S> + Seq<S, Input = P::Output>,
{
    type Input = P::Input;
    type Output = T::Output;
    type Buffers<const B: usize> = (P::Buffers<B>, T::Buffers<B>);
    type InRows<const B: usize> = P::InRows<B>;

    fn depth(&self) -> usize {
        self.0.depth() + self.1.depth()
    }
    fn inputs(&self) -> usize {
        self.0.inputs()
    }
    fn outputs(&self) -> usize {
        self.1.outputs()
    }
    fn params(&self) -> usize {
        self.0.params() + self.1.params()
    }
    fn needs_batch(&self) -> bool {
        self.0.needs_batch() || self.1.needs_batch()
    }
    fn output_activation(&self) -> Option<Activation<S>> {
        self.1.output_activation()
    }
    fn buffers<const B: usize>(&self, capacity: usize) -> Result<Self::Buffers<B>> {
        Ok((
            self.0.buffers::<B>(capacity)?,
            self.1.buffers::<B>(capacity)?,
        ))
    }
    fn capacity<const B: usize>(&self, buf: &Self::Buffers<B>) -> usize {
        self.0.capacity(&buf.0)
    }
    fn in_rows<const B: usize>(&self, capacity: usize) -> Result<Self::InRows<B>> {
        self.0.in_rows::<B>(capacity)
    }
    fn commit<const B: usize>(&mut self, buf: &Self::Buffers<B>, rows: usize) {
        self.0.commit(&buf.0, rows);
        self.1.commit(&buf.1, rows);
    }
    fn forward<M: Math<S>, const B: usize>(
        &self,
        pass: &mut Pass<'_>,
        x: &[S],
        n: usize,
        buf: &mut Self::Buffers<B>,
    ) {
        let (pb, tb) = buf;
        self.0.forward::<M, B>(pass, x, n, pb);
        self.1.forward::<M, B>(pass, self.0.output(pb), n, tb);
    }
    fn output<'a, const B: usize>(&self, buf: &'a Self::Buffers<B>) -> &'a [S] {
        self.1.output(&buf.1)
    }
    fn head<'a, const B: usize>(
        &self,
        buf: &'a mut Self::Buffers<B>,
    ) -> Option<(&'a mut [S], &'a [S])> {
        self.1.head(&mut buf.1)
    }
    fn infer<M: Math<S>>(&self, x: &[S], out: &mut [S]) -> Result<()> {
        let mut mid = P::ZERO_OUT;
        self.0.infer::<M>(x, mid.as_mut())?;
        finite_output(mid.as_ref())?;
        self.1.infer::<M>(mid.as_ref(), out)
    }
    fn backward<M: Math<S>, U: Receive<S> + ?Sized, const B: usize>(
        &self,
        buf: &mut Self::Buffers<B>,
        x: &[S],
        n: usize,
        up: &mut U,
        grads: Grads,
    ) {
        then_backward::<S, M, P, T, U, B>(self, buf, x, n, up, grads, None);
    }
    fn update_online<O: Optimizer<S>, const B: usize>(
        &mut self,
        buf: &Self::Buffers<B>,
        x: &[S],
        opt: &mut O,
        offset: usize,
    ) {
        let next = offset.saturating_add(self.0.params());
        self.0.update_online(&buf.0, x, opt, offset);
        self.1
            .update_online(&buf.1, self.0.output(&buf.0), opt, next);
    }
    fn online_accepts<O: Optimizer<S>, const B: usize>(
        &self,
        buf: &Self::Buffers<B>,
        x: &[S],
        opt: &O,
        params: usize,
        offset: usize,
    ) -> bool {
        let next = offset.saturating_add(self.0.params());
        let head = self.0.online_accepts(&buf.0, x, opt, params, offset);
        head & self
            .1
            .online_accepts(&buf.1, self.0.output(&buf.0), opt, params, next)
    }
    fn online_step_bound<O: Optimizer<S>, const B: usize>(
        &self,
        buf: &Self::Buffers<B>,
        x: &[S],
        opt: &O,
    ) -> Option<S> {
        let head = self.0.online_step_bound(&buf.0, x, opt)?;
        let tail = self
            .1
            .online_step_bound(&buf.1, self.0.output(&buf.0), opt)?;
        Some(head + tail)
    }
    fn commit_finite<const B: usize>(&self, buf: &Self::Buffers<B>, rows: usize) -> bool {
        self.0.commit_finite(&buf.0, rows) & self.1.commit_finite(&buf.1, rows)
    }
    fn specs(&self, f: &mut dyn FnMut(Spec)) {
        self.0.specs(f);
        self.1.specs(f);
    }
    fn set_specs(&mut self, next: &mut dyn FnMut() -> Option<Spec>) -> Result<()> {
        self.0.set_specs(next)?;
        self.1.set_specs(next)
    }
    fn visit<'a, const B: usize>(
        &'a self,
        buf: Option<&'a Self::Buffers<B>>,
        at: At,
        f: &mut dyn FnMut(LayerRef<'a, S>),
    ) {
        let (pb, tb) = buf.map(|(p, t)| (p, t)).unzip();
        self.0.visit(pb, at, f);
        self.1.visit(tb, after(&self.0, at), f);
    }
    fn visit_mut<'a, const B: usize>(
        &'a mut self,
        buf: Option<&'a mut Self::Buffers<B>>,
        at: At,
        f: &mut dyn FnMut(LayerMut<'a, S>),
    ) {
        let (pb, tb) = buf.map(|(p, t)| (p, t)).unzip();
        let next = after(&self.0, at);
        self.0.visit_mut(pb, at, f);
        self.1.visit_mut(tb, next, f);
    }
}

impl<S, P, T, const B: usize> Zeroed<S, B> for Then<P, T>
where
    S: Scalar,
    P: Zeroed<S, B>,
    T: Zeroed<S, B> + Seq<S, Input = P::Output>,
{
    const ZEROED_BUFFERS: Self::Buffers<B> = (P::ZEROED_BUFFERS, T::ZEROED_BUFFERS);
    const ZEROED_ROWS: Self::InRows<B> = P::ZEROED_ROWS;
}

impl<S, P, T> Fixed<S> for Then<P, T>
where
    S: Scalar,
    P: Fixed<S>,
    T: Fixed<S> + Seq<S, Input = P::Output>,
{
    type In = P::In;
    type Out = T::Out;
    const INPUTS: usize = P::INPUTS;
    const OUTPUTS: usize = T::OUTPUTS;
    const DEPTH: usize = P::DEPTH + T::DEPTH;
    const PARAMS: usize = P::PARAMS + T::PARAMS;
    const STATE: usize = P::STATE + T::STATE;
    const ROW: usize = P::ROW + T::ROW;
    const FIXED: usize = P::FIXED + T::FIXED;
    const MAX_WIDTH: usize = if P::MAX_WIDTH > T::MAX_WIDTH {
        P::MAX_WIDTH
    } else {
        T::MAX_WIDTH
    };
    const UNITS: usize = P::UNITS + T::UNITS;
    const BYTES: usize = P::BYTES + T::BYTES;
    const ZERO_OUT: Self::Out = T::ZERO_OUT;
    fn zeroed_layers() -> Self {
        Then(P::zeroed_layers(), T::zeroed_layers())
    }
    fn zeroed_buffers<const B: usize>() -> Self::Buffers<B> {
        (P::zeroed_buffers::<B>(), T::zeroed_buffers::<B>())
    }
    fn zeroed_rows<const B: usize>() -> Self::InRows<B> {
        P::zeroed_rows::<B>()
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
        then_backward::<S, M, P, T, U, B>(self, buf, x, n, up, grads, Some(g));
    }
}
