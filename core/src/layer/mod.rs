//! Layers and the type-level chain that makes a network.

mod dense;

pub use dense::{Dense, DenseBuffers};

use crate::{
    kernel::{Grads, Upstream},
    optim::Optimizer,
    Activation, Math, Scalar,
};

/// A chain of layers whose sizes are checked by the compiler.
///
/// Implemented by [`Dense`] (and by a `Dense` followed by another chain). `Input` and
/// `Output` are arrays, so a layer that does not accept the previous layer's output does
/// not type-check. Users do not implement this trait; they declare networks with
/// [`mlp!`](crate::mlp).
pub trait Layers: Clone {
    /// The scalar type.
    type Scalar: Scalar;
    /// `[Scalar; INPUTS]`.
    type Input: AsRef<[Self::Scalar]> + AsMut<[Self::Scalar]> + Copy;
    /// `[Scalar; OUTPUTS]` of the last layer.
    type Output: AsRef<[Self::Scalar]> + AsMut<[Self::Scalar]> + Copy;
    /// Gradients and activation cache for training, laid out like the chain.
    type Buffers: Buffers<Self::Scalar>;
    /// Input features.
    const INPUTS: usize;
    /// Outputs of the last layer.
    const OUTPUTS: usize;
    /// Number of dense layers.
    const DEPTH: usize;
    /// Number of trainable parameters (weights and biases).
    const PARAMS: usize;
    /// Activations cached per sample (`Σ outputs` over the layers).
    const UNITS: usize;
    /// The widest layer's output count.
    const MAX_WIDTH: usize;
    /// An all-zero output array.
    const ZERO_OUTPUT: Self::Output;

    /// Inference: writes the last layer's activations to `out` (intermediates live on the
    /// stack, `2 × width` scalars per layer).
    fn infer<M: Math<Self::Scalar>>(&self, x: &[Self::Scalar], out: &mut [Self::Scalar]);
    /// Training forward pass: caches every layer's `z` and `a` in `buf`.
    fn forward<M: Math<Self::Scalar>>(&self, buf: &mut Self::Buffers, x: &[Self::Scalar]);
    /// Backward pass from the δ in the last layer's `z` cache; `x` is the chain's input.
    /// Every layer's `z` ends up holding its δ; parameter gradients are recorded as
    /// `grads` says; `upstream` receives what flows out of the first layer.
    fn backward<M: Math<Self::Scalar>>(
        &self,
        buf: &mut Self::Buffers,
        x: &[Self::Scalar],
        upstream: Upstream<'_, Self::Scalar>,
        grads: Grads,
    );
    /// The last layer's `(z, a)` cache.
    fn output(buf: &Self::Buffers) -> (&[Self::Scalar], &[Self::Scalar]);
    /// The last layer's `(z, a)` cache, `z` writable (the loss writes δ there).
    fn output_mut(buf: &mut Self::Buffers) -> (&mut [Self::Scalar], &[Self::Scalar]);
    /// The last layer's activation.
    fn output_activation(&self) -> Activation;
    /// Hands every layer's weights, then biases, to `opt` (first layer first; `offset` is
    /// the flat index of this chain's first parameter) with their accumulated gradients
    /// times `scale`. Monomorphised through the chain: no indirect calls in a step.
    fn update<O: Optimizer<Self::Scalar>>(
        &mut self,
        buf: &Self::Buffers,
        opt: &mut O,
        offset: usize,
        scale: Self::Scalar,
    );
    /// Online update after a [`Grads::Skip`] backward pass: each layer's gradient is the
    /// outer product of its δ (in `z`) and its input, handed to
    /// [`Optimizer::update_outer`] without being materialised. `x` is the chain's input.
    fn update_online<O: Optimizer<Self::Scalar>>(
        &mut self,
        buf: &Self::Buffers,
        x: &[Self::Scalar],
        opt: &mut O,
        offset: usize,
        scale: Self::Scalar,
    );
    /// Whether every layer's online gradient `δ xᵀ` is finite (see
    /// [`kernel::outer_is_finite`](crate::kernel::outer_is_finite)).
    fn online_finite(buf: &Self::Buffers, x: &[Self::Scalar]) -> bool;
    /// Whether every accumulated gradient is finite.
    fn grads_finite(buf: &Self::Buffers) -> bool;
    /// Visits every layer, first to last, with its parameters, gradients and cache.
    fn visit_mut(
        &mut self,
        buf: &mut Self::Buffers,
        index: usize,
        f: &mut dyn FnMut(LayerMut<'_, Self::Scalar>),
    );
    /// Visits every layer, first to last, read-only.
    fn visit(
        &self,
        buf: &Self::Buffers,
        index: usize,
        f: &mut dyn FnMut(LayerRef<'_, Self::Scalar>),
    );
    /// Visits every layer's weights, first to last (no training buffers needed).
    fn visit_weights(&mut self, index: usize, f: &mut dyn FnMut(WeightsMut<'_, Self::Scalar>));
}

/// Training buffers of a chain: they can be created zeroed and have their gradients cleared.
pub trait Buffers<S>: Clone {
    /// All gradients and caches zero.
    fn zeroed() -> Self;
}

/// One layer's parameters, gradients and cache, lent mutably.
#[derive(Debug)]
pub struct LayerMut<'a, S> {
    /// Position in the network, 0 = first layer.
    pub index: usize,
    /// Input count.
    pub inputs: usize,
    /// Output count.
    pub outputs: usize,
    /// The layer's activation.
    pub activation: Activation,
    /// Weights, row-major: `w[o · inputs + i]` connects input `i` to neuron `o`.
    pub w: &'a mut [S],
    /// Biases, one per neuron.
    pub b: &'a mut [S],
    /// Accumulated `∂L/∂w`, same layout as `w`.
    pub gw: &'a mut [S],
    /// Accumulated `∂L/∂b`.
    pub gb: &'a mut [S],
    /// Pre-activations of the last forward pass (δ after a backward pass).
    pub z: &'a mut [S],
    /// Activations of the last forward pass.
    pub a: &'a mut [S],
}

/// One layer's parameters, gradients and cache, read-only.
#[derive(Clone, Copy, Debug)]
pub struct LayerRef<'a, S> {
    /// Position in the network, 0 = first layer.
    pub index: usize,
    /// Input count.
    pub inputs: usize,
    /// Output count.
    pub outputs: usize,
    /// The layer's activation.
    pub activation: Activation,
    /// Weights, row-major.
    pub w: &'a [S],
    /// Biases.
    pub b: &'a [S],
    /// Accumulated `∂L/∂w`.
    pub gw: &'a [S],
    /// Accumulated `∂L/∂b`.
    pub gb: &'a [S],
    /// Pre-activations of the last forward pass (δ after a backward pass).
    pub z: &'a [S],
    /// Activations of the last forward pass.
    pub a: &'a [S],
}

/// One layer's weights and biases, lent mutably (initialisation, loading).
#[derive(Debug)]
pub struct WeightsMut<'a, S> {
    /// Position in the network, 0 = first layer.
    pub index: usize,
    /// Input count (fan-in).
    pub inputs: usize,
    /// Output count (fan-out).
    pub outputs: usize,
    /// The layer's activation (writable: initialisation sets it).
    pub activation: &'a mut Activation,
    /// Weights, row-major.
    pub w: &'a mut [S],
    /// Biases.
    pub b: &'a mut [S],
}
