//! Draws the README's plots from the bench results:
//!
//! ```text
//! cargo bench -p benches --bench decode --bench encode   # criterion, optional
//! cargo bench -p benches --bench fanout                  # writes results/fanout.csv
//! cargo run -p benches --bin plots                       # writes plots/*.svg
//! ```
//!
//! The results live in `benches/results/*.csv` (committed, so the plots can be
//! drawn again without running the benches). When criterion's own results of
//! the decode and encode benches are in the target directory, they replace
//! `decode.csv` and `encode.csv` first.

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// A table of results: its columns (after the first, which names the row)
/// and its rows, as text.
struct Table {
    columns: Vec<String>,
    rows: Vec<(String, Vec<String>)>,
}

impl Table {
    /// The number in row `row`, column `column`, if it is one.
    fn number(&self, row: usize, column: usize) -> Option<f64> {
        self.rows.get(row)?.1.get(column)?.parse().ok()
    }
}

/// A criterion bench whose throughput is plotted: its groups are
/// `<name>/<corpus><suffix>`, and each function one bar of a corpus.
struct ThroughputBench {
    name: &'static str,
    title: &'static str,
    unit: &'static str,
    corpora: &'static [&'static str],
    suffix: &'static str,
    /// (criterion function, column name)
    functions: &'static [(&'static str, &'static str)],
}

const DECODE_BENCH: ThroughputBench = ThroughputBench {
    name: "decode",
    title: "Decode",
    unit: "MiB/s, 8 KiB chunks",
    corpora: &["small_json", "chat_tokens", "multiline", "crlf_mixed"],
    suffix: "/8KiB",
    functions: &[
        ("sse-codec-borrowed", "sse-codec borrowed"),
        ("sse-codec", "sse-codec owned"),
        ("sse-stream", "sse-stream 0.3"),
        ("sse-core", "sse-core 0.2"),
        ("eventsource-stream", "eventsource-stream 0.2"),
    ],
};

const ENCODE_BENCH: ThroughputBench = ThroughputBench {
    name: "encode",
    title: "Encode",
    unit: "MiB/s",
    corpora: &["small_json", "chat_tokens", "large"],
    suffix: "",
    functions: &[
        ("sse-codec", "sse-codec Event::encode"),
        ("sse-codec-ref", "sse-codec EventRef::encode"),
        ("sse-stream", "sse-stream"),
        ("axum", "axum Sse"),
        ("warp", "warp sse::reply"),
    ],
};

fn main() -> Result<()> {
    let benches = Path::new(env!("CARGO_MANIFEST_DIR"));
    let results = benches.join("results");
    let plots = benches.join("plots");
    fs::create_dir_all(&plots)?;
    let criterion = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| benches.join("../target"), PathBuf::from)
        .join("criterion");
    for bench in [&DECODE_BENCH, &ENCODE_BENCH] {
        let csv = results.join(format!("{}.csv", bench.name));
        if let Some(table) = from_criterion(&criterion, bench) {
            write_csv(
                &csv,
                &format!("{}; criterion's latest run", bench.unit),
                &table,
            )?;
        }
        let title = format!("{} throughput ({})", bench.title, bench.unit);
        bars(
            &plots.join(format!("{}.svg", bench.name)),
            &title,
            &read_csv(&csv)?,
        )?;
    }
    let fanout = read_csv(&results.join("fanout.csv"))?;
    fanout_plots(&plots, &fanout)?;
    for name in ["decode", "encode", "fanout", "memory"] {
        println!("{}", plots.join(format!("{name}.svg")).display());
    }
    Ok(())
}

/// Reads criterion's estimates of `bench`'s corpora and functions, as
/// MiB/s; `None` unless every one is there.
fn from_criterion(dir: &Path, bench: &ThroughputBench) -> Option<Table> {
    let mut rows = Vec::new();
    for corpus in bench.corpora {
        let group = format!("{}/{corpus}{}", bench.name, bench.suffix).replace('/', "_");
        let mut row = Vec::new();
        for (function, _) in bench.functions {
            let at = dir.join(&group).join(function).join("new");
            let read = |file: &str| -> Option<serde_json::Value> {
                serde_json::from_str(&fs::read_to_string(at.join(file)).ok()?).ok()
            };
            let mean_ns = read("estimates.json")?["mean"]["point_estimate"].as_f64()?;
            let bytes = read("benchmark.json")?["throughput"]["Bytes"].as_f64()?;
            row.push(format!(
                "{:.0}",
                bytes / (mean_ns * 1e-9) / f64::from(1 << 20)
            ));
        }
        rows.push(((*corpus).to_owned(), row));
    }
    Some(Table {
        columns: bench
            .functions
            .iter()
            .map(|(_, c)| (*c).to_owned())
            .collect(),
        rows,
    })
}

fn write_csv(path: &Path, note: &str, table: &Table) -> Result<()> {
    let mut out = format!("# {note}\ncorpus,{}\n", table.columns.join(","));
    for (name, cells) in &table.rows {
        out.push_str(&format!("{name},{}\n", cells.join(",")));
    }
    fs::write(path, out)?;
    Ok(())
}

/// A CSV of ours: `#` lines are comments, the first other line the header.
fn read_csv(path: &Path) -> Result<Table> {
    let text = fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
    let mut lines = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty());
    let header = lines
        .next()
        .ok_or_else(|| format!("{}: no header", path.display()))?;
    let columns = header.split(',').skip(1).map(str::to_owned).collect();
    let rows = lines
        .map(|line| {
            let mut cells = line.split(',');
            let name = cells.next().unwrap_or_default().to_owned();
            (name, cells.map(str::to_owned).collect())
        })
        .collect();
    Ok(Table { columns, rows })
}

const COLORS: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0x6b, 0xae, 0xd6),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
];

/// Grouped bars: one group per row, one bar per column.
fn bars(path: &Path, title: &str, table: &Table) -> Result<()> {
    let max = (0..table.rows.len())
        .flat_map(|r| (0..table.columns.len()).filter_map(move |c| table.number(r, c)))
        .fold(0.0f64, f64::max);
    let groups = table.rows.len();
    let per = table.columns.len();
    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..groups as f64, 0.0..max * 1.1)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(groups * 2 + 1)
        .x_label_formatter(&|x| {
            let i = (x - 0.5).round();
            if (x - 0.5 - i).abs() < 1e-6 && i >= 0.0 {
                table
                    .rows
                    .get(i as usize)
                    .map_or_else(String::new, |r| r.0.clone())
            } else {
                String::new()
            }
        })
        .y_desc("MiB/s")
        .draw()?;
    let width = 0.8 / per as f64;
    for (c, column) in table.columns.iter().enumerate() {
        let color = COLORS[c % COLORS.len()];
        let rects = (0..groups).filter_map(|g| {
            let v = table.number(g, c)?;
            let x0 = g as f64 + 0.1 + c as f64 * width;
            Some(Rectangle::new(
                [(x0, 0.0), (x0 + width * 0.9, v)],
                color.filled(),
            ))
        });
        chart
            .draw_series(rects)?
            .label(column)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Delivered events per second and memory per idle connection against the
/// number of subscribers, one line per server.
fn fanout_plots(dir: &Path, table: &Table) -> Result<()> {
    let column = |name: &str| table.columns.iter().position(|c| c == name);
    let (Some(server), Some(rate), Some(rss)) = (
        column("server"),
        column("delivered_per_s"),
        column("rss_per_sub_bytes"),
    ) else {
        return Err(
            "fanout.csv: expected columns server, delivered_per_s, rss_per_sub_bytes".into(),
        );
    };
    // Each server's points, in the order the servers first appear.
    let mut names: Vec<&str> = Vec::new();
    for (_, cells) in &table.rows {
        let name = cells.get(server).map_or("", String::as_str);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let points = |value: usize, scale: f64| -> Vec<(String, Vec<(f64, f64)>)> {
        names
            .iter()
            .map(|&name| {
                let pts = (0..table.rows.len())
                    .filter(|&r| table.rows[r].1.get(server).is_some_and(|s| s == name))
                    .filter_map(|r| {
                        Some((
                            table.rows[r].0.parse().ok()?,
                            table.number(r, value)? / scale,
                        ))
                    })
                    .collect();
                (legend(name).to_owned(), pts)
            })
            .collect()
    };
    lines(
        &dir.join("fanout.svg"),
        "Fan-out: events delivered per second (millions)",
        "delivered/s (M)",
        &points(rate, 1e6),
    )?;
    lines(
        &dir.join("memory.svg"),
        "Server memory per idle connection (KiB)",
        "KiB per connection",
        &points(rss, 1024.0),
    )
}

/// What a server of the fan-out bench is, for a legend.
fn legend(server: &str) -> &str {
    match server {
        "hub" => "sse-hub + sse-axum (one encode, shared log)",
        "baseline" => "axum Sse + tokio broadcast (encode per client)",
        other => other,
    }
}

fn lines(
    path: &Path,
    title: &str,
    y_desc: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> Result<()> {
    let all = series.iter().flat_map(|(_, p)| p.iter());
    let (x_min, x_max, y_max) = all.fold((f64::MAX, 0.0f64, 0.0f64), |(a, b, c), &(x, y)| {
        (a.min(x), b.max(x), c.max(y))
    });
    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((x_min..x_max).log_scale(), 0.0..y_max * 1.2)?;
    chart
        .configure_mesh()
        .x_desc("subscribers (idle connections), log scale")
        .y_desc(y_desc)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()?;
    for (i, (name, pts)) in series.iter().enumerate() {
        let color = COLORS[(i * 2) % COLORS.len()];
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(3)))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 5, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
