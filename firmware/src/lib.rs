//! Board support shared by the firmware binaries: the defmt log sink of the app's events,
//! a SysTick cycle counter, a busy-wait delay, the status LED of each emulated board, the
//! emulated boards' checkpoint flash, stack painting measurement and the semihosting exit.
#![no_std]

pub mod counter;
#[cfg(feature = "drift")]
pub mod drift_sink;
#[cfg(feature = "finetune")]
pub mod finetune_sink;
pub mod sink;
pub mod stack;
#[cfg(all(feature = "tiny", feature = "qemu"))]
pub mod tiny_sink;

#[cfg(feature = "qemu")]
pub mod flash;
#[cfg(all(feature = "qemu", mcu = "m0"))]
pub mod nvmc;
#[cfg(feature = "qemu")]
pub mod qemu;

use embedded_hal::delay::DelayNs;

/// A busy-wait delay: `cortex_m::asm::delay` at a known core clock.
#[derive(Clone, Copy, Debug)]
pub struct AsmDelay {
    hz: u32,
}

impl AsmDelay {
    /// A delay for a core clocked at `hz`.
    pub const fn new(hz: u32) -> Self {
        AsmDelay { hz }
    }
}

impl DelayNs for AsmDelay {
    fn delay_ns(&mut self, ns: u32) {
        let cycles = (u64::from(ns) * u64::from(self.hz) / 1_000_000_000) as u32;
        cortex_m::asm::delay(cycles.max(1));
    }
}
