//! Realistic NOR-flash faults (issue 10), each with a stated outcome: ECC errors where a
//! program or erase was interrupted, committed records that do not load, worn cells,
//! commit markers that decay or are disturbed by the erase of a neighbour, transient read
//! errors and a power cut in the middle of a read. The last test sweeps every fault kind
//! against a power cut after every word operation and prints the figures.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use embedded_storage::nor_flash::{ErrorType, NorFlash, ReadNorFlash};
use microprop::checkpoint::{CheckpointError, Checkpoints, Record, COMMIT, HEADER, SEAL};
use microprop::format::{self, Extras, Progress, Targets};
use microprop::{mlp, Activation, Init};
use support::flash::{CutFlash, Flaky, FlashError, Stuck, PAGE, WORD};
use support::{trained, Net, HIDDEN, OUTPUT};

/// The region starts above 0 so that an address computed from the slot alone shows.
const START: u32 = 4 * 1024;
/// Weights only: 1,535 bytes, so a slot is two 1 KiB pages.
const BUF: usize = format::network_len::<Net>(None);

type Cp = Checkpoints<CutFlash>;
type CpError = CheckpointError<FlashError>;

fn slot_len() -> u32 {
    Cp::slot_len_for(BUF) as u32
}

fn flash(slots: u32) -> CutFlash {
    CutFlash::new((START + slots * slot_len()) as usize)
}

fn ring(flash: CutFlash, slots: u32) -> Cp {
    Checkpoints::new(flash, START, slots * slot_len(), slot_len()).unwrap()
}

/// Encoded checkpoints (weights and progress) of a model trained a little further each
/// time: all different, all loadable.
fn payloads(count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            let (model, _, _) = trained(23, i + 1);
            let extras = Extras {
                optimizer: None,
                progress: Progress {
                    epoch: i as u32 + 1,
                    step: 7,
                },
            };
            let mut buf = vec![0u8; BUF];
            let n = format::save_model(&model, &extras, &mut buf).unwrap();
            buf.truncate(n);
            buf
        })
        .collect()
}

/// A committed payload that does not load: `good` with its first weight NaN and the
/// model's CRC made right again (what an old firmware without the finite check wrote).
fn nan_payload(good: &[u8]) -> Vec<u8> {
    let info = format::read_info(good).unwrap();
    let specs: usize = info.layers.iter().map(|s| format::spec_len(s, 4)).sum();
    let at = format::HEADER_LEN + specs;
    let mut bad = good.to_vec();
    bad[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let n = bad.len() - 4;
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&bad[..n]);
    bad[n..].copy_from_slice(&crc.to_le_bytes());
    assert!(
        format::read_info(&bad).is_err(),
        "the NaN payload must not load"
    );
    bad
}

/// A committed payload that does not load into [`Net`]: a valid model of another shape.
fn other_shape_payload() -> Vec<u8> {
    type Other = mlp![f32; 2, 4, 1];
    let net = Other::new(
        Activation::Tanh,
        Activation::Sigmoid,
        Init::XavierUniform,
        0.0,
        &mut microprop::rng(3),
    )
    .unwrap();
    let mut buf = vec![0u8; format::network_len::<Other>(None)];
    let n = format::save_network(&net, &Extras::none(), &mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// Loads into a fresh [`Net`]: the loaded record and the loaded state re-encoded (so it
/// can be compared with the payloads), `None` if nothing loads (no checkpoint, or none
/// that fits the network); flash errors as they come.
fn load<F: NorFlash<Error = FlashError>>(
    cp: &mut Checkpoints<F>,
) -> Result<Option<(Record, Vec<u8>)>, CpError> {
    let mut model = Net::zeroed(HIDDEN, OUTPUT).unwrap().into_training();
    let mut buf = vec![0u8; BUF];
    match cp.load(&mut model, Targets::none(), &mut buf) {
        Ok(Some((r, l))) => {
            let extras = Extras {
                optimizer: None,
                progress: l.progress,
            };
            let n = format::save_model(&model, &extras, &mut buf).unwrap();
            Ok(Some((r, buf[..n].to_vec())))
        }
        Ok(None) | Err(CheckpointError::Model(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Which of `payloads` `got` is (a panic if it is none of them: a corrupt load).
fn which(
    payloads: &[Vec<u8>],
    got: Result<Option<Vec<u8>>, CpError>,
) -> Result<Option<usize>, CpError> {
    got.map(|o| {
        o.map(|b| {
            payloads
                .iter()
                .position(|p| *p == b)
                .expect("a corrupt load: none of the payloads")
        })
    })
}

/// Boots on `flash` (power back) and loads: the loaded payload.
fn boot(flash: &CutFlash, slots: u32) -> (Result<Option<Vec<u8>>, CpError>, Cp) {
    let mut cp = ring(flash.reboot(), slots);
    let got = load(&mut cp).map(|o| o.map(|(_, b)| b));
    (got, cp)
}

/// Where `r`'s commit marker and seal are.
fn marker_addr(r: Record) -> usize {
    START as usize + (r.slot * slot_len()) as usize + HEADER + r.len.div_ceil(WORD) * WORD
}

fn seal_addr(r: Record) -> usize {
    marker_addr(r) + WORD
}

fn slot_addr(slot: u32) -> usize {
    (START + slot * slot_len()) as usize
}

/// A bit of the word at `addr` that is 0 (so that decaying it to 1 changes the word).
fn zero_bit(flash: &CutFlash, addr: usize) -> u32 {
    let w = u32::from_le_bytes(flash.mem[addr..addr + 4].try_into().unwrap());
    assert_ne!(w, u32::MAX, "word at {addr:#x} is erased");
    1 << (!w).trailing_zeros()
}

/// Word operations a write of `payload` takes from this state (run on a copy).
fn ops_of_write(flash: &CutFlash, slots: u32, payload: &[u8]) -> u64 {
    let mut f = flash.reboot();
    f.ops = 0;
    let mut cp = ring(f, slots);
    cp.write(payload).unwrap();
    cp.into_inner().ops
}

// ---------------------------------------------------------------------------------------
// 1. ECC flash: an interrupted program reads back as an error.

/// A/B on ECC flash: checkpoint 2 is cut at every word of its seal (on 1), erase and
/// writes, the word at the cut torn (an ECC error until erased). Every reboot loads
/// checkpoint 1 and the next checkpoint is written (into the torn slot: its erase clears
/// the error) and loads.
#[test]
fn ecc_a_torn_word_is_a_bad_slot_and_the_next_checkpoint_reuses_it() {
    let p = payloads(3);
    let mut cp = ring(flash(2), 2);
    cp.write(&p[0]).unwrap();
    let base = cp.into_inner().reboot();
    let total = ops_of_write(&base, 2, &p[1]);
    let mut unreadable = 0;
    for k in 0..total {
        let mut f = base.reboot();
        (f.cut_after, f.torn, f.ecc) = (Some(k), true, true);
        let mut cp = ring(f, 2);
        assert_eq!(
            cp.write(&p[1]),
            Err(CheckpointError::Flash(FlashError::PowerCut))
        );
        let f = cp.into_inner();
        unreadable += u32::from(f.ecc_bad.contains(&true));
        let (got, mut cp) = boot(&f, 2);
        assert_eq!(which(&p, got), Ok(Some(0)), "cut after word {k} of {total}");
        let r = cp
            .write(&p[2])
            .unwrap_or_else(|e| panic!("cut after {k}: {e:?}"));
        assert_eq!(r.slot, 1);
        let (got, _) = boot(&cp.into_inner(), 2);
        assert_eq!(which(&p, got), Ok(Some(2)), "after cut {k}");
    }
    assert_eq!(u64::from(unreadable), total, "every cut left an ECC error");
}

// ---------------------------------------------------------------------------------------
// 2. A committed record that does not load.

/// A/B: checkpoint 1 loads, checkpoint 2 is committed but does not load (a NaN weight,
/// or another network's shape). The boot falls back to 1; the next checkpoint goes into
/// 2's slot, never 1's, so a cut at any word of it still boots from 1.
#[test]
fn a_committed_record_that_does_not_load_never_costs_the_one_that_does() {
    let p = payloads(3);
    for (what, bad) in [
        ("NaN", nan_payload(&p[0])),
        ("other shape", other_shape_payload()),
    ] {
        let mut cp = ring(flash(2), 2);
        cp.write(&p[0]).unwrap();
        let bad_rec = cp.write(&bad).unwrap();
        let base = cp.into_inner().reboot();
        // Booted and fallen back: where does the next checkpoint go, in how many words?
        let (got, mut cp) = boot(&base, 2);
        assert_eq!(which(&p, got), Ok(Some(0)), "{what}: falls back");
        let r = cp.write(&p[1]).unwrap();
        assert_eq!(
            r.slot, bad_rec.slot,
            "{what}: the next checkpoint replaces the bad one"
        );
        let total = cp.into_inner().ops;
        for k in 0..total {
            let mut f = base.reboot();
            (f.cut_after, f.torn) = (Some(k), true);
            let mut cp = ring(f, 2);
            let got = load(&mut cp).map(|o| o.map(|l| l.1));
            assert_eq!(which(&p, got), Ok(Some(0)));
            assert!(cp.write(&p[1]).is_err(), "{what}: cut after {k}");
            let (got, mut cp) = boot(&cp.into_inner(), 2);
            assert_eq!(
                which(&p, got),
                Ok(Some(0)),
                "{what}: cut after word {k} of {total}"
            );
            cp.write(&p[2]).unwrap();
            let (got, _) = boot(&cp.into_inner(), 2);
            assert_eq!(which(&p, got), Ok(Some(2)), "{what}: after cut {k}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// 3. Worn cells.

/// One stuck byte in the next slot (slot 0 of an empty 4-slot ring): a bit of the
/// header that cannot be programmed, a byte of the payload that cannot be erased, a bit
/// of the commit marker that cannot be programmed. Each of 5 checkpoints is written (in
/// slots 1, 2, 3, 1, 2) and loads after a reboot; slot 0 never holds a record.
#[test]
fn a_worn_cell_in_the_next_slot_moves_the_ring_on() {
    let p = payloads(5);
    let marker = marker_addr(Record {
        seq: 1,
        slot: 0,
        len: p[0].len(),
    });
    let cases = [
        (
            "header bit cannot be programmed",
            Stuck {
                addr: slot_addr(0),
                bits: 0x02,
                at_one: true,
            },
        ),
        (
            "payload byte cannot be erased",
            Stuck {
                addr: slot_addr(0) + HEADER,
                bits: 0xff,
                at_one: false,
            },
        ),
        (
            "marker bit cannot be programmed",
            Stuck {
                addr: marker,
                bits: 0x01,
                at_one: true,
            },
        ),
    ];
    for (what, stuck) in cases {
        let mut f = flash(4);
        f.stuck.push(stuck);
        let mut cp = ring(f, 4);
        let mut ok = 0;
        for (i, payload) in p.iter().enumerate() {
            match cp.write(payload) {
                Ok(r) => {
                    assert_ne!(r.slot, 0, "{what}");
                    ok += 1;
                }
                Err(e) => eprintln!("{what}: checkpoint {} failed: {e:?}", i + 1),
            }
            let (got, again) = boot(&cp.into_inner(), 4);
            assert_eq!(which(&p, got), Ok(Some(i)), "{what}: checkpoint {}", i + 1);
            cp = again;
        }
        assert_eq!(ok, 5, "{what}: {ok} of 5 checkpoints written");
        assert_eq!(cp.into_inner().overwrites, 0);
    }
}

/// A/B with slot 1 worn: there is no other slot to go to. The write says `Verify` and
/// checkpoint 1 (slot 0, never touched) still loads.
#[test]
fn a_worn_slot_in_a_b_is_an_error_and_the_other_record_stays() {
    let p = payloads(2);
    let mut f = flash(2);
    f.stuck.push(Stuck {
        addr: slot_addr(1),
        bits: 0x02,
        at_one: true,
    });
    let mut cp = ring(f, 2);
    cp.write(&p[0]).unwrap();
    assert_eq!(cp.write(&p[1]), Err(CheckpointError::Verify));
    let (got, _) = boot(&cp.into_inner(), 2);
    assert_eq!(which(&p, got), Ok(Some(0)));
}

// ---------------------------------------------------------------------------------------
// 4. The commit marker.

/// Checkpoints 1 and 2 in A/B, then checkpoint 3 is cut right after its first word: the
/// seal on 2 (the record it must not lose). Any single bit flipped in 2's marker, either
/// way: 2 still loads (sealed); any bit flipped in its seal: 2 loads (marker); one flip in
/// each: 2 is ignored and 1 loads. Before the seal, a flipped marker bit makes 2 ignored.
#[test]
fn a_flipped_marker_or_seal_bit_is_detected_and_a_sealed_record_survives_one() {
    let p = payloads(3);
    let mut cp = ring(flash(2), 2);
    cp.write(&p[0]).unwrap();
    let r2 = cp.write(&p[1]).unwrap();
    let unsealed = cp.into_inner().reboot();
    let mut f = unsealed.reboot();
    (f.ops, f.cut_after) = (0, Some(1));
    let mut cp = ring(f, 2);
    assert!(cp.write(&p[2]).is_err());
    let sealed = cp.into_inner().reboot();
    assert_eq!(
        &sealed.mem[seal_addr(r2)..][..4],
        &SEAL.to_le_bytes(),
        "the seal is the first word of the next checkpoint"
    );
    let (m, s) = (marker_addr(r2), seal_addr(r2));
    for bit in 0..32 {
        let flip = |f: &CutFlash, at: usize| {
            let mut f = f.reboot();
            f.mem[at + bit / 8] ^= 1 << (bit % 8);
            f
        };
        let (got, _) = boot(&flip(&unsealed, m), 2);
        assert_eq!(which(&p, got), Ok(Some(0)), "unsealed, marker bit {bit}");
        let (got, _) = boot(&flip(&sealed, m), 2);
        assert_eq!(which(&p, got), Ok(Some(1)), "sealed, marker bit {bit}");
        let (got, _) = boot(&flip(&sealed, s), 2);
        assert_eq!(which(&p, got), Ok(Some(1)), "seal bit {bit}");
        let (got, _) = boot(&flip(&flip(&sealed, s), m), 2);
        assert_eq!(which(&p, got), Ok(Some(0)), "seal and marker bit {bit}");
    }
}

/// A/B: checkpoints 1 (slot 0) and 2 (slot 1); erasing slot 0 for checkpoint 3 disturbs
/// slot 1: a bit of 2's commit marker decays. A cut at any word of checkpoint 3 still
/// boots from 2 (it was sealed before the erase).
#[test]
fn erase_disturb_of_the_newest_marker_during_the_next_checkpoint_never_loses_it() {
    let p = payloads(4);
    let mut cp = ring(flash(2), 2);
    cp.write(&p[0]).unwrap();
    let r2 = cp.write(&p[1]).unwrap();
    let base = cp.into_inner().reboot();
    let bit = zero_bit(&base, marker_addr(r2));
    let total = ops_of_write(&base, 2, &p[2]);
    for k in 0..total {
        let mut f = base.reboot();
        (f.ops, f.cut_after, f.torn) = (0, Some(k), true);
        f.disturb = Some((marker_addr(r2), bit));
        let mut cp = ring(f, 2);
        assert!(cp.write(&p[2]).is_err());
        let (got, mut cp) = boot(&cp.into_inner(), 2);
        assert_eq!(which(&p, got), Ok(Some(1)), "cut after word {k} of {total}");
        cp.write(&p[3]).unwrap();
        let (got, _) = boot(&cp.into_inner(), 2);
        assert_eq!(which(&p, got), Ok(Some(3)), "after cut {k}");
    }
}

/// A record as the previous version wrote it (the same header, payload and marker, and
/// no seal unit) loads; one whose length only fitted the previous layout (its seal unit
/// would lie past the slot) is ignored, and a new checkpoint is written over it.
#[test]
fn records_of_the_previous_layout_load_or_are_cleanly_ignored() {
    let p = payloads(2);
    let crc32 = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    let old_record = |seq: u32, payload: &[u8]| {
        let mut d = crc32.digest();
        d.update(&seq.to_le_bytes());
        d.update(&(payload.len() as u32).to_le_bytes());
        d.update(payload);
        let mut rec = Vec::new();
        rec.extend_from_slice(b"MPCK");
        rec.extend_from_slice(&seq.to_le_bytes());
        rec.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        rec.extend_from_slice(&d.finalize().to_le_bytes());
        rec.resize(HEADER, 0xff);
        rec.extend_from_slice(payload);
        rec.resize(rec.len().div_ceil(WORD) * WORD, 0xff);
        rec.extend_from_slice(&COMMIT.to_le_bytes());
        rec
    };
    let mut f = flash(2);
    let rec = old_record(7, &p[0]);
    f.mem[slot_addr(0)..][..rec.len()].copy_from_slice(&rec);
    let (got, mut cp) = boot(&f, 2);
    assert_eq!(which(&p, got), Ok(Some(0)), "an old record loads");
    let r = cp.write(&p[1]).unwrap();
    assert_eq!((r.seq, r.slot), (8, 1));

    // A full old slot: payload up to the slot's end minus header and marker.
    let long = vec![0x5au8; slot_len() as usize - HEADER - WORD];
    let mut f = flash(2);
    let rec = old_record(9, &long);
    assert_eq!(rec.len(), slot_len() as usize);
    f.mem[slot_addr(0)..][..rec.len()].copy_from_slice(&rec);
    let mut cp = ring(f.reboot(), 2);
    assert_eq!(
        cp.newest(),
        Ok(None),
        "too long for the new layout: ignored"
    );
    let r = cp.write(&p[0]).unwrap();
    assert_eq!((r.seq, r.slot), (1, 0));
    let (got, _) = boot(&cp.into_inner(), 2);
    assert_eq!(which(&p, got), Ok(Some(0)));
}

// ---------------------------------------------------------------------------------------
// 5. Read errors.

/// Read call `j` (and `j + 1` for a burst of 2) fails once.
fn flaky_at(j: u64, burst: u64) -> Flaky {
    let period = 1 << 40;
    Flaky {
        period,
        phase: period - j,
        burst,
    }
}

/// Four checkpoints in a 4-slot ring; the boot's scan and load are read with one read
/// (or two in a row) failing, at every read of the boot: it loads checkpoint 4. Then a
/// checkpoint is written with a failing read at every read of it (the scan of the seal,
/// the read-back): it is written and loads.
#[test]
fn a_transient_read_error_anywhere_is_retried() {
    let p = payloads(5);
    let mut cp = ring(flash(4), 4);
    for x in &p[..4] {
        cp.write(x).unwrap();
    }
    let base = cp.into_inner().reboot();
    let (got, cp) = boot(&base, 4);
    assert_eq!(which(&p, got), Ok(Some(3)));
    let boot_reads = cp.into_inner().reads;
    let mut cp = ring(base.reboot(), 4);
    cp.write(&p[4]).unwrap();
    let write_reads = cp.into_inner().reads;
    for burst in [1, 2] {
        for j in 0..boot_reads {
            let mut f = base.reboot();
            f.flaky = Some(flaky_at(j, burst));
            let mut cp = ring(f, 4);
            let got = load(&mut cp).map(|o| o.map(|l| l.1));
            assert_eq!(
                which(&p, got),
                Ok(Some(3)),
                "boot read {j} failing {burst}x"
            );
            assert_eq!(cp.into_inner().flaky_errors, burst);
        }
        for j in 0..write_reads {
            let mut f = base.reboot();
            f.flaky = Some(flaky_at(j, burst));
            let mut cp = ring(f, 4);
            let r = cp.write(&p[4]);
            assert!(r.is_ok(), "write read {j} failing {burst}x: {r:?}");
            let (got, _) = boot(&cp.into_inner(), 4);
            assert_eq!(
                which(&p, got),
                Ok(Some(4)),
                "write read {j} failing {burst}x"
            );
        }
    }
}

/// The power goes during a read of a checkpoint's write (its scan, the read-back before
/// the commit, the check of the marker after it): the reboot loads the previous
/// checkpoint, or this one exactly when its marker had been programmed; the next
/// checkpoint is written.
#[test]
fn a_cut_during_a_read_of_the_write_keeps_the_last_complete_checkpoint() {
    let p = payloads(4);
    for slots in [2, 4] {
        let mut cp = ring(flash(slots), slots);
        cp.write(&p[0]).unwrap();
        cp.write(&p[1]).unwrap();
        let base = cp.into_inner().reboot();
        let mut cp = ring(base.reboot(), slots);
        cp.write(&p[2]).unwrap();
        let f = cp.into_inner();
        let (reads, ops) = (f.reads, f.ops);
        let mut committed = 0;
        for j in 0..reads {
            let mut f = base.reboot();
            f.cut_at_read = Some(j);
            let mut cp = ring(f, slots);
            assert_eq!(
                cp.write(&p[2]),
                Err(CheckpointError::Flash(FlashError::PowerCut))
            );
            let f = cp.into_inner();
            let marker_done = f.ops == ops;
            committed += u32::from(marker_done);
            let (got, mut cp) = boot(&f, slots);
            let want = if marker_done { 2 } else { 1 };
            assert_eq!(
                which(&p, got),
                Ok(Some(want)),
                "{slots} slots, cut at read {j} of {reads}"
            );
            cp.write(&p[3]).unwrap();
            let (got, _) = boot(&cp.into_inner(), slots);
            assert_eq!(which(&p, got), Ok(Some(3)));
        }
        assert!(committed >= 1, "the marker's read-back is cut too");
    }
}

/// The newest record's payload cannot be read at all (an ECC error that stays): it is a
/// bad slot. The boot loads the one before; the next checkpoint goes into the bad slot.
#[test]
fn an_unreadable_record_falls_back_to_the_one_before() {
    let p = payloads(3);
    let mut cp = ring(flash(2), 2);
    cp.write(&p[0]).unwrap();
    let r = cp.write(&p[1]).unwrap();
    let mut f = cp.into_inner().reboot();
    f.ecc_bad[(slot_addr(r.slot) + HEADER + 100) / WORD] = true;
    let (got, mut cp) = boot(&f, 2);
    assert_eq!(which(&p, got), Ok(Some(0)));
    assert_eq!(cp.write(&p[2]).unwrap().slot, r.slot);
    let (got, _) = boot(&cp.into_inner(), 2);
    assert_eq!(which(&p, got), Ok(Some(2)));
}

// ---------------------------------------------------------------------------------------
// The sweep: every fault kind × a power cut after every word operation.

/// The flash, shared between the ring and the test (to arm a disturb between writes).
#[derive(Clone)]
struct Shared(Rc<RefCell<CutFlash>>);

impl ErrorType for Shared {
    type Error = FlashError;
}

impl ReadNorFlash for Shared {
    const READ_SIZE: usize = CutFlash::READ_SIZE;
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        self.0.borrow_mut().read(offset, bytes)
    }
    fn capacity(&self) -> usize {
        self.0.borrow().capacity()
    }
}

impl NorFlash for Shared {
    const WRITE_SIZE: usize = CutFlash::WRITE_SIZE;
    const ERASE_SIZE: usize = CutFlash::ERASE_SIZE;
    fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        self.0.borrow_mut().erase(from, to)
    }
    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        self.0.borrow_mut().write(offset, bytes)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// A power cut: the word operation at the cut does not happen.
    Cut,
    /// The word at the cut is half-programmed or half-erased.
    Torn,
    /// ECC flash: the torn word reads as an error until erased.
    Ecc,
    /// Torn cuts, and two reads in a row of every seven fail (all along: scans, loads,
    /// read-backs, before and after the cut).
    FlakyReads,
    /// The power goes during a read (the cut points are the reads, not the words).
    ReadCut,
    /// Torn cuts; among the checkpoints, committed ones that do not load (a NaN weight,
    /// another network's shape), each followed by a boot that falls back.
    Unloadable,
    /// A bit of slot 0's header that cannot be programmed.
    StuckProgram,
    /// A byte of slot 0's payload that cannot be erased.
    StuckErase,
    /// A bit of slot 0's commit marker that cannot be programmed.
    StuckMarker,
    /// Every erase decays a bit of the kept record's commit marker (erase disturb).
    DisturbMarker,
    /// ... of its seal.
    DisturbSeal,
    /// ... of its payload: that record is destroyed.
    DisturbPayload,
    /// Once, between two checkpoints, the newest record's marker decays before anything
    /// sealed it: that record is destroyed.
    MarkerDecay,
}

impl Fault {
    const ALL: [Fault; 13] = [
        Fault::Cut,
        Fault::Torn,
        Fault::Ecc,
        Fault::FlakyReads,
        Fault::ReadCut,
        Fault::Unloadable,
        Fault::StuckProgram,
        Fault::StuckErase,
        Fault::StuckMarker,
        Fault::DisturbMarker,
        Fault::DisturbSeal,
        Fault::DisturbPayload,
        Fault::MarkerDecay,
    ];

    /// Whether the fault destroys the record it hits (losing that one is then allowed).
    fn destroys(self) -> bool {
        matches!(self, Fault::DisturbPayload | Fault::MarkerDecay)
    }

    fn stuck(self) -> bool {
        matches!(
            self,
            Fault::StuckProgram | Fault::StuckErase | Fault::StuckMarker
        )
    }

    /// Ring sizes: A/B and four slots (a worn slot in A/B leaves no slot to go to: see
    /// `a_worn_slot_in_a_b_is_an_error_and_the_other_record_stays`).
    fn rings(self) -> &'static [u32] {
        if self.stuck() {
            &[4]
        } else {
            &[2, 4]
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Step {
    Write(usize),
    Boot,
    Decay,
}

/// The checkpoints: `good` loadable ones, then the two that do not load, then two for
/// after the cut.
struct Pool {
    bytes: Vec<Vec<u8>>,
    loadable: Vec<bool>,
}

const GOOD: usize = 6;
const NAN: usize = GOOD;
const SHAPE: usize = GOOD + 1;
const AFTER: [usize; 2] = [GOOD + 2, GOOD + 3];

impl Pool {
    fn new() -> Self {
        let mut bytes = payloads(GOOD + 2);
        let after = bytes.split_off(GOOD);
        bytes.push(nan_payload(&bytes[0]));
        bytes.push(other_shape_payload());
        bytes.extend(after);
        let loadable = (0..bytes.len()).map(|i| i != NAN && i != SHAPE).collect();
        Pool { bytes, loadable }
    }

    fn index(&self, b: &[u8]) -> Option<usize> {
        self.bytes.iter().position(|p| p == b)
    }
}

fn script(fault: Fault, slots: u32) -> Vec<Step> {
    use Step::{Boot, Decay, Write};
    // A full turn of the ring and the wrap-around: every slot written, the first two
    // rewritten.
    let turn = (0..slots as usize + 2).map(Write);
    match fault {
        Fault::Unloadable => vec![
            Write(0),
            Write(NAN),
            Boot,
            Write(1),
            Write(2),
            Write(SHAPE),
            Boot,
            Write(3),
            Write(4),
        ],
        Fault::MarkerDecay => {
            let mut s: Vec<Step> = turn.collect();
            s.insert(2, Decay);
            s.insert(3, Boot);
            s
        }
        _ => turn.collect(),
    }
}

#[derive(Clone, Copy, Debug)]
enum Cut {
    None,
    AfterOp(u64),
    AtRead(u64),
}

#[derive(Default, Debug)]
struct Tally {
    cut_points: u64,
    loads: u64,
    corrupt: u64,
    lost: u64,
    lost_destroyed: u64,
    stuck: u64,
    committed_at_read_cut: u64,
    overwrites: u64,
    /// Evidence that the fault happened (ECC words, read errors, disturbs, fallbacks,
    /// writes that moved past the worn slot).
    hits: u64,
    problems: Vec<String>,
}

impl Tally {
    fn problem(&mut self, what: String) {
        if self.problems.len() < 5 {
            self.problems.push(what);
        }
    }
}

/// What the test knows: checkpoints committed (in order), destroyed ones, and the record
/// the ring keeps (the last one written, or loaded).
#[derive(Default)]
struct Known {
    committed: Vec<usize>,
    destroyed: Vec<usize>,
    kept: Option<(Record, usize)>,
}

struct Sweep<'a> {
    pool: &'a Pool,
    fault: Fault,
    slots: u32,
    script: Vec<Step>,
}

impl Sweep<'_> {
    fn new_flash(&self, cut: Cut) -> CutFlash {
        let mut f = flash(self.slots);
        f.torn = !matches!(self.fault, Fault::Cut);
        let len = self.pool.bytes[0].len();
        let slot0 = Record {
            seq: 0,
            slot: 0,
            len,
        };
        match self.fault {
            Fault::Ecc => f.ecc = true,
            Fault::FlakyReads => {
                let phase = match cut {
                    Cut::AfterOp(k) => k % 7,
                    _ => 0,
                };
                f.flaky = Some(Flaky {
                    period: 7,
                    phase,
                    burst: 2,
                });
            }
            Fault::StuckProgram => f.stuck.push(Stuck {
                addr: slot_addr(0),
                bits: 0x02,
                at_one: true,
            }),
            Fault::StuckErase => f.stuck.push(Stuck {
                addr: slot_addr(0) + HEADER,
                bits: 0xff,
                at_one: false,
            }),
            Fault::StuckMarker => f.stuck.push(Stuck {
                addr: marker_addr(slot0),
                bits: 0x01,
                at_one: true,
            }),
            _ => {}
        }
        match cut {
            Cut::None => {}
            Cut::AfterOp(k) => f.cut_after = Some(k),
            Cut::AtRead(j) => f.cut_at_read = Some(j),
        }
        f
    }

    /// The disturb to arm before a write: a 0 bit of the kept record decays.
    fn disturb(&self, f: &CutFlash, kept: Option<(Record, usize)>) -> Option<(usize, u32)> {
        let (r, _) = kept?;
        let addr = match self.fault {
            Fault::DisturbMarker => marker_addr(r),
            Fault::DisturbSeal => seal_addr(r),
            // A word in the middle of the payload.
            Fault::DisturbPayload => slot_addr(r.slot) + HEADER + r.len / 2 / WORD * WORD,
            _ => return None,
        };
        let w = u32::from_le_bytes(f.mem[addr..addr + 4].try_into().unwrap());
        // An erased word (a seal not written yet) has no bit to lose.
        (w != u32::MAX).then(|| (addr, 1 << (!w).trailing_zeros()))
    }

    fn classify(&self, known: &Known, got: &Option<(Record, Vec<u8>)>, t: &mut Tally, at: &str) {
        t.loads += 1;
        let want = known
            .committed
            .iter()
            .rev()
            .find(|&&i| self.pool.loadable[i])
            .copied();
        let got = got.as_ref().map(|(_, b)| self.pool.index(b));
        match got {
            Some(Some(g)) if known.committed.contains(&g) && Some(g) == want => {}
            None if want.is_none() => {}
            Some(Some(g)) if !known.committed.contains(&g) => {
                t.corrupt += 1;
                t.problem(format!("{at}: loaded #{g}, never committed"));
            }
            Some(None) => {
                t.corrupt += 1;
                t.problem(format!("{at}: loaded bytes that are no checkpoint"));
            }
            _ if want.is_some_and(|w| known.destroyed.contains(&w)) => t.lost_destroyed += 1,
            got => {
                t.lost += 1;
                t.problem(format!("{at}: loaded {got:?}, want #{want:?}"));
            }
        }
    }

    /// A boot: a fresh ring on the flash, loaded. `None` if the power went during it.
    fn boot(
        &self,
        shared: &Shared,
        known: &mut Known,
        t: &mut Tally,
        at: &str,
    ) -> Option<Checkpoints<Shared>> {
        let mut cp =
            Checkpoints::new(shared.clone(), START, self.slots * slot_len(), slot_len()).unwrap();
        let got = load(&mut cp);
        if shared.0.borrow().is_off() {
            return None;
        }
        match got {
            Ok(got) => {
                self.classify(known, &got, t, at);
                if let Some((r, b)) = &got {
                    let i = self.pool.index(b).unwrap_or(usize::MAX);
                    if known.committed.last().is_some_and(|&n| n != i) {
                        t.hits += u64::from(self.fault == Fault::Unloadable);
                    }
                    known.kept = Some((*r, i));
                } else {
                    known.kept = None;
                }
            }
            Err(e) => {
                t.stuck += 1;
                t.problem(format!("{at}: load failed: {e:?}"));
            }
        }
        Some(cp)
    }

    /// Writes `i`, with the fault's disturb armed. `Err` if the power went.
    fn write(
        &self,
        cp: &mut Checkpoints<Shared>,
        shared: &Shared,
        i: usize,
        known: &mut Known,
        t: &mut Tally,
        at: &str,
    ) -> Result<(), ()> {
        let d = self.disturb(&shared.0.borrow(), known.kept);
        shared.0.borrow_mut().disturb = d;
        let r = cp.write(&self.pool.bytes[i]);
        let applied = d.is_some() && shared.0.borrow_mut().disturb.take().is_none();
        if applied {
            t.hits += 1;
            if self.fault.destroys() {
                known.destroyed.extend(known.kept.map(|k| k.1));
            }
        }
        match r {
            Ok(rec) => {
                known.committed.push(i);
                known.kept = Some((rec, i));
                Ok(())
            }
            Err(_) if shared.0.borrow().is_off() => Err(()),
            Err(e) => {
                t.stuck += 1;
                t.problem(format!("{at}: writing #{i} failed: {e:?}"));
                Ok(())
            }
        }
    }

    /// One run: the script until the cut, then a reboot, and two more checkpoints each
    /// followed by a reboot. Returns the word operations and reads before the cut and the
    /// word operations done at the end of each write (without a cut: for the sweep).
    fn run(&self, cut: Cut, ends: &[Option<u64>], t: &mut Tally) -> (u64, u64, Vec<Option<u64>>) {
        let at = format!("{:?} {} slots, cut {cut:?}", self.fault, self.slots);
        let shared = Shared(Rc::new(RefCell::new(self.new_flash(cut))));
        let mut known = Known::default();
        let mut cp =
            Checkpoints::new(shared.clone(), START, self.slots * slot_len(), slot_len()).unwrap();
        let mut my_ends = vec![None; self.script.len()];
        let mut in_flight = None;
        for (s, step) in self.script.iter().enumerate() {
            match *step {
                Step::Write(i) => {
                    if self.write(&mut cp, &shared, i, &mut known, t, &at).is_err() {
                        in_flight = Some((s, i));
                        break;
                    }
                    my_ends[s] = Some(shared.0.borrow().ops);
                }
                Step::Boot => match self.boot(&shared, &mut known, t, &format!("{at}, boot {s}")) {
                    Some(c) => cp = c,
                    None => break,
                },
                Step::Decay => {
                    if let Some((r, i)) = known.kept {
                        let mut f = shared.0.borrow_mut();
                        let m = marker_addr(r);
                        let bit = zero_bit(&f, m);
                        let w = u32::from_le_bytes(f.mem[m..m + 4].try_into().unwrap()) | bit;
                        f.mem[m..m + 4].copy_from_slice(&w.to_le_bytes());
                        known.destroyed.push(i);
                        t.hits += 1;
                    }
                }
            }
        }
        drop(cp);
        let (ops, reads) = {
            let f = shared.0.borrow();
            (f.ops, f.reads)
        };
        if let (Some((s, i)), Cut::AtRead(_)) = (in_flight, cut) {
            // Cut during a read after its marker was programmed: committed. (A cut after
            // a word operation counts the torn operation in `ops`; no read cut does.)
            if ends.get(s).copied().flatten().is_some_and(|e| ops >= e) {
                known.committed.push(i);
                t.committed_at_read_cut += 1;
            }
        }
        match self.fault {
            Fault::Ecc => t.hits += u64::from(shared.0.borrow().ecc_bad.contains(&true)),
            Fault::FlakyReads => t.hits += shared.0.borrow().flaky_errors,
            Fault::Cut | Fault::Torn | Fault::ReadCut => {
                t.hits += u64::from(shared.0.borrow().is_off());
            }
            // Each erase of slot 0 is a write that failed there and moved on.
            f if f.stuck() => t.hits += u64::from(shared.0.borrow().erases[slot_addr(0) / PAGE]),
            _ => {}
        }
        // Power back: reboot, then two more checkpoints, each followed by a reboot.
        let mut phase = "reboot".to_string();
        for after in [None, Some(AFTER[0]), Some(AFTER[1])] {
            let f = shared.0.borrow().reboot();
            *shared.0.borrow_mut() = f;
            let Some(mut cp) = self.boot(&shared, &mut known, t, &format!("{at}, {phase}")) else {
                unreachable!("the power is back");
            };
            if let Some(a) = after {
                phase = format!("reboot after #{a}");
                let _ = self.write(
                    &mut cp,
                    &shared,
                    a,
                    &mut known,
                    t,
                    &format!("{at}, after the cut"),
                );
            }
        }
        let f = shared.0.borrow();
        t.overwrites += u64::from(f.overwrites);
        (ops, reads, my_ends)
    }

    fn sweep(&self) -> Tally {
        let mut t = Tally::default();
        let (ops, reads, ends) = self.run(Cut::None, &[], &mut Tally::default());
        let cuts: Vec<Cut> = if self.fault == Fault::ReadCut {
            (0..reads).map(Cut::AtRead).collect()
        } else {
            (0..ops).map(Cut::AfterOp).collect()
        };
        for cut in cuts {
            self.run(cut, &ends, &mut t);
            t.cut_points += 1;
        }
        t
    }
}

/// Every fault kind against a power cut at every word operation (for `ReadCut`: at every
/// read), in A/B and in a ring of four slots. After each cut: a reboot, then two more
/// checkpoints each followed by a reboot. Every load is classified against what the test
/// knows was committed. Printed with `--nocapture`.
#[test]
fn every_fault_kind_at_every_cut_point() {
    let pool = Pool::new();
    let jobs: Vec<(Fault, u32)> = Fault::ALL
        .iter()
        .flat_map(|&f| f.rings().iter().map(move |&s| (f, s)))
        .collect();
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let j = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(fault, slots)) = jobs.get(j) else {
                    break;
                };
                let sweep = Sweep {
                    pool: &pool,
                    fault,
                    slots,
                    script: script(fault, slots),
                };
                let t = sweep.sweep();
                results.lock().unwrap().push((j, fault, slots, t));
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|r| r.0);
    println!(
        "{:<15} {:>5} {:>10} {:>7} {:>7} {:>5} {:>14} {:>5} {:>13} {:>6}",
        "fault",
        "slots",
        "cut points",
        "loads",
        "corrupt",
        "lost",
        "lost:destroyed",
        "stuck",
        "commit@readcut",
        "hits"
    );
    let mut total = Tally::default();
    for (_, fault, slots, t) in &results {
        println!(
            "{:<15} {:>5} {:>10} {:>7} {:>7} {:>5} {:>14} {:>5} {:>13} {:>6}",
            format!("{fault:?}"),
            slots,
            t.cut_points,
            t.loads,
            t.corrupt,
            t.lost,
            t.lost_destroyed,
            t.stuck,
            t.committed_at_read_cut,
            t.hits
        );
        for p in &t.problems {
            println!("    {p}");
        }
        total.cut_points += t.cut_points;
        total.loads += t.loads;
        total.corrupt += t.corrupt;
        total.lost += t.lost;
        total.lost_destroyed += t.lost_destroyed;
        total.stuck += t.stuck;
        total.committed_at_read_cut += t.committed_at_read_cut;
        total.overwrites += t.overwrites;
    }
    println!(
        "all: {} cut points (attempts), {} loads checked: {} corrupt loads, {} lost checkpoints ({} more where the fault destroyed that record), {} stuck states; {} cuts during the marker's read-back committed; {} words written unerased",
        total.cut_points,
        total.loads,
        total.corrupt,
        total.lost,
        total.lost_destroyed,
        total.stuck,
        total.committed_at_read_cut,
        total.overwrites
    );
    for (_, fault, slots, t) in &results {
        assert!(
            t.cut_points > 0 && t.hits > 0,
            "{fault:?} ({slots} slots) never happened"
        );
        if !fault.destroys() {
            assert_eq!(t.lost_destroyed, 0, "{fault:?} ({slots} slots)");
        }
    }
    assert_eq!(total.corrupt, 0, "corrupt loads");
    assert_eq!(total.lost, 0, "lost checkpoints");
    assert_eq!(total.stuck, 0, "stuck states");
    assert_eq!(total.overwrites, 0, "words programmed twice");
    assert!(total.cut_points > 50_000, "{}", total.cut_points);
}
