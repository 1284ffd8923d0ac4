//! Gnocchi's S3 storage and incoming drivers (`store/s3/`) against a live
//! Garage node (`garage.rs`): buckets made once and again, whichever of
//! S3's two answers comes back; object keys exactly Gnocchi's; what is
//! written reads back as the file driver reads it; listings and bulk
//! deletes past S3's 1000-key pages; measures put after a listing survive
//! the delete of what was listed; and errors that name the bucket and
//! never the secret.

use std::fs;

use carbonara::carbonara::{Points, SplitKey, codec};
use carbonara::policy::AggregationMethod;
use carbonara::store::archive::Archive;
use carbonara::store::object::ArchiveObject;
use carbonara::store::s3::incoming::S3Incoming;
use carbonara::store::s3::storage::S3Storage;
use carbonara::store::s3::{S3Bucket, S3Settings};
use carbonara::time::{Span, Timestamp};
use uuid::Uuid;

use crate::garage::{ACCESS_KEY_ID, Garage, REGION, SECRET_ACCESS_KEY};

const S: i64 = 1_000_000_000;

fn method(name: &str) -> AggregationMethod {
    name.parse().unwrap()
}

/// `count` points `granularity` apart from `start_secs`, values 0.5, 1.5, …
fn points(start_secs: i64, granularity: Span, count: i64) -> Points {
    let mut points = Points::default();
    for i in 0..count {
        points.push(
            Timestamp::from_nanos(start_secs * S + i * granularity.nanos()),
            i as f64 + 0.5,
        );
    }
    points
}

fn keys_of(listing: Vec<(String, u64)>) -> Vec<String> {
    listing.into_iter().map(|(key, _)| key).collect()
}

#[test]
fn buckets_are_created_once_and_again_whoever_asks() {
    let garage = Garage::start();
    let settings = garage.settings("twice");
    let storage = S3Storage::open(&settings).unwrap();
    storage.upgrade().unwrap();
    // The owner again: BucketAlreadyOwnedByYou.
    storage.upgrade().unwrap();
    // Another key: BucketAlreadyExists.
    garage.import_key("GKcarbonaraother", "another-test-secret-0002");
    let other = S3Settings {
        access_key_id: Some("GKcarbonaraother".to_owned()),
        secret_access_key: Some("another-test-secret-0002".to_owned()),
        ..settings.clone()
    };
    S3Storage::open(&other).unwrap().upgrade().unwrap();
    let incoming = S3Incoming::open(&settings).unwrap();
    assert_eq!(incoming.upgrade(128).unwrap(), 128);
    assert_eq!(incoming.upgrade(128).unwrap(), 128);
    S3Incoming::open(&other).unwrap().bucket().create().unwrap();
    // Both buckets are there, under Gnocchi's names: a write to each
    // reads back.
    for bucket in ["twice-aggregates", "twice-measure"] {
        let client = S3Bucket::open(&settings, bucket).unwrap();
        client.put("probe", b"x").unwrap();
        assert_eq!(client.get("probe").unwrap().as_deref(), Some(&b"x"[..]));
    }
    // A region Garage does not serve is refused, naming the bucket: the
    // LocationConstraint goes out as Gnocchi sends it.
    let elsewhere = S3Settings {
        region: Some("eu-west-1".to_owned()),
        ..settings.clone()
    };
    let error = S3Bucket::open(&elsewhere, "elsewhere-aggregates")
        .unwrap()
        .create()
        .unwrap_err()
        .to_string();
    assert!(error.contains("S3 bucket elsewhere-aggregates"), "{error}");
}

#[test]
fn a_new_metric_gets_an_empty_bound_series() {
    let garage = Garage::start();
    let storage = S3Storage::open(&garage.settings("gnocchi")).unwrap();
    storage.upgrade().unwrap();
    let metric = Uuid::new_v4();
    assert!(!storage.has_metric(metric).unwrap());
    storage.create_metric(metric).unwrap();
    assert!(storage.has_metric(metric).unwrap());
    let key = format!("{metric}/none_v3");
    assert_eq!(keys_of(storage.bucket().list("").unwrap()), [key.as_str()]);
    assert_eq!(
        storage.bucket().get(&key).unwrap().as_deref(),
        Some(&[][..])
    );
    assert_eq!(storage.read_bound(metric).unwrap(), None);
    assert_eq!(storage.list_metrics().unwrap(), [metric]);
    // A metric that has a bound series keeps it.
    let bound = codec::encode_bound(&points(1_703_160_000, Span::from_secs(1), 3)).unwrap();
    storage
        .apply(&[], &[(ArchiveObject::Bound(metric), bound.clone())])
        .unwrap();
    storage.create_metric(metric).unwrap();
    assert_eq!(
        storage.bucket().get(&key).unwrap().as_deref(),
        Some(&bound[..])
    );
}

#[test]
fn splits_and_bound_series_read_back_as_the_file_driver_reads_them() {
    let garage = Garage::start();
    let storage = S3Storage::open(&garage.settings("gnocchi")).unwrap();
    storage.upgrade().unwrap();
    let metric = Uuid::parse_str("5a301761-f78b-46e2-8900-8b4f6fe6675a").unwrap();
    let other_metric = Uuid::new_v4();
    let five_minutes = Span::from_secs(300);
    let first = SplitKey::new(Timestamp::from_nanos(1_703_160_000 * S), five_minutes);
    let second = first.next();
    let minute = SplitKey::of(first.start, Span::from_secs(60));
    let split = |method_name: &str, key: SplitKey| ArchiveObject::Split {
        metric,
        method: method(method_name),
        key,
    };
    let first_points = points(1_703_160_000, five_minutes, 3600);
    let second_points = points(second.start.nanos() / S, five_minutes, 10);
    let bound_points = points(1_704_240_000, Span::from_secs(1), 5);
    let writes = vec![
        (
            split("mean", second),
            codec::encode_split(second, &second_points),
        ),
        (
            split("mean", first),
            codec::encode_split(first, &first_points),
        ),
        (
            split("mean", minute),
            codec::encode_split(minute, &points(1_703_160_000, Span::from_secs(60), 4)),
        ),
        (
            split("rate:mean", first),
            codec::encode_split(first, &points(1_703_160_000, five_minutes, 2)),
        ),
        (
            split("95pct", first),
            codec::encode_split(first, &points(1_703_160_000, five_minutes, 7)),
        ),
        (
            ArchiveObject::Bound(metric),
            codec::encode_bound(&bound_points).unwrap(),
        ),
        (ArchiveObject::Bound(other_metric), Vec::new()),
    ];
    storage.apply(&[], &writes).unwrap();

    let mut names = keys_of(storage.bucket().list(&format!("{metric}/")).unwrap());
    names.sort();
    assert_eq!(
        names,
        [
            "5a301761-f78b-46e2-8900-8b4f6fe6675a/95pct_300.0_1703160000.0_v3",
            "5a301761-f78b-46e2-8900-8b4f6fe6675a/mean_300.0_1703160000.0_v3",
            "5a301761-f78b-46e2-8900-8b4f6fe6675a/mean_300.0_1704240000.0_v3",
            "5a301761-f78b-46e2-8900-8b4f6fe6675a/mean_60.0_1703160000.0_v3",
            "5a301761-f78b-46e2-8900-8b4f6fe6675a/none_v3",
            "5a301761-f78b-46e2-8900-8b4f6fe6675a/rate:mean_300.0_1703160000.0_v3",
        ]
    );
    // Names that are not v3 splits are skipped, as Gnocchi skips them.
    storage
        .bucket()
        .put(&format!("{metric}/mean_300.0_1700000000.0_v2"), b"old")
        .unwrap();
    assert_eq!(
        storage.list_all_split_keys(metric, method("mean")).unwrap(),
        [minute, first, second]
    );
    // One listing for every method; `mean_` is not `rate:mean_`.
    assert_eq!(
        storage
            .list_metric_split_keys(
                metric,
                &[method("mean"), method("rate:mean"), method("95pct")]
            )
            .unwrap(),
        [
            (method("mean"), vec![minute, first, second]),
            (method("rate:mean"), vec![first]),
            (method("95pct"), vec![first]),
        ]
    );
    assert_eq!(
        storage
            .list_all_split_keys(metric, method("rate:mean"))
            .unwrap(),
        [first]
    );
    assert_eq!(
        storage
            .list_all_split_keys(metric, method("95pct"))
            .unwrap(),
        [first]
    );
    assert!(
        storage
            .list_all_split_keys(metric, method("max"))
            .unwrap()
            .is_empty()
    );
    assert!(
        storage
            .read_bound(metric)
            .unwrap()
            .unwrap()
            .bitwise_eq(&bound_points)
    );
    assert_eq!(storage.read_bound(other_metric).unwrap(), None);
    let mut metrics = storage.list_metrics().unwrap();
    metrics.sort();
    let mut expected = vec![metric, other_metric];
    expected.sort();
    assert_eq!(metrics, expected);

    // The same bytes in the file driver's layout read to the same points.
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::new(dir.path().to_owned(), 2);
    archive
        .create_metric_dirs(metric, &[method("mean")])
        .unwrap();
    for (object, bytes) in &writes {
        if let ArchiveObject::Split { method: m, key, .. } = *object
            && m == method("mean")
        {
            fs::write(archive.split_path(metric, m, key), bytes).unwrap();
        }
    }
    let missing = second.next();
    let wanted = [first, second, missing];
    let from_s3 = storage
        .read_splits(metric, method("mean"), &wanted)
        .unwrap();
    let from_files = archive
        .read_splits(metric, method("mean"), &wanted)
        .unwrap();
    assert!(from_s3.bitwise_eq(&from_files));
    let mut both = first_points.clone();
    for (t, v) in second_points.iter() {
        both.push(t, v);
    }
    assert!(from_s3.bitwise_eq(&both), "consecutive splits concatenated");
    assert!(
        storage
            .read_split(metric, method("mean"), first)
            .unwrap()
            .bitwise_eq(&first_points)
    );
    assert!(
        storage
            .read_split(metric, method("mean"), missing)
            .unwrap()
            .is_empty()
    );

    // Deletes go before the writes: a split deleted and written in one
    // apply is there afterwards; one only deleted is gone.
    let rewritten = points(1_703_160_000, five_minutes, 1);
    storage
        .apply(
            &[split("mean", first), split("mean", second)],
            &[(split("mean", first), codec::encode_split(first, &rewritten))],
        )
        .unwrap();
    assert_eq!(
        storage
            .list_metric_split_keys(metric, &[method("mean")])
            .unwrap(),
        [(method("mean"), vec![minute, first])]
    );
    assert!(
        storage
            .read_split(metric, method("mean"), first)
            .unwrap()
            .bitwise_eq(&rewritten)
    );

    // A corrupt split is an error naming its object.
    storage
        .bucket()
        .put(
            &S3Storage::object_key(&split("95pct", first)),
            b"c\x05\x00\x00\x00xx",
        )
        .unwrap();
    let error = storage
        .read_splits(metric, method("95pct"), &[first])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("S3 bucket gnocchi-aggregates, object 5a301761-f78b-46e2-8900-8b4f6fe6675a/95pct_300.0_1703160000.0_v3"),
        "{error}"
    );

    storage.remove_metric(metric).unwrap();
    assert!(
        storage
            .bucket()
            .list(&format!("{metric}/"))
            .unwrap()
            .is_empty()
    );
    assert!(!storage.has_metric(metric).unwrap());
    assert!(storage.has_metric(other_metric).unwrap());
}

#[test]
fn listings_and_deletes_go_past_a_thousand_keys() {
    let garage = Garage::start();
    let storage = S3Storage::open(&garage.settings("gnocchi")).unwrap();
    storage.upgrade().unwrap();
    let metric = Uuid::new_v4();
    let granularity = Span::from_secs(1);
    let mut key = SplitKey::new(Timestamp::EPOCH, granularity);
    let mut writes = Vec::new();
    for _ in 0..1_050 {
        writes.push((
            ArchiveObject::Split {
                metric,
                method: method("mean"),
                key,
            },
            Vec::new(),
        ));
        key = key.next();
    }
    storage.apply(&[], &writes).unwrap();
    let keys = storage.list_all_split_keys(metric, method("mean")).unwrap();
    assert_eq!(keys.len(), 1_050);
    assert!(keys.windows(2).all(|pair| pair[0] < pair[1]), "ascending");
    assert_eq!(keys[1_049].start.nanos(), 1_049 * 3600 * S);
    storage.remove_metric(metric).unwrap();
    assert!(storage.bucket().list("").unwrap().is_empty());
    // Deleting keys that have no object is fine.
    storage
        .bucket()
        .delete_many(&[format!("{metric}/none_v3")])
        .unwrap();
}

#[test]
fn incoming_measures_are_put_listed_read_and_deleted() {
    let garage = Garage::start();
    let incoming = S3Incoming::open(&garage.settings("gnocchi")).unwrap();
    assert_eq!(incoming.sacks().unwrap(), None);
    assert_eq!(incoming.upgrade(128).unwrap(), 128);
    let config = incoming.bucket().get("gnocchi-config").unwrap().unwrap();
    assert_eq!(&config[..], b"{\"sacks\": 128}");
    // Written once: a later upgrade keeps the count in force.
    assert_eq!(incoming.upgrade(64).unwrap(), 128);
    assert_eq!(incoming.sacks().unwrap(), Some(128));
    assert_eq!(
        &incoming.bucket().get("gnocchi-config").unwrap().unwrap()[..],
        b"{\"sacks\": 128}"
    );

    let metric = Uuid::parse_str("5a301761-f78b-46e2-8900-8b4f6fe6675a").unwrap();
    let other = Uuid::new_v4();
    let sack = (metric.as_u128() % 128) as u32;
    let other_sack = (other.as_u128() % 128) as u32;
    let now = Timestamp::from_nanos(1_796_586_054 * S);
    let batch = |first: i64, count: i64| -> Vec<(Timestamp, f64)> {
        (first..first + count)
            .map(|i| (Timestamp::from_nanos(1_704_067_200 * S + i * S), i as f64))
            .collect()
    };
    let mut items = Vec::new();
    for (target, target_sack, first) in [
        (metric, sack, 0),
        (metric, sack, 10),
        (other, other_sack, 100),
    ] {
        let name = S3Incoming::new_measure_name(now);
        items.push((
            S3Incoming::object_key(target_sack, 128, target, &name),
            codec::encode_measures(&batch(first, 3)),
        ));
    }
    incoming.put_many(&items).unwrap();
    // Foreign names are ignored.
    incoming.bucket().put("notes/readme", b"hello").unwrap();
    incoming.bucket().put("incoming128-1/x/y", b"").unwrap();

    assert!(
        items[0].0.starts_with(&format!("{sack}-128/{metric}/")),
        "{}",
        items[0].0
    );
    assert!(items[0].0.ends_with("_20261206_19:40:54"), "{}", items[0].0);
    let waiting = incoming.list_waiting().unwrap();
    let mut expected_metrics = vec![metric, other];
    expected_metrics.sort();
    assert_eq!(
        waiting.iter().map(|(m, _)| *m).collect::<Vec<_>>(),
        expected_metrics
    );
    let listed = incoming.list_metric(sack, 128, metric).unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|(_, size)| *size == 48));
    assert_eq!(
        waiting.iter().find(|(m, _)| *m == metric).unwrap().1,
        listed
    );
    let keys = keys_of(listed);
    let mut expected: Vec<(Timestamp, f64)> = Vec::new();
    for key in &keys {
        let (_, bytes) = items.iter().find(|(k, _)| k == key).unwrap();
        codec::decode_measures(bytes, &mut expected).unwrap();
    }
    assert_eq!(incoming.read(&keys).unwrap(), expected);
    assert!(incoming.has_unprocessed(sack, 128, metric).unwrap());

    // Put after the listing: survives the delete of what was listed.
    let late = S3Incoming::object_key(sack, 128, metric, &S3Incoming::new_measure_name(now));
    incoming
        .put_many(&[(late.clone(), codec::encode_measures(&batch(50, 1)))])
        .unwrap();
    incoming.delete(&keys).unwrap();
    assert_eq!(
        keys_of(incoming.list_metric(sack, 128, metric).unwrap()),
        [late.as_str()]
    );
    assert_eq!(incoming.read(&[&late]).unwrap(), batch(50, 1));
    assert!(incoming.has_unprocessed(sack, 128, metric).unwrap());

    // A key gone since its listing, and one with a ragged body, are errors
    // naming the object.
    let error = incoming.read(&keys[..1]).unwrap_err().to_string();
    assert!(
        error.contains(&format!("gnocchi-measure, object {}", keys[0])),
        "{error}"
    );
    incoming.bucket().put(&late, b"1234567").unwrap();
    let error = incoming.read(&[&late]).unwrap_err().to_string();
    assert!(error.contains(&late), "{error}");

    incoming.remove_metric(sack, 128, metric).unwrap();
    assert!(!incoming.has_unprocessed(sack, 128, metric).unwrap());
    assert!(incoming.has_unprocessed(other_sack, 128, other).unwrap());
    assert_eq!(
        incoming
            .list_waiting()
            .unwrap()
            .iter()
            .map(|(m, _)| *m)
            .collect::<Vec<_>>(),
        [other]
    );
}

#[test]
fn errors_name_the_bucket_and_never_the_secret() {
    let garage = Garage::start();
    let good = garage.settings("gnocchi");
    S3Storage::open(&good).unwrap().upgrade().unwrap();
    let secret = "wrong-secret-never-shown-0003";
    let wrong = S3Settings {
        secret_access_key: Some(secret.to_owned()),
        ..good.clone()
    };
    let storage = S3Storage::open(&wrong).unwrap();
    let bucket_error = storage.upgrade().unwrap_err().to_string();
    let read_error = storage.read_bound(Uuid::nil()).unwrap_err().to_string();
    let write_error = storage
        .apply(&[], &[(ArchiveObject::Bound(Uuid::nil()), Vec::new())])
        .unwrap_err()
        .to_string();
    let list_error = storage.list_metrics().unwrap_err().to_string();
    for error in [&bucket_error, &read_error, &write_error, &list_error] {
        eprintln!("MSG {error}");
        assert!(error.contains("S3 bucket gnocchi-aggregates"), "{error}");
        assert!(!error.contains(secret), "{error}");
        assert!(!error.contains(SECRET_ACCESS_KEY), "{error}");
    }
    assert!(
        read_error.contains("object 00000000-0000-0000-0000-000000000000/none_v3"),
        "{read_error}"
    );
    let debug = format!("{wrong:?} {storage:?}");
    assert!(!debug.contains(secret), "{debug}");

    // No credentials at all: said so, before any request.
    let anonymous = S3Settings {
        access_key_id: None,
        secret_access_key: None,
        ..good
    };
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        let error = S3Storage::open(&anonymous).unwrap_err().to_string();
        assert!(error.contains("no credentials"), "{error}");
    }
    assert_eq!((ACCESS_KEY_ID, REGION), ("GKcarbonaratest", "garage"));
}

#[test]
fn requests_ride_out_a_restart_and_report_a_dead_store() {
    let mut garage = Garage::start();
    let storage = S3Storage::open(&garage.settings("gnocchi")).unwrap();
    storage.upgrade().unwrap();
    let metric = Uuid::new_v4();
    garage.stop();
    // Refused connections are retried with backoff: a write made while
    // the node is down lands once it is back.
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| storage.create_metric(metric));
        // Two refusals at least (100 and 200 ms of backoff), then most of
        // the retries' budget left for the node to come back, however
        // busy the machine.
        std::thread::sleep(std::time::Duration::from_millis(500));
        garage.restart();
        let written = writer.join().unwrap();
        written.unwrap_or_else(|e| panic!("{e}\n{}", garage.log()));
    });
    assert!(storage.has_metric(metric).unwrap());
    // Down for good: after the bounded retries, an error naming the
    // bucket, the object and the retries.
    garage.stop();
    let error = storage.read_bound(metric).unwrap_err().to_string();
    assert!(
        error.contains(&format!(
            "S3 bucket gnocchi-aggregates, object {metric}/none_v3"
        )),
        "{error}"
    );
    assert!(error.contains("after 10 retries"), "{error}");
}
