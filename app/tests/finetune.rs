//! The embedded iris model both ways a firmware can hold it: the exported `static`
//! (`microprop_app::iris_model::NET`) and the model file through `include_bytes!` and
//! `format::load_network` give the identical network and the same outputs bit for bit;
//! the fine-tuning program recovers the accuracy the sensor offset cost.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use microprop::format::{self, Targets};
use microprop::Activation;
use microprop_app::finetune::{self, Config, FinetuneEvent, IrisNet, POINTS};
use microprop_app::iris_model::NET;
use microprop_app::{Cycles, Sink};

static MODEL_FILE: &[u8] = include_bytes!("../models/iris-host.mprp");

#[test]
fn the_static_and_the_loaded_file_are_the_same_network() {
    NET.validate().unwrap();
    let mut loaded = IrisNet::zeroed(Activation::Relu, Activation::Softmax).unwrap();
    let info = format::load_network(MODEL_FILE, &mut loaded, Targets::none()).unwrap();
    assert_eq!(info.len, MODEL_FILE.len());
    assert_eq!(
        loaded, NET,
        "the exported static differs from its model file"
    );
    assert_eq!(loaded.weights_hash(), NET.weights_hash());
    for (name, x) in POINTS {
        let (a, b) = (NET.predict(&x).unwrap(), loaded.predict(&x).unwrap());
        assert_eq!(a.map(f32::to_bits), b.map(f32::to_bits), "{name}");
    }
    // Saving the static gives the file back (progress as stored).
    let mut buf = [0u8; format::network_len::<IrisNet>(None)];
    let extras = format::Extras {
        optimizer: None,
        progress: info.progress,
    };
    let n = format::save_network(&NET, &extras, &mut buf).unwrap();
    assert_eq!(&buf[..n], MODEL_FILE);
}

#[test]
fn the_static_is_the_host_model() {
    let host = finetune::host_model(&Config::default())
        .unwrap()
        .into_network();
    assert_eq!(
        host, NET,
        "host_model(Config::default()) no longer gives the embedded model"
    );
}

struct Count(u32);
impl Cycles for Count {
    fn now(&mut self) -> u32 {
        self.0 += 1;
        self.0
    }
}
struct Keep(Vec<FinetuneEvent>);
impl Sink<FinetuneEvent> for Keep {
    fn event(&mut self, e: &FinetuneEvent) {
        self.0.push(*e);
    }
}

#[test]
fn fine_tuning_recovers_what_the_offset_cost() {
    let config = Config::default();
    let mut sink = Keep(Vec::new());
    let out = finetune::run(&config, &NET, &mut Count(0), &mut sink).unwrap();
    assert!(out.passed, "{out:?}");
    assert!(
        out.before.permille() < 800,
        "the offset should cost accuracy: {out:?}"
    );
    assert!(out.after.permille() >= config.bar_permille, "{out:?}");
    // On clean readings the embedded model is good: the loss is the offset's.
    let before = sink.0.iter().find_map(|e| match *e {
        FinetuneEvent::Before { host, .. } => Some(host),
        _ => None,
    });
    assert!(before.unwrap().permille() >= 950, "{before:?}");
    // Without the offset there is little to recover.
    let clean = Config {
        offset: [0.0; 4],
        ..config
    };
    let out = finetune::run(&clean, &NET, &mut Count(0), &mut Keep(Vec::new())).unwrap();
    assert!(out.before.permille() >= 900, "{out:?}");
    // The logged predictions are the static's outputs, bit for bit.
    let logged: Vec<[u32; 3]> = sink
        .0
        .iter()
        .filter_map(|e| match *e {
            FinetuneEvent::Predict { bits, .. } => Some(bits),
            _ => None,
        })
        .collect();
    let direct: Vec<[u32; 3]> = POINTS
        .iter()
        .map(|(_, x)| NET.predict(x).unwrap().map(f32::to_bits))
        .collect();
    assert_eq!(logged, direct);
}
