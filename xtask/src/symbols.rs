//! The function symbols of a firmware ELF (`llvm-nm`), demangled: the exact-count
//! plugin's marker addresses, the per-function profile of `cargo xtask bench-mcu`, and
//! the flash breakdown of `cargo xtask size --breakdown` (bytes of code by crate
//! ([`crate_of`], [`by_crate`]) and the largest functions).

use std::path::Path;
use std::process::Command;

use crate::util::{llvm_tool, output};

/// One text symbol of an ELF.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Symbol {
    /// Start address (the Thumb bit cleared).
    pub addr: u64,
    /// Size in bytes.
    pub size: u64,
    /// Demangled name, without the hash suffix.
    pub name: String,
}

/// The text symbols of an ELF, sorted by address.
pub fn symbols(image: &Path) -> Result<Vec<Symbol>, String> {
    let nm = llvm_tool("llvm-nm")?;
    let out = output(
        Command::new(nm)
            .args(["-S", "--defined-only", "--demangle", "-n"])
            .arg(image),
    )?;
    let mut syms: Vec<Symbol> = out
        .lines()
        .filter_map(|l| {
            let mut p = l.splitn(4, ' ');
            let (a, s, k, n) = (p.next()?, p.next()?, p.next()?, p.next()?);
            if !matches!(k, "t" | "T") {
                return None;
            }
            let addr = u64::from_str_radix(a, 16).ok()? & !1;
            let size = u64::from_str_radix(s, 16).ok()?;
            // Drop the hash suffix `::h0123456789abcdef`.
            let n = match n.rsplit_once("::h") {
                Some((base, h)) if h.len() == 16 => base,
                _ => n,
            };
            Some(Symbol {
                addr,
                size,
                name: unescape(n),
            })
        })
        .collect();
    syms.sort();
    Ok(syms)
}

/// The address of the symbol called `name`.
pub fn address(syms: &[Symbol], image: &Path, name: &str) -> Result<u64, String> {
    syms.iter()
        .find(|s| s.name == name)
        .map(|s| s.addr)
        .ok_or_else(|| format!("{} has no symbol {name}", image.display()))
}

/// The name of the function containing `pc` (`?` outside every symbol).
pub fn function_at(syms: &[Symbol], pc: u64) -> String {
    let i = syms.partition_point(|s| s.addr <= pc);
    i.checked_sub(1)
        .and_then(|i| syms.get(i))
        .filter(|s| pc < s.addr + s.size.max(2))
        .map_or("?".to_string(), |s| s.name.clone())
}

/// The crate a function's code belongs to, from its demangled name, the way
/// `cargo bloat` attributes it: the path's first segment (`microprop::network::run_forward`
/// → `microprop`); for a trait method, the implementing type's crate (`<tiny::Log as
/// microprop_app::event::Sink<..>>::event` → `tiny`), or the trait's when the type has no
/// path (`<(A,T) as microprop::layer::sequence::Seq<S>>::visit`, `<f32 as ..>`, `<R as
/// ..>` → `microprop`). Names without a path: the soft-float, integer-division and memory
/// routines (`aeabi_fadd`, `udivsi3`, `memcpy`) are `compiler_builtins`, defmt's
/// `defmt_*` hooks `defmt`; LLVM's machine outliner's `OUTLINED_FUNCTION_n` (code shared
/// by several functions, under `opt-level = "z"`) `[outlined]`; the rest (the vector
/// table's handlers, `Reset`, `main`) `[runtime]`.
pub fn crate_of(name: &str) -> String {
    fn leading(n: &str) -> Option<&str> {
        let n = n.trim_start_matches(['<', '&', '(', '[', '*', ' ']);
        let n = ["mut ", "const ", "dyn "]
            .iter()
            .fold(n, |n, p| n.strip_prefix(p).unwrap_or(n));
        let end = n
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(n.len());
        (end > 0 && n[end..].starts_with("::")).then(|| &n[..end])
    }
    if let Some(c) = leading(name) {
        return c.to_string();
    }
    if let Some(c) = name.find(" as ").and_then(|i| leading(&name[i + 4..])) {
        return c.to_string();
    }
    let builtin = name.starts_with("aeabi_")
        || ["memcpy", "memset", "memmove", "memcmp", "bcmp"].contains(&name)
        || (name.len() <= 12
            && name.ends_with(|c: char| c.is_ascii_digit())
            && ["si", "di", "sf", "df"].iter().any(|t| name.contains(t)));
    if builtin {
        "compiler_builtins".to_string()
    } else if name.starts_with("defmt_") {
        "defmt".to_string()
    } else if name.starts_with("OUTLINED_FUNCTION_") {
        "[outlined]".to_string()
    } else {
        "[runtime]".to_string()
    }
}

/// Bytes of code per crate ([`crate_of`]), largest first (ties by name).
pub fn by_crate(syms: &[Symbol]) -> Vec<(String, u64)> {
    let mut totals: Vec<(String, u64)> = Vec::new();
    for s in syms {
        let c = crate_of(&s.name);
        match totals.iter_mut().find(|(n, _)| *n == c) {
            Some((_, b)) => *b += s.size,
            None => totals.push((c, s.size)),
        }
    }
    totals.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    totals
}

/// The `n` largest functions, largest first (ties by address).
pub fn largest(syms: &[Symbol], n: usize) -> Vec<Symbol> {
    let mut v = syms.to_vec();
    v.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.addr.cmp(&b.addr)));
    v.truncate(n);
    v
}

/// Finishes demangling legacy Rust symbols that `llvm-nm` leaves escaped.
fn unescape(name: &str) -> String {
    let mut s = name.trim_start_matches('_').to_string();
    for (from, to) in [
        ("$LT$", "<"),
        ("$GT$", ">"),
        ("$u20$", " "),
        ("$C$", ","),
        ("$RF$", "&"),
        ("$u7b$", "{"),
        ("$u7d$", "}"),
        ("$BP$", "*"),
        ("$LP$", "("),
        ("$RP$", ")"),
        ("$u5b$", "["),
        ("$u5d$", "]"),
        ("$u3b$", ";"),
        ("$u27$", "'"),
        ("$u7e$", "~"),
        ("..", "::"),
    ] {
        s = s.replace(from, to);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_are_attributed_to_the_crate_of_their_path_or_their_impl() {
        for (name, krate) in [
            ("microprop::network::run_forward", "microprop"),
            ("<tiny::Log as microprop_app::event::Sink<microprop_app::tiny::TinyEvent>>::event", "tiny"),
            ("<(A,T) as microprop::layer::sequence::Seq<S>>::visit", "microprop"),
            ("<f32 as microprop::scalar::Scalar>::all_finite", "microprop"),
            ("<&mut R as rand_core::RngCore>::next_u32", "rand_core"),
            ("<rand_xoshiro::xoshiro128plusplus::Xoshiro128PlusPlus as rand_core::SeedableRng>::seed_from_u64", "rand_xoshiro"),
            ("compiler_builtins::float::add::__addsf3", "compiler_builtins"),
            ("aeabi_memcpy4", "compiler_builtins"),
            ("udivsi3", "compiler_builtins"),
            ("clzsi2", "compiler_builtins"),
            ("memcpy", "compiler_builtins"),
            ("defmt_write", "defmt"),
            ("udivmoddi4", "compiler_builtins"),
            ("OUTLINED_FUNCTION_17", "[outlined]"),
            ("Reset", "[runtime]"),
            ("HardFault", "[runtime]"),
        ] {
            assert_eq!(crate_of(name), krate, "{name}");
        }
    }

    #[test]
    fn legacy_escapes_are_undone() {
        assert_eq!(
            unescape("_$LT$$LP$A$C$T$RP$$u20$as$u20$microprop..layer..Seq$GT$::visit"),
            "<(A,T) as microprop::layer::Seq>::visit"
        );
    }

    #[test]
    fn the_breakdown_sums_by_crate_and_ranks_functions() {
        let sym = |addr, size, name: &str| Symbol {
            addr,
            size,
            name: name.to_string(),
        };
        let syms = [
            sym(0, 10, "a::f"),
            sym(16, 30, "b::g"),
            sym(64, 25, "a::h"),
            sym(96, 4, "Reset"),
        ];
        assert_eq!(
            by_crate(&syms),
            vec![
                ("a".to_string(), 35),
                ("b".to_string(), 30),
                ("[runtime]".to_string(), 4)
            ]
        );
        let top: Vec<String> = largest(&syms, 2).into_iter().map(|s| s.name).collect();
        assert_eq!(top, ["b::g", "a::h"]);
    }
}
