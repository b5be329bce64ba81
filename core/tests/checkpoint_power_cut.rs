//! Fault injection: power is cut after every single word written or erased across a
//! full cycle of the checkpoint ring, the device "reboots" and loads. Every reboot must
//! load exactly the last checkpoint that completed (or nothing before the first), and
//! the device must then be able to checkpoint again.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use microprop::checkpoint::{CheckpointError, Checkpoints};
use microprop::format::{self, Extras, Progress, Targets};
use microprop::Optimizer;
use support::flash::{CutFlash, FlashError, PAGE};
use support::{trained, Momentum, Net, HIDDEN, OUTPUT};

const REGION_START: u32 = 16 * 1024;
const REGION: u32 = 16 * 1024;
const BUF: usize = format::network_len::<Net>(Some(Net::PARAMS));

type Opt = Momentum<{ Net::PARAMS }>;

/// Encoded checkpoints of a model trained a little further each time.
fn payloads(count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            let (model, _, opt) = trained(11, i + 1);
            let mut buf = vec![0u8; BUF];
            let extras = Extras {
                optimizer: Some(&opt),
                progress: Progress {
                    epoch: i as u32 + 1,
                    step: 0,
                },
            };
            let n = format::save_model(&model, &extras, &mut buf).unwrap();
            buf.truncate(n);
            buf
        })
        .collect()
}

fn ring(flash: CutFlash, slot_len: u32) -> Checkpoints<CutFlash> {
    Checkpoints::new(flash, REGION_START, REGION, slot_len).unwrap()
}

/// Boots on `flash`, loads, and returns the re-encoded loaded state (None: no checkpoint).
fn boot_and_load(flash: CutFlash, slot_len: u32) -> (Option<Vec<u8>>, Checkpoints<CutFlash>) {
    let mut cp = ring(flash, slot_len);
    let mut model = Net::zeroed(HIDDEN, OUTPUT).unwrap().into_training();
    let mut opt = Opt::new(1.0, 0.9);
    let mut buf = vec![0u8; BUF];
    let loaded = cp
        .load(
            &mut model,
            Targets {
                optimizer: Some(&mut opt),
            },
            &mut buf,
        )
        .expect("a reboot never fails to load or to find nothing");
    let bytes = loaded.map(|(_, l)| {
        let extras = Extras {
            optimizer: Some(&opt as &dyn Optimizer<f32>),
            progress: l.progress,
        };
        let n = format::save_model(&model, &extras, &mut buf).unwrap();
        buf[..n].to_vec()
    });
    (bytes, cp)
}

fn run_all_cuts(torn: bool) -> u64 {
    let slot_len = Checkpoints::<CutFlash>::slot_len_for(BUF) as u32;
    let slots = (REGION / slot_len) as usize;
    // A full cycle: every slot written once, then the ring wraps and the first two slots
    // are erased and rewritten.
    let cycle = payloads(slots + 2);
    let fresh = CutFlash::new((REGION_START + REGION) as usize);

    // The uncut run: how many word operations a full cycle takes.
    let mut cp = ring(fresh.clone(), slot_len);
    for p in &cycle {
        cp.write(p).unwrap();
    }
    let flash = cp.into_inner();
    assert_eq!(flash.overwrites, 0);
    let total = flash.ops;
    let (loaded, _) = boot_and_load(flash.reboot(), slot_len);
    assert_eq!(loaded.as_ref(), cycle.last());

    let after = payloads(slots + 3).pop().unwrap();
    let mut tried = 0u64;
    let mut resumed_from = vec![0u32; cycle.len() + 1];
    for k in 0..total {
        let mut flash = fresh.clone();
        flash.cut_after = Some(k);
        flash.torn = torn;
        let mut cp = ring(flash, slot_len);
        let mut completed = 0;
        for p in &cycle {
            match cp.write(p) {
                Ok(_) => completed += 1,
                Err(CheckpointError::Flash(FlashError::PowerCut)) => break,
                Err(e) => panic!("cut after {k}: unexpected {e:?}"),
            }
        }
        assert!(
            completed < cycle.len(),
            "cut after {k} of {total} did not cut"
        );
        let flash = cp.into_inner();
        assert_eq!(
            flash.overwrites, 0,
            "cut after {k}: wrote over unerased words"
        );

        // Reboot with the same flash contents.
        let (loaded, mut cp) = boot_and_load(flash.reboot(), slot_len);
        let expected = completed.checked_sub(1).map(|i| &cycle[i]);
        assert_eq!(
            loaded.as_ref(),
            expected,
            "cut after word op {k} ({completed} checkpoints completed, torn={torn})"
        );
        resumed_from[completed] += 1;

        // Not bricked: the next checkpoint is written and loads.
        cp.write(&after).unwrap();
        let (loaded, _) = boot_and_load(cp.into_inner().reboot(), slot_len);
        assert_eq!(loaded.as_ref(), Some(&after), "after cut {k}");
        tried += 1;
    }
    assert_eq!(tried, total);
    eprintln!(
        "power cuts (torn={torn}): {tried} cut points over {} checkpoints in {slots} slots of {slot_len} bytes ({} bytes of payload); resumed from checkpoint #n this often: {:?}",
        cycle.len(),
        cycle[0].len(),
        resumed_from
    );
    tried
}

#[test]
fn a_power_cut_after_any_word_resumes_from_the_last_completed_checkpoint() {
    let tried = run_all_cuts(false);
    assert!(tried > 5000, "{tried}");
}

#[test]
fn a_torn_word_at_the_cut_never_loads_either() {
    let tried = run_all_cuts(true);
    assert!(tried > 5000, "{tried}");
}

#[test]
fn wear_each_page_is_erased_once_per_turn_of_the_ring() {
    for (what, payload_len) in [
        ("weights only", format::network_len::<Net>(None)),
        ("weights + momentum state", BUF),
    ] {
        let slot_len = Checkpoints::<CutFlash>::slot_len_for(payload_len) as u32;
        let mut cp = ring(CutFlash::new((REGION_START + REGION) as usize), slot_len);
        let slots = cp.slots() as usize;
        let payload = vec![0x5au8; payload_len];
        let region_pages = REGION_START as usize / PAGE..(REGION_START + REGION) as usize / PAGE;
        let max_erases = |cp: Checkpoints<CutFlash>| {
            let f = cp.into_inner();
            let m = f.erases[region_pages.clone()]
                .iter()
                .copied()
                .max()
                .unwrap();
            (m, f)
        };
        for _ in 0..slots {
            cp.write(&payload).unwrap();
        }
        let (m, flash) = max_erases(cp);
        assert_eq!(m, 1, "{what}: {slots} checkpoints erase no page twice");
        let mut cp = ring(flash, slot_len);
        cp.write(&payload).unwrap();
        let (m, _) = max_erases(cp);
        assert_eq!(m, 2, "{what}: checkpoint {} re-erases slot 0", slots + 1);
        eprintln!(
            "wear ({what}, {payload_len}-byte payload bound, 1 KiB pages): {slots} slots of {slot_len} bytes in 16 KiB: {slots} checkpoints before a page is erased twice"
        );
    }
}
