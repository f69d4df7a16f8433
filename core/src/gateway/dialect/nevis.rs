//! The cloud authenticator (`nevis`): the same PublicKeyCredential as the
//! conformance API, and after a verified registration the client gets the
//! signed token itself, in the authenticator's result shape. Options and
//! registrations are the conformance API's (the trait's defaults).

use super::Rules;
use http::StatusCode;
use serde_json::{Value, json};

/// The cloud authenticator's attestation endpoints.
#[derive(Debug)]
pub(in crate::gateway) struct Nevis;

impl Rules for Nevis {
    fn options_path(&self) -> &'static str {
        "/_app/attestation/options"
    }

    fn result_path(&self) -> &'static str {
        "/_app/attestation/result"
    }

    fn answer_after_verified(&self, token: &str) -> Option<Value> {
        Some(json!({"status": "ok", "errorMessage": "", "token": token}))
    }

    fn error_body(&self, _status: StatusCode, _reason: &str, message: &str) -> Value {
        json!({ "status": "failed", "errorMessage": message, "token": "" })
    }
}
