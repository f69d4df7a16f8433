//! Pass-through over TLS: bare Pingora with a TLS listener against
//! `fidogate run` with one, in front of the same app, rounds alternating
//! which goes first. Both use rustls on aws-lc-rs with the same
//! certificate; the client keeps its connections (HTTP/1.1 by ALPN), so
//! what is measured is the steady state: records decrypted and encrypted,
//! requests proxied. `fidogate run` records its metrics (a metrics
//! listener is configured, as in the default configuration).

use crate::cli::RunArgs;
use crate::client::{Outcome, Workload};
use crate::process::{Harness, Proc, free_port};
use crate::{Res, report};
use fidogate_testkit::certs::{root_ca, tls_server};
use fidogate_testkit::keys::{SigningKey, alg};
use std::fmt::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Waits until something listens on `addr` (the TLS listeners answer no
/// plain request).
fn wait_listening(p: &mut Proc, addr: SocketAddr) -> Res<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = p.child.try_wait() {
            return Err(format!("{} exited at start ({status})", p.what));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("{} did not listen on {addr} within 20 s", p.what))
}

/// `gateway-load tls`: the table of pass-through over TLS.
pub(crate) fn tls(args: &RunArgs) -> Res<()> {
    let h = Harness::new(args)?;
    let ca = root_ca("gateway-load TLS CA", SigningKey::generate(alg::ES256, 60));
    let (server, key) = tls_server(&["127.0.0.1", "localhost"], 61, &ca);
    let (ca_file, cert_file, key_file) = (
        h.dir.join("tls-ca.pem"),
        h.dir.join("tls-cert.pem"),
        h.dir.join("tls-key.pem"),
    );
    for (path, text) in [
        (&ca_file, ca.pem()),
        (&cert_file, server.pem()),
        (&key_file, key),
    ] {
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let upstream_addr = free_port()?;
    let mut upstream = h.spawn(
        false,
        &h.exe,
        &[
            "app".into(),
            "--listen".into(),
            upstream_addr.to_string(),
            "--threads".into(),
            args.threads.to_string(),
        ],
        "upstream app",
    )?;
    h.wait_ready(&mut upstream, upstream_addr)?;

    let mut runs: Vec<(bool, Workload, Outcome)> = Vec::new();
    for round in 0..args.rounds {
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for fidogate in order {
            let listen = free_port()?;
            let what = if fidogate {
                "fidogate run (TLS)"
            } else {
                "bare Pingora (TLS)"
            };
            let pargs: Vec<String> = if fidogate {
                let config = h.fidogate_config(listen, upstream_addr, args.threads, None)?;
                let text = std::fs::read_to_string(&config).map_err(|e| e.to_string())?;
                let metrics = free_port()?;
                let text = text.replacen(
                    &format!("listen: [\"{listen}\"]"),
                    &format!(
                        "listen:\n  - address: \"{listen}\"\n    tls: {{ cert_file: \"{}\", key_file: \"{}\" }}\nmetrics_listen: \"{metrics}\"",
                        cert_file.display(),
                        key_file.display()
                    ),
                    1,
                );
                std::fs::write(&config, text).map_err(|e| e.to_string())?;
                vec![
                    "run".into(),
                    "--config".into(),
                    config.display().to_string(),
                ]
            } else {
                vec![
                    "pingora".into(),
                    "--listen".into(),
                    listen.to_string(),
                    "--upstream".into(),
                    upstream_addr.to_string(),
                    "--threads".into(),
                    args.threads.to_string(),
                    "--tls-cert".into(),
                    cert_file.display().to_string(),
                    "--tls-key".into(),
                    key_file.display().to_string(),
                ]
            };
            let program = if fidogate { &h.fidogate } else { &h.exe };
            let mut server = h.spawn(true, program, &pargs, what)?;
            wait_listening(&mut server, listen)?;
            for workload in [Workload::Get, Workload::Post] {
                let outcome: Outcome = h.output(
                    false,
                    &[
                        "load".into(),
                        "--target".into(),
                        listen.to_string(),
                        "--workload".into(),
                        workload.name().into(),
                        "--connections".into(),
                        args.connections.to_string(),
                        "--warmup".into(),
                        args.warmup.to_string(),
                        "--duration".into(),
                        args.duration.to_string(),
                        "--max-requests".into(),
                        args.max_requests.to_string(),
                        "--server-pid".into(),
                        server.pid().to_string(),
                        "--tls-ca".into(),
                        ca_file.display().to_string(),
                    ],
                    &format!("{} over TLS on {what}", workload.name()),
                )?;
                eprintln!(
                    "round {round}: {what:<20} {:<4} {:>8.0} req/s  p50 {:>5} us  p99 {:>6} us  server CPU {:>5.1} us/req  errors {}",
                    workload.name(),
                    outcome.requests as f64 / outcome.seconds,
                    outcome.p50_us,
                    outcome.p99_us,
                    outcome.server_cpu_s * 1e6 / outcome.requests.max(1) as f64,
                    outcome.errors
                );
                runs.push((fidogate, workload, outcome));
            }
        }
    }
    write(args, &runs)
}

fn write(args: &RunArgs, runs: &[(bool, Workload, Outcome)]) -> Res<()> {
    let out = &args.out;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut md = format!(
        "{} rounds (median reported, the two alternating first) of {} s after {} s warm-up, {} keep-alive TLS connections (HTTP/1.1 by ALPN); the process under test on CPU 0, the app and the client on the others\n\n| workload | bare Pingora req/s | fidogate req/s | ratio (goal ≥ 0.97) | p50 / p99 µs bare | p50 / p99 µs fidogate | server CPU µs/req bare / fidogate | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
        args.rounds, args.duration, args.warmup, args.connections
    );
    let mut csv = String::from("workload,variant,rps,p50_us,p99_us,server_cpu_us_per_req,errors\n");
    for workload in [Workload::Get, Workload::Post] {
        let figures = |fidogate: bool| {
            let sel: Vec<&Outcome> = runs
                .iter()
                .filter(|(f, w, _)| *f == fidogate && *w == workload)
                .map(|(_, _, o)| o)
                .collect();
            let med =
                |f: &dyn Fn(&Outcome) -> f64| report::median(sel.iter().map(|o| f(o)).collect());
            (
                med(&|o| o.requests as f64 / o.seconds),
                med(&|o| o.p50_us as f64),
                med(&|o| o.p99_us as f64),
                med(&|o| o.server_cpu_s * 1e6 / o.requests.max(1) as f64),
                sel.iter().map(|o| o.errors).sum::<u64>(),
            )
        };
        let (b, f) = (figures(false), figures(true));
        let _ = writeln!(
            md,
            "| {} | {:.0} | {:.0} | {:.3} | {:.0} / {:.0} | {:.0} / {:.0} | {:.1} / {:.1} | {} |",
            workload.name(),
            b.0,
            f.0,
            f.0 / b.0,
            b.1,
            b.2,
            f.1,
            f.2,
            b.3,
            f.3,
            b.4 + f.4
        );
        for (name, x) in [("bare-pingora", b), ("fidogate", f)] {
            let _ = writeln!(
                csv,
                "{},{name},{:.1},{:.0},{:.0},{:.2},{}",
                workload.name(),
                x.0,
                x.1,
                x.2,
                x.3,
                x.4
            );
        }
    }
    for (name, text) in [("tls.md", &md), ("tls.csv", &csv)] {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    print!("{md}");
    Ok(())
}
