//! The minimal trainer (`microprop_app::tiny`) on an emulated core: N1 (2-16-1 sigmoid)
//! trained online on a generated two-cluster stream, its held-out accuracy logged after
//! every epoch, then the weights hash, the stack high-water mark and the RAM used. On the
//! M0 (`memory/tiny-m0.x`) the link gives it 16 KiB of flash and 1.5 KiB of RAM, stack
//! included (flip-link puts the stack below the static data, so an overflow faults).
//! `cargo run --release --features tiny --bin tiny --target thumbv6m-none-eabi`, or
//! `cargo xtask run --core m0 --program tiny`.
#![no_std]
#![no_main]

use core::mem::MaybeUninit;
use cortex_m as _; // the critical-section implementation defmt needs

use cortex_m_rt::entry;
use microprop_app::tiny::{self, Config, TinyEvent};
use microprop_app::{pass_str, Sink};
use microprop_firmware::{qemu, stack};

/// The program's events as defmt lines, each printing its `Display` text.
struct Log;

impl Sink<TinyEvent> for Log {
    fn event(&mut self, event: &TinyEvent) {
        match *event {
            TinyEvent::Start {
                seed,
                params,
                bytes,
            } => defmt::info!(
                "microprop tiny: N1 2-16-1 sigmoid, online SGD, seed {=u64}, {=u16} params, {=u32} B model+training buffers",
                seed,
                params,
                bytes
            ),
            // Only the `tiny-q16` image logs it (built together with this one when its
            // feature is on).
            #[cfg(feature = "tiny-q16")]
            TinyEvent::StartQ16 { .. } => {}
            TinyEvent::Epoch { epoch, loss, acc } => defmt::info!(
                "epoch {=u16}: loss {=u32}.{=u32:06} held-out acc {=u16}.{=u8}%",
                epoch,
                loss.int,
                loss.frac,
                acc.int,
                acc.tenth
            ),
            TinyEvent::Hash { hash } => defmt::info!("weights hash n1 {=u64:016x}", hash),
            TinyEvent::Verdict { acc, bar, pass } => defmt::info!(
                "result: n1 accuracy {=u16}.{=u8}% (bar {=u16}.{=u8}%): {=str}",
                acc.int,
                acc.tenth,
                bar.int,
                bar.tenth,
                pass_str(pass)
            ),
        }
    }
}

extern "C" {
    static __sdata: u32;
    static __euninit: u32;
}

/// Bytes of static data (`.data`, `.bss`, `.uninit`), from cortex-m-rt's linker symbols.
fn static_ram() -> u32 {
    // Only the symbols' addresses are taken (safe); nothing is read through them.
    let (start, end) = (
        core::ptr::addr_of!(__sdata) as usize,
        core::ptr::addr_of!(__euninit) as usize,
    );
    end.saturating_sub(start) as u32
}

/// The model, built where it stays: in a `static` (`cortex_m::singleton!`), not on the
/// stack; its construction's temporaries live in this frame, gone before training starts.
#[inline(never)]
fn fresh(slot: &'static mut MaybeUninit<tiny::Model>) -> &'static mut tiny::Model {
    slot.write(tiny::Model::default())
}

/// The program, in a frame of its own: `main`'s frame stays small, and this one starts
/// once `fresh`'s is gone (the two peaks do not add up).
#[inline(never)]
fn train(model: &mut tiny::Model) -> Result<tiny::Outcome, microprop_app::Error> {
    tiny::run(&Config::default(), model, &mut Log)
}

#[entry]
fn main() -> ! {
    defmt::info!("board: {=str}", qemu::MACHINE);
    let Some(slot) = cortex_m::singleton!(: MaybeUninit<tiny::Model> = MaybeUninit::uninit())
    else {
        qemu::exit(false)
    };
    let result = train(fresh(slot));
    let (used, size) = stack::high_water();
    defmt::info!("stack high-water mark: {=u32} of {=u32} B", used, size);
    let statics = static_ram();
    defmt::info!(
        "RAM used: {=u32} B ({=u32} B static + {=u32} B stack)",
        statics + used,
        statics,
        used
    );
    match result {
        Ok(outcome) => qemu::exit(outcome.passed),
        Err(e) => {
            defmt::error!("the tiny program stopped: {}", e);
            qemu::exit(false)
        }
    }
}
