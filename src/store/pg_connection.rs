//! How carbonara reaches a Gnocchi deployment's PostgreSQL, for its index
//! and for tooz's sack locks alike: the libpq parameters psycopg2 hands
//! libpq for a Gnocchi URL, and errors that say what failed with the
//! password hidden.

use postgres::{Client, Config, NoTls};

use super::{Error, Result};
use crate::deployment::DatabaseUrl;

/// The libpq default socket directory of Debian's and Red Hat's builds,
/// where libpq connects when neither the URL nor `PGHOST` names a host.
const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

/// libpq parameters an indexer URL's query may set, as SQLAlchemy hands
/// them to psycopg2, which the client here understands.
const INDEX_PARAMETERS: &[&str] = &[
    "application_name",
    "channel_binding",
    "connect_timeout",
    "keepalives",
    "keepalives_idle",
    "options",
    "sslmode",
    "target_session_attrs",
    "tcp_user_timeout",
];

/// Connects to the indexer database `url` names: tooz's parameters (see
/// `config`) and the libpq parameters of the URL's query.
pub fn connect_index(url: &DatabaseUrl) -> Result<Client> {
    let mut text = connection_string(url, &|var| std::env::var(var).ok());
    for (key, value) in url.query_pairs() {
        match key.as_str() {
            "host" | "port" | "dbname" => {}
            // The client speaks UTF-8, which is what Gnocchi asks for.
            "client_encoding" if value.eq_ignore_ascii_case("utf8") => {}
            known if INDEX_PARAMETERS.contains(&known) => {
                text.push_str(&format!(" {known}={}", quoted(&value)));
            }
            other => {
                return Err(Error::PostgresConnect {
                    url: url.to_string(),
                    reason: format!("the URL's parameter `{other}` is not supported"),
                });
            }
        }
    }
    text.parse::<Config>()
        .map_err(|e| connect_error(url, &e))?
        .connect(NoTls)
        .map_err(|e| connect_error(url, &e))
}

/// The client configuration tooz makes of a coordination `url`; what it
/// leaves out comes from libpq's environment variables (`PGHOST`,
/// `PGPORT`, `PGDATABASE`, `PGUSER`, `PGPASSWORD`, then `USER`), as
/// psycopg2 leaves it to libpq.
pub fn config(url: &DatabaseUrl) -> Result<Config> {
    connection_string(url, &|var| std::env::var(var).ok())
        .parse::<Config>()
        .map_err(|e| connect_error(url, &e))
}

/// A failure to reach or use the database at `url`, password hidden.
pub fn connect_error(url: &DatabaseUrl, error: &postgres::Error) -> Error {
    Error::PostgresConnect {
        url: url.to_string(),
        reason: reason(error),
    }
}

/// What went wrong, said by the server or by the cause rust-postgres keeps
/// in `source()` (its own message names only the kind of failure).
fn reason(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => {
            std::error::Error::source(error).map_or_else(|| error.to_string(), ToString::to_string)
        }
    }
}

/// The libpq connection string tooz's `PostgresDriver.get_connection`
/// amounts to: host, port and database from the query or the URL, user and
/// password from the URL; what is missing from the environment.
fn connection_string(url: &DatabaseUrl, env: &dyn Fn(&str) -> Option<String>) -> String {
    let non_empty = |value: Option<String>| value.filter(|v| !v.is_empty());
    let host = non_empty(url.query("host"))
        .or_else(|| url.host())
        .or_else(|| non_empty(env("PGHOST")))
        .unwrap_or_else(|| DEFAULT_SOCKET_DIR.to_owned());
    let port = non_empty(url.query("port"))
        .or_else(|| url.port().map(|p| p.to_string()))
        .or_else(|| non_empty(env("PGPORT")));
    let dbname = non_empty(url.query("dbname"))
        .or_else(|| url.database())
        .or_else(|| non_empty(env("PGDATABASE")));
    let user = non_empty(url.user())
        .or_else(|| non_empty(env("PGUSER")))
        .or_else(|| non_empty(env("USER")));
    let password = url.password().or_else(|| env("PGPASSWORD"));
    let mut parts = vec![format!("host={}", quoted(&host))];
    let optional = [
        ("port", port),
        ("dbname", dbname),
        ("user", user),
        ("password", password),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            parts.push(format!("{key}={}", quoted(&value)));
        }
    }
    parts.push("application_name=carbonara".to_owned());
    parts.join(" ")
}

/// A value of a libpq connection string, in single quotes.
fn quoted(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(url: &str, env: &[(&str, &str)]) -> String {
        let env = |var: &str| {
            env.iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| (*v).to_owned())
        };
        connection_string(&DatabaseUrl::parse(url).unwrap(), &env)
    }

    #[test]
    fn connection_parameters_as_tooz_gives_them() {
        assert_eq!(
            string(
                "postgresql://gnocchi:p%27w\\@db:5433/gnocchi?sslmode=require",
                &[("USER", "root")]
            ),
            "host='db' port='5433' dbname='gnocchi' user='gnocchi' password='p\\'w\\\\' application_name=carbonara"
        );
        // The query's host, port and dbname first, as tooz reads them.
        assert_eq!(
            string(
                "postgresql://u@db:5433/gnocchi?host=/run/pg&port=6000&dbname=locks",
                &[]
            ),
            "host='/run/pg' port='6000' dbname='locks' user='u' application_name=carbonara"
        );
        // What the URL leaves out, libpq takes from the environment.
        assert_eq!(
            string(
                "postgresql:///",
                &[
                    ("PGHOST", "pg"),
                    ("PGPORT", "7"),
                    ("PGDATABASE", "d"),
                    ("PGUSER", "x"),
                    ("PGPASSWORD", "s"),
                    ("USER", "y")
                ]
            ),
            "host='pg' port='7' dbname='d' user='x' password='s' application_name=carbonara"
        );
        assert_eq!(
            string("postgresql:///gnocchi", &[("USER", "gnocchi")]),
            "host='/var/run/postgresql' dbname='gnocchi' user='gnocchi' application_name=carbonara"
        );
    }

    #[test]
    fn bad_parameters_are_errors_that_show_no_password() {
        let url = DatabaseUrl::parse("postgresql://u:hunter2@db/g?port=x").unwrap();
        let error = config(&url).unwrap_err().to_string();
        assert_eq!(
            error,
            "PostgreSQL at postgresql://u:***@db/g?port=x: invalid value for option `port`"
        );
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn an_index_url_may_set_what_the_client_understands() {
        let url = DatabaseUrl::parse("postgresql://u:pw@db/g?charset=utf8").unwrap();
        assert_eq!(
            connect_index(&url).err().unwrap().to_string(),
            "PostgreSQL at postgresql://u:***@db/g?charset=utf8: the URL's parameter `charset` is not supported"
        );
    }

    #[test]
    fn an_unreachable_server_is_an_error_naming_the_url() {
        // A port nobody listens on: bound, then released.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url =
            DatabaseUrl::parse(&format!("postgresql://u:hunter2@127.0.0.1:{port}/g")).unwrap();
        let error = connect_index(&url).err().unwrap().to_string();
        assert_eq!(
            error,
            format!(
                "PostgreSQL at postgresql://u:***@127.0.0.1:{port}/g: Connection refused (os error 111)"
            )
        );
        assert!(!error.contains("hunter2"), "{error}");
    }
}
