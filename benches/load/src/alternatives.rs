//! fidogate against what a team would do instead: verify registrations in
//! the app with a library. Four systems, each serving full registrations
//! (options, the same software authenticator, result) on 127.0.0.1:
//! - `fidogate run` in front of the harness's app, which has no FIDO code
//!   (the system is both processes);
//! - the same axum app behind `FidogateLayer`;
//! - both again with chains never seen: every registration from an
//!   authenticator with its own intermediate CA and leaf under the root
//!   (made by the load generator before the run), so both certificate
//!   signatures are checked each time, as for per-device attestation;
//! - an axum app that verifies itself with webauthn-rs (its own
//!   challenge state, its attestation CA list holding the same root);
//! - a Node.js app that verifies itself with `@simplewebauthn/server`
//!   (`benches/simplewebauthn`, installed by npm from its lock file).
//!
//! The systems under test run on the server CPU, the load generator on
//! the others; the figure that compares them is registrations per
//! CPU-second of the whole system, beside p50 and p99 at the same
//! closed-loop concurrency. Rounds rotate which system goes first.

use crate::cli::RunArgs;
use crate::client::{self, Outcome, Workload};
use crate::process::{Harness, Proc, free_port};
use crate::report::{Group, bar_panel, median, put, register_font};
use crate::roles::registration;
use crate::{ORIGIN, RESULT, RP, Res};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::routing::{get, post};
use bytes::Bytes;
use fidogate_testkit::keys::alg;
use fidogate_testkit::webauthn::{Authenticator, attestation_root};
use http::Method;
use plotters::prelude::*;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use webauthn_rs::prelude::{
    AttestationCaList, AttestedPasskeyRegistration, RegisterPublicKeyCredential, Url, Uuid,
    Webauthn, WebauthnBuilder,
};

/// One of the systems compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum System {
    /// `fidogate run` in front of an app with no FIDO code.
    Gateway,
    /// The same, every registration from an authenticator whose chain
    /// it never saw (its own intermediate CA and leaf under the root):
    /// both certificate signatures checked, as for per-device attestation.
    GatewayFreshChains,
    /// An axum app behind `FidogateLayer`.
    Layer,
    /// The layer, with chains never seen as for `GatewayFreshChains`.
    LayerFreshChains,
    /// An axum app verifying with webauthn-rs.
    WebauthnRs,
    /// A Node.js app verifying with @simplewebauthn/server.
    SimpleWebAuthn,
}

impl System {
    const ALL: [Self; 6] = [
        Self::Gateway,
        Self::GatewayFreshChains,
        Self::Layer,
        Self::LayerFreshChains,
        Self::WebauthnRs,
        Self::SimpleWebAuthn,
    ];

    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Gateway => "fidogate-run",
            Self::GatewayFreshChains => "fidogate-run-fresh-chains",
            Self::Layer => "fidogate-layer",
            Self::LayerFreshChains => "fidogate-layer-fresh-chains",
            Self::WebauthnRs => "webauthn-rs",
            Self::SimpleWebAuthn => "simplewebauthn",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Gateway => "`fidogate run` + app without FIDO code",
            Self::GatewayFreshChains => {
                "`fidogate run` + app without FIDO code, chains never seen (a fresh intermediate and leaf per registration)"
            }
            Self::Layer => "axum + `FidogateLayer`",
            Self::LayerFreshChains => {
                "axum + `FidogateLayer`, chains never seen (a fresh intermediate and leaf per registration)"
            }
            Self::WebauthnRs => "axum app verifying with webauthn-rs",
            Self::SimpleWebAuthn => "Node.js app verifying with @simplewebauthn/server",
        }
    }

    fn short(self) -> &'static str {
        match self {
            Self::Gateway => "fidogate run",
            Self::GatewayFreshChains => "fidogate run, chains never seen",
            Self::Layer => "FidogateLayer",
            Self::LayerFreshChains => "FidogateLayer, chains never seen",
            Self::WebauthnRs => "webauthn-rs",
            Self::SimpleWebAuthn => "SimpleWebAuthn",
        }
    }

    /// The chart's label, short enough for its bar.
    fn bar(self) -> &'static str {
        match self {
            Self::GatewayFreshChains => "run, new chains",
            Self::LayerFreshChains => "Layer, new chains",
            other => other.short(),
        }
    }

    /// Whether this is one of fidogate's systems.
    fn is_fidogate(self) -> bool {
        matches!(
            self,
            Self::Gateway | Self::GatewayFreshChains | Self::Layer | Self::LayerFreshChains
        )
    }

    /// Whether each registration comes from an authenticator with a
    /// chain of its own.
    fn fresh_chains(self) -> bool {
        matches!(self, Self::GatewayFreshChains | Self::LayerFreshChains)
    }

    fn workload(self) -> Workload {
        if self.is_fidogate() {
            Workload::Register
        } else {
            Workload::RegisterApp
        }
    }
}

// ---------------------------------------------------------------------
// The webauthn-rs app.

/// The app's state: the library's relying party, the CA list its
/// attested passkeys must chain to, and the registrations in progress
/// (user name to the library's state, as a session store would hold it;
/// bounded).
struct WrsApp {
    webauthn: Webauthn,
    cas: AttestationCaList,
    pending: Mutex<HashMap<String, AttestedPasskeyRegistration>>,
    next_user: AtomicU64,
}

const MAX_PENDING: usize = 100_000;

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct OptionsRequest {
    username: String,
    display_name: Option<String>,
}

fn json_answer(
    status: StatusCode,
    body: String,
) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    (status, [("content-type", "application/json")], body)
}

type Answer = (StatusCode, [(&'static str, &'static str); 1], String);

fn failed(status: StatusCode, why: &str) -> Answer {
    json_answer(
        status,
        serde_json::json!({ "status": "failed", "errorMessage": why }).to_string(),
    )
}

async fn wrs_options(State(app): State<Arc<WrsApp>>, body: Bytes) -> Answer {
    let Ok(req) = serde_json::from_slice::<OptionsRequest>(&body) else {
        return failed(StatusCode::BAD_REQUEST, "options request");
    };
    let id = Uuid::from_u128(u128::from(app.next_user.fetch_add(1, Ordering::Relaxed)) + 1);
    let display = req.display_name.as_deref().unwrap_or(&req.username);
    let started = app.webauthn.start_attested_passkey_registration(
        id,
        &req.username,
        display,
        None,
        app.cas.clone(),
        None,
    );
    let (options, state) = match started {
        Ok(s) => s,
        Err(e) => return failed(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let Ok(body) = serde_json::to_string(&options) else {
        return failed(StatusCode::INTERNAL_SERVER_ERROR, "options answer");
    };
    {
        let Ok(mut pending) = app.pending.lock() else {
            return failed(StatusCode::INTERNAL_SERVER_ERROR, "state");
        };
        if pending.len() >= MAX_PENDING {
            return failed(StatusCode::SERVICE_UNAVAILABLE, "too many pending");
        }
        pending.insert(req.username, state);
    }
    json_answer(StatusCode::OK, body)
}

async fn wrs_result(State(app): State<Arc<WrsApp>>, uri: Uri, body: Bytes) -> Answer {
    let user = uri
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("username="));
    let Some(user) = user else {
        return failed(StatusCode::BAD_REQUEST, "no username");
    };
    let state = match app.pending.lock() {
        Ok(mut pending) => pending.remove(user),
        Err(_) => return failed(StatusCode::INTERNAL_SERVER_ERROR, "state"),
    };
    let Some(state) = state else {
        return failed(StatusCode::BAD_REQUEST, "no pending registration");
    };
    let reg = match serde_json::from_slice::<RegisterPublicKeyCredential>(&body) {
        Ok(r) => r,
        Err(e) => return failed(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    match app
        .webauthn
        .finish_attested_passkey_registration(&reg, &state)
    {
        Ok(passkey) => {
            std::hint::black_box(passkey);
            json_answer(
                StatusCode::OK,
                r#"{"status":"ok","errorMessage":""}"#.to_owned(),
            )
        }
        Err(e) => failed(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

/// The webauthn-rs app on `listen`: `POST /attestation/options`,
/// `POST /attestation/result?username=`, and `GET /pass` for the
/// harness's readiness probe.
pub(crate) fn serve_webauthn_rs_app(listen: SocketAddr, threads: usize) -> Res<()> {
    let origin = Url::parse(ORIGIN).map_err(|e| format!("{ORIGIN}: {e}"))?;
    let webauthn = WebauthnBuilder::new(RP, &origin)
        .and_then(|b| b.rp_name("fidogate bench").build())
        .map_err(|e| format!("webauthn-rs: {e}"))?;
    let root = attestation_root(900);
    let cas = AttestationCaList::try_from(root.pem().as_bytes())
        .map_err(|e| format!("webauthn-rs CA list: {e}"))?;
    let app = Arc::new(WrsApp {
        webauthn,
        cas,
        pending: Mutex::new(HashMap::new()),
        next_user: AtomicU64::new(0),
    });
    let router = Router::new()
        .route("/pass", get(|| async { "ok" }))
        .route("/attestation/options", post(wrs_options))
        .route("/attestation/result", post(wrs_result))
        .with_state(app);
    crate::roles::serve_router(listen, threads, router)
}

// ---------------------------------------------------------------------
// The comparison.

/// Where the Node.js app is, and that its packages are installed.
fn node_app(dir: Option<&Path>) -> Res<PathBuf> {
    let dir = dir.map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../simplewebauthn"),
        Path::to_path_buf,
    );
    if !dir
        .join("node_modules/@simplewebauthn/server/package.json")
        .is_file()
    {
        return Err(format!(
            "{}: @simplewebauthn/server is not installed there; run `npm ci` in it (scripts/bootstrap.sh does)",
            dir.display()
        ));
    }
    Ok(dir.join("server.mjs"))
}

/// The processes of one system, started on the server CPU and answering.
fn start(
    h: &Harness,
    args: &RunArgs,
    system: System,
    server_mjs: &Path,
) -> Res<(Vec<Proc>, SocketAddr)> {
    let listen = free_port()?;
    let threads = args.threads.to_string();
    let mut procs = Vec::new();
    match system {
        System::Gateway | System::GatewayFreshChains => {
            let upstream = free_port()?;
            let mut app = h.spawn(
                true,
                &h.exe,
                &strings(&[
                    "app",
                    "--listen",
                    &upstream.to_string(),
                    "--threads",
                    &threads,
                ]),
                "app without FIDO code",
            )?;
            h.wait_ready(&mut app, upstream)?;
            procs.push(app);
            let config = h.fidogate_config(listen, upstream, args.threads, None)?;
            procs.push(h.spawn(
                true,
                &h.fidogate,
                &strings(&["run", "--config", &config.display().to_string()]),
                "fidogate run",
            )?);
        }
        System::Layer | System::LayerFreshChains => {
            let argv = strings(&[
                "app",
                "--listen",
                &listen.to_string(),
                "--threads",
                &threads,
                "--layer",
            ]);
            procs.push(h.spawn(true, &h.exe, &argv, system.short())?);
        }
        System::WebauthnRs => procs.push(h.spawn(
            true,
            &h.exe,
            &strings(&[
                "webauthn-rs-app",
                "--listen",
                &listen.to_string(),
                "--threads",
                &threads,
            ]),
            "webauthn-rs app",
        )?),
        System::SimpleWebAuthn => {
            let root = h.dir.join("alternatives-root.pem");
            std::fs::write(&root, attestation_root(900).pem())
                .map_err(|e| format!("{}: {e}", root.display()))?;
            procs.push(h.spawn(
                true,
                Path::new("node"),
                &strings(&[
                    &server_mjs.display().to_string(),
                    "--listen",
                    &listen.to_string(),
                    "--rp-id",
                    RP,
                    "--origin",
                    ORIGIN,
                    "--root",
                    &root.display().to_string(),
                ]),
                "SimpleWebAuthn app",
            )?);
        }
    }
    if let Some(last) = procs.last_mut() {
        h.wait_ready(last, listen)?;
    }
    probe(listen, system)?;
    Ok((procs, listen))
}

/// Before a system is measured, that it verifies: it accepts one
/// registration and refuses that registration again, one signed over
/// another challenge, and one whose attestation chains to a root it was
/// not given.
fn probe(target: SocketAddr, system: System) -> Res<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let trusted = Authenticator::packed_x5c(alg::ES256, 3, &attestation_root(900));
    let foreign = Authenticator::packed_x5c(alg::ES256, 4, &attestation_root(901));
    rt.block_on(async move {
        let mut sender = crate::stores::connect(target).await?;
        let mut submit = async |user: &str, authn: &Authenticator, tamper: bool| -> Res<StatusCode> {
            let mut challenge = client::options(&mut sender, target, user)
                .await?
                .ok_or_else(|| format!("{}: options refused", system.short()))?;
            if tamper && let Some(b) = challenge.last_mut() {
                *b ^= 1;
            }
            let body = registration(authn, &challenge).to_string();
            let path = match system.workload() {
                Workload::RegisterApp => format!("{RESULT}?username={user}"),
                _ => RESULT.to_owned(),
            };
            let (status, _) =
                client::send(&mut sender, target, Method::POST, &path, Bytes::from(body.clone()))
                    .await?;
            if status.is_success() {
                let (again, _) =
                    client::send(&mut sender, target, Method::POST, &path, Bytes::from(body))
                        .await?;
                if again.is_success() {
                    return Err(format!("{}: a replayed registration was accepted", system.short()));
                }
            }
            Ok(status)
        };
        let genuine = submit("probe-genuine", &trusted, false).await?;
        let tampered = submit("probe-tampered", &trusted, true).await?;
        let untrusted = submit("probe-untrusted", &foreign, false).await?;
        if !genuine.is_success() || tampered.is_success() || untrusted.is_success() {
            return Err(format!(
                "{} does not verify as configured: a genuine registration got {genuine}, one over another challenge {tampered}, one from an untrusted root {untrusted}",
                system.short()
            ));
        }
        Ok(())
    })
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// `gateway-load alternatives`: the table, its CSVs and its chart.
pub(crate) fn alternatives(args: &RunArgs, node_dir: Option<&Path>) -> Res<()> {
    let server_mjs = node_app(node_dir)?;
    let h = Harness::new(args)?;
    if let Some((server, others)) = &h.pins {
        eprintln!(
            "gateway-load: systems under test on CPU {server}, load generator on CPUs {others}"
        );
    }
    let mut runs: Vec<Run> = Vec::new();
    for round in 0..args.rounds {
        let mut order = System::ALL;
        order.rotate_left(round % System::ALL.len());
        for system in order {
            let (procs, listen) = start(&h, args, system, &server_mjs)?;
            let mut argv = strings(&[
                "load",
                "--target",
                &listen.to_string(),
                "--workload",
                system.workload().name(),
                "--connections",
                &args.register_connections.to_string(),
                "--warmup",
                &args.warmup.to_string(),
                "--duration",
                &args.duration.to_string(),
                "--max-requests",
                &args.max_requests.to_string(),
            ]);
            if system.fresh_chains() {
                argv.push("--fresh-chains".to_owned());
                argv.push(args.fresh_chains.to_string());
            }
            for p in &procs {
                argv.push("--server-pid".to_owned());
                argv.push(p.pid().to_string());
            }
            let outcome: Outcome = h.output(
                false,
                &argv,
                &format!("registrations on {}", system.short()),
            )?;
            let n = outcome.requests.max(1) as f64;
            eprintln!(
                "round {round}: {:<15} {:>6.0} reg/s  p50 {:>6} us  p99 {:>6} us  system CPU {:>7.1} us/reg  errors {}",
                system.short(),
                outcome.requests as f64 / outcome.seconds,
                outcome.p50_us,
                outcome.p99_us,
                outcome.server_cpu_s * 1e6 / n,
                outcome.errors,
            );
            runs.push((round, system, outcome));
            drop(procs);
        }
    }
    write(args, &runs)
}

/// One measured run: its round, the system, what the load generator saw.
type Run = (usize, System, Outcome);

/// The heading of `alternatives-runs.csv`.
const RUNS_HEADER: &str =
    "round,system,requests,errors,seconds,p50_us,p99_us,max_us,system_cpu_s,client_cpu_s";

/// `gateway-load alternatives --from-runs`: the tables and the chart
/// again from the runs a comparison recorded.
pub(crate) fn rewrite(args: &RunArgs, csv: &Path) -> Res<()> {
    let runs = read_runs(csv)?;
    if runs.is_empty() {
        return Err(format!("{}: no runs", csv.display()));
    }
    write(args, &runs)
}

/// The runs of an `alternatives-runs.csv`.
fn read_runs(path: &Path) -> Res<Vec<Run>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut lines = text.lines();
    if lines.next() != Some(RUNS_HEADER) {
        return Err(format!(
            "{}: not an alternatives-runs.csv (its first line must be {RUNS_HEADER})",
            path.display()
        ));
    }
    lines
        .enumerate()
        .map(|(i, line)| {
            let at = || format!("{} line {}", path.display(), i + 2);
            let fields: Vec<&str> = line.split(',').collect();
            let [
                round,
                system,
                requests,
                errors,
                seconds,
                p50,
                p99,
                max,
                cpu,
                client,
            ] = fields.as_slice()
            else {
                return Err(format!("{}: {} fields, 10 expected", at(), fields.len()));
            };
            let system = System::ALL
                .into_iter()
                .find(|s| s.key() == *system)
                .ok_or_else(|| format!("{}: no system {system:?}", at()))?;
            Ok((
                number(round, "round", &at)?,
                system,
                Outcome {
                    requests: number(requests, "requests", &at)?,
                    errors: number(errors, "errors", &at)?,
                    seconds: number(seconds, "seconds", &at)?,
                    p50_us: number(p50, "p50_us", &at)?,
                    p99_us: number(p99, "p99_us", &at)?,
                    max_us: number(max, "max_us", &at)?,
                    server_cpu_s: number(cpu, "system_cpu_s", &at)?,
                    client_cpu_s: number(client, "client_cpu_s", &at)?,
                },
            ))
        })
        .collect()
}

fn number<T: std::str::FromStr>(v: &str, what: &str, at: &dyn Fn() -> String) -> Res<T>
where
    T::Err: std::fmt::Display,
{
    v.parse()
        .map_err(|e| format!("{}: {what} {v:?}: {e}", at()))
}

/// Medians over the rounds of one system.
#[derive(Debug, Clone, Copy)]
struct Figures {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    cpu_us: f64,
    client_cpu_us: f64,
    errors: u64,
}

impl Figures {
    fn per_cpu_second(self) -> f64 {
        1e6 / self.cpu_us
    }
}

fn figures(runs: &[Run], system: System) -> Option<Figures> {
    let sel: Vec<&Outcome> = runs
        .iter()
        .filter(|r| r.1 == system)
        .map(|r| &r.2)
        .collect();
    if sel.is_empty() {
        return None;
    }
    let per = |f: &dyn Fn(&Outcome) -> f64| median(sel.iter().map(|o| f(o)).collect());
    let n = |o: &Outcome| o.requests.max(1) as f64;
    Some(Figures {
        rps: per(&|o| o.requests as f64 / o.seconds),
        p50_us: per(&|o| o.p50_us as f64),
        p99_us: per(&|o| o.p99_us as f64),
        cpu_us: per(&|o| o.server_cpu_s * 1e6 / n(o)),
        client_cpu_us: per(&|o| o.client_cpu_s * 1e6 / n(o)),
        errors: sel.iter().map(|o| o.errors).sum(),
    })
}

fn write(args: &RunArgs, runs: &[Run]) -> Res<()> {
    let out = &args.out;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut md = format!(
        "{} rounds (median reported; the first system rotates) of {} s measured after {} s warm-up; {} closed-loop connections; {} worker thread(s) per Rust server; every system on CPU 0, the load generator on the others.\n\n| system | registrations/s | p50 / p99 ms | system CPU µs/registration | registrations per CPU-second | client CPU µs/registration | errors |\n|---|---:|---:|---:|---:|---:|---:|\n",
        args.rounds, args.duration, args.warmup, args.register_connections, args.threads,
    );
    let mut csv = String::from(
        "system,rps,p50_us,p99_us,system_cpu_us_per_registration,registrations_per_cpu_second,client_cpu_us_per_registration,errors\n",
    );
    let mut all = Vec::new();
    for system in System::ALL {
        let Some(f) = figures(runs, system) else {
            continue;
        };
        let _ = writeln!(
            md,
            "| {} | {:.0} | {:.2} / {:.2} | {:.1} | {:.0} | {:.1} | {} |",
            system.label(),
            f.rps,
            f.p50_us / 1000.0,
            f.p99_us / 1000.0,
            f.cpu_us,
            f.per_cpu_second(),
            f.client_cpu_us,
            f.errors,
        );
        let _ = writeln!(
            csv,
            "{},{:.1},{:.0},{:.0},{:.2},{:.1},{:.2},{}",
            system.key(),
            f.rps,
            f.p50_us,
            f.p99_us,
            f.cpu_us,
            f.per_cpu_second(),
            f.client_cpu_us,
            f.errors
        );
        all.push((system, f));
    }
    let _ = writeln!(
        md,
        "\n| fidogate | against | registrations per CPU-second, ratio | goal | met | p99 ms, fidogate / the app | p99 equal or better |\n|---|---|---:|---:|---|---:|---|"
    );
    let get = |s: System| all.iter().find(|(x, _)| *x == s).map(|(_, f)| *f);
    for ours in System::ALL.into_iter().filter(|s| s.is_fidogate()) {
        for (peer, goal) in [(System::WebauthnRs, 2.0), (System::SimpleWebAuthn, 3.0)] {
            let (Some(a), Some(b)) = (get(ours), get(peer)) else {
                continue;
            };
            let ratio = a.per_cpu_second() / b.per_cpu_second();
            let _ = writeln!(
                md,
                "| {} | {} | {ratio:.2} | ≥ {goal:.0} | {} | {:.2} / {:.2} | {} |",
                ours.short(),
                peer.short(),
                if ratio >= goal { "yes" } else { "no" },
                a.p99_us / 1000.0,
                b.p99_us / 1000.0,
                if a.p99_us <= b.p99_us { "yes" } else { "no" },
            );
        }
    }
    let mut runs_csv = format!("{RUNS_HEADER}\n");
    for (round, system, o) in runs {
        let _ = writeln!(
            runs_csv,
            "{round},{},{},{},{},{},{},{},{:.3},{:.3}",
            system.key(),
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
    put(out, "alternatives.md", &md)?;
    put(out, "alternatives.csv", &csv)?;
    put(out, "alternatives-runs.csv", &runs_csv)?;
    match chart(&out.join("alternatives.png"), &all) {
        Ok(()) => eprintln!(
            "gateway-load: wrote {} (alternatives.md, alternatives.csv, alternatives-runs.csv, alternatives.png)",
            out.display()
        ),
        Err(e) => eprintln!("gateway-load: no chart ({e}); the tables and CSV are written"),
    }
    Ok(())
}

const OURS: RGBColor = RGBColor(31, 119, 180);
const THEIRS: RGBColor = RGBColor(120, 120, 120);

/// Bars: registrations per CPU-second, and p99, of each system.
fn chart(path: &Path, all: &[(System, Figures)]) -> Res<()> {
    register_font()?;
    let root = BitMapBackend::new(path, (1600, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| format!("chart: {e}"))?;
    let (left, right) = root.split_horizontally(820);
    let colour = |s: System| if s.is_fidogate() { OURS } else { THEIRS };
    let per_cpu: Vec<Group> = all
        .iter()
        .map(|(s, f)| (s.bar().to_owned(), vec![(f.per_cpu_second(), colour(*s))]))
        .collect();
    bar_panel(
        &left,
        "Registrations per CPU-second (whole system)",
        "registrations / CPU-s",
        &per_cpu,
        &[("fidogate", OURS), ("verifying in the app", THEIRS)],
    )?;
    let p99: Vec<Group> = all
        .iter()
        .map(|(s, f)| (s.bar().to_owned(), vec![(f.p99_us, colour(*s))]))
        .collect();
    bar_panel(
        &right,
        "p99 latency of a registration (µs)",
        "µs",
        &p99,
        &[],
    )?;
    root.present().map_err(|e| format!("chart: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs_file(body: &str) -> (PathBuf, Res<Vec<Run>>) {
        static N: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "fidogate-alt-runs-{}-{}.csv",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, body).unwrap();
        let runs = read_runs(&path);
        let _ = std::fs::remove_file(&path);
        (path, runs)
    }

    const ROW: &str = "2,fidogate-run-fresh-chains,100,1,5,900,2000,3000,0.037,0.02";

    #[test]
    fn recorded_runs_read_back_and_bad_ones_are_named() {
        let (_, runs) = runs_file(&format!("{RUNS_HEADER}\n{ROW}\n"));
        let runs = runs.unwrap();
        assert_eq!(runs.len(), 1);
        let (round, system, o) = &runs[0];
        assert_eq!((*round, *system), (2, System::GatewayFreshChains));
        assert_eq!(
            (o.requests, o.errors, o.p50_us, o.p99_us, o.max_us),
            (100, 1, 900, 2000, 3000)
        );
        assert!((o.server_cpu_s - 0.037).abs() < 1e-12 && (o.seconds - 5.0).abs() < 1e-12);
        // Another file, a line cut short, a tampered number, an unknown
        // system, an extra field: each refused, naming the line.
        let cut = &ROW[..ROW.len() - 5];
        for (body, says) in [
            ("round,system\n".to_owned(), "not an alternatives-runs.csv"),
            (String::new(), "not an alternatives-runs.csv"),
            (format!("{RUNS_HEADER}\n{cut}\n"), "line 2: 9 fields"),
            (
                format!("{RUNS_HEADER}\n{}\n", ROW.replace(",100,", ",1e2,")),
                "line 2: requests",
            ),
            (
                format!(
                    "{RUNS_HEADER}\n{}\n",
                    ROW.replace("fidogate-run-fresh-chains", "nginx")
                ),
                "no system",
            ),
            (
                format!("{RUNS_HEADER}\n{ROW}\n{ROW},7\n"),
                "line 3: 11 fields",
            ),
        ] {
            let (path, runs) = runs_file(&body);
            let err = runs.unwrap_err();
            assert!(err.contains(says), "{body:?}: {err}");
            assert!(err.contains(&path.display().to_string()), "{err}");
        }
    }
}
