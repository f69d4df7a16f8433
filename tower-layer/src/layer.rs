use crate::service::Fidogate;
use fidogate_core::gateway::{Gateway, Source, SystemSource};
use std::sync::Arc;
use tower_layer::Layer;

/// Puts the fidogate engine in front of a service. Holds configuration
/// only; cheap to clone.
#[derive(Debug, Clone)]
pub struct FidogateLayer {
    gateway: Gateway,
    source: Arc<dyn Source>,
}

impl FidogateLayer {
    /// A layer driving `gateway`, with the system clock and the operating
    /// system's random source.
    pub fn new(gateway: Gateway) -> Self {
        Self {
            gateway,
            source: Arc::new(SystemSource),
        }
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
        Fidogate::new(inner, self.gateway.clone(), self.source.clone())
    }
}
