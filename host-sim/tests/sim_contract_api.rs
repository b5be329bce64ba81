//! The simulator's contract through the library: the memory budget counts what a `train`
//! run allocates, and the decision-boundary grid is computed only for `--plot`.

mod common;

use microprop::Activation;
use microprop_sim::cli::{DatasetArg, HiddenAct, OptimizerArg, PreprocessArg, Sizes, TrainArgs};
use microprop_sim::{limits, report::train_args, train, Ctx};

fn base(layers: &[usize]) -> TrainArgs {
    train_args(layers, HiddenAct(Activation::Relu), DatasetArg::Clusters, 1)
}

#[test]
fn the_budget_counts_what_the_run_allocates() {
    let base = base(&[2, 16, 16, 1]);
    let mut cases = vec![base.clone()];
    let mut a = base.clone();
    a.batch_norm = true;
    a.dropout = Some(0.1);
    a.preprocess = PreprocessArg::Standardize;
    cases.push(a);
    let mut a = base.clone();
    a.layers = Sizes(vec![2, 7, 5, 3, 1]);
    a.preprocess = PreprocessArg::Whiten;
    a.optimizer = OptimizerArg::Adam;
    a.lr = 0.01;
    cases.push(a);
    for a in cases {
        let plan = train::plan(&a);
        let (res, _, _) = train::train_with::<microprop::Libm>(&a, &Ctx::default()).expect("train");
        assert_eq!(plan.params, res.params as u64, "{a:?}");
        assert_eq!(plan.weight_bytes, res.bytes as u64, "{a:?}");
        assert_eq!(plan.training_bytes, res.training_bytes as u64, "{a:?}");
        assert!(plan.total_bytes() > plan.weight_bytes + plan.training_bytes);
    }
}

#[test]
fn the_budget_tells_sgd_from_adam_on_the_same_net() {
    let mut a = base(&[2, 4096, 4096, 4096, 4096, 4096, 4096, 1]);
    assert!(train::plan(&a).total_bytes() <= limits::MAX_BYTES);
    a.optimizer = OptimizerArg::Adam;
    assert!(train::plan(&a).total_bytes() > limits::MAX_BYTES);
}

#[test]
fn the_decision_boundary_grid_is_computed_only_for_plot() {
    let mut a = base(&[2, 4, 1]);
    let ctx = Ctx::default();
    let (_, _, grid) = train::train_with::<microprop::Libm>(&a, &ctx).unwrap();
    assert!(grid.is_none(), "a grid was computed without --plot");
    a.plot = Some(common::scratch("contract-grid").join("b.png"));
    let (_, _, grid) = train::train_with::<microprop::Libm>(&a, &ctx).unwrap();
    let (xs, ys, v) = grid.expect("--plot computes the grid");
    assert_eq!(
        (xs.len(), ys.len(), v.len()),
        (train::GRID, train::GRID, train::GRID)
    );
}
