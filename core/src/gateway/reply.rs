//! Answers the gateway writes itself, and the one place where a refusal
//! becomes an HTTP status and a dialect's error body.

use super::config::Dialect;
use super::dialect::rules;
use super::error::{GatewayError, RequestError, UpstreamError};
use super::observe::{Decision, Origin, Outcome, store_error_kind};
use crate::error::ErrorClass;
use http::StatusCode;
use serde_json::Value;

/// What a 503 tells the client to wait, in seconds.
pub const RETRY_AFTER_SECS: u64 = 1;

/// A refused request: the typed error, and the one mapping from it to an
/// HTTP status and a short reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    error: GatewayError,
}

impl Refusal {
    /// Refuses for `error`.
    pub(crate) fn new(error: impl Into<GatewayError>) -> Self {
        Self {
            error: error.into(),
        }
    }

    /// Why.
    pub fn error(&self) -> &GatewayError {
        &self.error
    }

    /// The typed error, taken out.
    pub fn into_error(self) -> GatewayError {
        self.error
    }

    /// The HTTP status for the refusal: the only mapping there is.
    pub fn status(&self) -> StatusCode {
        match &self.error {
            GatewayError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::Method { .. } => StatusCode::METHOD_NOT_ALLOWED,
            GatewayError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            GatewayError::Upstream(UpstreamError::Timeout) => StatusCode::GATEWAY_TIMEOUT,
            GatewayError::Upstream(_) => StatusCode::BAD_GATEWAY,
            GatewayError::Request(RequestError::BodyTimeout) => StatusCode::REQUEST_TIMEOUT,
            GatewayError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            e => match e.class() {
                Some(ErrorClass::Malformed | ErrorClass::Signature) => StatusCode::BAD_REQUEST,
                Some(ErrorClass::Untrusted | ErrorClass::Policy | ErrorClass::Replay) => {
                    StatusCode::FORBIDDEN
                }
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    /// A short name for logs and the error body (`malformed`, `replay`,
    /// `too_large`…).
    pub fn reason(&self) -> &'static str {
        match &self.error {
            GatewayError::TooLarge { .. } => "too_large",
            GatewayError::Method { .. } => "method",
            GatewayError::RateLimited { .. } => "rate_limited",
            GatewayError::Upstream(_) => "bad_upstream",
            GatewayError::Store(_) => "unavailable",
            e => e.class().map_or("internal", ErrorClass::as_str),
        }
    }

    /// The message sent in the dialect's error body.
    pub fn message(&self) -> String {
        self.error.to_string()
    }
}

/// An answer the gateway writes (a JSON body). Only the engine makes
/// them; adapters send them as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The JSON body.
    pub body: Vec<u8>,
    /// Set when the answer is a refusal.
    pub refusal: Option<Refusal>,
    /// Headers the answer carries besides its framing (`Retry-After` on a
    /// 503 or a 429).
    pub headers: Vec<(&'static str, String)>,
    /// The route and endpoint it answers.
    pub(in crate::gateway) origin: Origin,
    /// Its media type.
    pub(in crate::gateway) media_type: &'static str,
}

impl Reply {
    /// A 200 answer with a JSON body.
    pub(in crate::gateway) fn ok(origin: Origin, body: &Value) -> Self {
        Self::raw(origin, StatusCode::OK, body.to_string().into_bytes())
    }

    /// An answer with these bytes as its JSON body.
    pub(in crate::gateway) fn raw(origin: Origin, status: StatusCode, body: Vec<u8>) -> Self {
        Self {
            status,
            body,
            refusal: None,
            headers: Vec::new(),
            origin,
            media_type: "application/json",
        }
    }

    /// A 503 with a JSON body (the health check of a degraded gateway).
    pub(in crate::gateway) fn unavailable(origin: Origin, body: &Value) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: body.to_string().into_bytes(),
            refusal: None,
            headers: vec![("retry-after", RETRY_AFTER_SECS.to_string())],
            origin,
            media_type: "application/json",
        }
    }

    /// A refusal in the dialect's error shape.
    pub(in crate::gateway) fn refuse(
        origin: Origin,
        dialect: Dialect,
        error: impl Into<GatewayError>,
    ) -> Self {
        let refusal = Refusal::new(error);
        let status = refusal.status();
        let body = rules(dialect).error_body(status, refusal.reason(), &refusal.message());
        // The store may be back in a moment: say when to try again. Over
        // the rate limit: when the client's next request is allowed.
        let headers = match &refusal.error {
            GatewayError::RateLimited { retry_after_secs } => {
                vec![("retry-after", retry_after_secs.to_string())]
            }
            _ if status == StatusCode::SERVICE_UNAVAILABLE => {
                vec![("retry-after", RETRY_AFTER_SECS.to_string())]
            }
            _ => Vec::new(),
        };
        Self {
            status,
            body: body.to_string().into_bytes(),
            refusal: Some(refusal),
            headers,
            origin,
            media_type: "application/json",
        }
    }

    /// How the request ended when this answer is sent.
    pub fn outcome(&self) -> Outcome {
        let status = self.status.as_u16();
        let (decision, refusal, store_error) = match &self.refusal {
            Some(r) => {
                let decision = if self.status.is_server_error() {
                    Decision::Error
                } else {
                    Decision::Refused
                };
                (decision, Some(r.reason()), store_error_kind(&r.error))
            }
            None if self.status.is_server_error() => {
                // The health check of a degraded gateway: the store failed.
                (Decision::Error, None, Some("unavailable"))
            }
            None if self.origin.place == super::observe::Place::Route(super::Endpoint::Result) => {
                (Decision::Verified, None, None)
            }
            None => (Decision::Issued, None, None),
        };
        Outcome {
            origin: self.origin.clone(),
            decision,
            status,
            reason: self.reason(),
            refusal,
            store_error,
        }
    }

    /// The short reason for logs: the refusal's, or `answered`.
    pub fn reason(&self) -> &'static str {
        self.refusal.as_ref().map_or("answered", Refusal::reason)
    }

    /// The `Content-Type` of the answer (JSON; the UAF facet list's own
    /// JSON type; JavaScript for the browser client).
    pub fn content_type(&self) -> &'static str {
        self.media_type
    }

    /// The `Content-Length` to send: the body's, except on a 304, which
    /// has no body and must not claim an empty one (RFC 9110 §8.6).
    pub fn content_length(&self) -> Option<usize> {
        (self.status != StatusCode::NOT_MODIFIED).then_some(self.body.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::error::{RequestError, UpstreamError};
    use crate::gateway::{ChallengeError, InternalError};
    use serde_json::json;

    #[test]
    fn statuses_and_reasons() {
        let s = |e: GatewayError| {
            let r = Refusal::new(e);
            (r.status().as_u16(), r.reason())
        };
        assert_eq!(s(RequestError::NotObject.into()), (400, "malformed"));
        assert_eq!(s(ChallengeError::Unknown.into()), (403, "replay"));
        assert_eq!(
            s(RequestError::RoleKind {
                field: "recoveryCredential",
                kind: "Key"
            }
            .into()),
            (403, "policy")
        );
        assert_eq!(
            s(GatewayError::TooLarge {
                limit: 1,
                length: Some(2)
            }),
            (413, "too_large")
        );
        assert_eq!(
            s(GatewayError::Method {
                path: "/x".into(),
                allowed: http::Method::POST,
                got: http::Method::GET
            }),
            (405, "method")
        );
        assert_eq!(s(UpstreamError::NotJson.into()), (502, "bad_upstream"));
        assert_eq!(s(InternalError::HeaderValue.into()), (500, "internal"));
        assert_eq!(
            s(InternalError::Source(crate::gateway::SourceError("no entropy".into())).into()),
            (500, "internal")
        );
    }

    #[test]
    fn shapes() {
        let body = |d| {
            let r = Reply::refuse(
                Origin::place(super::super::observe::Place::Other),
                d,
                GatewayError::TooLarge {
                    limit: 10,
                    length: Some(11),
                },
            );
            serde_json::from_slice::<Value>(&r.body).unwrap()
        };
        let message = "the body is 11 bytes; the limit is 10";
        assert_eq!(
            body(Dialect::Webauthn),
            json!({"status":"failed","errorMessage":message})
        );
        assert_eq!(
            body(Dialect::Nevis),
            json!({"status":"failed","errorMessage":message,"token":""})
        );
        assert_eq!(body(Dialect::Uaf), json!({"code":413,"message":message}));
        assert_eq!(
            body(Dialect::Dfns),
            json!({"error":{"name":"PayloadTooLargeError","message":message,"httpStatus":413,"reason":"too_large"}})
        );
    }
}
