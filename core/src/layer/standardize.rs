//! Fitted mean subtraction or standardisation as a network's first layer:
//! `x' = (x − μ) · s`, `s = 1/σ` (standardize) or 1 (mean only, or a constant feature).
//!
//! The statistics are fitted on the training data (streaming: [`Standardizer`]), then the
//! layer is made from them ([`Standardize::from`]); they are state, not parameters (the
//! optimizer never touches them), and the model file stores them, so inference applies
//! the preprocessing the model was trained with.

use super::{
    shape_of, At, Erased, Family, FixedLayer, ZeroedLayer, Kind, Layer, LayerMut, LayerRef, OfScalar, Parts,
    PartsMut, Pass, Receive, Rows, Spec,
};
use crate::{Activation, Error, Math, Preprocess, Result, Scalar, Standardizer};
use crate::format::{count, Reader, Writer};
use super::{DynLayer, KindSpec};

/// A standardisation layer's spec: its width, transform and sample count (its fitted
/// statistics are its state).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StandardizeSpec {
    /// Features.
    pub width: usize,
    /// The transform.
    pub mode: Preprocess,
    /// Samples the statistics were fitted on.
    pub count: u32,
}

impl StandardizeSpec {
    fn mode_code(mode: Preprocess) -> u8 {
        match mode {
            Preprocess::None => 0,
            Preprocess::Mean => 1,
            Preprocess::Standardize => 2,
        }
    }
    fn mode_from_code(code: u8) -> Result<Preprocess> {
        match code {
            0 => Ok(Preprocess::None),
            1 => Ok(Preprocess::Mean),
            2 => Ok(Preprocess::Standardize),
            _ => Err(crate::FormatError::Malformed.into()),
        }
    }
}

impl KindSpec for StandardizeSpec {
    const NAME: &'static str = "standardize";
    const FIXED_BYTES: usize = 4 + 1 + 4;
    const SCALARS: usize = 0;
    fn inputs(&self) -> usize {
        self.width
    }
    fn state(&self) -> usize {
        self.width.saturating_mul(2)
    }
    fn variances(&self) -> bool {
        true
    }
    fn write<S: Scalar>(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u32(count(self.width)?);
        w.u8(Self::mode_code(self.mode));
        w.u32(self.count);
        Ok(())
    }
    fn read(r: &mut Reader<'_>, _width: usize) -> Result<Self> {
        Ok(StandardizeSpec {
            width: r.usize()?,
            mode: Self::mode_from_code(r.u8()?)?,
            count: r.u32()?,
        })
    }
    fn build<S: Scalar, F: Family>(&self) -> Result<DynLayer<S, F>> {
        let mean = F::filled(self.width, S::ZERO)?;
        let var = F::filled(self.width, S::ONE)?;
        Ok(DynStandardize::new(self.mode, self.count, mean.as_ref(), var.as_ref())?.into())
    }
}


/// A standardisation layer over `D` features: its mode, fitted mean and variance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Standardize<S, const D: usize> {
    mode: Preprocess,
    count: u32,
    /// Mean, then population variance.
    stats: [[S; D]; 2],
}

/// Training buffers of a [`Standardize`] layer: its output rows.
#[derive(Clone, Debug, PartialEq)]
pub struct StandardizeBuffers<S, const D: usize, const B: usize> {
    out: [[S; D]; B],
}

impl<S: Scalar, const D: usize> Default for Standardize<S, D> {
    /// No transform (mode [`Preprocess::None`]).
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn default() -> Self {
        Standardize {
            mode: Preprocess::None,
            count: 0,
            stats: [[S::ZERO; D], [S::ONE; D]],
        }
    }
}

impl<S: Scalar, const D: usize> From<&Standardizer<S, D>> for Standardize<S, D> {
    /// The layer of a fitted [`Standardizer`].
    fn from(s: &Standardizer<S, D>) -> Self {
        Standardize {
            mode: s.mode(),
            count: s.count(),
            stats: [*s.mean(), s.variance()],
        }
    }
}

impl<S: Scalar, const D: usize> Standardize<S, D> {
    /// A layer from fitted statistics: `mode`, the number of samples they were fitted on,
    /// the per-feature mean and population variance. A `const fn`, so a fitted layer can
    /// live in a `static` (what `microprop-sim export --rust` generates); the values are
    /// taken as they are (a model file's loader has checked them finite, the variances
    /// non-negative; [`fit`](Self::fit) and [`From<&Standardizer>`](Self::from) make them
    /// from data).
    ///
    /// ```
    /// use microprop::{layer::Standardize, Preprocess};
    /// static PRE: Standardize<f32, 2> =
    ///     Standardize::from_stats(Preprocess::Standardize, 10, [1.0, -2.0], [4.0, 0.25]);
    /// assert_eq!(PRE.count(), 10);
    /// ```
    pub const fn from_stats(mode: Preprocess, count: u32, mean: [S; D], variance: [S; D]) -> Self {
        Standardize {
            mode,
            count,
            stats: [mean, variance],
        }
    }
    /// Fits `mode` on every sample of `xs` (streaming, in order).
    ///
    /// # Errors
    /// As [`Standardizer::fit`].
    pub fn fit(mode: Preprocess, xs: &[[S; D]]) -> Result<Self> {
        Ok(Self::from(&Standardizer::fit(mode, xs)?))
    }
    /// The transform.
    pub fn mode(&self) -> Preprocess {
        self.mode
    }
    /// Samples the statistics were fitted on.
    pub fn count(&self) -> u32 {
        self.count
    }
}

impl<S, const D: usize> super::sealed::Sealed for Standardize<S, D> {}

impl<S: Scalar, const D: usize> OfScalar for Standardize<S, D> {
    type Scalar = S;
}

impl<S: Scalar, const D: usize> FixedLayer<S> for Standardize<S, D> {
    type In = [S; D];
    type Out = [S; D];
    const ZERO_OUT: [S; D] = [S::ZERO; D];
    const INPUTS: usize = D;
    const OUTPUTS: usize = D;
    const PARAMS: usize = 0;
    const STATE: usize = 2 * D;
    const ROW: usize = D;
    const FIXED: usize = 0;
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn zeroed_buffers<const B: usize>() -> Self::Buffers<B> {
        <Self as ZeroedLayer<S, B>>::ZEROED_BUFFERS
    }
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn zeroed_rows<const B: usize>() -> Rows<S, D, B> {
        <Self as ZeroedLayer<S, B>>::ZEROED_ROWS
    }
}

impl<S: Scalar, const D: usize, const B: usize> ZeroedLayer<S, B> for Standardize<S, D> {
    const ZEROED_BUFFERS: Self::Buffers<B> = StandardizeBuffers {
        out: [[S::ZERO; D]; B],
    };
    const ZEROED_ROWS: Rows<S, D, B> = Rows([[S::ZERO; D]; B]);
}

impl<S: Scalar, const D: usize> Layer<S> for Standardize<S, D> {
    type Input = [S; D];
    type Output = [S; D];
    type Buffers<const B: usize> = StandardizeBuffers<S, D, B>;
    type InRows<const B: usize> = Rows<S, D, B>;
    type OutRow = [S; D];

    fn kind(&self) -> Kind {
        Kind::Standardize
    }
    fn spec(&self) -> Spec {
        Spec::Standardize(StandardizeSpec {
            width: D,
            mode: self.mode,
            count: self.count,
        })
    }
    fn set_spec(&mut self, spec: &Spec) -> Result<()> {
        match *spec {
            Spec::Standardize(StandardizeSpec { width, mode, count }) if width == D => {
                (self.mode, self.count) = (mode, count);
                Ok(())
            }
            _ => Err(crate::Error::ShapeMismatch {
                expected: self.spec().outputs(),
                found: spec.outputs(),
            }),
        }
    }
    fn inputs(&self) -> usize {
        D
    }
    fn outputs(&self) -> usize {
        D
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
    fn in_rows<const B: usize>(&self, capacity: usize) -> Result<Rows<S, D, B>> {
        super::fixed_rows::<S, Self, B>(capacity)
    }
    fn out_row(&self) -> Result<[S; D]> {
        Ok([S::ZERO; D])
    }
    fn forward<M: Math<S>, const B: usize>(
        &self,
        _pass: &mut Pass<'_>,
        x: &[S],
        n: usize,
        buf: &mut Self::Buffers<B>,
    ) {
        let mut scale = [S::ONE; D];
        self.transform::<M>(&mut scale)
            .rows(x, buf.out.as_flattened_mut(), n.min(B));
    }
    fn infer<M: Math<S>>(&self, x: &[S], out: &mut [S]) -> Result<()> {
        let mut scale = [S::ONE; D];
        self.transform::<M>(&mut scale).rows(x, out, 1);
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
        let (mut scale, mut dx) = ([S::ONE; D], [S::ZERO; D]);
        self.transform::<M>(&mut scale)
            .backward(r, g, &mut dx, &mut Erased(up));
    }
    fn view<'a, const B: usize>(
        &'a self,
        buf: Option<&'a Self::Buffers<B>>,
        at: At,
    ) -> LayerRef<'a, S> {
        Parts::output_only(self.stats.as_flattened(), buf.map(|c| c.out.as_flattened())).view(
            at,
            Kind::Standardize,
            shape_of(self),
        )
    }
    fn view_mut<'a, const B: usize>(
        &'a mut self,
        buf: Option<&'a mut Self::Buffers<B>>,
        at: At,
    ) -> LayerMut<'a, S> {
        let shape = shape_of(self);
        PartsMut::output_only(
            self.stats.as_flattened_mut(),
            buf.map(|c| c.out.as_flattened_mut()),
        )
        .view(at, Kind::Standardize, shape)
    }
}

impl<S: Scalar, const D: usize> Standardize<S, D> {
    fn transform<'a, M: Math<S>>(&'a self, scale: &'a mut [S]) -> Transform<'a, S> {
        let [mean, var] = &self.stats;
        Transform::new::<M>(self.mode, mean, var, scale)
    }
}

/// A standardisation layer whose width is chosen at run time. The arithmetic is
/// [`Standardize`]'s.
#[derive(Clone, Debug, PartialEq)]
pub struct DynStandardize<S: Scalar, F: Family> {
    mode: Preprocess,
    count: u32,
    /// Mean, then population variance (`2 · width`).
    stats: F::Of<S>,
}

/// Training buffers of a [`DynStandardize`] layer.
#[derive(Clone, Debug, PartialEq)]
pub struct DynStandardizeBuffers<S: Scalar, F: Family> {
    capacity: usize,
    out: F::Of<S>,
}

impl<S: Scalar, F: Family> DynStandardize<S, F> {
    /// A layer from fitted statistics: `mode`, the sample count, the per-feature mean and
    /// population variance.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `mean` and `variance` differ in length,
    /// [`Error::InvalidHyperParameter`] for none, [`Error::NonFiniteInput`] for a NaN/±∞
    /// or negative variance, [`Error::Capacity`] if the storage cannot hold them.
    pub fn new(mode: Preprocess, count: u32, mean: &[S], variance: &[S]) -> Result<Self> {
        if mean.len() != variance.len() {
            return Err(Error::ShapeMismatch {
                expected: mean.len(),
                found: variance.len(),
            });
        }
        if mean.is_empty() {
            return Err(Error::InvalidHyperParameter("layer sizes must be > 0"));
        }
        if !S::all_finite(mean) || !S::all_finite(variance) || variance.iter().any(|&v| v < S::ZERO)
        {
            return Err(Error::NonFiniteInput);
        }
        Ok(DynStandardize {
            mode,
            count,
            stats: F::collect(mean.iter().chain(variance).copied())?,
        })
    }
    /// Fits `mode` on every sample of `data` (streaming, in order), at the data's width:
    /// [`Standardizer::fit`]'s arithmetic (the same Welford steps, the same population
    /// variance) without a compile-time width.
    ///
    /// # Errors
    /// [`Error::EmptyData`] for no samples; [`Error::NonFiniteInput`] at the first NaN/±∞
    /// feature; [`Error::Capacity`] if the storage cannot hold `2 · dim` scalars.
    pub fn fit(mode: Preprocess, data: &crate::Dataset<'_, S>) -> Result<Self> {
        if data.is_empty() {
            return Err(Error::EmptyData);
        }
        let dim = data.dim();
        let mut stats = F::filled(dim.checked_mul(2).ok_or(Error::Capacity)?, S::ZERO)?;
        let (mean, m2) = stats.as_mut().split_at_mut(dim);
        let mut count = 0u32;
        for (x, _) in data.iter() {
            if !S::all_finite(x) {
                return Err(Error::NonFiniteInput);
            }
            count = count.saturating_add(1);
            crate::preprocess::welford(count, mean, m2, x);
        }
        // Population variance, as `Standardizer::variance`.
        let n = S::from_usize(count.max(1) as usize);
        m2.iter_mut().for_each(|v| *v /= n);
        Ok(DynStandardize { mode, count, stats })
    }
    /// The transform.
    pub fn mode(&self) -> Preprocess {
        self.mode
    }
    /// Samples the statistics were fitted on.
    pub fn count(&self) -> u32 {
        self.count
    }
    fn width(&self) -> usize {
        self.stats.as_ref().len() / 2
    }
    fn transform<'a, M: Math<S>>(&'a self, scale: &'a mut [S]) -> Transform<'a, S> {
        let (mean, var) = self.stats.as_ref().split_at(self.width());
        Transform::new::<M>(self.mode, mean, var, scale)
    }
}

impl<S: Scalar, F: Family> super::sealed::Sealed for DynStandardize<S, F> {}

impl<S: Scalar, F: Family> OfScalar for DynStandardize<S, F> {
    type Scalar = S;
}

impl<S: Scalar, F: Family> Layer<S> for DynStandardize<S, F> {
    type Input = [S];
    type Output = [S];
    type Buffers<const B: usize> = DynStandardizeBuffers<S, F>;
    type InRows<const B: usize> = F::Of<S>;
    type OutRow = F::Of<S>;

    fn kind(&self) -> Kind {
        Kind::Standardize
    }
    fn spec(&self) -> Spec {
        Spec::Standardize(StandardizeSpec {
            width: self.width(),
            mode: self.mode,
            count: self.count,
        })
    }
    fn set_spec(&mut self, spec: &Spec) -> Result<()> {
        match *spec {
            Spec::Standardize(StandardizeSpec { width, mode, count }) if width == self.width() => {
                (self.mode, self.count) = (mode, count);
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
        None
    }
    fn params(&self) -> usize {
        0
    }
    fn buffers<const B: usize>(&self, capacity: usize) -> Result<Self::Buffers<B>> {
        if capacity == 0 {
            return Err(Error::Capacity);
        }
        let cache = self.width().checked_mul(capacity).ok_or(Error::Capacity)?;
        Ok(DynStandardizeBuffers {
            capacity,
            out: F::filled(cache, S::ZERO)?,
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
        _pass: &mut Pass<'_>,
        x: &[S],
        n: usize,
        buf: &mut Self::Buffers<B>,
    ) {
        if let Ok(mut scale) = F::filled(self.width(), S::ONE) {
            let n = n.min(buf.capacity);
            self.transform::<M>(scale.as_mut())
                .rows(x, buf.out.as_mut(), n);
        }
    }
    fn infer<M: Math<S>>(&self, x: &[S], out: &mut [S]) -> Result<()> {
        let mut scale = F::filled(self.width(), S::ONE)?;
        self.transform::<M>(scale.as_mut()).rows(x, out, 1);
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
        if let (Ok(mut scale), Ok(mut dx)) = (F::filled(self.width(), S::ONE), self.out_row()) {
            self.transform::<M>(scale.as_mut())
                .backward(r, g, dx.as_mut(), &mut Erased(up));
        }
    }
    fn view<'a, const B: usize>(
        &'a self,
        buf: Option<&'a Self::Buffers<B>>,
        at: At,
    ) -> LayerRef<'a, S> {
        Parts::output_only(self.stats.as_ref(), buf.map(|c| c.out.as_ref())).view(
            at,
            Kind::Standardize,
            shape_of(self),
        )
    }
    fn view_mut<'a, const B: usize>(
        &'a mut self,
        buf: Option<&'a mut Self::Buffers<B>>,
        at: At,
    ) -> LayerMut<'a, S> {
        let shape = shape_of(self);
        PartsMut::output_only(self.stats.as_mut(), buf.map(|c| c.out.as_mut())).view(
            at,
            Kind::Standardize,
            shape,
        )
    }
}

// ---------------------------------------------------------------------------------------
// The arithmetic, once.

/// The transform: mean and per-feature multiplier.
struct Transform<'a, S> {
    mode: Preprocess,
    mean: &'a [S],
    scale: &'a [S],
}

impl<'a, S: Scalar> Transform<'a, S> {
    /// `scale` (all ones on entry) becomes `1/σ` per feature in standardize mode, as
    /// [`Standardizer::scale`] computes it.
    fn new<M: Math<S>>(mode: Preprocess, mean: &'a [S], var: &[S], scale: &'a mut [S]) -> Self {
        if mode == Preprocess::Standardize {
            for (s, &v) in scale.iter_mut().zip(var) {
                let sd = M::sqrt(v);
                *s = if sd > S::EPSILON { S::ONE / sd } else { S::ONE };
            }
        }
        Transform { mode, mean, scale }
    }

    /// `out = (x − μ) · s` for `n` rows ([`Standardizer::apply`]'s arithmetic).
    fn rows(&self, x: &[S], out: &mut [S], n: usize) {
        let d = self.mean.len().max(1);
        for (x, out) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)).take(n) {
            if self.mode == Preprocess::None {
                out.iter_mut().zip(x).for_each(|(o, &x)| *o = x);
                continue;
            }
            for ((o, &x), (&m, &s)) in out.iter_mut().zip(x).zip(self.mean.iter().zip(self.scale)) {
                *o = (x - m) * s;
            }
        }
    }

    /// `∂L/∂x = ∂L/∂x' · s` of row `r`, straight to `up`.
    fn backward(&self, r: usize, g: &[S], dx: &mut [S], up: &mut dyn Receive<S>) {
        if !up.wants() {
            return;
        }
        for ((d, &g), &s) in dx.iter_mut().zip(g).zip(self.scale) {
            *d = if self.mode == Preprocess::None {
                g
            } else {
                g * s
            };
        }
        up.receive(r, dx);
    }
}
