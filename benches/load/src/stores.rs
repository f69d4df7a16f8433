//! The challenge store under load: registrations through `fidogate run`
//! with the memory store and with a Redis on loopback (rounds alternating
//! which goes first), then an options flood with a real registration
//! pending, against each store.

use crate::cli::RunArgs;
use crate::client::{self, Outcome, Workload};
use crate::process::{Harness, Proc, free_port};
use crate::roles::registration;
use crate::{RESULT, Res, procfs, report};
use bytes::Bytes;
use fidogate_testkit::keys::alg;
use fidogate_testkit::webauthn::{Authenticator, attestation_root};
use http::Method;
use http_body_util::Full;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Which challenge store a `fidogate run` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Store {
    Memory,
    Redis,
}

impl Store {
    fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Redis => "redis",
        }
    }
}

/// What one flood did, as the flood role prints it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct FloodFigures {
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    pub(crate) seconds: f64,
    pub(crate) server_cpu_s: f64,
    /// The gateway's VmRSS before and after the flood.
    pub(crate) rss_before: u64,
    pub(crate) rss_after: u64,
    /// The pending registration, submitted after the flood, and again.
    pub(crate) registration_status: u16,
    pub(crate) replay_status: u16,
}

/// A `redis-server` of the run's own: 127.0.0.1, no persistence.
fn start_redis(h: &Harness) -> Res<(Proc, SocketAddr)> {
    let addr = free_port()?;
    let port = addr.port().to_string();
    let args: Vec<String> = [
        "--bind",
        "127.0.0.1",
        "--port",
        &port,
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let mut redis = h.spawn(false, Path::new("redis-server"), &args, "redis-server")?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = redis.child.try_wait() {
            return Err(format!("redis-server exited at start ({status})"));
        }
        if pong(addr) {
            return Ok((redis, addr));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "redis-server did not answer PING on {addr} within 20 s"
    ))
}

fn pong(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut answer = [0u8; 7];
    s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut answer).is_ok() && &answer == b"+PONG\r\n"
}

/// `gateway-load stores`: every table of the store comparison.
pub(crate) fn stores(args: &RunArgs, flood: u64) -> Res<()> {
    let h = Harness::new(args)?;
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
    let (_redis, redis_addr) = start_redis(&h)?;
    let url = format!("redis://{redis_addr}/0");
    let gateway = |store: Store| -> Res<(Proc, SocketAddr)> {
        let listen = free_port()?;
        let redis = (store == Store::Redis).then_some(url.as_str());
        let config = h.fidogate_config(listen, upstream_addr, args.threads, redis)?;
        let what = format!("fidogate ({} store)", store.name());
        let mut p = h.spawn(
            true,
            &h.fidogate,
            &[
                "run".into(),
                "--config".into(),
                config.display().to_string(),
            ],
            &what,
        )?;
        h.wait_ready(&mut p, listen)?;
        Ok((p, listen))
    };

    let mut runs: Vec<(Store, Outcome)> = Vec::new();
    for round in 0..args.rounds {
        let order = if round % 2 == 0 {
            [Store::Memory, Store::Redis]
        } else {
            [Store::Redis, Store::Memory]
        };
        for store in order {
            let (server, listen) = gateway(store)?;
            let outcome: Outcome = h.output(
                false,
                &[
                    "load".into(),
                    "--target".into(),
                    listen.to_string(),
                    "--workload".into(),
                    Workload::Register.name().into(),
                    "--connections".into(),
                    args.register_connections.to_string(),
                    "--warmup".into(),
                    args.warmup.to_string(),
                    "--duration".into(),
                    args.duration.to_string(),
                    "--max-requests".into(),
                    args.max_requests.to_string(),
                    "--server-pid".into(),
                    server.pid().to_string(),
                ],
                &format!("registrations, {} store", store.name()),
            )?;
            eprintln!(
                "round {round}: {:<6} store  {:>7.0} registrations/s  p50 {:>6} us  p99 {:>6} us  gateway CPU {:>7.1} us/registration  errors {}",
                store.name(),
                outcome.requests as f64 / outcome.seconds,
                outcome.p50_us,
                outcome.p99_us,
                outcome.server_cpu_s * 1e6 / outcome.requests.max(1) as f64,
                outcome.errors,
            );
            runs.push((store, outcome));
        }
    }

    let mut floods = Vec::new();
    for store in [Store::Memory, Store::Redis] {
        let (server, listen) = gateway(store)?;
        let figures: FloodFigures = h.output(
            false,
            &[
                "flood".into(),
                "--target".into(),
                listen.to_string(),
                "--requests".into(),
                flood.to_string(),
                "--connections".into(),
                args.connections.to_string(),
                "--server-pid".into(),
                server.pid().to_string(),
            ],
            &format!("options flood, {} store", store.name()),
        )?;
        eprintln!(
            "flood: {:<6} store  {} options in {:.1} s ({:.0}/s), errors {}; gateway VmRSS {:.1} -> {:.1} MiB; the pending registration: {}, again: {}",
            store.name(),
            figures.requests,
            figures.seconds,
            figures.requests as f64 / figures.seconds,
            figures.errors,
            figures.rss_before as f64 / 1048576.0,
            figures.rss_after as f64 / 1048576.0,
            figures.registration_status,
            figures.replay_status,
        );
        if figures.registration_status != 200 {
            return Err(format!(
                "{} store: the registration pending during the flood was answered {}",
                store.name(),
                figures.registration_status
            ));
        }
        if figures.replay_status == 200 {
            return Err(format!("{} store: its replay was accepted", store.name()));
        }
        floods.push((store, figures));
    }
    write(&args.out, args, &runs, &floods)
}

fn write(
    out: &Path,
    args: &RunArgs,
    runs: &[(Store, Outcome)],
    floods: &[(Store, FloodFigures)],
) -> Res<()> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut md = format!(
        "{} rounds (median reported, the two stores alternating first) of {} s after {} s warm-up, {} registering connections; `fidogate run` on CPU 0, the app, the client and redis-server on the others\n\n| store | registrations/s | p50 / p99 ms | gateway CPU µs/registration | errors |\n|---|---:|---:|---:|---:|\n",
        args.rounds, args.duration, args.warmup, args.register_connections
    );
    let mut csv = String::from("table,store,rps,p50_us,p99_us,server_cpu_us_per_unit,errors\n");
    let mut p50 = Vec::new();
    for store in [Store::Memory, Store::Redis] {
        let sel: Vec<&Outcome> = runs
            .iter()
            .filter(|(s, _)| *s == store)
            .map(|(_, o)| o)
            .collect();
        let med = |f: &dyn Fn(&Outcome) -> f64| report::median(sel.iter().map(|o| f(o)).collect());
        let rps = med(&|o| o.requests as f64 / o.seconds);
        let p = med(&|o| o.p50_us as f64);
        let p99 = med(&|o| o.p99_us as f64);
        let cpu = med(&|o| o.server_cpu_s * 1e6 / o.requests.max(1) as f64);
        let errors: u64 = sel.iter().map(|o| o.errors).sum();
        let _ = writeln!(
            md,
            "| {} | {rps:.0} | {:.2} / {:.2} | {cpu:.1} | {errors} |",
            store.name(),
            p / 1000.0,
            p99 / 1000.0
        );
        let _ = writeln!(
            csv,
            "registrations,{},{rps:.1},{p:.0},{p99:.0},{cpu:.2},{errors}",
            store.name()
        );
        p50.push(p);
    }
    if let [memory, redis] = p50[..] {
        let _ = writeln!(
            md,
            "\nRedis / memory p50: **{:.3}** (goal < 1.10)",
            redis / memory
        );
    }
    let _ = writeln!(
        md,
        "\n| store | options requests | options/s | errors | gateway CPU µs/request | gateway VmRSS before → after | the pending registration | its replay |\n|---|---:|---:|---:|---:|---:|---|---|"
    );
    for (store, f) in floods {
        let _ = writeln!(
            md,
            "| {} | {} | {:.0} | {} | {:.1} | {:.1} → {:.1} MiB | {} | {} |",
            store.name(),
            f.requests,
            f.requests as f64 / f.seconds,
            f.errors,
            f.server_cpu_s * 1e6 / f.requests.max(1) as f64,
            f.rss_before as f64 / 1048576.0,
            f.rss_after as f64 / 1048576.0,
            f.registration_status,
            f.replay_status
        );
        let _ = writeln!(
            csv,
            "flood,{},{:.1},,,{:.2},{}",
            store.name(),
            f.requests as f64 / f.seconds,
            f.server_cpu_s * 1e6 / f.requests.max(1) as f64,
            f.errors
        );
    }
    for (name, text) in [("stores.md", &md), ("stores.csv", &csv)] {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    println!("{md}");
    Ok(())
}

/// The flood role: options for one user and a registration answering
/// them; then `requests` options requests for other users over
/// `connections`; then that registration, and its replay.
pub(crate) fn flood(
    target: SocketAddr,
    connections: usize,
    requests: u64,
    server_pid: u32,
) -> Res<FloodFigures> {
    let ticks = procfs::clock_ticks();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    rt.block_on(async move {
        let authn = Authenticator::packed_x5c(alg::ES256, 3, &attestation_root(900));
        let mut first = connect(target).await?;
        let challenge = client::options(&mut first, target, "pending-user")
            .await?
            .ok_or("the pending registration's options were refused")?;
        let pending = Bytes::from(registration(&authn, &challenge).to_string());
        drop(first);

        let rss_before = procfs::resident_bytes_of(server_pid)?;
        let cpu0 = procfs::cpu_time(server_pid, ticks)?;
        let issued = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let tasks: Vec<_> = (0..connections)
            .map(|_| {
                let issued = issued.clone();
                tokio::spawn(async move {
                    let mut sender = connect(target).await?;
                    let (mut ok, mut errors) = (0u64, 0u64);
                    loop {
                        let n = issued.fetch_add(1, Ordering::Relaxed);
                        if n >= requests {
                            break;
                        }
                        match client::options(&mut sender, target, &format!("flood-{n}")).await {
                            Ok(Some(_)) => ok += 1,
                            Ok(None) => errors += 1,
                            Err(e) => {
                                eprintln!("flood: {e}");
                                errors += 1;
                                sender = connect(target).await?;
                            }
                        }
                    }
                    Ok::<_, String>((ok, errors))
                })
            })
            .collect();
        let (mut ok, mut errors) = (0, 0);
        for t in tasks {
            let (o, e) = t.await.map_err(|e| format!("flood task: {e}"))??;
            ok += o;
            errors += e;
        }
        let seconds = started.elapsed().as_secs_f64();
        let cpu1 = procfs::cpu_time(server_pid, ticks)?;
        let rss_after = procfs::resident_bytes_of(server_pid)?;

        let mut last = connect(target).await?;
        let status = |r: Result<(http::StatusCode, Bytes), String>| r.map(|(s, _)| s.as_u16());
        let registration_status =
            status(client::send(&mut last, target, Method::POST, RESULT, pending.clone()).await)?;
        let replay_status =
            status(client::send(&mut last, target, Method::POST, RESULT, pending).await)?;
        Ok(FloodFigures {
            requests: ok,
            errors,
            seconds,
            server_cpu_s: cpu1.saturating_sub(cpu0).as_secs_f64(),
            rss_before,
            rss_after,
            registration_status,
            replay_status,
        })
    })
}

pub(crate) async fn connect(target: SocketAddr) -> Res<http1::SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(target)
        .await
        .map_err(|e| format!("connect {target}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(conn);
    Ok(sender)
}
