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
//!   before the client gets an answer; a 2xx answer is read (at most
//!   `response_limit` bytes) and judged by the engine, any other answer is
//!   streamed to the client unchanged.
//! - `fail_to_proxy`: an unreachable app is the engine's answer
//!   ([`Gateway::on_failure`]), a 502 in the dialect's shape.
//!
//! Every answer written here is the engine's; pass-through routes take
//! none of these steps.

use crate::subrequest::{self, Read};
use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use fidogate_core::gateway::{
    AfterResponse, AppAnswer, BodyAction, Client, Env, Failure, Gateway, Intercept, Outcome, Reply,
    RequestAction, ResponseAction, Source, SystemSource,
};
use http::{HeaderName, HeaderValue, StatusCode};
use pingora::Result;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use pingora::upstreams::peer::HttpPeer;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long the app may take by default: see
/// [`FidogateProxy::with_upstream_timeout`].
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

/// The per-request state.
#[derive(Debug, Default)]
pub struct Ctx {
    started: Option<Instant>,
    intercept: Option<Intercept>,
    headers: Vec<(HeaderName, HeaderValue)>,
    after: Option<AfterResponse>,
    replacement: Option<Bytes>,
    /// How the request ended, once known (the status of a forwarded one
    /// is the app's, set when its answer arrives).
    outcome: Option<Outcome>,
}

/// The Pingora proxy: the engine in front of round-robin upstreams.
#[derive(Debug)]
pub struct FidogateProxy {
    gateway: Gateway,
    source: Arc<dyn Source>,
    upstreams: Vec<SocketAddr>,
    next: AtomicUsize,
    healthz: String,
    body_timeout: Duration,
    /// How long the app may take to accept a connection, to take a
    /// request and to send each part of its answer.
    upstream_timeout: Duration,
    /// TLS to the app: the name asked for, and the client for the
    /// gateway's own requests.
    upstream_tls: Option<(String, crate::tls::UpstreamClient)>,
}

impl FidogateProxy {
    /// A proxy driving `gateway` in front of `upstreams` (at least one),
    /// with the system clock and the operating system's random source.
    pub fn new(
        gateway: Gateway,
        upstreams: Vec<SocketAddr>,
        healthz: String,
        body_timeout: Duration,
    ) -> Self {
        Self {
            gateway,
            source: Arc::new(SystemSource),
            upstreams,
            next: AtomicUsize::new(0),
            healthz,
            body_timeout,
            upstream_timeout: DEFAULT_UPSTREAM_TIMEOUT,
            upstream_tls: None,
        }
    }

    /// Gives the app `timeout` to accept a connection, to take a request
    /// and to send each part of its answer (default 30 s): past it, an
    /// answer not begun is a 504 (in the dialect's shape on an intercepted
    /// route) and one begun is cut short.
    #[must_use]
    pub fn with_upstream_timeout(mut self, timeout: Duration) -> Self {
        self.upstream_timeout = timeout;
        self
    }

    /// Speaks TLS to the app, asking for and checking `sni`; `client` makes
    /// the gateway's own requests (the roots must be those Pingora's
    /// connector has: `ServerConf::ca_file`, or the system's).
    #[must_use]
    pub fn with_upstream_tls(mut self, sni: String, client: crate::tls::UpstreamClient) -> Self {
        self.upstream_tls = Some((sni, client));
        self
    }

    /// Takes the time and randomness of each request from `source` instead.
    #[must_use]
    pub fn with_source(mut self, source: Arc<dyn Source>) -> Self {
        self.source = source;
        self
    }

    fn pick(&self) -> Option<SocketAddr> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.upstreams.get(n % self.upstreams.len().max(1)).copied()
    }
}

/// Writes an answer of the gateway's.
async fn write_reply(session: &mut Session, reply: Reply, keepalive: bool) -> Result<()> {
    let mut header = ResponseHeader::build(reply.status, Some(3 + reply.headers.len()))?;
    header.insert_header("content-type", reply.content_type())?;
    if let Some(len) = reply.content_length() {
        header.insert_header("content-length", len.to_string())?;
    }
    for (name, value) in &reply.headers {
        header.insert_header(*name, value.as_str())?;
    }
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

enum BodyRead {
    Whole(Bytes),
    Failed(Failure),
}

/// Reads the whole request body, stopping past `limit` bytes.
async fn read_body(session: &mut Session, limit: usize, timeout: Duration) -> BodyRead {
    let mut out = BytesMut::new();
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, session.read_request_body()).await {
            Err(_) => return BodyRead::Failed(Failure::BodyTimedOut),
            Ok(Err(_)) => return BodyRead::Failed(Failure::BodyUnreadable),
            Ok(Ok(None)) => return BodyRead::Whole(out.freeze()),
            Ok(Ok(Some(chunk))) => {
                if out.len().saturating_add(chunk.len()) > limit {
                    return BodyRead::Failed(Failure::BodyTooLarge);
                }
                out.extend_from_slice(&chunk);
            }
        }
    }
}

impl FidogateProxy {
    /// Sends the engine's answer.
    async fn answer(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        reply: Reply,
        keepalive: bool,
    ) -> Result<bool> {
        ctx.outcome = Some(reply.outcome());
        write_reply(session, reply, keepalive).await?;
        Ok(true)
    }

    /// Sends the engine's answer to a failure on the adapter's side.
    async fn failed(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        intercept: &Intercept,
        failure: Failure,
        keepalive: bool,
    ) -> Result<bool> {
        let reply = self.gateway.on_failure(intercept, failure);
        self.answer(session, ctx, reply, keepalive).await
    }

    /// App-issued challenges: the gateway asks the app itself, reads the
    /// challenge, and answers the client.
    #[allow(clippy::too_many_arguments)] // what one request's state holds, borrowed apart
    async fn fetch_options(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        intercept: &Intercept,
        after: &AfterResponse,
        outcome: Outcome,
        body: Bytes,
        env: &Env,
    ) -> Result<bool> {
        let Some(addr) = self.pick() else {
            let failure = Failure::AppUnreachable("no upstream is configured".to_owned());
            return self.failed(session, ctx, intercept, failure, true).await;
        };
        let timeout = self.upstream_timeout;
        let tls = self.upstream_tls.as_ref().map(|(_, c)| c);
        let mut app = match subrequest::send(addr, tls, session.req_header(), body, timeout).await {
            Ok(app) => app,
            Err(subrequest::Failed::Timeout) => {
                return self
                    .failed(session, ctx, intercept, Failure::AppTimedOut, true)
                    .await;
            }
            Err(subrequest::Failed::Unreachable(why)) => {
                let failure = Failure::AppUnreachable(why);
                return self.failed(session, ctx, intercept, failure, true).await;
            }
        };
        let status = StatusCode::from_u16(app.head.status.as_u16()).unwrap_or(StatusCode::OK);
        if !after.wants_body(status) {
            return self.relay(session, ctx, app, outcome).await;
        }
        let limit = self.gateway.response_limit();
        let mut read = BytesMut::new();
        let read_end = loop {
            match subrequest::next_chunk(&mut app.body, timeout).await {
                Read::Chunk(chunk) if read.len().saturating_add(chunk.len()) > limit => {
                    break AppRead::TooLarge;
                }
                Read::Chunk(chunk) => read.extend_from_slice(&chunk),
                Read::End => break AppRead::Whole,
                Read::Failed => break AppRead::Unreadable,
            }
        };
        let answer = match read_end {
            AppRead::Whole => AppAnswer::Body(&read),
            AppRead::TooLarge => AppAnswer::TooLarge,
            AppRead::Unreadable => AppAnswer::Unreadable,
        };
        match self.gateway.on_response(after, status, answer, env).await {
            ResponseAction::Keep => {
                let mut head = app.head;
                head.insert_header("content-length", read.len().to_string())?;
                ctx.outcome = Some(outcome.with_status(status.as_u16()));
                session.write_response_header(Box::new(head), false).await?;
                session
                    .write_response_body(Some(read.freeze()), true)
                    .await?;
                Ok(true)
            }
            ResponseAction::Replace(reply) => self.answer(session, ctx, reply, true).await,
        }
    }

    /// Sends the app's answer on as it comes, whatever its size.
    async fn relay(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        mut app: subrequest::Answer,
        outcome: Outcome,
    ) -> Result<bool> {
        match app.length {
            Some(len) => app.head.insert_header("content-length", len.to_string())?,
            None => app.head.insert_header("transfer-encoding", "chunked")?,
        }
        ctx.outcome = Some(outcome.with_status(app.head.status.as_u16()));
        session
            .write_response_header(Box::new(app.head), false)
            .await?;
        loop {
            match subrequest::next_chunk(&mut app.body, self.upstream_timeout).await {
                Read::Chunk(chunk) => session.write_response_body(Some(chunk), false).await?,
                Read::End => {
                    session.write_response_body(None, true).await?;
                    return Ok(true);
                }
                Read::Failed => {
                    // The head is sent: all that is left is to cut the
                    // answer short, which the client sees.
                    session.set_keepalive(None);
                    return Ok(true);
                }
            }
        }
    }
}

/// How reading the app's answer ended.
enum AppRead {
    Whole,
    TooLarge,
    Unreadable,
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
        let mut peer = match &self.upstream_tls {
            None => HttpPeer::new(addr, false, String::new()),
            Some((sni, _)) => HttpPeer::new(addr, true, sni.clone()),
        };
        let t = Some(self.upstream_timeout);
        peer.options.connection_timeout = t;
        peer.options.total_connection_timeout = t;
        peer.options.read_timeout = t;
        peer.options.write_timeout = t;
        Ok(Box::new(peer))
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
            let peer = session
                .client_addr()
                .and_then(|a| a.as_inet())
                .map(|a| a.ip());
            let client = Client::new(peer, self.source.as_ref());
            (!health).then(|| {
                self.gateway
                    .on_request(&h.method, h.uri.path(), &h.headers, client)
            })
        };
        let Some(action) = action else {
            let reply = self.gateway.health().await;
            ctx.outcome = Some(reply.outcome());
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
            // The rest of the body was not read: close after answering.
            BodyRead::Failed(failure) => {
                return self.failed(session, ctx, &intercept, failure, false).await;
            }
        };
        let env = match self.source.env() {
            Ok(env) => env,
            Err(e) => {
                return self
                    .failed(session, ctx, &intercept, Failure::Source(e), true)
                    .await;
            }
        };
        match self.gateway.on_body(&intercept, &body, &env).await {
            BodyAction::Respond(reply) => self.answer(session, ctx, reply, true).await,
            BodyAction::Forward(forward) => {
                // The status is the app's, known when it answers.
                let outcome = forward.outcome(&intercept, 0);
                if let Some(after) = &forward.after
                    && after.depends_on_answer_body()
                {
                    // Pingora sends the answer's head before its body is
                    // seen: the gateway asks the app itself.
                    return self
                        .fetch_options(session, ctx, &intercept, after, outcome, body, &env)
                        .await;
                }
                ctx.outcome = Some(outcome);
                ctx.headers = forward.headers;
                ctx.after = forward.after;
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
        let app_status = upstream_response.status.as_u16();
        ctx.outcome = ctx.outcome.take().map(|o| o.with_status(app_status));
        let Some(after) = &ctx.after else {
            return Ok(());
        };
        let status =
            StatusCode::from_u16(upstream_response.status.as_u16()).unwrap_or(StatusCode::OK);
        // The cloud authenticator's token answer does not depend on the
        // app's body: the header can be rewritten now.
        if let Some(reply) = after.replacement_for(status) {
            upstream_response.set_status(reply.status.as_u16())?;
            upstream_response.remove_header("transfer-encoding");
            upstream_response.insert_header("content-type", reply.content_type())?;
            upstream_response.insert_header("content-length", reply.body.len().to_string())?;
            let sent = reply.status.as_u16();
            ctx.outcome = ctx.outcome.take().map(|o| o.with_status(sent));
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
        let from_app = e.esource() == &pingora::ErrorSource::Upstream;
        let app_timed_out = from_app
            && matches!(
                e.etype(),
                pingora::ErrorType::ConnectTimedout
                    | pingora::ErrorType::ReadTimedout
                    | pingora::ErrorType::WriteTimedout
            );
        let Some(intercept) = &ctx.intercept else {
            let code = match (from_app, app_timed_out) {
                (_, true) => 504,
                (true, false) => 502,
                (false, false) => 500,
            };
            let _ = session.respond_error(code).await;
            return FailToProxy {
                error_code: code,
                can_reuse_downstream: false,
            };
        };
        let failure = if app_timed_out {
            Failure::AppTimedOut
        } else {
            Failure::AppUnreachable(e.to_string())
        };
        let reply = self.gateway.on_failure(intercept, failure);
        let outcome = reply.outcome();
        let error_code = outcome.status();
        ctx.outcome = Some(outcome);
        let _ = write_reply(session, reply, true).await;
        FailToProxy {
            error_code,
            can_reuse_downstream: true,
        }
    }

    async fn logging(&self, session: &mut Session, _e: Option<&pingora::Error>, ctx: &mut Ctx) {
        let elapsed = ctx.started.map_or(Duration::ZERO, |s| s.elapsed());
        let outcome = match ctx.outcome.take() {
            Some(outcome) => outcome,
            // Not intercepted: the app's answer (or Pingora's own, when the
            // app could not be reached).
            None if ctx.intercept.is_none() && self.gateway.is_observed() => {
                let status = session.response_written().map_or(0, |h| h.status.as_u16());
                Outcome::passed(status)
            }
            None => return,
        };
        self.gateway.finish(&outcome, elapsed);
    }
}
