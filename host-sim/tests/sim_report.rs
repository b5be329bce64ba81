//! `report` in a real browser: the page is opened in headless Chromium (Debian's `chromium`
//! package), its own image check (a script counting decoded images into `#image-check`)
//! is read back from the DOM, every link of the rendered DOM is checked (an internal
//! anchor names an element id, a relative file exists, nothing points outside the
//! directory), and a screenshot of the whole page (the window as tall as the page's
//! measured height) is kept at `target/tmp/report/screenshot.png`. A copy with one image
//! removed, and copies with a broken anchor, a missing file and an external link, must be
//! reported as broken, so the checks themselves are checked.

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

/// The DOM after load (scripts run), and the page's `#image-check` tag.
fn dom(index: &Path, profile: &Path) -> (String, String) {
    let out = browser(profile)
        .arg("--window-size=1280,900")
        .arg("--dump-dom")
        .arg(format!("file://{}", index.display()))
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
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
    (dom, tag)
}

/// A numeric attribute of the `#image-check` tag.
fn attr(tag: &str, name: &str) -> usize {
    tag.split(&format!("{name}=\""))
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the image check did not run: <p{tag}>"))
}

/// What the page at `index` reports about itself after load in Chromium.
struct Check {
    /// Images decoded.
    loaded: usize,
    /// Images that did not.
    failed: usize,
    /// The page's height in CSS pixels at the screenshot's width.
    height: usize,
    /// [`link_problems`] of the rendered DOM.
    links: Vec<String>,
}

fn check(index: &Path, profile: &Path) -> Check {
    let (dom, tag) = dom(index, profile);
    Check {
        loaded: attr(&tag, "data-loaded"),
        failed: attr(&tag, "data-failed"),
        height: attr(&tag, "data-height"),
        links: link_problems(index, &dom),
    }
}

/// The values of every `name="…"` attribute in `html`.
fn attrs(html: &str, name: &str) -> Vec<String> {
    html.split(&format!(" {name}=\""))
        .skip(1)
        .filter_map(|s| s.split('"').next().map(str::to_string))
        .collect()
}

/// What is wrong with the links of the page at `index` as Chromium rendered it: an
/// internal anchor with no element of that id, a relative link to a file that does not
/// exist beside the page, a link to anywhere else (a scheme, `//`, `..`, an absolute path).
/// Also checks every image source the same way.
fn link_problems(index: &Path, dom: &str) -> Vec<String> {
    let dir = index.parent().unwrap();
    let ids: std::collections::BTreeSet<String> = attrs(dom, "id").into_iter().collect();
    let mut bad = Vec::new();
    let hrefs = attrs(dom, "href");
    assert!(!hrefs.is_empty(), "no links in the DOM");
    for link in hrefs.iter().chain(attrs(dom, "src").iter()) {
        let link = link.replace("&amp;", "&");
        if let Some(anchor) = link.strip_prefix('#') {
            if !ids.contains(anchor) {
                bad.push(format!("{link}: no element has id {anchor:?}"));
            }
        } else if link.contains(':') || link.starts_with('/') || link.contains("..") {
            bad.push(format!("{link}: not a file of the report directory"));
        } else {
            let file = link.split('#').next().unwrap_or("");
            if file.is_empty() || !dir.join(file).is_file() {
                bad.push(format!("{link}: no such file beside the page"));
            }
        }
    }
    bad
}

/// The pixel height of a PNG, from its header.
fn png_height(path: &Path) -> u32 {
    let b = std::fs::read(path).unwrap();
    u32::from_be_bytes([b[20], b[21], b[22], b[23]])
}

/// A copy of the report directory `from` in `to`, without the file `skip`, with
/// `index.html` edited by `edit`.
fn copy_site(from: &Path, to: &Path, skip: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap();
        if name != skip && p.is_file() {
            std::fs::copy(&p, to.join(name)).unwrap();
        }
    }
    let index = to.join("index.html");
    let html = std::fs::read_to_string(&index).unwrap();
    std::fs::write(&index, edit(&html)).unwrap();
    std::fs::canonicalize(index).unwrap()
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
    // One paragraph per figure section, with numbers in it, and a table of contents.
    let sections = html.matches("<h2 id=").count();
    assert!(sections >= 9, "{sections} sections");
    assert!(html.contains("<nav id=\"toc\">"));
    // Every section (the text from its heading to the next) says what to look for.
    for part in html.split("<h2 id=").skip(1) {
        let title = part
            .split('>')
            .nth(1)
            .unwrap_or("")
            .split('<')
            .next()
            .unwrap_or("");
        assert!(
            part.contains("What to look for:"),
            "section \"{title}\" has no \"What to look for:\""
        );
    }

    let index = std::fs::canonicalize(&index).unwrap();
    let c = check(&index, &dir.join("profile-1"));
    assert_eq!(
        (c.loaded, c.failed),
        (imgs.len(), 0),
        "images that did not load"
    );
    assert!(c.links.is_empty(), "broken links: {:#?}", c.links);
    // Every section is in the contents.
    let toc = html
        .split("<nav id=\"toc\">")
        .nth(1)
        .unwrap()
        .split("</nav>")
        .next()
        .unwrap();
    assert_eq!(toc.matches("<a href=\"#").count(), sections);

    // The whole page: a window as tall as the page.
    let height = c.height;
    assert!(height > 1000, "page height {height}");
    let shot = dir.join("screenshot.png");
    let status = browser(&dir.join("profile-2"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("--window-size=1280,{height}"))
        .arg(format!("file://{}", index.display()))
        .output()
        .expect("run chromium");
    assert!(status.status.success());
    assert!(is_png(&shot), "no screenshot at {}", shot.display());
    assert!(
        png_height(&shot) as usize >= height,
        "the screenshot ({} px) is not the whole page ({height} px)",
        png_height(&shot)
    );
    eprintln!("screenshot ({height} px) kept at {}", shot.display());

    // The checks can fail: the same page with one image gone reports it …
    let broken = copy_site(&out, &dir.join("broken"), "zigzag.png", str::to_string);
    let c = check(&broken, &dir.join("profile-3"));
    assert_eq!((c.loaded, c.failed), (imgs.len() - 1, 1));
    assert_eq!(
        c.links.len(),
        2,
        "zigzag.png, link and image: {:?}",
        c.links
    );
    // … and so does each kind of broken link (one page with one of each).
    let links = [
        "#no-such-section",
        "no-such-file.json",
        "https://example.com/",
    ];
    let page = copy_site(&out, &dir.join("broken-links"), "", |h| {
        let extra: String = links
            .iter()
            .map(|l| format!("<a href=\"{l}\">x</a>"))
            .collect();
        h.replacen("</main>", &format!("{extra}</main>"), 1)
    });
    let bad = check(&page, &dir.join("profile-4")).links;
    assert_eq!(bad.len(), links.len(), "{bad:?}");
    for (problem, link) in bad.iter().zip(links) {
        assert!(problem.starts_with(link), "{link}: {bad:?}");
    }
}
