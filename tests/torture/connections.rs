//! Hostile connections: many idle ones held open and a request with a
//! 1 MiB header, against `serve`. The big header must be refused with 431
//! and, with the idle connections open, another client must still be
//! answered within 2 s.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::serve::{agent, free_port, wait_until_up};
use crate::store;

pub const NAME: &str = "idle connections";
/// Under the 1 024 descriptors a default `ulimit -n` gives each side.
const DEFAULT_IDLE: usize = 500;
const PATIENCE: Duration = Duration::from_secs(2);

/// What was seen, or what failed.
pub fn run() -> Result<String, String> {
    let idle: usize = std::env::var("CARBONARA_TORTURE_IDLE_CONNECTIONS")
        .map(|text| {
            text.parse()
                .expect("CARBONARA_TORTURE_IDLE_CONNECTIONS: a count")
        })
        .unwrap_or(DEFAULT_IDLE);
    let dir = store::template();
    let listen = format!("127.0.0.1:{}", free_port());
    let url = format!("http://{listen}");
    let mut server = store::command(dir.path(), &["serve", "--listen", &listen])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until_up(&url);
    let outcome = probe(&listen, &url, idle);
    server.kill().unwrap();
    server.wait().unwrap();
    outcome
}

fn probe(listen: &str, url: &str, idle: usize) -> Result<String, String> {
    let mut big = TcpStream::connect(listen).map_err(|e| e.to_string())?;
    let header = "x".repeat(1 << 20);
    let _ = big.write_all(
        format!("GET /v1/metric HTTP/1.1\r\nHost: a\r\nX-Big: {header}\r\n\r\n").as_bytes(),
    );
    big.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut answer = [0u8; 64];
    let read = big
        .read(&mut answer)
        .map_err(|e| format!("1 MiB header: no answer: {e}"))?;
    let status = String::from_utf8_lossy(&answer[..read]).into_owned();
    if !status.starts_with("HTTP/1.1 431") {
        return Err(format!("1 MiB header answered {status:?}, not 431"));
    }
    let mut held = Vec::with_capacity(idle);
    for n in 0..idle {
        held.push(TcpStream::connect(listen).map_err(|e| format!("idle connection {n}: {e}"))?);
    }
    let started = Instant::now();
    let answered = agent()
        .get(&format!("{url}/v1/archive_policy"))
        .header("authorization", "basic YWRtaW46")
        .call()
        .map_err(|e| format!("with {idle} idle connections: {e}"))?;
    let took = started.elapsed();
    if !answered.status().is_success() || took > PATIENCE {
        return Err(format!(
            "with {idle} idle connections: {} in {took:?}",
            answered.status()
        ));
    }
    Ok(format!(
        "{NAME}: a 1 MiB header refused with 431; with {idle} idle connections open another client was answered in {took:?}"
    ))
}
