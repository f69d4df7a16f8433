//! The types an adapter sees: the engine's decisions at each of its three
//! calls, and what the adapter reports back when something it does (read
//! the body, call the app) fails.

use super::config::Dialect;
use super::error::GatewayError;
use super::observe::{Decision, Origin, Outcome};
use super::reply::Reply;
use super::routes::Route;
use super::source::SourceError;
use super::token::CredentialClaims;
use http::{HeaderName, HeaderValue, StatusCode};
use serde_json::Value;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Who sent a request, and when, for the per-client limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    /// The peer address of the connection, when the adapter knows it.
    pub peer: Option<IpAddr>,
    /// Now on the source's monotonic clock
    /// ([`Source::monotonic`](super::Source::monotonic)).
    pub at: Duration,
}

impl Client {
    /// No peer known, at time zero: a request that no limit applies to
    /// (tests, and callers that do not limit).
    pub const UNKNOWN: Self = Self {
        peer: None,
        at: Duration::ZERO,
    };

    /// The connection's peer, at the source's monotonic now.
    pub fn new(peer: Option<IpAddr>, source: &dyn super::Source) -> Self {
        Self {
            peer,
            at: source.monotonic(),
        }
    }
}

/// Which endpoint of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// The endpoint that issues challenges.
    Options,
    /// The endpoint that takes registrations.
    Result,
}

/// The first decision, made on the request head alone.
#[derive(Debug)]
pub enum RequestAction {
    /// Not intercepted: forward as it is (after removing spoofed headers).
    PassThrough,
    /// Answer directly (JWKS, 405, 413 by Content-Length).
    Respond(Reply),
    /// Intercepted: read the body, at most [`Intercept::limit`] bytes, then
    /// call [`Gateway::on_body`], or [`Gateway::on_failure`] when reading
    /// fails.
    ///
    /// [`Gateway::on_body`]: super::Gateway::on_body
    /// [`Gateway::on_failure`]: super::Gateway::on_failure
    ReadBody(Intercept),
}

/// An intercepted request, between its head and its body: the route it
/// matched, and what the path said.
#[derive(Debug, Clone)]
pub struct Intercept {
    pub(in crate::gateway) route: Arc<Route>,
    pub(in crate::gateway) endpoint: Endpoint,
    pub(in crate::gateway) username: Option<String>,
    pub(in crate::gateway) limit: usize,
}

impl Intercept {
    /// The most body bytes to read.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The route's name.
    pub fn route_name(&self) -> &str {
        &self.route.name
    }

    /// The route's dialect.
    pub fn dialect(&self) -> Dialect {
        self.route.dialect
    }

    /// Which endpoint.
    pub fn endpoint(&self) -> Endpoint {
        self.endpoint
    }

    pub(in crate::gateway) fn origin(&self) -> Origin {
        Origin::route(&self.route, self.endpoint)
    }

    pub(in crate::gateway) fn refuse(&self, error: impl Into<GatewayError>) -> Reply {
        Reply::refuse(self.origin(), self.route.dialect, error)
    }
}

/// What went wrong on the adapter's side of an intercepted request; the
/// engine turns it into the answer ([`Gateway::on_failure`]).
///
/// [`Gateway::on_failure`]: super::Gateway::on_failure
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// The body ran past [`Intercept::limit`] (no or a false
    /// Content-Length).
    BodyTooLarge,
    /// The body could not be read (the client's stream failed).
    BodyUnreadable,
    /// The body did not arrive within the adapter's read timeout.
    BodyTimedOut,
    /// The app could not be reached, or the exchange with it failed.
    AppUnreachable(String),
    /// The app did not answer within the adapter's timeout.
    AppTimedOut,
    /// The time and randomness source failed.
    Source(SourceError),
}

/// The decision on an intercepted request's body.
#[derive(Debug)]
pub enum BodyAction {
    /// Answer directly; nothing goes upstream.
    Respond(Reply),
    /// Forward the body unchanged, with these headers added.
    Forward(Forward),
}

/// A request to forward.
#[derive(Debug)]
pub struct Forward {
    /// Headers to add (the verified-credential header).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// When set, the app's answer is the engine's to judge: see
    /// [`AfterResponse`].
    pub after: Option<AfterResponse>,
    /// The verified claims, for logs.
    pub claims: Option<Box<CredentialClaims>>,
}

impl Forward {
    /// The short reason for logs.
    pub fn reason(&self) -> &'static str {
        if self.claims.is_some() {
            "verified"
        } else {
            "app-issued options"
        }
    }

    /// How the request ends when the app's answer (or the answer that
    /// replaces it) is sent with `status`.
    pub fn outcome(&self, intercept: &Intercept, status: u16) -> Outcome {
        Outcome {
            origin: intercept.origin(),
            decision: if self.claims.is_some() {
                Decision::Verified
            } else {
                Decision::Issued
            },
            status,
            reason: self.reason(),
            refusal: None,
            store_error: None,
        }
    }
}

/// What the gateway still has to do with the app's answer. With the app's
/// status, in this order:
///
/// 1. [`replacement_for`](Self::replacement_for) is `Some`: send that
///    answer instead of the app's, whose body is not needed.
/// 2. [`wants_body`](Self::wants_body): read at most
///    [`Gateway::response_limit`] bytes of the answer and pass them to
///    [`Gateway::on_response`], which says whether to send the app's answer
///    or another.
/// 3. Otherwise send the app's answer on unchanged, whatever its size: the
///    gateway reads nothing from it (an app refusing the request, a
///    redirect).
///
/// [`Gateway::response_limit`]: super::Gateway::response_limit
/// [`Gateway::on_response`]: super::Gateway::on_response
#[derive(Debug, Clone)]
pub struct AfterResponse {
    pub(in crate::gateway) route: Arc<Route>,
    pub(in crate::gateway) kind: AfterKind,
}

#[derive(Debug, Clone)]
pub(in crate::gateway) enum AfterKind {
    /// Read the app-issued challenge from the answer.
    Capture { username: Option<String> },
    /// Answer the client with this instead of the app's 2xx answer.
    Replace { answer: Value },
}

impl AfterResponse {
    /// The answer that replaces the app's answer with this status, when it
    /// does not depend on the answer's body.
    pub fn replacement_for(&self, status: StatusCode) -> Option<Reply> {
        match &self.kind {
            AfterKind::Replace { answer } if status.is_success() => Some(Reply::ok(
                Origin::route(&self.route, Endpoint::Result),
                answer,
            )),
            _ => None,
        }
    }

    /// Whether the app's answer with this status must be read and passed
    /// to [`Gateway::on_response`](super::Gateway::on_response).
    pub fn wants_body(&self, status: StatusCode) -> bool {
        matches!(self.kind, AfterKind::Capture { .. }) && status.is_success()
    }

    /// Whether the decision may depend on the app's whole answer (an
    /// app-issued challenge), so the client may see nothing of it before
    /// [`Gateway::on_response`](super::Gateway::on_response); otherwise its
    /// status alone decides.
    pub fn depends_on_answer_body(&self) -> bool {
        matches!(self.kind, AfterKind::Capture { .. })
    }
}

/// The app's answer as the adapter read it, for
/// [`Gateway::on_response`](super::Gateway::on_response).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppAnswer<'a> {
    /// The whole body, within the response limit.
    Body(&'a [u8]),
    /// The body ran past the response limit.
    TooLarge,
    /// The body could not be read.
    Unreadable,
}

/// The decision on the app's answer.
#[derive(Debug)]
pub enum ResponseAction {
    /// Send the app's answer as it is.
    Keep,
    /// Send this instead.
    Replace(Reply),
}

impl ResponseAction {
    /// The short reason for logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Keep => "upstream answer kept",
            Self::Replace(reply) => reply.reason(),
        }
    }
}
