//! Training checkpoints on NOR flash that survive a reset at any point, and the faults of
//! real NOR flash.
//!
//! # Scheme: a ring of slots, each record committed last
//! The flash region is cut into `n ≥ 2` equal slots, each a whole number of erase pages
//! and big enough for one record. Checkpoint `k` goes to the slot after the newest
//! complete one: that slot is erased, then written in this order:
//!
//! | offset | bytes | content |
//! |---|---|---|
//! | 0 | 4 | record magic `MPCK` |
//! | 4 | 4 | sequence number (u32 LE, +1 per checkpoint) |
//! | 8 | 4 | payload length (u32 LE) |
//! | 12 | 4 | CRC-32 of sequence, length and payload (u32 LE) |
//! | 16 | 16 | reserved (erased) so the header is one write unit of up to 32 bytes |
//! | 32 | `len` | payload: a [model](crate::format) (which has its own CRC too) |
//! | `c` = 32 + `len` rounded up to the write size | `u` = 4 (or the write size) | commit marker [`COMMIT`], written only after the header and payload were read back and verified; then read back itself |
//! | `c + u` | `u` | seal [`SEAL`]: left erased; written at the start of the *next* checkpoint if this record is the one that checkpoint keeps |
//!
//! On start the slots are scanned; a record counts only if its magic and length are
//! right, its commit marker *or* its seal reads exactly right, and its CRC is right; the
//! one with the highest sequence number wins. A slot that cannot be read (a read still
//! failing after [`READ_TRIES`] tries: an ECC error) holds no record, and is a slot like
//! any other for the next checkpoint (erasing it clears the error).
//!
//! Each write *keeps* one record and never erases its slot: the record
//! [`Checkpoints::load`] loaded, or, without a load since the last write, the newest
//! complete one. Before erasing anything, the write seals the kept record (one unit,
//! programmed once into erased cells), then tries the slot after the newest complete
//! record; if the erase, the writes, the read-back or the marker's read-back fail there,
//! the next slot, and so on through every slot but the kept one's (slots that failed
//! earlier in the session last). A reset during any of this leaves the kept record intact:
//! the device resumes from it. A slot torn by a reset has no commit marker (or a wrong
//! CRC) and is ignored, then erased by a later checkpoint. Garbage in the region is never
//! loaded and never stops new checkpoints from being written: the worst a corrupt flash
//! does is start training afresh.
//!
//! # What survives which fault
//! Bits of NOR flash only go 1 → 0 when programmed and 0 → 1 when erased; a cell that
//! loses charge reads 1. The marker and the seal are each compared whole, so any flip of
//! any of their bits, either way, is seen; the CRC covers sequence, length and payload.
//!
//! | fault | outcome |
//! |---|---|
//! | reset at any word of the seal, the erase, the writes or the marker, the word half-done or not | the kept record loads; the interrupted checkpoint does not (it counts once its marker is programmed, the last word written) |
//! | the same on ECC flash (STM32 L4/G4/H7/U5): the torn word reads as an error | the same: the torn slot holds no record and is reused |
//! | reset during a read (scan, read-back) | as a reset at the next word; cut during the marker's read-back, the checkpoint is complete though `write` returned the error |
//! | a read error that clears within [`READ_TRIES`] tries | none |
//! | a read error that stays (in the scan or in `load`) | that record is lost; the one before loads |
//! | a committed record that does not load (a non-finite value an old firmware wrote, another network's shape) | `load` falls back to the newest that loads, and the next write keeps that one (it writes into the newer record's slot or another) |
//! | a worn cell (a bit that cannot be programmed, or erased) in a slot | that slot fails verification ([`CheckpointError::Verify`]); the checkpoint goes to the next slot. Only if every slot but the kept one fails does `write` fail (with A/B and one worn slot: always; the kept record stays) |
//! | the kept record's marker decays (or the erase of a neighbouring slot disturbs it) once the next checkpoint has sealed it | none: the seal stands in for it, and the seal for a disturbed marker |
//! | the newest record's marker decays before the next checkpoint starts (it is not sealed yet) | that record is lost; the one before it loads (still there: only the next checkpoint would erase it, and that checkpoint keeps it) |
//! | marker and seal both damaged, or any bit of header or payload | that record is lost; the one before it loads unless the write in progress is replacing it (A/B) |
//!
//! A record written by the previous layout (the same, without the seal unit: it is left
//! erased) is read as an unsealed record; one whose payload was longer than the new
//! [`Checkpoints::capacity`] (within one unit of the slot's end) is ignored, as if the
//! slot were empty. [`Checkpoints::slot_len_for`] counts the seal, so for a payload within
//! 4 bytes of a page boundary it gives one page more than before: a region sliced with
//! the new slot length starts afresh. Records of this layout read the same with the
//! previous code, which ignores the seal.
//!
//! Why not `sequential-storage`: its items must fit in one erase page (a 2-16-16-1 model
//! with optimizer state does not fit a 1 KiB page) and its API is `async`. Plain A/B
//! slots are the `n = 2` case of this ring; more slots spread the erases (wear): each
//! page is erased once every `n` checkpoints, see [`Checkpoints::slots`].
//!
//! Fault-injection tests: `core/tests/checkpoint_power_cut.rs` cuts the power after every
//! single word written or erased across full cycles of the ring and checks that every
//! reboot loads the last completed checkpoint; `core/tests/checkpoint_faults.rs` does the
//! same for each fault above, and counts corrupt loads, lost checkpoints and stuck
//! states.

use crc::{Crc, CRC_32_ISO_HDLC};
use embedded_storage::nor_flash::NorFlash;

use crate::format::{self, Extras, Loaded, Targets};
use crate::{Error, Model};

/// The first four bytes of a record.
pub const RECORD_MAGIC: [u8; 4] = *b"MPCK";
/// The commit marker (little-endian in flash), repeated to fill a write unit.
pub const COMMIT: u32 = 0xC0A1_E5CE;
/// The seal (little-endian in flash), repeated to fill a write unit: written on the record
/// a checkpoint keeps, before that checkpoint erases anything.
pub const SEAL: u32 = 0x5EA1_ED0C;
/// Bytes of the record header (one write unit on flashes with write sizes up to 32).
pub const HEADER: usize = 32;
/// The most slots a region may have.
pub const MAX_SLOTS: usize = 64;
/// The largest write or read unit supported.
pub const MAX_UNIT: usize = 32;
/// How many times a read is tried before its error counts.
pub const READ_TRIES: usize = 3;

const CHUNK: usize = 64;

static CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// What can go wrong with checkpoints. `E` is the flash's error type.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CheckpointError<E> {
    /// The flash driver failed (a write, an erase or a read).
    Flash(E),
    /// Encoding or decoding the model failed (the [`Error`] says why).
    Model(Error),
    /// The region does not suit the flash (the text says why).
    Layout(&'static str),
    /// The payload does not fit a slot (or the caller's buffer).
    TooLarge {
        /// Bytes needed.
        len: usize,
        /// Bytes available.
        capacity: usize,
    },
    /// Reading back a freshly written record (before its commit marker, or the marker
    /// after it) did not match: the record was not committed.
    Verify,
    /// A [`Record`] passed in does not name a slot of this ring (`slot ≥ slots()`).
    NoSuchSlot(u32),
}

impl<E> From<Error> for CheckpointError<E> {
    fn from(e: Error) -> Self {
        CheckpointError::Model(e)
    }
}

impl<E: core::fmt::Debug> core::fmt::Display for CheckpointError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CheckpointError::Flash(e) => write!(f, "flash error: {e:?}"),
            CheckpointError::Model(e) => write!(f, "checkpoint model: {e}"),
            CheckpointError::Layout(why) => write!(f, "checkpoint region: {why}"),
            CheckpointError::TooLarge { len, capacity } => {
                write!(f, "checkpoint of {len} bytes exceeds {capacity}")
            }
            CheckpointError::Verify => f.write_str("written record read back differently"),
            CheckpointError::NoSuchSlot(slot) => write!(f, "no slot {slot} in the checkpoint ring"),
        }
    }
}

impl<E: core::fmt::Debug> core::error::Error for CheckpointError<E> {}

/// A complete record found on flash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Record {
    /// Its sequence number (checkpoints count up from 1).
    pub seq: u32,
    /// The slot it is in.
    pub slot: u32,
    /// Payload bytes.
    pub len: usize,
}

/// Checkpoints in a region of a [`NorFlash`]: see the [module](self) documentation.
#[derive(Debug)]
pub struct Checkpoints<F> {
    flash: F,
    start: u32,
    slot_len: u32,
    slots: u32,
    /// The newest complete record, once scanned (`Some(None)`: none).
    newest: Option<Option<Record>>,
    /// What the last [`Checkpoints::load`] loaded, until the next write succeeds:
    /// `Some(Some(r))` it loaded `r`; `Some(None)` no record loads; `None` no load (or one
    /// that a read error made inconclusive).
    loaded: Option<Option<Record>>,
    /// Slots whose last write failed in this session (bit `slot`): tried last.
    failed: u64,
    /// The highest sequence number a write has tried in this session.
    tried: u32,
}

type Res<T, F> =
    core::result::Result<T, CheckpointError<<F as embedded_storage::nor_flash::ErrorType>::Error>>;

/// `n` rounded up to a multiple of `unit`, saturating at the largest multiple.
const fn round_up(n: usize, unit: usize) -> usize {
    match n.div_ceil(unit).checked_mul(unit) {
        Some(r) => r,
        None => usize::MAX - usize::MAX % unit,
    }
}

/// A write unit filled with `word` (little-endian, repeated); the first `len` bytes count.
fn filled(word: u32) -> [u8; MAX_UNIT] {
    let mut unit = [0u8; MAX_UNIT];
    for c in unit.chunks_exact_mut(4) {
        c.copy_from_slice(&word.to_le_bytes());
    }
    unit
}

/// Whether the first `len` bytes of `unit` are `word` repeated.
fn is_filled(unit: &[u8; MAX_UNIT], len: usize, word: u32) -> bool {
    len > 0 && unit.get(..len) == filled(word).get(..len)
}

/// The bit of `slot` in [`Checkpoints::failed`].
fn bit(slot: u32) -> u64 {
    1u64.checked_shl(slot).unwrap_or(0)
}

impl<F: NorFlash> Checkpoints<F> {
    /// Bytes of the commit marker, and of the seal: 4 rounded up to the write size.
    const COMMIT_LEN: usize = round_up(4, F::WRITE_SIZE);
    /// Bytes after the payload: the commit marker and the seal.
    const TRAILER: usize = 2 * Self::COMMIT_LEN;

    /// The slot size for payloads of up to `payload` bytes: header, payload, commit
    /// marker and seal rounded up to whole erase pages. Use it to size the region
    /// (`slots × slot_len`).
    pub const fn slot_len_for(payload: usize) -> usize {
        round_up(
            round_up(payload, F::WRITE_SIZE).saturating_add(HEADER + Self::TRAILER),
            F::ERASE_SIZE,
        )
    }

    /// Checkpoints in `len` bytes of `flash` from `start`, in slots of `slot_len` bytes
    /// (see [`Checkpoints::slot_len_for`]). Nothing is read or written yet.
    ///
    /// # Errors
    /// [`CheckpointError::Layout`] if the region is not aligned to erase pages, lies
    /// outside the flash, holds fewer than 2 or more than [`MAX_SLOTS`] slots, or the
    /// flash's write or read unit is not a power of two up to [`MAX_UNIT`].
    pub fn new(flash: F, start: u32, len: u32, slot_len: u32) -> Res<Self, F> {
        let page = F::ERASE_SIZE;
        let unit_ok = |u: usize| u.is_power_of_two() && u <= MAX_UNIT;
        if !unit_ok(F::WRITE_SIZE) || !unit_ok(F::READ_SIZE) || F::WRITE_SIZE % F::READ_SIZE != 0 {
            return Err(CheckpointError::Layout(
                "write and read sizes must be powers of two up to 32, the read size dividing the write size",
            ));
        }
        if page == 0
            || !(start as usize).is_multiple_of(page)
            || slot_len == 0
            || !(slot_len as usize).is_multiple_of(page)
        {
            return Err(CheckpointError::Layout(
                "start and slot length must be whole erase pages",
            ));
        }
        let Some(end) = start.checked_add(len) else {
            return Err(CheckpointError::Layout(
                "region must end below 4 GiB (flash addresses are u32)",
            ));
        };
        if end as usize > flash.capacity() {
            return Err(CheckpointError::Layout("region exceeds the flash"));
        }
        let slots = len / slot_len;
        if slots < 2 || slots as usize > MAX_SLOTS {
            return Err(CheckpointError::Layout("region must hold 2 to 64 slots"));
        }
        if (slot_len as usize) < HEADER + Self::TRAILER + F::WRITE_SIZE {
            return Err(CheckpointError::Layout("slot too small"));
        }
        Ok(Checkpoints {
            flash,
            start,
            slot_len,
            slots,
            newest: None,
            loaded: None,
            failed: 0,
            tried: 0,
        })
    }

    /// Slots in the ring: each erase page is erased once every `slots()` checkpoints, so
    /// `slots()` checkpoints are written before any page is erased a second time.
    pub fn slots(&self) -> u32 {
        self.slots
    }

    /// The largest payload a slot holds.
    pub fn capacity(&self) -> usize {
        let room = self.slot_len as usize - HEADER - Self::TRAILER;
        room - room % F::WRITE_SIZE
    }

    /// Gives the flash back.
    pub fn into_inner(self) -> F {
        self.flash
    }

    /// The newest complete record (scans the slots the first time, and after a failed
    /// write). A slot that cannot be read (after [`READ_TRIES`] tries) holds no record.
    ///
    /// # Errors
    /// None today: read errors make a slot count as empty. (A `Result` so that callers
    /// need not change if a scan can fail again.)
    pub fn newest(&mut self) -> Res<Option<Record>, F> {
        if let Some(n) = self.newest {
            return Ok(n);
        }
        let n = self.newest_below(u32::MAX);
        self.newest = Some(n);
        Ok(n)
    }

    /// The complete record with the highest sequence number below `bound`.
    fn newest_below(&mut self, bound: u32) -> Option<Record> {
        let mut best: Option<Record> = None;
        for slot in 0..self.slots {
            if let Some(r) = self.check_slot(slot) {
                if r.seq < bound && best.is_none_or(|b| r.seq > b.seq) {
                    best = Some(r);
                }
            }
        }
        best
    }

    /// The first address of `slot < slots` (inside the region, which ends below 4 GiB:
    /// checked by [`Checkpoints::new`]; saturating, so a wrong slot cannot wrap around).
    fn slot_addr(&self, slot: u32) -> u32 {
        self.start
            .saturating_add(slot.saturating_mul(self.slot_len))
    }

    /// Where `r`'s commit marker is; its seal follows. Inside the slot for
    /// `r.len ≤ capacity()`; saturating otherwise.
    fn commit_addr(&self, r: Record) -> u32 {
        let off = HEADER.saturating_add(round_up(r.len, F::WRITE_SIZE));
        self.slot_addr(r.slot)
            .saturating_add(u32::try_from(off).unwrap_or(u32::MAX))
    }

    fn seal_addr(&self, r: Record) -> u32 {
        self.commit_addr(r).saturating_add(Self::COMMIT_LEN as u32)
    }

    /// Reads, trying up to [`READ_TRIES`] times.
    fn read(&mut self, addr: u32, buf: &mut [u8]) -> Res<(), F> {
        let mut result = self.flash.read(addr, buf);
        for _ in 1..READ_TRIES {
            if result.is_ok() {
                break;
            }
            result = self.flash.read(addr, buf);
        }
        result.map_err(CheckpointError::Flash)
    }

    /// The write unit at `addr` (its first [`Self::COMMIT_LEN`] bytes).
    fn read_unit(&mut self, addr: u32) -> Res<[u8; MAX_UNIT], F> {
        let mut unit = [0u8; MAX_UNIT];
        let buf = unit.get_mut(..Self::COMMIT_LEN).unwrap_or(&mut []);
        self.read(addr, buf)?;
        Ok(unit)
    }

    /// The record in `slot` if it is complete: magic and length right, the commit marker
    /// or the seal intact, the CRC right. Anything else, a slot that cannot be read
    /// included, is no record.
    fn check_slot(&mut self, slot: u32) -> Option<Record> {
        let base = self.slot_addr(slot);
        let mut header = [0u8; HEADER];
        self.read(base, &mut header).ok()?;
        let word = |i: usize| -> u32 {
            let mut w = [0u8; 4];
            if let Some(b) = header.get(i..i + 4) {
                w.copy_from_slice(b);
            }
            u32::from_le_bytes(w)
        };
        if header.get(..4) != Some(&RECORD_MAGIC[..]) {
            return None;
        }
        let (seq, len, crc) = (word(4), word(8) as usize, word(12));
        if len > self.capacity() {
            return None;
        }
        let record = Record { seq, slot, len };
        let u = Self::COMMIT_LEN;
        let committed = self
            .read_unit(self.commit_addr(record))
            .is_ok_and(|m| is_filled(&m, u, COMMIT));
        if !committed
            && !self
                .read_unit(self.seal_addr(record))
                .is_ok_and(|s| is_filled(&s, u, SEAL))
        {
            return None;
        }
        let mut digest = CRC32.digest();
        digest.update(&seq.to_le_bytes());
        digest.update(&(len as u32).to_le_bytes());
        let mut chunk = [0u8; CHUNK];
        let mut at = 0;
        while at < len {
            let n = (len - at).min(CHUNK);
            // Reads must be whole read units: read the rounded length.
            let rn = round_up(n, F::READ_SIZE).min(CHUNK);
            let buf = chunk.get_mut(..rn).unwrap_or(&mut []);
            self.read(base + (HEADER + at) as u32, buf).ok()?;
            digest.update(buf.get(..n).unwrap_or(&[]));
            at += n;
        }
        (digest.finalize() == crc).then_some(record)
    }

    /// Reads `record`'s payload into `buf`; returns the payload.
    ///
    /// # Errors
    /// [`CheckpointError::NoSuchSlot`] if `record.slot` is not a slot of the ring,
    /// [`CheckpointError::TooLarge`] if `record.len` exceeds a slot or `buf` is too small,
    /// [`CheckpointError::Flash`] if a read fails [`READ_TRIES`] times.
    pub fn read_record<'b>(&mut self, record: Record, buf: &'b mut [u8]) -> Res<&'b [u8], F> {
        if record.slot >= self.slots {
            return Err(CheckpointError::NoSuchSlot(record.slot));
        }
        if record.len > self.capacity() {
            return Err(CheckpointError::TooLarge {
                len: record.len,
                capacity: self.capacity(),
            });
        }
        let padded = round_up(record.len, F::READ_SIZE);
        let capacity = buf.len();
        let out = buf.get_mut(..padded).ok_or(CheckpointError::TooLarge {
            len: padded,
            capacity,
        })?;
        let addr = self.slot_addr(record.slot) + HEADER as u32;
        self.read(addr, out)?;
        Ok(out.get(..record.len).unwrap_or(&[]))
    }

    /// The record the next write must not touch: the one [`Checkpoints::load`] loaded,
    /// else (no load since the last write) the newest complete one.
    fn kept(&self, newest: Option<Record>) -> Option<Record> {
        match self.loaded {
            Some(loaded) => loaded,
            None => newest,
        }
    }

    /// Writes `payload` as the next checkpoint; returns its record.
    ///
    /// The record kept (the one [`Checkpoints::load`] loaded; else the newest complete
    /// one) is first sealed, then never touched: the checkpoint goes to the slot after the
    /// newest complete record, and if writing or verifying it there fails, to the next
    /// slot, up to every slot but the kept one's. On any error the kept record is still
    /// complete and loads as before; other slots may have been erased.
    ///
    /// # Errors
    /// [`CheckpointError::TooLarge`] if it does not fit a slot; else the last slot's
    /// error: [`CheckpointError::Flash`], or [`CheckpointError::Verify`] if the read-back
    /// differs.
    pub fn write(&mut self, payload: &[u8]) -> Res<Record, F> {
        if payload.len() > self.capacity() {
            return Err(CheckpointError::TooLarge {
                len: payload.len(),
                capacity: self.capacity(),
            });
        }
        let newest = self.newest()?;
        let seq = newest
            .map_or(0, |r| r.seq)
            .max(self.tried)
            .checked_add(1)
            .ok_or(CheckpointError::Layout("sequence numbers exhausted"))?;
        let kept = self.kept(newest);
        if let Some(k) = kept {
            self.seal(k);
        }
        // Until the commit lands, the scan result may change: rescan after a failure.
        self.newest = None;
        self.tried = seq;
        let first = newest.map_or(0, |r| r.slot.saturating_add(1) % self.slots);
        let mut last_err = CheckpointError::Layout("no slot to write");
        // Slots that failed before in this session go last.
        for retry in [false, true] {
            for i in 0..self.slots {
                let slot = (first + i) % self.slots;
                let failed_before = self.failed & bit(slot) != 0;
                if kept.is_some_and(|k| k.slot == slot) || failed_before != retry {
                    continue;
                }
                let record = Record {
                    seq,
                    slot,
                    len: payload.len(),
                };
                match self.write_record(record, payload) {
                    Ok(()) => {
                        self.failed &= !bit(slot);
                        self.newest = Some(Some(record));
                        self.loaded = None;
                        return Ok(record);
                    }
                    Err(e) => {
                        self.failed |= bit(slot);
                        last_err = e;
                    }
                }
            }
        }
        Err(last_err)
    }

    /// Seals `r` (complete) if its seal unit is still erased. Best effort: if the seal
    /// cannot be read or written, `r` stays valid by its commit marker.
    fn seal(&mut self, r: Record) {
        let at = self.seal_addr(r);
        let erased = self.read_unit(at).is_ok_and(|u| {
            u.get(..Self::COMMIT_LEN)
                .is_some_and(|u| u.iter().all(|&b| b == 0xff))
        });
        if erased {
            let seal = filled(SEAL);
            // A failed seal leaves the marker; the erase that follows reports a cut power.
            let _ = self
                .flash
                .write(at, seal.get(..Self::COMMIT_LEN).unwrap_or(&[]));
        }
    }

    fn write_record(&mut self, r: Record, payload: &[u8]) -> Res<(), F> {
        let base = self.slot_addr(r.slot);
        let w = F::WRITE_SIZE;
        let flash_err = CheckpointError::Flash;
        self.flash
            .erase(base, base + self.slot_len)
            .map_err(flash_err)?;
        let len = r.len as u32;
        let mut digest = CRC32.digest();
        digest.update(&r.seq.to_le_bytes());
        digest.update(&len.to_le_bytes());
        digest.update(payload);
        let crc = digest.finalize();
        let mut header = [0xffu8; HEADER];
        for (dst, src) in header.chunks_exact_mut(4).zip([
            RECORD_MAGIC,
            r.seq.to_le_bytes(),
            len.to_le_bytes(),
            crc.to_le_bytes(),
        ]) {
            dst.copy_from_slice(&src);
        }
        self.flash.write(base, &header).map_err(flash_err)?;
        let whole = payload.len() - payload.len() % w;
        let (body, tail) = payload.split_at(whole);
        let at = base + HEADER as u32;
        if !body.is_empty() {
            self.flash.write(at, body).map_err(flash_err)?;
        }
        if !tail.is_empty() {
            let mut last = [0xffu8; MAX_UNIT];
            let last = last.get_mut(..w).unwrap_or(&mut []);
            for (d, s) in last.iter_mut().zip(tail) {
                *d = *s;
            }
            self.flash
                .write(at + whole as u32, last)
                .map_err(flash_err)?;
        }
        // Read back before committing...
        if !self.reads_back(base, header.get(..16).unwrap_or(&[]), payload)? {
            return Err(CheckpointError::Verify);
        }
        let commit_at = self.commit_addr(r);
        let commit = filled(COMMIT);
        self.flash
            .write(commit_at, commit.get(..Self::COMMIT_LEN).unwrap_or(&[]))
            .map_err(flash_err)?;
        // ... and the marker after it (a bit that cannot be programmed shows here).
        if is_filled(&self.read_unit(commit_at)?, Self::COMMIT_LEN, COMMIT) {
            Ok(())
        } else {
            Err(CheckpointError::Verify)
        }
    }

    /// Whether the slot at `base` reads back `header` (its first bytes) and `payload`.
    fn reads_back(&mut self, base: u32, header: &[u8], payload: &[u8]) -> Res<bool, F> {
        let mut chunk = [0u8; CHUNK];
        let buf = chunk.get_mut(..HEADER).unwrap_or(&mut []);
        self.read(base, buf)?;
        if buf.get(..header.len()) != Some(header) {
            return Ok(false);
        }
        let mut at = 0;
        while at < payload.len() {
            let n = (payload.len() - at).min(CHUNK);
            let rn = round_up(n, F::READ_SIZE).min(CHUNK);
            let buf = chunk.get_mut(..rn).unwrap_or(&mut []);
            self.read(base + (HEADER + at) as u32, buf)?;
            if buf.get(..n) != payload.get(at..at + n) {
                return Ok(false);
            }
            at += n;
        }
        Ok(true)
    }

    /// Saves `model` (every layer with its parameters and state) and `extras` (optimizer
    /// state, progress) as the next checkpoint, encoding it in `buf` first (size it with
    /// [`format::network_len`] or [`format::model_len`]). [`format::save_model`] refuses
    /// what [`format::load_model`] would refuse (a non-finite value, …), so what is
    /// committed loads.
    ///
    /// # Errors
    /// [`CheckpointError::Model`] ([`Error::Capacity`] for a small `buf`) or as
    /// [`Checkpoints::write`].
    pub fn save<T: Model + ?Sized>(
        &mut self,
        model: &T,
        extras: &Extras<'_, T::Scalar>,
        buf: &mut [u8],
    ) -> Res<Record, F> {
        let n = format::save_model(model, extras, buf)?;
        self.write(buf.get(..n).unwrap_or(&[]))
    }

    /// Loads the newest checkpoint that loads into `model` (and `targets`), trying older
    /// ones if the newest does not; `buf` must hold a payload. `Ok(None)`: no checkpoint
    /// (a fresh or wiped region) — start training afresh. The record loaded is kept by
    /// the next [`Checkpoints::write`]: a newer one that did not load never makes it
    /// erase the one that did.
    ///
    /// # Errors
    /// The error of the newest record that did not load, if none of them loads:
    /// [`CheckpointError::Model`] (for example after a firmware update changed the
    /// network's shape), or [`CheckpointError::Flash`] if its payload could not be read
    /// ([`READ_TRIES`] times); the model is unchanged. [`CheckpointError::TooLarge`] for
    /// a small `buf`.
    pub fn load<T: Model + ?Sized>(
        &mut self,
        model: &mut T,
        mut targets: Targets<'_, T::Scalar>,
        buf: &mut [u8],
    ) -> Res<Option<(Record, Loaded)>, F> {
        self.load_with(buf, |payload| {
            format::load_model(payload, model, targets.reborrow())
        })
    }

    /// [`Checkpoints::load`] for a payload of the caller's own layout (written with
    /// [`Checkpoints::write`]: for example a model followed by more state): `decode` is
    /// given the newest record's payload, then older ones while it fails. The record
    /// `decode` accepted is kept by the next write, as with `load`. `decode` should leave
    /// its targets unchanged when it fails (check everything, then write), or the caller
    /// must reset them when no record loads.
    ///
    /// # Errors
    /// As [`Checkpoints::load`], with `decode`'s error as [`CheckpointError::Model`].
    pub fn load_with<T>(
        &mut self,
        buf: &mut [u8],
        mut decode: impl FnMut(&[u8]) -> Result<T, Error>,
    ) -> Res<Option<(Record, T)>, F> {
        self.loaded = None;
        let mut bound = u32::MAX;
        let mut first_err = None;
        let mut unread = false;
        while let Some(r) = self.newest_below(bound) {
            bound = r.seq;
            let err = match self.read_record(r, buf) {
                Ok(payload) => match decode(payload) {
                    Ok(loaded) => {
                        self.loaded = Some(Some(r));
                        return Ok(Some((r, loaded)));
                    }
                    Err(e) => CheckpointError::Model(e),
                },
                Err(e @ CheckpointError::TooLarge { .. }) => return Err(e),
                Err(e) => {
                    unread = true;
                    e
                }
            };
            first_err.get_or_insert(err);
        }
        // Nothing loads: keep nothing, unless a record could not be read (it may).
        if !unread {
            self.loaded = Some(None);
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }
}
