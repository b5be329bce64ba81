//! The layer protocol: what every layer kind implements, and the sequences that chain them.
//!
//! A network is a sequence of layers. Each layer kind implements [`Layer`] once: its
//! forward pass over a batch of rows (train or eval [`Mode`]), its backward pass (δ in,
//! δ out, parameter gradients overwritten or accumulated), its parameters, its
//! non-trainable state, and its sizes. Two containers hold the numbers:
//!
//! * **compile-time** layers (`Dense<S, IN, OUT>` …) keep every buffer in arrays inside the
//!   value, and chain as tuples `(A, (B, (C, ())))`, which the [`Seq`] implementation walks
//!   by recursion: a chain whose sizes do not match does not compile, and every size is a
//!   constant in the kernels;
//! * **run-time** layers ([`DynLayer`]) keep their buffers in any growable storage (`Vec` on
//!   the host, `heapless::Vec` on a device) and chain in a [`Sequential`], walked by the very
//!   same protocol calls.
//!
//! The arithmetic of each kind is written once, over slices, in the kind's file; both
//! containers call it, so a run-time network and a compile-time network with the same seed
//! produce bit-identical weights.
//!
//! # Data layout
//! A batch of `n` rows is row-major: row `r` of a layer's output is
//! `out[r · outputs .. (r + 1) · outputs]`. Training buffers hold `capacity` rows (the
//! batch capacity; 1 for online and per-sample training).
//!
//! # Backward
//! The loss writes `∂L/∂z` of the output layer (its pre-activation) into the layer's
//! [`head`](Layer::head). Going backwards, each layer computes its parameter gradients and
//! hands `∂L/∂x` row by row to the layer before it through [`Receive`]; that layer turns it
//! into its own δ ([`Layer::receive`]) and stores it where its backward pass will read it.

/// The registry of layer kinds, one line each, in the order of their stable codes in the
/// model format (a kind's code is its position): the kind's file, its [`Kind`] variant, and
/// its types — the spec, the compile-time layer and buffers, the run-time layer and
/// buffers. Everything else about a kind (its arithmetic, its spec's sizes, checks and
/// bytes, how a run-time layer is made from it) is in its file; `$then!` receives the list.
macro_rules! registered_kinds {
    ($then:ident) => {
        $then! {
            dense: Dense(DenseSpec; Dense, DenseBuffers; DynDense, DynDenseBuffers),
            batch_norm: BatchNorm(BatchNormSpec; BatchNorm, BatchNormBuffers; DynBatchNorm, DynBatchNormBuffers),
            dropout: Dropout(DropoutSpec; Dropout, DropoutBuffers; DynDropout, DynDropoutBuffers),
            standardize: Standardize(StandardizeSpec; Standardize, StandardizeBuffers; DynStandardize, DynStandardizeBuffers),
            whiten: Whiten(WhitenSpec; Whiten, WhitenBuffers; DynWhiten, DynWhitenBuffers),
        }
    };
}

/// Each kind's module and its public types.
macro_rules! kind_modules {
    ($($file:ident: $kind:ident($spec:ident; $layer:ident, $bufs:ident; $dyn:ident, $dynbufs:ident)),+ $(,)?) => {
        $(
            mod $file;
            pub use $file::{$spec, $layer, $bufs, $dyn, $dynbufs};
        )+
    };
}

registered_kinds!(kind_modules);

mod dynamic;
mod kinds;
mod repeat;
mod sequence;
mod storage;

pub use batch_norm::BatchNormConfig;
pub use dynamic::{DynBuffers, DynLayer};
pub(crate) use kinds::KindSpec;
pub use kinds::{Kind, Params, Spec};
pub use repeat::{Repeat, Then};
pub(crate) use sequence::{finite_output, fixed_buffers, fixed_capacity, fixed_rows};
pub use sequence::{
    Fixed, FixedLayer, Net, OfScalar, Seq, Sequential, SequentialBuffers, Zeroed, ZeroedLayer,
};
pub use storage::{Bounded, Family};

use core::fmt::Debug;

use rand_core::RngCore;

use crate::{optim::Optimizer, Activation, Math, Result, Scalar};

pub(crate) mod sealed {
    /// Only the crate's layer kinds and sequences implement the layer traits.
    pub trait Sealed {}
}

/// Training or inference: dropout and batch norm behave differently in each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Mode {
    /// Training: dropout drops, batch norm uses the batch's statistics.
    Train,
    /// Inference: dropout is the identity, batch norm uses its running statistics.
    #[default]
    Eval,
}

/// How one forward pass runs.
///
/// A forward pass never changes a layer: batch norm keeps the batch's statistics in its
/// buffers, and only [`Layer::commit`] (called by the trainer after an accepted step)
/// moves its running statistics.
pub struct Pass<'a> {
    /// Train or eval.
    pub mode: Mode,
    /// Draws the dropout masks in [`Mode::Train`]. `None` keeps the masks of the last pass
    /// (a fixed mask: gradient checks and diagnostics); fresh buffers start with no unit
    /// dropped.
    pub rng: Option<&'a mut dyn RngCore>,
}

impl<'a> Pass<'a> {
    /// Inference: eval mode, nothing drawn.
    pub const fn eval() -> Pass<'static> {
        Pass {
            mode: Mode::Eval,
            rng: None,
        }
    }
    /// Training mode with the dropout masks of the last pass (diagnostics, gradient
    /// checks).
    pub const fn probe() -> Pass<'static> {
        Pass {
            mode: Mode::Train,
            rng: None,
        }
    }
    /// Training mode, dropout masks drawn from `rng`.
    pub fn train(rng: &'a mut dyn RngCore) -> Pass<'a> {
        Pass {
            mode: Mode::Train,
            rng: Some(rng),
        }
    }
}

impl core::fmt::Debug for Pass<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pass")
            .field("mode", &self.mode)
            .field("rng", &self.rng.is_some())
            .finish()
    }
}

/// What the backward pass does with a layer's parameter gradients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grads {
    /// Leave them alone (online training applies the update from δ directly).
    Skip,
    /// Overwrite them with this batch's gradient.
    Overwrite,
    /// Add this batch's gradient to them.
    Accumulate,
}

/// The receiving end of a backward pass: the layer before (or the network input).
///
/// Sealed: the crate's sequences build the chain of receivers; [`Nowhere`] and
/// [`InputGrad`] are the two ends a caller chooses between. A receiver of one's own does
/// not compile, however complete:
///
/// ```compile_fail
/// use microprop::layer::Receive;
/// struct Mine;
/// impl Receive<f32> for Mine {
///     fn wants(&self) -> bool {
///         false
///     }
///     fn receive(&mut self, _r: usize, _g: &[f32]) {}
/// }
/// ```
pub trait Receive<S>: sealed::Sealed {
    /// Whether anything upstream needs `∂L/∂x` (if not, a layer skips computing it).
    fn wants(&self) -> bool;
    /// `∂L/∂x` of row `r`.
    fn receive(&mut self, r: usize, g: &[S]);
}

/// Nothing upstream: the first layer's input gradient is not needed.
#[derive(Clone, Copy, Debug, Default)]
pub struct Nowhere;

impl sealed::Sealed for Nowhere {}

impl<S> Receive<S> for Nowhere {
    fn wants(&self) -> bool {
        false
    }
    fn receive(&mut self, _r: usize, _g: &[S]) {}
}

/// The network input's gradient: row `r` goes to `grad[r · width ..]`.
#[derive(Debug)]
pub struct InputGrad<'a, S> {
    /// Receives `∂L/∂x`, row-major.
    pub grad: &'a mut [S],
    /// Features per row.
    pub width: usize,
}

impl<S> sealed::Sealed for InputGrad<'_, S> {}

impl<S: Copy> Receive<S> for InputGrad<'_, S> {
    fn wants(&self) -> bool {
        true
    }
    fn receive(&mut self, r: usize, g: &[S]) {
        let start = r.saturating_mul(self.width);
        if let Some(dst) = self.grad.get_mut(start..start.saturating_add(self.width)) {
            dst.iter_mut().zip(g).for_each(|(d, &g)| *d = g);
        }
    }
}

/// Any receiver as a sized one, to be lent as `&mut dyn Receive` (the larger layer kinds
/// take their upstream dynamically: one copy of their code, whatever is upstream).
pub(crate) struct Erased<'a, U: ?Sized>(pub(crate) &'a mut U);

impl<U: ?Sized> sealed::Sealed for Erased<'_, U> {}

impl<S, U: Receive<S> + ?Sized> Receive<S> for Erased<'_, U> {
    fn wants(&self) -> bool {
        self.0.wants()
    }
    fn receive(&mut self, r: usize, g: &[S]) {
        self.0.receive(r, g);
    }
}

/// A layer seen from the one after it: where its δ is stored.
pub(crate) struct Link<'a, S, M, L: ?Sized, U: ?Sized> {
    pub(crate) math: core::marker::PhantomData<M>,
    pub(crate) layer: &'a L,
    pub(crate) out: &'a [S],
    pub(crate) store: &'a mut [S],
    pub(crate) up: &'a mut U,
}

impl<S, M, L: ?Sized, U: ?Sized> sealed::Sealed for Link<'_, S, M, L, U> {}

impl<S: Scalar, M: Math<S>, L: Layer<S>, U: Receive<S> + ?Sized> Receive<S>
    for Link<'_, S, M, L, U>
{
    #[inline(always)]
    fn wants(&self) -> bool {
        self.layer.wants(self.up.wants())
    }
    #[inline(always)]
    fn receive(&mut self, r: usize, g: &[S]) {
        self.layer
            .receive::<M, U>(self.out, self.store, r, g, self.up);
    }
}

/// One layer's parameters, state, gradients and cache, read-only.
#[derive(Clone, Copy, Debug)]
pub struct LayerRef<'a, S> {
    /// Position in the network, 0 = first layer.
    pub index: usize,
    /// Flat index of the layer's first parameter (optimizer state, gradients).
    pub offset: usize,
    /// The layer's kind.
    pub kind: Kind,
    /// Input count.
    pub inputs: usize,
    /// Output count.
    pub outputs: usize,
    /// The layer's activation (dense and batch-norm layers).
    pub activation: Option<Activation<S>>,
    /// Multiplicative parameters: a dense layer's weights, row-major (`w[o · inputs + i]`
    /// connects input `i` to neuron `o`); batch norm's scale γ. Empty for other kinds.
    pub w: &'a [S],
    /// Additive parameters: a dense layer's biases, batch norm's shift β.
    pub b: &'a [S],
    /// Non-trainable state: batch norm's running mean then running variance; a
    /// preprocessing layer's fitted statistics.
    pub state: &'a [S],
    /// `∂L/∂w` of the last backward pass (empty without training buffers).
    pub gw: &'a [S],
    /// `∂L/∂b`.
    pub gb: &'a [S],
    /// Pre-activations of the last forward pass, `rows × outputs` (δ after a backward
    /// pass); empty for kinds without an activation.
    pub z: &'a [S],
    /// Outputs of the last forward pass, `rows × outputs`.
    pub a: &'a [S],
}

/// One layer's parameters, state, gradients and cache, lent mutably.
#[derive(Debug)]
pub struct LayerMut<'a, S> {
    /// Position in the network, 0 = first layer.
    pub index: usize,
    /// Flat index of the layer's first parameter.
    pub offset: usize,
    /// The layer's kind.
    pub kind: Kind,
    /// Input count.
    pub inputs: usize,
    /// Output count.
    pub outputs: usize,
    /// The layer's activation, writable (initialisation sets it).
    pub activation: Option<&'a mut Activation<S>>,
    /// Multiplicative parameters (see [`LayerRef::w`]).
    pub w: &'a mut [S],
    /// Additive parameters.
    pub b: &'a mut [S],
    /// Non-trainable state.
    pub state: &'a mut [S],
    /// `∂L/∂w`.
    pub gw: &'a mut [S],
    /// `∂L/∂b`.
    pub gb: &'a mut [S],
    /// Pre-activations (δ after a backward pass).
    pub z: &'a mut [S],
    /// Outputs.
    pub a: &'a mut [S],
}

/// Where a layer sits, for [`Layer::view`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct At {
    /// Position in the network, 0 = first layer.
    pub index: usize,
    /// Flat index of the layer's first parameter.
    pub offset: usize,
    /// Rows of the last forward pass.
    pub rows: usize,
}

/// The slices of one layer, assembled by its container for [`LayerRef`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Parts<'a, S> {
    pub(crate) w: &'a [S],
    pub(crate) b: &'a [S],
    pub(crate) state: &'a [S],
    pub(crate) cache: Option<Cache<'a, S>>,
}

/// The training-buffer slices of one layer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cache<'a, S> {
    pub(crate) gw: &'a [S],
    pub(crate) gb: &'a [S],
    pub(crate) z: &'a [S],
    pub(crate) a: &'a [S],
}

/// The slices of one layer, lent mutably, for [`LayerMut`].
#[derive(Debug)]
pub(crate) struct PartsMut<'a, S> {
    pub(crate) activation: Option<&'a mut Activation<S>>,
    pub(crate) w: &'a mut [S],
    pub(crate) b: &'a mut [S],
    pub(crate) state: &'a mut [S],
    pub(crate) cache: Option<CacheMut<'a, S>>,
}

/// The training-buffer slices of one layer, lent mutably.
#[derive(Debug)]
pub(crate) struct CacheMut<'a, S> {
    pub(crate) gw: &'a mut [S],
    pub(crate) gb: &'a mut [S],
    pub(crate) z: &'a mut [S],
    pub(crate) a: &'a mut [S],
}

/// First `rows` rows of a row-major buffer of `width` columns.
#[inline(always)]
pub(crate) fn rows<S>(buf: &[S], width: usize, rows: usize) -> &[S] {
    buf.get(..width.saturating_mul(rows)).unwrap_or(buf)
}

/// First `rows` rows, mutably.
#[inline(always)]
pub(crate) fn rows_mut<S>(buf: &mut [S], width: usize, rows: usize) -> &mut [S] {
    let n = width.saturating_mul(rows).min(buf.len());
    buf.get_mut(..n).unwrap_or_default()
}

impl<'a, S> Parts<'a, S> {
    /// The parts of a kind without parameters: its state and its output rows.
    #[inline(always)]
    pub(crate) fn output_only(state: &'a [S], a: Option<&'a [S]>) -> Self {
        Parts {
            w: &[],
            b: &[],
            state,
            cache: a.map(|a| Cache {
                gw: &[],
                gb: &[],
                z: &[],
                a,
            }),
        }
    }

    pub(crate) fn view(self, at: At, kind: Kind, shape: Shape<S>) -> LayerRef<'a, S> {
        let At {
            index,
            offset,
            rows: n,
        } = at;
        let (gw, gb, z, a) = match self.cache {
            Some(c) => (
                c.gw,
                c.gb,
                rows(c.z, shape.outputs, n),
                rows(c.a, shape.outputs, n),
            ),
            None => (&[][..], &[][..], &[][..], &[][..]),
        };
        LayerRef {
            index,
            offset,
            kind,
            inputs: shape.inputs,
            outputs: shape.outputs,
            activation: shape.activation,
            w: self.w,
            b: self.b,
            state: self.state,
            gw,
            gb,
            z,
            a,
        }
    }
}

impl<'a, S> PartsMut<'a, S> {
    /// The parts of a kind without parameters or activation: its state and its output
    /// rows.
    #[inline(always)]
    pub(crate) fn output_only(state: &'a mut [S], a: Option<&'a mut [S]>) -> Self {
        PartsMut {
            activation: None,
            w: &mut [],
            b: &mut [],
            state,
            cache: a.map(|a| CacheMut {
                gw: &mut [],
                gb: &mut [],
                z: &mut [],
                a,
            }),
        }
    }

    pub(crate) fn view(self, at: At, kind: Kind, shape: Shape<S>) -> LayerMut<'a, S> {
        let At {
            index,
            offset,
            rows: n,
        } = at;
        let (gw, gb, z, a): (&mut [S], &mut [S], &mut [S], &mut [S]) = match self.cache {
            Some(c) => (
                c.gw,
                c.gb,
                rows_mut(c.z, shape.outputs, n),
                rows_mut(c.a, shape.outputs, n),
            ),
            None => (&mut [], &mut [], &mut [], &mut []),
        };
        LayerMut {
            index,
            offset,
            kind,
            inputs: shape.inputs,
            outputs: shape.outputs,
            activation: self.activation,
            w: self.w,
            b: self.b,
            state: self.state,
            gw,
            gb,
            z,
            a,
        }
    }
}

/// A layer's sizes and activation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Shape<S> {
    pub(crate) inputs: usize,
    pub(crate) outputs: usize,
    pub(crate) activation: Option<Activation<S>>,
}

/// The protocol every layer kind implements (users do not implement it: it is sealed).
///
/// `B` is the batch capacity of a compile-time container's buffers (run-time containers
/// size theirs when they are made and ignore it).
pub trait Layer<S: Scalar>: OfScalar<Scalar = S> + Clone + Debug + sealed::Sealed {
    /// The input type: `[S; IN]` for compile-time layers (a chain whose sizes do not match
    /// does not compile), `[S]` for run-time layers.
    type Input: ?Sized;
    /// The output type.
    type Output: ?Sized;
    /// Gradients and forward cache for batches of up to `B` rows.
    type Buffers<const B: usize>: Clone + Debug;
    /// `B` rows of this layer's input, for gathering a batch (a network's first layer).
    type InRows<const B: usize>: AsRef<[S]> + AsMut<[S]> + Clone + Debug;
    /// A row of this layer's output width (scratch for inference).
    type OutRow: AsRef<[S]> + AsMut<[S]>;

    /// The kind.
    fn kind(&self) -> Kind;
    /// Kind, sizes and hyper-parameters.
    fn spec(&self) -> Spec;
    /// Restores the hyper-parameters (activation, batch norm's momentum and ε, dropout's
    /// `p`, the preprocessing's fitted mode, count and statistics) from `spec`, which must
    /// be of this layer's kind and sizes.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) for another kind or size,
    /// [`Error::InvalidHyperParameter`](crate::Error::InvalidHyperParameter) for a value
    /// the layer refuses (nothing is changed then).
    fn set_spec(&mut self, spec: &Spec) -> Result<()>;
    /// Input count.
    fn inputs(&self) -> usize;
    /// Output count.
    fn outputs(&self) -> usize;
    /// The activation applied to the output (dense and batch-norm layers), if any.
    fn activation(&self) -> Option<Activation<S>>;
    /// Trainable parameters.
    fn params(&self) -> usize;
    /// Whether, in training mode, the layer needs the whole batch in one pass (batch norm).
    fn needs_batch(&self) -> bool {
        false
    }
    /// Zeroed training buffers for `capacity` rows (compile-time containers: `capacity`
    /// must equal `B`).
    ///
    /// # Errors
    /// [`Error::Capacity`](crate::Error::Capacity) if the buffers cannot hold `capacity`
    /// rows.
    fn buffers<const B: usize>(&self, capacity: usize) -> Result<Self::Buffers<B>>;
    /// Rows the buffers hold.
    fn capacity<const B: usize>(buf: &Self::Buffers<B>) -> usize;
    /// `capacity` zeroed input rows.
    ///
    /// # Errors
    /// [`Error::Capacity`](crate::Error::Capacity) if they cannot be held.
    fn in_rows<const B: usize>(&self, capacity: usize) -> Result<Self::InRows<B>>;
    /// A zeroed output-width row.
    ///
    /// # Errors
    /// [`Error::Capacity`](crate::Error::Capacity) if run-time storage cannot hold it.
    fn out_row(&self) -> Result<Self::OutRow>;

    /// Forward pass over `n ≤ capacity` rows of `x` (`n × inputs`), caching what the
    /// backward pass needs; the output is [`split`](Layer::split)'s first slice.
    fn forward<M: Math<S>, const B: usize>(
        &self,
        pass: &mut Pass<'_>,
        x: &[S],
        n: usize,
        buf: &mut Self::Buffers<B>,
    );
    /// Inference on one row, no buffers (eval mode).
    ///
    /// # Errors
    /// [`Error::Capacity`](crate::Error::Capacity) if run-time storage cannot hold a row.
    fn infer<M: Math<S>>(&self, x: &[S], out: &mut [S]) -> Result<()>;
    /// The output rows of the last forward pass, and the store that
    /// [`receive`](Layer::receive) writes the layer's δ into.
    fn split<const B: usize>(buf: &mut Self::Buffers<B>) -> (&[S], &mut [S]);
    /// The output rows of the last forward pass.
    fn output<const B: usize>(buf: &Self::Buffers<B>) -> &[S];
    /// `(z, a)` of every row (pre-activation, output) for the loss, which writes `∂L/∂z`
    /// into `z`; `None` for kinds without an activation (they cannot be a network's last
    /// layer). The default: `None`.
    fn head<const B: usize>(_buf: &mut Self::Buffers<B>) -> Option<(&mut [S], &[S])> {
        None
    }
    /// Whether the layer needs `∂L/∂output` (trainable layers always do; others only if
    /// something upstream does: the default).
    fn wants(&self, upstream: bool) -> bool {
        upstream
    }
    /// Takes `∂L/∂output` of row `r` (`out` and `store` from [`split`](Layer::split)):
    /// stores the layer's δ, or passes the gradient straight on to `up`.
    fn receive<M: Math<S>, U: Receive<S> + ?Sized>(
        &self,
        out: &[S],
        store: &mut [S],
        r: usize,
        g: &[S],
        up: &mut U,
    );
    /// Backward pass over the `n` rows of the last forward pass (`x` its input): parameter
    /// gradients as `grads` says, `∂L/∂x` to `up` row by row (if it wants it). The
    /// default, for kinds without parameters whose [`receive`](Layer::receive) passes each
    /// row's gradient straight on: nothing.
    fn backward<M: Math<S>, U: Receive<S> + ?Sized, const B: usize>(
        &self,
        _buf: &mut Self::Buffers<B>,
        _x: &[S],
        _n: usize,
        _up: &mut U,
        _grads: Grads,
    ) {
    }
    /// Online update after a [`Grads::Skip`] backward pass over one row: a dense layer's
    /// gradient is the outer product of its δ and its input, handed to
    /// [`Optimizer::update_outer`] without being materialised. `offset` is the layer's
    /// first flat parameter index. The default, for kinds without parameters (and batch
    /// norm, which never trains online): nothing.
    fn update_online<O: Optimizer<S>, const B: usize>(
        &mut self,
        _buf: &Self::Buffers<B>,
        _x: &[S],
        _opt: &mut O,
        _offset: usize,
    ) {
    }
    /// After an accepted training step whose forward pass ran in [`Mode::Train`]: moves
    /// the layer's running statistics by the batch's (batch norm); nothing for other kinds.
    fn commit<const B: usize>(&mut self, _buf: &Self::Buffers<B>, _rows: usize) {}
    /// Whether the online update of [`update_online`](Layer::update_online) would leave
    /// every parameter and optimizer-state value finite: `opt`
    /// [accepts](Optimizer::accepts) the update of every block (`params`: the model's
    /// parameter count). Reads only. The default, for kinds that make no online update:
    /// `true`.
    fn online_accepts<O: Optimizer<S>, const B: usize>(
        &self,
        _buf: &Self::Buffers<B>,
        _x: &[S],
        _opt: &O,
        _params: usize,
        _offset: usize,
    ) -> bool {
        true
    }
    /// An upper bound of how far [`update_online`](Layer::update_online) moves any of the
    /// layer's parameters, from its gradients' bound and `opt`'s
    /// [`max_step`](Optimizer::max_step); `None` if it cannot be bounded so (the step is
    /// then checked exactly). The default, for kinds that make no online update: `Some(0)`
    /// — a kind that overrides [`update_online`](Layer::update_online) must override this
    /// too (and [`online_accepts`](Layer::online_accepts)), or a step could be accepted
    /// unchecked.
    fn online_step_bound<O: Optimizer<S>, const B: usize>(
        &self,
        _buf: &Self::Buffers<B>,
        _x: &[S],
        _opt: &O,
    ) -> Option<S> {
        Some(S::ZERO)
    }
    /// Whether [`commit`](Layer::commit) would leave the running statistics finite (the
    /// default, for kinds without any: `true`).
    fn commit_finite<const B: usize>(&self, _buf: &Self::Buffers<B>, _rows: usize) -> bool {
        true
    }
    /// The layer's parameters, state and (with `buf`) gradients and cache of the first
    /// `at.rows` rows.
    fn view<'a, const B: usize>(
        &'a self,
        buf: Option<&'a Self::Buffers<B>>,
        at: At,
    ) -> LayerRef<'a, S>;
    /// The same, mutably.
    fn view_mut<'a, const B: usize>(
        &'a mut self,
        buf: Option<&'a mut Self::Buffers<B>>,
        at: At,
    ) -> LayerMut<'a, S>;
}

/// The shape of a layer, from the protocol.
#[inline(always)]
pub(crate) fn shape_of<S: Scalar, L: Layer<S>>(l: &L) -> Shape<S> {
    Shape {
        inputs: l.inputs(),
        outputs: l.outputs(),
        activation: l.activation(),
    }
}

/// `B` rows of `N` scalars, flat: a batch's inputs or outputs in a compile-time layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rows<S, const N: usize, const B: usize>(pub [[S; N]; B]);

impl<S, const N: usize, const B: usize> AsRef<[S]> for Rows<S, N, B> {
    fn as_ref(&self) -> &[S] {
        self.0.as_flattened()
    }
}

impl<S, const N: usize, const B: usize> AsMut<[S]> for Rows<S, N, B> {
    fn as_mut(&mut self) -> &mut [S] {
        self.0.as_flattened_mut()
    }
}

/// An activation a layer accepts: α finite.
pub(crate) fn checked_activation<S: Scalar>(act: Activation<S>) -> Result<Activation<S>> {
    if act.is_valid() {
        Ok(act)
    } else {
        Err(crate::Error::InvalidHyperParameter("activation alpha"))
    }
}
