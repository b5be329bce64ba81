//! The training demo's log checks: the committed transcript, the host run, the device
//! logs.
//!
//! * The transcript [`TRANSCRIPT`] (`firmware/expected/train.log`) holds the demo's
//!   deterministic lines ([`Event::is_deterministic`]: every line but the `... trained in
//!   N ticks` timings) for `Config::default()`, the configuration the firmware runs.
//! * [`host`] runs the demo on the host, in this process, with the typed events of
//!   `microprop_app::run`: the ReLU net and the batch-norm net must reach the
//!   configuration's bar (`Config::bar_permille`), and its deterministic lines must equal
//!   the transcript; with `--bless` they rewrite it instead.
//! * [`check_device`] checks a QEMU run of the demo: exit 0 (the firmware exits 0 only
//!   when the demo reaches the bar), its log without the platform lines equal to the
//!   transcript, as many timing lines as on the host, and the stack high-water mark within
//!   [`STACK_BUDGET`].
//!
//! The transcript and device checks are the shared ones of [`crate::transcript`]
//! ([`PROGRAM`]): a difference names the first differing line with both versions, and
//! says whether `--bless` is the fix.

use core::convert::Infallible;

use microprop_app::number::Percent;
use microprop_app::{Board, Config, Cycles, Event, NetId, Sink};

use crate::firmware::{Core, QemuRun};
use crate::transcript::{Program, STACK_BUDGET};
use crate::util::Snapshot;

/// The committed transcript, relative to the workspace root.
pub const TRANSCRIPT: &str = "firmware/expected/train.log";

/// The demo, as the shared transcript and device checks see it; its stack budget is
/// [`STACK_BUDGET`] (README, "On the microcontroller").
pub const PROGRAM: Program = Program {
    name: "demo",
    transcript: TRANSCRIPT,
    exits_0_when: "the demo reaches the bar",
    platform_lines: "timing lines (`... trained in N ticks`)",
    is_platform_line,
    stack_budget: STACK_BUDGET,
};

/// What the devices must reproduce: the transcript, checked against the host run.
#[derive(Clone, Debug)]
pub struct Expected {
    /// The deterministic lines, in order (the transcript's lines).
    pub lines: Vec<String>,
    /// How many platform-specific (timing) lines the demo prints besides.
    pub timings: usize,
    /// The ReLU net's final accuracy on the host.
    pub accuracy: Percent,
    /// The bar it had to reach (`Config::bar_permille`).
    pub bar: Percent,
}

/// Runs the demo on the host, checks its verdict against the configuration's bar, and
/// compares its deterministic lines with [`TRANSCRIPT`] ([`Snapshot::Check`]) or rewrites
/// the transcript from them ([`Snapshot::Bless`]).
pub fn host(mode: Snapshot) -> Result<Expected, String> {
    let config = Config::default();
    let (events, passed) = run_on_host(&config)?;
    let bar = Percent::from_permille(config.bar_permille);
    let verdicts: Vec<(Percent, Percent, bool)> = events
        .iter()
        .filter_map(|e| match *e {
            Event::Verdict { acc, bar, pass } => Some((acc, bar, pass)),
            _ => None,
        })
        .collect();
    let [(accuracy, logged_bar, pass)] = verdicts[..] else {
        return Err(format!(
            "the host run logged {} verdicts, expected one",
            verdicts.len()
        ));
    };
    if logged_bar != bar {
        return Err(format!(
            "the verdict logged a bar of {logged_bar}%, the configuration's is {bar}%"
        ));
    }
    if !(pass && passed && accuracy.permille() >= config.bar_permille) {
        return Err(format!(
            "the host run's ReLU net reached {accuracy}%, below the bar of {bar}% \
             (Config::bar_permille){}",
            if mode == Snapshot::Bless {
                "; not blessing a failing transcript"
            } else {
                ""
            }
        ));
    }
    let findings: Vec<(Percent, Percent, Percent, bool)> = events
        .iter()
        .filter_map(|e| match *e {
            Event::BatchNorm {
                without,
                with,
                bar,
                pass,
            } => Some((without, with, bar, pass)),
            _ => None,
        })
        .collect();
    let [(without, with, bn_bar, bn_pass)] = findings[..] else {
        return Err(format!(
            "the host run logged {} batch-norm findings, expected one",
            findings.len()
        ));
    };
    if !(bn_pass && bn_bar == bar && with.permille() >= config.bar_permille) {
        return Err(format!(
            "the host run's batch-norm net reached {with}% (the plain deep net {without}%), \
             below the bar of {bar}% (Config::bar_permille)"
        ));
    }
    // Every platform line must be one the device check recognises and skips.
    let (lines, timings) = PROGRAM.host_lines(&events, Event::is_deterministic)?;
    PROGRAM.snapshot(&lines, mode)?;
    eprintln!(
        "  host run: ReLU net {accuracy}%, 9-deep sigmoid net {without}% without batch norm \
         and {with}% with (bar {bar}%): PASS; {} lines identical to {TRANSCRIPT}",
        lines.len()
    );
    Ok(Expected {
        lines,
        timings,
        accuracy,
        bar,
    })
}

/// Checks the demo's run on `core` under QEMU against `expected` (from [`host`]).
pub fn check_device(core: &Core, run: &QemuRun, expected: &Expected) -> Result<(), String> {
    let summary = PROGRAM.check_device(core, run, &expected.lines, expected.timings)?;
    eprintln!(
        "  demo on {}: exit 0; ReLU net {}% (bar {}%); {} lines identical to {TRANSCRIPT}; \
         stack {}",
        core.name, expected.accuracy, expected.bar, summary.lines, summary.stack
    );
    Ok(())
}

/// Whether `line` is the text of a platform-specific event, i.e. one that
/// [`Event::is_deterministic`] excludes from the transcript: `Event::Timing` for some net
/// and tick count. Recognised by rendering the event, not by a pattern of its own, so the
/// text cannot drift from the app's `Display`.
fn is_platform_line(line: &str) -> bool {
    line.split_whitespace()
        .filter_map(|w| w.parse::<u32>().ok())
        .any(|ticks| {
            NetId::ALL
                .iter()
                .any(|&net| Event::Timing { net, ticks }.to_string() == line)
        })
}

/// Runs the demo with `config` on the host, returning its events and whether it passed.
fn run_on_host(config: &Config) -> Result<(Vec<Event>, bool), String> {
    let mut board = Board {
        led: NoPin,
        delay: NoDelay,
        cycles: Counter(0),
    };
    let mut sink = Collect(Vec::new());
    let outcome = microprop_app::run(config, &mut board, &mut sink)
        .map_err(|e| format!("the demo stopped on the host: {e}"))?;
    Ok((sink.0, outcome.passed))
}

/// The host's LED: nothing.
struct NoPin;
impl embedded_hal::digital::ErrorType for NoPin {
    type Error = Infallible;
}
impl embedded_hal::digital::OutputPin for NoPin {
    fn set_low(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

/// The host's delay: none.
struct NoDelay;
impl embedded_hal::delay::DelayNs for NoDelay {
    fn delay_ns(&mut self, _: u32) {}
}

/// The host's cycle counter: one tick per read (the timings are not in the transcript).
struct Counter(u32);
impl Cycles for Counter {
    fn now(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(1);
        self.0
    }
}

/// Keeps the events.
struct Collect(Vec<Event>);
impl Sink for Collect {
    fn event(&mut self, e: &Event) {
        self.0.push(*e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firmware::CORES;

    fn lines(s: &[&str]) -> Vec<String> {
        s.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn platform_lines_are_the_timings_only() {
        for net in NetId::ALL {
            assert!(is_platform_line(
                &Event::Timing {
                    net,
                    ticks: 177_925
                }
                .to_string()
            ));
        }
        assert!(!is_platform_line(
            "weights hash relu-2-16-16-1 14eb8e035db5cd8b"
        ));
        assert!(!is_platform_line("relu-2-16-16-1 trained in many ticks"));
    }

    fn good_run(lines: &[String]) -> QemuRun {
        let mut log = vec!["board: mps2-an386 (Cortex-M4F)".to_string()];
        log.extend(lines.iter().cloned());
        log.insert(
            3,
            Event::Timing {
                net: NetId::Relu,
                ticks: 5,
            }
            .to_string(),
        );
        log.push("stack high-water mark: 12144 of 131048 B".into());
        QemuRun {
            passed: true,
            lines: log,
        }
    }

    fn expected(lines: &[String]) -> Expected {
        Expected {
            lines: lines.to_vec(),
            timings: 1,
            accuracy: Percent::of(1, 1),
            bar: Percent::of(Config::default().bar_permille, 1000),
        }
    }

    #[test]
    fn device_log_without_platform_lines_must_equal_the_transcript() {
        let core = CORES[0];
        let t = lines(&["a", "b", "c", "result: PASS"]);
        assert_eq!(check_device(&core, &good_run(&t), &expected(&t)), Ok(()));

        let mut changed = good_run(&t);
        changed.lines[2] = "B".into();
        let e = check_device(&core, &changed, &expected(&t)).expect_err("differs");
        assert!(e.contains("`b`") && e.contains("`B`"), "{e}");
        assert!(e.contains("would not fix"), "{e}");

        let mut failed = good_run(&t);
        failed.passed = false;
        let e = check_device(&core, &failed, &expected(&t)).expect_err("exit 1");
        assert!(e.contains("did not exit with 0"), "{e}");

        let mut deep = good_run(&t);
        let last = deep.lines.len() - 1;
        deep.lines[last] = format!("stack high-water mark: {} of 131048 B", STACK_BUDGET + 4);
        let e = check_device(&core, &deep, &expected(&t)).expect_err("stack");
        assert!(e.contains("exceeds"), "{e}");
    }
}
