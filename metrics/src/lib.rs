//! fidogate-metrics: the gateway's Prometheus series, recorded the same
//! way behind the tower Layer and the Pingora proxy, because both hand
//! every finished request to the engine ([`Gateway::finish`]) and the
//! engine tells this recorder.
//!
//! [`Metrics::global`] registers the series in the `prometheus` crate's
//! default registry (the one `pingora-prometheus` serves), so a Pingora
//! or axum app that already exposes that registry shows fidogate's series
//! beside its own; [`Metrics::new`] takes a registry of your own.
//!
//! ```
//! use fidogate_core::gateway::*;
//! use fidogate_core::trust::TrustAnchors;
//! use fidogate_metrics::Metrics;
//! use std::sync::Arc;
//! # let der = fidogate_testkit::keys::SigningKey::generate(fidogate_testkit::keys::alg::ES256, 1).pkcs8_der();
//! # let rp = RpConfig { id: "example.com".into(), name: None, origins: vec!["https://example.com".into()], top_origins: vec![] };
//! # let config = GatewayConfig::new(rp, vec![RouteConfig::new("passkeys", Dialect::Webauthn)]);
//! # let keys = GatewayKeys { signer: TokenSigner::from_pkcs8_der(&der)?, retired: vec![], secret: vec![7; 32], previous_secrets: vec![] };
//! let store = Arc::new(MokaChallengeStore::new(10_000));
//! let gateway = Gateway::new(config, keys, TrustAnchors::new(), store)?
//!     .with_observer(Metrics::global()?);
//! // …serve the gateway; then, on GET /metrics:
//! let (content_type, body) = fidogate_metrics::render(prometheus::default_registry());
//! assert!(content_type.starts_with("text/plain"));
//! assert!(String::from_utf8(body)?.contains("fidogate_build_info"));
//! # let _ = gateway;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Series
//! - `fidogate_requests_total{route, endpoint, decision, status}`:
//!   `endpoint` is `options`, `result`, `jwks`, `facets`, `health` or `other`
//!   (not intercepted, with `route=""`); `decision` is `verified`,
//!   `issued`, `refused`, `passed` or `error`.
//! - `fidogate_refusals_total{route, class}`: every refusal, by its class
//!   (`malformed`, `signature`, `untrusted`, `policy`, `replay`,
//!   `too_large`, `method`, `rate_limited`, `bad_upstream`,
//!   `unavailable`, `internal`).
//! - `fidogate_verification_seconds{route, fmt}`: verification alone, of
//!   registrations that passed.
//! - `fidogate_request_seconds{route, endpoint}`: the gateway's whole
//!   handling of a request, the app's part included.
//! - `fidogate_challenge_store_errors_total{kind}`: `full`, `unavailable`.
//! - `fidogate_challenges_pending`, `fidogate_challenges_spent`: what the
//!   memory store holds, read at each scrape (absent with Redis).
//! - `fidogate_build_info{version}`: 1.
//!
//! No label holds a username, a credential, a challenge or a path.

use fidogate_core::gateway::{ChallengeStore, Observer, Outcome, Timer};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

pub use prometheus;

/// Buckets of `fidogate_verification_seconds`: 50 µs to 250 ms.
const VERIFICATION_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
];

/// Buckets of `fidogate_request_seconds`: 250 µs to 10 s.
const REQUEST_BUCKETS: &[f64] = &[
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0,
];

/// The gateway's series, registered in one registry. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Metrics {
    series: Arc<Series>,
}

#[derive(Debug)]
struct Series {
    requests: IntCounterVec,
    refusals: IntCounterVec,
    verification: HistogramVec,
    request: HistogramVec,
    store_errors: IntCounterVec,
    stores: Arc<StoreGauges>,
}

impl Metrics {
    /// The series, registered in `registry`. Fails when the registry
    /// already holds series of these names.
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let requests = IntCounterVec::new(
            Opts::new(
                "fidogate_requests_total",
                "Requests the gateway finished, by route, endpoint, decision and status sent.",
            ),
            &["route", "endpoint", "decision", "status"],
        )?;
        let refusals = IntCounterVec::new(
            Opts::new(
                "fidogate_refusals_total",
                "Requests the gateway refused, by route and class of refusal.",
            ),
            &["route", "class"],
        )?;
        let verification = HistogramVec::new(
            HistogramOpts::new(
                "fidogate_verification_seconds",
                "Time verifying a registration that passed (verification alone).",
            )
            .buckets(VERIFICATION_BUCKETS.to_vec()),
            &["route", "fmt"],
        )?;
        let request = HistogramVec::new(
            HistogramOpts::new(
                "fidogate_request_seconds",
                "The gateway's whole handling of a request, the app's part included.",
            )
            .buckets(REQUEST_BUCKETS.to_vec()),
            &["route", "endpoint"],
        )?;
        let store_errors = IntCounterVec::new(
            Opts::new(
                "fidogate_challenge_store_errors_total",
                "Requests the challenge store failed (full: the spent-set is full of live \
                 entries; unavailable: a shared store did not answer in time).",
            ),
            &["kind"],
        )?;
        let build = IntGaugeVec::new(
            Opts::new("fidogate_build_info", "The fidogate build; always 1."),
            &["version"],
        )?;
        let stores = Arc::new(StoreGauges {
            pending: IntGauge::new(
                "fidogate_challenges_pending",
                "App-issued challenges waiting for their registration (memory store).",
            )?,
            spent: IntGauge::new(
                "fidogate_challenges_spent",
                "Sealed challenges recorded as spent until they expire (memory store).",
            )?,
            watched: Mutex::default(),
        });
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(refusals.clone()))?;
        registry.register(Box::new(verification.clone()))?;
        registry.register(Box::new(request.clone()))?;
        registry.register(Box::new(store_errors.clone()))?;
        registry.register(Box::new(build.clone()))?;
        registry.register(Box::new(Shared(stores.clone())))?;
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        Ok(Self {
            series: Arc::new(Series {
                requests,
                refusals,
                verification,
                request,
                store_errors,
                stores,
            }),
        })
    }

    /// The series in the default registry, registered on the first call;
    /// every later call returns the same recorder.
    pub fn global() -> Result<Arc<Self>, prometheus::Error> {
        static GLOBAL: OnceLock<Result<Arc<Metrics>, String>> = OnceLock::new();
        GLOBAL
            .get_or_init(|| {
                Self::new(prometheus::default_registry())
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(prometheus::Error::Msg)
    }
}

impl Observer for Metrics {
    fn finished(&self, outcome: &Outcome, elapsed: Duration) {
        let s = &self.series;
        let route = outcome.route();
        let endpoint = outcome.place().as_str();
        let mut digits = [0u8; 3];
        s.requests
            .with_label_values(&[
                route,
                endpoint,
                outcome.decision().as_str(),
                status_label(outcome.status(), &mut digits),
            ])
            .inc();
        if let Some(class) = outcome.refusal() {
            s.refusals.with_label_values(&[route, class]).inc();
        }
        if let Some(kind) = outcome.store_error() {
            s.store_errors.with_label_values(&[kind]).inc();
        }
        s.request
            .with_label_values(&[route, endpoint])
            .observe(elapsed.as_secs_f64());
    }

    fn verifying(&self) -> Timer {
        Timer(Some(Instant::now()))
    }

    fn verified(&self, timer: Timer, route: &str, fmt: &str) {
        if let Timer(Some(started)) = timer {
            self.series
                .verification
                .with_label_values(&[route, fmt])
                .observe(started.elapsed().as_secs_f64());
        }
    }

    fn watch_store(&self, store: Weak<dyn ChallengeStore>) {
        if let Ok(mut watched) = self.series.stores.watched.lock() {
            watched.retain(|w| w.strong_count() > 0);
            watched.push(store);
        }
    }
}

/// A status as its three digits, without allocating (anything outside
/// 100 to 999 is `000`).
fn status_label(status: u16, digits: &mut [u8; 3]) -> &str {
    let status = if (100..1000).contains(&status) {
        status
    } else {
        0
    };
    let [a, b, c] = digits;
    *a = b'0' + u8::try_from(status / 100).unwrap_or(0);
    *b = b'0' + u8::try_from(status / 10 % 10).unwrap_or(0);
    *c = b'0' + u8::try_from(status % 10).unwrap_or(0);
    std::str::from_utf8(digits).unwrap_or("000")
}

/// The memory stores' gauges, read when the registry is gathered.
#[derive(Debug)]
struct StoreGauges {
    pending: IntGauge,
    spent: IntGauge,
    watched: Mutex<Vec<Weak<dyn ChallengeStore>>>,
}

/// The gauges as a collector of the registry's.
#[derive(Debug)]
struct Shared(Arc<StoreGauges>);

impl Collector for Shared {
    fn desc(&self) -> Vec<&Desc> {
        let mut desc = self.0.pending.desc();
        desc.extend(self.0.spent.desc());
        desc
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let Ok(watched) = self.0.watched.lock() else {
            return Vec::new();
        };
        let held: Vec<_> = watched
            .iter()
            .filter_map(Weak::upgrade)
            .filter_map(|store| store.held())
            .collect();
        drop(watched);
        if held.is_empty() {
            // No memory store (Redis): nothing this process can count.
            return Vec::new();
        }
        let sum = |f: fn(&fidogate_core::gateway::Held) -> u64| {
            i64::try_from(held.iter().map(f).sum::<u64>()).unwrap_or(i64::MAX)
        };
        self.0.pending.set(sum(|h| h.pending));
        self.0.spent.set(sum(|h| h.spent));
        let mut families = self.0.pending.collect();
        families.extend(self.0.spent.collect());
        families
    }
}

/// The registry in the Prometheus text format: its `Content-Type` and its
/// bytes (empty, and a log line, if encoding fails).
pub fn render(registry: &Registry) -> (&'static str, Vec<u8>) {
    let encoder = TextEncoder::new();
    let mut body = Vec::new();
    if let Err(e) = encoder.encode(&registry.gather(), &mut body) {
        tracing::warn!(error = %e, "metrics: the registry could not be encoded");
        body.clear();
    }
    ("text/plain; version=0.0.4; charset=utf-8", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_three_digits() {
        let mut d = [0u8; 3];
        assert_eq!(status_label(200, &mut d), "200");
        assert_eq!(status_label(429, &mut d), "429");
        assert_eq!(status_label(101, &mut d), "101");
        assert_eq!(status_label(999, &mut d), "999");
        assert_eq!(status_label(42, &mut d), "000");
        assert_eq!(status_label(1000, &mut d), "000");
    }

    #[test]
    fn a_registry_takes_the_series_once() {
        let registry = Registry::new();
        assert!(Metrics::new(&registry).is_ok());
        assert!(Metrics::new(&registry).is_err());
        let (_, body) = render(&registry);
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains("fidogate_build_info{version=\""), "{text}");
    }
}
