//! `fidogate`: the FIDO registration gateway and its tools.
//!
//! ```text
//! fidogate verify webauthn --rp-id ID --origin ORIGIN --challenge B64URL [FILE|-]
//! ```

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run()
}
