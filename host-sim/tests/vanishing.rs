//! `vanishing`: the regimes each initialiser produces, over seeds and at two sizes each;
//! the all-zero flag; `--init-scale`; bad values.
//!
//! The bounds are the command's own (`regime_bounds` in its JSON): collapsed below
//! 1e-8 per parameter in every hidden layer, vanishing below a layer-1 / layer-D ratio
//! of 0.1, exploding above 10. Every seed of every configuration must meet them.

mod common;

use common::{is_png, json, scratch, sim};
use serde_json::Value;

/// `vanishing` at `depth × width` with `extra` flags over 8 seeds from `seed`.
fn run(depth: u32, width: u32, seed: u64, extra: &[&str]) -> Value {
    let (d, w, s) = (depth.to_string(), width.to_string(), seed.to_string());
    let mut a = vec![
        "vanishing",
        "--depth",
        &d,
        "--width",
        &w,
        "--seed",
        &s,
        "--seeds",
        "8",
    ];
    a.extend_from_slice(extra);
    json(&a)
}

fn nums(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

/// Each seed's layer-1 / layer-D per-parameter ratio of `act`.
fn ratios(v: &Value, act: &str) -> Vec<f64> {
    let r = nums(&v["first_over_last_rms"][act]["per_seed"]);
    assert_eq!(r.len(), 8, "{v}");
    r
}

#[test]
fn the_bounds_are_the_stated_ones() {
    let v = run(3, 4, 1, &["--activation", "tanh"]);
    let b = &v["regime_bounds"];
    assert_eq!(b["collapse_floor"], 1e-8);
    assert_eq!(b["vanishing_below"], 0.1);
    assert_eq!(b["exploding_above"], 10.0);
}

#[test]
fn sigmoid_with_xavier_vanishes_at_depth_9() {
    for (width, seed) in [(16, 1), (32, 100)] {
        let v = run(
            9,
            width,
            seed,
            &["--activation", "sigmoid", "--init", "xavier"],
        );
        for (i, r) in ratios(&v, "sigmoid").into_iter().enumerate() {
            assert!(
                r < 0.1,
                "9 × {width}, seed {}: layer 1 / 9 = {r}",
                seed + i as u64
            );
        }
        assert_eq!(v["regime"]["sigmoid"], "vanishing", "{v}");
        // The old keys are kept: the first seed's raw norms and their first/last.
        assert_eq!(nums(&v["grad_norms"]["sigmoid"]).len(), 10);
        assert!(v["first_over_last"]["sigmoid"].as_f64().unwrap() < 0.1);
    }
}

#[test]
fn tanh_with_a_small_normal_init_collapses_although_its_ratio_is_near_1() {
    for (depth, width, seed) in [(7, 12, 1), (15, 32, 50)] {
        let v = run(
            depth,
            width,
            seed,
            &[
                "--activation",
                "tanh",
                "--init",
                "normal",
                "--init-scale",
                "0.01",
            ],
        );
        assert_eq!(v["regime"]["tanh"], "collapsed", "{v}");
        let per_seed = v["grad_rms_per_layer"]["tanh"]["per_seed"]
            .as_array()
            .unwrap();
        assert_eq!(per_seed.len(), 8);
        for (i, layers) in per_seed.iter().enumerate() {
            let layers = nums(layers);
            assert_eq!(layers.len(), depth as usize + 1);
            for (j, &g) in layers[..depth as usize].iter().enumerate() {
                assert!(
                    g < 1e-8 && g > 0.0,
                    "{depth} × {width}, seed {}: layer {} = {g}",
                    seed + i as u64,
                    j + 1
                );
            }
        }
        // The ratio alone shows no vanishing: above 0.1 for every seed, its median within
        // a decade of 1 (single seeds reach 11 at 15 × 32).
        for r in ratios(&v, "tanh") {
            assert!(r > 0.1, "{depth} × {width}: ratio {r}");
        }
        let med = v["first_over_last_rms"]["tanh"]["median"].as_f64().unwrap();
        assert!(
            (0.1..=10.0).contains(&med),
            "{depth} × {width}: median ratio {med}"
        );
        assert_eq!(v["all_zero"]["tanh"], false, "tiny, not exactly zero");
    }
}

#[test]
fn tanh_with_xavier_is_stable() {
    for (depth, width, seed) in [(9, 16, 1), (7, 12, 30)] {
        let v = run(
            depth,
            width,
            seed,
            &["--activation", "tanh", "--init", "xavier"],
        );
        assert_eq!(v["regime"]["tanh"], "stable", "{v}");
        for r in ratios(&v, "tanh") {
            assert!((0.1..=10.0).contains(&r), "{depth} × {width}: ratio {r}");
        }
        let lo = nums(&v["grad_rms_per_layer"]["tanh"]["min"]);
        assert!(lo.iter().all(|&g| g > 1e-5), "{depth} × {width}: {lo:?}");
    }
}

#[test]
fn zeros_init_is_flagged_all_zero_and_still_drawn() {
    let d = scratch("vanishing-zeros");
    for (depth, width) in [(5, 8), (9, 16)] {
        let png = d.join(format!("z{depth}.png"));
        let v = run(
            depth,
            width,
            1,
            &[
                "--activation",
                "sigmoid,tanh",
                "--init",
                "zeros",
                "--plot",
                png.to_str().unwrap(),
            ],
        );
        assert!(is_png(&png));
        for act in ["sigmoid", "tanh"] {
            assert_eq!(v["all_zero"][act], true, "{v}");
            let zero: Vec<u64> = v["zero_layers"][act]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect();
            assert!(
                (1..=u64::from(depth)).all(|l| zero.contains(&l)),
                "{zero:?}"
            );
            // Reported, not dropped: every layer has its value, 0.
            let med = nums(&v["grad_rms_per_layer"][act]["median"]);
            assert_eq!(med.len(), depth as usize + 1);
            assert!(med[..depth as usize].iter().all(|&g| g == 0.0), "{med:?}");
            assert_eq!(v["regime"][act], "collapsed");
        }
    }
    // A net that is not all zero is not flagged.
    let v = run(5, 8, 1, &["--activation", "tanh"]);
    assert_eq!(v["all_zero"]["tanh"], false);
}

#[test]
fn init_scale_means_what_train_says() {
    for (depth, width) in [(5, 8), (7, 12)] {
        // normal: σ, 0.01 by default.
        let def = run(
            depth,
            width,
            1,
            &["--activation", "tanh", "--init", "normal"],
        );
        let explicit = run(
            depth,
            width,
            1,
            &[
                "--activation",
                "tanh",
                "--init",
                "normal",
                "--init-scale",
                "0.01",
            ],
        );
        assert_eq!(def["grad_rms_per_layer"], explicit["grad_rms_per_layer"]);
        assert_eq!(explicit["init_scale"]["tanh"]["sigma"], 0.01f32 as f64);
        let big = run(
            depth,
            width,
            1,
            &[
                "--activation",
                "tanh",
                "--init",
                "normal",
                "--init-scale",
                "1",
            ],
        );
        assert_ne!(big["regime"]["tanh"], "collapsed", "{big}");
        // xavier/he: a multiplier of the weights, 1 by default; 0 zeroes every weight.
        let x1 = run(
            depth,
            width,
            1,
            &["--activation", "tanh", "--init", "xavier"],
        );
        let x1e = run(
            depth,
            width,
            1,
            &[
                "--activation",
                "tanh",
                "--init",
                "xavier",
                "--init-scale",
                "1",
            ],
        );
        assert_eq!(x1["grad_rms_per_layer"], x1e["grad_rms_per_layer"]);
        let x2 = run(
            depth,
            width,
            1,
            &[
                "--activation",
                "tanh",
                "--init",
                "xavier",
                "--init-scale",
                "2",
            ],
        );
        assert_eq!(x2["init_scale"]["tanh"]["multiplier"], 2.0);
        assert_ne!(x1["grad_rms_per_layer"], x2["grad_rms_per_layer"]);
        let x0 = run(
            depth,
            width,
            1,
            &["--activation", "relu", "--init", "he", "--init-scale", "0"],
        );
        assert_eq!(x0["all_zero"]["relu"], true, "{x0}");
    }
}

#[test]
fn bad_values_are_usage_errors() {
    let cases: [&[&str]; 6] = [
        &["vanishing", "--init-scale", "-1"],
        &["vanishing", "--init-scale", "abc"],
        &["vanishing", "--init-scale", "inf"],
        &["vanishing", "--init", "zeros", "--init-scale", "2"],
        &["vanishing", "--init", "uniform"],
        &["vanishing", "--seeds", "0"],
    ];
    for args in cases {
        let mut a = args.to_vec();
        a.push("--json");
        let out = sim(&a);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{a:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{a:?}: stdout is not one JSON object: {e}"));
        assert_eq!(v["error"]["kind"], "usage", "{a:?}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{v}"
        );
    }
}
