//! Batch normalisation over the batch, then an activation: `a = f(γ x̂ + β)`.
//!
//! Per unit `j`, in training, over the `n` rows of the batch:
//! `μ = mean x`, `σ² = mean (x − μ)²`, `x̂ = (x − μ)/√(σ² + ε)`, `y = γ x̂ + β`, `a = f(y)`.
//! In evaluation `μ`, `σ²` are the running statistics. The backward pass is exact:
//! `∂L/∂γ = Σ δ x̂`, `∂L/∂β = Σ δ` with `δ = ∂L/∂y`, and in training
//! `∂L/∂x = (1/n)/√(σ² + ε) · (n γ δ − γ Σδ − x̂ γ Σ δx̂)`; in evaluation
//! `∂L/∂x = γ δ/√(σ² + ε)`.
//!
//! A forward pass never moves the running statistics: after an accepted training step the
//! trainer calls [`Layer::commit`], which moves them by momentum `m`:
//! `μ_r ← (1 − m) μ_r + m μ`, `σ²_r ← (1 − m) σ²_r + m σ² n/(n − 1)` (PyTorch's rule).
//!
//! Put it after a dense layer with the identity activation (its bias is cancelled by the
//! mean subtraction): `(Dense<S, 2, 16>, (BatchNorm<S, 16>, …))`; the batch norm layer
//! carries the activation. Training needs the whole batch in one pass: a network with batch
//! norm is trained with buffers for the batch ([`Network::into_batched`]), and a batch of
//! one sample has no statistics ([`Error::BatchTooSmall`]).
//!
//! [`Network::into_batched`]: crate::Network::into_batched
//! [`Error::BatchTooSmall`]: crate::Error::BatchTooSmall

use super::{
    shape_of, At, Cache, CacheMut, Erased, Family, FixedLayer, ZeroedLayer, Grads, Kind, Layer, LayerMut,
    LayerRef, Mode, OfScalar, Parts, PartsMut, Pass, Receive, Rows, Spec,
};
use crate::{kernel, Activation, Error, Math, Result, Scalar};
use crate::format::{count, Reader, Writer};
use super::{DynLayer, KindSpec};

/// A batch-norm layer's spec: its width, activation, momentum and ε.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BatchNormSpec {
    /// Units.
    pub width: usize,
    /// Activation applied after the normalisation (α widened).
    pub activation: Activation<f64>,
    /// Momentum and ε, as stored (in the network's scalar type, widened).
    pub config: BatchNormConfig,
}

impl KindSpec for BatchNormSpec {
    const NAME: &'static str = "batch-norm";
    const PARAMS: super::Params = super::Params::Affine;
    const NORMALIZES: bool = true;
    const FIXED_BYTES: usize = 4 + 1;
    const SCALARS: usize = 3;
    fn inputs(&self) -> usize {
        self.width
    }
    fn activation(&self) -> Option<Activation<f64>> {
        Some(self.activation)
    }
    fn params(&self) -> usize {
        self.width.saturating_mul(2)
    }
    fn state(&self) -> usize {
        self.width.saturating_mul(2)
    }
    fn variances(&self) -> bool {
        true
    }
    fn check<S: Scalar>(&self) -> Result<()> {
        self.config.validate::<S>().map(|_| ())
    }
    fn write<S: Scalar>(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u32(count(self.width)?);
        w.activation::<S>(self.activation);
        w.scalar(S::from_f64(self.config.momentum));
        w.scalar(S::from_f64(self.config.eps));
        Ok(())
    }
    fn read(r: &mut Reader<'_>, width: usize) -> Result<Self> {
        Ok(BatchNormSpec {
            width: r.usize()?,
            activation: r.activation(width)?,
            config: BatchNormConfig {
                momentum: r.scalar(width)?,
                eps: r.scalar(width)?,
            },
        })
    }
    fn build<S: Scalar, F: Family>(&self) -> Result<DynLayer<S, F>> {
        Ok(DynBatchNorm::new(self.width, self.activation.cast(), self.config)?.into())
    }
}


/// Momentum and ε of a batch-norm layer.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BatchNormConfig {
    /// Momentum `m` of the running statistics, in `(0, 1]`.
    pub momentum: f64,
    /// `ε` under the square root (> 0).
    pub eps: f64,
}

impl Default for BatchNormConfig {
    /// `m = 0.1`, `ε = 1e-5` (PyTorch's defaults).
    fn default() -> Self {
        BatchNormConfig {
            momentum: 0.1,
            eps: 1e-5,
        }
    }
}

impl BatchNormConfig {
    /// Checks the values, converted to the scalar type `S`.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] for a momentum outside `(0, 1]` or `ε ≤ 0`, in `S`.
    pub fn validate<S: Scalar>(self) -> Result<(S, S)> {
        let (m, e) = (S::from_f64(self.momentum), S::from_f64(self.eps));
        if !(m.is_finite() && m > S::ZERO && m <= S::ONE) {
            return Err(Error::InvalidHyperParameter(
                "batch norm momentum must be in (0, 1]",
            ));
        }
        if !(e.is_finite() && e > S::ZERO) {
            return Err(Error::InvalidHyperParameter("batch norm eps must be > 0"));
        }
        Ok((m, e))
    }
}

/// A batch-norm layer over `W` units, its numbers in the value: γ, β, the running mean and
/// variance, momentum, ε and the activation.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNorm<S, const W: usize> {
    gamma: [S; W],
    beta: [S; W],
    /// Running mean, then running variance.
    stats: [[S; W]; 2],
    momentum: S,
    eps: S,
    act: Activation<S>,
}

/// Training buffers of a [`BatchNorm`] layer for batches of up to `B` rows.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNormBuffers<S, const W: usize, const B: usize> {
    gg: [S; W],
    gb: [S; W],
    xhat: [[S; W]; B],
    /// `y = γ x̂ + β` (δ = `∂L/∂y` after a backward pass).
    y: [[S; W]; B],
    a: [[S; W]; B],
    /// The batch's mean, variance and `1/√(σ² + ε)` per unit.
    batch: [[S; W]; 3],
    /// 1 if the last forward pass ran in training mode, else 0.
    train: S,
}

impl<S: Scalar, const W: usize> Default for BatchNorm<S, W> {
    /// γ = 1, β = 0, running mean 0 and variance 1, the default config, identity.
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn default() -> Self {
        let (momentum, eps) = (S::from_f64(0.1), S::from_f64(1e-5));
        BatchNorm {
            gamma: [S::ONE; W],
            beta: [S::ZERO; W],
            stats: [[S::ZERO; W], [S::ONE; W]],
            momentum,
            eps,
            act: Activation::Identity,
        }
    }
}

impl<S: Scalar, const W: usize> BatchNorm<S, W> {
    /// A fresh layer (γ = 1, β = 0, running mean 0, variance 1) with `act` and `cfg`.
    ///
    /// # Errors
    /// As [`BatchNormConfig::validate`].
    pub fn new(act: Activation<S>, cfg: BatchNormConfig) -> Result<Self> {
        let (momentum, eps) = cfg.validate::<S>()?;
        Ok(BatchNorm {
            momentum,
            eps,
            act,
            ..Self::default()
        })
    }
    /// The running mean and variance.
    pub fn running(&self) -> (&[S; W], &[S; W]) {
        let [m, v] = &self.stats;
        (m, v)
    }
    /// Momentum and ε, as stored.
    pub fn config(&self) -> (S, S) {
        (self.momentum, self.eps)
    }
    fn view(&self) -> View<'_, S> {
        View {
            gamma: &self.gamma,
            beta: &self.beta,
            running: self.stats.as_flattened(),
            eps: self.eps,
            act: self.act,
        }
    }
}

impl<S, const W: usize> super::sealed::Sealed for BatchNorm<S, W> {}

impl<S: Scalar, const W: usize> OfScalar for BatchNorm<S, W> {
    type Scalar = S;
}

impl<S: Scalar, const W: usize> FixedLayer<S> for BatchNorm<S, W> {
    type In = [S; W];
    type Out = [S; W];
    const ZERO_OUT: [S; W] = [S::ZERO; W];
    const INPUTS: usize = W;
    const OUTPUTS: usize = W;
    const PARAMS: usize = 2 * W;
    const STATE: usize = 2 * W;
    const ROW: usize = 3 * W;
    const FIXED: usize = 5 * W + 1;
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn zeroed_buffers<const B: usize>() -> Self::Buffers<B> {
        <Self as ZeroedLayer<S, B>>::ZEROED_BUFFERS
    }
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn zeroed_rows<const B: usize>() -> Rows<S, W, B> {
        <Self as ZeroedLayer<S, B>>::ZEROED_ROWS
    }
}

impl<S: Scalar, const W: usize, const B: usize> ZeroedLayer<S, B> for BatchNorm<S, W> {
    const ZEROED_BUFFERS: Self::Buffers<B> = BatchNormBuffers {
        gg: [S::ZERO; W],
        gb: [S::ZERO; W],
        xhat: [[S::ZERO; W]; B],
        y: [[S::ZERO; W]; B],
        a: [[S::ZERO; W]; B],
        batch: [[S::ZERO; W]; 3],
        train: S::ZERO,
    };
    const ZEROED_ROWS: Rows<S, W, B> = Rows([[S::ZERO; W]; B]);
}

impl<S: Scalar, const W: usize> Layer<S> for BatchNorm<S, W> {
    type Input = [S; W];
    type Output = [S; W];
    type Buffers<const B: usize> = BatchNormBuffers<S, W, B>;
    type InRows<const B: usize> = Rows<S, W, B>;
    type OutRow = [S; W];

    fn kind(&self) -> Kind {
        Kind::BatchNorm
    }
    fn spec(&self) -> Spec {
        Spec::BatchNorm(BatchNormSpec {
            width: W,
            activation: self.act.cast(),
            config: BatchNormConfig {
                momentum: self.momentum.to_f64(),
                eps: self.eps.to_f64(),
            },
        })
    }
    fn set_spec(&mut self, spec: &Spec) -> Result<()> {
        match *spec {
            Spec::BatchNorm(BatchNormSpec {
                width,
                activation,
                config,
            }) if width == W => {
                let act = super::checked_activation(activation.cast())?;
                (self.momentum, self.eps) = config.validate::<S>()?;
                self.act = act;
                Ok(())
            }
            _ => Err(crate::Error::ShapeMismatch {
                expected: self.spec().outputs(),
                found: spec.outputs(),
            }),
        }
    }
    fn inputs(&self) -> usize {
        W
    }
    fn outputs(&self) -> usize {
        W
    }
    fn activation(&self) -> Option<Activation<S>> {
        Some(self.act)
    }
    fn params(&self) -> usize {
        2 * W
    }
    fn needs_batch(&self) -> bool {
        true
    }
    fn buffers<const B: usize>(&self, capacity: usize) -> Result<Self::Buffers<B>> {
        super::fixed_buffers::<S, Self, B>(capacity)
    }
    fn capacity<const B: usize>(_buf: &Self::Buffers<B>) -> usize {
        B
    }
    fn in_rows<const B: usize>(&self, capacity: usize) -> Result<Rows<S, W, B>> {
        super::fixed_rows::<S, Self, B>(capacity)
    }
    fn out_row(&self) -> Result<[S; W]> {
        Ok([S::ZERO; W])
    }
    fn forward<M: Math<S>, const B: usize>(
        &self,
        pass: &mut Pass<'_>,
        x: &[S],
        n: usize,
        buf: &mut Self::Buffers<B>,
    ) {
        let n = n.min(B);
        let [mu, var, inv] = &mut buf.batch;
        let view = self.view();
        let cache = CacheRows {
            xhat: buf.xhat.as_flattened_mut(),
            y: buf.y.as_flattened_mut(),
            a: buf.a.as_flattened_mut(),
            mu,
            var,
            inv,
        };
        buf.train = forward::<S, M>(&view, pass.mode, x, n, cache);
    }
    fn infer<M: Math<S>>(&self, x: &[S], out: &mut [S]) -> Result<()> {
        let mut y = [S::ZERO; W];
        infer::<S, M>(&self.view(), x, &mut y, out);
        Ok(())
    }
    fn split<const B: usize>(buf: &mut Self::Buffers<B>) -> (&[S], &mut [S]) {
        (buf.a.as_flattened(), buf.y.as_flattened_mut())
    }
    fn output<const B: usize>(buf: &Self::Buffers<B>) -> &[S] {
        buf.a.as_flattened()
    }
    fn head<const B: usize>(buf: &mut Self::Buffers<B>) -> Option<(&mut [S], &[S])> {
        Some((buf.y.as_flattened_mut(), buf.a.as_flattened()))
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
        receive::<S, M>(self.act, W, out, store, r, g);
    }
    fn backward<M: Math<S>, U: Receive<S> + ?Sized, const B: usize>(
        &self,
        buf: &mut Self::Buffers<B>,
        _x: &[S],
        n: usize,
        up: &mut U,
        grads: Grads,
    ) {
        let (mut sd, mut sdx, mut dx) = ([S::ZERO; W], [S::ZERO; W], [S::ZERO; W]);
        let [_, _, inv] = &buf.batch;
        let rows = BackRows {
            xhat: buf.xhat.as_flattened(),
            delta: buf.y.as_flattened(),
            inv,
            train: buf.train,
        };
        let t = Scratch {
            sd: &mut sd,
            sdx: &mut sdx,
            dx: &mut dx,
        };
        let grads_of = (&mut buf.gg[..], &mut buf.gb[..]);
        backward(
            &self.gamma,
            grads_of,
            rows,
            n.min(B),
            t,
            &mut Erased(up),
            grads,
        );
    }
    fn commit<const B: usize>(&mut self, buf: &Self::Buffers<B>, rows: usize) {
        let [mu, var, _] = &buf.batch;
        commit(
            self.stats.as_flattened_mut(),
            self.momentum,
            mu,
            var,
            buf.train,
            rows,
        );
    }
    fn commit_finite<const B: usize>(&self, buf: &Self::Buffers<B>, rows: usize) -> bool {
        let [mu, var, _] = &buf.batch;
        let stats = self.stats.as_flattened();
        commit_finite(stats, self.momentum, mu, var, buf.train, rows)
    }
    fn view<'a, const B: usize>(
        &'a self,
        buf: Option<&'a Self::Buffers<B>>,
        at: At,
    ) -> LayerRef<'a, S> {
        Parts {
            w: &self.gamma,
            b: &self.beta,
            state: self.stats.as_flattened(),
            cache: buf.map(|c| Cache {
                gw: &c.gg,
                gb: &c.gb,
                z: c.y.as_flattened(),
                a: c.a.as_flattened(),
            }),
        }
        .view(at, Kind::BatchNorm, shape_of(self))
    }
    fn view_mut<'a, const B: usize>(
        &'a mut self,
        buf: Option<&'a mut Self::Buffers<B>>,
        at: At,
    ) -> LayerMut<'a, S> {
        let shape = shape_of(self);
        PartsMut {
            activation: Some(&mut self.act),
            w: &mut self.gamma,
            b: &mut self.beta,
            state: self.stats.as_flattened_mut(),
            cache: buf.map(|c| CacheMut {
                gw: &mut c.gg,
                gb: &mut c.gb,
                z: c.y.as_flattened_mut(),
                a: c.a.as_flattened_mut(),
            }),
        }
        .view(at, Kind::BatchNorm, shape)
    }
}

/// A batch-norm layer whose width is chosen at run time, its numbers in the storage family
/// `F`. The arithmetic is [`BatchNorm`]'s.
#[derive(Clone, Debug, PartialEq)]
pub struct DynBatchNorm<S: Scalar, F: Family> {
    gamma: F::Of<S>,
    beta: F::Of<S>,
    /// Running mean, then running variance (`2 · width`).
    stats: F::Of<S>,
    momentum: S,
    eps: S,
    act: Activation<S>,
}

/// Training buffers of a [`DynBatchNorm`] layer.
#[derive(Clone, Debug, PartialEq)]
pub struct DynBatchNormBuffers<S: Scalar, F: Family> {
    capacity: usize,
    gg: F::Of<S>,
    gb: F::Of<S>,
    xhat: F::Of<S>,
    y: F::Of<S>,
    a: F::Of<S>,
    mu: F::Of<S>,
    var: F::Of<S>,
    inv: F::Of<S>,
    sd: F::Of<S>,
    sdx: F::Of<S>,
    scratch: F::Of<S>,
    train: S,
}

impl<S: Scalar, F: Family> DynBatchNorm<S, F> {
    /// A fresh layer over `width` units (γ = 1, β = 0, running mean 0, variance 1).
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] for a zero width or a bad `cfg`;
    /// [`Error::Capacity`] if the storage cannot hold it.
    pub fn new(width: usize, act: Activation<S>, cfg: BatchNormConfig) -> Result<Self> {
        if width == 0 {
            return Err(Error::InvalidHyperParameter("layer sizes must be > 0"));
        }
        let (momentum, eps) = cfg.validate::<S>()?;
        let mut stats = F::filled(width.checked_mul(2).ok_or(Error::Capacity)?, S::ONE)?;
        if let Some(mean) = stats.as_mut().get_mut(..width) {
            mean.fill(S::ZERO);
        }
        Ok(DynBatchNorm {
            gamma: F::filled(width, S::ONE)?,
            beta: F::filled(width, S::ZERO)?,
            stats,
            momentum,
            eps,
            act,
        })
    }
    /// Momentum and ε, as stored.
    pub fn config(&self) -> (S, S) {
        (self.momentum, self.eps)
    }
    fn width(&self) -> usize {
        self.gamma.as_ref().len()
    }
    fn view(&self) -> View<'_, S> {
        View {
            gamma: self.gamma.as_ref(),
            beta: self.beta.as_ref(),
            running: self.stats.as_ref(),
            eps: self.eps,
            act: self.act,
        }
    }
}

impl<S: Scalar, F: Family> super::sealed::Sealed for DynBatchNorm<S, F> {}

impl<S: Scalar, F: Family> OfScalar for DynBatchNorm<S, F> {
    type Scalar = S;
}

impl<S: Scalar, F: Family> Layer<S> for DynBatchNorm<S, F> {
    type Input = [S];
    type Output = [S];
    type Buffers<const B: usize> = DynBatchNormBuffers<S, F>;
    type InRows<const B: usize> = F::Of<S>;
    type OutRow = F::Of<S>;

    fn kind(&self) -> Kind {
        Kind::BatchNorm
    }
    fn spec(&self) -> Spec {
        Spec::BatchNorm(BatchNormSpec {
            width: self.width(),
            activation: self.act.cast(),
            config: BatchNormConfig {
                momentum: self.momentum.to_f64(),
                eps: self.eps.to_f64(),
            },
        })
    }
    fn set_spec(&mut self, spec: &Spec) -> Result<()> {
        match *spec {
            Spec::BatchNorm(BatchNormSpec {
                width,
                activation,
                config,
            }) if width == self.width() => {
                let act = super::checked_activation(activation.cast())?;
                (self.momentum, self.eps) = config.validate::<S>()?;
                self.act = act;
                Ok(())
            }
            _ => Err(crate::Error::ShapeMismatch {
                expected: self.spec().outputs(),
                found: spec.outputs(),
            }),
        }
    }
    fn inputs(&self) -> usize {
        self.width()
    }
    fn outputs(&self) -> usize {
        self.width()
    }
    fn activation(&self) -> Option<Activation<S>> {
        Some(self.act)
    }
    fn params(&self) -> usize {
        2 * self.width()
    }
    fn needs_batch(&self) -> bool {
        true
    }
    fn buffers<const B: usize>(&self, capacity: usize) -> Result<Self::Buffers<B>> {
        if capacity == 0 {
            return Err(Error::Capacity);
        }
        let w = self.width();
        let cache = w.checked_mul(capacity).ok_or(Error::Capacity)?;
        Ok(DynBatchNormBuffers {
            capacity,
            gg: F::filled(w, S::ZERO)?,
            gb: F::filled(w, S::ZERO)?,
            xhat: F::filled(cache, S::ZERO)?,
            y: F::filled(cache, S::ZERO)?,
            a: F::filled(cache, S::ZERO)?,
            mu: F::filled(w, S::ZERO)?,
            var: F::filled(w, S::ZERO)?,
            inv: F::filled(w, S::ZERO)?,
            sd: F::filled(w, S::ZERO)?,
            sdx: F::filled(w, S::ZERO)?,
            scratch: F::filled(w, S::ZERO)?,
            train: S::ZERO,
        })
    }
    fn capacity<const B: usize>(buf: &Self::Buffers<B>) -> usize {
        buf.capacity
    }
    fn in_rows<const B: usize>(&self, capacity: usize) -> Result<F::Of<S>> {
        F::filled(
            self.width().checked_mul(capacity).ok_or(Error::Capacity)?,
            S::ZERO,
        )
    }
    fn out_row(&self) -> Result<F::Of<S>> {
        F::filled(self.width(), S::ZERO)
    }
    fn forward<M: Math<S>, const B: usize>(
        &self,
        pass: &mut Pass<'_>,
        x: &[S],
        n: usize,
        buf: &mut Self::Buffers<B>,
    ) {
        let view = self.view();
        let cache = CacheRows {
            xhat: buf.xhat.as_mut(),
            y: buf.y.as_mut(),
            a: buf.a.as_mut(),
            mu: buf.mu.as_mut(),
            var: buf.var.as_mut(),
            inv: buf.inv.as_mut(),
        };
        buf.train = forward::<S, M>(&view, pass.mode, x, n.min(buf.capacity), cache);
    }
    fn infer<M: Math<S>>(&self, x: &[S], out: &mut [S]) -> Result<()> {
        let mut y = self.out_row()?;
        infer::<S, M>(&self.view(), x, y.as_mut(), out);
        Ok(())
    }
    fn split<const B: usize>(buf: &mut Self::Buffers<B>) -> (&[S], &mut [S]) {
        (buf.a.as_ref(), buf.y.as_mut())
    }
    fn output<const B: usize>(buf: &Self::Buffers<B>) -> &[S] {
        buf.a.as_ref()
    }
    fn head<const B: usize>(buf: &mut Self::Buffers<B>) -> Option<(&mut [S], &[S])> {
        Some((buf.y.as_mut(), buf.a.as_ref()))
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
        receive::<S, M>(self.act, self.width(), out, store, r, g);
    }
    fn backward<M: Math<S>, U: Receive<S> + ?Sized, const B: usize>(
        &self,
        buf: &mut Self::Buffers<B>,
        _x: &[S],
        n: usize,
        up: &mut U,
        grads: Grads,
    ) {
        let rows = BackRows {
            xhat: buf.xhat.as_ref(),
            delta: buf.y.as_ref(),
            inv: buf.inv.as_ref(),
            train: buf.train,
        };
        let n = n.min(buf.capacity);
        let t = Scratch {
            sd: buf.sd.as_mut(),
            sdx: buf.sdx.as_mut(),
            dx: buf.scratch.as_mut(),
        };
        let grads_of = (buf.gg.as_mut(), buf.gb.as_mut());
        backward(
            self.gamma.as_ref(),
            grads_of,
            rows,
            n,
            t,
            &mut Erased(up),
            grads,
        );
    }
    fn commit<const B: usize>(&mut self, buf: &Self::Buffers<B>, rows: usize) {
        let (mu, var) = (buf.mu.as_ref(), buf.var.as_ref());
        commit(self.stats.as_mut(), self.momentum, mu, var, buf.train, rows);
    }
    fn commit_finite<const B: usize>(&self, buf: &Self::Buffers<B>, rows: usize) -> bool {
        let (mu, var) = (buf.mu.as_ref(), buf.var.as_ref());
        commit_finite(self.stats.as_ref(), self.momentum, mu, var, buf.train, rows)
    }
    fn view<'a, const B: usize>(
        &'a self,
        buf: Option<&'a Self::Buffers<B>>,
        at: At,
    ) -> LayerRef<'a, S> {
        Parts {
            w: self.gamma.as_ref(),
            b: self.beta.as_ref(),
            state: self.stats.as_ref(),
            cache: buf.map(|c| Cache {
                gw: c.gg.as_ref(),
                gb: c.gb.as_ref(),
                z: c.y.as_ref(),
                a: c.a.as_ref(),
            }),
        }
        .view(at, Kind::BatchNorm, shape_of(self))
    }
    fn view_mut<'a, const B: usize>(
        &'a mut self,
        buf: Option<&'a mut Self::Buffers<B>>,
        at: At,
    ) -> LayerMut<'a, S> {
        let shape = shape_of(self);
        PartsMut {
            activation: Some(&mut self.act),
            w: self.gamma.as_mut(),
            b: self.beta.as_mut(),
            state: self.stats.as_mut(),
            cache: buf.map(|c| CacheMut {
                gw: c.gg.as_mut(),
                gb: c.gb.as_mut(),
                z: c.y.as_mut(),
                a: c.a.as_mut(),
            }),
        }
        .view(at, Kind::BatchNorm, shape)
    }
}

// ---------------------------------------------------------------------------------------
// The arithmetic, once.

/// The layer's numbers the forward pass reads.
struct View<'a, S> {
    gamma: &'a [S],
    beta: &'a [S],
    /// Running mean, then running variance.
    running: &'a [S],
    eps: S,
    act: Activation<S>,
}

/// The buffers the forward pass writes.
struct CacheRows<'a, S> {
    xhat: &'a mut [S],
    y: &'a mut [S],
    a: &'a mut [S],
    mu: &'a mut [S],
    var: &'a mut [S],
    inv: &'a mut [S],
}

/// What the backward pass reads.
struct BackRows<'a, S> {
    xhat: &'a [S],
    /// δ = `∂L/∂y`, row by row.
    delta: &'a [S],
    inv: &'a [S],
    train: S,
}

/// Forward over `n` rows of `x`; returns the training flag to store (1 in training mode).
#[inline(never)]
fn forward<S: Scalar, M: Math<S>>(
    l: &View<'_, S>,
    mode: Mode,
    x: &[S],
    n: usize,
    c: CacheRows<'_, S>,
) -> S {
    let w = l.gamma.len().max(1);
    let (mean_r, var_r) = l.running.split_at(l.running.len() / 2);
    match mode {
        Mode::Train => {
            let nn = S::from_usize(n.max(1));
            c.mu.fill(S::ZERO);
            for row in x.chunks_exact(w).take(n) {
                for (m, &x) in c.mu.iter_mut().zip(row) {
                    *m += x;
                }
            }
            c.mu.iter_mut().for_each(|m| *m /= nn);
            c.var.fill(S::ZERO);
            for row in x.chunks_exact(w).take(n) {
                for ((v, &m), &x) in c.var.iter_mut().zip(c.mu.iter()).zip(row) {
                    let d = x - m;
                    *v += d * d;
                }
            }
            c.var.iter_mut().for_each(|v| *v /= nn);
        }
        Mode::Eval => {
            c.mu.iter_mut().zip(mean_r).for_each(|(m, &r)| *m = r);
            c.var.iter_mut().zip(var_r).for_each(|(v, &r)| *v = r);
        }
    }
    for (inv, &var) in c.inv.iter_mut().zip(c.var.iter()) {
        *inv = S::ONE / M::sqrt(var + l.eps);
    }
    let rows = x
        .chunks_exact(w)
        .zip(c.xhat.chunks_exact_mut(w))
        .zip(c.y.chunks_exact_mut(w).zip(c.a.chunks_exact_mut(w)))
        .take(n);
    for ((x, xhat), (y, a)) in rows {
        let units = xhat.iter_mut().zip(y.iter_mut()).zip(x);
        let per_unit =
            c.mu.iter()
                .zip(c.inv.iter())
                .zip(l.gamma.iter().zip(l.beta));
        for (((xh, y), &x), ((&m, &inv), (&g, &b))) in units.zip(per_unit) {
            *xh = (x - m) * inv;
            *y = g * *xh + b;
        }
        l.act.apply::<M>(y, a);
    }
    match mode {
        Mode::Train => S::ONE,
        Mode::Eval => S::ZERO,
    }
}

/// Inference on one row with the running statistics; `y` is a row of scratch.
#[inline(never)]
fn infer<S: Scalar, M: Math<S>>(l: &View<'_, S>, x: &[S], y: &mut [S], out: &mut [S]) {
    let (mean, var) = l.running.split_at(l.running.len() / 2);
    let per_unit = mean.iter().zip(var).zip(l.gamma.iter().zip(l.beta));
    for ((y, &x), ((&m, &v), (&g, &b))) in y.iter_mut().zip(x).zip(per_unit) {
        let inv = S::ONE / M::sqrt(v + l.eps);
        *y = g * ((x - m) * inv) + b;
    }
    l.act.apply::<M>(y, out);
}

/// Row `r`'s δ from `g = ∂L/∂a`: `y_r ← f'(y_r, a_r) · g`.
#[inline]
fn receive<S: Scalar, M: Math<S>>(
    act: Activation<S>,
    width: usize,
    a: &[S],
    y: &mut [S],
    r: usize,
    g: &[S],
) {
    let start = r.saturating_mul(width);
    let end = start.saturating_add(width);
    if let (Some(y), Some(a)) = (y.get_mut(start..end), a.get(start..end)) {
        kernel::through_derivative::<S, M>(act, y, a, g);
    }
}

/// Per-unit scratch of the backward pass: `Σ δ`, `Σ δ x̂` over the rows, and one row of
/// `∂L/∂x`.
struct Scratch<'a, S> {
    sd: &'a mut [S],
    sdx: &'a mut [S],
    dx: &'a mut [S],
}

/// Backward over `n` rows: `∂L/∂γ = Σ δ x̂`, `∂L/∂β = Σ δ` as `grads` says, and `∂L/∂x`
/// row by row to `up`.
#[inline(never)]
fn backward<S: Scalar>(
    gamma: &[S],
    (gg, gb): (&mut [S], &mut [S]),
    r: BackRows<'_, S>,
    n: usize,
    t: Scratch<'_, S>,
    up: &mut dyn Receive<S>,
    grads: Grads,
) {
    let w = gamma.len().max(1);
    t.sd.fill(S::ZERO);
    t.sdx.fill(S::ZERO);
    for (delta, xhat) in r.delta.chunks_exact(w).zip(r.xhat.chunks_exact(w)).take(n) {
        for (((sd, sdx), &d), &xh) in t.sd.iter_mut().zip(t.sdx.iter_mut()).zip(delta).zip(xhat) {
            *sd += d;
            *sdx += d * xh;
        }
    }
    for ((g, b), (&sdx, &sd)) in gg
        .iter_mut()
        .zip(gb.iter_mut())
        .zip(t.sdx.iter().zip(t.sd.iter()))
    {
        match grads {
            Grads::Skip => {}
            Grads::Overwrite => (*g, *b) = (sdx, sd),
            Grads::Accumulate => (*g, *b) = (*g + sdx, *b + sd),
        }
    }
    if !up.wants() {
        return;
    }
    let nn = S::from_usize(n.max(1));
    let train = r.train > S::ZERO;
    let rows = r.delta.chunks_exact(w).zip(r.xhat.chunks_exact(w)).take(n);
    for (k, (delta, xhat)) in rows.enumerate() {
        let per_unit = gamma.iter().zip(r.inv).zip(t.sd.iter().zip(t.sdx.iter()));
        for ((dx, (&d, &xh)), ((&g, &inv), (&s, &sx))) in
            t.dx.iter_mut().zip(delta.iter().zip(xhat)).zip(per_unit)
        {
            *dx = if train {
                inv / nn * (nn * g * d - g * s - xh * g * sx)
            } else {
                g * inv * d
            };
        }
        up.receive(k, t.dx);
    }
}

/// The Bessel correction `n / (n − 1)` of a training pass over `rows` rows; `None` if the
/// pass moves no running statistic (eval mode, or one row).
fn bessel<S: Scalar>(train: S, rows: usize) -> Option<S> {
    (train > S::ZERO && rows >= 2)
        .then(|| S::from_usize(rows) / S::from_usize(rows.saturating_sub(1)))
}

/// A running statistic `r` moved by momentum `m` toward the batch's `batch`.
#[inline(always)]
fn mix<S: Scalar>(m: S, r: S, batch: S) -> S {
    (S::ONE - m) * r + m * batch
}

/// Moves the running statistics by the batch's, after an accepted training step.
#[inline(never)]
fn commit<S: Scalar>(running: &mut [S], m: S, mu: &[S], var: &[S], train: S, rows: usize) {
    let Some(bessel) = bessel(train, rows) else {
        return;
    };
    let half = running.len() / 2;
    let (mean_r, var_r) = running.split_at_mut(half);
    for (r, &mu) in mean_r.iter_mut().zip(mu) {
        *r = mix(m, *r, mu);
    }
    for (r, &v) in var_r.iter_mut().zip(var) {
        *r = mix(m, *r, v * bessel);
    }
}

/// Whether [`commit`] would leave every running statistic finite (a batch variance beyond
/// the scalar's range, from inputs ~1e20 in f32, would not).
fn commit_finite<S: Scalar>(running: &[S], m: S, mu: &[S], var: &[S], train: S, rows: usize) -> bool {
    let Some(bessel) = bessel(train, rows) else {
        return true;
    };
    let (mean_r, var_r) = running.split_at(running.len() / 2);
    let means = mean_r.iter().zip(mu).map(|(&r, &mu)| mix(m, r, mu));
    let vars = var_r.iter().zip(var).map(|(&r, &v)| mix(m, r, v * bessel));
    means.chain(vars).fold(true, |ok, s| ok & s.is_finite())
}
