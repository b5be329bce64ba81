//! The zeroed training buffers as constants (`layer::Zeroed`, `layer::ZeroedLayer`): they
//! are constants (a `static` takes them), they equal what the sequences' functions build,
//! and a model made by `Training::default` (which stores them) trains exactly as one made
//! by `Network::into_batched`, for every layer kind and several batch capacities.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use microprop::{
    data::Clusters,
    layer::{Fixed, Net, Params, Seq, Zeroed},
    layers, mlp, Activation, Dataset, Init, Libm, Loss, Model, Network, Sgd, Trainer, Training,
};

/// Names the layers of a network type.
trait Layers {
    type L;
}

impl<L, M> Layers for Network<L, M> {
    type L = L;
}

type N1 = <mlp![f32; 2, 16, 1] as Layers>::L;
type Relu = <mlp![f32; 2, 16, 16, 1] as Layers>::L;
type DeepBn = <layers![f32; 2 => 9 * (dense 2, batch_norm), dense 1] as Layers>::L;
type Every =
    <layers![f32; 2 => whiten, standardize, dense 8, batch_norm, dropout, dense 1] as Layers>::L;

// Constants, not functions: they initialise statics (where a device keeps a model).
static DEEP_BN_BUFFERS: <DeepBn as Seq<f32>>::Buffers<4> =
    <DeepBn as Zeroed<f32, 4>>::ZEROED_BUFFERS;
static EVERY_BUFFERS: <Every as Seq<f32>>::Buffers<2> = <Every as Zeroed<f32, 2>>::ZEROED_BUFFERS;
static EVERY_ROWS: <Every as Seq<f32>>::InRows<2> = <Every as Zeroed<f32, 2>>::ZEROED_ROWS;

#[test]
fn the_constants_equal_the_buffers_the_sequences_build() {
    let deep = DeepBn::default();
    assert_eq!(deep.buffers::<4>(4).unwrap(), DEEP_BN_BUFFERS);
    let every = Every::default();
    assert_eq!(every.buffers::<2>(2).unwrap(), EVERY_BUFFERS);
    assert_eq!(every.in_rows::<2>(2).unwrap().as_ref(), EVERY_ROWS.as_ref());
    assert!(EVERY_ROWS.as_ref().iter().all(|&v| v == 0.0));
    // The tuple chain and a repeated block agree with the layers' own functions.
    assert_eq!(
        <Relu as Zeroed<f32, 3>>::ZEROED_BUFFERS,
        <Relu as Fixed<f32>>::zeroed_buffers::<3>()
    );
    assert_eq!(
        <DeepBn as Zeroed<f32, 1>>::ZEROED_BUFFERS,
        <DeepBn as Fixed<f32>>::zeroed_buffers::<1>()
    );
}

/// Trains a `Training::default()` and a `Network::zeroed(..).into_batched()` of `L` side
/// by side (same seed, same steps) and returns both weights hashes.
fn both_ways<L, const B: usize>(seed: u64, batch: usize) -> (u64, u64)
where
    L: Net<Scalar = f32> + Fixed<f32> + Zeroed<f32, B> + Default,
{
    let mut x = vec![[0.0f32; 2]; 64];
    let mut labels = vec![0u8; 64];
    let mut data_rng = microprop::rng(seed ^ 0x5eed);
    Clusters::two(0.7)
        .generate(&mut data_rng, &mut x, &mut labels)
        .unwrap();
    let data = Dataset::new(&x, &labels).unwrap();
    let run = |model: &mut Training<L, Libm, B>| {
        let mut rng = microprop::rng(seed);
        let mut order: Vec<u16> = (0..64).collect();
        let net = model.network_mut();
        net.set_activations(Activation::Relu, Activation::Sigmoid)
            .unwrap();
        net.init(Init::HeNormal, 0.01, &mut rng).unwrap();
        let mut trainer = Trainer::new(Loss::Mse, batch).unwrap();
        let mut opt = Sgd::new(0.1f32).unwrap();
        for _ in 0..3 {
            trainer
                .epoch(model, &mut opt, &data, &mut order, &mut rng)
                .unwrap();
        }
        let hash = model.weights_hash();
        assert!(trainer.steps() >= 3, "{} steps", trainer.steps());
        hash
    };
    let mut by_default = Training::<L, Libm, B>::default();
    by_default.visit_layers(|l| {
        // Batch norm's default γ is 1 (its parameters are not weights).
        let weights = l.kind.params() == Params::Weights;
        let params = [("w", l.w), ("b", l.b)].into_iter().filter(|_| weights);
        for (what, v) in params.chain([("gw", l.gw), ("gb", l.gb), ("z", l.z)]) {
            assert!(
                v.iter().all(|&v| v == 0.0),
                "layer {} {:?} {what}: {v:?}",
                l.index,
                l.kind
            );
        }
        assert!(l.a.iter().all(|&v| v == 0.0), "layer {} a", l.index);
    });
    let mut by_network = Network::<L, Libm>::zeroed(Activation::Identity, Activation::Identity)
        .unwrap()
        .into_batched::<B>();
    (run(&mut by_default), run(&mut by_network))
}

#[test]
fn a_default_model_trains_as_one_built_from_its_network() {
    for seed in [1, 7, 42] {
        let (a, b) = both_ways::<N1, 1>(seed, 1);
        assert_eq!(a, b, "N1 online, seed {seed}");
        let (a, b) = both_ways::<Relu, 4>(seed, 4);
        assert_eq!(a, b, "2-16-16-1, batch 4, seed {seed}");
        let (a, b) = both_ways::<DeepBn, 4>(seed, 4);
        assert_eq!(a, b, "2-9x(dense 2, batch norm)-1, batch 4, seed {seed}");
        let (a, b) = both_ways::<Every, 2>(seed, 2);
        assert_eq!(a, b, "every layer kind, batch 2, seed {seed}");
    }
}
