//! Every subcommand: its JSON shape and its finding, and the command-line contract.

mod common;

use common::{f, is_png, json, scratch, sim};

fn hex16(v: &serde_json::Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 16 && s.chars().all(|c| c.is_ascii_hexdigit()))
}

#[test]
fn train_reports_every_key_and_learns() {
    let v = json(&["train", "--epochs", "20"]);
    for key in [
        "accuracy",
        "final_loss",
        "loss_per_epoch",
        "epochs_to_95",
        "params",
        "bytes",
        "grad_norms_init",
        "grad_norms_final",
        "weights_hash",
        "ns_per_step",
    ] {
        assert!(v.get(key).is_some(), "missing `{key}` in {v}");
    }
    assert!(f(&v, "accuracy") >= 0.95, "{v}");
    let losses = v["loss_per_epoch"].as_array().unwrap();
    assert_eq!(losses.len(), 20);
    assert!(losses[19].as_f64().unwrap() < losses[0].as_f64().unwrap());
    assert!(v["epochs_to_95"]
        .as_u64()
        .is_some_and(|e| (1..=20).contains(&e)));
    // 2-16-16-1: 2·16+16 + 16·16+16 + 16+1 parameters; 4 bytes each + 8 per activation.
    assert_eq!(v["params"], 337);
    assert_eq!(v["bytes"], 337 * 4 + 3 * 8);
    assert_eq!(v["grad_norms_init"].as_array().unwrap().len(), 3);
    assert_eq!(v["grad_norms_final"].as_array().unwrap().len(), 3);
    assert!(hex16(&v["weights_hash"]), "{}", v["weights_hash"]);
    assert!(f(&v, "ns_per_step") > 0.0);
}

#[test]
fn train_is_deterministic_per_seed_and_backend() {
    let a = json(&["train", "--epochs", "5", "--seed", "7"]);
    let b = json(&["train", "--epochs", "5", "--seed", "7"]);
    let c = json(&["train", "--epochs", "5", "--seed", "8"]);
    let m = json(&[
        "train",
        "--epochs",
        "5",
        "--seed",
        "7",
        "--math",
        "micromath",
        "--activation",
        "tanh",
    ]);
    let l = json(&[
        "train",
        "--epochs",
        "5",
        "--seed",
        "7",
        "--math",
        "libm",
        "--activation",
        "tanh",
    ]);
    assert_eq!(a["weights_hash"], b["weights_hash"]);
    assert_eq!(a["loss_per_epoch"], b["loss_per_epoch"]);
    assert_ne!(a["weights_hash"], c["weights_hash"]);
    // tanh goes through the backend's maths: the two backends train different weights.
    assert_ne!(m["weights_hash"], l["weights_hash"]);
}

#[test]
fn train_never_reaching_95_reports_null() {
    // All-zero ReLU weights: no hidden unit ever passes a gradient.
    let v = json(&[
        "train", "--init", "zeros", "--layers", "2,4,1", "--epochs", "3",
    ]);
    assert!(v["epochs_to_95"].is_null(), "{v}");
    assert!(f(&v, "accuracy") < 0.95);
}

#[test]
fn train_runs_every_optimizer_and_other_flags() {
    for opt in [
        "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw",
    ] {
        let lr = if opt == "sgd" { "0.1" } else { "0.01" };
        let v = json(&["train", "--optimizer", opt, "--lr", lr, "--epochs", "10"]);
        assert!(f(&v, "accuracy") >= 0.9, "{opt}: {v}");
    }
    let v = json(&[
        "train",
        "--dataset",
        "xor",
        "--layers",
        "2,16,16,2",
        "--output",
        "softmax",
        "--loss",
        "ce",
        "--preprocess",
        "standardize",
        "--epochs",
        "60",
        "--batch",
        "4",
    ]);
    assert!(f(&v, "accuracy") >= 0.9, "xor softmax/ce: {v}");
    let v = json(&[
        "train",
        "--classes",
        "4",
        "--layers",
        "2,16,4",
        "--output",
        "identity",
        "--loss",
        "ce",
        "--epochs",
        "20",
    ]);
    assert!(f(&v, "accuracy") >= 0.9, "4 clusters: {v}");
    let v = json(&[
        "train", "--output", "identity", "--loss", "bce", "--epochs", "10",
    ]);
    assert!(f(&v, "accuracy") >= 0.9, "bce on logits: {v}");
}

#[test]
fn train_batch_norm_lets_the_nine_deep_sigmoid_net_learn_xor() {
    // The notes' 9-deep sigmoid net stalls at 50 % (the gradient at the first layer is
    // ~1e-7); a batch norm after every hidden dense layer lets it learn, on every seed.
    let deep = "2,8,8,8,8,8,8,8,8,8,1";
    for seed in ["1", "2", "3"] {
        let common = [
            "train",
            "--layers",
            deep,
            "--activation",
            "sigmoid",
            "--dataset",
            "xor",
            "--epochs",
            "40",
            "--seed",
            seed,
        ];
        let plain = json(&common);
        let mut with: Vec<&str> = common.to_vec();
        with.push("--batch-norm");
        let bn = json(&with);
        assert!(f(&plain, "accuracy") <= 0.6, "seed {seed}: {plain}");
        assert!(f(&bn, "accuracy") >= 0.8, "seed {seed}: {bn}");
        assert_eq!(bn["batch_norm"], true);
        // Nine batch norms of 8 units: γ and β each.
        assert_eq!(f(&bn, "params") - f(&plain, "params"), (9 * 2 * 8) as f64);
        // One norm per trainable layer: 10 dense, 9 batch norms.
        assert_eq!(bn["grad_norms_init"].as_array().unwrap().len(), 19);
    }
}

#[test]
fn train_dropout_is_deterministic_and_leaves_the_parameters_alone() {
    let args = ["train", "--dropout", "0.2", "--epochs", "20", "--seed", "5"];
    let a = json(&args);
    let b = json(&args);
    let plain = json(&["train", "--epochs", "20", "--seed", "5"]);
    assert_eq!(a["weights_hash"], b["weights_hash"]);
    assert_ne!(a["weights_hash"], plain["weights_hash"]);
    assert_eq!(a["dropout"], 0.2);
    assert_eq!(a["params"], plain["params"]);
    assert_eq!(a["grad_norms_init"].as_array().unwrap().len(), 3);
    assert!(f(&a, "accuracy") >= 0.9, "{a}");
}

#[test]
fn train_plots_the_decision_boundary() {
    let d = scratch("train-plot");
    let png = d.join("boundary.png");
    let svg = d.join("boundary.svg");
    json(&["train", "--epochs", "5", "--plot", png.to_str().unwrap()]);
    json(&["train", "--epochs", "5", "--plot", svg.to_str().unwrap()]);
    assert!(is_png(&png));
    let s = std::fs::read_to_string(&svg).unwrap();
    assert!(s.contains("<svg") && s.len() > 10_000);
}

#[test]
fn gradcheck_every_case_agrees_with_finite_differences() {
    let v = json(&["gradcheck"]);
    let cases = v["cases"].as_array().unwrap();
    // Every hidden activation of the table × 7 (loss, output) pairs.
    let hidden = microprop::Activation::ALL
        .iter()
        .filter(|a| !a.is_output_only())
        .count();
    assert_eq!(cases.len(), hidden * 7);
    for c in cases {
        assert!(c["activation"].is_string() && c["loss"].is_string() && c["output"].is_string());
        let e = f(c, "max_rel_error");
        assert!(e < 1e-6, "gradient check failed: {c}");
    }
    assert!(f(&v, "max_rel_error") < 1e-6);
}

#[test]
fn vanishing_sigmoid_vanishes_relu_with_he_does_not() {
    let d = scratch("vanishing");
    let png = d.join("v.png");
    let v = json(&[
        "vanishing",
        "--depth",
        "9",
        "--width",
        "16",
        "--activation",
        "sigmoid,relu",
        "--plot",
        png.to_str().unwrap(),
    ]);
    assert!(is_png(&png));
    for act in ["sigmoid", "relu"] {
        assert_eq!(v["grad_norms"][act].as_array().unwrap().len(), 10, "{v}");
    }
    assert_eq!(v["init"]["relu"], "he-normal");
    let sig = f(&v["first_over_last"], "sigmoid");
    let relu = f(&v["first_over_last"], "relu");
    assert!(sig < 1e-2, "sigmoid first/last {sig}");
    assert!(relu > 0.1, "relu first/last {relu}");
}

#[test]
fn landscape_deep_net_has_the_larger_plateau() {
    let d = scratch("landscape");
    let base = d.join("land.png");
    let v = json(&["landscape", "--plot", base.to_str().unwrap()]);
    for net in ["two_layer", "nine_layer"] {
        for key in ["plateau_fraction", "peak_grad", "band_width"] {
            let x = f(&v[net], key);
            assert!(x.is_finite() && x >= 0.0, "{net}.{key} = {x}");
        }
        assert!(f(&v[net], "accuracy") >= 0.9, "{net} did not train: {v}");
    }
    assert_eq!(v["nine_layer"]["sizes"].as_array().unwrap().len(), 11);
    let p2 = f(&v["two_layer"], "plateau_fraction");
    let p9 = f(&v["nine_layer"], "plateau_fraction");
    assert!(p9 > p2, "9-layer plateau {p9} should exceed 2-layer {p2}");
    // Narrower, taller gradient peaks in the deep net.
    assert!(f(&v["nine_layer"], "band_width") < f(&v["two_layer"], "band_width"));
    assert!(f(&v["nine_layer"], "peak_grad") > f(&v["two_layer"], "peak_grad"));
    assert!(is_png(&base));
    assert!(std::fs::read_to_string(d.join("land.svg"))
        .unwrap()
        .contains("<svg"));
}

#[test]
fn zigzag_zero_centring_lowers_sign_agreement() {
    let d = scratch("zigzag");
    let png = d.join("z.png");
    let v = json(&["zigzag", "--plot", png.to_str().unwrap()]);
    assert!(is_png(&png));
    let pos = f(&v["positive"], "sign_agreement");
    let cen = f(&v["zero_centred"], "sign_agreement");
    // Every update of a neuron with all-positive inputs has same-sign components.
    assert_eq!(pos, 1.0);
    assert!(cen < pos, "zero-centred {cen} vs positive {pos}");
    assert!(cen < 0.7, "{cen}");
    let sp = v["positive"]["steps"]
        .as_u64()
        .expect("positive path arrives");
    let sc = v["zero_centred"]["steps"]
        .as_u64()
        .expect("centred path arrives");
    assert!(sc < sp, "centred {sc} steps vs positive {sp}");
}

#[test]
fn init_statistics_match_lecture_six() {
    let d = scratch("init");
    let png = d.join("i.png");
    let v = json(&[
        "init",
        "--width",
        "64",
        "--samples",
        "200",
        "--plot",
        png.to_str().unwrap(),
    ]);
    assert!(is_png(&png) && is_png(&d.join("i-tanh.png")) && is_png(&d.join("i-relu.png")));
    let s = &v["std_per_layer"];
    let last = |net: &str, init: &str| {
        let a = s[net][init]
            .as_array()
            .unwrap_or_else(|| panic!("{net}/{init} in {v}"));
        assert_eq!(a.len(), 10);
        a[9].as_f64().unwrap()
    };
    assert!(last("tanh", "small") < 1e-3, "small random collapses");
    assert!(last("tanh", "large") > 0.9, "large random saturates tanh");
    let xt = last("tanh", "xavier");
    assert!(xt > 0.1 && xt < 0.9, "xavier keeps tanh alive: {xt}");
    assert!(last("relu", "he") > 0.3, "He keeps ReLU activations");
    assert!(last("relu", "xavier") < last("relu", "he") / 5.0);
}

#[test]
fn dead_relu_fraction_falls_with_the_bias() {
    let d = scratch("dead");
    let png = d.join("d.png");
    let v = json(&[
        "dead-relu",
        "--bias",
        "-0.5,0,0.01,0.5",
        "--seeds",
        "3",
        "--epochs",
        "5",
        "--plot",
        png.to_str().unwrap(),
    ]);
    assert!(is_png(&png));
    assert_eq!(v["bias_init"].as_array().unwrap().len(), 4);
    let at_init: Vec<f64> = v["dead_at_init"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let after = v["dead_after_training"].as_array().unwrap();
    assert_eq!(after.len(), 4);
    assert!(at_init.iter().all(|&x| (0.0..=1.0).contains(&x)));
    assert!(at_init[0] > at_init[3], "bias -0.5 vs 0.5: {at_init:?}");
}

#[test]
fn activations_cost_error_and_mcu_table() {
    let d = scratch("activations");
    let mcu = d.join("mcu");
    std::fs::create_dir_all(&mcu).unwrap();
    // A table in the shape `cargo xtask bench-mcu` writes (values made up for the test).
    std::fs::write(
        mcu.join("m3.json"),
        r#"{"core":"m3","activations":[
            {"activation":"sigmoid","backend":"libm","forward_instructions_per_element":1400.0},
            {"activation":"sigmoid","backend":"micromath","forward_instructions_per_element":1200.0},
            {"activation":"relu","backend":"libm","forward_instructions_per_element":12.0}]}"#,
    )
    .unwrap();
    let png = d.join("a.png");
    let v = json(&[
        "activations",
        "--mcu",
        mcu.to_str().unwrap(),
        "--plot",
        png.to_str().unwrap(),
    ]);
    assert!(is_png(&png) && is_png(&d.join("a-cost.png")) && is_png(&d.join("a-mcu.png")));
    let host = v["host"].as_array().unwrap();
    let backends = <microprop_sim::cli::MathArg as clap::ValueEnum>::value_variants().len();
    assert_eq!(
        host.len(),
        backends * microprop::Activation::ALL.len(),
        "every activation × every backend of --math"
    );
    let row = |act: &str, b: &str| {
        host.iter()
            .find(|r| r["activation"] == act && r["backend"] == b)
            .unwrap_or_else(|| panic!("{act}/{b}"))
    };
    // micromath trades accuracy: its sigmoid error is far above libm's.
    assert!(
        f(row("sigmoid", "micromath"), "forward_max_abs_error")
            > 100.0 * f(row("sigmoid", "libm"), "forward_max_abs_error")
    );
    assert!(f(row("sigmoid", "micromath"), "forward_max_abs_error") < 1e-2);
    // ReLU needs no exponential.
    assert!(
        f(row("relu", "libm"), "forward_ns_per_element")
            < f(row("sigmoid", "libm"), "forward_ns_per_element")
    );
    assert_eq!(v["mcu"][0]["core"], "m3");
}

#[test]
fn demo_runs_the_firmware_application() {
    let v = json(&["demo", "--no-delay"]);
    assert_eq!(v["passed"], true);
    assert_eq!(v["seed"], 42);
    for net in ["relu-2-16-16-1", "sigmoid-2-2-2-1", "sigmoid-2-9x2-1"] {
        assert!(hex16(&v["weights_hash"][net]), "{v}");
    }
    let lines: Vec<&str> = v["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(lines[0].starts_with("microprop demo: seed 42"));
    assert!(lines.iter().any(|l| l.ends_with("(bar 95.0%): PASS")));
    // blink(3) then the LED stays on: four switch-ons.
    assert_eq!(v["led_switched_on"], 4);
    assert_eq!(v["led_on"], true);
    // Without --json the same lines are printed.
    let out = sim(&["demo", "--no-delay"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for l in &lines {
        if !l.contains(" trained in ") {
            assert!(text.contains(l), "text output lacks `{l}`");
        }
    }
}

#[test]
fn bench_runs_the_firmware_protocol_with_the_host_clock() {
    let v = json(&["bench", "--runs", "1"]);
    assert!(v["clock"]
        .as_str()
        .unwrap()
        .contains("no instruction counts"));
    let acts = v["activations"].as_array().unwrap();
    assert_eq!(acts.len(), 2 * microprop::Activation::ALL.len());
    let row = |name: &str, backend: &str| {
        acts.iter()
            .find(|a| a["activation"] == name && a["backend"] == backend)
            .unwrap_or_else(|| panic!("no {name} {backend} row"))
    };
    // The errors are the exact ones of the MCU table (same inputs, same code).
    assert_eq!(f(row("relu", "micromath"), "forward_max_abs_error"), 0.0);
    assert!(f(row("sigmoid", "libm"), "forward_max_abs_error") < 1e-7);
    assert!(f(row("sigmoid", "micromath"), "forward_max_abs_error") > 1e-5);
    assert!(acts.iter().all(|a| f(a, "forward_ns_per_element") >= 0.0));
    let steps = v["steps"].as_array().unwrap();
    let nets: Vec<&str> = steps.iter().map(|s| s["net"].as_str().unwrap()).collect();
    assert_eq!(nets.len(), 8);
    assert_eq!(nets[0], "N1 2-16-1 sigmoid");
    assert_eq!(nets[3], "N3 2-(9x2)-1 sigmoid");
    assert!(steps.iter().all(|s| f(s, "ns_per_step") > 0.0), "{v}");
    assert_eq!(v["n1_memory"]["n1_weights_bytes"], 276);
    assert_eq!(v["n1_memory"]["n1_training_buffers_bytes"], 412);
    // The device's lines, in the words `cargo xtask bench-mcu` parses: region k names the
    // k-th step line's net and backend.
    let lines: Vec<&str> = v["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(lines[0], "region 0 calibration -");
    assert_eq!(lines.last(), Some(&"bench done"));
    let step_lines: Vec<&&str> = lines.iter().filter(|l| l.starts_with("step ")).collect();
    for (k, step) in step_lines.iter().enumerate() {
        let label = step
            .strip_prefix("step ")
            .and_then(|r| r.split(" total ").next())
            .unwrap();
        assert!(
            lines.contains(&format!("region {} {label}", k + 1).as_str()),
            "no region line for `{step}`"
        );
    }
    // Text mode labels the numbers as host time.
    let out = sim(&["bench", "--runs", "1"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("not instructions") && text.contains("ns/step"),
        "{text}"
    );
}

#[test]
fn text_mode_is_readable_not_json() {
    let out = sim(&["vanishing", "--depth", "3", "--width", "4"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("first/last") && !text.trim_start().starts_with('{'));
}

#[test]
fn bad_flags_exit_2_with_a_message_and_no_panic() {
    let cases: [&[&str]; 19] = [
        &["train", "--lr", "-1"],
        &["train", "--lr", "abc"],
        &["train", "--lr", "inf"],
        &["train", "--layers", "2"],
        &["train", "--layers", "2,0,1"],
        &["train", "--activation", "swish"],
        &["train", "--loss", "ce"],
        &["train", "--dataset", "xor", "--classes", "3"],
        &["train", "--batch-norm", "--batch", "1"],
        &["train", "--batch-norm", "--samples", "201", "--batch", "8"],
        &["train", "--dropout", "1"],
        &["train", "--dropout", "-0.1"],
        &["predict", "--load", "m.mprp", "--point", "a,b"],
        &["vanishing", "--depth", "0"],
        &["landscape", "--grid", "2"],
        &["resume", "--cut-after-epoch", "0"],
        &["resume", "--cut-after-epoch", "3", "--cut-after-words", "9"],
        &["bench", "--runs", "0"],
        &["no-such-command"],
    ];
    for args in cases {
        for json in [false, true] {
            let mut a: Vec<&str> = args.to_vec();
            if json {
                a.push("--json");
            }
            let out = sim(&a);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{a:?}: {err}");
            assert!(err.contains("error"), "{a:?}: no message: {err}");
            assert!(!err.contains("panicked"), "{a:?} panicked: {err}");
            if json {
                // One JSON object: the error, of kind "usage".
                let stdout = String::from_utf8_lossy(&out.stdout);
                let v: serde_json::Value =
                    serde_json::from_str(stdout.trim_end()).unwrap_or_else(|e| {
                        panic!("{a:?}: stdout is not one JSON object ({e}): {stdout}")
                    });
                assert_eq!(v["error"]["kind"], "usage", "{a:?}: {v}");
                assert!(v["error"]["message"].is_string(), "{a:?}: {v}");
            } else {
                assert!(out.stdout.is_empty(), "{a:?} printed to stdout");
            }
        }
    }
}
