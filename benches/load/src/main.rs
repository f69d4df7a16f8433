//! `gateway-load`: the gateway throughput harness.
//!
//! One command (`cargo run --release -p fidogate-load --bin gateway-load`,
//! after `cargo build --release -p fidogate-proxy`; or `scripts/bench.sh`)
//! starts, on 127.0.0.1 only and for a bounded time:
//! - an upstream app, then bare Pingora and the `fidogate` gateway in
//!   front of it; the same app bare and behind the tower layer;
//! - a load generator per run: pass-through GET and POST, then full
//!   registrations (options, software authenticator, result);
//! - verification alone and the challenge cache, each in its own process;
//!
//! and prints the tables, then writes them as CSV and a PNG chart. The
//! process under test runs on the first CPU the harness may use and
//! everything else on the others (`taskset`), so the client's CPU (the
//! authenticator's signatures included) is not the gateway's; each process's CPU time is read from
//! /proc over the measured window.

mod client;
mod criterion;
mod procfs;
mod report;
mod roles;

use clap::{Parser, Subcommand};
use client::{Load, Outcome, Workload};
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

pub(crate) type Res<T> = Result<T, String>;

pub(crate) const RP: &str = "example.com";
pub(crate) const ORIGIN: &str = "https://example.com";
pub(crate) const PASS: &str = "/pass";
pub(crate) const OPTIONS: &str = "/attestation/options";
pub(crate) const RESULT: &str = "/attestation/result";

#[derive(Debug, Parser)]
#[command(
    name = "gateway-load",
    about = "fidogate's gateway load harness (127.0.0.1 only)"
)]
struct Cli {
    #[command(subcommand)]
    role: Option<Role>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Measured seconds per run.
    #[arg(long, default_value_t = 5)]
    duration: u64,
    /// Unmeasured seconds before each run.
    #[arg(long, default_value_t = 1)]
    warmup: u64,
    /// Rounds of every run, alternating which variant goes first; tables
    /// report the median.
    #[arg(long, default_value_t = 4)]
    rounds: usize,
    /// Connections for pass-through runs.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Connections for registration runs.
    #[arg(long, default_value_t = 4)]
    register_connections: usize,
    /// At most this many requests per run.
    #[arg(long, default_value_t = 20_000_000)]
    max_requests: u64,
    /// Worker threads of each gateway and app.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Pending challenges for the cache figures.
    #[arg(long, default_value_t = 1_000_000)]
    cache_entries: u64,
    /// Where the CSV files, the chart and the tables go.
    #[arg(long, default_value = "benches/results")]
    out: PathBuf,
    /// The `fidogate` binary (default: beside this one).
    #[arg(long)]
    fidogate: Option<PathBuf>,
    /// Do not pin processes to CPUs.
    #[arg(long)]
    no_pin: bool,
    /// Batches of the verification-alone timing (median reported).
    #[arg(long, default_value_t = 15)]
    verify_batches: usize,
    /// Verifications per batch.
    #[arg(long, default_value_t = 400)]
    verify_per_batch: usize,
}

#[derive(Debug, Subcommand)]
enum Role {
    /// (internal) The app, bare or behind the tower layer.
    #[command(hide = true)]
    App {
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long, default_value_t = 1)]
        threads: usize,
        #[arg(long)]
        layer: bool,
    },
    /// (internal) A bare Pingora proxy.
    #[command(hide = true)]
    Pingora {
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long)]
        upstream: SocketAddr,
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
    /// (internal) One load run; prints its figures as JSON.
    #[command(hide = true)]
    Load {
        #[arg(long)]
        target: SocketAddr,
        #[arg(long)]
        workload: String,
        #[arg(long)]
        connections: usize,
        #[arg(long)]
        warmup: u64,
        #[arg(long)]
        duration: u64,
        #[arg(long)]
        max_requests: u64,
        #[arg(long)]
        server_pid: u32,
    },
    /// (internal) Verification alone; prints microseconds as JSON.
    #[command(hide = true)]
    VerifyAlone {
        #[arg(long)]
        batches: usize,
        #[arg(long)]
        per_batch: usize,
    },
    /// The criterion results as tables (verify.md, verify.csv in --out).
    CriterionTables {
        /// criterion's output directory.
        #[arg(long, default_value = "target/criterion")]
        dir: PathBuf,
        #[arg(long, default_value = "benches/results")]
        out: PathBuf,
    },
    /// Writes the gateway configuration the harness runs `fidogate` with
    /// (and its trust anchor) into `dir`, for profiling it by hand.
    FidogateConfig {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long)]
        upstream: SocketAddr,
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
    /// (internal) The client's signing work alone, for `seconds`.
    #[command(hide = true)]
    Burn {
        #[arg(long)]
        seconds: u64,
    },
    /// (internal) The challenge cache; prints its figures as JSON.
    #[command(hide = true)]
    Cache {
        #[arg(long)]
        entries: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.role {
        None => orchestrate(&cli.run),
        Some(Role::App {
            listen,
            threads,
            layer,
        }) => roles::serve_app(listen, threads, layer),
        Some(Role::Pingora {
            listen,
            upstream,
            threads,
        }) => roles::serve_bare_pingora(listen, upstream, threads),
        Some(Role::Load {
            target,
            workload,
            connections,
            warmup,
            duration,
            max_requests,
            server_pid,
        }) => Workload::parse(&workload).and_then(|workload| {
            let outcome = client::run(Load {
                target,
                workload,
                connections,
                warmup: Duration::from_secs(warmup),
                duration: Duration::from_secs(duration),
                max_requests,
                server_pid,
            })?;
            print_json(&outcome)
        }),
        Some(Role::VerifyAlone { batches, per_batch }) => {
            roles::verify_alone(batches, per_batch).and_then(|us| print_json(&us))
        }
        Some(Role::CriterionTables { dir, out }) => criterion::tables(&dir, &out),
        Some(Role::FidogateConfig {
            dir,
            listen,
            upstream,
            threads,
        }) => std::fs::create_dir_all(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))
            .and_then(|()| write_fidogate_config(&dir, listen, upstream, threads))
            .map(|path| println!("{}", path.display())),
        Some(Role::Burn { seconds }) => {
            roles::burn(seconds);
            Ok(())
        }
        Some(Role::Cache { entries }) => {
            roles::cache(entries, 200_000).and_then(|c| print_json(&c))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gateway-load: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A role's result on stdout, as JSON, for the orchestrator to read.
fn print_json<T: serde::Serialize>(value: &T) -> Res<()> {
    let json = serde_json::to_string(value).map_err(|e| format!("output: {e}"))?;
    println!("{json}");
    Ok(())
}

/// Command-line arguments from displayable values.
fn argv(items: &[&dyn std::fmt::Display]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}

/// CPU lists for the process under test (the first allowed CPU) and for
/// everything else (the others), when there are two or more and
/// `taskset` can pin to them; else none, and the harness says so.
fn pins() -> Option<(String, String)> {
    let cpus = procfs::allowed_cpus();
    let (first, rest) = cpus.split_first()?;
    if rest.is_empty() {
        return None;
    }
    let others = rest
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let works = Command::new("taskset")
        .args(["-c", &first.to_string(), "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    works.then(|| (first.to_string(), others))
}

/// A child process killed when dropped.
struct Proc {
    child: Child,
    what: String,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Harness {
    exe: PathBuf,
    fidogate: PathBuf,
    /// CPU lists for the process under test and for everything else.
    pins: Option<(String, String)>,
    dir: PathBuf,
}

fn free_port() -> Res<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr().map_err(|e| e.to_string())
}

/// Whether `GET /pass` answers 200 at `addr`.
fn answers(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET {PASS} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

impl Drop for Harness {
    /// The scratch directory holds a generated signing key: it goes
    /// whether the run ended well or not.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Harness {
    fn new(args: &RunArgs) -> Res<Self> {
        let exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
        let fidogate = match &args.fidogate {
            Some(p) => p.clone(),
            None => exe.with_file_name("fidogate"),
        };
        if !fidogate.is_file() {
            return Err(format!(
                "{}: not found; build it first: cargo build --release -p fidogate-proxy",
                fidogate.display()
            ));
        }
        let pins = if args.no_pin { None } else { pins() };
        let dir = std::env::temp_dir().join(format!("fidogate-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Self {
            exe,
            fidogate,
            pins,
            dir,
        })
    }

    /// `program`, to run on the server CPU or on the others.
    fn command(&self, server: bool, program: &Path) -> Command {
        match &self.pins {
            Some((s, c)) => {
                let mut cmd = Command::new("taskset");
                cmd.arg("-c").arg(if server { s } else { c }).arg(program);
                cmd
            }
            None => Command::new(program),
        }
    }

    /// Starts `program args`, on the server CPU or the others.
    fn spawn(&self, server: bool, program: &Path, args: &[String], what: &str) -> Res<Proc> {
        let child = self
            .command(server, program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("start {what}: {e}"))?;
        Ok(Proc {
            child,
            what: what.to_owned(),
        })
    }

    /// Runs one of this binary's roles to the end and reads its JSON.
    fn output<T: serde::de::DeserializeOwned>(
        &self,
        server: bool,
        args: &[String],
        what: &str,
    ) -> Res<T> {
        let out = self
            .command(server, &self.exe)
            .args(args)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("{what}: {e}"))?;
        if !out.status.success() {
            return Err(format!("{what} failed ({})", out.status));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("{what}: output: {e}"))
    }

    fn wait_ready(&self, p: &mut Proc, addr: SocketAddr) -> Res<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = p.child.try_wait() {
                return Err(format!("{} exited at start ({status})", p.what));
            }
            if answers(addr) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("{} did not answer on {addr} within 20 s", p.what))
    }

    fn fidogate_config(
        &self,
        listen: SocketAddr,
        upstream: SocketAddr,
        threads: usize,
    ) -> Res<PathBuf> {
        write_fidogate_config(&self.dir, listen, upstream, threads)
    }
}

/// The `fidogate run` configuration of the harness, with its trust anchor
/// and key files in `d`.
fn write_fidogate_config(
    d: &Path,
    listen: SocketAddr,
    upstream: SocketAddr,
    threads: usize,
) -> Res<PathBuf> {
    let root = fidogate_testkit::webauthn::attestation_root(900);
    std::fs::write(d.join("root.pem"), root.pem()).map_err(|e| format!("root.pem: {e}"))?;
    let yaml = format!(
        r#"# Written by gateway-load: the gateway as the tower layer is configured.
listen: ["{listen}"]
upstream: ["{upstream}"]
threads: {threads}
signing_key_file: {key}
secret_file: {secret}
trust_anchors:
  - path: {root}
gateway:
  rp:
    id: {RP}
    origins: ["{ORIGIN}"]
  webauthn:
    attestation: direct
    require_trusted: true
  routes:
    - name: passkeys
      dialect: webauthn
"#,
        key = d.join("signing-key.pem").display(),
        secret = d.join("secret").display(),
        root = d.join("root.pem").display(),
    );
    let path = d.join("fidogate.yaml");
    std::fs::write(&path, yaml).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

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

fn orchestrate(args: &RunArgs) -> Res<()> {
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
                        let config = h.fidogate_config(listen, upstream_addr, args.threads)?;
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
                    &[Workload::Get, Workload::Post]
                };
                for &workload in workloads {
                    let connections = if workload == Workload::Register {
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
        let verify_alone = |beside: &str| -> Res<f64> {
            let us: f64 = h.output(
                true,
                &argv(&[
                    &"verify-alone",
                    &"--batches",
                    &args.verify_batches,
                    &"--per-batch",
                    &args.verify_per_batch,
                ]),
                "verification alone",
            )?;
            eprintln!("round {round}: verification alone {us:.1} us ({beside})");
            Ok(us)
        };
        let quiet = verify_alone("quiet")?;
        let neighbour = h.spawn(
            false,
            &h.exe,
            &argv(&[&"burn", &"--seconds", &120]),
            "signing neighbour",
        )?;
        let beside = verify_alone("beside the client's signing")?;
        drop(neighbour);
        verify_us.push(report::VerifyAlone { quiet, beside });
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
