//! Serde for the core's plain enums by their names (`Display` out, `FromStr` in), as a
//! field attribute: `#[serde(with = "crate::named")]`.

use std::fmt::Display;
use std::str::FromStr;

use serde::{de::Error, Deserialize, Deserializer, Serializer};

/// Writes `value`'s name.
///
/// # Errors
/// The serializer's.
pub fn serialize<T: Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// Reads a name.
///
/// # Errors
/// The deserializer's, or the name's parse error.
pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
where
    T: FromStr,
    T::Err: Display,
    D: Deserializer<'de>,
{
    let name = String::deserialize(d)?;
    name.parse()
        .map_err(|e| D::Error::custom(format!("`{name}`: {e}")))
}
