//! Each dialect's whole flow, and the wallet dialect's own refusals.

use super::{again, options, result, send, webauthn};
use crate::app::{APP_ID, FACET};
use crate::config::{ORIGIN, RP_ID};
use crate::scenario::{App, Req, Scenario, Shape, Step, ensure};
use fidogate_testkit::keycred::{KeyCeremony, KeyClient, fido2_credential};
use fidogate_testkit::keys::alg;
use fidogate_testkit::uaf::{UafAttestationKind, UafAuthenticator, UafCeremony};
use fidogate_testkit::webauthn::Authenticator;
use serde_json::{Value, json};
use std::sync::Arc;

/// Each dialect's whole flow, with the gateway and the app issuing the
/// challenge, and the replay of each registration.
pub(super) fn flows() -> Vec<Scenario> {
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
                // A seal carrying the username: 51 bytes and the name.
                ensure(d.answer.challenge().len() == 51 + user.len(), || {
                    "a sealed challenge".into()
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
                send(again("replay", 1).refused(403, shape, "used")),
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
            send(again("replay", 1).refused(403, Shape::Dfns, "used")),
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
            send(again("replay", 1).refused(403, Shape::Dfns, "used")),
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
            send(again("replay", 1).refused(403, Shape::Uaf, "used")),
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
                .refused(403, Shape::Uaf, "not a sealed challenge"),
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
                .refused(403, Shape::Uaf, "unknown"),
            ),
        ],
    });
    out
}

/// The wallet dialect's own refusals, each for a fresh challenge.
pub(super) fn dfns_refusals() -> Scenario {
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
