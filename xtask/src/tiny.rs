//! The minimal trainer's log checks (issue 11): the committed transcript, the host run,
//! the M0's log.
//!
//! * The transcript [`TRANSCRIPT`] (`firmware/expected/tiny.log`) holds every line of
//!   `microprop_app::tiny::run` for `tiny::Config::default()`: the held-out accuracy of
//!   every epoch, the weights hash and the verdict (the program has no timing lines).
//! * [`host`] runs it in this process: it must pass (≥ the bar after the configured
//!   epochs) and its lines must equal the transcript (`--bless`: they rewrite it).
//! * [`check_device`] checks the `tiny` image's QEMU run with the shared check of
//!   [`crate::transcript`]: exit 0, the app lines equal to the host's (so the same
//!   accuracies and the same weights hash), the stack within [`STACK_CEILING`]; and the
//!   firmware's `RAM used: ...` line (static data + stack high-water mark) within
//!   [`RAM_CEILING`].
//! * The fixed-point variant (`tiny::q16`, image `tiny-q16`) the same way against
//!   [`TRANSCRIPT_Q16`] (`firmware/expected/tiny-q16.log`) with [`host_q16`] and
//!   [`check_device_q16`], on every core: integer training, so any difference from the
//!   host's lines (the weights hash included) is a bug.

use microprop_app::tiny::{self, Config, TinyEvent};
use microprop_app::Sink;

use crate::firmware::{Core, QemuRun};
use crate::transcript::Program;
use crate::util::Snapshot;

/// The committed transcript, relative to the workspace root.
pub const TRANSCRIPT: &str = "firmware/expected/tiny.log";

/// The firmware's RAM line (`firmware/src/bin/tiny.rs`): `RAM used: {total} B ({static} B
/// static + {stack} B stack)`.
const RAM_PREFIX: &str = "RAM used: ";

/// What the image may use, static data and stack together: the bar, 1.5 KiB on
/// the M0 (measured 1,484 B: 712 B static, a 772 B stack peak; the model is built in place
/// from the core's constant zeroed buffers).
pub const RAM_CEILING: u32 = 1_536;

/// The stack part of [`RAM_CEILING`] (the model is a `static`: 712 B of static data).
pub const STACK_CEILING: u32 = RAM_CEILING - 712;

/// The fixed-point variant's committed transcript, relative to the workspace root.
pub const TRANSCRIPT_Q16: &str = "firmware/expected/tiny-q16.log";

/// The fixed-point variant's RAM ceiling, static data and stack together: the f32
/// program's [`RAM_CEILING`] (measured 1,508 B on the M0).
pub const RAM_CEILING_Q16: u32 = RAM_CEILING;

/// The fixed-point variant, as the shared checks see it (as [`PROGRAM`]).
pub const PROGRAM_Q16: Program = Program {
    name: "tiny-q16",
    transcript: TRANSCRIPT_Q16,
    exits_0_when: "N1 in Q16 reaches the bar",
    platform_lines: "RAM lines (`RAM used: ...`)",
    is_platform_line: |line| line.starts_with(RAM_PREFIX),
    stack_budget: STACK_CEILING,
};

/// The minimal trainer, as the shared transcript and device checks see it: its only
/// platform line is the firmware's RAM line.
pub const PROGRAM: Program = Program {
    name: "tiny",
    transcript: TRANSCRIPT,
    exits_0_when: "N1 reaches the bar",
    platform_lines: "RAM lines (`RAM used: ...`)",
    is_platform_line: |line| line.starts_with(RAM_PREFIX),
    stack_budget: STACK_CEILING,
};

/// What the device must reproduce.
#[derive(Clone, Debug)]
pub struct Expected {
    /// The program's lines, in order.
    pub lines: Vec<String>,
    /// The verdict line (for the summary).
    pub verdict: String,
}

struct Keep(Vec<TinyEvent>);
impl Sink<TinyEvent> for Keep {
    fn event(&mut self, e: &TinyEvent) {
        self.0.push(*e);
    }
}

/// Runs the program on the host and checks that it passed; compares its lines with
/// [`TRANSCRIPT`] or rewrites it from them.
pub fn host(mode: Snapshot) -> Result<Expected, String> {
    let mut sink = Keep(Vec::new());
    let mut model = tiny::Model::default();
    let outcome = tiny::run(&Config::default(), &mut model, &mut sink)
        .map_err(|e| format!("the tiny program stopped on the host: {e}"))?;
    check_host(&PROGRAM, &sink.0, outcome, mode)
}

/// [`host`] for the fixed-point variant (`tiny::q16::run`) and [`TRANSCRIPT_Q16`].
pub fn host_q16(mode: Snapshot) -> Result<Expected, String> {
    let mut sink = Keep(Vec::new());
    let mut model = tiny::q16::Model::default();
    let outcome = tiny::q16::run(&Config::default(), &mut model, &mut sink)
        .map_err(|e| format!("the tiny-q16 program stopped on the host: {e}"))?;
    check_host(&PROGRAM_Q16, &sink.0, outcome, mode)
}

/// The host run's lines against (or blessed into) `program`'s transcript.
fn check_host(
    program: &Program,
    events: &[TinyEvent],
    outcome: tiny::Outcome,
    mode: Snapshot,
) -> Result<Expected, String> {
    let name = program.name;
    let transcript = program.transcript;
    let (lines, _) = program.host_lines(events, |_| true)?;
    let verdict = lines.last().cloned().unwrap_or_default();
    if !outcome.passed {
        return Err(format!(
            "the host run of the {name} program failed its bar: {verdict}{}",
            if mode == Snapshot::Bless {
                "; not blessing a failing transcript"
            } else {
                ""
            }
        ));
    }
    program.snapshot(&lines, mode)?;
    eprintln!(
        "  {name} on the host: {verdict}; {} lines identical to {transcript}",
        lines.len()
    );
    Ok(Expected { lines, verdict })
}

/// Checks the `tiny` image's run on `core` against `expected`, and its RAM line against
/// [`RAM_CEILING`].
pub fn check_device(core: &Core, run: &QemuRun, expected: &Expected) -> Result<(), String> {
    check_program(&PROGRAM, RAM_CEILING, core, run, expected)
}

/// [`check_device`] for the `tiny-q16` image (against [`RAM_CEILING_Q16`]).
pub fn check_device_q16(core: &Core, run: &QemuRun, expected: &Expected) -> Result<(), String> {
    check_program(&PROGRAM_Q16, RAM_CEILING_Q16, core, run, expected)
}

/// `program`'s device check and its RAM line against `ceiling`.
fn check_program(
    program: &Program,
    ceiling: u32,
    core: &Core,
    run: &QemuRun,
    expected: &Expected,
) -> Result<(), String> {
    let (name, transcript) = (program.name, program.transcript);
    let summary = program.check_device(core, run, &expected.lines, 1)?;
    let ram = run
        .lines
        .iter()
        .find_map(|l| l.strip_prefix(RAM_PREFIX))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u32>().ok())
        .ok_or_else(|| format!("{name} on {}: no readable `{RAM_PREFIX}` line", core.name))?;
    if ram > ceiling {
        return Err(format!(
            "{name} on {}: {ram} B of RAM used (static + stack), above its {ceiling} B \
             ceiling",
            core.name
        ));
    }
    eprintln!(
        "  {name} on {}: exit 0; {} lines identical to {transcript} ({}); stack {}; RAM used \
         {ram} B (bar 1536 B)",
        core.name, summary.lines, expected.verdict, summary.stack
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firmware::CORES;

    fn device(app: &[String], ram: u32) -> QemuRun {
        let mut log = vec!["board: microbit (Cortex-M0)".to_string()];
        log.extend(app.iter().cloned());
        // The stack line within its budget; the RAM line as given.
        log.push("stack high-water mark: 772 of 2360 B".into());
        log.push(format!(
            "RAM used: {ram} B (712 B static + {} B stack)",
            ram.saturating_sub(712)
        ));
        QemuRun {
            passed: true,
            lines: log,
        }
    }

    #[test]
    fn the_host_run_passes_and_equals_the_transcript() {
        let expected = host(Snapshot::Check).expect("host run");
        assert!(expected.verdict.ends_with("PASS"), "{}", expected.verdict);
    }

    #[test]
    fn the_q16_host_run_passes_and_equals_its_transcript() {
        let expected = host_q16(Snapshot::Check).expect("host run");
        assert!(expected.verdict.ends_with("PASS"), "{}", expected.verdict);
        let f32_lines = host(Snapshot::Check).expect("host run").lines;
        // Its own program: another start line, other weights.
        assert_ne!(expected.lines.first(), f32_lines.first());
        assert_ne!(
            expected.lines.iter().rev().nth(1),
            f32_lines.iter().rev().nth(1)
        );
    }

    #[test]
    fn a_device_log_must_equal_the_host_lines_and_keep_to_the_ram_ceiling() {
        let core = CORES[2];
        let t: Vec<String> = ["epoch 1: loss 0.1 held-out acc 97.0%", "weights hash n1 00"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let expected = Expected {
            lines: t.clone(),
            verdict: String::new(),
        };
        assert_eq!(check_device(&core, &device(&t, 1484), &expected), Ok(()));
        let e = check_device(&core, &device(&t, RAM_CEILING + 1), &expected).expect_err("ram");
        assert!(e.contains("ceiling"), "{e}");
        let mut changed = device(&t, 1484);
        changed.lines[2] = "weights hash n1 01".into();
        let e = check_device(&core, &changed, &expected).expect_err("hash");
        assert!(e.contains("weights hash n1 01"), "{e}");
        let mut no_ram = device(&t, 1484);
        no_ram.lines.pop();
        assert!(check_device(&core, &no_ram, &expected).is_err());
    }
}
