//! The objects of a metric kept by drivers that are not directories (S3,
//! Redis), fetched with their bytes and named as those drivers name them,
//! so that `dump` and `verify` read them as they read files:
//! `s3://<bucket>/<key>`, `timeseries:<metric>/<field>` (a Redis hash
//! field), `incoming<N>-<k>:<metric>/<item>` (a Redis list item).

use std::path::PathBuf;

use uuid::Uuid;

use super::layout::{ArchiveFile, FileKind};
use crate::store::Result;
use crate::store::incoming::{Remote, SackName};
use crate::store::object::ArchiveObject;
use crate::store::redis::incoming::list_key;
use crate::store::redis::storage::metric_key;
use crate::store::storage::Storage;

/// An object and its bytes.
pub type Fetched = (ArchiveFile, Vec<u8>);

fn kind(object: Option<ArchiveObject>) -> Option<FileKind> {
    match object? {
        ArchiveObject::Bound(_) => Some(FileKind::Bound),
        ArchiveObject::Split { method, key, .. } => Some(FileKind::Split {
            method: Some(method.to_string()),
            key,
        }),
    }
}

/// A metric's archive objects, the bound series first, then the splits by
/// name; and the names of objects that are not archive data.
pub fn archive_objects(storage: &Storage, metric: Uuid) -> Result<(Vec<Fetched>, Vec<PathBuf>)> {
    let (prefix, objects) = match storage {
        Storage::File(_) => return Ok((Vec::new(), Vec::new())),
        Storage::S3(s3) => (format!("s3://{}/", s3.bucket().name()), s3.objects(metric)?),
        Storage::Redis(redis) => (format!("{}/", metric_key(metric)), redis.objects(metric)?),
    };
    let mut fetched = Vec::new();
    let mut strays = Vec::new();
    for (name, object, bytes) in objects {
        let name = format!("{prefix}{name}");
        match kind(object) {
            Some(kind) => fetched.push((
                ArchiveFile {
                    path: PathBuf::from(name),
                    metric: Some(metric),
                    kind,
                },
                bytes,
            )),
            None => strays.push(PathBuf::from(name)),
        }
    }
    fetched.sort_by_key(|(file, _)| (file.kind != FileKind::Bound, file.path.clone()));
    Ok((fetched, strays))
}

/// A metric's waiting measures on a remote incoming driver, one object or
/// list item per batch.
pub fn waiting_objects(remote: &Remote, sack: SackName, metric: Uuid) -> Result<Vec<Fetched>> {
    let file = |path: String| ArchiveFile {
        path: PathBuf::from(path),
        metric: Some(metric),
        kind: FileKind::Measures,
    };
    Ok(match remote {
        Remote::Redis(redis) => {
            let list = list_key(sack, metric);
            redis
                .items(sack, metric)?
                .into_iter()
                .enumerate()
                .map(|(n, item)| (file(format!("{list}/{n}")), item))
                .collect()
        }
        Remote::S3(s3) => {
            let keys: Vec<String> = s3
                .list_metric(sack.number, sack.total, metric)?
                .into_iter()
                .map(|(key, _)| key)
                .collect();
            let bucket = s3.bucket().name().to_owned();
            let bodies = s3.bucket().get_many(&keys)?;
            keys.into_iter()
                .zip(bodies)
                .filter_map(|(key, body)| {
                    Some((file(format!("s3://{bucket}/{key}")), body?.to_vec()))
                })
                .collect()
        }
    })
}
