//! `cargo run -p fidogate-examples --bin fidogate-client -- DIALECT [USERNAME]`:
//! a terminal client with software authenticators that registers through
//! the gateway (127.0.0.1:8080, or `FIDOGATE_ADDR`) in one dialect
//! (`webauthn`, `nevis`, `dfns`, `uaf`), then shows what the app stored.

use fidogate_examples::http::request;
use fidogate_testkit::keycred::{KeyCeremony, KeyClient, fido2_credential};
use fidogate_testkit::keys::alg;
use fidogate_testkit::uaf::{UafAttestationKind, UafAuthenticator, UafCeremony};
use fidogate_testkit::webauthn::Authenticator;
use serde_json::{Value, json};
use std::process::ExitCode;

const ORIGIN: &str = "http://localhost:8080";

fn call(gw: &str, path: &str, body: &Value) -> Result<Value, String> {
    let (status, bytes) = request(gw, "POST", path, Some(&body.to_string()))?;
    let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    println!(
        "POST {path} -> {status}\n{}",
        serde_json::to_string_pretty(&answer).unwrap_or_default()
    );
    if status / 100 == 2 {
        Ok(answer)
    } else {
        Err(format!("{path} answered {status}"))
    }
}

fn challenge(v: &Value) -> Result<Vec<u8>, String> {
    let text = v
        .pointer("/challenge")
        .and_then(Value::as_str)
        .ok_or("no challenge in the answer")?;
    fidogate_core::b64::decode(text).map_err(|_| "challenge is not base64url".to_owned())
}

fn run(gw: &str, dialect: &str, user: &str, seed: u64) -> Result<(), String> {
    match dialect {
        "webauthn" | "nevis" => {
            let prefix = if dialect == "nevis" { "/_app" } else { "" };
            let o = call(
                gw,
                &format!("{prefix}/attestation/options"),
                &json!({"username": user}),
            )?;
            let mut cred = Authenticator::packed_self(alg::ES256, seed).register(
                "localhost",
                ORIGIN,
                &challenge(&o)?,
            );
            if dialect == "nevis" {
                // The cloud authenticator's clients send id, not rawId.
                if let Some(obj) = cred.as_object_mut() {
                    obj.remove("rawId");
                    obj.insert("userFriendlyName".into(), json!("terminal client"));
                }
            }
            call(gw, &format!("{prefix}/attestation/result"), &cred)?;
        }
        "dfns" => {
            let o = call(gw, "/auth/registration/init", &json!({"username": user}))?;
            let c = challenge(&o)?;
            let passkey =
                Authenticator::packed_self(alg::ES256, seed).register("localhost", ORIGIN, &c);
            let kc = KeyCeremony::new(&c, ORIGIN);
            call(
                gw,
                "/auth/registration",
                &json!({
                    "firstFactorCredential": fido2_credential(&passkey),
                    "secondFactorCredential": KeyClient::new(alg::ES256, seed + 1).credential("Key", &kc),
                    "recoveryCredential": KeyClient::new(alg::EDDSA, seed + 2).credential("RecoveryKey", &kc),
                }),
            )?;
        }
        "uaf" => {
            let env = call(gw, &format!("/regRequest/{user}"), &json!({}))?;
            let m = env.pointer("/message/0").ok_or("no RegistrationRequest")?;
            let text = |p: &str| {
                m.pointer(p)
                    .and_then(Value::as_str)
                    .ok_or(format!("no {p}"))
            };
            let c = UafCeremony::new(
                &format!("{ORIGIN}/uaf/facets"),
                text("/challenge")?,
                ORIGIN,
                text("/header/serverData")?,
            );
            let body = UafAuthenticator::new(
                "ABCD#0001",
                alg::ES256,
                seed,
                UafAttestationKind::BasicSurrogate,
            )
            .register(&c);
            call(gw, "/regResponse", &body)?;
        }
        other => {
            return Err(format!(
                "unknown dialect {other:?}: webauthn, nevis, dfns or uaf"
            ));
        }
    }
    let (_, stored) = request(gw, "GET", "/registrations", None)?;
    let stored: Value = serde_json::from_slice(&stored).unwrap_or(Value::Null);
    println!(
        "the app stored:\n{}",
        serde_json::to_string_pretty(&stored).unwrap_or_default()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dialect) = args.first() else {
        eprintln!("usage: fidogate-client webauthn|nevis|dfns|uaf [USERNAME]");
        return ExitCode::from(2);
    };
    let user = args.get(1).map_or("alice", String::as_str);
    let gw = std::env::var("FIDOGATE_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs());
    match run(&gw, dialect, user, seed) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fidogate-client: {e}");
            ExitCode::from(1)
        }
    }
}
