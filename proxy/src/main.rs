//! `fidogate`: the FIDO registration gateway and its tools.
//!
//! ```text
//! fidogate verify webauthn --rp-id ID --origin ORIGIN --challenge B64URL [FILE|-]
//! ```

mod cli;

use std::process::ExitCode;

/// mimalloc instead of the C library's allocator: a registration makes a
/// few hundred small allocations across the proxy, the engine and the
/// verifier, and glibc's malloc and free took 7 to 9 % of the gateway's
/// CPU under registration load (BENCHMARKS.md, section 3).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::run()
}
