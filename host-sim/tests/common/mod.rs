//! Helpers shared by the simulator's tests: run the binary, parse its JSON.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs `microprop-sim` with `args`.
pub fn sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_microprop-sim"))
        .args(args)
        .output()
        .expect("run microprop-sim")
}

/// Runs `microprop-sim <args> --json`, asserts success and that stdout is exactly one JSON
/// object (and stderr is empty), and returns it.
pub fn json(args: &[&str]) -> serde_json::Value {
    let mut all: Vec<&str> = args.to_vec();
    all.push("--json");
    let out = sim(&all);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "microprop-sim {all:?} failed ({}):\n{stderr}",
        out.status
    );
    assert!(stderr.is_empty(), "--json printed to stderr: {stderr}");
    let trimmed = stdout.trim_end();
    assert_eq!(
        trimmed.lines().count(),
        1,
        "--json must print one line, got:\n{stdout}"
    );
    let v: serde_json::Value = serde_json::from_str(trimmed)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{stdout}"));
    assert!(v.is_object(), "--json must print an object: {v}");
    v
}

/// A fresh scratch directory under cargo's per-target temp dir.
pub fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create scratch dir");
    d
}

/// `v[key]` as f64, or a panic naming the key.
pub fn f(v: &serde_json::Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("`{key}` is not a number in {v}"))
}

/// Whether the file starts with the PNG signature and is more than a header.
pub fn is_png(path: &std::path::Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.len() > 1000 && b.starts_with(b"\x89PNG\r\n\x1a\n"))
}
