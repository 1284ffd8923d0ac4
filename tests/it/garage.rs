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

/// A running single-node Garage on 127.0.0.1.
pub struct Garage {
    binary: PathBuf,
    dir: tempfile::TempDir,
    s3_port: u16,
    child: Option<Child>,
}

impl Garage {
    pub fn start() -> Garage {
        let mut garage = Garage {
            binary: garage_binary(),
            dir: tempfile::Builder::new()
                .prefix("carbonara-garage")
                .tempdir()
                .expect("creating the Garage test directory"),
            s3_port: 0,
            child: None,
        };
        let secret = rpc_secret();
        // Another process may take a port between its choice and the
        // bind: try a few.
        let mut last_log = String::new();
        for _ in 0..5 {
            let (s3_port, rpc_port) = (free_port(), free_port());
            let config = format!(
                r#"metadata_dir = "{dir}/meta"
data_dir = "{dir}/data"
db_engine = "sqlite"
replication_factor = 1
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
            match garage.spawn_and_wait() {
                Ok(()) => return garage,
                Err(log) => {
                    last_log = log;
                    let _ = std::fs::remove_dir_all(garage.dir().join("meta"));
                    let _ = std::fs::remove_dir_all(garage.dir().join("data"));
                }
            }
        }
        panic!("Garage test server did not start:\n{last_log}");
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("garage.log")
    }

    /// What the server wrote (all its runs).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Starts the server on its configuration and waits until it answers
    /// S3 requests; on failure, stops it and returns its log.
    fn spawn_and_wait(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("opening the Garage log");
        let mut command = Command::new(&self.binary);
        command
            .arg("-c")
            .arg(self.dir.path().join("garage.toml"))
            .args(["server", "--single-node", "--default-access-key"])
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
            if http_answers(self.s3_port) && self.answers_s3() {
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
        S3Bucket::open(&self.settings("carbonara-probe"), "carbonara-probe-none")
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

    /// Starts the stopped server again, on the same data and ports.
    pub fn restart(&mut self) {
        self.stop();
        if let Err(log) = self.spawn_and_wait() {
            panic!("Garage test server did not start again:\n{log}");
        }
    }

    /// Imports another access key, allowed to create buckets, through
    /// the `garage` command (which reaches the node by RPC).
    pub fn import_key(&self, key_id: &str, secret_access_key: &str) {
        let config = self.dir.path().join("garage.toml");
        for args in [
            &["key", "import", "--yes", key_id, secret_access_key][..],
            &["key", "allow", "--create-bucket", key_id][..],
        ] {
            let output = Command::new(&self.binary)
                .arg("-c")
                .arg(&config)
                .args(args)
                .output()
                .unwrap_or_else(|e| panic!("running {}: {e}", self.binary.display()));
            assert!(
                output.status.success(),
                "garage {}: {}{}",
                args[..2].join(" "),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
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
