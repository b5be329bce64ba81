//! Embeds Fisher's iris data (`../data/iris/iris.csv`) as constants for the fine-tuning
//! program: `$OUT_DIR/iris.rs` holds `IRIS_X` (150 × 4 features, cm) and `IRIS_Y` (the
//! species, 0..=2). The device gets numbers, not a CSV parser. A malformed file fails the
//! build naming the line.

use std::fmt::Write as _;
use std::{env, fs, path::PathBuf};

const CSV: &str = "../data/iris/iris.csv";

fn main() {
    println!("cargo:rerun-if-changed={CSV}");
    println!("cargo:rerun-if-changed=build.rs");
    let text = match fs::read_to_string(CSV) {
        Ok(t) => t,
        Err(e) => {
            println!("cargo::error=cannot read {CSV}: {e}");
            return;
        }
    };
    let mut x = String::new();
    let mut y = String::new();
    let mut rows = 0usize;
    for (n, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let num = |v: &str| v.parse::<f32>().ok().filter(|v| v.is_finite());
        let parsed = match fields[..] {
            [a, b, c, d, s] => match (num(a), num(b), num(c), num(d), s.parse::<u8>()) {
                (Some(a), Some(b), Some(c), Some(d), Ok(s)) if s < 3 => Some(([a, b, c, d], s)),
                _ => None,
            },
            _ => None,
        };
        let Some(([a, b, c, d], s)) = parsed else {
            println!(
                "cargo::error={CSV}:{}: expected 4 finite numbers and a species 0..=2, found `{line}`",
                n + 1
            );
            return;
        };
        let _ = writeln!(x, "    [{a:?}, {b:?}, {c:?}, {d:?}],");
        let _ = write!(y, "{s}, ");
        rows += 1;
    }
    let out = format!(
        "/// Rows of Fisher's iris data.\npub const IRIS_ROWS: usize = {rows};\n\
         /// Sepal length, sepal width, petal length, petal width (cm), one row per flower.\n\
         pub const IRIS_X: [[f32; 4]; IRIS_ROWS] = [\n{x}];\n\
         /// Species: 0 setosa, 1 versicolor, 2 virginica.\n\
         pub const IRIS_Y: [u8; IRIS_ROWS] = [{y}];\n"
    );
    let path = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default()).join("iris.rs");
    if let Err(e) = fs::write(&path, out) {
        println!("cargo::error=cannot write {}: {e}", path.display());
    }
}
