//! A raw HTTP/1.1 client: requests exactly as written (lenient paths,
//! header names with `_`, chunked bodies), one connection each, and the
//! answer framed by Content-Length or chunked encoding.

use crate::scenario::{Answer, Req, ReqBody};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The request's bytes on the wire.
pub fn encode(req: &Req) -> Vec<u8> {
    let mut out = format!(
        "{} {} HTTP/1.1\r\nhost: 127.0.0.1\r\n",
        req.method, req.path
    )
    .into_bytes();
    for (k, v) in &req.headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    match &req.body {
        ReqBody::Fixed(b) => {
            if !b.is_empty() || !matches!(req.method.as_str(), "GET" | "HEAD") {
                out.extend_from_slice(format!("content-length: {}\r\n", b.len()).as_bytes());
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(b);
        }
        ReqBody::Chunked(chunks) => {
            out.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
            for c in chunks {
                out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
                out.extend_from_slice(c);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
        }
    }
    out
}

/// Sends `req` to `addr` on a new connection and reads the answer. The
/// request is written while the answer is read, so a server that answers
/// before reading the whole body (413) is heard.
pub async fn send(addr: SocketAddr, req: &Req) -> Answer {
    send_from(None, addr, req).await
}

/// [`send`] from the local address `from` (any of 127.0.0.0/8 on
/// loopback), so a test can be several clients.
pub async fn send_from(from: Option<std::net::IpAddr>, addr: SocketAddr, req: &Req) -> Answer {
    exchange(from, addr, req).await.unwrap_or_else(|| {
        panic!(
            "{} {}: the connection closed with no answer",
            req.method, req.path
        )
    })
}

/// [`send`], or `None` when the server closed the connection without
/// sending a byte of an answer (what a server shutting down does to a
/// connection whose request it had not read).
pub async fn try_send(addr: SocketAddr, req: &Req) -> Option<Answer> {
    exchange(None, addr, req).await
}

async fn exchange(from: Option<std::net::IpAddr>, addr: SocketAddr, req: &Req) -> Option<Answer> {
    let work = async {
        let stream = match from {
            None => TcpStream::connect(addr).await,
            Some(ip) => {
                let socket = tokio::net::TcpSocket::new_v4().unwrap();
                socket.bind(SocketAddr::new(ip, 0)).unwrap();
                socket.connect(addr).await
            }
        }
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        let (read, mut write) = stream.into_split();
        let bytes = encode(req);
        let writer = tokio::spawn(async move {
            // The server may close before taking it all; the answer tells.
            let _ = write.write_all(&bytes).await;
            write
        });
        let answer = read_answer(&mut BufReader::new(read), req.method == "HEAD").await;
        drop(writer.await);
        answer
    };
    tokio::time::timeout(Duration::from_secs(30), work)
        .await
        .unwrap_or_else(|_| panic!("no answer to {} {} in 30 s", req.method, req.path))
}

async fn read_answer<R: tokio::io::AsyncRead + Unpin>(
    conn: &mut BufReader<R>,
    head_only: bool,
) -> Option<Answer> {
    let mut line = String::new();
    conn.read_line(&mut line).await.ok()?;
    if line.is_empty() {
        return None;
    }
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        conn.read_line(&mut h).await.unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h
            .split_once(':')
            .unwrap_or_else(|| panic!("bad header {h:?}"));
        headers.push((k.to_ascii_lowercase(), v.trim().to_owned()));
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if head_only {
    } else if let Some(len) = get("content-length") {
        body.resize(len.parse().unwrap(), 0);
        conn.read_exact(&mut body).await.unwrap();
    } else if get("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        loop {
            let mut size = String::new();
            conn.read_line(&mut size).await.unwrap();
            let n = usize::from_str_radix(size.trim(), 16).unwrap();
            let mut chunk = vec![0; n + 2];
            conn.read_exact(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        conn.read_to_end(&mut body).await.unwrap();
    }
    Some(Answer {
        status,
        headers,
        body,
    })
}
