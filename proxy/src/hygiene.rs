//! Header hygiene as a Pingora `HttpModule`, for a Pingora proxy that keeps
//! its own `ProxyHttp`: it removes client-sent copies of the
//! verified-credential header (any case, `_` for `-`) from every request.
//!
//! This is the part of the gateway that fits a module. Verification does
//! not: a module's body filter runs after the request header has gone
//! upstream, so a header that depends on the body cannot be added there;
//! that is what [`FidogateProxy`](crate::module::FidogateProxy) does in
//! `request_filter`.

use async_trait::async_trait;
use fidogate_core::gateway::Gateway;
use pingora::Result;
use pingora::http::RequestHeader;
use pingora::modules::http::{HttpModule, HttpModuleBuilder, Module};
use std::any::Any;

/// Builds a [`HeaderHygiene`] per request; add it with
/// `modules.add_module(Box::new(HeaderHygieneBuilder::new(gateway)))` in
/// `ProxyHttp::init_downstream_modules`.
#[derive(Debug, Clone)]
pub struct HeaderHygieneBuilder {
    gateway: Gateway,
}

impl HeaderHygieneBuilder {
    /// Hygiene for `gateway`'s header name.
    pub fn new(gateway: Gateway) -> Self {
        Self { gateway }
    }
}

impl HttpModuleBuilder for HeaderHygieneBuilder {
    // Run before other modules see the request.
    fn order(&self) -> i16 {
        i16::MAX
    }

    fn init(&self) -> Module {
        Box::new(HeaderHygiene {
            gateway: self.gateway.clone(),
        })
    }
}

/// The per-request module.
#[derive(Debug)]
pub struct HeaderHygiene {
    gateway: Gateway,
}

#[async_trait]
impl HttpModule for HeaderHygiene {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    async fn request_header_filter(&mut self, req: &mut RequestHeader) -> Result<()> {
        for name in self.gateway.spoofed_headers(&req.headers) {
            let _ = req.remove_header(&name);
        }
        Ok(())
    }
}
