//! A firmware program's committed transcript and the check of its device logs, written
//! once for the training demo, the fine-tuning program and the drift program (`demo`,
//! `finetune`, `drift`, which add their own verdicts).
//!
//! * [`Program`] describes one program: its name in messages, its transcript
//!   (`firmware/expected/*.log`), what its exit code means, and which of its lines are
//!   platform-specific (the timings; recognised by rendering the app's event, a predicate
//!   of the program's own).
//! * [`Program::host_lines`] splits the host run's events into the deterministic lines and
//!   the platform lines, and fails on a platform line the device check would not skip
//!   (or a deterministic one it would).
//! * [`Program::snapshot`] compares the host's deterministic lines with the transcript
//!   ([`Snapshot::Check`]) or rewrites the transcript from them ([`Snapshot::Bless`]).
//! * [`Program::check_device`] checks a QEMU run: exit 0, its app lines (without the
//!   firmware's `board:` line, the platform lines and the stack line, [`DeviceLog`])
//!   equal to the host's, as many platform lines as on the host, and the stack high-water
//!   mark within the budget and plausible; every problem is reported at once, with the
//!   device log.
//!
//! A difference names the first differing line with both versions ([`Difference`]) and
//! says whether `--bless` ([`BLESS`]) is the fix.

use std::fmt;

use crate::firmware::{Core, QemuRun};
use crate::util::{root, Snapshot};

/// The command that rewrites the transcripts from the host runs.
pub const BLESS: &str = "cargo xtask test-firmware --bless";

/// The stack budget of every program on every core (README, "On the microcontroller"):
/// 14 KiB, what the micro:bit's 16 KiB of RAM leaves after static data and a margin.
/// `memory/microbit-m0.x` makes the link keep at least this much free for the stack.
pub const STACK_BUDGET: u32 = 14 * 1024;

/// The firmware's own first line (`firmware/src/bin/*.rs`), not the app's.
const BOARD_PREFIX: &str = "board: ";
/// The firmware's own last line: `stack high-water mark: {used} of {size} B`.
const STACK_PREFIX: &str = "stack high-water mark: ";

/// One firmware program, as its log checks see it.
#[derive(Clone, Copy, Debug)]
pub struct Program {
    /// Its name in messages (`demo`, `finetune`, `drift`).
    pub name: &'static str,
    /// Its committed transcript, relative to the workspace root.
    pub transcript: &'static str,
    /// When its firmware exits 0 (completes "the firmware exits 0 only when ...").
    pub exits_0_when: &'static str,
    /// Its platform-specific lines, in messages (e.g. "timing lines (`... trained in N
    /// ticks`)").
    pub platform_lines: &'static str,
    /// Whether a line is platform-specific (not in the transcript; counted instead).
    pub is_platform_line: fn(&str) -> bool,
    /// Its stack budget in bytes.
    pub stack_budget: u32,
}

/// The stack high-water line's figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stack {
    /// Bytes of stack used at most.
    pub used: u32,
    /// Bytes of stack there are.
    pub size: u32,
}

impl Stack {
    /// `{used} of {size} B`, the text after [`STACK_PREFIX`].
    fn parse(text: &str) -> Option<Stack> {
        let nums: Vec<u32> = text
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect();
        match nums[..] {
            [used, size] => Some(Stack { used, size }),
            _ => None,
        }
    }

    /// The problem with this stack for `budget`, if any.
    fn problem(&self, budget: u32) -> Option<String> {
        let Stack { used, size } = *self;
        if used > budget {
            Some(format!(
                "stack high-water mark {used} B exceeds the {budget} B budget (README)"
            ))
        } else if used == 0 || used >= size {
            Some(format!(
                "implausible stack high-water mark: {used} of {size} B (expected 0 < used < size)"
            ))
        } else {
            None
        }
    }
}

impl fmt::Display for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {} B", self.used, self.size)
    }
}

/// A QEMU run's log, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceLog {
    /// The app's deterministic lines, in order.
    pub app: Vec<String>,
    /// How many platform-specific lines there were.
    pub platform: usize,
    /// The stack line's text after its prefix (`None`: there was none).
    pub stack_line: Option<String>,
}

/// What a passing device check reports, for the caller's summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceSummary {
    /// App lines, identical to the host's.
    pub lines: usize,
    /// The stack high-water mark.
    pub stack: Stack,
}

impl Program {
    /// The host run's events as the deterministic lines (the transcript's) and the count
    /// of platform lines; fails when a platform event renders to a line that
    /// [`Program::is_platform_line`] does not recognise, or a deterministic one to a line
    /// it does (the device check would then miscount).
    pub fn host_lines<E: fmt::Display>(
        &self,
        events: &[E],
        is_deterministic: impl Fn(&E) -> bool,
    ) -> Result<(Vec<String>, usize), String> {
        let mut lines = Vec::new();
        let mut platform = 0;
        for e in events {
            let line = e.to_string();
            match (is_deterministic(e), (self.is_platform_line)(&line)) {
                (true, false) => lines.push(line),
                (false, true) => platform += 1,
                (false, false) => {
                    return Err(format!(
                        "xtask does not recognise the platform-specific line `{line}` of the \
                         {} program (teach its is_platform_line this event)",
                        self.name
                    ))
                }
                (true, true) => {
                    return Err(format!(
                        "the deterministic line `{line}` of the {} program looks like one of \
                         its {}; the device check would skip it",
                        self.name, self.platform_lines
                    ))
                }
            }
        }
        Ok((lines, platform))
    }

    /// Compares the host run's deterministic `lines` with the transcript
    /// ([`Snapshot::Check`]), or rewrites the transcript from them ([`Snapshot::Bless`]).
    pub fn snapshot(&self, lines: &[String], mode: Snapshot) -> Result<(), String> {
        let transcript = self.transcript;
        let path = root().join(transcript);
        let committed = std::fs::read_to_string(&path);
        match mode {
            Snapshot::Bless => {
                let old: Vec<String> = committed
                    .as_deref()
                    .unwrap_or_default()
                    .lines()
                    .map(str::to_string)
                    .collect();
                if old == lines {
                    eprintln!("  {transcript} is up to date ({} lines)", lines.len());
                    return Ok(());
                }
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                }
                let mut text = lines.join("\n");
                text.push('\n');
                std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
                let change = match Difference::between(&old, lines) {
                    Some(d) if !old.is_empty() => d.describe_change(),
                    _ => String::new(),
                };
                eprintln!(
                    "  blessed {transcript} from the {} program's host run ({} lines; it had \
                     {}){change}\n  review the change (`git diff {transcript}`) and commit it",
                    self.name,
                    lines.len(),
                    old.len(),
                );
            }
            Snapshot::Check => {
                let committed = committed.map_err(|e| {
                    format!(
                        "cannot read {transcript} ({e}); run `{BLESS}` to create it from the \
                         {} program's host run",
                        self.name
                    )
                })?;
                let old: Vec<String> = committed.lines().map(str::to_string).collect();
                if let Some(d) = Difference::between(&old, lines) {
                    return Err(format!(
                        "the {} program's host run {}\nIf the change is intended, run \
                         `{BLESS}` (or `cargo xtask test --bless`) to rewrite {transcript} \
                         from the host run, then review and commit it.",
                        self.name,
                        d.render(transcript, "host run")
                    ));
                }
            }
        }
        Ok(())
    }

    /// Splits a QEMU run's log into the app's lines, the platform lines (counted) and the
    /// stack line; the firmware's `board:` line is skipped.
    pub fn split(&self, run: &QemuRun) -> DeviceLog {
        let mut log = DeviceLog {
            app: Vec::new(),
            platform: 0,
            stack_line: None,
        };
        for line in &run.lines {
            if line.starts_with(BOARD_PREFIX) {
                continue;
            } else if let Some(s) = line.strip_prefix(STACK_PREFIX) {
                log.stack_line = Some(s.to_string());
            } else if (self.is_platform_line)(line) {
                log.platform += 1;
            } else {
                log.app.push(line.clone());
            }
        }
        log
    }

    /// Checks the program's QEMU run on `core` against the host run's deterministic
    /// `expected` lines (equal to the transcript) and its count of `platform` lines.
    /// Every problem is reported, followed by the device log.
    pub fn check_device(
        &self,
        core: &Core,
        run: &QemuRun,
        expected: &[String],
        platform: usize,
    ) -> Result<DeviceSummary, String> {
        let log = self.split(run);
        let mut problems = Vec::new();
        if !run.passed {
            problems.push(format!(
                "QEMU did not exit with 0 (the firmware exits 0 only when {})",
                self.exits_0_when
            ));
        }
        if let Some(d) = Difference::between(expected, &log.app) {
            problems.push(format!(
                "the device log {}\nThe host run matches {}, so the device diverges from the \
                 host: `--bless` (which rewrites the transcript from the host run) would not \
                 fix this.",
                d.render(self.transcript, &format!("{} log", core.name)),
                self.transcript
            ));
        }
        if log.platform != platform {
            problems.push(format!(
                "{} {}, the host has {platform}",
                log.platform, self.platform_lines
            ));
        }
        let stack = match log.stack_line.as_deref().map(|s| (s, Stack::parse(s))) {
            None => {
                problems.push("no stack high-water line".into());
                None
            }
            Some((text, None)) => {
                problems.push(format!("unreadable stack line `{STACK_PREFIX}{text}`"));
                None
            }
            Some((_, Some(stack))) => {
                problems.extend(stack.problem(self.stack_budget));
                Some(stack)
            }
        };
        match stack {
            Some(stack) if problems.is_empty() => Ok(DeviceSummary {
                lines: log.app.len(),
                stack,
            }),
            _ => Err(format!(
                "{} on {} ({}): {}\n--- device log ---\n{}",
                self.name,
                core.name,
                core.machine,
                problems.join("\n"),
                run.lines.join("\n")
            )),
        }
    }
}

/// The first line where a log differs from the transcript.
#[derive(Debug, PartialEq, Eq)]
pub struct Difference {
    /// 1-based line number in the transcript's numbering.
    pub line: usize,
    /// The transcript's line there (`None`: the transcript has ended).
    pub expected: Option<String>,
    /// The log's line there (`None`: the log has ended).
    pub actual: Option<String>,
    /// Lines in the transcript.
    pub expected_len: usize,
    /// Lines in the log.
    pub actual_len: usize,
}

impl Difference {
    /// The first difference of `actual` from `expected`, if any.
    pub fn between(expected: &[String], actual: &[String]) -> Option<Difference> {
        let n = expected.len().max(actual.len());
        (0..n)
            .find(|&i| expected.get(i) != actual.get(i))
            .map(|i| Difference {
                line: i + 1,
                expected: expected.get(i).cloned(),
                actual: actual.get(i).cloned(),
                expected_len: expected.len(),
                actual_len: actual.len(),
            })
    }

    /// For a blessed transcript (`expected`: the old one): where it first changed.
    pub fn describe_change(&self) -> String {
        let show = |l: &Option<String>| l.as_deref().map_or("(none)".into(), |l| format!("`{l}`"));
        format!(
            ": first change at line {}\n    was: {}\n    now: {}",
            self.line,
            show(&self.expected),
            show(&self.actual)
        )
    }

    /// The difference from `transcript` (its path, for the message), both versions of the
    /// line, for a log called `who`.
    pub fn render(&self, transcript: &str, who: &str) -> String {
        let show = |l: &Option<String>, end: &str| {
            l.as_deref()
                .map_or(format!("({end})"), |l| format!("`{l}`"))
        };
        let expected = format!("expected ({transcript}:{})", self.line);
        format!(
            "differs from {transcript}, first at line {} ({} lines expected, {} in the \
             {who}):\n  {expected}: {}\n  {who:<width$}: {}",
            self.line,
            self.expected_len,
            self.actual_len,
            show(&self.expected, "end of the transcript"),
            show(&self.actual, "end of the log"),
            width = expected.len(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firmware::CORES;

    fn lines(s: &[&str]) -> Vec<String> {
        s.iter().map(|l| l.to_string()).collect()
    }

    /// A program whose platform lines are `tick N`.
    const TEST: Program = Program {
        name: "test",
        transcript: "firmware/expected/test.log",
        exits_0_when: "it passes",
        platform_lines: "tick lines",
        is_platform_line: |l| l.starts_with("tick "),
        stack_budget: 1000,
    };

    fn run(app: &[String], stack: &str) -> QemuRun {
        let mut log = vec!["board: test".to_string()];
        log.extend(app.iter().cloned());
        log.insert(2, "tick 5".into());
        log.push(format!("{STACK_PREFIX}{stack}"));
        QemuRun {
            passed: true,
            lines: log,
        }
    }

    #[test]
    fn first_difference_with_both_versions_aligned() {
        let d = Difference::between(&lines(&["a", "b", "c"]), &lines(&["a", "x", "c"]));
        let d = d.expect("differs");
        assert_eq!(
            (d.line, d.expected.as_deref(), d.actual.as_deref()),
            (2, Some("b"), Some("x"))
        );
        let text = d.render("t.log", "host run");
        assert_eq!(
            text,
            "differs from t.log, first at line 2 (3 lines expected, 3 in the host run):\n  \
             expected (t.log:2): `b`\n  host run          : `x`"
        );
        assert_eq!(
            d.describe_change(),
            ": first change at line 2\n    was: `b`\n    now: `x`"
        );
        assert_eq!(Difference::between(&lines(&["a"]), &lines(&["a"])), None);
    }

    #[test]
    fn a_shorter_or_longer_log_is_a_difference() {
        let d = Difference::between(&lines(&["a", "b"]), &lines(&["a"])).expect("differs");
        assert_eq!((d.line, d.actual.as_deref()), (2, None));
        assert!(d.render("t.log", "m0").contains("(end of the log)"));
        let d = Difference::between(&lines(&["a"]), &lines(&["a", "b"])).expect("differs");
        assert_eq!((d.line, d.expected.as_deref()), (2, None));
        assert!(d.render("t.log", "m0").contains("(end of the transcript)"));
        assert!(d.describe_change().contains("was: (none)"));
    }

    #[test]
    fn stack_line_and_budget() {
        assert_eq!(
            Stack::parse("12144 of 131048 B"),
            Some(Stack {
                used: 12144,
                size: 131048
            })
        );
        assert_eq!(Stack::parse("12144 B"), None);
        let ok = Stack {
            used: 900,
            size: 4000,
        };
        assert_eq!(ok.problem(1000), None);
        assert_eq!(ok.to_string(), "900 of 4000 B");
        let deep = Stack { used: 1001, ..ok };
        assert!(deep
            .problem(1000)
            .expect("deep")
            .contains("exceeds the 1000 B"));
        let none = Stack { used: 0, ..ok };
        assert!(none.problem(1000).expect("zero").contains("implausible"));
        let over = Stack {
            used: 900,
            size: 900,
        };
        assert!(over.problem(1000).expect("all").contains("implausible"));
    }

    #[test]
    fn a_device_log_is_split_into_app_platform_and_stack_lines() {
        let t = lines(&["a", "b", "c"]);
        let log = TEST.split(&run(&t, "900 of 4000 B"));
        assert_eq!(
            log,
            DeviceLog {
                app: t,
                platform: 1,
                stack_line: Some("900 of 4000 B".into()),
            }
        );
    }

    #[test]
    fn the_device_check_reports_every_problem() {
        let core = CORES[0];
        let t = lines(&["a", "b", "c"]);
        assert_eq!(
            TEST.check_device(&core, &run(&t, "900 of 4000 B"), &t, 1),
            Ok(DeviceSummary {
                lines: 3,
                stack: Stack {
                    used: 900,
                    size: 4000
                }
            })
        );
        let mut bad = run(&t, "1001 of 4000 B");
        bad.passed = false;
        bad.lines[3] = "B".into();
        let e = TEST.check_device(&core, &bad, &t, 2).expect_err("bad");
        assert!(e.starts_with("test on m4f"), "{e}");
        assert!(e.contains("exits 0 only when it passes"), "{e}");
        assert!(e.contains("first at line 2") && e.contains("`b`"), "{e}");
        assert!(e.contains("m4f log") && e.contains("`B`"), "{e}");
        assert!(e.contains("would not fix"), "{e}");
        assert!(e.contains("1 tick lines, the host has 2"), "{e}");
        assert!(e.contains("exceeds the 1000 B budget"), "{e}");
        assert!(e.contains("--- device log ---\nboard: test"), "{e}");

        let e = TEST
            .check_device(&core, &run(&t, "many B"), &t, 1)
            .expect_err("unreadable");
        assert!(e.contains("unreadable stack line"), "{e}");
        let mut none = run(&t, "");
        none.lines.pop();
        let e = TEST.check_device(&core, &none, &t, 1).expect_err("none");
        assert!(e.contains("no stack high-water line"), "{e}");
    }

    #[test]
    fn a_transcript_is_blessed_then_checked() {
        let dir = root().join("target/tmp/xtask-transcript-test");
        let _ = std::fs::remove_dir_all(&dir);
        let program = Program {
            transcript: "target/tmp/xtask-transcript-test/new/test.log",
            ..TEST
        };
        let e = program
            .snapshot(&lines(&["a"]), Snapshot::Check)
            .expect_err("missing");
        assert!(e.contains("cannot read") && e.contains(BLESS), "{e}");
        let t = lines(&["a", "b"]);
        assert_eq!(program.snapshot(&t, Snapshot::Bless), Ok(()));
        assert_eq!(program.snapshot(&t, Snapshot::Check), Ok(()));
        let e = program
            .snapshot(&lines(&["a", "c"]), Snapshot::Check)
            .expect_err("differs");
        assert!(e.contains("first at line 2") && e.contains("`c`"), "{e}");
        assert!(e.contains(BLESS) && e.contains("review and commit"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn host_lines_must_be_recognised() {
        let events = ["a", "tick 3", "b"];
        let det = |e: &&str| !e.starts_with("tick");
        assert_eq!(TEST.host_lines(&events, det), Ok((lines(&["a", "b"]), 1)));
        let e = TEST
            .host_lines(&["a", "tock 3"], |e: &&str| e.starts_with('a'))
            .expect_err("unrecognised");
        assert!(
            e.contains("does not recognise the platform-specific line `tock 3`"),
            "{e}"
        );
        let e = TEST
            .host_lines(&["tick 3"], |_| true)
            .expect_err("looks like a platform line");
        assert!(e.contains("would skip it"), "{e}");
    }
}
