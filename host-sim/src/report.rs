//! `report --out DIR`: every experiment into one directory, with an `index.html` that shows
//! each figure beside one short paragraph quoting the numbers measured in this run, and a
//! `report.json` with every command's JSON.
//!
//! The page checks itself: a small script counts the images that decoded and writes the
//! result into `#image-check` (`data-loaded`, `data-failed`), which the headless-Chromium
//! test reads back.

use std::fmt::Write as _;
use std::path::Path;

use microprop::Activation;
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::{json, Value};

use crate::{
    activations, centring,
    cli::{
        DatasetArg, DemoArgs, HiddenAct, InitArg, LandscapeArgs, LossArg, MathArg, OptimizerArg,
        OutputAct, PreprocessArg, ReportArgs, Sizes, TrainArgs, ZigzagArgs,
    },
    ctx::{failure, ErrorKind},
    dead_relu, gradcheck, init_stats, landscape,
    plot::{self, Figure, Lines},
    train, vanishing, zigzag, Ctx, Output, Res,
};

/// The `train` flags of the report's runs (the command's defaults, made explicit).
pub fn train_args(layers: &[usize], act: HiddenAct, dataset: DatasetArg, epochs: u32) -> TrainArgs {
    let relu_family = vanishing::default_init(act.activation()) == microprop::Init::HeNormal;
    TrainArgs {
        layers: Sizes(layers.to_vec()),
        activation: act,
        output: OutputAct(Activation::Sigmoid),
        loss: LossArg::Mse,
        init: if relu_family {
            InitArg::He
        } else {
            InitArg::Xavier
        },
        init_scale: None,
        bias_init: 0.0,
        optimizer: OptimizerArg::Sgd,
        lr: 0.1,
        epochs,
        batch: 8,
        seed: 42,
        dataset,
        data: None,
        target: None,
        val_fraction: 0.0,
        classes: 2,
        samples: 200,
        spread: None,
        offset: None,
        preprocess: PreprocessArg::None,
        points: Vec::new(),
        batch_norm: false,
        dropout: None,
        math: MathArg::Libm,
        save: None,
        plot: None,
    }
}

/// One section of the report page: a heading, its figures and its paragraph. Every
/// experiment module's `section` function returns one (with its JSON) for [`run`] to place.
pub struct Section {
    /// The heading.
    pub title: String,
    /// The figures' file names, relative to the report directory.
    pub images: Vec<String>,
    /// The paragraph, as HTML (text quoted from outside goes through [`esc`]); it says what to
    /// look for in the figures.
    pub text: String,
}

/// `s` as HTML text or attribute value: `&`, `<`, `>`, `"` and `'` escaped. Everything
/// the page quotes from outside the simulator (the `--mcu` tables' values) goes through it.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn fmt_opt(v: Option<u32>) -> String {
    v.map_or("never (within the run)".into(), |e| e.to_string())
}

/// `microprop-sim report`.
pub fn run(a: &ReportArgs, ctx: &Ctx) -> Res<Output> {
    // The tables are read before any work (a bad --mcu is a usage error).
    let mcu_dir = a.mcu.clone().or_else(|| {
        let p = Path::new("target/bench-mcu");
        p.is_dir().then(|| p.to_path_buf())
    });
    let mcu = match &mcu_dir {
        Some(d) => activations::read_mcu(d)?,
        None => Vec::new(),
    };
    let out = &a.out;
    std::fs::create_dir_all(out)
        .map_err(|e| failure(ErrorKind::Io, format!("--out {}: {e}", out.display())))?;
    let q = a.quick;
    let mut sections = Vec::new();
    let mut all = serde_json::Map::new();

    // 1. Vanishing gradients.
    let van_args = crate::cli::VanishingArgs {
        depth: 9,
        width: 16,
        activation: [Activation::Sigmoid, Activation::Tanh, Activation::Relu]
            .map(HiddenAct)
            .to_vec(),
        init: None,
        init_scale: None,
        samples: 200,
        seed: 1,
        seeds: 5,
        plot: Some(out.join("vanishing.png")),
    };
    let mut v = vanishing::run(&van_args, ctx)?.json;
    let rms = |k: &str, i: usize| {
        v["grad_rms_per_layer"][k]["median"][i]
            .as_f64()
            .unwrap_or(f64::NAN)
    };
    let ratio = |k: &str, q: &str| v["first_over_last_rms"][k][q].as_f64().unwrap_or(f64::NAN);
    let reg = |k: &str| v["regime"][k].as_str().unwrap_or("?").to_string();
    let d = van_args.depth as usize;
    let mut text = format!(
        "Per-parameter gradient norm ‖g‖/√n (RMS of the mean gradient per weight or bias) of each \
         layer at initialisation, 2 → 9 × 16 → 1, MSE on two clusters, {} seeds (line: median, \
         band: min–max). What to look for: a line that falls toward layer 1 is a vanishing \
         gradient. Sigmoid (Xavier), where each layer multiplies the back-propagated gradient by \
         σ′ ≤ 0.25, is {}: layer 1 gets {:.1e} per parameter against {:.1e} at layer {d} \
         (layer 1 / layer {d}: median {:.1e}, {:.1e}…{:.1e} over seeds). tanh (Xavier) is {} \
         ({:.2}, {:.2}…{:.2}) and ReLU (He) {} ({:.2}, {:.2}…{:.2}).",
        van_args.seeds,
        reg("sigmoid"),
        rms("sigmoid", 0),
        rms("sigmoid", d - 1),
        ratio("sigmoid", "median"),
        ratio("sigmoid", "min"),
        ratio("sigmoid", "max"),
        reg("tanh"),
        ratio("tanh", "median"),
        ratio("tanh", "min"),
        ratio("tanh", "max"),
        reg("relu"),
        ratio("relu", "median"),
        ratio("relu", "min"),
        ratio("relu", "max"),
    );
    // The regimes: which initialiser gives which, for tanh (notes §1's "tanh still vanishes").
    let (rd, rw, rseeds) = (7, 12, 10);
    let ms = vanishing::regimes(rd, rw, 200, 1, rseeds, &out.join("vanishing-regimes.png"))?;
    let _ = write!(
        text,
        "</p><p>Regimes, 2 → {rd} × {rw} → 1 over {rseeds} seeds (the regime of a run: collapsed if \
         every hidden layer is below {:.0e} per parameter, whatever the ratio; else vanishing if \
         layer 1 / layer {rd} &lt; {}, exploding if &gt; {}, stable between; `mixed` when the seeds \
         disagree). What to look for: the height of each line, not only its slope.",
        vanishing::COLLAPSE_FLOOR,
        vanishing::VANISHING_BELOW,
        vanishing::EXPLODING_ABOVE
    );
    for m in &ms {
        let (_, med, hi) = vanishing::spread(&m.rms);
        let (rlo, rmed, rhi) = vanishing::min_med_max(&m.ratios());
        let peak = hi[..rd].iter().copied().fold(0.0f64, f64::max);
        let counts = m
            .regimes()
            .iter()
            .fold(std::collections::BTreeMap::new(), |mut c, r| {
                *c.entry(r.name()).or_insert(0) += 1;
                c
            });
        let counts: Vec<String> = counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = write!(
            text,
            " {} with {}: {} ({}), layer 1 / layer {rd} = {} ({}…{}), layer 1 median \
             {:.1e}, largest hidden-layer value {:.1e}.",
            m.activation,
            m.init_label(),
            m.regime(),
            counts.join(", "),
            vanishing::sig(rmed),
            vanishing::sig(rlo),
            vanishing::sig(rhi),
            med[0],
            peak
        );
    }
    // The conclusion follows the measured regimes (tanh: REGIMES[0..3]).
    let small = &ms[0];
    let (_, small_r, _) = vanishing::min_med_max(&small.ratios());
    let _ = write!(
        text,
        " So for tanh the lecture's \"vanishes\" is about the init: under {} the regime is {} \
         (median ratio {:.2}: {}), under {} it is {}, under {} it is {}.",
        small.init_label(),
        small.regime(),
        small_r,
        if small.regime() == "collapsed" {
            "every layer's gradient is near zero together, which the ratio alone hides"
        } else {
            "no collapse at this size"
        },
        ms[1].init_label(),
        ms[1].regime(),
        ms[2].init_label(),
        ms[2].regime()
    );
    v["regimes"] = json!({
        "depth": rd,
        "width": rw,
        "seeds": rseeds,
        "runs": ms.iter().map(vanishing::measured_json).collect::<Vec<_>>(),
    });
    sections.push(Section {
        title: "Vanishing gradients (notes §1)".into(),
        images: vec!["vanishing.png".into(), "vanishing-regimes.png".into()],
        text,
    });
    all.insert("vanishing".into(), v);

    // 2. Landscape.
    let land_args = LandscapeArgs {
        spread: 1.0,
        grid: if q { 41 } else { 81 },
        range: 10.0,
        epochs: 1000,
        lr: 1.0,
        init_scale: 4.0,
        seed: 3,
        attempts: landscape::ATTEMPTS,
        center: (0.0, 0.0),
        zoom: true,
        plot: None,
    };
    let m = landscape::measure(&land_args, ctx)?;
    landscape::save(&m, &out.join("landscape.png"))?;
    let mut l = landscape::measured_json(&land_args, &m);
    let s = &m.surfaces;
    // How robust is the finding? The same experiment from other start seeds (coarser grid),
    // each net trained once: start seeds that retry into the same seed share one net.
    let seeds: Vec<u64> = (1..=if q { 3 } else { 10 }).collect();
    let rgrid = if q { 21 } else { 41 };
    let rb = landscape::robustness(&land_args, &seeds, rgrid, ctx)?;
    l["robustness"] = rb.json();
    let ns = seeds.len();
    // The 9-layer net most start seeds end on after their retries.
    let mut shared = std::collections::BTreeMap::new();
    for a in &rb.attempts {
        if let Some(t) = a[1].last() {
            *shared.entry(t.seed).or_insert(0usize) += 1;
        }
    }
    let (top_seed, top_n) = shared
        .iter()
        .max_by_key(|(_, &n)| n)
        .map_or((0, 0), |(&s, &n)| (s, n));
    let sharing = if top_n > 1 {
        format!("{top_n} of the {ns} comparisons use the 9-layer net of seed {top_seed}")
    } else {
        "every start seed has its own 9-layer net".to_string()
    };
    let robustness = format!(
        " <b>Robustness</b>, start seeds 1–{ns}, {rgrid}×{rgrid} grid: without retries the 9-layer net trains (≥ {:.0} %) from \
         {} of {ns} seeds, the 2-layer net from {} of {ns}. With retries (the next seed until one trains, at most {}) \
         the {ns} start seeds give {} distinct 9-layer nets and {} distinct 2-layer nets (by weights hash): {sharing}, \
         and there are {} distinct (2-layer, 9-layer) pairs. The 9-layer plateau is the larger in {} of {ns} start seeds \
         ({} of {} distinct pairs), its band the narrower in {} ({} of {}), its peak the taller in {} ({} of {}).",
        landscape::MIN_ACCURACY * 100.0,
        rb.trained_without_retry[1],
        rb.trained_without_retry[0],
        land_args.attempts,
        rb.distinct_nets[1],
        rb.distinct_nets[0],
        rb.distinct_pairs,
        rb.count(0),
        rb.count_distinct(0),
        rb.distinct_pairs,
        rb.count(1),
        rb.count_distinct(1),
        rb.distinct_pairs,
        rb.count(2),
        rb.count_distinct(2),
        rb.distinct_pairs,
    );
    let net_text = |x: &landscape::Surface| {
        if x.did_not_train {
            format!(
                "the {} net {} — its surfaces are an untrained net's, so no plateau is reported",
                x.name,
                x.status_text()
            )
        } else {
            format!(
                "{} net: {}, accuracy {:.1} %, plateau (‖∇‖ below 10⁻³ of the peak) {:.1} % of the grid, \
                 {:.1} % of the grid above half the peak, peak {:.3}",
                x.name,
                x.status_text(),
                x.accuracy * 100.0,
                x.plateau_fraction * 100.0,
                x.band_width * 100.0,
                x.peak_grad
            )
        }
    };
    let band = |x: &landscape::Surface, what: &str| {
        format!(
            "{} cell(s) thick at the peak ({}, {}) = {:.3} in weight units, grid step {:.3}: {}",
            x.band_cells,
            landscape::fmt_num(x.peak_at.0),
            landscape::fmt_num(x.peak_at.1),
            x.band_thickness,
            x.step,
            if x.band_resolved() { "resolved" } else { what }
        )
    };
    let zoom_text = m.zoom.as_ref().map_or(String::new(), |z| {
        format!(
            " Bottom row: the 9-layer net zoomed to [{}, {}] × [{}, {}] around its gradient peak ({} zoom step(s) of \
             ×{}, at most {}), step {:.4}: the band is {}.",
            landscape::fmt_num(z.center.0 - z.range),
            landscape::fmt_num(z.center.0 + z.range),
            landscape::fmt_num(z.center.1 - z.range),
            landscape::fmt_num(z.center.1 + z.range),
            m.zoom_levels,
            (land_args.grid - 1) / 4,
            landscape::MAX_ZOOMS,
            z.step,
            band(z, "still thinner than this grid resolves")
        )
    });
    sections.push(Section {
        title: "Loss and gradient surfaces, 2-layer vs 9-layer (Experiment A)".into(),
        images: vec!["landscape.png".into()],
        text: format!(
            "All-2-wide sigmoid nets trained in f32 on two clusters (SGD, lr 1, N(0, 4²) init, {} epochs), then w[0][0] × \
             w[1][0] swept over [−10, 10]² ({g}×{g} grid) with every other weight fixed, the surfaces evaluated in f64 with \
             the trained weights (red cross: trained value; a red label when it lies outside the window). Both colour \
             scales are logarithmic (colour bars beside each panel; the gradient's spans at most {:.0} decades below its \
             peak). {}; {}. The 9-layer band is {}.{zoom_text} f32 terraces: in f32 the loss differs from f64 by up to \
             {:.1e} (2-layer) and {:.1e} (9-layer), and {:.1} % resp. {:.1} % of neighbouring cells differ by less than \
             that rounding: an f32 figure would draw those as flat terraces, which is why the figure is computed in \
             f64.{robustness} <b>What to look for:</b> the dark (plateau) share of the 9-layer gradient panel and its thin \
             bright bands against the 2-layer net's broad band; the bottom row shows what a band looks like once the grid \
             resolves it. SVG: <a href=\"landscape.svg\">landscape.svg</a>.",
            land_args.epochs,
            landscape::GRAD_DECADES,
            net_text(&s[0]),
            net_text(&s[1]),
            band(&s[1], "thinner than the grid resolves, so the full-window panel aliases it"),
            s[0].f32_max_loss_error,
            s[1].f32_max_loss_error,
            s[0].f32_unresolved_fraction * 100.0,
            s[1].f32_unresolved_fraction * 100.0,
            g = land_args.grid,
        ),
    });
    all.insert("landscape".into(), l);

    // 3. Zig-zag.
    let z_args = ZigzagArgs {
        lr: 0.1,
        max_steps: 5000,
        tolerance: 0.05,
        seed: 5,
        plot: Some(out.join("zigzag.png")),
    };
    let z = zigzag::run(&z_args, ctx)?.json;
    sections.push(Section {
        title: "Same-sign updates: the zig-zag (notes §3, §8)".into(),
        images: vec!["zigzag.png".into()],
        text: format!(
            "One linear neuron with two weights learns y = w*·x, w* = (1, −1) in the fourth quadrant, by SGD one sample \
             at a time. With inputs in [0, 1]² every update has both components of the same sign ({:.0} % of updates): \
             the path can only move up-right or down-left and needs {} steps. Zero-centred inputs: {:.0} % same-sign \
             updates, {} steps.",
            z["positive"]["sign_agreement"].as_f64().unwrap_or(0.0) * 100.0,
            z["positive"]["steps"],
            z["zero_centred"]["sign_agreement"].as_f64().unwrap_or(0.0) * 100.0,
            z["zero_centred"]["steps"]
        ),
    });
    all.insert("zigzag".into(), z);

    // 3b. Zero-centring in a real net: the same data shifted away from the origin.
    let offsets = [0.0, 2.0, 5.0, 10.0];
    let seeds: Vec<u64> = (1..=if q { 3 } else { 5 }).collect();
    let cs = centring::sweep(&offsets, &seeds, 100, ctx)?;
    plot::save(&centring::CentringFigure(&cs), &out.join("centring.png"))?;
    let last = offsets.len() - 1;
    sections.push(Section {
        title: "Zero-centring the inputs (lecture 6, data preprocessing)".into(),
        images: vec!["centring.png".into()],
        text: format!(
            "The default <code>train</code> run (2-16-16-1 ReLU, He init, SGD lr 0.1, two clusters at ±(1, 1)) on the \
             data shifted by <code>--offset o,o</code>, with <code>--preprocess none</code>, <code>mean</code> and \
             <code>standardize</code>, {} seeds, {} epochs: the median seed's epochs to 95 %, bars from the fastest to \
             the slowest seed, runs that never reach 95 % on the dashed \"never\" line. <b>What to look for:</b> at \
             offset 0 the three agree (the data is centred already); the raw-input curve climbs with the offset and \
             reaches \"never\", while both centred curves stay flat. At offset ({o}, {o}) raw inputs never reached \
             95 % in {} of {} seeds, mean subtraction in {}. Seed by seed: {}.",
            seeds.len(),
            cs.epochs,
            cs.never(0, last),
            seeds.len(),
            cs.never(1, last),
            cs.summary(),
            o = offsets[last],
        ),
    });
    all.insert("centring".into(), cs.json());

    // 4. Convergence by activation.
    let epochs = if q { 40 } else { 100 };
    let names = ["sigmoid", "tanh", "relu", "leaky-relu", "elu", "gelu"];
    let acts = Activation::ALL
        .into_iter()
        .filter(|a| names.contains(&a.name()))
        .map(HiddenAct);
    let mut series = Vec::new();
    let mut conv = serde_json::Map::new();
    let mut conv_text = Vec::new();
    for act in acts {
        let ta = train_args(&[2, 32, 32, 1], act, DatasetArg::Xor, epochs);
        let (r, _, _) = train::train_with::<microprop::Libm>(&ta, ctx)?;
        let name = act.activation().name();
        series.push((
            name.to_string(),
            r.loss_per_epoch
                .iter()
                .enumerate()
                .map(|(i, &l)| ((i + 1) as f64, l))
                .collect::<Vec<_>>(),
        ));
        conv_text.push(format!("{name} {}", fmt_opt(r.epochs_to_95)));
        conv.insert(
            name.into(),
            json!({"epochs_to_95": r.epochs_to_95, "accuracy": r.accuracy, "final_loss": r.final_loss}),
        );
    }
    plot::save(
        &LinesFigure(Lines {
            title: format!("XOR, 2-32-32-1, SGD lr 0.1: training loss per epoch ({epochs} epochs)"),
            x_label: "epoch",
            y_label: "mean loss (½ Σ (a − y)²)",
            series,
            log_y: true,
            points: false,
            legend: SeriesLabelPosition::LowerLeft,
        }),
        &out.join("convergence.png"),
    )?;
    sections.push(Section {
        title: "Convergence by activation (notes §4–7)".into(),
        images: vec!["convergence.png".into()],
        text: format!(
            "The same 2-32-32-1 net on XOR quadrants (He init for the ReLU family, Xavier otherwise, SGD lr 0.1, batch 8). \
             Epochs to 95 % accuracy: {}.",
            conv_text.join(", ")
        ),
    });
    all.insert("convergence".into(), Value::Object(conv));

    // 5. Decision boundary of the default train run.
    let ta = train_args(
        &[2, 16, 16, 1],
        HiddenAct(Activation::Relu),
        DatasetArg::Clusters,
        50,
    );
    let r = train::save_boundary(&ta, &out.join("train.png"), ctx)?;
    sections.push(Section {
        title: "Training a run-time shaped net (microprop-sim train)".into(),
        images: vec!["train.png".into()],
        text: format!(
            "2-16-16-1 ReLU net (He init), two clusters, SGD lr 0.1, 50 epochs, on the core's kernels: accuracy {:.1} %, \
             95 % after {} epoch(s), {} parameters, {} bytes of weights, {:.0} ns per optimizer step of 8 samples on this host.",
            r.accuracy * 100.0,
            fmt_opt(r.epochs_to_95),
            r.params,
            r.bytes,
            r.ns_per_step
        ),
    });
    all.insert(
        "train".into(),
        json!({"accuracy": r.accuracy, "epochs_to_95": r.epochs_to_95, "params": r.params,
               "bytes": r.bytes, "ns_per_step": r.ns_per_step,
               "weights_hash": crate::stats::hex16(r.weights_hash)}),
    );

    // 6. Initialisation.
    let runs = init_stats::runs(
        if q { 50 } else { 100 },
        10,
        if q { 200 } else { 500 },
        11,
        ctx,
    )?;
    init_stats::save(&runs, &out.join("init.png"))?;
    let last = |net: &str, init: &str| {
        runs.iter()
            .find(|r| r.net == net && r.init == init)
            .and_then(|r| r.std.last().copied())
            .unwrap_or(f64::NAN)
    };
    sections.push(Section {
        title: "Weight initialisation (lecture 6)".into(),
        images: vec![
            "init.png".into(),
            "init-tanh.png".into(),
            "init-relu.png".into(),
        ],
        text: format!(
            "Standard-normal inputs through 10 equal-width layers without biases. Std of the 10th layer's activations — \
             tanh: small N(0, 0.01²) {:.1e} (collapsed), large N(0, 1) {:.2} (saturated at ±1), Xavier {:.2}, He {:.2}; \
             ReLU: Xavier {:.1e} (halves every layer), He {:.2} (kept).",
            last("tanh", "small"),
            last("tanh", "large"),
            last("tanh", "xavier"),
            last("tanh", "he"),
            last("relu", "xavier"),
            last("relu", "he")
        ),
    });
    let mut std_map = serde_json::Map::new();
    for r in &runs {
        std_map
            .entry(r.net.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|m| m.insert(r.init.into(), json!(r.std)));
    }
    all.insert("init".into(), json!({ "std_per_layer": std_map }));

    // 7. Dead ReLUs: activation × learning rate × bias (the section is dead_relu's).
    let d = dead_relu::report(&out.join("dead-relu.png"), q, ctx)?;
    sections.push(Section {
        title: d.title,
        images: d.images,
        text: d.text,
    });
    all.insert("dead_relu".into(), d.json);

    // 7b. Zero / constant initialisation: the symmetry is never broken.
    let sym_args = crate::symmetry::SymmetryArgs {
        seeds: if q { 2 } else { 4 },
        epochs: 200,
        constant: 0.3,
        sigma: 0.5,
        plot: None,
    };
    let sym = crate::symmetry::sweep(&sym_args)?;
    plot::save(
        &crate::symmetry::SymmetryFigure { runs: &sym },
        &out.join("symmetry.png"),
    )?;
    let sj = crate::symmetry::json_of(&sym_args, &sym);
    let acc = |k: &str| {
        sj["inits"][k]["accuracy"]
            .as_array()
            .map(|v| {
                v.iter()
                    .map(|a| format!("{:.1} %", a.as_f64().unwrap_or(f64::NAN) * 100.0))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let spread = |k: &str| sj["inits"][k]["max_spread"].as_f64().unwrap_or(f64::NAN);
    sections.push(Section {
        title: "Zero and constant initialisation: the symmetry is never broken (lecture 6)".into(),
        images: vec!["symmetry.png".into()],
        text: format!(
            "<code>microprop-sim symmetry</code>: 2-16-16-1 tanh nets (sigmoid output, MSE, SGD lr {}, batch 8) trained {} epochs \
             on XOR from all-zero weights, from every weight 0.3, and from N(0, 0.5²), seeds 1–{}. <b>What to look for:</b> \
             the left bars are 0 exactly for zeros and the constant (every hidden unit's incoming weights and bias are still \
             identical after training, so each layer acts as one unit) and the accuracy stays low; random weights differ and \
             learn XOR. Measured: largest difference between two hidden units' rows {:.1e} (zeros), {:.1e} (constant), {:.2} \
             (random); accuracy zeros {}; constant {}; random {}.",
            crate::symmetry::LR,
            sym_args.epochs,
            sym_args.seeds,
            spread("zeros"),
            spread("constant"),
            spread("normal"),
            acc("zeros"),
            acc("constant"),
            acc("normal"),
        ),
    });
    all.insert("symmetry".into(), sj);

    // 8. Activations and their cost.
    let host = activations::host_costs(4096, if q { 5 } else { 30 }, ctx);
    activations::save(&host, &mcu, &out.join("activations.png"))?;
    let hc = |act: &str, b: &str| {
        host.iter()
            .find(|r| r.activation == act && r.backend == b)
            .map_or((f64::NAN, f64::NAN), |r| {
                (r.forward_ns, r.forward_max_abs_error)
            })
    };
    let (sl, _) = hc("sigmoid", "libm");
    let (sm, se) = hc("sigmoid", "micromath");
    let (rl, _) = hc("relu", "libm");
    let mut act_imgs = vec![
        "activations.png".to_string(),
        "activations-cost.png".to_string(),
    ];
    let mut mcu_text = String::from(
        " No microcontroller table was given (run <code>cargo xtask bench-mcu</code>, then \
         <code>microprop-sim report --mcu target/bench-mcu</code>).",
    );
    if !mcu.is_empty() {
        act_imgs.push("activations-mcu.png".into());
        let mut parts = Vec::new();
        for t in &mcu {
            let get = |act: &str, b: &str| {
                t["activations"]
                    .as_array()
                    .and_then(|v| {
                        v.iter()
                            .find(|r| r["activation"] == act && r["backend"] == b)
                    })
                    .and_then(|r| r["forward_instructions_per_element"].as_f64())
                    .unwrap_or(f64::NAN)
            };
            parts.push(format!(
                "{}: sigmoid {:.0} (libm) vs {:.0} (micromath), ReLU {:.0} instructions per element",
                esc(t["core"].as_str().unwrap_or("?")),
                get("sigmoid", "libm"),
                get("sigmoid", "micromath"),
                get("relu", "libm")
            ));
        }
        mcu_text = format!(
            " On the emulated cores (QEMU -icount): {}.",
            parts.join("; ")
        );
    }
    sections.push(Section {
        title: "Activation functions and their cost".into(),
        images: act_imgs,
        text: format!(
            "Each activation and its derivative. On this host a sigmoid costs {sl:.1} ns per element with libm and \
             {sm:.1} ns with micromath (max error {se:.1e}); ReLU {rl:.2} ns, no exponential.{mcu_text}"
        ),
    });
    all.insert(
        "activations".into(),
        json!({"host": host.iter().map(|r| json!({"activation": r.activation, "backend": r.backend,
            "forward_ns_per_element": r.forward_ns, "forward_max_abs_error": r.forward_max_abs_error}))
            .collect::<Vec<_>>(), "mcu": mcu}),
    );

    // 9. Gradient check: the case table, the V-curve and the planted bug (gradcheck's section).
    let (gsec, gjson) = gradcheck::section(out, ctx, q)?;
    sections.push(gsec);
    all.insert("gradcheck".into(), gjson);

    // 10. The demo's log (what the firmware prints).
    let demo = crate::demo::run(
        &DemoArgs {
            seed: None,
            no_delay: true,
            clock_mhz: 100,
        },
        &Ctx { json: true },
    )?
    .json;
    let demo_lines: Vec<String> = demo["lines"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|l| l.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    all.insert(
        "demo".into(),
        json!({"weights_hash": demo["weights_hash"], "passed": demo["passed"]}),
    );

    // The page.
    let mut html = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>microprop: the notes, reproduced and measured</title>\n<style>\
         body{font-family:sans-serif;max-width:1250px;margin:2em auto;padding:0 1em;color:#222}\
         img{max-width:100%;border:1px solid #ddd;margin:.4em 0}\
         table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 8px}\
         pre{background:#f6f6f6;padding:.6em;font-size:12px;overflow-x:auto}\
         #image-check{font-size:12px;color:#666}</style></head><body>\n\
         <h1>microprop: the notes, reproduced and measured</h1>\n\
         <p>Every figure below was produced by <code>microprop-sim report</code> on the core's own arithmetic \
         (the same kernels the microcontroller runs). Each paragraph quotes the numbers of this run; \
         <a href=\"report.json\">report.json</a> has them all.</p>\n",
    );
    for s in &sections {
        let _ = write!(html, "<h2>{}</h2>\n<p>{}</p>\n", esc(&s.title), s.text);
        for img in &s.images {
            let _ = writeln!(html, "<img src=\"{img}\" alt=\"{img}\">");
        }
    }
    let _ = write!(
        html,
        "<h2>The firmware's application on the host</h2>\n<p><code>microprop-sim demo</code> runs the board-independent \
         application with a simulated LED, delay and cycle counter and prints the firmware's log lines; the weights hashes \
         must equal those the firmware logs under QEMU.</p>\n<pre>{}</pre>\n",
        esc(&demo_lines.join("\n"))
    );
    html += "<p id=\"image-check\">image check: not run</p>\n<script>\n\
        window.addEventListener('load', function () {\n\
          var imgs = document.images, ok = 0, bad = 0;\n\
          for (var i = 0; i < imgs.length; i++) {\n\
            if (imgs[i].complete && imgs[i].naturalWidth > 0) { ok++; } else { bad++; }\n\
          }\n\
          var p = document.getElementById('image-check');\n\
          p.setAttribute('data-loaded', ok); p.setAttribute('data-failed', bad);\n\
          p.textContent = 'image check: ' + ok + ' loaded, ' + bad + ' failed';\n\
        });\n</script>\n</body></html>\n";
    write_file(&out.join("index.html"), html.as_bytes())?;
    let images: Vec<String> = sections.iter().flat_map(|s| s.images.clone()).collect();
    let report = json!({ "out": out, "images": images, "results": all });
    write_file(
        &out.join("report.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    let mut text = format!("report written to {}\n", out.join("index.html").display());
    for s in &sections {
        let _ = writeln!(text, "- {}: {}", s.title, s.images.join(", "));
    }
    Ok(Output { json: report, text })
}

/// Writes `bytes` to `path`; an error names the file.
fn write_file(path: &Path, bytes: &[u8]) -> Res<()> {
    std::fs::write(path, bytes)
        .map_err(|e| failure(ErrorKind::Io, format!("{}: {e}", path.display())))
}

struct LinesFigure<'a>(Lines<'a>);

impl Figure for LinesFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (900, 540)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        self.0.draw(root)
    }
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn html_special_characters_are_escaped() {
        assert_eq!(
            esc("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(esc("a&b\"'"), "a&amp;b&quot;&#39;");
        assert_eq!(esc("m4f, σ′ ≤ 0.25"), "m4f, σ′ ≤ 0.25");
    }
}
