//! fidogate-proxy: the `fidogate` gateway binary's building blocks.
//!
//! - [`config`]: the configuration file, validated with errors that name
//!   the file and the key, and the key files generated on first start.
//! - [`module`]: the engine as a Pingora `ProxyHttp`.
//! - [`hygiene`]: header hygiene as a Pingora `HttpModule`.

pub mod config;
pub mod files;
pub mod hygiene;
pub mod metadata_files;
pub mod metrics;
pub mod module;
mod subrequest;
pub mod tls;
