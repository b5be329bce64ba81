//! Run-time layers: any layer kind, sizes chosen at run time, for a [`Sequential`].
//!
//! [`DynLayer`] is one enum over the run-time container of every kind; its [`Layer`]
//! implementation forwards each call to the kind. Its variants come from the registry of
//! kinds (`registered_kinds!` in `layer/mod.rs`).
//!
//! [`Sequential`]: super::Sequential

use super::{At, Family, Grads, Kind, Layer, LayerMut, LayerRef, Pass, Receive, Spec};
use crate::{optim::Optimizer, Activation, Math, Result, Scalar};

macro_rules! kinds {
    ($($file:ident: $kind:ident($spec:ident; $fixed:ident, $fixed_bufs:ident; $layer:ident, $buffers:ident)),+ $(,)?) => {
        /// A run-time layer of any kind.
        #[derive(Clone, Debug, PartialEq)]
        pub enum DynLayer<S: Scalar, F: Family> {
            $(
                #[doc = concat!("A [`", stringify!($layer), "`](super::", stringify!($layer), ").")]
                $kind(super::$layer<S, F>),
            )+
        }

        /// The training buffers of a [`DynLayer`].
        #[derive(Clone, Debug, PartialEq)]
        pub enum DynBuffers<S: Scalar, F: Family> {
            $(
                #[doc = concat!("Of a [`", stringify!($layer), "`](super::", stringify!($layer), ").")]
                $kind(super::$buffers<S, F>),
            )+
        }

        $(
            impl<S: Scalar, F: Family> From<super::$layer<S, F>> for DynLayer<S, F> {
                fn from(l: super::$layer<S, F>) -> Self {
                    DynLayer::$kind(l)
                }
            }
            impl<S: Scalar, F: Family> From<super::$buffers<S, F>> for DynBuffers<S, F> {
                fn from(b: super::$buffers<S, F>) -> Self {
                    DynBuffers::$kind(b)
                }
            }
        )+

        /// `$body` with the layer of `$self_` as `$l`.
        macro_rules! each {
            ($self_:expr, $l:ident => $body:expr) => {
                match $self_ {
                    $(DynLayer::$kind($l) => $body,)+
                }
            };
        }

        /// `$body` with the buffers of `$buf` as `$b` and their layer type as `$t`.
        macro_rules! each_buf {
            ($buf:expr, $b:ident, $t:ident => $body:expr) => {
                match $buf {
                    $(DynBuffers::$kind($b) => {
                        type $t<S, F> = super::$layer<S, F>;
                        $body
                    })+
                }
            };
        }

        /// `$body` with the layer as `$l` and its buffers as `$b`; `$other` if `$buf` is of
        /// another kind (never: a [`Sequential`](super::Sequential) makes each layer's
        /// buffers from the layer).
        macro_rules! each_with {
            ($self_:expr, $buf:expr, $l:ident, $b:ident => $body:expr, $other:expr) => {
                match $self_ {
                    $(DynLayer::$kind($l) => {
                        #[allow(unreachable_patterns)]
                        match $buf {
                            DynBuffers::$kind($b) => $body,
                            _ => $other,
                        }
                    })+
                }
            };
        }

        /// `$body` with the layer as `$l` and its optional buffers as `$b`.
        macro_rules! each_opt {
            ($self_:expr, $buf:expr, $l:ident, $b:ident => $body:expr) => {
                match $self_ {
                    $(DynLayer::$kind($l) => {
                        #[allow(unreachable_patterns)]
                        let $b = match $buf {
                            Some(DynBuffers::$kind(b)) => Some(b),
                            _ => None,
                        };
                        $body
                    })+
                }
            };
        }
    };
}

registered_kinds!(kinds);

impl<S: Scalar, F: Family> DynLayer<S, F> {
    /// A layer of `spec` with its numbers zeroed (weights 0; batch norm γ = 1, β = 0,
    /// running variance 1; standardisation mean 0, variance 1): a model file's layers are
    /// built from its specs, then its values are loaded into them.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`](crate::Error::InvalidHyperParameter) for a zero
    /// size or a value the kind refuses; [`Error::Capacity`](crate::Error::Capacity) if the
    /// storage cannot hold the layer.
    pub fn from_spec(spec: &Spec) -> Result<Self> {
        spec.build::<S, F>()
    }
}

impl<S: Scalar, F: Family> super::sealed::Sealed for DynLayer<S, F> {}

impl<S: Scalar, F: Family> super::OfScalar for DynLayer<S, F> {
    type Scalar = S;
}

impl<S: Scalar, F: Family> Layer<S> for DynLayer<S, F> {
    type Input = [S];
    type Output = [S];
    type Buffers<const B: usize> = DynBuffers<S, F>;
    type InRows<const B: usize> = F::Of<S>;
    type OutRow = F::Of<S>;

    fn kind(&self) -> Kind {
        each!(self, l => l.kind())
    }
    fn spec(&self) -> Spec {
        each!(self, l => l.spec())
    }
    fn set_spec(&mut self, spec: &Spec) -> Result<()> {
        each!(self, l => l.set_spec(spec))
    }
    fn inputs(&self) -> usize {
        each!(self, l => l.inputs())
    }
    fn outputs(&self) -> usize {
        each!(self, l => l.outputs())
    }
    fn activation(&self) -> Option<Activation<S>> {
        each!(self, l => l.activation())
    }
    fn params(&self) -> usize {
        each!(self, l => l.params())
    }
    fn needs_batch(&self) -> bool {
        each!(self, l => l.needs_batch())
    }
    fn buffers<const B: usize>(&self, capacity: usize) -> Result<DynBuffers<S, F>> {
        each!(self, l => l.buffers::<B>(capacity).map(Into::into))
    }
    fn capacity<const B: usize>(buf: &DynBuffers<S, F>) -> usize {
        each_buf!(buf, b, T => T::<S, F>::capacity::<B>(b))
    }
    fn in_rows<const B: usize>(&self, capacity: usize) -> Result<F::Of<S>> {
        each!(self, l => l.in_rows::<B>(capacity))
    }
    fn commit<const B: usize>(&mut self, buf: &DynBuffers<S, F>, rows: usize) {
        each_with!(self, buf, l, b => l.commit::<B>(b, rows), ())
    }
    fn out_row(&self) -> Result<F::Of<S>> {
        each!(self, l => l.out_row())
    }
    fn forward<M: Math<S>, const B: usize>(
        &self,
        pass: &mut Pass<'_>,
        x: &[S],
        n: usize,
        buf: &mut DynBuffers<S, F>,
    ) {
        each_with!(self, buf, l, b => l.forward::<M, B>(pass, x, n, b), ())
    }
    fn infer<M: Math<S>>(&self, x: &[S], out: &mut [S]) -> Result<()> {
        each!(self, l => l.infer::<M>(x, out))
    }
    fn split<const B: usize>(buf: &mut DynBuffers<S, F>) -> (&[S], &mut [S]) {
        each_buf!(buf, b, T => T::<S, F>::split::<B>(b))
    }
    fn output<const B: usize>(buf: &DynBuffers<S, F>) -> &[S] {
        each_buf!(buf, b, T => T::<S, F>::output::<B>(b))
    }
    fn head<const B: usize>(buf: &mut DynBuffers<S, F>) -> Option<(&mut [S], &[S])> {
        each_buf!(buf, b, T => T::<S, F>::head::<B>(b))
    }
    fn wants(&self, upstream: bool) -> bool {
        each!(self, l => l.wants(upstream))
    }
    fn receive<M: Math<S>, U: Receive<S> + ?Sized>(
        &self,
        out: &[S],
        store: &mut [S],
        r: usize,
        g: &[S],
        up: &mut U,
    ) {
        each!(self, l => l.receive::<M, U>(out, store, r, g, up))
    }
    fn backward<M: Math<S>, U: Receive<S> + ?Sized, const B: usize>(
        &self,
        buf: &mut DynBuffers<S, F>,
        x: &[S],
        n: usize,
        up: &mut U,
        grads: Grads,
    ) {
        each_with!(self, buf, l, b => l.backward::<M, U, B>(b, x, n, up, grads), ())
    }
    fn update_online<O: Optimizer<S>, const B: usize>(
        &mut self,
        buf: &DynBuffers<S, F>,
        x: &[S],
        opt: &mut O,
        offset: usize,
    ) {
        each_with!(self, buf, l, b => l.update_online::<O, B>(b, x, opt, offset), ())
    }
    fn online_accepts<O: Optimizer<S>, const B: usize>(
        &self,
        buf: &DynBuffers<S, F>,
        x: &[S],
        opt: &O,
        params: usize,
        offset: usize,
    ) -> bool {
        each_with!(self, buf, l, b => l.online_accepts::<O, B>(b, x, opt, params, offset), false)
    }
    fn online_step_bound<O: Optimizer<S>, const B: usize>(
        &self,
        buf: &DynBuffers<S, F>,
        x: &[S],
        opt: &O,
    ) -> Option<S> {
        each_with!(self, buf, l, b => l.online_step_bound::<O, B>(b, x, opt), None)
    }
    fn commit_finite<const B: usize>(&self, buf: &DynBuffers<S, F>, rows: usize) -> bool {
        each_with!(self, buf, l, b => l.commit_finite::<B>(b, rows), false)
    }
    fn view<'a, const B: usize>(
        &'a self,
        buf: Option<&'a DynBuffers<S, F>>,
        at: At,
    ) -> LayerRef<'a, S> {
        each_opt!(self, buf, l, b => l.view::<B>(b, at))
    }
    fn view_mut<'a, const B: usize>(
        &'a mut self,
        buf: Option<&'a mut DynBuffers<S, F>>,
        at: At,
    ) -> LayerMut<'a, S> {
        each_opt!(self, buf, l, b => l.view_mut::<B>(b, at))
    }
}
