//! Challenges used where they were not issued, too late, or twice.

use super::{options, result, send, webauthn};
use crate::config::{ORIGIN, RP_ID, TTL_SECS};
use crate::scenario::{Action, App, Flow, Req, Scenario, Shape, Step, ensure};
use fidogate_testkit::keys::alg;
use fidogate_testkit::webauthn::Authenticator;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// Challenges used where they were not issued, or too late, or twice.
pub(super) fn challenge_misuse() -> Vec<Scenario> {
    let a = Arc::new(Authenticator::none(alg::ES256, 41));
    let b = Arc::new(Authenticator::none(alg::ES256, 42));
    let c = Arc::new(Authenticator::none(alg::ES256, 43));
    let d = Arc::new(Authenticator::none(alg::ES256, 44));
    let e = Arc::new(Authenticator::none(alg::ES256, 45));
    let f = Arc::new(Authenticator::none(alg::ES256, 46));
    let g = Arc::new(Authenticator::none(alg::ES256, 47));
    let altered = |authn: &Arc<Authenticator>, change: fn(&mut Vec<u8>)| {
        let authn = authn.clone();
        move |fl: &Flow| {
            let mut challenge = fl.answer(0).challenge();
            change(&mut challenge);
            Req::json(
                "/attestation/result",
                &authn.register(RP_ID, ORIGIN, &challenge),
            )
        }
    };
    let handle = |i: usize| move |fl: &Flow| fl.answer(i).json()["user"]["id"].clone();
    vec![
        Scenario {
            name: "a sealed challenge altered or cut is refused, naming the check, and the real one still works",
            app_down: false,
            actions: vec![
                send(options("options", "/attestation/options", "nora")),
                send(
                    Step::new("one byte of the seal flipped", altered(&g, |c| {
                        if let Some(b) = c.get_mut(12) {
                            *b ^= 1;
                        }
                    }))
                    .refused(403, Shape::Webauthn, "does not verify"),
                ),
                send(
                    Step::new("the seal cut short", altered(&g, |c| c.truncate(30)))
                        .refused(403, Shape::Webauthn, "truncated"),
                ),
                send(
                    Step::new("random bytes instead of a seal", altered(&g, |c| {
                        *c = vec![0x5a; 32];
                    }))
                    .refused(403, Shape::Webauthn, "truncated"),
                ),
                send(
                    result("the challenge as issued", "/attestation/result", webauthn(&g, 0, ORIGIN))
                        .app(App::Gets {
                            path: "/attestation/result",
                            verified: true,
                        }),
                ),
            ],
        },
        Scenario {
            name: "user handles are stable per user and differ between users; challenges differ",
            app_down: false,
            actions: vec![
                send(options("alice", "/attestation/options", "alice")),
                send(options("alice again", "/attestation/options", "alice").check(move |fl, d| {
                    ensure(d.answer.json()["user"]["id"] == handle(0)(fl), || "the same handle".into())?;
                    ensure(d.answer.challenge() != fl.answer(0).challenge(), || "a fresh challenge".into())
                })),
                send(options("bob", "/attestation/options", "bob").check(move |fl, d| ensure(d.answer.json()["user"]["id"] != handle(0)(fl), || "another handle".into()))),
                send(Step::new("options with displayName and attestation", |_| Req::json("/attestation/options", &json!({"username": "ann", "displayName": "Ann", "attestation": "direct"}))).check(|_, d| {
                    let o = d.answer.json();
                    ensure(o["user"]["displayName"] == "Ann" && o["attestation"] == "direct", || format!("{o}"))
                })),
            ],
        },
        Scenario {
            name: "a malformed registration does not spend the challenge",
            app_down: false,
            actions: vec![
                send(options("options", "/attestation/options", "mia")),
                send(Step::new("the registration cut in half", {
                    let make = webauthn(&f, 0, ORIGIN);
                    move |fl| {
                        let body = make(fl).to_string();
                        Req::post("/attestation/result", body.get(..body.len() / 2).unwrap_or_default().to_owned())
                    }
                }).refused(400, Shape::Webauthn, "")),
                send(result("the whole registration", "/attestation/result", webauthn(&f, 0, ORIGIN)).app(App::Gets { path: "/attestation/result", verified: true })),
            ],
        },
        Scenario {
            name: "expiry: a challenge past its TTL is refused, through the clock",
            app_down: false,
            actions: vec![
                send(options("options", "/attestation/options", "heidi")),
                Action::Advance(Duration::from_secs(TTL_SECS + 1)),
                send(
                    result(
                        "late registration",
                        "/attestation/result",
                        webauthn(&a, 0, ORIGIN),
                    )
                    .refused(403, Shape::Webauthn, "expired"),
                ),
            ],
        },
        Scenario {
            name: "a challenge at its TTL is still accepted",
            app_down: false,
            actions: vec![
                send(options("options", "/attestation/options", "hugo")),
                Action::Advance(Duration::from_secs(TTL_SECS)),
                send(
                    result(
                        "registration at the TTL",
                        "/attestation/result",
                        webauthn(&e, 0, ORIGIN),
                    )
                    .app(App::Gets {
                        path: "/attestation/result",
                        verified: true,
                    }),
                ),
            ],
        },
        Scenario {
            name: "a challenge from another route is refused, and spent",
            app_down: false,
            actions: vec![
                send(options("options", "/attestation/options", "erin")),
                send(
                    result(
                        "on the nevis route",
                        "/_app/attestation/result",
                        webauthn(&b, 0, ORIGIN),
                    )
                    .refused(403, Shape::Nevis, "route"),
                ),
                send(
                    result(
                        "on its own route",
                        "/attestation/result",
                        webauthn(&b, 0, ORIGIN),
                    )
                    .refused(403, Shape::Webauthn, "already used"),
                ),
            ],
        },
        Scenario {
            name: "a challenge from another user is refused; path and body users must agree",
            app_down: false,
            actions: vec![
                send(
                    Step::new("options for frank", |_| {
                        Req::json("/users/frank/options", &json!({}))
                    })
                    .check(|_, d| {
                        ensure(d.answer.json()["user"]["name"] == "frank", || {
                            "user from the path".into()
                        })
                    }),
                ),
                send(
                    result(
                        "registered as grace",
                        "/users/grace/result",
                        webauthn(&c, 0, ORIGIN),
                    )
                    .refused(403, Shape::Webauthn, "another user"),
                ),
                send(
                    Step::new("path and body differ", |_| {
                        Req::json("/users/frank/options", &json!({"username": "grace"}))
                    })
                    .refused(400, Shape::Webauthn, "differ"),
                ),
            ],
        },
        Scenario {
            name: "a failed verification spends the challenge",
            app_down: false,
            actions: vec![
                send(options("options", "/attestation/options", "judy")),
                send(
                    result(
                        "from another origin",
                        "/attestation/result",
                        webauthn(&d, 0, "https://evil.example"),
                    )
                    .refused(403, Shape::Webauthn, "evil.example"),
                ),
                send(
                    result(
                        "the right origin, too late",
                        "/attestation/result",
                        webauthn(&d, 0, ORIGIN),
                    )
                    .refused(403, Shape::Webauthn, "already used"),
                ),
            ],
        },
        Scenario {
            name: "two submissions of one registration at once: exactly one passes",
            app_down: false,
            actions: (0..5u64)
                .flat_map(|round| {
                    let authn = Arc::new(Authenticator::none(alg::ES256, 50 + round));
                    let i = usize::try_from(round * 2).unwrap_or_default();
                    [
                        send(options("options", "/attestation/options", "ivan")),
                        send(
                            result(
                                "raced registration",
                                "/attestation/result",
                                webauthn(&authn, i, ORIGIN),
                            )
                            .raced()
                            .app(App::Gets {
                                path: "/attestation/result",
                                verified: true,
                            }),
                        ),
                    ]
                })
                .collect(),
        },
    ]
}
