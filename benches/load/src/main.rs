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

mod alternatives;
mod cli;
mod client;
mod criterion;
mod orchestrate;
mod process;
mod procfs;
mod report;
mod roles;
mod soak;
mod stores;
mod tls;

use clap::Parser;
use cli::{Cli, Role};
use client::{Load, Workload};
use process::write_fidogate_config;
use std::process::ExitCode;
use std::time::Duration;

pub(crate) type Res<T> = Result<T, String>;

pub(crate) const RP: &str = "example.com";
pub(crate) const ORIGIN: &str = "https://example.com";
pub(crate) const PASS: &str = "/pass";
pub(crate) const OPTIONS: &str = "/attestation/options";
pub(crate) const RESULT: &str = "/attestation/result";

/// The allocator `fidogate run` has (mimalloc), for every process this
/// binary plays: the apps behind the layer and verifying with webauthn-rs
/// then differ from the gateway by their code, not their allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.role {
        None => orchestrate::orchestrate(&cli.run),
        Some(Role::App {
            listen,
            threads,
            layer,
            no_signature_cache,
        }) => roles::serve_app(listen, threads, layer, !no_signature_cache),
        Some(Role::Pingora {
            listen,
            upstream,
            threads,
            tls_cert,
            tls_key,
        }) => {
            let tls = tls_cert.zip(tls_key);
            roles::serve_bare_pingora(listen, upstream, threads, tls.as_ref())
        }
        Some(Role::Load {
            target,
            workload,
            connections,
            warmup,
            duration,
            max_requests,
            server_pid,
            tls_ca,
            fresh_chains,
        }) => Workload::parse(&workload).and_then(|workload| {
            let outcome = client::run(Load {
                target,
                workload,
                connections,
                warmup: Duration::from_secs(warmup),
                duration: Duration::from_secs(duration),
                max_requests,
                server_pids: server_pid,
                tls_ca,
                fresh_chains,
            })?;
            print_json(&outcome)
        }),
        Some(Role::VerifyAlone {
            batches,
            per_batch,
            header,
        }) => if header {
            roles::sign_alone(batches, per_batch)
        } else {
            roles::verify_alone(batches, per_batch)
        }
        .and_then(|us| print_json(&us)),
        Some(Role::CriterionTables { dir, out }) => criterion::tables(&dir, &out),
        Some(Role::FidogateConfig {
            dir,
            listen,
            upstream,
            threads,
        }) => std::fs::create_dir_all(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))
            .and_then(|()| write_fidogate_config(&dir, listen, upstream, threads, None))
            .map(|path| println!("{}", path.display())),
        Some(Role::Burn { seconds }) => {
            roles::burn(seconds);
            Ok(())
        }
        Some(Role::Cache { entries }) => {
            roles::cache(entries, 200_000).and_then(|c| print_json(&c))
        }
        Some(Role::Stores { run, flood }) => stores::stores(&run, flood),
        Some(Role::Tls { run }) => tls::tls(&run),
        Some(Role::Flood {
            target,
            requests,
            connections,
            server_pid,
        }) => stores::flood(target, connections, requests, server_pid).and_then(|f| print_json(&f)),
        Some(Role::Soak {
            run,
            minutes,
            clients,
        }) => soak::soak(&run, minutes, clients),
        Some(Role::SoakApp {
            listen,
            layer,
            jwks_file,
        }) => soak::serve_soak_app(listen, layer, jwks_file),
        Some(Role::Alternatives {
            run,
            node_app,
            from_runs,
        }) => match from_runs {
            Some(csv) => alternatives::rewrite(&run, &csv),
            None => alternatives::alternatives(&run, node_app.as_deref()),
        },
        Some(Role::WebauthnRsApp { listen, threads }) => {
            alternatives::serve_webauthn_rs_app(listen, threads)
        }
        Some(Role::Spent { entries }) => {
            roles::spent(entries, 200_000).and_then(|c| print_json(&c))
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
