//! Gnocchi's S3 drivers (docs/deployments.md#s3-drivers): the
//! settings they share ([`S3Settings`], from Gnocchi's `s3_*` options or an
//! `s3://` URL) and [`S3Bucket`], a synchronous client of one bucket that
//! the storage ([`storage::S3Storage`]) and incoming ([`incoming::S3Incoming`])
//! drivers are built on.
//!
//! The engine is synchronous and calls from rayon workers; object_store is
//! async. Each `S3Bucket` owns a small tokio runtime and `block_on`s every
//! call at this boundary, so it must never be called from a thread that
//! runs tokio tasks (`spawn_blocking` threads are fine). Nothing here
//! prints, and no error or `Debug` output carries the secret key.

pub mod incoming;
pub mod storage;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::list::{PaginatedListOptions, PaginatedListStore};
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use super::{Error, Result};

/// Gnocchi's default `s3_bucket_prefix`.
pub const DEFAULT_BUCKET_PREFIX: &str = "gnocchi";
/// Gnocchi's `max_length` of `s3_bucket_prefix`: "Max bucket length is 63
/// and we use "-" as separator" (`-aggregates` takes 11 of the 63).
pub const MAX_BUCKET_PREFIX_LEN: usize = 26;
/// Requests one call keeps in flight (GETs, PUTs, HEADs): enough to hide
/// the latency of a store on another host, few enough not to trip its rate
/// limits (Gnocchi's own pool is `s3_max_pool_connections`, 50).
pub const IN_FLIGHT: usize = 32;

/// How transient failures are retried: 5xx answers (503 SlowDown
/// included), 429, timeouts and broken connections, for idempotent
/// requests (all of ours). Backoff 100 ms doubling to at most 5 s, at
/// most 10 retries and never past 60 s after the first attempt (about
/// 26 s of waiting when every attempt fails fast): long enough to ride
/// out a store restarting, short enough that a pass reports a dead store
/// within a minute. A request that takes more than 30 s, or a connection
/// that takes more than 5 s, counts as a failure.
fn retry_config() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        },
        max_retries: 10,
        retry_timeout: Duration::from_secs(60),
    }
}
/// Object keys with their sizes in bytes, in key order.
pub type Listing = Vec<(String, u64)>;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where Gnocchi's S3 drivers keep their data and how they log in: its
/// `s3_*` options (`gnocchi/storage/s3.py: OPTS`). Credentials and region
/// left unset are taken from the environment when a bucket is opened, as
/// boto3 does. `Debug` hides the secret key.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Settings {
    /// `s3_endpoint_url`; AWS itself when unset.
    pub endpoint_url: Option<String>,
    /// `s3_region_name`, else `$AWS_DEFAULT_REGION`.
    pub region: Option<String>,
    /// `s3_access_key_id`, else `$AWS_ACCESS_KEY_ID`.
    pub access_key_id: Option<String>,
    /// `s3_secret_access_key`, else `$AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: Option<String>,
    /// `s3_bucket_prefix`: the buckets are `<prefix>-aggregates` and
    /// `<prefix>-measure`.
    pub bucket_prefix: String,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint_url", &self.endpoint_url)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "***"),
            )
            .field("bucket_prefix", &self.bucket_prefix)
            .finish()
    }
}

/// What a value of an `s3://` URL's query must have escaped to read back.
const QUERY_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'=')
    .add(b'<')
    .add(b'>');

impl S3Settings {
    /// From Gnocchi's options of one group (`[storage]` or `[incoming]`):
    /// `option` answers the value of `s3_endpoint_url`, `s3_region_name`,
    /// `s3_access_key_id`, `s3_secret_access_key` and `s3_bucket_prefix`
    /// (unset or empty: Gnocchi's default).
    pub fn from_options(option: impl Fn(&str) -> Option<String>) -> Result<S3Settings> {
        let get = |name: &str| option(name).filter(|value| !value.is_empty());
        let bucket_prefix =
            get("s3_bucket_prefix").unwrap_or_else(|| DEFAULT_BUCKET_PREFIX.to_owned());
        check_bucket_prefix(&bucket_prefix, || {
            format!("s3_bucket_prefix = {bucket_prefix}")
        })?;
        Ok(S3Settings {
            endpoint_url: get("s3_endpoint_url"),
            region: get("s3_region_name"),
            access_key_id: get("s3_access_key_id"),
            secret_access_key: get("s3_secret_access_key"),
            bucket_prefix,
        })
    }

    /// From `s3://<bucket prefix>?endpoint=<url>&region=<name>` (each
    /// query field optional; `access_key_id` and `secret_access_key` too,
    /// though the environment is the place for them).
    pub fn from_url(url: &str) -> Result<S3Settings> {
        let bad = |reason: String| Error::BadBackend {
            what: "S3",
            url: redact_url(url),
            reason,
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| bad("not an s3:// URL".to_owned()))?;
        let (prefix, query) = rest.split_once('?').unwrap_or((rest, ""));
        let prefix = prefix.strip_suffix('/').unwrap_or(prefix);
        let mut settings = S3Settings {
            endpoint_url: None,
            region: None,
            access_key_id: None,
            secret_access_key: None,
            bucket_prefix: if prefix.is_empty() {
                DEFAULT_BUCKET_PREFIX.to_owned()
            } else {
                prefix.to_owned()
            },
        };
        check_bucket_prefix(&settings.bucket_prefix, || redact_url(url))?;
        for (field, value) in form_urlencoded::parse(query.as_bytes()) {
            let value = Some(value.into_owned()).filter(|value| !value.is_empty());
            match &*field {
                "endpoint" => settings.endpoint_url = value,
                "region" => settings.region = value,
                "access_key_id" => settings.access_key_id = value,
                "secret_access_key" => settings.secret_access_key = value,
                other => {
                    return Err(bad(format!(
                        "unknown field `{other}` (known: endpoint, region, access_key_id, secret_access_key)"
                    )));
                }
            }
        }
        Ok(settings)
    }

    /// The `s3://` URL of these settings without the credentials, for
    /// `store.json` and messages.
    pub fn to_url(&self) -> String {
        self.url_of(&[("endpoint", &self.endpoint_url), ("region", &self.region)])
    }

    /// The `s3://` URL of these settings with the credentials they hold,
    /// which [`S3Settings::from_url`] reads back: for settings read from a
    /// `gnocchi.conf`, held in memory only.
    pub fn to_url_with_credentials(&self) -> String {
        self.url_of(&[
            ("endpoint", &self.endpoint_url),
            ("region", &self.region),
            ("access_key_id", &self.access_key_id),
            ("secret_access_key", &self.secret_access_key),
        ])
    }

    fn url_of(&self, fields: &[(&str, &Option<String>)]) -> String {
        let mut url = format!("s3://{}", self.bucket_prefix);
        let mut separator = '?';
        for (field, value) in fields {
            if let Some(value) = value {
                url.push(separator);
                url.push_str(field);
                url.push('=');
                url.extend(utf8_percent_encode(value, QUERY_VALUE));
                separator = '&';
            }
        }
        url
    }

    /// The storage driver's bucket: `<prefix>-aggregates`.
    pub fn storage_bucket(&self) -> String {
        format!("{}-aggregates", self.bucket_prefix)
    }

    /// The incoming driver's bucket: `<prefix>-measure`.
    pub fn incoming_bucket(&self) -> String {
        format!("{}-measure", self.bucket_prefix)
    }

    /// The region in force: the setting, else `$AWS_DEFAULT_REGION`.
    pub fn effective_region(&self) -> Option<String> {
        self.region
            .clone()
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .filter(|region| !region.is_empty())
    }

    /// The access key id and secret in force: the settings', else
    /// `$AWS_ACCESS_KEY_ID` / `$AWS_SECRET_ACCESS_KEY`.
    fn credentials(&self, bucket: &str) -> Result<(String, String)> {
        let from = |set: &Option<String>, variable: &str| {
            set.clone()
                .or_else(|| std::env::var(variable).ok())
                .filter(|value| !value.is_empty())
        };
        match (
            from(&self.access_key_id, "AWS_ACCESS_KEY_ID"),
            from(&self.secret_access_key, "AWS_SECRET_ACCESS_KEY"),
        ) {
            (Some(id), Some(secret)) => Ok((id, secret)),
            _ => Err(Error::S3 {
                bucket: bucket.to_owned(),
                key: None,
                reason: "no credentials: set s3_access_key_id and s3_secret_access_key, or \
                         AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                    .to_owned(),
            }),
        }
    }
}

fn check_bucket_prefix(prefix: &str, url: impl FnOnce() -> String) -> Result<()> {
    let length = prefix.chars().count();
    if length > MAX_BUCKET_PREFIX_LEN {
        return Err(Error::BadBackend {
            what: "S3",
            url: url(),
            reason: format!(
                "the bucket prefix is {length} characters long; Gnocchi allows at most \
                 {MAX_BUCKET_PREFIX_LEN} (bucket names are at most 63, with `-aggregates` added)"
            ),
        });
    }
    Ok(())
}

/// An `s3://` URL with the value of `secret_access_key` hidden.
fn redact_url(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let fields: Vec<Cow<'_, str>> = query
        .split('&')
        .map(|field| match field.split_once('=') {
            Some(("secret_access_key", _)) => Cow::Borrowed("secret_access_key=***"),
            _ => Cow::Borrowed(field),
        })
        .collect();
    format!("{base}?{}", fields.join("&"))
}

/// A synchronous client of one bucket. Each call blocks its thread until
/// the requests it makes are done; calls from several threads run side by
/// side.
pub struct S3Bucket {
    name: String,
    store: Arc<AmazonS3>,
    region: Option<String>,
    /// Kept only to scrub it from error messages, should a server echo it.
    secret: String,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for S3Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Bucket")
            .field("name", &self.name)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl S3Bucket {
    /// A client of bucket `name` (which need not exist yet): path-style
    /// requests, plain HTTP allowed when the endpoint is `http://`.
    pub fn open(settings: &S3Settings, name: &str) -> Result<S3Bucket> {
        let (access_key_id, secret) = settings.credentials(name)?;
        // reqwest's TLS comes without a crypto provider (aws-lc-rs would
        // need cmake and a C build): ring, which ureq uses already, is the
        // process default; one installed before is fine too. (Deprecated
        // for its lack of post-quantum key exchange; ureq uses it alike.)
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let region = settings.effective_region();
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(name)
            .with_access_key_id(access_key_id)
            .with_secret_access_key(&secret)
            .with_virtual_hosted_style_request(false)
            .with_retry(retry_config())
            .with_client_options(
                ClientOptions::new()
                    .with_timeout(REQUEST_TIMEOUT)
                    .with_connect_timeout(CONNECT_TIMEOUT)
                    .with_allow_http(
                        settings
                            .endpoint_url
                            .as_deref()
                            .is_some_and(|url| url.starts_with("http://")),
                    ),
            );
        if let Some(endpoint) = &settings.endpoint_url {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(region) = &region {
            builder = builder.with_region(region);
        }
        let failed = |reason: String| Error::S3 {
            bucket: name.to_owned(),
            key: None,
            reason,
        };
        let store = builder
            .build()
            .map_err(|e| failed(scrub(e.to_string(), &secret)))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("carbonara-s3")
            .enable_all()
            .build()
            .map_err(|e| failed(format!("starting the S3 client's runtime: {e}")))?;
        Ok(S3Bucket {
            name: name.to_owned(),
            store: Arc::new(store),
            region,
            secret,
            runtime,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn error(&self, key: Option<&str>, error: impl std::fmt::Display) -> Error {
        Error::S3 {
            bucket: self.name.clone(),
            key: key.map(str::to_owned),
            reason: scrub(tidy(error.to_string()), &self.secret),
        }
    }

    fn path(&self, key: &str) -> Result<Path> {
        Path::parse(key).map_err(|e| self.error(Some(key), e))
    }

    /// Creates the bucket, with `LocationConstraint` = the region when one
    /// is set, as Gnocchi's `create_bucket` does. A bucket that exists
    /// already (`BucketAlreadyExists`, `BucketAlreadyOwnedByYou`) is fine.
    ///
    /// object_store has no CreateBucket: the request is a presigned `PUT
    /// /<bucket>/` sent with ureq. `OperationAborted` (a conflicting
    /// operation on the bucket) and 5xx answers are retried as the other
    /// requests are.
    pub fn create(&self) -> Result<()> {
        let body = match &self.region {
            Some(region) => format!(
                "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <LocationConstraint>{region}</LocationConstraint></CreateBucketConfiguration>"
            ),
            None => String::new(),
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .user_agent(concat!("carbonara/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        let retry = retry_config();
        let started = Instant::now();
        let mut backoff = retry.backoff.init_backoff;
        let mut retries = 0;
        loop {
            let url = self
                .runtime
                .block_on(self.store.signed_url(
                    ureq::http::Method::PUT,
                    &Path::ROOT,
                    Duration::from_secs(300),
                ))
                .map_err(|e| self.error(None, e))?;
            // The URL carries a signature: never put it in a message.
            let (transient, reason) = match agent.put(url.as_str()).send(body.as_bytes()) {
                Ok(mut response) => {
                    let status = response.status();
                    if status.is_success() {
                        return Ok(());
                    }
                    let text = response.body_mut().read_to_string().unwrap_or_default();
                    let code = xml_field(&text, "Code").unwrap_or_default();
                    if matches!(code, "BucketAlreadyExists" | "BucketAlreadyOwnedByYou") {
                        return Ok(());
                    }
                    let message = xml_field(&text, "Message").unwrap_or_default();
                    (
                        status.is_server_error() || code == "OperationAborted",
                        format!("CreateBucket: {status} {code}: {message}"),
                    )
                }
                Err(e) => (true, format!("CreateBucket: {}", transport_error_kind(&e))),
            };
            if !transient
                || retries >= retry.max_retries
                || started.elapsed() + backoff > retry.retry_timeout
            {
                let reason = if retries > 0 {
                    format!("{reason} (after {retries} retries)")
                } else {
                    reason
                };
                return Err(self.error(None, reason));
            }
            std::thread::sleep(backoff);
            retries += 1;
            backoff = backoff
                .mul_f64(retry.backoff.base)
                .min(retry.backoff.max_backoff);
        }
    }

    /// An object's body; `None` when there is no such object.
    pub fn get(&self, key: &str) -> Result<Option<Bytes>> {
        Ok(self.get_many(&[key])?.pop().flatten())
    }

    /// Objects' bodies, in the order of `keys`, [`IN_FLIGHT`] requests at
    /// a time; `None` for each missing one.
    pub fn get_many<K: AsRef<str>>(&self, keys: &[K]) -> Result<Vec<Option<Bytes>>> {
        let paths = keys
            .iter()
            .map(|key| self.path(key.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        self.runtime.block_on(
            stream::iter(paths.iter().zip(keys))
                .map(|(path, key)| async move {
                    let found = match self.store.get(path).await {
                        Ok(found) => found.bytes().await.map(Some),
                        Err(object_store::Error::NotFound { .. }) => Ok(None),
                        Err(e) => Err(e),
                    };
                    found.map_err(|e| self.error(Some(key.as_ref()), e))
                })
                .buffered(IN_FLIGHT)
                .try_collect(),
        )
    }

    /// Whether an object exists (a HEAD request).
    pub fn exists(&self, key: &str) -> Result<bool> {
        let path = self.path(key)?;
        match self.runtime.block_on(self.store.head(&path)) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.error(Some(key), e)),
        }
    }

    /// Writes an object: the body only, no metadata (as Gnocchi's
    /// `put_object(Bucket, Key, Body)`).
    pub fn put(&self, key: &str, body: &[u8]) -> Result<()> {
        self.put_many(&[(key, body)])
    }

    /// Writes objects, [`IN_FLIGHT`] at a time. Every request is waited
    /// for, even after one failed: a request abandoned in flight may still
    /// be carried out by the store later, over what the next pass wrote.
    pub fn put_many<K: AsRef<str>, B: AsRef<[u8]>>(&self, items: &[(K, B)]) -> Result<()> {
        let items = items
            .iter()
            .map(|(key, body)| {
                let key = key.as_ref();
                Ok((key, self.path(key)?, Bytes::copy_from_slice(body.as_ref())))
            })
            .collect::<Result<Vec<_>>>()?;
        self.runtime
            .block_on(
                stream::iter(items)
                    .map(|(key, path, body)| async move {
                        self.store
                            .put(&path, body.into())
                            .await
                            .map(drop)
                            .map_err(|e| self.error(Some(key), e))
                    })
                    .buffer_unordered(IN_FLIGHT)
                    .collect::<Vec<Result<()>>>(),
            )
            .into_iter()
            .collect()
    }

    /// One listing of the keys under a prefix (any text, not only a
    /// "directory"), page after page: with `delimiter`, the common
    /// prefixes too.
    fn list_pages(
        &self,
        prefix: &str,
        delimiter: Option<&'static str>,
    ) -> Result<(Listing, Vec<String>)> {
        let mut objects = Vec::new();
        let mut prefixes = Vec::new();
        let mut page_token = None;
        let prefix = (!prefix.is_empty()).then_some(prefix);
        loop {
            let options = PaginatedListOptions {
                delimiter: delimiter.map(Cow::Borrowed),
                page_token: page_token.take(),
                ..PaginatedListOptions::default()
            };
            let page = self
                .runtime
                .block_on(self.store.list_paginated(prefix, options))
                .map_err(|e| self.error(prefix, e))?;
            objects.extend(
                page.result
                    .objects
                    .into_iter()
                    .map(|object| (String::from(object.location), object.size)),
            );
            prefixes.extend(page.result.common_prefixes.into_iter().map(String::from));
            match page.page_token {
                Some(token) => page_token = Some(token),
                None => return Ok((objects, prefixes)),
            }
        }
    }

    /// Every object whose key starts with `prefix` (any text), with its
    /// size, in key order; one ListObjectsV2 request per 1000 keys.
    pub fn list(&self, prefix: &str) -> Result<Listing> {
        Ok(self.list_pages(prefix, None)?.0)
    }

    /// Whether any object's key starts with `prefix` (one request).
    pub fn any_under(&self, prefix: &str) -> Result<bool> {
        let options = PaginatedListOptions {
            max_keys: Some(1),
            ..PaginatedListOptions::default()
        };
        let page = self
            .runtime
            .block_on(self.store.list_paginated(Some(prefix), options))
            .map_err(|e| self.error(Some(prefix), e))?;
        Ok(!page.result.objects.is_empty())
    }

    /// The "directories" under `prefix`: the distinct key parts between
    /// `prefix` and the next `/`, each given whole (`prefix` included) and
    /// without its trailing `/`, in key order.
    pub fn list_delimited(&self, prefix: &str) -> Result<Vec<String>> {
        Ok(self.list_pages(prefix, Some("/"))?.1)
    }

    /// Deletes objects with DeleteObjects, 1000 keys a request; keys with
    /// no object are fine.
    pub fn delete_many<K: AsRef<str>>(&self, keys: &[K]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let paths = keys
            .iter()
            .map(|key| self.path(key.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        let deleted = self
            .store
            .delete_stream(stream::iter(paths).map(Ok).boxed());
        self.runtime
            .block_on(async {
                deleted
                    .map_err(|e| {
                        let key = match &e {
                            object_store::Error::NotFound { path, .. } => Some(path.clone()),
                            _ => None,
                        };
                        (key, e)
                    })
                    .try_for_each(|_| async { Ok(()) })
                    .await
            })
            .or_else(|(key, e)| match e {
                // A key deleted meanwhile: what was asked is done.
                object_store::Error::NotFound { .. } => Ok(()),
                e => Err(self.error(key.as_deref(), e)),
            })
    }
}

/// A message with the secret key (should a server ever echo it) hidden.
fn scrub(message: String, secret: &str) -> String {
    if secret.is_empty() || !message.contains(secret) {
        message
    } else {
        message.replace(secret, "***")
    }
}

/// A message ending in an S3 error document with only its code and
/// message kept of it (`… 403 Forbidden: AccessDenied: Forbidden: Invalid
/// signature`).
fn tidy(message: String) -> String {
    match (message.find("<?xml"), xml_field(&message, "Code")) {
        (Some(at), Some(code)) => format!(
            "{}{code}: {}",
            &message[..at],
            xml_field(&message, "Message").unwrap_or_default()
        ),
        _ => message,
    }
}

/// The text of the first `<name>…</name>` of an S3 error document.
fn xml_field<'t>(text: &'t str, name: &str) -> Option<&'t str> {
    let start = text.find(&format!("<{name}>"))? + name.len() + 2;
    let length = text[start..].find(&format!("</{name}>"))?;
    Some(&text[start..start + length])
}

/// What went wrong with a request that got no answer, without its URL
/// (a presigned one carries a signature).
fn transport_error_kind(error: &ureq::Error) -> String {
    match error {
        ureq::Error::Io(e) => format!("no answer: {}", e.kind()),
        ureq::Error::Timeout(what) => format!("timed out ({what:?})"),
        ureq::Error::ConnectionFailed => "connection failed".to_owned(),
        ureq::Error::HostNotFound => "host not found".to_owned(),
        other => format!("request failed: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_round_trip_without_secrets() {
        let settings = S3Settings::from_url(
            "s3://carbonara?endpoint=http://127.0.0.1:3900&region=garage&access_key_id=GK1&secret_access_key=s3cr%2Bt",
        )
        .unwrap();
        assert_eq!(
            settings.endpoint_url.as_deref(),
            Some("http://127.0.0.1:3900")
        );
        assert_eq!(settings.region.as_deref(), Some("garage"));
        assert_eq!(settings.access_key_id.as_deref(), Some("GK1"));
        assert_eq!(settings.secret_access_key.as_deref(), Some("s3cr+t"));
        assert_eq!(settings.bucket_prefix, "carbonara");
        let url = settings.to_url();
        assert_eq!(
            url,
            "s3://carbonara?endpoint=http://127.0.0.1:3900&region=garage"
        );
        let again = S3Settings::from_url(&url).unwrap();
        assert_eq!(again.endpoint_url, settings.endpoint_url);
        assert_eq!(again.secret_access_key, None);
        let debug = format!("{settings:?}");
        assert!(!debug.contains("s3cr+t"), "{debug}");
        assert!(debug.contains("***"), "{debug}");
        assert_eq!(
            S3Settings::from_url("s3://").unwrap().bucket_prefix,
            "gnocchi"
        );
        assert_eq!(
            S3Settings::from_url("s3://").unwrap().to_url(),
            "s3://gnocchi"
        );
    }

    #[test]
    fn bad_urls_are_refused_without_their_secret() {
        let error = S3Settings::from_url("s3://x?colour=red&secret_access_key=hush")
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown field `colour`"), "{error}");
        assert!(!error.contains("hush"), "{error}");
        assert!(S3Settings::from_url("file:///tmp").is_err());
        let long = format!("s3://{}", "p".repeat(27));
        let error = S3Settings::from_url(&long).unwrap_err().to_string();
        assert!(error.contains("at most 26"), "{error}");
        assert!(S3Settings::from_url(&format!("s3://{}", "p".repeat(26))).is_ok());
    }

    #[test]
    fn gnocchi_options_are_read_with_their_defaults() {
        let options = |name: &str| match name {
            "s3_endpoint_url" => Some("http://s3:9000".to_owned()),
            "s3_secret_access_key" => Some("shh".to_owned()),
            "s3_bucket_prefix" => Some(String::new()),
            _ => None,
        };
        let settings = S3Settings::from_options(options).unwrap();
        assert_eq!(settings.bucket_prefix, "gnocchi");
        assert_eq!(settings.storage_bucket(), "gnocchi-aggregates");
        assert_eq!(settings.incoming_bucket(), "gnocchi-measure");
        assert_eq!(settings.endpoint_url.as_deref(), Some("http://s3:9000"));
        assert_eq!(settings.secret_access_key.as_deref(), Some("shh"));
        assert_eq!(settings.region, None);
        let too_long =
            S3Settings::from_options(|name| (name == "s3_bucket_prefix").then(|| "x".repeat(27)));
        assert!(matches!(too_long, Err(Error::BadBackend { .. })));
    }

    #[test]
    fn error_documents_are_read() {
        let text = "<?xml version=\"1.0\"?><Error><Code>BucketAlreadyOwnedByYou</Code>\
                    <Message>yours</Message></Error>";
        assert_eq!(xml_field(text, "Code"), Some("BucketAlreadyOwnedByYou"));
        assert_eq!(xml_field(text, "Message"), Some("yours"));
        assert_eq!(xml_field(text, "Resource"), None);
        assert_eq!(scrub("a secret b".to_owned(), "secret"), "a *** b");
        assert_eq!(
            tidy(format!("GET x - 403 Forbidden: {text}")),
            "GET x - 403 Forbidden: BucketAlreadyOwnedByYou: yours"
        );
    }
}
