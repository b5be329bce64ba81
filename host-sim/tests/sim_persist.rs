//! The model file in both directions: `train --save` then `predict --load` (and the typed
//! network the firmware uses reads the same file); a file written by the typed network,
//! as the device writes it, read back by `predict --load`; corrupt files refused.

mod common;

use common::{json, scratch, sim};
use microprop::format::{self, Extras, Progress, Targets};
use microprop::{mlp, Activation, Init, Preprocess, Standardizer};

type Net = mlp![f32; 2, 16, 16, 1];

#[test]
fn train_save_then_predict_load_gives_the_same_weights_and_predictions() {
    let dir = scratch("persist-roundtrip");
    let file = dir.join("model.mprp");
    let file_s = file.to_str().unwrap();
    let trained = json(&[
        "train",
        "--epochs",
        "30",
        "--optimizer",
        "adam",
        "--lr",
        "0.01",
        "--preprocess",
        "standardize",
        "--save",
        file_s,
    ]);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(trained["saved_bytes"].as_u64(), Some(bytes.len() as u64));
    let p = json(&[
        "predict", "--load", file_s, "--point", "1,1", "--point", "-1,-1",
    ]);
    assert_eq!(p["weights_hash"], trained["weights_hash"]);
    assert_eq!(p["layers"], serde_json::json!([2, 16, 16, 1]));
    assert_eq!(p["optimizer"], "adam");
    assert_eq!(p["preprocess"], "standardize");
    let y = |i: usize| p["predictions"][i]["y"][0].as_f64().unwrap();
    assert!(y(0) > 0.9 && y(1) < 0.1, "{p}");

    // The firmware's typed network reads the same file, statistics included, and
    // predicts the same numbers.
    let mut net = Net::zeroed(Activation::Relu, Activation::Sigmoid).unwrap();
    let mut stats = Standardizer::<f32, 2>::new(Preprocess::None);
    format::load_network(
        &bytes,
        &mut net,
        Targets {
            preprocess: Some(&mut stats),
            ..Targets::none()
        },
    )
    .unwrap();
    let mut x = [1.0f32, 1.0];
    stats.apply::<microprop::Libm>(&mut x);
    assert_eq!(f64::from(net.predict(&x).unwrap()[0]), y(0));
}

#[test]
fn predict_loads_what_the_typed_network_of_the_device_wrote() {
    let mut rng = microprop::rng(5);
    let net = Net::new(
        Activation::Tanh,
        Activation::Sigmoid,
        Init::XavierUniform,
        0.0,
        &mut rng,
    )
    .unwrap();
    let mut buf = [0u8; format::network_len::<Net>(None, None)];
    let extras = Extras {
        progress: Progress {
            epoch: 12,
            step: 300,
        },
        ..Extras::none()
    };
    let n = format::save_network(&net, &extras, &mut buf).unwrap();
    let dir = scratch("persist-device");
    let file = dir.join("device.mprp");
    std::fs::write(&file, &buf[..n]).unwrap();
    let p = json(&[
        "predict",
        "--load",
        file.to_str().unwrap(),
        "--point",
        "0.5,-0.25",
    ]);
    let hash = net.weights_hash();
    assert_eq!(p["weights_hash"], format!("{hash:016x}"));
    assert_eq!(p["epoch"], 12);
    assert_eq!(
        p["activations"],
        serde_json::json!(["tanh", "tanh", "sigmoid"])
    );
    let want = net.predict(&[0.5, -0.25]).unwrap()[0];
    assert_eq!(p["predictions"][0]["y"][0].as_f64(), Some(f64::from(want)));
}

#[test]
fn a_corrupt_or_truncated_file_is_refused_with_the_reason() {
    let dir = scratch("persist-corrupt");
    let file = dir.join("m.mprp");
    let f = file.to_str().unwrap();
    json(&["train", "--epochs", "2", "--save", f]);
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(&file, &bytes).unwrap();
    let out = sim(&["predict", "--load", f]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("CRC-32 checksum mismatch"), "{err}");
    std::fs::write(&file, &bytes[..10]).unwrap();
    let out = sim(&["predict", "--load", f]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated or malformed"));
}
