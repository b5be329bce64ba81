//! The training demo on an emulated core (QEMU): `cargo run --release` (M4F by default;
//! `--target thumbv7m-none-eabi` for the M3, `thumbv6m-none-eabi` for the M0).
#![no_std]
#![no_main]

use cortex_m as _; // the critical-section implementation defmt needs
use cortex_m_rt::entry;
use microprop_app::{run, Board, Config};
use microprop_firmware::{counter::SysTickCounter, qemu, sink::DefmtSink, stack, AsmDelay};

#[entry]
fn main() -> ! {
    let Some(cp) = cortex_m::Peripherals::take() else {
        qemu::exit(false)
    };
    defmt::info!("board: {=str}", qemu::MACHINE);
    let mut board = Board {
        led: qemu::Led::new(),
        delay: AsmDelay::new(qemu::CORE_HZ),
        cycles: SysTickCounter::start(cp.SYST),
    };
    let result = run(&Config::default(), &mut board, &mut DefmtSink);
    let (used, size) = stack::high_water();
    defmt::info!("stack high-water mark: {=u32} of {=u32} B", used, size);
    match result {
        Ok(outcome) => qemu::exit(outcome.passed),
        Err(e) => {
            defmt::error!("the demo stopped: {}", e);
            qemu::exit(false)
        }
    }
}
