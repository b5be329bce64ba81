//! Resuming from a checkpoint continues training bit for bit: weights, Adam's moments and
//! its step count come back from flash, and the run ends where an uninterrupted one does.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use microprop::checkpoint::Checkpoints;
use microprop::format::{self, Extras, Progress, Targets};
use microprop::{data::Clusters, train, Adam, AdamConfig, Dataset, Init, Loss, Model, Optimizer};
use microprop::{Trainer, Training};
use support::flash::CutFlash;
use support::{Net, NetLayers, HIDDEN, OUTPUT};

type L = <Net as NetLayers>::L;
type Opt = Adam<f32, [f32; 2 * Net::PARAMS]>;
const SEED: u64 = 77;
const EPOCHS: u32 = 6;
const BUF: usize = format::network_len::<Net>(Some(2 * Net::PARAMS));

fn data() -> ([[f32; 2]; 64], [u8; 64]) {
    let mut rng = microprop::rng(SEED);
    let (mut x, mut labels) = ([[0.0f32; 2]; 64], [0u8; 64]);
    Clusters::two(0.8)
        .generate(&mut rng, &mut x, &mut labels)
        .unwrap();
    (x, labels)
}

fn adam() -> Opt {
    let cfg = AdamConfig {
        lr: 0.01,
        ..AdamConfig::default()
    };
    Adam::new(cfg, [0.0; 2 * Net::PARAMS]).unwrap()
}

/// Epoch `e` of the device's loop: the order and the shuffle depend only on the seed and
/// the epoch number, so a resumed run shuffles exactly as an uninterrupted one.
fn epoch(model: &mut Training<L>, opt: &mut Opt, trainer: &mut Trainer, e: u32) {
    let (x, labels) = data();
    let data = Dataset::new(&x, &labels).unwrap();
    let mut order = [0u16; 64];
    train::fill_order(&mut order).unwrap();
    let mut rng = microprop::rng(SEED + 1000 + u64::from(e));
    trainer
        .epoch(model, opt, &data, &mut order, &mut rng)
        .unwrap();
}

fn fresh() -> Training<L> {
    let mut rng = microprop::rng(SEED);
    Net::new(HIDDEN, OUTPUT, Init::HeNormal, 0.01, &mut rng)
        .unwrap()
        .into_training()
}

fn state_bytes(o: &Opt) -> Vec<u8> {
    o.state().iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn training_resumed_from_flash_ends_bit_identical_to_an_uninterrupted_run() {
    // Uninterrupted.
    let (mut model, mut opt) = (fresh(), adam());
    let mut trainer = Trainer::new(Loss::Mse, 8).unwrap();
    for e in 0..EPOCHS {
        epoch(&mut model, &mut opt, &mut trainer, e);
    }
    let (hash, state) = (model.weights_hash(), state_bytes(&opt));

    // Interrupted after 3 epochs: checkpoint, reset, resume.
    let slot = Checkpoints::<CutFlash>::slot_len_for(BUF) as u32;
    let mut cp = Checkpoints::new(CutFlash::new(32 * 1024), 0, 32 * 1024, slot).unwrap();
    let (mut model, mut opt) = (fresh(), adam());
    let mut trainer = Trainer::new(Loss::Mse, 8).unwrap();
    let mut buf = vec![0u8; BUF];
    for e in 0..3 {
        epoch(&mut model, &mut opt, &mut trainer, e);
        let extras = Extras {
            optimizer: Some(&opt),
            progress: Progress {
                epoch: e + 1,
                step: trainer.steps(),
            },
        };
        cp.save(&model, &extras, &mut buf).unwrap();
    }
    let flash = cp.into_inner().reboot();
    // Everything in RAM is lost; only the flash image goes on.

    let resume = |keep_steps: bool| {
        let mut cp = Checkpoints::new(flash.clone(), 0, 32 * 1024, slot).unwrap();
        let mut model = Net::zeroed(HIDDEN, OUTPUT).unwrap().into_training();
        let mut opt = adam();
        let mut buf = vec![0u8; BUF];
        let (_, loaded) = cp
            .load(
                &mut model,
                Targets {
                    optimizer: Some(&mut opt),
                },
                &mut buf,
            )
            .unwrap()
            .expect("a checkpoint");
        assert_eq!(loaded.progress.epoch, 3);
        // The step count (Adam's bias correction) is part of the saved optimizer state.
        assert_eq!(opt.steps(), loaded.progress.step);
        if !keep_steps {
            opt.set_steps(0);
        }
        let mut trainer = Trainer::new(Loss::Mse, 8).unwrap();
        for e in loaded.progress.epoch..EPOCHS {
            epoch(&mut model, &mut opt, &mut trainer, e);
        }
        (model.weights_hash(), state_bytes(&opt))
    };
    let (h, s) = resume(true);
    assert_eq!(h, hash, "weights after resuming differ");
    assert_eq!(s, state, "Adam state after resuming differs");
    // Forgetting the step count shows in the weights: the comparison can fail.
    let (h, _) = resume(false);
    assert_ne!(h, hash);
}
