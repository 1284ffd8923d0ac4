//! Charts: `measures show --plot` in the terminal and `carbonara plot`
//! to SVG and PNG, compared with expected files under tests/data/charts/.
//! Those files were written by the program and checked by eye; after a
//! deliberate change of the drawing, rewrite them with
//! `CARBONARA_BLESS=1 cargo test --test it plot` and look at them again.

use std::path::PathBuf;

use predicates::str::contains;
use serde_json::json;

use crate::common::{TestStore, stderr_of};

/// A policy `p` (1 min for a day, 1 h for a week, mean and max) and a
/// resource `web1` with the metrics `cpu` and `mem`: three hours of a
/// minute each, processed. The id of `cpu`.
pub(crate) fn store_with_charted_metrics() -> (TestStore, String) {
    let store = TestStore::new();
    store.create_policy(&json!({
        "name": "p",
        "definition": [
            {"granularity": 60, "timespan": 86_400},
            {"granularity": 3600, "timespan": 604_800}
        ],
        "aggregation_methods": ["mean", "max"]
    }));
    let resource = ["resource", "create", "web1", "-n", "cpu:p", "-n", "mem:p"];
    store.run(&resource).success();
    let mut csv = String::from("metric,timestamp,value\n");
    let cpu = store.json(&["metric", "show", "cpu", "-r", "web1"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mem = store.json(&["metric", "show", "mem", "-r", "web1"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // 2024-01-01T12:00:00 on: a rising saw for cpu, a slow ramp for mem.
    for minute in 0..180i64 {
        let timestamp = 1_704_110_400 + minute * 60;
        let cpu_value = 20.0 + (minute % 60) as f64;
        let mem_value = 50.0 + minute as f64 / 6.0;
        csv.push_str(&format!("{cpu},{timestamp},{cpu_value}\n"));
        csv.push_str(&format!("{mem},{timestamp},{mem_value}\n"));
    }
    store.ingest_and_process(&csv);
    (store, cpu)
}

/// `measures show cpu -r web1 --plot EXTRA…`.
fn show_cpu_plot<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["measures", "show", "cpu", "-r", "web1", "--plot"];
    args.extend(extra);
    args
}

/// Runs `plot cpu -r web1 EXTRA… -o FILE` (FILE in the store's directory)
/// and returns its outcome and the file's path.
pub(crate) fn plot_cpu(
    store: &TestStore,
    file: &str,
    extra: &[&str],
) -> (assert_cmd::assert::Assert, PathBuf) {
    let out = store.path().join(file);
    let mut args = vec!["plot", "cpu", "-r", "web1", "-o", out.to_str().unwrap()];
    args.extend(extra);
    (store.run(&args), out)
}

fn expected_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/charts")
        .join(name)
}

/// `actual` equals the committed file `name` (rewritten instead under
/// `CARBONARA_BLESS=1`).
fn assert_expected(name: &str, actual: &str) {
    let path = expected_path(name);
    if std::env::var_os("CARBONARA_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    assert!(
        actual == expected,
        "{} differs; got:\n{actual}",
        path.display()
    );
}

#[test]
fn measures_show_plot_draws_each_granularity_at_the_size_asked() {
    let (store, _) = store_with_charted_metrics();
    let text = store.stdout(&show_cpu_plot(&["--width", "72", "--height", "16"]));
    assert_eq!(text.lines().count(), 16);
    assert!(
        text.lines().all(|line| line.chars().count() <= 72),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "colours only on a terminal");
    assert!(text.contains("⣿ cpu (3600.0)  ⣿ cpu (60.0)"), "{text}");
    assert_expected("measures-show.txt", &text);
}

#[test]
fn measures_show_plot_draws_a_line_per_method_asked() {
    let (store, _) = store_with_charted_metrics();
    let methods = ["--aggregation", "mean", "--aggregation", "max"];
    let mut args = show_cpu_plot(&methods);
    args.extend(["--width", "72", "--height", "16", "--granularity", "1h"]);
    let text = store.stdout(&args);
    assert!(text.ends_with("⣿ cpu (mean)  ⣿ cpu (max)\n"), "{text}");
    // Without --plot, one method only.
    let table = ["measures", "show", "cpu", "-r", "web1"];
    store
        .run(&[&table[..], &methods[..]].concat())
        .code(2)
        .stderr(contains(
            "--aggregation: one method, or several with --plot",
        ));
}

#[test]
fn the_terminal_chart_takes_columns_and_lines_from_the_environment() {
    let (store, _) = store_with_charted_metrics();
    let args = show_cpu_plot(&["--granularity", "1m"]);
    let output = store
        .command(&args)
        .env("COLUMNS", "50")
        .env("LINES", "13")
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    // A line is left for the prompt.
    assert_eq!(text.lines().count(), 12, "{text}");
    assert!(
        text.lines().all(|line| line.chars().count() <= 50),
        "{text}"
    );
    let default = store.stdout(&args);
    assert_eq!(
        default.lines().count(),
        23,
        "80×24 without a terminal: {default}"
    );
}

/// `measures show cpu -r web1 --plot` on a terminal of 70 × 15 (a
/// pseudo-terminal made by util-linux's `script`), with `env` set; what
/// the terminal got, its line ends made `\n`.
fn on_a_terminal(store: &TestStore, env: &[(&str, &str)]) -> String {
    let command = format!(
        "stty cols 70 rows 15; {} --store {} measures show cpu -r web1 --plot",
        env!("CARGO_BIN_EXE_carbonara"),
        store.path().display()
    );
    let output = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("NO_COLOR")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .replace("\r\n", "\n")
}

#[test]
fn on_a_terminal_the_chart_takes_its_size_and_colours_unless_no_color() {
    let (store, _) = store_with_charted_metrics();
    let coloured = on_a_terminal(&store, &[("COLUMNS", "200")]);
    // 15 lines less one for the prompt; the terminal's size, not $COLUMNS.
    assert_eq!(coloured.lines().count(), 14, "{coloured}");
    assert!(coloured.contains("\x1b[38;2;31;119;180m"), "{coloured}");
    let plain = on_a_terminal(&store, &[("NO_COLOR", "1")]);
    assert!(!plain.contains('\x1b'), "{plain}");
    assert_eq!(plain.lines().count(), 14, "{plain}");
    assert!(
        plain.lines().all(|line| line.chars().count() <= 70),
        "{plain}"
    );
}

#[test]
fn plot_writes_the_same_svg_for_the_same_metrics() {
    let (store, _) = store_with_charted_metrics();
    let two = ["mem", "--granularity", "1m", "--aggregation", "max"];
    let (assert, out) = plot_cpu(&store, "chart.svg", &two);
    assert.success().stderr(contains("wrote"));
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(svg.contains("max of 2 metrics"));
    assert!(svg.contains("\nweb1/cpu\n") && svg.contains("\nweb1/mem\n"));
    assert_expected("plot-cpu-mem.svg", &svg);
    plot_cpu(&store, "chart.svg", &two).0.success();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), svg);
}

#[test]
fn plot_writes_a_png_of_the_size_asked_with_the_line_drawn() {
    let (store, _) = store_with_charted_metrics();
    let size = ["--granularity", "1m", "--width", "640", "--height", "320"];
    let (assert, out) = plot_cpu(&store, "chart.png", &size);
    assert.success();
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((frame.width, frame.height), (640, 320));
    assert_eq!(frame.color_type, png::ColorType::Rgb);
    let rgb: Vec<&[u8]> = pixels[..frame.buffer_size()].chunks(3).collect();
    // The first line's colour, drawn along three hours: many pixels.
    let line = rgb.iter().filter(|p| **p == [31, 119, 180]).count();
    assert!(line > 500, "{line} pixels of the line's colour");
    // Text and axes in black on white.
    assert!(rgb.iter().filter(|p| **p == [0, 0, 0]).count() > 500);
    assert!(rgb.iter().filter(|p| **p == [255, 255, 255]).count() > rgb.len() / 2);
}

#[test]
fn plot_refuses_an_unknown_metric_a_bad_file_name_and_nothing_to_draw() {
    let (store, _) = store_with_charted_metrics();
    let out = store.path().join("chart.svg");
    let unknown = store
        .run(&["plot", "nope", "-o", out.to_str().unwrap()])
        .code(1);
    assert!(
        stderr_of(&unknown).contains("nope"),
        "{}",
        stderr_of(&unknown)
    );
    plot_cpu(&store, "chart.gif", &[])
        .0
        .code(2)
        .stderr(contains("the file must end in .svg or .png"));
    plot_cpu(&store, "chart.svg", &["--start", "2030-01-01"])
        .0
        .code(1)
        .stderr(contains("no measures to plot for mean of web1/cpu"));
    store
        .run(&show_cpu_plot(&["--start", "2030-01-01"]))
        .code(1)
        .stderr(contains("no measures to plot for mean of cpu"));
    assert!(!out.exists());
}
