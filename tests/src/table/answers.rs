//! The app's answers, and the app down.

use super::{options, result, send, webauthn};
use crate::app::{APP_ID, FACET, HUGE, HUGE_CHALLENGE};
use crate::config::{ORIGIN, RESPONSE_LIMIT, RP_ID};
use crate::scenario::{App, Req, Scenario, Shape, Step};
use fidogate_testkit::keycred::{KeyCeremony, KeyClient};
use fidogate_testkit::keys::alg;
use fidogate_testkit::uaf::{UafAttestationKind, UafAuthenticator, UafCeremony};
use fidogate_testkit::webauthn::Authenticator;
use serde_json::json;
use std::sync::Arc;

/// The app's answers and the app itself.
pub(super) fn app_answers() -> Vec<Scenario> {
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
