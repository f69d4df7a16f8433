//! The whole run: every variant, rounds alternating which goes first, the
//! tables, CSVs and the chart.

use crate::cli::RunArgs;
use crate::client::{Outcome, Workload};
use crate::process::{Harness, free_port};
use crate::{Res, report, roles};

/// The gateway variants: adapter and whether fidogate is in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Adapter {
    Pingora,
    Axum,
}

impl Adapter {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Pingora => "pingora",
            Self::Axum => "axum",
        }
    }
}

/// One measured run.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) round: usize,
    pub(crate) adapter: Adapter,
    pub(crate) fidogate: bool,
    pub(crate) workload: Workload,
    pub(crate) outcome: Outcome,
}

pub(crate) fn orchestrate(args: &RunArgs) -> Res<()> {
    let h = Harness::new(args)?;
    match &h.pins {
        Some((server, others)) => eprintln!(
            "gateway-load: process under test on CPU {server}, upstream and client on CPUs {others}"
        ),
        None => eprintln!(
            "gateway-load: no CPU pinning (--no-pin, a single allowed CPU, or taskset unavailable): client and server share the CPUs"
        ),
    }
    let upstream_addr = free_port()?;
    let mut upstream = h.spawn(
        false,
        &h.exe,
        &argv(&[
            &"app",
            &"--listen",
            &upstream_addr,
            &"--threads",
            &args.threads,
        ]),
        "upstream app",
    )?;
    h.wait_ready(&mut upstream, upstream_addr)?;

    let mut runs = Vec::new();
    let mut verify_us = Vec::new();
    for round in 0..args.rounds {
        for adapter in [Adapter::Pingora, Adapter::Axum] {
            // Alternate which variant goes first, so that drift over a
            // round (the machine, the upstream's state) does not favour one.
            let order = if round % 2 == 0 {
                [false, true]
            } else {
                [true, false]
            };
            for fidogate in order {
                let listen = free_port()?;
                let what = format!(
                    "{} {}",
                    adapter.name(),
                    if fidogate { "with fidogate" } else { "bare" }
                );
                let (program, pargs) = match (adapter, fidogate) {
                    (Adapter::Pingora, false) => (
                        h.exe.clone(),
                        argv(&[
                            &"pingora",
                            &"--listen",
                            &listen,
                            &"--upstream",
                            &upstream_addr,
                            &"--threads",
                            &args.threads,
                        ]),
                    ),
                    (Adapter::Pingora, true) => {
                        let config =
                            h.fidogate_config(listen, upstream_addr, args.threads, None)?;
                        (
                            h.fidogate.clone(),
                            argv(&[&"run", &"--config", &config.display()]),
                        )
                    }
                    (Adapter::Axum, layer) => {
                        let mut v =
                            argv(&[&"app", &"--listen", &listen, &"--threads", &args.threads]);
                        if layer {
                            v.push("--layer".to_owned());
                        }
                        (h.exe.clone(), v)
                    }
                };
                let mut server = h.spawn(true, &program, &pargs, &what)?;
                h.wait_ready(&mut server, listen)?;
                let workloads: &[Workload] = if fidogate {
                    &[Workload::Get, Workload::Post, Workload::Register]
                } else {
                    &[Workload::Get, Workload::Post, Workload::Carry]
                };
                for &workload in workloads {
                    let connections = if matches!(workload, Workload::Register | Workload::Carry) {
                        args.register_connections
                    } else {
                        args.connections
                    };
                    let outcome: Outcome = h.output(
                        false,
                        &argv(&[
                            &"load",
                            &"--target",
                            &listen,
                            &"--workload",
                            &workload.name(),
                            &"--connections",
                            &connections,
                            &"--warmup",
                            &args.warmup,
                            &"--duration",
                            &args.duration,
                            &"--max-requests",
                            &args.max_requests,
                            &"--server-pid",
                            &server.pid(),
                        ]),
                        &format!("load {} on {what}", workload.name()),
                    )?;
                    eprintln!(
                        "round {round}: {what:<22} {:<8} {:>9.0} /s  p50 {:>6} us  p99 {:>6} us  server CPU {:>7.1} us/unit  errors {}",
                        workload.name(),
                        outcome.requests as f64 / outcome.seconds,
                        outcome.p50_us,
                        outcome.p99_us,
                        outcome.server_cpu_s * 1e6 / outcome.requests.max(1) as f64,
                        outcome.errors,
                    );
                    runs.push(Run {
                        round,
                        adapter,
                        fidogate,
                        workload,
                        outcome,
                    });
                }
                drop(server);
            }
        }
        // Verification alone, once on a quiet machine and once beside the
        // client's signing work on the other CPUs (the neighbour the
        // gateway has during registration runs).
        // The header's signature is timed beside it too: with
        // verification, it is what no gateway can do without.
        let verify_alone = |beside: &str, header: bool| -> Res<f64> {
            let mut a = argv(&[
                &"verify-alone",
                &"--batches",
                &args.verify_batches,
                &"--per-batch",
                &args.verify_per_batch,
            ]);
            let what = if header {
                a.push("--header".to_owned());
                "the header's signature alone"
            } else {
                "verification alone"
            };
            let us: f64 = h.output(true, &a, what)?;
            eprintln!("round {round}: {what} {us:.1} us ({beside})");
            Ok(us)
        };
        let quiet = verify_alone("quiet", false)?;
        let neighbour = h.spawn(
            false,
            &h.exe,
            &argv(&[&"burn", &"--seconds", &120]),
            "signing neighbour",
        )?;
        let beside = verify_alone("beside the client's signing", false)?;
        let header = verify_alone("beside the client's signing", true)?;
        drop(neighbour);
        verify_us.push(report::VerifyAlone {
            quiet,
            beside,
            header,
        });
    }
    drop(upstream);
    let cache: roles::CacheFigures = h.output(
        true,
        &argv(&[&"cache", &"--entries", &args.cache_entries]),
        "challenge cache",
    )?;
    let machine = report::Machine::read(h.pins.is_some(), args);
    report::write(&args.out, &machine, &runs, &verify_us, &cache)
}

/// Command-line arguments from displayable values.
fn argv(items: &[&dyn std::fmt::Display]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}
