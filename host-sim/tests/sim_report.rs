//! `report` in a real browser: the page is opened in headless Chromium (Debian's `chromium`
//! package), its own image check (a script counting decoded images into `#image-check`)
//! is read back from the DOM, and a screenshot is kept at
//! `target/tmp/report/screenshot.png`. A copy with one image removed must be reported as
//! broken, so the check itself is checked.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{is_png, scratch, sim};

fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser"] {
        if Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return PathBuf::from(name);
        }
    }
    panic!(
        "headless Chromium is needed: `apt-get install -y --no-install-recommends chromium` \
         (cargo xtask setup installs it)"
    );
}

/// Chromium with the flags that make it run as root, offline and without a profile.
fn browser(profile: &Path) -> Command {
    let mut c = Command::new(chromium());
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--virtual-time-budget=10000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// `(loaded, failed)` from the page's `#image-check` after load.
fn image_check(index: &Path, profile: &Path) -> (usize, usize) {
    let out = browser(profile)
        .arg("--dump-dom")
        .arg(format!("file://{}", index.display()))
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&out.stdout);
    let tag = dom
        .split("<p id=\"image-check\"")
        .nth(1)
        .and_then(|s| s.split('>').next())
        .unwrap_or_else(|| {
            panic!(
                "no #image-check in the DOM (status {}):\n{}\n{}",
                out.status,
                &dom[..dom.len().min(2000)],
                String::from_utf8_lossy(&out.stderr)
            )
        })
        .to_string();
    let attr = |name: &str| -> usize {
        tag.split(&format!("{name}=\""))
            .nth(1)
            .and_then(|s| s.split('"').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("the image check did not run: <p{tag}>"))
    };
    (attr("data-loaded"), attr("data-failed"))
}

fn img_sources(html: &str) -> Vec<String> {
    html.split("<img src=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next().map(str::to_string))
        .collect()
}

#[test]
fn report_page_loads_every_image_in_chromium() {
    let dir = scratch("report");
    let out = dir.join("site");
    let run = sim(&["report", "--quick", "--out", out.to_str().unwrap()]);
    assert!(
        run.status.success(),
        "report failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let index = out.join("index.html");
    let html = std::fs::read_to_string(&index).expect("index.html");
    let imgs = img_sources(&html);
    // Every figure of every experiment is on the page.
    for want in [
        "vanishing.png",
        "landscape.png",
        "zigzag.png",
        "centring.png",
        "symmetry.png",
        "convergence.png",
        "train.png",
        "init.png",
        "init-tanh.png",
        "init-relu.png",
        "dead-relu.png",
        "dead-relu-lr.png",
        "activations.png",
        "activations-cost.png",
    ] {
        assert!(
            imgs.iter().any(|s| s == want),
            "{want} missing from the page"
        );
        assert!(is_png(&out.join(want)), "{want} is not a PNG");
    }
    assert!(out.join("landscape.svg").exists());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert!(report["results"]["landscape"]["nine_layer"]["plateau_fraction"].is_number());
    // One paragraph per figure section, with numbers in it.
    assert!(html.matches("<h2>").count() >= 9);

    let index = std::fs::canonicalize(&index).unwrap();
    let (loaded, failed) = image_check(&index, &dir.join("profile-1"));
    assert_eq!(
        (loaded, failed),
        (imgs.len(), 0),
        "images that did not load"
    );

    let shot = dir.join("screenshot.png");
    let status = browser(&dir.join("profile-2"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1300,2600")
        .arg(format!("file://{}", index.display()))
        .output()
        .expect("run chromium");
    assert!(status.status.success());
    assert!(is_png(&shot), "no screenshot at {}", shot.display());
    eprintln!("screenshot kept at {}", shot.display());

    // The check can fail: the same page with one image gone reports it.
    let broken = dir.join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    for entry in std::fs::read_dir(&out).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name().is_some_and(|n| n != "zigzag.png") {
            std::fs::copy(&p, broken.join(p.file_name().unwrap())).unwrap();
        }
    }
    let broken_index = std::fs::canonicalize(broken.join("index.html")).unwrap();
    let (loaded, failed) = image_check(&broken_index, &dir.join("profile-3"));
    assert_eq!((loaded, failed), (imgs.len() - 1, 1));
}
