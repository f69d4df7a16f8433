//! One HTTP/1.1 request from the gateway to the app, for options endpoints
//! whose challenge the app issues: the gateway must read the answer before
//! the client gets it.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
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

/// Sends `req` with `body` to `addr`; the answer's head and at most `limit`
/// bytes of body (`None` when larger).
pub(crate) async fn send(
    addr: SocketAddr,
    req: &RequestHeader,
    body: Bytes,
    limit: usize,
    timeout: Duration,
) -> Result<(ResponseHeader, Option<Bytes>), String> {
    let work = async {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
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
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let (parts, incoming) = response.into_parts();
        let body = Limited::new(incoming, limit)
            .collect()
            .await
            .ok()
            .map(http_body_util::Collected::to_bytes);
        let mut head = ResponseHeader::build(parts.status.as_u16(), Some(parts.headers.len()))
            .map_err(|e| e.to_string())?;
        for (name, value) in &parts.headers {
            if !SKIP.contains(&name.as_str()) {
                head.append_header(name.clone(), value.clone())
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok((head, body))
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| "the app did not answer in time".to_owned())?
}
