//! On-device fine-tuning (`microprop_app::finetune`) on an emulated core: the host-trained
//! iris model is a `static` in flash (`microprop_app::iris_model::NET`, exported from
//! `app/models/iris-host.mprp` by `microprop-sim export --rust`); the program logs its
//! outputs on fixed points (as `f32` bits), its accuracy on the device's miscalibrated
//! readings, fine-tunes a copy in RAM, trains the same net from scratch for comparison and
//! exits 0 if fine-tuning reached the bar. `cargo run --release --features finetune --bin
//! finetune` (M4F; `--target thumbv7m-none-eabi` for the M3, `--target thumbv6m-none-eabi
//! --features compact,finetune` for the M0), or `cargo xtask run --program finetune`.
#![no_std]
#![no_main]

use cortex_m as _; // the critical-section implementation defmt needs
use cortex_m_rt::entry;
use microprop_app::finetune::{self, Config};
use microprop_firmware::{counter::SysTickCounter, qemu, sink::DefmtSink, stack};

#[entry]
fn main() -> ! {
    let Some(cp) = cortex_m::Peripherals::take() else {
        qemu::exit(false)
    };
    defmt::info!("board: {=str}", qemu::MACHINE);
    let mut cycles = SysTickCounter::start(cp.SYST);
    let result = finetune::run(
        &Config::default(),
        &microprop_app::iris_model::NET,
        &mut cycles,
        &mut DefmtSink,
    );
    let (used, size) = stack::high_water();
    defmt::info!("stack high-water mark: {=u32} of {=u32} B", used, size);
    match result {
        Ok(outcome) => qemu::exit(outcome.passed),
        Err(e) => {
            defmt::error!("the fine-tuning program stopped: {}", e);
            qemu::exit(false)
        }
    }
}
