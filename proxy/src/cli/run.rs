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
    let conf = ServerConf {
        threads: file.threads,
        grace_period_seconds: Some(file.grace_period_secs),
        graceful_shutdown_timeout_seconds: Some(file.grace_period_secs),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    let proxy = FidogateProxy::new(
        gateway,
        loaded.upstream.clone(),
        file.healthz_path.clone(),
        Duration::from_secs(file.body_read_timeout_secs),
    );
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
        match &l.tls {
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
    let listen: Vec<String> = file.listen.iter().map(ToString::to_string).collect();
    tracing::info!(listen = ?listen, upstream = ?file.upstream, routes = file.gateway.routes.len(), "fidogate gateway starting");
    server.run_forever()
}
