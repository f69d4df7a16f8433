//! Prints a WebAuthn registration (PublicKeyCredential JSON) made by the
//! software authenticator.
//!
//! ```text
//! soft-register --fmt none|packed-self|packed|fido-u2f --rp-id ID --origin ORIGIN --challenge B64URL [--seed N] [--root-pem FILE]
//! ```
//! `--root-pem` writes the attestation root certificate, to pass to
//! `fidogate verify webauthn --roots`.

use fidogate_testkit::keys::alg;
use fidogate_testkit::webauthn::{Authenticator, attestation_root};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut fmt, mut rp_id, mut origin, mut challenge, mut seed, mut root_pem) =
        (String::from("none"), None, None, None, 1u64, None);
    while let Some(flag) = args.next() {
        let value = args.next();
        match (flag.as_str(), value) {
            ("--fmt", Some(v)) => fmt = v,
            ("--rp-id", Some(v)) => rp_id = Some(v),
            ("--origin", Some(v)) => origin = Some(v),
            ("--challenge", Some(v)) => challenge = Some(v),
            ("--seed", Some(v)) => seed = v.parse().unwrap_or(1),
            ("--root-pem", Some(v)) => root_pem = Some(v),
            _ => return usage(),
        }
    }
    let (Some(rp_id), Some(origin), Some(challenge)) = (rp_id, origin, challenge) else {
        return usage();
    };
    use base64::Engine as _;
    let Ok(challenge) =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(challenge.trim_end_matches('='))
    else {
        eprintln!("soft-register: --challenge is not base64url");
        return ExitCode::from(2);
    };
    let root = attestation_root(seed ^ 0xca);
    let authn = match fmt.as_str() {
        "none" => Authenticator::none(alg::ES256, seed),
        "packed-self" => Authenticator::packed_self(alg::ES256, seed),
        "packed" => Authenticator::packed_x5c(alg::ES256, seed, &root),
        "fido-u2f" => Authenticator::fido_u2f(seed, &root),
        _ => return usage(),
    };
    if let Some(path) = root_pem
        && let Err(e) = std::fs::write(&path, root.pem())
    {
        eprintln!("soft-register: cannot write {path}: {e}");
        return ExitCode::from(2);
    }
    println!("{}", authn.register(&rp_id, &origin, &challenge));
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: soft-register --fmt none|packed-self|packed|fido-u2f --rp-id ID --origin ORIGIN --challenge B64URL [--seed N] [--root-pem FILE]"
    );
    ExitCode::from(2)
}
