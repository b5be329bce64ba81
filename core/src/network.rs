//! A network's weights ([`Network`]) and its training state ([`Training`]).

use core::marker::PhantomData;

use crate::{
    init::Init,
    layer::{At, Fixed, Grads, InputGrad, LayerMut, LayerRef, Net, Nowhere, Pass, Receive, Zeroed},
    Activation, Dataset, Error, Libm, Math, Model, Optimizer, Result, Scalar,
};

/// Declares a network type of dense layers: the scalar, optionally the maths backend, then
/// the layer sizes from input to output.
///
/// ```
/// use microprop::{mlp, Micromath};
/// type Wide = mlp![f32; 2, 32, 32, 1];
/// type Deep = mlp![f32; 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1]; // nine hidden layers of 2
/// type Fast = mlp![f32, Micromath; 2, 16, 1];
/// assert_eq!(Wide::PARAMS, 2 * 32 + 32 + 32 * 32 + 32 + 32 + 1);
/// assert_eq!(Deep::DEPTH, 10);
/// ```
///
/// Other layer kinds chain with [`layers!`](crate::layers).
#[macro_export]
macro_rules! mlp {
    (@chain $s:ty; $a:tt, $b:tt) => { ($crate::layer::Dense<$s, $a, $b>, ()) };
    (@chain $s:ty; $a:tt, $b:tt, $($rest:tt),+) => {
        ($crate::layer::Dense<$s, $a, $b>, $crate::mlp!(@chain $s; $b, $($rest),+))
    };
    ($s:ty, $m:ty; $($n:tt),+ $(,)?) => { $crate::Network<$crate::mlp!(@chain $s; $($n),+), $m> };
    ($s:ty; $($n:tt),+ $(,)?) => { $crate::Network<$crate::mlp!(@chain $s; $($n),+), $crate::Libm> };
}

/// Declares a network type of any layer kinds: the scalar, optionally the maths backend,
/// the input width, then the layers, each taking the width the previous one gives:
/// `dense N` (N neurons), `batch_norm`, `dropout`, `standardize`, `whiten` (2 features),
/// and `K * (layers…)`: `K` copies of a block that keeps its width, held in a
/// [`Repeat`](crate::layer::Repeat) and walked by a loop (the block's code exists once: what
/// a deep net needs on a small flash; the layers, weights and files are those of the
/// written-out chain).
///
/// ```
/// use microprop::{layers, Micromath};
/// // The notes' deep net with batch norm after every hidden dense layer.
/// type Deep = layers![f32; 2 => dense 2, batch_norm, dense 2, batch_norm, dense 1];
/// type Wide = layers![f32, Micromath; 2 => standardize, dense 16, dropout, dense 1];
/// // Nine (dense 2, batch norm) blocks, one copy of their code.
/// type Looped = layers![f32; 2 => 9 * (dense 2, batch_norm), dense 1];
/// assert_eq!(Looped::DEPTH, 19);
/// assert_eq!(Deep::PARAMS, (2 * 2 + 2) + 2 * 2 + (2 * 2 + 2) + 2 * 2 + (2 + 1));
/// assert_eq!(Wide::DEPTH, 4);
/// ```
///
/// Written out, a network is a tuple chain; a chain whose widths do not match does not
/// compile:
///
/// ```compile_fail
/// use microprop::layer::{BatchNorm, Dense, Fixed};
/// type Broken = (Dense<f32, 2, 16>, (BatchNorm<f32, 8>, (Dense<f32, 8, 1>, ())));
/// let _ = <Broken as Fixed<f32>>::PARAMS;
/// ```
#[macro_export]
macro_rules! layers {
    (@chain $s:ty; $w:tt;) => { () };
    (@chain $s:ty; $w:tt; $k:literal * ($($block:tt)+), $($rest:tt)+) => {
        $crate::layer::Then<
            $crate::layer::Repeat<$crate::layers!(@chain $s; $w; $($block)+), $k>,
            $crate::layers!(@chain $s; $w; $($rest)+),
        >
    };
    (@chain $s:ty; $w:tt; $k:literal * ($($block:tt)+) $(,)?) => {
        $crate::layer::Repeat<$crate::layers!(@chain $s; $w; $($block)+), $k>
    };
    (@chain $s:ty; $w:tt; dense $n:tt $(, $($rest:tt)*)?) => {
        ($crate::layer::Dense<$s, $w, $n>, $crate::layers!(@chain $s; $n; $($($rest)*)?))
    };
    (@chain $s:ty; $w:tt; batch_norm $(, $($rest:tt)*)?) => {
        ($crate::layer::BatchNorm<$s, $w>, $crate::layers!(@chain $s; $w; $($($rest)*)?))
    };
    (@chain $s:ty; $w:tt; dropout $(, $($rest:tt)*)?) => {
        ($crate::layer::Dropout<$s, $w>, $crate::layers!(@chain $s; $w; $($($rest)*)?))
    };
    (@chain $s:ty; $w:tt; standardize $(, $($rest:tt)*)?) => {
        ($crate::layer::Standardize<$s, $w>, $crate::layers!(@chain $s; $w; $($($rest)*)?))
    };
    (@chain $s:ty; $w:tt; whiten $(, $($rest:tt)*)?) => {
        ($crate::layer::Whiten<$s>, $crate::layers!(@chain $s; 2; $($($rest)*)?))
    };
    ($s:ty, $m:ty; $in:tt => $($rest:tt)+) => {
        $crate::Network<$crate::layers!(@chain $s; $in; $($rest)+), $m>
    };
    ($s:ty; $in:tt => $($rest:tt)+) => {
        $crate::Network<$crate::layers!(@chain $s; $in; $($rest)+), $crate::Libm>
    };
}

/// A trained (or training) network's weights: everything inference needs, nothing more.
///
/// `L` is the sequence of layers (declare it with [`mlp!`](crate::mlp), or build a run-time
/// [`Sequential`](crate::layer::Sequential)), `M` the maths backend. A compile-time
/// network's size is exactly [`Network::BYTES`]. Training needs gradients and a forward
/// cache too; [`Training`] owns those, and [`Training::into_network`] gives the weights
/// back, so a device that only runs a trained model keeps only a `Network`.
#[derive(Clone, Debug, PartialEq)]
pub struct Network<L, M = Libm> {
    layers: L,
    math: PhantomData<M>,
}

impl<L: Net + Fixed<L::Scalar>, M: Math<L::Scalar>> Network<L, M> {
    /// Input features.
    pub const INPUTS: usize = L::INPUTS;
    /// Output units.
    pub const OUTPUTS: usize = L::OUTPUTS;
    /// Layers.
    pub const DEPTH: usize = L::DEPTH;
    /// Trainable parameters.
    pub const PARAMS: usize = L::PARAMS;
    /// Non-trainable state scalars (batch norm's running statistics, fitted
    /// preprocessing), which the model file stores beside the parameters.
    pub const STATE: usize = L::STATE;
    /// Bytes of the weights value: every layer's parameters and state, plus one
    /// [`Activation`] per dense or batch-norm layer (`size_of::<Activation<S>>()`: 8 bytes
    /// for `f32`, 16 for `f64`) and the hyper-parameters of the others (see each layer
    /// kind); for dense layers `PARAMS · size_of::<S>() + DEPTH · size_of::<Activation<S>>()`.
    pub const BYTES: usize = L::BYTES;

    /// Bytes of the training buffers for batches of up to `B` rows:
    /// `(FIXED + B · (ROW + INPUTS) + 1) · size_of::<S>()`, where `FIXED` is every layer's
    /// gradients (and per-unit statistics), `ROW` every layer's cache per row (for dense
    /// layers `z` and `a`: `2 · outputs`), `B · INPUTS` gathers a batch's inputs, and the
    /// last two scalars' worth hold the row count of the last pass (a `u32`, padded) and
    /// the bound on the weights that online steps keep ([`Training::weight_bound`]).
    pub const fn training_bytes(batch: usize) -> usize {
        (L::FIXED + batch * (L::ROW + L::INPUTS) + 2) * <L::Scalar as Scalar>::BYTES
    }

    /// Bytes of the training buffers for online and per-sample training
    /// ([`training_bytes(1)`](Self::training_bytes)).
    pub const TRAINING_BYTES: usize = Self::training_bytes(1);

    /// Everything training needs, in bytes, with batches of up to `batch` rows: weights,
    /// training buffers, and the state of an optimizer that keeps `slots` scalars per
    /// parameter (0 for SGD, 1 for Momentum, Nesterov, AdaGrad and RMSProp, 2 for Adam and
    /// AdamW: their `SLOTS`).
    pub const fn bytes_to_train(slots: usize, batch: usize) -> usize {
        Self::BYTES + Self::training_bytes(batch) + slots * L::PARAMS * <L::Scalar as Scalar>::BYTES
    }

    /// Runs the network: the output layer's activations for input `x`.
    ///
    /// # Errors
    /// [`Error::NonFiniteInput`] if `x` holds NaN or ±∞, [`Error::NonFiniteOutput`] if a
    /// layer's output overflows for it.
    pub fn predict(&self, x: &L::In) -> Result<L::Out> {
        let mut out = L::ZERO_OUT;
        self.predict_slice(x.as_ref(), out.as_mut())?;
        Ok(out)
    }

    /// Pairs the network with fresh training buffers for one row at a time (online and
    /// per-sample training; [`into_batched`](Self::into_batched) for batches).
    pub fn into_training(self) -> Training<L, M, 1> {
        self.into_batched::<1>()
    }

    /// Pairs the network with fresh buffers for batches of up to `B` rows (batch norm
    /// needs the whole batch in one pass).
    pub fn into_batched<const B: usize>(self) -> Training<L, M, B> {
        Training {
            net: self,
            buf: L::zeroed_buffers::<B>(),
            input: L::zeroed_rows::<B>(),
            rows: 0,
            bound: L::Scalar::MAX,
        }
    }
}

impl<L, M> Network<L, M> {
    /// A network of `layers` in a `static` or `const`: what `microprop-sim export --rust`
    /// generates from a model file, so firmware embeds a trained network with no file
    /// system and no load at boot. A `const fn` cannot walk the layer chain, so the
    /// checks of [`from_layers`](Self::from_layers) are not made here; call
    /// [`validate`](Self::validate) (the generated file's test does, and a model file's
    /// loader has made the same checks on the file it came from). An unchecked network
    /// is still memory-safe and deterministic; only a misplaced softmax (on a hidden
    /// layer) or a last layer without an activation would compute something other than
    /// what `from_layers` accepts.
    ///
    /// ```
    /// use microprop::{layer::Dense, Activation, Network};
    /// type Net = Network<(Dense<f32, 2, 1>, ())>;
    /// static NET: Net = Network::from_layers_const((
    ///     Dense::from_parts([[1.0, 1.0]], [0.0], Activation::Identity),
    ///     (),
    /// ));
    /// NET.validate()?;
    /// assert_eq!(NET.predict(&[2.0, 3.0])?, [5.0]);
    /// let mut model = NET.clone().into_training(); // fine-tune a copy
    /// # let _ = &mut model;
    /// # Ok::<(), microprop::Error>(())
    /// ```
    pub const fn from_layers_const(layers: L) -> Self {
        Network {
            layers,
            math: PhantomData,
        }
    }
}

impl<L: Net, M: Math<L::Scalar>> Network<L, M> {
    /// Checks what [`from_layers`](Self::from_layers) checks: the last layer has an
    /// activation (for the loss), softmax only on the last layer, every α finite.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] naming what is wrong.
    pub fn validate(&self) -> Result<()> {
        self.check()
    }

    /// A network of `layers` (checked: the last layer must have an activation for the
    /// loss, softmax only on the last layer, α finite).
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] naming what is wrong.
    pub fn from_layers(layers: L) -> Result<Self> {
        let net = Network {
            layers,
            math: PhantomData,
        };
        net.check()?;
        Ok(net)
    }

    fn check(&self) -> Result<()> {
        let depth = self.layers.depth();
        let mut bad = None;
        self.layers
            .visit::<1>(None, At::default(), &mut |l: LayerRef<'_, _>| {
                if let Some(a) = l.activation {
                    if a.is_output_only() && l.index + 1 < depth {
                        bad = bad.or(Some("softmax is only valid on the output layer"));
                    }
                    if !a.is_valid() {
                        bad = bad.or(Some("activation alpha"));
                    }
                } else if l.index + 1 == depth {
                    bad = bad.or(Some(
                    "the last layer must be dense or batch norm (the loss needs its activation)",
                ));
                }
            });
        match bad {
            Some(what) => Err(Error::InvalidHyperParameter(what)),
            None => Ok(()),
        }
    }

    /// A network with all weights zero, `hidden` on every layer with an activation but the
    /// last and `output` on the last.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] if softmax is asked for a hidden layer, or α is
    /// not finite.
    pub fn zeroed(hidden: Activation<L::Scalar>, output: Activation<L::Scalar>) -> Result<Self>
    where
        L: Default,
    {
        let mut net = Network {
            layers: L::default(),
            math: PhantomData,
        };
        net.set_activations(hidden, output)?;
        Ok(net)
    }

    /// A network initialised by `init` (weights) and `bias` (every dense bias), drawing
    /// from `rng`.
    ///
    /// # Errors
    /// As [`Network::zeroed`], and [`Error::InvalidHyperParameter`] for an invalid
    /// initialiser scale or bias.
    pub fn new(
        hidden: Activation<L::Scalar>,
        output: Activation<L::Scalar>,
        init: Init,
        bias: f32,
        rng: &mut (impl rand_core::RngCore + ?Sized),
    ) -> Result<Self>
    where
        L: Default,
    {
        let mut net = Self::zeroed(hidden, output)?;
        net.init(init, bias, rng)?;
        Ok(net)
    }

    /// Sets the activations: `hidden` on every layer with an activation but the last,
    /// `output` on the last — except a dense layer followed by batch norm, which keeps the
    /// identity (the batch-norm layer applies `hidden` after normalising).
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] if softmax is asked for a hidden layer, or α is
    /// not finite (nothing is changed then).
    pub fn set_activations(
        &mut self,
        hidden: Activation<L::Scalar>,
        output: Activation<L::Scalar>,
    ) -> Result<()> {
        if hidden.is_output_only() && self.layers.depth() > 1 {
            return Err(Error::InvalidHyperParameter(
                "softmax is only valid on the output layer",
            ));
        }
        if !hidden.is_valid() || !output.is_valid() {
            return Err(Error::InvalidHyperParameter("activation alpha"));
        }
        let last = self.layers.depth() - 1;
        let mut before: Option<&mut Activation<L::Scalar>> = None;
        self.visit_mut(|l| {
            if l.kind.normalizes() {
                if let Some(prev) = before.take() {
                    *prev = Activation::Identity;
                }
            }
            before = l.activation.map(|act| {
                *act = if l.index == last { output } else { hidden };
                act
            });
        });
        self.check()
    }

    /// Re-initialises every layer: dense weights with `init`, dense biases to `bias`,
    /// batch norm's γ to 1 and β to 0 (state and preprocessing statistics are kept).
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] for a negative or non-finite scale or bias.
    pub fn init(
        &mut self,
        init: Init,
        bias: f32,
        rng: &mut (impl rand_core::RngCore + ?Sized),
    ) -> Result<()> {
        init.validate()?;
        if !bias.is_finite() {
            return Err(Error::InvalidHyperParameter("bias init"));
        }
        self.visit_mut(|l| init.layer(l, bias, rng));
        Ok(())
    }

    /// Runs the network on a slice: `x` of [`inputs`](crate::layer::Seq::inputs) features, `out` of
    /// [`outputs`](crate::layer::Seq::outputs) values.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for wrong lengths, [`Error::NonFiniteInput`] for NaN/±∞,
    /// [`Error::NonFiniteOutput`] if a layer's output overflows (`out` is then
    /// unspecified).
    #[inline]
    pub fn predict_slice(&self, x: &[L::Scalar], out: &mut [L::Scalar]) -> Result<()> {
        check_len(self.layers.inputs(), x.len())?;
        check_len(self.layers.outputs(), out.len())?;
        if !L::Scalar::all_finite(x) {
            return Err(Error::NonFiniteInput);
        }
        self.layers.infer::<M>(x, out)?;
        crate::layer::finite_output(out)
    }

    /// The layers.
    pub fn layers(&self) -> &L {
        &self.layers
    }

    /// Calls `f` with every layer's [`Spec`](crate::layer::Spec), first to last.
    pub fn specs(&self, f: &mut dyn FnMut(crate::layer::Spec)) {
        self.layers.specs(f);
    }

    /// Restores every layer's hyper-parameters from `next`'s specs (see
    /// [`Seq::set_specs`](crate::layer::Seq::set_specs)); the activations must stay valid
    /// for a network (softmax only on the last layer), which is checked afterwards.
    ///
    /// # Errors
    /// As [`Seq::set_specs`](crate::layer::Seq::set_specs), and
    /// [`Error::InvalidHyperParameter`] if the result is not a valid network.
    pub fn set_specs(
        &mut self,
        next: &mut dyn FnMut() -> Option<crate::layer::Spec>,
    ) -> Result<()> {
        self.layers.set_specs(next)?;
        self.check()
    }

    /// Calls `f` with every layer's parameters and state, first to last (no training
    /// buffers: the gradient and cache slices are empty).
    pub fn visit<'a, F: FnMut(LayerRef<'a, L::Scalar>)>(&'a self, mut f: F) {
        self.layers.visit::<1>(None, At::default(), &mut f);
    }

    /// Calls `f` with every layer's parameters and state, mutably (custom initialisation,
    /// loading, quantisation).
    pub fn visit_mut<'a, F: FnMut(LayerMut<'a, L::Scalar>)>(&'a mut self, mut f: F) {
        self.layers.visit_mut::<1>(None, At::default(), &mut f);
    }

    /// A bit-exact FNV-1a hash of every parameter and state value (see
    /// [`Model::weights_hash`]).
    pub fn weights_hash(&self) -> u64 {
        let mut h = crate::hash::Fnv1a::new();
        self.visit(|l| {
            h.scalars(l.w);
            h.scalars(l.b);
            h.scalars(l.state);
        });
        h.finish()
    }
}

/// The forward pass of a whole network: the one place the chain's forward code is
/// instantiated (not inlined into every caller: small firmware images).
#[inline(never)]
fn run_forward<L: Net, M: Math<L::Scalar>, const B: usize>(
    layers: &L,
    pass: &mut Pass<'_>,
    x: &[L::Scalar],
    n: usize,
    buf: &mut L::Buffers<B>,
) {
    layers.forward::<M, B>(pass, x, n, buf);
}

/// The backward pass of a whole network, once (see [`run_forward`]); the input's
/// receiver is dynamic, one indirect call per row of the first layer.
#[inline(never)]
fn run_backward<L: Net, M: Math<L::Scalar>, const B: usize>(
    layers: &L,
    buf: &mut L::Buffers<B>,
    x: &[L::Scalar],
    n: usize,
    up: &mut dyn Receive<L::Scalar>,
    grads: Grads,
) {
    layers.backward::<M, dyn Receive<L::Scalar>, B>(buf, x, n, up, grads);
}

fn check_len(expected: usize, found: usize) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::ShapeMismatch { expected, found })
    }
}

/// A [`Network`] together with its training buffers (gradients, forward cache) for
/// batches of up to `B` rows.
///
/// A compile-time network's size is exactly `Network::BYTES +
/// Network::training_bytes(B)`. It implements [`Model`], which is what the trainer, the
/// optimizers and the diagnostics work on. A run-time network
/// ([`Sequential`](crate::layer::Sequential)) sizes its buffers when made
/// ([`Training::new`]) and ignores `B`.
#[derive(Clone, Debug)]
pub struct Training<L: Net, M = Libm, const B: usize = 1> {
    net: Network<L, M>,
    buf: L::Buffers<B>,
    input: L::InRows<B>,
    rows: u32,
    /// An upper bound of every parameter's magnitude, kept by online steps whose optimizer
    /// has a [`max_step`](Optimizer::max_step), so that they can prove their update finite
    /// without reading every weight; `MAX` (unknown) after anything else wrote parameters.
    bound: L::Scalar,
}

impl<L, M, const B: usize> Default for Training<L, M, B>
where
    L: Net + Fixed<L::Scalar> + Zeroed<L::Scalar, B> + Default,
    M: Math<L::Scalar>,
{
    /// Every layer's default (zero weights, identity activations) with zeroed buffers,
    /// built in place: the buffers and input rows are constants
    /// ([`Zeroed`](crate::layer::Zeroed)), stored straight into the value, so a device sets
    /// activations and initialises through [`Training::network_mut`] without moving the
    /// whole value around its stack.
    fn default() -> Self {
        Training {
            net: Network {
                layers: L::zeroed_layers(),
                math: PhantomData,
            },
            buf: L::ZEROED_BUFFERS,
            input: L::ZEROED_ROWS,
            rows: 0,
            bound: L::Scalar::MAX,
        }
    }
}

impl<L: Net, M: Math<L::Scalar>, const B: usize> Training<L, M, B> {
    /// `net` with zeroed buffers for batches of up to `capacity` rows: how a run-time
    /// network gets its buffers (a compile-time network's `capacity` must be `B`; its
    /// [`Network::into_training`] and [`Network::into_batched`] cannot fail).
    ///
    /// # Errors
    /// [`Error::Capacity`] if the buffers cannot hold `capacity` rows.
    pub fn new(net: Network<L, M>, capacity: usize) -> Result<Self> {
        if u32::try_from(capacity).is_err() {
            return Err(Error::Capacity);
        }
        let buf = net.layers.buffers::<B>(capacity)?;
        let input = net.layers.in_rows::<B>(capacity)?;
        Ok(Training {
            net,
            buf,
            input,
            rows: 0,
            bound: L::Scalar::MAX,
        })
    }
    /// The weights.
    pub fn network(&self) -> &Network<L, M> {
        &self.net
    }
    /// The weights, mutably.
    pub fn network_mut(&mut self) -> &mut Network<L, M> {
        self.bound = L::Scalar::MAX;
        &mut self.net
    }

    /// The bound on every weight's and bias's magnitude that online steps keep to prove
    /// their updates finite without evaluating them (see [`Optimizer::max_step`]); `None`
    /// until an online step has measured the weights, and again after anything else wrote
    /// them ([`network_mut`](Self::network_mut), [`Model::visit_layers_mut`], a load).
    pub fn weight_bound(&self) -> Option<L::Scalar> {
        (self.bound < L::Scalar::MAX).then_some(self.bound)
    }

    /// The bound on every parameter's magnitude after this online step, if it proves the
    /// step finite: `bound` is known, every layer bounds its move
    /// ([`Layer::online_step_bound`](crate::layer::Layer::online_step_bound)), and
    /// `bound + 2 · Σ moves` stays below `MAX / 4`. The factor 2 and the final `1 + 2⁻²⁰`
    /// cover every rounding of the products, the sums and the update. `None`: check the
    /// step exactly.
    fn online_bound<O: Optimizer<L::Scalar>>(&self, opt: &O, x: &[L::Scalar]) -> Option<L::Scalar> {
        let quarter = L::Scalar::MAX * L::Scalar::from_f64(0.25);
        if self.bound >= quarter {
            return None;
        }
        let step = self.net.layers.online_step_bound(&self.buf, x, opt)?;
        let next = (self.bound + step + step) * L::Scalar::from_f64(1.0 + 1.0 / 1_048_576.0);
        (next < quarter).then_some(next)
    }

    /// The largest parameter magnitude (`MAX` if one is not finite).
    fn max_abs(&self) -> L::Scalar {
        let mut max = L::Scalar::ZERO;
        let mut finite = true;
        self.visit_layers(|l| {
            finite &= L::Scalar::all_finite(l.w) & L::Scalar::all_finite(l.b);
            for &v in l.w.iter().chain(l.b) {
                max = max.max_of(v.abs());
            }
        });
        if finite {
            max
        } else {
            L::Scalar::MAX
        }
    }
    /// Drops the training buffers and returns the weights.
    pub fn into_network(self) -> Network<L, M> {
        self.net
    }
    /// The training buffers.
    pub fn buffers(&self) -> &L::Buffers<B> {
        &self.buf
    }

    #[inline(always)]
    fn rows_of(&self, x: &[L::Scalar]) -> Result<usize> {
        let inputs = self.net.layers.inputs().max(1);
        if x.len() == inputs {
            return Ok(1);
        }
        let n = x.len() / inputs;
        if n * inputs != x.len() || n == 0 {
            return Err(Error::ShapeMismatch {
                expected: inputs,
                found: x.len(),
            });
        }
        if n > self.net.layers.capacity(&self.buf) {
            return Err(Error::Capacity);
        }
        Ok(n)
    }

    /// Copies the samples `indices` of `data` into the input rows (batches of more than
    /// one); checks that every feature is finite.
    fn gather(&mut self, data: &Dataset<'_, L::Scalar>, indices: &[u16]) -> Result<usize> {
        let inputs = self.net.layers.inputs();
        check_len(inputs, data.dim())?;
        if indices.len() > self.net.layers.capacity(&self.buf) {
            return Err(Error::Capacity);
        }
        let dst = self.input.as_mut();
        for (row, &i) in dst.chunks_exact_mut(inputs.max(1)).zip(indices) {
            let (x, _) = data.get(usize::from(i)).ok_or(Error::EmptyData)?;
            if !L::Scalar::all_finite(x) {
                return Err(Error::NonFiniteInput);
            }
            row.copy_from_slice(x);
        }
        Ok(indices.len())
    }
}

impl<L: Net, M, const B: usize> crate::layer::sealed::Sealed for Training<L, M, B> {}

impl<L: Net, M: Math<L::Scalar>, const B: usize> Model for Training<L, M, B> {
    type Scalar = L::Scalar;
    type Math = M;

    fn inputs(&self) -> usize {
        self.net.layers.inputs()
    }
    fn outputs(&self) -> usize {
        self.net.layers.outputs()
    }
    fn depth(&self) -> usize {
        self.net.layers.depth()
    }
    fn params(&self) -> usize {
        self.net.layers.params()
    }
    fn capacity(&self) -> usize {
        self.net.layers.capacity(&self.buf)
    }
    fn needs_batch(&self) -> bool {
        self.net.layers.needs_batch()
    }
    fn output_activation(&self) -> Option<Activation<L::Scalar>> {
        self.net.layers.output_activation()
    }
    fn rows(&self) -> usize {
        self.rows as usize
    }

    #[inline]
    fn forward(&mut self, pass: &mut Pass<'_>, x: &[L::Scalar]) -> Result<()> {
        let n = self.rows_of(x)?;
        run_forward::<L, M, B>(&self.net.layers, pass, x, n, &mut self.buf);
        self.rows = n as u32;
        Ok(())
    }

    #[inline]
    fn forward_samples(
        &mut self,
        pass: &mut Pass<'_>,
        data: &Dataset<'_, L::Scalar>,
        indices: &[u16],
    ) -> Result<()> {
        if let [i] = indices {
            let (x, _) = data.get(usize::from(*i)).ok_or(Error::EmptyData)?;
            if !L::Scalar::all_finite(x) {
                return Err(Error::NonFiniteInput);
            }
            return self.forward(pass, x);
        }
        let n = self.gather(data, indices)?;
        let inputs = self.net.layers.inputs();
        let x = crate::layer::rows(self.input.as_ref(), inputs, n);
        run_forward::<L, M, B>(&self.net.layers, pass, x, n, &mut self.buf);
        self.rows = n as u32;
        Ok(())
    }

    #[inline]
    fn output(&self) -> &[L::Scalar] {
        let outputs = self.net.layers.outputs();
        crate::layer::rows(
            self.net.layers.output(&self.buf),
            outputs,
            self.rows as usize,
        )
    }

    #[inline]
    fn head_mut(&mut self) -> Option<crate::model::Head<'_, L::Scalar>> {
        let (outputs, rows) = (self.net.layers.outputs(), self.rows as usize);
        let (z, a) = self.net.layers.head(&mut self.buf)?;
        Some((
            crate::layer::rows_mut(z, outputs, rows),
            crate::layer::rows(a, outputs, rows),
        ))
    }

    #[inline]
    fn backward(
        &mut self,
        x: &[L::Scalar],
        input_grad: Option<&mut [L::Scalar]>,
        grads: Grads,
    ) -> Result<()> {
        let n = self.rows_of(x)?;
        if n != self.rows as usize {
            return Err(Error::ShapeMismatch {
                expected: self.rows as usize,
                found: n,
            });
        }
        let inputs = self.net.layers.inputs();
        match input_grad {
            Some(grad) => {
                check_len(x.len(), grad.len())?;
                let mut up = InputGrad {
                    grad,
                    width: inputs,
                };
                run_backward::<L, M, B>(&self.net.layers, &mut self.buf, x, n, &mut up, grads);
            }
            None => {
                run_backward::<L, M, B>(&self.net.layers, &mut self.buf, x, n, &mut Nowhere, grads);
            }
        }
        Ok(())
    }

    #[inline]
    fn backward_samples(
        &mut self,
        data: &Dataset<'_, L::Scalar>,
        indices: &[u16],
        grads: Grads,
    ) -> Result<()> {
        if let [i] = indices {
            let (x, _) = data.get(usize::from(*i)).ok_or(Error::EmptyData)?;
            return self.backward(x, None, grads);
        }
        let n = indices.len();
        if n != self.rows as usize {
            return Err(Error::ShapeMismatch {
                expected: self.rows as usize,
                found: n,
            });
        }
        let inputs = self.net.layers.inputs();
        let x = crate::layer::rows(self.input.as_ref(), inputs, n);
        run_backward::<L, M, B>(&self.net.layers, &mut self.buf, x, n, &mut Nowhere, grads);
        Ok(())
    }

    #[inline]
    fn online_step<O: Optimizer<L::Scalar>>(&mut self, opt: &mut O, x: &[L::Scalar]) -> Result<()> {
        let n = self.rows_of(x)?;
        if n != 1 || self.rows != 1 {
            return Err(Error::ShapeMismatch {
                expected: 1,
                found: n,
            });
        }
        run_backward::<L, M, B>(
            &self.net.layers,
            &mut self.buf,
            x,
            1,
            &mut Nowhere,
            Grads::Skip,
        );
        let params = self.net.layers.params();
        // The cheap proof first; without it, every update is evaluated before any is made.
        let proven = self.online_bound(opt, x);
        if proven.is_none() {
            let (layers, buf) = (&self.net.layers, &self.buf);
            // One row moves no running statistic: there is no commit to check.
            if !layers.online_accepts(buf, x, opt, params, 0) {
                return Err(Error::NonFiniteUpdate);
            }
        }
        opt.begin_step(params)?;
        self.net.layers.update_online(&self.buf, x, opt, 0);
        self.bound = match proven {
            Some(bound) => bound,
            // Measured once, for the next steps to prove themselves from.
            None if opt.max_step(L::Scalar::ONE).is_some() => self.max_abs(),
            None => L::Scalar::MAX,
        };
        Ok(())
    }

    fn commit(&mut self) {
        self.net.layers.commit(&self.buf, self.rows as usize);
    }

    fn commit_finite(&self) -> bool {
        self.net.layers.commit_finite(&self.buf, self.rows as usize)
    }

    fn visit_layers<'a, F: FnMut(LayerRef<'a, L::Scalar>)>(&'a self, mut f: F) {
        let at = At {
            rows: self.rows as usize,
            ..At::default()
        };
        self.net.layers.visit(Some(&self.buf), at, &mut f);
    }

    fn visit_layers_mut<'a, F: FnMut(LayerMut<'a, L::Scalar>)>(&'a mut self, mut f: F) {
        self.bound = L::Scalar::MAX;
        let at = At {
            rows: self.rows as usize,
            ..At::default()
        };
        self.net.layers.visit_mut(Some(&mut self.buf), at, &mut f);
    }

    fn specs(&self, f: &mut dyn FnMut(crate::layer::Spec)) {
        self.net.specs(f);
    }

    fn set_specs(&mut self, next: &mut dyn FnMut() -> Option<crate::layer::Spec>) -> Result<()> {
        self.bound = L::Scalar::MAX;
        self.net.set_specs(next)
    }
}
