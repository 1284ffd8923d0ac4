//! Who is calling and what Gnocchi's default policy lets them do
//! (docs/gnocchi-semantics.md#authentication-and-policy, gnocchi/rest/policies.py evaluated as
//! oslo.policy does). Three modes: HTTP basic (the user name is the creator,
//! `admin` is admin), `noauth`, which trusts keystone's headers
//! (`X-User-Id`, `X-Project-Id`, `X-Roles`) as gnocchiclient's
//! `gnocchi-noauth` plugin and Grafana send them, and `keystone`, whose
//! caller comes from a validated token (keystone/), never from headers.

use axum::http::{HeaderMap, header};
use base64::Engine;

use super::error::{ApiError, ApiResult};
use crate::resource::{Resource, split_creator};
use crate::store::Metric;

/// How callers identify themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    Basic,
    Noauth,
    /// `X-Auth-Token` validated by Keystone (keystone/); the caller is
    /// the same as noauth's for the same user, project and roles.
    Keystone,
}

impl AuthMode {
    /// Whether callers are Keystone users with projects (noauth's headers
    /// or a validated token), which Gnocchi's policy reads as such.
    fn has_projects(self) -> bool {
        match self {
            AuthMode::Basic => false,
            AuthMode::Noauth | AuthMode::Keystone => true,
        }
    }
}

/// The caller: its creator string and its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// What objects it creates record as `creator` (`user` or `user:project`).
    pub creator: String,
    /// `X-Project-Id` in noauth mode, the token's project in keystone
    /// mode; basic callers have no project.
    pub project_id: Option<String>,
    pub roles: Vec<String>,
    pub mode: AuthMode,
}

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

impl Caller {
    /// Identifies the caller, or answers 401 as Gnocchi does. A keystone
    /// caller is made by keystone/'s middleware, never from headers: here
    /// it is refused.
    pub fn identify(mode: AuthMode, headers: &HeaderMap) -> ApiResult<Caller> {
        match mode {
            AuthMode::Keystone => Err(ApiError::unauthorized()),
            AuthMode::Basic => {
                let user = header_text(headers, header::AUTHORIZATION.as_str())
                    .and_then(basic_user)
                    .ok_or_else(ApiError::unauthorized)?;
                let roles = if user == "admin" {
                    vec!["admin".to_owned()]
                } else {
                    Vec::new()
                };
                Ok(Caller {
                    creator: user,
                    project_id: None,
                    roles,
                    mode,
                })
            }
            AuthMode::Noauth => {
                let user_id = header_text(headers, "x-user-id");
                let project_id = header_text(headers, "x-project-id");
                if user_id.is_none() && project_id.is_none() {
                    return Err(ApiError::unauthorized());
                }
                Ok(Caller {
                    creator: format!("{}:{}", user_id.unwrap_or(""), project_id.unwrap_or("")),
                    project_id: project_id.map(str::to_owned),
                    roles: header_text(headers, "x-roles")
                        .unwrap_or("")
                        .split(',')
                        .map(|r| r.trim().to_owned())
                        .filter(|r| !r.is_empty())
                        .collect(),
                    mode,
                })
            }
        }
    }

    fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    pub fn is_admin(&self) -> bool {
        self.has_role("admin")
    }

    fn admin_or_service(&self) -> bool {
        self.is_admin() || self.has_role("service")
    }

    /// oslo.policy's `project_id:%(x)s`: the target value as Python's
    /// `str()` (`None` too) against the caller's project; basic callers
    /// have no project at all.
    fn project_is(&self, target: Option<&str>) -> bool {
        self.mode.has_projects()
            && target.unwrap_or("None") == self.project_id.as_deref().unwrap_or("None")
    }

    /// Gnocchi's `creator` rule: the caller made it, or its project did.
    fn is_creator_of(&self, creator: &str) -> bool {
        self.creator == creator || self.project_is(Some(split_creator(creator).1))
    }

    pub fn allowed(&self, rule: Rule, target: Target<'_>) -> bool {
        let creator = || target.creator.is_some_and(|c| self.is_creator_of(c));
        let admin_or_creator = || self.is_admin() || creator();
        match rule {
            Rule::Anyone => true,
            Rule::Admin => self.is_admin(),
            Rule::AdminOrService => self.admin_or_service(),
            Rule::AdminOrCreator => admin_or_creator(),
            Rule::AdminOrServiceOrCreator => self.admin_or_service() || creator(),
            Rule::AdminOrCreatorOrResourceOwner => {
                admin_or_creator() || self.project_is(target.project_id)
            }
            Rule::AdminOrServiceOrCreatorOrResourceOwner => {
                self.admin_or_service() || creator() || self.project_is(target.project_id)
            }
            Rule::AdminOrCreatorOrMetricOwner => {
                admin_or_creator() || self.project_is(target.resource_project_id)
            }
            Rule::AdminOrServiceOrCreatorOrMetricOwner => {
                self.admin_or_service() || creator() || self.project_is(target.resource_project_id)
            }
        }
    }

    /// `enforce`: 403 unless the rule allows it.
    pub fn enforce(&self, rule: Rule, target: Target<'_>) -> ApiResult<()> {
        if self.allowed(rule, target) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// Whether listings must be cut to what the caller may see (keystone
    /// users, not admin).
    pub fn filters_lists(&self) -> bool {
        self.mode.has_projects() && !self.is_admin()
    }

    /// Whether a listing under `rule` shows the caller everything: Gnocchi
    /// checks the rule against a target without creator or project, where
    /// only roles count (a service sees every resource a search finds, not
    /// those a listing finds).
    pub fn lists_everything(&self, rule: Rule) -> bool {
        !self.filters_lists()
            || match rule {
                Rule::Anyone => true,
                Rule::AdminOrService
                | Rule::AdminOrServiceOrCreator
                | Rule::AdminOrServiceOrCreatorOrResourceOwner
                | Rule::AdminOrServiceOrCreatorOrMetricOwner => self.admin_or_service(),
                Rule::Admin
                | Rule::AdminOrCreator
                | Rule::AdminOrCreatorOrResourceOwner
                | Rule::AdminOrCreatorOrMetricOwner => self.is_admin(),
            }
    }
}

/// werkzeug's reading of `Authorization: Basic …`: the scheme in any case,
/// base64 of `user:password` (the part before the first `:`).
fn basic_user(value: &str) -> Option<String> {
    let (scheme, rest) = value.trim().split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(
        text.split_once(':')
            .map_or(text.as_str(), |(u, _)| u)
            .to_owned(),
    )
}

/// Gnocchi's default policy rules (gnocchi/rest/policies.py).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Anyone,
    Admin,
    AdminOrService,
    AdminOrCreator,
    AdminOrServiceOrCreator,
    AdminOrCreatorOrResourceOwner,
    AdminOrServiceOrCreatorOrResourceOwner,
    AdminOrCreatorOrMetricOwner,
    AdminOrServiceOrCreatorOrMetricOwner,
}

/// What a rule is checked against.
#[derive(Debug, Clone, Copy, Default)]
pub struct Target<'a> {
    pub creator: Option<&'a str>,
    /// A resource's `project_id`.
    pub project_id: Option<&'a str>,
    /// The `project_id` of a metric's resource.
    pub resource_project_id: Option<&'a str>,
}

impl<'a> Target<'a> {
    pub const NONE: Target<'static> = Target {
        creator: None,
        project_id: None,
        resource_project_id: None,
    };

    pub fn resource(resource: &'a Resource) -> Target<'a> {
        Target {
            creator: Some(&resource.creator),
            project_id: resource.project_id.as_deref(),
            resource_project_id: None,
        }
    }

    pub fn metric(metric: &'a Metric, resource_project_id: Option<&'a str>) -> Target<'a> {
        Target {
            creator: Some(&metric.creator),
            project_id: None,
            resource_project_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn basic_users_are_creators() {
        // gnocchiclient sends `basic base64("admin:")`.
        let caller = Caller::identify(
            AuthMode::Basic,
            &headers(&[("authorization", "basic YWRtaW46")]),
        )
        .unwrap();
        assert_eq!(caller.creator, "admin");
        assert!(caller.is_admin());
        let caller = Caller::identify(
            AuthMode::Basic,
            &headers(&[("authorization", "Basic Zm9vYmFy")]),
        )
        .unwrap();
        assert_eq!(caller.creator, "foobar");
        assert!(!caller.is_admin());
        for bad in ["", "Bearer abc", "Basic !!!", "Basic"] {
            let err =
                Caller::identify(AuthMode::Basic, &headers(&[("authorization", bad)])).unwrap_err();
            assert_eq!(err.status.as_u16(), 401, "{bad}");
        }
        assert!(Caller::identify(AuthMode::Basic, &HeaderMap::new()).is_err());
    }

    #[test]
    fn keystone_headers_follow_the_default_policy() {
        let caller = Caller::identify(
            AuthMode::Noauth,
            &headers(&[
                ("x-user-id", "u1"),
                ("x-project-id", "p1"),
                ("x-roles", "member"),
            ]),
        )
        .unwrap();
        assert_eq!(caller.creator, "u1:p1");
        let own = Target {
            creator: Some("u2:p1"),
            ..Target::NONE
        };
        let foreign = Target {
            creator: Some("u3:p3"),
            project_id: Some("p3"),
            ..Target::NONE
        };
        assert!(caller.allowed(Rule::AdminOrCreator, own));
        assert!(!caller.allowed(Rule::AdminOrCreator, foreign));
        let owned = Target {
            project_id: Some("p1"),
            ..foreign
        };
        assert!(caller.allowed(Rule::AdminOrCreatorOrResourceOwner, owned));
        assert!(!caller.allowed(Rule::AdminOrCreator, owned));
        assert!(!caller.allowed(Rule::AdminOrService, Target::NONE));
        let service = Caller {
            roles: vec!["service".into()],
            ..caller.clone()
        };
        assert!(service.allowed(Rule::AdminOrServiceOrCreator, foreign));
        assert!(!service.allowed(Rule::Admin, foreign));
        // A service finds every resource in searches, not in listings.
        assert!(service.lists_everything(Rule::AdminOrServiceOrCreatorOrResourceOwner));
        assert!(!service.lists_everything(Rule::AdminOrCreatorOrResourceOwner));
        assert!(!caller.lists_everything(Rule::AdminOrServiceOrCreatorOrResourceOwner));
        assert!(Caller::identify(AuthMode::Noauth, &HeaderMap::new()).is_err());
        // In keystone mode headers never identify anyone.
        let claimed = headers(&[("x-user-id", "u1"), ("x-roles", "admin")]);
        assert!(Caller::identify(AuthMode::Keystone, &claimed).is_err());
        let keystone = Caller {
            mode: AuthMode::Keystone,
            ..caller.clone()
        };
        assert!(keystone.filters_lists());
        assert!(keystone.allowed(Rule::AdminOrCreatorOrResourceOwner, owned));
        assert!(!keystone.allowed(Rule::AdminOrCreator, foreign));
    }
}
