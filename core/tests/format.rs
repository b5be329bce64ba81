//! The model format: round trips (network, training model, file), layout, and every way
//! a load must refuse bytes while leaving the target untouched.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use microprop::format::{self, Extras, Progress, Targets};
use microprop::{
    mlp, Activation, Error, FormatError, Model, Optimizer, PcaWhitening, Preprocess, Standardizer,
};
use support::{bytes, trained, Momentum, Net, HIDDEN, OUTPUT};

const LEN: usize = format::network_len::<Net>(Some(()), Some(Net::PARAMS));

fn saved() -> (
    Vec<u8>,
    microprop::Network<<Net as support::NetLayers>::L>,
    Standardizer<f32, 2>,
    Momentum<{ Net::PARAMS }>,
) {
    let (model, stats, opt) = trained(7, 5);
    let white = whitening();
    let mut buf = vec![0u8; LEN];
    let extras = Extras {
        preprocess: Some(&stats),
        whitening: Some(&white),
        optimizer: Some(&opt),
        progress: Progress { epoch: 5, step: 40 },
    };
    let n = format::save_model(&model, &extras, &mut buf).unwrap();
    buf.truncate(n);
    (buf, model.into_network(), stats, opt)
}

/// PCA whitening fitted on a correlated cloud.
fn whitening() -> PcaWhitening {
    let xs: Vec<[f32; 2]> = (0..50)
        .map(|i| {
            let t = i as f32 * 0.37;
            [t.sin() * 2.0 + 0.5, t.sin() * 1.5 + t.cos() * 0.3 - 1.0]
        })
        .collect();
    PcaWhitening::fit(1e-5, &xs).unwrap()
}

#[test]
fn network_round_trip_is_bit_exact_with_statistics_and_optimizer_state() {
    let (buf, net, stats, opt) = saved();
    let mut copy = Net::zeroed(HIDDEN, OUTPUT).unwrap();
    let mut stats2 = Standardizer::<f32, 2>::new(Preprocess::None);
    let mut opt2 = Momentum::<{ Net::PARAMS }>::new(1.0, 0.9);
    let mut white2 = PcaWhitening::new(0.0).unwrap();
    let loaded = format::load_network(
        &buf,
        &mut copy,
        Targets {
            preprocess: Some(&mut stats2),
            whitening: Some(&mut white2),
            optimizer: Some(&mut opt2),
        },
    )
    .unwrap();
    assert_eq!(loaded.len, buf.len());
    assert_eq!(loaded.progress, Progress { epoch: 5, step: 40 });
    assert!(loaded.has_preprocess && loaded.has_optimizer && loaded.has_whitening);
    let white = whitening();
    assert_eq!(white2, white);
    for p in [[0.3f32, -1.2], [2.0, 2.0]] {
        let (mut a, mut b) = (p, p);
        white.apply(&mut a);
        white2.apply(&mut b);
        assert_eq!(bytes(&a), bytes(&b));
    }
    assert_eq!(copy, net);
    assert_eq!(copy.clone().weights_hash(), net.clone().weights_hash());
    assert_eq!(bytes(opt2.state()), bytes(opt.state()));
    assert!(
        opt.state().iter().any(|&v| v != 0.0),
        "momentum state must be non-trivial"
    );
    assert_eq!(
        opt2.learning_rate().to_bits(),
        opt.learning_rate().to_bits()
    );
    assert_eq!(stats2.mode(), stats.mode());
    assert_eq!(stats2.count(), stats.count());
    assert_eq!(bytes(stats2.mean()), bytes(stats.mean()));
    assert_eq!(bytes(&stats2.variance()), bytes(&stats.variance()));
    // Same predictions, bit for bit, through the restored preprocessing.
    for p in [[0.3f32, -1.2], [2.0, 2.0], [-1.0, -0.5]] {
        let (mut a, mut b) = (p, p);
        stats.apply::<microprop::Libm>(&mut a);
        stats2.apply::<microprop::Libm>(&mut b);
        assert_eq!(bytes(&a), bytes(&b));
        assert_eq!(
            bytes(&net.predict(&a).unwrap()),
            bytes(&copy.predict(&b).unwrap())
        );
    }
}

#[test]
fn network_and_model_views_write_the_same_bytes() {
    let (buf, net, stats, opt) = saved();
    let mut again = vec![0u8; LEN];
    let white = whitening();
    let extras = Extras {
        preprocess: Some(&stats),
        whitening: Some(&white),
        optimizer: Some(&opt),
        progress: Progress { epoch: 5, step: 40 },
    };
    let n = format::save_network(&net, &extras, &mut again).unwrap();
    assert_eq!(&again[..n], &buf[..]);
    // Loading into a Training (the Model view) gives the same weights hash.
    let mut model = Net::zeroed(HIDDEN, OUTPUT).unwrap().into_training();
    format::load_model(&buf, &mut model, Targets::none()).unwrap();
    assert_eq!(model.weights_hash(), net.clone().weights_hash());
}

#[test]
fn layout_is_magic_version_scalar_then_crc32_of_everything_before() {
    let (buf, net, _, _) = saved();
    assert_eq!(&buf[..4], b"MPRP");
    assert_eq!(buf[4], 1, "format version 1 (varint)");
    assert_eq!(buf[5], 4, "f32 scalars");
    assert_eq!(buf[6], 2, "inputs");
    let (body, crc) = buf.split_at(buf.len() - 4);
    let expected = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(body);
    assert_eq!(u32::from_le_bytes(crc.try_into().unwrap()), expected);
    // Weights follow the layer signatures: find the first weight's bits in the bytes.
    let w0 = net.layers().0.weights()[0][0].to_le_bytes();
    assert!(body.windows(4).any(|w| w == w0));
    assert!(buf.len() <= LEN, "{} > network_len {}", buf.len(), LEN);
    // Weights alone: exact size is fixed overhead + 4 bytes per parameter.
    let mut small = [0u8; format::network_len::<Net>(None, None)];
    let n = format::save_network(&net, &Extras::none(), &mut small).unwrap();
    assert!((Net::PARAMS * 4..Net::PARAMS * 4 + 64).contains(&n), "{n}");
}

#[test]
fn info_describes_the_stored_model() {
    let (buf, _, _, _) = saved();
    let info = format::read_info(&buf).unwrap();
    assert_eq!(info.version, 1);
    assert_eq!(info.scalar_bytes, 4);
    assert_eq!(info.inputs, 2);
    let widths: Vec<usize> = info.layers.iter().map(|l| l.outputs).collect();
    assert_eq!(widths, [16, 16, 1]);
    assert_eq!(info.layers[0].activation, HIDDEN.cast());
    assert_eq!(info.layers[2].activation, OUTPUT.cast());
    assert_eq!(info.params, Net::PARAMS);
    assert_eq!(info.preprocess.unwrap().dim, 2);
    assert_eq!(info.preprocess.unwrap().mode, Preprocess::Standardize);
    let o = info.optimizer.unwrap();
    assert_eq!((o.name, o.state_len), ("momentum-test", Net::PARAMS));
    assert_eq!(info.whitening, Some(whitening().stats()));
    assert_eq!(info.len, buf.len());
}

#[test]
fn every_too_small_buffer_is_a_capacity_error() {
    let (buf, net, stats, opt) = saved();
    let white = whitening();
    let extras = Extras {
        preprocess: Some(&stats),
        whitening: Some(&white),
        optimizer: Some(&opt),
        progress: Progress { epoch: 5, step: 40 },
    };
    let mut out = vec![0u8; buf.len()];
    for len in 0..buf.len() {
        assert_eq!(
            format::save_network(&net, &extras, &mut out[..len]),
            Err(Error::Capacity),
            "buffer of {len}"
        );
    }
}

fn assert_untouched_after(bytes_in: &[u8], want: Error) {
    let mut target = Net::zeroed(HIDDEN, OUTPUT).unwrap();
    let before = target.clone();
    assert_eq!(
        format::load_network(bytes_in, &mut target, Targets::none()),
        Err(want)
    );
    assert_eq!(target, before);
}

#[test]
fn every_truncation_and_every_single_bit_flip_is_refused_and_changes_nothing() {
    let (buf, net, _, _) = saved();
    let mut target = net.clone();
    // Change the target so a half-load would show.
    target.visit_mut(|l| l.w.fill(0.5));
    let before = target.clone();
    for len in 0..buf.len() {
        assert!(format::load_network(&buf[..len], &mut target, Targets::none()).is_err());
        assert_eq!(target, before, "truncated to {len}");
    }
    let mut flipped = buf.clone();
    let mut refused = 0;
    for i in 0..buf.len() {
        for bit in 0..8 {
            flipped[i] ^= 1 << bit;
            let r = format::load_network(&flipped, &mut target, Targets::none());
            assert!(r.is_err(), "flip of byte {i} bit {bit} accepted");
            assert_eq!(
                target, before,
                "flip of byte {i} bit {bit} changed the target"
            );
            refused += 1;
            flipped[i] ^= 1 << bit;
        }
    }
    assert_eq!(refused, buf.len() * 8);
    // Trailing bytes after the model are ignored (a flash slot is bigger than the model).
    let mut padded = buf.clone();
    padded.extend_from_slice(&[0xff; 32]);
    assert_eq!(
        format::load_network(&padded, &mut target, Targets::none())
            .unwrap()
            .len,
        buf.len()
    );
}

#[test]
fn errors_name_what_differs() {
    let (buf, _, _, _) = saved();
    let mut bad = buf.clone();
    bad[0] = b'X';
    assert_untouched_after(&bad, FormatError::BadMagic.into());
    let mut bad = buf.clone();
    bad[4] = 2;
    assert_untouched_after(&bad, FormatError::UnsupportedVersion { found: 2 }.into());
    let mut bad = buf.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x80;
    assert_untouched_after(&bad, FormatError::Checksum.into());

    // Intact bytes, wrong targets.
    let mut other = <mlp![f32; 3, 16, 16, 1]>::zeroed(HIDDEN, OUTPUT).unwrap();
    assert_eq!(
        format::load_network(&buf, &mut other, Targets::none()),
        Err(FormatError::Inputs {
            expected: 3,
            found: 2
        }
        .into())
    );
    let mut other = <mlp![f32; 2, 16, 8, 1]>::zeroed(HIDDEN, OUTPUT).unwrap();
    assert_eq!(
        format::load_network(&buf, &mut other, Targets::none()),
        Err(FormatError::LayerWidth {
            layer: 1,
            expected: 8,
            found: 16
        }
        .into())
    );
    let mut other = <mlp![f32; 2, 16, 1]>::zeroed(HIDDEN, OUTPUT).unwrap();
    assert_eq!(
        format::load_network(&buf, &mut other, Targets::none()),
        Err(FormatError::Depth {
            expected: 2,
            found: 3
        }
        .into())
    );
    let mut other = <mlp![f32; 2, 16, 16, 1, 1]>::zeroed(HIDDEN, OUTPUT).unwrap();
    assert_eq!(
        format::load_network(&buf, &mut other, Targets::none()),
        Err(FormatError::Depth {
            expected: 4,
            found: 3
        }
        .into())
    );
    let mut other = Net::zeroed(Activation::Relu, OUTPUT).unwrap();
    assert_eq!(
        format::load_network(&buf, &mut other, Targets::none()),
        Err(FormatError::Activation {
            layer: 0,
            expected: 3,
            found: 4
        }
        .into())
    );
    let mut other = Net::zeroed(Activation::LeakyRelu(0.1), OUTPUT).unwrap();
    assert_eq!(
        format::load_network(&buf, &mut other, Targets::none()),
        Err(FormatError::Activation {
            layer: 0,
            expected: 4,
            found: 4
        }
        .into())
    );
    let mut other = <mlp![f64; 2, 16, 16, 1]>::zeroed(HIDDEN.cast(), OUTPUT.cast()).unwrap();
    assert_eq!(
        format::load_network(&buf, &mut other, Targets::none()),
        Err(FormatError::ScalarType {
            expected: 8,
            found: 4
        }
        .into())
    );

    let mut net = Net::zeroed(HIDDEN, OUTPUT).unwrap();
    let mut stats3 = Standardizer::<f32, 3>::new(Preprocess::None);
    assert_eq!(
        format::load_network(
            &buf,
            &mut net,
            Targets {
                preprocess: Some(&mut stats3),
                whitening: None,
                optimizer: None
            }
        ),
        Err(FormatError::Preprocessing {
            expected: 3,
            found: 2
        }
        .into())
    );
    let mut short = Momentum::<3>::new(0.1, 0.9);
    assert_eq!(
        format::load_network(
            &buf,
            &mut net,
            Targets {
                preprocess: None,
                whitening: None,
                optimizer: Some(&mut short)
            }
        ),
        Err(FormatError::OptimizerState {
            expected: 3,
            found: Net::PARAMS
        }
        .into())
    );
    let mut sgd = microprop::Sgd::new(0.1f32).unwrap();
    assert_eq!(
        format::load_network(
            &buf,
            &mut net,
            Targets {
                preprocess: None,
                whitening: None,
                optimizer: Some(&mut sgd)
            }
        ),
        Err(FormatError::Optimizer.into())
    );
    assert_eq!(
        net,
        Net::zeroed(HIDDEN, OUTPUT).unwrap(),
        "refused loads wrote nothing"
    );

    // A weights-only model cannot fill an optimizer or statistics.
    let mut plain = [0u8; format::network_len::<Net>(None, None)];
    let n = format::save_network(&net, &Extras::none(), &mut plain).unwrap();
    let mut opt = Momentum::<{ Net::PARAMS }>::new(0.1, 0.9);
    assert_eq!(
        format::load_network(
            &plain[..n],
            &mut net,
            Targets {
                preprocess: None,
                whitening: None,
                optimizer: Some(&mut opt)
            }
        ),
        Err(FormatError::Missing("optimizer state").into())
    );
    let mut stats = Standardizer::<f32, 2>::new(Preprocess::None);
    assert_eq!(
        format::load_network(
            &plain[..n],
            &mut net,
            Targets {
                preprocess: Some(&mut stats),
                whitening: None,
                optimizer: None
            }
        ),
        Err(FormatError::Missing("preprocessing statistics").into())
    );
    let mut w = PcaWhitening::new(0.0).unwrap();
    assert_eq!(
        format::load_network(
            &plain[..n],
            &mut net,
            Targets {
                whitening: Some(&mut w),
                ..Targets::none()
            }
        ),
        Err(FormatError::Missing("whitening statistics").into())
    );
}

#[test]
fn non_finite_weights_save_but_do_not_load() {
    let mut net = Net::zeroed(HIDDEN, OUTPUT).unwrap();
    net.visit_mut(|l| {
        if l.index == 1 {
            l.b[3] = f32::NAN;
        }
    });
    let mut buf = [0u8; format::network_len::<Net>(None, None)];
    let n = format::save_network(&net, &Extras::none(), &mut buf).unwrap();
    assert_untouched_after(&buf[..n], FormatError::NonFinite.into());
}

#[test]
fn f64_networks_round_trip() {
    type Wide = mlp![f64; 2, 8, 3];
    let mut rng = microprop::rng(3);
    let net = Wide::new(
        Activation::Elu(0.7),
        Activation::Softmax,
        microprop::Init::XavierNormal,
        0.1,
        &mut rng,
    )
    .unwrap();
    let mut buf = [0u8; format::network_len::<Wide>(None, None)];
    let n = format::save_network(&net, &Extras::none(), &mut buf).unwrap();
    assert_eq!(buf[5], 8);
    let mut copy = Wide::zeroed(Activation::Elu(0.7), Activation::Softmax).unwrap();
    format::load_network(&buf[..n], &mut copy, Targets::none()).unwrap();
    assert_eq!(copy, net);
}

#[test]
fn host_trains_saves_a_file_and_loads_it_back() {
    let (buf, net, stats, _) = saved();
    let path = std::env::temp_dir().join(format!("microprop-format-{}.mprp", std::process::id()));
    std::fs::write(&path, &buf).unwrap();
    let read = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let mut copy = Net::zeroed(HIDDEN, OUTPUT).unwrap();
    let mut stats2 = Standardizer::<f32, 2>::new(Preprocess::None);
    format::load_network(
        &read,
        &mut copy,
        Targets {
            preprocess: Some(&mut stats2),
            whitening: None,
            optimizer: None,
        },
    )
    .unwrap();
    assert_eq!(copy, net);
    assert_eq!(stats2.count(), stats.count());
}
