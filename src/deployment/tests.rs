//! Reading whole `gnocchi.conf` files: what each rule makes of them, and
//! the message each bad file gets.

use super::*;

const URL: &str = "postgresql+psycopg2://gnocchi:hunter2@db.example:5432/gnocchi";

fn parse_with(text: &str, env: &[(&str, &str)]) -> Result<Deployment> {
    let env = |var: &str| {
        env.iter()
            .find(|(k, _)| *k == var)
            .map(|(_, v)| (*v).to_owned())
    };
    Deployment::parse(Path::new("/etc/gnocchi/gnocchi.conf"), text, &env)
}

fn parse(text: &str) -> Deployment {
    parse_with(text, &[]).unwrap_or_else(|e| panic!("{e}"))
}

fn error(text: &str) -> String {
    let message = parse_with(text, &[]).unwrap_err().to_string();
    assert!(!message.contains("hunter2"), "a password in {message}");
    message
}

fn minimal() -> String {
    format!("[indexer]\nurl = {URL}\n")
}

#[test]
fn gnocchis_defaults() {
    let d = parse(&minimal());
    assert_eq!(d.path, Path::new("/etc/gnocchi/gnocchi.conf"));
    assert_eq!(d.indexer.as_str(), URL);
    assert_eq!(
        d.indexer.to_string(),
        "postgresql+psycopg2://gnocchi:***@db.example:5432/gnocchi"
    );
    assert_eq!(
        d.storage,
        Storage::File {
            basepath: "/var/lib/gnocchi".into(),
            subdir_len: 2
        }
    );
    assert_eq!(
        d.incoming,
        Incoming::File {
            basepath: "/var/lib/gnocchi".into()
        }
    );
    // Coordination through the indexer's database, `+psycopg2` removed.
    assert_eq!(
        d.coordination.as_str(),
        "postgresql://gnocchi:hunter2@db.example:5432/gnocchi"
    );
    assert_eq!(d.parallel_operations, None);
    assert_eq!(
        d.api,
        Api {
            auth_mode: AuthMode::Basic,
            max_limit: 1000,
            operation_timeout: Span::from_secs(10),
            host: None,
            port: None,
            enable_proxy_headers_parsing: false,
            cors_allowed_origins: vec![],
        }
    );
    assert_eq!(
        d.metricd,
        Metricd {
            workers: None,
            metric_processing_delay: Span::from_secs(60),
            metric_reporting_delay: Some(Span::from_secs(120)),
            metric_cleanup_delay: Span::from_secs(300),
            processing_replicas: 3,
            greedy: true,
            cleanup_batch_size: 10_000,
        }
    );
    assert_eq!(d.default_aggregation_methods, AggregationMethod::defaults());
    assert_eq!(d.keystone_authtoken, LibrarySection::default());
}

/// A file as deployment tools write them: oslo.log options in
/// `[DEFAULT]`, the libraries' sections, `:` as well as `=`, continuation
/// lines, repeated keys, old option names and substitutions.
#[test]
fn a_full_file() {
    let text = r#"
# Written by a deployment tool.
[DEFAULT]
debug = True
log_dir = /var/log/gnocchi
use_stderr = false
default_log_levels = amqp=WARN,
    boto=WARN
parallel_operations: 4

[Indexer]
url = "postgresql://gnocchi:hunter2@10.0.0.5/gnocchi"

[storage]
driver = file
file_basepath = /srv/gnocchi
file_subdir_len = 3
metric_processing_delay = 30
ceph_pool = unused

[incoming]
file_basepath = ${storage.file_basepath}/incoming

[api]
auth_mode = keystone
max_limit = 500
refresh_timeout = 20
host = 127.0.0.1
port = 8042
uwsgi_mode = http-socket
paste_config = /etc/gnocchi/api-paste.ini

[oslo_middleware]
enable_proxy_headers_parsing = true

[metricd]
workers = 8
metric_reporting_delay = -1
greedy = no
processing_replicas = 1
cleanup_batch_size = 100

[archive_policy]
default_aggregation_methods = mean, rate:max, 95pct

[keystone_authtoken]
www_authenticate_uri = http://keystone:5000
auth_url = $www_authenticate_uri/v3
password = hunter2

[oslo_policy]
policy_file = policy.yaml

[cors]
allowed_origin = http://grafana:3000,https://grafana.example

[database]
max_pool_size = 10

[statsd]
resource_id = 0a7a15ff-aa13-4ac2-897c-9bdf30ce175b

[metricd]
workers = 2
"#;
    let d = parse(text);
    assert_eq!(
        d.indexer.as_str(),
        "postgresql://gnocchi:hunter2@10.0.0.5/gnocchi"
    );
    assert_eq!(d.coordination, d.indexer);
    assert_eq!(
        d.storage,
        Storage::File {
            basepath: "/srv/gnocchi".into(),
            subdir_len: 3
        }
    );
    assert_eq!(
        d.incoming,
        Incoming::File {
            basepath: "/srv/gnocchi/incoming".into()
        }
    );
    assert_eq!(d.parallel_operations, Some(4));
    assert_eq!(
        d.api,
        Api {
            auth_mode: AuthMode::Keystone,
            max_limit: 500,
            operation_timeout: Span::from_secs(20),
            host: Some("127.0.0.1".into()),
            port: Some(8042),
            enable_proxy_headers_parsing: true,
            cors_allowed_origins: vec![
                "http://grafana:3000".into(),
                "https://grafana.example".into()
            ],
        }
    );
    assert_eq!(
        d.metricd,
        Metricd {
            // The second `[metricd]` section's value, the last one.
            workers: Some(2),
            // `[storage] metric_processing_delay`, its old place.
            metric_processing_delay: Span::from_secs(30),
            metric_reporting_delay: None,
            metric_cleanup_delay: Span::from_secs(300),
            processing_replicas: 1,
            greedy: false,
            cleanup_batch_size: 100,
        }
    );
    assert_eq!(
        d.default_aggregation_methods,
        ["mean", "rate:max", "95pct"].map(|m| m.parse::<AggregationMethod>().unwrap())
    );
    assert_eq!(
        d.keystone_authtoken.iter().collect::<Vec<_>>(),
        [
            ("auth_url", "http://keystone:5000/v3"),
            ("password", "hunter2"),
            ("www_authenticate_uri", "http://keystone:5000"),
        ]
    );
    assert_eq!(d.keystone_authtoken.get("password"), Some("hunter2"));
    assert_eq!(d.keystone_authtoken.get("region_name"), None);
    // Debug output, whole deployment included, shows no secret.
    let debug = format!("{d:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains(r#""password": "***""#), "{debug}");
}

#[test]
fn the_coordination_url() {
    let with = |extra: &str| parse(&format!("{}{extra}", minimal())).coordination;
    assert_eq!(
        with("[DEFAULT]\ncoordination_url = postgresql://tooz@coord/locks\n").as_str(),
        "postgresql://tooz@coord/locks"
    );
    // Its old place, `[storage]`, is read too; `[DEFAULT]` wins.
    assert_eq!(
        with("[storage]\ncoordination_url = postgresql://old/locks\n").as_str(),
        "postgresql://old/locks"
    );
    assert_eq!(
        with("[storage]\ncoordination_url = postgresql://old/locks\n[DEFAULT]\ncoordination_url = postgresql://new/locks\n").as_str(),
        "postgresql://new/locks"
    );
    let plain = parse("[indexer]\nurl = postgresql://g@h/db\n");
    assert_eq!(plain.coordination.as_str(), "postgresql://g@h/db");
    // tooz's Redis driver, beside the PostgreSQL indexer.
    assert_eq!(
        with("[DEFAULT]\ncoordination_url = redis://:pw@cache:6379?db=2\n").as_str(),
        "redis://:pw@cache:6379?db=2"
    );
    // Unset, Gnocchi takes a Redis driver's URL: the storage's first.
    assert_eq!(
        with("[incoming]\ndriver = redis\nredis_url = redis://in:6379?db=3\n").as_str(),
        "redis://in:6379?db=3"
    );
    assert_eq!(
        with(
            "[incoming]\ndriver = redis\nredis_url = redis://in:6379?db=3\n\
             [storage]\ndriver = redis\nredis_url = redis://st:6379\n"
        )
        .as_str(),
        "redis://st:6379"
    );
}

#[test]
fn the_environment() {
    // Gnocchi's default for the indexer URL, and oslo.config's variables
    // before the file.
    let d = parse_with("", &[("GNOCCHI_INDEXER_URL", "postgresql://e@h/db")]).unwrap();
    assert_eq!(d.indexer.as_str(), "postgresql://e@h/db");
    let d = parse_with(
        &minimal(),
        &[
            ("OS_INDEXER__URL", "postgresql://os@h/db"),
            ("OS_STORAGE__FILE_BASEPATH", "/env"),
        ],
    )
    .unwrap();
    assert_eq!(d.indexer.as_str(), "postgresql://os@h/db");
    assert_eq!(
        d.incoming,
        Incoming::File {
            basepath: "/env".into()
        }
    );
    assert_eq!(
        parse_with(&minimal(), &[("OS_STORAGE__DRIVER", "ceph")])
            .unwrap_err()
            .to_string(),
        "environment variable OS_STORAGE__DRIVER: [storage] driver = ceph: carbonara supports file, redis and s3 here"
    );
    // The S3 drivers' credentials default to AWS's variables, as boto3's.
    let d = parse_with(
        &format!(
            "{}[storage]\ndriver = s3\ns3_endpoint_url = http://s3:3900\n",
            minimal()
        ),
        &[
            ("AWS_ACCESS_KEY_ID", "GKid"),
            ("AWS_SECRET_ACCESS_KEY", "hunter2"),
            ("AWS_DEFAULT_REGION", "garage"),
        ],
    )
    .unwrap();
    let Storage::S3(settings) = &d.storage else {
        panic!("{:?}", d.storage)
    };
    assert_eq!(settings.endpoint_url.as_deref(), Some("http://s3:3900"));
    assert_eq!(settings.region.as_deref(), Some("garage"));
    assert_eq!(settings.access_key_id.as_deref(), Some("GKid"));
    assert_eq!(settings.secret_access_key.as_deref(), Some("hunter2"));
    assert_eq!(settings.bucket_prefix, "gnocchi");
    assert_eq!(d.incoming, Incoming::S3(settings.clone()));
    assert!(!format!("{d:?}").contains("hunter2"));
}

#[test]
fn carbonaras_own_auth_mode() {
    let d = parse(&format!("{}[api]\nauth_mode = noauth\n", minimal()));
    assert_eq!(d.api.auth_mode, AuthMode::Noauth);
}

#[test]
fn unreadable_files() {
    let message = Deployment::read(Path::new("/nonexistent/gnocchi.conf"))
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("/nonexistent/gnocchi.conf: "),
        "{message}"
    );
    assert_eq!(
        error("[indexer]\nurl = x\n[storage\n"),
        "/etc/gnocchi/gnocchi.conf:3: Invalid section (must end with ]): '[storage'"
    );
}

#[test]
fn unsupported_values_name_section_option_and_value() {
    let cases = [
        (
            "[storage]\ndriver = ceph\n",
            "/etc/gnocchi/gnocchi.conf:4: [storage] driver = ceph: carbonara supports file, redis and s3 here",
        ),
        // The incoming driver follows the storage one unless set.
        (
            "[incoming]\ndriver = swift\n",
            "/etc/gnocchi/gnocchi.conf:4: [incoming] driver = swift: carbonara supports file, redis and s3 here",
        ),
        (
            "[DEFAULT]\ncoordination_url = zookeeper://:hunter2@z:2181\n",
            "/etc/gnocchi/gnocchi.conf:4: [DEFAULT] coordination_url = zookeeper://:***@z:2181: carbonara supports tooz's postgresql:// and redis:// coordination",
        ),
        (
            "[DEFAULT]\ncoordination_url =\n",
            "/etc/gnocchi/gnocchi.conf:4: [DEFAULT] coordination_url = : empty; remove it to coordinate through the indexer's database, as Gnocchi then does",
        ),
        (
            "[api]\nauth_mode = remoteuser\n",
            "/etc/gnocchi/gnocchi.conf:4: [api] auth_mode = remoteuser: carbonara supports basic, keystone and noauth",
        ),
        (
            "[api]\nmax_limit = 0\n",
            "/etc/gnocchi/gnocchi.conf:4: [api] max_limit = 0: must be at least 1",
        ),
        (
            "[metricd]\nmetric_inactive_after = 3600\n",
            "/etc/gnocchi/gnocchi.conf:4: [metricd] metric_inactive_after = 3600: carbonara's janitor does not end resources whose metrics stopped receiving measures; set 0 (Gnocchi's default) or remove it",
        ),
        (
            "[metricd]\nresource_cleanup_after = 60\n",
            "/etc/gnocchi/gnocchi.conf:4: [metricd] resource_cleanup_after = 60: carbonara's janitor does not delete resources that ended; set 0 (Gnocchi's default) or remove it",
        ),
        (
            "[cors]\nallowed_origin = *\nallow_methods = GET\n",
            "/etc/gnocchi/gnocchi.conf:5: [cors] allow_methods = GET: carbonara answers CORS with Gnocchi's defaults for this option; only allowed_origin may be set",
        ),
        (
            "[DEFAULT]\nconfig_dir = /etc/gnocchi/gnocchi.conf.d\n",
            "/etc/gnocchi/gnocchi.conf:4: [DEFAULT] config_dir = /etc/gnocchi/gnocchi.conf.d: carbonara reads one configuration file, the one it is given",
        ),
        (
            "[archive_policy]\ndefault_aggregation_methods = mean,avg\n",
            "/etc/gnocchi/gnocchi.conf:4: [archive_policy] default_aggregation_methods = mean,avg: avg is not an aggregation method",
        ),
        (
            "[storage]\nfile_basepath =\n",
            "/etc/gnocchi/gnocchi.conf:4: [storage] file_basepath = : a directory is needed",
        ),
    ];
    for (extra, message) in cases {
        assert_eq!(error(&format!("{}{extra}", minimal())), message, "{extra}");
    }
}

#[test]
fn indexer_urls() {
    let cases = [
        (
            "[indexer]\nurl = mysql+pymysql://gnocchi:hunter2@db/gnocchi\n",
            "/etc/gnocchi/gnocchi.conf:2: [indexer] url = mysql+pymysql://gnocchi:***@db/gnocchi: carbonara supports postgresql:// indexers (with or without +psycopg2)",
        ),
        (
            "[indexer]\nurl = gnocchi:hunter2@db/gnocchi\n",
            "/etc/gnocchi/gnocchi.conf:2: [indexer] url = ***@db/gnocchi: not a URL (no `scheme://`)",
        ),
        (
            "[indexer]\nurl = postgresql://gnocchi:hunter2@db:port/gnocchi\n",
            "/etc/gnocchi/gnocchi.conf:2: [indexer] url = postgresql://***@db:port/gnocchi: the port is not a number from 0 to 65535",
        ),
        (
            "[indexer]\nurl =\n",
            "/etc/gnocchi/gnocchi.conf: [indexer] url: required (or GNOCCHI_INDEXER_URL in the environment): the URL of Gnocchi's PostgreSQL database",
        ),
        (
            "[DEFAULT]\ndebug = false\n",
            "/etc/gnocchi/gnocchi.conf: [indexer] url: required (or GNOCCHI_INDEXER_URL in the environment): the URL of Gnocchi's PostgreSQL database",
        ),
    ];
    for (text, message) in cases {
        assert_eq!(error(text), message, "{text}");
    }
}

#[test]
fn bad_values_of_options_carbonara_does_not_use_are_refused_as_gnocchi_refuses_them() {
    let cases = [
        (
            "[DEFAULT]\ndebug = maybe\n",
            "/etc/gnocchi/gnocchi.conf:4: [DEFAULT] debug = maybe: Unexpected boolean value 'maybe'",
        ),
        (
            "[api]\nuwsgi_mode = tcp\n",
            "/etc/gnocchi/gnocchi.conf:4: [api] uwsgi_mode = tcp: Valid values are [http, http-socket, socket], but found 'tcp'",
        ),
        (
            "[statsd]\nresource_id = nope\n",
            "/etc/gnocchi/gnocchi.conf:4: [statsd] resource_id = nope: badly formed hexadecimal UUID string",
        ),
        (
            "[storage]\nfile_subdir_len = 40\n",
            "/etc/gnocchi/gnocchi.conf:4: [storage] file_subdir_len = 40: Should be less than or equal to 32",
        ),
        (
            "[metricd]\nworkers = 0\n",
            "/etc/gnocchi/gnocchi.conf:4: [metricd] workers = 0: Should be greater than or equal to 1",
        ),
        (
            "[storage]\nmetric_processing_delay = soon\n",
            "/etc/gnocchi/gnocchi.conf:4: [storage] metric_processing_delay = soon: not an integer: 'soon'",
        ),
        (
            "[incoming]\nfile_basepath = $nowhere\n",
            "/etc/gnocchi/gnocchi.conf:4: [incoming] file_basepath = $nowhere: $nowhere: there is no option nowhere in [incoming] or [DEFAULT]",
        ),
    ];
    for (extra, message) in cases {
        assert_eq!(error(&format!("{}{extra}", minimal())), message, "{extra}");
    }
}

#[test]
fn unknown_options_and_sections() {
    assert_eq!(
        error(&format!("{}[api]\nauth_mod = keystone\n", minimal())),
        "/etc/gnocchi/gnocchi.conf:4: [api] auth_mod: Gnocchi 4.7.1 has no such option"
    );
    // oslo.log's names are Gnocchi's only in `[DEFAULT]`.
    assert_eq!(
        error(&format!("{}[metricd]\nuse_stderr = true\n", minimal())),
        "/etc/gnocchi/gnocchi.conf:4: [metricd] use_stderr: Gnocchi 4.7.1 has no such option"
    );
    assert_eq!(
        error(&format!(
            "{}[incoming]\ncoordination_url = postgresql://h/db\n",
            minimal()
        )),
        "/etc/gnocchi/gnocchi.conf:4: [incoming] coordination_url: Gnocchi 4.7.1 has no such option"
    );
    assert_eq!(
        error(&format!("{}[ storage ]\ndriver = file\n", minimal())),
        "/etc/gnocchi/gnocchi.conf:3: [ storage ]: neither Gnocchi 4.7.1 nor the libraries it loads read this section"
    );
    assert_eq!(
        error(&format!("{}[oslo_messaging_rabbit]\n", minimal())),
        "/etc/gnocchi/gnocchi.conf:3: [oslo_messaging_rabbit]: neither Gnocchi 4.7.1 nor the libraries it loads read this section"
    );
}

#[test]
fn secrets_are_never_shown() {
    let cases = [
        // A password with a `$` is substituted as oslo.config does; the
        // error must not show it.
        (
            format!("{}[keystone_authtoken]\npassword = hunter2$x\n", minimal()),
            "/etc/gnocchi/gnocchi.conf:4: [keystone_authtoken] password = ***: $x: there is no option x in [keystone_authtoken] or [DEFAULT]",
        ),
        (
            "[indexer]\nurl = postgresql://gnocchi:hunter2@db/$nowhere\n".to_owned(),
            "/etc/gnocchi/gnocchi.conf:2: [indexer] url = postgresql://***@db/$nowhere: $nowhere: there is no option nowhere in [indexer] or [DEFAULT]",
        ),
        (
            format!(
                "{}[storage]\nswift_key = hunter2$\nceph_pool = ${{swift_key}}x$y\n",
                minimal()
            ),
            "/etc/gnocchi/gnocchi.conf:5: [storage] ceph_pool = ${swift_key}x$y: $y: there is no option y in [storage] or [DEFAULT]",
        ),
        (
            format!(
                "{}[DEFAULT]\ncoordination_url = ${{storage.swift_authurl}}\n[storage]\nswift_authurl = etcd3+http://:hunter2@r/\n",
                minimal()
            ),
            "/etc/gnocchi/gnocchi.conf:4: [DEFAULT] coordination_url = etcd3+http://:***@r/: carbonara supports tooz's postgresql:// and redis:// coordination",
        ),
    ];
    for (text, message) in cases {
        assert_eq!(error(&text), message, "{text}");
    }
}

#[test]
fn redis_drivers_take_their_url_the_incoming_one_defaulting_to_the_storage_one() {
    let d = parse(&format!(
        "{}[storage]\ndriver = redis\nredis_url = redis://:hunter2@cache:6380?db=2\n",
        minimal()
    ));
    let url = "redis://:hunter2@cache:6380?db=2".to_owned();
    assert_eq!(d.storage, Storage::Redis { url: url.clone() });
    assert_eq!(d.incoming, Incoming::Redis { url });
    let d = parse(&format!("{}[incoming]\ndriver = redis\n", minimal()));
    assert_eq!(
        d.incoming,
        Incoming::Redis {
            url: "redis://localhost:6379/".to_owned()
        }
    );
    assert!(matches!(d.storage, Storage::File { .. }));
}
