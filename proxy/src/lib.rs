//! fidogate-proxy: the `fidogate` gateway binary's building blocks.
//!
//! - [`config`]: the configuration file, validated with errors that name
//!   the file and the key, and the key files generated on first start.

pub mod config;
