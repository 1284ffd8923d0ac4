//! `carbonara statsd`: the daemon itself, sent real UDP datagrams and TCP
//! lines on loopback; what it stores (every measure counted) and what it
//! logs on stderr in gnocchi-statsd's words.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::TestStore;

/// The daemon on a free loopback port, flushing every `interval`.
struct Daemon {
    child: Child,
    address: String,
    stderr: BufReader<std::process::ChildStderr>,
}

impl Daemon {
    fn start(store: &TestStore, interval: &str) -> Daemon {
        Daemon::spawn(
            store,
            &[
                "statsd",
                "--listen",
                "127.0.0.1:0",
                "--flush-interval",
                interval,
                "--resource-id",
                "host-1",
                "--archive-policy-name",
                "low",
            ],
        )
    }

    /// `carbonara ARGS…`, once the statsd daemon it runs has said where
    /// it listens.
    fn spawn(store: &TestStore, args: &[&str]) -> Daemon {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("carbonara"))
            .env_remove("CARBONARA_STORE")
            .arg("--store")
            .arg(store.path())
            .args(args)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        while !line.contains("udp://") {
            line.clear();
            assert!(stderr.read_line(&mut line).unwrap() > 0, "no address");
        }
        let address = line
            .split("udp://")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_owned();
        Daemon {
            child,
            address,
            stderr,
        }
    }

    fn send(&self, datagram: &[u8]) {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.send_to(datagram, &self.address).unwrap();
    }

    /// SIGTERM, then everything it wrote on stderr after its first line.
    fn stop(mut self) -> String {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status:?}");
        let mut logged = String::new();
        self.stderr.read_to_string(&mut logged).unwrap();
        logged
    }
}

/// The mean of a metric's one aggregate under `low`, after processing.
fn stored(store: &TestStore, metric: &str) -> String {
    store
        .stdout(&[
            "measures",
            "show",
            metric,
            "--refresh",
            "-f",
            "value",
            "-c",
            "value",
        ])
        .trim()
        .to_owned()
}

#[test]
fn datagrams_and_tcp_lines_are_flushed_on_exit_and_bad_lines_logged() {
    let store = TestStore::new();
    let daemon = Daemon::start(&store, "1h");
    daemon.send(b"a:1|g\na:2|g\nb:3|c|@0.5\nc:4|ms");
    daemon.send(b"b:1.5|c\nbad:abc|c\nlost:5|c");
    daemon.send(b"x:1|s\nt:2|g|@0.5");
    daemon.send(b"\xff:1|g");
    let mut tcp = TcpStream::connect(&daemon.address).unwrap();
    tcp.write_all(b"tcp:7|g\nno pipe\ntcp:8|g\n").unwrap();
    drop(tcp);
    // Datagrams travel on their own: wait until the TCP lines are in.
    std::thread::sleep(Duration::from_millis(500));
    let logged = daemon.stop();
    for message in [
        "carbonara statsd: could not convert string to float: 'abc'",
        "carbonara statsd: Unable to treat metric x:1|s: Unknown metric type `s'",
        "carbonara statsd: Unable to treat metric t:2|g|@0.5: Invalid sampling for g: `0`, should be none",
        "carbonara statsd: Unable to decode datagram: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",
        "carbonara statsd: Invalid number of | in `no pipe'",
    ] {
        assert!(logged.contains(message), "{message:?} not in {logged:?}");
    }
    // The final flush stored what was pending: one measure per metric.
    assert_eq!(stored(&store, "a|g"), "2.0");
    assert_eq!(stored(&store, "b|c"), "7.5");
    assert_eq!(stored(&store, "c|ms"), "4.0");
    assert_eq!(stored(&store, "tcp|g"), "8.0");
    // After a line Gnocchi raises on, the rest of its datagram is lost.
    store
        .run(&["metric", "show", "lost|c"])
        .failure()
        .stderr(predicates::str::contains("Metric lost|c does not exist"));
    let metric = store.json(&["metric", "show", "a|g"]);
    assert_eq!(metric["archive_policy"]["name"], "low");
    assert_eq!(metric["creator"], "admin");
    let resource = store.json(&["resource", "show", "host-1"]);
    assert_eq!(resource["type"], "generic");
    assert_eq!(resource["metrics"].as_object().unwrap().len(), 4);
}

#[test]
fn every_datagram_is_counted_across_flushes() {
    let store = TestStore::new();
    let daemon = Daemon::start(&store, "0.2s");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sent = 3000;
    let started = Instant::now();
    for i in 0..sent {
        // Several lines a datagram, as statsd clients send them.
        let datagram = format!("hits:1|c\nhits:1|c|@1\ngauge:{i}|g");
        socket
            .send_to(datagram.as_bytes(), &daemon.address)
            .unwrap();
        if i % 500 == 499 {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    assert!(started.elapsed() < Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(300));
    let logged = daemon.stop();
    assert!(!logged.contains("Unable"), "{logged}");
    // Counters are per flush: their sum over every flush is every increment.
    let sums = store.stdout(&[
        "measures",
        "show",
        "hits|c",
        "--refresh",
        "--aggregation",
        "sum",
        "-f",
        "value",
        "-c",
        "value",
    ]);
    let total: f64 = sums.lines().map(|l| l.trim().parse::<f64>().unwrap()).sum();
    assert_eq!(total, f64::from(2 * sent));
}

#[test]
fn serve_runs_the_daemon_beside_the_api() {
    let store = TestStore::new();
    let daemon = Daemon::spawn(
        &store,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--statsd",
            "127.0.0.1:0",
            "--process-interval",
            "0",
        ],
    );
    daemon.send(b"web.hits:3|c\nweb.hits:2|c\nweb.temp:21.5|g");
    std::thread::sleep(Duration::from_millis(300));
    daemon.stop();
    // Flushed on exit, onto the generic resource `statsd` of `admin`.
    assert_eq!(stored(&store, "web.hits|c"), "5.0");
    assert_eq!(stored(&store, "web.temp|g"), "21.5");
    let resource = store.json(&["resource", "show", "statsd"]);
    assert_eq!(resource["creator"], "admin");
}
