//! Experiment A (`landscape`) counted honestly, and experiment 8 (`gradcheck`): the V-curve
//! and a planted bug.

use std::collections::BTreeSet;
use std::process::Command;

use microprop_sim::{
    cli::LandscapeArgs,
    gradcheck::{self, SERIES},
    landscape, Ctx,
};

fn args(epochs: u32, attempts: u64) -> LandscapeArgs {
    LandscapeArgs {
        grid: 5,
        range: 10.0,
        epochs,
        lr: 1.0,
        spread: 1.0,
        init_scale: 4.0,
        seed: 1,
        attempts,
        center: (0.0, 0.0),
        zoom: false,
        plot: None,
    }
}

fn ctx() -> Ctx {
    Ctx { json: true }
}

/// Over start seeds and two configurations, the robustness check's counts (retries, seeds
/// that train without a retry, distinct nets) equal what training each seed on its own
/// gives, and every net below 90 % is reported as not trained.
#[test]
fn robustness_counts_equal_rerunning_each_seed() {
    let seeds = [1u64, 2, 3];
    let mut saw_untrained = false;
    for a in [args(1000, 3), args(150, 2)] {
        let rb = landscape::robustness(&a, &seeds, 5, &ctx()).unwrap();
        let last = seeds[seeds.len() - 1] + a.attempts;
        for (d, hidden) in [2usize, 9].into_iter().enumerate() {
            // Each seed on its own, no retries.
            let own: Vec<landscape::Attempt> = (seeds[0]..last)
                .map(|s| {
                    landscape::train_seed(hidden, &a, s, &ctx())
                        .unwrap()
                        .attempt
                })
                .collect();
            let at = |s: u64| &own[(s - seeds[0]) as usize];
            let mut measured = BTreeSet::new();
            for (i, &s) in seeds.iter().enumerate() {
                // The expected attempts: s, s + 1, … until one trains, at most `attempts`.
                let mut want = Vec::new();
                for k in 0..a.attempts {
                    want.push(at(s + k).clone());
                    if at(s + k).trained {
                        break;
                    }
                }
                assert_eq!(rb.attempts[i][d], want, "{hidden}-layer start seed {s}");
                for t in &want {
                    assert_eq!(t.trained, t.accuracy >= landscape::MIN_ACCURACY);
                }
                measured.insert(want.last().unwrap().weights_hash);
            }
            let trained_own = seeds.iter().filter(|&&s| at(s).trained).count();
            assert_eq!(rb.trained_without_retry[d], trained_own, "{hidden}-layer");
            assert_eq!(rb.distinct_nets[d], measured.len(), "{hidden}-layer");
            let j = rb.json();
            let key = ["two_layer", "nine_layer"][d];
            assert_eq!(j["distinct_nets"][key], measured.len());
            assert_eq!(j["trained_without_retry"][key], trained_own);
            for (i, p) in j["per_seed"].as_array().unwrap().iter().enumerate() {
                let n = &p[key];
                assert_eq!(n["retries"], rb.attempts[i][d].len() - 1);
                assert_eq!(n["trained"], rb.attempts[i][d].last().unwrap().trained);
                saw_untrained |= n["trained"] == false;
            }
        }
        assert!(rb.distinct_pairs <= seeds.len());
        assert!(rb.count_distinct(0) <= rb.distinct_pairs);
    }
    // The short configuration leaves some net untrained, so the path above was taken.
    assert!(saw_untrained, "no configuration left a net untrained");
}

/// A net that does not train is measured and reported as such (JSON status, text), with
/// every attempt; one that trains reports its retries.
#[test]
fn untrained_net_is_reported_not_as_a_plateau() {
    for (epochs, attempts) in [(20u32, 1u64), (20, 2)] {
        let a = args(epochs, attempts);
        let mut t = landscape::train(9, &a, &ctx()).unwrap();
        assert!(t.did_not_train(), "9 layers trained in {epochs} epochs");
        assert_eq!(t.attempts.len() as u64, attempts);
        let s = landscape::sweep(&mut t, "9-layer", (0.0, 0.0), 10.0, 5, &ctx()).unwrap();
        let j = landscape::surface_json(&s);
        assert_eq!(j["status"], "did_not_train");
        assert_eq!(j["did_not_train"], true);
        assert_eq!(j["retries"], attempts - 1);
        assert!(
            s.status_text().starts_with("did not train"),
            "{}",
            s.status_text()
        );
        assert!(j["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["trained"] == false));
    }
    // Seed 1's 9-layer net needs a retry at 1000 epochs (seed 2 trains): reported.
    let a = args(1000, 10);
    let own1 = landscape::train_seed(9, &a, 1, &ctx()).unwrap().attempt;
    let mut t = landscape::train(9, &a, &ctx()).unwrap();
    let s = landscape::sweep(&mut t, "9-layer", (0.0, 0.0), 10.0, 5, &ctx()).unwrap();
    let j = landscape::surface_json(&s);
    assert_eq!(j["retries"], t.attempts.len() - 1);
    assert_eq!(t.attempts[0], own1);
    assert_eq!(j["status"] == "trained", !s.did_not_train);
    if !own1.trained {
        assert!(s.status_text().contains("retr"), "{}", s.status_text());
    }
}

/// The colour scales are log10 over the surfaces' values, the window follows `--center`
/// and `--range`, the zoom is centred on the gradient peak with a finer step, and the
/// trained point is flagged outside a window that does not contain it.
#[test]
fn log_scale_zoom_and_window_are_applied() {
    for (center, range) in [((0.0, 0.0), 10.0f32), ((-3.0, 2.0), 4.0)] {
        let a = LandscapeArgs {
            grid: 9,
            center,
            range,
            zoom: true,
            seed: 3,
            ..args(1000, 10)
        };
        let m = landscape::measure(&a, &ctx()).unwrap();
        let j = landscape::measured_json(&a, &m);
        for key in ["two_layer", "nine_layer", "zoom"] {
            let n = &j[key];
            assert_eq!(n["colour_scale"]["loss"]["scale"], "log10");
            assert_eq!(n["colour_scale"]["grad"]["scale"], "log10");
        }
        for s in m.rows() {
            let (lo, hi) = s.loss_levels();
            let min = s
                .loss
                .iter()
                .flatten()
                .copied()
                .fold(f64::INFINITY, f64::min);
            let max = s.loss.iter().flatten().copied().fold(0.0, f64::max);
            assert!((lo - min.log10()).abs() < 1e-9 && (hi - max.log10()).abs() < 1e-9);
            let (glo, ghi) = s.grad_levels();
            assert!((ghi - s.peak_grad.log10()).abs() < 1e-9);
            assert!(ghi - glo <= landscape::GRAD_DECADES + 1e-9);
            assert!((0.0..=1.0).contains(&s.f32_unresolved_fraction));
        }
        let s9 = &m.surfaces[1];
        let step = 2.0 * f64::from(range) / 8.0;
        assert!((s9.step - step).abs() < 1e-12);
        assert!((s9.xs[0] - (center.0 - f64::from(range))).abs() < 1e-9);
        assert!((s9.ys[8] - (center.1 + f64::from(range))).abs() < 1e-9);
        assert_eq!(j["center"][0], center.0);
        let z = m.zoom.as_ref().unwrap();
        // Each zoom level: four of the last grid's steps over the same number of points.
        assert!((1..=landscape::MAX_ZOOMS).contains(&m.zoom_levels));
        let shrink = (4.0f64 / 8.0).powi(m.zoom_levels as i32);
        assert!((z.range - 2.0 * s9.step * shrink / 0.5).abs() < 1e-9);
        assert!((z.step - s9.step * shrink).abs() < 1e-9);
        assert!(z.band_resolved() || m.zoom_levels == landscape::MAX_ZOOMS);
        if m.zoom_levels == 1 {
            assert_eq!(z.center, s9.peak_at);
        }
        assert_eq!(j["zoom_levels"], m.zoom_levels);
        assert_eq!(j["zoom"]["step"], z.step);
        let inside = |s: &landscape::Surface| {
            (s.trained.0 - s.center.0).abs() <= s.range + s.step / 2.0
                && (s.trained.1 - s.center.1).abs() <= s.range + s.step / 2.0
        };
        for s in m.rows() {
            assert_eq!(s.trained_in_window, inside(s));
        }
    }
    // A window far from the trained point.
    let a = LandscapeArgs {
        center: (50.0, 50.0),
        range: 1.0,
        grid: 3,
        ..args(100, 1)
    };
    let m = landscape::measure(&a, &ctx()).unwrap();
    assert!(m.surfaces.iter().all(|s| !s.trained_in_window));
}

#[test]
fn bad_center_is_a_usage_error() {
    for bad in ["1", "1,2,3", "a,b", "inf,0"] {
        let out = Command::new(env!("CARGO_BIN_EXE_microprop-sim"))
            .args(["landscape", "--grid", "3", "--epochs", "0", "--center", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--center {bad}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--center"));
    }
}

/// The V-curve has its V over several seeds: truncation error on the right (falling
/// with h as the rule's order), rounding error on the left, f64's minimum far below
/// f32's and at a smaller h.
#[test]
fn v_curve_shows_truncation_and_rounding() {
    for seed in [3u64, 7, 11] {
        let v = gradcheck::vcurve(seed).unwrap();
        let h = &v.h;
        assert!(h[0] >= 0.09 && h[h.len() - 1] <= 1.1e-10);
        for name in SERIES {
            let e = v.get(name);
            let (bh, be) = v.best(name);
            // A V: both ends well above the bottom.
            assert!(
                e[0] > 10.0 * be && e[e.len() - 1] > 10.0 * be,
                "{name} seed {seed}"
            );
            assert!(bh < h[0] && bh > h[h.len() - 1]);
        }
        let (h32, e32) = v.best(SERIES[0]);
        let (h64, e64) = v.best(SERIES[1]);
        assert!(e64 < 1e-3 * e32 && h64 < h32, "seed {seed}");
        // Near the theory's ε^(1/3) (within a factor 10).
        assert!((h64 / f64::EPSILON.cbrt()).log10().abs() < 1.0, "{h64}");
        assert!(
            (h32 / f64::from(f32::EPSILON).cbrt()).log10().abs() < 1.0,
            "{h32}"
        );
        // Five-point beats central in f64 and needs a larger step.
        let (h5, e5) = v.best(SERIES[3]);
        assert!(e5 < e64 && h5 > h64);
        // Right arm: slope ≈ 2 (central) and ≈ 4 (five-point) per decade of h, f64, over
        // h = 1e-2 → 1e-3 (indices 4 and 8).
        let slope = |s: &str| (v.get(s)[4] / v.get(s)[8]).log10();
        assert!((slope(SERIES[1]) - 2.0).abs() < 0.5, "{}", slope(SERIES[1]));
        assert!((slope(SERIES[3]) - 4.0).abs() < 0.7, "{}", slope(SERIES[3]));
        let j = v.json();
        assert_eq!(j["h"].as_array().unwrap().len(), h.len());
        assert_eq!(j["rel_error_f32"].as_array().unwrap().len(), h.len());
        assert_eq!(j["best_h"]["f64"]["h"], h64);
    }
}

/// The planted bug (a wrong sign or factor in one layer's weight gradient) is caught:
/// exactly that layer's parameters are flagged far above the threshold while the clean
/// gradient passes, over layers, factors and seeds.
#[test]
fn planted_bug_is_caught() {
    for (layer, factor, seed) in [(0usize, -1.0, 7u64), (1, 2.0, 3), (2, 0.5, 11)] {
        let b = gradcheck::planted_bug(layer, factor, 1e-4, seed).unwrap();
        assert!(
            b.clean_max() < gradcheck::THRESHOLD,
            "clean {}",
            b.clean_max()
        );
        assert!(b.caught(), "layer {layer} × {factor}");
        let flagged = b.flagged();
        assert_eq!(flagged, b.planted, "layer {layer}");
        for &j in &b.planted {
            assert!(
                b.buggy[j] > 1e3 * gradcheck::THRESHOLD,
                "param {j}: {}",
                b.buggy[j]
            );
        }
        assert_eq!(b.json()["caught"], true);
    }
    assert!(gradcheck::planted_bug(9, -1.0, 1e-4, 7).is_err());
}
