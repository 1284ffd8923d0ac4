//! `carbonara generate` (hidden): renders the man pages and the shell
//! completions from the clap definition into `man/` and `completions/`.
//! A test renders them again and fails when the committed files are stale.

use std::fs;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

use crate::error::{Error, Result};

use super::{Cli, Ctx};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory receiving man/ and completions/
    #[arg(long, default_value = ".", value_name = "DIR")]
    out: PathBuf,
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

fn create_dir(path: &Path) -> Result<()> {
    fs::create_dir_all(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

/// Every file `generate` writes: (path relative to the output, contents).
pub fn render() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut command = Cli::command();
    command.build();
    render_man_pages(&command, "carbonara", &mut files);
    for (shell, name) in [
        (Shell::Bash, "carbonara.bash"),
        (Shell::Zsh, "_carbonara"),
        (Shell::Fish, "carbonara.fish"),
    ] {
        let mut bytes = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "carbonara", &mut bytes);
        files.push((Path::new("completions").join(name), bytes));
    }
    files
}

/// One page per command: `carbonara.1`, `carbonara-metric-create.1`, …
fn render_man_pages(command: &clap::Command, page_name: &str, files: &mut Vec<(PathBuf, Vec<u8>)>) {
    let mut bytes = Vec::new();
    let page = command.clone().name(page_name.to_owned());
    clap_mangen::Man::new(page)
        .render(&mut bytes)
        .expect("rendering to memory cannot fail");
    files.push((Path::new("man").join(format!("{page_name}.1")), bytes));
    for sub in command
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        render_man_pages(sub, &format!("{page_name}-{}", sub.get_name()), files);
    }
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let files = render();
    for dir in ["man", "completions"] {
        create_dir(&args.out.join(dir))?;
    }
    for (path, bytes) in &files {
        write(&args.out.join(path), bytes)?;
    }
    ctx.note(&format!(
        "wrote {} files under {}",
        files.len(),
        args.out.display()
    ));
    Ok(())
}
