//! Behaviour shared by every command: store discovery, exit codes, output
//! formats, version and help, closed pipes.

use predicates::str::contains;

use crate::common::TestStore;

#[test]
fn commands_refuse_a_directory_that_is_not_a_store() {
    let store = TestStore::empty();
    store
        .run(&["metric", "list"])
        .failure()
        .code(1)
        .stderr(contains("is not a carbonara store"))
        .stderr(contains("carbonara init --store"));
}

#[test]
fn a_store_json_without_sacks_is_refused_when_opened() {
    let store = TestStore::new();
    let config = store.path().join("store.json");
    let text = std::fs::read_to_string(&config).unwrap();
    let document: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut fields = document.as_object().unwrap().clone();
    fields.insert("sacks".to_owned(), 0.into());
    std::fs::write(&config, serde_json::Value::Object(fields).to_string()).unwrap();
    store
        .run(&["measures", "add", "cpu", "-m", "2024-01-01T00:00:00@1"])
        .failure()
        .code(1)
        .stderr(contains(
            "store.json: the number of sacks must be 1 to 65535, not 0",
        ));
}

#[test]
fn the_store_comes_from_the_environment() {
    let store = TestStore::new();
    let mut command = assert_cmd::cargo_bin_cmd!("carbonara");
    command.env("CARBONARA_STORE", store.path()).args([
        "archive-policy",
        "show",
        "low",
        "-f",
        "value",
        "-c",
        "name",
    ]);
    command.assert().success().stdout("low\n");
}

#[test]
fn usage_errors_exit_2() {
    let store = TestStore::new();
    store.run(&["no-such-command"]).failure().code(2);
    store.run(&["metric", "show"]).failure().code(2);
    store.run(&["process", "--jobs", "0"]).failure().code(2);
    store
        .run(&["archive-policy", "list", "-c", "colour"])
        .failure()
        .code(2)
        .stderr(contains("unknown column `colour`"));
}

#[test]
fn version_and_help() {
    let store = TestStore::new();
    store
        .run(&["--version"])
        .success()
        .stdout(format!("carbonara {}\n", env!("CARGO_PKG_VERSION")));
    store
        .run(&["help"])
        .success()
        .stdout(contains("archive-policy"));
    store
        .run(&["help", "measures", "show"])
        .success()
        .stdout(contains("--granularity"));
}

/// `--help` text of a command, run without a store.
fn help(args: &[&str]) -> String {
    let store = TestStore::empty();
    let mut all = args.to_vec();
    all.push("--help");
    store.stdout(&all)
}

#[test]
fn help_lists_a_commands_own_options_then_output_then_global_ones() {
    let text = help(&["metric", "list"]);
    let own = text.find("--resource-id").expect("own option");
    let output = text.find("\nOutput options:\n").expect("output heading");
    let global = text.find("\nGlobal options:\n").expect("global heading");
    assert!(own < output && output < global, "{text}");
    assert!(
        text[output..global].contains("-f, --format <FORMAT>"),
        "{text}"
    );
    assert!(
        text[output..global].contains("--sort-column <COLUMN>"),
        "{text}"
    );
    assert!(text[global..].contains("--store <DIR>"), "{text}");
    assert!(text[global..].contains("-q, --quiet"), "{text}");
    for command in [&["info"][..], &["dump"], &["measures", "show"], &["status"]] {
        assert!(help(command).contains("\nOutput options:\n"), "{command:?}");
    }
}

#[test]
fn commands_that_print_no_records_take_no_output_options() {
    for command in [
        &["init"][..],
        &["metric", "delete"],
        &["measures", "add"],
        &["ingest", "csv"],
        &["serve"],
        &["statsd"],
    ] {
        let text = help(command);
        assert!(!text.contains("--format"), "{command:?}: {text}");
        assert!(!text.contains("--sort-column"), "{command:?}: {text}");
        assert!(text.contains("\nGlobal options:\n"), "{command:?}: {text}");
    }
    let store = TestStore::new();
    store.create_metric("m", "low");
    store
        .run(&["metric", "delete", "m", "-f", "json"])
        .failure()
        .code(2)
        .stderr(contains("unexpected argument '-f'"));
    // The output options follow the command that prints; the global ones
    // go anywhere.
    store
        .run(&["-f", "json", "metric", "list"])
        .failure()
        .code(2);
    store
        .run(&["metric", "list", "-q", "-f", "value", "-c", "name"])
        .success()
        .stdout("m\n");
}

#[test]
fn formats_and_columns() {
    let store = TestStore::new();
    let table = store.stdout(&["archive-policy", "show", "low"]);
    assert!(table.starts_with("+---"), "{table}");
    assert!(table.contains("| definition          | - timespan: 30 days, 0:00:00, granularity: 0:05:00, points: 8640 |"), "{table}");
    let csv = store.stdout(&[
        "archive-policy",
        "list",
        "-f",
        "csv",
        "-c",
        "name",
        "-c",
        "back_window",
    ]);
    assert_eq!(
        csv,
        "name,back_window\nbool,3600\nhigh,0\nlow,0\nmedium,0\n"
    );
    let value = store.stdout(&[
        "archive-policy",
        "show",
        "bool",
        "-f",
        "value",
        "-c",
        "aggregation_methods",
    ]);
    assert_eq!(value, "last\n");
}

#[test]
fn a_closed_pipe_exits_quietly() {
    let store = TestStore::new();
    store.create_metric("m", "high");
    let mut args = vec!["measures".to_owned(), "add".to_owned(), "m".to_owned()];
    for second in 0..3000 {
        args.push("-m".into());
        args.push(format!("{}@1", 1_704_067_200 + second));
    }
    store
        .run(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .success();
    store.run(&["process"]).success();
    let binary = assert_cmd::cargo::cargo_bin!("carbonara");
    let script = format!(
        "'{}' --store '{}' measures show m --granularity 1 -f csv | head -n 1; exit ${{PIPESTATUS[0]}}",
        binary.display(),
        store.path().display()
    );
    let output = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "timestamp,granularity,value\n"
    );
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn demo_runs_on_the_built_in_sample() {
    let store = TestStore::empty();
    let kept = store.path().join("demo");
    let stdout = store.stdout(&["demo", "--keep", kept.to_str().unwrap()]);
    assert!(
        stdout.contains("Ingested 3456 measures of 3 metrics"),
        "{stdout}"
    );
    assert!(
        stdout.contains("| cpu.util         | %    | high           | 1440     |"),
        "{stdout}"
    );
    // The kept store answers like any other.
    let mut command = assert_cmd::cargo_bin_cmd!("carbonara");
    command.args([
        "--store",
        kept.to_str().unwrap(),
        "measures",
        "show",
        "room.temperature",
        "--stop",
        "2024-03-01T00:10:00",
        "-f",
        "value",
        "-c",
        "value",
    ]);
    let temperatures =
        String::from_utf8(command.assert().success().get_output().stdout.clone()).unwrap();
    assert_eq!(temperatures.lines().count(), 2);
}
