//! A replay buffer for learning from a stream: a fixed-size uniform sample of everything
//! seen so far, kept by reservoir sampling (Vitter's Algorithm R), in an array sized at
//! compile time.
//!
//! After `n` offers, each of the `n` items is in the buffer with probability
//! `min(1, N / n)`, independently of when it came: the first `N` offers fill the buffer,
//! and offer `n > N` replaces a uniformly chosen slot with probability `N / n` (it draws
//! `j` uniform in `0..n` and replaces slot `j` if `j < N`). One draw of the generator
//! per offer past the first `N`, none before; so a run resumed with the buffer's items,
//! its count and the generator's state (or a generator derived from the count, as
//! `microprop_app::drift` does) continues bit-identically.
//!
//! The index comes from [`rng::below`] (Lemire's multiply-shift without rejection): its
//! bias is below `n / 2³²` per index, invisible next to the sampling noise of any
//! stream a device sees.
//!
//! ```
//! use microprop::replay::{Offer, Reservoir};
//!
//! let mut rng = microprop::rng(1);
//! let mut buf: Reservoir<u32, 4> = Reservoir::new(0);
//! for i in 0..100 {
//!     buf.offer(i, &mut rng)?;
//! }
//! assert_eq!((buf.len(), buf.seen()), (4, 100));
//! assert!(buf.as_slice().iter().all(|&x| x < 100));
//! // Restoring items and count (from a checkpoint) gives the same buffer.
//! let mut copy: Reservoir<u32, 4> = Reservoir::new(0);
//! copy.restore(buf.seen(), buf.as_slice())?;
//! assert_eq!(copy, buf);
//! assert_eq!(copy.offer(7, &mut microprop::rng(2))?, buf.offer(7, &mut microprop::rng(2))?);
//! # Ok::<(), microprop::Error>(())
//! ```

use rand_core::RngCore;

use crate::{rng, Error, Result};

/// What [`Reservoir::offer`] did with an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Offer {
    /// Stored in slot `usize`, which was empty (the first `N` offers).
    Stored(usize),
    /// Stored in slot `usize`, replacing the item there.
    Replaced(usize),
    /// Not stored (probability `1 − N / n` for the `n`-th offer).
    Skipped,
}

/// A uniform sample of at most `N` items from a stream (Algorithm R): see the
/// [module](self) documentation. `size_of` is `N` items plus 8 bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reservoir<T, const N: usize> {
    items: [T; N],
    /// Slots filled: `min(seen, N)`.
    len: u32,
    /// Items offered so far.
    seen: u32,
}

impl<T: Copy, const N: usize> Reservoir<T, N> {
    /// The capacity `N`.
    pub const CAPACITY: usize = N;

    /// An empty reservoir; `fill` is what the unused slots hold (never returned).
    pub const fn new(fill: T) -> Self {
        Reservoir {
            items: [fill; N],
            len: 0,
            seen: 0,
        }
    }

    /// Offers `item`, the `seen() + 1`-th of the stream: stored if the buffer is not full
    /// yet, else stored over a uniformly chosen slot with probability `N / (seen() + 1)`,
    /// drawing one `u32` from `rng`.
    ///
    /// # Errors
    /// [`Error::Capacity`] once `u32::MAX` items have been offered (the count cannot
    /// grow; the buffer is unchanged), or for `N = 0` or `N > u32::MAX`.
    pub fn offer<R: RngCore + ?Sized>(&mut self, item: T, rng: &mut R) -> Result<Offer> {
        let cap = u32::try_from(N).map_err(|_| Error::Capacity)?;
        if cap == 0 {
            return Err(Error::Capacity);
        }
        let n = self.seen.checked_add(1).ok_or(Error::Capacity)?;
        let offer = if self.len < cap {
            let slot = self.len as usize;
            let dst = self.items.get_mut(slot).ok_or(Error::Capacity)?;
            *dst = item;
            self.len += 1;
            Offer::Stored(slot)
        } else {
            let j = rng::below(rng, n);
            match self.items.get_mut(j as usize) {
                Some(dst) if j < cap => {
                    *dst = item;
                    Offer::Replaced(j as usize)
                }
                _ => Offer::Skipped,
            }
        };
        self.seen = n;
        Ok(offer)
    }

    /// One stored item chosen uniformly (one `u32` drawn from `rng`); `None` while empty.
    pub fn choose<R: RngCore + ?Sized>(&self, rng: &mut R) -> Option<&T> {
        if self.len == 0 {
            return None;
        }
        self.items.get(rng::below(rng, self.len) as usize)
    }

    /// The stored items, in slot order (`len()` of them).
    pub fn as_slice(&self) -> &[T] {
        self.items.get(..self.len as usize).unwrap_or(&[])
    }

    /// Item `i` (`i < len()`).
    pub fn get(&self, i: usize) -> Option<&T> {
        self.as_slice().get(i)
    }

    /// Items stored: `min(seen(), N)`.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Items offered so far (stored or not).
    pub fn seen(&self) -> u32 {
        self.seen
    }

    /// Forgets everything (the slots keep their old values, unreachable).
    pub fn clear(&mut self) {
        self.len = 0;
        self.seen = 0;
    }

    /// Sets the buffer to `items` after `seen` offers (what a checkpoint stored:
    /// [`as_slice`](Self::as_slice) and [`seen`](Self::seen)). On error nothing changes.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless `items.len() == min(seen, N)`.
    pub fn restore(&mut self, seen: u32, items: &[T]) -> Result<()> {
        let expected = N.min(seen as usize);
        if items.len() != expected {
            return Err(Error::ShapeMismatch {
                expected,
                found: items.len(),
            });
        }
        let dst = self.items.get_mut(..expected).ok_or(Error::ShapeMismatch {
            expected,
            found: items.len(),
        })?;
        dst.copy_from_slice(items);
        self.len = expected as u32;
        self.seen = seen;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_then_replaces() {
        let mut r: Reservoir<u8, 3> = Reservoir::new(0);
        let mut g = crate::rng(5);
        assert_eq!(r.choose(&mut g), None);
        for i in 0..3 {
            assert_eq!(r.offer(i, &mut g).unwrap(), Offer::Stored(usize::from(i)));
        }
        assert_eq!(r.as_slice(), &[0, 1, 2]);
        let mut replaced = 0;
        for i in 3..200 {
            if let Offer::Replaced(_) = r.offer(i, &mut g).unwrap() {
                replaced += 1;
            }
        }
        assert_eq!((r.len(), r.seen()), (3, 200));
        // Expected Σ 3/n for n = 4..=200 ≈ 12.3.
        assert!((5..=25).contains(&replaced), "{replaced}");
    }

    #[test]
    fn refuses_bad_restores_and_a_full_count() {
        let mut r: Reservoir<u8, 2> = Reservoir::new(0);
        assert!(r.restore(1, &[1, 2]).is_err());
        assert!(r.restore(5, &[1]).is_err());
        assert_eq!(r, Reservoir::new(0));
        r.restore(u32::MAX, &[4, 5]).unwrap();
        assert_eq!(r.offer(9, &mut crate::rng(1)), Err(Error::Capacity));
        assert_eq!(r.as_slice(), &[4, 5]);
        let mut empty: Reservoir<u8, 0> = Reservoir::new(0);
        assert_eq!(empty.offer(1, &mut crate::rng(1)), Err(Error::Capacity));
    }
}
