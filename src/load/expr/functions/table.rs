//! Table and system functions: what a row can look up beyond its own
//! values — mapping tables (`ApplyMap`), record and row numbers, other rows
//! (`Peek`, `Previous`), fields and tables of the models (`Exists`,
//! `FieldValue`, `NoOfRows` …) and the document's name.

use crate::load::error::{Fail, LoadErrorKind};
use crate::model::{Model, SymbolId, Symbols, Table, Value};
use crate::script::source::Span;

use super::{arg, ev};
use crate::load::expr::{CExpr, Mapping, RowScope, boolean, compare, eval, num_of, text};

/// A table or system function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TableFn {
    ApplyMap,
    RecNo,
    RowNo,
    IterNo,
    Exists,
    FieldValue,
    FieldValueCount,
    FieldIndex,
    NoOfRows,
    NoOfFields,
    Peek,
    Previous,
    DocumentName,
    FileName,
    FileBaseName,
    FileExtension,
    FilePath,
    FileDir,
    AutoNumber,
    AutoNumberHash128,
    AutoNumberHash256,
    NoOfTables,
    TableName,
    TableNumber,
    FieldName,
    FieldNumber,
    LookUp,
    MapSubstring,
    FileSize,
}

/// Evaluates a table or system function.
pub(super) fn call(
    f: TableFn,
    args: &[CExpr],
    span: Span,
    cx: &RowScope<'_>,
) -> Result<Value, Fail> {
    Ok(match f {
        TableFn::ApplyMap => {
            let name = text_arg!(args, cx, 0);
            let key = ev(args, 1, cx)?;
            let map = mapping_named(&name, span, cx)?;
            match map.get(&key) {
                Some(v) => v.clone(),
                None if args.len() > 2 => ev(args, 2, cx)?,
                None => key,
            }
        }
        TableFn::RecNo => Value::Num(cx.rec_no as f64),
        TableFn::RowNo => Value::Num(cx.row_no as f64),
        TableFn::IterNo => Value::Num(cx.iter_no as f64),
        TableFn::Exists => {
            let name = field_name_arg(args, 0, cx)?;
            let v = ev(args, 1, cx)?;
            if v.is_null() {
                return Ok(boolean(false));
            }
            let in_model = cx
                .env
                .field(&name)
                .and_then(|(m, id)| m.symbols(id))
                .is_some_and(|s| s.lookup(&v).is_some());
            let in_out = cx.out.is_some_and(|o| {
                o.position(&name)
                    .and_then(|c| o.cols.get(c))
                    .is_some_and(|c| c.syms.lookup(&v).is_some())
            });
            boolean(in_model || in_out)
        }
        TableFn::FieldValue => {
            let name = field_name_arg(args, 0, cx)?;
            let k = num_arg!(args, cx, 1);
            match cx.env.field(&name).and_then(|(m, id)| m.symbols(id)) {
                Some(s) if k >= 1.0 => SymbolId::from_index((k as u32 - 1) as usize)
                    .and_then(|id| s.get(id))
                    .unwrap_or(Value::Null),
                _ => Value::Null,
            }
        }
        TableFn::FieldValueCount => {
            let name = field_name_arg(args, 0, cx)?;
            let count = cx
                .env
                .field(&name)
                .and_then(|(m, id)| m.symbols(id))
                .map_or(0, Symbols::len);
            Value::Num(count as f64)
        }
        TableFn::FieldIndex => {
            let name = field_name_arg(args, 0, cx)?;
            let v = ev(args, 1, cx)?;
            let pos = cx
                .env
                .field(&name)
                .and_then(|(m, id)| m.symbols(id))
                .and_then(|s| s.lookup(&v))
                .map_or(0.0, |i| f64::from(i.as_u32()) + 1.0);
            Value::Num(pos)
        }
        TableFn::NoOfRows | TableFn::NoOfFields => {
            let name = text_arg!(args, cx, 0);
            match cx.env.table(&name) {
                Some((_, t)) if f == TableFn::NoOfRows => Value::Num(t.len() as f64),
                Some((_, t)) => Value::Num(t.columns().len() as f64),
                None => Value::Null,
            }
        }
        TableFn::AutoNumber => {
            let key = ev(args, 0, cx)?;
            if key.is_null() {
                return Ok(Value::Null);
            }
            // One counter per AutoID; calls without one share a counter.
            let counter = match args.get(1) {
                Some(e) => format!("id:{}", eval(e, cx)?.text()),
                None => String::from("default"),
            };
            Value::Num(cx.env.autonumber(&counter, key) as f64)
        }
        TableFn::AutoNumberHash128 | TableFn::AutoNumberHash256 => {
            // The combination of the arguments' texts, as `Hash128` joins
            // them; each function keeps its own counter.
            let mut parts = Vec::with_capacity(args.len());
            for i in 0..args.len() {
                parts.push(ev(args, i, cx)?.text().into_owned());
            }
            let counter = if f == TableFn::AutoNumberHash128 {
                "hash128"
            } else {
                "hash256"
            };
            let key = Value::text_only(&parts.join("\u{1f}"));
            Value::Num(cx.env.autonumber(counter, key) as f64)
        }
        TableFn::NoOfTables => Value::Num(cx.env.tables().len() as f64),
        TableFn::TableName => {
            let n = num_arg!(args, cx, 0);
            let tables = cx.env.tables();
            match usize::try_from(n.trunc() as i64)
                .ok()
                .and_then(|i| tables.get(i))
            {
                Some((_, t)) if n >= 0.0 => text(t.name.as_str()),
                _ => Value::Null,
            }
        }
        TableFn::TableNumber => {
            let name = text_arg!(args, cx, 0);
            cx.env
                .tables()
                .iter()
                .position(|(_, t)| t.name.as_str() == name)
                .map_or(Value::Null, |i| Value::Num(i as f64))
        }
        TableFn::FieldName | TableFn::FieldNumber => {
            let table = text_arg!(args, cx, 1);
            let Some((model, t)) = cx.env.table(&table) else {
                return Ok(Value::Null);
            };
            let names: Vec<&str> = t
                .fields()
                .filter_map(|fid| model.field_name(fid).map(|n| n.as_str()))
                .collect();
            if f == TableFn::FieldName {
                let n = num_arg!(args, cx, 0);
                match usize::try_from(n.trunc() as i64 - 1)
                    .ok()
                    .and_then(|i| names.get(i))
                {
                    Some(name) if n >= 1.0 => text(name),
                    _ => Value::Null,
                }
            } else {
                let field = field_name_arg(args, 0, cx)?;
                // 1-based; 0 when the table has no such field.
                let pos = names.iter().position(|n| *n == field).map_or(0, |i| i + 1);
                Value::Num(pos as f64)
            }
        }
        TableFn::LookUp => lookup(args, span, cx)?,
        TableFn::FileSize => {
            // The named file, found as `FROM` finds it, or the file being
            // read; NULL when there is none.
            let path = match args.first() {
                Some(_) => text_arg!(args, cx, 0),
                None => match cx.env.file() {
                    Some(p) => p.to_string(),
                    None => return Ok(Value::Null),
                },
            };
            match std::fs::metadata(cx.env.file_path(&path)) {
                Ok(m) if m.is_file() => Value::Num(m.len() as f64),
                _ => Value::Null,
            }
        }
        TableFn::MapSubstring => {
            let name = text_arg!(args, cx, 0);
            let t = text_arg!(args, cx, 1);
            let map = mapping_named(&name, span, cx)?;
            let pairs: Vec<(String, String)> = map
                .pairs()
                .map(|(k, v)| (k.text().into_owned(), v.text().into_owned()))
                .filter(|(k, _)| !k.is_empty())
                .collect();
            // Left to right, not again over what a replacement wrote; at
            // each place the first key of the mapping table that matches.
            let mut out = String::with_capacity(t.len());
            let mut rest = t.as_str();
            while let Some(c) = rest.chars().next() {
                match pairs.iter().find(|(k, _)| rest.starts_with(k.as_str())) {
                    Some((k, v)) => {
                        out.push_str(v);
                        rest = rest.get(k.len()..).unwrap_or("");
                    }
                    None => {
                        out.push(c);
                        rest = rest.get(c.len_utf8()..).unwrap_or("");
                    }
                }
            }
            text(out)
        }
        TableFn::Peek => peek(args, span, cx)?,
        TableFn::Previous => match (cx.input, cx.row.checked_sub(1)) {
            (Some(_), Some(prev)) => match arg(args, 0) {
                Some(e) => eval(e, &cx.at(prev))?,
                None => Value::Null,
            },
            _ => Value::Null,
        },
        TableFn::DocumentName => text(cx.env.document_name()),
        TableFn::FileName
        | TableFn::FileBaseName
        | TableFn::FileExtension
        | TableFn::FilePath
        | TableFn::FileDir => match cx.env.file() {
            Some(path) => text(file_part(f, path)),
            None => Value::Null,
        },
    })
}

/// The part of the path of the file being read that a file function
/// gives: as the script names the file (after `*`/`?` are matched), so
/// `lib://` and server paths read as they would on the server.
fn file_part(f: TableFn, path: &str) -> &str {
    let path = path.trim();
    let (dir, name) = path.rsplit_once(['/', '\\']).unwrap_or(("", path));
    let (base, ext) = match name.rsplit_once('.') {
        Some((base, ext)) if !base.is_empty() => (base, ext),
        _ => (name, ""),
    };
    match f {
        TableFn::FileName => name,
        TableFn::FileBaseName => base,
        TableFn::FileExtension => ext,
        TableFn::FileDir => dir,
        _ => path,
    }
}

fn field_name_arg(args: &[CExpr], i: usize, cx: &RowScope<'_>) -> Result<String, Fail> {
    match args.get(i) {
        Some(CExpr::Name(n)) => Ok(n.clone()),
        Some(e) => Ok(eval(e, cx)?.text().into_owned()),
        None => Ok(String::new()),
    }
}

/// The mapping table `name`; an unknown-table error at `span` when no
/// `MAPPING LOAD` made it.
fn mapping_named<'c>(name: &str, span: Span, cx: &'c RowScope<'_>) -> Result<&'c Mapping, Fail> {
    cx.env.mapping(name).ok_or_else(|| {
        Fail::new(
            LoadErrorKind::UnknownTable,
            span,
            format!("mapping table `{name}` not found"),
        )
        .help("load it with `MAPPING LOAD` before this statement")
    })
}

/// The table whose name argument `e` gives; an unknown-table error at
/// `span` when there is none.
fn table_named<'c>(
    e: &CExpr,
    span: Span,
    cx: &'c RowScope<'_>,
) -> Result<(&'c Model, &'c Table), Fail> {
    let table = eval(e, cx)?.text().into_owned();
    cx.env.table(&table).ok_or_else(|| {
        Fail::new(
            LoadErrorKind::UnknownTable,
            span,
            format!("table `{table}` not found"),
        )
    })
}

/// `LookUp(field, match_field, match_value[, table])`: `field` of the first
/// row of `table` (the rows this load has output so far when absent)
/// whose `match_field` equals `match_value`; NULL when none does.
fn lookup(args: &[CExpr], span: Span, cx: &RowScope<'_>) -> Result<Value, Fail> {
    let field = text_arg!(args, cx, 0);
    let key_field = text_arg!(args, cx, 1);
    let want = ev(args, 2, cx)?;
    if want.is_null() {
        return Ok(Value::Null);
    }
    let equal = |v: &Value| compare(v, &want) == Some(std::cmp::Ordering::Equal);
    match args.get(3) {
        Some(e) => {
            let (model, t) = table_named(e, span, cx)?;
            let col = |name: &str| {
                model
                    .find_field(name)
                    .filter(|&f| t.has_field(f))
                    .and_then(|f| t.column(f).map(|ids| (f, ids)))
            };
            let (Some((kf, keys)), Some((vf, vals))) = (col(&key_field), col(&field)) else {
                return Ok(Value::Null);
            };
            for (k, v) in keys.iter().zip(vals) {
                if model.value(kf, *k).is_some_and(|k| equal(&k)) {
                    return Ok(model.value(vf, *v).unwrap_or(Value::Null));
                }
            }
            Ok(Value::Null)
        }
        None => {
            let Some(out) = cx.out else {
                return Ok(Value::Null);
            };
            let (Some(kc), Some(vc)) = (out.position(&key_field), out.position(&field)) else {
                return Ok(Value::Null);
            };
            Ok((0..out.rows)
                .find(|&r| equal(&out.value(kc, r)))
                .map_or(Value::Null, |r| out.value(vc, r)))
        }
    }
}

fn peek(args: &[CExpr], span: Span, cx: &RowScope<'_>) -> Result<Value, Fail> {
    let field = field_name_arg(args, 0, cx)?;
    let row = match args.get(1) {
        Some(e) => num_of(&eval(e, cx)?).unwrap_or(-1.0) as i64,
        None => -1,
    };
    let pick = |len: usize| -> Option<usize> {
        if row >= 0 {
            let r = usize::try_from(row).ok()?;
            (r < len).then_some(r)
        } else {
            len.checked_sub(usize::try_from(-row).ok()?)
        }
    };
    match args.get(2) {
        Some(e) => {
            let (model, t) = table_named(e, span, cx)?;
            let Some(fid) = model.find_field(&field).filter(|&f| t.has_field(f)) else {
                return Ok(Value::Null);
            };
            let Some(r) = pick(t.len()) else {
                return Ok(Value::Null);
            };
            #[expect(
                clippy::indexing_slicing,
                clippy::expect_used,
                reason = "INVARIANT: t has the field (filtered above), and pick gives a row below t.len(), which its columns hold"
            )]
            let id = t.column(fid).expect("t has the field")[r];
            // A NULL cell has no value.
            Ok(model.value(fid, id).unwrap_or(Value::Null))
        }
        None => {
            let Some(out) = cx.out else {
                return Ok(Value::Null);
            };
            let Some(c) = out.position(&field) else {
                return Ok(Value::Null);
            };
            let Some(r) = pick(out.rows) else {
                return Ok(Value::Null);
            };
            Ok(out.value(c, r))
        }
    }
}
