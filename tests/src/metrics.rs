//! One known sequence of requests, and the exact amount each series must
//! move by: run against both adapters, whose scrapes are parsed with
//! `prometheus-parse`.

use crate::config::{ORIGIN, RP_ID};
use crate::scenario::{Req, Target};
use fidogate_testkit::keys::alg;
use fidogate_testkit::webauthn::Authenticator;
use serde_json::json;
use std::collections::BTreeMap;

/// A sample's identity: its name and its labels, sorted.
pub type Key = (String, Vec<(String, String)>);

/// Every counter, histogram count and gauge of `text` (the Prometheus
/// text format), by name and labels. Panics when the text does not parse.
pub fn samples(text: &str) -> BTreeMap<Key, f64> {
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = match prometheus_parse::Scrape::parse(lines) {
        Ok(s) => s,
        Err(e) => panic!("the scrape does not parse: {e}\n{text}"),
    };
    let mut out = BTreeMap::new();
    for s in scrape.samples {
        let mut labels: Vec<(String, String)> = s
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        labels.sort();
        let value = match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            prometheus_parse::Value::Histogram(buckets) => {
                // The count is the +Inf bucket.
                let count = buckets
                    .iter()
                    .find(|b| b.less_than.is_infinite())
                    .map_or(0.0, |b| b.count);
                out.insert((format!("{}_count", s.metric), labels.clone()), count);
                continue;
            }
            prometheus_parse::Value::Summary(_) => continue,
        };
        out.insert((s.metric, labels), value);
    }
    out
}

fn key(name: &str, labels: &[(&str, &str)]) -> Key {
    let mut labels: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    labels.sort();
    (name.to_owned(), labels)
}

/// Sends the known sequence on the `webauthn` route (options issued, a
/// registration verified, its replay, a malformed one, a wrong method),
/// three pass-through requests and the JWKS; returns how much each series
/// must move.
pub async fn known_sequence(target: &dyn Target) -> BTreeMap<Key, f64> {
    let options = target
        .send(Req::json(
            "/attestation/options",
            &json!({"username": "mia", "displayName": "Mia"}),
        ))
        .await;
    assert_eq!(options.status, 200, "options");
    let cred = Authenticator::none(alg::ES256, 77).register(RP_ID, ORIGIN, &options.challenge());
    let verified = target.send(Req::json("/attestation/result", &cred)).await;
    assert_eq!(verified.status, 200, "result");
    let replay = target.send(Req::json("/attestation/result", &cred)).await;
    assert_eq!(replay.status, 403, "replay");
    let malformed = target
        .send(Req::post("/attestation/result", b"not json".to_vec()))
        .await;
    assert_eq!(malformed.status, 400, "malformed");
    let method = target.send(Req::bare("PUT", "/attestation/options")).await;
    assert_eq!(method.status, 405, "method");
    for i in 0..3 {
        let passed = target.send(Req::bare("GET", &format!("/pass/{i}"))).await;
        assert_eq!(passed.status, 200, "pass-through");
    }
    let jwks = target.send(Req::bare("GET", crate::JWKS_PATH)).await;
    assert_eq!(jwks.status, 200, "jwks");

    let r = "webauthn";
    let req = |endpoint, decision, status| {
        key(
            "fidogate_requests_total",
            &[
                ("route", r),
                ("endpoint", endpoint),
                ("decision", decision),
                ("status", status),
            ],
        )
    };
    let mut want = BTreeMap::new();
    want.insert(req("options", "issued", "200"), 1.0);
    want.insert(req("result", "verified", "200"), 1.0);
    want.insert(req("result", "refused", "403"), 1.0);
    want.insert(req("result", "refused", "400"), 1.0);
    want.insert(req("options", "refused", "405"), 1.0);
    let plain = |endpoint, decision| {
        key(
            "fidogate_requests_total",
            &[
                ("route", ""),
                ("endpoint", endpoint),
                ("decision", decision),
                ("status", "200"),
            ],
        )
    };
    want.insert(plain("other", "passed"), 3.0);
    want.insert(plain("jwks", "issued"), 1.0);
    for class in ["replay", "malformed", "method"] {
        want.insert(
            key("fidogate_refusals_total", &[("route", r), ("class", class)]),
            1.0,
        );
    }
    want.insert(
        key(
            "fidogate_verification_seconds_count",
            &[("route", r), ("fmt", "none")],
        ),
        1.0,
    );
    let seconds = |route, endpoint| {
        key(
            "fidogate_request_seconds_count",
            &[("route", route), ("endpoint", endpoint)],
        )
    };
    want.insert(seconds(r, "options"), 2.0);
    want.insert(seconds(r, "result"), 3.0);
    want.insert(seconds("", "other"), 3.0);
    want.insert(seconds("", "jwks"), 1.0);
    want
}

/// Asserts that between the scrapes `before` and `after` every counter
/// and histogram count moved by exactly what `want` says (and every other
/// by nothing), and that the build is named.
pub fn assert_moved(before: &str, after: &str, want: &BTreeMap<Key, f64>) {
    let (before, after) = (samples(before), samples(after));
    let counted = |name: &str| name.ends_with("_total") || name.ends_with("_count");
    let mut moved = BTreeMap::new();
    for (k, v) in &after {
        if counted(&k.0) {
            let delta = v - before.get(k).copied().unwrap_or(0.0);
            if delta != 0.0 {
                moved.insert(k.clone(), delta);
            }
        }
    }
    assert_eq!(
        &moved, want,
        "what moved (left) against what was sent (right)"
    );
    let build: Vec<_> = after
        .iter()
        .filter(|(k, _)| k.0 == "fidogate_build_info")
        .collect();
    assert_eq!(build.len(), 1, "{build:?}");
    assert_eq!(*build[0].1, 1.0);
    assert_eq!(build[0].0.1[0].0, "version");
}
