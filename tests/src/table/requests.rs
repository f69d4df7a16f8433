//! The request's shape: headers, paths, methods, sizes, bodies.

use super::{options, send, webauthn};
use crate::config::{ORIGIN, RP_ID};
use crate::scenario::{App, Req, Scenario, Shape, Step};
use fidogate_testkit::keys::alg;
use fidogate_testkit::webauthn::Authenticator;
use serde_json::json;
use std::sync::Arc;

/// The request's shape: headers, paths, methods, sizes, bodies.
pub(super) fn requests() -> Vec<Scenario> {
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
        // Read as the route only by an app that decodes twice.
        "/attestation/%2572esult",
        "/attestation/result%3bv=1",
        "/attestation/result%3fv=1",
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
