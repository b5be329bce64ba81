//! Lecture 7's optimisation experiments (`optimizers`, `lr-sweep`, `schedules`) and the
//! after-training health check of `train` (`warnings`), each finding over several seeds
//! and configurations.

use microprop::Activation;
use microprop_sim::cli::{DatasetArg, HiddenAct, OptimizerArg};
use microprop_sim::optimizers::{run_path, sign_changes, Ravine};
use microprop_sim::{lr_sweep, report, schedules, train, Ctx};

const STARTS: [[f32; 2]; 4] = [[-8.0, 1.2], [5.0, -2.0], [-3.0, 0.5], [9.0, 1.0]];
const CONDITIONS: [f64; 2] = [20.0, 50.0];

#[test]
fn momentum_and_nesterov_reach_the_threshold_before_sgd_at_the_same_lr() {
    for condition in CONDITIONS {
        let ravine = Ravine { condition };
        for start in STARTS {
            for lr in [0.005, 0.01] {
                let steps = |o| {
                    run_path(o, lr, start, ravine, 3000, 1e-3)
                        .unwrap()
                        .steps_to_threshold
                        .unwrap_or_else(|| panic!("{o:?} κ {condition} {start:?} lr {lr}"))
                };
                let sgd = steps(OptimizerArg::Sgd);
                for o in [OptimizerArg::Momentum, OptimizerArg::Nesterov] {
                    let s = steps(o);
                    assert!(
                        2 * s < sgd,
                        "{o:?} {s} steps vs sgd {sgd}, κ {condition} {start:?} lr {lr}"
                    );
                }
            }
        }
    }
}

#[test]
fn sgd_zig_zags_across_the_ravine_only_above_one_over_kappa() {
    for condition in CONDITIONS {
        let ravine = Ravine { condition };
        for start in STARTS {
            let high = (1.8 / condition) as f32;
            let p = run_path(OptimizerArg::Sgd, high, start, ravine, 30, 1e-3).unwrap();
            // w₂ ← (1 − η κ) w₂ with 1 − η κ = −0.8: a sign change every step; w₁ never.
            assert_eq!(sign_changes(&p, 1), 30, "κ {condition} {start:?}");
            assert_eq!(sign_changes(&p, 0), 0, "κ {condition} {start:?}");
            let low = (0.5 / condition) as f32;
            let p = run_path(OptimizerArg::Sgd, low, start, ravine, 30, 1e-3).unwrap();
            assert_eq!(sign_changes(&p, 1), 0, "κ {condition} {start:?}");
        }
    }
}

#[test]
fn adams_first_step_is_lr_in_every_coordinate() {
    for condition in CONDITIONS {
        let ravine = Ravine { condition };
        for start in STARTS {
            for lr in [0.01f32, 0.3] {
                for o in [OptimizerArg::Adam, OptimizerArg::Adamw] {
                    let p = run_path(o, lr, start, ravine, 1, 1e-3).unwrap();
                    for k in 0..2 {
                        let step = (p.points[1][k] - p.points[0][k]).abs();
                        // AdamW also decays the weight by η λ w (λ = 0.01).
                        let tol = if o == OptimizerArg::Adamw {
                            f64::from(lr) * 0.02 * f64::from(start[k].abs())
                        } else {
                            1e-5 * f64::from(lr)
                        };
                        assert!(
                            (step - f64::from(lr)).abs() <= tol + 2e-6,
                            "{o:?} κ {condition} {start:?} lr {lr} coordinate {k}: {step}"
                        );
                    }
                }
                // SGD's first step is η g: κ times longer across the ravine than along it.
                let p = run_path(OptimizerArg::Sgd, lr, start, ravine, 1, 1e-3).unwrap();
                let d: Vec<f64> = (0..2).map(|k| p.points[1][k] - p.points[0][k]).collect();
                let ratio = (d[1] / f64::from(start[1])) / (d[0] / f64::from(start[0]));
                assert!((ratio - condition).abs() < 1e-3 * condition, "{ratio}");
            }
        }
    }
}

#[test]
fn a_path_past_the_stability_limit_is_flagged_diverged() {
    for condition in CONDITIONS {
        let ravine = Ravine { condition };
        for start in STARTS {
            let lr = (2.5 / condition) as f32;
            let p = run_path(OptimizerArg::Sgd, lr, start, ravine, 500, 1e-3).unwrap();
            assert!(p.diverged_at.is_some(), "κ {condition} {start:?}");
            assert!(p.losses.iter().all(|l| l.is_finite()));
            assert_eq!(p.steps_to_threshold, None);
            let p = run_path(OptimizerArg::Sgd, lr * 0.7, start, ravine, 500, 1e-3).unwrap();
            assert!(p.diverged_at.is_none(), "κ {condition} {start:?}");
        }
    }
}

#[test]
fn the_lowest_rate_is_too_low_the_middle_good_the_highest_too_high() {
    for dataset in [DatasetArg::Xor, DatasetArg::Clusters] {
        let a = lr_sweep::LrSweepArgs {
            lr: vec![0.0001, 0.001, 0.01, 0.1, 1.0],
            seeds: 3,
            epochs: 30,
            dataset,
            plot: None,
        };
        let rates = lr_sweep::sweep(&a).unwrap();
        let classes: Vec<&str> = rates.iter().map(|r| r.class).collect();
        assert_eq!(classes[0], "too_low", "{dataset:?} {classes:?}");
        assert_eq!(classes[2], "good", "{dataset:?} {classes:?}");
        assert_eq!(classes[4], "too_high", "{dataset:?} {classes:?}");
        // The too-high runs failed loudly: diverged (a refused step) or died.
        let last = &rates[4];
        assert!(last.runs.iter().filter(|r| r.failed()).count() >= 2);
        // The good rate's runs all trained.
        assert!(rates[2].runs.iter().all(|r| !r.failed()));
        let j = lr_sweep::json_of(&a, &rates);
        for r in j["rates"][4]["runs"].as_array().unwrap() {
            assert_eq!(
                r["diverged"].as_bool().unwrap(),
                r["diverged_at_epoch"].is_u64()
            );
        }
    }
}

#[test]
fn a_refused_step_is_reported_as_divergence_not_as_a_curve() {
    // lr 10 on an identity output: the core's guard refuses a step in the first epochs.
    for dataset in [DatasetArg::Xor, DatasetArg::Clusters] {
        for seed in 1..=3 {
            let r = lr_sweep::train_run(dataset, 10.0, None, seed, 10).unwrap();
            let e = r.diverged_at_epoch.expect("diverged");
            assert_eq!(r.losses.len() as u32, e - 1, "{dataset:?} {seed}");
            assert!(r.losses.iter().all(|l| l.is_finite()));
        }
    }
}

#[test]
fn schedules_follow_their_formulas() {
    let s = schedules::schedules(0.8, 1000).unwrap();
    let at = |name: &str, t: u32| {
        s.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| s.lr(t))
            .unwrap()
    };
    let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    close(at("constant", 0), 0.8);
    close(at("constant", 999), 0.8);
    close(at("step", 249), 0.8);
    close(at("step", 250), 0.24);
    close(at("step", 999), 0.8 * 0.3f64.powi(3));
    close(at("exponential", 0), 0.8);
    close(at("exponential", 500), 0.08);
    close(at("exponential", 1000), 0.008);
    close(at("cosine", 0), 0.8);
    close(at("cosine", 500), 0.4);
    close(at("cosine", 1000), 0.0);
    close(at("warmup+cosine", 0), 0.008);
    close(at("warmup+cosine", 49), 0.4);
    close(at("warmup+cosine", 99), 0.8);
    close(at("warmup+cosine", 100), 0.8);
    close(at("warmup+cosine", 550), 0.4);
    close(at("warmup+cosine", 1000), 0.0);
}

#[test]
fn at_a_high_base_rate_warm_up_keeps_every_run_that_constant_loses() {
    for dataset in [DatasetArg::Xor, DatasetArg::Clusters] {
        let a = schedules::SchedulesArgs {
            lr: 0.8,
            seeds: 6,
            epochs: 20,
            dataset,
            plot: None,
        };
        let all = schedules::sweep(&a).unwrap();
        let get = |n: &str| all.iter().find(|r| r.name == n).unwrap();
        let failed = |n: &str| get(n).runs.iter().filter(|r| r.failed()).count();
        assert_eq!(failed("warmup+cosine"), 0, "{dataset:?}");
        assert!(failed("constant") >= 1, "{dataset:?}");
        let fin = |n: &str| lr_sweep::median_final(&get(n).runs);
        // The constant rate's median is over its healthy runs: NaN when it lost them all.
        let (w, c) = (fin("warmup+cosine"), fin("constant"));
        assert!(c.is_nan() || w < c, "{dataset:?} {w} vs {c}");
        // Every decayed schedule ends at a rate far below the base.
        for r in &all {
            let last = *r.runs[0].lr_per_step.last().unwrap();
            if r.name != "constant" {
                assert!(last < 0.1 * 0.8, "{} {last}", r.name);
            }
        }
    }
}

fn train_args(
    layers: &[usize],
    dataset: DatasetArg,
    opt: OptimizerArg,
    lr: f32,
    seed: u64,
) -> microprop_sim::cli::TrainArgs {
    let mut a = report::train_args(layers, HiddenAct(Activation::Relu), dataset, 50);
    a.optimizer = opt;
    a.lr = lr;
    a.seed = seed;
    a
}

#[test]
fn adam_at_lr_0_1_that_dies_at_0_25_is_warned_about() {
    let ctx = Ctx { json: true };
    for seed in 1..=3 {
        let a = train_args(
            &[2, 64, 64, 1],
            DatasetArg::Spirals,
            OptimizerArg::Adam,
            0.1,
            seed,
        );
        let (res, _, _) = train::train_with::<microprop::Libm>(&a, &ctx).unwrap();
        assert!(
            (res.final_loss - 0.25).abs() < 1e-3,
            "seed {seed}: {}",
            res.final_loss
        );
        let kinds: Vec<&str> = res.warnings.iter().map(|w| w.kind).collect();
        assert!(kinds.contains(&"constant_output"), "seed {seed}: {kinds:?}");
        assert!(
            kinds.contains(&"no_better_than_constant"),
            "seed {seed}: {kinds:?}"
        );
    }
}

#[test]
fn healthy_runs_get_no_warning() {
    let ctx = Ctx { json: true };
    for seed in 1..=4 {
        for (dataset, opt, lr) in [
            (DatasetArg::Clusters, OptimizerArg::Sgd, 0.1),
            (DatasetArg::Clusters, OptimizerArg::Adam, 0.1),
            (DatasetArg::Xor, OptimizerArg::Sgd, 0.5),
        ] {
            let a = train_args(&[2, 16, 16, 1], dataset, opt, lr, seed);
            let (res, _, _) = train::train_with::<microprop::Libm>(&a, &ctx).unwrap();
            assert!(
                res.accuracy > 0.9,
                "{dataset:?} {opt:?} {seed}: {}",
                res.accuracy
            );
            assert!(
                res.warnings.is_empty(),
                "{dataset:?} {opt:?} {seed}: {:?}",
                res.warnings
            );
        }
    }
}

#[test]
fn the_constant_predictors_loss() {
    use microprop::Loss;
    let balanced = [0u8, 1, 0, 1];
    assert!((train::constant_loss(Loss::Mse, &balanced, 1) - 0.125).abs() < 1e-12);
    let ln2 = std::f64::consts::LN_2;
    assert!((train::constant_loss(Loss::BinaryCrossEntropy, &balanced, 1) - ln2).abs() < 1e-12);
    let three = [0u8, 1, 2, 0, 1, 2];
    let ln3 = 3f64.ln();
    assert!((train::constant_loss(Loss::CrossEntropy, &three, 3) - ln3).abs() < 1e-12);
    // One-hot MSE over 3 classes: ½ · 3 · (1/3)(2/3).
    assert!((train::constant_loss(Loss::Mse, &three, 3) - 1.0 / 3.0).abs() < 1e-12);
}

#[test]
fn the_cli_reports_warnings_on_stderr_and_in_json_and_bad_flags_exit_2() {
    let bin = env!("CARGO_BIN_EXE_microprop-sim");
    let run = |args: &[&str]| std::process::Command::new(bin).args(args).output().unwrap();
    let dead = [
        "train",
        "--optimizer",
        "adam",
        "--lr",
        "0.1",
        "--dataset",
        "spirals",
        "--layers",
        "2,64,64,1",
        "--seed",
        "1",
    ];
    let o = run(&dead);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.lines().any(|l| l.starts_with("warning: ")), "{err}");
    let mut j = vec!["--json"];
    j.extend(dead);
    let o = run(&j);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["kind"] == "constant_output"));
    let o = run(&["--json", "train", "--seed", "1"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["warnings"], serde_json::json!([]));
    for bad in [
        vec!["optimizers", "--start", "1"],
        vec!["optimizers", "--lr", "0.1,0.2"],
        vec!["optimizers", "--condition", "0.5"],
        vec!["lr-sweep", "--lr", "-1"],
        vec!["schedules", "--epochs", "3"],
    ] {
        let o = run(&bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
    }
}

#[test]
fn the_report_sections_write_their_figures_and_state_their_numbers() {
    let dir = std::env::temp_dir().join(format!("microprop-optim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ctx = Ctx { json: true };
    let sections = [
        microprop_sim::optimizers::section(&dir, &ctx, true).unwrap(),
        lr_sweep::section(&dir, &ctx, true).unwrap(),
        schedules::section(&dir, &ctx, true).unwrap(),
    ];
    for (s, j) in &sections {
        assert!(s.text.contains("What to look for:"), "{}", s.title);
        for img in &s.images {
            assert!(
                std::fs::metadata(dir.join(img)).unwrap().len() > 1000,
                "{img}"
            );
        }
        assert!(j.is_object());
    }
    // The paragraphs quote the measured classes and steps.
    assert!(sections[0].0.text.contains("below the threshold after"));
    assert!(sections[1].0.text.contains("too_high"));
    let _ = std::fs::remove_dir_all(&dir);
}
