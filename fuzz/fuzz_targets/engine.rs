//! The engine itself, as an adapter drives it: each route has issued its
//! options; then arbitrary requests (method, path, headers, body, and the
//! app's answer where the engine reads one) go through `on_request`,
//! `on_body` and `on_response`. Whatever they are, the client's copy of
//! the credential header is found, and nothing is forwarded to a result
//! endpoint without a verified result and the engine's own header.
#![no_main]

use fidogate_core::gateway::{AppAnswer, BodyAction, Client, Endpoint, RequestAction};
use fidogate_fuzz::{HEADER, ISSUED, env, gateway, ready, requests};
use http::{HeaderMap, Method, StatusCode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let g = gateway();
    for (path, body, fill) in ISSUED {
        if let RequestAction::ReadBody(ix) =
            g.on_request(&Method::POST, path, &HeaderMap::new(), Client::UNKNOWN)
        {
            let _ = ready(g.on_body(&ix, body.as_bytes(), &env(0, *fill)));
        }
    }
    for (n, request) in requests(data).into_iter().enumerate().take(8) {
        let spoofed = g.spoofed_headers(&request.headers);
        if request.headers.contains_key(HEADER) {
            assert!(
                spoofed.iter().any(|h| h.as_str() == HEADER),
                "a client copy of {HEADER} was not found: {request:?}"
            );
        }
        let action = g.on_request(
            &request.method,
            request.path,
            &request.headers,
            Client::UNKNOWN,
        );
        let RequestAction::ReadBody(ix) = action else {
            continue;
        };
        let at = 1 + i64::try_from(n).unwrap_or(0);
        match ready(g.on_body(&ix, request.body, &env(at, 0x40 + n as u8))) {
            BodyAction::Respond(reply) => {
                assert!(
                    reply.status.is_client_error()
                        || reply.status.is_server_error()
                        || ix.endpoint() == Endpoint::Options,
                    "a result endpoint answered {} itself",
                    reply.status
                );
            }
            BodyAction::Forward(forward) => {
                if ix.endpoint() == Endpoint::Result {
                    assert!(
                        forward.claims.is_some(),
                        "forwarded to {} without a verified result",
                        request.path
                    );
                    assert!(
                        forward.headers.iter().any(|(h, _)| h.as_str() == HEADER),
                        "forwarded a verified result without the header"
                    );
                }
                if let Some(after) = &forward.after {
                    let answer = match request.app_answer {
                        Some(body) => AppAnswer::Body(body),
                        None => AppAnswer::Unreadable,
                    };
                    let _ = ready(g.on_response(after, StatusCode::OK, answer, &env(at, 0x60)));
                }
            }
        }
    }
});
