//! Inverted dropout: in training each unit is kept with probability `1 − p` and scaled by
//! `1/(1 − p)`, so inference (the identity) needs no rescaling. The mask is drawn from the
//! pass's generator ([`Pass::rng`]); a pass without one keeps the last mask (a fixed mask,
//! for gradient checks), and fresh buffers drop nothing.

use super::{
    rows, shape_of, At, Erased, Family, FixedLayer, ZeroedLayer, Grads, Kind, Layer, LayerMut, LayerRef, Mode,
    OfScalar, Parts, PartsMut, Pass, Receive, Rows, Spec,
};
use crate::{Activation, Error, Math, Result, Scalar};
use crate::format::{count, Reader, Writer};
use super::{DynLayer, KindSpec};

/// A dropout layer's spec: its width and drop probability.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DropoutSpec {
    /// Units.
    pub width: usize,
    /// Drop probability, as stored (widened).
    pub p: f64,
}

impl KindSpec for DropoutSpec {
    const NAME: &'static str = "dropout";
    const FIXED_BYTES: usize = 4;
    const SCALARS: usize = 1;
    fn inputs(&self) -> usize {
        self.width
    }
    fn check<S: Scalar>(&self) -> Result<()> {
        let s = S::from_f64(self.p);
        if s.is_finite() && s >= S::ZERO && s < S::ONE {
            Ok(())
        } else {
            Err(Error::InvalidHyperParameter(
                "dropout probability must be in [0, 1)",
            ))
        }
    }
    fn write<S: Scalar>(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u32(count(self.width)?);
        w.scalar(S::from_f64(self.p));
        Ok(())
    }
    fn read(r: &mut Reader<'_>, width: usize) -> Result<Self> {
        Ok(DropoutSpec {
            width: r.usize()?,
            p: r.scalar(width)?,
        })
    }
    fn build<S: Scalar, F: Family>(&self) -> Result<DynLayer<S, F>> {
        Ok(DynDropout::new(self.width, self.p)?.into())
    }
}


/// Checks a drop probability in the scalar type: finite and in `[0, 1)`.
fn check_p<S: Scalar>(p: f64) -> Result<S> {
    let s = S::from_f64(p);
    if s.is_finite() && s >= S::ZERO && s < S::ONE {
        Ok(s)
    } else {
        Err(Error::InvalidHyperParameter(
            "dropout probability must be in [0, 1)",
        ))
    }
}

/// A dropout layer over `W` units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout<S, const W: usize> {
    p: S,
}

/// Training buffers of a [`Dropout`] layer for batches of up to `B` rows.
#[derive(Clone, Debug, PartialEq)]
pub struct DropoutBuffers<S, const W: usize, const B: usize> {
    mask: [[S; W]; B],
    a: [[S; W]; B],
    /// `∂L/∂a` of the backward pass.
    d: [[S; W]; B],
    /// 1 if the last forward pass ran in training mode, else 0.
    train: S,
}

impl<S: Scalar, const W: usize> Default for Dropout<S, W> {
    /// `p = 0.5`.
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn default() -> Self {
        Dropout { p: S::HALF }
    }
}

impl<S: Scalar, const W: usize> Dropout<S, W> {
    /// Dropout with drop probability `p`.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] unless `p` is in `[0, 1)` in `S`.
    pub fn new(p: f64) -> Result<Self> {
        Ok(Dropout { p: check_p(p)? })
    }
    /// The drop probability.
    pub fn p(&self) -> S {
        self.p
    }
}

impl<S, const W: usize> super::sealed::Sealed for Dropout<S, W> {}

impl<S: Scalar, const W: usize> OfScalar for Dropout<S, W> {
    type Scalar = S;
}

impl<S: Scalar, const W: usize> FixedLayer<S> for Dropout<S, W> {
    type In = [S; W];
    type Out = [S; W];
    const ZERO_OUT: [S; W] = [S::ZERO; W];
    const INPUTS: usize = W;
    const OUTPUTS: usize = W;
    const PARAMS: usize = 0;
    const STATE: usize = 0;
    const ROW: usize = 3 * W;
    const FIXED: usize = 1;
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn zeroed_buffers<const B: usize>() -> Self::Buffers<B> {
        <Self as ZeroedLayer<S, B>>::ZEROED_BUFFERS
    }
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn zeroed_rows<const B: usize>() -> Rows<S, W, B> {
        <Self as ZeroedLayer<S, B>>::ZEROED_ROWS
    }
}

impl<S: Scalar, const W: usize, const B: usize> ZeroedLayer<S, B> for Dropout<S, W> {
    const ZEROED_BUFFERS: Self::Buffers<B> = DropoutBuffers {
        mask: [[S::ONE; W]; B],
        a: [[S::ZERO; W]; B],
        d: [[S::ZERO; W]; B],
        train: S::ZERO,
    };
    const ZEROED_ROWS: Rows<S, W, B> = Rows([[S::ZERO; W]; B]);
}

impl<S: Scalar, const W: usize> Layer<S> for Dropout<S, W> {
    type Input = [S; W];
    type Output = [S; W];
    type Buffers<const B: usize> = DropoutBuffers<S, W, B>;
    type InRows<const B: usize> = Rows<S, W, B>;
    type OutRow = [S; W];

    fn kind(&self) -> Kind {
        Kind::Dropout
    }
    fn spec(&self) -> Spec {
        Spec::Dropout(DropoutSpec {
            width: W,
            p: self.p.to_f64(),
        })
    }
    fn set_spec(&mut self, spec: &Spec) -> Result<()> {
        match *spec {
            Spec::Dropout(DropoutSpec { width, p }) if width == W => {
                self.p = check_p(p)?;
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
        let (mask, a) = (buf.mask.as_flattened_mut(), buf.a.as_flattened_mut());
        buf.train = forward(self.p, pass, x, rows_of(W, n.min(B)), mask, a);
    }
    fn infer<M: Math<S>>(&self, x: &[S], out: &mut [S]) -> Result<()> {
        out.iter_mut().zip(x).for_each(|(o, &x)| *o = x);
        Ok(())
    }
    fn split<const B: usize>(buf: &mut Self::Buffers<B>) -> (&[S], &mut [S]) {
        (buf.a.as_flattened(), buf.d.as_flattened_mut())
    }
    fn output<const B: usize>(buf: &Self::Buffers<B>) -> &[S] {
        buf.a.as_flattened()
    }
    fn receive<M: Math<S>, U: Receive<S> + ?Sized>(
        &self,
        _out: &[S],
        store: &mut [S],
        r: usize,
        g: &[S],
        _up: &mut U,
    ) {
        store_row(store, W, r, g);
    }
    fn backward<M: Math<S>, U: Receive<S> + ?Sized, const B: usize>(
        &self,
        buf: &mut Self::Buffers<B>,
        _x: &[S],
        n: usize,
        up: &mut U,
        _grads: Grads,
    ) {
        let mut dx = [S::ZERO; W];
        let (d, mask) = (buf.d.as_flattened(), buf.mask.as_flattened());
        backward(
            d,
            mask,
            buf.train,
            rows_of(W, n.min(B)),
            &mut dx,
            &mut Erased(up),
        );
    }
    fn view<'a, const B: usize>(
        &'a self,
        buf: Option<&'a Self::Buffers<B>>,
        at: At,
    ) -> LayerRef<'a, S> {
        Parts::output_only(&[], buf.map(|c| c.a.as_flattened())).view(
            at,
            Kind::Dropout,
            shape_of(self),
        )
    }
    fn view_mut<'a, const B: usize>(
        &'a mut self,
        buf: Option<&'a mut Self::Buffers<B>>,
        at: At,
    ) -> LayerMut<'a, S> {
        let shape = shape_of(self);
        PartsMut::output_only(&mut [], buf.map(|c| c.a.as_flattened_mut())).view(
            at,
            Kind::Dropout,
            shape,
        )
    }
}

/// A dropout layer whose width is chosen at run time, its buffers in the storage family
/// `F`. The arithmetic is [`Dropout`]'s.
#[derive(Clone, Debug, PartialEq)]
pub struct DynDropout<S: Scalar, F: Family> {
    width: usize,
    p: S,
    _f: core::marker::PhantomData<F>,
}

/// Training buffers of a [`DynDropout`] layer.
#[derive(Clone, Debug, PartialEq)]
pub struct DynDropoutBuffers<S: Scalar, F: Family> {
    capacity: usize,
    mask: F::Of<S>,
    a: F::Of<S>,
    d: F::Of<S>,
    dx: F::Of<S>,
    train: S,
}

impl<S: Scalar, F: Family> DynDropout<S, F> {
    /// Dropout with drop probability `p` over `width` units.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] for a zero width or `p` outside `[0, 1)`.
    pub fn new(width: usize, p: f64) -> Result<Self> {
        if width == 0 {
            return Err(Error::InvalidHyperParameter("layer sizes must be > 0"));
        }
        Ok(DynDropout {
            width,
            p: check_p(p)?,
            _f: core::marker::PhantomData,
        })
    }
    /// The drop probability.
    pub fn p(&self) -> S {
        self.p
    }
}

impl<S: Scalar, F: Family> super::sealed::Sealed for DynDropout<S, F> {}

impl<S: Scalar, F: Family> OfScalar for DynDropout<S, F> {
    type Scalar = S;
}

impl<S: Scalar, F: Family> Layer<S> for DynDropout<S, F> {
    type Input = [S];
    type Output = [S];
    type Buffers<const B: usize> = DynDropoutBuffers<S, F>;
    type InRows<const B: usize> = F::Of<S>;
    type OutRow = F::Of<S>;

    fn kind(&self) -> Kind {
        Kind::Dropout
    }
    fn spec(&self) -> Spec {
        Spec::Dropout(DropoutSpec {
            width: self.width,
            p: self.p.to_f64(),
        })
    }
    fn set_spec(&mut self, spec: &Spec) -> Result<()> {
        match *spec {
            Spec::Dropout(DropoutSpec { width, p }) if width == self.width => {
                self.p = check_p(p)?;
                Ok(())
            }
            _ => Err(crate::Error::ShapeMismatch {
                expected: self.spec().outputs(),
                found: spec.outputs(),
            }),
        }
    }
    fn inputs(&self) -> usize {
        self.width
    }
    fn outputs(&self) -> usize {
        self.width
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
        let cache = self.width.checked_mul(capacity).ok_or(Error::Capacity)?;
        Ok(DynDropoutBuffers {
            capacity,
            mask: F::filled(cache, S::ONE)?,
            a: F::filled(cache, S::ZERO)?,
            d: F::filled(cache, S::ZERO)?,
            dx: F::filled(self.width, S::ZERO)?,
            train: S::ZERO,
        })
    }
    fn capacity<const B: usize>(buf: &Self::Buffers<B>) -> usize {
        buf.capacity
    }
    fn in_rows<const B: usize>(&self, capacity: usize) -> Result<F::Of<S>> {
        F::filled(
            self.width.checked_mul(capacity).ok_or(Error::Capacity)?,
            S::ZERO,
        )
    }
    fn out_row(&self) -> Result<F::Of<S>> {
        F::filled(self.width, S::ZERO)
    }
    fn forward<M: Math<S>, const B: usize>(
        &self,
        pass: &mut Pass<'_>,
        x: &[S],
        n: usize,
        buf: &mut Self::Buffers<B>,
    ) {
        let rows = rows_of(self.width, n.min(buf.capacity));
        buf.train = forward(self.p, pass, x, rows, buf.mask.as_mut(), buf.a.as_mut());
    }
    fn infer<M: Math<S>>(&self, x: &[S], out: &mut [S]) -> Result<()> {
        out.iter_mut().zip(x).for_each(|(o, &x)| *o = x);
        Ok(())
    }
    fn split<const B: usize>(buf: &mut Self::Buffers<B>) -> (&[S], &mut [S]) {
        (buf.a.as_ref(), buf.d.as_mut())
    }
    fn output<const B: usize>(buf: &Self::Buffers<B>) -> &[S] {
        buf.a.as_ref()
    }
    fn receive<M: Math<S>, U: Receive<S> + ?Sized>(
        &self,
        _out: &[S],
        store: &mut [S],
        r: usize,
        g: &[S],
        _up: &mut U,
    ) {
        store_row(store, self.width, r, g);
    }
    fn backward<M: Math<S>, U: Receive<S> + ?Sized, const B: usize>(
        &self,
        buf: &mut Self::Buffers<B>,
        _x: &[S],
        n: usize,
        up: &mut U,
        _grads: Grads,
    ) {
        let rows = rows_of(self.width, n.min(buf.capacity));
        backward(
            buf.d.as_ref(),
            buf.mask.as_ref(),
            buf.train,
            rows,
            buf.dx.as_mut(),
            &mut Erased(up),
        );
    }
    fn view<'a, const B: usize>(
        &'a self,
        buf: Option<&'a Self::Buffers<B>>,
        at: At,
    ) -> LayerRef<'a, S> {
        Parts::output_only(&[], buf.map(|c| c.a.as_ref())).view(at, Kind::Dropout, shape_of(self))
    }
    fn view_mut<'a, const B: usize>(
        &'a mut self,
        buf: Option<&'a mut Self::Buffers<B>>,
        at: At,
    ) -> LayerMut<'a, S> {
        let shape = shape_of(self);
        PartsMut::output_only(&mut [], buf.map(|c| c.a.as_mut())).view(at, Kind::Dropout, shape)
    }
}

// ---------------------------------------------------------------------------------------
// The arithmetic, once.

/// `n` rows of `width`.
#[derive(Clone, Copy)]
struct Shape {
    width: usize,
    n: usize,
}

fn rows_of(width: usize, n: usize) -> Shape {
    Shape { width, n }
}

/// Forward: draws the mask in training (or keeps it without a generator), `a = x ⊙ mask`;
/// the identity in evaluation. Returns the training flag.
#[inline(never)]
fn forward<S: Scalar>(
    p: S,
    pass: &mut Pass<'_>,
    x: &[S],
    s: Shape,
    mask: &mut [S],
    a: &mut [S],
) -> S {
    let len = s.width.saturating_mul(s.n);
    let (x, a) = (rows(x, s.width, s.n), super::rows_mut(a, s.width, s.n));
    match pass.mode {
        Mode::Eval => {
            a.iter_mut().zip(x).for_each(|(a, &x)| *a = x);
            S::ZERO
        }
        Mode::Train => {
            let mask = super::rows_mut(mask, s.width, s.n);
            if let Some(rng) = pass.rng.as_deref_mut() {
                let keep = S::ONE / (S::ONE - p);
                let p = p.to_f64();
                for m in mask.iter_mut().take(len) {
                    *m = if crate::rng::uniform01(rng) < p {
                        S::ZERO
                    } else {
                        keep
                    };
                }
            }
            for ((a, &x), &m) in a.iter_mut().zip(x).zip(mask.iter()) {
                *a = x * m;
            }
            S::ONE
        }
    }
}

/// Stores row `r` of `∂L/∂a`.
fn store_row<S: Scalar>(store: &mut [S], width: usize, r: usize, g: &[S]) {
    let start = r.saturating_mul(width);
    if let Some(dst) = store.get_mut(start..start.saturating_add(width)) {
        dst.iter_mut().zip(g).for_each(|(d, &g)| *d = g);
    }
}

/// Backward: `∂L/∂x = ∂L/∂a ⊙ mask` (training) or `∂L/∂a` (evaluation), row by row.
#[inline(never)]
fn backward<S: Scalar>(
    d: &[S],
    mask: &[S],
    train: S,
    s: Shape,
    dx: &mut [S],
    up: &mut dyn Receive<S>,
) {
    if !up.wants() {
        return;
    }
    let w = s.width.max(1);
    for (r, (d, m)) in d
        .chunks_exact(w)
        .zip(mask.chunks_exact(w))
        .take(s.n)
        .enumerate()
    {
        for ((o, &d), &m) in dx.iter_mut().zip(d).zip(m) {
            *o = if train > S::ZERO { d * m } else { d };
        }
        up.receive(r, dx);
    }
}
