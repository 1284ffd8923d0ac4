//! The values of requests and command lines: timestamps, timespans and
//! archive-policy definitions, with what is done with them once parsed.

use super::{NOW, text};
use crate::policy::AggregationMethod;
use crate::policy::{ArchivePolicy, Definition, resolve_aggregation_methods};
use crate::time::{self, Timestamp};

/// A timestamp as requests give it (epoch seconds, ISO 8601, relative),
/// and as an HTTP date; every form of it is printed.
pub fn timestamp(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(timestamp) = time::parse_timestamp(text, NOW) {
        print_timestamp(timestamp);
    }
    if let Some(timestamp) = Timestamp::parse_http_date(text) {
        print_timestamp(timestamp);
    }
}

fn print_timestamp(timestamp: Timestamp) {
    let _ = (
        timestamp.to_api_string(),
        timestamp.to_precise_string(),
        timestamp.to_isoformat(),
        timestamp.to_http_date(),
        timestamp.civil(),
    );
}

/// A timespan (`60`, `5min`, `1 hour`, `1:30`), printed back.
pub fn timespan(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(span) = time::parse_timespan(text) {
        let _ = span.to_timedelta_string();
        let _ = NOW.round_down(span);
    }
}

/// A policy as lines: definitions (`granularity:1m,points:60`), a back
/// window (a number), aggregation methods (`mean`, `+rate:max`, `*`).
/// A policy they make is asked everything the store asks of one.
pub fn archive_policy(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let (mut definition, mut back_window, mut methods) = (Vec::new(), 0, Vec::new());
    for line in text.lines() {
        if let Ok(item) = line.parse::<Definition>() {
            definition.push(item);
        } else if let Ok(number) = line.parse::<u64>() {
            back_window = number;
        } else {
            methods.push(line.to_owned());
        }
    }
    let Ok(methods) = resolve_aggregation_methods(&methods, &AggregationMethod::defaults()) else {
        return;
    };
    let Ok(policy) = ArchivePolicy::new("fuzz", back_window, definition, methods) else {
        return;
    };
    let _ = (
        policy.max_block_size(),
        policy.effective_back_window(),
        policy.aggregations(),
        policy.granularities_descending(),
        policy.check_update(&policy.definition),
    );
}
