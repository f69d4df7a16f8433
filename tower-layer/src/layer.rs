use crate::service::Fidogate;
use fidogate_core::gateway::Gateway;
use tower_layer::Layer;

/// Puts the fidogate engine in front of a service. Holds configuration
/// only; cheap to clone.
#[derive(Debug, Clone)]
pub struct FidogateLayer {
    gateway: Gateway,
}

impl FidogateLayer {
    /// A layer driving `gateway`.
    pub fn new(gateway: Gateway) -> Self {
        Self { gateway }
    }

    /// The engine.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }
}

impl<S> Layer<S> for FidogateLayer {
    type Service = Fidogate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Fidogate::new(inner, self.gateway.clone())
    }
}
