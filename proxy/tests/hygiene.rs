#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]
//! The header-hygiene HttpModule in Pingora's module chain.

use fidogate_core::gateway::{
    Dialect, Gateway, GatewayConfig, GatewayKeys, MokaChallengeStore, RouteConfig, RpConfig,
    TokenSigner,
};
use fidogate_core::trust::TrustAnchors;
use fidogate_proxy::hygiene::HeaderHygieneBuilder;
use pingora::http::RequestHeader;
use pingora::modules::http::HttpModules;
use std::sync::Arc;

#[tokio::test]
async fn spoofed_headers_are_removed_by_the_module() {
    let rp = RpConfig {
        id: "example.com".into(),
        name: None,
        origins: vec!["https://example.com".into()],
        top_origins: vec![],
    };
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let keys = GatewayKeys {
        signer: TokenSigner::from_pkcs8_der(&key.serialize_der()).unwrap(),
        retired: vec![],
        secret: vec![1; 32],
        previous_secrets: vec![],
    };
    let gateway = Gateway::new(
        GatewayConfig::new(rp, vec![RouteConfig::new("p", Dialect::Webauthn)]),
        keys,
        TrustAnchors::new(),
        Arc::new(MokaChallengeStore::new(10)),
    )
    .unwrap();
    let mut modules = HttpModules::new();
    modules.add_module(Box::new(HeaderHygieneBuilder::new(gateway)));
    let mut ctx = modules.build_ctx();
    let mut req = RequestHeader::build("GET", b"/anything", None).unwrap();
    req.insert_header("Fidogate-Credential", "forged").unwrap();
    req.append_header("fidogate_credential", "forged").unwrap();
    req.insert_header("x-other", "kept").unwrap();
    ctx.request_header_filter(&mut req).await.unwrap();
    assert!(req.headers.get("fidogate-credential").is_none());
    assert!(req.headers.get("fidogate_credential").is_none());
    assert_eq!(req.headers.get("x-other").unwrap(), "kept");
}
