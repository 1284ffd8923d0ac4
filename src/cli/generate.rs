//! `carbonara generate` (hidden): renders the man pages and the shell
//! completions from the clap definition into `man/` and `completions/`.
//! A test renders them again and fails when the committed files are stale.
//!
//! clap_mangen writes NAME, SYNOPSIS, DESCRIPTION, the options and the
//! subcommands; each page then gets EXIT STATUS, ENVIRONMENT and FILES, and
//! EXAMPLES where it has some (`EXAMPLES` below, each parsed by a test).

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
/// The `help` subcommand gets no page and is not listed: `--help` is.
fn render_man_pages(command: &clap::Command, page_name: &str, files: &mut Vec<(PathBuf, Vec<u8>)>) {
    let mut page = command.clone().name(page_name.to_owned());
    if page.find_subcommand("help").is_some() {
        page = page.mut_subcommand("help", |help| help.hide(true));
    }
    let man = clap_mangen::Man::new(page.clone());
    let mut bytes = Vec::new();
    render_page(&man, &page, &mut bytes).expect("rendering to memory cannot fail");
    files.push((Path::new("man").join(format!("{page_name}.1")), bytes));
    for sub in command
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        render_man_pages(sub, &format!("{page_name}-{}", sub.get_name()), files);
    }
}

/// clap_mangen's sections in its order, ours before VERSION.
fn render_page(
    man: &clap_mangen::Man,
    page: &clap::Command,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    if page.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(out)?;
    }
    out.extend_from_slice(extra_sections(page.get_name()).as_bytes());
    man.render_version_section(out)
}

/// Text for roff: hyphens as minus signs (so they copy and search as
/// `-`), backslashes and apostrophes escaped, no line starting a request.
fn roff_text(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\e")
        .replace('-', "\\-")
        .replace('\'', "\\*(Aq");
    if escaped.starts_with('.') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// A tagged paragraph: `tag` in bold, then its text.
fn item(tag: &str, text: &str) -> String {
    format!(".TP\n\\fB{}\\fR\n{}\n", roff_text(tag), roff_text(text))
}

/// The README's exit-code table.
const EXIT_STATUS: [(&str, &str); 3] = [
    (
        "0",
        "Success; also when stdout is a pipe closed early (carbonara … | head).",
    ),
    (
        "1",
        "An error: bad input (the message names the file, line and field), a refusal \
         (Metric x does not exist), or a store that cannot be read or written; verify with \
         problems found, ingest --skip-invalid with bad lines skipped, dump of a file that \
         does not decode.",
    ),
    (
        "2",
        "A usage error: an unknown command or option, a missing or malformed argument.",
    ),
];

/// The store directory's entries (ARCHITECTURE.md, docs/format/).
const FILES: [(&str, &str); 7] = [
    (
        "STORE/store.json",
        "The store's format version, number of sacks and directory depth.",
    ),
    (
        "STORE/index.sqlite",
        "Archive policies, rules, resource types, resources and their history, metrics \
         (SQLite in WAL mode).",
    ),
    (
        "STORE/incoming/",
        "Measures waiting for the aggregation pass, one file per batch, in sacks \
         (incoming128-K/METRIC-ID/), as Gnocchi's file storage lays them out.",
    ),
    (
        "STORE/archive/",
        "Each metric's carbonara v3 archive files: the bound series (none_v3) and the \
         splits of each aggregation method and granularity, as Gnocchi's file storage.",
    ),
    (
        "STORE/tmp/",
        "Transactions in flight: the journal a killed process leaves is replayed by the \
         next command.",
    ),
    ("STORE/locks/", "Sack, apply and store-use locks."),
    (
        "STORE/quarantine/",
        "What verify --repair moved aside, by time of repair.",
    ),
];

/// What an example does (empty when it continues the one before), and the
/// command line as a reader types it.
type Example = (&'static str, &'static str);

/// A few real command lines per page (a test parses each one).
pub const EXAMPLES: &[(&str, &[Example])] = &[
    (
        "carbonara",
        &[
            (
                "Build a sample store, aggregate it and print what it holds:",
                "carbonara demo",
            ),
            (
                "Create a store with Gnocchi's default archive policies:",
                "carbonara --store store init",
            ),
            (
                "Create a metric, add two measures, aggregate and read them:",
                "carbonara metric create cpu.util -a high",
            ),
            (
                "",
                "carbonara measures add cpu.util -m 2024-01-01T12:00:00@42.5 -m 2024-01-01T12:01:00@40",
            ),
            ("", "carbonara process"),
            (
                "",
                "carbonara measures show cpu.util --granularity 1m -f csv",
            ),
        ],
    ),
    (
        "carbonara-init",
        &[(
            "A store of 32 sacks, at $CARBONARA_STORE or ./carbonara-data:",
            "carbonara init --sacks 32",
        )],
    ),
    (
        "carbonara-demo",
        &[(
            "Build the sample store in ./sample and keep it:",
            "carbonara demo --keep sample",
        )],
    ),
    (
        "carbonara-archive-policy-create",
        &[(
            "Points every second for an hour and every minute for a week, four methods:",
            "carbonara archive-policy create fine -d granularity:1s,timespan:1h -d granularity:1m,timespan:7d -m mean -m max -m 95pct -m rate:mean",
        )],
    ),
    (
        "carbonara-archive-policy-rule-create",
        &[(
            "Metrics named disk.* get the medium policy:",
            "carbonara archive-policy-rule create disks -a medium -m 'disk.*'",
        )],
    ),
    (
        "carbonara-metric-create",
        &[
            (
                "A metric under the high policy:",
                "carbonara metric create cpu.util -a high --unit %",
            ),
            (
                "A metric whose policy comes from the archive-policy rules:",
                "carbonara metric create disk.io.bytes",
            ),
        ],
    ),
    (
        "carbonara-metric-list",
        &[(
            "The ids and names of the metrics, as CSV:",
            "carbonara metric list -f csv -c id -c name",
        )],
    ),
    (
        "carbonara-measures-add",
        &[
            (
                "Two measures, by ISO 8601 timestamp and by epoch seconds:",
                "carbonara measures add cpu.util -m 2024-01-01T12:00:00@42.5 -m 1704110410@40",
            ),
            (
                "A measure of a minute ago:",
                "carbonara measures add cpu.util -m '-1 minute@5'",
            ),
        ],
    ),
    (
        "carbonara-measures-show",
        &[
            (
                "The one-minute 95th percentiles of a metric since noon, as CSV:",
                "carbonara measures show cpu.util --aggregation 95pct --granularity 1m --start 2024-01-01T12:00:00 -f csv",
            ),
            (
                "The daily means regrouped by quarter, waiting measures included:",
                "carbonara measures show cpu.util --granularity 1d --resample Q --refresh",
            ),
        ],
    ),
    (
        "carbonara-aggregates",
        &[
            (
                "The mean of two metrics' means, minute by minute:",
                "carbonara aggregates '(aggregate mean (metric (cpu.util mean) (cpu.sys mean)))' --granularity 60",
            ),
            (
                "The mean memory of the instances, grouped by flavor:",
                r#"carbonara aggregates '(aggregate mean (metric memory mean))' "flavor_name like 'm1.%'" --resource-type instance --groupby flavor_name"#,
            ),
        ],
    ),
    (
        "carbonara-ingest-csv",
        &[
            (
                "Rows of timestamp,value for one metric:",
                "carbonara ingest csv --metric cpu.util cpu.csv",
            ),
            (
                "Rows naming their metric, metrics created as needed, then aggregated:",
                "carbonara ingest csv --metric-column metric --create-metrics --process many.csv.gz",
            ),
        ],
    ),
    (
        "carbonara-process",
        &[(
            "Aggregate the waiting measures on four threads:",
            "carbonara process --jobs 4",
        )],
    ),
    (
        "carbonara-status",
        &[(
            "The number of measures waiting, bare:",
            "carbonara status -f value -c 'storage/total number of measures to process'",
        )],
    ),
    (
        "carbonara-info",
        &[
            (
                "The store's totals and its 5 most expensive metrics:",
                "carbonara info --top 5",
            ),
            (
                "What one metric's archive holds, in exact bytes:",
                "carbonara info cpu.util -f json",
            ),
        ],
    ),
    (
        "carbonara-dump",
        &[
            (
                "One row per archive file of a metric:",
                "carbonara dump cpu.util --summary",
            ),
            (
                "The points of a Gnocchi file-storage directory as CSV, no index needed:",
                "carbonara dump /var/lib/gnocchi -f csv",
            ),
        ],
    ),
    (
        "carbonara-verify",
        &[
            (
                "Check the whole store, then quarantine what is bad:",
                "carbonara verify",
            ),
            ("", "carbonara verify --repair"),
        ],
    ),
    (
        "carbonara-resource-create",
        &[(
            "A generic resource with a metric created on it:",
            "carbonara resource create web1 --project-id demo -n cpu.util:high",
        )],
    ),
    (
        "carbonara-resource-search",
        &[(
            "Resources of two ids, with two columns:",
            r#"carbonara resource search "id in ['vm-01', 'vm-02']" -c original_resource_id -c ended_at"#,
        )],
    ),
    (
        "carbonara-serve",
        &[
            (
                "Gnocchi's REST API on the default port, with basic authentication:",
                "carbonara serve",
            ),
            (
                "On every interface, for Grafana at another origin:",
                "carbonara serve --listen 0.0.0.0:8041 --cors-allowed-origin https://grafana.example.com",
            ),
        ],
    ),
    (
        "carbonara-statsd",
        &[(
            "Receive statsd metrics on the default port, flushed every 5 seconds:",
            "carbonara statsd --flush-interval 5s",
        )],
    ),
];

/// EXIT STATUS, ENVIRONMENT, FILES and EXAMPLES of one page.
fn extra_sections(page_name: &str) -> String {
    let mut roff = String::from(".SH \"EXIT STATUS\"\n");
    for (code, meaning) in EXIT_STATUS {
        roff.push_str(&item(code, meaning));
    }
    roff.push_str(".SH ENVIRONMENT\n");
    roff.push_str(&item(
        "CARBONARA_STORE",
        "The store directory when --store is not given (else ./carbonara-data).",
    ));
    if matches!(page_name, "carbonara" | "carbonara-demo") {
        roff.push_str(&item(
            "TMPDIR",
            "Where demo builds its temporary store (/tmp when unset).",
        ));
    }
    roff.push_str(".SH FILES\n");
    for (path, what) in FILES {
        roff.push_str(&item(path, what));
    }
    let examples = EXAMPLES
        .iter()
        .find(|(page, _)| *page == page_name)
        .map_or(&[][..], |(_, examples)| examples);
    if !examples.is_empty() {
        roff.push_str(".SH EXAMPLES\n");
        for (what, line) in examples {
            if !what.is_empty() {
                roff.push_str(&format!(".PP\n{}\n", roff_text(what)));
            }
            roff.push_str(&format!(".RS 4\n.nf\n{}\n.fi\n.RE\n", roff_text(line)));
        }
    }
    roff
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
        "wrote {} under {}",
        super::words::count(files.len() as u64, "file", "files"),
        args.out.display()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// A command line's words as a POSIX shell reads them, for the quoting
    /// the examples use: single and double quotes, no expansions.
    fn words(line: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut word: Option<String> = None;
        let mut quote = None;
        for c in line.chars() {
            match (quote, c) {
                (None, ' ') => words.extend(word.take()),
                (None, '\'' | '"') => {
                    quote = Some(c);
                    word.get_or_insert_default();
                }
                (Some(q), c) if c == q => quote = None,
                (_, c) => word.get_or_insert_default().push(c),
            }
        }
        assert_eq!(quote, None, "unclosed quote in {line}");
        words.extend(word);
        words
    }

    #[test]
    fn words_are_read_as_the_shell_reads_them() {
        assert_eq!(
            words(r#"carbonara a "id in ['x']" -m '-1 minute@5' '' x"y"'z'"#),
            [
                "carbonara",
                "a",
                "id in ['x']",
                "-m",
                "-1 minute@5",
                "",
                "xyz"
            ]
        );
    }

    #[test]
    fn every_example_is_a_valid_command_line_of_its_page() {
        let mut command = Cli::command();
        command.build();
        for (page, examples) in EXAMPLES {
            for (_, line) in *examples {
                let args = words(line);
                if let Err(e) = Cli::try_parse_from(&args) {
                    panic!("{page}: {line}: {e}");
                }
                // The page of the command the line runs.
                let mut name = "carbonara".to_owned();
                let mut at = &command;
                for arg in &args[1..] {
                    match at.find_subcommand(arg) {
                        Some(sub) => {
                            name = format!("{name}-{arg}");
                            at = sub;
                        }
                        None if at.get_subcommands().next().is_some() => continue,
                        None => break,
                    }
                }
                assert!(
                    *page == "carbonara" || *page == name,
                    "{page}: {line} runs {name}"
                );
            }
        }
    }
}
