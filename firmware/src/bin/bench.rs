//! The cost benchmark (`microprop_app::bench`) on an emulated core (QEMU with
//! `-icount shift=0`, where SysTick counts instructions). `cargo xtask bench-mcu` runs it
//! on the M4F, M3 and M0, converts ticks to instructions and adds each backend's error.
//! The wiring: SysTick as the counter, and the two marker functions the exact-count plugin
//! (`tools/icount`) triggers on as the ends of each counted region.
//!
//! The training steps timed per net are fixed when the image is built: the environment
//! variable `MICROPROP_BENCH_STEPS` (decimal; `cargo xtask bench-mcu --epochs N` sets it
//! to N × 512, the full protocol is 51,200), else `bench::STEPS` (64: the short run of
//! the `cargo xtask test-firmware` smoke test). Cargo rebuilds the image when it changes.
#![no_std]
#![no_main]

use cortex_m as _;
use cortex_m_rt::entry;
use microprop_app::{bench, Cycles};
use microprop_firmware::{counter::SysTickCounter, qemu, sink::DefmtSink, stack};

/// Training steps timed per net: `MICROPROP_BENCH_STEPS` at build time, else
/// `bench::STEPS`.
const STEPS: usize = match option_env!("MICROPROP_BENCH_STEPS") {
    Some(s) => parse_steps(s),
    None => bench::STEPS,
};

/// A positive decimal number; anything else fails the build (a panic in a constant).
const fn parse_steps(s: &str) -> usize {
    let b = s.as_bytes();
    assert!(!b.is_empty(), "MICROPROP_BENCH_STEPS is empty");
    let mut n: usize = 0;
    let mut i = 0;
    while i < b.len() {
        let d = b[i];
        assert!(
            d.is_ascii_digit(),
            "MICROPROP_BENCH_STEPS is not a decimal number"
        );
        n = match n.checked_mul(10) {
            Some(m) => match m.checked_add((d - b'0') as usize) {
                Some(v) => v,
                None => panic!("MICROPROP_BENCH_STEPS is too large"),
            },
            None => panic!("MICROPROP_BENCH_STEPS is too large"),
        };
        i += 1;
    }
    assert!(n > 0, "MICROPROP_BENCH_STEPS must be at least 1");
    n
}

/// SysTick plus the plugin's markers.
struct Meter(SysTickCounter);

impl Cycles for Meter {
    fn now(&mut self) -> u32 {
        self.0.now()
    }
}

impl bench::Meter for Meter {
    fn region_start(&mut self) {
        microprop_mark_start();
    }
    fn region_stop(&mut self) {
        microprop_mark_stop();
    }
}

/// Start of a counted region for the exact instruction-count plugin
/// (`firmware/tools/icount`); a no-op otherwise.
#[no_mangle]
#[inline(never)]
pub extern "C" fn microprop_mark_start() {
    cortex_m::asm::nop();
}

/// End of a counted region (a different body, so the linker cannot merge the markers).
#[no_mangle]
#[inline(never)]
pub extern "C" fn microprop_mark_stop() {
    cortex_m::asm::nop();
    cortex_m::asm::nop();
}

#[entry]
fn main() -> ! {
    let Some(cp) = cortex_m::Peripherals::take() else {
        qemu::exit(false)
    };
    defmt::info!("bench for {=str}", qemu::CORE);
    let result = bench::run_with_q16(
        &mut Meter(SysTickCounter::start(cp.SYST)),
        &mut DefmtSink,
        STEPS,
    );
    let (used, size) = stack::high_water();
    defmt::info!("stack {=u32} of {=u32}", used, size);
    match result {
        Ok(()) => qemu::exit(true),
        Err(e) => {
            defmt::error!("the benchmark stopped: {}", e);
            qemu::exit(false)
        }
    }
}
