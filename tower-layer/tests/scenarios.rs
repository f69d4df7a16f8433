#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]
//! The scenario table against the tower Layer, with `oneshot` (no
//! sockets): the same app as a tower service, the same configuration,
//! the clock a [`ManualSource`] the scenarios move.

use bytes::Bytes;
use fidogate_core::UnixTime;
use fidogate_core::gateway::{
    ChallengeStore, Gateway, GatewayKeys, ManualSource, MokaChallengeStore, Source, TokenSigner,
};
use fidogate_core::trust::TrustAnchors;
use fidogate_testkit::keys::{SigningKey, alg};
use fidogate_tests::app::{AppLog, Seen, router};
use fidogate_tests::config::gateway_config;
use fidogate_tests::runner::run_all;
use fidogate_tests::scenario::{Answer, Req, ReqBody, Target};
use fidogate_tests::table::scenarios;
use fidogate_tower::{BoxError, FidogateBody, FidogateLayer};
use http::{Request, Response};
use http_body::{Body, Frame};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tower::util::BoxCloneSyncService;
use tower::{ServiceBuilder, ServiceExt};

type ReqB = BoxBody<Bytes, BoxError>;
type Svc = BoxCloneSyncService<Request<ReqB>, Response<FidogateBody<axum::body::Body>>, BoxError>;

/// A body sent in chunks, with no length known in advance.
struct Chunks(VecDeque<Bytes>);

impl Body for Chunks {
    type Data = Bytes;
    type Error = BoxError;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Poll::Ready(self.0.pop_front().map(|c| Ok(Frame::data(c))))
    }
}

type Called = Pin<
    Box<dyn Future<Output = Result<Response<FidogateBody<axum::body::Body>>, BoxError>> + Send>,
>;

/// The service's future, boxed apart from the async trait method (whose
/// `Send` proof does not see through the boxed service otherwise).
fn call(svc: Svc, req: Request<ReqB>) -> Called {
    Box::pin(svc.oneshot(req))
}

struct Layered {
    svc: Svc,
    log: AppLog,
    clock: Arc<ManualSource>,
}

fn gateway(
    store: Option<Arc<dyn ChallengeStore>>,
    metrics: Option<&prometheus::Registry>,
) -> Gateway {
    let keys = GatewayKeys {
        signer: TokenSigner::from_pkcs8_der(&SigningKey::generate(alg::ES256, 99).pkcs8_der())
            .unwrap(),
        retired: vec![],
        secret: vec![9; 32],
        previous_secrets: vec![],
    };
    let config = gateway_config();
    let store =
        store.unwrap_or_else(|| Arc::new(MokaChallengeStore::new(config.challenge_capacity)));
    let gateway = Gateway::new(config, keys, TrustAnchors::new(), store).unwrap();
    match metrics {
        Some(registry) => {
            gateway.with_observer(Arc::new(fidogate_metrics::Metrics::new(registry).unwrap()))
        }
        None => gateway,
    }
}

impl Layered {
    fn new(app_down: bool, store: Option<Arc<dyn ChallengeStore>>) -> Self {
        Self::observed(app_down, store, None)
    }

    fn observed(
        app_down: bool,
        store: Option<Arc<dyn ChallengeStore>>,
        metrics: Option<&prometheus::Registry>,
    ) -> Self {
        let clock = Arc::new(ManualSource::new(UnixTime::from_system(
            std::time::SystemTime::now(),
        )));
        let log = AppLog::default();
        let layer = FidogateLayer::new(gateway(store, metrics))
            .with_source(clock.clone() as Arc<dyn Source>);
        let svc = if app_down {
            let down = tower::service_fn(|_: Request<FidogateBody<ReqB>>| async {
                Err::<Response<axum::body::Body>, BoxError>("connection refused".into())
            });
            BoxCloneSyncService::new(ServiceBuilder::new().layer(layer).service(down))
        } else {
            let app = ServiceExt::<Request<FidogateBody<ReqB>>>::map_err(
                router(log.clone()),
                |e: std::convert::Infallible| -> BoxError { match e {} },
            );
            BoxCloneSyncService::new(ServiceBuilder::new().layer(layer).service(app))
        };
        Self { svc, log, clock }
    }
}

#[async_trait::async_trait]
impl Target for Layered {
    async fn send(&self, req: Req) -> Answer {
        let mut builder = Request::builder()
            .method(req.method.as_str())
            .uri(&req.path);
        for (k, v) in &req.headers {
            builder = builder.header(k, v);
        }
        let body: ReqB = match req.body {
            ReqBody::Fixed(b) => {
                if !b.is_empty() || !matches!(req.method.as_str(), "GET" | "HEAD") {
                    builder = builder.header("content-length", b.len());
                }
                Full::new(Bytes::from(b)).map_err(|e| match e {}).boxed()
            }
            ReqBody::Chunked(c) => Chunks(c.into_iter().map(Bytes::from).collect()).boxed(),
        };
        let res = call(self.svc.clone(), builder.body(body).unwrap())
            .await
            .unwrap_or_else(|e| panic!("the layer failed: {e}"));
        let (parts, body) = res.into_parts();
        Answer {
            status: parts.status.as_u16(),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                .collect(),
            body: body.collect().await.unwrap().to_bytes().to_vec(),
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.log.seen()
    }

    fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    fn now(&self) -> UnixTime {
        self.clock.env().unwrap().now
    }
}

#[tokio::test]
async fn the_scenario_table_through_the_layer() {
    run_all(
        &Layered::new(false, None),
        &Layered::new(true, None),
        &scenarios(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scenario_table_through_the_layer_with_redis() {
    if !fidogate_tests::redis::available() {
        return;
    }
    let redis = fidogate_tests::redis::RedisServer::start();
    let store = |prefix: &'static str| {
        let url = redis.url();
        async move {
            let s = fidogate_redis::RedisChallengeStore::connect(
                &url,
                prefix,
                Duration::from_millis(500),
                tokio::runtime::Handle::current(),
            )
            .await
            .unwrap();
            Arc::new(s) as Arc<dyn ChallengeStore>
        }
    };
    let up = Layered::new(false, Some(store("up:").await));
    let down = Layered::new(true, Some(store("down:").await));
    run_all(&up, &down, &scenarios()).await;
}

#[tokio::test]
async fn metrics_move_by_exactly_what_was_sent_through_the_layer() {
    use fidogate_tests::metrics::{assert_moved, known_sequence};
    let registry = prometheus::Registry::new();
    let target = Layered::observed(false, None, Some(&registry));
    let scrape = || String::from_utf8(fidogate_metrics::render(&registry).1).unwrap();
    let before = scrape();
    let want = known_sequence(&target).await;
    assert_moved(&before, &scrape(), &want);
}
