//! A RAM-backed NOR flash that can lose power after any number of word operations.

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// 1 KiB pages and 4-byte words, like the LM3S6965 that QEMU emulates.
pub const PAGE: usize = 1024;
pub const WORD: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlashError {
    PowerCut,
    NotAligned,
    OutOfBounds,
}

impl NorFlashError for FlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            FlashError::PowerCut => NorFlashErrorKind::Other,
            FlashError::NotAligned => NorFlashErrorKind::NotAligned,
            FlashError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
        }
    }
}

/// Flash in RAM. Every word written and every word erased is one operation; with
/// `cut_after = Some(k)` operations `1..=k` happen and the power is gone from then on:
/// operation `k + 1` fails (half-done if `torn`: a word write programs only some of its
/// zero bits, a word erase sets only some bits) and so does everything after it.
#[derive(Clone, Debug)]
pub struct CutFlash {
    pub mem: Vec<u8>,
    pub ops: u64,
    pub cut_after: Option<u64>,
    pub torn: bool,
    /// Erases per page.
    pub erases: Vec<u32>,
    /// Words programmed that were not erased first (a driver bug; must stay 0).
    pub overwrites: u32,
    noise: u32,
}

impl CutFlash {
    pub fn new(len: usize) -> Self {
        CutFlash {
            mem: vec![0xff; len],
            ops: 0,
            cut_after: None,
            torn: false,
            erases: vec![0; len / PAGE],
            overwrites: 0,
            noise: 0x9e37_79b9,
        }
    }

    /// The same flash contents after a reboot: power back, counters kept.
    pub fn reboot(&self) -> Self {
        CutFlash {
            cut_after: None,
            ops: 0,
            ..self.clone()
        }
    }

    fn noise(&mut self) -> u32 {
        // xorshift32: deterministic "random" bits for torn operations.
        let mut x = self.noise;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.noise = x;
        x
    }

    /// Starts one word operation: `Ok(true)` do it, `Ok(false)` do half of it and fail.
    fn tick(&mut self) -> Result<bool, FlashError> {
        match self.cut_after {
            Some(k) if self.ops > k => Err(FlashError::PowerCut),
            Some(k) if self.ops == k => {
                self.ops += 1;
                Ok(false)
            }
            _ => {
                self.ops += 1;
                Ok(true)
            }
        }
    }

    fn word(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.mem[at..at + 4].try_into().unwrap())
    }

    fn set_word(&mut self, at: usize, w: u32) {
        self.mem[at..at + 4].copy_from_slice(&w.to_le_bytes());
    }
}

impl ErrorType for CutFlash {
    type Error = FlashError;
}

impl ReadNorFlash for CutFlash {
    const READ_SIZE: usize = 1;
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        let at = offset as usize;
        let src = self
            .mem
            .get(at..at + bytes.len())
            .ok_or(FlashError::OutOfBounds)?;
        bytes.copy_from_slice(src);
        Ok(())
    }
    fn capacity(&self) -> usize {
        self.mem.len()
    }
}

impl NorFlash for CutFlash {
    const WRITE_SIZE: usize = WORD;
    const ERASE_SIZE: usize = PAGE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        let (from, to) = (from as usize, to as usize);
        if !from.is_multiple_of(PAGE) || !to.is_multiple_of(PAGE) || from > to {
            return Err(FlashError::NotAligned);
        }
        if to > self.mem.len() {
            return Err(FlashError::OutOfBounds);
        }
        for page in from / PAGE..to / PAGE {
            if self.cut_after.is_some_and(|k| self.ops > k) {
                return Err(FlashError::PowerCut);
            }
            self.erases[page] += 1;
            for at in (page * PAGE..(page + 1) * PAGE).step_by(WORD) {
                if !self.tick()? {
                    if self.torn {
                        let w = self.word(at) | self.noise();
                        self.set_word(at, w);
                    }
                    return Err(FlashError::PowerCut);
                }
                self.set_word(at, u32::MAX);
            }
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        let at = offset as usize;
        if !at.is_multiple_of(WORD) || !bytes.len().is_multiple_of(WORD) {
            return Err(FlashError::NotAligned);
        }
        if at + bytes.len() > self.mem.len() {
            return Err(FlashError::OutOfBounds);
        }
        for (i, chunk) in bytes.chunks_exact(WORD).enumerate() {
            let a = at + i * WORD;
            let new = u32::from_le_bytes(chunk.try_into().unwrap());
            let old = self.word(a);
            if !self.tick()? {
                if self.torn {
                    // Only some of the bits that should go to 0 do.
                    let w = old & (new | self.noise());
                    self.set_word(a, w);
                }
                return Err(FlashError::PowerCut);
            }
            if old != u32::MAX {
                self.overwrites += 1;
            }
            self.set_word(a, old & new);
        }
        Ok(())
    }
}
