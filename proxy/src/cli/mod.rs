//! Command-line interface.

mod check_config;
mod metadata;
mod roots;
mod run;
#[cfg(feature = "test-clock")]
mod test_clock;
mod verify;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit status: the registration was accepted.
pub(crate) const EXIT_ACCEPTED: u8 = 0;
/// Exit status: the registration was rejected.
pub(crate) const EXIT_REJECTED: u8 = 1;
/// Exit status: usage or input error.
pub(crate) const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "fidogate",
    version,
    about = "Verifies FIDO registrations at the gateway"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Verify one registration offline and print the result as JSON.
    #[command(subcommand)]
    Verify(verify::VerifyCommand),
    /// Run the gateway.
    Run(run::Run),
    /// Validate a configuration file without starting.
    CheckConfig(check_config::CheckConfig),
    /// FIDO metadata (MDS3) files.
    #[command(subcommand)]
    Metadata(metadata::MetadataCommand),
}

/// Parses the arguments and runs the command.
pub(crate) fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_ACCEPTED
            });
        }
    };
    match cli.command {
        Command::Verify(cmd) => verify::run(cmd),
        Command::CheckConfig(cmd) => check_config::run(&cmd),
        Command::Run(cmd) => run::run(&cmd),
        Command::Metadata(cmd) => metadata::run(cmd),
    }
}
