//! The training demo's log checks: the host transcript, and each device log compared
//! with it line by line, with the stack budget.

use crate::firmware::{Core, QemuRun};
use crate::util::{cmd, output};

/// The training demo's stack budget on every core (README, "On the microcontroller"):
/// 14 KiB, what the micro:bit's 16 KiB of RAM leaves after static data and a margin.
/// `memory/microbit-m0.x` makes the link keep at least this much free for the stack.
pub const STACK_BUDGET: u32 = 14 * 1024;

/// The demo's deterministic lines from the host (the app's `Display`).
pub fn host_transcript() -> Result<Vec<String>, String> {
    let out = output(cmd("cargo").args([
        "run",
        "--quiet",
        "--release",
        "-p",
        "microprop-app",
        "--example",
        "transcript",
    ]))?;
    let host: Vec<String> = out
        .lines()
        .filter(|l| !l.contains(" trained in "))
        .map(str::to_string)
        .collect();
    if !host.iter().any(|l| l.ends_with("(bar 95.0%): PASS")) {
        return Err("host transcript has no PASS verdict".into());
    }
    Ok(host)
}

/// Asserts that the demo passed on `core` and printed the host's lines.
pub fn check_device(core: &Core, run: &QemuRun, host: &[String]) -> Result<(), String> {
    let lines = &run.lines;
    let fail = |why: String| {
        Err(format!(
            "demo on {} ({}): {why}\n--- device log ---\n{}",
            core.name,
            core.machine,
            lines.join("\n")
        ))
    };
    if !run.passed {
        return fail("QEMU did not exit with 0".into());
    }
    let Some(verdict) = lines.iter().find(|l| l.starts_with("result: ")) else {
        return fail("no accuracy line".into());
    };
    if !verdict.ends_with("(bar 95.0%): PASS") {
        return fail(format!("accuracy line is `{verdict}`"));
    }
    let device: Vec<&String> = lines
        .iter()
        .filter(|l| {
            !l.contains(" trained in ")
                && !l.starts_with("board: ")
                && !l.starts_with("stack high-water mark")
        })
        .collect();
    if device.len() != host.len() || device.iter().zip(host).any(|(d, h)| *d != h) {
        let first = device
            .iter()
            .zip(host)
            .find(|(d, h)| **d != *h)
            .map_or("(different line counts)".to_string(), |(d, h)| {
                format!("device `{d}` vs host `{h}`")
            });
        return fail(format!("device log differs from the host's: {first}"));
    }
    let Some(stack) = lines
        .iter()
        .find_map(|l| l.strip_prefix("stack high-water mark: "))
    else {
        return fail("no stack high-water line".into());
    };
    let nums: Vec<u32> = stack
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    match nums[..] {
        [used, size] if used > 0 && used <= STACK_BUDGET && used < size => {}
        [used, _] if used > STACK_BUDGET => {
            return fail(format!(
                "stack high-water mark {used} B exceeds the {STACK_BUDGET} B budget (README)"
            ))
        }
        _ => return fail(format!("implausible stack line `{stack}`")),
    }
    eprintln!(
        "  demo on {}: {verdict}; stack {stack}; {} lines identical to the host's",
        core.name,
        device.len()
    );
    Ok(())
}
