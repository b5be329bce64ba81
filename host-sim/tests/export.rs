//! `export`: the committed Rust export of the iris model is what exporting its model file
//! gives (and that model file is what training the host model gives); the C header,
//! compiled with gcc into a small program, gives the outputs of `predict --load` bit for
//! bit (ReLU, leaky ReLU, tanh, ELU, sigmoid and softmax layers); models export refuses
//! (batch norm, dropout, whitening, a C header of a GELU net),
//! corrupt files and a missing flag are clear errors with the contract's exit codes and
//! kinds.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{json, scratch, sim};

/// The repository root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

const MODEL: &str = "app/models/iris-host.mprp";
const RUST: &str = "app/src/iris_model.rs";

/// Runs the simulator in `dir` (so the paths it records are relative, as committed).
fn sim_in(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_microprop-sim"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run microprop-sim")
}

#[test]
fn the_committed_model_and_its_rust_export_regenerate_byte_for_byte() {
    let dir = scratch("export-regenerate");
    std::fs::create_dir_all(dir.join("app/models")).unwrap();
    std::fs::create_dir_all(dir.join("app/src")).unwrap();
    // Training the host model again gives the committed file.
    let out = sim_in(&dir, &["finetune", "--save-host-model", MODEL]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed = std::fs::read(root().join(MODEL)).unwrap();
    assert_eq!(
        std::fs::read(dir.join(MODEL)).unwrap(),
        committed,
        "`microprop-sim finetune --save-host-model {MODEL}` no longer gives the committed {MODEL}"
    );
    // Exporting it gives the committed Rust file (the command its header names).
    let out = sim_in(&dir, &["export", "--load", MODEL, "--rust", RUST]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = std::fs::read_to_string(dir.join(RUST)).unwrap();
    let committed_rs = std::fs::read_to_string(root().join(RUST)).unwrap();
    assert!(
        generated == committed_rs,
        "exporting {MODEL} no longer gives the committed {RUST}: run \
         `cargo run --release -p microprop-sim -- export --load {MODEL} --rust {RUST}` \
         from the repository root and commit it"
    );
    let header = format!("microprop-sim export --load {MODEL} --rust {RUST}");
    assert!(generated.contains(&header), "{generated}");
    assert!(generated.contains("CRC-32 0x"), "the header names the CRC");
}

/// The C driver: reads points (one per line, comma-separated) and prints every output's
/// `f32` bits in hex.
fn driver(header: &str, prefix: &str) -> String {
    let f = prefix.to_ascii_lowercase();
    format!(
        r#"#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include "{header}"
int main(void) {{
    char line[512];
    while (fgets(line, sizeof line, stdin)) {{
        float x[{prefix}_INPUTS], y[{prefix}_OUTPUTS];
        char *p = line;
        for (int i = 0; i < {prefix}_INPUTS; i++) {{
            x[i] = strtof(p, &p);
            if (*p == ',') p++;
        }}
        {f}_predict(x, y);
        for (int o = 0; o < {prefix}_OUTPUTS; o++) {{
            unsigned int bits;
            memcpy(&bits, &y[o], 4);
            printf("%s%08x", o ? " " : "", bits);
        }}
        printf("\n");
    }}
    return 0;
}}
"#
    )
}

/// Exports `model` as a C header, compiles it with gcc (ISO C11, `-O2`, no FMA
/// contraction) into the driver, and returns the outputs' bits for `points`.
fn c_outputs(dir: &Path, model: &Path, points: &[String]) -> Vec<Vec<u32>> {
    let header = dir.join("net_model.h");
    let out = sim(&[
        "export",
        "--load",
        model.to_str().unwrap(),
        "--c",
        header.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&header).unwrap();
    assert!(text.contains("#ifndef NET_MODEL_H") && text.contains("#endif /* NET_MODEL_H */"));
    assert!(
        text.contains("static const float NET_MODEL_L1_W["),
        "{text}"
    );
    let main = dir.join("main.c");
    std::fs::write(&main, driver("net_model.h", "NET_MODEL")).unwrap();
    let exe = dir.join("predict");
    let cc = Command::new("gcc")
        .args([
            "-std=c11",
            "-O2",
            "-ffp-contract=off",
            "-Wall",
            "-Wextra",
            "-Werror",
        ])
        .arg(&main)
        .arg("-o")
        .arg(&exe)
        .arg("-lm")
        .output()
        .expect("run gcc (the C export's test needs it)");
    assert!(
        cc.status.success(),
        "gcc refused the header:\n{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let mut child = Command::new(&exe)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        for p in points {
            writeln!(stdin, "{p}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            l.split_whitespace()
                .map(|h| u32::from_str_radix(h, 16).unwrap())
                .collect()
        })
        .collect()
}

/// `predict --load`'s outputs for `points`, as `f32` bits.
fn predict_outputs(model: &Path, points: &[String]) -> Vec<Vec<u32>> {
    let mut args = vec![
        "predict".to_string(),
        "--load".into(),
        model.display().to_string(),
    ];
    for p in points {
        args.push("--point".into());
        args.push(p.clone());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let v = json(&args);
    v["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["y"]
                .as_array()
                .unwrap()
                .iter()
                .map(|y| (y.as_f64().unwrap() as f32).to_bits())
                .collect()
        })
        .collect()
}

/// The points: a grid over the inputs' range (plus the iris rows for the iris model).
fn points(inputs: usize, iris: bool) -> Vec<String> {
    let mut out = Vec::new();
    if iris {
        let csv = std::fs::read_to_string(root().join("data/iris/iris.csv")).unwrap();
        for line in csv.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            out.push(f[..4].join(","));
            // The device's miscalibrated petal readings too.
            let x: Vec<f32> = f[..4].iter().map(|v| v.parse().unwrap()).collect();
            out.push(format!("{},{},{},{}", x[0], x[1], x[2] + 1.0, x[3] + 0.6));
        }
    } else {
        for i in 0..21 {
            for j in 0..21 {
                let (a, b) = (-3.0 + 0.3 * i as f32, -3.0 + 0.3 * j as f32);
                out.push(if inputs == 2 {
                    format!("{a},{b}")
                } else {
                    vec![format!("{a}"); inputs].join(",")
                });
            }
        }
    }
    out
}

fn assert_same(c: &[Vec<u32>], rust: &[Vec<u32>], points: &[String], what: &str) {
    assert_eq!(c.len(), points.len(), "{what}: one C line per point");
    let differ: Vec<String> = c
        .iter()
        .zip(rust)
        .zip(points)
        .filter(|((c, r), _)| c != r)
        .map(|((c, r), p)| format!("{p}: C {c:08x?}, predict {r:08x?}"))
        .collect();
    assert!(
        differ.is_empty(),
        "{what}: {} of {} points differ from `predict --load` (first: {})",
        differ.len(),
        points.len(),
        differ[0]
    );
}

#[test]
fn the_c_header_computes_what_predict_computes_bit_for_bit() {
    // The iris model: standardize, ReLU, softmax (expf).
    let dir = scratch("export-c-iris");
    let model = root().join(MODEL);
    let pts = points(4, true);
    let c = c_outputs(&dir, &model, &pts);
    assert_same(
        &c,
        &predict_outputs(&model, &pts),
        &pts,
        "iris (relu, softmax)",
    );

    // Trained here: mean-only preprocessing, leaky ReLU, a sigmoid output (expf), widths
    // that leave a tail after the blocks of four: exact too.
    let leaky = trained(
        "export-c-leaky",
        &[
            "--preprocess",
            "mean",
            "--activation",
            "leaky-relu",
            "--layers",
            "2,7,5,1",
        ],
    );
    let pts = points(2, false);
    let c = c_outputs(&leaky.0, &leaky.1, &pts);
    assert_same(
        &c,
        &predict_outputs(&leaky.1, &pts),
        &pts,
        "leaky-relu, sigmoid",
    );

    // tanh and ELU: the header's ports of the core's tanhf and expm1f, exact too; and a
    // net without a preprocessing layer.
    for (name, pre, act) in [
        ("tanh", "standardize", "tanh"),
        ("elu", "standardize", "elu:0.7"),
        ("plain", "none", "relu"),
    ] {
        let m = trained(
            &format!("export-c-{name}"),
            &["--preprocess", pre, "--activation", act],
        );
        let c = c_outputs(&m.0, &m.1, &pts);
        assert_same(&c, &predict_outputs(&m.1, &pts), &pts, name);
    }
}

/// A model trained by `train --epochs 5 <args> --save`, in a fresh scratch directory.
fn trained(name: &str, args: &[&str]) -> (PathBuf, PathBuf) {
    let dir = scratch(name);
    let model = dir.join("model.mprp");
    let mut a = vec!["train", "--epochs", "5", "--save", model.to_str().unwrap()];
    a.extend_from_slice(args);
    let out = sim(&a);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (dir, model)
}

/// Runs `export` with `--json` and returns (exit code, error kind, message).
fn export_error(args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = sim(&all);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (
        out.status.code().unwrap_or(-1),
        v["error"]["kind"].as_str().unwrap_or_default().to_string(),
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

#[test]
fn what_export_cannot_write_is_a_clear_error_and_writes_nothing() {
    let dir = scratch("export-errors");
    let out_rs = dir.join("out.rs");
    let out_h = dir.join("out.h");
    let (rs, h) = (out_rs.to_str().unwrap(), out_h.to_str().unwrap());
    let model = root().join(MODEL);
    let m = model.to_str().unwrap();

    // No output asked for: usage, exit 2.
    let (code, kind, msg) = export_error(&["--load", m]);
    assert_eq!((code, kind.as_str()), (2, "usage"), "{msg}");
    assert!(msg.contains("--rust") && msg.contains("--c"), "{msg}");

    // A corrupt file (one flipped byte): model, exit 1, the checksum named.
    let mut bytes = std::fs::read(&model).unwrap();
    bytes[40] ^= 0x10;
    let corrupt = dir.join("corrupt.mprp");
    std::fs::write(&corrupt, &bytes).unwrap();
    let (code, kind, msg) = export_error(&["--load", corrupt.to_str().unwrap(), "--rust", rs]);
    assert_eq!((code, kind.as_str()), (1, "model"), "{msg}");
    assert!(msg.to_lowercase().contains("checksum"), "{msg}");
    // Truncated.
    let cut = dir.join("cut.mprp");
    std::fs::write(&cut, &bytes[..100]).unwrap();
    let (code, kind, msg) = export_error(&["--load", cut.to_str().unwrap(), "--c", h]);
    assert_eq!((code, kind.as_str()), (1, "model"), "{msg}");
    // Missing.
    let (code, kind, _) = export_error(&["--load", "/nonexistent/m.mprp", "--c", h]);
    assert_eq!((code, kind.as_str()), (1, "io"));

    // Layer kinds export does not write: named, model, exit 1.
    for (flags, kind_name) in [
        (&["--batch-norm", "--batch", "4"][..], "batch-norm"),
        (&["--dropout", "0.2"][..], "dropout"),
        (&["--preprocess", "whiten"][..], "whiten"),
    ] {
        let file = dir.join(format!("{kind_name}.mprp"));
        let mut a = vec!["train", "--epochs", "1", "--save", file.to_str().unwrap()];
        a.extend_from_slice(flags);
        let out = sim(&a);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (code, kind, msg) =
            export_error(&["--load", file.to_str().unwrap(), "--rust", rs, "--c", h]);
        assert_eq!((code, kind.as_str()), (1, "model"), "{msg}");
        assert!(msg.contains(&format!("a {kind_name} layer")), "{msg}");
    }

    // A GELU net: Rust yes, C no (no reference for it in the header), named.
    let elu = dir.join("gelu.mprp");
    let out = sim(&[
        "train",
        "--epochs",
        "1",
        "--activation",
        "gelu",
        "--save",
        elu.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let (code, kind, msg) =
        export_error(&["--load", elu.to_str().unwrap(), "--rust", rs, "--c", h]);
    assert_eq!((code, kind.as_str()), (1, "model"), "{msg}");
    assert!(msg.contains("the gelu activation"), "{msg}");
    assert!(
        !out_rs.exists() && !out_h.exists(),
        "a refused export wrote a file"
    );
    let ok = json(&["export", "--load", elu.to_str().unwrap(), "--rust", rs]);
    assert_eq!(ok["written"][0]["path"], rs);
    let text = std::fs::read_to_string(&out_rs).unwrap();
    assert!(text.contains("microprop::Activation::Gelu"), "{text}");
}
