//! Where run-time layers keep their numbers: a storage family.
//!
//! A [`Family`] names one growable container for every element type (heapless'
//! storage-generic pattern): `Vec<T>` on the host (the simulator's `Heap`), a
//! [`heapless::Vec<T, N>`] of fixed capacity on a device ([`Bounded<N>`]), an
//! `alloc::vec::Vec` wherever there is a heap ([`Heap`], behind the `alloc` feature: the
//! simulator and the browser playground). Compile-time layers need none: their arrays
//! are inside the value.

use core::fmt::Debug;

use crate::{Error, Result};

/// A growable container for any element type, chosen once for a run-time network.
///
/// Implement it for a marker type of your own to keep a network in other storage (the
/// host simulator implements it with `Vec`).
pub trait Family: Clone + Copy + Debug + PartialEq + Default {
    /// The container of `T`.
    type Of<T: Clone + Debug + PartialEq>: AsRef<[T]> + AsMut<[T]> + Clone + Debug + PartialEq;

    /// A container of `len` copies of `value`.
    ///
    /// # Errors
    /// [`Error::Capacity`] if the container cannot hold `len` elements.
    fn filled<T: Clone + Debug + PartialEq>(len: usize, value: T) -> Result<Self::Of<T>>;

    /// A container of the items of `items`, in order.
    ///
    /// # Errors
    /// [`Error::Capacity`] if the container cannot hold them all.
    fn collect<T: Clone + Debug + PartialEq>(
        items: impl IntoIterator<Item = T>,
    ) -> Result<Self::Of<T>>;
}

/// A [`Family`] of [`heapless::Vec`]s holding at most `N` elements each: run-time shapes
/// on a device without a heap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bounded<const N: usize>;

impl<const N: usize> Family for Bounded<N> {
    type Of<T: Clone + Debug + PartialEq> = heapless::Vec<T, N>;

    fn filled<T: Clone + Debug + PartialEq>(len: usize, value: T) -> Result<heapless::Vec<T, N>> {
        let mut v = heapless::Vec::new();
        v.resize(len, value).map_err(|_| Error::Capacity)?;
        Ok(v)
    }

    fn collect<T: Clone + Debug + PartialEq>(
        items: impl IntoIterator<Item = T>,
    ) -> Result<heapless::Vec<T, N>> {
        let mut v = heapless::Vec::new();
        for item in items {
            v.push(item).map_err(|_| Error::Capacity)?;
        }
        Ok(v)
    }
}

/// A [`Family`] of `alloc::vec::Vec`s: run-time shapes wherever there is a heap (the host
/// simulator, the browser playground). Behind the `alloc` feature; the core itself never
/// allocates.
#[cfg(feature = "alloc")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Heap;

#[cfg(feature = "alloc")]
impl Family for Heap {
    type Of<T: Clone + Debug + PartialEq> = alloc::vec::Vec<T>;

    fn filled<T: Clone + Debug + PartialEq>(len: usize, value: T) -> Result<alloc::vec::Vec<T>> {
        Ok(alloc::vec![value; len])
    }

    fn collect<T: Clone + Debug + PartialEq>(
        items: impl IntoIterator<Item = T>,
    ) -> Result<alloc::vec::Vec<T>> {
        Ok(items.into_iter().collect())
    }
}

/// The hidden layers' extras of [`layers_with`]: batch norm after every hidden dense
/// layer, dropout after every hidden layer's activation.
#[cfg(feature = "alloc")]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Extras {
    /// Batch norm (default momentum and ε) after every hidden dense layer.
    pub batch_norm: bool,
    /// Dropout with this drop probability after every hidden layer.
    pub dropout: Option<f64>,
}

/// The dense layers of `sizes` (input first) with `activations[i]` on layer `i`, all
/// weights zero, on the [`Heap`] (feature `alloc`).
///
/// # Errors
/// [`Error::InvalidHyperParameter`] for fewer than two sizes or a zero size;
/// [`Error::ShapeMismatch`] unless there is one activation per layer.
#[cfg(feature = "alloc")]
pub fn dense_layers_with<S: crate::Scalar>(
    sizes: &[usize],
    activations: &[crate::Activation<S>],
) -> Result<alloc::vec::Vec<super::DynLayer<S, Heap>>> {
    if sizes.len() < 2 || sizes.contains(&0) {
        return Err(Error::InvalidHyperParameter(
            "layers: at least two sizes, none zero",
        ));
    }
    if activations.len() != sizes.len() - 1 {
        return Err(Error::ShapeMismatch {
            expected: sizes.len() - 1,
            found: activations.len(),
        });
    }
    sizes
        .windows(2)
        .zip(activations)
        .map(|(w, &act)| match *w {
            [n_in, n_out] => super::DynDense::zeroed(n_in, n_out, act).map(super::DynLayer::from),
            _ => Err(Error::InvalidHyperParameter("layers")),
        })
        .collect()
}

/// The dense layers of `sizes` (input first): `hidden` on every layer but the last,
/// `output` on the last, all weights zero, on the [`Heap`] (feature `alloc`).
///
/// # Errors
/// As [`dense_layers_with`].
#[cfg(feature = "alloc")]
pub fn dense_layers<S: crate::Scalar>(
    sizes: &[usize],
    hidden: crate::Activation<S>,
    output: crate::Activation<S>,
) -> Result<alloc::vec::Vec<super::DynLayer<S, Heap>>> {
    let depth = sizes.len().saturating_sub(1);
    let acts: alloc::vec::Vec<crate::Activation<S>> = (0..depth)
        .map(|i| if i + 1 == depth { output } else { hidden })
        .collect();
    dense_layers_with(sizes, &acts)
}

/// The layers of `sizes` with `extras`, on the [`Heap`] (feature `alloc`): each hidden
/// dense layer (identity activation when batch norm follows it, which then applies
/// `hidden`), then dropout; the output layer plain; all weights zero. The simulator's
/// `train` and the browser playground build their networks with it.
///
/// # Errors
/// As [`dense_layers`]; [`Error::InvalidHyperParameter`] for a bad dropout probability.
#[cfg(feature = "alloc")]
pub fn layers_with<S: crate::Scalar>(
    sizes: &[usize],
    hidden: crate::Activation<S>,
    output: crate::Activation<S>,
    extras: Extras,
) -> Result<alloc::vec::Vec<super::DynLayer<S, Heap>>> {
    let dense = dense_layers::<S>(sizes, hidden, output)?;
    let depth = dense.len();
    let mut layers = alloc::vec::Vec::with_capacity(3 * depth);
    for (i, (layer, w)) in dense.into_iter().zip(sizes.windows(2)).enumerate() {
        let [n_in, width] = *w else {
            return Err(Error::InvalidHyperParameter("layers"));
        };
        if i + 1 == depth {
            layers.push(layer);
            break;
        }
        if extras.batch_norm {
            let act = crate::Activation::Identity;
            layers.push(super::DynDense::zeroed(n_in, width, act)?.into());
            let cfg = super::BatchNormConfig::default();
            layers.push(super::DynBatchNorm::new(width, hidden, cfg)?.into());
        } else {
            layers.push(layer);
        }
        if let Some(p) = extras.dropout {
            layers.push(super::DynDropout::new(width, p)?.into());
        }
    }
    Ok(layers)
}
