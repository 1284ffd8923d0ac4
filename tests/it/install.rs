//! `scripts/install.sh`, the README's install step, run for real into a
//! temporary prefix with the binary the tests built.

use std::path::Path;
use std::process::Command;

#[test]
fn install_puts_the_binary_man_pages_and_completions_under_the_prefix() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let prefix = tempfile::TempDir::new().unwrap();
    let binary = assert_cmd::cargo::cargo_bin!("carbonara");
    let output = Command::new("sh")
        .arg(root.join("scripts/install.sh"))
        .arg("--binary")
        .arg(binary)
        .arg(prefix.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");

    let installed = prefix.path().join("bin/carbonara");
    let version = Command::new(&installed).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8(version.stdout).unwrap(),
        format!("carbonara {}\n", env!("CARGO_PKG_VERSION"))
    );
    for entry in std::fs::read_dir(root.join("man")).unwrap() {
        let name = entry.unwrap().file_name();
        let copy = prefix.path().join("share/man/man1").join(&name);
        assert_eq!(
            std::fs::read(&copy).unwrap(),
            std::fs::read(root.join("man").join(&name)).unwrap(),
            "{}",
            copy.display()
        );
    }
    for (committed, place) in [
        (
            "carbonara.bash",
            "share/bash-completion/completions/carbonara",
        ),
        ("_carbonara", "share/zsh/site-functions/_carbonara"),
        (
            "carbonara.fish",
            "share/fish/vendor_completions.d/carbonara.fish",
        ),
    ] {
        assert_eq!(
            std::fs::read(prefix.path().join(place)).unwrap(),
            std::fs::read(root.join("completions").join(committed)).unwrap(),
            "{place}"
        );
    }
}

#[test]
fn install_refuses_unknown_options() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let prefix = tempfile::TempDir::new().unwrap();
    let output = Command::new("sh")
        .arg(root.join("scripts/install.sh"))
        .arg("--prefix")
        .arg(prefix.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).starts_with("usage: "));
    assert_eq!(std::fs::read_dir(prefix.path()).unwrap().count(), 0);
}
