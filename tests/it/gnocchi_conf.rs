//! A Gnocchi deployment for the tests, as `--gnocchi-conf` sees it: a
//! temporary directory holding its `gnocchi.conf` and its file drivers'
//! `storage/`, and a database of its own on the test PostgreSQL server.
//! What the conf says is the test's to write. Its carbonara processes keep
//! their own state (measures staged before a push to a remote incoming
//! driver) in the directory too, as those of one machine.

use std::path::PathBuf;

use serde_json::Value;

use crate::common::parse_python_json;
use crate::postgresql;

pub struct GnocchiConf {
    pub dir: tempfile::TempDir,
    /// The database's URL (`postgresql://…`).
    pub url: String,
}

impl GnocchiConf {
    /// An empty directory and a new database (`purpose` names it).
    pub fn new(purpose: &str) -> GnocchiConf {
        GnocchiConf::on(&postgresql::fresh_database(purpose))
    }

    /// An empty directory for the database at `url`.
    pub fn on(url: &str) -> GnocchiConf {
        GnocchiConf {
            dir: tempfile::tempdir().unwrap(),
            url: url.to_owned(),
        }
    }

    pub fn conf(&self) -> PathBuf {
        self.dir.path().join("gnocchi.conf")
    }

    /// The file drivers' `file_basepath`.
    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// `$XDG_STATE_HOME` of its carbonara processes.
    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// `carbonara --gnocchi-conf CONF ARGS…`, whatever the environment says.
    pub fn command(&self, args: &[&str]) -> assert_cmd::Command {
        let mut command = assert_cmd::cargo_bin_cmd!("carbonara");
        command
            .env_remove("CARBONARA_STORE")
            .env_remove("CARBONARA_GNOCCHI_CONF")
            .env("XDG_STATE_HOME", self.state())
            .arg("--gnocchi-conf")
            .arg(self.conf())
            .args(args);
        command
    }

    /// `carbonara --gnocchi-conf CONF` as a plain process, to which a
    /// long-running subcommand (`serve`, `metricd`) is added.
    pub fn process(&self) -> std::process::Command {
        let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin!("carbonara"));
        command
            .env_remove("CARBONARA_STORE")
            .env_remove("CARBONARA_GNOCCHI_CONF")
            .env("XDG_STATE_HOME", self.state())
            .arg("--gnocchi-conf")
            .arg(self.conf());
        command
    }

    pub fn run(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        self.command(args).assert()
    }

    /// A command that must succeed, its `-f json` output parsed.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-f", "json"]);
        let output = self.run(&all).success().get_output().stdout.clone();
        parse_python_json(&String::from_utf8(output).unwrap())
    }

    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }
}
