//! SQL sources: the connections a script names (`LIB CONNECT TO 'Users'`,
//! `ODBC CONNECT TO 'Dsn;…'`), mapped to databases by `--connect
//! NAME=URL`, and the statements it sends them (`SQL SELECT …`), run
//! read-only; their results recorded to a folder (`--record`) and served
//! back from it with no database (`--replay`).
//!
//! Values arrive as Qlik receives typed data from a driver (its help on
//! number interpretation): numbers as numbers, text as text (digits
//! included), dates, times and timestamps as duals of Qlik's serial and
//! the ISO text, NULL as NULL. What Qlik does not document is a note
//! ([`Notes`]).

mod convert;
#[cfg(feature = "odbc")]
mod odbc;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
mod record;
#[cfg(feature = "sqlite")]
mod sqlite;

pub(crate) use record::{Recorder, Replay};

use crate::model::Value;

/// A result set: column names and, per row, a value per column.
#[derive(Debug, Default)]
pub(crate) struct ResultSet {
    pub(crate) names: Vec<String>,
    pub(crate) rows: Vec<Vec<Value>>,
    /// Mappings Qlik does not document that the values went through.
    pub(crate) notes: Notes,
}

/// Undocumented mappings a result set went through, each reported once.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Notes {
    /// A boolean became 1 or 0.
    pub(crate) boolean: bool,
    /// A timestamp with a time zone kept the session's local time.
    pub(crate) time_zone: bool,
    /// A column type with no number meaning kept the database's text.
    pub(crate) other_type: bool,
    /// SQLite text in a column declared as a date or time became a dual.
    pub(crate) declared_date: bool,
    /// Text that reads as a number (`007`) stayed text.
    pub(crate) digit_text: bool,
}

impl Notes {
    /// Text from a text column, noted when it reads as a number.
    pub(crate) fn text(&mut self, t: &str) -> Value {
        self.digit_text |= convert::number(t).is_some();
        Value::Text(std::sync::Arc::from(t))
    }
}

/// An open database.
pub(crate) trait Database {
    /// Runs `sql` read-only: its result set, `None` for a statement that
    /// returns no columns.
    fn query(&mut self, sql: &str) -> Result<Option<ResultSet>, String>;
}

/// Why a database could not be opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// The URL's scheme is none this build reads.
    Scheme(String),
    /// The server or file refused or could not be reached: why.
    Failed(String),
}

/// Opens the database at `url` (`postgresql://…`, `sqlite:PATH`,
/// `odbc:CONNECTION-STRING`).
pub(crate) fn open(url: &str) -> Result<Box<dyn Database>, OpenError> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("postgresql://") || lower.starts_with("postgres://") {
        #[cfg(feature = "postgres")]
        return postgres::Pg::open(url)
            .map(|db| Box::new(db) as Box<dyn Database>)
            .map_err(OpenError::Failed);
        #[cfg(not(feature = "postgres"))]
        return Err(OpenError::Scheme(String::from(
            "this build has no PostgreSQL driver (cargo feature `postgres`)",
        )));
    }
    if let Some(path) = url.strip_prefix("sqlite:") {
        #[cfg(feature = "sqlite")]
        return sqlite::Lite::open(std::path::Path::new(path))
            .map(|db| Box::new(db) as Box<dyn Database>)
            .map_err(OpenError::Failed);
        #[cfg(not(feature = "sqlite"))]
        return Err(OpenError::Scheme(format!(
            "this build has no SQLite driver (cargo feature `sqlite`) for `{path}`"
        )));
    }
    if let Some(connection_string) = url.strip_prefix("odbc:") {
        #[cfg(feature = "odbc")]
        return odbc::Odbc::open(connection_string)
            .map(|db| Box::new(db) as Box<dyn Database>)
            .map_err(|why| OpenError::Failed(masked(&why)));
        #[cfg(not(feature = "odbc"))]
        return Err(OpenError::Scheme(format!(
            "this build has no ODBC driver manager (cargo feature `odbc`) for `odbc:{}`",
            masked(connection_string)
        )));
    }
    Err(OpenError::Scheme(format!(
        "`{}` is no database URL this tool reads: use `postgresql://USER:PASSWORD@HOST:PORT/DB`, `sqlite:PATH` or `odbc:CONNECTION-STRING`",
        masked(url)
    )))
}

pub(crate) use crate::secrets::masked;

/// `NAME=URL` or `NAME=env:VAR` of `--connect`: the name and the URL (read
/// from the variable). The error never shows a password.
///
/// # Errors
/// A text without `=`, or a variable that is not set.
pub fn parse_connect(s: &str) -> Result<(String, String), String> {
    let Some((name, url)) = s.split_once('=') else {
        return Err(format!(
            "expected `NAME=URL` or `NAME=env:VAR`, got `{}`",
            masked(s)
        ));
    };
    let name = name.trim();
    if name.is_empty() || url.is_empty() {
        return Err(format!(
            "expected `NAME=URL` or `NAME=env:VAR`, got `{}`",
            masked(s)
        ));
    }
    let url = match url.strip_prefix("env:") {
        Some(var) => std::env::var(var).map_err(|_| {
            format!("`--connect {name}=env:{var}`: the environment variable `{var}` is not set")
        })?,
        None => url.to_string(),
    };
    Ok((name.to_string(), url))
}

/// True when the connection the script names as `script_name` is the
/// one `--connect` names `mapped`: case-insensitive, and `Space:Name` in
/// the script (Qlik Cloud) matches `Name` too.
pub(crate) fn names_match(script_name: &str, mapped: &str) -> bool {
    let bare = |n: &str| n.rsplit_once(':').map_or(n, |(_, b)| b).trim().to_string();
    script_name.trim().eq_ignore_ascii_case(mapped.trim())
        || bare(script_name).eq_ignore_ascii_case(mapped.trim())
        || bare(script_name).eq_ignore_ascii_case(&bare(mapped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_arguments_name_a_url_or_a_variable() {
        assert_eq!(
            parse_connect("Users=sqlite:/tmp/u.db").unwrap(),
            ("Users".to_string(), "sqlite:/tmp/u.db".to_string())
        );
        let e = parse_connect("Users=env:SECTION_ACCESS_TEST_NO_SUCH_VAR").unwrap_err();
        assert!(
            e.contains("`SECTION_ACCESS_TEST_NO_SUCH_VAR` is not set"),
            "{e}"
        );
        let e = parse_connect("postgresql://a:secret@h/db").unwrap_err();
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn script_names_match_with_or_without_a_space() {
        assert!(names_match("Users", "users"));
        assert!(names_match("Shared:Users", "Users"));
        assert!(names_match("Shared:Users", "shared:users"));
        assert!(!names_match("Shared:Users", "Other:Users2"));
        assert!(!names_match("Users", "Groups"));
    }
}
