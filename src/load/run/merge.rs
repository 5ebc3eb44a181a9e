//! `MERGE … ON keys` in a full reload (Qlik's help, "Merge"): the load is
//! a change log whose first field is the operation (`Insert`, `Update`,
//! `Delete`, or `i`, `u`, `d`). It loads as a normal LOAD, but of the
//! records that share a key (in the table it goes to and in the change
//! log) only the latest is kept, by the sequence field when there is one,
//! else in load order; when the latest is a `Delete`, none is kept. The
//! table it goes to is the `CONCATENATE` table, else one with the same
//! fields but the operation, else a new one: the operation is not one of
//! the table's fields.

use std::collections::HashMap;

use crate::model::{BitSet, Value};
use crate::script::ast::{Name, Section};
use crate::script::source::Span;

use super::{R, Runner};
use crate::load::error::{Fail, LoadErrorKind};
use crate::load::frame::Frame;

/// The arguments of a `MERGE` prefix.
pub(super) struct Merge<'s> {
    /// `SequenceNoField`.
    pub(super) seq: Option<&'s Name>,
    /// `SequenceNoVar`.
    pub(super) seq_var: Option<&'s Name>,
    /// The `ON` keys.
    pub(super) keys: &'s [Name],
}

/// A key's values, `None` for NULL.
type Key = Vec<Option<String>>;

/// The record of the change log that wins for one key.
struct Latest {
    row: usize,
    seq: Option<f64>,
    delete: bool,
}

/// A change log read: the latest record of each key, in the order the
/// keys first appear.
pub(super) struct Log {
    latest: HashMap<Key, Latest>,
    order: Vec<Key>,
    key_cols: Vec<usize>,
    seq_col: Option<usize>,
}

impl Runner<'_> {
    /// Reads the change log `frame`: checks each operation, takes the
    /// operation field out of the frame (Qlik finds the table to modify by
    /// the other fields), finds the latest record of each key and sets
    /// `SequenceNoVar`.
    pub(super) fn merge_log(
        &mut self,
        m: &Merge<'_>,
        frame: &mut Frame,
        load_span: Span,
    ) -> R<Log> {
        if frame.names.is_empty() || frame.cols.is_empty() {
            return Err(self.err(
                Fail::new(LoadErrorKind::BadArgument, load_span, "a `MERGE` load needs the operation as its first field")
                    .help("`MERGE ON Key LOAD Operation, Key, Value …` with `Insert`, `Update` or `Delete` in `Operation`"),
            ));
        }
        let mut deletes = Vec::with_capacity(frame.rows);
        for row in 0..frame.rows {
            deletes.push(self.merge_operation(frame, row, load_span)?);
        }
        frame.names.remove(0);
        frame.cols.remove(0);
        let mut key_cols = Vec::with_capacity(m.keys.len());
        for k in m.keys {
            key_cols.push(self.merge_field(frame, k, "key")?);
        }
        let seq_col = match m.seq {
            Some(s) => Some(self.merge_field(frame, s, "sequence")?),
            None => None,
        };
        let mut latest: HashMap<Key, Latest> = HashMap::new();
        let mut order: Vec<Key> = Vec::new();
        let mut max_seq: Option<(f64, Value)> = None;
        for (row, &delete) in deletes.iter().enumerate() {
            let seq = match (seq_col, m.seq) {
                (Some(c), Some(name)) => {
                    let v = frame.value(c, row);
                    let Some(n) = v.num() else {
                        return Err(self.err(
                            Fail::new(
                                LoadErrorKind::BadArgument,
                                name.span,
                                format!(
                                    "the sequence field `{}` holds `{}` on row {} of the change log, not a number",
                                    name.name,
                                    v.text(),
                                    row + 1
                                ),
                            )
                            .help("the sequence field of `MERGE (Seq) ON …` is a number or a timestamp that orders the operations"),
                        ));
                    };
                    if max_seq.as_ref().is_none_or(|(m, _)| n > *m) {
                        max_seq = Some((n, v));
                    }
                    Some(n)
                }
                _ => None,
            };
            let key: Key = key_cols
                .iter()
                .map(|&c| text_of(&frame.value(c, row)))
                .collect();
            let rec = Latest { row, seq, delete };
            match latest.get_mut(&key) {
                Some(old) => {
                    // Ties go to the record loaded later.
                    if old.seq.zip(rec.seq).is_none_or(|(a, b)| b >= a) {
                        *old = rec;
                    }
                }
                None => {
                    order.push(key.clone());
                    latest.insert(key, rec);
                }
            }
        }
        if let (Some(var), Some((_, v))) = (m.seq_var, &max_seq) {
            self.set_var(&var.name, v);
        }
        Ok(Log {
            latest,
            order,
            key_cols,
            seq_col,
        })
    }

    /// Applies a change log to `target` (the table its rows will go to, if
    /// there is one): drops the target's rows that a later record replaces
    /// or deletes, and keeps in `frame` only the latest record of each key
    /// that is not a delete.
    pub(super) fn merge_into(
        &mut self,
        log: Log,
        frame: &mut Frame,
        target: Option<&str>,
        section: Section,
        load_span: Span,
    ) -> R<()> {
        let Log {
            mut latest,
            order,
            key_cols,
            seq_col,
        } = log;
        // The target's rows: a row whose key the change log names is dropped,
        // unless its own sequence number is later than the change log's.
        let mut beaten: Vec<Key> = Vec::new();
        if let Some(t) = target {
            let model = self.model(section);
            let fields: Vec<Option<crate::model::FieldId>> =
                frame.names.iter().map(|n| model.find_field(n)).collect();
            let key_fields: Vec<Option<crate::model::FieldId>> = key_cols
                .iter()
                .map(|&c| fields.get(c).copied().flatten())
                .collect();
            let seq_field = seq_col.and_then(|c| fields.get(c).copied().flatten());
            let Some(table) = model.table(t) else {
                return Err(self.err(Fail::new(
                    LoadErrorKind::Bug,
                    load_span,
                    format!("the `MERGE` target `{t}` is not in the model"),
                )));
            };
            let rows = table.len();
            let mut keep = BitSet::full(rows);
            let columns: Vec<Option<&[crate::model::SymbolId]>> = key_fields
                .iter()
                .map(|f| f.and_then(|f| table.column(f)))
                .collect();
            let seq_column = seq_field.and_then(|f| table.column(f).map(|c| (f, c)));
            for row in 0..rows {
                let key: Key = key_fields
                    .iter()
                    .zip(&columns)
                    .map(|(f, c)| {
                        let (Some(f), Some(c)) = (f, c) else {
                            return None;
                        };
                        let id = c.get(row).copied()?;
                        model.value(*f, id).as_ref().and_then(text_of)
                    })
                    .collect();
                let Some(rec) = latest.get(&key) else {
                    continue;
                };
                let own = seq_column
                    .and_then(|(f, c)| c.get(row).and_then(|&id| model.value(f, id)))
                    .and_then(|v| v.num());
                match (own, rec.seq) {
                    (Some(a), Some(b)) if a > b => beaten.push(key),
                    _ => keep.remove(row),
                }
            }
            if keep.count() < rows
                && let Some(table) = self.model_mut(section).table_mut(t)
            {
                table.retain_rows(&keep);
            }
        }
        for key in beaten {
            latest.remove(&key);
        }
        let mut rows: Vec<usize> = order
            .iter()
            .filter_map(|k| latest.get(k))
            .filter(|rec| !rec.delete)
            .map(|rec| rec.row)
            .collect();
        rows.sort_unstable();
        frame.select_rows(&rows);
        Ok(())
    }

    /// The column of a `MERGE` key or sequence field in the change log.
    fn merge_field(&self, frame: &Frame, name: &Name, what: &str) -> R<usize> {
        frame.position(&name.name).ok_or_else(|| {
            self.err(
                Fail::new(
                    LoadErrorKind::UnknownField,
                    name.span,
                    format!("the {what} field `{}` of `MERGE` is not loaded", name.name),
                )
                .help(format!(
                    "the change log's fields after the operation are {}",
                    list(&frame.names)
                )),
            )
        })
    }

    /// True when the operation of `row` is a delete; an error when it is
    /// none of Qlik's operations.
    fn merge_operation(&self, frame: &Frame, row: usize, at: Span) -> R<bool> {
        let v = frame.value(0, row);
        let op = v.text();
        match op.trim().to_ascii_lowercase().as_str() {
            "insert" | "i" | "update" | "u" => Ok(false),
            "delete" | "d" => Ok(true),
            _ => Err(self.err(
                Fail::new(
                    LoadErrorKind::BadArgument,
                    at,
                    format!(
                        "row {} of the `MERGE` change log has the operation `{op}` in its first field `{}`",
                        row + 1,
                        frame.names.first().map_or("", String::as_str),
                    ),
                )
                .help("the first field of a `MERGE` load is the operation: `Insert`, `Update` or `Delete` (or `i`, `u`, `d`)"),
            )),
        }
    }
}

fn text_of(v: &Value) -> Option<String> {
    (!v.is_null()).then(|| v.text().into_owned())
}

fn list(names: &[String]) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    names.join(", ")
}
