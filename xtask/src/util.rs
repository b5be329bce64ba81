//! The leaf helpers every command shares: where the workspace is, how a command is run
//! and echoed, how its output is read, the command-line flags, and lap timing.
//!
//! This module imports nothing from the rest of the crate (see the layering in
//! `main.rs`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// A command run from the workspace root.
pub fn cmd(program: &str) -> Command {
    let mut c = Command::new(program);
    c.current_dir(root());
    c
}

/// Runs a command, echoing it and its duration, and fails on a non-zero exit.
pub fn run_cmd(c: &mut Command) -> Result<(), String> {
    let shown = format!("{c:?}");
    eprintln!("$ {shown}");
    let t = Instant::now();
    let status = c.status().map_err(|e| format!("cannot run {shown}: {e}"))?;
    eprintln!("  ({:.1} s)", t.elapsed().as_secs_f64());
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed with {status}"))
    }
}

/// A command started by [`spawn_logged`], running while others run; its output goes to a
/// log file. [`Background::wait`] ends it like [`run_cmd`] ends a command; dropped without
/// that (an earlier step failed), it is stopped with everything it started.
pub struct Background {
    shown: String,
    log: PathBuf,
    child: Option<Child>,
    since: Instant,
}

/// Starts `c` in the background (in a process group of its own), its stdout and stderr
/// to `log`; echoes it like [`run_cmd`].
pub fn spawn_logged(c: &mut Command, log: &Path) -> Result<Background, String> {
    let shown = format!("{c:?}");
    if let Some(dir) = log.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let out = fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out
        .try_clone()
        .map_err(|e| format!("{}: {e}", log.display()))?;
    c.stdin(Stdio::null()).stdout(out).stderr(err);
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(c, 0);
    eprintln!("$ {shown} &  (in the background; log: {})", log.display());
    let child = c.spawn().map_err(|e| format!("cannot run {shown}: {e}"))?;
    Ok(Background {
        shown,
        log: log.to_path_buf(),
        child: Some(child),
        since: Instant::now(),
    })
}

impl Background {
    /// Waits for the command; fails on a non-zero exit, with the end of its log.
    pub fn wait(mut self) -> Result<(), String> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let status = child
            .wait()
            .map_err(|e| format!("cannot wait for {}: {e}", self.shown))?;
        eprintln!(
            "  (background {:.1} s, waited for here: {})",
            self.since.elapsed().as_secs_f64(),
            self.shown
        );
        if status.success() {
            return Ok(());
        }
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        Err(format!(
            "{} failed with {status}; the end of {}:\n{tail}",
            self.shown,
            self.log.display()
        ))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // The whole group: cargo and the compilers it started.
            #[cfg(unix)]
            let _ = Command::new("kill")
                .args(["-TERM", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs a command and returns its stdout; fails on a non-zero exit, with its stderr.
pub fn output(c: &mut Command) -> Result<String, String> {
    let out = c.output().map_err(|e| format!("cannot run {c:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{c:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `program args...` starts and exits with 0 (how the tools are detected).
pub fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A tool from rustup's `llvm-tools` component (`llvm-size`, `llvm-nm`).
pub fn llvm_tool(name: &str) -> Result<PathBuf, String> {
    let sysroot = output(Command::new("rustc").args(["--print", "sysroot"]))?;
    let vv = output(Command::new("rustc").arg("-vV"))?;
    let host = vv
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .ok_or("rustc -vV has no host line")?;
    let p = Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(host.trim())
        .join("bin")
        .join(name);
    if p.exists() {
        Ok(p)
    } else {
        Err(format!(
            "{} missing: run `rustup component add llvm-tools`",
            p.display()
        ))
    }
}

/// What a command does with a committed snapshot (`firmware/sizes.txt`,
/// `firmware/expected/*.log`): compare with it, or rewrite it (`--bless`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Snapshot {
    /// Compare, and fail on a difference.
    Check,
    /// Rewrite the snapshot from this run (`--bless`).
    Bless,
}

impl Snapshot {
    /// `--bless` among `args` (the only flag these commands take); any other argument is
    /// an error naming `command`.
    pub fn from_args(command: &str, args: &[String]) -> Result<Self, String> {
        let mut mode = Snapshot::Check;
        for a in args {
            match a.as_str() {
                "--bless" => mode = Snapshot::Bless,
                other => {
                    return Err(format!(
                        "{command}: unknown argument `{other}` (the only flag is --bless)"
                    ))
                }
            }
        }
        Ok(mode)
    }
}

/// Lap times of a sequence of steps, printed at the end.
pub struct Laps {
    times: Vec<(String, f64)>,
    since: Instant,
}

impl Laps {
    /// Starts the first lap now.
    pub fn start() -> Self {
        Laps {
            times: Vec::new(),
            since: Instant::now(),
        }
    }

    /// Ends the current lap as `what` and starts the next.
    pub fn lap(&mut self, what: &str) {
        self.times
            .push((what.to_string(), self.since.elapsed().as_secs_f64()));
        self.since = Instant::now();
    }

    /// Prints every lap, one line each.
    pub fn print(&self) {
        for (what, secs) in &self.times {
            eprintln!("  {secs:6.1} s  {what}");
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn log(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("xtask-util-{}-{name}.log", std::process::id()))
    }

    #[test]
    fn a_background_command_fails_with_the_end_of_its_log_and_is_stopped_when_dropped() {
        let ok = spawn_logged(Command::new("sh").args(["-c", "echo fine"]), &log("ok")).unwrap();
        assert_eq!(ok.wait(), Ok(()));
        assert_eq!(fs::read_to_string(log("ok")).unwrap(), "fine\n");

        let bad = spawn_logged(
            Command::new("sh").args(["-c", "echo first; echo last >&2; exit 3"]),
            &log("bad"),
        )
        .unwrap();
        let e = bad.wait().unwrap_err();
        assert!(
            e.contains("exit status: 3") && e.contains("first\nlast"),
            "{e}"
        );

        // Dropped unwaited: stopped at once, not after its 30 s.
        let t = Instant::now();
        drop(spawn_logged(Command::new("sleep").arg("30"), &log("drop")).unwrap());
        assert!(t.elapsed().as_secs() < 10, "{:?}", t.elapsed());
        for name in ["ok", "bad", "drop"] {
            let _ = fs::remove_file(log(name));
        }
    }
}
