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
use microprop_app::tiny::{self, Config, Outcome};
use microprop_firmware::{qemu, sink::DefmtSink, tiny_sink};

/// The model, built where it stays: in a `static` (`cortex_m::singleton!`), not on the
/// stack. `Training::default` stores its buffers and dense layers as constants, so this
/// is one store of zeros into the static (no temporaries); whatever a future model's
/// construction needs on the stack stays in this frame, gone before training starts.
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
