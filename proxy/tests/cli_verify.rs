//! `fidogate verify webauthn` as a user runs it: the shared captures, the
//! software authenticator's registrations, and the exit statuses.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use fidogate_testkit::keys::alg;
use fidogate_testkit::webauthn::{Authenticator, attestation_root};
use serde_json::Value;
use std::io::Write as _;
use std::process::{Command, Output, Stdio};

const RP: &str = "example.com";
const ORIGIN: &str = "https://example.com";
const CHALLENGE: &[u8] = b"0123456789abcdef0123456789abcdef";

fn fidogate(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fidogate"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A usage error exits before reading its input: a closed pipe is fine.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

/// Parses stdout as exactly one JSON object.
fn one_object(out: &Output) -> Value {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let mut stream = serde_json::Deserializer::from_str(&text).into_iter::<Value>();
    let v = stream.next().expect("a JSON object on stdout").unwrap();
    assert!(stream.next().is_none(), "more than one JSON value: {text}");
    assert!(v.is_object());
    v
}

fn b64u(b: &[u8]) -> String {
    fidogate_testkit::b64u(b)
}

#[test]
fn every_shared_vector_through_the_cli() {
    let Some(dir) = fidogate_testkit::vectors::dir() else {
        return;
    };
    let all = fidogate_testkit::vectors::webauthn(&dir);
    for v in &all {
        let mut args = vec![
            "verify",
            "webauthn",
            "--rp-id",
            v.rp_id(),
            "--origin",
            v.origin(),
            "--challenge",
            v.challenge_b64url(),
        ];
        let anchors: Vec<String> = v
            .trust_anchors(&dir)
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        for a in &anchors {
            args.extend(["--roots", a.as_str()]);
        }
        if let Some(t) = v.verification_time() {
            args.extend(["--time", t]);
        }
        args.push("-");
        let out = fidogate(&args, v.credential().to_string().as_bytes());
        let result = one_object(&out);
        let e = v.expect();
        assert_eq!(result["ok"], e["ok"], "{}: {result}", v.name);
        if v.ok() {
            assert_eq!(out.status.code(), Some(0), "{}", v.name);
            assert_eq!(result["fmt"], e["fmt"], "{}", v.name);
            assert_eq!(result["alg"], e["alg"], "{}", v.name);
            if e["aaguid"].is_string() {
                assert_eq!(result["aaguid"], e["aaguid"], "{}", v.name);
            }
            if e["credential_id"].is_string() {
                assert_eq!(result["credential_id"], e["credential_id"], "{}", v.name);
            }
            for key in [
                "attestation_type",
                "trusted",
                "public_key",
                "sign_count",
                "flags",
            ] {
                assert!(result.get(key).is_some(), "{}: no {key}", v.name);
            }
        } else {
            assert_eq!(out.status.code(), Some(1), "{}", v.name);
            assert!(result["error"]["class"].is_string() && result["error"]["message"].is_string());
        }
    }
    eprintln!(
        "{} shared WebAuthn vectors checked through the CLI",
        all.len()
    );
}

#[test]
fn accepted_rejected_and_usage_statuses() {
    let challenge = b64u(CHALLENGE);
    let root = attestation_root(7);
    let json = Authenticator::packed_x5c(alg::ES256, 8, &root)
        .register(RP, ORIGIN, CHALLENGE)
        .to_string();
    let base = [
        "verify",
        "webauthn",
        "--rp-id",
        RP,
        "--origin",
        ORIGIN,
        "--challenge",
        challenge.as_str(),
    ];
    // Accepted from stdin.
    let out = fidogate(&[&base[..], &["-"]].concat(), json.as_bytes());
    assert_eq!(out.status.code(), Some(0));
    let v = one_object(&out);
    assert_eq!(
        (v["ok"].as_bool(), v["fmt"].as_str(), v["trusted"].as_bool()),
        (Some(true), Some("packed"), Some(false))
    );
    assert_eq!(v["aaguid"], "6669646f-6761-7465-2d73-6f66742d3031");
    // Trusted with the root from a file and from a folder; the default input is stdin.
    let tmp = std::env::temp_dir().join(format!("fidogate-cli-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let pem = tmp.join("root.pem");
    std::fs::write(&pem, root.pem()).unwrap();
    let reg = tmp.join("reg.json");
    std::fs::write(&reg, &json).unwrap();
    for roots in [pem.display().to_string(), tmp.display().to_string()] {
        let out = fidogate(
            &[
                &base[..],
                &[
                    "--roots",
                    &roots,
                    "--require-trusted",
                    &reg.display().to_string(),
                ],
            ]
            .concat(),
            b"",
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(one_object(&out)["trusted"], true);
    }
    // Rejected: untrusted under --require-trusted, wrong origin, disallowed alg.
    let out = fidogate(
        &[&base[..], &["--require-trusted"]].concat(),
        json.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(one_object(&out)["error"]["class"], "untrusted");
    let out = fidogate(
        &[
            "verify",
            "webauthn",
            "--rp-id",
            RP,
            "--origin",
            "https://other.example",
            "--challenge",
            &challenge,
        ],
        json.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = one_object(&out);
    assert_eq!(err["error"]["class"], "policy");
    assert!(err["error"]["message"].as_str().unwrap().contains("step 9"));
    let out = fidogate(&[&base[..], &["--alg", "-8"]].concat(), json.as_bytes());
    assert_eq!(one_object(&out)["error"]["class"], "policy");
    // An RS1 credential key (as some Windows Hello TPMs make): refused by
    // default and by a list without -65535, accepted by one with it; a
    // list naming -65535 is never a usage error.
    let rs1 = Authenticator::none(alg::RS1, 12)
        .register(RP, ORIGIN, CHALLENGE)
        .to_string();
    for extra in [&[][..], &["--alg", "-257"][..]] {
        let out = fidogate(&[&base[..], extra].concat(), rs1.as_bytes());
        assert_eq!(out.status.code(), Some(1), "{extra:?}");
        let err = one_object(&out);
        assert_eq!(err["error"]["class"], "policy", "{err}");
        assert!(
            err["error"]["message"].as_str().unwrap().contains("-65535"),
            "{err}"
        );
    }
    for extra in [
        &["--alg", "-65535"][..],
        &["--alg", "-7", "--alg", "-65535"][..],
    ] {
        let out = fidogate(&[&base[..], extra].concat(), rs1.as_bytes());
        assert_eq!(out.status.code(), Some(0), "{extra:?}");
        let v = one_object(&out);
        assert_eq!(
            (v["ok"].as_bool(), v["alg"].as_i64()),
            (Some(true), Some(-65535)),
            "{v}"
        );
    }
    // A trust anchor that the chain does not reach.
    let other = tmp.join("other.pem");
    std::fs::write(
        &other,
        fidogate_testkit::certs::root_ca(
            "other",
            fidogate_testkit::keys::SigningKey::generate(alg::ES256, 9),
        )
        .pem(),
    )
    .unwrap();
    let out = fidogate(
        &[&base[..], &["--roots", &other.display().to_string()]].concat(),
        json.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(one_object(&out)["error"]["class"], "untrusted");
    // A challenge that differs: replay class.
    let out = fidogate(
        &[
            "verify",
            "webauthn",
            "--rp-id",
            RP,
            "--origin",
            ORIGIN,
            "--challenge",
            "AAAA",
        ],
        json.as_bytes(),
    );
    assert_eq!(one_object(&out)["error"]["class"], "replay");
    // Usage and input errors: status 2, message on stderr, nothing on stdout.
    for (args, input) in [
        (
            vec![
                "verify",
                "webauthn",
                "--origin",
                ORIGIN,
                "--challenge",
                "AAAA",
            ],
            json.as_bytes(),
        ),
        (
            vec![
                "verify",
                "webauthn",
                "--rp-id",
                RP,
                "--origin",
                ORIGIN,
                "--challenge",
                "no+pe",
            ],
            json.as_bytes(),
        ),
        (
            [&base[..], &["--time", "yesterday"]].concat(),
            json.as_bytes(),
        ),
        ([&base[..], &["--alg", "-9999"]].concat(), json.as_bytes()),
        (
            [&base[..], &["--roots", "/nonexistent/roots.pem"]].concat(),
            json.as_bytes(),
        ),
        (
            [&base[..], &["/nonexistent/reg.json"]].concat(),
            json.as_bytes(),
        ),
        (base.to_vec(), b"not json".as_slice()),
    ] {
        let out = fidogate(&args, input);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
    // JSON that is not a credential is a rejection, with the malformed class.
    let out = fidogate(&base, b"{\"id\":\"AQ\"}");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(one_object(&out)["error"]["class"], "malformed");
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn time_decides_certificate_validity() {
    let challenge = b64u(CHALLENGE);
    let root = attestation_root(10);
    let json = Authenticator::packed_x5c(alg::ES256, 11, &root)
        .register(RP, ORIGIN, CHALLENGE)
        .to_string();
    let tmp = std::env::temp_dir().join(format!("fidogate-cli-time-{}.pem", std::process::id()));
    std::fs::write(&tmp, root.pem()).unwrap();
    let roots = tmp.display().to_string();
    let base = [
        "verify",
        "webauthn",
        "--rp-id",
        RP,
        "--origin",
        ORIGIN,
        "--challenge",
        challenge.as_str(),
        "--roots",
        roots.as_str(),
    ];
    let out = fidogate(
        &[&base[..], &["--time", "2030-01-01T00:00:00Z"]].concat(),
        json.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0));
    let out = fidogate(
        &[&base[..], &["--time", "2051-01-01T00:00:00Z"]].concat(),
        json.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        one_object(&out)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    std::fs::remove_file(&tmp).unwrap();
}

#[test]
fn the_binary_uses_the_aws_lc_backend() {
    // fidogate-proxy enables fidogate-core's `aws-lc` feature, which takes
    // precedence over the pure-Rust default.
    assert_eq!(fidogate_core::crypto::BACKEND, "aws-lc");
}

#[test]
fn uaf_regresponse_through_the_cli() {
    let Some(dir) = fidogate_testkit::vectors::dir() else {
        return;
    };
    for (name, v) in fidogate_testkit::vectors::uaf(&dir) {
        if v["assertion_only"] == true {
            continue;
        }
        let ctx = &v["request_context"];
        let body = v["registration_response"].to_string();
        let base = [
            "verify",
            "uaf",
            "--app-id",
            ctx["appID"].as_str().unwrap(),
            "--challenge",
            ctx["challenge"].as_str().unwrap(),
        ];
        let out = fidogate(
            &[
                &base[..],
                &["--facet-id", ctx["facetID"].as_str().unwrap(), "-"],
            ]
            .concat(),
            body.as_bytes(),
        );
        assert_eq!(out.status.code(), Some(0), "{name}");
        let r = one_object(&out);
        let reg = &r["registrations"][0];
        assert_eq!(reg["aaid"], v["expect"]["aaid"], "{name}");
        assert_eq!(reg["key_id"], v["expect"]["keyID"], "{name}");
        assert_eq!(reg["public_key"], v["expect"]["public_key"], "{name}");
        assert_eq!(reg["attestation"], "basic_full");
        assert_eq!(reg["trusted"], false);
        // Without the facet, with another challenge, or requiring trust: rejected.
        for (args, class) in [
            (base.to_vec(), "policy"),
            (
                [
                    "verify",
                    "uaf",
                    "--app-id",
                    ctx["appID"].as_str().unwrap(),
                    "--challenge",
                    "AAAA",
                    "--facet-id",
                    ctx["facetID"].as_str().unwrap(),
                ]
                .to_vec(),
                "replay",
            ),
            (
                [
                    &base[..],
                    &[
                        "--facet-id",
                        ctx["facetID"].as_str().unwrap(),
                        "--require-trusted",
                    ],
                ]
                .concat(),
                "untrusted",
            ),
            (
                [
                    &base[..],
                    &[
                        "--facet-id",
                        ctx["facetID"].as_str().unwrap(),
                        "--aaid",
                        "BATS#0001",
                    ],
                ]
                .concat(),
                "policy",
            ),
        ] {
            let out = fidogate(&args, body.as_bytes());
            assert_eq!(out.status.code(), Some(1), "{args:?}");
            assert_eq!(one_object(&out)["error"]["class"], class, "{args:?}");
        }
    }
    let out = fidogate(
        &[
            "verify",
            "uaf",
            "--app-id",
            "https://x.example",
            "--challenge",
            "AAAA",
        ],
        b"[]",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(one_object(&out)["error"]["class"], "malformed");
    let out = fidogate(
        &[
            "verify",
            "uaf",
            "--app-id",
            "https://x.example",
            "--challenge",
            "AAAA",
        ],
        b"nope",
    );
    assert_eq!(out.status.code(), Some(2));
}
