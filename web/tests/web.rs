//! The playground trains exactly as `microprop-sim train`: the same configuration and seed
//! give the same weights hash and the same model file, over several data sets, optimizers,
//! extras and seeds. The simulator's side is its `train` command itself (the library the
//! binary is a thin front end over), run with the flags [`Config::sim_args`] prints.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
use clap::Parser;
use microprop_sim::cli::{Cli, Command};
use microprop_web::{Config, DatasetKind, InitKind, LossKind, OptimizerKind, Playground};

/// The simulator's `--json train` output for `cfg` and `epochs`, with `--save` to `save`.
fn sim_train(cfg: &Config, epochs: u32, save: &std::path::Path) -> serde_json::Value {
    let mut args = vec!["microprop-sim".to_string(), "--json".into(), "train".into()];
    args.extend(cfg.sim_args());
    args.extend(["--epochs".into(), epochs.to_string()]);
    args.extend(["--save".into(), save.display().to_string()]);
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => panic!("{args:?}: {e}"),
    };
    let Command::Train(a) = &cli.command else {
        panic!("not train")
    };
    let ctx = microprop_sim::Ctx { json: true };
    match microprop_sim::train::run(a, &ctx) {
        Ok(out) => out.json,
        Err(e) => panic!("{args:?}: {e}"),
    }
}

fn configs() -> Vec<(Config, u32)> {
    let base = Config::default();
    vec![
        // The simulator's defaults: 2-16-16-1 ReLU on two clusters.
        (base.clone(), 15),
        (
            Config {
                seed: 7,
                samples: 300,
                ..base.clone()
            },
            10,
        ),
        // XOR, tanh, Adam, a test set, an offset, L2.
        (
            Config {
                dataset: DatasetKind::Xor,
                activation: "tanh".into(),
                optimizer: OptimizerKind::Adam,
                lr: 0.01,
                val_fraction: 0.25,
                offset: [1.5, -0.5],
                l2: 1e-3,
                seed: 3,
                ..base.clone()
            },
            12,
        ),
        // Three spiral arms, softmax and cross-entropy, batch norm and dropout, momentum.
        (
            Config {
                dataset: DatasetKind::Spirals,
                classes: 3,
                samples: 240,
                layers: vec![2, 16, 16, 3],
                output: "softmax".into(),
                loss: LossKind::Ce,
                batch_norm: true,
                dropout: Some(0.1),
                optimizer: OptimizerKind::Momentum,
                lr: 0.05,
                batch: 16,
                seed: 11,
                ..base.clone()
            },
            8,
        ),
        // Four clusters, Xavier at half scale, a bias, Nesterov, leaky ReLU, a test set
        // with batch norm.
        (
            Config {
                classes: 4,
                layers: vec![2, 8, 4],
                output: "softmax".into(),
                loss: LossKind::Ce,
                activation: "leaky-relu".into(),
                init: InitKind::Xavier,
                init_scale: Some(0.5),
                bias_init: 0.1,
                optimizer: OptimizerKind::Nesterov,
                batch_norm: true,
                val_fraction: 0.2,
                batch: 10,
                seed: 5,
                ..base
            },
            6,
        ),
    ]
}

#[test]
fn same_config_same_weights_hash_and_model_file_as_the_simulator() {
    let dir = std::env::temp_dir().join(format!("microprop-web-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut hashes = Vec::new();
    for (i, (cfg, epochs)) in configs().into_iter().enumerate() {
        let save = dir.join(format!("sim{i}.mpm"));
        let sim = sim_train(&cfg, epochs, &save);
        let mut run = Playground::new(cfg.clone()).unwrap();
        let before = format!("{:016x}", run.weights_hash());
        for _ in 0..epochs {
            run.epoch().unwrap();
        }
        let hash = format!("{:016x}", run.weights_hash());
        assert_ne!(hash, before, "config {i}: training changed nothing");
        assert_eq!(
            sim["weights_hash"].as_str(),
            Some(hash.as_str()),
            "config {i} {:?}",
            cfg.sim_args()
        );
        // The measurements between epochs change nothing the training reads.
        let mut probed = Playground::new(cfg.clone()).unwrap();
        for _ in 0..epochs {
            probed.epoch().unwrap();
            probed.state().unwrap();
            probed.neurons(5).unwrap();
            probed.boundary(5).unwrap();
        }
        assert_eq!(
            format!("{:016x}", probed.weights_hash()),
            hash,
            "config {i}"
        );
        let last = run.history().last().copied().unwrap();
        let acc = sim["accuracy"].as_f64().unwrap();
        assert!((last.train_accuracy - acc).abs() < 1e-6, "config {i}");
        assert_eq!(
            last.test_accuracy.is_some(),
            sim["val_accuracy"].is_number(),
            "config {i}"
        );
        let info = run.info();
        assert_eq!(
            sim["bytes"].as_u64(),
            Some(info.weight_bytes as u64),
            "config {i}"
        );
        assert_eq!(
            sim["training_bytes"].as_u64(),
            Some(info.training_bytes as u64),
            "config {i}"
        );
        assert_eq!(sim["saved_bytes"].as_u64(), Some(info.model_bytes as u64));
        let file = std::fs::read(&save).unwrap();
        assert_eq!(
            run.model_file().unwrap(),
            file,
            "config {i}: model file bytes"
        );
        hashes.push(hash);
    }
    hashes.sort();
    hashes.dedup();
    assert_eq!(hashes.len(), configs().len(), "every configuration differs");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn two_clusters_reach_95_percent_and_the_page_sees_every_unit() {
    for seed in [1, 2, 3] {
        let cfg = Config {
            samples: 500,
            seed,
            val_fraction: 0.2,
            ..Config::default()
        };
        let mut run = Playground::new(cfg).unwrap();
        for _ in 0..20 {
            run.epoch().unwrap();
        }
        let last = run.history().last().copied().unwrap();
        assert!(last.train_accuracy >= 0.95, "seed {seed}: {last:?}");
        assert!(last.test_accuracy.unwrap() >= 0.95, "seed {seed}: {last:?}");
        let info = run.info();
        assert_eq!(info.unit_layers, vec![0, 1, 2]);
        let n = 6;
        let units: usize = 16 + 16 + 1;
        assert_eq!(run.neurons(n).unwrap().len(), units * n * n);
        let grid = run.boundary(n).unwrap();
        assert!(grid.iter().all(|p| (0.0..=1.0).contains(p)));
        // Both classes appear on the boundary's grid.
        assert!(grid.iter().any(|&p| p < 0.5) && grid.iter().any(|&p| p > 0.5));
        let state = run.state().unwrap();
        assert_eq!(state.grad_norms.len(), 3);
        assert!(state.grad_norms.iter().all(|g| g.is_finite() && *g > 0.0));
        assert_eq!(state.dead.len(), 2);
        assert_eq!(state.weights.len(), 3);
        assert_eq!(info.model_bytes, run.model_file().unwrap().len());
        // The README's table for the demo's 2-16-16-1: 1,372 B of weights, 1,628 B of
        // training buffers (SGD keeps no state).
        assert_eq!((info.weight_bytes, info.training_bytes), (1372, 1628));
        assert_eq!(info.optimizer_bytes, 0);
    }
}

#[test]
fn bad_settings_are_named() {
    let bad = [
        (
            Config {
                layers: vec![2, 16, 3],
                ..Config::default()
            },
            "output layer",
        ),
        (
            Config {
                activation: "softmax".into(),
                ..Config::default()
            },
            "only valid on the output",
        ),
        (
            Config {
                activation: "nope".into(),
                ..Config::default()
            },
            "activation `nope`",
        ),
        (
            Config {
                batch_norm: true,
                batch: 1,
                ..Config::default()
            },
            "batch norm",
        ),
        (
            Config {
                lr: -1.0,
                ..Config::default()
            },
            "learning rate",
        ),
    ];
    for (cfg, what) in bad {
        match Playground::new(cfg) {
            Ok(_) => panic!("accepted a bad config ({what})"),
            Err(e) => assert!(e.contains(what), "{e:?} should name {what:?}"),
        }
    }
}

#[test]
fn the_loss_surface_restores_the_weights_and_changes_nothing() {
    for hidden in [vec![2], vec![2; 8]] {
        let mut layers = vec![2];
        layers.extend(&hidden);
        layers.push(1);
        let cfg = Config {
            layers,
            activation: "sigmoid".into(),
            init: InitKind::Xavier,
            lr: 0.5,
            ..Config::default()
        };
        let mut a = Playground::new(cfg.clone()).unwrap();
        let mut b = Playground::new(cfg).unwrap();
        for _ in 0..3 {
            a.epoch().unwrap();
            b.epoch().unwrap();
        }
        let s = a.surface(7, 4.0).unwrap();
        assert_eq!(s.len(), 2 * 49);
        assert!(s.iter().all(|v| v.is_finite() && *v >= 0.0));
        // The loss varies over the grid; the centre is the current loss.
        let (lo, hi) = s[..49]
            .iter()
            .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
        assert!(hi > lo);
        assert_eq!(a.weights_hash(), b.weights_hash());
        a.epoch().unwrap();
        b.epoch().unwrap();
        assert_eq!(a.weights_hash(), b.weights_hash());
    }
}
