//! Reservoir sampling (`microprop::replay`) is uniform: after a stream of `M` items into
//! `N` slots, every item is kept with probability `N / M`, whatever its position, and the
//! slots hold each item equally often.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_precision_loss
)]

use microprop::replay::Reservoir;

/// χ² of observed counts against a uniform expectation.
fn chi2(counts: &[u64], expected: f64) -> f64 {
    counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum()
}

/// Upper bound of a χ² with `k` degrees of freedom at p ≈ 10⁻⁴ (Wilson–Hilferty: mean
/// k, z = 3.72).
fn chi2_bound(k: f64) -> f64 {
    let z = 3.72;
    k * (1.0 - 2.0 / (9.0 * k) + z * (2.0 / (9.0 * k)).sqrt()).powi(3)
}

fn inclusion_counts<const N: usize>(m: u32, trials: u32, seed: u64) -> Vec<u64> {
    let mut counts = vec![0u64; m as usize];
    let mut rng = microprop::rng(seed);
    for _ in 0..trials {
        let mut r: Reservoir<u32, N> = Reservoir::new(u32::MAX);
        for i in 0..m {
            r.offer(i, &mut rng).unwrap();
        }
        assert_eq!(r.len(), N.min(m as usize));
        for &i in r.as_slice() {
            counts[i as usize] += 1;
        }
    }
    counts
}

#[test]
fn every_position_is_kept_with_probability_n_over_m() {
    for (m, seed) in [(100u32, 1u64), (257, 2), (1000, 3)] {
        let trials = 20_000;
        let counts = inclusion_counts::<16>(m, trials, seed);
        let expected = f64::from(trials) * 16.0 / f64::from(m);
        let x = chi2(&counts, expected);
        let bound = chi2_bound(f64::from(m - 1));
        assert!(x < bound, "m {m}: chi2 {x:.1} over {bound:.1}");
        // No drift with position: the first and the last tenth are kept as often.
        let tenth = (m / 10) as usize;
        let head: u64 = counts[..tenth].iter().sum();
        let tail: u64 = counts[counts.len() - tenth..].iter().sum();
        let ratio = head as f64 / tail as f64;
        assert!((0.95..1.05).contains(&ratio), "m {m}: head/tail {ratio:.3}");
        eprintln!(
            "m {m}: chi2 {x:.1} (bound {bound:.1}, {} dof), head/tail {ratio:.3}",
            m - 1
        );
    }
}

#[test]
fn a_biased_sampler_fails_the_same_test() {
    // The test can fail: keeping the newest N (a ring buffer) is far from uniform.
    let (m, n, trials) = (100u32, 16u32, 2_000u32);
    let mut counts = vec![0u64; m as usize];
    for _ in 0..trials {
        for i in m - n..m {
            counts[i as usize] += 1;
        }
    }
    let expected = f64::from(trials) * f64::from(n) / f64::from(m);
    assert!(chi2(&counts, expected) > chi2_bound(f64::from(m - 1)));
}

#[test]
fn slots_are_filled_uniformly_and_choose_is_uniform() {
    // Which slot the last item lands in, when it is kept: uniform over the N slots.
    let mut rng = microprop::rng(9);
    let mut slots = [0u64; 8];
    let mut chosen = [0u64; 8];
    for _ in 0..40_000 {
        let mut r: Reservoir<u8, 8> = Reservoir::new(0);
        let mut last = None;
        for i in 0..30u8 {
            last = Some(r.offer(i, &mut rng).unwrap());
        }
        if let Some(microprop::replay::Offer::Replaced(s)) = last {
            slots[s] += 1;
        }
        let c = *r.choose(&mut rng).unwrap();
        let at = r.as_slice().iter().position(|&x| x == c).unwrap();
        chosen[at] += 1;
    }
    let total: u64 = slots.iter().sum();
    // P(kept) = 8/30.
    let p = total as f64 / 40_000.0;
    assert!((p - 8.0 / 30.0).abs() < 0.01, "P(last kept) {p:.4}");
    assert!(
        chi2(&slots, total as f64 / 8.0) < chi2_bound(7.0),
        "{slots:?}"
    );
    assert!(
        chi2(&chosen, 40_000.0 / 8.0) < chi2_bound(7.0),
        "{chosen:?}"
    );
}

#[test]
fn a_restored_reservoir_continues_identically() {
    let mut a: Reservoir<u32, 8> = Reservoir::new(0);
    let mut rng = microprop::rng(4);
    for i in 0..50 {
        a.offer(i, &mut rng).unwrap();
    }
    let mut b: Reservoir<u32, 8> = Reservoir::new(0);
    b.restore(a.seen(), a.as_slice()).unwrap();
    let mut rb = rng.clone();
    for i in 50..500 {
        assert_eq!(a.offer(i, &mut rng).unwrap(), b.offer(i, &mut rb).unwrap());
    }
    assert_eq!(a, b);
}
