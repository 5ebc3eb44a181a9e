//! PostgreSQL through the `postgres` crate. Each statement runs in a
//! read-only transaction: prepared first, for the columns' names and
//! types, then run through the simple-query protocol, whose text values
//! are read by type.

use postgres::types::Type;
use postgres::{Client, NoTls, SimpleQueryMessage};

use super::{Database, Notes, ResultSet, convert};
use crate::model::Value;

/// An open PostgreSQL connection.
pub(super) struct Pg {
    client: Client,
}

impl Pg {
    /// Connects to `url`; the error says why, never with the password.
    pub(super) fn open(url: &str) -> Result<Self, String> {
        let mut client = Client::connect(url, NoTls).map_err(|e| describe(&e))?;
        // Dates print as ISO whatever the server's default.
        client
            .batch_execute("SET DateStyle TO ISO, YMD")
            .map_err(|e| describe(&e))?;
        Ok(Self { client })
    }
}

/// A driver error as one line: the server's message (and where in the
/// statement), or why the server could not be reached.
pub(crate) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let at = match db.position() {
                Some(postgres::error::ErrorPosition::Original(p)) => {
                    format!(" (at character {p} of the statement)")
                }
                _ => String::new(),
            };
            format!("{}: {}{at}", db.severity().to_lowercase(), db.message())
        }
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        }
    }
}

impl Database for Pg {
    fn query(&mut self, sql: &str) -> Result<Option<ResultSet>, String> {
        let mut tx = self
            .client
            .build_transaction()
            .read_only(true)
            .start()
            .map_err(|e| describe(&e))?;
        let statement = tx.prepare(sql).map_err(|e| describe(&e))?;
        let columns: Vec<(String, Type)> = statement
            .columns()
            .iter()
            .map(|c| (c.name().to_string(), c.type_().clone()))
            .collect();
        let messages = tx.simple_query(sql).map_err(|e| describe(&e))?;
        tx.commit().map_err(|e| describe(&e))?;
        if columns.is_empty() {
            return Ok(None);
        }
        let mut out = ResultSet {
            names: columns.iter().map(|(n, _)| n.clone()).collect(),
            ..ResultSet::default()
        };
        for m in messages {
            if let SimpleQueryMessage::Row(row) = m {
                let mut values = Vec::with_capacity(columns.len());
                for (i, (_, ty)) in columns.iter().enumerate() {
                    let text = row.try_get(i).map_err(|e| describe(&e))?;
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

/// The value of text `t` that PostgreSQL printed for a column of type
/// `ty`.
fn value(ty: &Type, t: &str, notes: &mut Notes) -> Value {
    let text = || Value::Text(std::sync::Arc::from(t));
    match *ty {
        Type::INT2
        | Type::INT4
        | Type::INT8
        | Type::OID
        | Type::FLOAT4
        | Type::FLOAT8
        | Type::NUMERIC => convert::number(t).unwrap_or_else(text),
        Type::BOOL => {
            notes.boolean = true;
            Value::Num(if t == "t" { 1.0 } else { 0.0 })
        }
        Type::DATE => convert::date(t).unwrap_or_else(text),
        Type::TIME => convert::time(t).unwrap_or_else(text),
        Type::TIMESTAMP | Type::TIMESTAMPTZ => match convert::timestamp(t) {
            Some((v, zone)) => {
                notes.time_zone |= zone;
                v
            }
            None => text(),
        },
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::CHAR | Type::UUID => {
            notes.text(t)
        }
        _ => {
            notes.other_type = true;
            text()
        }
    }
}
