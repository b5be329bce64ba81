//! The fine-tuning program's log checks (issue 15): the committed transcript, the host
//! run, the device logs.
//!
//! * The transcript [`TRANSCRIPT`] (`firmware/expected/finetune.log`) holds the program's
//!   deterministic lines (every line but the two `... trained in N ticks` timings) for
//!   `finetune::Config::default()` and the embedded `microprop_app::iris_model::NET`: the
//!   embedded model's outputs as `f32` bits, every epoch's loss and accuracies, the
//!   weights hashes and the verdict.
//! * [`host`] runs the program in this process: it must pass (the fine-tuned model
//!   reaches the bar and beats the embedded one) and its lines must equal the transcript
//!   (`--bless`: they rewrite it).
//! * [`check_device`] checks a QEMU run of the `finetune` image: exit 0, its lines without
//!   the board, timing and stack lines equal to the transcript, as many timing lines as on
//!   the host, and the stack high-water mark within [`STACK_BUDGET`] (the M0's 16 KiB of
//!   RAM).
//!
//! The transcript and device checks are the shared ones of [`crate::transcript`]
//! ([`PROGRAM`]).

use microprop_app::finetune::{self, Config, FinetuneEvent, Run};
use microprop_app::{Cycles, Sink};

use crate::firmware::{Core, QemuRun};
use crate::transcript::{Program, STACK_BUDGET};
use crate::util::Snapshot;

/// The committed transcript, relative to the workspace root.
pub const TRANSCRIPT: &str = "firmware/expected/finetune.log";

/// The fine-tuning program, as the shared transcript and device checks see it; its stack
/// budget is what `memory/microbit-m0.x` keeps free for the stack of the M0's 16 KiB (the
/// demo's budget, too).
pub const PROGRAM: Program = Program {
    name: "finetune",
    transcript: TRANSCRIPT,
    exits_0_when: "the fine-tuned model reaches the bar and beats the embedded one",
    platform_lines: "timing lines (`... trained in N ticks`)",
    is_platform_line: is_timing,
    stack_budget: STACK_BUDGET,
};

/// What the devices must reproduce.
#[derive(Clone, Debug)]
pub struct Expected {
    /// The deterministic lines, in order.
    pub lines: Vec<String>,
    /// How many platform-specific (timing) lines the program prints besides.
    pub timings: usize,
    /// The verdict line's text (for the summary).
    pub verdict: String,
}

struct Count(u32);
impl Cycles for Count {
    fn now(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(1);
        self.0
    }
}

struct Keep(Vec<FinetuneEvent>);
impl Sink<FinetuneEvent> for Keep {
    fn event(&mut self, e: &FinetuneEvent) {
        self.0.push(*e);
    }
}

/// Runs the program on the host and checks it passed; compares its deterministic lines
/// with [`TRANSCRIPT`] or rewrites it from them.
pub fn host(mode: Snapshot) -> Result<Expected, String> {
    let mut sink = Keep(Vec::new());
    let outcome = finetune::run(
        &Config::default(),
        &microprop_app::iris_model::NET,
        &mut Count(0),
        &mut sink,
    )
    .map_err(|e| format!("the fine-tuning program stopped on the host: {e}"))?;
    let (lines, timings) = PROGRAM.host_lines(&sink.0, FinetuneEvent::is_deterministic)?;
    let verdict = lines.last().cloned().unwrap_or_default();
    if !outcome.passed {
        return Err(format!(
            "the host run of the fine-tuning program failed its check: {verdict}{}",
            if mode == Snapshot::Bless {
                "; not blessing a failing transcript"
            } else {
                ""
            }
        ));
    }
    PROGRAM.snapshot(&lines, mode)?;
    eprintln!(
        "  finetune on the host: {verdict}; {} lines identical to {TRANSCRIPT}",
        lines.len()
    );
    Ok(Expected {
        lines,
        timings,
        verdict,
    })
}

/// Checks the `finetune` image's run on `core` against `expected`.
pub fn check_device(core: &Core, run: &QemuRun, expected: &Expected) -> Result<(), String> {
    let summary = PROGRAM.check_device(core, run, &expected.lines, expected.timings)?;
    eprintln!(
        "  finetune on {}: exit 0; {} lines identical to {TRANSCRIPT} ({}); stack {}",
        core.name, summary.lines, expected.verdict, summary.stack
    );
    Ok(())
}

/// Whether `line` renders a `FinetuneEvent::Timing` (the one platform line).
fn is_timing(line: &str) -> bool {
    line.split_whitespace()
        .filter_map(|w| w.parse::<u32>().ok())
        .any(|ticks| {
            [Run::Finetune, Run::Scratch]
                .iter()
                .any(|&run| FinetuneEvent::Timing { run, ticks }.to_string() == line)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firmware::CORES;

    fn lines(s: &[&str]) -> Vec<String> {
        s.iter().map(|l| l.to_string()).collect()
    }

    fn device(app: &[String]) -> QemuRun {
        let mut log = vec!["board: microbit (Cortex-M0)".to_string()];
        log.extend(app.iter().cloned());
        for run in [Run::Finetune, Run::Scratch] {
            log.push(FinetuneEvent::Timing { run, ticks: 7 }.to_string());
        }
        log.push("stack high-water mark: 9764 of 16360 B".into());
        QemuRun {
            passed: true,
            lines: log,
        }
    }

    #[test]
    fn a_device_log_must_equal_the_transcript_without_its_platform_lines() {
        let core = CORES[2];
        let t = lines(&["a", "predict 1 -> class 0 [3f800000 0 0]", "result: PASS"]);
        let expected = Expected {
            lines: t.clone(),
            timings: 2,
            verdict: "result: PASS".into(),
        };
        assert_eq!(check_device(&core, &device(&t), &expected), Ok(()));
        let mut changed = device(&t);
        changed.lines[2] = "predict 1 -> class 0 [3f800001 0 0]".into();
        let e = check_device(&core, &changed, &expected).expect_err("differs");
        assert!(e.contains("3f800001") && e.contains("line 2"), "{e}");
        let mut deep = device(&t);
        let last = deep.lines.len() - 1;
        deep.lines[last] = format!("stack high-water mark: {} of 16360 B", STACK_BUDGET + 4);
        let e = check_device(&core, &deep, &expected).expect_err("stack");
        assert!(e.contains("exceeds"), "{e}");
        let mut failed = device(&t);
        failed.passed = false;
        assert!(check_device(&core, &failed, &expected).is_err());
    }

    #[test]
    fn timing_lines_are_recognised_by_rendering_them() {
        assert!(is_timing("fine-tune trained in 323361 ticks"));
        assert!(is_timing("from scratch trained in 5 ticks"));
        assert!(!is_timing(
            "fine-tune epoch 1: loss 0.1 train 96.0% test 88.0%"
        ));
    }
}
