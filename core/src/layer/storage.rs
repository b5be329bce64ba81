//! Where run-time layers keep their numbers: a storage family.
//!
//! A [`Family`] names one growable container for every element type (heapless'
//! storage-generic pattern): `Vec<T>` on the host (the simulator's `Heap`), a
//! [`heapless::Vec<T, N>`] of fixed capacity on a device ([`Bounded<N>`]), an
//! `Vec` wherever there is a heap (`microprop_heap::Heap`, in a crate of its own: the
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
