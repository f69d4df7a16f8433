//! The runner: every step checked the same way on every target.

use crate::app::Seen;
use crate::config::AUDIENCE;
use crate::scenario::{Action, Answer, App, Done, Flow, Req, Scenario, Shape, Step, Target};
use crate::{HEADER, JWKS_PATH};
use fidogate_core::gateway::{CredentialClaims, verify_token};
use serde_json::Value;

/// The verified-credential headers in `seen` (any spelling that folds to
/// the header's name), as sent.
fn header_copies(seen: &Seen) -> Vec<String> {
    let fold = |s: &str| s.to_ascii_lowercase().replace('_', "-");
    seen.headers
        .iter()
        .filter(|(k, _)| fold(k.as_str()) == HEADER)
        .map(|(_, v)| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect()
}

/// The header checked as the app would: with the JWKS the gateway serves.
async fn verify_header(target: &dyn Target, token: &str) -> Result<CredentialClaims, String> {
    let jwks = target.send(Req::bare("GET", JWKS_PATH)).await;
    if jwks.status != 200 {
        return Err(format!("JWKS answered {}", jwks.status));
    }
    let set = serde_json::from_slice(&jwks.body).map_err(|e| format!("JWKS: {e}"))?;
    verify_token(token, &set, "fidogate", AUDIENCE, target.now(), 5).map_err(|e| e.to_string())
}

fn check_shape(shape: &Shape, answer: &Answer, contains: Option<&str>) -> Result<(), String> {
    let message = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let (j, text) = match shape {
        Shape::Any => return Ok(()),
        Shape::App(v) => {
            let got = answer.json();
            return if &got == v {
                Ok(())
            } else {
                Err(format!("expected the app's answer {v}, got {got}"))
            };
        }
        Shape::Webauthn => {
            let j = answer.json();
            let ok = j.as_object().is_some_and(|o| o.len() == 2) && j["status"] == "failed";
            let text = message(&j["errorMessage"]);
            (ok.then_some(j), text)
        }
        Shape::Nevis => {
            let j = answer.json();
            let ok = j.as_object().is_some_and(|o| o.len() == 3)
                && j["status"] == "failed"
                && j["token"] == "";
            let text = message(&j["errorMessage"]);
            (ok.then_some(j), text)
        }
        Shape::Dfns => {
            let j = answer.json();
            let e = &j["error"];
            let ok = j.as_object().is_some_and(|o| o.len() == 1)
                && e["httpStatus"] == answer.status
                && e["name"].as_str().is_some_and(|n| n.ends_with("Error"))
                && e["reason"].as_str().is_some_and(|r| !r.is_empty());
            let text = message(&e["message"]);
            (ok.then_some(j), text)
        }
        Shape::Uaf => {
            let j = answer.json();
            let ok = j.as_object().is_some_and(|o| o.len() == 2) && j["code"] == answer.status;
            let text = message(&j["message"]);
            (ok.then_some(j), text)
        }
    };
    if j.is_none() {
        return Err(format!(
            "not a {shape:?} refusal: {}",
            String::from_utf8_lossy(&answer.body)
        ));
    }
    if text.is_empty() {
        return Err("the refusal has no message".into());
    }
    match contains {
        Some(want) if !text.contains(want) => {
            Err(format!("the message {text:?} does not mention {want:?}"))
        }
        _ => Ok(()),
    }
}

async fn run_step(target: &dyn Target, flow: &Flow, step: &Step) -> Result<Done, String> {
    let req = (step.request)(flow);
    let before = target.seen().len();
    let answer = if step.race {
        let (a, b) = tokio::join!(target.send(req.clone()), target.send(req.clone()));
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        let mut want = [step.status, 403];
        want.sort_unstable();
        if statuses != want {
            return Err(format!(
                "two submissions at once answered {statuses:?}, expected {want:?}"
            ));
        }
        if a.status == step.status { a } else { b }
    } else {
        target.send(req.clone()).await
    };
    if answer.status != step.status {
        return Err(format!(
            "status {} (expected {}): {}",
            answer.status,
            step.status,
            String::from_utf8_lossy(&answer.body)
        ));
    }
    if answer.status >= 400 || matches!(step.shape, Shape::App(_)) {
        check_shape(&step.shape, &answer, step.contains)?;
    }
    let seen: Vec<Seen> = target.seen().into_iter().skip(before).collect();
    let (mut claims, mut token) = (None, None);
    match &step.app {
        App::Untouched => {
            if !seen.is_empty() {
                let paths: Vec<_> = seen.iter().map(|s| s.path.as_str()).collect();
                return Err(format!("the app received {paths:?}"));
            }
        }
        App::Gets { path, verified } => {
            let [one] = seen.as_slice() else {
                let paths: Vec<_> = seen.iter().map(|s| s.path.as_str()).collect();
                return Err(format!(
                    "the app received {paths:?}, expected one request at {path}"
                ));
            };
            if one.path != *path {
                return Err(format!("the app received {}, expected {path}", one.path));
            }
            if one.body != req.body.bytes() {
                return Err("the body reached the app changed".into());
            }
            let copies = header_copies(one);
            match (verified, copies.as_slice()) {
                (true, [t]) => {
                    claims = Some(verify_header(target, t).await?);
                    token = Some(t.clone());
                }
                (false, []) => {}
                _ => {
                    return Err(format!(
                        "the app received {} verified-credential headers",
                        copies.len()
                    ));
                }
            }
        }
    }
    let done = Done {
        req,
        answer,
        claims,
        token,
    };
    if let Some(check) = &step.check {
        check(flow, &done)?;
    }
    Ok(done)
}

/// Runs every scenario on `up` (or, for those whose app is down, on
/// `down`), and panics naming each scenario and step that failed.
pub async fn run_all(up: &dyn Target, down: &dyn Target, scenarios: &[Scenario]) {
    let mut failures = Vec::new();
    let mut steps = 0;
    for s in scenarios {
        let target = if s.app_down { down } else { up };
        let mut flow = Flow::default();
        for (i, action) in s.actions.iter().enumerate() {
            match action {
                Action::Advance(by) => target.advance(*by),
                Action::Send(step) => match run_step(target, &flow, step).await {
                    Ok(done) => {
                        steps += 1;
                        flow.done.push(done);
                    }
                    Err(e) => {
                        failures.push(format!("{} / step {i} ({}): {e}", s.name, step.name));
                        break;
                    }
                },
            }
        }
    }
    eprintln!(
        "{} scenarios, {steps} steps passed, {} failed",
        scenarios.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed:\n{}",
        failures.len(),
        scenarios.len(),
        failures.join("\n")
    );
}
