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
use serde_json::json;

use crate::{
    activations, centring,
    cli::{
        DatasetArg, DemoArgs, HiddenAct, InitArg, LandscapeArgs, LossArg, MathArg, OptimizerArg,
        OutputAct, PreprocessArg, ReportArgs, Sizes, TrainArgs, ZigzagArgs,
    },
    ctx::{failure, ErrorKind},
    dead_relu, gradcheck, init_stats, landscape, plot, train, vanishing, zigzag, Ctx, Output, Res,
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
        l2: 0.0,
        math: MathArg::Libm,
        scalar: crate::cli::ScalarArg::F32,
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

/// An experiment's report section: figures written into the directory, the section and its JSON.
type SectionFn = fn(&Path, &Ctx, bool) -> Res<(Section, serde_json::Value)>;

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
             updates, {} steps. Grey: the loss contours ½E[(ŷ − y)²] (ellipses stretched along the direction the \
             positive inputs cannot move in directly). <b>What to look for:</b> on the left every segment of the path \
             runs up-right or down-left (staircase), on the right the path heads straight for the red cross.",
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

    // 4. Convergence by activation, over seeds (the section is convergence's).
    let (sec, cj) = crate::convergence::section(out, ctx, q)?;
    sections.push(sec);
    all.insert("convergence".into(), cj);

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
             95 % after {} epoch(s), {} parameters, {} bytes of weights, {:.0} ns per optimizer step of 8 samples on this host. \
             Points: the training samples in their class's colour; background: the predicted probability of class 1 \
             (blue 0, red 1). <b>What to look for:</b> the boundary (the pale band where the colours meet) passes between \
             the clusters, and every point sits on the background of its own colour.",
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
    let width = if q { 50 } else { 100 };
    let runs = init_stats::runs(width, 10, if q { 200 } else { 500 }, 11, ctx)?;
    init_stats::save(&runs, &out.join("init.png"))?;
    sections.push(Section {
        title: "Weight initialisation (lecture 6)".into(),
        images: vec![
            "init.png".into(),
            "init-tanh.png".into(),
            "init-relu.png".into(),
        ],
        text: init_text(&runs, width),
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
            "Each activation f (blue) and its derivative df/dz (red) over z in [−5, 5], then the cost of one forward \
             element on a log axis. <b>What to look for:</b> where df/dz is near 0 (the saturated tails of sigmoid and \
             tanh, ReLU's negative side) a unit passes almost no gradient back; the exponential functions cost ten to a \
             hundred times ReLU. On this host a sigmoid costs {sl:.1} ns per element with libm and \
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

    // 10. Beyond the notes: batch norm, babysitting, learning rates, schedules, optimizer
    // paths, regularisation, random search (each section its module's).
    for (key, section) in [
        ("bn_hist", crate::bn_hist::section as SectionFn),
        ("babysit", crate::babysit::section),
        ("lr_sweep", crate::lr_sweep::section),
        ("schedules", crate::schedules::section),
        ("optimizers", crate::optimizers::section),
        ("overfit", crate::overfit::section),
        ("search", crate::search::section),
    ] {
        let (sec, j) = section(out, ctx, q)?;
        sections.push(sec);
        all.insert(key.into(), j);
    }

    // 11. The demo's log (what the firmware prints).
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
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>microprop: the notes, reproduced and measured</title>\n<style>\n",
    );
    html += STYLE;
    html += "</style></head><body>\n<nav id=\"toc\"><b>Contents</b>\n<!--toc-->\n</nav>\n<main>\n\
         <h1 id=\"top\">microprop: the notes, reproduced and measured</h1>\n\
         <p>Every figure below was produced by <code>microprop-sim report</code> on the core's own arithmetic \
         (the same kernels the microcontroller runs). Each paragraph quotes the numbers of this run and ends \
         its description with what to look for; <a href=\"report.json\">report.json</a> has them all. Click a \
         figure to open it at full size.</p>\n";
    for s in &sections {
        let _ = write!(html, "<h2>{}</h2>\n<p>{}</p>\n", esc(&s.title), s.text);
        html += &figures(out, &s.images);
    }
    let _ = write!(
        html,
        "<h2>The firmware's application on the host</h2>\n<p><code>microprop-sim demo</code> runs the board-independent \
         application with a simulated LED, delay and cycle counter and prints the firmware's log lines; the weights hashes \
         must equal those the firmware logs under QEMU. <b>What to look for:</b> each net's loss falling epoch by epoch, \
         the 9-deep sigmoid net's gradient norms shrinking toward layer 1 and staying near 50 % accuracy, the same \
         net with batch norm learning.</p>\n<details><summary>the log ({} lines)</summary><pre>{}</pre></details>\n",
        demo_lines.len(),
        esc(&demo_lines.join("\n"))
    );
    html += "<p class=\"top\"><a href=\"#top\">↑ back to top</a></p>\n</main>\n";
    html += "<p id=\"image-check\">image check: not run</p>\n<script>\n\
        window.addEventListener('load', function () {\n\
          var imgs = document.images, ok = 0, bad = 0;\n\
          for (var i = 0; i < imgs.length; i++) {\n\
            if (imgs[i].complete && imgs[i].naturalWidth > 0) { ok++; } else { bad++; }\n\
          }\n\
          var p = document.getElementById('image-check');\n\
          p.setAttribute('data-loaded', ok); p.setAttribute('data-failed', bad);\n\
          p.setAttribute('data-height', document.documentElement.scrollHeight);\n\
          p.textContent = 'image check: ' + ok + ' loaded, ' + bad + ' failed';\n\
        });\n</script>\n</body></html>\n";
    let html = with_contents(&html);
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

/// The page's style: a sticky table of contents beside the sections, figures side by side
/// where there is room (a figure wider than [`WIDE`] pixels gets a row of its own).
const STYLE: &str = "body{font-family:sans-serif;color:#222;margin:0 auto;max-width:1600px;\
    display:grid;grid-template-columns:230px minmax(0,1fr);gap:1.5em;padding:0 1em}\
    nav{position:sticky;top:0;align-self:start;max-height:100vh;overflow-y:auto;font-size:13px;\
    padding:1em 0;line-height:1.35}nav ol{padding-left:2.1em;margin:.4em 0}nav li{margin:.25em 0}\
    main{min-width:0;max-width:1320px}h2{margin-top:1.6em;border-top:1px solid #ddd;padding-top:.6em}\
    p{line-height:1.45;max-width:75em;font-size:15px}\
    .figs{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-start}\
    .figs a{flex:0 1 auto;max-width:calc(50% - 5px)}.figs a.wide,.figs a.solo{max-width:100%}\
    .figs img{display:block;max-width:100%;max-height:760px;width:auto;height:auto;border:1px solid #ddd}\
    table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:1px 6px}\
    pre{background:#f6f6f6;padding:.6em;font-size:12px;overflow-x:auto;max-height:30em}\
    .top{font-size:12px;text-align:right}#image-check{font-size:12px;color:#666}\
    @media (max-width:900px){body{display:block}nav{position:static;max-height:none}}\n";

/// A figure at least this many pixels wide gets a row of its own on the page.
pub const WIDE: u32 = 1300;

/// The width in pixels of the PNG at `path` (from its header), if it is one.
pub fn png_width(path: &Path) -> Option<u32> {
    let b = std::fs::read(path).ok()?;
    (b.len() >= 24 && b[..8] == *b"\x89PNG\r\n\x1a\n")
        .then(|| u32::from_be_bytes([b[16], b[17], b[18], b[19]]))
}

/// A section's figures as HTML: side by side in one flex row, each a link to the file at
/// full size (never shown larger than it is); a figure [`WIDE`] or wider, or the only one
/// of its section, may take the whole row, the others half of it.
fn figures(out: &Path, images: &[String]) -> String {
    let mut h = String::from("<div class=\"figs\">\n");
    for img in images {
        let wide = png_width(&out.join(img)).is_some_and(|w| w >= WIDE);
        let class = if images.len() == 1 {
            " class=\"solo\""
        } else if wide {
            " class=\"wide\""
        } else {
            ""
        };
        let img = esc(img);
        let _ = writeln!(
            h,
            "<a href=\"{img}\"{class}><img src=\"{img}\" alt=\"{img}\"></a>"
        );
    }
    h + "</div>\n"
}

/// An anchor for the heading `title`: lower-case letters and digits, the rest as single
/// dashes (`Vanishing gradients (notes §1)` → `vanishing-gradients-notes-1`).
pub fn slug(title: &str) -> String {
    let mut s = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.is_empty() && !s.ends_with('-') {
            s.push('-');
        }
    }
    while s.ends_with('-') {
        s.pop();
    }
    if s.is_empty() {
        s.push_str("section");
    }
    s
}

/// The page with an id on every `<h2>` (its [`slug`], made unique), a "back to top" link
/// before every heading but the first, and the table of contents (one link per heading) in
/// place of the `<!--toc-->` mark. Working on the finished page, it covers every section
/// whoever wrote it.
pub fn with_contents(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + 4096);
    let mut toc = String::from("<ol>\n");
    let mut used = std::collections::BTreeSet::new();
    let mut rest = html;
    let mut first = true;
    while let Some(i) = rest.find("<h2>") {
        let (before, after) = rest.split_at(i);
        out.push_str(before);
        let after = &after[4..];
        let end = after.find("</h2>").unwrap_or(after.len());
        let title = &after[..end];
        let plain = strip_tags(title);
        let base = slug(&plain);
        let mut id = base.clone();
        let mut n = 2;
        while !used.insert(id.clone()) {
            id = format!("{base}-{n}");
            n += 1;
        }
        if !first {
            out.push_str("<p class=\"top\"><a href=\"#top\">↑ back to top</a></p>\n");
        }
        first = false;
        let _ = write!(out, "<h2 id=\"{id}\">");
        let _ = writeln!(toc, "<li><a href=\"#{id}\">{title}</a></li>");
        rest = after;
    }
    out.push_str(rest);
    toc.push_str("</ol>");
    out.replacen("<!--toc-->", &toc, 1)
}

/// `s` without its HTML tags, entities decoded back to their characters.
fn strip_tags(s: &str) -> String {
    let mut t = String::new();
    let mut inside = false;
    for c in s.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            c if !inside => t.push(c),
            _ => {}
        }
    }
    t.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

/// The initialisation section's paragraph: each initialiser's σ, and for each net the std
/// of the first and last layer and the mean factor per layer, worded from the factor (kept
/// within ±5 % a layer, else shrinks or grows).
pub fn init_text(runs: &[init_stats::Run], width: usize) -> String {
    let get = |net: &str, init: &str| runs.iter().find(|r| r.net == net && r.init == init);
    let factor = |r: &init_stats::Run| {
        let (a, b) = (r.std[0], r.std[r.std.len() - 1]);
        if r.std.len() < 2 || a <= 0.0 || b <= 0.0 {
            f64::NAN
        } else {
            (b / a).powf(1.0 / (r.std.len() - 1) as f64)
        }
    };
    let word = |f: f64| {
        if !f.is_finite() {
            "collapses to 0"
        } else if f < 0.95 {
            "shrinks"
        } else if f > 1.05 {
            "grows"
        } else {
            "is kept"
        }
    };
    let describe = |net: &str, init: &str| {
        get(net, init).map_or_else(String::new, |r| {
            let f = factor(r);
            format!(
                "{}: {} at layer 1, {} at layer {} (× {} per layer)",
                word(f),
                plot::num(r.std[0]),
                plot::num(r.std[r.std.len() - 1]),
                r.std.len(),
                plot::num(f)
            )
        })
    };
    let layers = runs.first().map_or(0, |r| r.std.len());
    let xavier = 1.0 / (width as f64).sqrt();
    let he = (2.0 / width as f64).sqrt();
    let tanh_xavier = get("tanh", "xavier").map_or(f64::NAN, factor);
    let relu_xavier = get("relu", "xavier").map_or(f64::NAN, factor);
    format!(
        "Standard-normal inputs through {layers} layers of width {width} (fan_in = {width}) without biases, one \
         initialiser per line: small N(0, 0.01²), large N(0, 1), Xavier σ = 1/√fan_in = {}, He σ = √(2/fan_in) = {}. \
         <b>What to look for:</b> a line that stays level keeps the signal's scale; one that falls toward 0 (or \
         stays at 1 for tanh: saturation) does not, and the histograms show the shape behind each σ. Std of the \
         activations — tanh: small {}; large {}{}; Xavier {}; He {}. ReLU: small {}; large {}; \
         Xavier {}; He {}. Xavier's Var(w) = 1/fan_in keeps the pre-activation variance equal to the input's, \
         which preserves the activation variance only where tanh is near-linear (near 0): measured, the tanh std \
         {} ({} per layer). ReLU zeroes half of its inputs, so under Xavier the variance should halve at every layer \
         and the std shrink by 1/√2 ≈ 0.71 a layer: measured {} per layer{}; He's factor 2 in the variance is meant to \
         compensate: measured {} per layer.",
        plot::num(xavier),
        plot::num(he),
        describe("tanh", "small"),
        describe("tanh", "large"),
        if get("tanh", "large").is_some_and(|r| r.std.last().is_some_and(|&v| v > 0.8)) {
            " (an std near 1 for values bounded by ±1: most units saturated)"
        } else {
            ""
        },
        describe("tanh", "xavier"),
        describe("tanh", "he"),
        describe("relu", "small"),
        describe("relu", "large"),
        describe("relu", "xavier"),
        describe("relu", "he"),
        if (tanh_xavier - 1.0).abs() <= 0.05 {
            "is kept"
        } else if tanh_xavier < 1.0 {
            "still shrinks slowly"
        } else {
            "grows"
        },
        plot::num(tanh_xavier),
        plot::num(relu_xavier),
        if (relu_xavier - std::f64::consts::FRAC_1_SQRT_2).abs() <= 0.1 {
            " (as predicted)"
        } else {
            " (not what the halving predicts)"
        },
        plot::num(get("relu", "he").map_or(f64::NAN, factor)),
    )
}

/// Writes `bytes` to `path`; an error names the file.
fn write_file(path: &Path, bytes: &[u8]) -> Res<()> {
    std::fs::write(path, bytes)
        .map_err(|e| failure(ErrorKind::Io, format!("{}: {e}", path.display())))
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
