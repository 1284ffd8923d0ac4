//! The torture harness: campaigns that kill carbonara at random moments
//! while it writes, or cut its power, then check that nothing it
//! acknowledged was lost, that nothing was stored twice, and that the
//! store is whole. One table row per campaign (tests/README.md, "The
//! torture harness").
//!
//! `cargo test --test torture` runs the short version CI runs;
//! `CARBONARA_TORTURE_KILLS=N` kills each campaign's command N times
//! (default 6), `CARBONARA_TORTURE_POWER_STATES=N` checks about N crash
//! states a power-cut scenario (default 150), `CARBONARA_TORTURE_FAULTS=N`
//! injects N I/O faults into each command of the fault campaign (default
//! 8; `all`: one at each call of each system call faulted); a name given
//! after `--` runs the campaigns whose names contain it. Exits 1 when any
//! campaign lost, duplicated, panicked, failed unclearly, left files in
//! tmp/, differs from an uninterrupted run, or left `verify` problems.

mod connections;
#[path = "../support/copy_dir.rs"]
mod copy_dir;
mod crash_states;
mod environment;
mod faults;
mod full_disk;
mod full_disk_serve;
mod inputs;
mod kill;
mod power_cut;
mod recovery;
mod serve;
mod soak;
mod statsd;
mod store;
mod syscalls;
mod table;

use table::Row;

const DEFAULT_KILLS: u32 = 6;
/// Crash states checked a power-cut scenario by default.
const DEFAULT_POWER_CUT_STATES: u64 = 150;
const DEFAULT_FAULTS: usize = 8;

fn main() {
    let kills = match std::env::var("CARBONARA_TORTURE_KILLS") {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("CARBONARA_TORTURE_KILLS={text}: not a count")),
        Err(_) => DEFAULT_KILLS,
    };
    let power_cut_states = match std::env::var("CARBONARA_TORTURE_POWER_STATES") {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("CARBONARA_TORTURE_POWER_STATES={text}: not a count")),
        Err(_) => DEFAULT_POWER_CUT_STATES,
    };
    let faults = match std::env::var("CARBONARA_TORTURE_FAULTS").as_deref() {
        Ok("all") => None,
        Ok(text) => Some(
            text.parse()
                .unwrap_or_else(|_| panic!("CARBONARA_TORTURE_FAULTS={text}: not a count")),
        ),
        Err(_) => Some(DEFAULT_FAULTS),
    };
    // `cargo test NAME` hands NAME (and the harness's flags) to every test
    // target: a name selects campaigns, flags are not ours.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    let selected = |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f));
    let mut rows: Vec<Row> = Vec::new();
    for campaign in kill::campaigns() {
        if selected(campaign.name) {
            eprintln!("torture: {} ×{kills}", campaign.name);
            rows.push(campaign.run(kills));
        }
    }
    if selected(serve::NAME) {
        eprintln!("torture: {} ×{kills}", serve::NAME);
        rows.push(serve::run(kills));
    }
    if selected(statsd::NAME) {
        eprintln!("torture: {} ×{kills}", statsd::NAME);
        rows.push(statsd::run(kills));
    }
    let mut notes = Vec::new();
    match full_disk::run(kills, selected) {
        Ok(full) => rows.extend(full),
        Err(refused) => notes.push(format!(
            "full disk: not run: cannot mount a tmpfs: {refused}"
        )),
    }
    let (power_rows, power_notes) = power_cut::run(power_cut_states, selected);
    rows.extend(power_rows);
    notes.extend(power_notes);
    match faults::run(faults, selected) {
        Ok((fault_rows, tally)) => {
            if !fault_rows.is_empty() {
                notes.push(format!(
                    "Faults injected, by system call and error:\n\n{}",
                    tally.render()
                ));
            }
            rows.extend(fault_rows);
        }
        Err(refused) => notes.push(format!("fault: not run: {refused}")),
    }
    if selected(environment::READ_ONLY) {
        eprintln!("torture: {}", environment::READ_ONLY);
        match environment::read_only() {
            Ok(row) => rows.push(row),
            Err(refused) => notes.push(format!(
                "{}: not run: cannot mount the store read-only: {refused}",
                environment::READ_ONLY
            )),
        }
    }
    if selected(environment::DESCRIPTORS) {
        eprintln!("torture: {}", environment::DESCRIPTORS);
        rows.push(environment::descriptor_limit());
    }
    if selected(environment::DELETED) {
        eprintln!("torture: {}", environment::DELETED);
        rows.push(environment::deleted_under_serve());
    }
    if selected(soak::NAME) {
        eprintln!("torture: {}", soak::NAME);
        let (row, note) = soak::run();
        rows.push(row);
        notes.push(note);
    }
    let mut failures = Vec::new();
    if selected(connections::NAME) {
        eprintln!("torture: {}", connections::NAME);
        match connections::run() {
            Ok(note) => notes.push(note),
            Err(failure) => failures.push(format!("{}: {failure}", connections::NAME)),
        }
    }
    if rows.is_empty() && notes.is_empty() && failures.is_empty() {
        return;
    }
    if !rows.is_empty() {
        println!("{}", table::render(&rows));
    }
    for note in notes {
        println!("\n{note}");
    }
    let mut failed: Vec<String> = rows
        .iter()
        .filter(|row| !row.clean())
        .map(|row| row.campaign.clone())
        .collect();
    failed.extend(failures);
    if !failed.is_empty() {
        eprintln!("torture: failed: {}", failed.join(", "));
        std::process::exit(1);
    }
}
