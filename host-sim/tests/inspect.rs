//! `inspect`: every key of its report on models `train --save` writes (plain, with
//! standardisation and Adam's state, with batch norm and dropout), the byte figures
//! against `train`'s own, an f64 model the core wrote, and the refusals: a corrupted copy
//! (CRC mismatch, still reported from its header), a file that is not a model, a
//! truncated one.

mod common;

use common::{json, scratch, sim};
use microprop::format::{self, Extras};
use microprop::{mlp, Activation, Init, Preprocess, Standardizer};
use microprop_sim::data::{Data, DatasetKind};
use microprop_sim::inspect::{HEADER_KEYS, MODEL_KEYS};
use serde_json::Value;

/// Trains with `args` (plus `--save FILE --json`), returns train's JSON and the file.
fn trained(name: &str, args: &[&str]) -> (Value, std::path::PathBuf) {
    let dir = scratch(&format!("inspect-{name}"));
    let file = dir.join("model.mprp");
    let mut all = vec!["train", "--save", file.to_str().unwrap()];
    all.extend_from_slice(args);
    (json(&all), file)
}

fn inspect(file: &std::path::Path, more: &[&str]) -> Value {
    let mut all = vec!["inspect", file.to_str().unwrap()];
    all.extend_from_slice(more);
    json(&all)
}

fn u(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("not an unsigned integer: {v}"))
}

/// Every key the report documents, and the header's and footprint's agreement with the
/// file and with `train`'s own figures.
fn check_common(v: &Value, t: &Value, file: &std::path::Path) {
    for key in HEADER_KEYS.iter().chain(&MODEL_KEYS) {
        assert!(v.get(*key).is_some(), "missing `{key}` in {v}");
    }
    let bytes = std::fs::read(file).unwrap();
    assert_eq!(v["file"], file.to_str().unwrap());
    assert_eq!(u(&v["file_bytes"]), bytes.len() as u64);
    assert_eq!(u(&v["model_bytes"]), bytes.len() as u64);
    assert_eq!(u(&v["model_bytes"]), u(&t["saved_bytes"]));
    assert_eq!(v["format_version"], 2);
    assert_eq!(v["scalar_bytes"], 4);
    assert_eq!(u(&v["depth"]), v["layers"].as_array().unwrap().len() as u64);
    let stored = u32::from_le_bytes(bytes[bytes.len() - 4..].try_into().unwrap());
    assert_eq!(
        v["crc"],
        serde_json::json!({"status": "ok", "stored": stored, "computed": stored})
    );
    // The counts are train's.
    assert_eq!(v["params"], t["params"]);
    let layer_params: u64 = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| u(&l["params"]))
        .sum();
    assert_eq!(layer_params, u(&v["params"]));
    let layer_state: u64 = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| u(&l["state"]))
        .sum();
    assert_eq!(layer_state, u(&v["state"]));
    assert_eq!(v["inputs"], 2);
    assert_eq!(v["progress"]["step"], t["steps"]);
    // The bytes are the ones train measured on the network it built.
    let b = &v["bytes"];
    assert_eq!(b["run"]["weights"], t["bytes"]);
    assert_eq!(b["train"]["weights"], t["bytes"]);
    assert_eq!(b["train"]["buffers"], t["training_bytes"]);
    assert_eq!(
        u(&b["run"]["total"]),
        u(&b["run"]["weights"]) + u(&b["run"]["buffers"])
    );
    let base = u(&t["bytes"]) + u(&t["training_bytes"]);
    let params = u(&v["params"]);
    let by = &b["train"]["by_optimizer"];
    assert_eq!(by.as_object().unwrap().len(), 7, "{by}");
    for (name, slots) in [
        ("sgd", 0),
        ("momentum", 1),
        ("nesterov", 1),
        ("adagrad", 1),
        ("rmsprop", 1),
        ("adam", 2),
        ("adamw", 2),
    ] {
        assert_eq!(u(&by[name]), base + slots * params * 4, "{name}: {by}");
    }
}

#[test]
fn a_plain_model_is_described_key_by_key() {
    let (t, file) = trained("plain", &["--epochs", "3", "--layers", "2,5,3,1"]);
    let v = inspect(&file, &[]);
    check_common(&v, &t, &file);
    let layers = v["layers"].as_array().unwrap();
    let want = [(2, 5, "relu", 15), (5, 3, "relu", 18), (3, 1, "sigmoid", 4)];
    assert_eq!(layers.len(), want.len());
    for (l, (i, o, act, p)) in layers.iter().zip(want) {
        assert_eq!(l["kind"], "dense");
        assert_eq!((u(&l["inputs"]), u(&l["outputs"])), (i, o));
        assert_eq!(l["activation"], act);
        assert_eq!(u(&l["params"]), p);
        assert_eq!(l["state"], 0);
    }
    assert_eq!(v["outputs"], 1);
    assert_eq!(v["params"], 37);
    assert_eq!(v["state"], 0);
    assert_eq!(v["preprocess"], Value::Null);
    // `train` always stores its optimizer's state: SGD's is empty.
    assert_eq!(v["has_optimizer"], true);
    assert_eq!(v["optimizer"]["name"], "sgd");
    assert_eq!(v["optimizer"]["state_len"], 0);
    // The optimizer's own step counter, as stored (SGD keeps none).
    assert_eq!(v["optimizer"]["steps"], 0);
    assert_eq!(v["progress"]["epoch"], 3);
    // Inference holds the input, the output row, the rows so far and the running layer's
    // scratch: at the first layer 2 + 1 + 5 + 5 scalars, at the second 2 + 1 + 5 + 3 + 3
    // (the peak), at the last 2 + 5 + 3 + 1 + 1.
    assert_eq!(v["bytes"]["run"]["buffers"], 14 * 4);
    // No batch norm: one row of buffers whatever the batch.
    assert_eq!(v["bytes"]["train"]["rows"], 1);
    assert_eq!(v["bytes"]["train"]["batch"], 8);
    let text = sim(&["inspect", file.to_str().unwrap()]);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("CRC ok") && text.contains("sigmoid"),
        "{text}"
    );
}

#[test]
fn standardisation_and_adam_state_are_reported_with_their_values() {
    let (t, file) = trained(
        "standardize",
        &[
            "--epochs",
            "4",
            "--preprocess",
            "standardize",
            "--optimizer",
            "adam",
            "--lr",
            "0.01",
            "--seed",
            "5",
        ],
    );
    let v = inspect(&file, &[]);
    check_common(&v, &t, &file);
    let p = &v["preprocess"];
    assert_eq!(p["kind"], "standardize");
    assert_eq!(p["mode"], "standardize");
    assert_eq!(p["count"], 200);
    // The values fitted on train's data: its generator draws the data first.
    let mut rng = microprop::rng(5);
    let data = Data::generate(
        DatasetKind::Clusters,
        200,
        2,
        DatasetKind::Clusters.default_spread(),
        &mut rng,
    )
    .unwrap();
    let s = Standardizer::<f32, 2>::fit(Preprocess::Standardize, &pairs(&data.x)).unwrap();
    for i in 0..2 {
        let mean = p["mean"][i].as_f64().unwrap();
        let var = p["variance"][i].as_f64().unwrap();
        assert_eq!(mean, f64::from(s.mean()[i]), "{p}");
        assert_eq!(var, f64::from(s.variance()[i]), "{p}");
        // (serde_json's float parsing may be one unit in the last place off.)
        let std = p["std"][i].as_f64().unwrap();
        assert!(
            (std - var.sqrt()).abs() <= 1e-15 * std,
            "{std} vs {}",
            var.sqrt()
        );
    }
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers[0]["kind"], "standardize");
    assert_eq!(layers[0]["activation"], Value::Null);
    assert_eq!(layers[0]["state"], 4);
    assert_eq!(v["state"], 4);
    let o = &v["optimizer"];
    assert_eq!(o["name"], "adam");
    assert_eq!(u(&o["state_len"]), 2 * u(&v["params"]));
    assert_eq!(o["steps"], t["steps"]);
    assert_eq!(o["learning_rate"].as_f64().unwrap(), f64::from(0.01f32));
    assert_eq!(v["progress"]["epoch"], 4);
}

#[test]
fn batch_norm_and_dropout_layers_and_the_batch_their_buffers_hold() {
    let args = [
        "--epochs",
        "2",
        "--batch-norm",
        "--dropout",
        "0.25",
        "--batch",
        "10",
    ];
    let (t, file) = trained("bn", &args);
    let v = inspect(&file, &["--batch", "10"]);
    check_common(&v, &t, &file);
    let kinds: Vec<&str> = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "dense",
            "batch-norm",
            "dropout",
            "dense",
            "batch-norm",
            "dropout",
            "dense"
        ]
    );
    let l = &v["layers"];
    assert_eq!(l[0]["activation"], "identity");
    assert_eq!(l[1]["activation"], "relu");
    assert_eq!(l[1]["params"], 32);
    assert_eq!(l[1]["state"], 32);
    assert_eq!(l[1]["momentum"].as_f64().unwrap() as f32, 0.1);
    assert_eq!(l[1]["eps"].as_f64().unwrap() as f32, 1e-5);
    assert_eq!(l[2]["p"].as_f64().unwrap() as f32, 0.25);
    assert_eq!(l[2]["activation"], Value::Null);
    assert_eq!(v["state"], 64);
    assert_eq!(v["bytes"]["train"]["rows"], 10);
    // Another batch, other buffers: the rows scale with it.
    let w = inspect(&file, &["--batch", "4"]);
    assert_eq!(w["bytes"]["train"]["rows"], 4);
    let rows = 2 + 2 * (16 * 6 + 1);
    assert_eq!(
        u(&v["bytes"]["train"]["buffers"]) - u(&w["bytes"]["train"]["buffers"]),
        6 * rows * 4
    );
    assert_eq!(w["bytes"]["run"], v["bytes"]["run"]);
}

/// What a corrupted copy, a non-model and a truncated model give: exit 1, kind `model`,
/// and for the corrupted copy the header's keys with both CRCs.
#[test]
fn a_corrupted_copy_is_reported_from_its_header_and_refused() {
    let (_, file) = trained("corrupt", &["--epochs", "2"]);
    let good = inspect(&file, &[]);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[100] ^= 0x04;
    let bad = file.with_file_name("corrupt.mprp");
    std::fs::write(&bad, &bytes).unwrap();
    let out = sim(&["inspect", bad.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "model");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("corrupt.mprp") && msg.contains("CRC mismatch"),
        "{msg}"
    );
    for key in HEADER_KEYS {
        assert!(v.get(key).is_some(), "missing `{key}` in {v}");
        if !matches!(key, "file" | "crc") {
            assert_eq!(v[key], good[key], "{key}");
        }
    }
    for key in MODEL_KEYS {
        assert!(
            v.get(key).is_none(),
            "`{key}` reported for a corrupt file: {v}"
        );
    }
    assert_eq!(v["crc"]["status"], "mismatch");
    assert_eq!(v["crc"]["stored"], good["crc"]["stored"]);
    assert_ne!(v["crc"]["computed"], v["crc"]["stored"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("CRC mismatch"));
    // Without --json: the header's line, then the error, exit 1.
    let out = sim(&["inspect", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("CRC MISMATCH"));

    // Not a model at all, and a truncated one: model errors with no keys.
    let junk = file.with_file_name("junk.txt");
    std::fs::write(&junk, b"hello, not a model\n").unwrap();
    let short = file.with_file_name("short.mprp");
    std::fs::write(&short, &bytes[..bytes.len() / 2]).unwrap();
    for (path, what) in [(&junk, "bad magic"), (&short, "truncated")] {
        let out = sim(&["inspect", path.to_str().unwrap(), "--json"]);
        assert_eq!(out.status.code(), Some(1), "{path:?}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
        assert_eq!(v["error"]["kind"], "model");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains("not a microprop model") && msg.contains(what),
            "{msg}"
        );
    }
    // A missing file is io; a bad flag usage.
    let out = sim(&["inspect", "/nonexistent/m.mprp", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "io");
    let out = sim(&["inspect", file.to_str().unwrap(), "--batch", "0", "--json"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_f64_model_is_described_without_the_f32_footprint() {
    type Net = mlp![f64; 2, 3, 1];
    let mut rng = microprop::rng(3);
    let net = Net::new(
        Activation::Tanh,
        Activation::Sigmoid,
        Init::XavierUniform,
        0.0,
        &mut rng,
    )
    .unwrap();
    let mut buf = [0u8; format::network_len::<Net>(None)];
    let n = format::save_network(&net, &Extras::none(), &mut buf).unwrap();
    let dir = scratch("inspect-f64");
    let file = dir.join("f64.mprp");
    std::fs::write(&file, &buf[..n]).unwrap();
    let v = inspect(&file, &[]);
    assert_eq!(v["scalar_bytes"], 8);
    assert_eq!(v["has_optimizer"], false);
    assert_eq!(v["optimizer"], Value::Null);
    assert_eq!(v["params"], 13);
    assert_eq!(v["layers"][0]["activation"], "tanh");
    assert_eq!(v["bytes"], Value::Null);
    assert_eq!(u(&v["model_bytes"]), n as u64);
}

#[test]
fn the_help_documents_every_key() {
    let out = sim(&["inspect", "--help"]);
    let help = String::from_utf8(out.stdout).unwrap();
    for key in HEADER_KEYS.iter().chain(&MODEL_KEYS).chain(&[
        "by_optimizer",
        "mismatch",
        "variance",
        "covariance",
        "state_len",
        "learning_rate",
    ]) {
        assert!(help.contains(key), "`{key}` not in the help");
    }
}

#[test]
fn whitening_is_reported_with_its_fitted_statistics() {
    let (t, file) = trained(
        "whiten",
        &["--epochs", "2", "--preprocess", "whiten", "--seed", "9"],
    );
    let v = inspect(&file, &[]);
    check_common(&v, &t, &file);
    let mut rng = microprop::rng(9);
    let data = Data::generate(
        DatasetKind::Clusters,
        200,
        2,
        DatasetKind::Clusters.default_spread(),
        &mut rng,
    )
    .unwrap();
    let s = microprop::PcaWhitening::fit(microprop_sim::train::WHITEN_EPS, &pairs(&data.x))
        .unwrap()
        .stats();
    let p = &v["preprocess"];
    assert_eq!(p["kind"], "whiten");
    assert_eq!(p["count"], 200);
    let close = |a: &Value, b: f64| (a.as_f64().unwrap() - b).abs() <= 1e-15 * b.abs().max(1.0);
    for i in 0..2 {
        assert!(close(&p["mean"][i], s.mean[i]), "{p}");
    }
    for i in 0..3 {
        assert!(close(&p["covariance"][i], s.cov[i]), "{p}");
    }
    assert!(close(&p["eps"], 1e-5), "{p}");
    assert_eq!(v["layers"][0]["kind"], "whiten");
    assert_eq!(v["layers"][0]["state"], 0);
}

/// CRC-32 (ISO-HDLC), bit by bit: to make a file whose checksum is right and whose
/// contents are not.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn a_file_refused_past_its_checksum_keeps_the_header_keys() {
    let (_, file) = trained("badspec", &["--epochs", "1", "--layers", "2,3,1"]);
    let mut bytes = std::fs::read(&file).unwrap();
    let n = bytes.len();
    assert_eq!(
        crc32(&bytes[..n - 4]).to_le_bytes(),
        bytes[n - 4..],
        "the CRC as the format's"
    );
    // The first layer's activation code (after the kind code and two u32 sizes): unknown.
    bytes[16 + 1 + 8] = 200;
    let crc = crc32(&bytes[..n - 4]);
    bytes[n - 4..].copy_from_slice(&crc.to_le_bytes());
    let bad = file.with_file_name("badspec.mprp");
    std::fs::write(&bad, &bytes).unwrap();
    let out = sim(&["inspect", bad.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "model");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("malformed"),
        "{v}"
    );
    assert_eq!(v["crc"]["status"], "ok");
    assert_eq!(v["crc"]["stored"], crc);
    for key in HEADER_KEYS {
        assert!(v.get(key).is_some(), "missing `{key}` in {v}");
    }
    for key in MODEL_KEYS {
        assert!(
            v.get(key).is_none(),
            "`{key}` reported for a refused file: {v}"
        );
    }
}

/// A generated data set's flat rows as the 2-feature samples the core's fits take.
fn pairs(x: &[f32]) -> Vec<[f32; 2]> {
    x.chunks_exact(2).map(|c| [c[0], c[1]]).collect()
}
