//! Figures: one drawing routine per figure, rendered to PNG or SVG by the file extension.
//!
//! Text uses DejaVu Sans, embedded in the binary (plotters' pure-Rust `ab_glyph` path), so
//! the figures look the same on every machine and need no system font library.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{
    ctx::{failure, usage, ErrorKind},
    Res,
};

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static FONT_ONCE: Once = Once::new();

/// Registers the embedded font as `sans-serif` (idempotent).
pub fn init_fonts() {
    FONT_ONCE.call_once(|| {
        // The font is embedded and known-good; a failure would only lose the labels.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// A figure that can draw itself on any plotters backend.
pub trait Figure {
    /// Pixel size (width, height).
    fn size(&self) -> (u32, u32);
    /// Draws the figure on `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static;
}

/// The file extensions [`save`] writes, matched without regard to case: SVG, and the
/// bitmap encoders plotters is built with (PNG, JPEG, BMP).
pub const EXTENSIONS: [&str; 5] = ["png", "svg", "jpg", "jpeg", "bmp"];

/// Checks a plot file named by `flag` before any work: it has one of the
/// [`EXTENSIONS`] and is not a directory.
///
/// # Errors
/// A usage error naming `flag`, the path and the extensions known.
pub fn check_path(flag: &str, path: &Path) -> Res<()> {
    check_not_dir(flag, path)?;
    let known = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|k| k.eq_ignore_ascii_case(e)));
    if known {
        Ok(())
    } else {
        usage(format!(
            "{flag} {}: no known image extension (one of {})",
            path.display(),
            EXTENSIONS.join(", ")
        ))
    }
}

/// Checks that the file named by `flag` is not an existing directory (for a plot whose
/// extension is chosen by the command, like `landscape`'s `.png` and `.svg`).
///
/// # Errors
/// A usage error naming `flag` and the path.
pub fn check_not_dir(flag: &str, path: &Path) -> Res<()> {
    if path.is_dir() || path.file_name().is_none() {
        return usage(format!(
            "{flag} {}: is a directory, not a file",
            path.display()
        ));
    }
    Ok(())
}

/// Renders `fig` to `path`: SVG for `.svg`, the bitmap format of its extension otherwise
/// ([`EXTENSIONS`]; PNG without one).
///
/// # Errors
/// [`ErrorKind::Io`] if the file's directory cannot be made; [`ErrorKind::Plot`] if the
/// figure cannot be drawn, encoded or written. Both name the file.
pub fn save(fig: &impl Figure, path: &Path) -> Res<()> {
    init_fonts();
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)
                .map_err(|e| failure(ErrorKind::Io, format!("{}: {e}", dir.display())))?;
        }
    }
    render(fig, path).map_err(|e| failure(ErrorKind::Plot, format!("{}: {e}", path.display())))
}

/// Draws `fig` into `path` with the backend its extension selects.
fn render(fig: &impl Figure, path: &Path) -> Res<()> {
    let size = fig.size();
    let is_svg = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    if is_svg {
        let root = SVGBackend::new(path, size).into_drawing_area();
        root.fill(&WHITE)?;
        fig.draw(&root)?;
        root.present()?;
    } else {
        let root = BitMapBackend::new(path, size).into_drawing_area();
        root.fill(&WHITE)?;
        fig.draw(&root)?;
        root.present()?;
    }
    Ok(())
}

/// `path` with `-suffix` added to the file stem (`a/b.png` + `hist` → `a/b-hist.png`).
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{suffix}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{suffix}"),
    };
    path.with_file_name(name)
}

/// `path` with another extension.
pub fn with_ext(path: &Path, ext: &str) -> PathBuf {
    path.with_extension(ext)
}

/// A colour for series `i` (a fixed, readable palette).
pub fn series_color(i: usize) -> RGBColor {
    const P: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(255, 127, 14),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(23, 190, 207),
    ];
    P[i % P.len()]
}

/// `c` mixed with 70 % white: a background under points drawn in `c`.
pub fn pale(c: RGBColor) -> RGBColor {
    let f = |v: u8| (f64::from(v) + (255.0 - f64::from(v)) * 0.7).round() as u8;
    RGBColor(f(c.0), f(c.1), f(c.2))
}

/// Viridis colour for `t` in [0, 1].
pub fn viridis(t: f64) -> RGBColor {
    ViridisRGB::get_color(t.clamp(0.0, 1.0))
}

/// A tick label for a linear axis: integers without a decimal point (`3`, not `3.0`), other
/// values with at most three decimals and no trailing zeros (`0.25`), very large or very
/// small magnitudes in scientific notation ([`num`]); never `-0` or `-0.0` (a tick that
/// rounds to zero is `0`).
pub fn tick(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if a < 5e-10 {
        return "0".into();
    }
    if !(1e-3..1e5).contains(&a) {
        return num(v);
    }
    let s = trim_zeros(&format!("{v:.3}"));
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// A value as a figure states it: two decimals for magnitudes in [0.01, 1000) (`0.96`,
/// `283.72`), scientific notation with two significant digits otherwise (`9.5e-11`,
/// `1.6e8`), `0` for zero; never `-0`.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if (0.01..1000.0).contains(&a) {
        let s = format!("{v:.2}");
        if s == "-0.00" {
            "0".into()
        } else {
            s
        }
    } else {
        format!("{v:.1e}")
    }
}

/// A tick label for a log axis: the power of ten as `1e-3`, `1`, `10`, `100`, `1e3`…
/// (plotters puts log ticks on round values).
pub fn log_tick(v: f64) -> String {
    if !(v.is_finite() && v > 0.0) {
        return String::new();
    }
    if (0.01..1e4).contains(&v) {
        tick(v)
    } else {
        format!("{v:.0e}")
    }
}

/// `s` (a decimal number) without trailing zeros after the point, and without the point if
/// nothing is left after it.
fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

/// A series' spread over seeds: its median line and its min–max band, per x.
#[derive(Clone, Debug, Default)]
pub struct Band {
    /// The series' name (legend).
    pub name: String,
    /// `(x, min, median, max)`, ascending x.
    pub points: Vec<(f64, f64, f64, f64)>,
}

impl Band {
    /// The band of `runs` (one `Vec` of y per seed, all indexed by the same x = `x0 + i`):
    /// per index, the min, median and max over the runs that have a finite value there.
    pub fn of(name: &str, x0: f64, runs: &[Vec<f64>]) -> Band {
        let n = runs.iter().map(Vec::len).max().unwrap_or(0);
        let mut points = Vec::with_capacity(n);
        for i in 0..n {
            let mut v: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.get(i).copied())
                .filter(|y| y.is_finite())
                .collect();
            if v.is_empty() {
                continue;
            }
            v.sort_by(f64::total_cmp);
            let m = v.len();
            let med = if m % 2 == 1 {
                v[m / 2]
            } else {
                0.5 * (v[m / 2 - 1] + v[m / 2])
            };
            points.push((x0 + i as f64, v[0], med, v[m - 1]));
        }
        Band {
            name: name.to_string(),
            points,
        }
    }
}

/// Draws `band` in colour `c` on `chart`: the min–max area filled pale, the median as a
/// line (labelled with the band's name for the legend).
///
/// # Errors
/// Drawing errors.
pub fn draw_band<'c, DB, X, Y>(
    chart: &mut ChartContext<'c, DB, Cartesian2d<X, Y>>,
    band: &Band,
    c: RGBColor,
) -> Res<()>
where
    DB: DrawingBackend + 'c,
    DB::ErrorType: 'static,
    X: plotters::coord::ranged1d::Ranged<ValueType = f64>,
    Y: plotters::coord::ranged1d::Ranged<ValueType = f64>,
{
    let mut poly: Vec<(f64, f64)> = band.points.iter().map(|p| (p.0, p.3)).collect();
    poly.extend(band.points.iter().rev().map(|p| (p.0, p.1)));
    if poly.len() >= 3 {
        chart.draw_series(std::iter::once(Polygon::new(poly, c.mix(0.22).filled())))?;
    }
    chart
        .draw_series(LineSeries::new(
            band.points.iter().map(|p| (p.0, p.2)),
            c.stroke_width(2),
        ))?
        .label(band.name.as_str())
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
    Ok(())
}

/// A vertical colour bar on `area`: `colour(t)` for t from 0 (bottom) to 1 (top), labelled
/// with `ticks` (`(t, text)`) and the caption `label` above it.
///
/// # Errors
/// Drawing errors.
pub fn colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    label: &str,
    colour: &dyn Fn(f64) -> RGBColor,
    ticks: &[(f64, String)],
) -> Res<()>
where
    DB::ErrorType: 'static,
{
    let (_, h) = area.dim_in_pixel();
    let (top, bottom) = (40i32, h as i32 - 50);
    let (x0, x1) = (8i32, 26i32);
    let span = (bottom - top).max(1);
    for py in top..bottom {
        let t = f64::from(bottom - py) / f64::from(span);
        area.draw(&Rectangle::new(
            [(x0, py), (x1, py + 1)],
            colour(t).filled(),
        ))?;
    }
    area.draw(&Rectangle::new(
        [(x0, top), (x1, bottom)],
        BLACK.stroke_width(1),
    ))?;
    for (t, text) in ticks {
        let py = bottom - (t.clamp(0.0, 1.0) * f64::from(span)) as i32;
        area.draw(&PathElement::new(vec![(x1, py), (x1 + 4, py)], BLACK))?;
        area.draw(&Text::new(
            text.clone(),
            (x1 + 6, py - 6),
            ("sans-serif", 12),
        ))?;
    }
    area.draw(&Text::new(
        label.to_string(),
        (2, top - 24),
        ("sans-serif", 12),
    ))?;
    Ok(())
}

/// A heatmap panel: `values[iy][ix]` over `x_range` × `y_range`, coloured by viridis after
/// `transform` (e.g. log), with a title and a colour bar legend in the caption.
pub struct Heatmap<'a> {
    /// Panel title.
    pub title: String,
    /// X axis label.
    pub x_label: &'a str,
    /// Y axis label.
    pub y_label: &'a str,
    /// Grid x coordinates (ascending).
    pub xs: &'a [f64],
    /// Grid y coordinates (ascending).
    pub ys: &'a [f64],
    /// Values, row `iy`, column `ix`.
    pub values: &'a [Vec<f64>],
    /// Plot log10 of the values (for gradient norms spanning decades).
    pub log: bool,
    /// A marker (e.g. the trained weights) drawn as a cross.
    pub marker: Option<(f64, f64)>,
}

impl Heatmap<'_> {
    /// Draws the panel on `area`.
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let tr = |v: f64| {
            if self.log {
                v.max(1e-300).log10()
            } else {
                v
            }
        };
        let finite: Vec<f64> = self
            .values
            .iter()
            .flatten()
            .map(|&v| tr(v))
            .filter(|v| v.is_finite())
            .collect();
        let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
        let mut hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if self.log {
            // Show at most 8 decades below the peak so the plateau reads as one colour.
            let floor = hi - 8.0;
            let lo = lo.max(floor);
            return self.draw_scaled(area, &tr, lo, hi);
        }
        if hi <= lo {
            hi = lo + 1.0;
        }
        self.draw_scaled(area, &tr, lo, hi)
    }

    fn draw_scaled<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        tr: &dyn Fn(f64) -> f64,
        lo: f64,
        hi: f64,
    ) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let (x0, x1) = (self.xs[0], self.xs[self.xs.len() - 1]);
        let (y0, y1) = (self.ys[0], self.ys[self.ys.len() - 1]);
        let dx = (x1 - x0) / (self.xs.len().max(2) - 1) as f64;
        let dy = (y1 - y0) / (self.ys.len().max(2) - 1) as f64;
        let caption = if self.log {
            format!("{}  (log10: {lo:.1} … {hi:.1})", self.title)
        } else {
            format!("{}  ({lo:.3} … {hi:.3})", self.title)
        };
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 17))
            .margin(8)
            .x_label_area_size(38)
            .y_label_area_size(48)
            .build_cartesian_2d(
                (x0 - dx / 2.0)..(x1 + dx / 2.0),
                (y0 - dy / 2.0)..(y1 + dy / 2.0),
            )?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(self.x_label)
            .y_desc(self.y_label)
            .label_style(("sans-serif", 13))
            .draw()?;
        let span = (hi - lo).max(1e-300);
        chart.draw_series(self.ys.iter().enumerate().flat_map(|(iy, &y)| {
            self.xs.iter().enumerate().map(move |(ix, &x)| {
                let v = tr(self.values[iy][ix]);
                let t = if v.is_finite() { (v - lo) / span } else { 0.0 };
                Rectangle::new(
                    [(x - dx / 2.0, y - dy / 2.0), (x + dx / 2.0, y + dy / 2.0)],
                    viridis(t).filled(),
                )
            })
        }))?;
        if let Some((mx, my)) = self.marker {
            chart.draw_series(std::iter::once(Cross::new(
                (mx, my),
                7,
                ShapeStyle::from(&RED).stroke_width(2),
            )))?;
        }
        Ok(())
    }
}

/// Lines on one chart: `(name, points)`, optional log y.
pub struct Lines<'a> {
    /// Title.
    pub title: String,
    /// X label.
    pub x_label: &'a str,
    /// Y label.
    pub y_label: &'a str,
    /// Named series.
    pub series: Vec<(String, Vec<(f64, f64)>)>,
    /// Log-scaled y axis (non-positive values are dropped).
    pub log_y: bool,
    /// Draw point markers.
    pub points: bool,
    /// Where the legend goes (where the lines are not).
    pub legend: SeriesLabelPosition,
}

impl Lines<'_> {
    /// Draws the chart on `area`.
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let pts = || {
            self.series
                .iter()
                .flat_map(|(_, p)| p.iter().copied())
                .filter(|&(x, y)| x.is_finite() && y.is_finite() && (!self.log_y || y > 0.0))
        };
        let (mut x0, mut x1, mut y0, mut y1) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for (x, y) in pts() {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if !x0.is_finite() {
            (x0, x1, y0, y1) = (0.0, 1.0, 1.0, 10.0);
        }
        if x1 <= x0 {
            x1 = x0 + 1.0;
        }
        let mut b = ChartBuilder::on(area);
        b.caption(&self.title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(64);
        if self.log_y {
            if y1 <= y0 {
                y1 = y0 * 10.0;
            }
            let mut chart = b.build_cartesian_2d(x0..x1, (y0 / 1.5..y1 * 1.5).log_scale())?;
            chart
                .configure_mesh()
                .x_desc(self.x_label)
                .y_desc(self.y_label)
                .x_label_formatter(&|v| tick(*v))
                .y_label_formatter(&|v| log_tick(*v))
                .label_style(("sans-serif", 13))
                .draw()?;
            self.draw_series(&mut chart)?;
        } else {
            if y1 <= y0 {
                y1 = y0 + 1.0;
            }
            let pad = (y1 - y0) * 0.05;
            let mut chart = b.build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))?;
            chart
                .configure_mesh()
                .x_desc(self.x_label)
                .y_desc(self.y_label)
                .x_label_formatter(&|v| tick(*v))
                .y_label_formatter(&|v| tick(*v))
                .label_style(("sans-serif", 13))
                .draw()?;
            self.draw_series(&mut chart)?;
        }
        Ok(())
    }

    fn draw_series<'c, DB: DrawingBackend + 'c, X, Y>(
        &self,
        chart: &mut ChartContext<'c, DB, Cartesian2d<X, Y>>,
    ) -> Res<()>
    where
        DB::ErrorType: 'static,
        X: plotters::coord::ranged1d::Ranged<ValueType = f64>,
        Y: plotters::coord::ranged1d::Ranged<ValueType = f64>,
    {
        for (i, (name, p)) in self.series.iter().enumerate() {
            let c = series_color(i);
            let p: Vec<(f64, f64)> = p
                .iter()
                .copied()
                .filter(|&(x, y)| x.is_finite() && y.is_finite() && (!self.log_y || y > 0.0))
                .collect();
            chart
                .draw_series(LineSeries::new(p.clone(), c.stroke_width(2)))?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
            if self.points {
                chart.draw_series(p.iter().map(|&xy| Circle::new(xy, 3, c.filled())))?;
            }
        }
        if self.series.len() > 1 {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 13))
                .position(self.legend.clone())
                .draw()?;
        }
        Ok(())
    }
}

/// A viridis colour bar: the colour of `t` in `0..1` drawn against a value axis `lo..hi`
/// (`t` linear in the axis: for a log colour scale give the axis in log10 units and a
/// `format` that prints powers of ten, e.g. [`pow_label`]). `margins` are the (top, bottom)
/// pixels that line the bar up with the plotting area of the chart beside it; `labels` the
/// number of axis labels.
pub struct ViridisBar<'a> {
    /// The value at the bar's bottom (colour 0).
    pub lo: f64,
    /// The value at its top (colour 1).
    pub hi: f64,
    /// The axis title.
    pub label: &'a str,
    /// How many labels the axis gets.
    pub labels: usize,
    /// Each label's text from its axis value.
    pub format: &'a dyn Fn(f64) -> String,
    /// (top, bottom) margins in pixels.
    pub margins: (u32, u32),
}

impl ViridisBar<'_> {
    /// Draws the bar into `area`.
    ///
    /// # Errors
    /// The drawing backend's.
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let (lo, hi) = (self.lo, self.hi);
        let mut cb = ChartBuilder::on(area)
            .margin_top(self.margins.0)
            .margin_bottom(self.margins.1)
            .margin_right(8)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0f64..1.0, lo..hi)?;
        let steps = 100u32;
        cb.draw_series((0..steps).map(|i| {
            let a = lo + (hi - lo) * f64::from(i) / f64::from(steps);
            let b = lo + (hi - lo) * f64::from(i + 1) / f64::from(steps);
            Rectangle::new(
                [(0.0, a), (1.0, b)],
                viridis((f64::from(i) + 0.5) / f64::from(steps)).filled(),
            )
        }))?;
        cb.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_labels(self.labels)
            .y_label_formatter(&|v| (self.format)(*v))
            .y_desc(self.label)
            .label_style(("sans-serif", 12))
            .draw()?;
        Ok(())
    }
}

/// A colour-bar label for the log10 value `e`: `1e-3` at whole powers, else two digits.
pub fn pow_label(e: f64) -> String {
    if (e - e.round()).abs() < 1e-9 {
        format!("1e{}", e.round() as i64)
    } else {
        format!("{:.1e}", 10f64.powf(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Blank;

    impl Figure for Blank {
        fn size(&self) -> (u32, u32) {
            (40, 30)
        }
        fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
        where
            DB::ErrorType: 'static,
        {
            root.fill(&BLUE)?;
            Ok(())
        }
    }

    /// Every extension [`check_path`] accepts is one [`save`] can write.
    #[test]
    fn every_known_extension_is_written() {
        let dir = std::env::temp_dir().join(format!("microprop-plot-{}", std::process::id()));
        for ext in EXTENSIONS {
            for name in [format!("f.{ext}"), format!("f.{}", ext.to_uppercase())] {
                let path = dir.join(name);
                check_path("--plot", &path).unwrap();
                save(&Blank, &path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert!(std::fs::metadata(&path).unwrap().len() > 0);
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        for bad in ["foo", "f.pdf", "f.", "f.png.txt"] {
            assert!(check_path("--plot", Path::new(bad)).is_err(), "{bad}");
        }
    }
}
