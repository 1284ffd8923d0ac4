//! `verify`: every archive file decodes and matches its name, the index
//! and the archive agree (no orphan or misplaced directories, no stray
//! files, every processed metric has its directories), and the sacks hold
//! only decodable measure files of known metrics, each in its own sack.
//! Each problem names its path and the repair `repair.rs` would make.
//! Deleted metrics are the janitor's and are not checked.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use uuid::Uuid;

use super::layout::{self, Found, MetricDir, SackMetricDir};
use super::{remote, scan};
use crate::carbonara::{Points, SplitKey};
use crate::policy::{AggregationMethod, ArchivePolicy};
use crate::store::archive::{AGGREGATION_DIR_PREFIX, Archive};
use crate::store::incoming::Remote;
use crate::store::storage::Storage;
use crate::store::{self, Index, Metric, MetricFilter, MetricStatus, Page, Result, Store};
use crate::time::Timestamp;

/// How a problem is fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    /// Move the file or directory into `STORE/quarantine/`.
    Quarantine,
    /// Create these missing directories.
    Create(Vec<PathBuf>),
    /// Nothing carbonara can do about it.
    Manual,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    pub metric: Option<Uuid>,
    pub what: String,
    pub repair: Repair,
}

/// What a verification covered and found.
#[derive(Debug, Default)]
pub struct VerifyReport {
    pub metrics: usize,
    pub files: u64,
    pub bytes: u64,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    fn problem(&mut self, path: &Path, metric: Option<Uuid>, what: String, repair: Repair) {
        self.problems.push(Problem {
            path: path.to_owned(),
            metric,
            what,
            repair,
        });
    }

    fn quarantine(&mut self, path: &Path, metric: Option<Uuid>, what: String) {
        self.problem(path, metric, what, Repair::Quarantine);
    }

    fn stray(&mut self, path: &Path) {
        let what = "stray entry: not part of the store's layout".to_owned();
        self.quarantine(path, None, what);
    }

    fn merge(mut self, other: VerifyReport) -> VerifyReport {
        self.metrics += other.metrics;
        self.files += other.files;
        self.bytes += other.bytes;
        self.problems.extend(other.problems);
        self
    }
}

/// What every check reads; shared by the threads of a verification.
struct Verifier<'s> {
    store: &'s Store,
    archive: Archive,
    /// Every metric of the index, deleted ones included.
    metrics: HashMap<Uuid, Metric>,
    policies: HashMap<String, ArchivePolicy>,
}

impl Verifier<'_> {
    /// The metric, when the index knows it and it is not deleted; problems
    /// for unknown ones.
    fn active(
        &self,
        out: &mut VerifyReport,
        metric: Uuid,
        dir: &Path,
        what: &str,
    ) -> Option<Metric> {
        match self.metrics.get(&metric) {
            Some(m) if m.status == MetricStatus::Active => Some(m.clone()),
            Some(_) => None,
            None => {
                out.quarantine(
                    dir,
                    Some(metric),
                    format!("{what} of a metric the index does not know"),
                );
                None
            }
        }
    }

    /// Reads a file; a corrupt one is a problem.
    fn read(&self, out: &mut VerifyReport, file: &layout::ArchiveFile) -> Result<Option<Points>> {
        match scan::read(file) {
            Ok(decoded) => {
                out.files += 1;
                out.bytes += decoded.bytes;
                Ok(Some(decoded.points))
            }
            Err(store::Error::Corrupt { path, source }) => {
                out.files += 1;
                out.quarantine(&path, file.metric, format!("does not decode: {source}"));
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    fn check_archive(&self, out: &mut VerifyReport, listing: &MetricDir) -> Result<()> {
        let id = listing.metric;
        let Some(metric) = self.active(out, id, &listing.dir, "archive directory") else {
            return Ok(());
        };
        out.metrics += 1;
        let expected_dir = self.archive.metric_dir(id);
        if listing.dir != expected_dir {
            let what = format!(
                "misplaced: this metric's directory is {}",
                expected_dir.display()
            );
            out.quarantine(&listing.dir, Some(id), what);
            return Ok(());
        }
        let Some(policy) = self.policies.get(&metric.archive_policy_name).cloned() else {
            let what = format!("archive policy {} is missing", metric.archive_policy_name);
            out.problem(&listing.dir, Some(id), what, Repair::Manual);
            return Ok(());
        };
        let _consistent = self.store.read_lock(id)?;
        for stray in &listing.strays {
            out.quarantine(stray, Some(id), "stray entry in a metric directory".into());
        }
        let mut known = Vec::new();
        for (name, dir) in &listing.aggregations {
            match name.parse::<AggregationMethod>() {
                Ok(method) if policy.aggregation_methods.contains(&method) => known.push(name),
                _ => {
                    let what =
                        format!("`{name}` is not a method of archive policy {}", policy.name);
                    out.quarantine(dir, Some(id), what);
                }
            }
        }
        for method in &policy.aggregation_methods {
            if !known.iter().any(|k| **k == method.to_string()) {
                let dir = listing
                    .dir
                    .join(format!("{AGGREGATION_DIR_PREFIX}{method}"));
                let what = format!("missing directory of method {method}");
                out.problem(&dir, Some(id), what, Repair::Create(vec![dir.clone()]));
            }
        }
        for file in listing.files() {
            let layout::FileKind::Split {
                method: Some(method),
                key,
            } = &file.kind
            else {
                if let Some(points) = self.read(out, &file)? {
                    Self::check_bound(out, &file.path, id, &points);
                }
                continue;
            };
            if !known.contains(&method) {
                continue;
            }
            let name = file.path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let misnamed = key.file_name() != name;
            if let Some(what) = split_name_problem(&policy, method, *key, misnamed) {
                out.quarantine(&file.path, Some(id), what);
                continue;
            }
            let Some(points) = self.read(out, &file)? else {
                continue;
            };
            if let Some(what) = split_points_problem(*key, &points) {
                out.quarantine(&file.path, Some(id), what);
            }
        }
        Ok(())
    }

    /// Checks a metric kept by a driver that is not a directory: every
    /// object decodes and fits its name and the metric's policy, and no
    /// object is foreign to Gnocchi's layout. Such problems are left to
    /// the operator (`Repair::Manual`): nothing is moved out of a bucket or
    /// a hash.
    fn check_remote_archive(&self, out: &mut VerifyReport, id: Uuid) -> Result<()> {
        let (objects, strays) = remote::archive_objects(self.store.storage(), id)?;
        let Some(metric) = self.metrics.get(&id) else {
            if let Some((file, _)) = objects.first() {
                let what = "archive of a metric the index does not know".to_owned();
                out.problem(&file.path, Some(id), what, Repair::Manual);
            }
            return Ok(());
        };
        if metric.status != MetricStatus::Active {
            return Ok(());
        }
        out.metrics += 1;
        let Some(policy) = self.policies.get(&metric.archive_policy_name) else {
            let what = format!("archive policy {} is missing", metric.archive_policy_name);
            out.problem(Path::new(&id.to_string()), Some(id), what, Repair::Manual);
            return Ok(());
        };
        for stray in strays {
            let what = "not an object of Gnocchi's layout".to_owned();
            out.problem(&stray, Some(id), what, Repair::Manual);
        }
        let has_splits = objects
            .iter()
            .any(|(file, _)| matches!(file.kind, layout::FileKind::Split { .. }));
        for (file, bytes) in objects {
            let decoded = match scan::decode_fetched(&file, &bytes) {
                Ok(decoded) => decoded,
                Err(error) => {
                    out.files += 1;
                    out.problem(&file.path, Some(id), undecodable(error), Repair::Manual);
                    continue;
                }
            };
            out.files += 1;
            out.bytes += decoded.bytes;
            let what = match &file.kind {
                layout::FileKind::Split {
                    method: Some(method),
                    key,
                } => split_name_problem(policy, method, *key, false)
                    .or_else(|| split_points_problem(*key, &decoded.points)),
                // An empty bound series is a metric created for its first
                // pass (Gnocchi's drivers make one): a problem only once
                // splits exist.
                _ if decoded.points.is_empty() && has_splits => {
                    Some("empty bound series beside splits".to_owned())
                }
                _ if !increasing(&decoded.points) => {
                    Some("bound series timestamps are not strictly increasing".to_owned())
                }
                _ => None,
            };
            if let Some(what) = what {
                out.problem(&file.path, Some(id), what, Repair::Manual);
            }
        }
        Ok(())
    }

    /// Checks the measures a remote incoming driver holds for a metric.
    fn check_remote_waiting(
        &self,
        out: &mut VerifyReport,
        remote: &Remote,
        id: Uuid,
    ) -> Result<()> {
        let sack = self.store.incoming().sack_name(id);
        for (file, bytes) in remote::waiting_objects(remote, sack, id)? {
            out.files += 1;
            let what = match scan::decode_fetched(&file, &bytes) {
                Err(error) => Some(undecodable(error)),
                Ok(_) if !self.metrics.contains_key(&id) => {
                    Some("measures of a metric the index does not know".to_owned())
                }
                Ok(decoded) => {
                    out.bytes += decoded.bytes;
                    decoded
                        .points
                        .timestamps
                        .iter()
                        .find(|t| **t < Timestamp::EPOCH)
                        .map(|t| {
                            format!("a measure at {t} is before the epoch: no pass can take it")
                        })
                }
            };
            if let Some(what) = what {
                out.problem(&file.path, Some(id), what, Repair::Manual);
            }
        }
        Ok(())
    }

    fn check_bound(out: &mut VerifyReport, path: &Path, id: Uuid, points: &Points) {
        let what = if points.is_empty() {
            "empty bound series (Gnocchi never writes one)"
        } else if !increasing(points) {
            "bound series timestamps are not strictly increasing"
        } else {
            return;
        };
        out.quarantine(path, Some(id), what.to_owned());
    }

    fn check_sack(&self, out: &mut VerifyReport, sack: &SackMetricDir) -> Result<()> {
        let id = sack.metric;
        let Some(_metric) = self.active(out, id, &sack.dir, "measures") else {
            return Ok(());
        };
        let incoming = self.store.incoming();
        let home = incoming.sack_of(id);
        let placed = sack
            .sack
            .filter(|s| s.total == self.store.config().sacks)
            .map(|s| s.number);
        if placed != Some(home) {
            let what = format!("measures outside their sack {home}: no pass would read them");
            out.quarantine(&sack.dir, Some(id), what);
            return Ok(());
        }
        for stray in &sack.strays {
            out.quarantine(stray, Some(id), "stray directory in a sack".into());
        }
        let _consistent = self.store.read_lock(id)?;
        for file in sack.files() {
            if let Some(points) = self.read(out, &file)?
                && let Some(t) = points.timestamps.iter().find(|t| **t < Timestamp::EPOCH)
            {
                let what = format!("a measure at {t} is before the epoch: no pass can take it");
                out.quarantine(&file.path, Some(id), what);
            }
        }
        Ok(())
    }

    /// `in_sacks`: whether the walk was of the sacks (`Some(true)`), of the
    /// archive (`Some(false)`) or of a directory that holds both, as a
    /// Gnocchi deployment's file drivers share one (`None`).
    fn check_found(
        &self,
        out: &mut VerifyReport,
        found: Found,
        in_sacks: Option<bool>,
    ) -> Result<()> {
        match found {
            Found::Archive(listing) if in_sacks != Some(true) => self.check_archive(out, &listing),
            Found::Incoming(sack) if in_sacks != Some(false) => self.check_sack(out, &sack),
            Found::Archive(MetricDir { dir: path, .. })
            | Found::Incoming(SackMetricDir { dir: path, .. })
            | Found::Stray(path) => {
                out.stray(&path);
                Ok(())
            }
        }
    }

    /// A processed metric (its directory chain exists) without its
    /// directory: its archive was removed.
    fn check_missing_archive(&self, out: &mut VerifyReport, metric: &Metric) {
        let dir = self.archive.metric_dir(metric.id);
        let chain = dir.parent().filter(|p| *p != self.archive.root());
        if dir.exists() || !chain.is_some_and(Path::exists) {
            return;
        }
        let Some(policy) = self.policies.get(&metric.archive_policy_name) else {
            return;
        };
        let dirs = policy
            .aggregation_methods
            .iter()
            .map(|m| dir.join(format!("{AGGREGATION_DIR_PREFIX}{m}")))
            .collect();
        let what = "archive directory missing although the metric was processed".to_owned();
        out.problem(&dir, Some(metric.id), what, Repair::Create(dirs));
    }
}

/// The problem of an object that does not decode.
fn undecodable(error: store::Error) -> String {
    match error {
        store::Error::Corrupt { source, .. } => format!("does not decode: {source}"),
        other => other.to_string(),
    }
}

/// What is wrong with a split's name against its metric's policy.
fn split_name_problem(
    policy: &ArchivePolicy,
    method: &str,
    key: SplitKey,
    misnamed: bool,
) -> Option<String> {
    let method = match method.parse::<AggregationMethod>() {
        Ok(method) if policy.aggregation_methods.contains(&method) => method,
        _ => {
            return Some(format!(
                "`{method}` is not a method of archive policy {}",
                policy.name
            ));
        }
    };
    if policy.aggregation(method, key.granularity).is_none() {
        Some(format!(
            "granularity {} is not in archive policy {}",
            key.granularity, policy.name
        ))
    } else if misnamed {
        Some(format!(
            "misnamed: its key reads back as {}",
            key.file_name()
        ))
    } else if SplitKey::of(key.start, key.granularity) != key {
        Some("misnamed: its key is not a split boundary".to_owned())
    } else {
        None
    }
}

/// What is wrong with a split's points.
fn split_points_problem(key: SplitKey, points: &Points) -> Option<String> {
    if points.is_empty() {
        return Some("empty split (Gnocchi never writes one)".to_owned());
    }
    let end = key.next().start;
    let outside = points.iter().any(|(t, _)| t < key.start || t >= end);
    (outside || !increasing(points))
        .then(|| "points do not match the split its name gives".to_owned())
}

fn increasing(points: &Points) -> bool {
    points.timestamps.windows(2).all(|w| w[0] < w[1])
}

/// Verifies the whole store, or only the given metrics (their archive and
/// sack directories; orphans and strays elsewhere are then not looked for).
/// Metric directories are checked in parallel; problems come sorted by path.
pub fn verify(store: &Store, index: &Index, only: Option<&[Uuid]>) -> Result<VerifyReport> {
    let mut report = VerifyReport::default();
    for problem in index.integrity_check()? {
        let what = format!("index: {problem}");
        report.problem(&store.index_path(), None, what, Repair::Manual);
    }
    let active = index.list_metrics(&MetricFilter::default(), &Page::default())?;
    let verifier = Verifier {
        store,
        archive: store.archive(),
        metrics: active
            .iter()
            .cloned()
            .chain(index.deleted_metrics()?)
            .map(|m| (m.id, m))
            .collect(),
        policies: index
            .list_archive_policies()?
            .into_iter()
            .map(|p| (p.name.clone(), p))
            .collect(),
    };
    let check = |found: Result<Found>, in_sacks: Option<bool>| -> Result<VerifyReport> {
        let mut out = VerifyReport::default();
        verifier.check_found(&mut out, found?, in_sacks)?;
        Ok(out)
    };
    let merge = |a: Result<VerifyReport>, b: Result<VerifyReport>| Ok(a?.merge(b?));
    let empty = || Ok(VerifyReport::default());
    if !store.is_local_layout() {
        let mut ids: Vec<Uuid> = match (only, store.storage()) {
            (Some(ids), _) => ids.to_vec(),
            (None, Storage::S3(s3)) => s3.list_metrics()?,
            (None, Storage::Redis(redis)) => redis.list_metrics()?,
            (None, Storage::File(_)) => Vec::new(),
        };
        if only.is_none() {
            ids.extend(active.iter().map(|m| m.id));
            if let Some(remote) = store.remote_incoming() {
                ids.extend(
                    remote
                        .waiting(store.config().sacks)?
                        .into_iter()
                        .map(|(_, m)| m),
                );
            }
        }
        ids.sort_unstable();
        ids.dedup();
        let checked = ids.par_iter().map(|&id| -> Result<VerifyReport> {
            let mut out = VerifyReport::default();
            match store.storage().as_file() {
                Some(archive) => {
                    let dir = archive.metric_dir(id);
                    if dir.is_dir() {
                        verifier.check_archive(&mut out, &layout::list_metric_dir(&dir, id)?)?;
                    }
                }
                None => verifier.check_remote_archive(&mut out, id)?,
            }
            match store.remote_incoming() {
                Some(remote) => verifier.check_remote_waiting(&mut out, remote, id)?,
                None => {
                    let incoming = store.incoming();
                    let dir = incoming.sack_dir(incoming.sack_of(id)).join(id.to_string());
                    if dir.is_dir() {
                        verifier.check_sack(&mut out, &layout::list_sack_metric_dir(&dir, id)?)?;
                    }
                }
            }
            Ok(out)
        });
        report = report.merge(checked.reduce(empty, merge)?);
        report.problems.sort_by(|a, b| a.path.cmp(&b.path));
        return Ok(report);
    }
    match only {
        None => {
            let walks = if store.archive_dir() == store.incoming_dir() {
                vec![(store.archive_dir(), None)]
            } else {
                vec![
                    (store.archive_dir(), Some(false)),
                    (store.incoming_dir(), Some(true)),
                ]
            };
            for (dir, in_sacks) in walks {
                let found = layout::walk(&dir).par_bridge();
                report = report.merge(found.map(|f| check(f, in_sacks)).reduce(empty, merge)?);
            }
            for metric in &active {
                verifier.check_missing_archive(&mut report, metric);
            }
        }
        Some(ids) => {
            let incoming = store.incoming();
            for &id in ids {
                let dir = verifier.archive.metric_dir(id);
                if dir.is_dir() {
                    let listing = layout::list_metric_dir(&dir, id)?;
                    verifier.check_archive(&mut report, &listing)?;
                } else if let Some(metric) = verifier.metrics.get(&id) {
                    verifier.check_missing_archive(&mut report, metric);
                }
                let dir = incoming.sack_dir(incoming.sack_of(id)).join(id.to_string());
                if dir.is_dir() {
                    let sack = layout::list_sack_metric_dir(&dir, id)?;
                    verifier.check_sack(&mut report, &sack)?;
                }
            }
        }
    }
    report.problems.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(report)
}
