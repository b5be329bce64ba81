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

/// Asserts that `args` is a usage error naming `flag`: exit 2, the message on stderr (and,
/// with `--json`, as `{"error": {"kind": "usage", …}}` on stdout), no panic.
fn assert_usage(args: &[&str], flag: &str) {
    let out = sim(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(
        err.contains(flag),
        "{args:?}: the message does not name {flag}: {err}"
    );
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let out = sim(&with_json);
    assert_eq!(out.status.code(), Some(2), "{with_json:?}");
    let (kind, message) = json_error(&out);
    assert_eq!(kind, "usage", "{with_json:?}: {message}");
    assert!(message.contains(flag), "{with_json:?}: {message}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(flag),
        "{with_json:?}: stderr lacks the message: {err}"
    );
}

/// `2,w,w,…,w,1` with `n` hidden layers of width `w`.
fn hidden(n: usize, w: usize) -> String {
    let mut s = String::from("2");
    for _ in 0..n {
        s += &format!(",{w}");
    }
    s + ",1"
}

#[test]
fn train_layers_must_take_the_datas_two_features() {
    assert_usage(&["train", "--layers", "3,4,1"], "--layers");
    assert_usage(&["train", "--layers", "1,1"], "--layers");
    assert_usage(&["dead-relu", "--layers", "3,4,1"], "--layers");
}

#[test]
fn values_unusable_in_f32_are_usage_errors() {
    // 3e38 is a finite f32, but the normalised step lr / mean‖x‖² is not.
    assert_usage(&["zigzag", "--lr", "3e38"], "--lr");
    for lr in ["nan", "-1", "0", "inf", "1e39", "1e-50"] {
        assert_usage(&["zigzag", &format!("--lr={lr}")], "--lr");
        assert_usage(&["train", &format!("--lr={lr}")], "--lr");
        assert_usage(&["landscape", &format!("--lr={lr}")], "--lr");
        assert_usage(&["dead-relu", &format!("--lr={lr}")], "--lr");
    }
    // AdamW's decay η·λ must stay ≤ 1 (λ = 0.01): the core's check, before training.
    assert_usage(&["train", "--optimizer", "adamw", "--lr", "1000"], "--lr");
    // Values that overflow f32 once used: found before training.
    assert_usage(&["train", "--init-scale", "3e38"], "--init-scale");
    assert_usage(
        &["train", "--init", "normal", "--init-scale", "3e38"],
        "--init-scale",
    );
    assert_usage(&["train", "--spread", "3e38"], "--spread");
    assert_usage(
        &["landscape", "--spread", "3e38", "--grid", "3"],
        "--spread",
    );
    assert_usage(
        &["landscape", "--init-scale", "3e38", "--grid", "3"],
        "--init-scale",
    );
    // A cut after an epoch the run never reaches.
    assert_usage(
        &["resume", "--epochs", "5", "--cut-after-epoch", "6"],
        "--cut-after-epoch",
    );
    // A rate that is usable still runs.
    let v = json(&["zigzag", "--lr", "0.5", "--max-steps", "10"]);
    assert_eq!(v["lr"], 0.5);
}

#[test]
fn a_plot_without_a_known_image_extension_is_refused_before_training() {
    let d = scratch("contract-plot");
    let model = d.join("m.mprp");
    let foo = d.join("foo");
    let m = model.to_str().unwrap();
    let f = foo.to_str().unwrap();
    // `--save` is written after training and before the plot: no file, no training.
    assert_usage(&["train", "--plot", f, "--save", m], "--plot");
    assert!(!model.exists(), "train trained before refusing --plot");
    assert!(!foo.exists());
    let bmp_less = d.join("x.pdf");
    let p = bmp_less.to_str().unwrap();
    for cmd in [
        &["zigzag", "--plot", f][..],
        &["vanishing", "--plot", p],
        &["init", "--plot", f],
        &["dead-relu", "--plot", f],
        &["activations", "--plot", p],
    ] {
        assert_usage(cmd, "--plot");
    }
    // A directory is not a file to draw into.
    assert_usage(&["zigzag", "--plot", d.to_str().unwrap()], "--plot");
    // The extensions the encoders write are accepted, in any case.
    let jpg = d.join("b.JPG");
    json(&[
        "zigzag",
        "--max-steps",
        "10",
        "--plot",
        jpg.to_str().unwrap(),
    ]);
    assert!(std::fs::read(&jpg).unwrap().starts_with(&[0xff, 0xd8]));
}

#[test]
fn train_save_into_a_missing_directory_is_refused_before_training() {
    let d = scratch("contract-save-dir");
    let m = d.join("no-such-dir").join("m.mprp");
    assert_usage(&["train", "--save", m.to_str().unwrap()], "--save");
}

#[test]
fn mcu_tables_are_checked_before_any_work() {
    let d = scratch("contract-mcu");
    let mcu = d.join("mcu");
    std::fs::create_dir_all(&mcu).unwrap();
    let out = d.join("site");
    // A --mcu directory that does not exist, or a table that is not JSON, is refused
    // before the experiments run.
    assert_usage(
        &[
            "report",
            "--out",
            out.to_str().unwrap(),
            "--mcu",
            "/no/such/dir",
        ],
        "--mcu",
    );
    std::fs::write(mcu.join("m4f.json"), "not json").unwrap();
    assert_usage(
        &[
            "report",
            "--out",
            out.to_str().unwrap(),
            "--mcu",
            mcu.to_str().unwrap(),
        ],
        "--mcu",
    );
    assert!(!out.exists(), "report ran before refusing --mcu");
    assert_usage(&["activations", "--mcu", "/no/such/dir"], "--mcu");
    assert_usage(&["activations", "--mcu", mcu.to_str().unwrap()], "--mcu");
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
#[test]
fn absurd_sizes_are_refused_up_front_with_the_budget() {
    // The issue's net: hundreds of 4096-wide layers.
    let huge = hidden(300, 4096);
    assert_usage(&["train", "--layers", &huge], "--layers");
    // Within the format's depth, but gigabytes of weights.
    let wide = hidden(30, 4096);
    assert_usage(&["train", "--layers", &wide], "1 GiB");
    // Adam's two moments count too (the same net with SGD is within the budget:
    // `sim_contract_api.rs`).
    let six = hidden(6, 4096);
    assert_usage(
        &[
            "train",
            "--layers",
            &six,
            "--optimizer",
            "adam",
            "--lr",
            "0.01",
        ],
        "1 GiB",
    );
    json(&[
        "train",
        "--layers",
        &hidden(2, 1024),
        "--epochs",
        "1",
        "--samples",
        "8",
    ]);
    assert_usage(&["dead-relu", "--layers", &wide], "1 GiB");
    // init keeps every layer's activations for every sample.
    assert_usage(
        &[
            "init",
            "--width",
            "2048",
            "--layers",
            "64",
            "--samples",
            "100000",
        ],
        "1 GiB",
    );
    // The budget is stated in the help.
    let out = sim(&["train", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("1 GiB"), "{help}");
}

#[test]
fn train_refuses_a_depth_the_model_format_cannot_load() {
    let max = microprop::format::MAX_DEPTH;
    let d = scratch("contract-depth");
    let file = d.join("d.mprp");
    let f = file.to_str().unwrap();
    // One dense layer too many: refused before training, naming the limit, no file.
    let too_deep = hidden(max, 8);
    assert_usage(&["train", "--layers", &too_deep, "--save", f], "--layers");
    let out = sim(&["train", "--layers", &too_deep, "--save", f]);
    assert!(String::from_utf8_lossy(&out.stderr).contains(&max.to_string()));
    assert!(!file.exists(), "the refused run wrote {f}");
    // Batch norm, dropout and preprocessing are layers of the file too.
    let half = hidden(max / 2, 8);
    assert_usage(&["train", "--layers", &half, "--batch-norm"], "--layers");
    assert_usage(
        &[
            "train",
            "--layers",
            &hidden(max - 1, 8),
            "--preprocess",
            "mean",
        ],
        "--layers",
    );
    assert_usage(&["dead-relu", "--layers", &too_deep], "--layers");
    // At exactly the limit the model saves and loads.
    let at_limit = hidden(max - 1, 8);
    let trained = json(&[
        "train", "--layers", &at_limit, "--epochs", "1", "--save", f, "--point", "1,1",
    ]);
    let p = json(&["predict", "--load", f, "--point", "1,1"]);
    assert_eq!(p["weights_hash"], trained["weights_hash"]);
    assert_eq!(p["kinds"].as_array().unwrap().len(), max);
    assert_eq!(p["predictions"], trained["predictions"]);
}
#[test]
fn train_without_plot_computes_no_decision_boundary_grid() {
    // A 2-4096-4096-1 net on one sample: the grid alone is 14 400 forward passes of 16.8 M
    // multiply-adds (over 2 minutes on the development machine); the run without it takes
    // well under a second. The bound can only be missed if the grid is computed.
    let t = std::time::Instant::now();
    let v = json(&[
        "train",
        "--layers",
        "2,4096,4096,1",
        "--samples",
        "1",
        "--batch",
        "1",
        "--epochs",
        "1",
    ]);
    let secs = t.elapsed().as_secs_f64();
    assert!(secs < 10.0, "train without --plot took {secs:.1} s");
    assert!(v["plot"].is_null(), "{v}");
}

#[test]
fn report_escapes_the_values_of_mcu_tables() {
    let d = scratch("contract-report");
    let mcu = d.join("mcu");
    std::fs::create_dir_all(&mcu).unwrap();
    std::fs::write(
        mcu.join("m3.json"),
        r#"{"core":"<script>alert(1)</script>","activations":[
            {"activation":"sigmoid","backend":"libm","forward_instructions_per_element":1400.0}]}"#,
    )
    .unwrap();
    std::fs::write(mcu.join("m0.json"), r#"{"core":"a&b\"'","activations":[]}"#).unwrap();
    let out = d.join("site");
    let run = sim(&[
        "report",
        "--quick",
        "--out",
        out.to_str().unwrap(),
        "--mcu",
        mcu.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(
        !html.contains("<script>alert(1)"),
        "unescaped value in the page"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("a&amp;b&quot;&#39;"), "{html}");
}

/// Issue 10: `train --spread 1e20 --save s.bin` wrote an infinite running variance that
/// `predict` then refused. The step that would have made it is refused now: the run fails
/// as a `compute` error naming the overflowing update, and no file is written. Every file
/// a run does save loads (a plain net at the same spread trains, saves and predicts).
#[test]
fn a_run_whose_update_would_overflow_saves_nothing() {
    let d = scratch("contract-overflow");
    let file = d.join("s.bin");
    let f = file.to_str().unwrap();
    let args = [
        "train",
        "--spread",
        "1e20",
        "--batch-norm",
        "--batch",
        "8",
        "--save",
        f,
        "--json",
    ];
    let out = sim(&args);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let (kind, message) = json_error(&out);
    assert_eq!(kind, "compute", "{message}");
    assert!(message.contains("non-finite"), "{message}");
    assert!(!file.exists(), "the refused run wrote {f}");
    let trained = json(&["train", "--spread", "1e20", "--epochs", "2", "--save", f]);
    assert!(file.exists(), "{trained}");
    let p = json(&["predict", "--load", f, "--point", "1,1"]);
    assert_eq!(p["weights_hash"], trained["weights_hash"]);
}

#[test]
fn dead_relu_lists_refuse_empty_and_bad_values() {
    for lr in ["", "0", "-1", "0.5,0", "0.5,", "nan"] {
        assert_usage(&["dead-relu", &format!("--lr={lr}")], "--lr");
    }
    for act in ["", "softmax", "bogus", "relu,softmax"] {
        assert_usage(
            &["dead-relu", &format!("--activation={act}")],
            "--activation",
        );
    }
    assert_usage(&["dead-relu", "--bias="], "--bias");
}
