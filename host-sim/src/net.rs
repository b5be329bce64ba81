//! A network whose shape is chosen at run time (`--layers 2,16,16,1`), for the host.
//!
//! [`DynNet`] keeps each layer in `Vec`s and implements [`microprop::Model`] by calling the
//! core's slice kernels ([`kernel::dense_forward`], [`kernel::dense_backward`]) in the same
//! order as the typed chain does, so training on the host runs exactly the core's
//! arithmetic: a `DynNet` and an `mlp!` network with the same seed end with the same
//! weights hash (checked by `host-sim/tests/sim_net.rs`).

use std::marker::PhantomData;

use microprop::{
    kernel::{self, Grads, Upstream},
    layer::{LayerMut, LayerRef},
    Activation, Error, Init, Math, Model, Result, Scalar,
};
use rand_core::RngCore;

/// One dense layer: parameters, gradients and forward cache.
#[derive(Clone, Debug)]
pub struct DynLayer<S> {
    /// Input count.
    pub inputs: usize,
    /// Output count.
    pub outputs: usize,
    /// Activation.
    pub act: Activation,
    /// Weights, row-major (`w[o * inputs + i]`).
    pub w: Vec<S>,
    /// Biases.
    pub b: Vec<S>,
    /// Accumulated weight gradients.
    pub gw: Vec<S>,
    /// Accumulated bias gradients.
    pub gb: Vec<S>,
    /// Pre-activations (δ after backward).
    pub z: Vec<S>,
    /// Activations.
    pub a: Vec<S>,
}

/// A run-time shaped fully-connected network with its training buffers.
#[derive(Clone, Debug)]
pub struct DynNet<S, M> {
    sizes: Vec<usize>,
    layers: Vec<DynLayer<S>>,
    /// `Wᵀ δ` of the backward pass, as wide as the widest layer.
    scratch: Vec<S>,
    math: PhantomData<M>,
}

impl<S: Scalar, M: Math<S>> DynNet<S, M> {
    /// A network with layer sizes `sizes` (input first), all weights zero, `hidden` on every
    /// layer but the last and `output` on the last.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] for fewer than two sizes, a zero size, or softmax
    /// on a hidden layer.
    pub fn zeroed(sizes: &[usize], hidden: Activation, output: Activation) -> Result<Self> {
        if sizes.len() < 2 || sizes.contains(&0) {
            return Err(Error::InvalidHyperParameter(
                "layers: at least two sizes, none zero",
            ));
        }
        if hidden == Activation::Softmax && sizes.len() > 2 {
            return Err(Error::InvalidHyperParameter(
                "softmax is only valid on the output layer",
            ));
        }
        let depth = sizes.len() - 1;
        let layers = sizes
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                let (n_in, n_out) = (w[0], w[1]);
                DynLayer {
                    inputs: n_in,
                    outputs: n_out,
                    act: if i + 1 == depth { output } else { hidden },
                    w: vec![S::ZERO; n_in * n_out],
                    b: vec![S::ZERO; n_out],
                    gw: vec![S::ZERO; n_in * n_out],
                    gb: vec![S::ZERO; n_out],
                    z: vec![S::ZERO; n_out],
                    a: vec![S::ZERO; n_out],
                }
            })
            .collect();
        Ok(DynNet {
            sizes: sizes.to_vec(),
            layers,
            scratch: vec![S::ZERO; sizes.iter().copied().max().unwrap_or(0)],
            math: PhantomData,
        })
    }

    /// A network initialised like [`microprop::Network::new`]: layer by layer, weights by
    /// `init` from `rng`, every bias set to `bias` (same draws in the same order, so the
    /// same seed gives the same weights as the typed network).
    ///
    /// # Errors
    /// As [`DynNet::zeroed`]; [`Error::InvalidHyperParameter`] for a bad scale or bias.
    pub fn new(
        sizes: &[usize],
        hidden: Activation,
        output: Activation,
        init: Init,
        bias: f32,
        rng: &mut (impl RngCore + ?Sized),
    ) -> Result<Self> {
        let mut net = Self::zeroed(sizes, hidden, output)?;
        net.init(init, bias, rng)?;
        Ok(net)
    }

    /// Re-initialises every layer.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] for a bad scale or bias.
    pub fn init(&mut self, init: Init, bias: f32, rng: &mut (impl RngCore + ?Sized)) -> Result<()> {
        init.validate()?;
        if !bias.is_finite() {
            return Err(Error::InvalidHyperParameter("bias init"));
        }
        for l in &mut self.layers {
            init.fill(&mut l.w, l.inputs, l.outputs, rng);
            l.b.fill(S::from_f32(bias));
        }
        Ok(())
    }

    /// Layer sizes, input first.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// The layers.
    pub fn layers(&self) -> &[DynLayer<S>] {
        &self.layers
    }

    /// The layers, mutably (weights may be edited; shapes must not change).
    pub fn layers_mut(&mut self) -> &mut [DynLayer<S>] {
        &mut self.layers
    }

    /// Bytes of the weights (parameters plus one activation per layer), the same formula
    /// as [`microprop::Network::BYTES`].
    pub fn weight_bytes(&self) -> usize {
        self.params() * S::BYTES + self.layers.len() * std::mem::size_of::<Activation>()
    }

    /// Bytes of the training buffers, the same formula as
    /// [`microprop::Network::TRAINING_BYTES`].
    pub fn training_bytes(&self) -> usize {
        let units: usize = self.sizes.iter().skip(1).sum();
        (self.params() + 2 * units) * S::BYTES
    }

    /// Forward pass then the output activations, copied.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for a wrong input length.
    pub fn predict(&mut self, x: &[S]) -> Result<Vec<S>> {
        self.forward(x)?;
        Ok(self.output().1.to_vec())
    }
}

fn check_len(expected: usize, found: usize) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::ShapeMismatch { expected, found })
    }
}

impl<S: Scalar, M: Math<S>> Model for DynNet<S, M> {
    type Scalar = S;
    type Math = M;

    fn inputs(&self) -> usize {
        self.sizes.first().copied().unwrap_or(0)
    }
    fn outputs(&self) -> usize {
        self.sizes.last().copied().unwrap_or(0)
    }
    fn depth(&self) -> usize {
        self.layers.len()
    }
    fn params(&self) -> usize {
        self.layers.iter().map(|l| l.w.len() + l.b.len()).sum()
    }

    fn forward(&mut self, x: &[S]) -> Result<()> {
        check_len(self.inputs(), x.len())?;
        for i in 0..self.layers.len() {
            let (done, rest) = self.layers.split_at_mut(i);
            let l = &mut rest[0];
            let input: &[S] = match done.last() {
                Some(prev) => &prev.a,
                None => x,
            };
            kernel::dense_forward::<S, M>(&l.w, &l.b, l.act, input, &mut l.z, &mut l.a);
        }
        Ok(())
    }

    fn output(&self) -> (&[S], &[S]) {
        match self.layers.last() {
            Some(l) => (&l.z, &l.a),
            None => (&[], &[]),
        }
    }

    fn output_mut(&mut self) -> (&mut [S], &[S]) {
        match self.layers.last_mut() {
            Some(l) => (&mut l.z, &l.a),
            None => (&mut [], &[]),
        }
    }

    fn output_activation(&self) -> Activation {
        self.layers
            .last()
            .map(|l| l.act)
            .unwrap_or(Activation::Identity)
    }

    fn backward(&mut self, x: &[S], input_grad: Option<&mut [S]>, grads: Grads) -> Result<()> {
        check_len(self.inputs(), x.len())?;
        if let Some(g) = &input_grad {
            check_len(self.inputs(), g.len())?;
        }
        let mut input_grad = input_grad;
        let DynNet {
            layers, scratch, ..
        } = self;
        // Last layer first: each layer turns the previous layer's z into its δ, exactly as
        // the typed chain's recursion does.
        for i in (0..layers.len()).rev() {
            let (before, rest) = layers.split_at_mut(i);
            let DynLayer { w, gw, gb, z, .. } = &mut rest[0];
            match before.last_mut() {
                Some(prev) => {
                    let DynLayer {
                        z: pz,
                        a: pa,
                        act: pact,
                        outputs,
                        ..
                    } = prev;
                    let upstream = Upstream::Hidden {
                        z: pz,
                        a: pa,
                        act: *pact,
                        scratch: &mut scratch[..*outputs],
                    };
                    kernel::dense_backward::<S, M>(w, gw, gb, z, pa, upstream, grads);
                }
                None => {
                    let upstream = Upstream::Input {
                        grad: input_grad.take(),
                    };
                    kernel::dense_backward::<S, M>(w, gw, gb, z, x, upstream, grads);
                }
            }
        }
        Ok(())
    }

    fn visit_layers_mut(&mut self, f: &mut dyn FnMut(LayerMut<'_, S>)) {
        for (index, l) in self.layers.iter_mut().enumerate() {
            f(LayerMut {
                index,
                inputs: l.inputs,
                outputs: l.outputs,
                activation: l.act,
                w: &mut l.w,
                b: &mut l.b,
                gw: &mut l.gw,
                gb: &mut l.gb,
                z: &mut l.z,
                a: &mut l.a,
            });
        }
    }

    fn visit_layers(&self, f: &mut dyn FnMut(LayerRef<'_, S>)) {
        for (index, l) in self.layers.iter().enumerate() {
            f(LayerRef {
                index,
                inputs: l.inputs,
                outputs: l.outputs,
                activation: l.act,
                w: &l.w,
                b: &l.b,
                gw: &l.gw,
                gb: &l.gb,
                z: &l.z,
                a: &l.a,
            });
        }
    }
}
