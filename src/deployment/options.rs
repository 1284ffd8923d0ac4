//! The options Gnocchi 4.7.1 registers with oslo.config (`gnocchi/opts.py:
//! list_opts` and the driver modules it gathers), with their types,
//! defaults and deprecated names, as Gnocchi itself declares them. This is
//! Gnocchi's truth only: which of them carbonara honours, ignores or
//! refuses is decided in `deployment/mod.rs`.
//!
//! `[incoming]` holds a copy of `[storage]`'s options whose defaults are
//! `${storage.<name>}` (`_INCOMING_OPTS`), so an unset incoming option
//! takes the storage one's value.

/// How oslo.config converts and checks a value (`oslo_config/types.py`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Str,
    /// A string among these (`StrOpt(choices=…)`).
    Choice(&'static [&'static str]),
    /// `IntOpt` (and `PortOpt`, 0 to 65535) with its bounds.
    Int {
        min: Option<i64>,
        max: Option<i64>,
    },
    Bool,
    Float {
        min: Option<f64>,
    },
    /// `ListOpt`: comma-separated strings.
    List,
    /// `Opt(type=uuid.UUID)`.
    Uuid,
    /// `HostAddressOpt`: an IP address or a host name.
    Host,
}

const PORT: Kind = Kind::Int {
    min: Some(0),
    max: Some(65_535),
};
const INT: Kind = Kind::Int {
    min: None,
    max: None,
};
const fn int_min(min: i64) -> Kind {
    Kind::Int {
        min: Some(min),
        max: None,
    }
}

/// Where an unset option's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    None,
    /// A text, substituted and converted as a value from the file is.
    Text(&'static str),
    /// An environment variable read when Gnocchi starts
    /// (`default=os.getenv(…)`).
    Env(&'static str),
}

/// One option of a group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Opt {
    /// Its name in the file (oslo's `dest`: `-` written `_`).
    pub name: &'static str,
    pub kind: Kind,
    pub default: Default,
    /// Older places it is still read from, new name first: `(group, name)`,
    /// an empty group meaning the option's own.
    pub deprecated: &'static [(&'static str, &'static str)],
}

const fn opt(name: &'static str, kind: Kind, default: Default) -> Opt {
    Opt {
        name,
        kind,
        default,
        deprecated: &[],
    }
}

const fn text(value: &'static str) -> Default {
    Default::Text(value)
}

const NONE: Default = Default::None;

/// A group of options: a section of the file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Group {
    pub name: &'static str,
    pub opts: &'static [Opt],
    /// `[incoming]`: its options default to `${<this group>.<name>}`.
    pub defaults_from: Option<&'static str>,
}

impl Group {
    pub fn opt(&self, name: &str) -> Option<&'static Opt> {
        self.opts.iter().find(|o| o.name == name)
    }
}

const DEFAULT_OPTS: &[Opt] = &[
    opt("debug", Kind::Bool, text("False")),
    opt("verbose", Kind::Bool, text("True")),
    opt("log_dir", Kind::Str, NONE),
    opt("log_file", Kind::Str, NONE),
    Opt {
        deprecated: &[("storage", "coordination_url")],
        ..opt("coordination_url", Kind::Str, NONE)
    },
    // Gnocchi sets the default to the number of CPUs when it starts.
    Opt {
        deprecated: &[("storage", "aggregation_workers_number")],
        ..opt("parallel_operations", int_min(1), NONE)
    },
    opt("use_syslog", Kind::Bool, text("False")),
    opt("use_journal", Kind::Bool, text("False")),
    opt("syslog_log_facility", Kind::Str, text("user")),
    // oslo.config's own command-line options, which a file may set too.
    opt("config_file", Kind::List, NONE),
    opt("config_dir", Kind::Str, NONE),
    opt("config_source", Kind::List, NONE),
];

const INDEXER_OPTS: &[Opt] = &[opt("url", Kind::Str, Default::Env("GNOCCHI_INDEXER_URL"))];

const METRICD_OPTS: &[Opt] = &[
    // Gnocchi sets the default to the number of CPUs when it starts.
    opt("workers", int_min(1), NONE),
    Opt {
        deprecated: &[("storage", "metric_processing_delay")],
        ..opt("metric_processing_delay", INT, text("60"))
    },
    opt("greedy", Kind::Bool, text("True")),
    Opt {
        deprecated: &[("storage", "metric_reporting_delay")],
        ..opt("metric_reporting_delay", int_min(-1), text("120"))
    },
    Opt {
        deprecated: &[("storage", "metric_cleanup_delay")],
        ..opt("metric_cleanup_delay", INT, text("300"))
    },
    opt("processing_replicas", int_min(1), text("3")),
    opt("cleanup_batch_size", int_min(1), text("10000")),
    opt("metric_inactive_after", INT, text("0")),
    opt("resource_cleanup_after", INT, text("0")),
];

const API_OPTS: &[Opt] = &[
    opt("paste_config", Kind::Str, text("api-paste.ini")),
    // Gnocchi's choices are its auth helpers (basic, keystone,
    // remoteuser); carbonara checks the value itself, as it also has
    // `noauth`.
    opt("auth_mode", Kind::Str, text("basic")),
    opt("max_limit", INT, text("1000")),
    Opt {
        deprecated: &[("", "refresh_timeout")],
        ..opt("operation_timeout", int_min(0), text("10"))
    },
    opt("uwsgi_path", Kind::Str, NONE),
    opt("host", Kind::Host, text("0.0.0.0")),
    opt("port", PORT, text("8041")),
    opt(
        "uwsgi_mode",
        Kind::Choice(&["http", "http-socket", "socket"]),
        text("http"),
    ),
    Opt {
        deprecated: &[("oslo_middleware", "enable_proxy_headers_parsing")],
        ..opt("enable_proxy_headers_parsing", Kind::Bool, text("False"))
    },
];

const STORAGE_OPTS: &[Opt] = &[
    opt("driver", Kind::Str, text("file")),
    // gnocchi/storage/ceph.py
    opt("ceph_pool", Kind::Str, text("gnocchi")),
    opt("ceph_username", Kind::Str, NONE),
    opt("ceph_secret", Kind::Str, NONE),
    opt("ceph_keyring", Kind::Str, NONE),
    opt("ceph_timeout", Kind::Str, text("30")),
    opt("ceph_conffile", Kind::Str, text("/etc/ceph/ceph.conf")),
    // gnocchi/storage/file.py
    opt("file_basepath", Kind::Str, text("/var/lib/gnocchi")),
    opt(
        "file_subdir_len",
        Kind::Int {
            min: Some(0),
            max: Some(32),
        },
        text("2"),
    ),
    // gnocchi/storage/swift.py
    opt("swift_auth_version", Kind::Str, text("1")),
    opt("swift_auth_insecure", Kind::Bool, text("False")),
    opt("swift_url", Kind::Str, NONE),
    opt(
        "swift_authurl",
        Kind::Str,
        text("http://localhost:8080/auth/v1.0"),
    ),
    opt("swift_preauthtoken", Kind::Str, NONE),
    opt("swift_cacert", Kind::Str, NONE),
    opt("swift_region", Kind::Str, NONE),
    opt("swift_user", Kind::Str, text("admin:admin")),
    opt("swift_user_domain_name", Kind::Str, text("Default")),
    opt("swift_key", Kind::Str, text("admin")),
    Opt {
        deprecated: &[("", "swift_tenant_name")],
        ..opt("swift_project_name", Kind::Str, NONE)
    },
    opt("swift_project_domain_name", Kind::Str, text("Default")),
    opt("swift_container_prefix", Kind::Str, text("gnocchi")),
    opt("swift_container_prefix_all", Kind::Bool, text("False")),
    opt("swift_storage_policy", Kind::Str, NONE),
    opt(
        "swift_endpoint_type",
        Kind::Choice(&["publicURL", "internalURL", "adminURL"]),
        text("publicURL"),
    ),
    opt("swift_service_type", Kind::Str, text("object-store")),
    opt("swift_timeout", int_min(0), text("300")),
    // gnocchi/common/redis.py
    opt("redis_url", Kind::Str, text("redis://localhost:6379/")),
    // gnocchi/storage/s3.py
    opt("s3_endpoint_url", Kind::Str, NONE),
    opt(
        "s3_region_name",
        Kind::Str,
        Default::Env("AWS_DEFAULT_REGION"),
    ),
    opt(
        "s3_access_key_id",
        Kind::Str,
        Default::Env("AWS_ACCESS_KEY_ID"),
    ),
    opt(
        "s3_secret_access_key",
        Kind::Str,
        Default::Env("AWS_SECRET_ACCESS_KEY"),
    ),
    opt("s3_bucket_prefix", Kind::Str, text("gnocchi")),
    opt(
        "s3_check_consistency_timeout",
        Kind::Float { min: Some(0.0) },
        text("60"),
    ),
    opt("s3_max_pool_connections", int_min(1), text("50")),
];

const STATSD_OPTS: &[Opt] = &[
    opt("host", Kind::Host, text("0.0.0.0")),
    opt("port", PORT, text("8125")),
    opt("resource_id", Kind::Uuid, NONE),
    opt("creator", Kind::Str, NONE),
    opt("archive_policy_name", Kind::Str, NONE),
    opt("flush_delay", Kind::Float { min: None }, text("10")),
];

const AMQP1D_OPTS: &[Opt] = &[
    opt(
        "url",
        Kind::Str,
        text("localhost:5672/u/collectd/telemetry"),
    ),
    opt("data_source", Kind::Choice(&["collectd"]), text("collectd")),
    opt("resource_type", Kind::Str, text("collectd_amqp1d")),
    opt("creator", Kind::Str, NONE),
    opt("flush_delay", Kind::Float { min: None }, text("10")),
];

const ARCHIVE_POLICY_OPTS: &[Opt] = &[opt(
    "default_aggregation_methods",
    Kind::List,
    text("mean,min,max,sum,std,count"),
)];

/// Every group Gnocchi registers, `DEFAULT` first.
pub const GROUPS: &[Group] = &[
    Group {
        name: "DEFAULT",
        opts: DEFAULT_OPTS,
        defaults_from: None,
    },
    Group {
        name: "indexer",
        opts: INDEXER_OPTS,
        defaults_from: None,
    },
    Group {
        name: "metricd",
        opts: METRICD_OPTS,
        defaults_from: None,
    },
    Group {
        name: "api",
        opts: API_OPTS,
        defaults_from: None,
    },
    Group {
        name: "storage",
        opts: STORAGE_OPTS,
        defaults_from: None,
    },
    Group {
        name: "incoming",
        opts: STORAGE_OPTS,
        defaults_from: Some("storage"),
    },
    Group {
        name: "statsd",
        opts: STATSD_OPTS,
        defaults_from: None,
    },
    Group {
        name: "amqp1d",
        opts: AMQP1D_OPTS,
        defaults_from: None,
    },
    Group {
        name: "archive_policy",
        opts: ARCHIVE_POLICY_OPTS,
        defaults_from: None,
    },
];

/// The sections of the libraries Gnocchi loads, whose options carbonara
/// does not list: keystonemiddleware's, oslo.policy's, oslo.middleware's
/// (CORS, the health check, the proxy headers' old place) and oslo.db's
/// (whose `connection` Gnocchi replaces with `[indexer] url`).
pub const LIBRARY_SECTIONS: &[&str] = &[
    "keystone_authtoken",
    "oslo_policy",
    "cors",
    "healthcheck",
    "oslo_middleware",
    "database",
];

/// oslo.log's options, which deployment tools write into `[DEFAULT]` of
/// every OpenStack service's file. Gnocchi logs with daiquiri and
/// registers only some of them (above); oslo.config ignores the rest.
pub const OSLO_LOG_OPTIONS: &[&str] = &[
    "default_log_levels",
    "fatal_deprecations",
    "instance_format",
    "instance_uuid_format",
    "log_color",
    "log_config_append",
    "log_date_format",
    "log_rotate_interval",
    "log_rotate_interval_type",
    "log_rotation_type",
    "logging_context_format_string",
    "logging_debug_format_suffix",
    "logging_default_format_string",
    "logging_exception_prefix",
    "logging_user_identity_format",
    "max_logfile_count",
    "max_logfile_size_mb",
    "publish_errors",
    "rate_limit_burst",
    "rate_limit_except_level",
    "rate_limit_interval",
    "use_json",
    "use_stderr",
    "watch_log_file",
];

/// The group Gnocchi registers under this name.
pub fn group(name: &str) -> Option<&'static Group> {
    GROUPS.iter().find(|g| g.name == name)
}

/// The option a key of a section sets: itself, or the option it is a
/// deprecated name of, with that option's group.
pub fn option_for_key(section: &str, key: &str) -> Option<(&'static Group, &'static Opt)> {
    if let Some(found) = group(section).and_then(|g| g.opt(key).map(|o| (g, o))) {
        return Some(found);
    }
    GROUPS.iter().find_map(|g| {
        g.opts
            .iter()
            .find(|o| {
                o.deprecated.iter().any(|&(dgroup, dname)| {
                    let dgroup = if dgroup.is_empty() { g.name } else { dgroup };
                    dgroup == section && dname == key
                })
            })
            .map(|o| (g, o))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deprecated_names_lead_to_their_option() {
        let found = |s, k| option_for_key(s, k).map(|(g, o)| (g.name, o.name));
        assert_eq!(
            found("storage", "coordination_url"),
            Some(("DEFAULT", "coordination_url"))
        );
        assert_eq!(
            found("storage", "aggregation_workers_number"),
            Some(("DEFAULT", "parallel_operations"))
        );
        assert_eq!(
            found("storage", "metric_processing_delay"),
            Some(("metricd", "metric_processing_delay"))
        );
        assert_eq!(
            found("api", "refresh_timeout"),
            Some(("api", "operation_timeout"))
        );
        assert_eq!(
            found("oslo_middleware", "enable_proxy_headers_parsing"),
            Some(("api", "enable_proxy_headers_parsing"))
        );
        // The same-group deprecated name of a storage option exists in
        // both copies.
        assert_eq!(
            found("storage", "swift_tenant_name"),
            Some(("storage", "swift_project_name"))
        );
        assert_eq!(
            found("incoming", "swift_tenant_name"),
            Some(("incoming", "swift_project_name"))
        );
        assert_eq!(found("incoming", "coordination_url"), None);
        assert_eq!(found("api", "auth_mod"), None);
    }

    #[test]
    fn every_group_has_distinct_option_names() {
        for g in GROUPS {
            let mut names: Vec<_> = g.opts.iter().map(|o| o.name).collect();
            names.sort_unstable();
            let count = names.len();
            names.dedup();
            assert_eq!(names.len(), count, "[{}]", g.name);
        }
    }
}
