use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Errors of the wrapped bodies, boxed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pin_project! {
    /// A body the layer passes on: the original one, untouched (pass-through
    /// routes, app answers), or bytes the layer holds (an intercepted
    /// request it read whole, an answer it wrote).
    #[project = BodyProj]
    #[derive(Debug)]
    pub enum FidogateBody<B> {
        /// The original body.
        Inner { #[pin] body: B },
        /// Bytes held by the layer.
        Full { data: Option<Bytes> },
    }
}

impl<B> FidogateBody<B> {
    /// Wraps the original body.
    pub fn inner(body: B) -> Self {
        Self::Inner { body }
    }

    /// A body of these bytes.
    pub fn full(data: impl Into<Bytes>) -> Self {
        let data: Bytes = data.into();
        Self::Full {
            data: (!data.is_empty()).then_some(data),
        }
    }
}

impl<B> Body for FidogateBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    // Bytes held by the layer never fail; the original body's errors pass on.
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.project() {
            BodyProj::Inner { body } => body.poll_frame(cx),
            BodyProj::Full { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Inner { body } => body.is_end_stream(),
            Self::Full { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Inner { body } => body.size_hint(),
            Self::Full { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
        }
    }
}
