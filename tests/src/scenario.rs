//! What a scenario is, and what a target must offer to run one.

use crate::app::Seen;
use fidogate_core::UnixTime;
use fidogate_core::b64;
use fidogate_core::gateway::CredentialClaims;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// A request as a client sends it.
#[derive(Debug, Clone)]
pub struct Req {
    /// The method.
    pub method: String,
    /// The request target, as sent (not normalised).
    pub path: String,
    /// Extra headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: ReqBody,
}

/// How the body is framed.
#[derive(Debug, Clone)]
pub enum ReqBody {
    /// With Content-Length (none when empty and the method is GET/HEAD).
    Fixed(Vec<u8>),
    /// Chunked, in these chunks.
    Chunked(Vec<Vec<u8>>),
}

impl ReqBody {
    /// All the bytes.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Self::Fixed(b) => b.clone(),
            Self::Chunked(c) => c.concat(),
        }
    }
}

impl Req {
    /// A POST with a fixed-length body.
    pub fn post(path: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            method: "POST".into(),
            path: path.into(),
            headers: Vec::new(),
            body: ReqBody::Fixed(body.into()),
        }
    }

    /// A POST of a JSON value.
    pub fn json(path: &str, v: &Value) -> Self {
        Self::post(path, v.to_string()).header("content-type", "application/json")
    }

    /// A request without a body.
    pub fn bare(method: &str, path: &str) -> Self {
        Self {
            method: method.into(),
            path: path.into(),
            headers: Vec::new(),
            body: ReqBody::Fixed(Vec::new()),
        }
    }

    /// A POST with a chunked body.
    pub fn chunked(path: &str, chunks: Vec<Vec<u8>>) -> Self {
        Self {
            method: "POST".into(),
            path: path.into(),
            headers: Vec::new(),
            body: ReqBody::Chunked(chunks),
        }
    }

    /// With one more header.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// An answer as the client receives it.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "answer body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The WebAuthn-style challenge in the answer (`/challenge`, base64url).
    pub fn challenge(&self) -> Vec<u8> {
        let j = self.json();
        let c = j["challenge"]
            .as_str()
            .unwrap_or_else(|| panic!("no challenge in {j}"));
        b64::decode(c).unwrap_or_else(|_| panic!("challenge not base64url: {c}"))
    }

    /// The UAF challenge and serverData of a RegistrationRequest envelope.
    pub fn uaf_request(&self) -> (String, String) {
        let j = self.json();
        let m = &j["message"][0];
        let text = |v: &Value| {
            v.as_str()
                .unwrap_or_else(|| panic!("no UAF request in {j}"))
                .to_owned()
        };
        (text(&m["challenge"]), text(&m["header"]["serverData"]))
    }
}

/// A gateway in front of the scenarios' app, as one adapter runs it.
#[async_trait::async_trait]
pub trait Target: Send + Sync {
    /// Sends one request, on a connection of its own.
    async fn send(&self, req: Req) -> Answer;
    /// Every request the app has received.
    fn seen(&self) -> Vec<Seen>;
    /// Moves the gateway's clock forward.
    fn advance(&self, by: Duration);
    /// The gateway's clock.
    fn now(&self) -> UnixTime;
}

/// The shape of an answer's body.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A refusal in the conformance API's ServerResponse.
    Webauthn,
    /// A refusal in the cloud authenticator's shape (with an empty token).
    Nevis,
    /// A refusal in the wallet API's error object.
    Dfns,
    /// A refusal in the UAF envelope.
    Uaf,
    /// Exactly the JSON the app wrote.
    App(Value),
    /// Not checked by shape (a step's own check looks at it).
    Any,
}

/// What the app must or must not receive during a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum App {
    /// Nothing at all.
    Untouched,
    /// Exactly one request, at this path, with the body as the client sent
    /// it; with exactly one verified-credential header that verifies with
    /// the gateway's JWKS when `verified`, with none otherwise.
    Gets {
        /// The path the app sees.
        path: &'static str,
        /// Whether it carries the gateway's header.
        verified: bool,
    },
}

/// What a step left for the later steps and its own check.
#[derive(Debug, Clone)]
pub struct Done {
    /// The request sent.
    pub req: Req,
    /// The answer.
    pub answer: Answer,
    /// The claims of the header the app received, when it received one.
    pub claims: Option<CredentialClaims>,
    /// The header the app received, as sent.
    pub token: Option<String>,
}

/// The steps done so far in a scenario.
#[derive(Debug, Default)]
pub struct Flow {
    /// In order.
    pub done: Vec<Done>,
}

impl Flow {
    /// The answer of step `i`.
    pub fn answer(&self, i: usize) -> &Answer {
        &self
            .done
            .get(i)
            .unwrap_or_else(|| panic!("no step {i} yet"))
            .answer
    }

    /// The request of step `i`.
    pub fn req(&self, i: usize) -> &Req {
        &self
            .done
            .get(i)
            .unwrap_or_else(|| panic!("no step {i} yet"))
            .req
    }
}

type MakeReq = Arc<dyn Fn(&Flow) -> Req + Send + Sync>;
type Check = Arc<dyn Fn(&Flow, &Done) -> Result<(), String> + Send + Sync>;

/// One request and what must come of it.
#[derive(Clone)]
pub struct Step {
    pub(crate) name: &'static str,
    pub(crate) request: MakeReq,
    pub(crate) status: u16,
    pub(crate) shape: Shape,
    pub(crate) contains: Option<&'static str>,
    pub(crate) app: App,
    pub(crate) check: Option<Check>,
    pub(crate) race: bool,
}

impl Step {
    /// A step sending what `request` makes from the flow so far; by
    /// default it expects 200, checks no shape, and the app untouched.
    pub fn new(name: &'static str, request: impl Fn(&Flow) -> Req + Send + Sync + 'static) -> Self {
        Self {
            name,
            request: Arc::new(request),
            status: 200,
            shape: Shape::Any,
            contains: None,
            app: App::Untouched,
            check: None,
            race: false,
        }
    }

    /// The status expected.
    #[must_use]
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// A refusal with this status, in this shape, whose message contains
    /// `contains`.
    #[must_use]
    pub fn refused(mut self, status: u16, shape: Shape, contains: &'static str) -> Self {
        self.status = status;
        self.shape = shape;
        self.contains = Some(contains);
        self
    }

    /// The body's shape.
    #[must_use]
    pub fn shape(mut self, shape: Shape) -> Self {
        self.shape = shape;
        self
    }

    /// What the app receives.
    #[must_use]
    pub fn app(mut self, app: App) -> Self {
        self.app = app;
        self
    }

    /// A check of its own, after the common ones.
    #[must_use]
    pub fn check(
        mut self,
        check: impl Fn(&Flow, &Done) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.check = Some(Arc::new(check));
        self
    }

    /// Sends the request twice at once: exactly one copy gets the expected
    /// status (and is recorded), the other is refused as a replay.
    #[must_use]
    pub fn raced(mut self) -> Self {
        self.race = true;
        self
    }
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Step")
            .field("name", &self.name)
            .field("status", &self.status)
            .field("shape", &self.shape)
            .field("app", &self.app)
            .finish_non_exhaustive()
    }
}

/// One thing a scenario does.
#[derive(Debug, Clone)]
pub enum Action {
    /// Send a request.
    Send(Step),
    /// Move the gateway's clock.
    Advance(Duration),
}

/// A named sequence of actions.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// What it shows.
    pub name: &'static str,
    /// Whether it runs against a gateway whose app is down.
    pub app_down: bool,
    /// The actions.
    pub actions: Vec<Action>,
}

/// `Err(message)` unless `cond`.
pub fn ensure(cond: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(message()) }
}
