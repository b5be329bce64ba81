//! Networks whose shape is chosen at run time (`--layers 2,16,16,1`), for the host.
//!
//! They are the core's networks: a [`Sequential`] of the core's run-time layers, with its
//! numbers in `Vec`s ([`Heap`]). Forward, backward, the training step, the model file and
//! every diagnostic are the core's code, so a run-time network and an `mlp!` network with
//! the same seed end with the same weights hash (checked by `host-sim/tests/sim_net.rs`).

use microprop::{
    layer::{DynLayer, Sequential},
    Activation, Init, Math, Network, Result, Scalar, Training,
};
use rand_core::RngCore;

/// The host's storage family, every buffer a `Vec`: `microprop-heap`'s, which
/// the browser playground uses too.
pub use microprop_heap::Heap;

/// A run-time sequence of layers on the heap.
pub type HostLayers<S> = Sequential<S, Heap>;
/// A run-time layer on the heap.
pub type HostLayer<S> = DynLayer<S, Heap>;
/// A run-time network's weights.
pub type HostNetwork<S, M> = Network<HostLayers<S>, M>;
/// A run-time network with its training buffers (batch capacity chosen when made).
pub type HostNet<S, M> = Training<HostLayers<S>, M>;

/// The dense layers of a shape, and of a shape with batch norm and dropout: the core's
/// builders on the [`Heap`] (crate `microprop-heap`), which the browser playground uses too.
pub use microprop_heap::{dense_layers, dense_layers_with, layers_with, Extras};

/// A network of `layers`, all weights as the layers hold them (zero from
/// [`dense_layers`]).
///
/// # Errors
/// As [`Sequential::new`] and [`Network::from_layers`].
pub fn network<S: Scalar, M: Math<S>>(layers: Vec<HostLayer<S>>) -> Result<HostNetwork<S, M>> {
    Network::from_layers(Sequential::new(layers)?)
}

/// A network of `layers`, initialised like [`microprop::Network::new`] (weights by `init`
/// from `rng`, dense biases `bias`: the same draws in the same order as the compile-time
/// network of the same shape), with buffers for batches of up to `capacity` rows.
///
/// # Errors
/// As [`Sequential::new`] and [`Network::init`];
/// [`Error::Capacity`](microprop::Error::Capacity) for `capacity = 0`.
pub fn build<S: Scalar, M: Math<S>>(
    layers: Vec<HostLayer<S>>,
    init: Init,
    bias: f32,
    capacity: usize,
    rng: &mut (impl RngCore + ?Sized),
) -> Result<HostNet<S, M>> {
    let mut net = network::<S, M>(layers)?;
    net.init(init, bias, rng)?;
    Training::new(net, capacity)
}

/// [`build`] for the dense network of `sizes`, one row at a time.
///
/// # Errors
/// As [`dense_layers`] and [`build`].
pub fn dense<S: Scalar, M: Math<S>>(
    sizes: &[usize],
    hidden: Activation<S>,
    output: Activation<S>,
    init: Init,
    bias: f32,
    rng: &mut (impl RngCore + ?Sized),
) -> Result<HostNet<S, M>> {
    build(dense_layers(sizes, hidden, output)?, init, bias, 1, rng)
}

/// Bytes of a network's parameters and state plus one activation (8 bytes for `f32`, 16
/// for `f64`) per layer:
/// the same formula as [`microprop::Network::BYTES`] for dense networks.
pub fn weight_bytes<S: Scalar, M: Math<S>>(net: &HostNetwork<S, M>) -> usize {
    let mut bytes = 0;
    net.visit(|l| {
        bytes += (l.w.len() + l.b.len() + l.state.len()) * S::BYTES;
        bytes += std::mem::size_of::<Activation<S>>();
    });
    bytes
}

/// Bytes of the training buffers for `capacity` rows: the formula of
/// [`microprop::Network::training_bytes`].
pub fn training_bytes<S: Scalar, M: Math<S>>(net: &HostNet<S, M>) -> usize {
    use microprop::Model;
    let (mut grads, mut rows) = (0, net.inputs());
    net.visit_layers(|l| {
        grads += l.gw.len() + l.gb.len();
        rows += 2 * l.outputs;
    });
    // The last two scalars' worth: the row count of the last pass (a `u32`, padded) and
    // the online steps' bound on the weights (`Training::weight_bound`).
    (grads + net.capacity() * rows + 2) * S::BYTES
}

/// Whether every weight and bias of the network is finite (an initialiser scaled past
/// the scalar type's range is not).
pub fn weights_finite<T: microprop::Model>(net: &T) -> bool {
    let mut ok = true;
    net.visit_layers(|l| {
        ok &= l.w.iter().chain(l.b.iter()).all(|v| v.is_finite());
    });
    ok
}

/// The first layer's weights, copied (the landscape and zig-zag experiments sweep them).
pub fn first_weights<S: Scalar, M: Math<S>>(net: &HostNet<S, M>) -> Vec<S> {
    use microprop::Model;
    let mut w = Vec::new();
    net.visit_layers(|l| {
        if l.index == 0 {
            w = l.w.to_vec();
        }
    });
    w
}

/// Runs the network in evaluation mode on one sample.
///
/// # Errors
/// [`Error::ShapeMismatch`](microprop::Error::ShapeMismatch) or
/// [`Error::NonFiniteInput`](microprop::Error::NonFiniteInput) for a bad sample.
pub fn predict<S: Scalar, M: Math<S>>(net: &HostNetwork<S, M>, x: &[S]) -> Result<Vec<S>> {
    use microprop::layer::Seq;
    let mut out = vec![S::ZERO; net.layers().outputs()];
    net.predict_slice(x, &mut out)?;
    Ok(out)
}
