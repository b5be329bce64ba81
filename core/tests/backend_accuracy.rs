//! The numerical contract of each maths backend: maximum absolute and relative error of
//! every activation and its derivative over [-10, 10], against an f64 libm reference.
//! The measured table must match `core/docs/backend-accuracy.md` (the crate docs include
//! it): each documented figure is an upper bound within 2× of the measurement.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use microprop::{Activation, Libm, Math, Micromath};

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

fn documented() -> Vec<(String, [f64; 8])> {
    include_str!("../docs/backend-accuracy.md")
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| activation"))
        .map(|l| {
            let cells: Vec<&str> = l
                .split('|')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            let nums: Vec<f64> = cells[1..].iter().map(|c| c.parse().unwrap()).collect();
            (cells[0].to_string(), nums.try_into().unwrap())
        })
        .collect()
}

#[test]
fn backend_errors_match_the_documented_table() {
    let docs = documented();
    let mut table = String::from(
        "| activation | libm f abs | libm f rel | libm f' abs | libm f' rel | micromath f abs | micromath f rel | micromath f' abs | micromath f' rel |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut mismatches = Vec::new();
    for act in Activation::ALL.into_iter().filter(|a| a.is_elementwise()) {
        let (lf, ld) = measure::<Libm>(act);
        let (mf, md) = measure::<Micromath>(act);
        let got = [
            lf.abs, lf.rel, ld.abs, ld.rel, mf.abs, mf.rel, md.abs, md.rel,
        ];
        table.push_str(&format!(
            "| {} | {} |\n",
            act.name(),
            got.iter()
                .map(|v| format!("{:.1e}", round_up(*v)))
                .collect::<Vec<_>>()
                .join(" | ")
        ));
        match docs.iter().find(|(n, _)| n == act.name()) {
            Some((_, doc)) => {
                for (k, (&d, &g)) in doc.iter().zip(&got).enumerate() {
                    // Each documented figure bounds the measurement, and is within 2× of it
                    // (or both are at the rounding floor).
                    if g > d || (d > 2.0 * g && d > 1e-7) {
                        mismatches.push(format!(
                            "{} column {k}: documented {d:e}, measured {g:e}",
                            act.name()
                        ));
                    }
                }
            }
            None => mismatches.push(format!("{} missing from the table", act.name())),
        }
    }
    println!("{table}");
    assert!(
        mismatches.is_empty(),
        "update core/docs/backend-accuracy.md:\n{}\n\n{table}",
        mismatches.join("\n")
    );
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
