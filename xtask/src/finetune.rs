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
//!   the board, timing and stack lines equal to the transcript, and the stack high-water
//!   mark within [`STACK_BUDGET`] (the M0's 16 KiB of RAM).

use std::path::PathBuf;

use microprop_app::finetune::{self, Config, FinetuneEvent, Run};
use microprop_app::{Cycles, Sink};

use crate::firmware::{Core, QemuRun};
use crate::util::{root, Snapshot};

/// The committed transcript, relative to the workspace root.
pub const TRANSCRIPT: &str = "firmware/expected/finetune.log";

/// The stack budget on every core: what `memory/microbit-m0.x` keeps free for the stack
/// of the M0's 16 KiB (the demo's budget, too).
pub const STACK_BUDGET: u32 = 14 * 1024;

const BOARD_PREFIX: &str = "board: ";
const STACK_PREFIX: &str = "stack high-water mark: ";

/// What the devices must reproduce.
#[derive(Clone, Debug)]
pub struct Expected {
    /// The deterministic lines, in order.
    pub lines: Vec<String>,
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
    let lines: Vec<String> = sink
        .0
        .iter()
        .filter(|e| e.is_deterministic())
        .map(FinetuneEvent::to_string)
        .collect();
    let verdict = lines.last().cloned().unwrap_or_default();
    if !outcome.passed {
        return Err(format!(
            "the host run of the fine-tuning program failed its check: {verdict}"
        ));
    }
    let path = transcript_path();
    let committed = std::fs::read_to_string(&path);
    let old: Vec<String> = committed
        .as_deref()
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    match mode {
        Snapshot::Bless if old != lines => {
            let mut text = lines.join("\n");
            text.push('\n');
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!(
                "  blessed {TRANSCRIPT} from the host run ({} lines; it had {}): review and commit it",
                lines.len(),
                old.len()
            );
        }
        Snapshot::Bless => {}
        Snapshot::Check => {
            if committed.is_err() {
                return Err(format!(
                    "cannot read {TRANSCRIPT}; run `cargo xtask test-firmware --bless` to create it"
                ));
            }
            if let Some(d) = first_difference(&old, &lines) {
                return Err(format!(
                    "the host run of the fine-tuning program differs from {TRANSCRIPT}: {d}\n\
                     If the change is intended, run `cargo xtask test-firmware --bless`, then \
                     review and commit {TRANSCRIPT}."
                ));
            }
        }
    }
    eprintln!(
        "  finetune on the host: {verdict}; {} lines identical to {TRANSCRIPT}",
        lines.len()
    );
    Ok(Expected { lines, verdict })
}

/// Checks the `finetune` image's run on `core` against `expected`.
pub fn check_device(core: &Core, run: &QemuRun, expected: &Expected) -> Result<(), String> {
    let mut app = Vec::new();
    let mut timings = 0;
    let mut stack = None;
    for line in &run.lines {
        if line.starts_with(BOARD_PREFIX) {
            continue;
        } else if let Some(s) = line.strip_prefix(STACK_PREFIX) {
            stack = parse_stack(s);
        } else if is_timing(line) {
            timings += 1;
        } else {
            app.push(line.clone());
        }
    }
    let mut problems = Vec::new();
    if !run.passed {
        problems.push("QEMU did not exit with 0 (the program exits 0 only when it passes)".into());
    }
    if let Some(d) = first_difference(&expected.lines, &app) {
        problems.push(format!(
            "the device log differs from {TRANSCRIPT} (which the host run matches): {d}"
        ));
    }
    if timings != 2 {
        problems.push(format!("{timings} timing lines, expected 2"));
    }
    match stack {
        None => problems.push("no (or an unreadable) stack high-water line".into()),
        Some((used, _)) if used > STACK_BUDGET => problems.push(format!(
            "stack high-water mark {used} B exceeds the {STACK_BUDGET} B budget"
        )),
        Some((used, size)) if used > 0 && used < size => {}
        Some((used, size)) => problems.push(format!("implausible stack: {used} of {size} B")),
    }
    if !problems.is_empty() {
        return Err(format!(
            "finetune on {} ({}): {}\n--- device log ---\n{}",
            core.name,
            core.machine,
            problems.join("\n"),
            run.lines.join("\n")
        ));
    }
    eprintln!(
        "  finetune on {}: exit 0; {} lines identical to {TRANSCRIPT} ({}); stack {} of {} B",
        core.name,
        app.len(),
        expected.verdict,
        stack.map_or(0, |s| s.0),
        stack.map_or(0, |s| s.1)
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

fn parse_stack(text: &str) -> Option<(u32, u32)> {
    let nums: Vec<u32> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    match nums[..] {
        [used, size] => Some((used, size)),
        _ => None,
    }
}

/// The first line where `actual` differs from `expected`, both versions shown.
fn first_difference(expected: &[String], actual: &[String]) -> Option<String> {
    let n = expected.len().max(actual.len());
    (0..n).find(|&i| expected.get(i) != actual.get(i)).map(|i| {
        let show = |l: Option<&String>| l.map_or("(end)".to_string(), |l| format!("`{l}`"));
        format!(
            "first at line {} of {} expected ({} found): expected {}, found {}",
            i + 1,
            expected.len(),
            actual.len(),
            show(expected.get(i)),
            show(actual.get(i))
        )
    })
}

fn transcript_path() -> PathBuf {
    root().join(TRANSCRIPT)
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
