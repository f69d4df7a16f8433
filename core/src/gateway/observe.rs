//! How a request ended, for the one log line and for metrics.
//!
//! Every answer the engine makes carries where it came from (its route
//! and endpoint), so an adapter turns what it sent into an [`Outcome`]
//! without deciding anything: [`Reply::outcome`] for the engine's own
//! answers, [`Forward::outcome`] once the app has answered a forwarded
//! request, [`Outcome::passed`] for everything else. It then hands the
//! outcome to [`Gateway::finish`], which writes the log line of an
//! intercepted request and tells the gateway's [`Observer`], if it has one
//! (`fidogate-metrics` is the Prometheus one).
//!
//! The engine reads no clock: an observer that wants to time verification
//! reads its own, through [`Observer::verifying`] and
//! [`Observer::verified`]; the whole request is timed by the adapter.
//!
//! [`Reply::outcome`]: super::Reply::outcome
//! [`Forward::outcome`]: super::Forward::outcome
//! [`Gateway::finish`]: super::Gateway::finish

use super::action::Endpoint;
use super::challenge::{ChallengeStore, StoreError};
use super::error::GatewayError;
use super::routes::Route;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// What the gateway did with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// A registration was verified and forwarded with the signed header
    /// (or answered with the cloud authenticator's token).
    Verified,
    /// The gateway answered from what it holds: a challenge it issued, an
    /// app-issued challenge it read, the JWKS, the health check.
    Issued,
    /// Refused for something the client sent (a 4xx of the gateway's).
    Refused,
    /// Not intercepted: the app answered.
    Passed,
    /// The gateway could not decide: the app, the challenge store or the
    /// gateway itself failed (a 5xx of the gateway's).
    Error,
}

impl Decision {
    /// The label value: `verified`, `issued`, `refused`, `passed`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::Issued => "issued",
            Self::Refused => "refused",
            Self::Passed => "passed",
            Self::Error => "error",
        }
    }
}

/// Which of the gateway's endpoints a request reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Place {
    /// A route's endpoint.
    Route(Endpoint),
    /// The JWKS document.
    Jwks,
    /// The UAF facet list at the AppID.
    Facets,
    /// `fidogate.js`, the browser client.
    Client,
    /// The health check.
    Health,
    /// Anything not intercepted.
    Other,
}

impl Place {
    /// The label value: `options`, `result`, `jwks`, `facets`, `client`,
    /// `health`, `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Route(Endpoint::Options) => "options",
            Self::Route(Endpoint::Result) => "result",
            Self::Jwks => "jwks",
            Self::Facets => "facets",
            Self::Client => "client",
            Self::Health => "health",
            Self::Other => "other",
        }
    }
}

/// Where an answer of the engine's comes from.
#[derive(Debug, Clone)]
pub(in crate::gateway) struct Origin {
    pub route: Option<Arc<Route>>,
    pub place: Place,
}

impl Origin {
    pub(in crate::gateway) fn route(route: &Arc<Route>, endpoint: Endpoint) -> Self {
        Self {
            route: Some(route.clone()),
            place: Place::Route(endpoint),
        }
    }

    pub(in crate::gateway) const fn place(place: Place) -> Self {
        Self { route: None, place }
    }
}

impl PartialEq for Origin {
    fn eq(&self, other: &Self) -> bool {
        self.place == other.place
            && self.route.as_ref().map(|r| &r.name) == other.route.as_ref().map(|r| &r.name)
    }
}

impl Eq for Origin {}

/// How one request ended: what [`Gateway::finish`](super::Gateway::finish)
/// logs and counts.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub(in crate::gateway) origin: Origin,
    pub(in crate::gateway) decision: Decision,
    pub(in crate::gateway) status: u16,
    pub(in crate::gateway) reason: &'static str,
    pub(in crate::gateway) refusal: Option<&'static str>,
    pub(in crate::gateway) store_error: Option<&'static str>,
}

impl Outcome {
    /// A request the gateway did not intercept, answered `status` by the
    /// app (or by the adapter when the app could not be reached).
    pub fn passed(status: u16) -> Self {
        Self {
            origin: Origin::place(Place::Other),
            decision: Decision::Passed,
            status,
            reason: "passed",
            refusal: None,
            store_error: None,
        }
    }

    /// The same outcome with the status actually sent.
    #[must_use]
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// What was decided.
    pub fn decision(&self) -> Decision {
        self.decision
    }

    /// The status sent.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The route's name; empty when no route was reached.
    pub fn route(&self) -> &str {
        self.origin.route.as_ref().map_or("", |r| r.name.as_str())
    }

    /// Which endpoint.
    pub fn place(&self) -> Place {
        self.origin.place
    }

    /// The refusal's class (`malformed`, `replay`, `too_large`,
    /// `rate_limited`…), when the gateway refused.
    pub fn refusal(&self) -> Option<&'static str> {
        self.refusal
    }

    /// The challenge store's failure (`full`, `unavailable`), when it
    /// failed.
    pub fn store_error(&self) -> Option<&'static str> {
        self.store_error
    }

    /// A short reason for logs.
    pub fn reason(&self) -> &'static str {
        self.reason
    }

    /// The one log line of an intercepted request.
    pub(in crate::gateway) fn log(&self, elapsed: Duration) {
        let Some(route) = &self.origin.route else {
            return;
        };
        tracing::info!(
            route = route.name.as_str(),
            dialect = route.dialect.as_str(),
            endpoint = self.origin.place.as_str(),
            decision = self.decision.as_str(),
            status = self.status,
            reason = self.reason,
            latency_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            "fidogate"
        );
    }
}

/// The label of a store failure.
pub(in crate::gateway) fn store_error_kind(error: &GatewayError) -> Option<&'static str> {
    match error {
        GatewayError::Store(StoreError::Full { .. }) => Some("full"),
        GatewayError::Store(StoreError::Unavailable(_)) => Some("unavailable"),
        _ => None,
    }
}

/// A started verification timer (see [`Observer::verifying`]).
#[derive(Debug, Clone, Copy)]
pub struct Timer(pub Option<Instant>);

/// Told of every request a gateway finishes; the Prometheus one is in
/// `fidogate-metrics`. Calls are on the request path: keep them cheap.
pub trait Observer: Send + Sync + std::fmt::Debug {
    /// A request ended, `elapsed` after its head arrived.
    fn finished(&self, outcome: &Outcome, elapsed: Duration);

    /// A verification starts: the observer reads its clock, if it times
    /// verifications.
    fn verifying(&self) -> Timer {
        Timer(None)
    }

    /// The verification started at `timer` passed, for `route`, with the
    /// attestation format `fmt` (`packed`, `uaf`, `key`…).
    fn verified(&self, _timer: Timer, _route: &str, _fmt: &str) {}

    /// The gateway keeps its challenges in `store` (for gauges read at
    /// scrape time; hold it weakly).
    fn watch_store(&self, _store: Weak<dyn ChallengeStore>) {}
}
