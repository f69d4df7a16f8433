//! The one configuration every scenario runs under: the `gateway:` section
//! of a `fidogate run` file, read by the tower side into the same
//! [`GatewayConfig`] the binary reads.

use fidogate_core::gateway::GatewayConfig;
use std::net::SocketAddr;

/// The relying party ID.
pub const RP_ID: &str = "example.com";
/// The allowed origin.
pub const ORIGIN: &str = "https://example.com";
/// The header's audience.
pub const AUDIENCE: &str = "scenarios";
/// The app answers the gateway reads, at most.
pub const RESPONSE_LIMIT: usize = 4096;
/// The route TTL, in seconds.
pub const TTL_SECS: u64 = 300;

/// The `gateway:` section, indented as it sits in the file.
pub const GATEWAY: &str = r#"gateway:
  audience: scenarios
  response_limit: 4096
  rp: { id: example.com, name: Example, origins: ["https://example.com"] }
  uaf: { app_id: "https://uaf.example.com/facets" }
  routes:
    - { name: webauthn, dialect: webauthn }
    - name: webauthn-app
      dialect: webauthn
      challenge_source: upstream
      options: { path: /app/webauthn/options }
      result: { path: /app/webauthn/result }
    - name: per-user
      dialect: webauthn
      options: { path: "/users/{username}/options" }
      result: { path: "/users/{username}/result" }
    - { name: nevis, dialect: nevis }
    - name: nevis-app
      dialect: nevis
      challenge_source: upstream
      options: { path: /app/nevis/options }
      result: { path: /app/nevis/result }
    - { name: dfns, dialect: dfns }
    - name: dfns-app
      dialect: dfns
      challenge_source: upstream
      options: { path: /app/dfns/init }
      result: { path: /app/dfns/registration }
    - { name: uaf, dialect: uaf }
    - name: uaf-app
      dialect: uaf
      challenge_source: upstream
      options: { path: "/app/uaf/regRequest/{username}" }
      result: { path: /app/uaf/regResponse }
    - name: broken-app
      dialect: webauthn
      challenge_source: upstream
      options: { path: /app/broken/options }
      result: { path: /app/broken/result }
    - name: refusing-app
      dialect: webauthn
      challenge_source: upstream
      options: { path: /app/refuse/options }
      result: { path: /app/refuse/result }
    - name: huge-app
      dialect: webauthn
      challenge_source: upstream
      options: { path: /app/huge/options }
      result: { path: /app/huge/result }
"#;

/// The engine's configuration, as the tower side builds it.
pub fn gateway_config() -> GatewayConfig {
    #[derive(serde::Deserialize)]
    struct File {
        gateway: GatewayConfig,
    }
    match serde_yaml::from_str::<File>(GATEWAY) {
        Ok(f) => f.gateway,
        Err(e) => panic!("the scenarios' gateway section does not read: {e}"),
    }
}

/// A whole `fidogate run` file: listening on a port the OS picks, in
/// front of `upstream`, with the memory store.
pub fn run_file(upstream: SocketAddr) -> String {
    run_file_with(upstream, None, "")
}

/// A whole `fidogate run` file, with the Redis store at `redis` when
/// given, and `extra` top-level lines (such as a shared `secret_file`).
pub fn run_file_with(upstream: SocketAddr, redis: Option<&str>, extra: &str) -> String {
    let store = redis.map_or_else(String::new, |url| {
        format!("  challenge_store: {{ kind: redis, url: \"{url}\", key_prefix: \"t:\", timeout_ms: 300 }}\n")
    });
    let gateway = GATEWAY.replacen("gateway:\n", &format!("gateway:\n{store}"), 1);
    format!(
        "listen: [\"127.0.0.1:0\"]\nupstream: [\"{upstream}\"]\nthreads: 1\ngrace_period_secs: 0\nbody_read_timeout_secs: 10\n{extra}{gateway}"
    )
}
