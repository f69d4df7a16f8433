use crate::body::FidogateBody;
use crate::future::ResponseFuture;
use bytes::Bytes;
use fidogate_core::ErrorClass;
use fidogate_core::UnixTime;
use fidogate_core::gateway::{
    BodyAction, Env, Gateway, Intercept, Refusal, Reply, RequestAction, ResponseAction,
};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::BodyExt;
use rand::RngCore;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};
use tower_service::Service;

/// Why the layer answered a request itself; put in the extensions of every
/// answer the layer writes, for logging or metrics layers outside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The status sent.
    pub status: StatusCode,
    /// A short reason (`malformed`, `replay`, `too_large`…).
    pub reason: &'static str,
    /// The message sent in the dialect's error body.
    pub message: String,
}

/// The service [`FidogateLayer`](crate::FidogateLayer) builds.
#[derive(Debug, Clone)]
pub struct Fidogate<S> {
    inner: S,
    gateway: Gateway,
}

impl<S> Fidogate<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, gateway: Gateway) -> Self {
        Self { inner, gateway }
    }
}

/// The time and fresh randomness for one request.
fn env() -> Env {
    let mut random = [0u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut random);
    Env {
        now: UnixTime::from_system(SystemTime::now()),
        random,
    }
}

/// An answer the gateway wrote.
fn respond<B>(reply: Reply) -> Response<FidogateBody<B>> {
    let len = reply.body.len();
    let rejection = reply.refusal.as_ref().map(|(refusal, message)| Rejection {
        status: reply.status,
        reason: refusal.reason(),
        message: message.clone(),
    });
    let mut response = Response::new(FidogateBody::full(reply.body));
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(Reply::CONTENT_TYPE));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    if let Some(r) = rejection {
        response.extensions_mut().insert(r);
    }
    response
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Fidogate<S>
where
    S: Service<Request<FidogateBody<ReqBody>>, Response = Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Body<Data = Bytes> + Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
{
    type Response = Response<FidogateBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        // Header hygiene on every request, intercepted or not.
        for name in self.gateway.spoofed_headers(req.headers()) {
            req.headers_mut().remove(name);
        }
        match self
            .gateway
            .on_request(req.method(), req.uri().path(), req.headers())
        {
            RequestAction::PassThrough => {
                ResponseFuture::passthrough(self.inner.call(req.map(FidogateBody::inner)))
            }
            RequestAction::Respond(reply) => ResponseFuture::ready(respond(reply)),
            RequestAction::ReadBody(intercept) => {
                // The ready service goes to the future; a clone stays.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                let gateway = self.gateway.clone();
                ResponseFuture::intercepted(Box::pin(intercept_request(
                    gateway, inner, intercept, req,
                )))
            }
        }
    }
}

async fn intercept_request<S, ReqBody, ResBody>(
    gateway: Gateway,
    mut inner: S,
    intercept: Intercept,
    req: Request<ReqBody>,
) -> Result<Response<FidogateBody<ResBody>>, S::Error>
where
    S: Service<Request<FidogateBody<ReqBody>>, Response = Response<ResBody>>,
    ReqBody: Body<Data = Bytes>,
    ResBody: Body<Data = Bytes>,
{
    let started = Instant::now();
    let log = |decision: &str, status: StatusCode, reason: &str| {
        tracing::info!(
            route = intercept.route_name(),
            dialect = intercept.dialect().as_str(),
            endpoint = ?intercept.endpoint(),
            decision,
            status = status.as_u16(),
            reason,
            latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            "fidogate"
        );
    };
    let (mut parts, body) = req.into_parts();
    let bytes = match read_limited(body, intercept.limit()).await {
        Ok(bytes) => bytes,
        Err(e) => {
            let reply = if e == ReadError::TooLarge {
                gateway.too_large(&intercept)
            } else {
                Reply::refuse(
                    intercept.dialect(),
                    Refusal::Verification(ErrorClass::Malformed),
                    "the request body could not be read",
                )
            };
            log("respond", reply.status, reply_reason(&reply));
            return Ok(respond(reply));
        }
    };
    let env = env();
    let forward = match gateway.on_body(&intercept, &bytes, &env) {
        BodyAction::Respond(reply) => {
            log("respond", reply.status, reply_reason(&reply));
            return Ok(respond(reply));
        }
        BodyAction::Forward(forward) => forward,
    };
    for (name, value) in forward.headers {
        parts.headers.insert(name, value);
    }
    // The body now goes as one piece of known length.
    parts.headers.remove(TRANSFER_ENCODING);
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let response = inner
        .call(Request::from_parts(parts, FidogateBody::full(bytes)))
        .await?;
    let Some(after) = forward.after.filter(|a| a.wants_body(response.status())) else {
        log("forward", response.status(), "verified");
        return Ok(response.map(FidogateBody::inner));
    };
    let (parts, body) = response.into_parts();
    let body = read_limited(body, gateway.response_limit()).await.ok();
    match gateway.on_response(&after, parts.status, body.as_deref(), &env) {
        ResponseAction::Keep => {
            log("forward", parts.status, "upstream answer kept");
            let body = body.unwrap_or_default();
            Ok(Response::from_parts(parts, FidogateBody::full(body)))
        }
        ResponseAction::Replace(reply) => {
            log("forward", reply.status, reply_reason(&reply));
            Ok(respond(reply))
        }
    }
}

fn reply_reason(reply: &Reply) -> &'static str {
    reply
        .refusal
        .as_ref()
        .map_or("answered", |(refusal, _)| refusal.reason())
}

#[derive(Debug, PartialEq, Eq)]
enum ReadError {
    TooLarge,
    Failed,
}

/// Reads a whole body of at most `limit` bytes, stopping as soon as it is
/// over (a false or missing Content-Length does not matter).
async fn read_limited<B: Body<Data = Bytes>>(body: B, limit: usize) -> Result<Bytes, ReadError> {
    let mut body = std::pin::pin!(body);
    let mut out = bytes::BytesMut::new();
    while let Some(frame) = body.as_mut().frame().await {
        let frame = frame.map_err(|_| ReadError::Failed)?;
        if let Ok(data) = frame.into_data() {
            if out.len().saturating_add(data.len()) > limit {
                return Err(ReadError::TooLarge);
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out.freeze())
}
