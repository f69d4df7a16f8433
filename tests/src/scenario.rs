//! What a scenario is, what a target must offer to run one, and the runner
//! that checks every step the same way on every target.

use crate::app::Seen;
use crate::config::AUDIENCE;
use crate::{HEADER, JWKS_PATH};
use fidogate_core::UnixTime;
use fidogate_core::b64;
use fidogate_core::gateway::{CredentialClaims, verify_token};
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
    name: &'static str,
    request: MakeReq,
    status: u16,
    shape: Shape,
    contains: Option<&'static str>,
    app: App,
    check: Option<Check>,
    race: bool,
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

/// The verified-credential headers in `seen` (any spelling that folds to
/// the header's name), as sent.
fn header_copies(seen: &Seen) -> Vec<String> {
    let fold = |s: &str| s.to_ascii_lowercase().replace('_', "-");
    seen.headers
        .iter()
        .filter(|(k, _)| fold(k.as_str()) == HEADER)
        .map(|(_, v)| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect()
}

/// The header checked as the app would: with the JWKS the gateway serves.
async fn verify_header(target: &dyn Target, token: &str) -> Result<CredentialClaims, String> {
    let jwks = target.send(Req::bare("GET", JWKS_PATH)).await;
    if jwks.status != 200 {
        return Err(format!("JWKS answered {}", jwks.status));
    }
    let set = serde_json::from_slice(&jwks.body).map_err(|e| format!("JWKS: {e}"))?;
    verify_token(token, &set, "fidogate", AUDIENCE, target.now(), 5).map_err(|e| e.to_string())
}

fn check_shape(shape: &Shape, answer: &Answer, contains: Option<&str>) -> Result<(), String> {
    let message = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let (j, text) = match shape {
        Shape::Any => return Ok(()),
        Shape::App(v) => {
            let got = answer.json();
            return if &got == v {
                Ok(())
            } else {
                Err(format!("expected the app's answer {v}, got {got}"))
            };
        }
        Shape::Webauthn => {
            let j = answer.json();
            let ok = j.as_object().is_some_and(|o| o.len() == 2) && j["status"] == "failed";
            let text = message(&j["errorMessage"]);
            (ok.then_some(j), text)
        }
        Shape::Nevis => {
            let j = answer.json();
            let ok = j.as_object().is_some_and(|o| o.len() == 3)
                && j["status"] == "failed"
                && j["token"] == "";
            let text = message(&j["errorMessage"]);
            (ok.then_some(j), text)
        }
        Shape::Dfns => {
            let j = answer.json();
            let e = &j["error"];
            let ok = j.as_object().is_some_and(|o| o.len() == 1)
                && e["httpStatus"] == answer.status
                && e["name"].as_str().is_some_and(|n| n.ends_with("Error"))
                && e["reason"].as_str().is_some_and(|r| !r.is_empty());
            let text = message(&e["message"]);
            (ok.then_some(j), text)
        }
        Shape::Uaf => {
            let j = answer.json();
            let ok = j.as_object().is_some_and(|o| o.len() == 2) && j["code"] == answer.status;
            let text = message(&j["message"]);
            (ok.then_some(j), text)
        }
    };
    if j.is_none() {
        return Err(format!(
            "not a {shape:?} refusal: {}",
            String::from_utf8_lossy(&answer.body)
        ));
    }
    if text.is_empty() {
        return Err("the refusal has no message".into());
    }
    match contains {
        Some(want) if !text.contains(want) => {
            Err(format!("the message {text:?} does not mention {want:?}"))
        }
        _ => Ok(()),
    }
}

async fn run_step(target: &dyn Target, flow: &Flow, step: &Step) -> Result<Done, String> {
    let req = (step.request)(flow);
    let before = target.seen().len();
    let answer = if step.race {
        let (a, b) = tokio::join!(target.send(req.clone()), target.send(req.clone()));
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        let mut want = [step.status, 403];
        want.sort_unstable();
        if statuses != want {
            return Err(format!(
                "two submissions at once answered {statuses:?}, expected {want:?}"
            ));
        }
        if a.status == step.status { a } else { b }
    } else {
        target.send(req.clone()).await
    };
    if answer.status != step.status {
        return Err(format!(
            "status {} (expected {}): {}",
            answer.status,
            step.status,
            String::from_utf8_lossy(&answer.body)
        ));
    }
    if answer.status >= 400 || matches!(step.shape, Shape::App(_)) {
        check_shape(&step.shape, &answer, step.contains)?;
    }
    let seen: Vec<Seen> = target.seen().into_iter().skip(before).collect();
    let (mut claims, mut token) = (None, None);
    match &step.app {
        App::Untouched => {
            if !seen.is_empty() {
                let paths: Vec<_> = seen.iter().map(|s| s.path.as_str()).collect();
                return Err(format!("the app received {paths:?}"));
            }
        }
        App::Gets { path, verified } => {
            let [one] = seen.as_slice() else {
                let paths: Vec<_> = seen.iter().map(|s| s.path.as_str()).collect();
                return Err(format!(
                    "the app received {paths:?}, expected one request at {path}"
                ));
            };
            if one.path != *path {
                return Err(format!("the app received {}, expected {path}", one.path));
            }
            if one.body != req.body.bytes() {
                return Err("the body reached the app changed".into());
            }
            let copies = header_copies(one);
            match (verified, copies.as_slice()) {
                (true, [t]) => {
                    claims = Some(verify_header(target, t).await?);
                    token = Some(t.clone());
                }
                (false, []) => {}
                _ => {
                    return Err(format!(
                        "the app received {} verified-credential headers",
                        copies.len()
                    ));
                }
            }
        }
    }
    let done = Done {
        req,
        answer,
        claims,
        token,
    };
    if let Some(check) = &step.check {
        check(flow, &done)?;
    }
    Ok(done)
}

/// Runs every scenario on `up` (or, for those whose app is down, on
/// `down`), and panics naming each scenario and step that failed.
pub async fn run_all(up: &dyn Target, down: &dyn Target, scenarios: &[Scenario]) {
    let mut failures = Vec::new();
    let mut steps = 0;
    for s in scenarios {
        let target = if s.app_down { down } else { up };
        let mut flow = Flow::default();
        for (i, action) in s.actions.iter().enumerate() {
            match action {
                Action::Advance(by) => target.advance(*by),
                Action::Send(step) => match run_step(target, &flow, step).await {
                    Ok(done) => {
                        steps += 1;
                        flow.done.push(done);
                    }
                    Err(e) => {
                        failures.push(format!("{} / step {i} ({}): {e}", s.name, step.name));
                        break;
                    }
                },
            }
        }
    }
    eprintln!(
        "{} scenarios, {steps} steps passed, {} failed",
        scenarios.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed:\n{}",
        failures.len(),
        scenarios.len(),
        failures.join("\n")
    );
}

/// `Err(message)` unless `cond`.
pub fn ensure(cond: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(message()) }
}
