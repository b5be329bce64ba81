//! A training step that meets non-finite values is refused, and the refusal leaves the
//! weights and the optimizer state bit-identical (compared as bytes).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use microprop::{Dataset, Error, Loss, Model, Optimizer, Trainer};
use support::{trained, Momentum, Net};

type Opt = Momentum<{ Net::PARAMS }>;

fn weight_bytes(m: &impl Model<Scalar = f32>) -> Vec<u8> {
    let mut out = Vec::new();
    m.visit_layers(|l| {
        for x in l.w.iter().chain(l.b) {
            out.extend_from_slice(&x.to_bits().to_le_bytes());
        }
    });
    out
}

fn state_bytes(o: &Opt) -> Vec<u8> {
    let mut out: Vec<u8> = o
        .state()
        .iter()
        .flat_map(|x| x.to_bits().to_le_bytes())
        .collect();
    out.extend_from_slice(&o.learning_rate().to_bits().to_le_bytes());
    out
}

/// One step on `x` (two samples) that must fail with `want`, changing nothing.
fn refused(x: [[f32; 2]; 2], want: Error) {
    // A model with momentum built up, so the optimizer state is far from zero.
    let (mut model, _, mut opt) = trained(21, 3);
    assert!(opt.state().iter().filter(|v| **v != 0.0).count() > Net::PARAMS / 2);
    let (w0, s0) = (weight_bytes(&model), state_bytes(&opt));
    let labels = [0u8, 1];
    let data = Dataset::new(&x, &labels).unwrap();
    let mut trainer = Trainer::new(Loss::Mse, 2).unwrap();
    assert_eq!(
        trainer.step(&mut model, &mut opt, &data, &[0, 1], &mut microprop::rng(0)),
        Err(want)
    );
    assert_eq!(
        weight_bytes(&model),
        w0,
        "weights changed by a refused step"
    );
    assert_eq!(
        state_bytes(&opt),
        s0,
        "optimizer state changed by a refused step"
    );
    assert_eq!(trainer.steps(), 0);
    // And a good step afterwards does change them (the comparison can fail).
    let good = [[0.5f32, -0.5], [-0.5, 0.5]];
    let data = Dataset::new(&good, &labels).unwrap();
    trainer
        .step(&mut model, &mut opt, &data, &[0, 1], &mut microprop::rng(0))
        .unwrap();
    assert_ne!(weight_bytes(&model), w0);
    assert_ne!(state_bytes(&opt), s0);
}

#[test]
fn nan_input_is_refused_without_a_trace() {
    refused([[0.1, 0.2], [f32::NAN, 0.0]], Error::NonFiniteInput);
}

#[test]
fn infinite_inputs_are_refused_without_a_trace() {
    refused([[f32::INFINITY, 0.2], [0.0, 0.0]], Error::NonFiniteInput);
    refused(
        [[0.0, 0.0], [0.3, f32::NEG_INFINITY]],
        Error::NonFiniteInput,
    );
}

#[test]
fn finite_inputs_that_overflow_inside_the_network_are_refused_without_a_trace() {
    // Finite, but the hidden pre-activations overflow to ±∞ and the loss becomes NaN.
    refused(
        [[f32::MAX, -f32::MAX], [1.0, 1.0]],
        Error::NonFiniteGradient,
    );
    refused(
        [[3.0e38, 3.0e38], [-3.0e38, 2.0e38]],
        Error::NonFiniteGradient,
    );
}
