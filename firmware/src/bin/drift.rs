//! Learning that continues on the device (`microprop_app::drift`) on an emulated core:
//! a drifting stream learnt online with a replay buffer beside a frozen copy, with a
//! checkpoint every 250 samples into 16 KiB of flash (mps2's flash-RAM on the M4F and
//! M3, the nRF51's flash through its NVMC on the M0). On every boot it resumes from the
//! newest complete checkpoint; `tools/power-cut-drift.sh` cuts it under QEMU.
#![no_std]
#![no_main]

use cortex_m as _; // the critical-section implementation defmt needs
use cortex_m_rt::entry;
use microprop_app::drift::{self, Config};
#[cfg(not(mcu = "m0"))]
use microprop_firmware::flash::RegionFlash as Flash;
#[cfg(mcu = "m0")]
use microprop_firmware::nvmc::NvmcFlash as Flash;
use microprop_firmware::{qemu, sink::DefmtSink, stack};

#[entry]
fn main() -> ! {
    defmt::info!("board: {=str}", qemu::MACHINE);
    let config = Config::default();
    let result = drift::run(&config, config.stream(), Flash, &mut DefmtSink);
    let (used, size) = stack::high_water();
    defmt::info!("stack high-water mark: {=u32} of {=u32} B", used, size);
    match result {
        Ok(o) => qemu::exit(o.online.permille() >= o.frozen.permille() + 200),
        Err(e) => {
            defmt::error!("the drift program stopped: {}", e);
            qemu::exit(false)
        }
    }
}
