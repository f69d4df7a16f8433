use crate::body::FidogateBody;
use fidogate_core::gateway::{Gateway, Outcome};
use http::Response;
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

/// The boxed future of an intercepted request.
pub(crate) type Intercepted<B, E> =
    Pin<Box<dyn Future<Output = Result<Response<FidogateBody<B>>, E>> + Send>>;

pin_project! {
    /// The response future of [`Fidogate`](crate::Fidogate): the inner
    /// service's own future on pass-through routes (no allocation), an
    /// answer ready at once, or the intercepted request's work.
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        kind: Kind<F, B, E>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B, E> {
        Passthrough { #[pin] future: F, observed: Option<(Gateway, Instant)> },
        Ready { response: Option<Response<FidogateBody<B>>> },
        Intercepted { future: Intercepted<B, E> },
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    /// The inner service's future; when `observed`, the gateway is told
    /// how it ended.
    pub(crate) fn passthrough(future: F, observed: Option<(Gateway, Instant)>) -> Self {
        Self {
            kind: Kind::Passthrough { future, observed },
        }
    }

    pub(crate) fn ready(response: Response<FidogateBody<B>>) -> Self {
        Self {
            kind: Kind::Ready {
                response: Some(response),
            },
        }
    }

    pub(crate) fn intercepted(future: Intercepted<B, E>) -> Self {
        Self {
            kind: Kind::Intercepted { future },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<FidogateBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Passthrough { future, observed } => {
                let result = ready!(future.poll(cx));
                if let Some((gateway, started)) = observed.take() {
                    // An error of the service's has no status: 000.
                    let status = result.as_ref().map_or(0, |r| r.status().as_u16());
                    gateway.finish(&Outcome::passed(status), started.elapsed());
                }
                Poll::Ready(Ok(result?.map(FidogateBody::inner)))
            }
            KindProj::Ready { response } => match response.take() {
                Some(r) => Poll::Ready(Ok(r)),
                // Polled again after completion: a contract breach by the
                // caller; stay pending rather than panic.
                None => Poll::Pending,
            },
            KindProj::Intercepted { future } => future.as_mut().poll(cx),
        }
    }
}

impl<F, B, E> std::fmt::Debug for ResponseFuture<F, B, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
