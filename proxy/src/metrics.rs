//! The metrics listener: `GET /metrics` in the Prometheus text format,
//! from the `prometheus` crate's default registry (fidogate's series, and
//! any other the process registers there), on an address of its own so it
//! is never reachable through the public listeners.

use async_trait::async_trait;
use http::{Response, StatusCode};
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use pingora::services::listening::Service;

/// The Pingora app answering the scrape.
#[derive(Debug, Clone, Copy, Default)]
pub struct MetricsApp;

#[async_trait]
impl ServeHttp for MetricsApp {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let head = session.req_header();
        let (status, content_type, body) = if head.uri.path() != "/metrics" {
            (
                StatusCode::NOT_FOUND,
                "text/plain",
                b"not found: GET /metrics\n".to_vec(),
            )
        } else if head.method != http::Method::GET && head.method != http::Method::HEAD {
            (
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain",
                b"GET /metrics\n".to_vec(),
            )
        } else {
            let (content_type, body) =
                fidogate_metrics::render(fidogate_metrics::prometheus::default_registry());
            (StatusCode::OK, content_type, body)
        };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(content_type),
        );
        let len = response.body().len();
        response
            .headers_mut()
            .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(len));
        response
    }
}

/// The metrics service listening on `addr`.
pub fn service(addr: &str) -> Service<MetricsApp> {
    let mut service = Service::new("fidogate metrics".to_owned(), MetricsApp);
    service.add_tcp(addr);
    service
}
