//! Numbers as log text: integers only, so that `core::fmt` on the host and defmt on the
//! device print exactly the same characters (defmt's decoder formats floats with `ryu`,
//! `core::fmt` with its own algorithm: they disagree on e.g. `1.0` vs `1`).
//!
//! Every conversion is plain IEEE arithmetic plus `libm`, so it gives the same digits on
//! every target.

use core::fmt;

/// A non-negative value with six decimals: `int.frac` (`frac` < 1,000,000).
///
/// defmt: `{=u32}.{=u32:06}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fixed6 {
    /// Integer part.
    pub int: u32,
    /// Millionths.
    pub frac: u32,
}

impl Fixed6 {
    /// Rounds `x` to six decimals; negative or NaN becomes 0, huge saturates.
    pub fn new(x: f32) -> Self {
        let v = libm::round(f64::from(x) * 1e6);
        let v = if v.is_nan() || v < 0.0 {
            0
        } else if v > 4.0e15 {
            4_000_000_000_000_000
        } else {
            v as u64
        };
        Fixed6 {
            int: (v / 1_000_000).min(u64::from(u32::MAX)) as u32,
            frac: (v % 1_000_000) as u32,
        }
    }
}

impl fmt::Display for Fixed6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}", self.int, self.frac)
    }
}

/// A fraction `num / den` shown as a percentage with one decimal, rounded down:
/// `int.tenth`.
///
/// defmt: `{=u16}.{=u8}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Percent {
    /// Whole percent.
    pub int: u16,
    /// Tenths of a percent.
    pub tenth: u8,
}

impl Percent {
    /// `num / den` (0 for `den == 0`).
    pub fn of(num: u32, den: u32) -> Self {
        let permille = if den == 0 {
            0
        } else {
            u64::from(num) * 1000 / u64::from(den)
        };
        Percent {
            int: (permille / 10).min(u64::from(u16::MAX)) as u16,
            tenth: (permille % 10) as u8,
        }
    }
    /// From tenths of a percent (975 is 97.5 %).
    pub fn from_permille(permille: u32) -> Self {
        Percent {
            int: (permille / 10).min(u32::from(u16::MAX)) as u16,
            tenth: (permille % 10) as u8,
        }
    }
    /// Tenths of a percent in total (975 for 97.5 %).
    pub fn permille(self) -> u32 {
        u32::from(self.int) * 10 + u32::from(self.tenth)
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.int, self.tenth)
    }
}

/// A value in scientific notation with four significant digits: `[-]d.ddde<exp>`.
///
/// defmt: `{=str}{=u8}.{=u16:03}e{=i16}` with [`Sci::sign`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sci {
    /// Whether the value is negative.
    pub negative: bool,
    /// The leading digit (1–9; 0 only for zero).
    pub lead: u8,
    /// The next three digits.
    pub frac: u16,
    /// The decimal exponent.
    pub exp: i16,
}

impl Sci {
    /// Rounds `x` to four significant digits. Zero, NaN and ±∞ give `0.000e0`
    /// (the app only logs finite statistics).
    pub fn new(x: f64) -> Self {
        let zero = Sci {
            negative: false,
            lead: 0,
            frac: 0,
            exp: 0,
        };
        if !x.is_finite() || x == 0.0 {
            return zero;
        }
        let negative = x < 0.0;
        // Normalise to [1, 10) by exact-enough steps of 10 (no `pow`/`log10`: smaller code
        // on the device; IEEE arithmetic, so the same digits on every target).
        let mut a = libm::fabs(x);
        let mut exp: i32 = 0;
        while a >= 10.0 {
            a /= 10.0;
            exp += 1;
        }
        while a < 1.0 {
            a *= 10.0;
            exp -= 1;
        }
        let mut digits = libm::round(a * 1000.0);
        if digits >= 10_000.0 {
            digits = 1000.0;
            exp += 1;
        }
        let d = (digits as u32).clamp(1000, 9999);
        Sci {
            negative,
            lead: (d / 1000) as u8,
            frac: (d % 1000) as u16,
            exp: exp as i16,
        }
    }
    /// `"-"` for a negative value, else `""`.
    pub fn sign(&self) -> &'static str {
        if self.negative {
            "-"
        } else {
            ""
        }
    }
}

impl fmt::Display for Sci {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}.{:03}e{}",
            self.sign(),
            self.lead,
            self.frac,
            self.exp
        )
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn fixed_rounds_to_six_decimals() {
        assert_eq!(Fixed6::new(0.25).to_string(), "0.250000");
        assert_eq!(Fixed6::new(1.0).to_string(), "1.000000");
        assert_eq!(Fixed6::new(0.000_000_4).to_string(), "0.000000");
        assert_eq!(Fixed6::new(-3.0).to_string(), "0.000000");
    }

    #[test]
    fn percent_rounds_down_to_tenths() {
        assert_eq!(Percent::of(199, 200).to_string(), "99.5");
        assert_eq!(Percent::of(2, 3).to_string(), "66.6");
        assert_eq!(Percent::of(200, 200).permille(), 1000);
        assert_eq!(Percent::of(1, 0).to_string(), "0.0");
    }

    #[test]
    fn scientific_has_four_significant_digits() {
        assert_eq!(Sci::new(1.0).to_string(), "1.000e0");
        assert_eq!(Sci::new(0.001).to_string(), "1.000e-3");
        assert_eq!(Sci::new(-123_456.0).to_string(), "-1.235e5");
        assert_eq!(Sci::new(9.9996).to_string(), "1.000e1");
        assert_eq!(Sci::new(2.5e-7).to_string(), "2.500e-7");
        assert_eq!(Sci::new(0.0).to_string(), "0.000e0");
        assert_eq!(Sci::new(f64::NAN).to_string(), "0.000e0");
    }
}
