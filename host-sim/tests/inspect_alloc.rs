//! `inspect`'s inference bytes ([`limits::inference_bytes`]) are what one `predict` holds
//! at its peak: measured with a counting allocator (its own test binary, one test, so
//! that nothing else allocates meanwhile).
#![allow(clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use microprop::layer::Spec;
use microprop::Libm;
use microprop_sim::cli::TrainArgs;
use microprop_sim::{limits, net, train, HostNetwork};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), SeqCst) + layout.size();
            PEAK.fetch_max(now, SeqCst);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        LIVE.fetch_sub(layout.size(), SeqCst);
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Peak bytes allocated while the input row is made and the network run on it.
fn measured(net: &HostNetwork<f32, Libm>, inputs: usize) -> usize {
    let base = LIVE.load(SeqCst);
    PEAK.store(base, SeqCst);
    let x = vec![0.5f32; inputs];
    let y = net::predict(net, &x).unwrap();
    drop((x, y));
    PEAK.load(SeqCst) - base
}

#[test]
fn the_inference_bytes_are_the_peak_of_one_prediction() {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        a: TrainArgs,
    }
    let cases: [&[&str]; 9] = [
        // Whitening and dropout hold no scratch (else it would set the peak).
        &["x", "--layers", "2,1", "--preprocess", "whiten"],
        &["x", "--layers", "2,40,1", "--dropout", "0.5"],
        // The standardisation's scratch sets the peak.
        &["x", "--layers", "2,1", "--preprocess", "standardize"],
        // Batch norm's.
        &["x", "--layers", "2,1,30,1", "--batch-norm"],
        &["x", "--layers", "2,5,3,1"],
        &["x", "--layers", "2,40,3,7,1"],
        &[
            "x",
            "--layers",
            "2,16,16,3",
            "--batch-norm",
            "--dropout",
            "0.2",
        ],
        &["x", "--layers", "2,8,1", "--preprocess", "standardize"],
        &["x", "--layers", "2,9,4", "--preprocess", "whiten"],
    ];
    let xs = microprop_sim::data::Data {
        x: vec![0.0f32, 1.0, 1.0, 0.0, 2.0, 2.5, -1.0, 0.5],
        features: 2,
        labels: vec![0, 1, 1, 0],
        classes: 2,
    };
    for args in cases {
        let a = Cli::parse_from(args).a;
        // The layers train builds (preprocessing fitted on a few points).
        let extras = net::Extras {
            batch_norm: a.batch_norm,
            dropout: a.dropout,
        };
        let mut layers = net::layers_with(
            &a.layers.0,
            a.activation.activation(),
            a.output.activation(),
            extras,
        )
        .unwrap();
        if let Some(first) = train::preprocessing_layer(a.preprocess, &xs).unwrap() {
            layers.insert(0, first);
        }
        let net: HostNetwork<f32, Libm> = net::network(layers).unwrap();
        let mut specs: Vec<Spec> = Vec::new();
        net.specs(&mut |s| specs.push(s));
        assert_eq!(specs.len(), train::specs(&a).len());
        let want = limits::inference_bytes(&specs) as usize;
        // The first run may allocate once-only state (none expected; run twice anyway).
        let _ = measured(&net, specs[0].inputs());
        assert_eq!(measured(&net, specs[0].inputs()), want, "{args:?}");
    }
}
