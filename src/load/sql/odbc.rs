//! ODBC through `odbc-api` and the system's driver manager (unixODBC):
//! SQL Server, Oracle, Snowflake, Databricks and the rest, through their
//! drivers. Values are fetched as text and read by the column's type as
//! the driver reports it; each statement runs with autocommit off and is
//! rolled back, so nothing it does stays.

use odbc_api::buffers::{Indicator, TextRowSet};
use odbc_api::{Connection, ConnectionOptions, Cursor, DataType, ResultSetMetadata};

use super::{Database, Notes, ResultSet, convert};
use crate::model::Value;

/// Rows fetched at a time.
const BATCH: usize = 1000;

/// The longest text a value may have (bytes); a longer one is an error,
/// never cut short.
const MAX_TEXT: usize = 1 << 16;

/// An open ODBC connection.
pub(super) struct Odbc {
    conn: Connection<'static>,
}

impl Odbc {
    /// Connects with `connection_string` (`DSN=…;UID=…;PWD=…` or
    /// `Driver={…};Server=…;…`).
    pub(super) fn open(connection_string: &str) -> Result<Self, String> {
        let env = odbc_api::environment().map_err(|e| e.to_string())?;
        let conn = env
            .connect_with_connection_string(connection_string, ConnectionOptions::default())
            .map_err(|e| e.to_string())?;
        conn.set_autocommit(false).map_err(|e| e.to_string())?;
        Ok(Self { conn })
    }
}

impl Database for Odbc {
    fn query(&mut self, sql: &str) -> Result<Option<ResultSet>, String> {
        let result = self.fetch(sql);
        // Whatever the statement did is undone.
        let undone = self.conn.rollback().map_err(|e| e.to_string());
        let set = result?;
        undone?;
        Ok(set)
    }
}

impl Odbc {
    fn fetch(&self, sql: &str) -> Result<Option<ResultSet>, String> {
        let Some(mut cursor) = self
            .conn
            .execute(sql, (), None)
            .map_err(|e| e.to_string())?
        else {
            return Ok(None);
        };
        let count = cursor.num_result_cols().map_err(|e| e.to_string())?;
        let count = u16::try_from(count).unwrap_or(0);
        if count == 0 {
            return Ok(None);
        }
        let mut names = Vec::with_capacity(usize::from(count));
        let mut types = Vec::with_capacity(usize::from(count));
        for i in 1..=count {
            names.push(cursor.col_name(i).map_err(|e| e.to_string())?);
            types.push(cursor.col_data_type(i).map_err(|e| e.to_string())?);
        }
        let mut out = ResultSet {
            names,
            ..ResultSet::default()
        };
        let mut buffer = TextRowSet::for_cursor(BATCH, &mut cursor, Some(MAX_TEXT))
            .map_err(|e| e.to_string())?;
        let mut rows = cursor.bind_buffer(&mut buffer).map_err(|e| e.to_string())?;
        while let Some(batch) = rows.fetch().map_err(|e| e.to_string())? {
            for r in 0..batch.num_rows() {
                let mut values = Vec::with_capacity(types.len());
                for (c, ty) in types.iter().enumerate() {
                    if let Indicator::Length(n) = batch.indicator_at(c, r)
                        && n > batch.max_len(c)
                    {
                        return Err(format!(
                            "column `{}` holds a value of {n} bytes, more than the {} this tool reads",
                            out.names.get(c).map_or("?", String::as_str),
                            batch.max_len(c)
                        ));
                    }
                    let text = batch.at_as_str(c, r).map_err(|_| {
                        format!(
                            "column `{}` holds text that is not UTF-8",
                            out.names.get(c).map_or("?", String::as_str)
                        )
                    })?;
                    values.push(match text {
                        None => Value::Null,
                        Some(t) => value(ty, t, &mut out.notes),
                    });
                }
                out.rows.push(values);
            }
        }
        Ok(Some(out))
    }
}

/// The value of text `t` the driver gave for a column of type `ty`.
fn value(ty: &DataType, t: &str, notes: &mut Notes) -> Value {
    let text = || Value::Text(std::sync::Arc::from(t));
    match ty {
        DataType::Integer
        | DataType::SmallInt
        | DataType::BigInt
        | DataType::TinyInt
        | DataType::Numeric { .. }
        | DataType::Decimal { .. }
        | DataType::Float { .. }
        | DataType::Real
        | DataType::Double => convert::number(t).unwrap_or_else(text),
        DataType::Bit => {
            notes.boolean = true;
            match t {
                "1" | "t" | "true" | "TRUE" => Value::Num(1.0),
                "0" | "f" | "false" | "FALSE" => Value::Num(0.0),
                _ => text(),
            }
        }
        DataType::Date => convert::date(t).unwrap_or_else(text),
        DataType::Time { .. } => convert::time(t).unwrap_or_else(text),
        DataType::Timestamp { .. } => match convert::timestamp(t) {
            Some((v, zone)) => {
                notes.time_zone |= zone;
                v
            }
            None => text(),
        },
        DataType::Char { .. }
        | DataType::WChar { .. }
        | DataType::Varchar { .. }
        | DataType::WVarchar { .. }
        | DataType::LongVarchar { .. }
        | DataType::WLongVarchar { .. } => notes.text(t),
        _ => {
            notes.other_type = true;
            text()
        }
    }
}
