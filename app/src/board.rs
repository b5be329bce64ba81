//! What the application needs from a board: a status LED, a delay and a cycle counter.

use embedded_hal::{delay::DelayNs, digital::OutputPin};

/// A free-running counter (SysTick or DWT `CYCCNT` on a board; instruction-driven SysTick
/// under QEMU `-icount`; anything monotonic in the simulator). Wraps modulo 2³²; the app
/// only takes differences (`wrapping_sub`).
pub trait Cycles {
    /// The current count.
    fn now(&mut self) -> u32;
}

/// The board's peripherals, reached only through `embedded-hal` 1.0 traits and [`Cycles`].
#[derive(Debug)]
pub struct Board<P, D, C> {
    /// The status LED (blinked when training is done).
    pub led: P,
    /// A delay (for the blink).
    pub delay: D,
    /// The cycle counter (for the timing lines).
    pub cycles: C,
}

impl<P: OutputPin, D: DelayNs, C: Cycles> Board<P, D, C> {
    /// Blinks the LED `times` times, `period_ms` on and `period_ms` off, and leaves it on.
    ///
    /// # Errors
    /// [`crate::Error::Led`] if the pin refuses.
    pub fn blink(&mut self, times: u8, period_ms: u32) -> Result<(), crate::Error> {
        for _ in 0..times {
            self.led.set_high().map_err(|_| crate::Error::Led)?;
            self.delay.delay_ms(period_ms);
            self.led.set_low().map_err(|_| crate::Error::Led)?;
            self.delay.delay_ms(period_ms);
        }
        self.led.set_high().map_err(|_| crate::Error::Led)
    }
}
