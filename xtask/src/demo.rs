//! The training demo's log checks: the committed transcript, the host run, the device
//! logs.
//!
//! * The transcript [`TRANSCRIPT`] (`firmware/expected/train.log`) holds the demo's
//!   deterministic lines ([`Event::is_deterministic`]: every line but the `... trained in
//!   N ticks` timings) for `Config::default()`, the configuration the firmware runs.
//! * [`host`] runs the demo on the host, in this process, with the typed events of
//!   `microprop_app::run`: the ReLU net and the batch-norm net must reach the
//!   configuration's bar (`Config::bar_permille`), and its deterministic lines must equal the transcript;
//!   with `--bless` they rewrite it instead.
//! * [`check_device`] checks a QEMU run of the demo: exit 0 (the firmware exits 0 only
//!   when the demo reaches the bar), its log without the platform lines equal to the
//!   transcript (without the batch-norm net's lines on a core whose image leaves it out,
//!   the M0), and the stack high-water mark within [`STACK_BUDGET`].
//!
//! A difference names the first differing line with both versions, and says whether
//! `--bless` is the fix ([`BLESS`]).

use core::convert::Infallible;
use std::path::PathBuf;

use microprop_app::number::Percent;
use microprop_app::{Board, Config, Cycles, Event, NetId, Sink};

use crate::firmware::{Core, QemuRun};
use crate::util::{root, Snapshot};

/// The committed transcript, relative to the workspace root.
pub const TRANSCRIPT: &str = "firmware/expected/train.log";

/// The command that rewrites [`TRANSCRIPT`] from the host run.
pub const BLESS: &str = "cargo xtask test-firmware --bless";

/// The training demo's stack budget on every core (README, "On the microcontroller"):
/// 14 KiB, what the micro:bit's 16 KiB of RAM leaves after static data and a margin.
/// `memory/microbit-m0.x` makes the link keep at least this much free for the stack.
pub const STACK_BUDGET: u32 = 14 * 1024;

/// The firmware's own first line (`firmware/src/bin/train.rs`), not the app's.
const BOARD_PREFIX: &str = "board: ";
/// The firmware's own last line: `stack high-water mark: {used} of {size} B`.
const STACK_PREFIX: &str = "stack high-water mark: ";

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
    if let Some(e) = events
        .iter()
        .find(|e| !e.is_deterministic() && !is_platform_line(&e.to_string()))
    {
        return Err(format!(
            "xtask does not recognise the platform-specific line `{e}` \
             (teach demo::is_platform_line this event)"
        ));
    }
    let lines: Vec<String> = events
        .iter()
        .filter(|e| e.is_deterministic())
        .map(Event::to_string)
        .collect();
    let timings = events.len() - lines.len();
    let path = transcript_path();
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
                eprintln!("  {TRANSCRIPT} is up to date ({} lines)", lines.len());
            } else {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                }
                let mut text = lines.join("\n");
                text.push('\n');
                std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
                let change = match Difference::between(&old, &lines) {
                    Some(d) if !old.is_empty() => d.describe_change(),
                    _ => String::new(),
                };
                eprintln!(
                    "  blessed {TRANSCRIPT} from the host run ({} lines; it had {}){change}\n  \
                     review the change (`git diff {TRANSCRIPT}`) and commit it",
                    lines.len(),
                    old.len(),
                );
            }
        }
        Snapshot::Check => {
            let committed = committed.map_err(|e| {
                format!(
                    "cannot read {TRANSCRIPT} ({e}); run `{BLESS}` to create it from the host run"
                )
            })?;
            let old: Vec<String> = committed.lines().map(str::to_string).collect();
            if let Some(d) = Difference::between(&old, &lines) {
                return Err(format!(
                    "the host run {}\nIf the change is intended, run `{BLESS}` (or \
                     `cargo xtask test --bless`) to rewrite {TRANSCRIPT} from the host run, \
                     then review and commit it.",
                    d.render("host run")
                ));
            }
        }
    }
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
    let mut app: Vec<String> = Vec::new();
    let mut timings = 0;
    let mut stack = None;
    for line in &run.lines {
        if line.starts_with(BOARD_PREFIX) {
            continue;
        } else if let Some(s) = line.strip_prefix(STACK_PREFIX) {
            stack = Some(s);
        } else if is_platform_line(line) {
            timings += 1;
        } else {
            app.push(line.clone());
        }
    }
    let mut problems = Vec::new();
    if !run.passed {
        problems.push(
            "QEMU did not exit with 0 (the firmware exits 0 only when the demo reaches the bar)"
                .to_string(),
        );
    }
    if let Some(d) = Difference::between(&expected.lines, &app) {
        problems.push(format!(
            "the device log {}\nThe host run matches {TRANSCRIPT}, so the device diverges from \
             the host: `--bless` (which rewrites the transcript from the host run) would not \
             fix this.",
            d.render(&format!("{} log", core.name))
        ));
    }
    if timings != expected.timings {
        problems.push(format!(
            "{timings} timing lines (`... trained in N ticks`), the host has {}",
            expected.timings
        ));
    }
    match stack.map(parse_stack) {
        None => problems.push("no stack high-water line".into()),
        Some(Some((used, _))) if used > STACK_BUDGET => problems.push(format!(
            "stack high-water mark {used} B exceeds the {STACK_BUDGET} B budget (README)"
        )),
        Some(Some((used, size))) if used > 0 && used < size => {}
        Some(_) => problems.push(format!(
            "implausible stack line `{}`",
            stack.unwrap_or_default()
        )),
    }
    if !problems.is_empty() {
        return Err(format!(
            "demo on {} ({}): {}\n--- device log ---\n{}",
            core.name,
            core.machine,
            problems.join("\n"),
            run.lines.join("\n")
        ));
    }
    eprintln!(
        "  demo on {}: exit 0; ReLU net {}% (bar {}%); {} lines identical to {TRANSCRIPT}; \
         stack {}",
        core.name,
        expected.accuracy,
        expected.bar,
        app.len(),
        stack.unwrap_or_default()
    );
    Ok(())
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

fn transcript_path() -> PathBuf {
    root().join(TRANSCRIPT)
}

/// The first line where a log differs from the transcript.
#[derive(Debug, PartialEq, Eq)]
struct Difference {
    /// 1-based line number in the transcript's numbering.
    line: usize,
    /// The transcript's line there (`None`: the transcript has ended).
    expected: Option<String>,
    /// The log's line there (`None`: the log has ended).
    actual: Option<String>,
    /// Lines in the transcript.
    expected_len: usize,
    /// Lines in the log.
    actual_len: usize,
}

impl Difference {
    /// The first difference of `actual` from `expected`, if any.
    fn between(expected: &[String], actual: &[String]) -> Option<Difference> {
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
    fn describe_change(&self) -> String {
        let show = |l: &Option<String>| l.as_deref().map_or("(none)".into(), |l| format!("`{l}`"));
        format!(
            ": first change at line {}\n    was: {}\n    now: {}",
            self.line,
            show(&self.expected),
            show(&self.actual)
        )
    }

    /// The difference, both versions of the line, for a log called `who`.
    fn render(&self, who: &str) -> String {
        let show = |l: &Option<String>, end: &str| {
            l.as_deref()
                .map_or(format!("({end})"), |l| format!("`{l}`"))
        };
        format!(
            "differs from {TRANSCRIPT}, first at line {} ({} lines expected, {} in the \
             {who}):\n  expected ({TRANSCRIPT}:{}): {}\n  {who:<width$}: {}",
            self.line,
            self.expected_len,
            self.actual_len,
            self.line,
            show(&self.expected, "end of the transcript"),
            show(&self.actual, "end of the log"),
            width = TRANSCRIPT.len() + 12 + self.line.to_string().len(),
        )
    }
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
    fn first_difference_with_both_versions() {
        let d = Difference::between(&lines(&["a", "b", "c"]), &lines(&["a", "x", "c"]));
        let d = d.expect("differs");
        assert_eq!(
            (d.line, d.expected.as_deref(), d.actual.as_deref()),
            (2, Some("b"), Some("x"))
        );
        let text = d.render("host run");
        assert!(text.contains(":2): `b`"), "{text}");
        assert!(text.contains("host") && text.contains("`x`"), "{text}");
        assert_eq!(Difference::between(&lines(&["a"]), &lines(&["a"])), None);
    }

    #[test]
    fn a_shorter_log_is_a_difference() {
        let d = Difference::between(&lines(&["a", "b"]), &lines(&["a"])).expect("differs");
        assert_eq!((d.line, d.actual.as_deref()), (2, None));
        assert!(d.render("m0").contains("(end of the log)"));
        let d = Difference::between(&lines(&["a"]), &lines(&["a", "b"])).expect("differs");
        assert!(d.render("m0").contains("(end of the transcript)"));
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

    #[test]
    fn stack_line() {
        assert_eq!(parse_stack("12144 of 131048 B"), Some((12144, 131048)));
        assert_eq!(parse_stack("12144 B"), None);
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
