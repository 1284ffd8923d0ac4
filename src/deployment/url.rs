//! Database URLs as Gnocchi's configuration gives them (`[indexer] url`,
//! `[DEFAULT] coordination_url`): `scheme://[user[:password]@]host[:port]/
//! database[?query]`, split as Python's `urllib.parse.urlsplit` splits
//! them. The text is kept as written; `Display` shows it with the password
//! replaced by `***`, so a URL can be put in any message.

use std::fmt;

use percent_encoding::percent_decode_str;

/// A URL and where its parts are.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    text: String,
    scheme: String,
    /// The user information before `@`, as written.
    userinfo: Option<String>,
    /// Host and port, as written (`[…]` kept around an IPv6 address).
    hostport: String,
    /// From the `/` after the host to the end (path, query, fragment).
    rest: String,
}

/// Why a text is not a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError(pub &'static str);

impl DatabaseUrl {
    /// Splits a URL; its scheme must be followed by `://`.
    pub fn parse(text: &str) -> Result<DatabaseUrl, UrlError> {
        let (scheme, after) = text
            .split_once("://")
            .ok_or(UrlError("not a URL (no `scheme://`)"))?;
        let scheme_ok = scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !scheme_ok {
            return Err(UrlError("not a URL (bad scheme)"));
        }
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        let (netloc, rest) = after.split_at(end);
        let (userinfo, hostport) = match netloc.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo.to_owned()), hostport),
            None => (None, netloc),
        };
        let url = DatabaseUrl {
            text: text.to_owned(),
            scheme: scheme.to_lowercase(),
            userinfo,
            hostport: hostport.to_owned(),
            rest: rest.to_owned(),
        };
        if let Some(port) = url.port_text()
            && !port.is_empty()
            && port.parse::<u16>().is_err()
        {
            return Err(UrlError("the port is not a number from 0 to 65535"));
        }
        Ok(url)
    }

    /// The URL as written, password included: for connecting only.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The scheme, lowercased: `postgresql`, `postgresql+psycopg2`, …
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The same URL with the `+driver` part of its scheme removed, as
    /// Gnocchi derives its coordination URL from the indexer's
    /// (`gnocchi/service.py: prepare_service`).
    pub fn without_driver(&self) -> DatabaseUrl {
        let Some((base, _driver)) = self.scheme.split_once('+') else {
            return self.clone();
        };
        let after = &self.text[self.text.find("://").expect("parsed with `://`")..];
        DatabaseUrl {
            text: format!("{base}{after}"),
            scheme: base.to_owned(),
            ..self.clone()
        }
    }

    /// The user name and password as written, not percent-decoded: what
    /// Python's `urlsplit` gives as `username` and `password`, and tooz's
    /// Redis driver hands on.
    pub fn userinfo_as_written(&self) -> Option<(&str, Option<&str>)> {
        self.split_userinfo()
    }

    fn split_userinfo(&self) -> Option<(&str, Option<&str>)> {
        let userinfo = self.userinfo.as_deref()?;
        Some(match userinfo.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (userinfo, None),
        })
    }

    /// The user name, percent-decoded.
    pub fn user(&self) -> Option<String> {
        self.split_userinfo().map(|(user, _)| decode(user))
    }

    /// The password, percent-decoded.
    pub fn password(&self) -> Option<String> {
        self.split_userinfo()
            .and_then(|(_, password)| password.map(decode))
    }

    /// The host (without the brackets of an IPv6 address), if any.
    pub fn host(&self) -> Option<String> {
        let host = match self.hostport.strip_prefix('[') {
            Some(bracketed) => bracketed.split(']').next().unwrap_or(""),
            None => self.hostport.split(':').next().unwrap_or(""),
        };
        (!host.is_empty()).then(|| decode(host))
    }

    fn port_text(&self) -> Option<&str> {
        match self.hostport.strip_prefix('[') {
            Some(bracketed) => bracketed.split_once("]:").map(|(_, port)| port),
            None => self.hostport.split_once(':').map(|(_, port)| port),
        }
    }

    /// The port, if written.
    pub fn port(&self) -> Option<u16> {
        self.port_text().and_then(|p| p.parse().ok())
    }

    /// The path as written, from its `/` (empty when there is none).
    pub fn path(&self) -> &str {
        self.rest.split(['?', '#']).next().unwrap_or("")
    }

    /// The path without its leading `/`, percent-decoded: the database.
    pub fn database(&self) -> Option<String> {
        let path = self.path();
        let name = path.strip_prefix('/').unwrap_or(path);
        (!name.is_empty()).then(|| decode(name))
    }

    /// The last value of a query parameter, decoded as `parse_qs` does
    /// (`+` is a space).
    pub fn query(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value)
            .last()
    }

    /// The query's parameters, percent-decoded, in order.
    pub fn query_pairs(&self) -> impl Iterator<Item = (String, String)> + '_ {
        let query = self
            .rest
            .split_once('?')
            .map(|(_, q)| q.split('#').next().unwrap_or(""))
            .unwrap_or("");
        form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned()))
    }
}

fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// The URL with its password, and any `password=` query parameter,
/// shown as `***`.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme)?;
        if let Some((user, password)) = self.split_userinfo() {
            let hidden = if password.is_some() { ":***" } else { "" };
            write!(f, "{user}{hidden}@")?;
        }
        f.write_str(&self.hostport)?;
        let (before_query, query) = match self.rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (self.rest.as_str(), None),
        };
        f.write_str(before_query)?;
        if let Some(query) = query {
            f.write_str("?")?;
            for (i, pair) in query.split('&').enumerate() {
                if i > 0 {
                    f.write_str("&")?;
                }
                match pair.split_once('=') {
                    Some((key, _)) if key == "password" => write!(f, "{key}=***")?,
                    _ => f.write_str(pair)?,
                }
            }
        }
        Ok(())
    }
}

/// Debug output hides the password too.
impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_of_a_full_url() {
        let url =
            DatabaseUrl::parse("postgresql+psycopg2://gnocchi:s%40cret:x@db.example:5433/gnocchi?sslmode=require&host=/run/pg")
                .unwrap();
        assert_eq!(url.scheme(), "postgresql+psycopg2");
        assert_eq!(url.user().as_deref(), Some("gnocchi"));
        assert_eq!(url.password().as_deref(), Some("s@cret:x"));
        assert_eq!(url.host().as_deref(), Some("db.example"));
        assert_eq!(url.port(), Some(5433));
        assert_eq!(url.database().as_deref(), Some("gnocchi"));
        assert_eq!(url.query("host").as_deref(), Some("/run/pg"));
        assert_eq!(url.query("dbname"), None);
        assert_eq!(url.path(), "/gnocchi");
        assert_eq!(
            url.userinfo_as_written(),
            Some(("gnocchi", Some("s%40cret:x")))
        );
    }

    #[test]
    fn display_and_debug_hide_the_password() {
        let url =
            DatabaseUrl::parse("postgresql://gnocchi:hunter2@db:5432/gnocchi?password=hunter2&x=1")
                .unwrap();
        assert_eq!(
            url.to_string(),
            "postgresql://gnocchi:***@db:5432/gnocchi?password=***&x=1"
        );
        assert!(!format!("{url:?}").contains("hunter2"));
        assert_eq!(
            url.as_str(),
            "postgresql://gnocchi:hunter2@db:5432/gnocchi?password=hunter2&x=1"
        );
        let url = DatabaseUrl::parse("postgresql://gnocchi@db/gnocchi").unwrap();
        assert_eq!(url.to_string(), "postgresql://gnocchi@db/gnocchi");
        assert_eq!(url.password(), None);
    }

    #[test]
    fn the_driver_is_removed_from_the_scheme_only() {
        let url = DatabaseUrl::parse("postgresql+psycopg2://u:p@h/postgresql+x?a=b").unwrap();
        let bare = url.without_driver();
        assert_eq!(bare.as_str(), "postgresql://u:p@h/postgresql+x?a=b");
        assert_eq!(bare.scheme(), "postgresql");
        assert_eq!(bare.password().as_deref(), Some("p"));
        let plain = DatabaseUrl::parse("postgresql://h/db").unwrap();
        assert_eq!(plain.without_driver(), plain);
    }

    #[test]
    fn hosts_in_brackets_and_sockets() {
        let url = DatabaseUrl::parse("postgresql://u@[::1]:5432/db").unwrap();
        assert_eq!(url.host().as_deref(), Some("::1"));
        assert_eq!(url.port(), Some(5432));
        let url =
            DatabaseUrl::parse("postgresql:///gnocchi?host=%2Fvar%2Frun%2Fpostgresql").unwrap();
        assert_eq!(url.host(), None);
        assert_eq!(url.port(), None);
        assert_eq!(url.database().as_deref(), Some("gnocchi"));
        assert_eq!(url.query("host").as_deref(), Some("/var/run/postgresql"));
    }

    #[test]
    fn texts_that_are_not_urls() {
        assert_eq!(
            DatabaseUrl::parse("db.example/gnocchi").unwrap_err().0,
            "not a URL (no `scheme://`)"
        );
        assert_eq!(
            DatabaseUrl::parse("://h/db").unwrap_err().0,
            "not a URL (bad scheme)"
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://h:99999/db").unwrap_err().0,
            "the port is not a number from 0 to 65535"
        );
    }
}
