//! A campaign's outcome, and the table of them all.

use std::time::Duration;

#[derive(Debug, Default)]
pub struct Row {
    pub campaign: String,
    /// Runs of the command under test.
    pub runs: u32,
    /// Runs faulted: killed before they ended on their own, or failed on
    /// a full disk.
    pub faults: u32,
    /// Measures the runs acknowledged (exit 0, or a 2xx answer).
    pub acknowledged: u64,
    /// Acknowledged measures found in the store after recovery, and
    /// measures found that were never acknowledged (a killed run's batch
    /// taken whole, a request answered too late).
    pub found: u64,
    pub unacknowledged_found: u64,
    /// Acknowledged measures not found.
    pub lost: u64,
    /// Measures found more often than sent, or never sent.
    pub duplicated: u64,
    /// Runs whose archives after recovery equal neither uninterrupted run
    /// (with and without the killed command's input).
    pub differing: u32,
    pub panics: u32,
    /// Failures whose message does not say what happened (a full disk
    /// not named as such, or no path), or whose exit code is not 1.
    pub unclear_errors: u32,
    /// Entries left in tmp/ after recovery.
    pub tmp_left: u32,
    pub verify_problems: u32,
    pub elapsed: Duration,
}

impl Row {
    pub fn new(campaign: &str) -> Row {
        Row {
            campaign: campaign.to_owned(),
            ..Row::default()
        }
    }

    /// Whether nothing went wrong.
    pub fn clean(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.differing == 0
            && self.panics == 0
            && self.unclear_errors == 0
            && self.tmp_left == 0
            && self.verify_problems == 0
    }
}

const HEADER: [&str; 13] = [
    "campaign",
    "runs",
    "faults",
    "acknowledged",
    "found",
    "found unacked",
    "lost",
    "duplicated",
    "differing",
    "panics",
    "unclear errors",
    "tmp left",
    "verify problems",
];

/// The rows as a Markdown table, with a total row and each campaign's time.
pub fn render(rows: &[Row]) -> String {
    let mut lines = vec![
        format!("| {} | seconds |", HEADER.join(" | ")),
        format!("| --- |{} ---: |", " ---: |".repeat(HEADER.len() - 1)),
    ];
    let mut total = Row::new("**total**");
    for row in rows {
        lines.push(line(row));
        total.runs += row.runs;
        total.faults += row.faults;
        total.acknowledged += row.acknowledged;
        total.found += row.found;
        total.unacknowledged_found += row.unacknowledged_found;
        total.lost += row.lost;
        total.duplicated += row.duplicated;
        total.differing += row.differing;
        total.panics += row.panics;
        total.unclear_errors += row.unclear_errors;
        total.tmp_left += row.tmp_left;
        total.verify_problems += row.verify_problems;
        total.elapsed += row.elapsed;
    }
    lines.push(line(&total));
    lines.join("\n")
}

fn line(row: &Row) -> String {
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} |",
        row.campaign,
        row.runs,
        row.faults,
        row.acknowledged,
        row.found,
        row.unacknowledged_found,
        row.lost,
        row.duplicated,
        row.differing,
        row.panics,
        row.unclear_errors,
        row.tmp_left,
        row.verify_problems,
        row.elapsed.as_secs_f64()
    )
}
