//! The activation table: every derived item agrees with the table and with the others
//! (names, codes, parsing, α in the scalar type, the slice loops against the scalar
//! forms). Every test sweeps the table, so a new activation is covered by itself.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use microprop::{Activation, Libm, ParseActivationError};

/// A sweep of pre-activations, both signs, with exact zeros.
fn sweep() -> Vec<f64> {
    (0..=64).map(|i| -8.0 + 0.25 * f64::from(i)).collect()
}

#[test]
fn names_and_codes_are_unique_and_round_trip() {
    let all = Activation::ALL;
    assert_eq!(all.len(), Activation::COUNT);
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert_ne!(a.name(), b.name());
            assert_ne!(a.code(), b.code());
        }
        assert_eq!(Activation::from_code(a.code(), a.alpha()), Some(*a));
        assert_eq!(a.name().parse::<Activation>(), Ok(*a));
        assert_eq!(a.to_string().parse::<Activation>(), Ok(*a), "{a}");
        assert!(!a.about().is_empty() && a.is_valid());
    }
    assert_eq!(Activation::<f32>::all(), Activation::ALL);
    assert_eq!(Activation::<f32>::from_code(200, 0.0), None);
}

/// The spellings and codes are a contract: the CLI, JSON and model files use them.
#[test]
fn existing_names_and_codes_are_kept() {
    let names: Vec<(&str, u8)> = Activation::ALL
        .iter()
        .map(|a| (a.name(), a.code()))
        .collect();
    let want = [
        ("identity", 0),
        ("sigmoid", 1),
        ("tanh", 2),
        ("relu", 3),
        ("leaky-relu", 4),
        ("elu", 5),
        ("gelu", 6),
        ("gelu-tanh", 7),
        ("softmax", 8),
    ];
    for w in want {
        assert!(names.contains(&w), "{w:?} missing");
    }
    assert_eq!(Activation::LeakyRelu(0.01), "leaky-relu".parse().unwrap());
    assert_eq!(Activation::Elu(1.0), "elu".parse().unwrap());
}

#[test]
fn parsing_alpha_is_validated_with_named_errors() {
    assert_eq!(
        "leaky-relu:0.2".parse::<Activation>(),
        Ok(Activation::LeakyRelu(0.2))
    );
    assert_eq!(
        "elu:0.5".parse::<Activation<f64>>(),
        Ok(Activation::Elu(0.5))
    );
    assert_eq!(
        "swish".parse::<Activation>(),
        Err(ParseActivationError::UnknownName)
    );
    assert_eq!(
        "relu:0.1".parse::<Activation>(),
        Err(ParseActivationError::NoParameter)
    );
    for bad in [
        "leaky-relu:",
        "leaky-relu:x",
        "leaky-relu:inf",
        "leaky-relu:NaN",
        "elu:1e39",
    ] {
        assert_eq!(
            bad.parse::<Activation>(),
            Err(ParseActivationError::BadAlpha),
            "{bad}"
        );
    }
    // 1e39 is finite in f64.
    assert!("elu:1e39".parse::<Activation<f64>>().is_ok());
}

#[test]
fn alpha_lives_in_the_scalar_type() {
    let a64 = Activation::<f64>::LeakyRelu(0.1);
    assert_eq!(a64.forward::<Libm>(-1.0), -0.1);
    assert_eq!(a64.alpha(), 0.1);
    assert_eq!(Activation::<f64>::all()[4], Activation::LeakyRelu(0.01f64));
    // Cast rounds to the target and widens exactly.
    let a32 = a64.cast::<f32>();
    assert_eq!(a32, Activation::LeakyRelu(0.1f32));
    assert_eq!(a32.cast::<f64>().alpha(), f64::from(0.1f32));
    assert_eq!(Activation::<f64>::Relu.alpha(), 0.0);
    assert!(!Activation::<f64>::Elu(f64::NAN).is_valid());
    assert_eq!(
        Activation::<f64>::Elu(1.0).with_alpha(2.0),
        Activation::Elu(2.0)
    );
    assert_eq!(Activation::<f64>::Tanh.with_alpha(2.0), Activation::Tanh);
}

/// `apply`, `backward` and `delta` (the matched-once loops) agree with the scalar
/// `forward` and `derivative` of the same entry, bit for bit.
#[test]
fn slice_loops_agree_with_the_scalar_forms() {
    let z = sweep();
    let g: Vec<f64> = z.iter().map(|z| 0.5 - 0.125 * z).collect();
    for act in Activation::<f64>::all() {
        let mut a = vec![0.0; z.len()];
        act.apply::<Libm>(&z, &mut a);
        let mut back = g.clone();
        act.backward::<Libm>(&z, &a, &mut back);
        let mut delta = z.clone();
        act.delta::<Libm>(&mut delta, &a, &g);
        if act.is_elementwise() {
            for i in 0..z.len() {
                assert_eq!(a[i], act.forward::<Libm>(z[i]), "{act} f at {}", z[i]);
                let d = act.derivative::<Libm>(z[i], a[i]) * g[i];
                assert_eq!(back[i], d, "{act} backward at {}", z[i]);
                assert_eq!(delta[i], d, "{act} delta at {}", z[i]);
            }
        } else {
            // Softmax: a distribution; the backward is the Jacobian-vector product.
            assert!((a.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            let dot: f64 = a.iter().zip(&g).map(|(a, g)| a * g).sum();
            for i in 0..z.len() {
                assert!((back[i] - a[i] * (g[i] - dot)).abs() < 1e-15);
                assert_eq!(delta[i], a[i] * (1.0 - a[i]) * g[i]);
            }
        }
    }
}

/// The derivative agrees with a central difference of the forward (elementwise entries).
#[test]
fn derivatives_match_the_forward() {
    let h = 1e-6;
    for act in Activation::<f64>::all()
        .into_iter()
        .filter(|a| a.is_elementwise())
    {
        for z in sweep().into_iter().map(|z| z + 0.1) {
            let a = act.forward::<Libm>(z);
            let num = (act.forward::<Libm>(z + h) - act.forward::<Libm>(z - h)) / (2.0 * h);
            let d = act.derivative::<Libm>(z, a);
            assert!((d - num).abs() < 1e-6, "{act} at {z}: {d} vs {num}");
        }
    }
}
