//! fidogate-redis: a [`ChallengeStore`] in Redis, shared by every gateway
//! instance that points at it, so options answered by one instance and a
//! registration taken by another meet, and single use holds across all.
//!
//! - Spent sealed challenges: `SET {prefix}spent:{sha256} 1 NX PX {ttl}`,
//!   atomic on every instance: of any number of concurrent spends, Redis
//!   answers `OK` once.
//! - App-issued challenges: `SET {prefix}pending:{sha256} {context} PX
//!   {ttl}`, taken with `GETDEL` (Redis 6.2 or later).
//! - Every call has a deadline; a store that does not answer in time, or
//!   answers an error, is [`StoreError::Unavailable`]: the gateway refuses
//!   the registration (503), never accepts it unrecorded. One log line per
//!   change of state (unreachable, reachable again).
//!
//! Commands run on the runtime whose handle the store is given, so the
//! connection's own tasks live as long as that runtime, whatever runtime
//! the gateway's requests run on (Pingora has one per thread).
//!
//! ```no_run
//! # async fn demo() -> Result<(), fidogate_core::gateway::StoreError> {
//! use fidogate_redis::RedisChallengeStore;
//! use std::time::Duration;
//! let store = RedisChallengeStore::connect(
//!     "redis://127.0.0.1:6379/0",
//!     "fidogate:",
//!     Duration::from_millis(200),
//!     tokio::runtime::Handle::current(),
//! )
//! .await?;
//! // Gateway::new(config, keys, anchors, std::sync::Arc::new(store))
//! # Ok(()) }
//! ```
//!
//! # Security
//! Keys hold the SHA-256 of a challenge, never the challenge. Use
//! `rediss://` and a password (in the URL) when Redis is not on the
//! gateway's own host; anyone who can write to it can mark challenges
//! spent (denial of service) or plant app-issued contexts.

use fidogate_core::UnixTime;
use fidogate_core::crypto::sha256;
use fidogate_core::gateway::{ChallengeContext, ChallengeStore, StoreError, StoreFuture};
use redis::aio::ConnectionManager;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;
use tokio::runtime::Handle;

/// The Redis store.
#[derive(Clone)]
pub struct RedisChallengeStore {
    conn: ConnectionManager,
    runtime: Handle,
    client: redis::Client,
    config: redis::aio::ConnectionManagerConfig,
    /// Connections driven by the callers' own runtimes, one per calling
    /// thread, so that a command costs no hop to another thread.
    local: Arc<Mutex<Vec<Local>>>,
    prefix: String,
    timeout: Duration,
    /// The URL without its password, for messages.
    shown: Arc<str>,
    up: Arc<AtomicBool>,
}

/// A connection made on (and driven by) a calling thread's runtime.
#[derive(Clone)]
struct Local {
    thread: ThreadId,
    conn: ConnectionManager,
    /// Also held by a task on that runtime: alone here once the runtime
    /// has shut down (and the connection with it).
    alive: Arc<()>,
}

impl Local {
    fn alive(&self) -> bool {
        Arc::strong_count(&self.alive) > 1
    }
}

/// Connections kept per calling thread, at most; past it, calls go
/// through the store's own runtime.
const MAX_LOCAL: usize = 256;

impl std::fmt::Debug for RedisChallengeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisChallengeStore")
            .field("url", &self.shown)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// `url` with any password replaced, for logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let (head, tail) = url.split_at(scheme + 3);
            let creds = tail.get(..at - scheme - 3).unwrap_or_default();
            let user = creds.split(':').next().unwrap_or_default();
            let rest = tail.get(at - scheme - 3..).unwrap_or_default();
            format!("{head}{user}:***{rest}")
        }
        _ => url.to_owned(),
    }
}

/// Checks `url` without connecting: a `redis://` or `rediss://` URL the
/// client can use.
pub fn check_url(url: &str) -> Result<(), String> {
    if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
        return Err("must be a redis:// or rediss:// URL".to_owned());
    }
    redis::Client::open(url)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

impl RedisChallengeStore {
    /// Connects to `url` on `runtime` and checks Redis answers `PING`
    /// within `timeout`; every later call has the same deadline. A
    /// `rediss://` server's certificate must chain to the public web
    /// roots; see [`RedisChallengeStore::connect_with_roots`] for others.
    pub async fn connect(
        url: &str,
        prefix: &str,
        timeout: Duration,
        runtime: Handle,
    ) -> Result<Self, StoreError> {
        Self::connect_with_roots(url, None, prefix, timeout, runtime).await
    }

    /// [`RedisChallengeStore::connect`], trusting for a `rediss://`
    /// server's certificate only the CA certificates in `roots_pem` (PEM)
    /// when given.
    pub async fn connect_with_roots(
        url: &str,
        roots_pem: Option<&[u8]>,
        prefix: &str,
        timeout: Duration,
        runtime: Handle,
    ) -> Result<Self, StoreError> {
        let shown: Arc<str> = redact(url).into();
        let unavailable = |why: String| StoreError::Unavailable(format!("{shown}: {why}"));
        if url.starts_with("rediss://") {
            // The TLS client takes the process's crypto provider; when the
            // program has not chosen one, aws-lc-rs (the gateway's own).
            // An earlier choice stands.
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        }
        let client = match roots_pem {
            Some(pem) => redis::Client::build_with_tls(
                url,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.to_vec()),
                },
            ),
            None => redis::Client::open(url),
        }
        .map_err(|e| unavailable(e.to_string()))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let connecting = {
            let (client, config) = (client.clone(), config.clone());
            runtime.spawn(async move { ConnectionManager::new_with_config(client, config).await })
        };
        let conn = match tokio::time::timeout(timeout, connecting).await {
            Ok(Ok(Ok(conn))) => conn,
            Ok(Ok(Err(e))) => return Err(unavailable(e.to_string())),
            Ok(Err(e)) => return Err(unavailable(e.to_string())),
            Err(_) => {
                return Err(unavailable(format!(
                    "no answer within {} ms",
                    timeout.as_millis()
                )));
            }
        };
        let store = Self {
            conn,
            runtime,
            client,
            config,
            local: Arc::default(),
            prefix: prefix.to_owned(),
            timeout,
            shown,
            up: Arc::new(AtomicBool::new(true)),
        };
        store.ping().await?;
        Ok(store)
    }

    /// `PING`, within the deadline.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let pong: String = self.run(redis::cmd("PING")).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            self.note(Err(StoreError::Unavailable(format!(
                "{}: PING answered {pong:?}",
                self.shown
            ))))
        }
    }

    fn key(&self, kind: &str, challenge: &[u8]) -> String {
        format!("{}{kind}:{}", self.prefix, hex::encode(sha256(challenge)))
    }

    /// Records the state the last call found, logging each change.
    fn note<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        match &result {
            Ok(_) => {
                if !self.up.swap(true, Ordering::Relaxed) {
                    tracing::info!(url = %self.shown, "challenge store reachable again");
                }
            }
            Err(e) => {
                if self.up.swap(false, Ordering::Relaxed) {
                    tracing::warn!(url = %self.shown, error = %e, "challenge store unreachable: registrations are refused with 503");
                }
            }
        }
        result
    }

    /// Runs one command within the deadline: on a connection of the
    /// calling thread's runtime, made on its first call, or (outside a
    /// tokio runtime) on the store's own.
    async fn run<T: redis::FromRedisValue + Send + 'static>(
        &self,
        cmd: redis::Cmd,
    ) -> Result<T, StoreError> {
        let shown = &self.shown;
        let timeout = self.timeout;
        let answer = match Handle::try_current() {
            Ok(here) => {
                tokio::time::timeout(timeout, async {
                    let mut conn = self.local_conn(&here).await?;
                    cmd.query_async::<T>(&mut conn).await
                })
                .await
            }
            // No runtime here (so no timer either): the deadline too is
            // kept on the store's runtime.
            Err(_) => {
                let mut conn = self.conn.clone();
                let work = self.runtime.spawn(async move {
                    tokio::time::timeout(timeout, cmd.query_async::<T>(&mut conn)).await
                });
                match work.await {
                    Ok(answer) => answer,
                    Err(e) => Ok(Err(redis::RedisError::from(std::io::Error::other(e)))),
                }
            }
        };
        let result = match answer {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(StoreError::Unavailable(format!("{shown}: {e}"))),
            Err(_) => Err(StoreError::Unavailable(format!(
                "{shown}: no answer within {} ms",
                timeout.as_millis()
            ))),
        };
        self.note(result)
    }

    /// The calling thread's connection, made now if it has none (or its
    /// runtime has shut down since).
    async fn local_conn(&self, here: &Handle) -> redis::RedisResult<ConnectionManager> {
        let me = std::thread::current().id();
        let found = self
            .locals()
            .iter()
            .find(|l| l.thread == me && l.alive())
            .cloned();
        if let Some(local) = found {
            return Ok(local.conn);
        }
        let conn =
            ConnectionManager::new_with_config(self.client.clone(), self.config.clone()).await?;
        let alive = Arc::new(());
        let held = alive.clone();
        here.spawn(async move {
            let _held = held;
            std::future::pending::<()>().await;
        });
        let mut locals = self.locals();
        locals.retain(|l| l.alive() && l.thread != me);
        if locals.len() < MAX_LOCAL {
            locals.push(Local {
                thread: me,
                conn: conn.clone(),
                alive,
            });
        }
        Ok(conn)
    }

    fn locals(&self) -> std::sync::MutexGuard<'_, Vec<Local>> {
        // A push or a retain cannot leave the list half-changed.
        self.local
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn encode(c: &ChallengeContext) -> String {
    json!({
        "route": c.route,
        "rp": c.rp_id,
        "user": c.username,
        "handle": c.user_handle.as_deref().map(hex::encode),
        "at": c.issued_at.as_secs(),
        "ttl": c.ttl.as_secs(),
    })
    .to_string()
}

fn decode(text: &str) -> Option<ChallengeContext> {
    let v: Value = serde_json::from_str(text).ok()?;
    let handle = match v.get("handle") {
        Some(Value::String(h)) => Some(hex::decode(h).ok()?),
        _ => None,
    };
    Some(ChallengeContext::new(
        v.get("route")?.as_str()?,
        v.get("rp")?.as_str()?,
        v.get("user").and_then(Value::as_str),
        handle.as_deref(),
        UnixTime::from_secs(v.get("at")?.as_i64()?),
        Duration::from_secs(v.get("ttl")?.as_u64()?),
    ))
}

impl ChallengeStore for RedisChallengeStore {
    fn issue<'a>(&'a self, challenge: &'a [u8], context: ChallengeContext) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(self.key("pending", challenge))
                .arg(encode(&context))
                .arg("PX")
                .arg(millis(context.ttl));
            let _: String = self.run(cmd).await?;
            Ok(())
        })
    }

    fn take<'a>(&'a self, challenge: &'a [u8]) -> StoreFuture<'a, Option<ChallengeContext>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("GETDEL");
            cmd.arg(self.key("pending", challenge));
            let found: Option<String> = self.run(cmd).await?;
            // An entry that does not read is no challenge of ours.
            Ok(found.as_deref().and_then(decode))
        })
    }

    fn spend<'a>(
        &'a self,
        challenge: &'a [u8],
        _now: UnixTime,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(self.key("spent", challenge))
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg(millis(ttl));
            let set: Option<String> = self.run(cmd).await?;
            Ok(set.is_some())
        })
    }

    fn health(&self) -> StoreFuture<'_, ()> {
        Box::pin(self.ping())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(redact("redis://:s3cret@h:6379/0"), "redis://:***@h:6379/0");
        assert_eq!(redact("rediss://u:p@h/1"), "rediss://u:***@h/1");
        assert_eq!(
            redact("redis://127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
    }

    #[test]
    fn urls_are_checked_without_connecting() {
        assert!(check_url("redis://127.0.0.1:6379/0").is_ok());
        assert!(check_url("rediss://example.com:6380/0").is_ok());
        assert!(check_url("http://127.0.0.1:6379").is_err());
        assert!(check_url("127.0.0.1:6379").is_err());
    }

    #[test]
    fn contexts_round_trip_and_garbage_is_no_context() {
        let c = ChallengeContext::new(
            "up",
            "example.com",
            Some("alice"),
            Some(b"handle"),
            UnixTime::from_secs(1_700_000_000),
            Duration::from_secs(300),
        );
        let text = encode(&c);
        assert_eq!(decode(&text), Some(c));
        // Every cut of a stored context, and a tampered one, is no context.
        for n in 0..text.len() {
            assert_eq!(
                decode(text.get(..n).unwrap_or_default()),
                None,
                "cut at {n}"
            );
        }
        assert_eq!(decode(&text.replace("\"ttl\":300", "\"ttl\":-1")), None);
        assert_eq!(
            decode(&text.replace("\"handle\":\"", "\"handle\":\"zz")),
            None
        );
        assert_eq!(decode("not json"), None);
        assert_eq!(decode("{\"route\":1}"), None);
    }
}
