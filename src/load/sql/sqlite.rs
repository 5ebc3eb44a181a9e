//! SQLite through `rusqlite` (SQLite compiled in), the file opened
//! read-only. SQLite keeps a type per value, not per column: integers and
//! reals are numbers, text is text; text in a column declared as a date,
//! time or timestamp that reads as one becomes a dual (a note says so).

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::{Database, Notes, ResultSet, convert};
use crate::model::Value;

/// An open SQLite file.
pub(super) struct Lite {
    conn: Connection,
}

impl Lite {
    /// Opens the file at `path` read-only; it must exist.
    pub(super) fn open(path: &Path) -> Result<Self, String> {
        if !path.is_file() {
            return Err(format!("no SQLite file at `{}`", path.display()));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Connection::open_with_flags(path, flags)
            .map(|conn| Self { conn })
            .map_err(|e| e.to_string())
    }
}

impl Database for Lite {
    fn query(&mut self, sql: &str) -> Result<Option<ResultSet>, String> {
        let mut statement = self.conn.prepare(sql).map_err(|e| e.to_string())?;
        let names: Vec<String> = statement.column_names().map(str::to_string).collect();
        if names.is_empty() {
            statement.raw_execute().map_err(|e| e.to_string())?;
            return Ok(None);
        }
        let declared: Vec<String> = statement
            .columns()
            .map(|c| c.decl_type().unwrap_or_default().to_ascii_uppercase())
            .collect();
        let mut out = ResultSet {
            names,
            ..ResultSet::default()
        };
        let mut rows = statement.query([]).map_err(|e| e.to_string())?;
        while let Some(row) = rows.next().map_err(|e| e.to_string())? {
            let mut values = Vec::with_capacity(declared.len());
            for (i, decl) in declared.iter().enumerate() {
                let v = row.get_ref(i).map_err(|e| e.to_string())?;
                values.push(value(v, decl, &mut out.notes, &out.names, i)?);
            }
            out.rows.push(values);
        }
        Ok(Some(out))
    }
}

/// A SQLite value of a column declared `decl`.
fn value(
    v: ValueRef<'_>,
    decl: &str,
    notes: &mut Notes,
    names: &[String],
    i: usize,
) -> Result<Value, String> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::Num(n as f64),
        ValueRef::Real(n) => Value::Num(n),
        ValueRef::Text(bytes) => {
            let t = std::str::from_utf8(bytes).map_err(|_| {
                format!(
                    "column `{}` holds text that is not UTF-8",
                    names.get(i).map_or("?", String::as_str)
                )
            })?;
            let dated = if decl.contains("TIMESTAMP") || decl.contains("DATETIME") {
                convert::timestamp(t).map(|(v, _)| v)
            } else if decl.contains("DATE") {
                convert::date(t)
            } else if decl.contains("TIME") {
                convert::time(t)
            } else {
                None
            };
            match dated {
                Some(v) => {
                    notes.declared_date = true;
                    v
                }
                None => notes.text(t),
            }
        }
        ValueRef::Blob(_) => {
            return Err(format!(
                "column `{}` holds binary data (a BLOB), which Qlik does not load as values",
                names.get(i).map_or("?", String::as_str)
            ));
        }
    })
}
