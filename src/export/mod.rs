//! Section Access enforced elsewhere: the rules and the data exported to
//! PostgreSQL with row-level security (`section-access export --target
//! postgres`), and proved equal to the audit (`section-access verify`).
//!
//! The export states the evaluator's rules in SQL rather than its answers,
//! so a database session gets the right rows for any identity, listed in
//! the security tables or not: the identity is matched against the
//! security rows at query time, the reduction values S_f are the union of
//! what the kept rows allow (computed here, per security symbol, with `*`
//! expanded and the values matched to the data as the evaluator matches
//! them), and the propagation through key fields is a nest of semi-joins
//! (module `graph`). What cannot be stated exactly is refused with an error
//! saying why (a model with loops, two values of a key field that look the
//! same as text, a name PostgreSQL would cut).

/// `export --target duckdb|spark`: the audit as set-based SQL.
pub mod audit_sql;
mod graph;
mod postgres;
mod rows;
/// `verify`: the export loaded into a real server and compared with the audit.
#[cfg(feature = "postgres")]
pub mod verify;

use std::fmt;
use std::io;
use std::path::Path;

pub use postgres::postgres;

/// Where the identity comes from in the exported database.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IdentityMode {
    /// The session settings `section_access.userid`, `section_access.email`
    /// and `section_access.groups`, set by a trusted tier (whoever connects
    /// can set them).
    #[default]
    Settings,
    /// The role logged in as (`session_user`) is the USERID, the roles it
    /// is a member of are its groups.
    CurrentUser,
}

/// How to export.
#[derive(Clone, Debug)]
pub struct Options {
    /// The schema that holds everything (created; must not exist).
    pub schema: String,
    /// Where the identity comes from.
    pub identity: IdentityMode,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            schema: "section_access".to_string(),
            identity: IdentityMode::Settings,
        }
    }
}

/// The role that queries under the policies: it owns nothing, so it cannot
/// bypass them.
pub const READER_ROLE: &str = "section_access_reader";

/// One step of an export: SQL, or rows to copy into a table.
#[derive(Clone, Debug)]
pub enum Step {
    /// Statements, run as they are.
    Sql(String),
    /// `COPY table FROM` the CSV `data` (written to `file` beside
    /// `load.sql`).
    Copy {
        /// The table, qualified and quoted.
        table: String,
        /// The file name, relative to the export's folder.
        file: String,
        /// CSV with a header; NULL is `\N` unquoted, every value is quoted.
        data: Vec<u8>,
    },
}

/// The options of the `COPY` that reads a [`Step::Copy`]'s data.
pub const COPY_OPTIONS: &str = "(FORMAT csv, HEADER true, NULL '\\N')";

/// An export: the steps that build it, in order.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The steps.
    pub steps: Vec<Step>,
    /// Remarks on what the export does not preserve exactly (each also a
    /// comment at the top of `load.sql`).
    pub notes: Vec<String>,
}

impl Plan {
    /// `load.sql` as `psql -v ON_ERROR_STOP=1 -f load.sql` runs it from the
    /// export's folder (data through `\copy`).
    pub fn script(&self) -> String {
        let mut out = String::from("\\set ON_ERROR_STOP 1\n");
        for step in &self.steps {
            match step {
                Step::Sql(sql) => {
                    out.push_str(sql);
                    if !sql.ends_with('\n') {
                        out.push('\n');
                    }
                }
                Step::Copy { table, file, .. } => {
                    out.push_str(&format!(
                        "\\copy {table} FROM '{}' WITH {COPY_OPTIONS}\n",
                        file.replace('\'', "''")
                    ));
                }
            }
        }
        out
    }

    /// Writes `load.sql` and the data files into `dir` (created when
    /// missing), each file whole or not at all.
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        let files = self.steps.iter().filter_map(|step| match step {
            Step::Copy { file, data, .. } => Some((file.as_str(), data.as_slice())),
            Step::Sql(_) => None,
        });
        write_export(dir, files, "load.sql", &self.script())
    }
}

/// Writes an export into `dir` (created when missing): its data files
/// (paths under `data/`), then its script, each file whole or not at all.
fn write_export<'f>(
    dir: &Path,
    files: impl Iterator<Item = (&'f str, &'f [u8])>,
    script_name: &str,
    script: &str,
) -> io::Result<()> {
    std::fs::create_dir_all(dir.join("data"))?;
    for (file, data) in files {
        crate::atomic::write(&dir.join(file), data)?;
    }
    crate::atomic::write(&dir.join(script_name), script.as_bytes())
}

/// Why an app cannot be exported exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportError(pub String);

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ExportError {}

/// `name` as a quoted SQL identifier; PostgreSQL cuts names past 63 bytes,
/// so a longer one is an error rather than a different name.
pub(crate) fn ident(name: &str) -> Result<String, ExportError> {
    if name.is_empty() {
        return Err(ExportError(
            "an empty name: PostgreSQL names need at least one character".to_string(),
        ));
    }
    if name.len() > 63 {
        return Err(ExportError(format!(
            "`{name}` is {} bytes long: PostgreSQL names are at most 63 bytes and a longer one would be cut",
            name.len()
        )));
    }
    if name.contains('\0') {
        return Err(ExportError(format!(
            "`{}` holds a NUL character, which PostgreSQL names cannot hold",
            name.replace('\0', "\\0")
        )));
    }
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

/// `text` as a SQL string literal (standard-conforming strings).
pub(crate) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_or_refused_with_the_reason() {
        assert_eq!(ident("Sales \"2024\"").unwrap(), "\"Sales \"\"2024\"\"\"");
        assert!(ident("").unwrap_err().0.contains("empty name"));
        assert!(ident(&"x".repeat(64)).unwrap_err().0.contains("63 bytes"));
        assert!(ident("a\0b").unwrap_err().0.contains("NUL"));
        assert_eq!(literal("it's"), "'it''s'");
    }
}
