//! A Gnocchi deployment for the tests, as `--gnocchi-conf` sees it: a
//! temporary directory holding its `gnocchi.conf` and its file drivers'
//! `storage/`, and a database of its own on the test PostgreSQL server.
//! What the conf says is the test's to write.

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

    /// `carbonara --gnocchi-conf CONF ARGS…`, whatever the environment says.
    pub fn command(&self, args: &[&str]) -> assert_cmd::Command {
        let mut command = assert_cmd::cargo_bin_cmd!("carbonara");
        command
            .env_remove("CARBONARA_STORE")
            .env_remove("CARBONARA_GNOCCHI_CONF")
            .arg("--gnocchi-conf")
            .arg(self.conf())
            .args(args);
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
