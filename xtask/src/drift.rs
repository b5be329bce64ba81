//! The drift program's checks (issue 15), part of `cargo xtask test-firmware`:
//!
//! * [`host`] runs `microprop_app::drift` in this process on a RAM flash with the
//!   firmware's configuration: the online model must beat the frozen one by
//!   [`MARGIN_PERMILLE`], and its lines must equal the committed transcript
//!   [`TRANSCRIPT`] (`--bless` rewrites it from them); they are what every device must
//!   print.
//! * [`check_device`] checks a QEMU run of the `drift` image: exit 0, its log without the
//!   firmware's `board:` and stack lines equal to the host's line for line, and the stack
//!   high-water mark within [`STACK_BUDGET`].
//! * [`check_all`] lints (clippy) and builds the image (feature `drift`) for M4F, M3 and
//!   M0, runs and checks it, and cuts the
//!   power of each under QEMU (`firmware/tools/power-cut-drift.sh`, [`POWER_CUTS`] trials
//!   per core).

use std::process::Command;

use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashErrorKind, ReadNorFlash};
use microprop_app::drift::{self, Config, DriftEvent, Outcome};
use microprop_app::Sink;

use crate::firmware::{self, Core, Image, QemuRun, CORES};
use crate::util::{root, run_cmd, Laps, Snapshot};

/// The committed transcript of the drift program's lines, relative to the workspace root.
pub const TRANSCRIPT: &str = "firmware/expected/drift.log";

/// The stack budget of the drift image on every core: 14 KiB, as the demo's.
pub const STACK_BUDGET: u32 = 14 * 1024;
/// The online model must beat the frozen one by this much (tenths of a percentage point),
/// as the firmware's exit code requires.
pub const MARGIN_PERMILLE: u32 = 200;
/// Power-cut trials per core.
pub const POWER_CUTS: u32 = 2;

/// The firmware's own lines, not the app's.
const BOARD_PREFIX: &str = "board: ";
const STACK_PREFIX: &str = "stack high-water mark: ";

/// 16 KiB of RAM with the firmware region's NOR semantics and geometry.
struct Ram(Vec<u8>);

impl ErrorType for Ram {
    type Error = NorFlashErrorKind;
}
impl ReadNorFlash for Ram {
    const READ_SIZE: usize = 1;
    fn read(&mut self, at: u32, out: &mut [u8]) -> Result<(), Self::Error> {
        let at = at as usize;
        let src = self
            .0
            .get(at..at + out.len())
            .ok_or(NorFlashErrorKind::OutOfBounds)?;
        out.copy_from_slice(src);
        Ok(())
    }
    fn capacity(&self) -> usize {
        self.0.len()
    }
}
impl NorFlash for Ram {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = 1024;
    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        self.0
            .get_mut(from as usize..to as usize)
            .ok_or(NorFlashErrorKind::OutOfBounds)?
            .fill(0xFF);
        Ok(())
    }
    fn write(&mut self, at: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let at = at as usize;
        let dst = self
            .0
            .get_mut(at..at + bytes.len())
            .ok_or(NorFlashErrorKind::OutOfBounds)?;
        dst.iter_mut().zip(bytes).for_each(|(d, b)| *d &= b);
        Ok(())
    }
}

struct Lines(Vec<String>);
impl Sink<DriftEvent> for Lines {
    fn event(&mut self, e: &DriftEvent) {
        self.0.push(e.to_string());
    }
}

/// What the devices must print, from the host run.
#[derive(Clone, Debug)]
pub struct Expected {
    /// The program's lines.
    pub lines: Vec<String>,
    /// Its figures.
    pub outcome: Outcome,
}

/// Runs the drift program on the host with the firmware's configuration, and compares its
/// lines with [`TRANSCRIPT`] (or rewrites it, `mode` [`Snapshot::Bless`]).
pub fn host(mode: Snapshot) -> Result<Expected, String> {
    let config = Config::default();
    let mut lines = Lines(Vec::new());
    let outcome = drift::run(
        &config,
        config.stream(),
        Ram(vec![0xFF; 16 * 1024]),
        &mut lines,
    )
    .map_err(|e| format!("drift on the host: {e}"))?;
    if outcome.online.permille() < outcome.frozen.permille() + MARGIN_PERMILLE {
        return Err(format!(
            "drift on the host: online {}% does not beat frozen {}% by {} points",
            outcome.online,
            outcome.frozen,
            MARGIN_PERMILLE / 10
        ));
    }
    let lines = lines.0;
    let path = root().join(TRANSCRIPT);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let old: Vec<&str> = committed.lines().collect();
    if old != lines {
        match mode {
            Snapshot::Bless => {
                let mut text = lines.join("\n");
                text.push('\n');
                std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
                eprintln!(
                    "  blessed {TRANSCRIPT} from the host run ({} lines; it had {}): review and commit it",
                    lines.len(),
                    old.len()
                );
            }
            Snapshot::Check => {
                let i = first_difference(&old, &lines);
                return Err(format!(
                    "the drift program's host run differs from {TRANSCRIPT} at line {}:\n  \
                     transcript: {}\n  host run:   {}\nIf the change is intended, run \
                     `cargo xtask test-firmware --bless`, then review and commit it.",
                    i + 1,
                    old.get(i).copied().unwrap_or("(end)"),
                    lines.get(i).map_or("(end)", String::as_str)
                ));
            }
        }
    }
    Ok(Expected { lines, outcome })
}

/// The index of the first line where `a` and `b` differ (one may end first).
fn first_difference<A: AsRef<str>, B: AsRef<str>>(a: &[A], b: &[B]) -> usize {
    a.iter()
        .zip(b)
        .position(|(x, y)| x.as_ref() != y.as_ref())
        .unwrap_or(a.len().min(b.len()))
}

/// `{used} of {size} B` from the stack line.
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

/// Checks a QEMU run of the drift image on `core` against the host's lines; returns the
/// stack high-water mark.
pub fn check_device(core: &Core, run: &QemuRun, expected: &Expected) -> Result<u32, String> {
    let mut app = Vec::new();
    let mut stack = None;
    for line in &run.lines {
        if line.starts_with(BOARD_PREFIX) {
            continue;
        } else if let Some(s) = line.strip_prefix(STACK_PREFIX) {
            stack = parse_stack(s);
        } else {
            app.push(line.clone());
        }
    }
    let mut problems = Vec::new();
    if !run.passed {
        problems.push(
            "QEMU did not exit with 0 (the online model must beat the frozen one by 20 points)"
                .to_string(),
        );
    }
    if app != expected.lines {
        let i = first_difference(&expected.lines, &app);
        problems.push(format!(
            "line {} differs from the host's:\n  host:   {}\n  device: {}",
            i + 1,
            expected.lines.get(i).map_or("(end)", String::as_str),
            app.get(i).map_or("(end)", String::as_str)
        ));
    }
    let used = match stack {
        Some((used, size)) if used > 0 && used <= STACK_BUDGET && used < size => used,
        Some((used, _)) => {
            problems.push(format!(
                "stack high-water mark {used} B outside (0, {STACK_BUDGET}] B"
            ));
            used
        }
        None => {
            problems.push("no stack high-water line".into());
            0
        }
    };
    if !problems.is_empty() {
        return Err(format!(
            "drift on {} ({}): {}\n--- device log ---\n{}",
            core.name,
            core.machine,
            problems.join("\n"),
            run.lines.join("\n")
        ));
    }
    eprintln!(
        "  drift on {}: exit 0; {} lines identical to the host's; online {}% frozen {}%; stack {used} B",
        core.name,
        app.len(),
        expected.outcome.online,
        expected.outcome.frozen
    );
    Ok(used)
}

/// The drift checks of `test-firmware`: host run against the transcript, each core's
/// image linted, built, run, compared and cut.
pub fn check_all(mode: Snapshot, laps: &mut Laps) -> Result<(), String> {
    let expected = host(mode)?;
    for core in &CORES {
        let image = Image::drift(core);
        run_cmd(image.cargo("clippy").args(["--", "-D", "warnings"]))?;
        image.build()?;
        let run = image.run_qemu(&[])?;
        check_device(core, &run, &expected)?;
        run_cmd(
            Command::new("bash")
                .current_dir(firmware::dir())
                .args(["tools/power-cut-drift.sh", core.name])
                .arg(POWER_CUTS.to_string()),
        )?;
        laps.lap(&format!(
            "firmware: drift under QEMU on {} (+{POWER_CUTS} power cuts)",
            core.name
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(expected: &Expected, stack: u32) -> QemuRun {
        let mut lines = vec!["board: test".to_string()];
        lines.extend(expected.lines.iter().cloned());
        lines.push(format!("stack high-water mark: {stack} of 16360 B"));
        QemuRun {
            passed: true,
            lines,
        }
    }

    #[test]
    fn a_device_must_print_the_hosts_lines_within_the_stack_budget() {
        let expected = host(Snapshot::Check).unwrap();
        let core = CORES[2];
        assert_eq!(
            check_device(&core, &device(&expected, 8000), &expected),
            Ok(8000)
        );
        let mut changed = device(&expected, 8000);
        changed.lines[5].push('!');
        assert!(check_device(&core, &changed, &expected)
            .unwrap_err()
            .contains("line 5 differs"));
        let mut short = device(&expected, 8000);
        short.lines.remove(3);
        assert!(check_device(&core, &short, &expected).is_err());
        assert!(check_device(&core, &device(&expected, 15000), &expected).is_err());
        let mut failed = device(&expected, 8000);
        failed.passed = false;
        assert!(check_device(&core, &failed, &expected).is_err());
    }
}
