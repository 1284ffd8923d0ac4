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
