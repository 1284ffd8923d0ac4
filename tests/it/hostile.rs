//! Hostile names (issue §7): metric names, resource ids, archive-policy
//! and resource-type names and file paths that try to leave the store —
//! `../`, absolute paths, NUL, 4 KiB, names that collide after Gnocchi's
//! `/`→`_` mapping — through every command and the REST API. Each must be
//! refused (exit 1 or 2, HTTP 4xx) or mapped safely, never a panic or a
//! 5xx, and never a file outside the store: the store lives in a temporary
//! directory beside a canary directory, commands run from inside the store
//! (so a stray `../x` lands beside it), and the directory is listed before
//! and after each attempt.

use std::path::PathBuf;
use std::process::Output;

use axum::http::StatusCode;
use carbonara::server::{self, App, Config};
use carbonara::store::Location;

use crate::common::tree;
use crate::serve::common::send;

const ADMIN: (&str, &str) = ("authorization", "basic YWRtaW46");
const JSON: (&str, &str) = ("content-type", "application/json");
const ACCEPT: (&str, &str) = ("accept", "application/json");

/// A store at `<root>/store`, a canary directory at `<root>/canary`.
struct Sandbox {
    root: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("canary")).unwrap();
        std::fs::write(root.path().join("canary/keep"), "canary").unwrap();
        let sandbox = Sandbox { root };
        let output = sandbox.run(&["init", "--sacks", "8"]);
        assert!(output.status.success(), "{output:?}");
        sandbox
    }

    fn store(&self) -> PathBuf {
        self.root.path().join("store")
    }

    /// An absolute path beside the store.
    fn outside(&self, name: &str) -> String {
        self.root.path().join(name).to_str().unwrap().to_owned()
    }

    /// Everything in the temporary directory but the store.
    fn listing(&self) -> Vec<String> {
        tree(self.root.path())
            .into_iter()
            .filter(|entry| entry != "store/" && !entry.starts_with("store/"))
            .collect()
    }

    /// `carbonara --store <root>/store ARGS…`, run from inside the store.
    fn run(&self, args: &[&str]) -> Output {
        let store = self.store();
        let cwd = if store.is_dir() {
            store.clone()
        } else {
            self.root.path().to_owned()
        };
        assert_cmd::cargo_bin_cmd!("carbonara")
            .env_remove("CARBONARA_STORE")
            .current_dir(cwd)
            .arg("--store")
            .arg(&store)
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs a hostile command: it must end with 0 (a safe mapping), 1 or
    /// 2, without a panic, and leave everything outside the store as it was.
    fn attempt(&self, args: &[&str]) -> Output {
        let before = self.listing();
        let output = self.run(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let code = output.status.code();
        assert!(
            matches!(code, Some(0..=2)),
            "{}: exit {code:?}: {stderr}",
            shown(args)
        );
        assert!(!stderr.contains("panicked"), "{}: {stderr}", shown(args));
        assert_eq!(
            self.listing(),
            before,
            "{} wrote outside the store",
            shown(args)
        );
        self.assert_store_names_clean();
        output
    }

    /// Runs a command that must be refused (exit 1 or 2).
    fn refused(&self, args: &[&str]) -> String {
        let output = self.attempt(args);
        assert!(
            matches!(output.status.code(), Some(1 | 2)),
            "{} was accepted: {}",
            shown(args),
            String::from_utf8_lossy(&output.stdout)
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    /// Runs a command that must succeed, and returns its stdout.
    fn accepted(&self, args: &[&str]) -> String {
        let output = self.attempt(args);
        assert!(
            output.status.success(),
            "{}: {}",
            shown(args),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// No hostile name became a file name inside the store either: the
    /// store names its files by metric UUIDs and its own words only.
    fn assert_store_names_clean(&self) {
        for entry in tree(&self.store()) {
            for word in ["outside", "passwd", "evil", "aaaaaaaa"] {
                assert!(!entry.contains(word), "store file {entry:?}");
            }
        }
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.store().join("tmp").join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    }

    fn app(&self) -> axum::Router {
        let mut config = Config::new(Location::Directory(self.store()));
        config.process_interval = None;
        server::router(App::open(config).unwrap())
    }
}

fn shown(args: &[&str]) -> String {
    let text = args.join(" ");
    if text.len() > 200 {
        format!("{}… ({} bytes)", &text[..200], text.len())
    } else {
        text
    }
}

/// `ingest csv` rows of `resource,timestamp,value` for the metric `m`.
const BY_RESOURCE: [&str; 12] = [
    "--resource-column",
    "1",
    "--metric",
    "m",
    "--timestamp-column",
    "2",
    "--value-column",
    "3",
    "--create-resources",
    "--create-metrics",
    "--archive-policy-name",
    "low",
];

fn long_name() -> String {
    "a".repeat(4096)
}

/// Names that try to leave the store by their form, with the absolute path
/// beside the store that the sandbox adds.
fn hostile_names(sandbox: &Sandbox) -> Vec<String> {
    vec![
        "../outside".to_owned(),
        "../../outside".to_owned(),
        "..".to_owned(),
        ".".to_owned(),
        "/etc/passwd".to_owned(),
        sandbox.outside("outside"),
        "evil/../../outside".to_owned(),
        "..\\outside".to_owned(),
        "~/outside".to_owned(),
        long_name(),
    ]
}

#[test]
fn archive_policies_and_rules_keep_hostile_names_in_the_index() {
    let sandbox = Sandbox::new();
    for name in hostile_names(&sandbox) {
        let created = sandbox.attempt(&[
            "archive-policy",
            "create",
            &name,
            "-d",
            "granularity:1,points:10",
        ]);
        // A policy name is a key of the index, never a path: even these are
        // kept as given.
        if created.status.success() || !name.starts_with('a') {
            let shown = sandbox.accepted(&["archive-policy", "show", &name, "-f", "json"]);
            let doc: serde_json::Value = serde_json::from_str(&shown).unwrap();
            assert_eq!(doc["name"], name.as_str());
            sandbox.attempt(&[
                "archive-policy-rule",
                "create",
                &name,
                "-a",
                &name,
                "-m",
                &name,
            ]);
            sandbox.attempt(&["archive-policy-rule", "delete", &name]);
            sandbox.accepted(&["archive-policy", "delete", &name]);
        }
        sandbox.refused(&["archive-policy", "show", &name]);
        sandbox.refused(&["archive-policy", "delete", &name]);
        sandbox.attempt(&[
            "archive-policy-rule",
            "create",
            "r",
            "-a",
            "low",
            "-m",
            &name,
        ]);
        sandbox.attempt(&["archive-policy-rule", "delete", "r"]);
    }
}

#[test]
fn resource_types_and_resources_map_hostile_ids_to_uuids() {
    let sandbox = Sandbox::new();
    for name in hostile_names(&sandbox) {
        sandbox.attempt(&["resource-type", "create", &name, "-a", "host:string"]);
        sandbox.attempt(&["resource-type", "show", &name]);
        sandbox.attempt(&["resource", "create", "r", "-t", &name, "-a", "host:h"]);
        sandbox.attempt(&["resource", "show", "r", "-t", &name]);
        sandbox.attempt(&["resource", "delete", "r"]);
        sandbox.attempt(&["resource-type", "delete", &name]);
        let created = sandbox.attempt(&["resource", "create", &name, "-f", "json"]);
        if created.status.success() {
            // Gnocchi's UUID5 mapping: the id is a UUID, the name kept as
            // original_resource_id.
            let doc: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
            let id = doc["id"].as_str().unwrap();
            assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
            assert_eq!(doc["original_resource_id"], name.as_str());
            sandbox.accepted(&["resource", "show", &name]);
            sandbox.accepted(&["resource", "delete", &name]);
        }
        sandbox.refused(&["resource", "show", &name]);
        sandbox.refused(&["resource", "delete", &name]);
    }
    // Gnocchi refuses a `/` in a resource id and a long id it would have
    // to transform.
    for id in ["a/b", "../outside", "/etc/passwd"] {
        let stderr = sandbox.refused(&["resource", "create", id]);
        assert!(
            stderr.contains("'/' is not supported in resource id"),
            "{stderr}"
        );
    }
    let stderr = sandbox.refused(&["resource", "create", &long_name()]);
    assert!(stderr.contains("transformable resource id >"), "{stderr}");
    // `..` is an ordinary id, mapped to its UUID5.
    let doc: serde_json::Value =
        serde_json::from_str(&sandbox.accepted(&["resource", "create", "..", "-f", "json"]))
            .unwrap();
    assert_eq!(doc["original_resource_id"], "..");
    assert_eq!(
        uuid::Uuid::parse_str(doc["id"].as_str().unwrap())
            .unwrap()
            .get_version_num(),
        5
    );
}

#[test]
fn metric_names_with_a_slash_are_refused_and_the_rest_stay_in_the_index() {
    let sandbox = Sandbox::new();
    for name in ["a/b", "../outside", "/etc/passwd", "evil/../../outside"] {
        let stderr = sandbox.refused(&["metric", "create", name, "-a", "low"]);
        assert!(
            stderr.contains("'/' is not supported in metric name"),
            "{stderr}"
        );
    }
    sandbox.refused(&["metric", "create", &sandbox.outside("outside"), "-a", "low"]);
    for name in ["..", ".", "..\\outside", "~", &long_name()] {
        let created = sandbox.attempt(&["metric", "create", name, "-a", "low", "-f", "json"]);
        if created.status.success() {
            let doc: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
            let id = doc["id"].as_str().unwrap().to_owned();
            sandbox.accepted(&["measures", "add", &id, "-m", "2024-01-01T00:00:00@1"]);
            sandbox.accepted(&["process", "--quiet"]);
            sandbox.attempt(&["measures", "show", &id]);
            sandbox.attempt(&["metric", "delete", &id]);
        }
    }
    // Names that are not metrics: refused, whatever their form.
    for name in hostile_names(&sandbox) {
        sandbox.attempt(&["measures", "add", &name, "-m", "2024-01-01T00:00:00@1"]);
        sandbox.attempt(&["measures", "show", &name]);
        sandbox.attempt(&["measures", "add", "m", "-r", &name, "-m", "1@1"]);
        sandbox.attempt(&["metric", "show", &name]);
        sandbox.attempt(&["metric", "delete", &name]);
    }
}

#[test]
fn ingested_metric_names_never_become_paths() {
    let sandbox = Sandbox::new();
    let outside = sandbox.outside("outside");
    let names = [
        "../outside",
        "..",
        "/etc/passwd",
        outside.as_str(),
        "evil\u{0}outside",
        "a/b",
        "a_b",
        &long_name(),
    ];
    let csv: String = names
        .iter()
        .map(|name| format!("\"{name}\",2024-01-01T00:00:00,1\n"))
        .collect();
    let file = sandbox.write("rows.csv", &format!("metric,timestamp,value\n{csv}"));
    for extra in [&[][..], &["--skip-invalid"][..]] {
        let mut args = vec![
            "ingest",
            "csv",
            &file,
            "--metric-column",
            "metric",
            "--create-metrics",
            "--archive-policy-name",
            "low",
            "--process",
        ];
        args.extend_from_slice(extra);
        sandbox.attempt(&args);
    }
    let wide_header: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    let wide = sandbox.write(
        "wide.csv",
        &format!(
            "timestamp,{}\n2024-01-01T00:00:00,{}\n",
            wide_header.join(","),
            vec!["1"; names.len()].join(",")
        ),
    );
    sandbox.attempt(&[
        "ingest",
        "csv",
        &wide,
        "--wide",
        "--create-metrics",
        "--archive-policy-name",
        "low",
    ]);
    let resources = sandbox.write(
        "resources.csv",
        &names
            .iter()
            .map(|name| format!("\"{name}\",2024-01-01T00:00:00,1\n"))
            .collect::<String>(),
    );
    let mut args = vec!["ingest", "csv", &resources];
    args.extend(BY_RESOURCE);
    args.push("--skip-invalid");
    sandbox.attempt(&args);

    let influx: String = ["../outside", "a/b", "a_b", &long_name()]
        .iter()
        .map(|name| format!("{name},host=../outside value=1 1704067200000000000\n"))
        .chain(["cpu,host=/etc/passwd value=1 1704067200000000000\n".to_owned()])
        .collect();
    let influx = sandbox.write("lines.influx", &influx);
    sandbox.attempt(&["ingest", "influx", &influx, "--process", "--skip-invalid"]);
    sandbox.attempt(&["ingest", "influx", &influx, "--db", "../outside"]);
    sandbox.attempt(&["ingest", "influx", &influx, "--db", &outside]);

    let statsd: String = ["../outside", "a/b", "a_b", "/etc/passwd", &long_name()]
        .iter()
        .map(|name| format!("{name}:1|g\n"))
        .collect();
    let statsd = sandbox.write("lines.statsd", &statsd);
    for resource in ["../outside", "/etc/passwd", outside.as_str()] {
        sandbox.attempt(&[
            "ingest",
            "statsd",
            &statsd,
            "--resource-id",
            resource,
            "--archive-policy-name",
            "low",
            "--at",
            "2024-01-01T00:00:00",
            "--skip-invalid",
            "--process",
        ]);
    }
    for name in names {
        let quoted = serde_json::Value::String(name.to_owned()).to_string();
        let measures = r#"[{"timestamp": "2024-01-01T00:00:00", "value": 1}]"#;
        let by_resource = sandbox.write(
            "batch.json",
            &format!(
                r#"{{{quoted}: {{{quoted}: {{"archive_policy_name": "low", "measures": {measures}}}}}}}"#
            ),
        );
        sandbox.attempt(&["ingest", "batch", &by_resource, "--process"]);
        let by_metric = sandbox.write("metrics.json", &format!("{{{quoted}: {measures}}}"));
        sandbox.attempt(&["ingest", "batch", &by_metric]);
        let samples = sandbox.write(
            "samples.jsonl",
            &format!("{}\n", ceilometer_sample(name, name)),
        );
        sandbox.attempt(&["ingest", "ceilometer", &samples, "--process"]);
    }
    sandbox.accepted(&["process", "--quiet"]);
    sandbox.accepted(&["verify", "--quiet"]);
}

#[test]
fn influx_names_that_collide_after_the_slash_mapping_share_one_metric() {
    let sandbox = Sandbox::new();
    // Gnocchi's influxdb endpoint turns `/` into `_` in metric names, so
    // `a/b` and `a_b` are one metric: its measures are merged, no path
    // is made of either.
    let lines = sandbox.write(
        "lines.influx",
        "a/b,host=h value=1 1704067200000000000\na_b,host=h value=2 1704067260000000000\n",
    );
    sandbox.accepted(&["ingest", "influx", &lines, "--process"]);
    let names = sandbox.accepted(&["metric", "list", "-f", "value", "-c", "name"]);
    assert_eq!(names, "a_b.value\n");
    let mean = sandbox.accepted(&[
        "measures",
        "show",
        "a_b.value",
        "-r",
        "h",
        "--granularity",
        "300",
        "--aggregation",
        "mean",
        "-f",
        "value",
        "-c",
        "value",
    ]);
    assert_eq!(mean.trim(), "1.5");
    // A resource id that leaves the store is refused, whole file or line.
    let bad = sandbox.write(
        "bad.influx",
        "cpu,host=../outside value=1 1704067200000000000\n",
    );
    let stderr = sandbox.refused(&["ingest", "influx", &bad]);
    assert!(
        stderr.contains("bad.influx:1: field `host`: '/' is not supported in resource id"),
        "{stderr}"
    );
    // And a CSV resource column.
    let rows = sandbox.write("rows.csv", "../outside,2024-01-01T00:00:00,1\n");
    let mut args = vec!["ingest", "csv", &rows];
    args.extend(BY_RESOURCE);
    let stderr = sandbox.refused(&args);
    assert!(
        stderr.contains("rows.csv:1: field `column 1`: '/' is not supported in resource id"),
        "{stderr}"
    );
    // So is statsd's resource, before any line is read.
    let lines = sandbox.write("lines.statsd", "x:1|g\n");
    let stderr = sandbox.refused(&["ingest", "statsd", &lines, "--resource-id", "../outside"]);
    assert!(
        stderr.contains("lines.statsd:0: field `resource-id`: '/' is not supported in resource id"),
        "{stderr}"
    );
}

/// The first instance sample of the Ceilometer golden case, for another
/// resource and display name.
fn ceilometer_sample(resource_id: &str, display_name: &str) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/ingest/ceilometer/c1-instances.1.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let mut sample: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    sample["resource_id"] = resource_id.into();
    sample["resource_metadata"]["display_name"] = display_name.into();
    sample["resource_metadata"]["host"] = display_name.into();
    sample
}

#[test]
fn ceilometer_resource_ids_collide_after_the_slash_mapping() {
    let sandbox = Sandbox::new();
    // Ceilometer's publisher turns `/` into `_` in resource ids: `../outside`
    // is the resource `.._outside`, and `a/b` and `a_b` are one resource.
    let samples: String = ["../outside", "a/b", "a_b"]
        .iter()
        .map(|id| format!("{}\n", ceilometer_sample(id, "/etc/passwd")))
        .collect();
    let samples = sandbox.write("samples.jsonl", &samples);
    sandbox.accepted(&["ingest", "ceilometer", &samples, "--process"]);
    let listed = sandbox.accepted(&[
        "resource",
        "list",
        "-f",
        "value",
        "-c",
        "original_resource_id",
    ]);
    let mut ids: Vec<&str> = listed.lines().collect();
    ids.sort_unstable();
    assert_eq!(ids, [".._outside", "a_b"]);
}

#[test]
fn dump_and_info_only_read() {
    let sandbox = Sandbox::new();
    let outside = sandbox.outside("outside");
    let canary = sandbox.outside("canary");
    for target in [
        "../outside",
        "..",
        "/etc/passwd",
        outside.as_str(),
        canary.as_str(),
        "../canary/keep",
        &long_name(),
    ] {
        sandbox.attempt(&["dump", target]);
        sandbox.attempt(&["dump", target, "--summary"]);
        sandbox.attempt(&["dump", "m", "-r", target]);
        sandbox.attempt(&["info", target]);
        sandbox.attempt(&["info", "m", "-r", target]);
    }
}

#[test]
fn queries_name_metrics_and_resources_only_through_the_index() {
    let sandbox = Sandbox::new();
    sandbox.accepted(&["metric", "create", "m", "-a", "low"]);
    sandbox.accepted(&["measures", "add", "m", "-m", "2024-01-01T00:00:00@1"]);
    sandbox.accepted(&["process", "--quiet"]);
    let plot = sandbox.store().join("tmp/chart.svg");
    let plot = plot.to_str().unwrap();
    for name in hostile_names(&sandbox) {
        let quoted = json_string(&name);
        for operations in [
            format!("(metric {quoted} mean)"),
            format!("(aggregate mean (metric ({quoted} mean) (m mean)))"),
            format!(r#"["metric", {quoted}, "mean"]"#),
        ] {
            sandbox.attempt(&["aggregates", &operations]);
            sandbox.attempt(&["aggregates", &operations, "--resource-type", "generic"]);
        }
        let search = format!("id = {quoted}");
        sandbox.attempt(&[
            "aggregates",
            "(metric m mean)",
            "--resource-type",
            "generic",
            &search,
        ]);
        sandbox.attempt(&["aggregates", "(metric m mean)", "--resource-type", &name]);
        sandbox.attempt(&[
            "aggregates",
            "(metric m mean)",
            "--resource-type",
            "generic",
            "--groupby",
            &name,
        ]);
        sandbox.attempt(&["top", &name, "m"]);
        sandbox.attempt(&["top", "m", "-r", &name]);
        sandbox.attempt(&["top", "--metric", &name]);
        sandbox.attempt(&["top", "--metric", "m", &search]);
        sandbox.attempt(&["plot", "--output", plot, &name]);
        sandbox.attempt(&["plot", "--output", plot, "m", "-r", &name]);
        sandbox.attempt(&["value", &name]);
    }
    // Counts that are not numbers.
    for count in ["../outside", "-1", &long_name()] {
        sandbox.refused(&["sacks", "--set", count]);
        sandbox.refused(&["max-backlog", "--set", count]);
    }
}

#[test]
fn import_gnocchi_copies_into_the_store_and_writes_nothing_beside_it() {
    let sandbox = Sandbox::new();
    let outside = sandbox.outside("outside");
    // A Gnocchi directory whose metric directory is a link out of it.
    let gnocchi = sandbox.outside("gnocchi");
    let metric = "00000000-0000-4000-8000-000000000001";
    std::fs::create_dir(&gnocchi).unwrap();
    std::os::unix::fs::symlink(sandbox.outside("canary"), format!("{gnocchi}/{metric}")).unwrap();
    for dir in [
        "../outside",
        "..",
        "/",
        outside.as_str(),
        gnocchi.as_str(),
        &long_name(),
    ] {
        sandbox.attempt(&["import-gnocchi", "-a", "low", dir]);
    }
    assert_eq!(
        std::fs::read_to_string(sandbox.outside("canary/keep")).unwrap(),
        "canary"
    );
}

/// Sends a request and checks it is answered without a 5xx and without a
/// file outside the store.
async fn http(
    sandbox: &Sandbox,
    app: &axum::Router,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (StatusCode, String) {
    let before = sandbox.listing();
    let answer = send(app, method, path, &[ADMIN, JSON, ACCEPT], body).await;
    assert!(
        answer.status.as_u16() < 500,
        "{method} {}: {} {}",
        shown(&[path]),
        answer.status,
        answer.body
    );
    assert_eq!(
        sandbox.listing(),
        before,
        "{method} {} wrote outside the store",
        shown(&[path])
    );
    sandbox.assert_store_names_clean();
    (answer.status, answer.body)
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn the_rest_api_refuses_or_maps_hostile_names() {
    let sandbox = Sandbox::new();
    let app = sandbox.app();
    let mut names = hostile_names(&sandbox);
    names.extend([
        "evil\u{0}outside".to_owned(),
        "a/b".to_owned(),
        "a_b".to_owned(),
    ]);
    for name in &names {
        let quoted = json_string(name);
        let in_path = url_escape(name);
        let policy =
            format!(r#"{{"name": {quoted}, "definition": [{{"granularity": 1, "points": 10}}]}}"#);
        let (status, _) = http(&sandbox, &app, "POST", "/v1/archive_policy", Some(&policy)).await;
        if status == StatusCode::CREATED {
            let path = format!("/v1/archive_policy/{in_path}");
            http(&sandbox, &app, "GET", &path, None).await;
            let rule = format!(
                r#"{{"name": {quoted}, "metric_pattern": {quoted}, "archive_policy_name": {quoted}}}"#
            );
            http(
                &sandbox,
                &app,
                "POST",
                "/v1/archive_policy_rule",
                Some(&rule),
            )
            .await;
            let rule_path = format!("/v1/archive_policy_rule/{in_path}");
            http(&sandbox, &app, "DELETE", &rule_path, None).await;
            http(&sandbox, &app, "DELETE", &path, None).await;
        }
        let resource_type = format!(r#"{{"name": {quoted}}}"#);
        http(
            &sandbox,
            &app,
            "POST",
            "/v1/resource_type",
            Some(&resource_type),
        )
        .await;
        let typed = format!("/v1/resource/{in_path}");
        http(&sandbox, &app, "POST", &typed, Some(r#"{"id": "r"}"#)).await;
        http(&sandbox, &app, "GET", &format!("{typed}/r"), None).await;
        http(&sandbox, &app, "DELETE", &format!("{typed}/r"), None).await;
        let type_path = format!("/v1/resource_type/{in_path}");
        http(&sandbox, &app, "DELETE", &type_path, None).await;

        let resource = format!(
            r#"{{"id": {quoted}, "metrics": {{{quoted}: {{"archive_policy_name": "low"}}}}}}"#
        );
        let (status, body) = http(
            &sandbox,
            &app,
            "POST",
            "/v1/resource/generic",
            Some(&resource),
        )
        .await;
        if status == StatusCode::CREATED {
            let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert!(uuid::Uuid::parse_str(doc["id"].as_str().unwrap()).is_ok());
        }
        let resource_path = format!("/v1/resource/generic/{in_path}");
        http(&sandbox, &app, "GET", &resource_path, None).await;
        let measures = format!("{resource_path}/metric/{in_path}/measures");
        http(
            &sandbox,
            &app,
            "POST",
            &measures,
            Some(r#"[{"timestamp": 1, "value": 1}]"#),
        )
        .await;
        http(&sandbox, &app, "GET", &measures, None).await;
        http(&sandbox, &app, "DELETE", &resource_path, None).await;

        let metric = format!(r#"{{"name": {quoted}, "archive_policy_name": "low"}}"#);
        let (status, _) = http(&sandbox, &app, "POST", "/v1/metric", Some(&metric)).await;
        if name.contains('/') {
            assert_eq!(status, StatusCode::BAD_REQUEST, "metric {}", shown(&[name]));
        }
        let metric_path = format!("/v1/metric/{in_path}");
        http(&sandbox, &app, "GET", &metric_path, None).await;
        http(
            &sandbox,
            &app,
            "POST",
            &format!("{metric_path}/measures"),
            Some("[]"),
        )
        .await;
        http(&sandbox, &app, "DELETE", &metric_path, None).await;

        let batch = format!(
            r#"{{{quoted}: {{{quoted}: {{"archive_policy_name": "low", "measures": [{{"timestamp": 1, "value": 1}}]}}}}}}"#
        );
        http(
            &sandbox,
            &app,
            "POST",
            "/v1/batch/resources/metrics/measures?create_metrics=true",
            Some(&batch),
        )
        .await;
        let batch_metrics = format!(r#"{{{quoted}: [{{"timestamp": 1, "value": 1}}]}}"#);
        http(
            &sandbox,
            &app,
            "POST",
            "/v1/batch/metrics/measures",
            Some(&batch_metrics),
        )
        .await;
        let influx = format!(
            "{},host={} value=1 1\n",
            name.replace([' ', ','], "_"),
            name.replace([' ', ','], "_")
        );
        // The database names the resource type; a line body, not JSON.
        for db in ["x", in_path.as_str()] {
            let before = sandbox.listing();
            let path = format!("/v1/influxdb/write?db={db}");
            let answer = send(&app, "POST", &path, &[ADMIN], Some(&influx)).await;
            assert!(
                answer.status.as_u16() < 500,
                "influx {}: {}",
                shown(&[&path]),
                answer.body
            );
            assert_eq!(sandbox.listing(), before);
        }
        // Gnocchi's grammar takes a name that starts as an identifier (the
        // rest ignored) and answers 501 otherwise; a quoted name is whole.
        let query = format!("/v1/influxdb/query?q=CREATE%20DATABASE%20{in_path}");
        let answer = send(&app, "POST", &query, &[ADMIN], None).await;
        let identifier = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
        // A resource-type name past 255 characters is refused.
        let expected = match (identifier, name.len() > 255) {
            (true, false) => StatusCode::NO_CONTENT,
            (true, true) => StatusCode::BAD_REQUEST,
            (false, _) => StatusCode::NOT_IMPLEMENTED,
        };
        assert_eq!(answer.status, expected, "{}", shown(&[&query]));
        let quoted_query = format!(
            "/v1/influxdb/query?q=CREATE%20DATABASE%20{}",
            url_escape(&quoted)
        );
        http(&sandbox, &app, "POST", &quoted_query, None).await;
    }
    // Gnocchi's answers to the path-like ids and names.
    for (path, body, message) in [
        (
            "/v1/resource/generic",
            r#"{"id": "../outside"}"#,
            "'/' is not supported in resource id",
        ),
        (
            "/v1/metric",
            r#"{"name": "../outside", "archive_policy_name": "low"}"#,
            "'/' is not supported in metric name",
        ),
    ] {
        let (status, answer) = http(&sandbox, &app, "POST", path, Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(answer.contains(message), "{answer}");
    }
    let (status, body) = http(
        &sandbox,
        &app,
        "POST",
        "/v1/resource/generic",
        Some(r#"{"id": "evil\u0000outside"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // A NUL in a path segment.
    for path in [
        "/v1/metric/%00",
        "/v1/metric/%FF%FE",
        "/v1/resource/generic/%FF",
        "/v1/resource/%2E%2E/x",
        "/v1/resource/..%2F..%2Fetc/x",
        "/v1/resource_type/%FF",
        "/v1/archive_policy/%C0%AE%C0%AE",
        "/v1/archive_policy_rule/%00",
        "/v1/resource/generic/x/metric/%FF/measures",
        "/v1/resource/generic/x/history",
        "/v1/metric/%2E%2E/measures",
    ] {
        http(&sandbox, &app, "GET", path, None).await;
        http(&sandbox, &app, "DELETE", path, None).await;
    }
    http(
        &sandbox,
        &app,
        "GET",
        "/v1/resource/generic/..%2F..%2Foutside",
        None,
    )
    .await;
    http(&sandbox, &app, "GET", "/v1/archive_policy/%2E%2E", None).await;
}

#[tokio::test]
async fn prometheus_labels_that_look_like_paths_stay_in_the_index() {
    use carbonara::ingest::prometheus::{TimeSeries, WriteRequest};
    let sandbox = Sandbox::new();
    sandbox.accepted(&[
        "archive-policy-rule",
        "create",
        "all",
        "-a",
        "low",
        "-m",
        "*",
    ]);
    let app = sandbox.app();
    let outside = sandbox.outside("outside");
    let long = long_name();
    let hostile = [
        "../outside",
        "/etc/passwd",
        outside.as_str(),
        "evil\u{0}outside",
        "..",
        &long,
    ];
    for value in hostile {
        for labels in [
            [("__name__", value), ("job", "node"), ("instance", "h")],
            [("__name__", "up"), ("job", value), ("instance", value)],
        ] {
            let request = WriteRequest {
                timeseries: vec![TimeSeries::new(&labels, &[(1.0, 1_700_000_000_000)])],
            };
            let before = sandbox.listing();
            let answer = crate::serve::common::send_remote_write(&app, &request).await;
            assert!(
                answer.status.as_u16() < 500,
                "{}: {} {}",
                shown(&[value]),
                answer.status,
                answer.body
            );
            assert_eq!(sandbox.listing(), before, "{}", shown(&[value]));
            sandbox.assert_store_names_clean();
            // Gnocchi refuses a `/` in metric names and resource ids (made
            // of job and instance), and a resource id too long to map.
            let as_resource = labels[1].1 == value;
            let refused = value.contains('/') || (as_resource && value.len() > 255);
            let expected = match refused {
                true => StatusCode::BAD_REQUEST,
                false => StatusCode::ACCEPTED,
            };
            assert_eq!(answer.status, expected, "{}", shown(&[value]));
        }
    }
}
