//! The micro:bit's checkpoint flash: the last 16 KiB of the nRF51822's 256 KiB of flash
//! (0x0003_C000, outside the 64 KiB the image is linked into), written and erased through
//! the NVMC (non-volatile memory controller), as on the real chip: `CONFIG` = write or
//! erase enable, a word store programs (bits only go 1 → 0), `ERASEPAGE` erases one
//! 1 KiB page, `READY` says when it is done. QEMU's `microbit` machine models the same
//! registers; `tools/power-cut-drift.sh` saves the region with QMP `pmemsave` and puts it
//! back with `-device loader,…,force-raw=on`.

use embedded_storage::nor_flash::{NorFlash, NorFlashErrorKind, ReadNorFlash};

use crate::flash::FlashError;

/// The region's address.
pub const REGION: usize = 0x0003_C000;
/// The region's size.
pub const REGION_LEN: usize = 16 * 1024;

const NVMC: usize = 0x4001_E000;
const READY: usize = NVMC + 0x400;
const CONFIG: usize = NVMC + 0x504;
const ERASEPAGE: usize = NVMC + 0x508;
const CONFIG_REN: u32 = 0;
const CONFIG_WEN: u32 = 1;
const CONFIG_EEN: u32 = 2;
const PAGE: usize = 1024;

/// The region, through the NVMC (keep one value: accesses are raw volatile ones).
#[derive(Debug, Default)]
pub struct NvmcFlash;

fn wait_ready() {
    // SAFETY: READY is the NVMC's read-only status register.
    while unsafe { core::ptr::read_volatile(READY as *const u32) } & 1 == 0 {}
}

fn config(mode: u32) {
    wait_ready();
    // SAFETY: CONFIG is the NVMC's mode register; this driver owns the NVMC.
    unsafe { core::ptr::write_volatile(CONFIG as *mut u32, mode) };
    wait_ready();
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

impl embedded_storage::nor_flash::ErrorType for NvmcFlash {
    type Error = FlashError;
}

impl ReadNorFlash for NvmcFlash {
    const READ_SIZE: usize = 1;
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        let base = check(offset, bytes.len(), 1)?;
        for (i, b) in bytes.iter_mut().enumerate() {
            // SAFETY: inside the region, which is memory-mapped flash nothing else uses.
            *b = unsafe { core::ptr::read_volatile((base + i) as *const u8) };
        }
        Ok(())
    }
    fn capacity(&self) -> usize {
        REGION_LEN
    }
}

impl NorFlash for NvmcFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = PAGE;
    fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        let len = to
            .checked_sub(from)
            .ok_or(FlashError(NorFlashErrorKind::OutOfBounds))?;
        let base = check(from, len as usize, PAGE)?;
        config(CONFIG_EEN);
        for page in (base..base + len as usize).step_by(PAGE) {
            // SAFETY: ERASEPAGE takes the address of a page of the region (erase enabled).
            unsafe { core::ptr::write_volatile(ERASEPAGE as *mut u32, page as u32) };
            wait_ready();
        }
        config(CONFIG_REN);
        Ok(())
    }
    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        let base = check(offset, bytes.len(), Self::WRITE_SIZE)?;
        config(CONFIG_WEN);
        for (i, c) in bytes.chunks_exact(4).enumerate() {
            let word = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            // SAFETY: inside the region, word aligned, write enabled: the NVMC programs
            // the word (only clearing bits).
            unsafe { core::ptr::write_volatile((base + 4 * i) as *mut u32, word) };
            wait_ready();
        }
        config(CONFIG_REN);
        Ok(())
    }
}
