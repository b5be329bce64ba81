//! A 32-bit cycle counter from the 24-bit SysTick: the counter runs from the core clock,
//! reloads at 2²⁴ and an exception counts the wraps.
//!
//! On a board it counts core cycles. Under QEMU with `-icount shift=0` virtual time
//! advances 1 ns per instruction, so it counts instructions: 1 tick = 40 instructions on
//! mps2 (25 MHz), 62.5 on microbit (16 MHz). (QEMU does not model DWT `CYCCNT`.)

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::{syst::SystClkSource, SYST};
use cortex_m_rt::exception;
use microprop_app::Cycles;

const RELOAD: u32 = 0x00FF_FFFF;
static WRAPS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    // Only this handler writes WRAPS (load/store exist on every core, even the M0).
    WRAPS.store(
        WRAPS.load(Ordering::Relaxed).wrapping_add(1),
        Ordering::Relaxed,
    );
}

/// The running SysTick counter.
pub struct SysTickCounter {
    _syst: SYST,
}

impl SysTickCounter {
    /// Starts SysTick from the core clock, with the wrap exception enabled.
    pub fn start(mut syst: SYST) -> Self {
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(RELOAD);
        syst.clear_current();
        syst.enable_interrupt();
        syst.enable_counter();
        SysTickCounter { _syst: syst }
    }
}

impl Cycles for SysTickCounter {
    fn now(&mut self) -> u32 {
        loop {
            let hi = WRAPS.load(Ordering::Relaxed);
            let down = SYST::get_current();
            if WRAPS.load(Ordering::Relaxed) == hi {
                return (hi << 24) | (RELOAD - down);
            }
        }
    }
}
