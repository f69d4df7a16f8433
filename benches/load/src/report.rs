//! The tables (printed, and written as Markdown and CSV) and the chart.

use crate::Res;
use crate::cli::RunArgs;
use crate::client::Workload;
use crate::orchestrate::{Adapter, Run};
use crate::roles::CacheFigures;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::fmt::Write as _;
use std::path::Path;

/// What the figures were measured on.
pub(crate) struct Machine {
    lines: Vec<String>,
}

impl Machine {
    pub(crate) fn read(pinned: bool, args: &RunArgs) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or("unknown", |(_, m)| m.trim())
            .to_owned();
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().strip_suffix("kB"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or_else(
                || "unknown".to_owned(),
                |kb| format!("{:.1} GiB", kb as f64 / 1048576.0),
            );
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_owned();
        Self {
            lines: vec![
                format!("CPU: {model}, {cpus} CPUs; memory {mem}; Linux {kernel}"),
                format!(
                    "Settings: {} rounds (median reported, bare and fidogate alternating first) of {} s measured after {} s warm-up; {} connections pass-through, {} registering; {} worker thread(s) per server; {}",
                    args.rounds,
                    args.duration,
                    args.warmup,
                    args.connections,
                    args.register_connections,
                    args.threads,
                    if pinned {
                        "process under test on CPU 0, upstream and load generator on the others"
                    } else {
                        "no CPU pinning"
                    }
                ),
            ],
        }
    }
}

/// Writes `text` to the file `name` in `out`.
pub(crate) fn put(out: &Path, name: &str, text: &str) -> Res<()> {
    let p = out.join(name);
    std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))
}

/// The median (the mean of the middle two for an even count).
pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match (v.get(n.wrapping_sub(1) / 2), v.get(n / 2)) {
        (Some(a), Some(b)) => (a + b) / 2.0,
        _ => f64::NAN,
    }
}

/// Medians over rounds of one (adapter, variant, workload).
#[derive(Debug, Clone, Copy)]
struct Cell {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    server_cpu_us: f64,
    client_cpu_us: f64,
    errors: u64,
}

fn cell(runs: &[Run], adapter: Adapter, fidogate: bool, workload: Workload) -> Option<Cell> {
    let sel: Vec<&Run> = runs
        .iter()
        .filter(|r| r.adapter == adapter && r.fidogate == fidogate && r.workload == workload)
        .collect();
    if sel.is_empty() {
        return None;
    }
    let per = |f: &dyn Fn(&Run) -> f64| median(sel.iter().map(|r| f(r)).collect());
    let n = |r: &Run| r.outcome.requests.max(1) as f64;
    Some(Cell {
        rps: per(&|r| r.outcome.requests as f64 / r.outcome.seconds),
        p50_us: per(&|r| r.outcome.p50_us as f64),
        p99_us: per(&|r| r.outcome.p99_us as f64),
        server_cpu_us: per(&|r| r.outcome.server_cpu_s * 1e6 / n(r)),
        client_cpu_us: per(&|r| r.outcome.client_cpu_s * 1e6 / n(r)),
        errors: sel.iter().map(|r| r.outcome.errors).sum(),
    })
}

/// One round's verification alone, µs: on a quiet machine, and beside the
/// client's signing work.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VerifyAlone {
    pub(crate) quiet: f64,
    pub(crate) beside: f64,
    /// One verified-credential header's signature, beside the client.
    pub(crate) header: f64,
}

pub(crate) fn write(
    out: &Path,
    machine: &Machine,
    runs: &[Run],
    verify_us: &[VerifyAlone],
    cache: &CacheFigures,
) -> Res<()> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut md = String::new();
    let mut csv = String::from(
        "table,adapter,workload,variant,rps,p50_us,p99_us,server_cpu_us_per_unit,client_cpu_us_per_unit,errors\n",
    );
    for l in &machine.lines {
        let _ = writeln!(md, "{l}  ");
    }
    let _ = writeln!(
        md,
        "\n### Pass-through\n\n| adapter | request | bare req/s | with fidogate req/s | ratio (goal ≥ 0.97) | bare p50 / p99 µs | with p50 / p99 µs | bare CPU µs/req | with CPU µs/req | CPU ratio |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let mut chart_pass = Vec::new();
    for adapter in [Adapter::Pingora, Adapter::Axum] {
        for workload in [Workload::Get, Workload::Post] {
            let (Some(b), Some(f)) = (
                cell(runs, adapter, false, workload),
                cell(runs, adapter, true, workload),
            ) else {
                continue;
            };
            let _ = writeln!(
                md,
                "| {} | {} | {:.0} | {:.0} | {:.3} | {:.0} / {:.0} | {:.0} / {:.0} | {:.1} | {:.1} | {:.3} |",
                adapter.name(),
                workload.name().to_uppercase(),
                b.rps,
                f.rps,
                f.rps / b.rps,
                b.p50_us,
                b.p99_us,
                f.p50_us,
                f.p99_us,
                b.server_cpu_us,
                f.server_cpu_us,
                f.server_cpu_us / b.server_cpu_us,
            );
            for (variant, c) in [("bare", b), ("fidogate", f)] {
                let _ = writeln!(
                    csv,
                    "pass-through,{},{},{variant},{:.1},{:.0},{:.0},{:.2},{:.2},{}",
                    adapter.name(),
                    workload.name(),
                    c.rps,
                    c.p50_us,
                    c.p99_us,
                    c.server_cpu_us,
                    c.client_cpu_us,
                    c.errors
                );
            }
            chart_pass.push((
                format!("{} {}", adapter.name(), workload.name().to_uppercase()),
                b.rps,
                f.rps,
            ));
        }
    }
    let quiet = median(verify_us.iter().map(|v| v.quiet).collect());
    let verify = median(verify_us.iter().map(|v| v.beside).collect());
    let header = median(verify_us.iter().map(|v| v.header).collect());
    let _ = writeln!(
        md,
        "\n### Registrations (packed attestation, x5c chain to a trusted root, ES256)\n\nVerification alone, the same registration on CPU 0: **{verify:.1} µs** beside the client's signing work on the other CPU (as during the registration runs; the ratios use this), {quiet:.1} µs on a quiet machine. One verified-credential header signed (ES256), beside the client: **{header:.1} µs**. The bound is what no gateway can do without: verification, the header's signature, and what the same adapter spends carrying the two HTTP exchanges without fidogate: its bare CPU per `carry` unit (the options request and the registration posted through it to the app, the authenticator signing between them, on as many connections as the registration runs, so the adapter sees the same bodies at the same pace). 2 × its bare POST CPU from the saturated pass-through runs is beside it: at saturation a wake-up serves many requests, at a registration's pace it serves one.\n\n| adapter | registrations/s | p50 / p99 ms | gateway CPU µs/registration | client CPU µs/registration | gateway CPU / verification | carrying cost µs | 2 × saturated POST µs | bound µs (verification + header + carrying) | gateway CPU / bound | goal (≤ 1.15) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    let mut chart_reg = Vec::new();
    for adapter in [Adapter::Pingora, Adapter::Axum] {
        let (Some(r), Some(carry), Some(bare_post)) = (
            cell(runs, adapter, true, Workload::Register),
            cell(runs, adapter, false, Workload::Carry),
            cell(runs, adapter, false, Workload::Post),
        ) else {
            continue;
        };
        let carrying = carry.server_cpu_us;
        let bound = verify + header + carrying;
        let ratio = r.server_cpu_us / bound;
        let _ = writeln!(
            md,
            "| {} | {:.0} | {:.2} / {:.2} | {:.1} | {:.1} | {:.3} | {:.1} | {:.1} | {:.1} | {:.3} | {} |",
            adapter.name(),
            r.rps,
            r.p50_us / 1000.0,
            r.p99_us / 1000.0,
            r.server_cpu_us,
            r.client_cpu_us,
            r.server_cpu_us / verify,
            carrying,
            2.0 * bare_post.server_cpu_us,
            bound,
            ratio,
            if ratio <= 1.15 { "met" } else { "missed" },
        );
        let _ = writeln!(
            csv,
            "registration,{},register,fidogate,{:.1},{:.0},{:.0},{:.2},{:.2},{}",
            adapter.name(),
            r.rps,
            r.p50_us,
            r.p99_us,
            r.server_cpu_us,
            r.client_cpu_us,
            r.errors
        );
        let _ = writeln!(
            csv,
            "registration,{},carry,bare,{:.1},{:.0},{:.0},{:.2},{:.2},{}",
            adapter.name(),
            carry.rps,
            carry.p50_us,
            carry.p99_us,
            carry.server_cpu_us,
            carry.client_cpu_us,
            carry.errors
        );
        let _ = writeln!(
            csv,
            "registration,{},bound,verification+header+carrying,,,,{bound:.2},,0",
            adapter.name()
        );
        chart_reg.push((adapter.name().to_owned(), r.server_cpu_us));
    }
    let _ = writeln!(
        csv,
        "registration,none,sign-header-alone,beside-client,,,,{header:.2},,0"
    );
    let _ = writeln!(
        csv,
        "registration,none,verify-alone,beside-client,,,,{verify:.2},,0"
    );
    let _ = writeln!(csv, "registration,none,verify-alone,quiet,,,,{quiet:.2},,0");
    let (entries, bytes) = (cache.entries, cache.resident_bytes);
    let mib = bytes as f64 / 1048576.0;
    let issue_take = cache.issue_take_ns;
    let _ = writeln!(
        md,
        "\n### Challenge cache\n\n| pending challenges | resident memory added | bytes per challenge | goal (< 200 MiB) | issue + take on the full store |\n|---:|---:|---:|---|---:|\n| {entries} | {mib:.1} MiB | {:.0} | {} | {:.2} µs |",
        bytes as f64 / entries.max(1) as f64,
        if mib < 200.0 { "met" } else { "missed" },
        issue_take / 1000.0,
    );
    let _ = writeln!(
        csv,
        "cache,moka,issue-take,{entries},,,,{:.3},,0",
        issue_take / 1000.0
    );
    let _ = writeln!(csv, "cache,moka,resident-mib,{entries},,,,{mib:.1},,0");

    let mut runs_csv = String::from(
        "round,adapter,variant,workload,requests,errors,seconds,p50_us,p99_us,max_us,server_cpu_s,client_cpu_s\n",
    );
    for r in runs {
        let o = &r.outcome;
        let _ = writeln!(
            runs_csv,
            "{},{},{},{},{},{},{},{},{},{},{:.3},{:.3}",
            r.round,
            r.adapter.name(),
            if r.fidogate { "fidogate" } else { "bare" },
            r.workload.name(),
            o.requests,
            o.errors,
            o.seconds,
            o.p50_us,
            o.p99_us,
            o.max_us,
            o.server_cpu_s,
            o.client_cpu_s
        );
    }
    print!("\n{md}");
    put(out, "gateway.md", &md)?;
    put(out, "gateway.csv", &csv)?;
    put(out, "gateway-runs.csv", &runs_csv)?;
    let png = out.join("gateway.png");
    match chart(&png, &chart_pass, &chart_reg, verify) {
        Ok(()) => eprintln!(
            "gateway-load: wrote {} (gateway.md, gateway.csv, gateway-runs.csv, gateway.png)",
            out.display()
        ),
        Err(e) => eprintln!("gateway-load: no chart ({e}); the tables and CSV are written"),
    }
    Ok(())
}

const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

pub(crate) fn register_font() -> Res<()> {
    let bytes = FONT_PATHS
        .iter()
        .find_map(|p| std::fs::read(p).ok())
        .ok_or("no DejaVu Sans font found (Debian: fonts-dejavu-core)")?;
    plotters::style::register_font(
        "sans-serif",
        FontStyle::Normal,
        Box::leak(bytes.into_boxed_slice()),
    )
    .map_err(|_| "the font could not be read".to_owned())
}

const BARE: RGBColor = RGBColor(120, 120, 120);
const FIDOGATE: RGBColor = RGBColor(31, 119, 180);

/// A labelled group of bars, each with its colour.
pub(crate) type Group = (String, Vec<(f64, RGBColor)>);

/// Groups of bars on one panel: each bar 2 units wide, a 1-unit gap
/// after each group, the label under the group's middle. Every group has
/// as many bars as the first.
pub(crate) fn bar_panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    caption: &str,
    y_desc: &str,
    groups: &[Group],
    legend: &[(&str, RGBColor)],
) -> Res<()> {
    let err = |e: &dyn std::fmt::Display| format!("chart: {e}");
    let bars = i32::try_from(groups.first().map_or(1, |g| g.1.len().max(1))).unwrap_or(1);
    let width = 2 * bars + 1;
    let n = i32::try_from(groups.len()).unwrap_or(0);
    let ymax = groups
        .iter()
        .flat_map(|g| g.1.iter().map(|b| b.0))
        .fold(1.0, f64::max)
        * 1.15;
    let mut c = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(34)
        .y_label_area_size(80)
        .build_cartesian_2d(0..n * width, 0f64..ymax)
        .map_err(|e| err(&e))?;
    c.configure_mesh()
        .disable_x_mesh()
        .x_labels(usize::try_from(n * width + 1).unwrap_or(1))
        .x_label_formatter(&|x| {
            if x.rem_euclid(width) == bars {
                usize::try_from(x / width)
                    .ok()
                    .and_then(|i| groups.get(i))
                    .map(|g| g.0.clone())
                    .unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| format!("{y:.0}"))
        .y_desc(y_desc)
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|e| err(&e))?;
    for (i, (_, values)) in groups.iter().enumerate() {
        let x0 = i32::try_from(i).unwrap_or(0) * width;
        c.draw_series(values.iter().enumerate().map(|(j, (v, colour))| {
            let x = x0 + 2 * i32::try_from(j).unwrap_or(0);
            Rectangle::new([(x, 0.0), (x + 2, *v)], colour.filled())
        }))
        .map_err(|e| err(&e))?;
    }
    if legend.is_empty() {
        return Ok(());
    }
    for &(name, colour) in legend {
        c.draw_series(std::iter::once(Rectangle::new(
            [(0, 0.0), (0, 0.0)],
            colour.filled(),
        )))
        .map_err(|e| err(&e))?
        .label(name)
        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], colour.filled()));
    }
    c.configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(|e| err(&e))
}

/// Bars: pass-through requests/s bare vs with fidogate, and gateway CPU
/// per registration beside verification alone.
fn chart(path: &Path, pass: &[(String, f64, f64)], reg: &[(String, f64)], verify: f64) -> Res<()> {
    register_font()?;
    let root = BitMapBackend::new(path, (1200, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| format!("chart: {e}"))?;
    let (left, right) = root.split_horizontally(760);
    let pass: Vec<Group> = pass
        .iter()
        .map(|(name, bare, with)| (name.clone(), vec![(*bare, BARE), (*with, FIDOGATE)]))
        .collect();
    bar_panel(
        &left,
        "Pass-through requests/s (bare vs with fidogate)",
        "requests/s",
        &pass,
        &[("bare", BARE), ("with fidogate", FIDOGATE)],
    )?;
    let reg: Vec<Group> = std::iter::once(("verification alone".to_owned(), vec![(verify, BARE)]))
        .chain(
            reg.iter()
                .map(|(a, v)| (format!("{a} gateway"), vec![(*v, FIDOGATE)])),
        )
        .collect();
    bar_panel(&right, "CPU per registration (µs)", "µs", &reg, &[])?;
    root.present().map_err(|e| format!("chart: {e}"))
}
