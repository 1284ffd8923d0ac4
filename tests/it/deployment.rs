//! carbonara on a Gnocchi deployment: `--gnocchi-conf` with a PostgreSQL
//! indexer and the file drivers, `upgrade` doing gnocchi-upgrade's job,
//! `init --index/--storage/--incoming` pointing a store directory at the
//! same backends, the files written where and as Gnocchi's drivers write
//! them, and the errors of a configuration that cannot work.

use std::fs;
use std::path::{Path, PathBuf};

use predicates::str::contains;
use serde_json::Value;

use carbonara::server::AuthMode;
use carbonara::store::coordinator::postgres::lock_keys;
use carbonara::store::coordinator::sack_lock_name;
use carbonara::store::incoming::SackName;

use crate::common::{TestStore, strings_of};
use crate::gnocchi_conf::GnocchiConf;
use crate::postgresql;
use crate::serve::common::{send, test_app};
use crate::serve::{delete_between_passes, http, serve_from, wait_for_a_pass};

/// A Gnocchi deployment with the file drivers in one directory.
struct Deployment(GnocchiConf);

impl std::ops::Deref for Deployment {
    type Target = GnocchiConf;

    fn deref(&self) -> &GnocchiConf {
        &self.0
    }
}

impl Deployment {
    /// An empty database and directory, as before gnocchi-upgrade.
    fn new(purpose: &str) -> Deployment {
        Deployment::on(&postgresql::fresh_database(purpose))
    }

    /// A directory and its `gnocchi.conf` for the database at `url`.
    fn on(url: &str) -> Deployment {
        let deployment = Deployment(GnocchiConf::on(url));
        fs::write(
            deployment.conf(),
            format!(
                "[indexer]\nurl = {}\n\n[storage]\ndriver = file\nfile_basepath = {}\n\n\
                 [incoming]\ndriver = file\n",
                deployment
                    .url
                    .replacen("postgresql://", "postgresql+psycopg2://", 1),
                deployment.storage().display()
            ),
        )
        .unwrap();
        deployment
    }

    /// A deployment made by `upgrade` with 8 sacks and the default policies.
    fn upgraded(purpose: &str) -> Deployment {
        let deployment = Deployment::new(purpose);
        deployment
            .run(&["upgrade", "--sacks-number", "8", "-q"])
            .success();
        deployment
    }
}

/// The files under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| {
            entry
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    files
}

#[test]
fn upgrade_makes_a_deployment_as_gnocchi_upgrade_does() {
    let deployment = Deployment::new("upgrade");
    let first = deployment.json(&["upgrade", "--sacks-number", "8"]);
    assert_eq!(first["schema created"], true, "{first}");
    assert_eq!(first["sacks"], 8);
    let base = deployment.storage();
    assert_eq!(
        fs::read_to_string(base.join("tmp/gnocchi-config")).unwrap(),
        "{\"sacks\": 8}"
    );
    assert_eq!(
        fs::read_to_string(base.join("tmp/gnocchi-storage-config")).unwrap(),
        "{\"subdir_len\": 2}"
    );
    for sack in 0..8 {
        assert!(
            base.join(format!("incoming8-{sack}")).is_dir(),
            "sack {sack}"
        );
    }
    let policies = strings_of(&deployment.json(&["archive-policy", "list"]), "name");
    assert_eq!(policies, ["bool", "high", "low", "medium"]);
    // Again: nothing is created twice, and a deployment keeps its sacks.
    let again = deployment.json(&["upgrade", "--sacks-number", "16"]);
    assert_eq!(again["schema created"], false, "{again}");
    assert_eq!(again["sacks"], 8);
    assert_eq!(
        deployment
            .json(&["archive-policy", "list"])
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn upgrade_can_leave_the_policies_out() {
    let deployment = Deployment::new("skip_policies");
    deployment
        .run(&["upgrade", "--skip-archive-policies-creation", "-q"])
        .success();
    assert_eq!(
        deployment.json(&["archive-policy", "list"]),
        Value::Array(vec![])
    );
    assert_eq!(deployment.json(&["sacks"])["sacks"], 128);
}

#[test]
fn measures_are_processed_into_gnocchis_own_files() {
    let deployment = Deployment::upgraded("process");
    let metric = deployment.json(&["metric", "create", "cpu", "--archive-policy-name", "low"]);
    let id = metric["id"].as_str().unwrap().to_owned();
    deployment
        .run(&[
            "measures",
            "add",
            &id,
            "-m",
            "2024-01-01T00:00:00@1",
            "-m",
            "2024-01-01T00:01:00@3",
            "-m",
            "2024-01-01T00:07:00@8",
        ])
        .success();
    let sack = uuid::Uuid::parse_str(&id).unwrap().as_u128() % 8;
    let waiting = files_under(&deployment.storage().join(format!("incoming8-{sack}/{id}")));
    assert_eq!(waiting.len(), 1, "one measure file per batch: {waiting:?}");
    deployment.run(&["process", "-q"]).success();
    let means: Vec<(String, f64)> = deployment
        .json(&["measures", "show", &id, "--aggregation", "mean"])
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["timestamp"].as_str().unwrap().to_owned(),
                row["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        means,
        [
            ("2024-01-01T00:00:00+00:00".to_owned(), 2.0),
            ("2024-01-01T00:05:00+00:00".to_owned(), 8.0)
        ]
    );
    // Gnocchi's file storage layout: the id's hex cut in two-character
    // directories, then the id, then its aggregates.
    let hex = id.replace('-', "");
    let mut metric_dir = deployment.storage();
    for pair in hex.as_bytes().chunks(2) {
        metric_dir.push(std::str::from_utf8(pair).unwrap());
    }
    metric_dir.push(&id);
    let files = files_under(&metric_dir);
    assert!(files.contains(&"none_v3".to_owned()), "{files:?}");
    assert!(
        // 2024-01-01 falls in the split that starts at 1703160000 (3600
        // points of 5 minutes each).
        files.contains(&"agg_mean/1703160000.0_300.0_v3".to_owned()),
        "{files:?}"
    );
    assert!(
        !deployment
            .storage()
            .join(format!("incoming8-{sack}/{id}"))
            .exists()
    );
    // metricd's side writes, which Gnocchi's own janitor reads.
    let row = deployment
        .client()
        .query_one(
            "SELECT needs_raw_data_truncation FROM metric WHERE id = $1::text::uuid",
            &[&id],
        )
        .unwrap();
    assert!(!row.get::<_, bool>(0));
}

#[test]
fn a_sack_gnocchi_metricd_holds_is_left_alone() {
    let deployment = Deployment::upgraded("tooz");
    let metric = deployment.json(&["metric", "create", "cpu", "--archive-policy-name", "low"]);
    let id = metric["id"].as_str().unwrap().to_owned();
    deployment
        .run(&["measures", "add", &id, "-m", "2024-01-01T00:00:00@1"])
        .success();
    // The lock gnocchi-metricd takes through tooz's PostgreSQL driver.
    let number = (uuid::Uuid::parse_str(&id).unwrap().as_u128() % 8) as u32;
    let [k1, k2] = lock_keys(&sack_lock_name(SackName { total: 8, number }));
    let mut metricd = deployment.client();
    let taken: bool = metricd
        .query_one("SELECT pg_try_advisory_lock($1, $2)", &[&k1, &k2])
        .unwrap()
        .get(0);
    assert!(taken);
    let report = deployment.json(&["process"]);
    assert_eq!(report["busy sacks"], 1, "{report}");
    assert_eq!(report["metrics"], 0, "{report}");
    assert_eq!(
        deployment.json(&["status"])["storage/total number of measures to process"],
        1
    );
    // Released by gnocchi-metricd: the next pass takes it, and frees it.
    metricd
        .query_one("SELECT pg_advisory_unlock($1, $2)", &[&k1, &k2])
        .unwrap();
    let report = deployment.json(&["process"]);
    assert_eq!(report["metrics"], 1, "{report}");
    let free: bool = metricd
        .query_one("SELECT pg_try_advisory_lock($1, $2)", &[&k1, &k2])
        .unwrap()
        .get(0);
    assert!(free, "carbonara released the sack after its pass");
}

#[test]
fn every_command_works_on_a_deployment() {
    let deployment = Deployment::upgraded("commands");
    let csv = deployment.dir.path().join("measures.csv");
    fs::write(
        &csv,
        "metric,resource,timestamp,value\n\
         cpu,web1,2024-01-01T00:00:00,1\n\
         cpu,web1,2024-01-01T00:05:00,2\n\
         cpu,web2,2024-01-01T00:00:00,5\n",
    )
    .unwrap();
    deployment
        .run(&[
            "ingest",
            "csv",
            "--metric-column",
            "metric",
            "--resource-column",
            "resource",
            "--create-resources",
            "--create-metrics",
            "-q",
            csv.to_str().unwrap(),
        ])
        .success();
    assert_eq!(
        deployment.json(&["status"])["storage/total number of measures to process"],
        3
    );
    deployment.run(&["process", "-q"]).success();
    let searched = deployment.json(&["resource", "search", "original_resource_id = 'web1'"]);
    assert_eq!(searched.as_array().unwrap().len(), 1, "{searched}");
    deployment
        .run(&["resource", "update", "web1", "--attribute", "user_id:alice"])
        .success();
    assert_eq!(
        deployment
            .json(&["resource", "history", "web1"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let means = deployment.json(&["measures", "show", "cpu", "-r", "web1"]);
    assert!(!means.as_array().unwrap().is_empty(), "{means}");
    let aggregated = deployment.json(&[
        "aggregates",
        "(aggregate mean (metric cpu mean))",
        "original_resource_id like 'web%'",
        "--resource-type",
        "generic",
    ]);
    assert!(
        aggregated.to_string().contains("2024-01-01T00:00:00"),
        "{aggregated}"
    );
    let info = deployment.json(&["info"]);
    assert_eq!(info["metrics"], 2, "{info}");
    // The size on disk counts the storage directory, not only carbonara's
    // own state in it: 14 archive files at a block each at least.
    assert!(
        info["size on disk"].as_u64().unwrap() >= 14 * 4096,
        "{info}"
    );
    deployment.run(&["info", "cpu", "-r", "web1"]).success();
    deployment
        .run(&["dump", "cpu", "-r", "web1", "--summary"])
        .success();
    let verify = deployment.run(&["verify"]);
    let out = String::from_utf8_lossy(&verify.get_output().stdout).into_owned();
    assert!(verify.get_output().status.success(), "{out}");
    deployment
        .run(&["metric", "delete", "cpu", "-r", "web2"])
        .success();
    deployment.run(&["janitor", "-q"]).success();
    assert_eq!(
        deployment
            .client()
            .query_one("SELECT count(*) FROM metric", &[])
            .unwrap()
            .get::<_, i64>(0),
        1
    );
    deployment.run(&["verify"]).success();
}

#[test]
fn serve_takes_keystone_from_the_deployment() {
    let deployment = Deployment::new("keystone_conf");
    let mut conf = fs::read_to_string(deployment.conf()).unwrap();
    conf.push_str(
        "\n[api]\nauth_mode = keystone\n\n[keystone_authtoken]\nauth_type = v3token\n\
         auth_url = http://127.0.0.1:5000/v3\n",
    );
    fs::write(deployment.conf(), conf).unwrap();
    // keystonemiddleware's options are read before the server starts.
    deployment
        .run(&["serve", "--listen", "127.0.0.1:0"])
        .code(1)
        .stderr(contains("[keystone_authtoken] auth_type"));
    // Keystone needs the deployment's options.
    assert_cmd::cargo_bin_cmd!("carbonara")
        .env_remove("CARBONARA_GNOCCHI_CONF")
        .args(["--store", "/nonexistent", "serve", "--auth", "keystone"])
        .assert()
        .code(2)
        .stderr(contains("--gnocchi-conf"));
}

#[test]
fn a_store_directory_can_point_at_a_deployments_backends() {
    let deployment = Deployment::new("init");
    let store = store_on(&deployment, &["--sacks", "4"]);
    let files = format!("file://{}", deployment.storage().display());
    let config: Value =
        serde_json::from_str(&fs::read_to_string(store.path().join("store.json")).unwrap())
            .unwrap();
    assert_eq!(config["index"], deployment.url.as_str());
    assert_eq!(config["storage"], files.as_str());
    assert_eq!(config["sacks"], 4);
    assert!(!store.path().join("index.sqlite").exists());
    let id = store.create_metric("disk", "medium");
    // The same deployment through its configuration file.
    assert_eq!(deployment.json(&["metric", "show", &id])["name"], "disk");
    assert_eq!(deployment.json(&["sacks"])["sacks"], 4);
}

/// Basic authentication as admin, with a JSON body.
const ADMIN_JSON: [(&str, &str); 2] = [
    ("authorization", "basic YWRtaW46"),
    ("content-type", "application/json"),
];

/// A store directory whose index and files are the deployment's, made by
/// `init` with `options` besides.
fn store_on(deployment: &Deployment, options: &[&str]) -> TestStore {
    let store = TestStore::empty();
    let files = format!("file://{}", deployment.storage().display());
    let mut args = vec!["init", "--index", &deployment.url];
    args.extend(["--storage", &files, "--incoming", &files]);
    args.extend(options);
    store.run(&args).success();
    store
}

/// A runtime for a test to drive the server on, as `carbonara serve`
/// does: the server is opened and closed outside it.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// `serve` over a deployment's PostgreSQL index: every lookup runs off
/// the async threads (rust-postgres's synchronous client panics on one,
/// which aborted the server on its first `GET …/measures`), the first read
/// and the one answered from memory alike. The server is opened and closed
/// outside the runtime, as `carbonara serve` does.
#[test]
fn serve_reads_measures_through_a_deployments_index() {
    let deployment = Deployment::upgraded("serve");
    let store = store_on(&deployment, &[]);
    let app = test_app(&store, AuthMode::Basic);
    runtime().block_on(async {
        let admin = ADMIN_JSON;
        let path = format!("/v1/metric/{}/measures", low_metric(&app).await);
        post(
            &app,
            &path,
            r#"[{"timestamp": "2024-01-01T00:00:00", "value": 2}, {"timestamp": "2024-01-01T00:01:00", "value": 4}]"#,
        )
        .await;
        let expected = serde_json::json!([["2024-01-01T00:00:00+00:00", 300.0, 3.0]]);
        let refreshed = send(&app, "GET", &format!("{path}?refresh=true"), &admin, None).await;
        assert_eq!(refreshed.status, 200, "{}", refreshed.body);
        assert_eq!(refreshed.json(), expected);
        for _ in 0..2 {
            let again = send(&app, "GET", &path, &admin, None).await;
            assert_eq!(
                (again.status.as_u16(), again.json()),
                (200, expected.clone())
            );
        }
    });
}

/// A new metric under `low`, made through `app`: its id.
async fn low_metric(app: &axum::Router) -> String {
    let body = r#"{"archive_policy_name": "low"}"#;
    let created = send(app, "POST", "/v1/metric", &ADMIN_JSON, Some(body)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.json()["id"].as_str().unwrap().to_owned()
}

/// Posts `body` to `path`, which must accept it.
async fn post(app: &axum::Router, path: &str, body: &str) {
    let answer = send(app, "POST", path, &ADMIN_JSON, Some(body)).await;
    assert_eq!(answer.status, 202, "{}", answer.body);
}

/// The measures `GET path` answers, as JSON.
async fn measures(app: &axum::Router, path: &str) -> Value {
    let answer = send(
        app,
        "GET",
        path,
        &[("authorization", "basic YWRtaW46")],
        None,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()
}

/// An answer `serve` keeps in memory on a deployment is given again only
/// while the archive is as it was read: gnocchi-metricd rewrites a
/// metric's splits (by rename) and then its bound series file (in place)
/// without carbonara's archive generation, and the server must see it.
/// Here the files of an earlier state are put back as metricd writes them.
#[test]
fn serve_sees_an_archive_rewritten_behind_its_back() {
    let deployment = Deployment::upgraded("serve_rewritten");
    let store = store_on(&deployment, &[]);
    let app = test_app(&store, AuthMode::Basic);
    runtime().block_on(async {
        let id = low_metric(&app).await;
        let path = format!("/v1/metric/{id}/measures");
        post(
            &app,
            &path,
            r#"[{"timestamp": "2024-01-01T00:00:00", "value": 2}]"#,
        )
        .await;
        let first = serde_json::json!([["2024-01-01T00:00:00+00:00", 300.0, 2.0]]);
        assert_eq!(measures(&app, &format!("{path}?refresh=true")).await, first);
        let metric_dir = walkdir::WalkDir::new(deployment.storage())
            .into_iter()
            .map(Result::unwrap)
            .find(|entry| {
                entry.file_name().to_str() == Some(id.as_str()) && entry.file_type().is_dir()
            })
            .unwrap()
            .into_path();
        let earlier: Vec<(PathBuf, Vec<u8>)> = files_under(&metric_dir)
            .into_iter()
            .map(|file| {
                let bytes = fs::read(metric_dir.join(&file)).unwrap();
                (metric_dir.join(file), bytes)
            })
            .collect();
        post(
            &app,
            &path,
            r#"[{"timestamp": "2024-01-01T00:05:00", "value": 6}]"#,
        )
        .await;
        let second = serde_json::json!([
            ["2024-01-01T00:00:00+00:00", 300.0, 2.0],
            ["2024-01-01T00:05:00+00:00", 300.0, 6.0]
        ]);
        assert_eq!(
            measures(&app, &format!("{path}?refresh=true")).await,
            second
        );
        // Kept, once the bound file is old enough to tell a rewrite.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert_eq!(measures(&app, &path).await, second);
        assert_eq!(measures(&app, &path).await, second);
        // metricd's way: the splits renamed into place, then the bound
        // series written over.
        for (file, bytes) in &earlier {
            if file.ends_with("none_v3") {
                continue;
            }
            let staged = file.with_extension("staged");
            fs::write(&staged, bytes).unwrap();
            fs::rename(&staged, file).unwrap();
        }
        let (bound, bytes) = earlier
            .iter()
            .find(|(f, _)| f.ends_with("none_v3"))
            .unwrap();
        fs::write(bound, bytes).unwrap();
        assert_eq!(measures(&app, &path).await, first);
    });
}

/// The binary on a deployment: it answers from the PostgreSQL index and,
/// on SIGTERM, closes its connections off the runtime's threads and exits
/// 0 (closing one on them aborted the process).
#[test]
fn serve_on_a_deployment_stops_cleanly() {
    let deployment = Deployment::upgraded("serve_stop");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("carbonara"))
        .env_remove("CARBONARA_STORE")
        .arg("--gnocchi-conf")
        .arg(deployment.conf())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--process-interval",
            "0",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
    let address = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    let metric = deployment.json(&["metric", "create", "--archive-policy-name", "low"]);
    let path = format!("/v1/metric/{}/measures", metric["id"].as_str().unwrap());
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    std::io::Write::write_all(
        &mut stream,
        format!(
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: basic YWRtaW46\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(status.success(), "{status}: {rest}");
    assert!(!rest.contains("panicked"), "{rest}");
}

/// `serve` waits `[api] operation_timeout` for a sack gnocchi-metricd
/// holds before answering 503, and its background passes expunge deleted
/// metrics every `[metricd] metric_cleanup_delay` (here 0: every pass).
#[test]
fn serve_takes_its_delays_from_the_deployment() {
    let deployment = Deployment::upgraded("serve_delays");
    let mut conf = fs::read_to_string(deployment.conf()).unwrap();
    conf.push_str("\n[api]\noperation_timeout = 1\n\n[metricd]\nmetric_cleanup_delay = 0\n");
    fs::write(deployment.conf(), conf).unwrap();
    let create = || {
        deployment.json(&["metric", "create", "--archive-policy-name", "low"])["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (gone, other) = (create(), create());
    for id in [&gone, &other] {
        deployment
            .run(&["measures", "add", id, "-m", "2023-12-31T00:00:00@1"])
            .success();
    }
    deployment.run(&["process", "-q"]).success();
    let archived = |id: &str| {
        files_under(&deployment.storage())
            .iter()
            .any(|f| f.contains(id))
    };
    assert!(archived(&gone));
    let mut carbonara = std::process::Command::new(assert_cmd::cargo::cargo_bin!("carbonara"));
    carbonara.arg("--gnocchi-conf").arg(deployment.conf());
    let served = serve_from(carbonara, &["--process-interval", "0.1s"]);

    // gnocchi-metricd holds the sack of measures to refresh (before they
    // come, lest the background pass take them).
    let number = (uuid::Uuid::parse_str(&other).unwrap().as_u128() % 8) as u32;
    let [k1, k2] = lock_keys(&sack_lock_name(SackName { total: 8, number }));
    let mut metricd = deployment.client();
    metricd
        .query_one("SELECT pg_advisory_lock($1, $2)", &[&k1, &k2])
        .unwrap();
    deployment
        .run(&["measures", "add", &other, "-m", "2023-12-31T00:05:00@2"])
        .success();
    let asked = std::time::Instant::now();
    let (status, body) = http(
        &served.address,
        "GET",
        &format!("/v1/metric/{other}/measures?refresh=true"),
        None,
    );
    let waited = asked.elapsed();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("Metric is locked"), "{body}");
    // Well short of the default 10 s: the file's time was waited.
    assert!(
        waited >= std::time::Duration::from_secs(1) && waited < std::time::Duration::from_secs(8),
        "{waited:?}"
    );
    metricd
        .query_one("SELECT pg_advisory_unlock($1, $2)", &[&k1, &k2])
        .unwrap();

    // Two passes, then a deletion, then two more: the first of them
    // expunged it.
    delete_between_passes(&served, &gone, &other);
    assert!(!archived(&gone));
    assert!(archived(&other));
}

/// `[metricd] metric_processing_delay = 0` (gnocchi-metricd scans its
/// sacks back to back) makes `serve`'s background passes follow each
/// other closely; it stopped the server at start (tokio's ticker refuses
/// a zero period).
#[test]
fn serve_passes_back_to_back_at_a_zero_processing_delay() {
    let deployment = Deployment::upgraded("serve_no_delay");
    let mut conf = fs::read_to_string(deployment.conf()).unwrap();
    conf.push_str("\n[metricd]\nmetric_processing_delay = 0\n");
    fs::write(deployment.conf(), conf).unwrap();
    let metric = deployment.json(&["metric", "create", "--archive-policy-name", "low"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut carbonara = std::process::Command::new(assert_cmd::cargo::cargo_bin!("carbonara"));
    carbonara.arg("--gnocchi-conf").arg(deployment.conf());
    let served = serve_from(carbonara, &[]);
    wait_for_a_pass(&served, &metric, 0);
    wait_for_a_pass(&served, &metric, 1);
}

/// A wrong password is said with the URL it was given for, the password
/// hidden, whether the URL comes from `init --index` or from gnocchi.conf;
/// the right one works.
#[test]
fn a_wrong_password_is_said_without_showing_it() {
    let url = postgresql::fresh_database_with_password("password");
    let wrong = url.replacen(postgresql::PASSWORD, "not-the-Password", 1);
    let hidden = url.replacen(postgresql::PASSWORD, "***", 1);
    let refused = |assert: assert_cmd::assert::Assert, shown: &str| {
        let stderr = String::from_utf8_lossy(&assert.code(1).get_output().stderr).into_owned();
        assert!(stderr.contains(shown), "{stderr}");
        assert!(
            stderr.contains("password authentication failed"),
            "{stderr}"
        );
        assert!(!stderr.contains("not-the-Password"), "{stderr}");
    };
    let files_dir = tempfile::tempdir().unwrap();
    let files = format!("file://{}", files_dir.path().display());
    let store = TestStore::empty();
    let init = |index: &str| {
        store.run(&[
            "init",
            "--index",
            index,
            "--storage",
            &files,
            "--incoming",
            &files,
        ])
    };
    refused(init(&wrong), &hidden);
    refused(
        Deployment::on(&wrong).run(&["upgrade", "-q"]),
        &hidden.replacen("postgresql://", "postgresql+psycopg2://", 1),
    );
    let deployment = Deployment::on(&url);
    deployment.run(&["upgrade", "-q"]).success();
    // The refused init left nothing behind.
    init(&url).success();
    let id = store.create_metric("disk", "low");
    assert_eq!(deployment.json(&["metric", "show", &id])["name"], "disk");
}

#[test]
fn bad_deployments_are_said_plainly() {
    let deployment = Deployment::new("errors");
    // Not set up yet.
    deployment
        .run(&["metric", "list"])
        .code(1)
        .stderr(contains("not set up yet"))
        .stderr(contains("carbonara upgrade"));
    // Nothing listens there; the password is never shown.
    let unreachable = tempfile::tempdir().unwrap();
    let storage = unreachable.path().join("storage");
    fs::create_dir_all(storage.join("tmp")).unwrap();
    fs::write(storage.join("tmp/gnocchi-config"), "{\"sacks\": 8}").unwrap();
    let conf = unreachable.path().join("gnocchi.conf");
    fs::write(
        &conf,
        format!(
            "[indexer]\nurl = postgresql://gnocchi:s3cret@127.0.0.1:9/gnocchi\n\n\
             [storage]\nfile_basepath = {}\n",
            storage.display()
        ),
    )
    .unwrap();
    let assert = assert_cmd::cargo_bin_cmd!("carbonara")
        .arg("--gnocchi-conf")
        .arg(&conf)
        .args(["metric", "list"])
        .assert()
        .code(1)
        .stderr(contains("postgresql://gnocchi:***@127.0.0.1:9/gnocchi"));
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(!stderr.contains("s3cret"), "{stderr}");
    // A schema at another revision.
    deployment.run(&["upgrade", "-q"]).success();
    deployment
        .client()
        .batch_execute("UPDATE alembic_version SET version_num = '1e1a63d3d186'")
        .unwrap();
    deployment
        .run(&["metric", "list"])
        .code(1)
        .stderr(contains("1e1a63d3d186"))
        .stderr(contains("gnocchi-upgrade"));
    // A store directory and a deployment at once, or a command that
    // makes store directories.
    deployment
        .command(&["metric", "list"])
        .arg("--store")
        .arg(deployment.dir.path())
        .assert()
        .code(2);
    deployment
        .run(&["init"])
        .code(2)
        .stderr(contains("--gnocchi-conf"));
}
