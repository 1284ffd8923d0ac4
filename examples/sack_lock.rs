//! One of tooz's PostgreSQL sack locks taken by carbonara, for
//! `scripts/oracle/tooz_sack_locks.py` to set against tooz's own
//! `PostgresLock` as gnocchi-metricd takes it:
//!
//! ```text
//! sack_lock URL hold TOTAL NUMBER          prints `held`, holds until stdin ends
//! sack_lock URL try TOTAL NUMBER           prints `taken` (and releases) or `busy`
//! sack_lock URL wait TOTAL NUMBER SECONDS  prints `taken` (and releases) or `busy`
//! sack_lock - keys TOTAL                   prints `<number> <key1> <key2>` per sack
//! ```

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use carbonara::deployment::DatabaseUrl;
use carbonara::store::coordinator::postgres::{Coordinator, lock_keys};
use carbonara::store::coordinator::sack_lock_name;
use carbonara::store::incoming::SackName;

fn number(text: Option<&String>, what: &str) -> Result<u32, String> {
    text.ok_or(format!("{what} missing"))?
        .parse()
        .map_err(|e| format!("{what}: {e}"))
}

fn run(args: &[String]) -> Result<(), String> {
    let mode = args.get(1).map(String::as_str);
    let total = number(args.get(2), "TOTAL")?;
    if mode == Some("keys") {
        for number in 0..total {
            let [k1, k2] = lock_keys(&sack_lock_name(SackName { total, number }));
            println!("{number} {k1} {k2}");
        }
        return Ok(());
    }
    let url = DatabaseUrl::parse(args.first().ok_or("URL missing")?).map_err(|e| e.0.to_owned())?;
    let coordinator = Coordinator::new(&url).map_err(|e| e.to_string())?;
    let sack = SackName {
        total,
        number: number(args.get(3), "NUMBER")?,
    };
    let lock = match mode {
        Some("hold" | "try") => coordinator.try_lock(sack),
        Some("wait") => {
            let seconds: f64 = args
                .get(4)
                .ok_or("SECONDS missing")?
                .parse()
                .map_err(|e| format!("SECONDS: {e}"))?;
            coordinator.lock(sack, Duration::from_secs_f64(seconds))
        }
        _ => return Err("the mode is hold, try, wait or keys".to_owned()),
    }
    .map_err(|e| e.to_string())?;
    match (mode, lock) {
        (Some("hold"), Some(lock)) => {
            println!("held");
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            drop(lock);
        }
        (_, Some(_)) => println!("taken"),
        (_, None) => println!("busy"),
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("sack_lock: {message}");
            ExitCode::from(2)
        }
    }
}
