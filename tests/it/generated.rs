//! The committed man pages and completions match the clap definition.

use std::path::Path;

#[test]
fn man_pages_and_completions_are_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rendered = carbonara::cli::generate::render();
    let mut stale = Vec::new();
    for (path, bytes) in &rendered {
        if std::fs::read(root.join(path)).ok().as_deref() != Some(bytes.as_slice()) {
            stale.push(path.display().to_string());
        }
    }
    for dir in ["man", "completions"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let relative = Path::new(dir).join(entry.unwrap().file_name());
            if !rendered.iter().any(|(p, _)| *p == relative) {
                stale.push(format!("{} (no longer generated)", relative.display()));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files: {}; refresh them with `cargo run -- generate --out .`",
        stale.join(", ")
    );
}

#[test]
fn man_pages_have_examples_environment_exit_status_and_files() {
    let out = tempfile::TempDir::new().unwrap();
    assert_cmd::cargo_bin_cmd!("carbonara")
        .args(["generate", "--out"])
        .arg(out.path())
        .assert()
        .success();
    let page = |name: &str| std::fs::read_to_string(out.path().join("man").join(name)).unwrap();
    let top = page("carbonara.1");
    for section in [
        ".SH EXAMPLES",
        ".SH ENVIRONMENT",
        ".SH \"EXIT STATUS\"",
        ".SH FILES",
    ] {
        assert!(top.contains(section), "carbonara.1 lacks {section}");
    }
    assert!(top.contains("CARBONARA_STORE"));
    assert!(top.contains("STORE/index.sqlite"));
    assert!(top.contains("carbonara measures show cpu.util \\-\\-granularity 1m \\-f csv"));
    for name in [
        "carbonara-measures-show.1",
        "carbonara-ingest-csv.1",
        "carbonara-process.1",
        "carbonara-aggregates.1",
        "carbonara-metric-create.1",
    ] {
        let text = page(name);
        assert!(text.contains(".SH EXAMPLES"), "{name} has no examples");
        assert!(text.contains(".SH \"EXIT STATUS\""), "{name}");
        assert!(text.contains("CARBONARA_STORE"), "{name}");
    }
    for entry in std::fs::read_dir(out.path().join("man")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("help(1)"),
            "{} names a help page",
            path.display()
        );
    }
    assert!(!out.path().join("man/carbonara-help.1").exists());
}
