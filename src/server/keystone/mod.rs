//! `[api] auth_mode = keystone`: callers' `X-Auth-Token`s checked against
//! Keystone's v3 API as keystonemiddleware 13's auth_token checks them in
//! front of gnocchi-api (docs/keystone.md).
//!
//! For every path under `/v1` (gnocchi-api's paste pipeline puts
//! auth_token there only) the identity headers a client sent are dropped;
//! the user token (and a service token, if one comes with it) is looked up
//! in the cache of validated tokens, else validated by `GET
//! /v3/auth/tokens` with carbonara's own service token, which it gets
//! with the password plugin's options and renews before it expires or
//! when Keystone answers 401. A token that does not validate gets
//! keystonemiddleware's 401, an unreachable or failing Keystone its 503.
//! A valid token's user, project and roles become the request's
//! [`Caller`], exactly as Gnocchi's `KeystoneAuthHelper` reads them from
//! keystonemiddleware's headers. Calls to Keystone are blocking (ureq) and
//! run on tokio's blocking threads; a cache hit never leaves the request's
//! task.

mod config;
mod token;

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::App;
use super::auth::{AuthMode, Caller};
use super::error::{ApiError, Environ, render_webob};
use crate::diagnostics;
pub use config::{BindMode, CacheTime, ConfigError, DomainRef, KeystoneConfig, Scope, UserRef};
use token::TokenInfo;

/// keystoneauth renews a token that expires within this time.
const RENEW_BEFORE: chrono::TimeDelta = chrono::TimeDelta::seconds(120);

/// At most this many validated tokens are kept.
const CACHE_CAPACITY: usize = 10_000;

/// The headers keystonemiddleware sets for the service behind it, which a
/// client must not be able to set (its `remove_auth_headers`).
const IDENTITY_HEADERS: [&str; 31] = [
    "x-service-catalog",
    "x-identity-status",
    "x-service-identity-status",
    "x-is-admin-project",
    "x-role",
    "x-user",
    "x-tenant-id",
    "x-tenant-name",
    "x-tenant",
    "x-domain-id",
    "x-domain-name",
    "x-project-id",
    "x-project-name",
    "x-project-domain-id",
    "x-project-domain-name",
    "x-user-id",
    "x-user-name",
    "x-user-domain-id",
    "x-user-domain-name",
    "x-roles",
    "x-service-domain-id",
    "x-service-domain-name",
    "x-service-project-id",
    "x-service-project-name",
    "x-service-project-domain-id",
    "x-service-project-domain-name",
    "x-service-user-id",
    "x-service-user-name",
    "x-service-user-domain-id",
    "x-service-user-domain-name",
    "x-service-roles",
];

/// keystonemiddleware's 401 body.
const UNAUTHORIZED_BODY: &str = r#"{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}"#;

/// keystonemiddleware's 503 detail.
const UNAVAILABLE_DETAIL: &str = "The Keystone service is temporarily unavailable.";

/// The keystone authentication of a server: its configuration, its HTTP
/// client, its service token and the validated tokens.
pub struct Keystone {
    config: KeystoneConfig,
    agent: ureq::Agent,
    service: Mutex<Option<ServiceToken>>,
    cache: Mutex<HashMap<String, Cached>>,
}

#[derive(Clone)]
struct ServiceToken {
    token: String,
    expires_at: DateTime<Utc>,
}

struct Cached {
    info: Arc<TokenInfo>,
    /// `None`: until the token expires (`token_cache_time = 0`).
    until: Option<Instant>,
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No valid token: keystonemiddleware's 401.
    Unauthorized,
    /// Keystone could not say: keystonemiddleware's 503, with the reason
    /// for the server's log.
    Unavailable(String),
}

/// A token lookup's failure.
enum Fetch {
    Invalid,
    Unavailable(String),
    /// Only from the cache: the token must be validated by Keystone.
    NotCached,
}

/// A call to Keystone that did not give an answer to read.
enum CallError {
    /// Keystone refused carbonara's service credentials (keystoneauth's
    /// `Unauthorized` while authenticating): retried as a 401 is.
    Unauthorized(String),
    /// Keystone could not be reached or answered an error.
    Failed(String),
}

/// Keystone's answer.
struct Reply {
    status: u16,
    subject_token: Option<String>,
    body: String,
}

/// What a request presents.
#[derive(Debug, Clone)]
pub struct Presented {
    pub user_token: Option<String>,
    pub service_token: Option<String>,
    pub method: String,
    pub path: String,
}

impl Presented {
    /// keystonemiddleware's reading: `X-Auth-Token`, else
    /// `X-Storage-Token`; `X-Service-Token`; an empty one counts as none.
    pub fn of(headers: &HeaderMap, method: &str, path: &str) -> Presented {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned())
        };
        Presented {
            user_token: text("x-auth-token")
                .or_else(|| text("x-storage-token"))
                .filter(|t| !t.is_empty()),
            service_token: text("x-service-token").filter(|t| !t.is_empty()),
            method: method.to_owned(),
            path: path.to_owned(),
        }
    }
}

impl Keystone {
    /// Prepares the HTTP client (reading `cafile`, `certfile`, `keyfile`);
    /// Keystone is first called by the first request.
    pub fn new(config: KeystoneConfig) -> Result<Keystone, ConfigError> {
        use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};
        let read = |option: &str, path: &std::path::Path| {
            std::fs::read(path).map_err(|e| ConfigError {
                option: option.to_owned(),
                reason: format!("cannot read {}: {e}", path.display()),
            })
        };
        let pem_error = |option: &str, path: &std::path::Path, e: ureq::Error| ConfigError {
            option: option.to_owned(),
            reason: format!("{}: {e}", path.display()),
        };
        let mut tls = TlsConfig::builder().disable_verification(config.insecure);
        if let Some(path) = &config.cafile {
            let pem = read("cafile", path)?;
            let certs = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(cert)) => Some(Ok(cert)),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                })
                .collect::<Result<Vec<Certificate<'static>>, _>>()
                .map_err(|e| pem_error("cafile", path, e))?;
            if certs.is_empty() {
                return Err(ConfigError {
                    option: "cafile".to_owned(),
                    reason: format!("{}: no certificate in it", path.display()),
                });
            }
            tls = tls.root_certs(RootCerts::new_with_certs(&certs));
        }
        if let (Some(cert_path), Some(key_path)) = (&config.certfile, &config.keyfile) {
            let cert = Certificate::from_pem(&read("certfile", cert_path)?)
                .map_err(|e| pem_error("certfile", cert_path, e))?;
            let key = PrivateKey::from_pem(&read("keyfile", key_path)?)
                .map_err(|e| pem_error("keyfile", key_path, e))?;
            tls = tls.client_cert(Some(ClientCert::new_with_certs(&[cert], key)));
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(config.timeout))
            .user_agent(concat!("carbonara/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls.build())
            .build()
            .new_agent();
        Ok(Keystone {
            config,
            agent,
            service: Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
        })
    }

    pub fn config(&self) -> &KeystoneConfig {
        &self.config
    }

    /// The decision from cached tokens alone, when it needs no call to
    /// Keystone.
    pub fn authenticate_cached(&self, presented: &Presented) -> Option<Result<Caller, Refusal>> {
        match self.decide(presented, |token, _| {
            self.cached(token).ok_or(Fetch::NotCached)
        }) {
            Err(Fetch::NotCached) => None,
            Err(Fetch::Invalid) => Some(Err(Refusal::Unauthorized)),
            Err(Fetch::Unavailable(reason)) => Some(Err(Refusal::Unavailable(reason))),
            Ok(decision) => Some(decision),
        }
    }

    /// The decision, calling Keystone where the cache does not know a
    /// token (blocking).
    pub fn authenticate(&self, presented: &Presented) -> Result<Caller, Refusal> {
        match self.decide(presented, |token, allow_expired| {
            self.fetch(token, allow_expired)
        }) {
            Ok(decision) => decision,
            Err(Fetch::Unavailable(reason)) => Err(Refusal::Unavailable(reason)),
            Err(Fetch::Invalid | Fetch::NotCached) => Err(Refusal::Unauthorized),
        }
    }

    /// keystonemiddleware's `process_request`: the service token first (a
    /// valid one with a service role lets an expired user token through),
    /// then the user token; both must hold. `Err` only when a lookup
    /// could not answer.
    fn decide(
        &self,
        presented: &Presented,
        fetch: impl Fn(&str, bool) -> Result<Arc<TokenInfo>, Fetch>,
    ) -> Result<Result<Caller, Refusal>, Fetch> {
        let now = Utc::now();
        let bind = &self.config.enforce_token_bind;
        let mut allow_expired = false;
        let mut service_valid = true;
        if let Some(service_token) = &presented.service_token {
            match fetch(service_token, false) {
                Ok(info) if info.is_current(now) && info.bind_holds(bind) => {
                    let has_role = info
                        .roles
                        .iter()
                        .any(|r| self.config.service_token_roles.contains(r));
                    service_valid = has_role || !self.config.service_token_roles_required;
                    allow_expired = has_role;
                }
                Ok(_) | Err(Fetch::Invalid) => service_valid = false,
                Err(other) => return Err(other),
            }
        }
        let Some(user_token) = &presented.user_token else {
            return Ok(Err(Refusal::Unauthorized));
        };
        let info = match fetch(user_token, allow_expired) {
            Ok(info) => info,
            Err(Fetch::Invalid) => return Ok(Err(Refusal::Unauthorized)),
            Err(other) => return Err(other),
        };
        let user_valid = (allow_expired || info.is_current(now))
            && info.allows(
                self.config.service_type.as_deref(),
                &presented.method,
                &presented.path,
                presented.service_token.is_some(),
            )
            && (presented.service_token.is_some() || info.bind_holds(bind));
        if !(user_valid && service_valid) {
            return Ok(Err(Refusal::Unauthorized));
        }
        Ok(Ok(caller(&info)))
    }

    fn cached(&self, token: &str) -> Option<Arc<TokenInfo>> {
        let cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = cache.get(token)?;
        match entry.until {
            Some(until) if until <= Instant::now() => None,
            _ => Some(entry.info.clone()),
        }
    }

    fn remember(&self, token: &str, info: Arc<TokenInfo>) {
        let until = match self.config.token_cache_time {
            CacheTime::Never => return,
            CacheTime::UntilExpiry => None,
            CacheTime::For(time) => Some(Instant::now() + time),
        };
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.len() >= CACHE_CAPACITY {
            let (now, wall) = (Instant::now(), Utc::now());
            cache.retain(|_, c| c.until.is_none_or(|u| u > now) && c.info.is_current(wall));
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(token.to_owned(), Cached { info, until });
    }

    /// keystonemiddleware's `fetch_token`: the cache, else Keystone (and
    /// the answer cached).
    fn fetch(&self, token: &str, allow_expired: bool) -> Result<Arc<TokenInfo>, Fetch> {
        if let Some(info) = self.cached(token) {
            return Ok(info);
        }
        let info = Arc::new(self.verify(token, allow_expired)?);
        self.remember(token, info.clone());
        Ok(info)
    }

    /// keystonemiddleware's `IdentityServer.verify_token`: a 404 is an
    /// invalid token; a 401 (after keystoneauth renewed the service token
    /// and retried once) is retried once more, then Keystone is taken to
    /// be failing, as is any other error.
    fn verify(&self, token: &str, allow_expired: bool) -> Result<TokenInfo, Fetch> {
        let mut last = String::new();
        for _ in 0..2 {
            let reply = match self.validate(token, allow_expired) {
                Ok(reply) => reply,
                Err(CallError::Unauthorized(reason)) => {
                    last = reason;
                    continue;
                }
                Err(CallError::Failed(reason)) => return Err(Fetch::Unavailable(reason)),
            };
            match reply.status {
                200..=299 => {
                    return serde_json::from_str::<Value>(&reply.body)
                        .ok()
                        .and_then(|document| TokenInfo::parse(&document))
                        .ok_or(Fetch::Invalid);
                }
                404 => return Err(Fetch::Invalid),
                401 => {
                    last = format!(
                        "Keystone rejected carbonara's service token while validating a token: {}",
                        excerpt(&reply.body)
                    );
                }
                status => {
                    return Err(Fetch::Unavailable(format!(
                        "Keystone answered {status} while validating a token: {}",
                        excerpt(&reply.body)
                    )));
                }
            }
        }
        Err(Fetch::Unavailable(last))
    }

    /// `GET /v3/auth/tokens` with the service token, renewed and tried
    /// again once if Keystone answers 401 (keystoneauth's session).
    fn validate(&self, token: &str, allow_expired: bool) -> Result<Reply, CallError> {
        let service = self.service_token()?;
        let reply = self.get_token(&service.token, token, allow_expired)?;
        if reply.status != 401 {
            return Ok(reply);
        }
        self.invalidate(&service.token);
        let service = self.service_token()?;
        self.get_token(&service.token, token, allow_expired)
    }

    fn get_token(
        &self,
        service_token: &str,
        token: &str,
        allow_expired: bool,
    ) -> Result<Reply, CallError> {
        let mut flags = Vec::new();
        if !self.config.include_service_catalog {
            flags.push("nocatalog");
        }
        if allow_expired {
            flags.push("allow_expired=1");
        }
        let url = match flags.is_empty() {
            true => self.config.tokens_url.clone(),
            false => format!("{}?{}", self.config.tokens_url, flags.join("&")),
        };
        let mut delay = Duration::from_millis(500);
        let mut retries = self.config.max_retries;
        loop {
            let outcome = self
                .agent
                .get(&url)
                .header("Accept", "application/json")
                .header("X-Auth-Token", service_token)
                .header("X-Subject-Token", token)
                .header("OpenStack-Identity-Access-Rules", "1")
                .call();
            match outcome.and_then(read_reply) {
                Ok(reply) => return Ok(reply),
                Err(error) if retries > 0 => {
                    diagnostics::warn(&format!(
                        "carbonara serve: keystone: {url}: {error}; retrying in {} s",
                        delay.as_secs_f64()
                    ));
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(60));
                    retries -= 1;
                }
                Err(error) => {
                    return Err(CallError::Failed(format!(
                        "cannot reach Keystone at {url}: {error}"
                    )));
                }
            }
        }
    }

    /// The service token, renewed when it expires within two minutes.
    fn service_token(&self) -> Result<ServiceToken, CallError> {
        let mut current = self
            .service
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(service) = current.as_ref()
            && service.expires_at - Utc::now() > RENEW_BEFORE
        {
            return Ok(service.clone());
        }
        let service = self.authenticate_service()?;
        *current = Some(service.clone());
        Ok(service)
    }

    fn invalidate(&self, token: &str) {
        let mut current = self
            .service
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if current.as_ref().is_some_and(|s| s.token == token) {
            *current = None;
        }
    }

    /// `POST /v3/auth/tokens` with the password plugin's body.
    fn authenticate_service(&self) -> Result<ServiceToken, CallError> {
        let url = &self.config.tokens_url;
        let body = auth_body(&self.config).to_string();
        let reply = self
            .agent
            .post(url)
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .send(body.as_str())
            .and_then(read_reply)
            .map_err(|e| CallError::Failed(format!("cannot reach Keystone at {url}: {e}")))?;
        match reply.status {
            200..=299 => {}
            401 => {
                return Err(CallError::Unauthorized(format!(
                    "Keystone refused carbonara's service credentials ([keystone_authtoken] username and password): {}",
                    excerpt(&reply.body)
                )));
            }
            status => {
                return Err(CallError::Failed(format!(
                    "Keystone answered {status} to carbonara's service credentials: {}",
                    excerpt(&reply.body)
                )));
            }
        }
        let expires_at = serde_json::from_str::<Value>(&reply.body)
            .ok()
            .and_then(|document| {
                let text = document
                    .get("token")?
                    .get("expires_at")?
                    .as_str()?
                    .to_owned();
                DateTime::parse_from_rfc3339(&text).ok()
            })
            .map(|t| t.with_timezone(&Utc));
        match (reply.subject_token, expires_at) {
            (Some(token), Some(expires_at)) => Ok(ServiceToken { token, expires_at }),
            _ => Err(CallError::Failed(format!(
                "Keystone's answer to carbonara's service credentials has no token: {}",
                excerpt(&reply.body)
            ))),
        }
    }

    /// keystonemiddleware's 401: its JSON body and where to get a token.
    pub fn unauthorized(&self) -> Response {
        let mut response = (StatusCode::UNAUTHORIZED, UNAUTHORIZED_BODY).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            // webob gives no charset to JSON, whatever keystonemiddleware asks.
            HeaderValue::from_static("application/json"),
        );
        if let Ok(value) = HeaderValue::from_str(&format!(
            "Keystone uri=\"{}\"",
            self.config.www_authenticate_uri
        )) {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

fn read_reply(mut response: ureq::http::Response<ureq::Body>) -> Result<Reply, ureq::Error> {
    let status = response.status().as_u16();
    let subject_token = response
        .headers()
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut body = String::new();
    response
        .body_mut()
        .as_reader()
        .read_to_string(&mut body)
        .map_err(ureq::Error::Io)?;
    Ok(Reply {
        status,
        subject_token,
        body,
    })
}

/// The start of an answer, for a log line.
fn excerpt(body: &str) -> String {
    let mut text: String = body.chars().take(200).collect();
    if text.len() < body.len() {
        text.push('…');
    }
    text
}

/// keystoneauth's v3 password authentication body.
fn auth_body(config: &KeystoneConfig) -> Value {
    let domain = |d: &DomainRef| match d {
        DomainRef::Id(id) => json!({ "id": id }),
        DomainRef::Name(name) => json!({ "name": name }),
    };
    let user = match &config.user {
        UserRef::Id(id) => json!({ "password": config.password, "id": id }),
        UserRef::Name { name, domain: d } => {
            json!({ "password": config.password, "name": name, "domain": domain(d) })
        }
    };
    let mut auth = json!({
        "identity": { "methods": ["password"], "password": { "user": user } }
    });
    let scope = match &config.scope {
        Scope::Unscoped => None,
        Scope::Domain(d) => Some(json!({ "domain": domain(d) })),
        Scope::ProjectId(id) => Some(json!({ "project": { "id": id } })),
        Scope::ProjectName { name, domain: d } => {
            Some(json!({ "project": { "name": name, "domain": domain(d) } }))
        }
        Scope::System => Some(json!({ "system": { "all": true } })),
    };
    if let Some(scope) = scope {
        auth["scope"] = scope;
    }
    json!({ "auth": auth })
}

/// Gnocchi's `KeystoneAuthHelper` over keystonemiddleware's headers: the
/// creator `user_id:project_id` (`""` for no project), the roles.
fn caller(info: &TokenInfo) -> Caller {
    Caller {
        creator: format!(
            "{}:{}",
            info.user_id,
            info.project_id.as_deref().unwrap_or("")
        ),
        project_id: info.project_id.clone(),
        roles: info.roles.clone(),
        mode: AuthMode::Keystone,
    }
}

/// Whether gnocchi-api's pipeline has auth_token in front of a path:
/// paste's urlmap sends `/v1` and what is under it there.
fn behind_auth_token(path: &str) -> bool {
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    segments.next() == Some("v1")
}

/// The middleware: refuses the request or hands its [`Caller`] on in the
/// request's extensions.
pub async fn authenticate(
    State(app): State<Arc<App>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(keystone) = app.keystone.clone() else {
        return next.run(request).await;
    };
    if !behind_auth_token(request.uri().path()) {
        return next.run(request).await;
    }
    let headers = request.headers_mut();
    for name in IDENTITY_HEADERS {
        headers.remove(name);
    }
    let presented = Presented::of(
        request.headers(),
        request.method().as_str(),
        request.uri().path(),
    );
    let decision = match keystone.authenticate_cached(&presented) {
        Some(decision) => decision,
        None => {
            let keystone = keystone.clone();
            tokio::task::spawn_blocking(move || keystone.authenticate(&presented))
                .await
                .unwrap_or_else(|e| Err(Refusal::Unavailable(e.to_string())))
        }
    };
    match decision {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(Refusal::Unauthorized) => keystone.unauthorized(),
        Err(Refusal::Unavailable(reason)) => {
            diagnostics::warn(&format!(
                "carbonara serve: keystone: unable to validate token: {reason}"
            ));
            let environ = Environ::of(request.method(), request.headers());
            let error = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE_DETAIL);
            render_webob(&error, &environ)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_v1_api_is_behind_auth_token() {
        for path in ["/v1", "/v1/", "/v1/metric", "//v1//metric"] {
            assert!(behind_auth_token(path), "{path}");
        }
        for path in ["/", "/healthcheck", "/v10/metric", "/v1x"] {
            assert!(!behind_auth_token(path), "{path}");
        }
    }

    #[test]
    fn the_password_body_is_keystoneauths() {
        let options = [
            ("auth_type", "password"),
            ("auth_url", "http://k:5000"),
            ("username", "gnocchi"),
            ("password", "pw"),
            ("user_domain_id", "default"),
            ("project_name", "service"),
            ("project_domain_name", "Default"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let config = KeystoneConfig::from_options(&options).unwrap();
        assert_eq!(
            auth_body(&config).to_string(),
            r#"{"auth":{"identity":{"methods":["password"],"password":{"user":{"password":"pw","name":"gnocchi","domain":{"id":"default"}}}},"scope":{"project":{"name":"service","domain":{"name":"Default"}}}}}"#
        );
    }
}
