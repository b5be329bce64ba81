//! Training on a CSV file (issue 15, "your data in"): `train --data FILE.csv` on Fisher's
//! iris reaches its validation accuracy over many seeds, the preprocessing is fitted on
//! the training rows only, bad files are usage errors naming the line and the column,
//! `--val-fraction` splits reproducibly (on generated data too), and a model trained from
//! CSV is saved and loaded with four-value points.

mod common;

use std::path::{Path, PathBuf};

use common::{f, json, scratch, sim};
use microprop::format::{self, Targets};
use microprop::layer::{DynLayer, Kind};
use microprop::Libm;
use microprop_sim::cli::{DatasetArg, HiddenAct};
use microprop_sim::{net, report::train_args, train, HostNetwork};

/// The iris file of the repository.
fn iris() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data/iris/iris.csv")
        .to_str()
        .unwrap()
        .to_string()
}

/// The iris rows: four features and the label.
fn iris_rows() -> Vec<([f64; 4], u8)> {
    let text = std::fs::read_to_string(iris()).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Vec<&str> = l.split(',').collect();
            assert_eq!(v.len(), 5, "{l}");
            let x = std::array::from_fn(|k| v[k].trim().parse::<f64>().unwrap());
            (x, v[4].trim().parse::<u8>().unwrap())
        })
        .collect()
}

/// The flags of the measured iris run: 4-16-16-3 ReLU net, softmax cross-entropy,
/// standardised inputs, 30 % held out, plain SGD at 0.1 in batches of 8 (100 epochs in
/// the measured run).
const IRIS: [&str; 18] = [
    "--layers",
    "4,16,16,3",
    "--output",
    "softmax",
    "--loss",
    "ce",
    "--preprocess",
    "standardize",
    "--val-fraction",
    "0.3",
    "--optimizer",
    "sgd",
    "--lr",
    "0.1",
    "--batch",
    "8",
    "--init",
    "he",
];

fn train_iris(seed: u64, epochs: u32, extra: &[&str]) -> serde_json::Value {
    let data = iris();
    let (seed, epochs) = (seed.to_string(), epochs.to_string());
    let mut args = vec![
        "train", "--data", &data, "--seed", &seed, "--epochs", &epochs,
    ];
    args.extend_from_slice(&IRIS);
    args.extend_from_slice(extra);
    json(&args)
}

fn val_rows(v: &serde_json::Value) -> Vec<usize> {
    v["val_rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no val_rows in {v}"))
        .iter()
        .map(|r| r.as_u64().unwrap() as usize)
        .collect()
}

/// Ten seeds, not one chosen to pass: every held-out accuracy at least 90 %, their mean
/// at least 93 % (measured: 95.6, 93.3, 91.1, 95.6, 97.8, 95.6, 97.8, 93.3, 93.3, 91.1 %).
#[test]
fn iris_reaches_ninety_percent_on_held_out_rows_over_ten_seeds() {
    let mut accs = Vec::new();
    for seed in 1..=10 {
        let v = train_iris(seed, 100, &[]);
        assert_eq!(v["features"], 4);
        assert_eq!(v["classes"], 3);
        assert_eq!(v["label_column"], "species");
        // Stratified: 15 of each class's 50 rows held out.
        assert_eq!(
            (v["train_samples"].as_u64(), v["val_samples"].as_u64()),
            (Some(105), Some(45))
        );
        assert_eq!(v["val_accuracy_per_epoch"].as_array().unwrap().len(), 100);
        assert_eq!(v["val_loss_per_epoch"].as_array().unwrap().len(), 100);
        let acc = f(&v, "val_accuracy");
        assert!(f(&v, "val_loss").is_finite());
        assert_eq!(
            v["val_accuracy_per_epoch"][99].as_f64(),
            Some(acc),
            "the last epoch's validation accuracy is the final one"
        );
        accs.push(acc);
    }
    println!("iris val accuracy by seed 1..=10: {accs:?}");
    let mean = accs.iter().sum::<f64>() / accs.len() as f64;
    assert!(accs.iter().all(|&a| a >= 0.9), "{accs:?}");
    assert!(mean >= 0.93, "mean {mean}: {accs:?}");
}

/// The network of a model file, as `predict --load` builds it.
fn load(path: &Path) -> HostNetwork<f32, Libm> {
    let bytes = std::fs::read(path).unwrap();
    let info = format::read_info(&bytes).unwrap();
    let layers = info
        .layers
        .iter()
        .map(DynLayer::from_spec)
        .collect::<microprop::Result<Vec<_>>>()
        .unwrap();
    let mut net: HostNetwork<f32, Libm> = net::network(layers).unwrap();
    format::load_network(&bytes, &mut net, Targets::none()).unwrap();
    net
}

/// The saved Standardize layer holds the training rows' mean and variance — the rows the
/// JSON says were not held out — and not all rows'.
#[test]
fn the_preprocessing_is_fitted_on_the_training_rows_only() {
    let dir = scratch("csv-fit");
    let model = dir.join("iris.mprp");
    let v = train_iris(7, 1, &["--save", model.to_str().unwrap()]);
    let held = val_rows(&v);
    assert_eq!(held.len(), 45);
    let rows = iris_rows();
    let train: Vec<&[f64; 4]> = rows
        .iter()
        .enumerate()
        .filter(|(i, _)| !held.contains(i))
        .map(|(_, (x, _))| x)
        .collect();
    assert_eq!(train.len(), 105);
    let moments = |xs: &[&[f64; 4]]| -> ([f64; 4], [f64; 4]) {
        let n = xs.len() as f64;
        let mean: [f64; 4] = std::array::from_fn(|k| xs.iter().map(|x| x[k]).sum::<f64>() / n);
        let var =
            std::array::from_fn(|k| xs.iter().map(|x| (x[k] - mean[k]).powi(2)).sum::<f64>() / n);
        (mean, var)
    };
    let (mean, var) = moments(&train);
    let all: Vec<&[f64; 4]> = rows.iter().map(|(x, _)| x).collect();
    let (all_mean, _) = moments(&all);
    let net = load(&model);
    let mut state = None;
    net.visit(|l| {
        if l.index == 0 {
            assert_eq!(l.kind, Kind::Standardize);
            state = Some(l.state.to_vec());
        }
    });
    let state = state.expect("a first layer");
    assert_eq!(state.len(), 8, "mean then variance of 4 features");
    let tol = 1e-5;
    for k in 0..4 {
        let (m, s2) = (f64::from(state[k]), f64::from(state[4 + k]));
        assert!(
            (m - mean[k]).abs() < tol,
            "feature {k}: mean {m} vs training {}",
            mean[k]
        );
        assert!(
            (s2 - var[k]).abs() < 1e-4,
            "feature {k}: variance {s2} vs training {}",
            var[k]
        );
    }
    // The test can tell the two apart: all rows' mean is elsewhere.
    let apart = (0..4)
        .map(|k| (all_mean[k] - mean[k]).abs())
        .fold(0.0, f64::max);
    assert!(apart > 100.0 * tol, "the split moved no mean: {apart}");
}

/// Writes `text` as `name` in `dir`.
fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// `args` fail as a usage error whose message has every one of `needles`: exit 2, the
/// message on stderr, and with `--json` one `{"error": {"kind": "usage", …}}` on stdout.
fn assert_usage(args: &[&str], needles: &[&str]) {
    let out = sim(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: the message lacks `{n}`: {err}");
    }
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let out = sim(&with_json);
    assert_eq!(out.status.code(), Some(2), "{with_json:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.trim_end().lines().count(),
        1,
        "{with_json:?}: {stdout}"
    );
    let v: serde_json::Value = serde_json::from_str(stdout.trim_end()).unwrap();
    assert_eq!(v["error"]["kind"], "usage", "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    for n in needles {
        assert!(
            message.contains(n),
            "{with_json:?}: the message lacks `{n}`: {message}"
        );
    }
}

#[test]
fn bad_files_are_usage_errors_naming_the_line_and_the_column() {
    let dir = scratch("csv-bad");
    let head = "len,width,kind\n1.0,2.0,0\n";
    let cases: [(&str, String, &[&str]); 10] = [
        (
            "missing.csv",
            format!("{head}3.0,,1\n"),
            &["line 3", "`width`", "missing"],
        ),
        (
            "text.csv",
            format!("{head}3.0,abc,1\n"),
            &["line 3", "`width`", "`abc`"],
        ),
        (
            "inf.csv",
            format!("{head}3.0,4.0,1\n1e39,1,0\n"),
            &["line 4", "`len`", "finite"],
        ),
        (
            "half.csv",
            format!("{head}3.0,4.0,1.5\n"),
            &["line 3", "`kind`", "`1.5`"],
        ),
        (
            "negative.csv",
            format!("{head}3.0,4.0,-1\n"),
            &["line 3", "`kind`", "`-1`"],
        ),
        (
            "range.csv",
            format!("{head}3.0,4.0,3\n"),
            &["line 3", "`kind`", "label 3", "--layers"],
        ),
        (
            "short.csv",
            format!("{head}3.0,4.0\n"),
            &["line 3", "2 field", "3 columns"],
        ),
        (
            "long.csv",
            format!("{head}3.0,4.0,1,9\n"),
            &["line 3", "4 field", "3 columns"],
        ),
        ("empty.csv", String::new(), &["empty.csv", "empty"]),
        (
            "header.csv",
            "len,width,kind\n".to_string(),
            &["header.csv", "no data rows"],
        ),
    ];
    for (name, text, needles) in cases {
        let p = file(&dir, name, &text);
        let p = p.to_str().unwrap();
        let mut want = vec![p];
        want.extend_from_slice(needles);
        // Three outputs: labels 0 to 2.
        assert_usage(
            &[
                "train", "--data", p, "--layers", "2,4,3", "--output", "softmax", "--loss", "ce",
            ],
            &want,
        );
    }
    // The line is the file's, after blank lines and with CRLF line ends too.
    for (name, text) in [
        ("blank.csv", "len,width,kind\n1,2,0\n\n\n3,,1\n"),
        ("crlf.csv", "len,width,kind\r\n1,2,0\r\n\r\n\r\n3,,1\r\n"),
        ("quoted.csv", "len,width,kind\n\"1\n\n\",2,0\n3,,1\n"),
    ] {
        let p = file(&dir, name, text);
        assert_usage(
            &["train", "--data", p.to_str().unwrap(), "--layers", "2,4,1"],
            &["line 5, column `width`: missing"],
        );
    }
    let p = dir.join("bytes.csv");
    std::fs::write(&p, b"len,width,kind\n1,\xff,0\n").unwrap();
    assert_usage(
        &["train", "--data", p.to_str().unwrap(), "--layers", "2,4,1"],
        &["line 2", "not UTF-8"],
    );
    let iris = iris();
    // The first --layers entry is not the feature count: both numbers and the file.
    assert_usage(
        &["train", "--data", &iris, "--layers", "3,8,3"],
        &["--layers 3,8,3", "3 unit", "4 features", &iris],
    );
    assert_usage(
        &["train", "--data", &iris],
        &["--layers 2,16,16,1", "2 unit", "4 features"],
    );
    // --target: an unknown column; a feature column as the label (5.1 is no class).
    assert_usage(
        &[
            "train", "--data", &iris, "--layers", "4,8,3", "--target", "colour",
        ],
        &["--target colour", "no column named `colour`", "species"],
    );
    assert_usage(
        &[
            "train", "--data", &iris, "--layers", "4,8,3", "--target", "9",
        ],
        &["--target 9", "no column index 9"],
    );
    assert_usage(
        &[
            "train", "--data", &iris, "--layers", "4,8,3", "--target", "0",
        ],
        &["line 2", "`sepal_length_cm`", "`5.1`"],
    );
    // What needs 2 features, and points of another width.
    let net = ["--layers", "4,8,3", "--output", "softmax", "--loss", "ce"];
    let with = |extra: &[&'static str]| -> Vec<String> {
        let mut a = vec!["train".to_string(), "--data".into(), iris.clone()];
        a.extend(net.iter().chain(extra).map(|s| s.to_string()));
        a
    };
    for (extra, needles) in [
        (
            &["--plot", "b.png"][..],
            &["--plot", "2 features", "has 4"][..],
        ),
        (&["--preprocess", "whiten"], &["--preprocess whiten", "4"]),
        (&["--point", "1,2"], &["--point", "4 inputs"]),
        (
            &["--val-fraction", "0.001"],
            &["--val-fraction", "0 for validation"],
        ),
    ] {
        let a = with(extra);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        assert_usage(&a, needles);
    }
    // --data replaces the generated data set's flags.
    for flag in [
        ["--dataset", "xor"],
        ["--samples", "10"],
        ["--spread", "1"],
        ["--classes", "3"],
    ] {
        assert_usage(
            &[
                "train", "--data", &iris, "--layers", "4,8,3", flag[0], flag[1],
            ],
            &["--data", flag[0]],
        );
    }
    assert_usage(&["train", "--target", "species"], &["--data"]);
    assert_usage(&["train", "--val-fraction", "1"], &["--val-fraction"]);
    // A file that is not there is an io error (exit 1), not a panic.
    let out = sim(&["train", "--data", "/nonexistent/x.csv", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "io", "{v}");
}

/// The label column by name or by index is the default last column; another column
/// order with `--target` trains on the same data.
#[test]
fn the_target_column_is_picked_by_name_or_index() {
    let by_default = train_iris(3, 5, &[]);
    let by_name = train_iris(3, 5, &["--target", "species"]);
    let by_index = train_iris(3, 5, &["--target", "4"]);
    assert_eq!(by_default["weights_hash"], by_name["weights_hash"]);
    assert_eq!(by_default["weights_hash"], by_index["weights_hash"]);
    // The label first, then the features: the same rows.
    let dir = scratch("csv-target");
    let text = std::fs::read_to_string(iris()).unwrap();
    let moved: String = text
        .lines()
        .map(|l| {
            let (x, y) = l.rsplit_once(',').unwrap();
            format!("{y},{x}\n")
        })
        .collect();
    let p = file(&dir, "label-first.csv", &moved);
    let mut args = vec![
        "train",
        "--data",
        p.to_str().unwrap(),
        "--seed",
        "3",
        "--target",
        "species",
    ];
    args.extend_from_slice(&IRIS);
    args.extend_from_slice(&["--epochs", "5"]);
    let moved = json(&args);
    assert_eq!(moved["weights_hash"], by_default["weights_hash"]);
    assert_eq!(moved["val_rows"], by_default["val_rows"]);
}

/// The same seed holds out the same rows and trains the same weights; another seed holds
/// out others; without `--val-fraction` nothing is held out and the keys are null.
#[test]
fn the_split_is_reproducible_on_csv_and_generated_data() {
    let a = train_iris(11, 3, &[]);
    let b = train_iris(11, 3, &[]);
    let c = train_iris(12, 3, &[]);
    assert_eq!(val_rows(&a), val_rows(&b));
    assert_eq!(a["weights_hash"], b["weights_hash"]);
    assert_eq!(a["val_accuracy"], b["val_accuracy"]);
    assert_ne!(val_rows(&a), val_rows(&c));
    // Stratified: 15 rows of each species (rows 0–49, 50–99, 100–149).
    let held = val_rows(&a);
    for class in 0..3 {
        let n = held.iter().filter(|&&i| i / 50 == class).count();
        assert_eq!(n, 15, "class {class}: {held:?}");
    }
    let gen = |seed: &str, frac: &str| {
        json(&[
            "train",
            "--dataset",
            "clusters",
            "--samples",
            "200",
            "--epochs",
            "3",
            "--seed",
            seed,
            "--val-fraction",
            frac,
        ])
    };
    let (a, b, c) = (gen("5", "0.25"), gen("5", "0.25"), gen("6", "0.25"));
    assert_eq!(val_rows(&a), val_rows(&b));
    assert_eq!(a["weights_hash"], b["weights_hash"]);
    assert_ne!(val_rows(&a), val_rows(&c));
    assert_eq!(
        (a["train_samples"].as_u64(), a["val_samples"].as_u64()),
        (Some(150), Some(50))
    );
    assert!((0.0..=1.0).contains(&f(&a, "val_accuracy")));
    assert!(f(&a, "val_loss").is_finite());
    let none = gen("5", "0");
    assert_eq!(
        (none["train_samples"].as_u64(), none["val_samples"].as_u64()),
        (Some(200), Some(0))
    );
    for key in [
        "val_accuracy",
        "val_loss",
        "val_loss_per_epoch",
        "val_accuracy_per_epoch",
        "val_rows",
    ] {
        assert!(none[key].is_null(), "{key}: {none}");
    }
    // Holding rows out changes the training data, hence the weights.
    assert_ne!(none["weights_hash"], a["weights_hash"]);
    // The text output reports the split and the held-out figures.
    let out = sim(&["train", "--epochs", "2", "--val-fraction", "0.25"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("150 trained on, 50 held out"), "{text}");
    assert!(
        text.contains("val accuracy") && text.contains("validation (50 held-out samples)"),
        "{text}"
    );
}

/// A model trained from CSV is saved and loaded: `predict --load` takes four-value points
/// and gives the trained run's outputs; two values are refused.
#[test]
fn a_csv_trained_model_round_trips_through_predict() {
    let dir = scratch("csv-persist");
    let model = dir.join("iris.mprp");
    let m = model.to_str().unwrap();
    let points = ["--point", "5.1,3.5,1.4,0.2", "--point", "6.3,2.5,5.0,1.9"];
    let mut extra = vec!["--save", m];
    extra.extend_from_slice(&points);
    let trained = train_iris(2, 30, &extra);
    let mut args = vec!["predict", "--load", m];
    args.extend_from_slice(&points);
    let loaded = json(&args);
    assert_eq!(loaded["layers"], serde_json::json!([4, 16, 16, 3]));
    assert_eq!(loaded["preprocess"], "standardize");
    assert_eq!(loaded["weights_hash"], trained["weights_hash"]);
    assert_eq!(loaded["predictions"], trained["predictions"]);
    // Setosa and virginica, as the labels say.
    let class = |v: &serde_json::Value, i: usize| {
        let y: Vec<f64> = v["predictions"][i]["y"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        (0..3).max_by(|&a, &b| y[a].total_cmp(&y[b])).unwrap()
    };
    assert_eq!((class(&loaded, 0), class(&loaded, 1)), (0, 2));
    let out = sim(&["predict", "--load", m, "--point", "1,2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("4 inputs"));
}

/// The memory budget counts the file's features and rows (and the split's copy).
#[test]
fn the_budget_counts_the_files_features_and_rows() {
    let mut a = train_args(
        &[4, 16, 16, 3],
        HiddenAct(microprop::Activation::Relu),
        DatasetArg::Clusters,
        1,
    );
    let row = 4 * 4 + 1;
    assert_eq!(train::plan_for(&a, 4, 150).other_bytes, 150 * (row + 2));
    assert_eq!(train::plan_for(&a, 4, 0).other_bytes, 0);
    a.val_fraction = 0.3;
    assert_eq!(train::plan_for(&a, 4, 150).other_bytes, 150 * (2 * row + 2));
    // Generated data: 2 features, --samples rows.
    a.val_fraction = 0.0;
    assert_eq!(train::plan(&a).other_bytes, 200 * (2 * 4 + 1 + 2));
}
