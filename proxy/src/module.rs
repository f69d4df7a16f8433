//! The fidogate engine as a Pingora [`ProxyHttp`]: add [`FidogateProxy`]
//! to a Pingora server with `http_proxy_service`, as the `fidogate run`
//! command does.
//!
//! How it maps onto Pingora 0.9 (whose request header goes upstream before
//! `request_body_filter` runs, so a header that depends on the body must be
//! decided earlier):
//!
//! - `request_filter`: client copies of the verified-credential header are
//!   removed from every request. On an intercepted route,
//!   `enable_retry_buffering()` is called and the whole body is read (under
//!   a read timeout, at most the body limit, 64 KiB at most because that is
//!   what Pingora's retry buffer holds); the engine decides; a direct answer
//!   is written here (`Ok(true)`), else the decision waits in the context.
//!   Pingora then replays the buffered body upstream, unchanged.
//! - `upstream_request_filter`: adds the signed header.
//! - `response_filter` / `response_body_filter`: the cloud authenticator
//!   dialect's token answer replaces the app's 2xx answer.
//! - Upstream-issued challenges: the gateway asks the app itself (one
//!   HTTP/1.1 request to the next upstream) so it can read the challenge
//!   before the client gets an answer, and answers 502 in the dialect's
//!   shape if the app's answer has none.
//! - `fail_to_proxy`: an unreachable app is a 502 in the dialect's shape.
//!
//! Pass-through routes take none of these steps.

use async_trait::async_trait;
use bytes::Bytes;
use fidogate_core::UnixTime;
use fidogate_core::gateway::{
    AfterResponse, BodyAction, Env, Gateway, Intercept, Refusal, Reply, RequestAction,
    ResponseAction,
};
use http::{HeaderName, HeaderValue, StatusCode};
use pingora::Result;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use pingora::upstreams::peer::HttpPeer;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// The per-request state.
#[derive(Debug, Default)]
pub struct Ctx {
    started: Option<Instant>,
    intercept: Option<Intercept>,
    headers: Vec<(HeaderName, HeaderValue)>,
    after: Option<AfterResponse>,
    env: Option<Env>,
    replacement: Option<Bytes>,
    decision: &'static str,
    status: u16,
    reason: &'static str,
}

/// The Pingora proxy: the engine in front of round-robin upstreams.
#[derive(Debug)]
pub struct FidogateProxy {
    gateway: Gateway,
    upstreams: Vec<SocketAddr>,
    next: AtomicUsize,
    healthz: String,
    body_timeout: Duration,
}

impl FidogateProxy {
    /// A proxy driving `gateway` in front of `upstreams` (at least one).
    pub fn new(
        gateway: Gateway,
        upstreams: Vec<SocketAddr>,
        healthz: String,
        body_timeout: Duration,
    ) -> Self {
        Self {
            gateway,
            upstreams,
            next: AtomicUsize::new(0),
            healthz,
            body_timeout,
        }
    }

    fn pick(&self) -> Option<SocketAddr> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.upstreams.get(n % self.upstreams.len().max(1)).copied()
    }
}

/// The time and fresh randomness for one request.
pub fn env() -> Env {
    use rand::RngCore;
    let mut random = [0u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut random);
    Env {
        now: UnixTime::from_system(SystemTime::now()),
        random,
    }
}

/// Writes an answer of the gateway's.
async fn write_reply(session: &mut Session, reply: Reply, keepalive: bool) -> Result<()> {
    let mut header = ResponseHeader::build(reply.status, Some(3))?;
    header.insert_header("content-type", Reply::CONTENT_TYPE)?;
    header.insert_header("content-length", reply.body.len().to_string())?;
    if !keepalive {
        session.set_keepalive(None);
    }
    session
        .write_response_header(Box::new(header), false)
        .await?;
    session
        .write_response_body(Some(Bytes::from(reply.body)), true)
        .await
}

fn reason_of(reply: &Reply) -> &'static str {
    reply
        .refusal
        .as_ref()
        .map_or("answered", |(refusal, _)| refusal.reason())
}

enum BodyRead {
    Whole(Bytes),
    TooLarge,
    Failed(&'static str),
}

/// Reads the whole request body, stopping past `limit` bytes.
async fn read_body(session: &mut Session, limit: usize, timeout: Duration) -> BodyRead {
    let mut out = bytes::BytesMut::new();
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, session.read_request_body()).await {
            Err(_) => return BodyRead::Failed("the request body did not arrive in time"),
            Ok(Err(_)) => return BodyRead::Failed("the request body could not be read"),
            Ok(Ok(None)) => return BodyRead::Whole(out.freeze()),
            Ok(Ok(Some(chunk))) => {
                if out.len().saturating_add(chunk.len()) > limit {
                    return BodyRead::TooLarge;
                }
                out.extend_from_slice(&chunk);
            }
        }
    }
}

impl FidogateProxy {
    async fn answer(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        reply: Reply,
        keepalive: bool,
    ) -> Result<bool> {
        ctx.decision = "respond";
        ctx.status = reply.status.as_u16();
        ctx.reason = reason_of(&reply);
        write_reply(session, reply, keepalive).await?;
        Ok(true)
    }

    /// Upstream-issued challenges: the gateway asks the app itself, reads
    /// the challenge, and answers the client.
    async fn fetch_options(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        after: &AfterResponse,
        body: Bytes,
        env: &Env,
    ) -> Result<bool> {
        let dialect = ctx.intercept.as_ref().map(Intercept::dialect);
        let fail = |m: &str| dialect.map(|d| Reply::refuse(d, Refusal::BadUpstream, m.to_owned()));
        let Some(addr) = self.pick() else {
            return Ok(false);
        };
        let limit = self.gateway.response_limit();
        match crate::subrequest::send(addr, session.req_header(), body, limit, self.body_timeout)
            .await
        {
            Ok((head, answer)) => {
                let status =
                    StatusCode::from_u16(head.status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
                if !after.wants_body(status) {
                    return self.relay(session, ctx, head, answer).await;
                }
                match self
                    .gateway
                    .on_response(after, status, answer.as_deref(), env)
                {
                    ResponseAction::Keep => self.relay(session, ctx, head, answer).await,
                    ResponseAction::Replace(reply) => self.answer(session, ctx, reply, true).await,
                }
            }
            Err(e) => match fail(&format!("the app could not be reached: {e}")) {
                Some(reply) => self.answer(session, ctx, reply, true).await,
                None => Ok(false),
            },
        }
    }

    /// Sends the app's own answer on.
    async fn relay(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        mut head: ResponseHeader,
        body: Option<Bytes>,
    ) -> Result<bool> {
        let Some(body) = body else {
            let dialect = ctx.intercept.as_ref().map(Intercept::dialect);
            if let Some(d) = dialect {
                let reply = Reply::refuse(d, Refusal::BadUpstream, "the app's answer is too large");
                return self.answer(session, ctx, reply, true).await;
            }
            return Ok(false);
        };
        head.remove_header("transfer-encoding");
        head.insert_header("content-length", body.len().to_string())?;
        ctx.decision = "forward";
        ctx.status = head.status.as_u16();
        ctx.reason = "upstream answer kept";
        session.write_response_header(Box::new(head), false).await?;
        session.write_response_body(Some(body), true).await?;
        Ok(true)
    }
}

#[async_trait]
impl ProxyHttp for FidogateProxy {
    type CTX = Ctx;

    fn new_ctx(&self) -> Ctx {
        Ctx {
            started: Some(Instant::now()),
            ..Ctx::default()
        }
    }

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut Ctx) -> Result<Box<HttpPeer>> {
        let addr = self.pick().ok_or_else(|| {
            pingora::Error::explain(pingora::ErrorType::ConnectNoRoute, "no upstream")
        })?;
        Ok(Box::new(HttpPeer::new(addr, false, String::new())))
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> Result<bool> {
        // Header hygiene on every request.
        for name in self.gateway.spoofed_headers(&session.req_header().headers) {
            let _ = session.req_header_mut().remove_header(&name);
        }
        // Decide on the head as it is borrowed: nothing is copied for
        // pass-through requests.
        let action = {
            let h = session.req_header();
            let health = h.method == http::Method::GET && h.uri.path() == self.healthz;
            (!health).then(|| self.gateway.on_request(&h.method, h.uri.path(), &h.headers))
        };
        let Some(action) = action else {
            let reply = Reply::ok(&serde_json::json!({"status": "ok"}));
            ctx.decision = "health";
            write_reply(session, reply, true).await?;
            return Ok(true);
        };
        let intercept = match action {
            RequestAction::PassThrough => return Ok(false),
            RequestAction::Respond(reply) => return self.answer(session, ctx, reply, true).await,
            RequestAction::ReadBody(intercept) => intercept,
        };
        ctx.intercept = Some(intercept.clone());
        session.enable_retry_buffering();
        let body = match read_body(session, intercept.limit(), self.body_timeout).await {
            BodyRead::Whole(body) => body,
            BodyRead::TooLarge => {
                let reply = self.gateway.too_large(&intercept);
                // The rest of the body was not read: close after answering.
                return self.answer(session, ctx, reply, false).await;
            }
            BodyRead::Failed(why) => {
                let reply = Reply::refuse(
                    intercept.dialect(),
                    Refusal::Verification(fidogate_core::ErrorClass::Malformed),
                    why,
                );
                return self.answer(session, ctx, reply, false).await;
            }
        };
        let env = env();
        match self.gateway.on_body(&intercept, &body, &env) {
            BodyAction::Respond(reply) => self.answer(session, ctx, reply, true).await,
            BodyAction::Forward(forward) => {
                if let Some(after) = &forward.after
                    && after.depends_on_answer_body()
                {
                    // Pingora sends the answer's head before its body is
                    // seen: the gateway asks the app itself.
                    return self.fetch_options(session, ctx, after, body, &env).await;
                }
                ctx.headers = forward.headers;
                ctx.after = forward.after;
                ctx.env = Some(env);
                ctx.decision = "forward";
                ctx.reason = "verified";
                Ok(false)
            }
        }
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        upstream_request: &mut RequestHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        // The spoofed copies were removed in `request_filter`, from the
        // header this one is made from.
        for (name, value) in &ctx.headers {
            upstream_request.insert_header(name.clone(), value.clone())?;
        }
        Ok(())
    }

    async fn response_filter(
        &self,
        _session: &mut Session,
        upstream_response: &mut ResponseHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        ctx.status = upstream_response.status.as_u16();
        let (Some(after), Some(env)) = (&ctx.after, &ctx.env) else {
            return Ok(());
        };
        let status =
            StatusCode::from_u16(upstream_response.status.as_u16()).unwrap_or(StatusCode::OK);
        if !after.wants_body(status) {
            return Ok(());
        }
        // The cloud authenticator's token answer does not depend on the
        // app's body: the header can be rewritten now.
        if let ResponseAction::Replace(reply) =
            self.gateway.on_response(after, status, Some(b""), env)
        {
            upstream_response.set_status(reply.status.as_u16())?;
            upstream_response.remove_header("transfer-encoding");
            upstream_response.insert_header("content-type", Reply::CONTENT_TYPE)?;
            upstream_response.insert_header("content-length", reply.body.len().to_string())?;
            ctx.status = reply.status.as_u16();
            ctx.replacement = Some(Bytes::from(reply.body));
        }
        Ok(())
    }

    fn response_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        ctx: &mut Ctx,
    ) -> Result<Option<Duration>> {
        if ctx.replacement.is_some() {
            *body = if end_of_stream {
                ctx.replacement.take()
            } else {
                None
            };
        }
        Ok(None)
    }

    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &pingora::Error,
        ctx: &mut Ctx,
    ) -> FailToProxy {
        let Some(intercept) = &ctx.intercept else {
            let code = match e.esource() {
                pingora::ErrorSource::Upstream => 502,
                _ => 500,
            };
            let _ = session.respond_error(code).await;
            return FailToProxy {
                error_code: code,
                can_reuse_downstream: false,
            };
        };
        let reply = Reply::refuse(
            intercept.dialect(),
            Refusal::BadUpstream,
            "the app could not be reached",
        );
        ctx.reason = "bad_upstream";
        let error_code = reply.status.as_u16();
        let _ = write_reply(session, reply, true).await;
        FailToProxy {
            error_code,
            can_reuse_downstream: true,
        }
    }

    async fn logging(&self, _session: &mut Session, _e: Option<&pingora::Error>, ctx: &mut Ctx) {
        let Some(intercept) = &ctx.intercept else {
            return;
        };
        let latency = ctx.started.map_or(0, |s| {
            u64::try_from(s.elapsed().as_micros()).unwrap_or(u64::MAX)
        });
        tracing::info!(
            route = intercept.route_name(),
            dialect = intercept.dialect().as_str(),
            endpoint = ?intercept.endpoint(),
            decision = ctx.decision,
            status = ctx.status,
            reason = ctx.reason,
            latency_us = latency,
            "fidogate"
        );
    }
}
