//! Random hyper-parameter search in log space (Bergstra & Bengio: random beats grid when
//! few hyper-parameters matter).

use rand_core::RngCore;

use crate::{Error, Result};

/// A range sampled uniformly in log space: `exp(U[ln lo, ln hi])`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LogRange {
    /// Smallest value (> 0).
    pub lo: f64,
    /// Largest value (≥ lo).
    pub hi: f64,
}

impl LogRange {
    fn validate(self) -> Result<Self> {
        if self.lo.is_finite() && self.hi.is_finite() && self.lo > 0.0 && self.hi >= self.lo {
            Ok(self)
        } else {
            Err(Error::InvalidHyperParameter(
                "search range must be 0 < lo <= hi",
            ))
        }
    }
    fn sample<R: RngCore + ?Sized>(&self, rng: &mut R) -> f64 {
        let (a, b) = (libm::log(self.lo), libm::log(self.hi));
        libm::exp(crate::rng::uniform(rng, a, b))
    }
}

/// Whether a larger score is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Goal {
    /// Larger is better (accuracy).
    Maximize,
    /// Smaller is better (loss, epochs to a target).
    Minimize,
}

/// One trial of a search.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Trial {
    /// The learning rate tried.
    pub lr: f64,
    /// The regularisation strength tried (0 when not searched).
    pub reg: f64,
    /// The objective's score, `None` if the trial failed (e.g. diverged).
    pub score: Option<f64>,
}

/// A random search over the learning rate and, optionally, a regularisation strength.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RandomSearch {
    lr: LogRange,
    reg: Option<LogRange>,
    seed: u64,
}

impl RandomSearch {
    /// Learning rates from `lr`, strengths from `reg` (`None`: always 0), both log-uniform,
    /// drawn from a generator seeded with `seed` (same seed, same trials).
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] for a range that is not `0 < lo ≤ hi`.
    pub fn new(lr: LogRange, reg: Option<LogRange>, seed: u64) -> Result<Self> {
        Ok(RandomSearch {
            lr: lr.validate()?,
            reg: reg.map(LogRange::validate).transpose()?,
            seed,
        })
    }

    /// Runs one trial per slot of `trials` (the fixed budget): draws `(lr, reg)`, calls
    /// `objective(lr, reg)` and records the score (an `Err` is recorded as a failed trial,
    /// and the search goes on). Returns the index of the best trial by `goal`, `None` if
    /// every trial failed. Trials are drawn in order, so a budget of `n` repeats the first
    /// `n` trials of a larger budget with the same seed.
    pub fn run<F: FnMut(f64, f64) -> Result<f64>>(
        &self,
        trials: &mut [Trial],
        goal: Goal,
        mut objective: F,
    ) -> Option<usize> {
        let mut rng = crate::rng(self.seed);
        let mut best: Option<(usize, f64)> = None;
        for (i, t) in trials.iter_mut().enumerate() {
            let lr = self.lr.sample(&mut rng);
            let reg = self.reg.map_or(0.0, |r| r.sample(&mut rng));
            let score = objective(lr, reg).ok().filter(|s| !s.is_nan());
            *t = Trial { lr, reg, score };
            if let Some(s) = score {
                let better = match (best, goal) {
                    (None, _) => true,
                    (Some((_, b)), Goal::Maximize) => s > b,
                    (Some((_, b)), Goal::Minimize) => s < b,
                };
                if better {
                    best = Some((i, s));
                }
            }
        }
        best.map(|(i, _)| i)
    }
}
