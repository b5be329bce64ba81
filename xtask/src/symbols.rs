//! The function symbols of a firmware ELF (`llvm-nm`), demangled: the exact-count
//! plugin's marker addresses and the per-function profile of `cargo xtask bench-mcu`.

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
        ("..", "::"),
    ] {
        s = s.replace(from, to);
    }
    s
}
