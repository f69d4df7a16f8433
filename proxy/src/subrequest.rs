//! One HTTP/1.1 request from the gateway to the app, for options endpoints
//! whose challenge the app issues: the gateway must read the answer before
//! the client gets it.

use crate::tls::UpstreamClient;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use pingora::http::{RequestHeader, ResponseHeader};
use std::net::SocketAddr;
use std::time::Duration;

/// Hop-by-hop headers, never copied (RFC 9110 §7.6.1), and the framing
/// headers the gateway sets itself.
const SKIP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "proxy-authorization",
];

/// Why the exchange with the app failed.
#[derive(Debug)]
pub(crate) enum Failed {
    /// Connecting or talking to the app failed.
    Unreachable(String),
    /// The app did not answer within the timeout.
    Timeout,
}

/// The app's answer: its head (hop-by-hop and framing headers removed),
/// the Content-Length it announced, and its body still to be read.
pub(crate) struct Answer {
    pub head: ResponseHeader,
    pub length: Option<u64>,
    pub body: Incoming,
}

/// Sends `req` with `body` to `addr`, and returns the answer's head as
/// soon as it arrives.
pub(crate) async fn send(
    addr: SocketAddr,
    tls: Option<&UpstreamClient>,
    req: &RequestHeader,
    body: Bytes,
    timeout: Duration,
) -> Result<Answer, Failed> {
    let work = async {
        let fail = |e: &dyn std::fmt::Display| Failed::Unreachable(e.to_string());
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| Failed::Unreachable(format!("connect {addr}: {e}")))?;
        let mut sender = match tls {
            None => open(stream).await?,
            Some(tls) => {
                let stream = tls
                    .connect(stream)
                    .await
                    .map_err(|e| Failed::Unreachable(format!("TLS to {addr}: {e}")))?;
                open(stream).await?
            }
        };
        let target = req.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut builder = http::Request::builder()
            .method(req.method.clone())
            .uri(target);
        for (name, value) in &req.headers {
            if !SKIP.contains(&name.as_str()) {
                builder = builder.header(name, value);
            }
        }
        let request = builder
            .header("content-length", body.len())
            .body(Full::new(body))
            .map_err(|e| fail(&e))?;
        let response = sender.send_request(request).await.map_err(|e| fail(&e))?;
        let (parts, body) = response.into_parts();
        let length = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let mut head = ResponseHeader::build(parts.status.as_u16(), Some(parts.headers.len()))
            .map_err(|e| fail(&e))?;
        for (name, value) in &parts.headers {
            if !SKIP.contains(&name.as_str()) {
                head.append_header(name.clone(), value.clone())
                    .map_err(|e| fail(&e))?;
            }
        }
        Ok(Answer { head, length, body })
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| Failed::Timeout)?
}

/// An HTTP/1.1 connection over `io`, driven by a task of its own.
async fn open<I>(io: I) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, Failed>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| Failed::Unreachable(e.to_string()))?;
    tokio::spawn(conn);
    Ok(sender)
}

/// How reading the app's body ended.
#[derive(Debug)]
pub(crate) enum Read {
    /// The next chunk.
    Chunk(Bytes),
    /// The end.
    End,
    /// The body failed, or stalled past the timeout.
    Failed,
}

/// The next data chunk of the app's body, within `timeout`.
pub(crate) async fn next_chunk(body: &mut Incoming, timeout: Duration) -> Read {
    loop {
        match tokio::time::timeout(timeout, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    return Read::Chunk(data);
                }
            }
            Ok(None) => return Read::End,
            Ok(Some(Err(_))) | Err(_) => return Read::Failed,
        }
    }
}
