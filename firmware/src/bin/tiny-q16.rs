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
use microprop_app::tiny::{q16 as tiny, Config, Outcome};
use microprop_firmware::{qemu, sink::DefmtSink, tiny_sink};

/// The model, built where it stays: in a `static` (`cortex_m::singleton!`), not on the
/// stack; its construction's temporaries live in this frame, gone before training starts.
#[inline(never)]
fn fresh(slot: &'static mut MaybeUninit<tiny::Model>) -> &'static mut tiny::Model {
    slot.write(tiny::Model::default())
}

/// The program, in a frame of its own: `main`'s frame stays small, and this one starts
/// once `fresh`'s is gone (the two peaks do not add up).
#[inline(never)]
fn train(model: &mut tiny::Model) -> Result<Outcome, microprop_app::Error> {
    tiny::run(&Config::default(), model, &mut DefmtSink)
}

#[entry]
fn main() -> ! {
    defmt::info!("board: {=str}", qemu::MACHINE);
    let Some(slot) = cortex_m::singleton!(: MaybeUninit<tiny::Model> = MaybeUninit::uninit())
    else {
        qemu::exit(false)
    };
    let result = train(fresh(slot));
    tiny_sink::finish(result)
}
