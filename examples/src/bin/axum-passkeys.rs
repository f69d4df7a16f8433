//! `cargo run -p fidogate-examples --bin axum-passkeys` (listens on
//! 127.0.0.1:3000, or the address in `FIDOGATE_EXAMPLE_ADDR`); see the
//! crate documentation for the curl lines.

use fidogate_examples::{app, gateway, gateway_config};

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .init();
    let addr = std::env::var("FIDOGATE_EXAMPLE_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let origin = format!(
        "http://localhost:{}",
        addr.rsplit(':').next().unwrap_or("3000")
    );
    // A throw-away key and secret: fine for a demo, not for a deployment.
    let key = fidogate_tower::generate_signing_key().unwrap_or_else(|e| {
        eprintln!("cannot make a signing key: {e}");
        std::process::exit(1)
    });
    let secret = fidogate_tower::generate_secret();
    let router = app(gateway(gateway_config(&origin), &key, secret));
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    tracing::info!(%addr, %origin, "axum app behind the fidogate layer");
    if let Err(e) = axum::serve(listener, router).await {
        eprintln!("server error: {e}");
        std::process::exit(1);
    }
}
