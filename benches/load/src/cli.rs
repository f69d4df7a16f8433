//! The command line: the orchestrator's options, and the roles it runs
//! this binary in.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "gateway-load",
    about = "fidogate's gateway load harness (127.0.0.1 only)"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) role: Option<Role>,
    #[command(flatten)]
    pub(crate) run: RunArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// Measured seconds per run.
    #[arg(long, default_value_t = 5)]
    pub(crate) duration: u64,
    /// Unmeasured seconds before each run.
    #[arg(long, default_value_t = 1)]
    pub(crate) warmup: u64,
    /// Rounds of every run, alternating which variant goes first; tables
    /// report the median.
    #[arg(long, default_value_t = 4)]
    pub(crate) rounds: usize,
    /// Connections for pass-through runs.
    #[arg(long, default_value_t = 32)]
    pub(crate) connections: usize,
    /// Connections for registration runs.
    #[arg(long, default_value_t = 4)]
    pub(crate) register_connections: usize,
    /// At most this many requests per run.
    #[arg(long, default_value_t = 20_000_000)]
    pub(crate) max_requests: u64,
    /// Worker threads of each gateway and app.
    #[arg(long, default_value_t = 1)]
    pub(crate) threads: usize,
    /// Authenticators with chains of their own for each "chains never
    /// seen" run of the alternatives (each used once; the run ends early
    /// if they are spent).
    #[arg(long, default_value_t = 50_000)]
    pub(crate) fresh_chains: u64,
    /// Pending challenges for the cache figures.
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) cache_entries: u64,
    /// Where the CSV files, the chart and the tables go.
    #[arg(long, default_value = "benches/results")]
    pub(crate) out: PathBuf,
    /// The `fidogate` binary (default: beside this one).
    #[arg(long)]
    pub(crate) fidogate: Option<PathBuf>,
    /// Do not pin processes to CPUs.
    #[arg(long)]
    pub(crate) no_pin: bool,
    /// Batches of the verification-alone timing (median reported).
    #[arg(long, default_value_t = 15)]
    pub(crate) verify_batches: usize,
    /// Verifications per batch.
    #[arg(long, default_value_t = 400)]
    pub(crate) verify_per_batch: usize,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Role {
    /// (internal) The app, bare or behind the tower layer.
    #[command(hide = true)]
    App {
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long, default_value_t = 1)]
        threads: usize,
        #[arg(long)]
        layer: bool,
        /// Behind the layer: anchors without a signature cache (every
        /// chain checked in full, as if never seen).
        #[arg(long)]
        no_signature_cache: bool,
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
        /// Serve TLS with this PEM chain (and `--tls-key`).
        #[arg(long)]
        tls_cert: Option<PathBuf>,
        #[arg(long)]
        tls_key: Option<PathBuf>,
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
        /// The processes under test (repeat for a system of several: a
        /// gateway and its app); their CPU time is summed.
        #[arg(long, required = true)]
        server_pid: Vec<u32>,
        /// Speak TLS (HTTP/1.1 by ALPN), trusting this PEM CA.
        #[arg(long)]
        tls_ca: Option<PathBuf>,
        /// Registrations with attestation chains never seen: this many
        /// authenticators, each with its own intermediate and leaf under
        /// the same root, made before the run and each used once (the run
        /// ends when they are spent). 0: one authenticator for every
        /// registration.
        #[arg(long, default_value_t = 0)]
        fresh_chains: u64,
    },
    /// (internal) Verification alone; prints microseconds as JSON.
    #[command(hide = true)]
    VerifyAlone {
        #[arg(long)]
        batches: usize,
        #[arg(long)]
        per_batch: usize,
        /// Time one verified-credential header's signature instead.
        #[arg(long)]
        header: bool,
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
    /// The challenge stores under load: registrations through `fidogate
    /// run` with the memory store and with Redis (a `redis-server` of its
    /// own on 127.0.0.1), then an options flood with a registration
    /// pending (stores.md, stores.csv in --out).
    /// Pass-through over TLS: bare Pingora with a TLS listener against
    /// `fidogate run` with one (metrics recorded, as the default
    /// configuration has them), rounds alternating which goes first
    /// (tls.md, tls.csv in --out).
    Tls {
        #[command(flatten)]
        run: RunArgs,
    },
    Stores {
        #[command(flatten)]
        run: RunArgs,
        /// Options requests in each flood.
        #[arg(long, default_value_t = 1_000_000)]
        flood: u64,
    },
    /// (internal) One options flood with a registration pending; prints
    /// its figures as JSON.
    #[command(hide = true)]
    Flood {
        #[arg(long)]
        target: SocketAddr,
        #[arg(long)]
        requests: u64,
        #[arg(long)]
        connections: usize,
        #[arg(long)]
        server_pid: u32,
    },
    /// A mixed load for N minutes through `fidogate run` and, at the same
    /// time, an axum app behind the tower layer: every answer checked,
    /// memory and descriptors sampled every 10 s (soak.md, soak.csv,
    /// soak.png in --out).
    Soak {
        #[command(flatten)]
        run: RunArgs,
        /// Minutes of load.
        #[arg(long, default_value_t = 30)]
        minutes: u64,
        /// Client connections per target, each cycling through the mix.
        #[arg(long, default_value_t = 6)]
        clients: usize,
    },
    /// (internal) The soak's app: checks every request it gets.
    #[command(hide = true)]
    SoakApp {
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long)]
        layer: bool,
        #[arg(long)]
        jwks_file: Option<PathBuf>,
    },
    /// fidogate against verifying in the app: full registrations through
    /// `fidogate run` (in front of an app without FIDO code), an axum app
    /// behind the layer, an axum app verifying with webauthn-rs, and a
    /// Node.js app verifying with @simplewebauthn/server; registrations
    /// per CPU-second of each whole system, p50 and p99
    /// (alternatives.md, alternatives.csv, alternatives-runs.csv,
    /// alternatives.png in --out).
    Alternatives {
        #[command(flatten)]
        run: RunArgs,
        /// The Node.js app's folder, its packages installed by `npm ci`
        /// (default: benches/simplewebauthn of this source tree).
        #[arg(long)]
        node_app: Option<PathBuf>,
        /// Write the tables and the chart from this alternatives-runs.csv
        /// instead of running anything (give the options the runs were
        /// made with: the table's heading states them).
        #[arg(long)]
        from_runs: Option<PathBuf>,
    },
    /// (internal) The axum app that verifies registrations itself with
    /// webauthn-rs.
    #[command(hide = true)]
    WebauthnRsApp {
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
    /// (internal) The spent-set of sealed challenges; prints its figures
    /// as JSON.
    #[command(hide = true)]
    Spent {
        #[arg(long)]
        entries: u64,
    },
}
