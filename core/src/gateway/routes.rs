//! The routes the engine intercepts, built and checked from configuration.

use super::config::{ChallengeSource, ConfigError, Dialect, EndpointConfig, GatewayConfig};
use super::dialect::{Rules, rules};
use super::route::PathTemplate;
use crate::webauthn::{CoseAlgorithm, RelyingParty};
use http::Method;
use std::sync::Arc;
use std::time::Duration;

/// One configured route, as the engine uses it.
pub(in crate::gateway) struct Route {
    pub name: String,
    pub dialect: Dialect,
    pub rules: &'static dyn Rules,
    pub source: ChallengeSource,
    pub options: (Method, PathTemplate),
    pub result: (Method, PathTemplate),
    /// Where the app's answer holds an app-issued challenge.
    pub pointer: String,
    pub ttl: Duration,
    /// The relying party this route verifies for: the gateway's, with the
    /// route's own algorithm list.
    pub rp: RelyingParty,
    /// The route's own metadata policy.
    pub metadata_policy: Option<crate::metadata::MetadataPolicy>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("name", &self.name)
            .field("dialect", &self.dialect)
            .field("options", &self.options)
            .field("result", &self.result)
            .finish_non_exhaustive()
    }
}

/// Builds every route of `config` for the relying party `rp`; each
/// problem names its key.
pub(in crate::gateway) fn build(
    config: &GatewayConfig,
    rp: &RelyingParty,
) -> Result<Vec<Arc<Route>>, ConfigError> {
    let mut routes: Vec<Arc<Route>> = Vec::new();
    for (i, r) in config.routes.iter().enumerate() {
        let at = |k: &str| format!("routes[{i}].{k}");
        if r.name.is_empty() || routes.iter().any(|o| o.name == r.name) {
            return Err(ConfigError::new(at("name"), "must be set and unique"));
        }
        let dialect = rules(r.dialect);
        let endpoint = |which: &str, e: &Option<EndpointConfig>, default| {
            let (method, path) = e
                .as_ref()
                .map_or(("POST", default), |e| (e.method.as_str(), e.path.as_str()));
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
                .map_err(|_| ConfigError::new(at(&format!("{which}.method")), "not a method"))?;
            let path = PathTemplate::parse(path)
                .map_err(|e| ConfigError::new(at(&format!("{which}.path")), e.to_string()))?;
            Ok::<_, ConfigError>((method, path))
        };
        let options = endpoint("options", &r.options, dialect.options_path())?;
        let result = endpoint("result", &r.result, dialect.result_path())?;
        for (which, (_, t)) in [("options", &options), ("result", &result)] {
            let clash = routes
                .iter()
                .any(|o| o.options.1.same_shape(t) || o.result.1.same_shape(t))
                || (which == "result" && options.1.same_shape(t));
            if clash {
                return Err(ConfigError::new(
                    at(&format!("{which}.path")),
                    format!("{} is already used by another endpoint", t.as_str()),
                ));
            }
        }
        if r.dialect == Dialect::Uaf && config.uaf.app_id.is_empty() {
            return Err(ConfigError::new("uaf.app_id", "is needed by uaf routes"));
        }
        if r.challenge_ttl_secs == 0 || r.challenge_ttl_secs > 86_400 {
            return Err(ConfigError::new(
                at("challenge_ttl_secs"),
                "must be 1 to 86400",
            ));
        }
        let pointer = r
            .challenge_pointer
            .clone()
            .unwrap_or_else(|| dialect.challenge_pointer().to_owned());
        if !pointer.is_empty() && !pointer.starts_with('/') {
            return Err(ConfigError::new(
                at("challenge_pointer"),
                "a JSON pointer starts with '/'",
            ));
        }
        let mut route_rp = rp.clone();
        if let Some(ids) = &r.algorithms {
            route_rp.algorithms = algorithms(ids, &at("algorithms"))?;
        }
        routes.push(Arc::new(Route {
            name: r.name.clone(),
            dialect: r.dialect,
            rules: dialect,
            source: r.challenge_source,
            options,
            result,
            pointer,
            ttl: Duration::from_secs(r.challenge_ttl_secs),
            rp: route_rp,
            metadata_policy: r
                .metadata_policy
                .as_ref()
                .map(|p| p.policy(&at("metadata_policy")))
                .transpose()?,
        }));
    }
    Ok(routes)
}

/// A configured algorithm list (`key` names it in errors): COSE
/// identifiers the verifier supports, at least one, none twice. RS1
/// (-65535) is allowed here, and only here: a relying party that lists it
/// accepts the RS1 credential keys some Windows Hello TPMs make.
pub(in crate::gateway) fn algorithms(
    ids: &[i64],
    key: &str,
) -> Result<Vec<CoseAlgorithm>, ConfigError> {
    if ids.is_empty() {
        return Err(ConfigError::new(key, "needs at least one algorithm"));
    }
    let mut list = Vec::with_capacity(ids.len());
    for id in ids {
        let alg = CoseAlgorithm::from_id(*id).ok_or_else(|| {
            ConfigError::new(key, format!("{id} is not a supported COSE algorithm"))
        })?;
        if list.contains(&alg) {
            return Err(ConfigError::new(key, format!("{id} is listed twice")));
        }
        list.push(alg);
    }
    Ok(list)
}
