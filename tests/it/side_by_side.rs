//! carbonara side by side with a real Gnocchi 4.7.1 deployment
//! (gnocchi-api on PostgreSQL, file storage and incoming), recorded by
//! scripts/oracle/side-by-side.sh into tests/golden/side-by-side/ and
//! replayed here without Python: the database gets the rows gnocchi-api
//! wrote (on a schema made by `carbonara upgrade`), the sacks the measure
//! files gnocchi-api wrote, and carbonara, given the deployment's own
//! gnocchi.conf, must do what Gnocchi did: the same archive bytes, the
//! same answers as gnocchi-api, the same rows.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::Value;

use crate::common::golden_dir;
use crate::gnocchi_conf::GnocchiConf;

/// The tables of policies, rules and metrics.
const TABLES: [&str; 3] = ["archive_policy", "archive_policy_rule", "metric"];

/// What the recordings give `metric.last_measure_timestamp` (a time of
/// writing, different at every run).
const NORMALISED_TIME: &str = "2000-01-01T00:00:00";

/// A recording (plain JSON: its base64 may hold the letters `NaN`).
fn recording(name: &str) -> Value {
    let path = golden_dir().join("side-by-side").join(name);
    let doc: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(doc["gnocchi_version"], "4.7.1", "{name}");
    doc
}

fn base64_bytes(text: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text.as_str().unwrap())
        .unwrap()
}

/// A deployment rebuilt from a recording: its gnocchi.conf as gnocchi-api
/// ran with it (paths and URLs replaced), a database of its own.
struct Replay(GnocchiConf);

impl std::ops::Deref for Replay {
    type Target = GnocchiConf;

    fn deref(&self) -> &GnocchiConf {
        &self.0
    }
}

impl Replay {
    /// `upgrade` on an empty database, then the recorded rows.
    fn new(purpose: &str, recording: &Value) -> Replay {
        let replay = Replay(GnocchiConf::new(purpose));
        // Gnocchi's package directory does not exist here: carbonara reads
        // neither the paste configuration nor the policy file.
        let conf = recording["conf"]
            .as_str()
            .unwrap()
            .replace("@INDEXER_URL@", &replay.url)
            .replace("@STORAGE@", replay.storage().to_str().unwrap())
            .replace("@GNOCCHI@", "/nonexistent/gnocchi");
        fs::write(replay.conf(), conf).unwrap();
        replay
            .run(&["upgrade", "--skip-archive-policies-creation"])
            .success();
        if let Some(ddl) = recording["ddl"].as_str() {
            // Its own session: pg_dump's script empties the search path.
            replay.client().batch_execute(ddl).unwrap();
        }
        replay.load_rows(&recording["rows"]);
        replay
    }

    /// Rows as `row_to_json` wrote them at recording, inserted by
    /// `json_populate_record` (json columns keep their text), table after
    /// table in the recording's order (one their foreign keys accept);
    /// then the revision sequence where gnocchi-api left it.
    fn load_rows(&self, rows: &Value) {
        let mut client = self.client();
        for (table, rows) in rows.as_object().unwrap() {
            for row in rows.as_array().unwrap() {
                client
                    .execute(
                        &format!(
                            "INSERT INTO public.{table} \
                             SELECT * FROM json_populate_record(NULL::public.{table}, $1::text::json)"
                        ),
                        &[&row.as_str().unwrap()],
                    )
                    .unwrap_or_else(|e| panic!("loading {table} row {row}: {e}"));
            }
        }
        client
            .batch_execute(
                "SELECT setval(pg_get_serial_sequence('resource_history', 'revision'), \
                 COALESCE(max(revision), 0) + 1, false) FROM resource_history",
            )
            .unwrap();
    }

    /// A table's rows as `row_to_json` writes them, parsed.
    fn rows(&self, table: &str) -> Vec<Value> {
        self.client()
            .query(
                &format!("SELECT row_to_json(t)::text FROM public.{table} t ORDER BY 1"),
                &[],
            )
            .unwrap()
            .iter()
            .map(|row| serde_json::from_str(row.get::<_, &str>(0)).unwrap())
            .collect()
    }

    /// Gnocchi's file-storage directory of a metric.
    fn metric_dir(&self, id: &str) -> PathBuf {
        let mut dir = self.storage();
        for pair in id.replace('-', "").as_bytes().chunks(2) {
            dir.push(std::str::from_utf8(pair).unwrap());
        }
        dir.push(id);
        dir
    }

    /// Relative path → bytes of every file below `dir`.
    fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
        if !dir.exists() {
            return Vec::new();
        }
        let mut files: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
            .into_iter()
            .map(Result::unwrap)
            .filter(|entry| entry.file_type().is_file())
            .map(|entry| {
                let relative = entry.path().strip_prefix(dir).unwrap();
                (
                    relative.to_string_lossy().into_owned(),
                    fs::read(entry.path()).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    }

    /// The measure files waiting in the sacks, relative to the storage.
    fn incoming(&self) -> Vec<String> {
        let mut waiting = Vec::new();
        for sack in fs::read_dir(self.storage()).unwrap() {
            let sack = sack.unwrap();
            let name = sack.file_name().to_string_lossy().into_owned();
            if name.starts_with("incoming") {
                for (relative, _) in Replay::files(&sack.path()) {
                    waiting.push(format!("{name}/{relative}"));
                }
            }
        }
        waiting.sort();
        waiting
    }

    /// Writes measure files where gnocchi-api wrote them.
    fn put_incoming(&self, files: &Value) {
        for (relative, data) in files.as_object().unwrap() {
            let path = self.storage().join(relative);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, base64_bytes(data)).unwrap();
        }
    }
}

fn sha1_hex(data: &[u8]) -> String {
    sha1_smol::Sha1::from(data).digest().to_string()
}

/// `measures show -f json` rows as gnocchi-api's `[timestamp, granularity,
/// value]` triples.
fn triples(shown: &Value) -> Vec<Value> {
    shown
        .as_array()
        .unwrap()
        .iter()
        .map(|row| serde_json::json!([row["timestamp"], row["granularity"], row["value"]]))
        .collect()
}

/// The same JSON, and the same float bits (a -0.0 is not a 0.0).
fn same_answer(got: &[Value], want: &[Value]) -> bool {
    got == want
        && got.iter().zip(want).all(|(g, w)| {
            let bits = |v: &Value| v[2].as_f64().map(f64::to_bits);
            bits(g) == bits(w)
        })
}

/// A metric row with its volatile time replaced, as the recordings keep it.
fn normalised_metric_row(row: &Value) -> Value {
    let mut row = row.clone();
    row["last_measure_timestamp"] = Value::from(NORMALISED_TIME);
    row
}

/// A metric's archive files are those recorded (path → sha1).
fn assert_file_hashes(replay: &Replay, id: &str, want: &Value, label: &str) {
    let got: Vec<(String, String)> = Replay::files(&replay.metric_dir(id))
        .into_iter()
        .map(|(path, data)| (path, sha1_hex(&data)))
        .collect();
    let want: Vec<(String, String)> = want
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, hash)| (path.clone(), hash.as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(got, want, "{label}: archive files (sha1)");
}

/// `measures show` gives, for every method and granularity recorded
/// (method → granularity → triples), what gnocchi-api answered.
fn assert_answers(replay: &Replay, id: &str, answers: &Value, label: &str) {
    for (method, by_granularity) in answers.as_object().unwrap() {
        for (granularity, want) in by_granularity.as_object().unwrap() {
            let shown = replay.json(&[
                "measures",
                "show",
                id,
                "--aggregation",
                method,
                "--granularity",
                granularity,
            ]);
            let got = triples(&shown);
            let want = want.as_array().unwrap();
            assert!(
                same_answer(&got, want),
                "{label} {method} {granularity}: carbonara shows\n{got:?}\n\
                 gnocchi-api answered\n{want:?}"
            );
        }
    }
}

/// Measures posted through gnocchi-api, in five batches, each aggregated
/// by one pass: `carbonara process` must write the archive files Gnocchi's
/// own processing wrote (per batch: the same file names and bytes), and
/// `measures show` must give what gnocchi-api answered, for every
/// aggregation method and granularity of four metrics under three policies
/// (a back window, truncation, splits, a policy given by a rule, an empty
/// POST).
#[test]
fn measures_posted_through_gnocchi_api_are_aggregated_as_gnocchi_does() {
    let doc = recording("measures.json");
    assert_eq!(doc["differences"], Value::Array(vec![]), "the live run");
    let replay = Replay::new("side_by_side_measures", &doc);
    let ids = doc["ids"].as_object().unwrap();
    for (number, batch) in doc["batches"].as_array().unwrap().iter().enumerate() {
        let label = format!("batch {}", number + 1);
        replay.put_incoming(&batch["incoming"]);
        // What waits: gnocchi-api counts measure files and the metrics
        // that have some, carbonara measures and the metrics that have
        // some (docs/differences.md); an empty POST's file has none.
        let status = replay.json(&["status"]);
        let api = &batch["api_status"]["storage"]["summary"];
        let files = batch["incoming"].as_object().unwrap();
        let metric_of = |path: &str| path.split('/').nth(1).unwrap().to_owned();
        let with_files: BTreeSet<String> = files.keys().map(|path| metric_of(path)).collect();
        assert_eq!(api["measures"], files.len(), "{label}");
        assert_eq!(api["metrics"], with_files.len(), "{label}");
        let with_measures: BTreeSet<String> = files
            .iter()
            .filter(|(_, data)| !base64_bytes(data).is_empty())
            .map(|(path, _)| metric_of(path))
            .collect();
        assert_eq!(
            status["storage/number of metric having measures to process"],
            with_measures.len(),
            "{label}"
        );
        let measures: usize = files.values().map(|f| base64_bytes(f).len() / 16).sum();
        assert_eq!(
            status["storage/total number of measures to process"], measures,
            "{label}"
        );

        replay.run(&["process"]).success();
        assert_eq!(replay.incoming(), Vec::<String>::new(), "{label}: left");
        for (name, id) in ids {
            let id = id.as_str().unwrap();
            let label = format!("{label}: {name}");
            assert_file_hashes(&replay, id, &batch["gnocchi"]["files"][name], &label);
            assert_answers(&replay, id, &batch["gnocchi"]["answers"][name], &label);
        }
    }
    // The bytes themselves, at the end.
    for (name, id) in ids {
        let got = Replay::files(&replay.metric_dir(id.as_str().unwrap()));
        let want: Vec<(String, Vec<u8>)> = doc["gnocchi_archives"][name]
            .as_object()
            .unwrap()
            .iter()
            .map(|(path, data)| (path.clone(), base64_bytes(data)))
            .collect();
        assert!(got == want, "{name}: archive bytes differ from Gnocchi's");
    }
    // metricd's side writes: the same rows as after Gnocchi's processing,
    // the time of the last measure moved on.
    for row in replay.rows("metric") {
        let name = row["name"].as_str().unwrap().to_owned();
        assert_ne!(
            row["last_measure_timestamp"], NORMALISED_TIME,
            "{name}: last_measure_timestamp not written"
        );
        let mut want = doc["gnocchi_metric_rows"][&name].clone();
        want["id"] = row["id"].clone();
        assert_eq!(normalised_metric_row(&row), want, "{name}'s row");
    }
}

/// A document as text, with what may differ in order put in one: a
/// policy's aggregation methods (a set: Gnocchi's API lists them in a
/// Python set's order), a resource's metrics (read without ORDER BY:
/// gnocchi-api lists one resource's metrics in one order in its document
/// and in another in its history) and the policies of a list (Gnocchi
/// lists them in the database's order, carbonara by name). Key order and
/// number forms are kept.
fn canonical(value: &Value) -> String {
    fn walk(value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(key, item)| {
                        let item = match (key.as_str(), item) {
                            ("aggregation_methods", Value::Array(methods)) => {
                                let mut methods = methods.clone();
                                methods.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                                Value::Array(methods)
                            }
                            ("metrics", Value::Object(metrics)) => {
                                let mut metrics = metrics.clone();
                                metrics.sort_keys();
                                Value::Object(metrics)
                            }
                            _ => walk(item),
                        };
                        (key.clone(), item)
                    })
                    .collect(),
            ),
            Value::Array(items) => {
                let mut items: Vec<Value> = items.iter().map(walk).collect();
                if items
                    .iter()
                    .all(|item| item.get("name").is_some() && item.get("id").is_none())
                {
                    items.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
                }
                Value::Array(items)
            }
            other => other.clone(),
        }
    }
    walk(value).to_string()
}

/// One side's names as the other's: `cli-x`, `cli.x`, `cli_x` → `api-x`,
/// `api.x`, `api_x`.
fn swap_side(value: &Value, from: &str, to: &str) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| (key.clone(), swap_side(item, from, to)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|i| swap_side(i, from, to)).collect()),
        Value::String(text)
            if ['-', '.', '_']
                .iter()
                .any(|c| text.starts_with(&format!("{from}{c}"))) =>
        {
            Value::String(format!("{to}{}", &text[from.len()..]))
        }
        other => other.clone(),
    }
}

/// `{name}` in a recorded command or request → the metric's id.
fn with_ids(text: &str, ids: &Value) -> String {
    let mut text = text.to_owned();
    for (name, id) in ids.as_object().unwrap() {
        text = text.replace(&format!("{{{name}}}"), id.as_str().unwrap());
    }
    text
}

/// A row as the other side's would be: no id (random), the metric's time
/// of writing normalised.
fn comparable_row(row: &Value) -> Value {
    let mut row = row.clone();
    if let Some(fields) = row.as_object_mut() {
        if fields.contains_key("id") {
            fields.insert("id".to_owned(), Value::Null);
        }
        if fields.contains_key("last_measure_timestamp") {
            fields.insert(
                "last_measure_timestamp".to_owned(),
                Value::from(NORMALISED_TIME),
            );
        }
    }
    row
}

/// Archive policies (explicit methods, the defaults, `*`, `-std +last`, a
/// granularity from points and timespan), a rule and metrics (one given
/// its policy by the rule, one with a unit) made through gnocchi-api are
/// shown by carbonara as gnocchi-api shows them; the same made by
/// carbonara's command line are the rows gnocchi-api writes, and
/// gnocchi-api read them as its own in the live run.
#[test]
fn policies_rules_and_metrics_made_by_either_side_are_read_by_the_other() {
    let doc = recording("objects.json");
    assert_eq!(doc["differences"], Value::Array(vec![]), "the live run");
    let replay = Replay::new("side_by_side_objects", &doc);
    let api_ids = &doc["api_ids"];
    for read in doc["api_reads"].as_array().unwrap() {
        let command: Vec<String> = read["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|arg| with_ids(arg.as_str().unwrap(), api_ids))
            .collect();
        let shown = replay.json(&command.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(
            canonical(&shown),
            canonical(&read["answer"]),
            "carbonara {} against gnocchi-api's {}",
            command.join(" "),
            read["request"]
        );
    }

    for command in doc["cli_commands"].as_array().unwrap() {
        let command: Vec<&str> = command
            .as_array()
            .unwrap()
            .iter()
            .map(|arg| arg.as_str().unwrap())
            .collect();
        replay.json(&command);
    }
    for table in TABLES {
        let written = replay.rows(table);
        let mut ours: Vec<String> = written
            .iter()
            .filter(|row| row["name"].as_str().unwrap().starts_with("cli"))
            .map(|row| canonical(&comparable_row(&swap_side(row, "cli", "api"))))
            .collect();
        let mut theirs: Vec<String> = doc["rows"][table]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                let row: Value = serde_json::from_str(row.as_str().unwrap()).unwrap();
                canonical(&comparable_row(&row))
            })
            .collect();
        ours.sort();
        theirs.sort();
        assert_eq!(ours.len(), theirs.len(), "{table}: {ours:?}");
        for (ours, theirs) in ours.iter().zip(&theirs) {
            assert_eq!(
                ours, theirs,
                "{table}: carbonara's row against gnocchi-api's"
            );
        }
    }
    // The json columns' very text (but the methods' order, a set's).
    let mut client = replay.client();
    for (name, texts) in doc["policy_json_texts"].as_object().unwrap() {
        if let Some(rest) = name.strip_prefix("api") {
            let ours: String = client
                .query_one(
                    "SELECT definition::text FROM archive_policy WHERE name = $1",
                    &[&format!("cli{rest}")],
                )
                .unwrap()
                .get(0);
            assert_eq!(ours, texts["definition"].as_str().unwrap(), "cli{rest}");
        }
    }

    // The live run: gnocchi-api answered for carbonara's objects what it
    // answered for its own.
    for (ours, theirs) in doc["cli_reads"]
        .as_array()
        .unwrap()
        .iter()
        .zip(doc["api_reads"].as_array().unwrap())
    {
        let answer = &ours["answer"];
        let label = format!("{} against {}", ours["request"], theirs["request"]);
        match answer.as_array() {
            // Lists hold both sides' objects.
            Some(items) => {
                let side = |prefix: &str| -> Vec<Value> {
                    items
                        .iter()
                        .filter(|item| item["name"].as_str().unwrap().starts_with(prefix))
                        .map(|item| comparable_row(&swap_side(item, "cli", "api")))
                        .collect()
                };
                assert_eq!(
                    canonical(&Value::Array(side("cli"))),
                    canonical(&Value::Array(side("api"))),
                    "{label}"
                );
            }
            None => assert_eq!(
                canonical(&comparable_row(&swap_side(answer, "cli", "api"))),
                canonical(&comparable_row(&theirs["answer"])),
                "{label}"
            ),
        }
    }
}

/// A metric's state for the janitors: its row, and which of its
/// directories exist.
fn janitor_state(replay: &Replay, id: &str) -> Value {
    let row = replay
        .client()
        .query_opt(
            "SELECT row_to_json(t)::text FROM metric t WHERE id = $1::text::uuid",
            &[&id],
        )
        .unwrap()
        .map(|row| normalised_metric_row(&serde_json::from_str(row.get::<_, &str>(0)).unwrap()));
    let archive = replay.metric_dir(id);
    let sack = uuid::Uuid::parse_str(id).unwrap().as_u128() % 128;
    let incoming = replay.storage().join(format!("incoming128-{sack}/{id}"));
    serde_json::json!({
        "row": row,
        "archive_dir": archive.is_dir(),
        "archive_parent_dir": archive.parent().unwrap().is_dir(),
        "incoming_dir": incoming.is_dir(),
    })
}

/// A metric deleted through gnocchi-api (`DELETE /v1/metric/ID`: its row
/// marked, its archive and waiting measures still there) is expunged by
/// `carbonara janitor` as Gnocchi's janitor expunges one: row, archive
/// directory and incoming directory gone, nothing else touched. A metric
/// deleted by `carbonara metric delete` is marked as gnocchi-api marks
/// one, which Gnocchi's own janitor expunged in the live run.
#[test]
fn deleted_metrics_are_expunged_by_either_sides_janitor() {
    let doc = recording("janitor.json");
    assert_eq!(doc["differences"], Value::Array(vec![]), "the live run");
    let replay = Replay::new("side_by_side_janitor", &doc);
    replay.put_incoming(&doc["files"]);
    let ids = &doc["ids"];
    let id = |name: &str| ids[name].as_str().unwrap().to_owned();
    let state = |name: &str| janitor_state(&replay, &id(name));
    for name in ["doomed-by-api", "doomed-by-cli", "survivor"] {
        assert_eq!(state(name), doc["before"][name], "{name} before");
    }
    let kept = |name: &str| {
        let mut files = Replay::files(&replay.metric_dir(&id(name)));
        let sack = uuid::Uuid::parse_str(&id(name)).unwrap().as_u128() % 128;
        files.extend(Replay::files(
            &replay
                .storage()
                .join(format!("incoming128-{sack}/{}", id(name))),
        ));
        files
    };
    let (cli_files, survivor_files) = (kept("doomed-by-cli"), kept("survivor"));

    assert_eq!(replay.json(&["janitor"]), doc["carbonara_janitor"]);
    for name in ["doomed-by-api", "doomed-by-cli", "survivor"] {
        assert_eq!(
            state(name),
            doc["after_carbonara_janitor"][name],
            "{name} after carbonara's janitor"
        );
    }
    // What Gnocchi's janitor left of the metric it expunged, in the live run.
    assert_eq!(
        doc["after_carbonara_janitor"]["doomed-by-api"],
        doc["after_gnocchi_janitor"]["doomed-by-cli"]
    );
    assert!(kept("doomed-by-cli") == cli_files && kept("survivor") == survivor_files);

    replay
        .run(&["metric", "delete", &id("doomed-by-cli")])
        .success();
    let deleted = state("doomed-by-cli");
    assert_eq!(deleted["row"], doc["cli_deleted_row"]);
    // Marked as gnocchi-api marks a metric, data left for a janitor.
    let mut api_deleted = doc["before"]["doomed-by-api"]["row"].clone();
    api_deleted["id"] = deleted["row"]["id"].clone();
    api_deleted["name"] = deleted["row"]["name"].clone();
    assert_eq!(deleted["row"], api_deleted);
    assert!(kept("doomed-by-cli") == cli_files);
    assert_eq!(
        doc["after_gnocchi_janitor"]["doomed-by-cli"]["row"],
        Value::Null
    );
    assert_eq!(
        doc["after_gnocchi_janitor"]["survivor"],
        doc["before"]["survivor"]
    );
}

/// One phase of past.json: per metric, carbonara's `metric show` is the
/// document gnocchi-api answered, its `measures show` every answer, and
/// its archive files the recorded hashes.
fn assert_past_reads(replay: &Replay, ids: &Value, phase: &Value, label: &str) {
    for (name, id) in ids.as_object().unwrap() {
        let id = id.as_str().unwrap();
        let label = format!("{label}: {name}");
        assert_eq!(
            canonical(&replay.json(&["metric", "show", id])),
            canonical(&phase["metrics"][name]["api"]),
            "{label}: metric show against GET /v1/metric/ID"
        );
        assert_answers(replay, id, &phase["answers"][name], &label);
        assert_file_hashes(replay, id, &phase["files"][name], &label);
    }
}

/// Fixing the past on a Gnocchi deployment: measures posted through
/// gnocchi-api and aggregated by `carbonara process`, then changed by
/// carbonara (`measures delete` of a range, at every granularity and at
/// one; `ingest csv --backfill` of history older than the back window,
/// with and without `--replace`; `metric update --archive-policy-name`)
/// are what gnocchi-api read in the live run: each metric's document and
/// every method × granularity, and the same archive files. Gnocchi's own
/// processing of a later measure on top of those files (bound series
/// included) wrote what `carbonara process` writes here.
#[test]
fn past_changed_by_carbonara_is_what_gnocchi_api_reads() {
    let doc = recording("past.json");
    assert_eq!(doc["differences"], Value::Array(vec![]), "the live run");
    let replay = Replay::new("side_by_side_past", &doc);
    let ids = &doc["ids"];
    replay.put_incoming(&doc["incoming"]);
    replay.run(&["process"]).success();
    assert_past_reads(&replay, ids, &doc["processed"], "processed");

    let csv = replay.dir.path().join("past-backfill.csv");
    fs::write(&csv, doc["csv"].as_str().unwrap()).unwrap();
    let mut names = ids.clone();
    names["csv"] = Value::from(csv.to_str().unwrap());
    let commands = doc["commands"].as_array().unwrap();
    let outputs = doc["outputs"].as_array().unwrap();
    assert_eq!(commands.len(), outputs.len());
    for (command, output) in commands.iter().zip(outputs) {
        let mut args = vec!["-q".to_owned()];
        args.extend(
            command
                .as_array()
                .unwrap()
                .iter()
                .map(|arg| with_ids(arg.as_str().unwrap(), &names)),
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match output.as_str() {
            // Backfill's summary goes to stderr, which -q silences.
            Some(text) => {
                replay.run(&args).success().stdout(text.to_owned());
            }
            None => assert_eq!(&replay.json(&args), output, "{args:?}"),
        }
    }
    assert_past_reads(&replay, ids, &doc["edited"], "edited");

    replay.put_incoming(&doc["later_incoming"]);
    replay.run(&["process"]).success();
    assert_eq!(replay.incoming(), Vec::<String>::new(), "left");
    assert_past_reads(&replay, ids, &doc["refreshed"], "refreshed");
}

/// The two sides' generic resources (a UUID id is kept as given).
const GENERIC_API: &str = "0a0a0a0a-0000-4000-8000-00000000a001";
const GENERIC_CLI: &str = "0c0c0c0c-0000-4000-8000-00000000c001";

/// Times of writing, compared by their rank.
const RANKED: [&str; 4] = [
    "revision_start",
    "revision_end",
    "updated_at",
    "last_measure_timestamp",
];

/// A document or rows of one side as comparable with the `api` side's:
/// names and the generic resource's id as the `api` side's, ids (random
/// or derived from the names), revision numbers and table names reduced
/// to whether they are set, times of writing to their rank among the
/// document's, the unordered sorted (as side_by_side.py's `side_neutral`).
fn side_neutral(value: &Value, side: &str) -> Value {
    let swapped = swap_side(value, side, "api").to_string();
    let value: Value = serde_json::from_str(&swapped.replace(GENERIC_CLI, GENERIC_API)).unwrap();
    fn times(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, item) in map {
                    match (RANKED.contains(&key.as_str()), item) {
                        (true, Value::String(time)) => found.push(time.clone()),
                        (true, _) => {}
                        (false, item) => times(item, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| times(item, found)),
            _ => {}
        }
    }
    let mut ranks = Vec::new();
    times(&value, &mut ranks);
    ranks.sort();
    ranks.dedup();
    fn walk(value: &Value, ranks: &[String]) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(key, item)| {
                        let item = match (key.as_str(), item) {
                            (key, Value::String(time)) if RANKED.contains(&key) => {
                                Value::from(ranks.iter().position(|t| t == time).unwrap())
                            }
                            ("id" | "resource_id" | "revision" | "tablename", item)
                                if item != GENERIC_API =>
                            {
                                Value::Bool(!item.is_null())
                            }
                            ("metrics", Value::Object(metrics)) => {
                                let mut names: Vec<&String> = metrics.keys().collect();
                                names.sort();
                                Value::Object(
                                    names
                                        .into_iter()
                                        .map(|name| (name.clone(), Value::Bool(true)))
                                        .collect(),
                                )
                            }
                            ("aggregation_methods", Value::Array(methods)) => {
                                let mut methods = methods.clone();
                                methods.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                                Value::Array(methods)
                            }
                            (_, item) => walk(item, ranks),
                        };
                        (key.clone(), item)
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|i| walk(i, ranks)).collect()),
            other => other.clone(),
        }
    }
    walk(&value, &ranks)
}

/// One side's rows (side_by_side.py's `rows_of_side`, the same queries):
/// its resource type, resources, their history, the type's own tables
/// (`type table`, `type history table`) and the metrics of its resources
/// with their resource's original id.
fn rows_of_side(replay: &Replay, side: &str) -> Value {
    let mut client = replay.client();
    let host_type = format!("{side}_host");
    let table: String = client
        .query_one(
            "SELECT tablename FROM resource_type WHERE name = $1",
            &[&host_type],
        )
        .unwrap()
        .get(0);
    let generic = if side == "api" {
        GENERIC_API
    } else {
        GENERIC_CLI
    };
    let pattern = format!("{side}-%");
    let mine = "(original_resource_id LIKE $1 OR original_resource_id = $2)";
    let mut query = |sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)]| -> Value {
        Value::Array(
            client
                .query(sql, params)
                .unwrap()
                .iter()
                .map(|row| serde_json::from_str(row.get::<_, &str>(0)).unwrap())
                .collect(),
        )
    };
    let mut metrics = query(
        "SELECT row_to_json(t)::text FROM (SELECT m.*, r.original_resource_id FROM metric m \
         JOIN resource r ON r.id = m.resource_id WHERE r.original_resource_id LIKE $1 \
         OR r.original_resource_id = $2) t ORDER BY name",
        &[&pattern, &generic],
    );
    for row in metrics.as_array_mut().unwrap() {
        row["last_measure_timestamp"] = Value::from(NORMALISED_TIME);
    }
    serde_json::json!({
        "resource_type": query(
            "SELECT row_to_json(t)::text FROM resource_type t WHERE name = $1",
            &[&host_type],
        ),
        "resource": query(
            &format!("SELECT row_to_json(t)::text FROM resource t WHERE {mine} ORDER BY started_at"),
            &[&pattern, &generic],
        ),
        "resource_history": query(
            &format!(
                "SELECT row_to_json(t)::text FROM resource_history t WHERE {mine} ORDER BY revision"
            ),
            &[&pattern, &generic],
        ),
        "type table": query(&format!("SELECT row_to_json(t)::text FROM {table} t"), &[]),
        "type history table": query(
            &format!("SELECT row_to_json(t)::text FROM {table}_history t ORDER BY revision"),
            &[],
        ),
        "metric": metrics,
    })
}

/// Resource types (every attribute type, then an attribute added with a
/// fill and one removed), resources (a generic one with a UUID id, one of
/// the type with a name for an id, one deleted), their updates (a new
/// revision for each change, none for a no-op) and metrics made through
/// gnocchi-api are shown by carbonara as gnocchi-api shows them — history,
/// searches and their times to the microsecond included; the same made by
/// carbonara's command line are the rows gnocchi-api writes, the type's
/// own tables and revisions included, and gnocchi-api read them as its own
/// in the live run. The janitor expunges the metric of the resource
/// deleted through gnocchi-api; `resource delete` leaves its metric as
/// gnocchi-api leaves one.
#[test]
fn resources_made_by_either_side_are_read_by_the_other_with_their_history() {
    let doc = recording("resources.json");
    assert_eq!(doc["differences"], Value::Array(vec![]), "the live run");
    let replay = Replay::new("side_by_side_resources", &doc);
    for read in doc["api_reads"].as_array().unwrap() {
        let command: Vec<&str> = read["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|arg| arg.as_str().unwrap())
            .collect();
        let shown = replay.json(&command);
        assert_eq!(
            canonical(&shown),
            canonical(&read["answer"]),
            "carbonara {} against gnocchi-api's {}",
            command.join(" "),
            read["request"]
        );
    }
    let gone = |row: &Value| janitor_state(&replay, row["id"].as_str().unwrap())["row"].clone();
    assert_eq!(gone(&doc["api_gone_metric"]), doc["api_gone_metric"]);
    assert_eq!(replay.json(&["janitor"]), doc["carbonara_janitor"]);
    assert_eq!(gone(&doc["api_gone_metric"]), Value::Null);

    let mut cli_gone = None;
    for command in doc["cli_commands"].as_array().unwrap() {
        let command: Vec<&str> = command
            .as_array()
            .unwrap()
            .iter()
            .map(|arg| arg.as_str().unwrap())
            .collect();
        if command[..2] == ["resource", "delete"] {
            let shown = replay.json(&["resource", "show", command[2]]);
            cli_gone = Some(shown["metrics"]["gone.m"].as_str().unwrap().to_owned());
            replay.run(&command).success();
        } else {
            replay.json(&command);
        }
    }
    let cli_gone = janitor_state(&replay, &cli_gone.unwrap())["row"].clone();
    assert_eq!(
        side_neutral(&cli_gone, "cli"),
        side_neutral(&doc["api_gone_metric"], "api"),
        "the metric of a deleted resource"
    );
    let ours = rows_of_side(&replay, "cli");
    for (kind, theirs) in doc["api_rows"].as_object().unwrap() {
        assert_eq!(
            side_neutral(&ours[kind], "cli"),
            side_neutral(theirs, "api"),
            "{kind}: carbonara's rows against gnocchi-api's"
        );
    }
    // The type's attributes, as the very text gnocchi-api wrote.
    let attributes_text = |row: &str| -> String {
        let fields: BTreeMap<String, Box<serde_json::value::RawValue>> =
            serde_json::from_str(row).unwrap();
        fields["attributes"].get().to_owned()
    };
    let theirs = doc["rows"]["resource_type"][0].as_str().unwrap();
    let ours: String = replay
        .client()
        .query_one(
            "SELECT row_to_json(t)::text FROM resource_type t WHERE name = 'cli_host'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(attributes_text(&ours), attributes_text(theirs));

    // The live run: gnocchi-api answered for carbonara's resources what it
    // answered for its own.
    for (ours, theirs) in doc["cli_reads"]
        .as_array()
        .unwrap()
        .iter()
        .zip(doc["api_reads"].as_array().unwrap())
    {
        let only = |answer: &Value, name: &str| -> Value {
            match answer.as_array() {
                // The type list holds both sides' types and generic.
                Some(items) if ours["request"] == "GET /v1/resource_type" => Value::Array(
                    items
                        .iter()
                        .filter(|item| item["name"] == name)
                        .cloned()
                        .collect(),
                ),
                _ => answer.clone(),
            }
        };
        assert_eq!(
            side_neutral(&only(&ours["answer"], "cli_host"), "cli"),
            side_neutral(&only(&theirs["answer"], "api_host"), "api"),
            "{} against {}",
            ours["request"],
            theirs["request"]
        );
    }
}

/// scripts/oracle/drivers-live.sh's summary (S3 storage on Garage, Redis
/// incoming and coordination; no replay: it records digests and counts).
/// The script writes it even when the sides differ, so a recording of a
/// failed run cannot be committed unnoticed: four deployments, one per
/// (poster, aggregator) pair, every read and every bucket the same digest,
/// no difference, and the counts consistent with the policy.
#[test]
fn drivers_live_summary_records_both_directions_equal() {
    let path = golden_dir().join("side-by-side/drivers_live.json");
    let doc: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(doc["versions"]["gnocchi"], "4.7.1");
    assert_eq!(doc["differences"], Value::Array(vec![]), "{path:?}");
    assert_eq!(doc["equal"], true);

    let pairs: BTreeSet<(String, String)> = doc["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let aggregator = d["aggregated_by"].as_str().unwrap();
            let aggregator = if aggregator.starts_with("gnocchi-metricd") {
                "gnocchi-metricd"
            } else {
                assert!(
                    aggregator.starts_with("carbonara --gnocchi-conf"),
                    "{aggregator}"
                );
                "carbonara"
            };
            assert!(
                d["coordination_url"]
                    .as_str()
                    .unwrap()
                    .starts_with("redis://")
            );
            (
                d["posted_through"].as_str().unwrap().to_owned(),
                aggregator.to_owned(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("gnocchi-api", "gnocchi-metricd"),
        ("gnocchi-api", "carbonara"),
        ("carbonara-serve", "gnocchi-metricd"),
        ("carbonara-serve", "carbonara"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(pairs, want);

    let policy = &doc["archive_policy"];
    let per_side = doc["metrics"].as_u64().unwrap()
        * policy["aggregation_methods"].as_array().unwrap().len() as u64
        * policy["definition"].as_array().unwrap().len() as u64;
    let reads = &doc["reads"];
    assert_eq!(reads["per_side"].as_u64().unwrap(), per_side);
    assert!(reads["aggregate_points_per_side"].as_u64().unwrap() > 0);
    let read_digests: BTreeMap<&str, &str> = reads["sha256"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
        .collect();
    // gnocchi-api on all four, carbonara serve where it took the posts
    assert_eq!(read_digests.len(), 6, "{read_digests:?}");
    assert_eq!(
        read_digests.values().collect::<BTreeSet<_>>().len(),
        1,
        "{read_digests:?}"
    );
    let buckets = doc["s3_aggregates"]["sha256"].as_object().unwrap();
    assert_eq!(buckets.len(), 4);
    assert_eq!(
        buckets
            .values()
            .map(|v| v.as_str().unwrap())
            .collect::<BTreeSet<_>>()
            .len(),
        1,
        "{buckets:?}"
    );
    assert!(doc["s3_aggregates"]["objects_per_side"].as_u64().unwrap() > 0);
    let posted: u64 = doc["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["measures"].as_u64().unwrap())
        .sum();
    assert_eq!(doc["measures_posted"].as_u64().unwrap(), posted);
    // Who aggregated shows in the S3 requests to each deployment's bucket:
    // gnocchi-metricd HEADs every object it PUTs (its consistency check),
    // carbonara only a new metric's bound series.
    for deployment in doc["deployments"].as_array().unwrap() {
        let name = deployment["name"].as_str().unwrap();
        let requests = &doc["s3_requests_before_the_reads"][name];
        let count = |op: &str| requests[op].as_u64().unwrap_or(0);
        assert!(count("PutObject") > 0, "{name}: {requests}");
        if deployment["aggregated_by"]
            .as_str()
            .unwrap()
            .starts_with("gnocchi-metricd")
        {
            assert!(
                count("HeadObject") >= count("PutObject"),
                "{name}: {requests}"
            );
        } else {
            assert!(
                count("HeadObject") < count("PutObject"),
                "{name}: {requests}"
            );
        }
    }
    // every list trimmed: only the sack count is left in Redis
    assert_eq!(
        doc["redis_incoming_keys_after"],
        serde_json::json!(["gnocchi-config"])
    );
}

/// A sack list as the mixed fleet recording keeps it.
fn sack_numbers(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|n| u32::try_from(n.as_u64().unwrap()).unwrap())
        .collect()
}

fn sorted_strings(value: &Value) -> Vec<String> {
    let mut out: Vec<String> = value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

/// The live mixed fleet (`scripts/oracle/mixed-fleet.sh`): two
/// gnocchi-metricd workers and `carbonara metricd` on one deployment. For
/// each recorded member set (the three, then gnocchi-metricd's two once
/// carbonara stopped), carbonara's ring gives every member the sacks
/// carbonara's `status` showed, those tooz's own Partitioner gave it on the
/// live group, and (carbonara's) those its log said, one owner per sack;
/// and the measures add up: carbonara took exactly those posted to the
/// metrics of its sacks, gnocchi-metricd the rest, and then those of
/// carbonara's former sacks.
#[test]
fn mixed_fleet_recording_splits_the_sacks_as_tooz_and_the_measures_add_up() {
    use carbonara::store::coordinator::partition::{PARTITIONS, sacks_to_process};

    let path = golden_dir().join("side-by-side/mixed_fleet.json");
    let doc: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(doc["versions"]["gnocchi"], "4.7.1");
    assert_eq!(doc["versions"]["tooz"], "9.1.0");
    assert_eq!(doc["differences"], Value::Array(vec![]), "{path:?}");
    assert_eq!(doc["equal"], true);
    assert_eq!(doc["partitions"].as_u64().unwrap(), u64::from(PARTITIONS));
    let total = u32::try_from(doc["total_sacks"].as_u64().unwrap()).unwrap();
    let replicas = u32::try_from(doc["processing_replicas"].as_u64().unwrap()).unwrap();
    assert_eq!(
        doc["gnocchi_conf_metricd"]["processing_replicas"],
        doc["processing_replicas"]
    );
    assert_eq!(replicas, 1, "one owner per sack: who aggregated follows");

    let carbonara_member = doc["carbonara_member"].as_str().unwrap().to_owned();
    let metricd_members = sorted_strings(&doc["gnocchi_metricd_members"]);
    assert_eq!(
        metricd_members.len() as u64,
        doc["gnocchi_conf_metricd"]["workers"].as_u64().unwrap()
    );
    let mut everyone = metricd_members.clone();
    everyone.push(carbonara_member.clone());
    everyone.sort();

    let mut shares = BTreeMap::new();
    for (phase, members) in [("fleet", &everyone), ("after_stop", &metricd_members)] {
        let view = &doc[phase];
        assert_eq!(
            &sorted_strings(&view["carbonara_status"]["processors"]),
            members,
            "{phase}"
        );
        assert_eq!(view["gnocchi_api_status"]["status"], 200, "{phase}");
        assert_eq!(
            &sorted_strings(&view["gnocchi_api_status"]["processors"]),
            members,
            "{phase}: gnocchi-api's view"
        );
        assert_eq!(
            &sorted_strings(&view["tooz_ring_nodes"]),
            members,
            "{phase}"
        );
        let mut owners = vec![0_u32; total as usize];
        for member in members {
            let ours: Vec<u32> = sacks_to_process(members, member, total, replicas)
                .iter()
                .map(|sack| sack.number)
                .collect();
            let shown = sack_numbers(&view["carbonara_status"]["sacks"][member.as_str()]);
            assert_eq!(ours, shown, "{phase}: {member}: carbonara status");
            let tooz = sack_numbers(&view["tooz_sacks"][member.as_str()]);
            assert_eq!(ours, tooz, "{phase}: {member}: tooz");
            for sack in &ours {
                owners[*sack as usize] += 1;
            }
            shares.insert((phase, member.clone()), ours);
        }
        assert!(owners.iter().all(|&n| n == 1), "{phase}: {owners:?}");
    }
    let own = &shares[&("fleet", carbonara_member.clone())];
    assert_eq!(&sack_numbers(&doc["fleet"]["carbonara_logged_share"]), own);
    assert!(!own.is_empty() && own.len() < total as usize, "{own:?}");

    // Gnocchi's sack of a metric (`metric_id.int % NUM_SACKS`, carbonara's
    // `Incoming::sack_of`).
    let measures = &doc["measures"];
    let sacks: Vec<u32> = measures["metric_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| {
            let id = uuid::Uuid::parse_str(id.as_str().unwrap()).unwrap();
            (id.as_u128() % u128::from(total)) as u32
        })
        .collect();
    assert_eq!(
        sacks.iter().collect::<BTreeSet<_>>().len(),
        total as usize,
        "the metrics spread over every sack"
    );
    let in_own = sacks.iter().filter(|sack| own.contains(sack)).count() as u64;
    let points = measures["points_per_metric"].as_u64().unwrap();
    let count = |value: &Value| value.as_u64().unwrap();
    let posted = count(&measures["posted"]);
    assert_eq!(posted, sacks.len() as u64 * points);
    assert_eq!(count(&measures["aggregated"]), posted);
    assert_eq!(count(&measures["in_carbonara_sacks"]["metrics"]), in_own);
    assert_eq!(
        count(&measures["in_carbonara_sacks"]["measures"]),
        in_own * points
    );
    let taken = count(&measures["carbonara"]["measures"]);
    assert_eq!(taken, in_own * points, "carbonara took its sacks' measures");
    assert_eq!(count(&measures["carbonara"]["metrics"]), in_own);
    let passes = measures["carbonara_passes"].as_array().unwrap();
    assert_eq!(
        passes.iter().map(|p| count(&p["measures"])).sum::<u64>(),
        taken
    );
    assert!(
        passes
            .iter()
            .all(|p| count(&p["busy_sacks"]) == 0 && count(&p["failures"]) == 0),
        "{passes:?}"
    );
    let by_metricd = count(&measures["gnocchi_metricd"]["measures"]);
    assert_eq!(by_metricd + taken, posted);
    assert!(taken > 0 && by_metricd > 0, "each side took some");

    let after = &doc["after_stop"];
    assert_eq!(after["carbonara_exit_status"], 0);
    assert_eq!(after["carbonara_last_event"], "stopped");
    let takeover = &after["takeover"];
    assert_eq!(count(&takeover["metrics"]), in_own);
    assert_eq!(count(&takeover["posted"]), in_own);
    assert_eq!(count(&takeover["aggregated"]), in_own);
}
