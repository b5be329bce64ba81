//! The training demo on a real STM32F411 board (WeAct Black Pill: LED on PC13, active
//! low). The clock comes from the internal 16 MHz oscillator through the PLL (100 MHz), so
//! the image also runs on a Nucleo-F411RE (whose user LED is on PA5: it will not blink).
//! Logs over defmt-RTT; flash and watch with
//! `cargo run --release --no-default-features --features f411 --bin train-f411`
//! (runner: `probe-rs run --chip STM32F411CEUx`, see README.md).
#![no_std]
#![no_main]

use core::convert::Infallible;

use cortex_m::peripheral::DWT;
use cortex_m_rt::entry;
use defmt_rtt as _; // the global defmt logger: RTT, read by probe-rs
use embedded_hal::digital::{ErrorType, OutputPin};
use microprop_app::{run, Board, Config, Cycles};
use microprop_firmware::{sink::DefmtSink, stack};
use stm32f4xx_hal::{pac, prelude::*, rcc::Config as RccConfig};

/// The core clock the demo runs at.
const SYSCLK_MHZ: u32 = 100;

/// DWT `CYCCNT`: real core cycles (it works on silicon; QEMU does not model it).
struct CycleCounter;
impl Cycles for CycleCounter {
    fn now(&mut self) -> u32 {
        DWT::cycle_count()
    }
}

/// The Black Pill's LED is wired to 3.3 V: driving PC13 low lights it.
struct ActiveLow<P>(P);
impl<P: OutputPin<Error = Infallible>> ErrorType for ActiveLow<P> {
    type Error = Infallible;
}
impl<P: OutputPin<Error = Infallible>> OutputPin for ActiveLow<P> {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.0.set_high()
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        self.0.set_low()
    }
}

#[entry]
fn main() -> ! {
    let (Some(dp), Some(mut cp)) = (pac::Peripherals::take(), cortex_m::Peripherals::take()) else {
        halt()
    };
    let mut rcc = dp.RCC.freeze(RccConfig::hsi().sysclk(SYSCLK_MHZ.MHz()));
    cp.DCB.enable_trace();
    cp.DWT.enable_cycle_counter();
    let gpioc = dp.GPIOC.split(&mut rcc);
    let mut board = Board {
        led: ActiveLow(gpioc.pc13.into_push_pull_output()),
        delay: cp.SYST.delay(&rcc.clocks),
        cycles: CycleCounter,
    };
    defmt::info!(
        "board: STM32F411 at {=u32} MHz (ticks are core cycles)",
        SYSCLK_MHZ
    );
    let result = run(&Config::default(), &mut board, &mut DefmtSink);
    let (used, size) = stack::high_water();
    defmt::info!("stack high-water mark: {=u32} of {=u32} B", used, size);
    match result {
        Ok(outcome) if outcome.passed => {
            defmt::info!("done: LED stays on (press Ctrl-C to stop probe-rs)");
            let _ = board.led.set_high();
        }
        Ok(_) => {
            defmt::error!("the ReLU net missed the bar: LED blinks fast");
            loop {
                let _ = board.blink(1, 50);
            }
        }
        Err(e) => defmt::error!("the demo stopped: {}", e),
    }
    halt()
}

fn halt() -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    match info.location() {
        Some(l) => defmt::error!("panicked at {=str}:{=u32}", l.file(), l.line()),
        None => defmt::error!("panicked"),
    }
    halt()
}
