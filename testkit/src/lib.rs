//! Software authenticators and key material for fidogate's tests, examples
//! and benchmarks.
//!
//! Nothing here verifies anything: it produces registrations the way real
//! authenticators do (and, for negative tests, the way broken or malicious
//! ones would), so the verifiers in `fidogate-core` can be tested on inputs
//! that exercise every check.

// Test support: a failure to build a fixture is a bug in the fixture, and
// panicking with the reason is the clearest report.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod certs;
pub mod der;
pub mod formats;
pub mod keycred;
pub mod keys;
pub mod mds;
pub mod uaf;
pub mod vectors;
pub mod webauthn;

pub use base64;
pub use rcgen;

/// Base64url without padding.
pub fn b64u(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The `fidogate` binary of the running test's build (`target/<profile>/`),
/// built from the current source first: `cargo build` runs every time (a
/// no-op when nothing changed), so a test never runs a stale binary. For
/// tests outside the crate that owns the binary; its own tests use
/// `CARGO_BIN_EXE_fidogate`.
pub fn fidogate_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("target/<profile>/deps");
    let profile = match dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev",
        Some(other) => other,
        None => "dev",
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "-p",
            "fidogate-proxy",
            "--bin",
            "fidogate",
            "--profile",
            profile,
        ])
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build -p fidogate-proxy failed");
    dir.join("fidogate")
}

/// Polls a future once, for tests and benches that drive the engine over
/// the in-process challenge store (whose futures are ready at once).
pub trait Ready: std::future::Future + Sized {
    /// The output; panics if the future is not ready at once.
    fn ready(self) -> Self::Output {
        let mut f = std::pin::pin!(self);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("the future is not ready at once"),
        }
    }
}

impl<F: std::future::Future> Ready for F {}
