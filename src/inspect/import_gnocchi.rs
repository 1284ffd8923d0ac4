//! `import-gnocchi`: adopts the metrics of a genuine Gnocchi file-storage
//! directory into the store, archives and unprocessed measures, ids kept,
//! so a deployment can move off Gnocchi. Names, units and resources live in
//! Gnocchi's SQL indexer, not in its files: adopted metrics have none.
//!
//! Every metric must fit the archive policy given: its `agg_<method>`
//! directories and its split granularities must be the policy's. Every
//! file must decode. Otherwise nothing is adopted.
//!
//! All or nothing: the files are staged in one transaction and committed
//! (on S3 or Redis storage, the archive objects are written first), then
//! the metrics are created in one index transaction, all under the
//! sacks' locks so that no pass drops the measures of a metric not indexed
//! yet. A kill between the two leaves files of metrics the index does not
//! know (`verify` reports them); importing again finishes the job.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use uuid::Uuid;

use crate::carbonara::update::first_block_timestamp;
use crate::error::ErrorKind;
use crate::inspect::layout::{self, ArchiveFile, Found, MetricDir, SackMetricDir};
use crate::inspect::scan;
use crate::policy::{AggregationMethod, ArchivePolicy};
use crate::store::lock::SackLocks;
use crate::store::object::ArchiveObject;
use crate::store::{self, Index, Metric, MetricStatus, Store, io_error};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error("{0}: no Gnocchi metric directory found")]
    NothingFound(PathBuf),
    #[error("metric {metric} does not fit archive policy {policy}: {reason}")]
    PolicyMismatch {
        metric: Uuid,
        policy: String,
        reason: String,
    },
    #[error("metric {0} already exists in the store")]
    MetricExists(Uuid),
    #[error("sack {0} is being processed by another carbonara; import again later")]
    SackBusy(u32),
}

impl ImportError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ImportError::Store(e) => e.kind(),
            ImportError::NothingFound(_) | ImportError::PolicyMismatch { .. } => ErrorKind::Invalid,
            ImportError::MetricExists(_) => ErrorKind::Conflict,
            ImportError::SackBusy(_) => ErrorKind::Busy,
        }
    }
}

/// What an import adopted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub metrics: usize,
    pub archive_files: usize,
    pub measure_files: usize,
    pub measures: u64,
    /// Things that did not stop the import but that the user should know.
    pub warnings: Vec<String>,
}

/// One Gnocchi metric's files.
#[derive(Default)]
struct GnocchiMetric {
    archive: Option<MetricDir>,
    sacks: Vec<SackMetricDir>,
}

fn methods_list(policy: &ArchivePolicy) -> String {
    policy
        .aggregation_methods
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks that a metric's archive fits the policy; returns warnings.
fn check_fit(listing: &MetricDir, policy: &ArchivePolicy) -> Result<Vec<String>, ImportError> {
    let mismatch = |reason: String| ImportError::PolicyMismatch {
        metric: listing.metric,
        policy: policy.name.clone(),
        reason,
    };
    for (name, _) in &listing.aggregations {
        let known = name
            .parse::<AggregationMethod>()
            .is_ok_and(|m| policy.aggregation_methods.contains(&m));
        if !known {
            return Err(mismatch(format!(
                "it has method `{name}`; the policy has {}",
                methods_list(policy)
            )));
        }
    }
    let granularities: BTreeSet<_> = listing.splits.iter().map(|s| s.key.granularity).collect();
    let policy_granularities = policy.granularities_descending();
    for granularity in &granularities {
        if !policy_granularities.contains(granularity) {
            let wanted: Vec<String> = policy_granularities
                .iter()
                .map(ToString::to_string)
                .collect();
            return Err(mismatch(format!(
                "it has splits of granularity {granularity}; the policy has {}",
                wanted.join(", ")
            )));
        }
    }
    if let Some(stray) = listing.strays.first() {
        return Err(mismatch(format!(
            "{} is not a Gnocchi archive file",
            stray.display()
        )));
    }
    let mut warnings = Vec::new();
    if !granularities.is_empty() {
        for granularity in policy_granularities
            .iter()
            .filter(|g| !granularities.contains(g))
        {
            warnings.push(format!(
                "metric {}: no split of granularity {granularity}",
                listing.metric
            ));
        }
    }
    Ok(warnings)
}

/// The bound series keeps raw points from the first block of the policy
/// that wrote it; older ones mean Gnocchi's policy kept more.
fn check_back_window(
    metric: Uuid,
    bound: &crate::carbonara::Points,
    policy: &ArchivePolicy,
) -> Option<String> {
    let (first, last) = (bound.first()?, bound.last()?);
    let keeps_from = first_block_timestamp(
        last,
        policy.max_block_size(),
        policy.effective_back_window(),
    );
    (first < keeps_from).then(|| {
        format!(
            "metric {metric}: its raw points go back to {first}, further than archive policy {}'s back window (from {keeps_from}); the next pass drops the older ones",
            policy.name
        )
    })
}

fn collect(dir: &Path) -> Result<(BTreeMap<Uuid, GnocchiMetric>, Vec<String>), ImportError> {
    let mut metrics: BTreeMap<Uuid, GnocchiMetric> = BTreeMap::new();
    let mut warnings = Vec::new();
    for found in layout::walk(dir) {
        match found? {
            Found::Archive(listing) => {
                let id = listing.metric;
                metrics.entry(id).or_default().archive = Some(listing);
            }
            Found::Incoming(sack) => {
                let id = sack.metric;
                metrics.entry(id).or_default().sacks.push(sack);
            }
            Found::Stray(path) => {
                warnings.push(format!("{}: not Gnocchi data, left out", path.display()));
            }
        }
    }
    if metrics.is_empty() {
        return Err(ImportError::NothingFound(dir.to_owned()));
    }
    Ok((metrics, warnings))
}

/// Reads a file, checks that it decodes, and stages it at `target`.
fn stage(
    txn: &mut store::Transaction<'_>,
    file: &ArchiveFile,
    target: PathBuf,
) -> Result<scan::Decoded, ImportError> {
    let (decoded, bytes) = read_checked(file)?;
    txn.put(target, &bytes)?;
    Ok(decoded)
}

/// Reads a file and checks that it decodes.
fn read_checked(file: &ArchiveFile) -> Result<(scan::Decoded, Vec<u8>), ImportError> {
    let bytes = fs::read(&file.path).map_err(io_error(&file.path))?;
    let decoded = scan::decode_fetched(file, &bytes)?;
    Ok((decoded, bytes))
}

/// The archive object a Gnocchi archive file of `metric` is.
fn archive_object(metric: Uuid, kind: &layout::FileKind) -> ArchiveObject {
    match kind {
        layout::FileKind::Split {
            method: Some(method),
            key,
        } => ArchiveObject::Split {
            metric,
            method: method.parse().expect("checked against the policy"),
            key: *key,
        },
        _ => ArchiveObject::Bound(metric),
    }
}

/// Adopts every metric found under `dir` with the policy `policy_name`;
/// `creator` is recorded as their creator.
pub fn import(
    store: &Store,
    index: &Index,
    dir: &Path,
    policy_name: &str,
    creator: &str,
) -> Result<ImportReport, ImportError> {
    let policy = index.get_archive_policy(policy_name)?;
    let (metrics, warnings) = collect(dir)?;
    let mut report = ImportReport {
        warnings,
        ..ImportReport::default()
    };
    let incoming = store.incoming();
    let deleted: BTreeSet<Uuid> = index.deleted_metrics()?.iter().map(|m| m.id).collect();
    for (&id, found) in &metrics {
        if index.get_metric(id)?.is_some() || deleted.contains(&id) {
            return Err(ImportError::MetricExists(id));
        }
        if let Some(listing) = &found.archive {
            report.warnings.extend(check_fit(listing, &policy)?);
        }
    }
    let sacks: BTreeSet<u32> = metrics.keys().map(|&id| incoming.sack_of(id)).collect();
    let mut locks = SackLocks::new(store);
    for &sack in &sacks {
        if !locks.try_lock(sack)? {
            return Err(ImportError::SackBusy(sack));
        }
    }
    let mut txn = store.begin(&sacks.iter().copied().collect::<Vec<_>>())?;
    // Archives for a driver that is not a directory, written before the
    // measures are committed.
    let mut objects: Vec<(ArchiveObject, Vec<u8>)> = Vec::new();
    for (&id, found) in &metrics {
        if let Some(listing) = &found.archive {
            for file in listing.files() {
                let decoded = match store.storage().as_file() {
                    Some(archive) => {
                        let relative = file.path.strip_prefix(&listing.dir).unwrap_or(&file.path);
                        stage(&mut txn, &file, archive.metric_dir(id).join(relative))?
                    }
                    None => {
                        let (decoded, bytes) = read_checked(&file)?;
                        objects.push((archive_object(id, &file.kind), bytes));
                        decoded
                    }
                };
                if file.kind == layout::FileKind::Bound {
                    report
                        .warnings
                        .extend(check_back_window(id, &decoded.points, &policy));
                }
                report.archive_files += 1;
            }
        }
        let sack_dir = incoming.sack_dir(incoming.sack_of(id)).join(id.to_string());
        for sack in &found.sacks {
            for file in sack.files() {
                let name = file.path.file_name().unwrap_or_default();
                let decoded = stage(&mut txn, &file, sack_dir.join(name))?;
                report.measure_files += 1;
                report.measures += decoded.points.len() as u64;
            }
        }
    }
    if !objects.is_empty() {
        store.storage().apply(&[], &objects)?;
    }
    // The metrics and their files commit together: a crash leaves both
    // or neither.
    txn.commit_with_index(index, |index, _| {
        for &id in metrics.keys() {
            index.create_metric(&Metric {
                id,
                name: None,
                unit: None,
                archive_policy_name: policy.name.clone(),
                creator: creator.to_owned(),
                resource_id: None,
                status: MetricStatus::Active,
            })?;
        }
        Ok(())
    })?;
    // Gnocchi makes every method's directory (or an empty bound series
    // where there is none) at the first processing.
    for (&id, _) in metrics.iter().filter(|(_, found)| found.archive.is_some()) {
        store
            .storage()
            .create_metric(id, &policy.aggregation_methods)?;
    }
    report.metrics = metrics.len();
    Ok(report)
}
