//! The minimal trainer (`microprop_app::tiny`, feature `tiny`) on the host: it reaches
//! the bar over several seeds and configurations, is deterministic, and refuses odd
//! sample counts.
#![allow(clippy::expect_used)]

use microprop_app::tiny::{self, Config, Outcome, TinyEvent};
use microprop_app::Sink;

struct Keep(Vec<TinyEvent>);
impl Sink<TinyEvent> for Keep {
    fn event(&mut self, e: &TinyEvent) {
        self.0.push(*e);
    }
}

fn train(config: &Config) -> (Outcome, Vec<TinyEvent>) {
    let mut sink = Keep(Vec::new());
    let mut model = tiny::Model::default();
    let outcome = tiny::run(config, &mut model, &mut sink).expect("trains");
    (outcome, sink.0)
}

#[test]
fn n1_reaches_95_percent_held_out_over_seeds_and_configurations() {
    // (σ per coordinate, lr, epochs): the default, a tighter and a looser stream, a
    // smaller step, fewer epochs.
    let configs = [
        (0.7, 0.1, 10),
        (0.5, 0.1, 10),
        (0.8, 0.1, 10),
        (0.7, 0.05, 10),
        (0.7, 0.1, 3),
    ];
    for (sigma, lr, epochs) in configs {
        for seed in [1u64, 2, 3, 42, 1234] {
            let config = Config {
                seed,
                test_seed: seed ^ 0x5eed,
                sigma,
                lr,
                epochs,
                ..Config::default()
            };
            let (outcome, events) = train(&config);
            assert!(
                outcome.passed && outcome.accuracy.permille() >= 950,
                "seed {seed}, sigma {sigma}, lr {lr}, {epochs} epochs: {}%",
                outcome.accuracy
            );
            let epochs_logged = events
                .iter()
                .filter(|e| matches!(e, TinyEvent::Epoch { .. }))
                .count();
            assert_eq!(epochs_logged, usize::from(epochs));
        }
    }
}

#[test]
fn same_seed_same_weights_other_seed_other_weights() {
    let config = Config::default();
    let (a, events_a) = train(&config);
    let (b, events_b) = train(&config);
    assert_eq!(a, b);
    assert_eq!(events_a, events_b);
    assert!(events_a.contains(&TinyEvent::Hash { hash: a.hash }));
    let (c, _) = train(&Config { seed: 43, ..config });
    assert_ne!(a.hash, c.hash);
}

#[test]
fn a_stream_too_hard_for_the_bar_fails_it() {
    // Clusters 0.7 apart per coordinate at σ 3: the best boundary gets ~63 %.
    let (outcome, _) = train(&Config {
        sigma: 3.0,
        ..Config::default()
    });
    assert!(!outcome.passed, "{}%", outcome.accuracy);
}

#[test]
fn odd_sample_counts_are_refused() {
    let mut model = tiny::Model::default();
    for config in [
        Config {
            samples: 511,
            ..Config::default()
        },
        Config {
            test: 3,
            ..Config::default()
        },
        Config {
            test: 0,
            ..Config::default()
        },
    ] {
        let e = tiny::run(&config, &mut model, &mut Keep(Vec::new())).expect_err("odd");
        assert!(e.to_string().contains("must be even"), "{e}");
    }
}
