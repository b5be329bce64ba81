//! The figures' conventions, checked on the functions that implement them: tick labels
//! (no `-0`, no `3.0` for an integer, scientific notation for σ across decades), the
//! decision boundary's colours (a background cell in the pale colour of the points of the
//! class it predicts, for 2 to 8 classes), the zig-zag's loss contours and its view (a
//! diverging path is cut, not drawn along the frame), the init histograms' ranges, the
//! report page's table of contents, and the convergence summary.

use microprop::Activation;
use microprop_sim::{convergence, init_stats, plot, report, train, zigzag};

#[test]
fn tick_labels_have_no_negative_zero_and_no_needless_decimals() {
    for v in [-0.0, -1e-12, 1e-12, -4e-10, 0.0] {
        assert_eq!(plot::tick(v), "0", "{v:e}");
    }
    // Every tick plotters could put on a symmetric axis, as the steps add up in f64.
    let mut v = -1.5f64;
    while v <= 1.5 {
        let t = plot::tick(v);
        assert!(!t.starts_with("-0") || t.starts_with("-0."), "{v}: {t}");
        assert_ne!(t, "-0", "{v}");
        assert!(!t.ends_with(".0"), "{v}: {t}");
        v += 0.1;
    }
    assert_eq!(plot::tick(3.0), "3");
    assert_eq!(plot::tick(-2.0), "-2");
    assert_eq!(plot::tick(0.25), "0.25");
    assert_eq!(plot::tick(-0.2), "-0.2");
    assert_eq!(plot::tick(100.0), "100");
    assert_eq!(plot::tick(2e8), "2.0e8");
    assert_eq!(plot::log_tick(1e-3), "1e-3");
    assert_eq!(plot::log_tick(10.0), "10");
    assert_eq!(plot::log_tick(0.1), "0.1");
}

#[test]
fn sigma_labels_switch_to_scientific_notation_across_decades() {
    assert_eq!(plot::num(0.96), "0.96");
    assert_eq!(plot::num(283.72), "283.72");
    // The labels the histograms used to print as "0.00" and "161722417.17".
    assert_eq!(plot::num(9.5e-11), "9.5e-11");
    assert_eq!(plot::num(161_722_417.17), "1.6e8");
    assert_eq!(plot::num(0.004), "4.0e-3");
    assert_eq!(plot::num(0.0), "0");
    assert_eq!(plot::num(-0.0), "0");
    for v in [1e-12, 3e-5, 0.0099, 1000.0, 4.2e9] {
        assert!(plot::num(v).contains('e'), "{v}: {}", plot::num(v));
    }
}

#[test]
fn decision_boundary_backgrounds_match_their_points() {
    for classes in 3..=8 {
        let mut seen = Vec::new();
        for k in 0..classes {
            let point = train::point_color(classes, k);
            let back = train::background_color(classes, k as f64);
            assert_eq!(back, plot::pale(point), "{classes} classes, class {k}");
            // Every class's background is its own (no two classes share one).
            assert!(
                !seen.contains(&back),
                "{classes} classes: class {k} repeats"
            );
            seen.push(back);
        }
    }
    // Two classes: the probability ramp runs from the blue points' side to the red ones'.
    let (b0, b1) = (
        train::background_color(2, 0.0),
        train::background_color(2, 1.0),
    );
    let (p0, p1) = (train::point_color(2, 0), train::point_color(2, 1));
    assert!(b0.2 > b0.0 && p0.2 > p0.0, "class 0: blue");
    assert!(b1.0 > b1.2 && p1.0 > p1.2, "class 1: red");
}

#[test]
fn zigzag_contours_are_level_sets_and_diverging_paths_are_cut() {
    let xs: Vec<[f32; 2]> = (0..64)
        .map(|i| [(i % 8) as f32 / 8.0, (i / 8) as f32 / 8.0])
        .collect();
    let m = zigzag::moment(&xs);
    for level in zigzag::LEVELS {
        for p in zigzag::contour(&m, level, 36) {
            let l = zigzag::loss_at(&m, p);
            assert!(
                (l - level).abs() <= 1e-9 * level.max(1.0),
                "{p:?}: {l} vs {level}"
            );
        }
    }
    assert_eq!(zigzag::loss_at(&m, (1.0, -1.0)), 0.0);
    // A path that runs off: drawn up to the last point inside the view.
    let path = [(0.0, 0.0), (0.5, -0.5), (3.0, -3.0), (1e30, f64::NAN)];
    let (shown, left) = zigzag::visible(&path);
    assert!(left);
    assert_eq!(shown, &path[..2]);
    let (shown, left) = zigzag::visible(&path[..2]);
    assert!(!left);
    assert_eq!(shown.len(), 2);
}

#[test]
fn relu_histograms_follow_each_layers_scale() {
    // A layer of std 1.6e8 is not squeezed into [0, 2].
    let (lo, hi) = init_stats::hist_range(Activation::Relu, 1e8, 1.6e8);
    assert_eq!(lo, 0.0);
    assert!(hi > 1e8, "{hi}");
    let (_, hi) = init_stats::hist_range(Activation::Relu, 1e-12, 2e-12);
    assert!(hi < 1e-10, "{hi}");
    assert_eq!(
        init_stats::hist_range(Activation::Relu, 0.0, 0.0),
        (0.0, 1.0)
    );
    assert_eq!(
        init_stats::hist_range(Activation::Tanh, 0.0, 0.9),
        (-1.0, 1.0)
    );
    for (name, _) in init_stats::INITS {
        assert!(init_stats::label(name).contains(['σ', 'N']), "{name}");
    }
}

#[test]
fn the_page_gets_anchors_a_table_of_contents_and_back_links() {
    let page = "<nav><!--toc--></nav><h1 id=\"top\">t</h1><h2>Vanishing gradients (notes §1)</h2>\
                <p>a</p><h2>Vanishing gradients (notes §1)</h2><p>b</p><h2>A &amp; <code>B</code></h2>";
    let html = report::with_contents(page);
    for id in [
        "vanishing-gradients-notes-1",
        "vanishing-gradients-notes-1-2",
        "a-b",
    ] {
        assert!(html.contains(&format!("<h2 id=\"{id}\">")), "{id}: {html}");
        assert!(
            html.contains(&format!("<a href=\"#{id}\">")),
            "{id}: {html}"
        );
    }
    assert!(!html.contains("<!--toc-->"));
    assert_eq!(html.matches("href=\"#top\"").count(), 2);
    assert_eq!(report::slug("§§"), "section");
}

#[test]
fn convergence_summaries_say_how_many_seeds_never_got_there() {
    let r = |e: Vec<Option<u32>>| convergence::Runs {
        activation: "x",
        accuracy: Vec::new(),
        final_accuracy: Vec::new(),
        epochs_to_95: e,
    };
    assert_eq!(r(vec![Some(3), Some(2), Some(9)]).describe(), "3 (2…9)");
    assert_eq!(r(vec![None, None]).describe(), "never (2 of 2 seeds)");
    assert_eq!(
        r(vec![Some(4), None, Some(2)]).describe(),
        "4 (2…4; never in 1 of 3)"
    );
    // The median seed never got there: the text must not quote the one that did as typical.
    let one = r(vec![None, Some(30), None]);
    assert_eq!(one.median(), None);
    assert_eq!(
        one.describe(),
        "never in 2 of 3 seeds (the other after 30…30)"
    );
    assert_eq!(r(vec![Some(5), Some(1), None, Some(3)]).median(), Some(5));
}
