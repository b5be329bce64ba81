//! Power-cut demo (issue #6): trains with a checkpoint after every epoch into a 16 KiB
//! "flash" region, and on every boot resumes from the newest complete checkpoint.
//! `tools/power-cut.sh` kills QEMU part-way, saves the region's bytes, restarts QEMU with
//! them, and checks that the resumed run ends with the same weights as an uninterrupted
//! one.
//!
//! The region is QEMU mps2's flash-RAM at 0x0030_0000, outside the 512 KiB the image is
//! linked into, so loading the ELF never touches it; `-device loader` puts the saved bytes
//! back before the core starts. Its driver has NOR semantics (erase sets 0xFF, writes only
//! clear bits), like an internal flash.
#![no_std]
#![no_main]

use cortex_m as _; // the critical-section implementation defmt needs
use cortex_m_rt::entry;
use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};
use microprop::checkpoint::{CheckpointError, Checkpoints};
use microprop::format::{self, Extras, Progress, Targets};
use microprop::{
    data::Clusters, mlp, train, Activation, Adam, AdamConfig, Dataset, Init, Loss, Model, Trainer,
};
use microprop_firmware::qemu;

type Net = mlp![f32; 2, 16, 16, 1];
type Opt = Adam<f32, [f32; 2 * Net::PARAMS]>;
const EPOCHS: u32 = 150;
const SEED: u64 = 6;
const REGION: usize = 0x0030_0000;
const REGION_LEN: usize = 16 * 1024;
const BUF: usize = format::network_len::<Net>(None, Some(2 * Net::PARAMS));

/// The flash region, accessed by volatile reads and writes.
struct RegionFlash;

#[derive(Debug)]
struct FlashError(NorFlashErrorKind);

impl NorFlashError for FlashError {
    fn kind(&self) -> NorFlashErrorKind {
        self.0
    }
}

impl ErrorType for RegionFlash {
    type Error = FlashError;
}

fn check(offset: u32, len: usize, align: usize) -> Result<usize, FlashError> {
    let at = offset as usize;
    if at % align != 0 || len % align != 0 {
        return Err(FlashError(NorFlashErrorKind::NotAligned));
    }
    if at + len > REGION_LEN {
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
        let base = check(from, to.saturating_sub(from) as usize, Self::ERASE_SIZE)?;
        for w in (0..(to - from) as usize).step_by(4) {
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

fn fail<E: core::fmt::Debug>(what: &str, _e: E) -> ! {
    defmt::error!("{=str} failed", what);
    qemu::exit(false)
}

#[entry]
fn main() -> ! {
    let mut rng = microprop::rng(SEED);
    let (mut x, mut labels) = ([[0.0f32; 2]; 128], [0u8; 128]);
    if Clusters::two(0.8)
        .generate(&mut rng, &mut x, &mut labels)
        .is_err()
    {
        fail("data", ());
    }
    let Ok(data) = Dataset::new(&x, &labels) else {
        fail("dataset", ())
    };
    let Ok(net) = Net::new(
        Activation::Relu,
        Activation::Sigmoid,
        Init::HeNormal,
        0.01,
        &mut rng,
    ) else {
        fail("init", ())
    };
    let mut model = net.into_training();
    let cfg = AdamConfig {
        lr: 0.005,
        ..AdamConfig::default()
    };
    let Ok(mut opt) = Opt::new(cfg, [0.0; 2 * Net::PARAMS]) else {
        fail("adam", ())
    };
    let slot = Checkpoints::<RegionFlash>::slot_len_for(BUF) as u32;
    let mut cp = match Checkpoints::new(RegionFlash, 0, REGION_LEN as u32, slot) {
        Ok(cp) => cp,
        Err(e) => fail("checkpoint region", e),
    };
    let mut buf = [0u8; BUF];
    let targets = Targets {
        optimizer: Some(&mut opt),
        ..Targets::none()
    };
    let mut first = 0;
    match cp.load(&mut model, targets, &mut buf) {
        Ok(Some((rec, loaded))) => {
            opt.set_steps(loaded.progress.step);
            first = loaded.progress.epoch;
            defmt::info!(
                "resumed from checkpoint seq {=u32} (epoch {=u32}, step {=u32})",
                rec.seq,
                loaded.progress.epoch,
                loaded.progress.step
            );
        }
        Ok(None) => defmt::info!("no checkpoint: training from the start"),
        Err(CheckpointError::Model(e)) => {
            defmt::warn!(
                "checkpoint does not fit this network ({}): from the start",
                e
            )
        }
        Err(e) => fail("load", e),
    }
    let Ok(mut trainer) = Trainer::new(Loss::Mse, 8) else {
        fail("trainer", ())
    };
    let mut steps = opt.steps();
    for e in first..EPOCHS {
        // Order and shuffle depend only on the seed and the epoch: a resumed run shuffles
        // exactly as an uninterrupted one.
        let mut order = [0u16; 128];
        if train::fill_order(&mut order).is_err() {
            fail("order", ());
        }
        let mut erng = microprop::rng(SEED + 1000 + u64::from(e));
        let loss = match trainer.epoch(&mut model, &mut opt, &data, &mut order, &mut erng) {
            Ok(l) => l,
            Err(err) => fail("epoch", err),
        };
        steps = opt.steps();
        let extras = Extras {
            optimizer: Some(&opt),
            progress: Progress {
                epoch: e + 1,
                step: steps,
            },
            ..Extras::none()
        };
        match cp.save(&model, &extras, &mut buf) {
            Ok(rec) => defmt::info!(
                "epoch {=u32} loss {=f32}: checkpoint seq {=u32} in slot {=u32}",
                e + 1,
                loss,
                rec.seq,
                rec.slot
            ),
            Err(err) => fail("checkpoint", err),
        }
    }
    let acc = train::evaluate(&mut model, Loss::Mse, &data).map_or(0.0, |m| m.accuracy);
    defmt::info!(
        "done: {=u32} epochs, {=u32} steps, accuracy {=f32}, weights hash {=u64:016x}",
        EPOCHS,
        steps,
        acc,
        model.weights_hash()
    );
    qemu::exit(true)
}
