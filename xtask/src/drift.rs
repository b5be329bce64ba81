//! The drift program's checks (issue 15), part of `cargo xtask test-firmware`:
//!
//! * [`host`] runs `microprop_app::drift` in this process on a RAM flash with the
//!   firmware's configuration: the online model must beat the frozen one by
//!   [`MARGIN_PERMILLE`], and its lines must equal the committed transcript
//!   [`TRANSCRIPT`] (`--bless` rewrites it from them); they are what every device must
//!   print.
//! * [`check_device`] checks a QEMU run of the `drift` image: exit 0, its log without the
//!   firmware's `board:` and stack lines equal to the host's line for line (the program
//!   has no platform-specific lines), and the stack high-water mark within
//!   [`STACK_BUDGET`]; with the transcript, the shared checks of [`crate::transcript`]
//!   ([`PROGRAM`]).
//! * [`check_all`] (after [`host`]) lints (clippy) and builds the image (feature `drift`)
//!   for M4F, M3 and M0 (one cargo command each, for the three targets), runs and checks
//!   it, and cuts the power of each under QEMU (`firmware/tools/power-cut-drift.sh`,
//!   [`POWER_CUTS`] trials per core).

use std::process::Command;

use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashErrorKind, ReadNorFlash};
use microprop_app::drift::{self, Config, DriftEvent, Outcome};
use microprop_app::Sink;

use crate::firmware::{self, Core, Image, QemuRun, CORES};
use crate::transcript::{Program, STACK_BUDGET};
use crate::util::{run_cmd, Laps, Snapshot};

/// The committed transcript of the drift program's lines, relative to the workspace root.
pub const TRANSCRIPT: &str = "firmware/expected/drift.log";

/// The drift program, as the shared transcript and device checks see it: every line is
/// deterministic; its stack budget is the demo's, [`STACK_BUDGET`].
pub const PROGRAM: Program = Program {
    name: "drift",
    transcript: TRANSCRIPT,
    exits_0_when: "the online model beats the frozen one by 20 points (MARGIN_PERMILLE)",
    platform_lines: "platform-specific lines",
    is_platform_line: |_| false,
    stack_budget: STACK_BUDGET,
};
/// The online model must beat the frozen one by this much (tenths of a percentage point),
/// as the firmware's exit code requires.
pub const MARGIN_PERMILLE: u32 = 200;
/// Power-cut trials per core.
pub const POWER_CUTS: u32 = 2;

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
    PROGRAM.snapshot(&lines, mode)?;
    eprintln!(
        "  drift on the host: online {}% frozen {}%; {} lines identical to {TRANSCRIPT}",
        outcome.online,
        outcome.frozen,
        lines.len()
    );
    Ok(Expected { lines, outcome })
}

/// Checks a QEMU run of the drift image on `core` against the host's lines; returns the
/// stack high-water mark.
pub fn check_device(core: &Core, run: &QemuRun, expected: &Expected) -> Result<u32, String> {
    let summary = PROGRAM.check_device(core, run, &expected.lines, 0)?;
    eprintln!(
        "  drift on {}: exit 0; {} lines identical to the host's; online {}% frozen {}%; \
         stack {}",
        core.name, summary.lines, expected.outcome.online, expected.outcome.frozen, summary.stack
    );
    Ok(summary.stack.used)
}

/// The drift checks of `test-firmware` after the host run ([`host`], `expected`): each
/// core's image linted, built, run, compared and cut.
pub fn check_all(expected: &Expected, laps: &mut Laps) -> Result<(), String> {
    // Linted and built for the three cores at once (one cargo command each).
    let images = CORES.map(|core| Image::drift(&core));
    for mut c in Image::grouped("clippy", &images) {
        run_cmd(c.args(["--", "-D", "warnings"]))?;
    }
    Image::build_all(&images)?;
    for core in &CORES {
        let image = Image::drift(core);
        let run = image.run_qemu(&[])?;
        check_device(core, &run, expected)?;
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
        let e = check_device(&core, &changed, &expected).unwrap_err();
        assert!(
            e.contains("first at line 5") && e.contains("would not fix"),
            "{e}"
        );
        let mut short = device(&expected, 8000);
        short.lines.remove(3);
        assert!(check_device(&core, &short, &expected).is_err());
        assert!(check_device(&core, &device(&expected, 15000), &expected).is_err());
        let mut failed = device(&expected, 8000);
        failed.passed = false;
        assert!(check_device(&core, &failed, &expected).is_err());
    }
}
