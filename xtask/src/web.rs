//! `cargo xtask web [--serve | --test]`: the browser playground.
//!
//! Builds `microprop-web` for `wasm32-unknown-unknown` (adding the rustup target when it
//! is missing) and writes the static site to `target/web/`: `web/site/`'s pages and the
//! `.wasm`. `--serve` then serves it on 127.0.0.1 (a free port, printed) with a std-only
//! HTTP server; `--test` runs the browser test ([`browser_test`]).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{cmd, output, root, run_cmd};

/// The wasm target.
pub const TARGET: &str = "wasm32-unknown-unknown";

/// `cargo xtask web`.
pub fn run(args: &[String]) -> Result<(), String> {
    let (mut serve, mut test) = (false, false);
    for a in args {
        match a.as_str() {
            "--serve" => serve = true,
            "--test" => test = true,
            other => {
                return Err(format!(
                    "web: unknown argument `{other}` (flags: --serve, --test)"
                ))
            }
        }
    }
    if test {
        return browser_test();
    }
    let site = build()?;
    println!("site: {}", site.display());
    if serve {
        let (listener, url) = bind()?;
        println!("serving {url} (Ctrl-C stops)");
        serve_forever(&listener, &site);
    }
    Ok(())
}

/// Adds the wasm target with rustup when it is missing.
pub fn ensure_target() -> Result<(), String> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if !installed.lines().any(|l| l.trim() == TARGET) {
        run_cmd(cmd("rustup").args(["target", "add", TARGET]))?;
    }
    Ok(())
}

/// Builds the .wasm (release, no debug information, symbols stripped) and writes the site
/// to `target/web/` (the pages, the .wasm and the charting library's files); returns that
/// directory.
pub fn build() -> Result<PathBuf, String> {
    ensure_target()?;
    run_cmd(
        cmd("cargo")
            .args([
                "build",
                "-p",
                "microprop-web",
                "--release",
                "--target",
                TARGET,
            ])
            .env("CARGO_PROFILE_RELEASE_DEBUG", "0")
            .env("CARGO_PROFILE_RELEASE_STRIP", "symbols"),
    )?;
    let wasm = root()
        .join("target")
        .join(TARGET)
        .join("release/microprop_web.wasm");
    let site = root().join("target/web");
    let _ = fs::remove_dir_all(&site);
    fs::create_dir_all(&site).map_err(|e| format!("{}: {e}", site.display()))?;
    let pages = root().join("web/site");
    let entries = fs::read_dir(&pages).map_err(|e| format!("{}: {e}", pages.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if let Some(name) = path.file_name().filter(|_| path.is_file()) {
            copy(&path, &site.join(name))?;
        }
    }
    copy(&wasm, &site.join("microprop_web.wasm"))?;
    ensure_npm()?;
    let uplot = root().join("web/node_modules/uplot/dist");
    for name in UPLOT_FILES {
        copy(&uplot.join(name), &site.join(name))?;
    }
    Ok(site)
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("copy {} to {}: {e}", from.display(), to.display()))
}

/// A listener on a free port of 127.0.0.1 and its URL.
pub fn bind() -> Result<(TcpListener, String), String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    Ok((listener, format!("http://127.0.0.1:{port}/")))
}

/// Serves the files of `site` until the process ends (one request per connection).
pub fn serve_forever(listener: &TcpListener, site: &Path) {
    for stream in listener.incoming().flatten() {
        if let Err(e) = respond(stream, site) {
            eprintln!("web: {e}");
        }
    }
}

/// The MIME type of a file name (`application/wasm` for the module: streaming
/// compilation requires it).
pub fn mime(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

fn respond(stream: TcpStream, site: &Path) -> Result<(), String> {
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| e.to_string())?;
    // Skip the headers.
    let mut header = String::new();
    while reader.read_line(&mut header).map_err(|e| e.to_string())? > 2 {
        header.clear();
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "index.html" } else { rel };
    let safe = !rel.split('/').any(|s| s == ".." || s.is_empty());
    let file = site.join(rel);
    let mut out = &stream;
    let (status, kind, body) = match (method, safe && file.is_file()) {
        ("GET" | "HEAD", true) => match fs::read(&file) {
            Ok(b) => ("200 OK", mime(rel), b),
            Err(e) => (
                "500 Internal Server Error",
                "text/plain",
                e.to_string().into_bytes(),
            ),
        },
        ("GET" | "HEAD", false) => ("404 Not Found", "text/plain", b"not found".to_vec()),
        _ => ("405 Method Not Allowed", "text/plain", b"GET only".to_vec()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    out.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
    if method != "HEAD" {
        out.write_all(&body).map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}

/// Chromium (Debian's), which the browser test drives.
const CHROMIUM: &str = "/usr/bin/chromium";

/// Where the browser test keeps its screenshots and measurements.
fn test_dir() -> PathBuf {
    root().join("target/web-test")
}

/// The npm packages of `web/package.json`, pinned by `web/package-lock.json`: the page's
/// charting library (uPlot, copied into the site) and the browser test's driver.
const NPM_PACKAGES: [&str; 2] = ["uplot", "playwright-core"];

/// uPlot's files the page loads (from `web/node_modules/uplot/dist/`).
const UPLOT_FILES: [&str; 2] = ["uPlot.esm.js", "uPlot.min.css"];

/// Installs [`NPM_PACKAGES`] with `npm ci` (from `web/package-lock.json`) when
/// `web/node_modules` does not hold each at the locked version.
pub fn ensure_npm() -> Result<(), String> {
    let web = root().join("web");
    let lock = fs::read_to_string(web.join("package-lock.json")).map_err(|e| e.to_string())?;
    let version = |text: &str, after: &str| -> Option<String> {
        let at = text.find(after)? + after.len();
        let v = text.get(at..)?.split("\"version\"").nth(1)?;
        Some(v.split('"').nth(1)?.to_string())
    };
    let current = NPM_PACKAGES.iter().all(|name| {
        let installed = web.join(format!("node_modules/{name}/package.json"));
        let have = fs::read_to_string(installed).unwrap_or_default();
        let want = version(&lock, &format!("\"node_modules/{name}\""));
        want.is_some() && want == version(&have, "")
    });
    if current {
        return Ok(());
    }
    run_cmd(
        cmd("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&web),
    )
}

/// The browser test: builds the site, serves it, and runs `web/test/browser.mjs` in
/// headless Chromium through Playwright; then checks what the page reported against the
/// simulator (the weights hash of the same configuration and epochs, and the downloaded
/// model file through `microprop-sim predict --load`). Screenshots and the measurements
/// (`result.json`) stay in `target/web-test/`.
pub fn browser_test() -> Result<(), String> {
    let site = build()?;
    if !Path::new(CHROMIUM).exists() {
        return Err(format!(
            "{CHROMIUM} missing: `cargo xtask setup` installs Debian's chromium"
        ));
    }
    // `--workspace`: the features resolve as in the test run, which built this binary
    // already (with `-p` cargo resolves them anew and rebuilds the tree: 154 s in CI).
    run_cmd(cmd("cargo").args([
        "build",
        "--workspace",
        "--release",
        "--bin",
        "microprop-sim",
    ]))?;
    let sim = root().join("target/release/microprop-sim");
    let dir = test_dir();
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (listener, url) = bind()?;
    let served = site.clone();
    std::thread::spawn(move || serve_forever(&listener, &served));
    run_cmd(
        cmd("node")
            .arg(root().join("web/test/browser.mjs"))
            .args([url.as_str(), CHROMIUM])
            .arg(&dir),
    )?;
    let runs = fs::read_to_string(dir.join("runs.tsv"))
        .map_err(|e| format!("the browser test wrote no runs.tsv: {e}"))?;
    check_against_simulator(&runs, &sim, &dir)?;
    println!(
        "web test: passed; screenshots and measurements in {}",
        dir.display()
    );
    Ok(())
}

/// The page's runs ([`page_runs`]) repeated by the simulator: the same weights hash, and
/// each downloaded model file (in `dir`) read by `predict --load`.
fn check_against_simulator(tsv: &str, sim: &Path, dir: &Path) -> Result<(), String> {
    let runs = page_runs(tsv)?;
    if runs.is_empty() {
        return Err("result.json has no runs".into());
    }
    for r in &runs {
        let mut c = Command::new(sim);
        c.args(["--json", "train"]).args(&r.sim_args);
        c.args(["--epochs", &r.epochs.to_string()]);
        let out = output(&mut c)?;
        let want = format!("\"weights_hash\":\"{}\"", r.hash);
        if !out.contains(&want) {
            return Err(format!(
                "{}: the page's weights hash {} after {} epochs is not the simulator's: {out}",
                r.name, r.hash, r.epochs
            ));
        }
        println!(
            "web test: {}: hash {} after {} epochs = microprop-sim train's",
            r.name, r.hash, r.epochs
        );
        if let Some(model) = &r.model {
            let path = dir.join(model);
            let out = output(
                Command::new(sim)
                    .args(["--json", "predict", "--load"])
                    .arg(&path)
                    .args(["--point", "0,0"]),
            )?;
            if !out.contains("\"predictions\"") && !out.contains("\"outputs\"") {
                return Err(format!("predict --load {}: {out}", path.display()));
            }
            println!(
                "web test: {}: microprop-sim predict --load {model}: {}",
                r.name,
                out.trim()
            );
        }
    }
    Ok(())
}

/// One run the page made.
struct PageRun {
    name: String,
    sim_args: Vec<String>,
    epochs: u32,
    hash: String,
    model: Option<String>,
}

/// `runs.tsv`, written by `browser.mjs`: one run a line,
/// `<name>\t<epochs>\t<hash>\t<model file or ->\t<sim arg>\t<sim arg>...`.
fn page_runs(tsv: &str) -> Result<Vec<PageRun>, String> {
    let mut runs = Vec::new();
    for line in tsv.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let [name, epochs, hash, model, args @ ..] = f.as_slice() else {
            return Err(format!("runs.tsv: bad line {line:?}"));
        };
        let epochs = epochs
            .parse()
            .map_err(|_| format!("runs.tsv: bad epochs in {line:?}"))?;
        runs.push(PageRun {
            name: name.to_string(),
            sim_args: args.iter().map(|s| s.to_string()).collect(),
            epochs,
            hash: hash.to_string(),
            model: (*model != "-").then(|| model.to_string()),
        });
    }
    Ok(runs)
}

/// Reads a whole stream (for tests of the server).
#[cfg(test)]
fn get(url_path: &str, port: u16) -> String {
    use std::io::Read;
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(s, "GET {url_path} HTTP/1.1\r\nHost: x\r\n\r\n").expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_files_with_their_mime_type_and_nothing_outside() {
        let dir = std::env::temp_dir().join(format!("xtask-web-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("dir");
        fs::write(dir.join("index.html"), "<p>hi</p>").expect("write");
        fs::write(dir.join("m.wasm"), [0u8, 97, 115, 109]).expect("write");
        let (listener, url) = bind().expect("bind");
        let port: u16 = url
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        let site = dir.clone();
        std::thread::spawn(move || serve_forever(&listener, &site));
        let index = get("/", port);
        assert!(index.starts_with("HTTP/1.1 200"), "{index}");
        assert!(index.contains("text/html") && index.ends_with("<p>hi</p>"));
        assert!(get("/m.wasm", port).contains("Content-Type: application/wasm"));
        assert!(get("/../Cargo.toml", port).starts_with("HTTP/1.1 404"));
        assert!(get("/nope.js", port).starts_with("HTTP/1.1 404"));
        fs::remove_dir_all(&dir).ok();
    }
}
