//! Replays every kept fuzz input (seeds and regressions) through the harnesses, without
//! libFuzzer: `cargo test --manifest-path fuzz/Cargo.toml --no-default-features`.

use std::fs;
use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in ["seeds", "regressions"] {
        let Ok(entries) = fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for p in paths {
            if p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                continue;
            }
            let data = fs::read(&p).unwrap();
            eprintln!("{target}: {}", p.display());
            f(&data);
            n += 1;
        }
    }
    n
}

#[test]
fn model_load_inputs() {
    assert!(replay("model_load", microprop_fuzz::model_load) > 0);
}

#[test]
fn train_step_inputs() {
    assert!(replay("train_step", microprop_fuzz::train_step) > 0);
}

#[test]
fn config_inputs() {
    assert!(replay("config", microprop_fuzz::config) > 0);
}

/// The kept seed inputs are exactly what this generator makes: a format change that makes
/// them stale fails here. `MICROPROP_WRITE_SEEDS=1` rewrites them (commit the result).
#[test]
fn seeds_are_current() {
    let write = std::env::var_os("MICROPROP_WRITE_SEEDS").is_some();
    let put = |path: std::path::PathBuf, bytes: &[u8]| {
        if write {
            fs::write(&path, bytes).unwrap();
        } else {
            let kept = fs::read(&path).unwrap_or_default();
            assert!(
                kept == bytes,
                "{} is stale: rerun with MICROPROP_WRITE_SEEDS=1 and commit it",
                path.display()
            );
        }
    };
    use microprop::checkpoint::Checkpoints;
    use microprop::format::{self, Extras, Progress};
    use microprop::Init;
    use microprop_fuzz::{Momentum, Net, RamFlash, HIDDEN, MODEL_BUF, OUTPUT};

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let mut rng = microprop::rng(9);
    let net = Net::new(HIDDEN, OUTPUT, Init::HeNormal, 0.01, &mut rng).unwrap();
    let opt = Momentum {
        lr: 0.05,
        mu: 0.9,
        v: core::array::from_fn(|i| i as f32 * 0.001),
    };
    let mut buf = [0u8; MODEL_BUF];
    let full = Extras {
        optimizer: Some(&opt),
        progress: Progress { epoch: 3, step: 12 },
    };
    let n = format::save_network(&net, &full, &mut buf).unwrap();
    put(root.join("model_load/full.mprp"), &buf[..n]);
    let n = format::save_network(&net, &Extras::none(), &mut buf).unwrap();
    put(root.join("model_load/weights-only.mprp"), &buf[..n]);
    // Every layer kind: whitening, standardisation, batch norm (running statistics) and
    // dropout, as the simulator's `train --batch-norm --dropout P --preprocess …` saves.
    type Every =
        microprop::layers![f32; 2 => whiten, standardize, dense 8, batch_norm, dropout, dense 2];
    let every = Every::new(HIDDEN, OUTPUT, Init::HeNormal, 0.01, &mut rng).unwrap();
    let mut big = vec![0u8; format::network_len::<Every>(None)];
    let n = format::save_network(&every, &Extras::none(), &mut big).unwrap();
    put(root.join("model_load/every-kind.mprp"), &big[..n]);
    let slot = Checkpoints::<RamFlash>::slot_len_for(MODEL_BUF) as u32;
    let mut cp = Checkpoints::new(RamFlash(vec![0xff; 2048]), 0, 2048, slot).unwrap();
    let model = net.clone().into_training();
    cp.save(&model, &full, &mut buf).unwrap();
    cp.save(&model, &Extras::none(), &mut buf).unwrap();
    put(root.join("model_load/flash-image.bin"), &cp.into_inner().0);
    put(root.join("model_load/empty"), b"");

    // train_step: relu / sigmoid, small weights, clean data; then the same with NaN, ∞,
    // subnormal and huge values sprinkled in (tags 0–9 of `Input::f32`).
    let mut clean = vec![3u8, 26, 1, 26];
    let mut wild = clean.clone();
    for i in 0..Net::PARAMS {
        clean.push(20 + (i % 12) as u8);
        wild.push(if i % 7 == 0 {
            (i % 10) as u8
        } else {
            20 + (i % 12) as u8
        });
    }
    for i in 0..8u8 {
        clean.extend([24 + i, 30 - i, i % 2]);
        wild.extend([i, 30 - i, i % 3]);
    }
    for s in [&mut clean, &mut wild] {
        s.extend([
            7, 0, 3, 27, 30, 8, 26, 2, 1, 2, 3, 0, 1, 4, 5, 6, 1, 2, 3, 4, 5, 6, 7, 0, 1,
        ]);
    }
    put(root.join("train_step/clean"), &clean);
    put(root.join("train_step/wild"), &wild);
    put(root.join("config/zeros"), &[0u8; 64]);
    let mut cli = b"train\0--layers\x002,16,16,1\0--lr\x000.1\0--activation\0relu".to_vec();
    cli.push(0xff);
    cli.extend([7u8; 40]);
    put(root.join("config/cli-train"), &cli);
    let mut cli = b"predict\0--load\0m.mprp\0--point\x000.5,-1\0--math\0micromath".to_vec();
    cli.push(0xff);
    put(root.join("config/cli-predict"), &cli);
    let cfg: Vec<u8> = (0..160u32).map(|i| (i * 37 % 251) as u8).collect();
    put(root.join("config/mixed"), &cfg);
}
