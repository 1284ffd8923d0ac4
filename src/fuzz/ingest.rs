//! The ingest formats: CSV (every shape, header rule, delimiter and time
//! unit, chosen by the first byte), statsd lines, InfluxDB lines, batch
//! JSON, Ceilometer samples and Prometheus remote-write bodies, each read
//! whole into a sink that skips bad lines, as `--skip-invalid` does.

use std::path::Path;
use std::sync::LazyLock;

use super::{NOW, text};
use crate::ingest::ceilometer::{self, Definitions};
use crate::ingest::csv::{Column, CsvOptions, MetricSource, TimeUnit};
use crate::ingest::influx::{self, InfluxOptions};
use crate::ingest::statsd::{self, StatsdOptions};
use crate::ingest::{Declaration, NamedMetric, ParseError, Sink, SinkError, batch, prometheus};
use crate::time::Timestamp;

const PATH: &str = "fuzz-input";
/// The CSV reader's block size here, in bytes.
const CSV_BLOCK: usize = 256;

/// Takes every measure and declaration, and goes on after bad lines.
#[derive(Default)]
struct Skipping {
    measures: u64,
}

impl Sink for Skipping {
    fn measure(&mut self, _: &str, _: Timestamp, _: f64) -> Result<(), SinkError> {
        self.measures += 1;
        Ok(())
    }

    fn named_measure(
        &mut self,
        _: &NamedMetric<'_>,
        _: Timestamp,
        _: f64,
    ) -> Result<(), SinkError> {
        self.measures += 1;
        Ok(())
    }

    fn declare(&mut self, _: Declaration<'_>) -> Result<(), SinkError> {
        Ok(())
    }

    fn invalid(&mut self, _: ParseError) -> Result<(), ParseError> {
        Ok(())
    }
}

/// The CSV options the first byte picks: the metric's source (one
/// metric, a column, the wide shape), the time unit (guessed or given),
/// the header rule, the delimiter and whether rows name resources.
fn csv_options(choice: u8) -> CsvOptions {
    let mut choice = usize::from(choice);
    let mut pick = |count: usize| {
        let picked = choice % count;
        choice /= count;
        picked
    };
    let metric = match pick(3) {
        0 => MetricSource::Fixed("cpu".to_owned()),
        1 => MetricSource::Column(Column::Name("metric".to_owned())),
        _ => MetricSource::Wide,
    };
    let mut options = CsvOptions::new(metric, NOW);
    options.time_unit = [
        None,
        Some(TimeUnit::Seconds),
        Some(TimeUnit::Milliseconds),
        Some(TimeUnit::Microseconds),
        Some(TimeUnit::Nanoseconds),
    ][pick(5)];
    options.header = [None, Some(true), Some(false)][pick(3)];
    options.delimiter = [b',', b';', b'\t'][pick(3)];
    if pick(2) == 1 && !matches!(options.metric, MetricSource::Wide) {
        options.resource_column = Some(Column::Name("resource".to_owned()));
        options.create_resources = true;
    }
    options
}

/// A CSV input: the first byte picks the options, the rest is the file.
pub fn csv(data: &[u8]) {
    let Some((&choice, body)) = data.split_first() else {
        return;
    };
    let _ = crate::ingest::csv::read_in_blocks_of(
        CSV_BLOCK,
        body,
        Path::new(PATH),
        &csv_options(choice),
        &mut Skipping::default(),
    );
}

/// A file of statsd lines, read as one flush interval.
pub fn statsd(data: &[u8]) {
    let options = StatsdOptions {
        resource_id: "fuzz".to_owned(),
        at: NOW,
    };
    let _ = statsd::read(data, Path::new(PATH), &options, &mut Skipping::default());
}

/// InfluxDB lines, as a `POST /v1/influxdb/write` body and as a file.
pub fn influx(data: &[u8]) {
    let _ = influx::read_request(data, "host", NOW);
    let options = InfluxOptions {
        db: "influxdb".to_owned(),
        resource_tag: "host".to_owned(),
        now: NOW,
    };
    let _ = influx::read(data, Path::new(PATH), &options, &mut Skipping::default());
}

/// A batch body, by metric or by resource as its shape says.
pub fn batch(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let _ = batch::read(
        text,
        Path::new(PATH),
        batch::Shape::Guess,
        "admin",
        NOW,
        &mut Skipping::default(),
    );
}

/// A file of Ceilometer samples, with the built-in definitions.
pub fn ceilometer(data: &[u8]) {
    static DEFINITIONS: LazyLock<Definitions> = LazyLock::new(|| Definitions::builtin(None));
    let Some(text) = text(data) else { return };
    let _ = ceilometer::read(
        text,
        Path::new(PATH),
        &DEFINITIONS,
        NOW,
        &mut Skipping::default(),
    );
}

/// A remote-write body (snappy, then protobuf). A body that decodes must
/// encode to one that decodes to the same request.
pub fn prometheus(data: &[u8]) {
    let _ = prometheus::read(data, Path::new(PATH), &mut Skipping::default());
    if let Ok(request) = prometheus::decode(data) {
        let encoded = prometheus::encode(&request);
        let again = prometheus::decode(&encoded).expect("an encoded request decodes");
        assert_eq!(
            prometheus::encode(&again),
            encoded,
            "decode ∘ encode changed the request"
        );
    }
}
