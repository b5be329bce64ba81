//! `dead-relu`: the share of hidden ReLUs that are zero for every training sample, against
//! the bias initialisation, at initialisation and after training with a large learning rate.

use microprop::{train as core_train, Activation, Init, Libm, Loss, Sgd, Trainer};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::json;

use crate::{
    cli::{DatasetArg, DeadReluArgs},
    ctx::usage,
    data::Data,
    limits, net,
    plot::{self, Figure, Lines},
    stats, Ctx, Output, Res,
};

/// Results per bias value (means over seeds).
#[derive(Clone, Debug, Default)]
pub struct Sweep {
    /// Bias initialisations.
    pub bias: Vec<f64>,
    /// Dead fraction at initialisation.
    pub dead_at_init: Vec<f64>,
    /// Dead fraction after training.
    pub dead_after_training: Vec<f64>,
    /// Accuracy after training.
    pub accuracy: Vec<f64>,
}

/// Checks the flags before any work: a net the two-cluster data and MSE fit, within the
/// model format's depth and the memory budget ([`limits`]), a rate SGD takes in f32, a
/// plot file with an image extension.
///
/// # Errors
/// A usage error naming the flag.
pub fn validate(a: &DeadReluArgs) -> Res<()> {
    let sizes = &a.layers.0;
    if sizes.len() < 3 {
        return usage("--layers: give at least one hidden layer, e.g. 2,32,32,1");
    }
    if sizes[0] != crate::train::FEATURES {
        return usage(format!(
            "--layers: the input layer has {} unit(s) but the two-cluster data has {} features",
            sizes[0],
            crate::train::FEATURES
        ));
    }
    let outputs = sizes[sizes.len() - 1];
    if let Err(e) = Loss::Mse.check(Activation::<f32>::Sigmoid, outputs) {
        return usage(format!(
            "--layers: {outputs} sigmoid output(s) do not fit the MSE loss on 2 classes: {e}"
        ));
    }
    if outputs > 2 {
        return usage(format!(
            "--layers: {outputs} outputs for 2 classes (use 1 output, or 2)"
        ));
    }
    let specs = limits::dense_specs(sizes, Activation::Relu, Activation::Sigmoid);
    limits::check_depth("--layers", &specs)?;
    // One net at a time, one row at a time, plain SGD; 200 samples.
    limits::Footprint::of(&specs, 1)
        .plus(200 * (2 * 4 + 1 + 2))
        .check("--layers")?;
    if let Err(e) = Sgd::new(a.lr) {
        return usage(format!("--lr {}: {e}", a.lr));
    }
    if let Some(p) = &a.plot {
        plot::check_path("--plot", p)?;
    }
    Ok(())
}

/// Runs the sweep.
///
/// # Errors
/// Usage errors ([`validate`]); core errors.
pub fn sweep(a: &DeadReluArgs, ctx: &Ctx) -> Res<Sweep> {
    validate(a)?;
    let mut s = Sweep::default();
    let pb = ctx.progress((a.bias.len() as u64) * u64::from(a.seeds), "dead-relu");
    for &b in &a.bias {
        let (mut d0, mut d1, mut acc) = (0.0, 0.0, 0.0);
        for seed in 0..u64::from(a.seeds) {
            let mut rng = microprop::rng(1000 + seed);
            let data = Data::generate(DatasetArg::Clusters, 200, 2, 0.7, &mut rng)?;
            let view = data.view()?;
            let mut net = net::dense::<f32, Libm>(
                &a.layers.0,
                Activation::Relu,
                Activation::Sigmoid,
                Init::HeNormal,
                b,
                &mut rng,
            )?;
            d0 += stats::dead_fraction(&mut net, &view)?;
            let mut opt = Sgd::new(a.lr)?;
            let mut trainer = Trainer::new(Loss::Mse, 8)?;
            let mut order = vec![0u16; data.len()];
            core_train::fill_order(&mut order)?;
            for _ in 0..a.epochs {
                // A diverged step is refused by the trainer; keep going (that is the point).
                let _ = trainer.epoch(&mut net, &mut opt, &view, &mut order, &mut rng);
            }
            d1 += stats::dead_fraction(&mut net, &view)?;
            acc += f64::from(core_train::evaluate(&mut net, Loss::Mse, &view)?.accuracy);
            pb.inc(1);
        }
        let n = f64::from(a.seeds);
        s.bias
            .push(b.to_string().parse::<f64>().unwrap_or(f64::from(b)));
        s.dead_at_init.push(d0 / n);
        s.dead_after_training.push(d1 / n);
        s.accuracy.push(acc / n);
    }
    pb.finish_and_clear();
    Ok(s)
}

/// Writes the figure.
///
/// # Errors
/// Drawing errors.
pub fn save(s: &Sweep, path: &std::path::Path, epochs: u32, lr: f32) -> Res<()> {
    plot::save(&DeadFigure { s, epochs, lr }, path)
}

/// `microprop-sim dead-relu`.
pub fn run(a: &DeadReluArgs, ctx: &Ctx) -> Res<Output> {
    validate(a)?;
    let s = sweep(a, ctx)?;
    if let Some(p) = &a.plot {
        save(&s, p, a.epochs, a.lr)?;
    }
    let mut text = format!(
        "dead ReLU fraction (hidden units zero on every sample), {} nets, He init, {} seeds, {} epochs at lr {}\n\
         {:>7} {:>10} {:>14} {:>9}\n",
        a.layers.0.iter().map(|n| n.to_string()).collect::<Vec<_>>().join("-"),
        a.seeds,
        a.epochs,
        a.lr,
        "bias",
        "at init",
        "after training",
        "accuracy"
    );
    for i in 0..s.bias.len() {
        text += &format!(
            "{:>7} {:>10.3} {:>14.3} {:>8.1}%\n",
            s.bias[i],
            s.dead_at_init[i],
            s.dead_after_training[i],
            s.accuracy[i] * 100.0
        );
    }
    if let Some(p) = &a.plot {
        text += &format!("plot: {}\n", p.display());
    }
    let json = json!({
        "layers": a.layers.0,
        "epochs": a.epochs,
        "lr": a.lr,
        "seeds": a.seeds,
        "bias_init": s.bias,
        "dead_at_init": s.dead_at_init,
        "dead_after_training": s.dead_after_training,
        "accuracy": s.accuracy,
    });
    Ok(Output { json, text })
}

struct DeadFigure<'a> {
    s: &'a Sweep,
    epochs: u32,
    lr: f32,
}

impl Figure for DeadFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (800, 520)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let pts = |v: &[f64]| -> Vec<(f64, f64)> {
            self.s.bias.iter().copied().zip(v.iter().copied()).collect()
        };
        Lines {
            title: "dead ReLU fraction against bias initialisation".into(),
            x_label: "bias init",
            y_label: "share of hidden units dead",
            series: vec![
                ("at initialisation".into(), pts(&self.s.dead_at_init)),
                (
                    format!("after {} epochs, lr {}", self.epochs, self.lr),
                    pts(&self.s.dead_after_training),
                ),
            ],
            log_y: false,
            points: true,
            legend: SeriesLabelPosition::UpperRight,
        }
        .draw(root)
    }
}
