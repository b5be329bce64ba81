//! The benchmark program's protocol: the events `cargo xtask bench-mcu` parses, and
//! counted regions that line up with the exact-count plugin's numbering.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::cell::Cell;

use microprop::Activation;
use microprop_app::bench::{self, Meter, StepNet};
use microprop_app::{BenchEvent, Cycles, Sink};

/// A counter that ticks once per reading, and counts the region markers it is given.
struct Probe<'a> {
    ticks: u32,
    starts: &'a Cell<u32>,
    open: &'a Cell<bool>,
}

impl Cycles for Probe<'_> {
    fn now(&mut self) -> u32 {
        self.ticks += 1;
        self.ticks
    }
}

impl Meter for Probe<'_> {
    fn region_start(&mut self) {
        assert!(!self.open.get(), "regions do not nest");
        self.open.set(true);
        self.starts.set(self.starts.get() + 1);
    }
    fn region_stop(&mut self) {
        assert!(self.open.get(), "a stop without a start");
        self.open.set(false);
    }
}

/// Records each event with the number of regions started before it.
struct Log<'a> {
    starts: &'a Cell<u32>,
    open: &'a Cell<bool>,
    events: Vec<(u32, BenchEvent)>,
}

impl Sink<BenchEvent> for Log<'_> {
    fn event(&mut self, e: &BenchEvent) {
        assert!(!self.open.get(), "logged inside a counted region: {e}");
        self.events.push((self.starts.get(), *e));
    }
}

#[test]
fn regions_are_numbered_as_the_plugin_counts_them() {
    let (starts, open) = (Cell::new(0), Cell::new(false));
    let mut probe = Probe {
        ticks: 0,
        starts: &starts,
        open: &open,
    };
    let mut log = Log {
        starts: &starts,
        open: &open,
        events: Vec::new(),
    };
    bench::run(&mut probe, &mut log).unwrap();
    let events = &log.events;
    // Region 0 is the markers alone, logged right after them.
    assert_eq!(events[0], (1, BenchEvent::Calibration));
    assert_eq!(events.last().unwrap().1, BenchEvent::Done);
    // The plugin numbers regions by their start, from 0: region k is the (k+1)-th start,
    // and its line follows it, naming the step line that comes next.
    let mut regions = 0;
    for (i, (started, e)) in events.iter().enumerate() {
        if let BenchEvent::Region {
            index,
            net,
            backend,
        } = *e
        {
            assert_eq!(
                *started,
                index + 1,
                "region {index} logged after the wrong start"
            );
            let BenchEvent::Step {
                net: n, backend: b, ..
            } = events[i + 1].1
            else {
                panic!("region {index} is not followed by its step line");
            };
            assert_eq!((n, b), (net, backend));
            regions += 1;
        }
    }
    assert_eq!(regions, 2 * StepNet::ALL.len());
    assert_eq!(starts.get(), 1 + 2 * StepNet::ALL.len() as u32);
    let acts = events
        .iter()
        .filter(|(_, e)| matches!(e, BenchEvent::Activation { .. }))
        .count();
    assert_eq!(acts, 2 * Activation::ALL.len());
    // Every timed part reads the counter on both sides (one tick per reading here).
    for (_, e) in events {
        match *e {
            BenchEvent::Activation {
                fwd, bwd, fill, n, ..
            } => {
                assert_eq!((fwd, bwd, fill), (1, 1, 1));
                assert_eq!(n as usize, bench::REPS * bench::SWEEP);
            }
            BenchEvent::Step {
                total,
                steps,
                fwd,
                sample,
                n,
                ..
            } => {
                assert_eq!((total, fwd, sample), (1, 1, 1));
                assert_eq!(steps as usize, bench::STEPS);
                assert_eq!(n as usize, bench::PARTS);
            }
            _ => {}
        }
    }
}

#[test]
fn lines_keep_the_words_xtask_parses() {
    let e = BenchEvent::Step {
        net: StepNet::N1,
        backend: "libm",
        total: 3123,
        steps: 512,
        fwd: 1951,
        sample: 2731,
        n: 64,
        hash: 0x151f_9141_e6f2_ae5c,
    };
    assert_eq!(
        e.to_string(),
        "step N1 2-16-1 sigmoid libm total 3123 steps 512 fwd 1951 sample 2731 n 64 \
         hash 151f9141e6f2ae5c"
    );
    let e = BenchEvent::Activation {
        act: Activation::LeakyRelu(0.01),
        backend: "micromath",
        fwd: 192,
        bwd: 454,
        fill: 14,
        n: 1024,
    };
    assert_eq!(
        e.to_string(),
        "act leaky-relu micromath fwd 192 bwd 454 fill 14 n 1024"
    );
    let e = BenchEvent::Region {
        index: 3,
        net: StepNet::N2Relu,
        backend: "libm",
    };
    assert_eq!(e.to_string(), "region 3 N2 2-32-32-1 relu libm");
    assert_eq!(
        BenchEvent::Calibration.to_string(),
        "region 0 calibration -"
    );
    assert_eq!(BenchEvent::Done.to_string(), "bench done");
}
