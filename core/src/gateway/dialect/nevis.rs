//! The cloud authenticator (`nevis`): the same PublicKeyCredential as the
//! conformance API, and after a verified registration the client gets the
//! signed token itself, in the authenticator's result shape.

use super::webauthn::{issue, parse};
use super::{Issued, OptionsRequest, Registration, Rules, Verifier};
use crate::gateway::error::GatewayError;
use crate::time::UnixTime;
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

    fn challenge_pointer(&self) -> &'static str {
        "/challenge"
    }

    fn issue(
        &self,
        req: &OptionsRequest,
        username: &str,
        random: &[u8],
        _expiry: UnixTime,
        verifier: &Verifier,
    ) -> Result<Issued, GatewayError> {
        issue(req, username, random, verifier)
    }

    fn parse(&self, body: &[u8]) -> Result<Box<dyn Registration>, GatewayError> {
        Ok(Box::new(parse(body)?))
    }

    fn answer_after_verified(&self, token: &str) -> Option<Value> {
        Some(json!({"status": "ok", "errorMessage": "", "token": token}))
    }

    fn error_body(&self, _status: StatusCode, _reason: &str, message: &str) -> Value {
        json!({ "status": "failed", "errorMessage": message, "token": "" })
    }
}
