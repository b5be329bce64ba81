//! The model format (version 2): round trips of compile-time and run-time networks with
//! every layer kind, the layout, and every way a load must refuse bytes while leaving the
//! target untouched — with saving refusing what loading refuses.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use microprop::format::{self, Extras, Progress, Targets};
use microprop::layer::{
    BatchNorm, BatchNormConfig, Dense, DynDense, DynLayer, Family, Kind, Seq, Sequential, Spec,
    Standardize, Whiten,
};
use microprop::{
    data::Clusters, layers, mlp, train, Activation, Adam, AdamConfig, Dataset, Error, FormatError,
    Init, Libm, Loss, Model, Network, Optimizer, PcaWhitening, Preprocess, Trainer,
};
use support::{bytes, trained, Momentum, Net, HIDDEN, OUTPUT};

const LEN: usize = format::network_len::<Net>(Some(Net::PARAMS));

fn saved() -> (
    Vec<u8>,
    microprop::Network<<Net as support::NetLayers>::L>,
    Momentum<{ Net::PARAMS }>,
) {
    let (model, _, opt) = trained(7, 5);
    let mut buf = vec![0u8; LEN];
    let extras = Extras {
        optimizer: Some(&opt),
        progress: Progress { epoch: 5, step: 40 },
    };
    let n = format::save_model(&model, &extras, &mut buf).unwrap();
    buf.truncate(n);
    (buf, model.into_network(), opt)
}

/// Rewrites the CRC after a deliberate change (so the check under test is reached).
fn fix_crc(buf: &mut [u8]) {
    let len = u32::from_le_bytes(buf[12..16].try_into().unwrap()) as usize;
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&buf[..len - 4]);
    buf[len - 4..len].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn network_round_trip_is_bit_exact_with_optimizer_state() {
    let (buf, net, opt) = saved();
    let mut copy = Net::zeroed(HIDDEN, OUTPUT).unwrap();
    let mut opt2 = Momentum::<{ Net::PARAMS }>::new(1.0, 0.9);
    let loaded = format::load_network(
        &buf,
        &mut copy,
        Targets {
            optimizer: Some(&mut opt2),
        },
    )
    .unwrap();
    assert_eq!(loaded.len, buf.len());
    assert_eq!(loaded.progress, Progress { epoch: 5, step: 40 });
    assert!(loaded.has_optimizer);
    assert_eq!(copy, net);
    assert_eq!(copy.weights_hash(), net.weights_hash());
    assert_eq!(bytes(opt2.state()), bytes(opt.state()));
    assert!(opt.state().iter().any(|&v| v != 0.0), "non-trivial state");
    assert_eq!(opt2.lr.to_bits(), opt.lr.to_bits());
    for p in [[0.3f32, -1.2], [2.0, 2.0], [-1.0, -0.5]] {
        assert_eq!(
            bytes(&net.predict(&p).unwrap()),
            bytes(&copy.predict(&p).unwrap())
        );
    }
}

#[test]
fn network_and_model_views_write_the_same_bytes() {
    let (buf, net, opt) = saved();
    let mut again = vec![0u8; LEN];
    let extras = Extras {
        optimizer: Some(&opt),
        progress: Progress { epoch: 5, step: 40 },
    };
    let n = format::save_network(&net, &extras, &mut again).unwrap();
    assert_eq!(&again[..n], &buf[..]);
    let mut model = Net::zeroed(HIDDEN, OUTPUT).unwrap().into_training();
    format::load_model(&buf, &mut model, Targets::none()).unwrap();
    assert_eq!(model.weights_hash(), net.weights_hash());
}

#[test]
fn layout_is_header_specs_values_progress_optimizer_crc() {
    let (buf, net, _) = saved();
    assert_eq!(&buf[..4], b"MPRP");
    assert_eq!(buf[4], 2, "format version 2");
    assert_eq!(buf[5], 4, "f32 scalars");
    assert_eq!(buf[6], 1, "flags: optimizer stored");
    assert_eq!(buf[7], 0, "reserved");
    assert_eq!(
        u32::from_le_bytes(buf[8..12].try_into().unwrap()),
        3,
        "depth"
    );
    let len = u32::from_le_bytes(buf[12..16].try_into().unwrap()) as usize;
    assert_eq!(len, buf.len());
    let (body, crc) = buf.split_at(buf.len() - 4);
    let expected = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(body);
    assert_eq!(u32::from_le_bytes(crc.try_into().unwrap()), expected);
    // The first spec: dense, 2 → 16, leaky ReLU (code 4) with α = 0.05.
    assert_eq!(buf[16], Kind::Dense.code());
    assert_eq!(u32::from_le_bytes(buf[17..21].try_into().unwrap()), 2);
    assert_eq!(u32::from_le_bytes(buf[21..25].try_into().unwrap()), 16);
    assert_eq!(buf[25], HIDDEN.code());
    assert_eq!(&buf[26..30], &0.05f32.to_le_bytes());
    // Three dense specs of 14 bytes, then the first weight.
    let w0 = net.layers().0.weights()[0][0].to_le_bytes();
    assert_eq!(&buf[16 + 3 * 14..16 + 3 * 14 + 4], &w0);
    assert!(buf.len() <= LEN, "{} > network_len {}", buf.len(), LEN);
    // The network alone: exactly header, specs, 4 bytes per parameter, progress, CRC.
    let mut small = [0u8; format::network_len::<Net>(None)];
    let n = format::save_network(&net, &Extras::none(), &mut small).unwrap();
    assert_eq!(n, 16 + 3 * 14 + Net::PARAMS * 4 + 8 + 4);
    assert_eq!(n, format::model_len(&net.clone().into_training(), None));
}

#[test]
fn info_describes_the_stored_model() {
    let (buf, _, _) = saved();
    let info = format::read_info(&buf).unwrap();
    assert_eq!(info.version, 2);
    assert_eq!(info.scalar_bytes, 4);
    assert_eq!(info.inputs, 2);
    let widths: Vec<usize> = info.layers.iter().map(Spec::outputs).collect();
    assert_eq!(widths, [16, 16, 1]);
    assert_eq!(info.layers[0].activation(), Some(HIDDEN.cast()));
    assert_eq!(info.layers[2].activation(), Some(OUTPUT.cast()));
    assert_eq!(info.params, Net::PARAMS);
    assert_eq!(info.state, 0);
    let o = info.optimizer.unwrap();
    assert_eq!(
        (o.name, o.state_len, o.steps),
        ("momentum-test", Net::PARAMS, 0)
    );
    assert_eq!(info.progress, Progress { epoch: 5, step: 40 });
    assert_eq!(info.len, buf.len());
}

#[test]
fn the_header_is_read_and_the_crc_computed_without_the_other_checks() {
    let (buf, _, _) = saved();
    let h = format::read_header(&buf).unwrap();
    let info = format::read_info(&buf).unwrap();
    assert_eq!(h.version, info.version);
    assert_eq!(h.scalar_bytes, info.scalar_bytes);
    assert_eq!(h.depth, info.layers.len());
    assert_eq!(h.len, info.len);
    assert!(h.has_optimizer);
    assert!(h.crc_ok());
    let stored = u32::from_le_bytes(buf[buf.len() - 4..].try_into().unwrap());
    assert_eq!((h.stored_crc, h.computed_crc), (stored, stored));
    // Trailing bytes are not the model's.
    let mut longer = buf.clone();
    longer.extend_from_slice(&[0xAA; 7]);
    assert_eq!(format::read_header(&longer).unwrap(), h);
    // A flipped value bit: the header still reads, the CRC is reported as wrong.
    let mut bad = buf.clone();
    bad[40] ^= 0x01;
    assert_eq!(format::read_info(&bad), Err(FormatError::Checksum.into()));
    let hb = format::read_header(&bad).unwrap();
    assert!(!hb.crc_ok());
    assert_eq!(hb.stored_crc, h.stored_crc);
    assert_ne!(hb.computed_crc, h.computed_crc);
    assert_eq!((hb.depth, hb.len, hb.scalar_bytes), (h.depth, h.len, 4));
    // A flipped stored CRC.
    let mut bad = buf.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x80;
    let hb = format::read_header(&bad).unwrap();
    assert_eq!(hb.computed_crc, h.computed_crc);
    assert_eq!(hb.stored_crc, h.stored_crc ^ 0x8000_0000);
    // A flag or depth the full read refuses is reported as stored.
    let mut bad = buf.clone();
    bad[6] = 0;
    bad[8] = 40;
    let hb = format::read_header(&bad).unwrap();
    assert!(!hb.has_optimizer && hb.depth == 40 && !hb.crc_ok());
    // What it refuses.
    let mut bad = buf.clone();
    bad[0] = b'X';
    assert_eq!(format::read_header(&bad), Err(FormatError::BadMagic.into()));
    assert_eq!(
        format::read_header(b"PK\x03\x04 not a model"),
        Err(FormatError::BadMagic.into())
    );
    let mut bad = buf.clone();
    bad[4] = 3;
    assert_eq!(
        format::read_header(&bad),
        Err(FormatError::UnsupportedVersion { found: 3 }.into())
    );
    assert_eq!(
        format::read_header(&buf[..10]),
        Err(FormatError::Truncated.into())
    );
    assert_eq!(
        format::read_header(&buf[..buf.len() - 1]),
        Err(FormatError::Truncated.into())
    );
    assert_eq!(format::read_header(&[]), Err(FormatError::Truncated.into()));
    let mut bad = buf.clone();
    bad[12..16].copy_from_slice(&27u32.to_le_bytes());
    assert_eq!(
        format::read_header(&bad),
        Err(FormatError::Malformed.into())
    );
}

#[test]
fn every_too_small_buffer_is_a_capacity_error() {
    let (buf, net, opt) = saved();
    let extras = Extras {
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
    target.visit_mut(|l| l.w.fill(0.25));
    let before = target.clone();
    assert_eq!(
        format::load_network(bytes_in, &mut target, Targets::none()),
        Err(want)
    );
    assert_eq!(target, before);
}

#[test]
fn every_truncation_and_every_single_bit_flip_is_refused_and_changes_nothing() {
    let (buf, net, _) = saved();
    let mut target = net.clone();
    target.visit_mut(|l| l.w.fill(0.5));
    let before = target.clone();
    for len in 0..buf.len() {
        assert!(format::load_network(&buf[..len], &mut target, Targets::none()).is_err());
        assert_eq!(target, before, "truncated to {len}");
    }
    let mut flipped = buf.clone();
    for i in 0..buf.len() {
        for bit in 0..8 {
            flipped[i] ^= 1 << bit;
            let r = format::load_network(&flipped, &mut target, Targets::none());
            assert!(r.is_err(), "flip of byte {i} bit {bit} accepted");
            assert_eq!(
                target, before,
                "flip of byte {i} bit {bit} changed the target"
            );
            flipped[i] ^= 1 << bit;
        }
    }
    // Trailing bytes after the model are ignored (a flash slot is bigger than the model).
    let mut padded = buf.clone();
    padded.extend_from_slice(&[0xff; 32]);
    let loaded = format::load_network(&padded, &mut target, Targets::none()).unwrap();
    assert_eq!(loaded.len, buf.len());
}

#[test]
fn errors_in_the_bytes_are_named() {
    let (buf, _, _) = saved();
    let mut bad = buf.clone();
    bad[0] = b'X';
    assert_untouched_after(&bad, FormatError::BadMagic.into());
    let mut bad = buf.clone();
    bad[4] = 3;
    assert_untouched_after(&bad, FormatError::UnsupportedVersion { found: 3 }.into());
    // A version-1 file (postcard: magic, varint version 1, scalar size, inputs, …).
    let v1 = [b'M', b'P', b'R', b'P', 1, 4, 2, 3, 16, 4, 0, 0, 0x4c, 0x3d];
    assert_untouched_after(&v1, FormatError::UnsupportedVersion { found: 1 }.into());
    assert_eq!(
        format::read_info(&v1),
        Err(FormatError::UnsupportedVersion { found: 1 }.into())
    );
    let mut bad = buf.clone();
    bad[5] = 2;
    assert_untouched_after(
        &bad,
        FormatError::ScalarType {
            expected: 4,
            found: 2,
        }
        .into(),
    );
    let mut bad = buf.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x80;
    assert_untouched_after(&bad, FormatError::Checksum.into());
    assert_untouched_after(&buf[..buf.len() - 1], FormatError::Truncated.into());
    assert_untouched_after(&buf[..10], FormatError::Truncated.into());

    let mut bad = buf.clone();
    bad[16] = 9; // the first layer's kind code
    fix_crc(&mut bad);
    assert_untouched_after(&bad, FormatError::UnknownKind { layer: 0, code: 9 }.into());
    let mut bad = buf.clone();
    bad[16 + 14 + 9] = 99; // the second layer's activation code
    fix_crc(&mut bad);
    assert_untouched_after(&bad, FormatError::Malformed.into());
    let mut bad = buf.clone();
    bad[16 + 14 + 1..16 + 14 + 5].copy_from_slice(&15u32.to_le_bytes()); // layers do not chain
    fix_crc(&mut bad);
    assert_untouched_after(&bad, FormatError::Malformed.into());
    let mut bad = buf.clone();
    bad[16 + 14 + 10..16 + 14 + 14].copy_from_slice(&f32::NAN.to_le_bytes()); // α
    fix_crc(&mut bad);
    assert_untouched_after(&bad, FormatError::InvalidSpec { layer: 1 }.into());
    let mut bad = buf.clone();
    bad[16 + 9] = Activation::<f32>::Softmax.code(); // softmax on a hidden layer: no network
    fix_crc(&mut bad);
    assert_untouched_after(&bad, FormatError::InvalidSpec { layer: 0 }.into());
    assert_eq!(
        format::read_info(&bad),
        Err(FormatError::InvalidSpec { layer: 0 }.into())
    );
    let mut bad = buf.clone();
    bad[7] = 1; // reserved
    fix_crc(&mut bad);
    assert_untouched_after(&bad, FormatError::Malformed.into());
    let mut bad = buf.clone();
    bad[8..12].copy_from_slice(&33u32.to_le_bytes());
    fix_crc(&mut bad);
    let deep = FormatError::TooDeep { depth: 33, max: 32 };
    assert_untouched_after(&bad, deep.into());
    assert_eq!(format::read_info(&bad), Err(deep.into()));
    let mut bad = buf.clone();
    bad[16 + 3 * 14 + 8..16 + 3 * 14 + 12].copy_from_slice(&f32::INFINITY.to_le_bytes());
    fix_crc(&mut bad);
    assert_untouched_after(&bad, FormatError::NonFinite.into());
}

#[test]
fn errors_against_the_target_are_named() {
    let (buf, _, _) = saved();
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
    let mut other =
        <layers![f32; 2 => dense 16, dropout, dense 1]>::zeroed(HIDDEN, OUTPUT).unwrap();
    assert_eq!(
        format::load_network(&buf, &mut other, Targets::none()),
        Err(FormatError::LayerKind {
            layer: 1,
            expected: Kind::Dropout.code(),
            found: Kind::Dense.code()
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
    let mut short = Momentum::<3>::new(0.1, 0.9);
    assert_eq!(
        format::load_network(
            &buf,
            &mut net,
            Targets {
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
                optimizer: Some(&mut sgd)
            }
        ),
        Err(FormatError::Optimizer.into())
    );
    assert_eq!(short, Momentum::<3>::new(0.1, 0.9));
    assert_eq!(
        net,
        Net::zeroed(HIDDEN, OUTPUT).unwrap(),
        "refused loads wrote nothing"
    );

    // A model saved without an optimizer cannot fill one.
    let mut plain = [0u8; format::network_len::<Net>(None)];
    let n = format::save_network(&net, &Extras::none(), &mut plain).unwrap();
    let mut opt = Momentum::<{ Net::PARAMS }>::new(0.1, 0.9);
    assert_eq!(
        format::load_network(
            &plain[..n],
            &mut net,
            Targets {
                optimizer: Some(&mut opt)
            }
        ),
        Err(FormatError::Missing("optimizer state").into())
    );
}

/// Saving refuses what loading refuses: non-finite values and networks deeper than
/// `MAX_DEPTH`.
#[test]
fn save_refuses_what_load_refuses() {
    let mut net = Net::zeroed(HIDDEN, OUTPUT).unwrap();
    net.visit_mut(|l| {
        if l.index == 1 {
            l.b[3] = f32::NAN;
        }
    });
    let mut buf = [0u8; format::network_len::<Net>(Some(Net::PARAMS))];
    assert_eq!(
        format::save_network(&net, &Extras::none(), &mut buf),
        Err(FormatError::NonFinite.into())
    );
    let net = Net::zeroed(HIDDEN, OUTPUT).unwrap();
    let mut opt = Momentum::<{ Net::PARAMS }>::new(0.1, 0.9);
    opt.v[0] = f32::INFINITY;
    let extras = Extras {
        optimizer: Some(&opt),
        ..Extras::none()
    };
    assert_eq!(
        format::save_network(&net, &extras, &mut buf),
        Err(FormatError::NonFinite.into())
    );

    let deep = |depth: usize| {
        let layers = (0..depth).map(|_| DynLayer::from(DynDense::zeroed(1, 1, OUTPUT).unwrap()));
        Network::<_, Libm>::from_layers(Sequential::<f32, Vecs>::new(layers).unwrap()).unwrap()
    };
    let max = format::MAX_DEPTH;
    let mut buf = vec![0u8; format::max_len(4, max + 1, 2 * (max + 1), 0, None)];
    assert_eq!(
        format::save_network(&deep(max + 1), &Extras::none(), &mut buf),
        Err(FormatError::TooDeep {
            depth: max + 1,
            max
        }
        .into())
    );
    // The deepest network that saves also loads.
    let n = format::save_network(&deep(max), &Extras::none(), &mut buf).unwrap();
    let mut back = deep(max);
    format::load_network(&buf[..n], &mut back, Targets::none()).unwrap();
    assert_eq!(format::read_info(&buf[..n]).unwrap().layers.len(), max);
}

#[test]
fn f64_networks_round_trip() {
    type Wide = mlp![f64; 2, 8, 3];
    let mut rng = microprop::rng(3);
    let net = Wide::new(
        Activation::Elu(0.7),
        Activation::Softmax,
        Init::XavierNormal,
        0.1,
        &mut rng,
    )
    .unwrap();
    let mut buf = [0u8; format::network_len::<Wide>(None)];
    let n = format::save_network(&net, &Extras::none(), &mut buf).unwrap();
    assert_eq!(buf[5], 8);
    let mut copy = Wide::zeroed(Activation::Elu(0.7), Activation::Softmax).unwrap();
    format::load_network(&buf[..n], &mut copy, Targets::none()).unwrap();
    assert_eq!(copy, net);
}

// ---------------------------------------------------------------------------------------
// Every layer kind.

/// A `Vec` storage family for run-time networks in tests.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Vecs;

impl Family for Vecs {
    type Of<T: Clone + core::fmt::Debug + PartialEq> = Vec<T>;
    fn filled<T: Clone + core::fmt::Debug + PartialEq>(
        len: usize,
        value: T,
    ) -> microprop::Result<Vec<T>> {
        Ok(vec![value; len])
    }
    fn collect<T: Clone + core::fmt::Debug + PartialEq>(
        items: impl IntoIterator<Item = T>,
    ) -> microprop::Result<Vec<T>> {
        Ok(items.into_iter().collect())
    }
}

type Every = layers![f32; 2 => whiten, standardize, dense 8, batch_norm, dropout, dense 1];
type EveryNet = Network<<Every as support::NetLayers>::L>;
const B: usize = 8;
const EVERY_PARAMS: usize = Every::PARAMS;
type EveryAdam = Adam<f32, [f32; 2 * EVERY_PARAMS], Libm>;

fn cloud() -> (Vec<[f32; 2]>, Vec<u8>) {
    let mut rng = microprop::rng(40);
    let (mut x, mut l) = (vec![[0.0f32; 2]; 64], vec![0u8; 64]);
    Clusters::two(0.7)
        .generate(&mut rng, &mut x, &mut l)
        .unwrap();
    let x = x
        .iter()
        .map(|&[a, b]| [3.0 * a + b + 2.0, a - 0.5 * b - 1.0])
        .collect();
    (x, l)
}

/// A trained network with every layer kind (non-default hyper-parameters everywhere),
/// and its Adam optimizer (state and steps non-trivial).
fn every_trained() -> (EveryNet, EveryAdam) {
    let (x, l) = cloud();
    let white = PcaWhitening::fit(1e-4, &x).unwrap();
    let mut wx = x.clone();
    wx.iter_mut().for_each(|p| white.apply(p));
    let st = Standardize::fit(Preprocess::Standardize, &wx).unwrap();
    let cfg = BatchNormConfig {
        momentum: 0.2,
        eps: 1e-3,
    };
    let layers = (
        Whiten::from(white),
        (
            st,
            (
                Dense::zeroed(Activation::Identity),
                (
                    BatchNorm::new(Activation::Tanh, cfg).unwrap(),
                    (
                        microprop::layer::Dropout::new(0.25).unwrap(),
                        (Dense::zeroed(Activation::Sigmoid), ()),
                    ),
                ),
            ),
        ),
    );
    let mut net: EveryNet = Network::from_layers(layers).unwrap();
    net.init(Init::XavierNormal, 0.0, &mut microprop::rng(41))
        .unwrap();
    let mut model = net.into_batched::<B>();
    let data = Dataset::new(&x, &l).unwrap();
    let mut opt = EveryAdam::new(
        AdamConfig {
            lr: 0.01,
            ..AdamConfig::default()
        },
        [0.0; 2 * EVERY_PARAMS],
    )
    .unwrap();
    let mut t = Trainer::new(Loss::Mse, B).unwrap();
    let mut order = vec![0u16; x.len()];
    train::fill_order(&mut order).unwrap();
    let mut rng = microprop::rng(42);
    for _ in 0..3 {
        t.epoch(&mut model, &mut opt, &data, &mut order, &mut rng)
            .unwrap();
    }
    (model.into_network(), opt)
}

fn every_saved() -> (Vec<u8>, EveryNet, EveryAdam) {
    let (net, opt) = every_trained();
    let mut buf = vec![0u8; format::network_len::<EveryNet>(Some(2 * EVERY_PARAMS))];
    let extras = Extras {
        optimizer: Some(&opt),
        progress: Progress { epoch: 3, step: 24 },
    };
    let n = format::save_network(&net, &extras, &mut buf).unwrap();
    buf.truncate(n);
    (buf, net, opt)
}

fn fresh_adam() -> EveryAdam {
    EveryAdam::new(AdamConfig::default(), [0.0; 2 * EVERY_PARAMS]).unwrap()
}

#[test]
fn a_compile_time_net_with_every_layer_kind_round_trips() {
    let (buf, net, opt) = every_saved();
    let mut state = 0;
    net.visit(|l| state += l.state.len());
    assert_eq!(state, Every::STATE);
    assert!(state > 0);
    // Defaults everywhere: dropout 0.5, batch norm's default config, no preprocessing.
    let mut copy = EveryNet::zeroed(Activation::Tanh, Activation::Sigmoid).unwrap();
    assert_ne!(copy, net);
    let mut opt2 = fresh_adam();
    let loaded = format::load_network(
        &buf,
        &mut copy,
        Targets {
            optimizer: Some(&mut opt2),
        },
    )
    .unwrap();
    assert_eq!(loaded.progress, Progress { epoch: 3, step: 24 });
    assert_eq!(copy, net, "specs, parameters and state restored");
    assert_eq!(copy.weights_hash(), net.weights_hash());
    let mut specs = (Vec::new(), Vec::new());
    net.specs(&mut |s| specs.0.push(s));
    copy.specs(&mut |s| specs.1.push(s));
    assert_eq!(specs.0, specs.1);
    assert_eq!(opt2.steps(), opt.steps());
    assert!(opt.steps() > 0);
    assert_eq!(bytes(opt2.state()), bytes(opt.state()));
    assert_eq!(
        opt2.learning_rate().to_bits(),
        opt.learning_rate().to_bits()
    );
    for p in [[0.3f32, -1.2], [2.0, 2.0], [-1.0, -0.5]] {
        assert_eq!(
            bytes(&net.predict(&p).unwrap()),
            bytes(&copy.predict(&p).unwrap())
        );
    }
    // Running statistics and fitted statistics are in the bytes: the info counts them.
    let info = format::read_info(&buf).unwrap();
    assert_eq!(info.state, Every::STATE);
    let kinds: Vec<Kind> = info.layers.iter().map(Spec::kind).collect();
    assert_eq!(
        kinds,
        [
            Kind::Whiten,
            Kind::Standardize,
            Kind::Dense,
            Kind::BatchNorm,
            Kind::Dropout,
            Kind::Dense
        ]
    );
    assert_eq!(info.optimizer.unwrap().steps, opt.steps());
}

#[test]
fn a_run_time_sequential_built_from_the_stored_specs_loads_and_predicts_the_same() {
    let (buf, net, _) = every_saved();
    let info = format::read_info(&buf).unwrap();
    let layers = info.layers.iter().map(|s| DynLayer::from_spec(s).unwrap());
    let seq = Sequential::<f32, Vecs>::new(layers).unwrap();
    let mut dynamic = Network::<_, Libm>::from_layers(seq).unwrap();
    format::load_network(&buf, &mut dynamic, Targets::none()).unwrap();
    assert_eq!(dynamic.weights_hash(), net.weights_hash());
    for p in [[0.3f32, -1.2], [2.0, 2.0], [-1.0, -0.5]] {
        let mut out = [0.0f32];
        dynamic.predict_slice(&p, &mut out).unwrap();
        assert_eq!(bytes(&out), bytes(&net.predict(&p).unwrap()));
    }
    // And the run-time network saves the very same bytes.
    let mut again = vec![0u8; buf.len() + 64];
    let extras = Extras {
        optimizer: None,
        progress: info.progress,
    };
    let n = format::save_network(&dynamic, &extras, &mut again).unwrap();
    let mut plain = vec![0u8; buf.len()];
    let m = format::save_network(&net, &extras, &mut plain).unwrap();
    assert_eq!(&again[..n], &plain[..m]);
    assert_eq!(dynamic.layers().depth(), 6);
}

#[test]
fn a_failed_load_of_every_layer_kind_leaves_the_target_bit_identical() {
    let (buf, net, _) = every_saved();
    let mut target = EveryNet::zeroed(Activation::Tanh, Activation::Sigmoid).unwrap();
    target
        .init(Init::HeNormal, 0.1, &mut microprop::rng(5))
        .unwrap();
    let before = target.clone();
    // Wrong optimizer state length: found only after the layers were checked.
    let mut short = Adam::<f32, [f32; 4], Libm>::new(AdamConfig::default(), [0.0; 4]).unwrap();
    assert!(matches!(
        format::load_network(
            &buf,
            &mut target,
            Targets {
                optimizer: Some(&mut short)
            }
        ),
        Err(Error::Format(FormatError::OptimizerState { .. }))
    ));
    assert_eq!(target, before);
    assert_eq!(short.steps(), 0);
    // A non-finite running variance (the last state value of the batch-norm layer).
    let mut bad = buf.clone();
    let mut specs_len = 16;
    net.specs(&mut |s| specs_len += format::spec_len(&s, 4));
    let mut before_bn_state = 0;
    net.visit(|l| {
        if l.index < 3 {
            before_bn_state += l.w.len() + l.b.len() + l.state.len();
        } else if l.index == 3 {
            before_bn_state += l.w.len() + l.b.len() + l.state.len() - 1;
        }
    });
    let at = specs_len + 4 * before_bn_state;
    bad[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    fix_crc(&mut bad);
    assert_eq!(
        format::load_network(&bad, &mut target, Targets::none()),
        Err(FormatError::NonFinite.into())
    );
    assert_eq!(target, before);
    // An invalid dropout probability in the spec.
    let mut bad = buf.clone();
    let mut at = 16;
    let mut index = 0;
    net.specs(&mut |s| {
        if index < 4 {
            at += format::spec_len(&s, 4);
        }
        index += 1;
    });
    assert_eq!(bad[at], Kind::Dropout.code());
    bad[at + 5..at + 9].copy_from_slice(&1.5f32.to_le_bytes());
    fix_crc(&mut bad);
    assert_eq!(
        format::load_network(&bad, &mut target, Targets::none()),
        Err(FormatError::InvalidSpec { layer: 4 }.into())
    );
    assert_eq!(target, before);
}

/// A negative variance (batch norm's running variance, a standardisation's variance) is
/// no state a layer can hold: loading refuses it, and so does saving.
#[test]
fn negative_variances_are_refused_both_ways() {
    let (buf, net, _) = every_saved();
    let mut specs_len = 16;
    net.specs(&mut |s| specs_len += format::spec_len(&s, 4));
    // Layer 1 (standardize, 2 features): its values are mean₀, mean₁, var₀, var₁.
    let at = specs_len + 4 * 3;
    let mut bad = buf.clone();
    let var = f32::from_le_bytes(bad[at..at + 4].try_into().unwrap());
    assert!(var > 0.0, "{var}");
    bad[at..at + 4].copy_from_slice(&(-var).to_le_bytes());
    fix_crc(&mut bad);
    let mut target = EveryNet::zeroed(Activation::Tanh, Activation::Sigmoid).unwrap();
    let before = target.clone();
    assert_eq!(
        format::load_network(&bad, &mut target, Targets::none()),
        Err(FormatError::NonFinite.into())
    );
    assert_eq!(format::read_info(&bad), Err(FormatError::NonFinite.into()));
    assert_eq!(target, before);
    // Saving: a negative running variance of the batch-norm layer (index 3).
    for index in [1, 3] {
        let mut neg = net.clone();
        neg.visit_mut(|l| {
            if l.index == index {
                *l.state.last_mut().unwrap() = -1.0;
            }
        });
        let mut out = vec![0u8; buf.len() + 64];
        assert_eq!(
            format::save_network(&neg, &Extras::none(), &mut out),
            Err(FormatError::NonFinite.into()),
            "layer {index}"
        );
    }
}
