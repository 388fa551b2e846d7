//! The `--plot` roofline chart: log-log axes of arithmetic intensity
//! (FLOP/byte) against attainable GFLOP/s, the roof (bandwidth slope and
//! compute peak), the ridge point, and one point per op that does
//! arithmetic, on the roof where the model puts it. Point area is
//! proportional to the op's share of the predicted time; the heaviest ops
//! and the intensity extremes are labelled. Drawn with plotters' SVG backend,
//! which writes text as SVG `<text>` elements (no font files needed).

use nnc_analysis::{Analysis, Bound, NodeAnalysis};
use nnc_ir::Graph;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::fmt;
use std::path::{Path, PathBuf};

/// Why the roofline chart cannot be drawn or written.
#[derive(Debug)]
pub enum PlotError {
    /// The platform (named) has no positive peak and bandwidth: no roof.
    NoRoof(String),
    /// plotters failed (its error, as debug text).
    Draw(String),
    /// The SVG file cannot be written.
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl fmt::Display for PlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlotError::NoRoof(name) => {
                write!(f, "platform `{name}` has no positive peak and bandwidth")
            }
            PlotError::Draw(e) => write!(f, "plotting failed: {e}"),
            PlotError::Write { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for PlotError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PlotError::Write { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Writes the roofline chart of `a` as an SVG file.
pub fn plot_roofline(a: &Analysis, g: &Graph, path: &Path) -> Result<(), PlotError> {
    let svg = roofline_svg(a, g)?;
    std::fs::write(path, svg).map_err(|error| PlotError::Write {
        path: path.to_path_buf(),
        error,
    })
}

fn decade_floor(x: f64) -> f64 {
    10f64.powf(x.log10().floor())
}

fn decade_ceil(x: f64) -> f64 {
    10f64.powf(x.log10().ceil())
}

fn tick_label(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v >= 1.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').to_string()
    }
}

/// The roofline chart of `a` as SVG text.
pub fn roofline_svg(a: &Analysis, g: &Graph) -> Result<String, PlotError> {
    let p = &a.platform;
    if !(p.peak_gflops > 0.0 && p.bandwidth_gbs > 0.0) {
        return Err(PlotError::NoRoof(p.name.clone()));
    }
    let ridge = p.ridge_intensity();
    let pts: Vec<&NodeAnalysis> = a
        .nodes
        .iter()
        .filter(|n| n.cost.flops > 0 && n.cost.mac > 0)
        .collect();
    let hidden = a.nodes.len() - pts.len();
    let (mut lo, mut hi) = (ridge / 10.0, ridge * 10.0);
    for n in &pts {
        let i = n.cost.intensity();
        lo = lo.min(i);
        hi = hi.max(i);
    }
    let (x0, x1) = (decade_floor(lo * 0.7), decade_ceil(hi * 1.4));
    let (y0, y1) = (
        decade_floor(p.attainable_gflops(x0) * 0.7),
        decade_ceil(p.peak_gflops * 2.5),
    );
    let total_ms = a.totals.predicted_ms;
    let share = |n: &NodeAnalysis| {
        if total_ms > 0.0 {
            n.predicted_ms / total_ms
        } else {
            0.0
        }
    };

    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (1000, 640)).into_drawing_area();
        let err = |e: DrawingAreaErrorKind<_>| PlotError::Draw(format!("{e:?}"));
        root.fill(&WHITE).map_err(err)?;
        let title = format!(
            "Roofline of `{}` on {} ({:.1} GFLOP/s, {:.1} GB/s)",
            g.name, p.name, p.peak_gflops, p.bandwidth_gbs
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("arithmetic intensity (FLOP / byte of memory access)")
            .y_desc("attainable GFLOP/s")
            .x_label_formatter(&|v| tick_label(*v))
            .y_label_formatter(&|v| tick_label(*v))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(200, 200, 200))
            .draw()
            .map_err(err)?;

        let roof_color = RGBColor(40, 40, 140);
        chart
            .draw_series(LineSeries::new(
                vec![
                    (x0, p.attainable_gflops(x0)),
                    (ridge, p.peak_gflops),
                    (x1, p.peak_gflops),
                ],
                roof_color.stroke_width(3),
            ))
            .map_err(err)?;
        let ridge_style = ShapeStyle::from(&roof_color).filled();
        chart
            .draw_series(std::iter::once(Circle::new(
                (ridge, p.peak_gflops),
                6,
                ridge_style,
            )))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(Text::new(
                format!("ridge {ridge:.1} FLOP/B"),
                (ridge * 1.08, p.peak_gflops * 1.25),
                ("sans-serif", 14).into_font().color(&roof_color),
            )))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(Text::new(
                format!("peak {:.1} GFLOP/s", p.peak_gflops),
                (x1 / 12.0, p.peak_gflops * 1.25),
                ("sans-serif", 14).into_font().color(&roof_color),
            )))
            .map_err(err)?;
        // Slope label halfway along the bandwidth roof (in log space).
        let xm = (x0 * ridge).sqrt();
        chart
            .draw_series(std::iter::once(Text::new(
                format!("{:.1} GB/s", p.bandwidth_gbs),
                (xm * 0.3, p.attainable_gflops(xm) * 1.5),
                ("sans-serif", 14).into_font().color(&roof_color),
            )))
            .map_err(err)?;

        let compute = RGBColor(0, 140, 70);
        let memory = RGBColor(220, 110, 0);
        // Largest first, so small points stay visible on top.
        let mut sorted = pts.clone();
        sorted.sort_by(|x, y| y.predicted_ms.total_cmp(&x.predicted_ms));
        chart
            .draw_series(sorted.iter().map(|n| {
                let i = n.cost.intensity();
                let c = if n.bound == Bound::Compute {
                    compute
                } else {
                    memory
                };
                let r = 3.0 + 14.0 * share(n).sqrt();
                Circle::new((i, p.attainable_gflops(i)), r as i32, c.mix(0.55).filled())
            }))
            .map_err(err)?;

        // Labels go to clusters of points at (almost) the same intensity,
        // named after their heaviest op: the heaviest clusters by time and
        // the two intensity extremes.
        let clusters = cluster(&pts, &share);
        let mut picked: Vec<usize> = (0..clusters.len()).collect();
        picked.sort_by(|&x, &y| clusters[y].share.total_cmp(&clusters[x].share));
        picked.truncate(6);
        if !clusters.is_empty() {
            picked.push(0);
            picked.push(clusters.len() - 1);
        }
        picked.sort_unstable();
        picked.dedup();
        // Greedy placement: each label takes the first of 5 rows below the
        // roof where its estimated extent (log10 x, ~7 px per char) is free.
        let decades = (x1 / x0).log10().max(1e-9);
        let px_per_decade = 880.0 / decades;
        let mut rows: Vec<Vec<(f64, f64)>> = vec![Vec::new(); 5];
        for &ci in &picked {
            let c = &clusters[ci];
            let i = c.intensity;
            let y = p.attainable_gflops(i);
            let name = &g.node(c.heaviest).name;
            let label = if c.count > 1 {
                format!("{name} (+{} alike) {:.0}%", c.count - 1, c.share * 100.0)
            } else {
                format!("{name} {:.0}%", c.share * 100.0)
            };
            let right = i > x1 / 20.0;
            let w = (label.chars().count() as f64 * 7.0 + 8.0) / px_per_decade;
            let lx = i.log10();
            let ext = if right { (lx - w, lx) } else { (lx, lx + w) };
            let level = (0..rows.len())
                .find(|&r| rows[r].iter().all(|&(a, b)| ext.1 < a || ext.0 > b))
                .unwrap_or(rows.len() - 1);
            rows[level].push(ext);
            let f = [0.55, 0.36, 0.24, 0.16, 0.105][level];
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(i, y), (i, y * f * 1.1)],
                    RGBColor(120, 120, 120),
                )))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    label,
                    (i, y * f),
                    ("sans-serif", 12).into_font().color(&BLACK).pos(Pos::new(
                        // Near the right edge, end the label at the point.
                        if right { HPos::Right } else { HPos::Left },
                        VPos::Top,
                    )),
                )))
                .map_err(err)?;
        }

        // Legend, drawn by hand in the lower right corner of the plot area.
        let (w, h) = root.dim_in_pixel();
        let lx = w as i32 - 330;
        let ly = h as i32 - 170;
        let items = [
            (compute, "compute-bound op".to_string()),
            (memory, "memory-bound op".to_string()),
        ];
        for (k, (c, s)) in items.iter().enumerate() {
            let y = ly + 20 * k as i32;
            root.draw(&Circle::new((lx, y), 6, c.mix(0.55).filled()))
                .map_err(err)?;
            root.draw(&Text::new(
                s.clone(),
                (lx + 14, y - 7),
                ("sans-serif", 13).into_font(),
            ))
            .map_err(err)?;
        }
        let notes = [
            "point area ∝ share of predicted time".to_string(),
            format!(
                "{hidden} {} without FLOPs (data movement) not shown",
                if hidden == 1 { "op" } else { "ops" }
            ),
            format!("predicted total {:.3} ms", a.totals.predicted_ms),
        ];
        for (k, s) in notes.iter().enumerate() {
            root.draw(&Text::new(
                s.clone(),
                (lx - 6, ly + 40 + 18 * k as i32 - 7),
                ("sans-serif", 13).into_font().color(&RGBColor(80, 80, 80)),
            ))
            .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(out)
}

/// Points at nearly the same intensity (within 3%), in intensity order.
struct Cluster {
    intensity: f64,
    share: f64,
    count: usize,
    heaviest: nnc_ir::NodeId,
}

fn cluster(pts: &[&NodeAnalysis], share: &dyn Fn(&NodeAnalysis) -> f64) -> Vec<Cluster> {
    let mut sorted: Vec<&NodeAnalysis> = pts.to_vec();
    sorted.sort_by(|x, y| x.cost.intensity().total_cmp(&y.cost.intensity()));
    let mut out: Vec<(Cluster, f64)> = Vec::new();
    for n in sorted {
        let i = n.cost.intensity();
        let s = share(n);
        match out.last_mut() {
            Some((c, best)) if i <= c.intensity * 1.03 => {
                c.share += s;
                c.count += 1;
                if n.predicted_ms > *best {
                    *best = n.predicted_ms;
                    c.heaviest = n.id;
                }
            }
            _ => out.push((
                Cluster {
                    intensity: i,
                    share: s,
                    count: 1,
                    heaviest: n.id,
                },
                n.predicted_ms,
            )),
        }
    }
    out.into_iter().map(|(c, _)| c).collect()
}
