//! A Garage S3 server for the tests (tests/README.md#garage-s3):
//! one single-node cluster per test that asks, on free loopback ports, in
//! a temporary directory, with the SQLite metadata engine, replication
//! factor 1 and an imported default access key that may create buckets.
//! It is stopped by its PID when dropped — or by the kernel when the
//! thread that started it ends (`PR_SET_PDEATHSIG`), should the test
//! process die first — and can be stopped and started again on the same
//! data and ports, for fault tests.
//!
//! The binary is `$GARAGE`, else `~/.cargo/bin/garage`, else `garage` on
//! the PATH. Where it is missing or the server cannot start, the test that
//! asked fails with the reason: S3 tests are never skipped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use carbonara::store::s3::{S3Bucket, S3Settings};

use crate::redis::free_port;

/// The default access key the server imports.
pub const ACCESS_KEY_ID: &str = "GKcarbonaratest";
/// Its secret (printable, at least 16 characters, as Garage wants).
pub const SECRET_ACCESS_KEY: &str = "carbonara-test-secret-0001";
/// Garage refuses any other region in CreateBucket's LocationConstraint.
pub const REGION: &str = "garage";

/// How long the server may take to answer S3 requests.
const START_TIMEOUT: Duration = Duration::from_secs(60);

const INSTALL: &str =
    "cargo install garage --locked --no-default-features --features bundled-libs,sqlite,lmdb";

/// `$GARAGE`, else `~/.cargo/bin/garage`, else `garage` on the PATH.
fn garage_binary() -> PathBuf {
    if let Some(binary) = std::env::var_os("GARAGE") {
        let binary = PathBuf::from(binary);
        if !binary.exists() {
            panic!(
                "S3 tests need Garage: GARAGE={} does not exist; unset it or install Garage \
                 with `{INSTALL}` (about 10 minutes the first time)",
                binary.display()
            );
        }
        return binary;
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    if let Some(binary) = home.map(|home| home.join(".cargo/bin/garage"))
        && binary.exists()
    {
        return binary;
    }
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("garage"))
            .find(|binary| binary.is_file())
    });
    on_path.unwrap_or_else(|| {
        panic!(
            "S3 tests need Garage's server binary, found neither in $GARAGE, ~/.cargo/bin nor \
             the PATH; install it with `{INSTALL}` (about 10 minutes the first time; .ci/run \
             does it) or set GARAGE to a garage binary"
        )
    })
}

/// 64 random hex digits for `rpc_secret`, from two v4 UUIDs (no openssl).
fn rpc_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// A running Garage node on 127.0.0.1: a single-node cluster of its own
/// ([`Garage::start`]), or one node of a [`GarageCluster`].
pub struct Garage {
    binary: PathBuf,
    dir: tempfile::TempDir,
    s3_port: u16,
    /// Whether it lays itself out alone and imports the default access
    /// key (`server --single-node --default-access-key`).
    single_node: bool,
    child: Option<Child>,
}

impl Garage {
    pub fn start() -> Garage {
        Garage::launch(1, &rpc_secret(), true, Garage::answers_s3)
            .unwrap_or_else(|log| panic!("Garage test server did not start:\n{log}"))
    }

    /// A node in a new directory on free ports, started and waited for
    /// until `ready`; on failure, the log of the last attempt.
    fn launch(
        replication_factor: usize,
        secret: &str,
        single_node: bool,
        ready: fn(&Garage) -> bool,
    ) -> Result<Garage, String> {
        let mut garage = Garage {
            binary: garage_binary(),
            dir: tempfile::Builder::new()
                .prefix("carbonara-garage")
                .tempdir()
                .expect("creating the Garage test directory"),
            s3_port: 0,
            single_node,
            child: None,
        };
        // Another process may take a port between its choice and the
        // bind: try a few.
        let mut last_log = String::new();
        for _ in 0..5 {
            let (s3_port, rpc_port) = (free_port(), free_port());
            let config = format!(
                r#"metadata_dir = "{dir}/meta"
data_dir = "{dir}/data"
db_engine = "sqlite"
replication_factor = {replication_factor}
rpc_bind_addr = "127.0.0.1:{rpc_port}"
rpc_public_addr = "127.0.0.1:{rpc_port}"
rpc_secret = "{secret}"

[s3_api]
s3_region = "{REGION}"
api_bind_addr = "127.0.0.1:{s3_port}"
"#,
                dir = garage.dir().display()
            );
            std::fs::write(garage.dir().join("garage.toml"), config)
                .expect("writing the Garage configuration");
            garage.s3_port = s3_port;
            match garage.spawn_and_wait(ready) {
                Ok(()) => return Ok(garage),
                Err(log) => {
                    last_log = log;
                    let _ = std::fs::remove_dir_all(garage.dir().join("meta"));
                    let _ = std::fs::remove_dir_all(garage.dir().join("data"));
                }
            }
        }
        Err(last_log)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("garage.log")
    }

    /// What the server wrote (all its runs).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Starts the server on its configuration and waits until it is
    /// `ready`; on failure, stops it and returns its log.
    fn spawn_and_wait(&mut self, ready: fn(&Garage) -> bool) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("opening the Garage log");
        let mut command = Command::new(&self.binary);
        command
            .arg("-c")
            .arg(self.dir.path().join("garage.toml"))
            .arg("server")
            .args(if self.single_node {
                &["--single-node", "--default-access-key"][..]
            } else {
                &[]
            })
            .env("GARAGE_DEFAULT_ACCESS_KEY", ACCESS_KEY_ID)
            .env("GARAGE_DEFAULT_SECRET_KEY", SECRET_ACCESS_KEY)
            .env("RUST_LOG", "garage=info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("cloning the log handle"))
            .stderr(log);
        // SAFETY: prctl(2) is async-signal-safe, as pre_exec requires.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.binary.display()));
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let child = self.child.as_mut().expect("just started");
            if let Some(status) = child.try_wait().expect("waiting for garage") {
                self.child = None;
                return Err(format!("garage exited ({status}):\n{}", self.log()));
            }
            if ready(self) {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.stop();
                return Err(format!(
                    "no S3 answer after {START_TIMEOUT:?}:\n{}",
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether a signed request gets S3's answer: a HEAD on a bucket
    /// nobody made is a 404 once the layout and the key are in place.
    fn answers_s3(&self) -> bool {
        http_answers(self.s3_port)
            && S3Bucket::open(&self.settings("carbonara-probe"), "carbonara-probe-none")
                .and_then(|bucket| bucket.exists("probe"))
                .is_ok_and(|found| !found)
    }

    /// Stops the server (SIGTERM, then waits for it); its data stays.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // The child's PID: it is not reaped before the wait below, so
            // no other process can have it.
            let pid = i32::try_from(child.id()).expect("a PID fits in pid_t");
            // SAFETY: kill(2) on the server this value started.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let _ = child.wait();
        }
    }

    /// Starts the stopped server again, on the same data and ports, and
    /// waits until it answers S3 requests.
    pub fn restart(&mut self) {
        self.stop();
        if let Err(log) = self.spawn_and_wait(Garage::answers_s3) {
            panic!("Garage test server did not start again:\n{log}");
        }
    }

    /// Imports another access key, allowed to create buckets, through
    /// the `garage` command (which reaches the node by RPC).
    pub fn import_key(&self, key_id: &str, secret_access_key: &str) {
        self.garage(&["key", "import", "--yes", key_id, secret_access_key]);
        self.garage(&["key", "allow", "--create-bucket", key_id]);
    }

    /// Runs `garage ARGS…` on the node's configuration (it reaches the
    /// node by RPC); panics with its output unless it succeeds, else
    /// returns its stdout.
    fn garage(&self, args: &[&str]) -> String {
        let output = Command::new(&self.binary)
            .arg("-c")
            .arg(self.dir.path().join("garage.toml"))
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", self.binary.display()));
        assert!(
            output.status.success(),
            "garage {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `<full node id>@127.0.0.1:<rpc port>`, read from its metadata.
    fn node_address(&self) -> String {
        self.garage(&["node", "id", "--quiet"]).trim().to_owned()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// Settings for buckets `<bucket_prefix>-…`, with the credentials.
    pub fn settings(&self, bucket_prefix: &str) -> S3Settings {
        Garage::settings_for(&self.endpoint(), bucket_prefix)
    }

    /// Settings for buckets `<bucket_prefix>-…` reached at `endpoint` (a
    /// proxy in front of a node), with the credentials.
    pub fn settings_for(endpoint: &str, bucket_prefix: &str) -> S3Settings {
        S3Settings {
            endpoint_url: Some(endpoint.to_owned()),
            region: Some(REGION.to_owned()),
            access_key_id: Some(ACCESS_KEY_ID.to_owned()),
            secret_access_key: Some(SECRET_ACCESS_KEY.to_owned()),
            bucket_prefix: bucket_prefix.to_owned(),
        }
    }

    /// `s3://<bucket_prefix>?endpoint=…&region=garage`, for `carbonara init
    /// --storage/--incoming`; the credentials go in [`Garage::env`].
    pub fn url(&self, bucket_prefix: &str) -> String {
        self.settings(bucket_prefix).to_url()
    }

    /// The environment that gives the CLI the credentials.
    pub fn env(&self) -> [(&'static str, &'static str); 2] {
        [
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
        ]
    }

    /// The directory it runs in (its configuration, data and log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The bucket a cluster's nodes are probed through.
const CLUSTER_PROBE: &str = "carbonara-cluster-probe";

/// A Garage cluster of several nodes on 127.0.0.1, each a process with
/// its own directory and ports, sharing an `rpc_secret`, every object
/// kept on each node (`replication_factor` = the number of nodes), in one
/// zone, with the default access key imported. Every node answers S3 for
/// the whole cluster; with 3 nodes, one may be stopped and the other two
/// still make a quorum for reads and writes.
pub struct GarageCluster {
    nodes: Vec<Garage>,
}

impl GarageCluster {
    pub fn start(size: usize) -> GarageCluster {
        let secret = rpc_secret();
        // Before the layout, a node answers S3 requests with errors only.
        let listening = |garage: &Garage| http_answers(garage.s3_port);
        let nodes: Vec<Garage> = (0..size)
            .map(|number| {
                Garage::launch(size, &secret, false, listening).unwrap_or_else(|log| {
                    panic!("Garage cluster: node {number} did not start:\n{log}")
                })
            })
            .collect();
        let first = &nodes[0];
        let addresses: Vec<String> = nodes.iter().map(Garage::node_address).collect();
        for address in &addresses[1..] {
            first.garage(&["node", "connect", address]);
        }
        for address in &addresses {
            let id = address.split('@').next().expect("split gives one part");
            first.garage(&["layout", "assign", "-z", "dc1", "-c", "1G", id]);
        }
        first.garage(&["layout", "apply", "--version", "1"]);
        first.import_key(ACCESS_KEY_ID, SECRET_ACCESS_KEY);
        let deadline = Instant::now() + START_TIMEOUT;
        for (number, node) in nodes.iter().enumerate() {
            while !node.answers_s3() {
                assert!(
                    Instant::now() < deadline,
                    "Garage cluster: node {number} gives no S3 answer {START_TIMEOUT:?} after \
                     the layout was applied; its log:\n{}",
                    node.log()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let cluster = GarageCluster { nodes };
        cluster
            .probe(0)
            .and_then(|bucket| bucket.create())
            .unwrap_or_else(|e| panic!("Garage cluster: the probe bucket: {e}"));
        cluster
    }

    /// The bucket through which `wait_for_quorum` asks a node.
    fn probe(&self, number: usize) -> carbonara::store::Result<S3Bucket> {
        S3Bucket::open(&self.nodes[number].settings("probe"), CLUSTER_PROBE)
    }

    /// Waits until a node answers a read that needs a quorum of nodes
    /// (a missing object of the probe bucket: 404, not 503): a node started
    /// again answers S3 before it is connected to the others again.
    fn wait_for_quorum(&self, number: usize) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.probe(number).and_then(|bucket| bucket.exists("probe")) {
                Ok(_) => return,
                Err(e) => assert!(
                    Instant::now() < deadline,
                    "Garage cluster: node {number} reaches no quorum {START_TIMEOUT:?} after \
                     it started again ({e}); its log:\n{}",
                    self.nodes[number].log()
                ),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A node, to reach it (`endpoint`, `settings`) or read its log.
    pub fn node(&self, number: usize) -> &Garage {
        &self.nodes[number]
    }

    /// Stops a node (SIGTERM); its data stays.
    pub fn stop(&mut self, number: usize) {
        self.nodes[number].stop();
    }

    /// Starts a stopped node again on its data and ports, and waits until
    /// it is back in the cluster: it answers reads that need a quorum.
    pub fn restart(&mut self, number: usize) {
        self.nodes[number].restart();
        self.wait_for_quorum(number);
    }
}

/// Whether anything answers HTTP on the port.
fn http_answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut answer = [0; 5];
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .and_then(|()| stream.read_exact(&mut answer))
        .is_ok_and(|()| &answer == b"HTTP/")
}

#[test]
fn a_node_of_its_own_answers_stops_and_starts_again() {
    let mut garage = Garage::start();
    let bucket = S3Bucket::open(&garage.settings("harness"), "harness-check").unwrap();
    bucket.create().unwrap();
    bucket.put("a/b", b"kept").unwrap();
    garage.stop();
    assert!(!http_answers(garage.s3_port), "the server stopped");
    garage.restart();
    assert_eq!(bucket.get("a/b").unwrap().as_deref(), Some(&b"kept"[..]));
    // The CLI's form: the URL, the credentials from the environment
    // (given here as the URL's own fields, not to change this process's).
    let url = garage.url("harness");
    assert_eq!(
        url,
        format!("s3://harness?endpoint={}&region=garage", garage.endpoint())
    );
    let [(id_variable, id), (secret_variable, secret)] = garage.env();
    assert_eq!(
        (id_variable, secret_variable),
        ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    );
    let with_credentials = format!("{url}&access_key_id={id}&secret_access_key={secret}");
    let settings = S3Settings::from_url(&with_credentials).unwrap();
    let same = S3Bucket::open(&settings, "harness-check").unwrap();
    assert_eq!(same.get("a/b").unwrap().as_deref(), Some(&b"kept"[..]));
    let dir = garage.dir().to_path_buf();
    drop(garage);
    assert!(!dir.exists());
}

#[test]
fn a_cluster_of_three_answers_with_a_node_stopped() {
    let mut cluster = GarageCluster::start(3);
    let settings: Vec<S3Settings> = (0..3)
        .map(|node| cluster.node(node).settings("cluster"))
        .collect();
    let bucket = |node: usize| S3Bucket::open(&settings[node], "cluster-check").unwrap();
    bucket(0).create().unwrap();
    bucket(0).put("a", b"before").unwrap();
    assert_eq!(
        bucket(2).get("a").unwrap().as_deref(),
        Some(&b"before"[..]),
        "node 2 answers for what node 0 took"
    );
    cluster.stop(1);
    assert!(!http_answers(cluster.node(1).s3_port), "node 1 stopped");
    bucket(0).put("b", b"while node 1 was away").unwrap();
    assert_eq!(
        bucket(2).get("b").unwrap().as_deref(),
        Some(&b"while node 1 was away"[..]),
        "two nodes of three are a quorum"
    );
    cluster.restart(1);
    assert_eq!(
        bucket(1).get("b").unwrap().as_deref(),
        Some(&b"while node 1 was away"[..]),
        "node 1, back, answers for what it missed"
    );
}
