//! A Redis server for the tests, from Debian's `redis-server` package: one
//! per test that asks (it starts in a few milliseconds), on a free loopback
//! port, in a temporary directory, without persistence, stopped by its PID
//! when dropped — or by the kernel when the thread that started it ends
//! (`PR_SET_PDEATHSIG`), should the test process die first. `Monitor`
//! records the commands clients send it, as `redis-cli monitor` shows them.
//!
//! Where the binary is missing or the server cannot start, the test that
//! asked fails with the reason: Redis tests are never skipped.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long the server may take to answer `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// `$REDIS_SERVER`, else Debian's `/usr/bin/redis-server`.
fn server_binary() -> PathBuf {
    let binary = std::env::var_os("REDIS_SERVER")
        .map_or_else(|| PathBuf::from("/usr/bin/redis-server"), PathBuf::from);
    if !binary.exists() {
        panic!(
            "Redis tests need the server binary: {} does not exist; install Debian's package \
             (`apt-get install redis-server`) or set REDIS_SERVER to a redis-server binary",
            binary.display()
        );
    }
    binary
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("binding a loopback port")
        .port()
}

/// A running redis-server on 127.0.0.1.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
    options: Vec<String>,
    dir: tempfile::TempDir,
}

/// Why a server did not start: its exit and log.
struct StartError(String);

impl RedisServer {
    pub fn start() -> RedisServer {
        RedisServer::start_with(&[])
    }

    /// A server given more options (`--requirepass PW`, `--appendonly yes`,
    /// …; the later of a repeated option counts).
    pub fn start_with(options: &[&str]) -> RedisServer {
        let dir = tempfile::Builder::new()
            .prefix("carbonara-redis")
            .tempdir()
            .expect("creating the Redis test directory");
        let mut server = RedisServer {
            port: 0,
            child: None,
            options: options.iter().map(|o| (*o).to_owned()).collect(),
            dir,
        };
        // Another process may take the port between its choice and the
        // bind: try a few.
        let mut last_log = String::new();
        for _ in 0..5 {
            server.port = free_port();
            match server.spawn() {
                Ok(()) => return server,
                Err(StartError(log)) => last_log = log,
            }
        }
        panic!("Redis test server did not start:\n{last_log}");
    }

    /// Starts the server on its port and directory and waits for `PONG`.
    fn spawn(&mut self) -> Result<(), StartError> {
        let binary = server_binary();
        let port = self.port;
        let log_path = self.dir.path().join(format!("redis-{port}.log"));
        let mut command = Command::new(&binary);
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(&log_path)
            .args(&self.options)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: prctl(2) is async-signal-safe, as pre_exec requires.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().expect("waiting for redis-server") {
                return Err(StartError(format!(
                    "redis-server exited ({status}):\n{}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                )));
            }
            if ping(port) {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "Redis test server: no PONG after {START_TIMEOUT:?}:\n{}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops the server (SIGTERM: with `--appendonly yes` it keeps its
    /// data) and waits for it.
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

    /// Starts the stopped server again, on the same port and directory.
    pub fn restart(&mut self) {
        self.stop();
        if let Err(StartError(log)) = self.spawn() {
            panic!("Redis test server did not start again:\n{log}");
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A client connection to one of its databases.
    pub fn connect(&self, db: i64) -> redis::Connection {
        self.connect_as(db, None)
    }

    /// A client connection to one of its databases, with a password.
    pub fn connect_as(&self, db: i64, password: Option<&str>) -> redis::Connection {
        let mut login = redis::RedisConnectionInfo::default().set_db(db);
        if let Some(password) = password {
            login = login.set_password(password);
        }
        let info = redis::IntoConnectionInfo::into_connection_info(("127.0.0.1", self.port))
            .expect("a loopback address")
            .set_redis_settings(login);
        redis::Client::open(info)
            .and_then(|client| client.get_connection())
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", self.url()))
    }

    /// The directory it runs in (its logs).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether a server answers on the port, `PING` or (with `--requirepass`)
/// `NOAUTH`.
fn ping(port: u16) -> bool {
    let answer = redis::Client::open(("127.0.0.1", port))
        .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(1)))
        .and_then(|mut connection| redis::cmd("PING").query::<String>(&mut connection));
    match answer {
        Ok(pong) => pong == "PONG",
        Err(error) => error.code() == Some("NOAUTH"),
    }
}

/// One command as MONITOR shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub db: i64,
    /// `ip:port` of the client, or `lua` for a script's own commands.
    pub client: String,
    pub args: Vec<String>,
}

/// The commands a server receives, read by a thread of its own until the
/// server goes away.
pub struct Monitor {
    sent: Arc<(Mutex<Vec<Sent>>, Condvar)>,
    /// The connection that sends the markers, left out of what `during`
    /// returns.
    marker: redis::Connection,
    marks: usize,
}

impl Monitor {
    pub fn start(server: &RedisServer) -> Monitor {
        let mut connection = server.connect(0);
        redis::cmd("MONITOR")
            .exec(&mut connection)
            .expect("MONITOR answers OK");
        let sent: Arc<(Mutex<Vec<Sent>>, Condvar)> = Arc::default();
        let shared = Arc::clone(&sent);
        std::thread::spawn(move || {
            while let Ok(redis::Value::SimpleString(line)) = connection.recv_response() {
                let (lock, seen) = &*shared;
                lock.lock().unwrap().push(parse_monitor_line(&line));
                seen.notify_all();
            }
        });
        Monitor {
            sent,
            marker: server.connect(0),
            marks: 0,
        }
    }

    /// What clients other than the markers' sent while `action` ran,
    /// scripts' own commands left out; and what `action` returned.
    pub fn during<T>(&mut self, action: impl FnOnce() -> T) -> (Vec<Sent>, T) {
        let start = self.mark();
        let result = action();
        let end = self.mark();
        let (lock, _) = &*self.sent;
        let sent = lock.lock().unwrap();
        let ours = &sent[end].client;
        let between = sent[start + 1..end]
            .iter()
            .filter(|c| c.client != "lua" && &c.client != ours)
            .cloned()
            .collect();
        (between, result)
    }

    /// Sends a marker and waits until MONITOR shows it; its index.
    fn mark(&mut self) -> usize {
        self.marks += 1;
        let marker = format!("carbonara-mark-{}", self.marks);
        redis::cmd("ECHO")
            .arg(&marker)
            .exec(&mut self.marker)
            .expect("ECHO");
        let (lock, seen) = &*self.sent;
        let wanted = ["ECHO".to_owned(), marker];
        let (sent, timeout) = seen
            .wait_timeout_while(lock.lock().unwrap(), Duration::from_secs(10), |sent| {
                !sent.iter().any(|c| c.args == wanted)
            })
            .unwrap();
        assert!(!timeout.timed_out(), "MONITOR did not show {wanted:?}");
        sent.iter().position(|c| c.args == wanted).unwrap()
    }
}

/// `1700000000.123456 [0 127.0.0.1:5555] "SET" "k" "v"`.
fn parse_monitor_line(line: &str) -> Sent {
    let (_, after) = line.split_once('[').expect("MONITOR line: [db client]");
    let (where_, command) = after.split_once(']').expect("MONITOR line: ]");
    let (db, client) = where_.split_once(' ').expect("MONITOR line: db client");
    let mut args = Vec::new();
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut arg = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => arg.push('\n'),
                    Some('r') => arg.push('\r'),
                    Some('t') => arg.push('\t'),
                    Some('a') => arg.push('\u{7}'),
                    Some('b') => arg.push('\u{8}'),
                    // A byte Redis shows as `\xHH`: the character of that
                    // code point, as Python's `unicode_escape` reads it.
                    Some('x') => {
                        let hex: String = chars.by_ref().take(2).collect();
                        let byte = u8::from_str_radix(&hex, 16).expect("MONITOR line: \\xHH");
                        arg.push(char::from(byte));
                    }
                    Some(other) => arg.push(other),
                    None => {}
                },
                c => arg.push(c),
            }
        }
        args.push(arg);
    }
    Sent {
        db: db.parse().expect("MONITOR line: a database number"),
        client: client.to_owned(),
        args,
    }
}

#[test]
fn a_server_of_its_own_answers_and_stops_on_drop() {
    let server = RedisServer::start();
    let port = server.port();
    let dir = server.dir().to_path_buf();
    let mut monitor = Monitor::start(&server);
    let mut client = server.connect(2);
    let (sent, ()) = monitor.during(|| {
        redis::cmd("MSET")
            .arg("k")
            .arg("a \"quoted\"\nvalue")
            .arg("b")
            .arg(b"\x81\x07\x08\x01".as_slice())
            .exec(&mut client)
            .unwrap();
    });
    let set: Vec<_> = sent.iter().filter(|c| c.args[0] == "MSET").collect();
    assert_eq!(set.len(), 1, "{sent:?}");
    assert_eq!(set[0].db, 2);
    assert_eq!(
        set[0].args,
        [
            "MSET",
            "k",
            "a \"quoted\"\nvalue",
            "b",
            "\u{81}\u{7}\u{8}\u{1}"
        ]
    );
    // No persistence: nothing written in its directory but its log.
    let config: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("appendonly")
        .query(&mut client)
        .unwrap();
    assert_eq!(config, ["appendonly", "no"]);
    drop(client);
    drop(server);
    assert!(!ping(port), "the server stopped");
    assert!(!dir.exists());
}

/// A Redis Sentinel (`redis-server --sentinel`) watching one master under
/// a name, on a free loopback port, stopped by its PID when dropped.
pub struct Sentinel {
    port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Sentinel {
    pub fn start(master: &RedisServer, name: &str) -> Sentinel {
        let dir = tempfile::Builder::new()
            .prefix("carbonara-sentinel")
            .tempdir()
            .expect("creating the Sentinel test directory");
        let port = free_port();
        let config = dir.path().join("sentinel.conf");
        std::fs::write(
            &config,
            format!(
                "port {port}\nbind 127.0.0.1\nsentinel monitor {name} 127.0.0.1 {} 1\n",
                master.port()
            ),
        )
        .expect("writing sentinel.conf");
        let mut command = Command::new(server_binary());
        command
            .arg(&config)
            .arg("--sentinel")
            .arg("--logfile")
            .arg(dir.path().join("sentinel.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: prctl(2) is async-signal-safe, as pre_exec requires.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("starting redis-server --sentinel");
        let sentinel = Sentinel {
            port,
            child,
            _dir: dir,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while !ping(port) {
            assert!(
                Instant::now() < deadline,
                "Redis Sentinel: no PONG after {START_TIMEOUT:?}: {}",
                std::fs::read_to_string(sentinel._dir.path().join("sentinel.log"))
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        sentinel
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let pid = i32::try_from(self.child.id()).expect("a PID fits in pid_t");
        // SAFETY: kill(2) on the sentinel this value started, not reaped yet.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}
