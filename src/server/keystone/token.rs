//! A Keystone v3 token document (`{"token": {…}}`, as `GET` and `POST
//! /v3/auth/tokens` answer it) read as keystoneauth's `AccessInfoV3`
//! reads it, and the checks keystonemiddleware makes of a validated token
//! on every request: its expiry, its bind, and an application
//! credential's access rules. Pure: the time is a parameter.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::config::BindMode;

/// What carbonara keeps of a validated token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub user_id: String,
    /// The project of a project-scoped token.
    pub project_id: Option<String>,
    /// The domain of a domain-scoped token.
    pub domain_id: Option<String>,
    /// Role names, in Keystone's order (keystonemiddleware's `X-Roles`).
    pub roles: Vec<String>,
    pub expires_at: DateTime<Utc>,
    /// `bind`: method → identifier.
    pub bind: Vec<(String, String)>,
    /// An application credential's access rules (`None`: unrestricted).
    pub access_rules: Option<Vec<AccessRule>>,
    /// The service types of the token's catalog (`None`: no catalog).
    pub catalog_types: Option<Vec<String>>,
}

/// One access rule of an application credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRule {
    pub method: String,
    pub path: String,
    pub service: String,
}

impl TokenInfo {
    /// Reads a token document; `None` where keystoneauth would fail to
    /// make an `AccessInfo` of it (keystonemiddleware: an invalid token).
    pub fn parse(document: &Value) -> Option<TokenInfo> {
        let token = document.get("token")?;
        let text = |value: &Value| value.as_str().map(str::to_owned);
        let user_id = text(token.get("user")?.get("id")?)?;
        let id_of = |key: &str| token.get(key).and_then(|o| o.get("id")).and_then(text);
        let expires_at = DateTime::parse_from_rfc3339(token.get("expires_at")?.as_str()?)
            .ok()?
            .with_timezone(&Utc);
        let roles = match token.get("roles") {
            None | Some(Value::Null) => Vec::new(),
            Some(roles) => roles
                .as_array()?
                .iter()
                .map(|role| role.get("name").and_then(text))
                .collect::<Option<_>>()?,
        };
        let bind = match token.get("bind") {
            Some(Value::Object(bind)) => bind
                .iter()
                .map(|(method, id)| {
                    (
                        method.clone(),
                        id.as_str().map_or_else(|| id.to_string(), str::to_owned),
                    )
                })
                .collect(),
            _ => Vec::new(),
        };
        let access_rules = match token
            .get("application_credential")
            .and_then(|c| c.get("access_rules"))
        {
            None | Some(Value::Null) => None,
            Some(rules) => Some(
                rules
                    .as_array()?
                    .iter()
                    .map(|rule| {
                        Some(AccessRule {
                            method: text(rule.get("method")?)?,
                            path: text(rule.get("path")?)?,
                            service: text(rule.get("service")?)?,
                        })
                    })
                    .collect::<Option<_>>()?,
            ),
        };
        let catalog_types = token.get("catalog").and_then(Value::as_array).map(|c| {
            c.iter()
                .filter_map(|s| s.get("type").and_then(text))
                .collect()
        });
        Some(TokenInfo {
            user_id,
            project_id: id_of("project"),
            domain_id: id_of("domain"),
            roles,
            expires_at,
            bind,
            access_rules,
            catalog_types,
        })
    }

    /// keystonemiddleware's `_validate_token`: a token expiring now or
    /// before is invalid (unless the service token allows expired ones).
    pub fn is_current(&self, now: DateTime<Utc>) -> bool {
        self.expires_at > now
    }

    /// keystonemiddleware's `_confirm_token_bind`. carbonara has no
    /// Kerberos (`AUTH_TYPE` negotiate), so a Kerberos bind never holds.
    pub fn bind_holds(&self, mode: &BindMode) -> bool {
        let permissive = matches!(mode, BindMode::Permissive | BindMode::Strict);
        match mode {
            BindMode::Disabled => return true,
            _ if self.bind.is_empty() => return permissive,
            BindMode::Named(name) if !self.bind.iter().any(|(m, _)| m == name) => return false,
            _ => {}
        }
        self.bind
            .iter()
            .all(|(method, _)| method != "kerberos" && matches!(mode, BindMode::Permissive))
    }

    /// keystonemiddleware's `validate_allowed_request`: an application
    /// credential restricted by access rules may make only the requests
    /// they list (any request, when a service token comes with it).
    pub fn allows(
        &self,
        service_type: Option<&str>,
        method: &str,
        path: &str,
        with_service_token: bool,
    ) -> bool {
        let Some(rules) = &self.access_rules else {
            return true;
        };
        let Some(service_type) = service_type else {
            return false;
        };
        if service_type == "identity" && method == "GET" && path.ends_with("/v3/auth/tokens") {
            return true;
        }
        match &self.catalog_types {
            Some(types) if types.iter().any(|t| t == service_type) => {}
            _ => return false,
        }
        with_service_token
            || rules.iter().any(|rule| {
                rule.method == method
                    && rule.service == service_type
                    && path_matches(path, &rule.path)
            })
    }
}

/// keystonemiddleware's `_path_matches`: `*` and `{tag}` stand for one
/// path segment, `**` for any run of characters.
fn path_matches(path: &str, pattern: &str) -> bool {
    fn here(path: &[u8], pattern: &[u8]) -> bool {
        match pattern {
            [] => path.is_empty(),
            [b'*', b'*', rest @ ..] => (0..=path.len()).any(|cut| here(&path[cut..], rest)),
            [b'{', ..] | [b'*', ..] => {
                let rest = match pattern[0] {
                    b'{' => match pattern.iter().position(|b| *b == b'}') {
                        Some(end) => &pattern[end + 1..],
                        // No closing brace: keystonemiddleware's regex
                        // drops the brace and matches the rest literally.
                        None => return here(path, &pattern[1..]),
                    },
                    _ => &pattern[1..],
                };
                let segment = path.iter().take_while(|b| **b != b'/').count();
                (1..=segment).any(|cut| here(&path[cut..], rest))
            }
            [b'}', rest @ ..] => here(path, rest),
            [literal, rest @ ..] => path.first() == Some(literal) && here(&path[1..], rest),
        }
    }
    here(path.as_bytes(), pattern.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(extra: Value) -> Value {
        let mut token = serde_json::json!({
            "methods": ["password"],
            "user": {"domain": {"id": "default", "name": "Default"}, "id": "u1", "name": "alice"},
            "expires_at": "2026-12-07T01:00:13.000000Z",
            "project": {"domain": {"id": "default", "name": "Default"}, "id": "p1", "name": "demo"},
            "roles": [{"id": "r1", "name": "reader"}, {"id": "r2", "name": "member"}],
            "catalog": [{"type": "metric", "endpoints": []}],
        });
        for (key, value) in extra.as_object().unwrap() {
            token[key] = value.clone();
        }
        serde_json::json!({ "token": token })
    }

    #[test]
    fn a_project_token_is_read() {
        let info = TokenInfo::parse(&document(serde_json::json!({}))).unwrap();
        assert_eq!(info.user_id, "u1");
        assert_eq!(info.project_id.as_deref(), Some("p1"));
        assert_eq!(info.domain_id, None);
        assert_eq!(info.roles, ["reader", "member"]);
        let expiry = DateTime::parse_from_rfc3339("2026-12-07T01:00:13Z").unwrap();
        assert!(info.is_current(expiry.with_timezone(&Utc) - chrono::Duration::seconds(1)));
        assert!(!info.is_current(expiry.with_timezone(&Utc)));
        assert!(info.bind_holds(&BindMode::Permissive));
        assert!(!info.bind_holds(&BindMode::Required));
        assert!(info.allows(None, "POST", "/v1/metric", false));
        assert!(TokenInfo::parse(&serde_json::json!({"token": {"user": {}}})).is_none());
        assert!(TokenInfo::parse(&document(serde_json::json!({"expires_at": "soon"}))).is_none());
    }

    #[test]
    fn binds_follow_keystonemiddleware() {
        let info =
            TokenInfo::parse(&document(serde_json::json!({"bind": {"x509": "CN=a"}}))).unwrap();
        assert!(info.bind_holds(&BindMode::Permissive));
        assert!(!info.bind_holds(&BindMode::Strict));
        assert!(!info.bind_holds(&BindMode::Named("x509".into())));
        assert!(info.bind_holds(&BindMode::Disabled));
        let kerberos = TokenInfo::parse(&document(
            serde_json::json!({"bind": {"kerberos": "alice@EXAMPLE"}}),
        ))
        .unwrap();
        assert!(!kerberos.bind_holds(&BindMode::Permissive));
    }

    #[test]
    fn access_rules_limit_an_application_credential() {
        let info = TokenInfo::parse(&document(serde_json::json!({
            "application_credential": {"id": "a", "access_rules": [
                {"method": "GET", "path": "/v1/metric/*/measures", "service": "metric"},
                {"method": "POST", "path": "/v1/batch/**", "service": "metric"},
            ]}
        })))
        .unwrap();
        let metric = Some("metric");
        assert!(info.allows(metric, "GET", "/v1/metric/abc/measures", false));
        assert!(!info.allows(metric, "GET", "/v1/metric/a/b/measures", false));
        assert!(!info.allows(metric, "POST", "/v1/metric/abc/measures", false));
        assert!(info.allows(metric, "POST", "/v1/batch/metrics/measures", false));
        assert!(info.allows(metric, "DELETE", "/v1/metric/x", true));
        assert!(!info.allows(None, "GET", "/v1/metric/abc/measures", false));
        assert!(!info.allows(Some("compute"), "GET", "/v1/metric/abc/measures", false));
        assert!(path_matches(
            "/v1/resource/generic/r1",
            "/v1/resource/{type}/{id}"
        ));
        assert!(!path_matches(
            "/v1/resource/generic",
            "/v1/resource/{type}/{id}"
        ));
    }
}
