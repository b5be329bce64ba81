//! Runs the demo on the host and prints its log lines (the same text the firmware's
//! decoded defmt log shows). Without the `... trained in N ticks` lines they are
//! `firmware/expected/train.log`, which `cargo xtask test` compares with the host run and
//! each emulated core's log.

use core::convert::Infallible;

use microprop_app::{run, Board, Config, Cycles, Event, Sink};

struct Pin;
impl embedded_hal::digital::ErrorType for Pin {
    type Error = Infallible;
}
impl embedded_hal::digital::OutputPin for Pin {
    fn set_low(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}
struct NoDelay;
impl embedded_hal::delay::DelayNs for NoDelay {
    fn delay_ns(&mut self, _: u32) {}
}
struct Counter(u32);
impl Cycles for Counter {
    fn now(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(1);
        self.0
    }
}
struct Print;
impl Sink for Print {
    fn event(&mut self, e: &Event) {
        println!("{e}");
    }
}

fn main() -> Result<(), microprop_app::Error> {
    let mut board = Board {
        led: Pin,
        delay: NoDelay,
        cycles: Counter(0),
    };
    let outcome = run(&Config::default(), &mut board, &mut Print)?;
    std::process::exit(if outcome.passed { 0 } else { 1 });
}
