//! Checkpoints on flash: save and resume, wrong shapes after a firmware update, garbage in
//! the region, and layouts that must be refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use microprop::checkpoint::{CheckpointError, Checkpoints, Record};
use microprop::format::{self, Extras, Progress, Targets};
use microprop::{mlp, Error, FormatError, Model, Optimizer};
use support::flash::{CutFlash, PAGE};
use support::{bytes, trained, Momentum, Net, HIDDEN, OUTPUT};

const BUF: usize = format::network_len::<Net>(Some(Net::PARAMS));

#[test]
fn resumes_weights_optimizer_state_and_progress() {
    let slot = Checkpoints::<CutFlash>::slot_len_for(BUF) as u32;
    let mut cp = Checkpoints::new(CutFlash::new(16 * 1024), 0, 16 * 1024, slot).unwrap();
    assert_eq!(cp.newest().unwrap(), None);
    let mut buf = vec![0u8; BUF];
    let mut last = None;
    for epochs in 1..=3 {
        let (model, _, opt) = trained(5, epochs);
        let extras = Extras {
            optimizer: Some(&opt),
            progress: Progress {
                epoch: epochs as u32,
                step: 8 * epochs as u32,
            },
        };
        let rec = cp.save(&model, &extras, &mut buf).unwrap();
        assert_eq!(rec.seq, epochs as u32);
        last = Some((model.weights_hash(), opt));
    }
    let (hash, opt) = last.unwrap();
    // Reboot.
    let mut cp = Checkpoints::new(cp.into_inner().reboot(), 0, 16 * 1024, slot).unwrap();
    let mut model = Net::zeroed(HIDDEN, OUTPUT).unwrap().into_training();
    let mut opt2 = Momentum::<{ Net::PARAMS }>::new(1.0, 0.9);
    let (rec, loaded) = cp
        .load(
            &mut model,
            Targets {
                optimizer: Some(&mut opt2),
            },
            &mut buf,
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        rec,
        Record {
            seq: 3,
            slot: 2,
            len: rec.len
        }
    );
    assert_eq!(loaded.progress, Progress { epoch: 3, step: 24 });
    assert_eq!(model.weights_hash(), hash);
    assert_eq!(bytes(opt2.state()), bytes(opt.state()));
    assert_eq!(opt2.learning_rate(), opt.learning_rate());
}

#[test]
fn garbage_in_the_region_is_never_loaded_and_never_bricks() {
    let slot = Checkpoints::<CutFlash>::slot_len_for(BUF) as u32;
    let mut flash = CutFlash::new(16 * 1024);
    let mut x = 12345u32;
    for b in flash.mem.iter_mut() {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *b = (x >> 16) as u8;
    }
    // Plant record magics with plausible lengths in every slot.
    for s in 0..(16 * 1024 / slot as usize) {
        flash.mem[s * slot as usize..][..4].copy_from_slice(b"MPCK");
        flash.mem[s * slot as usize + 8..][..4].copy_from_slice(&100u32.to_le_bytes());
    }
    let mut cp = Checkpoints::new(flash, 0, 16 * 1024, slot).unwrap();
    let mut model = Net::zeroed(HIDDEN, OUTPUT).unwrap().into_training();
    let before = model.weights_hash();
    let mut buf = vec![0u8; BUF];
    assert_eq!(
        cp.load(&mut model, Targets::none(), &mut buf).unwrap(),
        None
    );
    assert_eq!(model.weights_hash(), before);
    let (trained_model, _, _) = trained(1, 1);
    cp.save(&trained_model, &Extras::none(), &mut buf).unwrap();
    let mut cp = Checkpoints::new(cp.into_inner().reboot(), 0, 16 * 1024, slot).unwrap();
    assert!(cp
        .load(&mut model, Targets::none(), &mut buf)
        .unwrap()
        .is_some());
    assert_eq!(model.weights_hash(), trained_model.weights_hash());
}

#[test]
fn a_checkpoint_of_another_shape_is_an_error_and_training_can_start_afresh() {
    let slot = 4 * PAGE as u32;
    let mut cp = Checkpoints::new(CutFlash::new(16 * 1024), 0, 16 * 1024, slot).unwrap();
    let (model, _, _) = trained(2, 1);
    let mut buf = vec![0u8; BUF];
    cp.save(&model, &Extras::none(), &mut buf).unwrap();
    // The firmware now has a narrower network.
    type Small = mlp![f32; 2, 8, 1];
    let mut small = Small::zeroed(HIDDEN, OUTPUT).unwrap().into_training();
    assert_eq!(
        cp.load(&mut small, Targets::none(), &mut buf),
        Err(CheckpointError::Model(Error::Format(FormatError::Depth {
            expected: 2,
            found: 3
        })))
    );
    assert_eq!(
        small.weights_hash(),
        Small::zeroed(HIDDEN, OUTPUT)
            .unwrap()
            .into_training()
            .weights_hash()
    );
    // It checkpoints its own network and resumes from that.
    small.visit_layers_mut(|l| l.b.fill(0.25));
    cp.save(&small, &Extras::none(), &mut buf).unwrap();
    let mut again = Small::zeroed(HIDDEN, OUTPUT).unwrap().into_training();
    let (rec, _) = cp
        .load(&mut again, Targets::none(), &mut buf)
        .unwrap()
        .unwrap();
    assert_eq!(rec.seq, 2);
    assert_eq!(again.weights_hash(), small.weights_hash());
}

#[test]
fn bad_layouts_and_oversized_payloads_are_refused() {
    let flash = || CutFlash::new(16 * 1024);
    let p = PAGE as u32;
    let layout = |r: Result<Checkpoints<CutFlash>, _>| matches!(r, Err(CheckpointError::Layout(_)));
    assert!(
        layout(Checkpoints::new(flash(), 0, 16 * 1024, 16 * 1024)),
        "one slot"
    );
    assert!(
        layout(Checkpoints::new(flash(), 100, 8 * p, p)),
        "unaligned start"
    );
    assert!(
        layout(Checkpoints::new(flash(), 0, 8 * p, p + 4)),
        "unaligned slot"
    );
    assert!(
        layout(Checkpoints::new(flash(), 8 * p, 16 * p, p)),
        "past the end"
    );
    let mut cp = Checkpoints::new(flash(), 0, 16 * 1024, p).unwrap();
    assert_eq!(cp.slots(), 16);
    let big = vec![0u8; cp.capacity() + 1];
    assert_eq!(
        cp.write(&big),
        Err(CheckpointError::TooLarge {
            len: big.len(),
            capacity: cp.capacity()
        })
    );
    // Header, payload, commit marker and seal.
    assert_eq!(cp.capacity(), PAGE - 32 - 4 - 4);
    let fits = vec![7u8; cp.capacity()];
    let r = cp.write(&fits).unwrap();
    let mut out = vec![0u8; PAGE];
    assert_eq!(cp.read_record(r, &mut out).unwrap(), &fits[..]);
}

/// A flash of 4 GiB that stores nothing: for layouts at the top of the address space.
struct FourGiB;

impl embedded_storage::nor_flash::ErrorType for FourGiB {
    type Error = embedded_storage::nor_flash::NorFlashErrorKind;
}

impl embedded_storage::nor_flash::ReadNorFlash for FourGiB {
    const READ_SIZE: usize = 1;
    fn read(&mut self, _offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        bytes.fill(0xff);
        Ok(())
    }
    fn capacity(&self) -> usize {
        1 << 32
    }
}

impl embedded_storage::nor_flash::NorFlash for FourGiB {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = PAGE;
    fn erase(&mut self, _from: u32, _to: u32) -> Result<(), Self::Error> {
        Ok(())
    }
    fn write(&mut self, _offset: u32, _bytes: &[u8]) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Issue 10: a region ending at 4 GiB made `base + slot_len` overflow (a panic in debug
/// builds, an erase at a wrapped address in release); a caller's `Record` naming a slot
/// far outside the ring multiplied with overflow. Both are refused with named errors.
#[test]
fn no_layout_or_record_reaches_an_overflowing_address() {
    let p = PAGE as u32;
    let top = (1u64 << 32) - 8 * u64::from(p);
    assert!(matches!(
        Checkpoints::new(FourGiB, top as u32, 8 * p, p),
        Err(CheckpointError::Layout(_))
    ));
    // Just below the top is fine.
    let mut cp = Checkpoints::new(FourGiB, top as u32 - p, 8 * p, p).unwrap();
    assert_eq!(cp.newest().unwrap(), None);

    let mut cp = Checkpoints::new(CutFlash::new(16 * 1024), 0, 16 * 1024, p).unwrap();
    let mut buf = vec![0u8; 64];
    for slot in [cp.slots(), 5_000_000, u32::MAX] {
        let r = Record {
            seq: 1,
            slot,
            len: 8,
        };
        assert!(
            matches!(cp.read_record(r, &mut buf), Err(CheckpointError::NoSuchSlot(s)) if s == slot),
            "slot {slot}"
        );
    }
    let r = Record {
        seq: 1,
        slot: 0,
        len: usize::MAX,
    };
    assert!(matches!(
        cp.read_record(r, &mut buf),
        Err(CheckpointError::TooLarge { .. })
    ));
}
