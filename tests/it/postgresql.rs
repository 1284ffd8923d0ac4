//! A PostgreSQL server for the tests, from Debian's `postgresql` package:
//! `initdb` into a temporary directory, `postgres` on a free loopback port,
//! stopped by its PID. One server serves the whole test binary (`server()`,
//! started by the first test that asks, about 2 s); each test makes its own
//! database with `create_database`. Every role is trusted but
//! [`PASSWORD_ROLE`], which must give its password (SCRAM), for the errors
//! of a wrong one.
//!
//! Where the server binaries are missing or the server cannot start, the
//! test that asked fails with the reason: PostgreSQL tests are never
//! skipped. A static is never dropped, so a watcher shell stops the shared
//! server and removes its directory once the test process has gone.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The one role that logs in with a password (on 127.0.0.1, by
/// `scram-sha-256`, PostgreSQL's default method).
pub const PASSWORD_ROLE: &str = "carbonara_pw";
pub const PASSWORD: &str = "pw-Secret-9";

/// How long the server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Who runs the server's programs: `initdb` refuses to run as root, so a
/// root test process runs them as the `postgres` user the package creates.
fn as_server_user(program: &Path) -> Command {
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn missing(what: &str) -> ! {
    panic!(
        "PostgreSQL tests need the server binaries: {what}; install Debian's package \
         (`apt-get install postgresql`) or set PGBIN to a directory holding initdb and postgres"
    )
}

/// `$PGBIN`, else the newest `/usr/lib/postgresql/*/bin` (Debian's layout).
fn server_binaries() -> PathBuf {
    let bin = match std::env::var_os("PGBIN") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let newest = std::fs::read_dir("/usr/lib/postgresql")
                .into_iter()
                .flatten()
                .filter_map(|entry| {
                    let entry = entry.ok()?;
                    let major: u32 = entry.file_name().to_str()?.parse().ok()?;
                    Some((major, entry.path().join("bin")))
                })
                .filter(|(_, bin)| bin.join("initdb").exists())
                .max();
            match newest {
                Some((_, bin)) => bin,
                None => missing("no /usr/lib/postgresql/*/bin/initdb and PGBIN is not set"),
            }
        }
    };
    for program in ["initdb", "postgres", "pg_dump"] {
        if !bin.join(program).exists() {
            missing(&format!("{} does not exist", bin.join(program).display()));
        }
    }
    bin
}

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("binding a loopback port")
        .port()
}

fn run(command: &mut Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("PostgreSQL test server: {what}: {e}"));
    assert!(
        output.status.success(),
        "PostgreSQL test server: {what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A running PostgreSQL server on 127.0.0.1, trusting the `postgres` user.
pub struct PgServer {
    bin: PathBuf,
    port: u16,
    /// The postmaster's PID, from `postmaster.pid`.
    pid: i32,
    /// What was spawned: `postgres` itself, or `runuser` around it.
    child: Child,
    /// The shell that stops the server when the test process is gone.
    watcher: Child,
    dir: tempfile::TempDir,
}

impl PgServer {
    /// A new server of its own; `server()` is the shared one.
    pub fn start() -> PgServer {
        let bin = server_binaries();
        let dir = tempfile::Builder::new()
            .prefix("carbonara-pg")
            .tempdir()
            .expect("creating the PostgreSQL test directory");
        // SAFETY: geteuid(2) has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            run(
                Command::new("chown").arg("postgres:").arg(dir.path()),
                "chown postgres: of the test directory",
            );
        }
        let data = dir.path().join("data");
        run(
            as_server_user(&bin.join("initdb"))
                .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C"])
                .arg("--no-sync")
                .arg("-D")
                .arg(&data),
            "initdb",
        );
        // pg_hba.conf's first matching line wins: before initdb's trust.
        let hba = data.join("pg_hba.conf");
        let trusted = std::fs::read_to_string(&hba).expect("reading pg_hba.conf");
        std::fs::write(
            &hba,
            format!("host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n{trusted}"),
        )
        .expect("writing pg_hba.conf");
        // Another process may take the port between its choice and the
        // bind: try a few.
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port();
            match PgServer::spawn(&bin, dir.path(), port) {
                Ok(child) => {
                    let server = PgServer::ready(bin, dir, port, child);
                    server
                        .connect("postgres")
                        .batch_execute(&format!(
                            "CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}'"
                        ))
                        .expect("creating the role with a password");
                    return server;
                }
                Err(log) => last_log = log,
            }
        }
        panic!("PostgreSQL test server did not start:\n{last_log}");
    }

    /// Starts `postgres` and waits until it accepts connections; its log if
    /// it exits first.
    fn spawn(bin: &Path, dir: &Path, port: u16) -> Result<Child, String> {
        let log_path = dir.join(format!("postgres-{port}.log"));
        let log = File::create(&log_path).expect("creating the PostgreSQL log");
        let mut child = as_server_user(&bin.join("postgres"))
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-p", &port.to_string(), "-k"])
            .arg(dir)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("PostgreSQL log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.join("postgres").display()));
        let url = format!("postgresql://postgres@127.0.0.1:{port}/postgres");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().expect("waiting for postgres") {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                return Err(format!("postgres exited ({status}):\n{log}"));
            }
            if postgres::Client::connect(&url, postgres::NoTls).is_ok() {
                return Ok(child);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("PostgreSQL test server: no connection after {START_TIMEOUT:?}:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn ready(bin: PathBuf, dir: tempfile::TempDir, port: u16, child: Child) -> PgServer {
        let pid_file = dir.path().join("data/postmaster.pid");
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|text| text.lines().next()?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no PID in {}", pid_file.display()));
        // Fast shutdown (SIGINT) once this process is gone, then the
        // directory goes too. Its own process group: a Ctrl-C of the tests
        // must not stop the watcher before it has cleaned up.
        let script = format!(
            "while kill -0 {test} 2>/dev/null; do sleep 1; done; \
             kill -INT {pid} 2>/dev/null; \
             while kill -0 {pid} 2>/dev/null; do sleep 0.1; done; \
             rm -rf '{dir}'",
            test = std::process::id(),
            dir = dir.path().display(),
        );
        let watcher = std::os::unix::process::CommandExt::process_group(
            Command::new("sh")
                .args(["-c", &script])
                .stdin(Stdio::null()),
            0,
        )
        .spawn()
        .expect("starting the PostgreSQL watcher shell");
        PgServer {
            bin,
            port,
            pid,
            child,
            watcher,
            dir,
        }
    }

    /// The URL of a database on this server.
    pub fn url(&self, database: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// A client of a database on this server.
    pub fn connect(&self, database: &str) -> postgres::Client {
        postgres::Client::connect(&self.url(database), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", self.url(database)))
    }

    /// Creates an empty database and returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        let mut admin = self.connect("postgres");
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        self.url(name)
    }

    /// `pg_dump ARGS… DATABASE`'s output (the server's own pg_dump).
    pub fn pg_dump(&self, database: &str, args: &[&str]) -> String {
        let output = Command::new(self.bin.join("pg_dump"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args(args)
            .arg(database)
            .output()
            .expect("running pg_dump");
        assert!(
            output.status.success(),
            "pg_dump {args:?} {database}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("pg_dump writes UTF-8")
    }

    /// The directory of the data directory and the socket.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // The watcher first, so that it never signals a reused PID.
        let _ = self.watcher.kill();
        let _ = self.watcher.wait();
        // SAFETY: kill(2) on the postmaster this server started.
        unsafe { libc::kill(self.pid, libc::SIGINT) };
        // `runuser` (or postgres itself) returns when the postmaster has
        // shut down.
        let _ = self.child.wait();
    }
}

/// The server shared by every test of this binary.
pub fn server() -> &'static PgServer {
    static SERVER: OnceLock<PgServer> = OnceLock::new();
    SERVER.get_or_init(PgServer::start)
}

/// The rows of a query of two columns, as pairs.
pub fn pairs<A, B>(client: &mut postgres::Client, sql: &str) -> Vec<(A, B)>
where
    A: for<'a> postgres::types::FromSql<'a>,
    B: for<'a> postgres::types::FromSql<'a>,
{
    client
        .query(sql, &[])
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

/// A name unique in this run, after `purpose`.
fn unique_name(purpose: &str) -> String {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    format!("{purpose}_{n}")
}

/// A new empty database on the shared server, named after `purpose` and
/// unique in this run; its URL.
pub fn fresh_database(purpose: &str) -> String {
    server().create_database(&unique_name(purpose))
}

/// A new empty database owned by [`PASSWORD_ROLE`]; its URL as that role,
/// with [`PASSWORD`].
pub fn fresh_database_with_password(purpose: &str) -> String {
    let server = server();
    let name = unique_name(purpose);
    server
        .connect("postgres")
        .batch_execute(&format!("CREATE DATABASE \"{name}\" OWNER {PASSWORD_ROLE}"))
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    format!(
        "postgresql://{PASSWORD_ROLE}:{PASSWORD}@127.0.0.1:{}/{name}",
        server.port
    )
}

#[test]
fn each_database_is_its_own_and_the_server_stops_on_drop() {
    let shared_a = fresh_database("harness");
    let shared_b = fresh_database("harness");
    assert_ne!(shared_a, shared_b);
    let mut a = postgres::Client::connect(&shared_a, postgres::NoTls).unwrap();
    let mut b = postgres::Client::connect(&shared_b, postgres::NoTls).unwrap();
    a.batch_execute("CREATE TABLE t (x int); INSERT INTO t VALUES (7)")
        .unwrap();
    let x: i32 = a.query_one("SELECT x FROM t", &[]).unwrap().get(0);
    assert_eq!(x, 7);
    assert!(b.query("SELECT x FROM t", &[]).is_err());
    let name = |url: &str| url.rsplit('/').next().unwrap().to_owned();
    let dump = server().pg_dump(&name(&shared_a), &["--schema-only"]);
    assert!(
        dump.contains("CREATE TABLE public.t (\n    x integer\n);"),
        "{dump}"
    );
    let settings: Vec<(String, String)> = pairs(
        &mut b,
        "SELECT name, setting FROM pg_settings WHERE name IN \
         ('fsync', 'synchronous_commit', 'full_page_writes', 'listen_addresses') ORDER BY name",
    );
    assert_eq!(
        settings,
        [
            ("fsync", "off"),
            ("full_page_writes", "off"),
            ("listen_addresses", "127.0.0.1"),
            ("synchronous_commit", "off")
        ]
        .map(|(n, s)| (n.to_owned(), s.to_owned()))
    );

    // A server of its own is stopped, and its directory removed, on drop.
    let own = PgServer::start();
    let url = own.url("postgres");
    let dir = own.dir().to_path_buf();
    own.connect("postgres").batch_execute("SELECT 1").unwrap();
    drop(own);
    assert!(postgres::Client::connect(&url, postgres::NoTls).is_err());
    assert!(!dir.exists());
}
