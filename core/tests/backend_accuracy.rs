//! The numerical contract of each maths backend: maximum absolute and relative error of
//! every activation and its derivative over [-10, 10], and of the exponentials `exp` and
//! `exp_m1` over the inputs the activations give them, against an f64 libm reference.
//! The measured tables must match `core/docs/backend-accuracy.md` (the crate docs include
//! it): each documented figure is an upper bound within 2× of the measurement.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use microprop::{Activation, Fast, Libm, Math, Micromath};

const POINTS: usize = 200_001;

#[derive(Default, Clone, Copy)]
struct Err {
    abs: f64,
    rel: f64,
}

impl Err {
    fn add(&mut self, got: f32, want: f64) {
        let e = (f64::from(got) - want).abs();
        self.abs = self.abs.max(e);
        // Relative error where the reference is not tiny (near a zero crossing any
        // absolute error is an unbounded relative one).
        if want.abs() >= 1e-3 {
            self.rel = self.rel.max(e / want.abs());
        }
    }
}

fn measure<M: Math<f32>>(act: Activation) -> (Err, Err) {
    let (mut f, mut d) = (Err::default(), Err::default());
    let reference = act.cast::<f64>();
    for i in 0..POINTS {
        let x = -10.0 + 20.0 * i as f64 / (POINTS - 1) as f64;
        let x32 = x as f32;
        let x = f64::from(x32);
        let want = reference.forward::<Libm>(x);
        let want_d = reference.derivative::<Libm>(x, want);
        let got = act.forward::<M>(x32);
        let got_d = act.derivative::<M>(x32, got);
        f.add(got, want);
        d.add(got_d, want_d);
    }
    (f, d)
}

/// The rows of the documented table whose header starts with `| {first_column} |`.
fn documented(first_column: &str) -> Vec<(String, Vec<f64>)> {
    include_str!("../docs/backend-accuracy.md")
        .lines()
        .skip_while(|l| !l.starts_with(&format!("| {first_column} |")))
        .skip(1)
        .take_while(|l| l.starts_with('|'))
        .filter(|l| l.starts_with("| "))
        .map(|l| {
            let cells: Vec<&str> = l
                .split('|')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            let nums: Vec<f64> = cells[1..].iter().map(|c| c.parse().unwrap()).collect();
            (cells[0].to_string(), nums)
        })
        .collect()
}

/// Checks one measured row against the documented one: each documented figure bounds the
/// measurement, and is within 2× of it (or both are at the rounding floor).
fn check_row(docs: &[(String, Vec<f64>)], name: &str, got: &[f64], mismatches: &mut Vec<String>) {
    match docs.iter().find(|(n, _)| n == name) {
        Some((_, doc)) if doc.len() == got.len() => {
            for (k, (&d, &g)) in doc.iter().zip(got).enumerate() {
                if g > d || (d > 2.0 * g && d > 1e-7) {
                    mismatches.push(format!(
                        "{name} column {k}: documented {d:e}, measured {g:e}"
                    ));
                }
            }
        }
        Some((_, doc)) => mismatches.push(format!(
            "{name}: {} documented columns, {} measured",
            doc.len(),
            got.len()
        )),
        None => mismatches.push(format!("{name} missing from the table")),
    }
}

/// A measured row as the table prints it (every figure rounded up).
fn row(name: &str, got: &[f64]) -> String {
    format!(
        "| {name} | {} |\n",
        got.iter()
            .map(|v| format!("{:.1e}", round_up(*v)))
            .collect::<Vec<_>>()
            .join(" | ")
    )
}

#[test]
fn backend_errors_match_the_documented_table() {
    let docs = documented("activation");
    let mut table = String::from(
        "| activation | libm f abs | libm f rel | libm f' abs | libm f' rel | micromath f abs | micromath f rel | micromath f' abs | micromath f' rel | fast f abs | fast f rel | fast f' abs | fast f' rel |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut mismatches = Vec::new();
    for act in Activation::ALL.into_iter().filter(|a| a.is_elementwise()) {
        let (lf, ld) = measure::<Libm>(act);
        let (mf, md) = measure::<Micromath>(act);
        let (ff, fd) = measure::<Fast>(act);
        let got = [
            lf.abs, lf.rel, ld.abs, ld.rel, mf.abs, mf.rel, md.abs, md.rel, ff.abs, ff.rel, fd.abs,
            fd.rel,
        ];
        table.push_str(&row(act.name(), &got));
        check_row(&docs, act.name(), &got, &mut mismatches);
    }
    println!("{table}");
    assert!(
        mismatches.is_empty(),
        "update core/docs/backend-accuracy.md:\n{}\n\n{table}",
        mismatches.join("\n")
    );
}

/// The inputs of the exponentials table: the activation sweep's [-10, 0] (what ELU gives
/// `exp_m1` and its derivative `exp`; sigmoid and softmax only exponentiate numbers ≤ 0
/// too), then ±10^(k/10) for every k in -380..=0, down to f32's smallest normal
/// magnitudes, where `exp(x) − 1` cancels.
fn exp_inputs() -> Vec<f32> {
    let mut xs: Vec<f32> = (0..POINTS)
        .map(|i| (-10.0 + 20.0 * i as f64 / (POINTS - 1) as f64) as f32)
        .filter(|&x| x <= 0.0)
        .collect();
    for k in -380..=0 {
        let m = 10f64.powf(f64::from(k) / 10.0) as f32;
        xs.extend([m, -m]);
    }
    xs
}

/// Maximum absolute error and relative error (at every nonzero reference: the point of
/// `exp_m1` is relative accuracy near 0) of `f` against the f64 `reference`.
fn measure_fn(f: impl Fn(f32) -> f32, reference: impl Fn(f64) -> f64) -> Err {
    let mut e = Err::default();
    for x in exp_inputs() {
        let (got, want) = (f64::from(f(x)), reference(f64::from(x)));
        let d = (got - want).abs();
        e.abs = e.abs.max(d);
        if want != 0.0 {
            e.rel = e.rel.max(d / want.abs());
        }
    }
    e
}

#[test]
fn exponential_errors_match_the_documented_table() {
    let docs = documented("function");
    let mut table = String::from(
        "| function | libm abs | libm rel | micromath abs | micromath rel | fast abs | fast rel |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut mismatches = Vec::new();
    let rows: [(&str, [Err; 3]); 2] = [
        (
            "exp",
            [
                measure_fn(<Libm as Math<f32>>::exp, libm::exp),
                measure_fn(<Micromath as Math<f32>>::exp, libm::exp),
                measure_fn(<Fast as Math<f32>>::exp, libm::exp),
            ],
        ),
        (
            "exp_m1",
            [
                measure_fn(<Libm as Math<f32>>::exp_m1, libm::expm1),
                measure_fn(<Micromath as Math<f32>>::exp_m1, libm::expm1),
                measure_fn(<Fast as Math<f32>>::exp_m1, libm::expm1),
            ],
        ),
    ];
    for (name, [l, m, f]) in rows {
        let got = [l.abs, l.rel, m.abs, m.rel, f.abs, f.rel];
        table.push_str(&row(name, &got));
        check_row(&docs, name, &got, &mut mismatches);
    }
    println!("{table}");
    assert!(
        mismatches.is_empty(),
        "update core/docs/backend-accuracy.md:\n{}\n\n{table}",
        mismatches.join("\n")
    );
}

/// `exp_m1` is relatively accurate where `exp(x) − 1` is all rounding error, and equals
/// `x` for tiny `x` (as `e^x − 1` does to within f32's precision).
#[test]
fn exp_m1_is_relatively_accurate_near_zero() {
    for x in [-1e-30f32, 1e-30, -1e-20, -1e-10, -3e-8, 1e-7, -1e-5, -1e-3] {
        let want = libm::expm1(f64::from(x));
        for (name, got, tol) in [
            ("libm", <Libm as Math<f32>>::exp_m1(x), 1.2e-7),
            ("micromath", <Micromath as Math<f32>>::exp_m1(x), 2.4e-7),
        ] {
            let rel = ((f64::from(got) - want) / want).abs();
            assert!(
                rel <= tol,
                "{name} exp_m1({x:e}) = {got:e}, want {want:e}: rel {rel:e}"
            );
        }
        // What it replaces: e^x − 1 loses everything below f32's ulp of 1.
        if x.abs() < 3e-8 {
            assert_eq!(<Libm as Math<f32>>::exp(x) - 1.0, 0.0);
        }
    }
    for x in [-1e-30f32, 1e-30, -1e-38, 0.0, -0.0] {
        assert_eq!(<Libm as Math<f32>>::exp_m1(x).to_bits(), x.to_bits());
        assert_eq!(<Micromath as Math<f32>>::exp_m1(x).to_bits(), x.to_bits());
    }
    assert_eq!(<Libm as Math<f64>>::exp_m1(-1e-300), -1e-300);
    // Far out it tends to −1 and never goes below it.
    for x in [-20.0f32, -88.0, -104.0, -1e30, f32::MIN] {
        for got in [
            <Libm as Math<f32>>::exp_m1(x),
            <Micromath as Math<f32>>::exp_m1(x),
        ] {
            assert!((-1.0..-0.99).contains(&got), "exp_m1({x}) = {got}");
        }
    }
}

/// Rounds up to two significant digits, so the table is an upper bound.
fn round_up(v: f64) -> f64 {
    if v == 0.0 {
        return 0.0;
    }
    let e = v.abs().log10().floor() - 1.0;
    let p = 10f64.powf(e);
    (v / p).ceil() * p
}

/// The libm backend is accurate to within a few f32 ulps everywhere it matters.
#[test]
fn libm_is_accurate() {
    for act in Activation::ALL.into_iter().filter(|a| a.is_elementwise()) {
        let (f, d) = measure::<Libm>(act);
        assert!(
            f.abs < 2e-6 && d.abs < 2e-6,
            "{}: {} {}",
            act.name(),
            f.abs,
            d.abs
        );
    }
}

/// Softmax outputs sum to one and never overflow, however large the logits.
#[test]
fn softmax_is_stable() {
    let z = [1e30f32, -1e30, 3.0e38, 0.0];
    let mut a = [0.0f32; 4];
    microprop::activation::softmax::<f32, Libm>(&z, &mut a);
    assert!(a.iter().all(|v| v.is_finite()));
    assert!((a.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    for act in Activation::ALL {
        for x in [f32::MAX, -f32::MAX, 1e20, -1e20, 88.8, -104.0, 0.0] {
            let y = act.forward::<Libm>(x);
            let yd = act.derivative::<Libm>(x, y);
            let ym = act.forward::<Micromath>(x);
            let ymd = act.derivative::<Micromath>(x, ym);
            // Identity, ReLU and friends pass ±MAX through; nothing becomes NaN.
            assert!(
                !y.is_nan() && !yd.is_nan() && !ym.is_nan() && !ymd.is_nan(),
                "{} at {x}",
                act.name()
            );
        }
    }
}

/// ELU near 0 is relatively accurate (`α·expm1(z)`, not `α·(e^z − 1)`, which is 0 for
/// `|z| < 3·10⁻⁸` in f32 and keeps only ~6·10⁻⁸ of absolute accuracy above that), and its
/// derivative far out is `α·e^z` from `z`, not `a + α` (which rounds to 0 in f32 once `a`
/// is within half an ulp of −α, at z ≈ −17).
#[test]
fn elu_is_relatively_accurate_near_zero_and_far_out() {
    fn check<M: Math<f32>>(tol_f: f64, tol_d: f64) {
        for alpha in [1.0f32, 0.7] {
            let elu = Activation::Elu(alpha);
            let alpha64 = f64::from(alpha);
            assert_eq!(elu.forward::<M>(-1e-30), -1e-30 * alpha, "{}", M::NAME);
            let mut zs: Vec<f32> = (-300..=0)
                .map(|k| -(10f64.powf(f64::from(k) / 10.0) as f32))
                .collect();
            zs.extend([-20.0, -30.0, -50.0, -80.0]);
            for z in zs {
                let a = elu.forward::<M>(z);
                let d = elu.derivative::<M>(z, a);
                let want = alpha64 * libm::expm1(f64::from(z));
                let want_d = alpha64 * libm::exp(f64::from(z));
                let rel = |got: f32, want: f64| ((f64::from(got) - want) / want).abs();
                assert!(
                    rel(a, want) <= tol_f,
                    "{} ELU({alpha})({z:e}) = {a:e}, want {want:e}",
                    M::NAME
                );
                assert!(
                    d > 0.0 && rel(d, want_d) <= tol_d,
                    "{} ELU'({alpha})({z:e}) = {d:e}, want {want_d:e}",
                    M::NAME
                );
            }
        }
        // The case: ELU'(−20) = e^−20 ≈ 2.06·10⁻⁹, not 0.
        let d =
            Activation::Elu(1.0).derivative::<M>(-20.0, Activation::Elu(1.0).forward::<M>(-20.0));
        assert!(
            ((f64::from(d) - (-20f64).exp()) / (-20f64).exp()).abs() <= tol_d,
            "{}: ELU'(−20) = {d:e}",
            M::NAME
        );
    }
    // Libm: expm1f and expf are within 1 ulp, times α (one more rounding).
    check::<Libm>(2.4e-7, 2.4e-7);
    // Micromath: its exp is within 2.4·10⁻³ relative (table above), and exp_m1 is exact to
    // 2 ulp near 0 (`exp_m1_is_relatively_accurate_near_zero`).
    check::<Micromath>(2.5e-3, 2.5e-3);
}
