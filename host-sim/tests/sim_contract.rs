//! The simulator's contract (issue 10): semantic errors are usage errors found before any
//! work; with `--json` an error is one JSON object on stdout; a failed write to stdout is
//! a failure; sizes and depths beyond what the simulator and the model format hold are
//! refused up front; the decision-boundary grid is computed only for `--plot`; values read
//! from files are escaped in the report's HTML.

mod common;

use std::process::{Command, Stdio};

use common::{json, scratch, sim};

/// The one JSON object of a failed `--json` run: its `error.kind` and `error.message`.
fn json_error(out: &std::process::Output) -> (String, String) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let trimmed = stdout.trim_end();
    assert_eq!(
        trimmed.lines().count(),
        1,
        "a failed --json run must print one JSON line on stdout, got:\n{stdout}"
    );
    let v: serde_json::Value = serde_json::from_str(trimmed)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{stdout}"));
    let kind = v["error"]["kind"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.kind in {v}"))
        .to_string();
    let message = v["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.message in {v}"))
        .to_string();
    (kind, message)
}

#[test]
fn clap_errors_under_json_are_one_json_object_too() {
    for args in [
        &["train", "--lr", "abc", "--json"][..],
        &["--json", "train", "--layers", "2"],
        &["no-such-command", "--json"],
        &["predict", "--json"],
    ] {
        let out = sim(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let (kind, message) = json_error(&out);
        assert_eq!(kind, "usage", "{args:?}");
        assert!(
            !message.is_empty() && !message.starts_with("error:"),
            "{message}"
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("error"));
    }
    // --help and --version are not errors.
    let out = sim(&["--json", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"));
}

#[test]
fn run_time_failures_under_json_name_their_kind_and_exit_1() {
    let d = scratch("contract-runtime");
    let missing = d.join("missing.mprp");
    let out = sim(&["predict", "--load", missing.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let (kind, message) = json_error(&out);
    assert_eq!(kind, "io");
    assert!(message.contains("--load"), "{message}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--load"));

    let file = d.join("m.mprp");
    let f = file.to_str().unwrap();
    json(&["train", "--epochs", "2", "--save", f]);
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(&file, &bytes).unwrap();
    let out = sim(&["predict", "--load", f, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let (kind, message) = json_error(&out);
    assert_eq!(kind, "model");
    assert!(message.contains("CRC-32"), "{message}");

    json(&["train", "--epochs", "2", "--save", f]);
    let out = sim(&["predict", "--load", f, "--point", "3e38,-3e38", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let (kind, message) = json_error(&out);
    assert_eq!(kind, "compute");
    assert!(message.contains("overflowed"), "{message}");

    // A run whose loss diverges.
    let out = sim(&["train", "--lr", "3e38", "--epochs", "2", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let (kind, message) = json_error(&out);
    assert_eq!(kind, "compute", "{message}");
}
/// Runs the binary with stdout on `/dev/full` (every write fails with ENOSPC).
fn to_dev_full(args: &[&str]) -> std::process::Output {
    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .expect("open /dev/full");
    Command::new(env!("CARGO_BIN_EXE_microprop-sim"))
        .args(args)
        .stdout(Stdio::from(full))
        .stderr(Stdio::piped())
        .output()
        .expect("run microprop-sim")
}

#[test]
fn a_failed_write_to_stdout_is_a_failure() {
    for args in [
        &["train", "--epochs", "1", "--json"][..],
        &["train", "--epochs", "1"],
        &["zigzag", "--max-steps", "10"],
        // demo prints its lines as they come.
        &["demo", "--no-delay"],
        &["demo", "--no-delay", "--json"],
    ] {
        let out = to_dev_full(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?} on /dev/full: {err}");
        assert!(err.contains("stdout"), "{args:?}: {err}");
    }
}
