//! The checkpoint flash of the emulated mps2 boards: 16 KiB of QEMU's flash-RAM at
//! 0x0030_0000, driven with NOR semantics (erase sets 0xFF, a write only clears bits), like
//! an internal flash.
//!
//! The region lies outside the 512 KiB the image is linked into, so loading the ELF never
//! touches it; `tools/power-cut.sh` saves its bytes with QMP `pmemsave` and puts them back
//! with `-device loader,…,force-raw=on` before the core starts. (Not on the micro:bit,
//! whose memory map has nothing at that address.)

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// The region's address.
pub const REGION: usize = 0x0030_0000;
/// The region's size.
pub const REGION_LEN: usize = 16 * 1024;

/// The region, accessed by volatile reads and writes (raw pointers only, never
/// references, so two values would only interleave their accesses; keep one).
#[derive(Debug, Default)]
pub struct RegionFlash;

/// A refused access: its [`NorFlashErrorKind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlashError(pub NorFlashErrorKind);

impl NorFlashError for FlashError {
    fn kind(&self) -> NorFlashErrorKind {
        self.0
    }
}

impl ErrorType for RegionFlash {
    type Error = FlashError;
}

/// The address of `len` bytes at `offset`, if aligned to `align` and inside the region.
fn check(offset: u32, len: usize, align: usize) -> Result<usize, FlashError> {
    let at = offset as usize;
    if at % align != 0 || len % align != 0 {
        return Err(FlashError(NorFlashErrorKind::NotAligned));
    }
    if at.saturating_add(len) > REGION_LEN {
        return Err(FlashError(NorFlashErrorKind::OutOfBounds));
    }
    Ok(REGION + at)
}

impl ReadNorFlash for RegionFlash {
    const READ_SIZE: usize = 1;
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        let base = check(offset, bytes.len(), 1)?;
        for (i, b) in bytes.iter_mut().enumerate() {
            // SAFETY: inside the region, which nothing else uses.
            *b = unsafe { core::ptr::read_volatile((base + i) as *const u8) };
        }
        Ok(())
    }
    fn capacity(&self) -> usize {
        REGION_LEN
    }
}

impl NorFlash for RegionFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = 1024;
    fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        let len = to
            .checked_sub(from)
            .ok_or(FlashError(NorFlashErrorKind::OutOfBounds))?;
        let base = check(from, len as usize, Self::ERASE_SIZE)?;
        for w in (0..len as usize).step_by(4) {
            // SAFETY: inside the region, word aligned.
            unsafe { core::ptr::write_volatile((base + w) as *mut u32, u32::MAX) };
        }
        Ok(())
    }
    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        let base = check(offset, bytes.len(), Self::WRITE_SIZE)?;
        for (i, c) in bytes.chunks_exact(4).enumerate() {
            let p = (base + 4 * i) as *mut u32;
            let new = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            // SAFETY: inside the region, word aligned. NOR: programming only clears bits.
            unsafe { core::ptr::write_volatile(p, core::ptr::read_volatile(p) & new) };
        }
        Ok(())
    }
}
