//! An option's value as oslo.config gives it to Gnocchi
//! (`ConfigOpts._do_get`): the environment variable `OS_<GROUP>__<NAME>`
//! first, then the file (the option's own name, then its deprecated
//! places; the last of repeated keys), then its default; then `$name`,
//! `${name}` and `${group.name}` substituted (`ConfigOpts._substitute`,
//! `StrSubWrapper`), and the text converted to the option's type
//! (`oslo_config/types.py`).
//!
//! Substitution as Python's `string.Template.safe_substitute` with
//! oslo's `idpattern = [_a-z][._a-z0-9]*` (case-insensitive): `$$` and
//! `\$` are a dollar sign; a `$` followed by no name is kept; `$name`
//! refers to the option `name` of the value's own group, or of `[DEFAULT]`
//! when that group has none; `${group.name}` to another group's. A name
//! that is no option is an error, as in oslo.config, and so is a value
//! that refers to itself. The value substituted is the referred option's,
//! converted and written back as Python's `str()` writes it (`True`, `2`).

use std::path::Path;

use super::ini::{Entry, Ini};
use super::options::{self, Default, Group, Kind, Opt};
use super::{Error, Place};
use crate::pyform::fmt::{float_repr, str_repr};

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Written in the file, in this section under this key (which may be a
    /// deprecated name).
    File {
        section: String,
        key: String,
        line: usize,
    },
    Env(String),
    Default,
}

/// A value, substituted, with the text it was substituted from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub text: String,
    pub raw: String,
    pub origin: Origin,
}

/// A value converted to its option's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    Str(String),
    Int(i64),
    Bool(bool),
    Float(f64),
    List(Vec<String>),
    Uuid(uuid::Uuid),
}

/// An option a value can refer to: a registered one, or one of a
/// library's section, known only by being in the file.
#[derive(Clone, Copy)]
enum Target<'a> {
    Registered(&'static Group, &'static Opt),
    Library(&'a str, &'a str),
}

/// Reads options of one parsed file in one environment.
pub struct Resolver<'a> {
    pub path: &'a Path,
    pub ini: &'a Ini,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Resolver<'a> {
    /// The place a value came from, for messages.
    pub fn place(&self, origin: &Origin) -> Place {
        match origin {
            Origin::File { line, .. } => Place::File {
                path: self.path.to_owned(),
                line: Some(*line),
            },
            Origin::Env(var) => Place::Env(var.clone()),
            Origin::Default => Place::File {
                path: self.path.to_owned(),
                line: None,
            },
        }
    }

    /// The value of a registered option, substituted and checked against
    /// its type; `None` when unset and without default.
    pub fn get(&self, group: &str, name: &str) -> Result<Option<(Value, Typed)>, Error> {
        let (g, o) = registered(group, name);
        let Some(value) = self.value(Target::Registered(g, o), &mut Vec::new())? else {
            return Ok(None);
        };
        match convert(o.kind, &value.text) {
            Ok(Some(typed)) => Ok(Some((value, typed))),
            Ok(None) => Ok(None),
            Err(reason) => Err(self.value_error(g.name, o.name, &value, reason)),
        }
    }

    /// The value of an option of a library's section, substituted; `None`
    /// when the file does not set it.
    pub fn get_library(&self, section: &str, key: &str) -> Result<Option<Value>, Error> {
        self.value(Target::Library(section, key), &mut Vec::new())
    }

    /// Whether the file or the environment sets a registered option.
    pub fn is_set(&self, group: &str, name: &str) -> bool {
        let (g, o) = registered(group, name);
        self.raw(Target::Registered(g, o))
            .is_some_and(|(_, origin)| origin != Origin::Default)
    }

    /// An error about a value, naming where it was written; the value of
    /// an option that holds a secret is hidden.
    pub fn value_error(&self, group: &str, name: &str, value: &Value, reason: String) -> Error {
        let key = match &value.origin {
            Origin::File { key, .. } => key.as_str(),
            _ => name,
        };
        let show = |text: &str| {
            if text.is_empty() || !is_secret(key) {
                text.to_owned()
            } else if text.contains("://") {
                redact_url(text)
            } else {
                "***".to_owned()
            }
        };
        let shown = if value.raw == value.text {
            show(&value.text)
        } else {
            format!("{} (from {})", show(&value.text), show(&value.raw))
        };
        self.error_showing(group, name, &value.origin, shown, reason)
    }

    /// An error about a value shown as given.
    pub fn error_showing(
        &self,
        group: &str,
        name: &str,
        origin: &Origin,
        shown: String,
        reason: String,
    ) -> Error {
        let (section, option) = match origin {
            Origin::File { section, key, .. } => (section.as_str(), key.as_str()),
            _ => (group, name),
        };
        Error::Value {
            place: self.place(origin),
            option: format!("[{section}] {option}"),
            value: shown,
            reason,
        }
    }

    /// The text before substitution and where it comes from.
    fn raw(&self, target: Target<'_>) -> Option<(String, Origin)> {
        match target {
            Target::Library(section, key) => {
                let entry = self.ini.sections.get(section)?.get(key)?;
                Some(file_value(section, key, entry))
            }
            Target::Registered(g, o) => {
                let var = format!("OS_{}__{}", g.name.to_uppercase(), o.name.to_uppercase());
                if let Some(value) = (self.env)(&var) {
                    return Some((value, Origin::Env(var)));
                }
                let places = std::iter::once((g.name, o.name)).chain(
                    o.deprecated
                        .iter()
                        .map(|&(dg, dn)| (if dg.is_empty() { g.name } else { dg }, dn)),
                );
                for (section, key) in places {
                    if let Some(entry) = self.ini.sections.get(section).and_then(|s| s.get(key)) {
                        return Some(file_value(section, key, entry));
                    }
                }
                let default = match (g.defaults_from, o.default) {
                    (Some(from), _) => Some(format!("${{{from}.{}}}", o.name)),
                    (None, Default::Text(text)) => Some(text.to_owned()),
                    (None, Default::Env(var)) => (self.env)(var),
                    (None, Default::None) => None,
                };
                default.map(|text| (text, Origin::Default))
            }
        }
    }

    fn value(&self, target: Target<'_>, stack: &mut Vec<String>) -> Result<Option<Value>, Error> {
        let Some((raw, origin)) = self.raw(target) else {
            return Ok(None);
        };
        let (group, name) = match target {
            Target::Registered(g, o) => (g.name, o.name),
            Target::Library(section, key) => (section, key),
        };
        let id = format!("{group}.{name}");
        if stack.contains(&id) {
            let value = Value {
                text: raw.clone(),
                raw,
                origin,
            };
            let cycle = stack.join(" → ");
            return Err(self.value_error(
                group,
                name,
                &value,
                format!("refers to itself ({cycle} → {id})"),
            ));
        }
        stack.push(id);
        let text = self.substitute(&raw, group, stack).map_err(|reason| {
            let value = Value {
                text: raw.clone(),
                raw: raw.clone(),
                origin: origin.clone(),
            };
            match reason {
                Substitution::Own(reason) => self.value_error(group, name, &value, reason),
                Substitution::Inner(error) => error,
            }
        })?;
        stack.pop();
        Ok(Some(Value { text, raw, origin }))
    }

    fn substitute(
        &self,
        raw: &str,
        group: &str,
        stack: &mut Vec<String>,
    ) -> Result<String, Substitution> {
        // oslo reads `\$` as the template's `$$`.
        let text = raw.replace("\\$", "$$");
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            if let Some(tail) = after.strip_prefix('$') {
                out.push('$');
                rest = tail;
            } else if let Some(braced) = after.strip_prefix('{')
                && let Some(len) = identifier_len(braced)
                && braced[len..].starts_with('}')
            {
                let written = &rest[at..at + len + 3];
                out.push_str(&self.reference(&braced[..len], written, group, stack)?);
                rest = &braced[len + 1..];
            } else if let Some(len) = identifier_len(after) {
                let written = &rest[at..at + len + 1];
                out.push_str(&self.reference(&after[..len], written, group, stack)?);
                rest = &after[len..];
            } else {
                out.push('$');
                rest = after;
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The text one `$key` (`written` so) stands for.
    fn reference(
        &self,
        key: &str,
        written: &str,
        group: &str,
        stack: &mut Vec<String>,
    ) -> Result<String, Substitution> {
        let target = match key.split_once('.') {
            // oslo keeps `[DEFAULT]`'s options outside its groups, so
            // `${DEFAULT.name}` names no group.
            Some((g, name)) => (g != "DEFAULT")
                .then(|| self.target(g, name))
                .flatten()
                .ok_or_else(|| {
                    if g == "DEFAULT"
                        || (options::group(g).is_none() && !options::LIBRARY_SECTIONS.contains(&g))
                    {
                        Substitution::Own(format!("{written}: there is no option group {g}"))
                    } else {
                        Substitution::Own(format!("{written}: there is no option {name} in [{g}]"))
                    }
                })?,
            None => self
                .target(group, key)
                .or_else(|| self.target("DEFAULT", key))
                .ok_or_else(|| {
                    Substitution::Own(format!(
                        "{written}: there is no option {key} in [{group}] or [DEFAULT]"
                    ))
                })?,
        };
        let value = self.value(target, stack).map_err(Substitution::Inner)?;
        let Some(value) = value else {
            return Ok(String::new());
        };
        match target {
            Target::Library(..) => Ok(value.text),
            Target::Registered(g, o) => match convert(o.kind, &value.text) {
                Ok(typed) => Ok(typed.map(|t| python_str(&t)).unwrap_or_default()),
                Err(reason) => Err(Substitution::Inner(
                    self.value_error(g.name, o.name, &value, reason),
                )),
            },
        }
    }

    /// The option `name` of group `group`, if there is one.
    fn target<'n>(&self, group: &'n str, name: &'n str) -> Option<Target<'n>> {
        if let Some(g) = options::group(group) {
            return g.opt(name).map(|o| Target::Registered(g, o));
        }
        let in_file = options::LIBRARY_SECTIONS.contains(&group)
            && self
                .ini
                .sections
                .get(group)
                .is_some_and(|s| s.get(name).is_some());
        in_file.then_some(Target::Library(group, name))
    }
}

enum Substitution {
    /// The value's own reference is bad.
    Own(String),
    /// An option it refers to is.
    Inner(Error),
}

fn registered(group: &str, name: &str) -> (&'static Group, &'static Opt) {
    let g = options::group(group).expect("a group Gnocchi registers");
    (g, g.opt(name).expect("an option Gnocchi registers"))
}

fn file_value(section: &str, key: &str, entry: &Entry) -> (String, Origin) {
    (
        entry.value.clone(),
        Origin::File {
            section: section.to_owned(),
            key: key.to_owned(),
            line: entry.line,
        },
    )
}

/// Whether an option holds a secret: Gnocchi's `secret=True` options, and
/// the passwords, keys, tokens and connection URLs of the libraries'
/// sections (`[keystone_authtoken] password`, `memcache_secret_key`,
/// `[database] connection`).
pub fn is_secret(option: &str) -> bool {
    const GNOCCHI: &[&str] = &[
        "url",
        "coordination_url",
        "ceph_secret",
        "swift_preauthtoken",
        "swift_key",
        "redis_url",
        "s3_access_key_id",
        "s3_secret_access_key",
    ];
    GNOCCHI.contains(&option)
        || ["password", "secret", "token", "connection"]
            .iter()
            .any(|word| option.contains(word))
        || option.ends_with("_key")
}

/// A URL's text with whatever precedes its last `@` hidden: the user and
/// password, for a URL that may not split.
pub fn redact_url(text: &str) -> String {
    match text.rfind('@') {
        Some(at) => {
            let start = text.find("://").map_or(0, |i| i + 3);
            format!("{}***{}", &text[..start.min(at)], &text[at..])
        }
        None => text.to_owned(),
    }
}

/// The length of the name at the start of `text`: `[_a-z][._a-z0-9]*`,
/// any case.
fn identifier_len(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    if !bytes
        .first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
    {
        return None;
    }
    Some(
        bytes
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.'))
            .unwrap_or(bytes.len()),
    )
}

/// Converts a text as oslo.config's type does; `None` for an empty number,
/// which oslo reads as unset.
pub fn convert(kind: Kind, text: &str) -> Result<Option<Typed>, String> {
    Ok(Some(match kind {
        Kind::Str => Typed::Str(text.to_owned()),
        Kind::Choice(choices) => {
            if !choices.contains(&text) {
                return Err(format!(
                    "Valid values are [{}], but found {}",
                    choices.join(", "),
                    str_repr(text)
                ));
            }
            Typed::Str(text.to_owned())
        }
        Kind::Int { min, max } => {
            let trimmed = text.trim();
            if trimmed.is_empty() {
                return Ok(None);
            }
            let value =
                python_int(trimmed).ok_or_else(|| format!("not an integer: {}", str_repr(text)))?;
            if let Some(min) = min
                && value < min
            {
                return Err(format!("Should be greater than or equal to {min}"));
            }
            if let Some(max) = max
                && value > max
            {
                return Err(format!("Should be less than or equal to {max}"));
            }
            Typed::Int(value)
        }
        Kind::Bool => match text.to_lowercase().as_str() {
            "true" | "1" | "on" | "yes" => Typed::Bool(true),
            "false" | "0" | "off" | "no" => Typed::Bool(false),
            _ => return Err(format!("Unexpected boolean value {}", str_repr(text))),
        },
        Kind::Float { min } => {
            if text.trim().is_empty() {
                return Ok(None);
            }
            let value = crate::pyform::float::parse_python_float(text)
                .ok_or_else(|| format!("not a number: {}", str_repr(text)))?;
            if let Some(min) = min
                && value < min
            {
                return Err(format!(
                    "Should be greater than or equal to {}",
                    float_repr(min)
                ));
            }
            Typed::Float(value)
        }
        Kind::List => {
            let trimmed = text.trim().trim_end_matches(',');
            if trimmed.is_empty() {
                Typed::List(Vec::new())
            } else {
                Typed::List(
                    trimmed
                        .split(',')
                        .map(|item| {
                            let item = item.trim();
                            item.strip_prefix('"')
                                .and_then(|i| i.strip_suffix('"'))
                                .unwrap_or(item)
                                .to_owned()
                        })
                        .collect(),
                )
            }
        }
        Kind::Uuid => Typed::Uuid(
            python_uuid(text).ok_or_else(|| "badly formed hexadecimal UUID string".to_owned())?,
        ),
        Kind::Host => {
            if text.parse::<std::net::IpAddr>().is_err() && !is_host_name(text) {
                return Err(format!("{} is not a valid host address", str_repr(text)));
            }
            Typed::Str(text.to_owned())
        }
    }))
}

/// Python's `int()` of a stripped text: a sign, digits, single `_`
/// between digits.
fn python_int(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    let bytes = digits.as_bytes();
    let well_formed = !bytes.is_empty()
        && bytes.iter().enumerate().all(|(i, &b)| {
            b.is_ascii_digit()
                || (b == b'_'
                    && i > 0
                    && i + 1 < bytes.len()
                    && bytes[i - 1].is_ascii_digit()
                    && bytes[i + 1].is_ascii_digit())
        });
    if !well_formed {
        return None;
    }
    text.replace('_', "").parse().ok()
}

/// `uuid.UUID(text)`: `urn:` and `uuid:` dropped, then braces, then every
/// `-`; 32 hexadecimal digits must remain.
fn python_uuid(text: &str) -> Option<uuid::Uuid> {
    let hex = text.replace("urn:", "").replace("uuid:", "");
    let hex = hex.trim_matches(['{', '}']).replace('-', "");
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    uuid::Uuid::try_parse(&hex).ok()
}

/// oslo's `Hostname`: dot-separated labels of letters, digits and inner
/// hyphens, 1 to 63 characters each, 255 in all, a trailing dot allowed,
/// the last label not all digits.
fn is_host_name(text: &str) -> bool {
    let name = text.strip_suffix('.').unwrap_or(text);
    if name.is_empty() || name.len() > 255 {
        return false;
    }
    let labels: Vec<&str> = name.split('.').collect();
    let label_ok = |label: &&str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    labels.iter().all(label_ok)
        && !labels
            .last()
            .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
}

/// Python's `str()` of a converted value, as substitution writes it.
fn python_str(value: &Typed) -> String {
    match value {
        Typed::Str(text) => text.clone(),
        Typed::Int(n) => n.to_string(),
        Typed::Bool(true) => "True".to_owned(),
        Typed::Bool(false) => "False".to_owned(),
        Typed::Float(x) => float_repr(*x),
        Typed::List(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|i| str_repr(i))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Typed::Uuid(id) => id.hyphenated().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deployment::ini;

    fn get(
        text: &str,
        env: &[(&str, &str)],
        group: &str,
        name: &str,
    ) -> Result<Option<String>, String> {
        let ini = ini::parse(text).unwrap();
        let env = |var: &str| {
            env.iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| (*v).to_owned())
        };
        let resolver = Resolver {
            path: Path::new("gnocchi.conf"),
            ini: &ini,
            env: &env,
        };
        resolver
            .get(group, name)
            .map(|found| found.map(|(value, _)| value.text))
            .map_err(|e| e.to_string())
    }

    fn text(text: &str, group: &str, name: &str) -> String {
        get(text, &[], group, name).unwrap().unwrap()
    }

    #[test]
    fn defaults_and_the_incoming_copy_of_storage() {
        assert_eq!(text("", "storage", "file_basepath"), "/var/lib/gnocchi");
        assert_eq!(
            text(
                "[storage]\nfile_basepath = /srv/g\n",
                "incoming",
                "file_basepath"
            ),
            "/srv/g"
        );
        assert_eq!(
            text(
                "[storage]\nfile_basepath = /srv/g\n[incoming]\nfile_basepath = /srv/i\n",
                "incoming",
                "file_basepath"
            ),
            "/srv/i"
        );
        assert_eq!(
            text("[storage]\ndriver = ceph\n", "incoming", "driver"),
            "ceph"
        );
        assert_eq!(get("", &[], "DEFAULT", "coordination_url"), Ok(None));
    }

    #[test]
    fn the_environment_comes_before_the_file() {
        let file = "[storage]\nfile_basepath = /srv/g\n";
        assert_eq!(
            get(
                file,
                &[("OS_STORAGE__FILE_BASEPATH", "/env")],
                "storage",
                "file_basepath"
            ),
            Ok(Some("/env".into()))
        );
        assert_eq!(
            get(
                "",
                &[("GNOCCHI_INDEXER_URL", "postgresql://h/db")],
                "indexer",
                "url"
            ),
            Ok(Some("postgresql://h/db".into()))
        );
        assert_eq!(
            get(
                "[indexer]\nurl = postgresql://f/db\n",
                &[("GNOCCHI_INDEXER_URL", "postgresql://h/db")],
                "indexer",
                "url"
            ),
            Ok(Some("postgresql://f/db".into()))
        );
    }

    #[test]
    fn deprecated_places_count_after_the_option_itself() {
        assert_eq!(
            text("[api]\nrefresh_timeout = 30\n", "api", "operation_timeout"),
            "30"
        );
        assert_eq!(
            text(
                "[api]\noperation_timeout = 5\nrefresh_timeout = 30\n",
                "api",
                "operation_timeout"
            ),
            "5"
        );
        assert_eq!(
            text(
                "[storage]\ncoordination_url = postgresql://x/y\n",
                "DEFAULT",
                "coordination_url"
            ),
            "postgresql://x/y"
        );
    }

    #[test]
    fn substitution_forms() {
        let file = "[DEFAULT]\nstate = x\n[storage]\nfile_basepath = /srv\nceph_pool = $file_basepath/a ${file_basepath}b $$c \\$d $ e $1\n";
        // `state` is no option: only registered ones can be referred to.
        assert_eq!(
            text(file, "storage", "ceph_pool"),
            "/srv/a /srvb $c $d $ e $1"
        );
        let file = "[DEFAULT]\nlog_dir = /log\n[storage]\nfile_basepath = $log_dir/g\n[incoming]\nfile_basepath = ${storage.file_basepath}/in\n";
        assert_eq!(text(file, "storage", "file_basepath"), "/log/g");
        assert_eq!(text(file, "incoming", "file_basepath"), "/log/g/in");
        // An unset option without default substitutes as nothing; typed
        // values as Python's str() writes them.
        assert_eq!(
            text(
                "[storage]\nceph_pool = <$ceph_username>\n",
                "storage",
                "ceph_pool"
            ),
            "<>"
        );
        assert_eq!(
            text(
                "[storage]\nceph_pool = $swift_auth_insecure-$file_subdir_len-${metricd.greedy}\n[metricd]\ngreedy = on\n",
                "storage",
                "ceph_pool"
            ),
            "False-2-True"
        );
        // A name runs as far as letters, digits, `_` and `.` go.
        assert_eq!(
            get("[storage]\nceph_pool = $file_basepath.x\n", &[], "storage", "ceph_pool"),
            Err("gnocchi.conf:2: [storage] ceph_pool = $file_basepath.x: $file_basepath.x: there is no option group file_basepath".into())
        );
    }

    #[test]
    fn library_sections_can_be_referred_to_when_the_file_sets_them() {
        let file = "[keystone_authtoken]\nauth_url = http://k:5000\n[storage]\nceph_pool = ${keystone_authtoken.auth_url}/v3\n";
        assert_eq!(text(file, "storage", "ceph_pool"), "http://k:5000/v3");
        assert_eq!(
            get("[storage]\nceph_pool = ${keystone_authtoken.auth_url}\n", &[], "storage", "ceph_pool"),
            Err("gnocchi.conf:2: [storage] ceph_pool = ${keystone_authtoken.auth_url}: ${keystone_authtoken.auth_url}: there is no option auth_url in [keystone_authtoken]".into())
        );
    }

    #[test]
    fn bad_references_and_cycles_are_errors() {
        assert_eq!(
            get("[storage]\nfile_basepath = ${DEFAULT.log_dir}\n", &[], "storage", "file_basepath"),
            Err("gnocchi.conf:2: [storage] file_basepath = ${DEFAULT.log_dir}: ${DEFAULT.log_dir}: there is no option group DEFAULT".into())
        );
        assert_eq!(
            get("[storage]\nfile_basepath = $nothing/x\n", &[], "storage", "file_basepath"),
            Err("gnocchi.conf:2: [storage] file_basepath = $nothing/x: $nothing: there is no option nothing in [storage] or [DEFAULT]".into())
        );
        assert_eq!(
            get("[storage]\nfile_basepath = ${nogroup.x}\n", &[], "storage", "file_basepath"),
            Err("gnocchi.conf:2: [storage] file_basepath = ${nogroup.x}: ${nogroup.x}: there is no option group nogroup".into())
        );
        assert_eq!(
            get("[storage]\nfile_basepath = $ceph_pool\nceph_pool = $file_basepath\n", &[], "storage", "file_basepath"),
            Err("gnocchi.conf:2: [storage] file_basepath = $ceph_pool: refers to itself (storage.file_basepath → storage.ceph_pool → storage.file_basepath)".into())
        );
        // A bad value found through a reference is reported where it is written.
        assert_eq!(
            get(
                "[storage]\nfile_subdir_len = two\nfile_basepath = /x/$file_subdir_len\n",
                &[],
                "storage",
                "file_basepath"
            ),
            Err("gnocchi.conf:2: [storage] file_subdir_len = two: not an integer: 'two'".into())
        );
    }

    #[test]
    fn conversions() {
        let int = Kind::Int {
            min: Some(0),
            max: Some(32),
        };
        assert_eq!(convert(int, " 1_0 "), Ok(Some(Typed::Int(10))));
        assert_eq!(convert(int, "+3"), Ok(Some(Typed::Int(3))));
        assert_eq!(convert(int, ""), Ok(None));
        assert_eq!(
            convert(int, "33"),
            Err("Should be less than or equal to 32".into())
        );
        assert_eq!(
            convert(int, "-1"),
            Err("Should be greater than or equal to 0".into())
        );
        assert_eq!(convert(int, "1__0"), Err("not an integer: '1__0'".into()));
        assert_eq!(convert(Kind::Bool, "YES"), Ok(Some(Typed::Bool(true))));
        assert_eq!(convert(Kind::Bool, "off"), Ok(Some(Typed::Bool(false))));
        assert_eq!(
            convert(Kind::Bool, "maybe"),
            Err("Unexpected boolean value 'maybe'".into())
        );
        assert_eq!(
            convert(Kind::Choice(&["http", "socket"]), "tcp"),
            Err("Valid values are [http, socket], but found 'tcp'".into())
        );
        assert_eq!(
            convert(Kind::Float { min: Some(0.0) }, "1e1"),
            Ok(Some(Typed::Float(10.0)))
        );
        assert_eq!(
            convert(Kind::Float { min: Some(0.0) }, "-1"),
            Err("Should be greater than or equal to 0.0".into())
        );
        assert_eq!(
            convert(Kind::List, " mean, \"max\" ,rate:last,"),
            Ok(Some(Typed::List(vec![
                "mean".into(),
                "max".into(),
                "rate:last".into()
            ])))
        );
        assert_eq!(convert(Kind::List, ""), Ok(Some(Typed::List(vec![]))));
        let id = "{urn:uuid:0a7a15ff-aa13-4ac2-897c-9bdf30ce175b}";
        assert_eq!(
            convert(Kind::Uuid, id),
            Ok(Some(Typed::Uuid(
                "0a7a15ff-aa13-4ac2-897c-9bdf30ce175b".parse().unwrap()
            )))
        );
        assert!(convert(Kind::Uuid, "0a7a15ff").is_err());
        assert!(convert(Kind::Host, "127.0.0.1").is_ok());
        assert!(convert(Kind::Host, "::").is_ok());
        assert!(convert(Kind::Host, "api.example.org.").is_ok());
        assert_eq!(
            convert(Kind::Host, "-x.org"),
            Err("'-x.org' is not a valid host address".into())
        );
        assert!(convert(Kind::Host, "10.0.0.300").is_err());
    }
}
