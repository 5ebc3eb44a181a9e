//! The rows every target exports, as CSV: application tables, the security
//! rows as the decision reads them, and what each reduction symbol allows.
//! Every value is quoted; NULL is a bare token the target's reader is told
//! (`\N`, or a longer one when some value is `\N`: a CSV reader such as
//! Spark's compares the token after unquoting).

use std::collections::HashSet;
use std::fmt;

use crate::access::{IdCell, RulesShape};
use crate::model::{FieldId, Model, SymbolId, Table};

use super::ExportError;

/// A CSV writer's convention for NULL.
#[derive(Clone, Debug)]
pub(super) struct Csv {
    /// The bare token that stands for NULL.
    pub null: String,
}

impl Csv {
    /// `\N`, PostgreSQL's own token (its `COPY` tells a quoted `"\N"`
    /// from a bare one, so no value can clash).
    pub(super) fn postgres() -> Self {
        Self {
            null: "\\N".to_string(),
        }
    }

    /// `\N`, or `\N\N`, `\N\N\N`… : the first that no text in `models` or
    /// `extra` is.
    pub(super) fn unclashing<'t>(models: &[&Model], extra: impl Iterator<Item = &'t str>) -> Self {
        let mut clashing: HashSet<String> = extra
            .filter(|t| t.starts_with("\\N"))
            .map(str::to_string)
            .collect();
        for model in models {
            for (f, _) in model.fields() {
                for (_, text) in model.symbols(f).into_iter().flat_map(|s| s.texts()) {
                    if text.starts_with("\\N") {
                        clashing.insert(text.into_owned());
                    }
                }
            }
        }
        let mut null = "\\N".to_string();
        while clashing.contains(&null) {
            null.push_str("\\N");
        }
        Self { null }
    }

    /// A CSV holding only its header, `names`.
    pub(super) fn header<S: AsRef<str>>(&self, names: &[S]) -> Vec<u8> {
        let mut out = Vec::new();
        self.row(&mut out, names.iter().map(|n| Some(n.as_ref().to_string())));
        out
    }

    /// One record: NULL is the bare token, every value is quoted.
    pub(super) fn row(&self, out: &mut Vec<u8>, cells: impl Iterator<Item = Option<String>>) {
        let mut first = true;
        for cell in cells {
            if !first {
                out.push(b',');
            }
            first = false;
            match cell {
                None => out.extend_from_slice(self.null.as_bytes()),
                Some(text) => {
                    out.push(b'"');
                    out.extend_from_slice(text.replace('"', "\"\"").as_bytes());
                    out.push(b'"');
                }
            }
        }
        out.push(b'\n');
    }

    /// An application table: a header of its field names, then its rows.
    pub(super) fn table(
        &self,
        data: &Model,
        table: &Table,
        fields: &[FieldId],
    ) -> Result<Vec<u8>, ExportError> {
        let name = table.name.as_str();
        let names = fields
            .iter()
            .map(|f| {
                data.field_name(*f)
                    .map(|n| n.as_str())
                    .ok_or_else(|| bug(format!("field {} of `{name}` has no name", f.0)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut csv = self.header(&names);
        let columns: Vec<(&[SymbolId], FieldId)> = fields
            .iter()
            .filter_map(|f| table.column(*f).map(|c| (c, *f)))
            .collect();
        for r in 0..table.len() {
            let mut cells = Vec::with_capacity(columns.len());
            for (col, f) in &columns {
                let id = col.get(r).copied().ok_or_else(|| {
                    bug(format!(
                        "table `{name}` has {} rows but a column of {}",
                        table.len(),
                        col.len()
                    ))
                })?;
                cells.push(cell_text(data, *f, id, name)?);
            }
            self.row(&mut csv, cells.into_iter());
        }
        Ok(csv)
    }
}

/// A security table as exported: its columns (name, PostgreSQL type) and
/// its rows as CSV with a header.
pub(super) struct SecurityRows {
    pub columns: Vec<(String, &'static str)>,
    pub csv: Vec<u8>,
}

/// Security table `t` as the decision reads it: `_row`, per identity
/// column `_id{j}_any` (`t`/`f`) and `_id{j}` (the text it matches, NULL
/// for none), `_level`, `_r{i}` (the symbol of reduction field `i`),
/// `_omit` (the symbol of OMIT), `_f{n}` (the text of linking field `n`).
pub(super) fn security_rows(
    shape: &RulesShape<'_>,
    t: usize,
    csv: &Csv,
) -> Result<SecurityRows, ExportError> {
    let sec = shape.security;
    let (Some(table), Some(st)) = (sec.tables().get(t), shape.tables.get(t)) else {
        return Err(bug(format!("security table {t} is missing")));
    };
    let mut columns: Vec<(String, &'static str)> = vec![("_row".into(), "int")];
    for j in 0..st.identity.len() {
        columns.push((format!("_id{j}_any"), "boolean"));
        columns.push((format!("_id{j}"), "text"));
    }
    let access = shape.access.as_ref().filter(|(f, _)| table.has_field(*f));
    if access.is_some() {
        columns.push(("_level".into(), "text"));
    }
    let reductions: Vec<(usize, FieldId)> = shape
        .reductions
        .iter()
        .enumerate()
        .filter(|(_, r)| table.has_field(r.security))
        .map(|(i, r)| (i, r.security))
        .collect();
    for (i, _) in &reductions {
        columns.push((format!("_r{i}"), "int"));
    }
    let omit = shape
        .omit
        .as_ref()
        .map(|(f, _)| *f)
        .filter(|f| table.has_field(*f));
    if omit.is_some() {
        columns.push(("_omit".into(), "int"));
    }
    let link_cols: Vec<FieldId> = shape
        .links
        .key_fields()
        .into_iter()
        .filter(|f| table.has_field(*f))
        .collect();
    for f in &link_cols {
        columns.push((format!("_f{}", f.0), "text"));
    }
    let names: Vec<&str> = columns.iter().map(|(c, _)| c.as_str()).collect();
    let mut out = csv.header(&names);
    let sym = |f: FieldId, r: usize| table.column(f).and_then(|c| c.get(r)).copied();
    for r in 0..table.len() {
        let mut cells: Vec<Option<String>> = vec![Some(r.to_string())];
        for col in &st.identity {
            let cell = sym(col.field, r)
                .filter(|id| !id.is_null())
                .and_then(|id| col.cells.get(id.index()));
            match cell {
                Some(IdCell::Any) => cells.extend([Some("t".into()), None]),
                Some(IdCell::Is(text)) => {
                    no_nul(text, "security value")?;
                    cells.extend([Some("f".into()), Some(text.clone())]);
                }
                Some(IdCell::Never) | None => cells.extend([Some("f".into()), None]),
            }
        }
        if let Some((f, levels)) = access {
            let level = sym(*f, r)
                .filter(|id| !id.is_null())
                .and_then(|id| levels.get(id.index()).copied().flatten());
            cells.push(level.map(|l| l.as_str().to_string()));
        }
        for (_, f) in &reductions {
            cells.push(symbol_cell(sym(*f, r)));
        }
        if let Some(f) = omit {
            cells.push(symbol_cell(sym(f, r)));
        }
        for &f in &link_cols {
            let id = sym(f, r).ok_or_else(|| {
                bug(format!(
                    "security table `{}` lacks row {r} of a linking field",
                    table.name
                ))
            })?;
            cells.push(cell_text(sec, f, id, table.name.as_str())?);
        }
        csv.row(&mut out, cells.into_iter());
    }
    Ok(SecurityRows { columns, csv: out })
}

/// What each symbol of a reduction field allows: rows of reduction field
/// `i`, security symbol, the application value's symbol (its identity:
/// two values never share it) and text.
pub(super) fn value_rows(
    shape: &RulesShape<'_>,
    data: &Model,
) -> Result<Vec<Vec<Option<String>>>, ExportError> {
    let mut values = Vec::new();
    for (i, r) in shape.reductions.iter().enumerate() {
        for (sym, ids) in r.values.iter().enumerate() {
            for &id in ids {
                let text = cell_text(data, r.data, id, "(reduction values)")?;
                values.push(vec![
                    Some(i.to_string()),
                    Some(sym.to_string()),
                    Some(id.index().to_string()),
                    text,
                ]);
            }
        }
    }
    Ok(values)
}

/// A broken invariant of the export, as an error saying it is a bug.
pub(super) fn bug(what: String) -> ExportError {
    ExportError(format!("cannot export: {}", crate::bug::Bug::new(what)))
}

/// Refuses text holding NUL, which SQL text cannot hold.
pub(super) fn no_nul(text: &str, what: &str) -> Result<(), ExportError> {
    if text.contains('\0') {
        return Err(refusal(format!(
            "the {what} `{}` holds a NUL character, which SQL text cannot hold",
            text.replace('\0', "\\0")
        )));
    }
    Ok(())
}

/// An app the export cannot state exactly, and why.
pub(super) fn refusal(why: impl fmt::Display) -> ExportError {
    ExportError(format!("cannot export: {why}"))
}

/// A symbol's index as a CSV cell (NULL for NULL).
fn symbol_cell(id: Option<SymbolId>) -> Option<String> {
    id.filter(|i| !i.is_null()).map(|i| i.index().to_string())
}

/// The text of a cell (`None` for NULL).
pub(super) fn cell_text(
    model: &Model,
    field: FieldId,
    id: SymbolId,
    table: &str,
) -> Result<Option<String>, ExportError> {
    if id.is_null() {
        return Ok(None);
    }
    let text = model.text(field, id).ok_or_else(|| {
        bug(format!(
            "symbol {} past its field in table `{table}`",
            id.index()
        ))
    })?;
    no_nul(&text, &format!("value in table `{table}`"))?;
    Ok(Some(text.into_owned()))
}

/// Refuses a field two of whose values have the same text: SQL compares
/// texts, where qlik tells the values apart by number.
pub(super) fn distinct_texts(model: &Model, field: FieldId, side: &str) -> Result<(), ExportError> {
    let mut seen = HashSet::new();
    for (_, text) in model.symbols(field).into_iter().flat_map(|s| s.texts()) {
        if !seen.insert(text.clone()) {
            let name = model.field_name(field).map_or("", |n| n.as_str());
            return Err(refusal(format!(
                "{side} field `{name}` holds two values shown as `{text}` (qlik tells them apart by number); \
                 SQL compares the text, so the export would merge them"
            )));
        }
    }
    Ok(())
}

/// The indices of the reduction fields application table `table` holds.
pub(super) fn held_reductions(shape: &RulesShape<'_>, table: &Table) -> Vec<usize> {
    shape
        .reductions
        .iter()
        .enumerate()
        .filter(|(_, r)| table.has_field(r.data))
        .map(|(i, _)| i)
        .collect()
}

/// The reduction fields that put a selection on a hub member's side: held
/// by a table of `side`, and not one of the hub's own `fields` (those are
/// applied on both sides already).
pub(super) fn reductions_on_side(
    shape: &RulesShape<'_>,
    data: &Model,
    fields: &[FieldId],
    side: &crate::model::BitSet,
) -> Vec<usize> {
    shape
        .reductions
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            !fields.contains(&r.data)
                && side
                    .iter()
                    .any(|u| data.tables().get(u).is_some_and(|tb| tb.has_field(r.data)))
        })
        .map(|(i, _)| i)
        .collect()
}

/// True when some row of table `t` has a NULL in one of `fields`.
pub(super) fn has_null(model: &Model, t: usize, fields: &[FieldId]) -> bool {
    model.tables().get(t).is_some_and(|tb| {
        fields
            .iter()
            .filter_map(|f| tb.column(*f))
            .any(|col| col.iter().any(|id| id.is_null()))
    })
}

/// The application fields SQL compares: key fields and reduction fields,
/// sorted.
pub(super) fn compared_fields(shape: &RulesShape<'_>) -> Vec<FieldId> {
    let mut out = shape.data_links.key_fields();
    out.extend(shape.reductions.iter().map(|r| r.data));
    out.sort();
    out.dedup();
    out
}

/// Refuses a model the export cannot state: loops in either model, and
/// fields compared as text that hold two values with the same text.
pub(super) fn exportable(shape: &RulesShape<'_>, data: &Model) -> Result<(), ExportError> {
    if shape.data_links.is_cyclic() {
        return Err(refusal(
            "the application tables form a loop (a circular reference or overlapping synthetic keys); \
             qlik loosens one table of a loop and the export states propagation only for models without loops",
        ));
    }
    if shape.links.is_cyclic() {
        return Err(refusal(
            "the security tables form a loop through their shared fields",
        ));
    }
    for f in compared_fields(shape) {
        distinct_texts(data, f, "application")?;
    }
    for f in shape.links.key_fields() {
        distinct_texts(shape.security, f, "security")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Value;
    use crate::names::FieldName;

    #[test]
    fn the_null_token_is_one_no_value_is() {
        let mut m = Model::new();
        let f = m.field(&FieldName::new("A"));
        m.intern(f, Value::text_only("x"));
        assert_eq!(Csv::unclashing(&[&m], std::iter::empty()).null, "\\N");
        m.intern(f, Value::text_only("\\N"));
        assert_eq!(Csv::unclashing(&[&m], std::iter::empty()).null, "\\N\\N");
        let extra = ["\\N\\N"];
        assert_eq!(Csv::unclashing(&[&m], extra.into_iter()).null, "\\N\\N\\N");
        let mut out = Vec::new();
        Csv::postgres().row(&mut out, [Some("a\"b".into()), None].into_iter());
        assert_eq!(out, b"\"a\"\"b\",\\N\n");
    }
}
