//! `fidogate check-config --config FILE`: validates without starting.

use super::{EXIT_ACCEPTED, EXIT_USAGE};
use clap::Args;
use fidogate_proxy::config::load;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub(crate) struct CheckConfig {
    /// The configuration file.
    #[arg(long, default_value = "config/fidogate.yaml")]
    config: PathBuf,
}

pub(crate) fn run(cmd: &CheckConfig) -> ExitCode {
    match load(&cmd.config, &|k| std::env::var(k).ok()) {
        Ok(loaded) => {
            let routes: Vec<String> = loaded
                .file
                .gateway
                .routes
                .iter()
                .map(|r| format!("{} ({})", r.name, r.dialect.as_str()))
                .collect();
            let key_state = |p: &std::path::Path| {
                if p.exists() {
                    "present"
                } else {
                    "generated on first start"
                }
            };
            println!("{}: ok", cmd.config.display());
            let listen: Vec<String> = loaded.file.listen.iter().map(ToString::to_string).collect();
            println!("  listen {listen:?}, upstream {:?}", loaded.file.upstream);
            println!("  routes: {}", routes.join(", "));
            println!(
                "  signing key {} ({}), secret {} ({})",
                loaded.signing_key_path.display(),
                key_state(&loaded.signing_key_path),
                loaded.secret_path.display(),
                key_state(&loaded.secret_path)
            );
            ExitCode::from(EXIT_ACCEPTED)
        }
        Err(e) => {
            eprintln!("fidogate: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
