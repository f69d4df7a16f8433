//! The scenario table: every promise the gateway makes, as requests and
//! what must come of them. The same table runs against the tower Layer
//! (`tower-layer/tests/scenarios.rs`) and the `fidogate run` binary
//! (`proxy/tests/scenarios.rs`); a difference between them fails one.

use crate::app::{APP_ID, FACET, HUGE, HUGE_CHALLENGE};
use crate::config::{ORIGIN, RESPONSE_LIMIT, RP_ID, TTL_SECS};
use crate::scenario::{Action, App, Flow, Req, Scenario, Shape, Step, ensure};
use fidogate_testkit::keycred::{KeyCeremony, KeyClient, fido2_credential};
use fidogate_testkit::keys::alg;
use fidogate_testkit::uaf::{UafAttestationKind, UafAuthenticator, UafCeremony};
use fidogate_testkit::webauthn::Authenticator;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

fn send(step: Step) -> Action {
    Action::Send(step)
}

/// Options with `{"username": user}` at `path`.
fn options(name: &'static str, path: &'static str, user: &'static str) -> Step {
    Step::new(name, move |_| Req::json(path, &json!({ "username": user })))
}

/// A WebAuthn registration for the challenge in step `i`'s answer.
fn webauthn(
    authn: &Arc<Authenticator>,
    i: usize,
    origin: &'static str,
) -> impl Fn(&Flow) -> Value + Send + Sync + use<> {
    let authn = authn.clone();
    move |f| authn.register(RP_ID, origin, &f.answer(i).challenge())
}

/// Step `i`'s request again, byte for byte.
fn again(name: &'static str, i: usize) -> Step {
    Step::new(name, move |f| f.req(i).clone())
}

fn result(
    name: &'static str,
    path: &'static str,
    body: impl Fn(&Flow) -> Value + Send + Sync + 'static,
) -> Step {
    Step::new(name, move |f| Req::json(path, &body(f)))
}

/// Each dialect's whole flow, with the gateway and the app issuing the
/// challenge, and the replay of each registration.
fn flows() -> Vec<Scenario> {
    let mut out = Vec::new();
    for (dialect, route, options_path, result_path, shape, upstream) in [
        (
            "webauthn",
            "webauthn",
            "/attestation/options",
            "/attestation/result",
            Shape::Webauthn,
            false,
        ),
        (
            "webauthn",
            "webauthn-app",
            "/app/webauthn/options",
            "/app/webauthn/result",
            Shape::Webauthn,
            true,
        ),
        (
            "nevis",
            "nevis",
            "/_app/attestation/options",
            "/_app/attestation/result",
            Shape::Nevis,
            false,
        ),
        (
            "nevis",
            "nevis-app",
            "/app/nevis/options",
            "/app/nevis/result",
            Shape::Nevis,
            true,
        ),
    ] {
        let nevis = dialect == "nevis";
        let authn = Arc::new(Authenticator::packed_self(
            if nevis { alg::RS256 } else { alg::ES256 },
            10 + out.len() as u64,
        ));
        let key = authn.clone();
        let user = if upstream { "carol" } else { "alice" };
        let opts = options("options", options_path, user).app(if upstream {
            App::Gets {
                path: options_path,
                verified: false,
            }
        } else {
            App::Untouched
        });
        let opts = if upstream {
            opts
        } else {
            opts.check(move |_, d| {
                let o = d.answer.json();
                ensure(o["status"] == "ok" && o["errorMessage"] == "", || {
                    format!("options: {o}")
                })?;
                ensure(
                    o["user"]["name"] == user
                        && o["user"]["displayName"] == user
                        && o["rp"]["id"] == RP_ID,
                    || format!("options: {o}"),
                )?;
                ensure(
                    o["pubKeyCredParams"]
                        .as_array()
                        .is_some_and(|p| p.iter().any(|p| p["alg"] == -7)),
                    || format!("ES256 offered: {o}"),
                )?;
                ensure(d.answer.challenge().len() == 32, || {
                    "a 32-byte challenge".into()
                })
            })
        };
        let make = webauthn(&authn, 0, ORIGIN);
        let register = result("registration", result_path, move |f| {
            let cred = make(f);
            if nevis {
                // The cloud authenticator's clients post id without rawId,
                // with fields of their own.
                json!({"id": cred["id"], "type": "public-key", "response": cred["response"],
                       "userFriendlyName": "a key", "userAgent": "test"})
            } else {
                cred
            }
        })
        .app(App::Gets {
            path: result_path,
            verified: true,
        })
        .check(move |_, d| {
            let c = d.claims.as_ref().ok_or("no claims")?;
            ensure(c.route == route && c.dialect == dialect, || {
                format!("claims {c:?}")
            })?;
            ensure(c.username.as_deref() == Some(user), || {
                format!("username {:?}", c.username)
            })?;
            ensure(c.exp - c.iat <= 60, || {
                format!("a header for one request: {c:?}")
            })?;
            let handle = c.user_handle.as_deref();
            ensure(
                if upstream {
                    handle == Some(&fidogate_core::b64::encode(b"app user handle"))
                } else {
                    handle.is_some()
                },
                || format!("user handle {handle:?}"),
            )?;
            let cred = c.credentials.first().ok_or("no credential")?;
            ensure(
                cred.id == fidogate_core::b64::encode(&key.credential_id)
                    && cred.public_key
                        == fidogate_core::b64::encode(&key.credential_key.cose_key()),
                || "credential ID and key".into(),
            )?;
            ensure(
                cred.fmt == "packed"
                    && cred.attestation_type == "self"
                    && cred.alg == if nevis { "RS256" } else { "ES256" }
                    && cred.flags.is_some_and(|f| f.up),
                || format!("{cred:?}"),
            )?;
            let a = d.answer.json();
            if nevis {
                // The client gets the token the app got.
                ensure(
                    a["status"] == "ok"
                        && a["errorMessage"] == ""
                        && a["token"].as_str() == d.token.as_deref(),
                    || format!("nevis answer {a}"),
                )
            } else {
                ensure(a["stored"] == true, || {
                    format!("the app's own answer comes back: {a}")
                })
            }
        });
        out.push(Scenario {
            name: match route {
                "webauthn" => "webauthn: gateway-issued options, registration, replay",
                "webauthn-app" => "webauthn: app-issued options, registration, replay",
                "nevis" => "nevis: gateway-issued, the client gets the token the app got",
                _ => "nevis: app-issued, the client gets the token the app got",
            },
            app_down: false,
            actions: vec![
                send(opts),
                send(register),
                send(again("replay", 1).refused(403, shape, "unknown")),
            ],
        });
    }

    // The wallet API: every credential kind in one registration.
    let fido = Arc::new(Authenticator::packed_self(alg::ES256, 21));
    let second = Arc::new(KeyClient::new(alg::RS256, 22));
    let recovery = Arc::new(KeyClient::new(alg::EDDSA, 23));
    out.push(Scenario {
        name: "dfns: gateway-issued, Fido2 + PasswordProtectedKey + RecoveryKey in one registration",
        app_down: false,
        actions: vec![
            send(options("init", "/auth/registration/init", "olga@example.com").check(|_, d| {
                let j = d.answer.json();
                ensure(j.get("status").is_none() && j["supportedCredentialKinds"]["firstFactor"].as_array().is_some_and(|k| k.contains(&json!("Key"))), || format!("init answer {j}"))
            })),
            send(
                result("registration", "/auth/registration", move |f| {
                    let challenge = f.answer(0).challenge();
                    let kc = KeyCeremony::new(&challenge, ORIGIN);
                    json!({
                        "firstFactorCredential": fido2_credential(&fido.register(RP_ID, ORIGIN, &challenge)),
                        "secondFactorCredential": second.credential("PasswordProtectedKey", &kc),
                        "recoveryCredential": recovery.credential("RecoveryKey", &kc),
                    })
                })
                .app(App::Gets { path: "/auth/registration", verified: true })
                .check(|_, d| {
                    let c = d.claims.as_ref().ok_or("no claims")?;
                    let roles: Vec<_> = c.credentials.iter().map(|c| (c.role.clone().unwrap_or_default(), c.kind.clone().unwrap_or_default(), c.alg.clone())).collect();
                    ensure(roles == [
                        ("firstFactor".into(), "Fido2".into(), "ES256".into()),
                        ("secondFactor".into(), "PasswordProtectedKey".into(), "RS256".into()),
                        ("recovery".into(), "RecoveryKey".into(), "EdDSA".into()),
                    ], || format!("credentials {roles:?}"))
                }),
            ),
            send(again("replay", 1).refused(403, Shape::Dfns, "unknown")),
        ],
    });
    let key = Arc::new(KeyClient::new(alg::ES256, 24));
    out.push(Scenario {
        name: "dfns: app-issued, a Key credential",
        app_down: false,
        actions: vec![
            send(options("init", "/app/dfns/init", "pat").app(App::Gets { path: "/app/dfns/init", verified: false })),
            send(
                result("registration", "/app/dfns/registration", move |f| {
                    json!({"firstFactorCredential": key.credential("Key", &KeyCeremony::new(&f.answer(0).challenge(), ORIGIN))})
                })
                .app(App::Gets { path: "/app/dfns/registration", verified: true })
                .check(|_, d| {
                    let c = d.claims.as_ref().ok_or("no claims")?;
                    ensure(c.protocol == "key" && c.username.as_deref() == Some("pat"), || format!("{c:?}"))
                }),
            ),
            send(again("replay", 1).refused(403, Shape::Dfns, "unknown")),
        ],
    });

    // UAF, gateway-issued: serverData the gateway made, the app's own 409.
    let uaf = Arc::new(UafAuthenticator::new(
        "ABCD#0001",
        alg::ES256,
        31,
        UafAttestationKind::BasicSurrogate,
    ));
    let (u1, u2, u3) = (uaf.clone(), uaf.clone(), uaf.clone());
    let key_id = uaf.key_id.clone();
    let uaf_reg = |authn: Arc<UafAuthenticator>, i: usize, path: &'static str| {
        result("regResponse", path, move |f| {
            let (challenge, server_data) = f.answer(i).uaf_request();
            authn.register(&UafCeremony::new(APP_ID, &challenge, FACET, &server_data))
        })
    };
    out.push(Scenario {
        name: "uaf: gateway-issued, the app's own 409 passes through, forged serverData refused",
        app_down: false,
        actions: vec![
            send(
                Step::new("regRequest", |_| Req::json("/regRequest/rita", &json!({}))).check(
                    |_, d| {
                        let j = d.answer.json();
                        ensure(
                            j["code"] == 200
                                && j["message"][0]["username"] == "rita"
                                && j["message"][0]["header"]["appID"] == APP_ID,
                            || format!("{j}"),
                        )
                    },
                ),
            ),
            send(
                uaf_reg(u1, 0, "/regResponse")
                    .app(App::Gets {
                        path: "/regResponse",
                        verified: true,
                    })
                    .check(move |_, d| {
                        let c = d.claims.as_ref().ok_or("no claims")?;
                        let cred = c.credentials.first().ok_or("no credential")?;
                        ensure(
                            c.protocol == "uaf"
                                && c.username.as_deref() == Some("rita")
                                && cred.aaid.as_deref() == Some("ABCD#0001")
                                && cred.attestation_type == "basic_surrogate"
                                && cred.id == fidogate_core::b64::encode(&key_id),
                            || format!("{c:?}"),
                        )
                    }),
            ),
            send(again("replay", 1).refused(403, Shape::Uaf, "unknown")),
            send(Step::new("regRequest again", |_| {
                Req::json("/regRequest/rita", &json!({}))
            })),
            send(
                uaf_reg(u2, 3, "/regResponse")
                    .status(409)
                    .shape(Shape::App(
                        json!({"code": 409, "message": "Authenticator already Registered"}),
                    ))
                    .app(App::Gets {
                        path: "/regResponse",
                        verified: true,
                    }),
            ),
            send(Step::new("regRequest, username in the body", |_| {
                Req::json("/regRequest/sam", &json!({"username": "sam"}))
            })),
            send(
                result("forged serverData", "/regResponse", move |f| {
                    let (challenge, _) = f.answer(5).uaf_request();
                    u3.register(&UafCeremony::new(APP_ID, &challenge, FACET, "forged"))
                })
                .refused(400, Shape::Uaf, "serverData"),
            ),
        ],
    });
    let uaf2 = Arc::new(UafAuthenticator::new(
        "ABCD#0001",
        alg::ES256,
        32,
        UafAttestationKind::BasicSurrogate,
    ));
    out.push(Scenario {
        name: "uaf: app-issued, the app's own refusal passes through, replay",
        app_down: false,
        actions: vec![
            send(
                Step::new("regRequest for an unknown user", |_| {
                    Req::json("/app/uaf/regRequest/unknown", &json!({}))
                })
                .status(400)
                .shape(Shape::App(
                    json!({"code": 400, "message": "Unknown username unknown"}),
                ))
                .app(App::Gets {
                    path: "/app/uaf/regRequest/unknown",
                    verified: false,
                }),
            ),
            send(
                Step::new("regRequest", |_| {
                    Req::json("/app/uaf/regRequest/tom", &json!({}))
                })
                .app(App::Gets {
                    path: "/app/uaf/regRequest/tom",
                    verified: false,
                })
                .check(|_, d| {
                    ensure(d.answer.uaf_request().1 == "app-server-data", || {
                        "the app's request comes back as written".into()
                    })
                }),
            ),
            send(
                uaf_reg(uaf2, 1, "/app/uaf/regResponse")
                    .app(App::Gets {
                        path: "/app/uaf/regResponse",
                        verified: true,
                    })
                    .check(|_, d| {
                        let c = d.claims.as_ref().ok_or("no claims")?;
                        ensure(
                            c.route == "uaf-app" && c.username.as_deref() == Some("tom"),
                            || format!("{c:?}"),
                        )
                    }),
            ),
            send(again("replay", 2).refused(403, Shape::Uaf, "unknown")),
            send(Step::new("regRequest on the gateway's route", |_| {
                Req::json("/regRequest/tom", &json!({}))
            })),
            send(
                uaf_reg(
                    Arc::new(UafAuthenticator::new(
                        "ABCD#0001",
                        alg::ES256,
                        33,
                        UafAttestationKind::BasicSurrogate,
                    )),
                    4,
                    "/app/uaf/regResponse",
                )
                .refused(403, Shape::Uaf, "route"),
            ),
        ],
    });
    out
}

/// The wallet dialect's own refusals, each for a fresh challenge.
fn dfns_refusals() -> Scenario {
    let key = Arc::new(KeyClient::new(alg::ES256, 25));
    type Make = Arc<dyn Fn(&KeyClient, &[u8]) -> Value + Send + Sync>;
    let cases: Vec<(&'static str, Make, u16, &'static str)> = vec![
        (
            "a PasswordProtectedKey without its encrypted key",
            Arc::new(
                |k, c| json!({"firstFactorCredential": {"credentialKind": "PasswordProtectedKey", "credentialInfo": k.credential_info(&KeyCeremony::new(c, ORIGIN))}}),
            ),
            400,
            "encryptedPrivateKey",
        ),
        (
            "a recovery credential of kind Key",
            Arc::new(
                |k, c| json!({"firstFactorCredential": k.credential("Key", &KeyCeremony::new(c, ORIGIN)), "recoveryCredential": k.credential("Key", &KeyCeremony::new(c, ORIGIN))}),
            ),
            403,
            "recoveryCredential",
        ),
        (
            "two challenges",
            Arc::new(
                |k, c| json!({"firstFactorCredential": k.credential("Key", &KeyCeremony::new(c, ORIGIN)), "secondFactorCredential": k.credential("Key", &KeyCeremony::new(b"some other challenge of 32 bytes", ORIGIN))}),
            ),
            403,
            "different challenges",
        ),
        (
            "a bad signature",
            Arc::new(|k, c| {
                let mut kc = KeyCeremony::new(c, ORIGIN);
                kc.corrupt_signature = true;
                json!({"firstFactorCredential": k.credential("Key", &kc)})
            }),
            400,
            "signature",
        ),
        (
            "the wrong origin",
            Arc::new(
                |k, c| json!({"firstFactorCredential": k.credential("Key", &KeyCeremony::new(c, "https://evil.example"))}),
            ),
            403,
            "origin",
        ),
    ];
    let mut actions = Vec::new();
    for (name, make, status, contains) in cases {
        let i = actions.len();
        actions.push(send(options("init", "/auth/registration/init", "quinn")));
        let key = key.clone();
        actions.push(send(
            result(name, "/auth/registration", move |f| {
                make(&key, &f.answer(i).challenge())
            })
            .refused(status, Shape::Dfns, contains),
        ));
    }
    Scenario {
        name: "dfns: each refusal in the wallet API's error object with its status",
        app_down: false,
        actions,
    }
}

/// Challenges used where they were not issued, or too late, or twice.
fn challenge_misuse() -> Vec<Scenario> {
    let a = Arc::new(Authenticator::none(alg::ES256, 41));
    let b = Arc::new(Authenticator::none(alg::ES256, 42));
    let c = Arc::new(Authenticator::none(alg::ES256, 43));
    let d = Arc::new(Authenticator::none(alg::ES256, 44));
    let e = Arc::new(Authenticator::none(alg::ES256, 45));
    let f = Arc::new(Authenticator::none(alg::ES256, 46));
    let handle = |i: usize| move |fl: &Flow| fl.answer(i).json()["user"]["id"].clone();
    vec![
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
                    .refused(403, Shape::Webauthn, "unknown"),
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
                    .refused(403, Shape::Webauthn, "unknown"),
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

/// The request's shape: headers, paths, methods, sizes, bodies.
fn requests() -> Vec<Scenario> {
    let spoof = |r: Req| {
        r.header("Fidogate-Credential", "forged")
            .header("fidogate_credential", "forged")
            .header("FIDOGATE_CREDENTIAL", "forged")
    };
    let a = Arc::new(Authenticator::none(alg::ES256, 61));
    let chunky = Arc::new(Authenticator::none(alg::ES256, 62));
    let paths = [
        "/Attestation/Result",
        "/attestation//result",
        "/attestation/result/",
        "/attestation/./result",
        "/attestation/x/../result",
        "/attestation/%72esult",
        "/attestation/result;v=1",
        "/attestation/result?x=1",
    ];
    let dialect_endpoints = [
        ("/attestation/result", Shape::Webauthn),
        ("/_app/attestation/result", Shape::Nevis),
        ("/auth/registration", Shape::Dfns),
        ("/regResponse", Shape::Uaf),
    ];
    let big = "x".repeat(70_000);
    vec![
        Scenario {
            name: "spoofed header spellings are removed on pass-through and intercepted paths",
            app_down: false,
            actions: vec![
                send(
                    Step::new("pass-through", move |_| {
                        spoof(Req::json("/profile", &json!({"a": 1})))
                    })
                    .app(App::Gets {
                        path: "/profile",
                        verified: false,
                    }),
                ),
                send(options("options", "/attestation/options", "kim")),
                send(
                    Step::new("registration", {
                        let make = webauthn(&a, 1, ORIGIN);
                        move |f| spoof(Req::json("/attestation/result", &make(f)))
                    })
                    .app(App::Gets {
                        path: "/attestation/result",
                        verified: true,
                    }),
                ),
            ],
        },
        Scenario {
            name: "lenient spellings of a registration path are intercepted",
            app_down: false,
            actions: paths
                .into_iter()
                .map(|p| {
                    send(
                        Step::new("lenient path", move |_| Req::post(p, "{\"id\":\"x\"}")).refused(
                            400,
                            Shape::Webauthn,
                            "credential",
                        ),
                    )
                })
                .collect(),
        },
        Scenario {
            name: "the wrong method is 405 in each dialect's shape",
            app_down: false,
            actions: dialect_endpoints
                .iter()
                .cloned()
                .map(|(p, shape)| {
                    send(Step::new("GET", move |_| Req::bare("GET", p)).refused(405, shape, "POST"))
                })
                .collect(),
        },
        Scenario {
            name: "413 by Content-Length in each dialect's shape, nothing read or forwarded",
            app_down: false,
            actions: dialect_endpoints
                .iter()
                .cloned()
                .map(|(p, shape)| {
                    let big = big.clone();
                    send(
                        Step::new("too large", move |_| Req::post(p, big.clone()))
                            .refused(413, shape, "limit"),
                    )
                })
                .collect(),
        },
        Scenario {
            name: "413 by a chunked body past the limit",
            app_down: false,
            actions: vec![send(
                Step::new("chunked", |_| {
                    Req::chunked("/attestation/result", vec![vec![b'y'; 4096]; 20])
                })
                .refused(413, Shape::Webauthn, "limit"),
            )],
        },
        Scenario {
            name: "a chunked registration within the limit is verified and forwarded whole",
            app_down: false,
            actions: vec![
                send(options("options", "/attestation/options", "leo")),
                send(
                    Step::new("chunked registration", move |f| {
                        let body = chunky
                            .register(RP_ID, ORIGIN, &f.answer(0).challenge())
                            .to_string();
                        Req::chunked(
                            "/attestation/result",
                            body.as_bytes().chunks(100).map(<[u8]>::to_vec).collect(),
                        )
                    })
                    .app(App::Gets {
                        path: "/attestation/result",
                        verified: true,
                    }),
                ),
            ],
        },
        Scenario {
            name: "malformed bodies are 400 in each dialect's shape",
            app_down: false,
            actions: [
                ("/attestation/result", Shape::Webauthn, ""),
                ("/attestation/result", Shape::Webauthn, "not json"),
                ("/attestation/result", Shape::Webauthn, "[]"),
                ("/attestation/result", Shape::Webauthn, "{\"id\":1}"),
                ("/_app/attestation/result", Shape::Nevis, "{"),
                ("/_app/attestation/result", Shape::Nevis, "null"),
                ("/auth/registration", Shape::Dfns, "{}"),
                (
                    "/auth/registration",
                    Shape::Dfns,
                    "{\"firstFactorCredential\":{\"credentialKind\":\"Magic\"}}",
                ),
                ("/regResponse", Shape::Uaf, "{}"),
                ("/regResponse", Shape::Uaf, "[]"),
                ("/regResponse", Shape::Uaf, "[{\"fcParams\":\"!!\"}]"),
                ("/attestation/options", Shape::Webauthn, "[1]"),
                ("/attestation/options", Shape::Webauthn, "{\"username\":7}"),
                ("/attestation/options", Shape::Webauthn, "{}"),
                ("/regRequest/%20", Shape::Uaf, ""),
            ]
            .into_iter()
            .map(|(p, shape, body)| {
                send(Step::new("malformed", move |_| Req::post(p, body)).refused(400, shape, ""))
            })
            .collect(),
        },
        Scenario {
            name: "other paths pass through unbuffered, whatever their size",
            app_down: false,
            actions: vec![
                send(
                    Step::new("a large upload", |_| {
                        Req::post("/upload", vec![b'x'; 200 * 1024])
                    })
                    .app(App::Gets {
                        path: "/upload",
                        verified: false,
                    }),
                ),
                send(
                    Step::new("a GET near an intercepted path", |_| {
                        Req::bare("GET", "/attestation")
                    })
                    .shape(Shape::App(json!({"hello": "/attestation"})))
                    .app(App::Gets {
                        path: "/attestation",
                        verified: false,
                    }),
                ),
            ],
        },
    ]
}

/// The app's answers and the app itself.
fn app_answers() -> Vec<Scenario> {
    let made_up = Arc::new(Authenticator::none(alg::ES256, 71));
    let late = Arc::new(Authenticator::none(alg::ES256, 72));
    let refusal = json!({"status": "failed", "errorMessage": "x".repeat(HUGE)});
    assert!(refusal.to_string().len() > RESPONSE_LIMIT);
    let dialect_endpoints = [
        (
            "/attestation/options",
            "/attestation/result",
            Shape::Webauthn,
        ),
        (
            "/_app/attestation/options",
            "/_app/attestation/result",
            Shape::Nevis,
        ),
    ];
    let mut down = Vec::new();
    for (opts, res, shape) in dialect_endpoints {
        let authn = Arc::new(Authenticator::none(alg::ES256, 80 + down.len() as u64));
        down.push(send(options("options", opts, "gus")));
        let i = down.len() - 1;
        down.push(send(
            result("registration", res, webauthn(&authn, i, ORIGIN)).refused(
                502,
                shape,
                "could not be reached",
            ),
        ));
    }
    let key = Arc::new(KeyClient::new(alg::ES256, 90));
    down.push(send(options("init", "/auth/registration/init", "gus")));
    let i = down.len() - 1;
    down.push(send(result("registration", "/auth/registration", move |f| json!({"firstFactorCredential": key.credential("Key", &KeyCeremony::new(&f.answer(i).challenge(), ORIGIN))})).refused(502, Shape::Dfns, "could not be reached")));
    let uaf = Arc::new(UafAuthenticator::new(
        "ABCD#0001",
        alg::ES256,
        91,
        UafAttestationKind::BasicSurrogate,
    ));
    down.push(send(Step::new("regRequest", |_| {
        Req::json("/regRequest/gus", &json!({}))
    })));
    let i = down.len() - 1;
    down.push(send(
        result("regResponse", "/regResponse", move |f| {
            let (challenge, server_data) = f.answer(i).uaf_request();
            uaf.register(&UafCeremony::new(APP_ID, &challenge, FACET, &server_data))
        })
        .refused(502, Shape::Uaf, "could not be reached"),
    ));
    down.push(send(
        options("app-issued options", "/app/webauthn/options", "gus").refused(
            502,
            Shape::Webauthn,
            "could not be reached",
        ),
    ));
    vec![
        Scenario {
            name: "an app answer without its challenge is a 502, and nothing is accepted for it",
            app_down: false,
            actions: vec![
                send(
                    options("options", "/app/broken/options", "dave")
                        .refused(502, Shape::Webauthn, "/challenge")
                        .app(App::Gets {
                            path: "/app/broken/options",
                            verified: false,
                        }),
                ),
                send(
                    result("a made-up challenge", "/app/broken/result", move |_| {
                        made_up.register(RP_ID, ORIGIN, b"made up challenge, 32 bytes long")
                    })
                    .refused(403, Shape::Webauthn, "unknown"),
                ),
            ],
        },
        Scenario {
            name: "an app answer that is not 2xx passes through whole, past response_limit",
            app_down: false,
            actions: vec![send(
                options("refused options", "/app/refuse/options", "ed")
                    .status(403)
                    .shape(Shape::App(refusal))
                    .app(App::Gets {
                        path: "/app/refuse/options",
                        verified: false,
                    }),
            )],
        },
        Scenario {
            name: "a 2xx app answer past response_limit is a 502, and its challenge is not kept",
            app_down: false,
            actions: vec![
                send(
                    options("huge options", "/app/huge/options", "fay")
                        .refused(502, Shape::Webauthn, "over")
                        .app(App::Gets {
                            path: "/app/huge/options",
                            verified: false,
                        }),
                ),
                send(
                    result("for the app's challenge", "/app/huge/result", move |_| {
                        late.register(RP_ID, ORIGIN, HUGE_CHALLENGE)
                    })
                    .refused(403, Shape::Webauthn, "unknown"),
                ),
            ],
        },
        Scenario {
            name: "the app down: 502 in each dialect's shape",
            app_down: true,
            actions: down,
        },
    ]
}

/// Every scenario.
pub fn scenarios() -> Vec<Scenario> {
    let mut all = flows();
    all.push(dfns_refusals());
    all.extend(challenge_misuse());
    all.extend(requests());
    all.extend(app_answers());
    all
}
