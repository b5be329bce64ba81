//! `import --safetensors`: the committed PyTorch models (`tests/pytorch/`, written by
//! `make_sequential.py`) imported and run by `predict`, against PyTorch's outputs in
//! `golden.json`; metadata against flags; and every refusal with its exit code, kind and
//! the key it names.
//!
//! The bound: `|y_microprop − y_torch| ≤ 8 · 2⁻²³ · max(1, |y_torch|)` per output (8 units
//! in the last place of an f32 of magnitude ≤ 1: the two libraries sum the dot products in
//! different orders and use different `exp`/`tanh`/`erf`, so bit-identity is not
//! expected; measured at most 2.4 · 10⁻⁷, on the GELU model's identity outputs).

mod common;

use std::path::{Path, PathBuf};

use common::{json, scratch, sim};
use serde_json::Value;

const BOUND_ULPS: f64 = 8.0;

fn pytorch_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pytorch")
}

fn golden() -> Value {
    let text = std::fs::read_to_string(pytorch_dir().join("golden.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `predict --load model` on `points`: the outputs.
fn predict(model: &Path, points: &[Value]) -> Vec<Vec<f64>> {
    let mut args: Vec<String> = vec![
        "predict".into(),
        "--load".into(),
        model.display().to_string(),
    ];
    for p in points {
        let xs: Vec<String> = p
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.to_string())
            .collect();
        args.push("--point".into());
        args.push(xs.join(","));
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
                .map(|y| y.as_f64().unwrap())
                .collect()
        })
        .collect()
}

/// The largest |Δ| of `got` against PyTorch's `want`, asserting the bound on each output.
fn max_delta(name: &str, got: &[Vec<f64>], want: &Value) -> f64 {
    let want = want.as_array().unwrap();
    assert_eq!(got.len(), want.len(), "{name}: points");
    let mut max = 0.0f64;
    for (g, w) in got.iter().zip(want) {
        let w = w.as_array().unwrap();
        assert_eq!(g.len(), w.len(), "{name}: outputs");
        for (&a, b) in g.iter().zip(w) {
            let b = b.as_f64().unwrap();
            let d = (a - b).abs();
            let bound = BOUND_ULPS * f64::from(f32::EPSILON) * b.abs().max(1.0);
            assert!(
                d <= bound,
                "{name}: {a} vs PyTorch's {b}: |Δ| {d:e} > {bound:e}"
            );
            max = max.max(d);
        }
    }
    max
}

fn import(src: &Path, out: &Path, flags: &[&str]) -> Value {
    let mut args = vec![
        "import",
        "--safetensors",
        src.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(flags);
    json(&args)
}

#[test]
fn every_committed_pytorch_model_predicts_as_pytorch_does() {
    let g = golden();
    let dir = scratch("import-golden");
    let models = g["models"].as_object().unwrap();
    assert_eq!(models.len(), 3);
    for (name, m) in models {
        let src = pytorch_dir().join(m["file"].as_str().unwrap());
        let out = dir.join(format!("{name}.mprp"));
        let v = import(&src, &out, &[]);
        assert_eq!(v["metadata"], m["sequential"]);
        assert!(v["activation_sources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s == "metadata"));
        assert_eq!(v["dtypes"], serde_json::json!(["F32"]));
        assert_eq!(
            v["saved_bytes"].as_u64().unwrap(),
            std::fs::metadata(&out).unwrap().len()
        );
        let got = predict(&out, m["points"].as_array().unwrap());
        let d = max_delta(name, &got, &m["outputs"]);
        eprintln!("{name}: max |Δ| vs PyTorch {d:e}");
        // The file is a plain model: no optimizer state, progress zero.
        let i = json(&["inspect", out.to_str().unwrap()]);
        assert_eq!(i["has_optimizer"], false);
        assert_eq!(i["progress"], serde_json::json!({"epoch": 0, "step": 0}));
        assert_eq!(i["params"], v["params"]);
    }
    // The activations as the metadata names them, by their CLI spelling.
    let v = import(
        &pytorch_dir().join("leaky_elu_softmax.safetensors"),
        &dir.join("les.mprp"),
        &[],
    );
    assert_eq!(
        v["activations"],
        serde_json::json!(["leaky-relu:0.1", "elu:0.5", "softmax"])
    );
    assert_eq!(v["layers"], serde_json::json!([3, 16, 8, 4]));
    assert_eq!(v["indices"], serde_json::json!([0, 2, 4]));
    let v = import(
        &pytorch_dir().join("gelu_linear.safetensors"),
        &dir.join("gl.mprp"),
        &[],
    );
    assert_eq!(v["activations"], serde_json::json!(["gelu", "identity"]));
}

// ---------------------------------------------------------------------------------------
// Hand-made safetensors files.

/// One tensor of a hand-made file: key, dtype, shape, raw little-endian bytes.
struct T {
    key: String,
    dtype: &'static str,
    shape: Vec<usize>,
    data: Vec<u8>,
}

fn f32s(key: &str, shape: &[usize], v: &[f32]) -> T {
    T {
        key: key.into(),
        dtype: "F32",
        shape: shape.to_vec(),
        data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

/// A linear layer `index` of `inputs → outputs` with small distinct values.
fn linear(index: usize, inputs: usize, outputs: usize) -> [T; 2] {
    let w: Vec<f32> = (0..inputs * outputs)
        .map(|i| ((i % 7) as f32 - 3.0) * 0.125)
        .collect();
    let b: Vec<f32> = (0..outputs).map(|i| i as f32 * 0.25 - 0.5).collect();
    [
        f32s(&format!("{index}.weight"), &[outputs, inputs], &w),
        f32s(&format!("{index}.bias"), &[outputs], &b),
    ]
}

/// The safetensors bytes: 8-byte header length, JSON header, data.
fn safetensors(tensors: &[T], metadata: Option<&str>) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for t in tensors {
        let start = data.len();
        data.extend_from_slice(&t.data);
        header.insert(
            t.key.clone(),
            serde_json::json!({"dtype": t.dtype, "shape": t.shape, "data_offsets": [start, data.len()]}),
        );
    }
    if let Some(m) = metadata {
        header.insert(
            "__metadata__".into(),
            serde_json::json!({ "microprop.sequential": m }),
        );
    }
    let mut h = serde_json::to_vec(&Value::Object(header)).unwrap();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&h);
    out.extend_from_slice(&data);
    out
}

/// A 2-3-1 net (indices 0 and 2) with its tensors.
fn two_layers() -> Vec<T> {
    linear(0, 2, 3).into_iter().chain(linear(2, 3, 1)).collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Runs `import` expecting failure: (exit code, kind, message).
fn refused(src: &Path, flags: &[&str]) -> (i32, String, String) {
    let out_path = src.with_extension("mprp");
    let mut args = vec![
        "import",
        "--safetensors",
        src.to_str().unwrap(),
        "--out",
        out_path.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(flags);
    let out = sim(&args);
    assert!(!out.status.success(), "{src:?} was accepted");
    assert!(
        !out_path.exists(),
        "{src:?}: a refused import wrote {out_path:?}"
    );
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (
        out.status.code().unwrap(),
        v["error"]["kind"].as_str().unwrap().to_string(),
        v["error"]["message"].as_str().unwrap().to_string(),
    )
}

fn assert_model_error(dir: &Path, name: &str, bytes: &[u8], flags: &[&str], needles: &[&str]) {
    let src = write(dir, name, bytes);
    let (code, kind, msg) = refused(&src, flags);
    assert_eq!((code, kind.as_str()), (1, "model"), "{name}: {msg}");
    for n in needles {
        assert!(msg.contains(n), "{name}: `{n}` not in: {msg}");
    }
}

#[test]
fn flags_override_the_metadata_and_stand_in_for_it() {
    let dir = scratch("import-flags");
    let g = golden();
    let m = &g["models"]["relu_tanh_sigmoid"];
    let src = pytorch_dir().join("relu_tanh_sigmoid.safetensors");
    // --output only: the hidden layers keep the metadata's.
    let v = import(&src, &dir.join("a.mprp"), &["--output", "identity"]);
    assert_eq!(
        v["activations"],
        serde_json::json!(["relu", "tanh", "identity"])
    );
    assert_eq!(
        v["activation_sources"],
        serde_json::json!(["metadata", "metadata", "flag"])
    );
    // --activation: every hidden layer.
    let v = import(&src, &dir.join("b.mprp"), &["--activation", "elu:0.3"]);
    assert_eq!(
        v["activations"],
        serde_json::json!(["elu:0.3", "elu:0.3", "sigmoid"])
    );
    assert_eq!(
        v["activation_sources"],
        serde_json::json!(["flag", "flag", "metadata"])
    );
    // The overridden model computes something else than PyTorch's.
    let got = predict(&dir.join("b.mprp"), m["points"].as_array().unwrap());
    let want: Vec<f64> = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o[0].as_f64().unwrap())
        .collect();
    assert!(got.iter().zip(&want).any(|(g, w)| (g[0] - w).abs() > 1e-3));

    // The same tensors without metadata: both flags are needed.
    let bytes = std::fs::read(&src).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names = st.names();
    names.sort();
    let tensors: Vec<T> = names
        .iter()
        .map(|n| {
            let t = st.tensor(n).unwrap();
            T {
                key: n.to_string(),
                dtype: "F32",
                shape: t.shape().to_vec(),
                data: t.data().to_vec(),
            }
        })
        .collect();
    let bare = write(&dir, "bare.safetensors", &safetensors(&tensors, None));
    for flags in [
        &[][..],
        &["--output", "sigmoid"][..],
        &["--activation", "relu"][..],
    ] {
        let (code, kind, msg) = refused(&bare, flags);
        assert_eq!((code, kind.as_str()), (2, "usage"), "{flags:?}: {msg}");
        assert!(
            msg.contains("microprop.sequential") && msg.contains("--"),
            "{msg}"
        );
    }
    // ReLU on both hidden layers (the metadata has Tanh on the second): not PyTorch's.
    let v = import(
        &bare,
        &dir.join("bare.mprp"),
        &["--activation", "relu", "--output", "sigmoid"],
    );
    assert_eq!(v["metadata"], Value::Null);
    assert_eq!(
        v["activation_sources"],
        serde_json::json!(["flag", "flag", "flag"])
    );
    // A metadata-free single Linear needs only --output.
    let one = write(
        &dir,
        "one.safetensors",
        &safetensors(&linear(0, 2, 2), None),
    );
    let v = import(&one, &dir.join("one.mprp"), &["--output", "softmax"]);
    assert_eq!(v["activations"], serde_json::json!(["softmax"]));
    // The same tensors re-written by this test's writer with the metadata: PyTorch's
    // model again (the hand-made files above are sound).
    let mut meta_as_flags = tensors;
    meta_as_flags.sort_by(|a, b| a.key.cmp(&b.key));
    let again = write(
        &dir,
        "again.safetensors",
        &safetensors(
            &meta_as_flags,
            Some("Linear,ReLU,Linear,Tanh,Linear,Sigmoid"),
        ),
    );
    import(&again, &dir.join("again.mprp"), &[]);
    let got = predict(&dir.join("again.mprp"), m["points"].as_array().unwrap());
    max_delta("again", &got, &m["outputs"]);
}

#[test]
fn bad_files_are_model_errors_naming_the_key() {
    let dir = scratch("import-refusals");
    let meta = Some("Linear,ReLU,Linear,Sigmoid");
    // Missing bias, missing weight.
    let mut t = two_layers();
    t.retain(|t| t.key != "2.bias");
    assert_model_error(
        &dir,
        "nobias.safetensors",
        &safetensors(&t, meta),
        &[],
        &["`2.bias`"],
    );
    let mut t = two_layers();
    t.retain(|t| t.key != "2.weight");
    assert_model_error(
        &dir,
        "noweight.safetensors",
        &safetensors(&t, meta),
        &[],
        &["`2.weight`"],
    );
    // Sizes that do not chain: 2→3 then 4→1.
    let t: Vec<T> = linear(0, 2, 3).into_iter().chain(linear(2, 4, 1)).collect();
    assert_model_error(
        &dir,
        "chain.safetensors",
        &safetensors(&t, meta),
        &[],
        &["`2.weight`", "4 inputs", "3 outputs"],
    );
    // A bias of the wrong length.
    let mut t = two_layers();
    t[1] = f32s("0.bias", &[2], &[0.0, 1.0]);
    assert_model_error(
        &dir,
        "biaslen.safetensors",
        &safetensors(&t, meta),
        &[],
        &["`0.bias`", "[3]"],
    );
    // A weight that is not 2-D.
    let mut t = two_layers();
    t[0] = f32s("0.weight", &[6], &[0.5; 6]);
    assert_model_error(
        &dir,
        "flat.safetensors",
        &safetensors(&t, meta),
        &[],
        &["`0.weight`", "2-D"],
    );
    let mut t = two_layers();
    t[0] = f32s("0.weight", &[3, 2, 1], &[0.5; 6]);
    assert_model_error(
        &dir,
        "cube.safetensors",
        &safetensors(&t, meta),
        &[],
        &["`0.weight`", "2-D"],
    );
    // Non-finite values.
    for (bad, what) in [(f32::NAN, "NaN"), (f32::INFINITY, "inf")] {
        let mut t = two_layers();
        let mut w = vec![0.5f32; 3];
        w[1] = bad;
        t[2] = f32s("2.weight", &[1, 3], &w);
        assert_model_error(
            &dir,
            &format!("nonfinite-{what}.safetensors"),
            &safetensors(&t, meta),
            &[],
            &["`2.weight`", "element 1", "not finite"],
        );
    }
    // Unknown classes and bad parameters in the metadata.
    for (m, needle) in [
        ("Linear,Swish,Linear,Sigmoid", "`Swish`"),
        ("Linear,LeakyReLU(x),Linear,Sigmoid", "LeakyReLU(x)"),
        ("Linear,ReLU,Linear,Softmax(0)", "dim 0"),
        ("ReLU,Linear,Linear,Sigmoid", "`ReLU`"),
        ("Linear,Softmax,Linear,Sigmoid", "hidden layer"),
    ] {
        assert_model_error(
            &dir,
            "meta.safetensors",
            &safetensors(&two_layers(), Some(m)),
            &[],
            &["microprop.sequential", needle],
        );
    }
    // Two activations in a row, one before the first Linear (Linear modules at 0 and 3,
    // then at 1 and 3).
    let t: Vec<T> = linear(0, 2, 3).into_iter().chain(linear(3, 3, 1)).collect();
    assert_model_error(
        &dir,
        "twice.safetensors",
        &safetensors(&t, Some("Linear,ReLU,Tanh,Linear,Sigmoid")),
        &[],
        &["entry 2", "`Tanh`", "follows another activation"],
    );
    let t: Vec<T> = linear(1, 2, 3).into_iter().chain(linear(3, 3, 1)).collect();
    assert_model_error(
        &dir,
        "first.safetensors",
        &safetensors(&t, Some("ReLU,Linear,Tanh,Linear")),
        &[],
        &["entry 0", "before the first Linear"],
    );
    // The metadata's Linear modules must sit where the tensors are.
    assert_model_error(
        &dir,
        "misplaced.safetensors",
        &safetensors(&two_layers(), Some("Linear,Linear,ReLU,Sigmoid")),
        &[],
        &["entry 1", "`1.weight`"],
    );
    // Flags do not excuse bad metadata (it is still a claim about the file).
    assert_model_error(
        &dir,
        "meta-flags.safetensors",
        &safetensors(&two_layers(), Some("Linear,Swish,Linear,Sigmoid")),
        &["--activation", "relu", "--output", "sigmoid"],
        &["`Swish`"],
    );
    // No layers; too many layers; a key that is not a Linear's.
    assert_model_error(
        &dir,
        "empty.safetensors",
        &safetensors(&[], None),
        &[],
        &["no layers"],
    );
    let deep: Vec<T> = (0..33).flat_map(|i| linear(i, 2, 2)).collect();
    assert_model_error(
        &dir,
        "deep.safetensors",
        &safetensors(&deep, None),
        &["--activation", "relu", "--output", "sigmoid"],
        &["33 Linear layers", "at most 32"],
    );
    let mut t = two_layers();
    t.push(f32s("1.running_mean", &[3], &[0.0; 3]));
    assert_model_error(
        &dir,
        "extra.safetensors",
        &safetensors(&t, meta),
        &[],
        &["`1.running_mean`"],
    );
    // Element types: I32 refused; F64 refused unless every value is an f32.
    let mut t = two_layers();
    t[3] = T {
        key: "2.bias".into(),
        dtype: "I32",
        shape: vec![1],
        data: 1i32.to_le_bytes().to_vec(),
    };
    assert_model_error(
        &dir,
        "i32.safetensors",
        &safetensors(&t, meta),
        &[],
        &["`2.bias`", "I32"],
    );
    let mut t = two_layers();
    t[3] = T {
        key: "2.bias".into(),
        dtype: "F64",
        shape: vec![1],
        data: 0.1f64.to_le_bytes().to_vec(),
    };
    assert_model_error(
        &dir,
        "f64.safetensors",
        &safetensors(&t, meta),
        &[],
        &["`2.bias`", "not exactly an f32"],
    );
    // Not a safetensors file at all.
    assert_model_error(
        &dir,
        "junk.safetensors",
        b"not a safetensors file",
        &[],
        &["not a safetensors file"],
    );
}

#[test]
fn f16_bf16_and_exact_f64_are_widened_exactly() {
    let dir = scratch("import-dtypes");
    let meta = Some("Linear,Tanh,Linear,Identity");
    let base = two_layers();
    let reference = write(&dir, "f32.safetensors", &safetensors(&base, meta));
    let want = import(&reference, &dir.join("f32.mprp"), &[]);
    for dtype in ["F16", "BF16", "F64"] {
        // The values (multiples of 1/8 below 4) are exact in every type.
        let t: Vec<T> = base
            .iter()
            .map(|t| {
                let v: Vec<f32> = t
                    .data
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                    .collect();
                let data: Vec<u8> = match dtype {
                    "F16" => v
                        .iter()
                        .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
                        .collect(),
                    "BF16" => v
                        .iter()
                        .flat_map(|&x| half::bf16::from_f32(x).to_le_bytes())
                        .collect(),
                    _ => v.iter().flat_map(|&x| f64::from(x).to_le_bytes()).collect(),
                };
                T {
                    key: t.key.clone(),
                    dtype,
                    shape: t.shape.clone(),
                    data,
                }
            })
            .collect();
        let src = write(
            &dir,
            &format!("{dtype}.safetensors"),
            &safetensors(&t, meta),
        );
        let v = import(&src, &dir.join(format!("{dtype}.mprp")), &[]);
        assert_eq!(v["dtypes"], serde_json::json!([dtype]));
        assert_eq!(v["weights_hash"], want["weights_hash"], "{dtype}");
    }
}

#[test]
fn bad_flags_are_usage_errors() {
    let dir = scratch("import-usage");
    let src = pytorch_dir().join("relu_tanh_sigmoid.safetensors");
    let out = dir.join("m.mprp");
    let run = |extra: &[&str]| {
        let mut args = vec!["import", "--safetensors", src.to_str().unwrap(), "--json"];
        args.extend_from_slice(extra);
        sim(&args)
    };
    for extra in [
        &["--out", out.to_str().unwrap(), "--activation", "softmax"][..],
        &["--out", out.to_str().unwrap(), "--output", "swish"][..],
        &["--out", "/nonexistent-dir/m.mprp"][..],
        &[][..],
    ] {
        let o = run(extra);
        assert_eq!(o.status.code(), Some(2), "{extra:?}");
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["error"]["kind"], "usage", "{extra:?}");
    }
    // A missing input file is io.
    let o = sim(&[
        "import",
        "--safetensors",
        "/nonexistent/x.safetensors",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "io");
}
