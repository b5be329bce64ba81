//! `dead-relu` (issue 13): what kills hidden units — the learning rate, not the notes'
//! 0.01 bias — and what Leaky ReLU and ELU change. Each claim is checked over 5–6 seeds
//! (the command's seeds 0…N−1) and in two configurations (2-32-32-1 and 2-16-16-16-1).
//!
//! Measured (20 epochs, batch 8, seeds 0–4 / 0–5), ReLU dead % at bias 0, lr 0.1 → 10:
//! 3.8 → 8.1 (2-32-32-1), 4.5 → 11.8 (2-16-16-16-1); bias 0.01 vs 0 at lr 0.5: 3.8 vs
//! 3.8 and 6.9 vs 7.3. Leaky ReLU: never dead, but as many inactive units as ReLU (the
//! 0.01 slope does not bring them back within 20 epochs); ELU: never dead, ≤ 0.7 %
//! inactive.

mod common;

use common::{is_png, json, scratch};
use serde_json::Value;

/// The two configurations: layer sizes and seeds.
const CONFIGS: [(&str, &str); 2] = [("2,32,32,1", "5"), ("2,16,16,16,1", "6")];

fn sweep(layers: &str, seeds: &str, plot: Option<&str>) -> Value {
    let mut args = vec![
        "dead-relu",
        "--activation",
        "relu,leaky-relu,elu",
        "--lr",
        "0.1,0.5,10",
        "--bias",
        "0,0.01",
        "--layers",
        layers,
        "--seeds",
        seeds,
        "--epochs",
        "20",
    ];
    if let Some(p) = plot {
        args.extend(["--plot", p]);
    }
    json(&args)
}

/// `key.stat` of the cell of `act`, `lr`, `bias`.
fn get(v: &Value, act: &str, lr: f64, bias: f64, key: &str, stat: &str) -> f64 {
    let cell = v["sweep"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["activation"] == act
                && (c["lr"].as_f64().unwrap() - lr).abs() < 1e-6
                && (c["bias_init"].as_f64().unwrap() - bias).abs() < 1e-9
        })
        .unwrap_or_else(|| panic!("no cell {act} {lr} {bias} in {v}"));
    cell[key][stat]
        .as_f64()
        .unwrap_or_else(|| panic!("{key}.{stat} of {cell}"))
}

#[test]
fn a_high_learning_rate_kills_markedly_more_relus() {
    for (layers, seeds) in CONFIGS {
        let v = sweep(layers, seeds, None);
        for bias in [0.0, 0.01] {
            let small = get(&v, "relu", 0.1, bias, "dead_after_training", "mean");
            let high = get(&v, "relu", 10.0, bias, "dead_after_training", "mean");
            // Stated margin: at least 3 points more and at least 1.5× as many.
            assert!(
                high >= small + 0.03 && high >= 1.5 * small,
                "{layers} bias {bias}: dead {small} at lr 0.1, {high} at lr 10"
            );
            // Every net still learned the clusters: the dead units are not a diverged net.
            assert_eq!(
                v["sweep"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["not_learned_seeds"].as_u64().unwrap()
                        + c["diverged_seeds"].as_u64().unwrap())
                    .sum::<u64>(),
                0,
                "{layers}: a run is flagged"
            );
        }
    }
}

#[test]
fn the_001_bias_barely_changes_the_dead_share_at_a_moderate_rate() {
    for (layers, seeds) in CONFIGS {
        let v = sweep(layers, seeds, None);
        let d = |lr, b| get(&v, "relu", lr, b, "dead_after_training", "mean");
        let d_init = |b| get(&v, "relu", 0.5, b, "dead_at_init", "mean");
        let bias_effect = (d(0.5, 0.01) - d(0.5, 0.0)).abs();
        let lr_effect = d(10.0, 0.0) - d(0.1, 0.0);
        // Stated: under 1.5 points, and under a third of what the rate does.
        assert!(
            bias_effect < 0.015,
            "{layers}: bias 0.01 vs 0 moves the dead share by {bias_effect}"
        );
        assert!(
            lr_effect > 3.0 * bias_effect,
            "{layers}: lr effect {lr_effect}, bias effect {bias_effect}"
        );
        // At initialisation too: 0.01 is small next to He-scaled pre-activations.
        assert!((d_init(0.01) - d_init(0.0)).abs() < 0.01, "{layers}");
    }
}

#[test]
fn leaky_relu_and_elu_are_never_dead_and_what_their_inactive_units_do() {
    let d = scratch("dead-sweep");
    let png = d.join("s.png");
    for (i, (layers, seeds)) in CONFIGS.into_iter().enumerate() {
        let v = sweep(layers, seeds, (i == 0).then(|| png.to_str().unwrap()));
        for lr in [0.1, 0.5, 10.0] {
            for bias in [0.0, 0.01] {
                let g = |act, key, stat| get(&v, act, lr, bias, key, stat);
                let at = format!("{layers} lr {lr} bias {bias}");
                // ReLU: the two definitions name the same units, seed by seed.
                for stat in ["mean", "min", "max"] {
                    assert_eq!(
                        g("relu", "dead_after_training", stat),
                        g("relu", "inactive_after_training", stat),
                        "{at}"
                    );
                }
                for act in ["leaky-relu", "elu"] {
                    for key in ["dead_at_init", "dead_after_training"] {
                        assert_eq!(g(act, key, "max"), 0.0, "{at}: {act} {key}");
                    }
                }
                // Leaky ReLU is not dead, but its inactive units stay inactive about as
                // often as ReLU's: never more than 1.5 points fewer.
                let relu = g("relu", "inactive_after_training", "mean");
                let leaky = g("leaky-relu", "inactive_after_training", "mean");
                assert!(leaky >= relu - 0.015, "{at}: leaky {leaky}, relu {relu}");
                // Of Leaky ReLU's units inactive at init, fewer than half come back.
                let back = g("leaky-relu", "recovered", "mean");
                assert!(back < 0.5, "{at}: leaky recovered {back}");
                // ELU: negative outputs feed the next layer; under 1 % inactive, and at
                // most half of ReLU's.
                let elu = g("elu", "inactive_after_training", "mean");
                assert!(
                    elu < 0.01 && elu <= relu / 2.0,
                    "{at}: elu {elu}, relu {relu}"
                );
            }
        }
    }
    assert!(is_png(&png));
    assert!(is_png(&d.join("s-lr.png")));
}

#[test]
fn one_learning_rate_keeps_the_single_sweep_keys() {
    let v = json(&[
        "dead-relu",
        "--lr",
        "0.5",
        "--bias",
        "0,0.5",
        "--seeds",
        "2",
        "--epochs",
        "2",
    ]);
    assert_eq!(v["lr"].as_f64(), Some(0.5));
    assert_eq!(v["legacy_keys_for"]["activation"], "relu");
    for key in [
        "bias_init",
        "dead_at_init",
        "dead_after_training",
        "accuracy",
    ] {
        assert_eq!(v[key].as_array().unwrap().len(), 2, "{key}");
    }
    assert_eq!(v["sweep"].as_array().unwrap().len(), 2);
    // The legacy value is the sweep's mean.
    assert_eq!(
        v["dead_after_training"][1].as_f64().unwrap(),
        get(&v, "relu", 0.5, 0.5, "dead_after_training", "mean")
    );
}
