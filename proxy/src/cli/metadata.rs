//! `fidogate metadata inspect`: what a metadata file says, verified.

use super::verify::{rejected, verification_time};
use super::{EXIT_ACCEPTED, EXIT_USAGE};
use clap::{Args, Subcommand};
use fidogate_core::ErrorClass;
use fidogate_proxy::metadata_files::{load, roots};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub(crate) enum MetadataCommand {
    /// Verify a BLOB (or read a decoded payload, a statement, a folder of
    /// statements) and print what it holds as JSON.
    Inspect(InspectArgs),
}

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// A BLOB (.jwt), a decoded payload, a statement file or a folder.
    #[arg(value_name = "PATH")]
    path: PathBuf,
    /// A root the BLOB may chain to, besides the shipped GlobalSign Root
    /// CA - R3 (PEM; repeat).
    #[arg(long = "root", value_name = "PEM")]
    roots: Vec<PathBuf>,
    /// The verification instant, RFC 3339 (default: now).
    #[arg(long, value_name = "RFC3339")]
    time: Option<String>,
}

pub(crate) fn run(cmd: MetadataCommand) -> ExitCode {
    let MetadataCommand::Inspect(args) = cmd;
    let usage = |m: String| {
        eprintln!("fidogate metadata inspect: {m}");
        ExitCode::from(EXIT_USAGE)
    };
    let at = match verification_time(args.time.as_deref()) {
        Ok(t) => t,
        Err(e) => return usage(e),
    };
    if !args.path.exists() {
        return usage(format!("{}: no such file or folder", args.path.display()));
    }
    let roots = match roots(&args.roots) {
        Ok(r) => r,
        Err(e) => return usage(e.to_string()),
    };
    match load(std::slice::from_ref(&args.path), &roots, at) {
        Ok(loaded) => {
            let out = match &loaded.blob {
                Some(b) => json!({
                    "ok": true,
                    "signed": true,
                    "no": b.no,
                    "next_update": b.next_update.map(|d| d.to_iso()),
                    "entries": b.entries,
                    "stale": b.stale(at),
                    "quarantined": b.quarantined,
                    "root": b.root,
                    "legal_header": b.legal_header,
                    "signing_path_valid_until": b.path_valid_until.to_rfc3339(),
                }),
                None => json!({
                    "ok": true,
                    "signed": false,
                    "no": null,
                    "next_update": null,
                    "entries": loaded.metadata.statements.entries.len(),
                    "stale": false,
                    "files": loaded.statement_files,
                }),
            };
            println!("{out}");
            ExitCode::from(EXIT_ACCEPTED)
        }
        Err(e) if e.class == ErrorClass::Internal => usage(e.to_string()),
        Err(e) => rejected(e.class, e.to_string()),
    }
}
