//! The scenario table: every promise the gateway makes, as requests and
//! what must come of them. The same table runs against the tower Layer
//! (`tower-layer/tests/scenarios.rs`) and the `fidogate run` binary
//! (`proxy/tests/scenarios.rs`); a difference between them fails one.

mod answers;
mod flows;
mod misuse;
mod requests;

use crate::config::RP_ID;
use crate::scenario::{Action, Flow, Req, Scenario, Step};
use fidogate_testkit::webauthn::Authenticator;
use serde_json::{Value, json};
use std::sync::Arc;

pub(super) fn send(step: Step) -> Action {
    Action::Send(step)
}

/// Options with `{"username": user}` at `path`.
pub(super) fn options(name: &'static str, path: &'static str, user: &'static str) -> Step {
    Step::new(name, move |_| Req::json(path, &json!({ "username": user })))
}

/// A WebAuthn registration for the challenge in step `i`'s answer.
pub(super) fn webauthn(
    authn: &Arc<Authenticator>,
    i: usize,
    origin: &'static str,
) -> impl Fn(&Flow) -> Value + Send + Sync + use<> {
    let authn = authn.clone();
    move |f| authn.register(RP_ID, origin, &f.answer(i).challenge())
}

/// Step `i`'s request again, byte for byte.
pub(super) fn again(name: &'static str, i: usize) -> Step {
    Step::new(name, move |f| f.req(i).clone())
}

pub(super) fn result(
    name: &'static str,
    path: &'static str,
    body: impl Fn(&Flow) -> Value + Send + Sync + 'static,
) -> Step {
    Step::new(name, move |f| Req::json(path, &body(f)))
}

/// Every scenario.
pub fn scenarios() -> Vec<Scenario> {
    let mut all = flows::flows();
    all.push(flows::dfns_refusals());
    all.extend(misuse::challenge_misuse());
    all.extend(requests::requests());
    all.extend(answers::app_answers());
    all
}
