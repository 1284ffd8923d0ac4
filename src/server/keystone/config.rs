//! `[keystone_authtoken]` read as keystonemiddleware 13's auth_token and
//! keystoneauth's `password` plugin read it: every option they define is
//! either honoured, or accepted with a note saying what carbonara does
//! instead, or refused with the reason. An option neither knows is refused
//! too (oslo.config would ignore it, which hides typos). Nothing here
//! touches the network or reads a file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A `[keystone_authtoken]` option carbonara cannot run with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[keystone_authtoken] {option}: {reason}")]
pub struct ConfigError {
    pub option: String,
    pub reason: String,
}

fn refuse(option: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        option: option.to_owned(),
        reason: reason.into(),
    }
}

/// A domain named by id or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainRef {
    Id(String),
    Name(String),
}

/// The service user: by id, or by name within a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    Id(String),
    Name { name: String, domain: DomainRef },
}

/// What the service token is scoped to (keystoneauth's order of
/// preference: domain, project, system; none gives an unscoped token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Unscoped,
    Domain(DomainRef),
    ProjectId(String),
    ProjectName { name: String, domain: DomainRef },
    System,
}

/// How long a validated token is kept (`token_cache_time`, read as
/// keystonemiddleware's in-process cache reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheTime {
    /// A negative time: nothing is kept.
    Never,
    /// `0`: kept until the token itself expires.
    UntilExpiry,
    For(Duration),
}

/// `enforce_token_bind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindMode {
    Disabled,
    Permissive,
    Strict,
    Required,
    /// A bind method every token must carry (`kerberos`, or any name).
    Named(String),
}

/// The keystone authentication of `serve`: how carbonara gets its
/// service token and checks its callers' tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct KeystoneConfig {
    /// `auth_url` as written.
    pub auth_url: String,
    /// Where tokens are made and validated: `auth_url`'s v3 API +
    /// `/auth/tokens`.
    pub tokens_url: String,
    /// What a 401 names in `WWW-Authenticate: Keystone uri="…"`
    /// (`www_authenticate_uri`, else `auth_uri`, else `auth_url`).
    pub www_authenticate_uri: String,
    pub user: UserRef,
    pub password: String,
    pub scope: Scope,
    pub token_cache_time: CacheTime,
    /// `http_connect_timeout`: each call to Keystone; carbonara's default
    /// is 60 s where keystonemiddleware waits forever.
    pub timeout: Duration,
    /// `http_request_max_retries`: reconnections when Keystone cannot be
    /// reached while validating a token (0.5 s, then doubling).
    pub max_retries: u32,
    pub cafile: Option<PathBuf>,
    pub certfile: Option<PathBuf>,
    pub keyfile: Option<PathBuf>,
    pub insecure: bool,
    /// Without it, validations ask for `?nocatalog`.
    pub include_service_catalog: bool,
    pub service_token_roles: Vec<String>,
    pub service_token_roles_required: bool,
    /// `service_type`, which application credentials' access rules name.
    pub service_type: Option<String>,
    pub enforce_token_bind: BindMode,
    /// Options accepted whose effect differs in carbonara, for the
    /// operator to read (the command line prints them).
    pub notes: Vec<String>,
}

impl fmt::Debug for KeystoneConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeystoneConfig")
            .field("auth_url", &self.auth_url)
            .field("user", &self.user)
            .field("password", &"***")
            .field("scope", &self.scope)
            .field("token_cache_time", &self.token_cache_time)
            .finish_non_exhaustive()
    }
}

/// keystonemiddleware's options that only tune its memcached client:
/// carbonara keeps validated tokens in its own memory.
const MEMCACHE: [&str; 18] = [
    "memcached_servers",
    "memcache_servers",
    "memcache_security_strategy",
    "memcache_secret_key",
    "memcache_pool_dead_retry",
    "memcache_pool_maxsize",
    "memcache_pool_socket_timeout",
    "memcache_pool_unused_timeout",
    "memcache_pool_conn_get_timeout",
    "memcache_use_advanced_pool",
    "memcache_sasl_enabled",
    "memcache_username",
    "memcache_password",
    "memcache_tls_enabled",
    "memcache_tls_cafile",
    "memcache_tls_certfile",
    "memcache_tls_keyfile",
    "memcache_tls_allowed_ciphers",
];

/// Options of older keystonemiddleware releases that version 13 no longer
/// reads (and ignores in a file): carbonara ignores them too, with a note.
const REMOVED: [&str; 13] = [
    "admin_password",
    "admin_tenant_name",
    "admin_token",
    "admin_user",
    "auth_admin_prefix",
    "auth_host",
    "auth_port",
    "auth_protocol",
    "check_revocations_for_cached",
    "hash_algorithms",
    "identity_uri",
    "revocation_cache_time",
    "signing_dir",
];

/// The password plugin's options and auth_token's, by what carbonara
/// does with them.
const HONOURED: [&str; 32] = [
    "auth_type",
    "auth_plugin",
    "auth_url",
    "user_id",
    "username",
    "user_name",
    "password",
    "user_domain_id",
    "user_domain_name",
    "project_id",
    "project_name",
    "project_domain_id",
    "project_domain_name",
    "domain_id",
    "domain_name",
    "system_scope",
    "default_domain_id",
    "default_domain_name",
    "www_authenticate_uri",
    "auth_uri",
    "auth_version",
    "delay_auth_decision",
    "http_connect_timeout",
    "http_request_max_retries",
    "token_cache_time",
    "cafile",
    "certfile",
    "keyfile",
    "insecure",
    "include_service_catalog",
    "enforce_token_bind",
    "service_type",
];

impl KeystoneConfig {
    /// Reads `[keystone_authtoken]` (option → value, as written in the
    /// file after substitution).
    pub fn from_options(options: &BTreeMap<String, String>) -> Result<KeystoneConfig, ConfigError> {
        let mut notes = Vec::new();
        for (option, value) in options {
            let name = option.as_str();
            if HONOURED.contains(&name)
                || matches!(name, "service_token_roles" | "service_token_roles_required")
            {
                continue;
            }
            if MEMCACHE.contains(&name) {
                if notes.iter().all(|n: &String| !n.starts_with("memcache")) {
                    notes.push(format!(
                        "{name}: validated tokens are cached in carbonara's own memory, not in memcached"
                    ));
                }
                continue;
            }
            if REMOVED.contains(&name) {
                notes.push(format!(
                    "{name}: ignored, as keystonemiddleware 13 ignores it (an option of older releases)"
                ));
                continue;
            }
            match name {
                "interface" | "region_name" => notes.push(format!(
                    "{name} = {value}: carbonara validates tokens at auth_url's v3 API rather than at the catalog's identity endpoint"
                )),
                "cache" => notes.push(format!(
                    "cache = {value}: Swift's shared cache does not exist here; validated tokens are cached in carbonara's own memory"
                )),
                "auth_section" => {
                    return Err(refuse(
                        name,
                        "carbonara reads the password plugin's options from [keystone_authtoken] itself; move them there",
                    ));
                }
                "trust_id" => {
                    return Err(refuse(
                        name,
                        "trust-scoped service tokens are not supported",
                    ));
                }
                _ => {
                    return Err(refuse(
                        name,
                        "not an option of keystonemiddleware's auth_token or of the password plugin",
                    ));
                }
            }
        }
        let get = |name: &str| {
            options
                .get(name)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
        };

        let plugin_option = if options.contains_key("auth_type") {
            "auth_type"
        } else {
            "auth_plugin"
        };
        match get(plugin_option) {
            Some("password" | "v3password") => {}
            Some(other) => {
                return Err(refuse(
                    plugin_option,
                    format!(
                        "the {other} plugin is not supported; carbonara gets its service token with the password plugin (auth_type = password)"
                    ),
                ));
            }
            None => {
                return Err(refuse(
                    "auth_type",
                    "not set: carbonara gets its service token with the password plugin (auth_type = password)",
                ));
            }
        }
        let auth_url = get("auth_url")
            .ok_or_else(|| {
                refuse(
                    "auth_url",
                    "not set: the Keystone carbonara authenticates at",
                )
            })?
            .to_owned();
        let tokens_url = tokens_url(&auth_url)?;
        let www_authenticate_uri = get("www_authenticate_uri")
            .or_else(|| get("auth_uri"))
            .unwrap_or(&auth_url)
            .to_owned();

        let default_domain = get("default_domain_id")
            .map(|id| DomainRef::Id(id.to_owned()))
            .or_else(|| get("default_domain_name").map(|n| DomainRef::Name(n.to_owned())));
        let domain_of = |id: &str, name: &str| {
            get(id)
                .map(|v| DomainRef::Id(v.to_owned()))
                .or_else(|| get(name).map(|v| DomainRef::Name(v.to_owned())))
                .or_else(|| default_domain.clone())
        };
        let user = match (get("user_id"), get("username").or_else(|| get("user_name"))) {
            (Some(id), _) => UserRef::Id(id.to_owned()),
            (None, Some(name)) => UserRef::Name {
                name: name.to_owned(),
                domain: domain_of("user_domain_id", "user_domain_name").ok_or_else(|| {
                    refuse(
                        "username",
                        "needs user_domain_name or user_domain_id (Keystone v3 finds users by name within a domain)",
                    )
                })?,
            },
            (None, None) => {
                return Err(refuse(
                    "username",
                    "not set (nor user_id): the service user carbonara authenticates as",
                ));
            }
        };
        let password = options
            .get("password")
            .filter(|p| !p.is_empty())
            .ok_or_else(|| refuse("password", "not set: the service user's password"))?
            .clone();

        let domain_scope = get("domain_id")
            .map(|id| DomainRef::Id(id.to_owned()))
            .or_else(|| get("domain_name").map(|n| DomainRef::Name(n.to_owned())));
        let project = get("project_id").or_else(|| get("project_name"));
        let system = get("system_scope");
        let scopes = [domain_scope.is_some(), project.is_some(), system.is_some()];
        if scopes.iter().filter(|s| **s).count() > 1 {
            return Err(refuse(
                "project_name",
                "the service token can be scoped to one of a project, a domain or the system, not several",
            ));
        }
        let scope = if let Some(domain) = domain_scope {
            Scope::Domain(domain)
        } else if let Some(id) = get("project_id") {
            Scope::ProjectId(id.to_owned())
        } else if let Some(name) = get("project_name") {
            Scope::ProjectName {
                name: name.to_owned(),
                domain: domain_of("project_domain_id", "project_domain_name").ok_or_else(|| {
                    refuse(
                        "project_name",
                        "needs project_domain_name or project_domain_id (Keystone v3 finds projects by name within a domain)",
                    )
                })?,
            }
        } else if let Some(system) = system {
            if system != "all" {
                return Err(refuse(
                    "system_scope",
                    format!("{system}: only `all` is supported, as in keystoneauth"),
                ));
            }
            Scope::System
        } else {
            Scope::Unscoped
        };

        if bool_option(options, "delay_auth_decision", false)? {
            return Err(refuse(
                "delay_auth_decision",
                "true is not supported: carbonara refuses a request without a valid token itself, as keystonemiddleware does by default",
            ));
        }
        let token_cache_time = match int_option(options, "token_cache_time", 300)? {
            t if t < 0 => CacheTime::Never,
            0 => CacheTime::UntilExpiry,
            t => CacheTime::For(Duration::from_secs(t.unsigned_abs())),
        };
        let timeout = match get("http_connect_timeout") {
            None => Duration::from_secs(60),
            Some(_) => {
                let seconds = int_option(options, "http_connect_timeout", 60)?;
                if seconds <= 0 {
                    return Err(refuse(
                        "http_connect_timeout",
                        "must be a positive number of seconds",
                    ));
                }
                Duration::from_secs(seconds.unsigned_abs())
            }
        };
        let max_retries = u32::try_from(int_option(options, "http_request_max_retries", 3)?)
            .map_err(|_| refuse("http_request_max_retries", "must be 0 or more"))?;
        let path = |name: &str| get(name).map(PathBuf::from);
        let (certfile, keyfile) = (path("certfile"), path("keyfile"));
        if certfile.is_some() != keyfile.is_some() {
            return Err(refuse(
                if certfile.is_some() {
                    "keyfile"
                } else {
                    "certfile"
                },
                "a client certificate needs both certfile and keyfile",
            ));
        }
        let enforce_token_bind = match get("enforce_token_bind").unwrap_or("permissive") {
            "disabled" => BindMode::Disabled,
            "permissive" => BindMode::Permissive,
            "strict" => BindMode::Strict,
            "required" => BindMode::Required,
            named => BindMode::Named(named.to_owned()),
        };
        Ok(KeystoneConfig {
            auth_url,
            tokens_url,
            www_authenticate_uri,
            user,
            password,
            scope,
            token_cache_time,
            timeout,
            max_retries,
            cafile: path("cafile"),
            certfile,
            keyfile,
            insecure: bool_option(options, "insecure", false)?,
            include_service_catalog: bool_option(options, "include_service_catalog", true)?,
            service_token_roles: match options.get("service_token_roles") {
                None => vec!["service".to_owned()],
                Some(list) => list
                    .split(',')
                    .map(|r| r.trim().to_owned())
                    .filter(|r| !r.is_empty())
                    .collect(),
            },
            service_token_roles_required: bool_option(
                options,
                "service_token_roles_required",
                true,
            )?,
            service_type: get("service_type").map(str::to_owned),
            enforce_token_bind,
            notes,
        })
    }
}

/// keystoneauth's v3 token URL: `auth_url` + `/v3/auth/tokens`, or
/// `/auth/tokens` when `auth_url` is the v3 API already.
fn tokens_url(auth_url: &str) -> Result<String, ConfigError> {
    let base = auth_url.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(refuse(
            "auth_url",
            format!("{auth_url}: not an http:// or https:// URL"),
        ));
    }
    let path = base
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map_or("", |(_, path)| path);
    if path.to_ascii_lowercase().starts_with("v2.0") || base.ends_with("/v2.0") {
        return Err(refuse(
            "auth_url",
            format!("{auth_url}: a Keystone v2.0 URL; carbonara speaks Keystone's v3 API"),
        ));
    }
    Ok(if base.ends_with("/v3") {
        format!("{base}/auth/tokens")
    } else {
        format!("{base}/v3/auth/tokens")
    })
}

/// oslo.config's `BoolOpt`.
fn bool_option(
    options: &BTreeMap<String, String>,
    name: &str,
    default: bool,
) -> Result<bool, ConfigError> {
    match options.get(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) => match v.as_str() {
            "true" | "1" | "on" | "yes" => Ok(true),
            "false" | "0" | "off" | "no" => Ok(false),
            _ => Err(refuse(name, format!("{v}: not a boolean"))),
        },
    }
}

/// oslo.config's `IntOpt`.
fn int_option(
    options: &BTreeMap<String, String>,
    name: &str,
    default: i64,
) -> Result<i64, ConfigError> {
    match options.get(name).map(|v| v.trim()) {
        None | Some("") => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| refuse(name, format!("{v}: not an integer"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// What devstack writes into gnocchi.conf.
    const DEVSTACK: [(&str, &str); 11] = [
        ("auth_type", "password"),
        ("auth_url", "http://10.0.0.5/identity"),
        ("username", "gnocchi"),
        ("password", "secret"),
        ("user_domain_name", "Default"),
        ("project_name", "service"),
        ("project_domain_name", "Default"),
        ("www_authenticate_uri", "http://10.0.0.5/identity"),
        ("interface", "public"),
        ("memcached_servers", "localhost:11211"),
        ("cafile", "/opt/stack/data/ca-bundle.pem"),
    ];

    #[test]
    fn a_devstack_section_is_read_with_notes() {
        let config = KeystoneConfig::from_options(&options(&DEVSTACK)).unwrap();
        assert_eq!(config.tokens_url, "http://10.0.0.5/identity/v3/auth/tokens");
        assert_eq!(
            config.user,
            UserRef::Name {
                name: "gnocchi".into(),
                domain: DomainRef::Name("Default".into())
            }
        );
        assert_eq!(
            config.scope,
            Scope::ProjectName {
                name: "service".into(),
                domain: DomainRef::Name("Default".into())
            }
        );
        assert_eq!(
            config.token_cache_time,
            CacheTime::For(Duration::from_secs(300))
        );
        assert_eq!(config.max_retries, 3);
        assert_eq!(config.service_token_roles, ["service"]);
        assert_eq!(config.notes.len(), 2, "{:?}", config.notes);
        assert!(config.notes[0].starts_with("interface = public"));
        assert!(config.notes[1].starts_with("memcached_servers"));
        assert!(!format!("{config:?}").contains("secret"));
    }

    #[test]
    fn urls_and_defaults_follow_keystoneauth() {
        let mut base = options(&DEVSTACK);
        base.insert("auth_url".into(), "https://keystone:5000/v3/".into());
        base.remove("www_authenticate_uri");
        base.remove("user_domain_name");
        base.remove("project_domain_name");
        base.insert("default_domain_id".into(), "default".into());
        base.insert("token_cache_time".into(), "-1".into());
        let config = KeystoneConfig::from_options(&base).unwrap();
        assert_eq!(config.tokens_url, "https://keystone:5000/v3/auth/tokens");
        assert_eq!(config.www_authenticate_uri, "https://keystone:5000/v3/");
        assert_eq!(
            config.user,
            UserRef::Name {
                name: "gnocchi".into(),
                domain: DomainRef::Id("default".into())
            }
        );
        assert_eq!(config.token_cache_time, CacheTime::Never);
    }

    #[test]
    fn what_cannot_work_is_refused_by_name() {
        let cases: [(&[(&str, &str)], &str); 8] = [
            (&[("auth_type", "v3token")], "auth_type"),
            (&[("auth_section", "service_user")], "auth_section"),
            (&[("delay_auth_decision", "True")], "delay_auth_decision"),
            (&[("auth_url", "http://k:5000/v2.0")], "auth_url"),
            (&[("token_cache_time", "5m")], "token_cache_time"),
            (&[("domain_name", "Default")], "project_name"),
            (&[("signing_dirr", "/tmp")], "signing_dirr"),
            (&[("certfile", "/etc/cert.pem")], "keyfile"),
        ];
        for (changes, option) in cases {
            let mut section = options(&DEVSTACK);
            for (k, v) in changes {
                section.insert((*k).to_owned(), (*v).to_owned());
            }
            let error = KeystoneConfig::from_options(&section).unwrap_err();
            assert_eq!(error.option, option, "{error}");
        }
        let mut section = options(&DEVSTACK);
        section.remove("user_domain_name");
        let error = KeystoneConfig::from_options(&section).unwrap_err();
        assert_eq!(
            error.to_string(),
            "[keystone_authtoken] username: needs user_domain_name or user_domain_id (Keystone v3 finds users by name within a domain)"
        );
        section.remove("password");
        assert_eq!(
            KeystoneConfig::from_options(&section).unwrap_err().option,
            "username"
        );
    }
}
