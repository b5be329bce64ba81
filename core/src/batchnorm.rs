//! Batch normalisation for dense layers, in a fixed-shape batch-wise network.
//!
//! Batch norm needs the whole batch between two layers (its statistics are over the
//! batch), which the per-sample [`Model`](crate::Model) chain does not have. [`BnNet`] is
//! therefore its own network type: an input layer of `IN` features, `LINKS + 1` hidden
//! dense layers of width `W`, each followed by batch norm (optional), the activation and
//! dropout (optional), and a dense output layer of `OUT` units. Every buffer is sized by
//! the const parameters, the batch size `B` included, so it lives on the stack or in a
//! `static` on a microcontroller.
//!
//! Per hidden unit `j`, in training, over the `n` samples of the batch:
//! `μ = mean z`, `σ² = mean (z − μ)²`, `x̂ = (z − μ)/√(σ² + ε)`, `y = γ x̂ + β`, and the
//! running statistics move by `m`: `μ_r ← (1 − m) μ_r + m μ`,
//! `σ²_r ← (1 − m) σ²_r + m σ² n/(n − 1)`. In evaluation `x̂ = (z − μ_r)/√(σ²_r + ε)`.
//! The backward pass is exact:
//! `∂L/∂γ = Σ g x̂`, `∂L/∂β = Σ g`, and with `ĝ = γ g`,
//! `∂L/∂z = (1/n)/√(σ² + ε) · (n ĝ − Σ ĝ − x̂ Σ ĝ x̂)`.
//! A training batch of one sample has no variance: [`Error::BatchTooSmall`].
//!
//! ```
//! use microprop::{batchnorm::{BnConfig, BnNet}, data::Clusters, Activation, Dataset, Init, Loss, Libm, Sgd};
//! // The notes' 9-deep sigmoid net (nine hidden layers of 2), batches of 16.
//! type Deep = BnNet<f32, Libm, 2, 2, 8, 1, 16>;
//! let mut rng = microprop::rng(1);
//! let (mut x, mut l) = ([[0.0f32; 2]; 64], [0u8; 64]);
//! Clusters::two(0.5).generate(&mut rng, &mut x, &mut l)?;
//! let data = Dataset::new(&x, &l)?;
//! let mut net = Deep::new(Activation::Sigmoid, Activation::Sigmoid, Init::XavierNormal, 0.0, BnConfig::default(), &mut rng)?;
//! let mut order = [0u16; 64];
//! microprop::train::fill_order(&mut order)?;
//! let mut opt = Sgd::new(0.5)?;
//! for _ in 0..5 {
//!     net.epoch(&mut opt, Loss::Mse, &data, &mut order, &mut rng)?;
//! }
//! let m = net.evaluate(Loss::Mse, &data)?;
//! assert!(m.loss.is_finite());
//! # Ok::<(), microprop::Error>(())
//! ```

use core::marker::PhantomData;

use rand_core::RngCore;

use crate::{
    kernel, layer::Mode, loss::MAX_CLASSES, optim::Optimizer, regularization::Dropout,
    train::Metrics, Activation, Dataset, Error, Init, Libm, Loss, Math, Result, Scalar,
};

/// A visitor of parameter blocks: `(flat offset, parameters, gradients)`.
pub type ParamVisitor<'a, S> = dyn FnMut(usize, &mut [S], &mut [S]) + 'a;

/// Options of a [`BnNet`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BnConfig {
    /// Batch norm after every hidden dense layer (`false`: the same net without it).
    pub batch_norm: bool,
    /// Momentum `m` of the running statistics, in `(0, 1]`.
    pub momentum: f64,
    /// `ε` under the square root (> 0).
    pub eps: f64,
    /// Inverted dropout after every hidden activation (training only).
    pub dropout: Option<Dropout>,
}

impl Default for BnConfig {
    /// Batch norm on, `m = 0.1`, `ε = 1e-5` (PyTorch's defaults), no dropout.
    fn default() -> Self {
        BnConfig {
            batch_norm: true,
            momentum: 0.1,
            eps: 1e-5,
            dropout: None,
        }
    }
}

/// One hidden layer: dense `I → W`, batch norm, and their gradients.
#[derive(Clone, Debug)]
struct Hidden<S, const I: usize, const W: usize> {
    w: [[S; I]; W],
    b: [S; W],
    gamma: [S; W],
    beta: [S; W],
    mean: [S; W],
    var: [S; W],
    gw: [[S; I]; W],
    gb: [S; W],
    ggamma: [S; W],
    gbeta: [S; W],
}

/// A hidden layer's per-batch cache.
#[derive(Clone, Debug)]
struct Cache<S, const W: usize, const B: usize> {
    /// Pre-normalisation `z = W x + b`.
    z: [[S; W]; B],
    /// Normalised `x̂` (equal to `z` without batch norm).
    xhat: [[S; W]; B],
    /// Activation input `y = γ x̂ + β`.
    y: [[S; W]; B],
    /// Activation output before dropout.
    h: [[S; W]; B],
    /// The layer's output (after dropout): the next layer's input.
    a: [[S; W]; B],
    /// Dropout mask (1 without dropout).
    mask: [[S; W]; B],
    /// `∂L/∂a` on the way back, then `∂L/∂z` in place.
    g: [[S; W]; B],
    /// `1/√(σ² + ε)` per unit, as used by the forward pass.
    inv_std: [S; W],
}

/// Shared, scalar-typed options.
#[derive(Clone, Copy, Debug)]
struct Opts<S> {
    bn: bool,
    momentum: S,
    eps: S,
    dropout: Option<Dropout>,
    act: Activation,
}

impl<S: Scalar, const I: usize, const W: usize> Hidden<S, I, W> {
    fn new() -> Self {
        Hidden {
            w: [[S::ZERO; I]; W],
            b: [S::ZERO; W],
            gamma: [S::ONE; W],
            beta: [S::ZERO; W],
            mean: [S::ZERO; W],
            var: [S::ONE; W],
            gw: [[S::ZERO; I]; W],
            gb: [S::ZERO; W],
            ggamma: [S::ZERO; W],
            gbeta: [S::ZERO; W],
        }
    }

    fn zero_grads(&mut self) {
        self.gw.as_flattened_mut().fill(S::ZERO);
        self.gb.fill(S::ZERO);
        self.ggamma.fill(S::ZERO);
        self.gbeta.fill(S::ZERO);
    }

    fn grads_finite(&self) -> bool {
        S::all_finite(self.gw.as_flattened())
            & S::all_finite(&self.gb)
            & S::all_finite(&self.ggamma)
            & S::all_finite(&self.gbeta)
    }

    /// Parameter blocks in optimizer order: `W`, `b`, `γ`, `β`.
    fn visit(&mut self, offset: &mut usize, f: &mut ParamVisitor<'_, S>) {
        let blocks: [(&mut [S], &mut [S]); 4] = [
            (self.w.as_flattened_mut(), self.gw.as_flattened_mut()),
            (&mut self.b, &mut self.gb),
            (&mut self.gamma, &mut self.ggamma),
            (&mut self.beta, &mut self.gbeta),
        ];
        for (p, g) in blocks {
            f(*offset, p, g);
            *offset += p.len();
        }
    }

    /// Forward over the first `inputs.len()` samples.
    fn forward<M: Math<S>, R: RngCore + ?Sized, const B: usize>(
        &mut self,
        o: &Opts<S>,
        mode: Mode,
        inputs: &[[S; I]],
        c: &mut Cache<S, W, B>,
        rng: &mut R,
    ) {
        let n = inputs.len();
        for (x, z) in inputs.iter().zip(c.z.iter_mut()) {
            for ((z, row), &b) in z.iter_mut().zip(&self.w).zip(&self.b) {
                *z = b + kernel::dot(row, x);
            }
        }
        if o.bn {
            let nn = S::from_usize(n.max(1));
            for j in 0..W {
                let (mu, var) = match mode {
                    Mode::Train => {
                        let mu = c.z.iter().take(n).fold(S::ZERO, |s, z| s + col(z, j)) / nn;
                        let var = c.z.iter().take(n).fold(S::ZERO, |s, z| {
                            let d = col(z, j) - mu;
                            s + d * d
                        }) / nn;
                        if let (Some(rm), Some(rv)) = (self.mean.get_mut(j), self.var.get_mut(j)) {
                            let m = o.momentum;
                            let unbiased = var * nn / S::from_usize(n.saturating_sub(1).max(1));
                            *rm = (S::ONE - m) * *rm + m * mu;
                            *rv = (S::ONE - m) * *rv + m * unbiased;
                        }
                        (mu, var)
                    }
                    Mode::Eval => (col(&self.mean, j), col(&self.var, j)),
                };
                let inv = S::ONE / M::sqrt(var + o.eps);
                if let Some(s) = c.inv_std.get_mut(j) {
                    *s = inv;
                }
                let (g, bt) = (col(&self.gamma, j), col(&self.beta, j));
                for ((z, xh), y) in
                    c.z.iter()
                        .zip(c.xhat.iter_mut())
                        .zip(c.y.iter_mut())
                        .take(n)
                {
                    if let (Some(xh), Some(y)) = (xh.get_mut(j), y.get_mut(j)) {
                        *xh = (col(z, j) - mu) * inv;
                        *y = g * *xh + bt;
                    }
                }
            }
        } else {
            for ((z, xh), y) in
                c.z.iter()
                    .zip(c.xhat.iter_mut())
                    .zip(c.y.iter_mut())
                    .take(n)
            {
                *xh = *z;
                *y = *z;
            }
        }
        for (y, h) in c.y.iter().zip(c.h.iter_mut()).take(n) {
            for (&y, h) in y.iter().zip(h.iter_mut()) {
                *h = o.act.forward::<S, M>(y);
            }
        }
        for m in c.mask.iter_mut().take(n) {
            match (mode, o.dropout) {
                (Mode::Train, Some(d)) => d.mask(rng, m),
                _ => m.fill(S::ONE),
            }
        }
        for ((h, a), m) in c.h.iter().zip(c.a.iter_mut()).zip(&c.mask).take(n) {
            for ((&h, a), &m) in h.iter().zip(a.iter_mut()).zip(m) {
                *a = h * m;
            }
        }
    }

    /// Backward from `c.g` = `∂L/∂a` (first `n` samples); accumulates the gradients and,
    /// when given, writes `∂L/∂input` per sample.
    fn backward<M: Math<S>, const B: usize>(
        &mut self,
        o: &Opts<S>,
        mode: Mode,
        inputs: &[[S; I]],
        c: &mut Cache<S, W, B>,
        in_grad: Option<&mut [[S; I]]>,
    ) {
        let n = inputs.len();
        // ∂L/∂y = ∂L/∂a · mask · f'(y).
        for (((g, m), y), h) in c.g.iter_mut().zip(&c.mask).zip(&c.y).zip(&c.h).take(n) {
            for (((g, &m), &y), &h) in g.iter_mut().zip(m).zip(y).zip(h) {
                *g = *g * m * o.act.derivative::<S, M>(y, h);
            }
        }
        if o.bn {
            let nn = S::from_usize(n.max(1));
            for j in 0..W {
                let gamma = col(&self.gamma, j);
                let inv = col(&c.inv_std, j);
                let (mut sg, mut sgx) = (S::ZERO, S::ZERO);
                for (g, xh) in c.g.iter().zip(&c.xhat).take(n) {
                    let (g, xh) = (col(g, j), col(xh, j));
                    sg += g;
                    sgx += g * xh;
                }
                if let (Some(gg), Some(gb)) = (self.ggamma.get_mut(j), self.gbeta.get_mut(j)) {
                    *gg += sgx;
                    *gb += sg;
                }
                for (g, xh) in c.g.iter_mut().zip(&c.xhat).take(n) {
                    if let Some(g) = g.get_mut(j) {
                        *g = match mode {
                            // ĝ = γ g: ∂L/∂z = inv/n (n ĝ − Σĝ − x̂ Σĝx̂).
                            Mode::Train => {
                                inv / nn * (nn * gamma * *g - gamma * sg - col(xh, j) * gamma * sgx)
                            }
                            // Fixed statistics: an affine map.
                            Mode::Eval => gamma * inv * *g,
                        };
                    }
                }
            }
        }
        for (x, g) in inputs.iter().zip(&c.g) {
            for ((gw, gb), &g) in self.gw.iter_mut().zip(self.gb.iter_mut()).zip(g) {
                *gb += g;
                kernel::axpy(g, x, gw);
            }
        }
        if let Some(dst) = in_grad {
            for (d, g) in dst.iter_mut().zip(&c.g).take(n) {
                d.fill(S::ZERO);
                for (row, &g) in self.w.iter().zip(g) {
                    kernel::axpy(g, row, d);
                }
            }
        }
    }

    /// Inference for one sample with the running statistics.
    fn infer<M: Math<S>>(&self, o: &Opts<S>, x: &[S; I], out: &mut [S; W]) {
        for (j, (a, row)) in out.iter_mut().zip(&self.w).enumerate() {
            let mut z = col(&self.b, j) + kernel::dot(row, x);
            if o.bn {
                let inv = S::ONE / M::sqrt(col(&self.var, j) + o.eps);
                z = col(&self.gamma, j) * ((z - col(&self.mean, j)) * inv) + col(&self.beta, j);
            }
            *a = o.act.forward::<S, M>(z);
        }
    }
}

/// `xs[j]`, or 0 out of range (never, by construction).
#[inline(always)]
fn col<S: Scalar>(xs: &[S], j: usize) -> S {
    xs.get(j).copied().unwrap_or(S::ZERO)
}

impl<S: Scalar, const W: usize, const B: usize> Cache<S, W, B> {
    fn new() -> Self {
        let z = [[S::ZERO; W]; B];
        Cache {
            z,
            xhat: z,
            y: z,
            h: z,
            a: z,
            mask: [[S::ONE; W]; B],
            g: z,
            inv_std: [S::ONE; W],
        }
    }
}

/// A dense network with batch normalisation between its hidden layers: `IN` inputs,
/// `LINKS + 1` hidden layers of width `W`, `OUT` outputs, batches of at most `B` samples.
///
/// See the [module documentation](self) for the maths. Parameters, in the optimizer's
/// flat order: per hidden layer `W`, `b`, `γ`, `β`, then the output layer's `W`, `b`.
/// (With batch norm on, `b` of a hidden layer is cancelled by the mean subtraction and
/// its gradient is 0; with it off, `γ`, `β` are unused and stay put.)
#[derive(Clone, Debug)]
pub struct BnNet<
    S,
    M,
    const IN: usize,
    const W: usize,
    const LINKS: usize,
    const OUT: usize,
    const B: usize,
> {
    first: Hidden<S, IN, W>,
    rest: [Hidden<S, W, W>; LINKS],
    ow: [[S; W]; OUT],
    ob: [S; OUT],
    ogw: [[S; W]; OUT],
    ogb: [S; OUT],
    out_act: Activation,
    opts: Opts<S>,
    cfg: BnConfig,
    c_first: Cache<S, W, B>,
    c_rest: [Cache<S, W, B>; LINKS],
    oz: [[S; OUT]; B],
    oa: [[S; OUT]; B],
    xin: [[S; IN]; B],
    n: usize,
    mode: Mode,
    math: PhantomData<M>,
}

/// The notes' 9-deep net: 2 inputs, nine hidden layers of 2, one output, batches of `B`.
pub type DeepNarrow<S, const B: usize> = BnNet<S, Libm, 2, 2, 8, 1, B>;

impl<
        S: Scalar,
        M: Math<S>,
        const IN: usize,
        const W: usize,
        const LINKS: usize,
        const OUT: usize,
        const B: usize,
    > BnNet<S, M, IN, W, LINKS, OUT, B>
{
    /// Trainable parameters (biases, `γ` and `β` included).
    pub const PARAMS: usize = (IN * W + 3 * W) + LINKS * (W * W + 3 * W) + (W * OUT + OUT);
    /// Hidden layers.
    pub const HIDDEN: usize = LINKS + 1;
    /// The largest batch.
    pub const BATCH: usize = B;

    /// A network: `hidden` on the hidden layers, `output` on the output layer, weights from
    /// `init`, every dense bias `bias`, `γ = 1`, `β = 0`, running mean 0 and variance 1.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] for softmax on a hidden layer, an invalid
    /// initialiser, a momentum outside `(0, 1]`, `ε ≤ 0`, or a zero width or batch.
    pub fn new<R: RngCore + ?Sized>(
        hidden: Activation,
        output: Activation,
        init: Init,
        bias: f32,
        cfg: BnConfig,
        rng: &mut R,
    ) -> Result<Self> {
        if hidden == Activation::Softmax {
            return Err(Error::InvalidHyperParameter(
                "softmax is only valid on the output layer",
            ));
        }
        if !(cfg.momentum.is_finite() && cfg.momentum > 0.0 && cfg.momentum <= 1.0) {
            return Err(Error::InvalidHyperParameter(
                "batch norm momentum must be in (0, 1]",
            ));
        }
        if !(cfg.eps.is_finite() && cfg.eps > 0.0) {
            return Err(Error::InvalidHyperParameter("batch norm eps must be > 0"));
        }
        if W == 0 || B == 0 || IN == 0 || OUT == 0 {
            return Err(Error::InvalidHyperParameter("zero width or batch"));
        }
        init.validate()?;
        if !bias.is_finite() {
            return Err(Error::InvalidHyperParameter("bias init"));
        }
        let b = S::from_f32(bias);
        let mut first = Hidden::new();
        init.fill(first.w.as_flattened_mut(), IN, W, rng);
        first.b.fill(b);
        let mut rest: [Hidden<S, W, W>; LINKS] = core::array::from_fn(|_| Hidden::new());
        for h in rest.iter_mut() {
            init.fill(h.w.as_flattened_mut(), W, W, rng);
            h.b.fill(b);
        }
        let mut ow = [[S::ZERO; W]; OUT];
        init.fill(ow.as_flattened_mut(), W, OUT, rng);
        Ok(BnNet {
            first,
            rest,
            ow,
            ob: [b; OUT],
            ogw: [[S::ZERO; W]; OUT],
            ogb: [S::ZERO; OUT],
            out_act: output,
            opts: Opts {
                bn: cfg.batch_norm,
                momentum: S::from_f64(cfg.momentum),
                eps: S::from_f64(cfg.eps),
                dropout: cfg.dropout,
                act: hidden,
            },
            cfg,
            c_first: Cache::new(),
            c_rest: core::array::from_fn(|_| Cache::new()),
            oz: [[S::ZERO; OUT]; B],
            oa: [[S::ZERO; OUT]; B],
            xin: [[S::ZERO; IN]; B],
            n: 0,
            mode: Mode::Eval,
            math: PhantomData,
        })
    }

    /// The options.
    pub fn config(&self) -> BnConfig {
        self.cfg
    }

    /// Forward pass over a batch (`xs.len()` ≤ `B` samples), caching everything for
    /// [`backward_batch`](Self::backward_batch). In [`Mode::Train`] batch norm uses the
    /// batch statistics (and updates the running ones) and dropout draws its masks from
    /// `rng`; in [`Mode::Eval`] it uses the running statistics and drops nothing.
    ///
    /// # Errors
    /// [`Error::EmptyData`] for no samples, [`Error::Capacity`] for more than `B`,
    /// [`Error::BatchTooSmall`] for one sample in training with batch norm,
    /// [`Error::NonFiniteInput`] for NaN/±∞ (nothing is changed on error).
    pub fn forward_batch<R: RngCore + ?Sized>(
        &mut self,
        mode: Mode,
        xs: &[[S; IN]],
        rng: &mut R,
    ) -> Result<()> {
        let n = xs.len();
        if n == 0 {
            return Err(Error::EmptyData);
        }
        if n > B {
            return Err(Error::Capacity);
        }
        if mode == Mode::Train && self.opts.bn && n < 2 {
            return Err(Error::BatchTooSmall);
        }
        if !S::all_finite(xs.as_flattened()) {
            return Err(Error::NonFiniteInput);
        }
        let o = self.opts;
        self.xin.iter_mut().zip(xs).for_each(|(d, s)| *d = *s);
        self.first
            .forward::<M, R, B>(&o, mode, xs, &mut self.c_first, rng);
        let mut prev = &self.c_first;
        for (h, c) in self.rest.iter_mut().zip(self.c_rest.iter_mut()) {
            let input = prev.a.get(..n).unwrap_or(&[]);
            h.forward::<M, R, B>(&o, mode, input, c, rng);
            prev = c;
        }
        let last = prev.a.get(..n).unwrap_or(&[]);
        for ((x, z), a) in last.iter().zip(self.oz.iter_mut()).zip(self.oa.iter_mut()) {
            for ((z, row), &b) in z.iter_mut().zip(&self.ow).zip(&self.ob) {
                *z = b + kernel::dot(row, x);
            }
            self.out_act.apply::<S, M>(z, a);
        }
        self.n = n;
        self.mode = mode;
        Ok(())
    }

    /// Loss and backward pass for the batch of the last forward pass, `labels[s]` the
    /// class of sample `s`: accumulates the gradients of the *sum* of the per-sample
    /// losses and returns that sum.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless there is one label per sample of the last forward
    /// pass; [`Error::LossMismatch`] / [`Error::LabelOutOfRange`] as the trainer.
    pub fn backward_batch(&mut self, loss: Loss, labels: &[u8]) -> Result<S> {
        let n = self.n;
        if labels.len() != n || n == 0 {
            return Err(Error::ShapeMismatch {
                expected: n,
                found: labels.len(),
            });
        }
        loss.check(self.out_act, OUT)?;
        let mut y_buf = [S::ZERO; MAX_CLASSES];
        let y = y_buf.get_mut(..OUT).ok_or(Error::Capacity)?;
        for &l in labels {
            Loss::target(usize::from(l), y)?;
        }
        let mode = self.mode;
        let o = self.opts;
        // Output layer: δ into oz, gradients, ∂L/∂a of the last hidden layer.
        let mut total = S::ZERO;
        let last_cache = self.c_rest.last_mut().unwrap_or(&mut self.c_first);
        for (((z, a), &l), (x, g)) in self
            .oz
            .iter_mut()
            .zip(&self.oa)
            .zip(labels)
            .zip(last_cache.a.iter().zip(last_cache.g.iter_mut()))
        {
            Loss::target(usize::from(l), y)?;
            total += loss.loss_and_delta::<S, M>(self.out_act, z, a, y);
            for ((gw, gb), &d) in self.ogw.iter_mut().zip(self.ogb.iter_mut()).zip(z.iter()) {
                *gb += d;
                kernel::axpy(d, x, gw);
            }
            g.fill(S::ZERO);
            for (row, &d) in self.ow.iter().zip(z.iter()) {
                kernel::axpy(d, row, g);
            }
        }
        // Hidden layers, last to first.
        for k in (0..LINKS).rev() {
            let (before, after) = self.c_rest.split_at_mut(k);
            let (Some(c), Some(h)) = (after.first_mut(), self.rest.get_mut(k)) else {
                continue;
            };
            let prev = before.last_mut().unwrap_or(&mut self.c_first);
            let input = prev.a.get(..n).unwrap_or(&[]);
            h.backward::<M, B>(&o, mode, input, c, Some(&mut prev.g));
        }
        // First layer: its input gradient is not needed.
        let xs = self.xin.get(..n).unwrap_or(&[]);
        self.first
            .backward::<M, B>(&o, mode, xs, &mut self.c_first, None);
        Ok(total)
    }

    /// Sets every gradient to zero.
    pub fn zero_grads(&mut self) {
        self.first.zero_grads();
        self.rest.iter_mut().for_each(Hidden::zero_grads);
        self.ogw.as_flattened_mut().fill(S::ZERO);
        self.ogb.fill(S::ZERO);
    }

    /// Whether every gradient is finite.
    pub fn grads_finite(&self) -> bool {
        self.first.grads_finite()
            & self.rest.iter().all(Hidden::grads_finite)
            & S::all_finite(self.ogw.as_flattened())
            & S::all_finite(&self.ogb)
    }

    /// Visits every parameter block with its gradients and flat offset, in optimizer
    /// order (see the type's documentation).
    pub fn visit_params_mut(&mut self, f: &mut ParamVisitor<'_, S>) {
        let mut offset = 0;
        self.first.visit(&mut offset, f);
        for h in self.rest.iter_mut() {
            h.visit(&mut offset, f);
        }
        f(
            offset,
            self.ow.as_flattened_mut(),
            self.ogw.as_flattened_mut(),
        );
        offset += OUT * W;
        f(offset, &mut self.ob, &mut self.ogb);
    }

    /// One training step on the samples `indices` of `data` (at most `B`): forward in
    /// training mode, loss, backward, then the optimizer with the mean gradient. Returns
    /// the batch's mean loss.
    ///
    /// # Errors
    /// As [`forward_batch`](Self::forward_batch) and
    /// [`backward_batch`](Self::backward_batch); [`Error::ShapeMismatch`] for data of
    /// another dimension; [`Error::NonFiniteGradient`] if the loss or a gradient is not
    /// finite (the weights and the optimizer state are then unchanged; the running
    /// statistics have seen the batch).
    pub fn train_step<O: Optimizer<S>, R: RngCore + ?Sized>(
        &mut self,
        opt: &mut O,
        loss: Loss,
        data: &Dataset<'_, S>,
        indices: &[u16],
        rng: &mut R,
    ) -> Result<S> {
        if data.dim() != IN {
            return Err(Error::ShapeMismatch {
                expected: IN,
                found: data.dim(),
            });
        }
        loss.check(self.out_act, OUT)?;
        let n = indices.len();
        if n > B {
            return Err(Error::Capacity);
        }
        let mut xs = [[S::ZERO; IN]; B];
        let mut labels = [0u8; B];
        for ((&i, x), l) in indices.iter().zip(xs.iter_mut()).zip(labels.iter_mut()) {
            let (xi, li) = data.get(usize::from(i)).ok_or(Error::EmptyData)?;
            x.iter_mut().zip(xi).for_each(|(d, &s)| *d = s);
            *l = li;
        }
        let xs = xs.get(..n).ok_or(Error::Capacity)?;
        let labels = labels.get(..n).ok_or(Error::Capacity)?;
        self.forward_batch(Mode::Train, xs, rng)?;
        self.zero_grads();
        let total = match self.backward_batch(loss, labels) {
            Ok(t) => t,
            Err(e) => {
                self.zero_grads();
                return Err(e);
            }
        };
        let scale = S::ONE / S::from_usize(n);
        let mean = total * scale;
        if !mean.is_finite() || !self.grads_finite() {
            self.zero_grads();
            return Err(Error::NonFiniteGradient);
        }
        if let Err(e) = opt.begin_step(Self::PARAMS) {
            self.zero_grads();
            return Err(e);
        }
        self.visit_params_mut(&mut |offset, p, g| {
            g.iter_mut().for_each(|g| *g *= scale);
            opt.update(offset, p, g);
            g.fill(S::ZERO);
        });
        Ok(mean)
    }

    /// One epoch: shuffles `order` (a permutation of `0..data.len()`), then steps through
    /// it in batches of `B`. With batch norm, a last batch of a single sample is skipped
    /// (it has no batch statistics). Returns the mean training loss.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `order` does not match the data; any
    /// [`train_step`](Self::train_step) error.
    pub fn epoch<O: Optimizer<S>, R: RngCore + ?Sized>(
        &mut self,
        opt: &mut O,
        loss: Loss,
        data: &Dataset<'_, S>,
        order: &mut [u16],
        rng: &mut R,
    ) -> Result<f32> {
        if order.len() != data.len() {
            return Err(Error::ShapeMismatch {
                expected: data.len(),
                found: order.len(),
            });
        }
        if data.is_empty() {
            return Err(Error::EmptyData);
        }
        crate::rng::shuffle(rng, order);
        let (mut sum, mut seen) = (0.0f64, 0usize);
        for batch in order.chunks(B) {
            if self.opts.bn && batch.len() < 2 {
                continue;
            }
            let l = self.train_step(opt, loss, data, batch, rng)?;
            sum += l.to_f64() * batch.len() as f64;
            seen += batch.len();
        }
        Ok((sum / seen.max(1) as f64) as f32)
    }

    /// Inference on one sample (running statistics, no dropout).
    ///
    /// # Errors
    /// [`Error::NonFiniteInput`] for NaN/±∞.
    pub fn predict(&self, x: &[S; IN]) -> Result<[S; OUT]> {
        if !S::all_finite(x) {
            return Err(Error::NonFiniteInput);
        }
        let z = self.logits(x);
        let mut out = [S::ZERO; OUT];
        self.out_act.apply::<S, M>(&z, &mut out);
        Ok(out)
    }

    /// Mean loss and accuracy over `data` in evaluation mode.
    ///
    /// # Errors
    /// [`Error::EmptyData`], [`Error::ShapeMismatch`] for another dimension, and the
    /// loss's errors.
    pub fn evaluate(&self, loss: Loss, data: &Dataset<'_, S>) -> Result<Metrics<f32>> {
        if data.dim() != IN {
            return Err(Error::ShapeMismatch {
                expected: IN,
                found: data.dim(),
            });
        }
        if data.is_empty() {
            return Err(Error::EmptyData);
        }
        loss.check(self.out_act, OUT)?;
        let mut y_buf = [S::ZERO; MAX_CLASSES];
        let y = y_buf.get_mut(..OUT).ok_or(Error::Capacity)?;
        let (mut sum, mut correct) = (0.0f64, 0usize);
        let mut x = [S::ZERO; IN];
        for (xi, l) in data.iter() {
            x.iter_mut().zip(xi).for_each(|(d, &s)| *d = s);
            if !S::all_finite(&x) {
                return Err(Error::NonFiniteInput);
            }
            let z = self.logits(&x);
            let mut a = [S::ZERO; OUT];
            self.out_act.apply::<S, M>(&z, &mut a);
            Loss::target(usize::from(l), y)?;
            sum += loss.value::<S, M>(&z, &a, y).to_f64();
            correct += usize::from(loss.predicted_class(self.out_act, &z, &a) == usize::from(l));
        }
        let n = data.len() as f64;
        Ok(Metrics {
            loss: (sum / n) as f32,
            accuracy: (correct as f64 / n) as f32,
        })
    }

    /// The output layer's pre-activations for one sample (evaluation mode).
    fn logits(&self, x: &[S; IN]) -> [S; OUT] {
        let mut a = [S::ZERO; W];
        self.first.infer::<M>(&self.opts, x, &mut a);
        for h in &self.rest {
            let input = a;
            h.infer::<M>(&self.opts, &input, &mut a);
        }
        let mut z = [S::ZERO; OUT];
        for ((z, row), &b) in z.iter_mut().zip(&self.ow).zip(&self.ob) {
            *z = b + kernel::dot(row, &a);
        }
        z
    }

    /// Running mean and variance of hidden layer `layer` (for storing with the model).
    pub fn running_stats(&self, layer: usize) -> Option<(&[S; W], &[S; W])> {
        if layer == 0 {
            Some((&self.first.mean, &self.first.var))
        } else {
            self.rest.get(layer - 1).map(|h| (&h.mean, &h.var))
        }
    }

    /// Per hidden layer: the mean and standard deviation of its activations (after the
    /// activation function) over the samples of the last forward pass, into `out`.
    /// Returns the number of layers written.
    pub fn hidden_activation_stats(&self, out: &mut [(f64, f64)]) -> usize {
        let n = self.n;
        let caches = core::iter::once(&self.c_first).chain(self.c_rest.iter());
        let mut written = 0;
        for (c, o) in caches.zip(out.iter_mut()) {
            let (mut s, mut s2, mut k) = (0.0f64, 0.0f64, 0.0f64);
            for h in c.h.iter().take(n) {
                for &v in h {
                    let v = v.to_f64();
                    s += v;
                    s2 += v * v;
                    k += 1.0;
                }
            }
            let mean = s / k.max(1.0);
            *o = (mean, libm::sqrt((s2 / k.max(1.0) - mean * mean).max(0.0)));
            written += 1;
        }
        written
    }
}
