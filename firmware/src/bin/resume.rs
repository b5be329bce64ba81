//! The checkpoint-and-resume program (`microprop_app::resume`) on the emulated M4F: trains
//! with a checkpoint after every epoch into 16 KiB of flash-RAM (`flash::RegionFlash`), and
//! on every boot resumes from the newest complete checkpoint. `tools/power-cut.sh` kills
//! QEMU part-way, saves the region's bytes, restarts QEMU with them, and checks that the
//! resumed run ends with the same weights as an uninterrupted one.
#![no_std]
#![no_main]

use cortex_m as _; // the critical-section implementation defmt needs
use cortex_m_rt::entry;
use microprop_app::resume::{self, Config};
use microprop_firmware::{flash::RegionFlash, qemu, sink::DefmtSink};

#[entry]
fn main() -> ! {
    match resume::run(&Config::default(), RegionFlash, &mut DefmtSink) {
        Ok(_) => qemu::exit(true),
        Err(e) => {
            defmt::error!("the resume program stopped: {}", e);
            qemu::exit(false)
        }
    }
}
