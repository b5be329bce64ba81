//! FNV-1a, for bit-exact fingerprints of trained weights.

use crate::Scalar;

/// 64-bit FNV-1a over bytes. Used for the weights hash that the firmware logs and the
/// simulator compares; it is a fingerprint, not a checksum against tampering.
#[derive(Clone, Copy, Debug)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Self::new()
    }
}

impl Fnv1a {
    /// The FNV offset basis.
    pub const fn new() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
    /// Mixes in bytes.
    pub fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    /// Mixes in scalars by their IEEE bits (4 bytes for `f32`, 8 for `f64`).
    pub fn scalars<S: Scalar>(&mut self, xs: &[S]) {
        for &x in xs {
            let bits = x.to_bits_u64().to_le_bytes();
            self.bytes(bits.get(..S::BYTES).unwrap_or(&bits));
        }
    }
    /// The hash.
    pub const fn finish(self) -> u64 {
        self.0
    }
}
