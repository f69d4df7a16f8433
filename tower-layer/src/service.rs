use crate::body::FidogateBody;
use crate::future::ResponseFuture;
use bytes::Bytes;
use fidogate_core::gateway::{
    AppAnswer, BodyAction, Client, Failure, Gateway, GatewayError, Intercept, Outcome, Reply,
    RequestAction, ResponseAction, Source,
};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::BodyExt;
use std::net::IpAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tower_service::Service;

/// Why the layer answered a request itself; put in the extensions of every
/// refusal the layer writes, for logging or metrics layers outside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The status sent.
    pub status: StatusCode,
    /// A short reason (`malformed`, `replay`, `too_large`…).
    pub reason: &'static str,
    /// The message sent in the dialect's error body.
    pub message: String,
    /// The typed error.
    pub error: GatewayError,
}

/// The service [`FidogateLayer`](crate::FidogateLayer) builds.
#[derive(Debug, Clone)]
pub struct Fidogate<S> {
    inner: S,
    gateway: Gateway,
    source: Arc<dyn Source>,
    peer: PeerFn,
    body_timeout: Option<Duration>,
}

/// Where the layer finds a request's peer address (for the per-client
/// limit): a function of the request's extensions.
pub type PeerFn = fn(&http::Extensions) -> Option<IpAddr>;

/// The default [`PeerFn`]: a `std::net::SocketAddr` in the extensions.
pub fn socket_addr_peer(extensions: &http::Extensions) -> Option<IpAddr> {
    extensions.get::<std::net::SocketAddr>().map(|a| a.ip())
}

impl<S> Fidogate<S> {
    /// Wraps `inner`; time and randomness come from `source`, the peer
    /// address from `peer`.
    pub fn new(inner: S, gateway: Gateway, source: Arc<dyn Source>, peer: PeerFn) -> Self {
        Self {
            inner,
            gateway,
            source,
            peer,
            body_timeout: Some(crate::layer::DEFAULT_BODY_TIMEOUT),
        }
    }

    /// See [`FidogateLayer::with_body_timeout`](crate::FidogateLayer::with_body_timeout).
    #[must_use]
    pub fn with_body_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.body_timeout = timeout;
        self
    }
}

/// An answer the gateway wrote.
fn respond<B>(reply: Reply) -> Response<FidogateBody<B>> {
    let len = reply.content_length();
    let content_type = HeaderValue::from_static(reply.content_type());
    let extra: Vec<_> = reply
        .headers
        .iter()
        .filter_map(|(k, v)| Some((*k, HeaderValue::from_str(v).ok()?)))
        .collect();
    let rejection = reply.refusal.map(|refusal| Rejection {
        status: reply.status,
        reason: refusal.reason(),
        message: refusal.message(),
        error: refusal.into_error(),
    });
    let mut response = Response::new(FidogateBody::full(reply.body));
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, content_type);
    if let Some(len) = len {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    }
    for (name, value) in extra {
        headers.insert(name, value);
    }
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
    S::Error: std::fmt::Display + Send + 'static,
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
        // Timed only when somebody is told, or the request is intercepted.
        let started = self.gateway.is_observed().then(Instant::now);
        let client = Client::new((self.peer)(req.extensions()), self.source.as_ref());
        match self
            .gateway
            .on_request(req.method(), req.uri().path(), req.headers(), client)
        {
            RequestAction::PassThrough => {
                let observed = started.map(|at| (self.gateway.clone(), at));
                ResponseFuture::passthrough(self.inner.call(req.map(FidogateBody::inner)), observed)
            }
            RequestAction::Respond(reply) => {
                let elapsed = started.map_or(Duration::ZERO, |at| at.elapsed());
                self.gateway.finish(&reply.outcome(), elapsed);
                ResponseFuture::ready(respond(reply))
            }
            RequestAction::ReadBody(intercept) => {
                // The ready service goes to the future; a clone stays.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                let work = Intercepted {
                    gateway: self.gateway.clone(),
                    source: self.source.clone(),
                    intercept,
                    started: started.unwrap_or_else(Instant::now),
                    body_timeout: self.body_timeout,
                };
                ResponseFuture::intercepted(Box::pin(work.run(inner, req)))
            }
        }
    }
}

/// One intercepted request.
struct Intercepted {
    gateway: Gateway,
    source: Arc<dyn Source>,
    intercept: Intercept,
    started: Instant,
    body_timeout: Option<Duration>,
}

impl Intercepted {
    fn finish(&self, outcome: &Outcome) {
        self.gateway.finish(outcome, self.started.elapsed());
    }

    /// Sends the engine's answer.
    fn answer<B>(&self, reply: Reply) -> Response<FidogateBody<B>> {
        self.finish(&reply.outcome());
        respond(reply)
    }

    fn failed<B>(&self, failure: Failure) -> Response<FidogateBody<B>> {
        self.answer(self.gateway.on_failure(&self.intercept, failure))
    }

    async fn run<S, ReqBody, ResBody>(
        self,
        mut inner: S,
        req: Request<ReqBody>,
    ) -> Result<Response<FidogateBody<ResBody>>, S::Error>
    where
        S: Service<Request<FidogateBody<ReqBody>>, Response = Response<ResBody>>,
        S::Error: std::fmt::Display,
        ReqBody: Body<Data = Bytes>,
        ResBody: Body<Data = Bytes>,
    {
        let (mut parts, body) = req.into_parts();
        let read = read_limited(body, self.intercept.limit());
        let read = match self
            .body_timeout
            .filter(|_| tokio::runtime::Handle::try_current().is_ok())
        {
            Some(limit) => tokio::time::timeout(limit, read)
                .await
                .unwrap_or(Err(ReadError::TimedOut)),
            None => read.await,
        };
        let bytes = match read {
            Ok(bytes) => bytes,
            Err(ReadError::TooLarge) => return Ok(self.failed(Failure::BodyTooLarge)),
            Err(ReadError::Failed) => return Ok(self.failed(Failure::BodyUnreadable)),
            Err(ReadError::TimedOut) => return Ok(self.failed(Failure::BodyTimedOut)),
        };
        let env = match self.source.env() {
            Ok(env) => env,
            Err(e) => return Ok(self.failed(Failure::Source(e))),
        };
        let forward = match self.gateway.on_body(&self.intercept, &bytes, &env).await {
            BodyAction::Respond(reply) => return Ok(self.answer(reply)),
            BodyAction::Forward(forward) => forward,
        };
        for (name, value) in forward.headers.iter().cloned() {
            parts.headers.insert(name, value);
        }
        // The body now goes as one piece of known length.
        parts.headers.remove(TRANSFER_ENCODING);
        parts
            .headers
            .insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        let response = match inner
            .call(Request::from_parts(parts, FidogateBody::full(bytes)))
            .await
        {
            Ok(response) => response,
            Err(e) => return Ok(self.failed(Failure::AppUnreachable(e.to_string()))),
        };
        let status = response.status();
        let outcome = forward.outcome(&self.intercept, status.as_u16());
        let Some(after) = forward.after.as_ref() else {
            self.finish(&outcome);
            return Ok(response.map(FidogateBody::inner));
        };
        if let Some(reply) = after.replacement_for(status) {
            self.finish(&outcome.with_status(reply.status.as_u16()));
            return Ok(respond(reply));
        }
        if !after.wants_body(status) {
            self.finish(&outcome);
            return Ok(response.map(FidogateBody::inner));
        }
        let (parts, body) = response.into_parts();
        let read = read_limited(body, self.gateway.response_limit()).await;
        let answer = match &read {
            Ok(body) => AppAnswer::Body(body),
            Err(ReadError::TooLarge) => AppAnswer::TooLarge,
            Err(ReadError::Failed | ReadError::TimedOut) => AppAnswer::Unreadable,
        };
        match self.gateway.on_response(after, status, answer, &env).await {
            ResponseAction::Keep => {
                self.finish(&outcome);
                let body = read.unwrap_or_default();
                Ok(Response::from_parts(parts, FidogateBody::full(body)))
            }
            ResponseAction::Replace(reply) => Ok(self.answer(reply)),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum ReadError {
    TooLarge,
    Failed,
    TimedOut,
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
