//! The shell examples of the README and the docs pages, run as written.
//!
//! The convention, as a page's author writes it:
//!
//! * A block fenced ```` ```sh ```` is run. ```` ```sh norun ```` is only shown
//!   (GitHub highlights both as shell): for what cannot run here, such as
//!   `cargo install`, `serve` or `statsd` in the foreground, and network clients.
//!   Other shell spellings (`bash`, `console`, `shell`…) are refused, so no
//!   example escapes the test by its fence.
//! * A ```` ```text ```` block right after a `sh` block (nothing but blank lines
//!   between) is what that block prints on stdout, all of it. Lines are compared
//!   exactly, less trailing spaces; a UUID stands for the id the run creates in
//!   its place, the same UUID for the same id throughout the block. Examples
//!   with output avoid `now` and random values, so nothing else may differ.
//! * A page's blocks run in order, in one `bash -e` with `set -o pipefail`, so
//!   variables, files and the store carry from one block to the next. The
//!   directory is a fresh temporary one holding a copy of the repository's
//!   `examples/`, with the built `carbonara` first on `PATH`, `CARBONARA_STORE`
//!   pointing into it (a block may set its own) and `TMPDIR` inside it.
//!
//! A failure names the page, the block's line, the command (with its line)
//! and the block's stderr; a difference in output shows both texts.
//! Nothing here rewrites an example before running it: what a reader pastes
//! is what runs.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The pages whose examples run: the README, the top-level pages and every
/// page under `docs/`.
fn pages() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![
        root.join("README.md"),
        root.join("ARCHITECTURE.md"),
        root.join("BENCHMARKS.md"),
    ];
    let mut dirs = vec![root.join("docs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                pages.push(path);
            }
        }
    }
    pages.sort();
    pages
}

#[derive(Debug, PartialEq)]
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    /// The lines between the fences.
    code: Vec<String>,
    run: bool,
    /// The following ```text block: its opening fence's line and its text.
    expected: Option<(usize, String)>,
}

/// Finds the `sh` blocks of a page and the output each shows.
fn parse(page: &str) -> Result<Vec<Block>, String> {
    let lines: Vec<&str> = page.lines().collect();
    let mut blocks: Vec<Block> = Vec::new();
    // The index in `blocks` of the sh block only blank lines separate from here.
    let mut after_sh: Option<usize> = None;
    let mut i = 0;
    while i < lines.len() {
        let trimmed = lines[i].trim_start();
        if !trimmed.starts_with("```") {
            if !trimmed.is_empty() {
                after_sh = None;
            }
            i += 1;
            continue;
        }
        let info = trimmed.trim_start_matches('`').trim();
        let mut words = info.split_whitespace();
        let language = words.next().unwrap_or("");
        let attributes: Vec<&str> = words.collect();
        let start = i;
        let mut code = Vec::new();
        i += 1;
        while i < lines.len() && lines[i].trim() != "```" {
            code.push(lines[i].to_string());
            i += 1;
        }
        if i == lines.len() {
            return Err(format!("line {}: the block never closes", start + 1));
        }
        i += 1;
        match language {
            "sh" => {
                let run = match attributes.as_slice() {
                    [] => true,
                    ["norun"] => false,
                    other => {
                        return Err(format!(
                            "line {}: unknown attributes {other:?} (only `norun`)",
                            start + 1
                        ));
                    }
                };
                blocks.push(Block {
                    line: start + 1,
                    code,
                    run,
                    expected: None,
                });
                after_sh = Some(blocks.len() - 1);
            }
            "bash" | "shell" | "console" | "shell-session" | "zsh" => {
                return Err(format!(
                    "line {}: a shell example is fenced as ```sh (or ```sh norun), not ```{language}",
                    start + 1
                ));
            }
            "text" => {
                if let Some(index) = after_sh.take() {
                    blocks[index].expected = Some((start + 1, code.join("\n")));
                }
            }
            _ => after_sh = None,
        }
    }
    Ok(blocks)
}

/// The script that runs a page's blocks, with each line at its line number in
/// the page, so that bash's `$LINENO` is the page's line. Line 1 (a page's
/// title) holds the set-up; each block's opening fence line switches stdout
/// and stderr to that block's files.
fn script(page_lines: usize, blocks: &[Block], harness: &Path) -> String {
    let mut lines = vec![String::new(); page_lines.max(1)];
    lines[0] = format!(
        "set -o pipefail; __carbonara_h='{}'; \
         __carbonara_block() {{ exec >\"$__carbonara_h/$1.out\" 2>\"$__carbonara_h/$1.err\"; \
         echo \"$1\" >\"$__carbonara_h/block\"; }}; \
         trap 'echo \"$LINENO\" >\"$__carbonara_h/line\"' ERR",
        harness.display()
    );
    for (index, block) in blocks.iter().enumerate().filter(|(_, b)| b.run) {
        assert!(block.line > 1, "a block on a page's first line");
        lines[block.line - 1] = format!("__carbonara_block {index}");
        for (offset, code) in block.code.iter().enumerate() {
            lines[block.line + offset].clone_from(code);
        }
    }
    lines.join("\n") + "\n"
}

/// The command of `block` that ends on page line `line`, with the lines it
/// continues from.
fn command_at(block: &Block, line: usize) -> String {
    let Some(last) = line.checked_sub(block.line + 1) else {
        return String::new();
    };
    let last = last.min(block.code.len().saturating_sub(1));
    let mut first = last;
    while first > 0 && continues(&block.code[first - 1]) {
        first -= 1;
    }
    let mut last = last;
    while last + 1 < block.code.len() && continues(&block.code[last]) {
        last += 1;
    }
    block.code[first..=last].join("\n")
}

/// Whether a shell line goes on to the next one.
fn continues(line: &str) -> bool {
    let line = line.trim_end();
    line.ends_with('\\') || line.ends_with('|') || line.ends_with("&&")
}

fn is_uuid(s: &[u8]) -> bool {
    s.len() == 36
        && s.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Splits a line into its text and its UUIDs, alternately: text, uuid, text…
fn split_uuids(line: &str) -> Vec<&str> {
    let bytes = line.as_bytes();
    let mut parts = Vec::new();
    let (mut from, mut i) = (0, 0);
    while i + 36 <= bytes.len() {
        if is_uuid(&bytes[i..i + 36]) {
            parts.push(&line[from..i]);
            parts.push(&line[i..i + 36]);
            i += 36;
            from = i;
        } else {
            i += 1;
        }
    }
    parts.push(&line[from..]);
    parts
}

/// Compares what a block printed with what its page shows: line by line, less
/// trailing spaces and trailing empty lines, each UUID of the page standing
/// for one UUID of the output. Returns the first difference.
fn compare(expected: &str, actual: &str) -> Result<(), String> {
    fn lines(text: &str) -> Vec<&str> {
        let mut lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        while lines.last() == Some(&"") {
            lines.pop();
        }
        lines
    }
    let (expected, actual) = (lines(expected), lines(actual));
    let mut ids: HashMap<&str, &str> = HashMap::new();
    let mut taken: HashMap<&str, &str> = HashMap::new();
    for (n, (want, got)) in expected.iter().zip(&actual).enumerate() {
        let (want_parts, got_parts) = (split_uuids(want), split_uuids(got));
        let same = want_parts.len() == got_parts.len()
            && want_parts
                .iter()
                .zip(&got_parts)
                .enumerate()
                .all(|(k, (w, g))| {
                    if k % 2 == 0 {
                        return w == g;
                    }
                    let mapped = *ids.entry(w).or_insert(g);
                    let owner = *taken.entry(g).or_insert(w);
                    mapped == *g && owner == *w
                });
        if !same {
            return Err(format!(
                "output line {}:\n  shown: {want}\n  got:   {got}",
                n + 1
            ));
        }
    }
    if expected.len() != actual.len() {
        return Err(format!(
            "{} lines shown, {} printed",
            expected.len(),
            actual.len()
        ));
    }
    Ok(())
}

/// Runs a page's blocks and returns every problem found, each naming the page.
fn run_page(page: &Path) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let name = page
        .strip_prefix(root)
        .unwrap_or(page)
        .display()
        .to_string();
    let text = std::fs::read_to_string(page).unwrap();
    let blocks = match parse(&text) {
        Ok(blocks) => blocks,
        Err(e) => return vec![format!("{name}: {e}")],
    };
    if !blocks.iter().any(|b| b.run) {
        return Vec::new();
    }

    let temp = tempfile::tempdir().unwrap();
    let (work, harness, tmp) = (
        temp.path().join("work"),
        temp.path().join("harness"),
        temp.path().join("tmp"),
    );
    for dir in [&work, &harness, &tmp] {
        std::fs::create_dir(dir).unwrap();
    }
    copy_dir(&root.join("examples"), &work.join("examples"));
    let script_path = harness.join("page.sh");
    std::fs::write(
        &script_path,
        script(text.lines().count(), &blocks, &harness),
    )
    .unwrap();

    let binary = assert_cmd::cargo::cargo_bin!("carbonara");
    let mut path = std::ffi::OsString::from(binary.parent().unwrap());
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    let output = assert_cmd::Command::new("bash")
        .arg("-e")
        .arg(&script_path)
        .current_dir(&work)
        .env("PATH", path)
        .env("CARBONARA_STORE", work.join("store"))
        .env("TMPDIR", &tmp)
        .write_stdin("")
        .timeout(Duration::from_secs(600))
        .output();
    let output = match output {
        Ok(output) => output,
        Err(e) => return vec![format!("{name}: bash did not run: {e}")],
    };

    let read = |file: &str| std::fs::read_to_string(harness.join(file)).unwrap_or_default();
    let mut problems = Vec::new();
    if !output.status.success() {
        let index: Option<usize> = read("block").trim().parse().ok();
        let line: Option<usize> = read("line").trim().parse().ok();
        let mut message = match (index, line) {
            (Some(index), Some(line)) => {
                let block = &blocks[index];
                format!(
                    "{name}:{}: the block failed ({}) at line {line}:\n{}\nstderr:\n{}",
                    block.line,
                    output.status,
                    command_at(block, line),
                    read(&format!("{index}.err"))
                )
            }
            (Some(index), None) => format!(
                "{name}:{}: the block failed ({}; killed after 600 s?), stderr:\n{}",
                blocks[index].line,
                output.status,
                read(&format!("{index}.err"))
            ),
            (None, _) => format!("{name}: the page's script failed ({})", output.status),
        };
        let bash_stderr = String::from_utf8_lossy(&output.stderr);
        if !bash_stderr.trim().is_empty() {
            let _ = write!(message, "\n{}", bash_stderr.trim_end());
        }
        problems.push(message);
        return problems;
    }
    for (index, block) in blocks.iter().enumerate().filter(|(_, b)| b.run) {
        if let Some((text_line, expected)) = &block.expected {
            let actual = read(&format!("{index}.out"));
            if let Err(difference) = compare(expected, &actual) {
                problems.push(format!(
                    "{name}:{}: the output differs from the text at line {text_line}: {difference}\n\
                     --- shown\n{expected}\n--- printed\n{actual}--- stderr\n{}",
                    block.line,
                    read(&format!("{index}.err"))
                ));
            }
        }
    }
    problems
}

fn copy_dir(from: &Path, to: &Path) {
    let Ok(entries) = std::fs::read_dir(from) else {
        return;
    };
    std::fs::create_dir_all(to).unwrap();
    for entry in entries {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

fn assert_page_runs(relative: &str) {
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    let problems = run_page(&page);
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn readme_examples_run_as_written() {
    assert_page_runs("README.md");
}

#[test]
fn guide_examples_run_as_written() {
    assert_page_runs("docs/guide.md");
}

#[test]
fn other_pages_examples_run_as_written() {
    let problems: Vec<String> = pages()
        .iter()
        .filter(|p| !p.ends_with("README.md") && !p.ends_with("docs/guide.md"))
        .flat_map(|p| run_page(p))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn the_readme_and_the_guide_have_runnable_examples_with_output() {
    for page in ["README.md", "docs/guide.md"] {
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(page)).unwrap();
        let blocks = parse(&text).unwrap();
        let run = blocks.iter().filter(|b| b.run).count();
        let norun = blocks.len() - run;
        let shown = blocks
            .iter()
            .filter(|b| b.run && b.expected.is_some())
            .count();
        assert!(
            run >= norun && shown >= 2,
            "{page}: {run} runnable blocks, {norun} not run, {shown} with output"
        );
    }
}

#[test]
fn blocks_and_their_output_are_found_by_the_fence_convention() {
    let page = "# t\n\n```sh\ncarbonara init\n```\n\n```text\nok\n```\n\n\
                ```sh norun\ncarbonara serve\n```\nprose\n```text\nnot output\n```\n\
                ```json\n{}\n```\n";
    let blocks = parse(page).unwrap();
    assert_eq!(
        blocks,
        vec![
            Block {
                line: 3,
                code: vec!["carbonara init".into()],
                run: true,
                expected: Some((7, "ok".into())),
            },
            Block {
                line: 11,
                code: vec!["carbonara serve".into()],
                run: false,
                expected: None,
            },
        ]
    );
    let refused = parse("# t\n```console\n$ carbonara init\n```\n").unwrap_err();
    assert!(refused.contains("```sh"), "{refused}");
    let unknown = parse("# t\n```sh ignore\nx\n```\n").unwrap_err();
    assert!(unknown.contains("norun"), "{unknown}");
}

#[test]
fn the_script_keeps_page_line_numbers_and_names_the_failing_command() {
    let page = "# t\n\n```sh\ntrue\ncarbonara measures show \\\n    cpu.util\n```\n";
    let blocks = parse(page).unwrap();
    let text = script(page.lines().count(), &blocks, Path::new("/h"));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[2], "__carbonara_block 0");
    assert_eq!(lines[5], "    cpu.util");
    // bash reports a continued command at its first or its last line.
    for line in [5, 6] {
        assert_eq!(
            command_at(&blocks[0], line),
            "carbonara measures show \\\n    cpu.util"
        );
    }
    assert_eq!(command_at(&blocks[0], 4), "true");
}

#[test]
fn output_comparison_tolerates_only_ids_and_trailing_spaces() {
    let a = "11111111-2222-3333-4444-555555555555";
    let b = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
    let c = "99999999-2222-3333-4444-555555555555";
    let d = "ffffffff-bbbb-cccc-dddd-eeeeeeeeeeee";
    assert_eq!(
        compare(
            &format!("| {a} | x |\n{a}"),
            &format!("| {b} | x |  \n{b}\n\n")
        ),
        Ok(())
    );
    // One id shown is one id printed, and two ids shown are two ids printed.
    assert!(compare(&format!("{a}\n{a}"), &format!("{b}\n{d}")).is_err());
    assert!(compare(&format!("{a}\n{c}"), &format!("{b}\n{b}")).is_err());
    assert!(compare("value 1.0", "value 1.5").is_err());
    assert!(compare("a\nb", "a").is_err());
    assert!(compare("a", "a\nb").is_err());
    assert!(compare(" a", "a").is_err());
}
