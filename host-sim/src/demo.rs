//! `demo`: the firmware's training application ([`microprop_app::run`]) on the host, with
//! simulated board parts: an LED that records its switches, a delay that sleeps, and a
//! cycle counter read from the host clock. It prints the same log lines as the firmware
//! (each event's `Display`), so `microprop-sim demo` and the decoded device log compare
//! line by line; only the `trained in` timing lines differ by platform.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use microprop_app::{run as app_run, Board, Config, Cycles, Event, NetId, Sink};
use serde_json::json;

use crate::{
    cli::DemoArgs,
    ctx::{check_failed, failure, print_line, ErrorKind},
    stats::hex16,
    Ctx, Output, Res,
};

/// A simulated LED: remembers its state and counts switches.
#[derive(Debug, Default)]
pub struct SimLed {
    /// Lit now.
    pub on: bool,
    /// Times it was switched on.
    pub blinks: u32,
}

impl embedded_hal::digital::ErrorType for SimLed {
    type Error = Infallible;
}

impl embedded_hal::digital::OutputPin for SimLed {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.on = false;
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        if !self.on {
            self.blinks += 1;
        }
        self.on = true;
        Ok(())
    }
}

/// A delay that sleeps the host thread (or only counts, when `real` is false).
#[derive(Debug, Default)]
pub struct SimDelay {
    /// Sleep for real.
    pub real: bool,
    /// Total delay asked for.
    pub total_ns: u64,
}

impl embedded_hal::delay::DelayNs for SimDelay {
    fn delay_ns(&mut self, ns: u32) {
        self.total_ns += u64::from(ns);
        if self.real {
            std::thread::sleep(Duration::from_nanos(u64::from(ns)));
        }
    }
}

/// A cycle counter from the host clock: nanoseconds since start × `mhz` / 1000, wrapping
/// at 32 bits like a DWT CYCCNT.
#[derive(Debug)]
pub struct HostCycles {
    start: Instant,
    /// Simulated core clock in MHz.
    pub mhz: u64,
}

impl HostCycles {
    /// A counter starting now at `mhz`.
    pub fn new(mhz: u64) -> Self {
        HostCycles {
            start: Instant::now(),
            mhz,
        }
    }
}

impl Cycles for HostCycles {
    fn now(&mut self) -> u32 {
        let ns = self.start.elapsed().as_nanos() as u64;
        (ns.wrapping_mul(self.mhz) / 1000) as u32
    }
}

/// Collects the lines (and prints them as they come in text mode).
struct Lines {
    print: bool,
    lines: Vec<String>,
    hashes: Vec<(NetId, u64)>,
}

impl Sink for Lines {
    fn event(&mut self, e: &Event) {
        let line = e.to_string();
        if self.print {
            print_line(&line);
        }
        if let Event::Hash { net, hash } = *e {
            self.hashes.push((net, hash));
        }
        self.lines.push(line);
    }
}

/// `microprop-sim demo`.
pub fn run(a: &DemoArgs, ctx: &Ctx) -> Res<Output> {
    let mut config = Config::default();
    if let Some(seed) = a.seed {
        config.seed = seed;
    }
    let mut board = Board {
        led: SimLed::default(),
        delay: SimDelay {
            real: !a.no_delay,
            total_ns: 0,
        },
        cycles: HostCycles::new(u64::from(a.clock_mhz)),
    };
    let mut sink = Lines {
        print: !ctx.json,
        lines: Vec::new(),
        hashes: Vec::new(),
    };
    let t = Instant::now();
    let outcome = app_run(&config, &mut board, &mut sink)
        .map_err(|e| failure(ErrorKind::of_app(&e), format!("demo: {e}")))?;
    let wall = t.elapsed();
    let hashes: serde_json::Map<String, serde_json::Value> = sink
        .hashes
        .iter()
        .map(|(n, h)| (n.name().to_string(), json!(hex16(*h))))
        .collect();
    let json = json!({
        "seed": config.seed,
        "passed": outcome.passed,
        "relu_accuracy_permille": outcome.relu_accuracy.permille(),
        "accuracy_permille": NetId::ALL
            .iter()
            .zip(outcome.accuracies)
            .map(|(n, a)| (n.name().to_string(), json!(a.permille())))
            .collect::<serde_json::Map<_, _>>(),
        "weights_hash": hashes,
        "led_switched_on": board.led.blinks,
        "led_on": board.led.on,
        "delay_ms": board.delay.total_ns as f64 / 1e6,
        "wall_ms": wall.as_secs_f64() * 1e3,
        "lines": sink.lines,
    });
    // Lines were printed as they came; the text output only adds the board's summary.
    let text = format!(
        "board (simulated): LED switched on {} times, delays {:.0} ms, wall {:.0} ms, {} MHz cycle counter\n",
        board.led.blinks,
        board.delay.total_ns as f64 / 1e6,
        wall.as_secs_f64() * 1e3,
        a.clock_mhz
    );
    if outcome.passed {
        Ok(Output { json, text })
    } else {
        // The output still tells the whole story; the error's kind and the exit code say
        // it failed.
        check_failed(
            "demo: the ReLU net or the batch-norm net missed its accuracy bar",
            Output { json, text },
        )
    }
}
