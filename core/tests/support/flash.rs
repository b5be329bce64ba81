//! A RAM-backed NOR flash that can lose power after any number of word operations, and
//! the faults of real NOR flash: ECC errors where a program or erase was interrupted,
//! stuck bits (worn cells), transient read errors, a power cut in the middle of a read,
//! and erase disturb (programmed bits of another page decaying to 1).

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
    /// A read covered a word whose program or erase was interrupted (ECC flash).
    Ecc,
    /// A read failed once (noise, a bus error); the same read may succeed next time.
    Transient,
}

impl NorFlashError for FlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            FlashError::PowerCut | FlashError::Ecc | FlashError::Transient => {
                NorFlashErrorKind::Other
            }
            FlashError::NotAligned => NorFlashErrorKind::NotAligned,
            FlashError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
        }
    }
}

/// Bits of one byte that are worn out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stuck {
    /// The byte's address.
    pub addr: usize,
    /// Which of its bits.
    pub bits: u8,
    /// `true`: they cannot be programmed (always read 1); `false`: they cannot be erased
    /// (always read 0).
    pub at_one: bool,
}

/// Transient read errors: read call `i` (counted from the boot) fails if
/// `(i + phase) % period < burst`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flaky {
    pub period: u64,
    pub phase: u64,
    pub burst: u64,
}

/// Flash in RAM. Every word written and every word erased is one operation; with
/// `cut_after = Some(k)` operations `1..=k` happen and the power is gone from then on:
/// operation `k + 1` fails (half-done if `torn`: a word write programs only some of its
/// zero bits, a word erase sets only some bits) and so does everything after it, reads
/// included. Reads between operation `k` and `k + 1` still work: the power goes at the
/// start of the next word operation. `cut_at_read = Some(j)` cuts it during read call `j`
/// instead (counted from 0 since the boot): that read and everything after it fails.
///
/// With `ecc`, a word torn by the cut (so `torn` too) reads back as [`FlashError::Ecc`]
/// until it is erased, as on STM32 L4/G4/H7/U5 flash.
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
    /// Torn words read as ECC errors.
    pub ecc: bool,
    /// Words that read as ECC errors (until erased).
    pub ecc_bad: Vec<bool>,
    /// Worn bits.
    pub stuck: Vec<Stuck>,
    /// Read calls since the boot.
    pub reads: u64,
    /// Transient read errors.
    pub flaky: Option<Flaky>,
    /// Transient read errors returned so far.
    pub flaky_errors: u64,
    /// The power goes during this read call.
    pub cut_at_read: Option<u64>,
    /// Erase disturb: when the next page erase starts, the word at `.0` loses the bits
    /// `.1` (they read 1 from then on, as a programmed cell that lost its charge).
    pub disturb: Option<(usize, u32)>,
    dead: bool,
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
            ecc: false,
            ecc_bad: vec![false; len / WORD],
            stuck: Vec::new(),
            reads: 0,
            flaky: None,
            flaky_errors: 0,
            cut_at_read: None,
            disturb: None,
            dead: false,
            noise: 0x9e37_79b9,
        }
    }

    /// The same flash contents after a reboot: power back, counters kept, the cell
    /// faults (ECC errors, stuck bits, transient errors) kept, a pending disturb dropped.
    pub fn reboot(&self) -> Self {
        CutFlash {
            cut_after: None,
            cut_at_read: None,
            disturb: None,
            dead: false,
            ops: 0,
            reads: 0,
            ..self.clone()
        }
    }

    /// Whether the power has gone.
    pub fn is_off(&self) -> bool {
        self.dead || self.cut_after.is_some_and(|k| self.ops > k)
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
        if self.dead {
            return Err(FlashError::PowerCut);
        }
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

    /// A word torn by the cut: unreadable on ECC flash.
    fn torn_word(&mut self, at: usize) {
        if self.ecc {
            self.ecc_bad[at / WORD] = true;
        }
    }
}

impl ErrorType for CutFlash {
    type Error = FlashError;
}

impl ReadNorFlash for CutFlash {
    const READ_SIZE: usize = 1;
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        let i = self.reads;
        self.reads += 1;
        if self.cut_at_read == Some(i) {
            self.dead = true;
        }
        if self.is_off() {
            return Err(FlashError::PowerCut);
        }
        let at = offset as usize;
        let end = at.checked_add(bytes.len()).ok_or(FlashError::OutOfBounds)?;
        let src = self.mem.get(at..end).ok_or(FlashError::OutOfBounds)?;
        if let Some(f) = self.flaky {
            if (i + f.phase) % f.period < f.burst {
                self.flaky_errors += 1;
                return Err(FlashError::Transient);
            }
        }
        if end > at && self.ecc_bad[at / WORD..end.div_ceil(WORD)].contains(&true) {
            return Err(FlashError::Ecc);
        }
        bytes.copy_from_slice(src);
        for s in &self.stuck {
            if (at..end).contains(&s.addr) {
                let b = &mut bytes[s.addr - at];
                *b = if s.at_one { *b | s.bits } else { *b & !s.bits };
            }
        }
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
            if self.is_off() {
                return Err(FlashError::PowerCut);
            }
            if let Some((addr, bits)) = self.disturb.take() {
                let w = self.word(addr) | bits;
                self.set_word(addr, w);
            }
            self.erases[page] += 1;
            for at in (page * PAGE..(page + 1) * PAGE).step_by(WORD) {
                if !self.tick()? {
                    if self.torn {
                        let w = self.word(at) | self.noise();
                        self.set_word(at, w);
                        self.torn_word(at);
                    }
                    return Err(FlashError::PowerCut);
                }
                self.set_word(at, u32::MAX);
                self.ecc_bad[at / WORD] = false;
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
                    self.torn_word(a);
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
