//! The emulated boards: mps2-an386 (M4F), mps2-an385 (M3), microbit (M0). Their status
//! LED, core clock, the semihosting exit and the panic handler.

use core::convert::Infallible;

use embedded_hal::digital::{ErrorType, OutputPin};

use defmt_semihosting as _; // the global defmt logger: frames go to the host's stdout

/// The core clock (SysTick's source): 25 MHz on mps2, 16 MHz on the micro:bit.
#[cfg(not(mcu = "m0"))]
pub const CORE_HZ: u32 = 25_000_000;
/// The core clock (SysTick's source): 25 MHz on mps2, 16 MHz on the micro:bit.
#[cfg(mcu = "m0")]
pub const CORE_HZ: u32 = 16_000_000;

/// The emulated machine's name.
#[cfg(mcu = "m4f")]
pub const MACHINE: &str = "mps2-an386 (Cortex-M4F)";
/// The emulated machine's name.
#[cfg(mcu = "m3")]
pub const MACHINE: &str = "mps2-an385 (Cortex-M3)";
/// The emulated machine's name.
#[cfg(mcu = "m0")]
pub const MACHINE: &str = "microbit (Cortex-M0)";

/// The core the image is built for.
#[cfg(mcu = "m4f")]
pub const CORE: &str = "Cortex-M4F (thumbv7em-none-eabihf)";
/// The core the image is built for.
#[cfg(mcu = "m3")]
pub const CORE: &str = "Cortex-M3 (thumbv7m-none-eabi)";
/// The core the image is built for.
#[cfg(mcu = "m0")]
pub const CORE: &str = "Cortex-M0 (thumbv6m-none-eabi)";

/// The status LED: LED0 of the mps2 FPGA I/O block, or the micro:bit's top-left matrix
/// LED (row 1 = P0.13 high, column 1 = P0.04 low).
#[derive(Debug)]
pub struct Led {
    _private: (),
}

#[cfg(not(mcu = "m0"))]
mod regs {
    /// FPGAIO LED register (bit 0 = LED0).
    pub const LED: usize = 0x4002_8000;
}
#[cfg(mcu = "m0")]
mod regs {
    /// nRF51 GPIO OUTSET / OUTCLR / DIRSET.
    pub const OUTSET: usize = 0x5000_0508;
    pub const OUTCLR: usize = 0x5000_050C;
    pub const DIRSET: usize = 0x5000_0518;
    pub const ROW1: u32 = 1 << 13;
    pub const COL1: u32 = 1 << 4;
}

fn write(addr: usize, value: u32) {
    // SAFETY: `addr` is one of the board's memory-mapped GPIO/LED registers above (a
    // plain write-only effect on an output pin); this crate owns them.
    unsafe { core::ptr::write_volatile(addr as *mut u32, value) }
}

impl Led {
    /// Configures the pin as an output, LED off.
    pub fn new() -> Self {
        #[cfg(mcu = "m0")]
        {
            write(regs::DIRSET, regs::ROW1 | regs::COL1);
            write(regs::OUTCLR, regs::ROW1 | regs::COL1);
        }
        #[cfg(not(mcu = "m0"))]
        write(regs::LED, 0);
        Led { _private: () }
    }
}

impl Default for Led {
    fn default() -> Self {
        Self::new()
    }
}

impl ErrorType for Led {
    type Error = Infallible;
}

impl OutputPin for Led {
    fn set_low(&mut self) -> Result<(), Infallible> {
        #[cfg(mcu = "m0")]
        write(regs::OUTCLR, regs::ROW1);
        #[cfg(not(mcu = "m0"))]
        write(regs::LED, 0);
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        #[cfg(mcu = "m0")]
        write(regs::OUTSET, regs::ROW1);
        #[cfg(not(mcu = "m0"))]
        write(regs::LED, 1);
        Ok(())
    }
}

/// Ends the emulation: QEMU exits with 0 for `success`, 1 otherwise.
pub fn exit(success: bool) -> ! {
    let status = if success {
        cortex_m_semihosting::debug::EXIT_SUCCESS
    } else {
        cortex_m_semihosting::debug::EXIT_FAILURE
    };
    loop {
        cortex_m_semihosting::debug::exit(status);
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    match info.location() {
        Some(l) => defmt::error!("panicked at {=str}:{=u32}", l.file(), l.line()),
        None => defmt::error!("panicked"),
    }
    exit(false)
}

#[cortex_m_rt::exception]
unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
    defmt::error!("hard fault at pc {=u32:#010x}", frame.pc());
    exit(false)
}
