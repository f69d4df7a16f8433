use crate::service::{Fidogate, PeerFn, socket_addr_peer};
use fidogate_core::gateway::{Gateway, Source, SystemSource};
use std::sync::Arc;
use std::time::Duration;
use tower_layer::Layer;

/// How long an intercepted body may take by default.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Puts the fidogate engine in front of a service. Holds configuration
/// only; cheap to clone.
#[derive(Debug, Clone)]
pub struct FidogateLayer {
    gateway: Gateway,
    source: Arc<dyn Source>,
    peer: PeerFn,
    body_timeout: Option<Duration>,
}

impl FidogateLayer {
    /// A layer driving `gateway`, with the system clock and the operating
    /// system's random source.
    pub fn new(gateway: Gateway) -> Self {
        Self {
            gateway,
            source: Arc::new(SystemSource),
            peer: socket_addr_peer,
            body_timeout: Some(DEFAULT_BODY_TIMEOUT),
        }
    }

    /// The longest an intercepted request's whole body may take to arrive
    /// (default 10 s, as `fidogate run`'s `body_read_timeout_secs`): past
    /// it the answer is 408 in the dialect's shape and nothing is
    /// forwarded. `None` waits as long as the server lets the body come.
    /// The timer is tokio's; outside a tokio runtime there is none.
    #[must_use]
    pub fn with_body_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// Where the peer address of a request is found, for `rate_limit`
    /// (by default a `std::net::SocketAddr` in the request's extensions).
    /// With axum, served with `into_make_service_with_connect_info`:
    ///
    /// ```ignore
    /// layer.with_peer(|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()))
    /// ```
    ///
    /// Without a peer address, a request is not limited.
    #[must_use]
    pub fn with_peer(mut self, peer: PeerFn) -> Self {
        self.peer = peer;
        self
    }

    /// Takes the time and randomness of each request from `source`
    /// instead (tests pass a [`ManualSource`] to move the clock).
    ///
    /// [`ManualSource`]: fidogate_core::gateway::ManualSource
    #[must_use]
    pub fn with_source(mut self, source: Arc<dyn Source>) -> Self {
        self.source = source;
        self
    }

    /// The engine.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }
}

impl<S> Layer<S> for FidogateLayer {
    type Service = Fidogate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Fidogate::new(inner, self.gateway.clone(), self.source.clone(), self.peer)
            .with_body_timeout(self.body_timeout)
    }
}
