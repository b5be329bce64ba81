//! Fitted 2-D PCA whitening as a network's first layer: `x' = Λ^{-1/2} Uᵀ (x − μ)`
//! ([`PcaWhitening`], fitted streaming on the training data, computed in `f64`).
//!
//! The layer has no parameters; its statistics are stored with the model, so inference
//! whitens as training did.

use super::{
    shape_of, At, Erased, Family, FixedLayer, ZeroedLayer, Kind, Layer, LayerMut, LayerRef, OfScalar, Parts,
    PartsMut, Pass, Receive, Rows, Spec,
};
use crate::{whitening::PcaWhitening, Activation, Error, Math, Result, Scalar};
use crate::format::{Reader, Writer};
use super::{DynLayer, KindSpec};

/// A whitening layer's spec: its fitted statistics (they are `f64`, and they are the
/// whole transform).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct WhitenSpec {
    /// The fitted statistics.
    pub stats: crate::whitening::WhiteningStats,
}

impl KindSpec for WhitenSpec {
    const NAME: &'static str = "whiten";
    const FIXED_BYTES: usize = 4 + 6 * 8;
    const SCALARS: usize = 0;
    fn inputs(&self) -> usize {
        2
    }
    fn check<S: Scalar>(&self) -> Result<()> {
        PcaWhitening::from_stats(self.stats).map(|_| ())
    }
    fn write<S: Scalar>(&self, w: &mut Writer<'_>) -> Result<()> {
        let s = &self.stats;
        w.u32(s.count);
        s.mean
            .iter()
            .chain(&s.cov)
            .chain(core::iter::once(&s.eps))
            .for_each(|&x| w.f64(x));
        Ok(())
    }
    fn read(r: &mut Reader<'_>, _width: usize) -> Result<Self> {
        Ok(WhitenSpec {
            stats: crate::whitening::WhiteningStats {
                count: r.u32()?,
                mean: [r.f64()?, r.f64()?],
                cov: [r.f64()?, r.f64()?, r.f64()?],
                eps: r.f64()?,
            },
        })
    }
    fn build<S: Scalar, F: Family>(&self) -> Result<DynLayer<S, F>> {
        Ok(DynWhiten::from(PcaWhitening::from_stats(self.stats)?).into())
    }
}


/// A 2-D whitening layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Whiten<S> {
    pca: PcaWhitening,
    _s: core::marker::PhantomData<S>,
}

/// Training buffers of a [`Whiten`] layer: its output rows.
#[derive(Clone, Debug, PartialEq)]
pub struct WhitenBuffers<S, const B: usize> {
    out: [[S; 2]; B],
}

impl<S> From<PcaWhitening> for Whiten<S> {
    /// The layer of a fitted whitening.
    fn from(pca: PcaWhitening) -> Self {
        Whiten {
            pca,
            _s: core::marker::PhantomData,
        }
    }
}

impl<S: Scalar> Default for Whiten<S> {
    /// The identity (nothing fitted).
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn default() -> Self {
        Whiten::from(PcaWhitening::IDENTITY)
    }
}

impl<S> Whiten<S> {
    /// The fitted whitening.
    pub fn whitening(&self) -> &PcaWhitening {
        &self.pca
    }
    /// Replaces the fitted whitening (loading a model).
    pub fn set_whitening(&mut self, pca: PcaWhitening) {
        self.pca = pca;
    }
}

impl<S> super::sealed::Sealed for Whiten<S> {}

impl<S: Scalar> OfScalar for Whiten<S> {
    type Scalar = S;
}

impl<S: Scalar> FixedLayer<S> for Whiten<S> {
    type In = [S; 2];
    type Out = [S; 2];
    const ZERO_OUT: [S; 2] = [S::ZERO; 2];
    const INPUTS: usize = 2;
    const OUTPUTS: usize = 2;
    const PARAMS: usize = 0;
    const STATE: usize = 0;
    const ROW: usize = 2;
    const FIXED: usize = 0;
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn zeroed_buffers<const B: usize>() -> Self::Buffers<B> {
        <Self as ZeroedLayer<S, B>>::ZEROED_BUFFERS
    }
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn zeroed_rows<const B: usize>() -> Rows<S, 2, B> {
        <Self as ZeroedLayer<S, B>>::ZEROED_ROWS
    }
}

impl<S: Scalar, const B: usize> ZeroedLayer<S, B> for Whiten<S> {
    const ZEROED_BUFFERS: Self::Buffers<B> = WhitenBuffers {
        out: [[S::ZERO; 2]; B],
    };
    const ZEROED_ROWS: Rows<S, 2, B> = Rows([[S::ZERO; 2]; B]);
}

impl<S: Scalar> Layer<S> for Whiten<S> {
    type Input = [S; 2];
    type Output = [S; 2];
    type Buffers<const B: usize> = WhitenBuffers<S, B>;
    type InRows<const B: usize> = Rows<S, 2, B>;
    type OutRow = [S; 2];

    fn kind(&self) -> Kind {
        Kind::Whiten
    }
    fn spec(&self) -> Spec {
        Spec::Whiten(WhitenSpec {
            stats: self.pca.stats(),
        })
    }
    fn set_spec(&mut self, spec: &Spec) -> Result<()> {
        match *spec {
            Spec::Whiten(WhitenSpec { stats }) => {
                self.pca = PcaWhitening::from_stats(stats)?;
                Ok(())
            }
            _ => Err(crate::Error::ShapeMismatch {
                expected: self.spec().outputs(),
                found: spec.outputs(),
            }),
        }
    }
    fn inputs(&self) -> usize {
        2
    }
    fn outputs(&self) -> usize {
        2
    }
    fn activation(&self) -> Option<Activation<S>> {
        None
    }
    fn params(&self) -> usize {
        0
    }
    fn buffers<const B: usize>(&self, capacity: usize) -> Result<Self::Buffers<B>> {
        super::fixed_buffers::<S, Self, B>(capacity)
    }
    fn capacity<const B: usize>(_buf: &Self::Buffers<B>) -> usize {
        B
    }
    fn in_rows<const B: usize>(&self, capacity: usize) -> Result<Rows<S, 2, B>> {
        super::fixed_rows::<S, Self, B>(capacity)
    }
    fn out_row(&self) -> Result<[S; 2]> {
        Ok([S::ZERO; 2])
    }
    fn forward<M: Math<S>, const B: usize>(
        &self,
        _pass: &mut Pass<'_>,
        x: &[S],
        n: usize,
        buf: &mut Self::Buffers<B>,
    ) {
        rows(&self.pca, x, buf.out.as_flattened_mut(), n.min(B));
    }
    fn infer<M: Math<S>>(&self, x: &[S], out: &mut [S]) -> Result<()> {
        rows(&self.pca, x, out, 1);
        Ok(())
    }
    fn split<const B: usize>(buf: &mut Self::Buffers<B>) -> (&[S], &mut [S]) {
        (buf.out.as_flattened(), &mut [])
    }
    fn output<const B: usize>(buf: &Self::Buffers<B>) -> &[S] {
        buf.out.as_flattened()
    }
    fn receive<M: Math<S>, U: Receive<S> + ?Sized>(
        &self,
        _out: &[S],
        _store: &mut [S],
        r: usize,
        g: &[S],
        up: &mut U,
    ) {
        receive(&self.pca, r, g, &mut Erased(up));
    }
    fn view<'a, const B: usize>(
        &'a self,
        buf: Option<&'a Self::Buffers<B>>,
        at: At,
    ) -> LayerRef<'a, S> {
        Parts::output_only(&[], buf.map(|c| c.out.as_flattened())).view(
            at,
            Kind::Whiten,
            shape_of(self),
        )
    }
    fn view_mut<'a, const B: usize>(
        &'a mut self,
        buf: Option<&'a mut Self::Buffers<B>>,
        at: At,
    ) -> LayerMut<'a, S> {
        let shape = shape_of(self);
        PartsMut::output_only(&mut [], buf.map(|c| c.out.as_flattened_mut())).view(
            at,
            Kind::Whiten,
            shape,
        )
    }
}

/// A whitening layer in a run-time network (its buffers in the storage family `F`).
#[derive(Clone, Debug, PartialEq)]
pub struct DynWhiten<S: Scalar, F: Family> {
    pca: PcaWhitening,
    _s: core::marker::PhantomData<(S, F)>,
}

/// Training buffers of a [`DynWhiten`] layer.
#[derive(Clone, Debug, PartialEq)]
pub struct DynWhitenBuffers<S: Scalar, F: Family> {
    capacity: usize,
    out: F::Of<S>,
}

impl<S: Scalar, F: Family> From<PcaWhitening> for DynWhiten<S, F> {
    fn from(pca: PcaWhitening) -> Self {
        DynWhiten {
            pca,
            _s: core::marker::PhantomData,
        }
    }
}

impl<S: Scalar, F: Family> DynWhiten<S, F> {
    /// The fitted whitening.
    pub fn whitening(&self) -> &PcaWhitening {
        &self.pca
    }
}

impl<S: Scalar, F: Family> super::sealed::Sealed for DynWhiten<S, F> {}

impl<S: Scalar, F: Family> OfScalar for DynWhiten<S, F> {
    type Scalar = S;
}

impl<S: Scalar, F: Family> Layer<S> for DynWhiten<S, F> {
    type Input = [S];
    type Output = [S];
    type Buffers<const B: usize> = DynWhitenBuffers<S, F>;
    type InRows<const B: usize> = F::Of<S>;
    type OutRow = F::Of<S>;

    fn kind(&self) -> Kind {
        Kind::Whiten
    }
    fn spec(&self) -> Spec {
        Spec::Whiten(WhitenSpec {
            stats: self.pca.stats(),
        })
    }
    fn set_spec(&mut self, spec: &Spec) -> Result<()> {
        match *spec {
            Spec::Whiten(WhitenSpec { stats }) => {
                self.pca = PcaWhitening::from_stats(stats)?;
                Ok(())
            }
            _ => Err(crate::Error::ShapeMismatch {
                expected: self.spec().outputs(),
                found: spec.outputs(),
            }),
        }
    }
    fn inputs(&self) -> usize {
        2
    }
    fn outputs(&self) -> usize {
        2
    }
    fn activation(&self) -> Option<Activation<S>> {
        None
    }
    fn params(&self) -> usize {
        0
    }
    fn buffers<const B: usize>(&self, capacity: usize) -> Result<Self::Buffers<B>> {
        if capacity == 0 {
            return Err(Error::Capacity);
        }
        let cache = capacity.checked_mul(2).ok_or(Error::Capacity)?;
        Ok(DynWhitenBuffers {
            capacity,
            out: F::filled(cache, S::ZERO)?,
        })
    }
    fn capacity<const B: usize>(buf: &Self::Buffers<B>) -> usize {
        buf.capacity
    }
    fn in_rows<const B: usize>(&self, capacity: usize) -> Result<F::Of<S>> {
        F::filled(capacity.checked_mul(2).ok_or(Error::Capacity)?, S::ZERO)
    }
    fn out_row(&self) -> Result<F::Of<S>> {
        F::filled(2, S::ZERO)
    }
    fn forward<M: Math<S>, const B: usize>(
        &self,
        _pass: &mut Pass<'_>,
        x: &[S],
        n: usize,
        buf: &mut Self::Buffers<B>,
    ) {
        rows(&self.pca, x, buf.out.as_mut(), n.min(buf.capacity));
    }
    fn infer<M: Math<S>>(&self, x: &[S], out: &mut [S]) -> Result<()> {
        rows(&self.pca, x, out, 1);
        Ok(())
    }
    fn split<const B: usize>(buf: &mut Self::Buffers<B>) -> (&[S], &mut [S]) {
        (buf.out.as_ref(), &mut [])
    }
    fn output<const B: usize>(buf: &Self::Buffers<B>) -> &[S] {
        buf.out.as_ref()
    }
    fn receive<M: Math<S>, U: Receive<S> + ?Sized>(
        &self,
        _out: &[S],
        _store: &mut [S],
        r: usize,
        g: &[S],
        up: &mut U,
    ) {
        receive(&self.pca, r, g, &mut Erased(up));
    }
    fn view<'a, const B: usize>(
        &'a self,
        buf: Option<&'a Self::Buffers<B>>,
        at: At,
    ) -> LayerRef<'a, S> {
        Parts::output_only(&[], buf.map(|c| c.out.as_ref())).view(at, Kind::Whiten, shape_of(self))
    }
    fn view_mut<'a, const B: usize>(
        &'a mut self,
        buf: Option<&'a mut Self::Buffers<B>>,
        at: At,
    ) -> LayerMut<'a, S> {
        let shape = shape_of(self);
        PartsMut::output_only(&mut [], buf.map(|c| c.out.as_mut())).view(at, Kind::Whiten, shape)
    }
}

// ---------------------------------------------------------------------------------------
// The arithmetic, once.

/// Whitens `n` rows of two features ([`PcaWhitening::apply`]).
fn rows<S: Scalar>(pca: &PcaWhitening, x: &[S], out: &mut [S], n: usize) {
    for (x, out) in x
        .as_chunks::<2>()
        .0
        .iter()
        .zip(out.as_chunks_mut::<2>().0)
        .take(n)
    {
        *out = *x;
        pca.apply(out);
    }
}

/// `∂L/∂x = Wᵀ ∂L/∂x'` of row `r`, straight to `up` (in `f64`, as the forward pass).
#[inline(never)]
fn receive<S: Scalar>(pca: &PcaWhitening, r: usize, g: &[S], up: &mut dyn Receive<S>) {
    if !up.wants() {
        return;
    }
    if let [g0, g1] = *g {
        let [w00, w01, w10, w11] = pca.matrix();
        let (g0, g1) = (g0.to_f64(), g1.to_f64());
        let dx = [
            S::from_f64(w00 * g0 + w10 * g1),
            S::from_f64(w01 * g0 + w11 * g1),
        ];
        up.receive(r, &dx);
    }
}
