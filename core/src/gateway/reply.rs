//! Answers the gateway writes itself, and the one place where a refusal
//! becomes an HTTP status and a dialect's error body.

use super::config::Dialect;
use crate::error::ErrorClass;
use http::StatusCode;
use serde_json::{Value, json};

/// Why the gateway refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// Verification failed, with the failure's class.
    Verification(ErrorClass),
    /// The body is over the limit.
    TooLarge,
    /// The method is not the one configured for the endpoint.
    Method,
    /// The app's answer could not be used (no challenge in it, not JSON,
    /// too large).
    BadUpstream,
    /// Something on the gateway's side failed.
    Internal,
}

impl Refusal {
    /// The HTTP status for the refusal: the only mapping there is.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Verification(class) => match class {
                ErrorClass::Malformed | ErrorClass::Signature => StatusCode::BAD_REQUEST,
                ErrorClass::Untrusted | ErrorClass::Policy | ErrorClass::Replay => {
                    StatusCode::FORBIDDEN
                }
                ErrorClass::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Method => StatusCode::METHOD_NOT_ALLOWED,
            Self::BadUpstream => StatusCode::BAD_GATEWAY,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short name for logs and the error body (`malformed`, `replay`,
    /// `too_large`…).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Verification(class) => class.as_str(),
            Self::TooLarge => "too_large",
            Self::Method => "method",
            Self::BadUpstream => "bad_upstream",
            Self::Internal => "internal",
        }
    }
}

/// An answer the gateway writes (a JSON body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The JSON body.
    pub body: Vec<u8>,
    /// Set when the answer is a refusal: why, and the message sent.
    pub refusal: Option<(Refusal, String)>,
}

impl Reply {
    /// A 200 answer with a JSON body.
    pub fn ok(body: &Value) -> Self {
        Self {
            status: StatusCode::OK,
            body: body.to_string().into_bytes(),
            refusal: None,
        }
    }

    /// A refusal in the dialect's error shape.
    pub fn refuse(dialect: Dialect, refusal: Refusal, message: impl Into<String>) -> Self {
        let message = message.into();
        let status = refusal.status();
        let body = error_body(dialect, status, refusal.reason(), &message);
        Self {
            status,
            body: body.to_string().into_bytes(),
            refusal: Some((refusal, message)),
        }
    }

    /// The `Content-Type` of every answer.
    pub const CONTENT_TYPE: &'static str = "application/json";
}

/// The dialect's error body.
fn error_body(dialect: Dialect, status: StatusCode, reason: &str, message: &str) -> Value {
    match dialect {
        // FIDO2 conformance server API: ServerResponse.
        Dialect::Webauthn => json!({ "status": "failed", "errorMessage": message }),
        // The cloud authenticator: the same, with an (empty) token.
        Dialect::Nevis => json!({ "status": "failed", "errorMessage": message, "token": "" }),
        // The wallet API's error object.
        Dialect::Dfns => json!({
            "error": {
                "name": error_name(status),
                "message": message,
                "httpStatus": status.as_u16(),
                "reason": reason,
            }
        }),
        // The UAF server's envelope.
        Dialect::Uaf => json!({ "code": status.as_u16(), "message": message }),
    }
}

fn error_name(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "BadRequestError",
        StatusCode::FORBIDDEN => "ForbiddenError",
        StatusCode::METHOD_NOT_ALLOWED => "MethodNotAllowedError",
        StatusCode::PAYLOAD_TOO_LARGE => "PayloadTooLargeError",
        StatusCode::BAD_GATEWAY => "BadGatewayError",
        _ => "InternalServerError",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let s = |r: Refusal| r.status().as_u16();
        assert_eq!(s(Refusal::Verification(ErrorClass::Malformed)), 400);
        assert_eq!(s(Refusal::Verification(ErrorClass::Signature)), 400);
        assert_eq!(s(Refusal::Verification(ErrorClass::Replay)), 403);
        assert_eq!(s(Refusal::Verification(ErrorClass::Untrusted)), 403);
        assert_eq!(s(Refusal::Verification(ErrorClass::Policy)), 403);
        assert_eq!(s(Refusal::TooLarge), 413);
        assert_eq!(s(Refusal::Method), 405);
        assert_eq!(s(Refusal::BadUpstream), 502);
    }

    #[test]
    fn shapes() {
        let body = |d| {
            let r = Reply::refuse(d, Refusal::TooLarge, "too big");
            serde_json::from_slice::<Value>(&r.body).unwrap()
        };
        assert_eq!(
            body(Dialect::Webauthn),
            json!({"status":"failed","errorMessage":"too big"})
        );
        assert_eq!(body(Dialect::Nevis)["token"], "");
        assert_eq!(body(Dialect::Uaf), json!({"code":413,"message":"too big"}));
        assert_eq!(body(Dialect::Dfns)["error"]["httpStatus"], 413);
    }
}
