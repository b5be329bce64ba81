//! The minimal trainer in fixed point (`microprop_app::tiny::q16`) on an emulated core:
//! N1 (2-16-1 sigmoid) in Q16.16 under the integer backend `FixedTable`, trained online
//! on the `tiny` program's generated two-cluster stream, its held-out accuracy logged
//! after every epoch, then the weights hash, the stack high-water mark and the RAM used:
//! integer training, so the log (the weights hash included) is the host's on every core.
//! Linked like the demo (`tiny-m0.x`'s 16 KiB of flash is too small for it so far).
//! `cargo run --release --features tiny-q16 --bin tiny-q16 --target thumbv6m-none-eabi`,
//! or `cargo xtask run --core m0 --program tiny --scalar q16`.
#![no_std]
#![no_main]

use core::mem::MaybeUninit;
use cortex_m as _; // the critical-section implementation defmt needs

use cortex_m_rt::entry;
use microprop_app::tiny::{q16 as tiny, Config, TinyEvent};
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
            TinyEvent::StartQ16 {
                seed,
                params,
                bytes,
            } => defmt::info!(
                "microprop tiny: N1 2-16-1 sigmoid in Q16.16 (q16-table), online SGD, seed {=u64}, {=u16} params, {=u32} B model+training buffers",
                seed,
                params,
                bytes
            ),
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
fn train(model: &mut tiny::Model) -> Result<microprop_app::tiny::Outcome, microprop_app::Error> {
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
            defmt::error!("the tiny-q16 program stopped: {}", e);
            qemu::exit(false)
        }
    }
}
