//! `fidogate run --config FILE`: the gateway.

use super::EXIT_USAGE;
use clap::Args;
use fidogate_core::gateway::{ChallengeStore, Gateway, MokaChallengeStore, StoreKind};
use fidogate_proxy::config::{KeyOrigin, load, load_keys};
use fidogate_proxy::module::FidogateProxy;
use fidogate_redis::RedisChallengeStore;
use pingora::server::Server;
use pingora::server::configuration::ServerConf;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Args)]
pub(crate) struct Run {
    /// The configuration file.
    #[arg(long, default_value = "config/fidogate.yaml")]
    config: PathBuf,
    /// Take over the listening sockets of the running instance (over
    /// `upgrade_sock`) instead of binding them: start this, then send
    /// SIGQUIT to the old process, which hands them over and finishes
    /// its requests in flight within `grace_period_secs`.
    #[arg(long)]
    upgrade: bool,
    /// Run in the background, writing the process ID to `pid_file` (for
    /// a systemd unit of `Type=forking`); logs go to stderr as before.
    #[arg(long)]
    daemon: bool,
}

pub(crate) fn run(cmd: &Run) -> ExitCode {
    // One crypto provider for every TLS connection (listeners, Redis),
    // chosen before anything else can pick one.
    let _ = fidogate_proxy::tls::provider();
    let loaded = match load(&cmd.config, &|k| std::env::var(k).ok()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("fidogate: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| loaded.file.log_level.clone());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        // Colour codes only for a terminal, not in a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let (keys, origins) = match load_keys(&loaded) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("fidogate: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    for origin in &origins {
        if let KeyOrigin::Generated(path) = origin {
            tracing::warn!(path = %path.display(), "no key file: generated one and saved it; keep it, the app trusts its public key");
        }
    }
    let file = &loaded.file;
    // Fork before any thread exists: a forked child keeps only the thread
    // that forked.
    if cmd.daemon {
        // A running instance (the one an upgrade replaces) holds a lock on
        // its pid file: move it aside, as Pingora's own daemon mode does,
        // so this one writes and locks a file of its own.
        let mut old = file.pid_file.clone().into_os_string();
        old.push(".old");
        match std::fs::rename(&file.pid_file, &old) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                eprintln!(
                    "fidogate: --daemon: cannot move {} aside: {e}",
                    file.pid_file.display()
                );
                return ExitCode::from(EXIT_USAGE);
            }
        }
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let daemon = daemonix::Daemonize::new()
            .pid_file(&file.pid_file)
            .working_directory(cwd)
            .stdout(daemonix::Stdio::keep())
            .stderr(daemonix::Stdio::keep());
        if let Err(e) = daemon.start() {
            eprintln!(
                "fidogate: --daemon: {e} (pid_file {})",
                file.pid_file.display()
            );
            return ExitCode::from(EXIT_USAGE);
        }
    }
    // Redis calls run on a runtime of their own, alive as long as the
    // process, whatever Pingora's threads do.
    let store_runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("fidogate-store")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fidogate: cannot start the store runtime: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let store_config = &file.gateway.challenge_store;
    let store: Arc<dyn ChallengeStore> = match (store_config.kind, &store_config.url) {
        (StoreKind::Redis, Some(url)) => {
            let connecting = RedisChallengeStore::connect_with_roots(
                url,
                loaded.redis_roots.as_deref(),
                &store_config.key_prefix,
                Duration::from_millis(store_config.timeout_ms),
                store_runtime.handle().clone(),
            );
            match store_runtime.block_on(connecting) {
                Ok(store) => {
                    tracing::info!(url = %fidogate_redis::redact(url), "challenge store: redis");
                    Arc::new(store)
                }
                Err(e) => {
                    eprintln!(
                        "fidogate: {}: gateway.challenge_store: Redis does not answer PING: {e}",
                        cmd.config.display()
                    );
                    return ExitCode::from(EXIT_USAGE);
                }
            }
        }
        _ => Arc::new(MokaChallengeStore::new(file.gateway.challenge_capacity)),
    };
    let gateway = match Gateway::new(file.gateway.clone(), keys, loaded.anchors.clone(), store) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("fidogate: {}: gateway.{e}", cmd.config.display());
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // Recorded only where they are served (a Pingora app embedding the
    // module installs the same recorder itself).
    let gateway = match loaded.metrics.map(|_| fidogate_metrics::Metrics::global()) {
        None => gateway,
        Some(Ok(metrics)) => gateway.with_observer(metrics),
        Some(Err(e)) => {
            tracing::warn!(error = %e, "metrics: not recorded");
            gateway
        }
    };
    if let Some((settings, configured)) = &loaded.metadata {
        let state =
            fidogate_proxy::metadata_files::put_in_force(&gateway, settings, configured.clone());
        let every = file.metadata.as_ref().map_or(0, |m| m.reload_secs);
        if settings.blob_file.is_some() && every > 0 {
            let watching = fidogate_proxy::metadata_files::watch(
                gateway.clone(),
                settings.clone(),
                Duration::from_secs(every),
                state,
            );
            if let Err(e) = watching {
                tracing::warn!(error = %e, "metadata: the BLOB file is not watched");
            }
        }
    }
    let conf = ServerConf {
        threads: file.threads,
        grace_period_seconds: Some(file.grace_period_secs),
        graceful_shutdown_timeout_seconds: Some(file.grace_period_secs),
        upgrade_sock: file.upgrade_sock.display().to_string(),
        // The CAs Pingora's connector trusts for the app (the system's
        // when absent).
        ca_file: loaded
            .upstream_roots
            .as_ref()
            .map(|(path, _)| path.display().to_string()),
        pid_file: file.pid_file.display().to_string(),
        ..ServerConf::default()
    };
    let opt = pingora::server::configuration::Opt {
        upgrade: cmd.upgrade,
        ..Default::default()
    };
    if cmd.upgrade {
        tracing::info!(sock = %file.upgrade_sock.display(), "upgrade: waiting for the running instance's sockets (send it SIGQUIT)");
    }
    let mut server = Server::new_with_opt_and_conf(Some(opt), conf);
    server.bootstrap();
    let proxy = FidogateProxy::new(
        gateway,
        loaded.upstream.clone(),
        file.healthz_path.clone(),
        Duration::from_secs(file.body_read_timeout_secs),
    )
    .with_upstream_timeout(Duration::from_secs(file.upstream_timeout_secs));
    let proxy = match &file.upstream_tls {
        None => proxy,
        Some(tls) => {
            let roots = loaded
                .upstream_roots
                .as_ref()
                .map(|(_, ders)| ders.as_slice());
            match fidogate_proxy::tls::UpstreamClient::new(&tls.sni, roots) {
                Ok(client) => proxy.with_upstream_tls(tls.sni.clone(), client),
                Err(e) => {
                    eprintln!("fidogate: {}: {e}", cmd.config.display());
                    return ExitCode::from(EXIT_USAGE);
                }
            }
        }
    };
    #[cfg(feature = "test-clock")]
    let proxy = match std::env::var_os(super::test_clock::VAR) {
        Some(path) => {
            tracing::warn!(file = ?path, "test-clock build: the clock is moved by the file's offset");
            proxy.with_source(Arc::new(super::test_clock::FileClock { path: path.into() }))
        }
        None => proxy,
    };
    let mut service = pingora::proxy::http_proxy_service(&server.configuration, proxy);
    for l in &loaded.listen {
        let generated = match &l.generate {
            None => None,
            Some((cert, key)) => match fidogate_proxy::tls::generate_self_signed(cert, key) {
                Ok(made) => {
                    tracing::warn!(addr = %l.addr, cert = %cert.display(), key = %key.display(), "no TLS files: generated a self-signed certificate for localhost and 127.0.0.1 (clients will not trust it; replace both files with a real certificate)");
                    Some(made)
                }
                Err(e) => {
                    eprintln!("fidogate: {}: listen {}: {e}", cmd.config.display(), l.addr);
                    return ExitCode::from(EXIT_USAGE);
                }
            },
        };
        match generated.as_ref().or(l.tls.as_ref()) {
            None => service.add_tcp(&l.addr.to_string()),
            Some(cert) => match cert.settings() {
                Ok(settings) => service.add_tls_with_settings(&l.addr.to_string(), None, settings),
                Err(e) => {
                    eprintln!("fidogate: {}: listen {}: {e}", cmd.config.display(), l.addr);
                    return ExitCode::from(EXIT_USAGE);
                }
            },
        }
    }
    server.add_service(service);
    if let Some(addr) = loaded.metrics {
        server.add_service(fidogate_proxy::metrics::service(&addr.to_string()));
        tracing::info!(%addr, "metrics on http://{addr}/metrics");
    }
    let listen: Vec<String> = file.listen.iter().map(ToString::to_string).collect();
    tracing::info!(listen = ?listen, upstream = ?file.upstream, routes = file.gateway.routes.len(), "fidogate gateway starting");
    server.run_forever()
}
