//! `cargo run -p fidogate-examples --bin demo-app`: the bundled legacy app
//! on 127.0.0.1:3000 (`DEMO_APP_ADDR`), expecting the gateway on
//! 127.0.0.1:8080 (`FIDOGATE_ADDR`) with the default configuration.

use fidogate_examples::demo::{DemoConfig, demo_app};

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .init();
    let addr = std::env::var("DEMO_APP_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let config = DemoConfig {
        gateway: std::env::var("FIDOGATE_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into()),
        jwks_path: "/.well-known/fidogate/jwks.json".into(),
        header: "fidogate-credential".into(),
        issuer: "fidogate".into(),
        audience: "demo-app".into(),
    };
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("demo-app: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    tracing::info!(%addr, gateway = %config.gateway, "demo app (no FIDO code) behind the gateway");
    if let Err(e) = axum::serve(listener, demo_app(config)).await {
        eprintln!("demo-app: {e}");
        std::process::exit(1);
    }
}
