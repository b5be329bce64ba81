//! A network's weights ([`Network`]) and its training state ([`Training`]).

use core::marker::PhantomData;

use crate::{
    init::Init,
    kernel::{Grads, Upstream},
    layer::{Buffers, LayerMut, LayerRef, Layers, WeightsMut},
    Activation, Error, Libm, Math, Model, Result, Scalar,
};

/// Declares a network type: the scalar, optionally the maths backend, then the layer
/// sizes from input to output.
///
/// ```
/// use microprop::{mlp, Micromath};
/// type Wide = mlp![f32; 2, 32, 32, 1];
/// type Deep = mlp![f32; 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1]; // nine hidden layers of 2
/// type Fast = mlp![f32, Micromath; 2, 16, 1];
/// assert_eq!(Wide::PARAMS, 2 * 32 + 32 + 32 * 32 + 32 + 32 + 1);
/// assert_eq!(Deep::DEPTH, 10);
/// ```
#[macro_export]
macro_rules! mlp {
    (@chain $s:ty; $a:tt, $b:tt) => { $crate::layer::Dense<$s, $a, $b> };
    (@chain $s:ty; $a:tt, $b:tt, $($rest:tt),+) => {
        $crate::layer::Dense<$s, $a, $b, $crate::mlp!(@chain $s; $b, $($rest),+)>
    };
    ($s:ty, $m:ty; $($n:tt),+ $(,)?) => { $crate::Network<$crate::mlp!(@chain $s; $($n),+), $m> };
    ($s:ty; $($n:tt),+ $(,)?) => { $crate::Network<$crate::mlp!(@chain $s; $($n),+), $crate::Libm> };
}

/// A trained (or training) network's weights: everything inference needs, nothing more.
///
/// `L` is the layer chain (declare it with [`mlp!`](crate::mlp)), `M` the maths backend.
/// Its size is exactly [`Network::BYTES`]: the parameters plus one [`Activation`] per
/// layer. Training needs gradients and a forward cache too; [`Training`] owns those, and
/// [`Training::into_network`] gives the weights back, so a device that only runs a trained
/// model keeps only a `Network`.
#[derive(Clone, Debug, PartialEq)]
pub struct Network<L, M = Libm> {
    layers: L,
    math: PhantomData<M>,
}

impl<L: Layers, M: Math<L::Scalar>> Network<L, M> {
    /// Input features.
    pub const INPUTS: usize = L::INPUTS;
    /// Output units.
    pub const OUTPUTS: usize = L::OUTPUTS;
    /// Dense layers.
    pub const DEPTH: usize = L::DEPTH;
    /// Trainable parameters: `Σ (inputs · outputs + outputs)` over the layers.
    pub const PARAMS: usize = L::PARAMS;
    /// Bytes of the weights value: `PARAMS · size_of::<S>() + DEPTH · size_of::<Activation>()`.
    pub const BYTES: usize =
        L::PARAMS * <L::Scalar as Scalar>::BYTES + L::DEPTH * core::mem::size_of::<Activation>();
    /// Bytes of the training buffers: gradients (`PARAMS` scalars) plus the forward cache
    /// (`z` and `a` of every unit, `2 · UNITS` scalars).
    pub const TRAINING_BYTES: usize = (L::PARAMS + 2 * L::UNITS) * <L::Scalar as Scalar>::BYTES;

    /// Everything training needs, in bytes: weights, training buffers, and the state of an
    /// optimizer that keeps `slots` scalars per parameter (0 for SGD, 1 for Momentum,
    /// Nesterov, AdaGrad and RMSProp, 2 for Adam and AdamW: their `SLOTS`).
    pub const fn bytes_to_train(slots: usize) -> usize {
        Self::BYTES + Self::TRAINING_BYTES + slots * L::PARAMS * <L::Scalar as Scalar>::BYTES
    }

    /// A network with all weights zero, `hidden` on every layer but the last and `output`
    /// on the last.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] if softmax is asked for a hidden layer, or α is
    /// not finite.
    pub fn zeroed(hidden: Activation, output: Activation) -> Result<Self>
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

    /// A network initialised by `init` (weights) and `bias` (every bias), drawing from
    /// `rng`.
    ///
    /// # Errors
    /// As [`Network::zeroed`], and [`Error::InvalidHyperParameter`] for an invalid
    /// initialiser scale or bias.
    pub fn new(
        hidden: Activation,
        output: Activation,
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

    /// Sets the activations: `hidden` on every layer but the last, `output` on the last.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] if softmax is asked for a hidden layer, or α is
    /// not finite.
    pub fn set_activations(&mut self, hidden: Activation, output: Activation) -> Result<()> {
        if hidden == Activation::Softmax && L::DEPTH > 1 {
            return Err(Error::InvalidHyperParameter(
                "softmax is only valid on the output layer",
            ));
        }
        if !hidden.alpha().is_finite() || !output.alpha().is_finite() {
            return Err(Error::InvalidHyperParameter("activation alpha"));
        }
        let last = L::DEPTH - 1;
        self.layers.visit_weights(0, &mut |l| {
            *l.activation = if l.index == last { output } else { hidden };
        });
        Ok(())
    }

    /// Re-initialises every weight with `init` and every bias to `bias`.
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
        self.layers.visit_weights(0, &mut |l| {
            init.fill(l.w, l.inputs, l.outputs, rng);
            l.b.fill(L::Scalar::from_f32(bias));
        });
        Ok(())
    }

    /// Runs the network: writes the output layer's activations for input `x`.
    ///
    /// # Errors
    /// [`Error::NonFiniteInput`] if `x` holds NaN or ±∞.
    pub fn predict(&self, x: &L::Input) -> Result<L::Output> {
        if !L::Scalar::all_finite(x.as_ref()) {
            return Err(Error::NonFiniteInput);
        }
        let mut out = L::ZERO_OUTPUT;
        self.layers.infer::<M>(x.as_ref(), out.as_mut());
        Ok(out)
    }

    /// Runs the network on a slice.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for wrong lengths, [`Error::NonFiniteInput`] for NaN/±∞.
    pub fn predict_slice(&self, x: &[L::Scalar], out: &mut [L::Scalar]) -> Result<()> {
        check_len(L::INPUTS, x.len())?;
        check_len(L::OUTPUTS, out.len())?;
        if !L::Scalar::all_finite(x) {
            return Err(Error::NonFiniteInput);
        }
        self.layers.infer::<M>(x, out);
        Ok(())
    }

    /// The layer chain.
    pub fn layers(&self) -> &L {
        &self.layers
    }

    /// Visits every layer's weights, first to last (for custom initialisation, loading,
    /// or quantisation).
    pub fn visit_weights_mut(&mut self, f: &mut dyn FnMut(WeightsMut<'_, L::Scalar>)) {
        self.layers.visit_weights(0, f);
    }

    /// A bit-exact FNV-1a hash of the weights (see [`Model::weights_hash`]).
    pub fn weights_hash(&mut self) -> u64 {
        let mut h = crate::hash::Fnv1a::new();
        self.layers.visit_weights(0, &mut |l| {
            h.scalars(l.w);
            h.scalars(l.b);
        });
        h.finish()
    }

    /// Pairs the network with fresh training buffers.
    pub fn into_training(self) -> Training<L, M> {
        Training {
            net: self,
            buf: L::Buffers::zeroed(),
        }
    }
}

fn check_len(expected: usize, found: usize) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::ShapeMismatch { expected, found })
    }
}

/// A [`Network`] together with its training buffers (gradients and forward cache).
///
/// Its size is exactly `Network::BYTES + Network::TRAINING_BYTES`. It implements
/// [`Model`], which is what the trainer, optimizers and diagnostics work on.
#[derive(Clone, Debug)]
pub struct Training<L: Layers, M = Libm> {
    net: Network<L, M>,
    buf: L::Buffers,
}

impl<L: Layers, M: Math<L::Scalar>> Training<L, M> {
    /// The weights.
    pub fn network(&self) -> &Network<L, M> {
        &self.net
    }
    /// The weights, mutably.
    pub fn network_mut(&mut self) -> &mut Network<L, M> {
        &mut self.net
    }
    /// Drops the training buffers and returns the weights.
    pub fn into_network(self) -> Network<L, M> {
        self.net
    }
    /// The training buffers.
    pub fn buffers(&self) -> &L::Buffers {
        &self.buf
    }
}

impl<L: Layers, M: Math<L::Scalar>> Model for Training<L, M> {
    type Scalar = L::Scalar;
    type Math = M;

    fn inputs(&self) -> usize {
        L::INPUTS
    }
    fn outputs(&self) -> usize {
        L::OUTPUTS
    }
    fn depth(&self) -> usize {
        L::DEPTH
    }
    fn params(&self) -> usize {
        L::PARAMS
    }
    #[inline]
    fn forward(&mut self, x: &[L::Scalar]) -> Result<()> {
        check_len(L::INPUTS, x.len())?;
        self.net.layers.forward::<M>(&mut self.buf, x);
        Ok(())
    }
    #[inline]
    fn output(&self) -> (&[L::Scalar], &[L::Scalar]) {
        L::output(&self.buf)
    }
    #[inline]
    fn output_mut(&mut self) -> (&mut [L::Scalar], &[L::Scalar]) {
        L::output_mut(&mut self.buf)
    }
    fn output_activation(&self) -> Activation {
        self.net.layers.output_activation()
    }
    #[inline]
    fn backward(
        &mut self,
        x: &[L::Scalar],
        input_grad: Option<&mut [L::Scalar]>,
        grads: Grads,
    ) -> Result<()> {
        check_len(L::INPUTS, x.len())?;
        if let Some(g) = &input_grad {
            check_len(L::INPUTS, g.len())?;
        }
        self.net.layers.backward::<M>(
            &mut self.buf,
            x,
            Upstream::Input { grad: input_grad },
            grads,
        );
        Ok(())
    }
    #[inline]
    fn online_step<O: crate::Optimizer<L::Scalar>>(
        &mut self,
        opt: &mut O,
        x: &[L::Scalar],
    ) -> Result<()> {
        check_len(L::INPUTS, x.len())?;
        self.net.layers.backward::<M>(
            &mut self.buf,
            x,
            Upstream::Input { grad: None },
            Grads::Skip,
        );
        if !L::online_finite(&self.buf, x) {
            return Err(Error::NonFiniteGradient);
        }
        opt.begin_step(L::PARAMS)?;
        self.net
            .layers
            .update_online(&self.buf, x, opt, 0, L::Scalar::ONE);
        Ok(())
    }
    #[inline]
    fn apply_update<O: crate::Optimizer<L::Scalar>>(&mut self, opt: &mut O, scale: L::Scalar) {
        self.net.layers.update(&self.buf, opt, 0, scale);
    }
    #[inline]
    fn grads_finite(&self) -> bool {
        L::grads_finite(&self.buf)
    }
    fn visit_layers_mut(&mut self, f: &mut dyn FnMut(LayerMut<'_, L::Scalar>)) {
        self.net.layers.visit_mut(&mut self.buf, 0, f);
    }
    fn visit_layers(&self, f: &mut dyn FnMut(LayerRef<'_, L::Scalar>)) {
        self.net.layers.visit(&self.buf, 0, f);
    }
}
