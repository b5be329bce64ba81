//! The model file in both directions: `train --save` then `predict --load` (and the typed
//! network the firmware uses reads the same file); a file written by the typed network,
//! as the device writes it, read back by `predict --load`; networks with batch norm,
//! dropout, standardisation and whitening round-trip with identical outputs; corrupt and
//! old files refused.

mod common;

use common::{json, scratch, sim};
use microprop::format::{self, Extras, Progress, Targets};
use microprop::layer::{Kind, Sequential, Spec};
use microprop::{layers, mlp, Activation, Init, Libm, Network, PcaWhitening};
use microprop_sim::{HostLayer, HostNetwork};

type Net = mlp![f32; 2, 16, 16, 1];

/// `predictions[i].y` of a `train` or `predict` JSON, as the exact numbers printed.
fn ys(v: &serde_json::Value) -> Vec<serde_json::Value> {
    v["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["y"].clone())
        .collect()
}

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
        "--point",
        "1,1",
        "--point",
        "-1,-1",
    ]);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(trained["saved_bytes"].as_u64(), Some(bytes.len() as u64));
    let p = json(&[
        "predict", "--load", file_s, "--point", "1,1", "--point", "-1,-1",
    ]);
    assert_eq!(p["weights_hash"], trained["weights_hash"]);
    assert_eq!(p["layers"], serde_json::json!([2, 16, 16, 1]));
    assert_eq!(
        p["kinds"],
        serde_json::json!(["standardize", "dense", "dense", "dense"])
    );
    assert_eq!(p["optimizer"], "adam");
    assert_eq!(p["preprocess"], "standardize");
    assert_eq!(ys(&p), ys(&trained));
    let y = |i: usize| p["predictions"][i]["y"][0].as_f64().unwrap();
    assert!(y(0) > 0.9 && y(1) < 0.1, "{p}");

    // The firmware's typed network reads the same file, its standardisation layer
    // included, and predicts the same numbers from the raw input.
    type Typed = layers![f32; 2 => standardize, dense 16, dense 16, dense 1];
    let mut net = Typed::zeroed(Activation::Relu, Activation::Sigmoid).unwrap();
    format::load_network(&bytes, &mut net, Targets::none()).unwrap();
    assert_eq!(net.predict(&[1.0, 1.0]).unwrap()[0], y(0) as f32);
}

/// The acceptance line: a model trained with batch norm, dropout and standardisation
/// round-trips through `--save` / `predict --load` with identical outputs.
#[test]
fn batch_norm_dropout_and_standardize_round_trip_with_identical_outputs() {
    let dir = scratch("persist-bn-dropout");
    let file = dir.join("bn.mprp");
    let file_s = file.to_str().unwrap();
    let points = ["1,1", "-1,-0.5", "0.25,2", "3,-3"];
    let mut args = vec![
        "train",
        "--epochs",
        "8",
        "--batch-norm",
        "--dropout",
        "0.2",
        "--batch",
        "8",
        "--preprocess",
        "standardize",
        "--optimizer",
        "adam",
        "--lr",
        "0.01",
        "--save",
        file_s,
    ];
    for p in &points {
        args.extend(["--point", p]);
    }
    let trained = json(&args);
    let mut args = vec!["predict", "--load", file_s];
    for p in &points {
        args.extend(["--point", p]);
    }
    let p = json(&args);
    assert_eq!(ys(&p), ys(&trained), "predict differs from the trained net");
    assert_eq!(p["weights_hash"], trained["weights_hash"]);
    assert_eq!(p["batch_norm"], true);
    assert_eq!(p["dropout"].as_f64(), Some(f64::from(0.2f32)));
    assert_eq!(p["preprocess"], "standardize");
    assert_eq!(
        p["kinds"],
        serde_json::json!([
            "standardize",
            "dense",
            "batch-norm",
            "dropout",
            "dense",
            "batch-norm",
            "dropout",
            "dense"
        ])
    );
    // Batch norm's running statistics and the standardisation are stored state.
    assert_eq!(p["state"], 2 * 2 + 2 * (2 * 16));
    assert_eq!(p["step"], 8 * 25);
}

/// The whitened model: `predict` applies the stored whitening (its output is the
/// trained net's, and differs from the same layers without the whitening).
#[test]
fn a_stored_whitening_is_applied_by_predict() {
    let dir = scratch("persist-whiten");
    let file = dir.join("white.mprp");
    let file_s = file.to_str().unwrap();
    let trained = json(&[
        "train",
        "--epochs",
        "20",
        "--preprocess",
        "whiten",
        "--save",
        file_s,
        "--point",
        "1.5,0.5",
        "--point",
        "-1,-2",
    ]);
    let p = json(&[
        "predict", "--load", file_s, "--point", "1.5,0.5", "--point", "-1,-2",
    ]);
    assert_eq!(p["preprocess"], "whiten");
    assert_eq!(ys(&p), ys(&trained), "predict differs from the trained net");

    // The same file through the library: the first layer is the whitening; the rest of
    // the network on raw inputs gives other outputs, on whitened inputs the same ones.
    let bytes = std::fs::read(&file).unwrap();
    let info = format::read_info(&bytes).unwrap();
    let Spec::Whiten(microprop::layer::WhitenSpec { stats }) = info.layers[0] else {
        panic!("first layer {:?}", info.layers[0]);
    };
    let layers: Vec<HostLayer<f32>> = info
        .layers
        .iter()
        .map(|s| microprop::layer::DynLayer::from_spec(s).unwrap())
        .collect();
    let mut net: HostNetwork<f32, Libm> =
        Network::from_layers(Sequential::new(layers).unwrap()).unwrap();
    format::load_network(&bytes, &mut net, Targets::none()).unwrap();
    let tail: HostNetwork<f32, Libm> =
        Network::from_layers(Sequential::new(net.layers().layers()[1..].to_vec()).unwrap())
            .unwrap();
    let pca = PcaWhitening::from_stats(stats).unwrap();
    for (i, x) in [[1.5f32, 0.5], [-1.0, -2.0]].into_iter().enumerate() {
        // The JSON prints the f32 exactly (shortest round-trip form).
        let y = p["predictions"][i]["y"][0].as_f64().unwrap() as f32;
        let mut full = [0.0f32];
        net.predict_slice(&x, &mut full).unwrap();
        assert_eq!(full[0].to_bits(), y.to_bits());
        let mut raw = [0.0f32];
        tail.predict_slice(&x, &mut raw).unwrap();
        assert_ne!(raw[0], y, "the whitening changes nothing at {x:?}");
        // Whitened by hand (the layer rounds its own way: equal to a few ulps).
        let mut w = x;
        pca.apply(&mut w);
        let mut white = [0.0f32];
        tail.predict_slice(&w, &mut white).unwrap();
        assert!((white[0] - y).abs() < 1e-6, "{} vs {y}", white[0]);
        assert!((raw[0] - y).abs() > 1e-4, "{} vs {y}", raw[0]);
    }
    assert_eq!(info.layers[1].kind(), Kind::Dense);
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
    let mut buf = [0u8; format::network_len::<Net>(None)];
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
    assert_eq!(p["preprocess"], "none");
    assert_eq!(
        p["activations"],
        serde_json::json!(["tanh", "tanh", "sigmoid"])
    );
    let want = net.predict(&[0.5, -0.25]).unwrap()[0];
    assert_eq!(p["predictions"][0]["y"][0].as_f64(), Some(f64::from(want)));
}

#[test]
fn a_corrupt_truncated_or_old_file_is_refused_with_the_reason() {
    let dir = scratch("persist-corrupt");
    let file = dir.join("m.mprp");
    let f = file.to_str().unwrap();
    json(&["train", "--epochs", "2", "--save", f]);
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(&file, &bytes).unwrap();
    let refused = |what: &str| {
        let out = sim(&["predict", "--load", f]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(what), "{err}");
    };
    refused("CRC-32 checksum mismatch");
    std::fs::write(&file, &bytes[..10]).unwrap();
    refused("truncated");
    // A version-1 file (as `train --save` wrote it before format version 2).
    std::fs::write(&file, [b'M', b'P', b'R', b'P', 1, 4, 2, 3, 16, 4]).unwrap();
    refused("unsupported format version 1");
}

/// Issue 10: `predict` at a finite point where the network overflows printed `[inf]` (JSON
/// `null`) or, through a ReLU, a plausible number; now it is an error naming the overflow,
/// and a point that does not overflow still answers.
#[test]
fn predict_refuses_a_point_where_the_network_overflows() {
    let dir = scratch("persist-overflow");
    let file = dir.join("model.mprp");
    let file_s = file.to_str().unwrap();
    json(&[
        "train",
        "--layers",
        "2,8,8,1",
        "--activation",
        "relu",
        "--epochs",
        "2",
        "--save",
        file_s,
    ]);
    let out = sim(&["predict", "--load", file_s, "--point", "3e38,-3e38"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("overflowed"), "{stderr}");
    let fine = json(&["predict", "--load", file_s, "--point", "0.5,0.5"]);
    assert!(fine["predictions"][0]["y"][0].as_f64().unwrap().is_finite());
}
