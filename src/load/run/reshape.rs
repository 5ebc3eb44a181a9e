//! The load prefixes that reshape a load's rows before they go to a table,
//! each as Qlik's help page for it describes:
//!
//! - `CROSSTABLE (attribute, data [, n])`: the first `n` fields (default 1)
//!   qualify; every other column becomes one row per input row, its header
//!   as text in `attribute`, its cell in `data`. A cell with no value
//!   (NULL) makes no row, and a warning says so (inferred).
//! - `GENERIC`: the last two fields are attribute and value; one table per
//!   attribute value, named `<table>.<value>`, holding the other fields and
//!   a field named after the value (rows without an attribute make none).
//! - `HIERARCHY (NodeID, ParentID, NodeName [, ParentName, PathSource,
//!   PathName, PathDelimiter, Depth])`: the expanded nodes table; one row
//!   per path from a root (a node whose parent id is no node id) to a
//!   record, the levels in fields `NodeName1…`, then the parent's name, the
//!   path and the depth when named.
//! - `HIERARCHYBELONGSTO (NodeID, ParentID, NodeName, AncestorID,
//!   AncestorName [, DepthDiff])`: one row per node and ancestor (the node
//!   itself included, at depth difference 0); the parent id field gives way
//!   to the ancestor id field, in its place, and the node's other fields
//!   stay on each of its rows (inferred: the help's example has none).
//! - `INTERVALMATCH (field [, key…])`: the load gives intervals (start,
//!   end, then the keys); each interval gets one row per loaded value of
//!   `field` (with its key values, for keys) inside it, ends included.
//! - `SAMPLE p`: each row kept with probability `p`, drawn from a fixed
//!   seed, so the same script keeps the same rows every time; Qlik's draw
//!   is random and cannot be matched (a warning says so).
//!
//! Nodes that no root reaches (cycles) are left out, as Qlik says; a path
//! never visits a node twice. Inferred where the help is silent: crosstable
//! headers are text values (as the help's tables show), rows keep the
//! input's order, interval bounds that are no number match nothing.

use std::collections::{HashMap, HashSet};

use crate::model::{RowOrigin, SymbolId, Value};
use crate::script::ast::{Name, Section};
use crate::script::source::Span;

use super::{R, Runner};
use crate::load::error::{Fail, LoadErrorKind};
use crate::load::frame::{Frame, FrameColumn};

/// What a reshaping prefix asks, its arguments checked.
pub(super) enum Reshape {
    Crosstable {
        attribute: String,
        data: String,
        qualifiers: usize,
    },
    Generic,
    Hierarchy(HierarchyArgs),
    BelongsTo(BelongsToArgs),
    IntervalMatch {
        field: Name,
        keys: Vec<Name>,
    },
}

/// The arguments of `HIERARCHY`.
pub(super) struct HierarchyArgs {
    node_id: Name,
    parent_id: Name,
    node_name: Name,
    parent_name: Option<String>,
    path_source: Option<Name>,
    path_name: Option<String>,
    path_delimiter: String,
    depth: Option<String>,
}

/// The arguments of `HIERARCHYBELONGSTO`.
pub(super) struct BelongsToArgs {
    node_id: Name,
    parent_id: Name,
    node_name: Name,
    ancestor_id: String,
    ancestor_name: String,
    depth_diff: Option<String>,
}

/// How a value compares with another in a key: as a number when it has
/// one, otherwise as its text (Qlik's equality of values).
#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Num(u64),
    Text(String),
}

fn key_of(v: &Value) -> Option<Key> {
    match v {
        Value::Null => None,
        _ => Some(match v.num() {
            Some(n) => Key::Num(crate::model::value_bits(n)),
            None => Key::Text(v.text().into_owned()),
        }),
    }
}

/// A column of `rows` picked from `col` (rows may repeat).
fn gather(col: &FrameColumn, rows: &[usize]) -> FrameColumn {
    #[expect(
        clippy::indexing_slicing,
        reason = "INVARIANT: rows holds rows below the frame's row count, which every column holds"
    )]
    let ids = rows.iter().map(|&r| col.ids[r]).collect();
    FrameColumn {
        ids,
        syms: col.syms.clone(),
    }
}

/// The id at row `r` of a column.
fn id_at(ids: &[SymbolId], r: usize) -> SymbolId {
    #[expect(
        clippy::indexing_slicing,
        reason = "INVARIANT: r is below the row count, which every column of a frame or table holds"
    )]
    ids[r]
}

/// The value of a symbol id of a model's field.
fn model_value(model: &crate::model::Model, field: crate::model::FieldId, id: SymbolId) -> Value {
    #[expect(
        clippy::expect_used,
        reason = "INVARIANT: a table column's ids other than NULL are symbols of its field"
    )]
    model
        .value(field, id)
        .expect("a column's ids are its field's symbols")
}

/// The origins of `rows` picked from `frame`.
fn gather_origins(frame: &Frame, rows: &[usize]) -> Option<Vec<RowOrigin>> {
    frame.origins.as_ref().map(|o| {
        #[expect(
            clippy::indexing_slicing,
            reason = "INVARIANT: rows holds rows below the frame's row count, which its origins hold"
        )]
        rows.iter().map(|&r| o[r]).collect()
    })
}

/// A column of values, one per row.
fn column_of(values: impl IntoIterator<Item = Value>) -> FrameColumn {
    let mut c = FrameColumn::default();
    for v in values {
        c.push(v);
    }
    c
}

impl Runner<'_> {
    /// Checks a reshaping prefix's arguments.
    pub(super) fn reshape_of(&self, kind: &Name, args: &[Option<Name>]) -> R<Reshape> {
        let bad = |span: Span, message: String, help: &str| {
            self.err(Fail::new(LoadErrorKind::BadArgument, span, message).help(help.to_string()))
        };
        let syntax = match kind.name.as_str() {
            "CROSSTABLE" => "`CROSSTABLE (attribute_field, data_field [, n])`",
            "HIERARCHY" => {
                "`HIERARCHY (NodeID, ParentID, NodeName [, ParentName, PathSource, PathName, PathDelimiter, Depth])`"
            }
            "HIERARCHYBELONGSTO" => {
                "`HIERARCHYBELONGSTO (NodeID, ParentID, NodeName, AncestorID, AncestorName [, DepthDiff])`"
            }
            "INTERVALMATCH" => "`INTERVALMATCH (field [, key1, … key5])`",
            _ => "",
        };
        let (min, max) = match kind.name.as_str() {
            "GENERIC" => return Ok(Reshape::Generic),
            "CROSSTABLE" => (2, 3),
            "HIERARCHY" => (3, 8),
            "HIERARCHYBELONGSTO" => (5, 6),
            "INTERVALMATCH" => (1, 6),
            other => {
                return Err(self.err(Fail::new(
                    LoadErrorKind::Bug,
                    kind.span,
                    format!("`{other}` is not a reshaping prefix"),
                )));
            }
        };
        // A trailing empty place (`f(a, )`) still counts as written.
        if args.len() < min || args.len() > max {
            let want = if min == max {
                format!("{min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(bad(
                kind.span,
                format!("`{}` takes {want} arguments, got {}", kind.name, args.len()),
                syntax,
            ));
        }
        let required = |i: usize, what: &str| -> R<Name> {
            match args.get(i) {
                Some(Some(n)) if !n.name.trim().is_empty() => Ok(n.clone()),
                _ => Err(bad(
                    kind.span,
                    format!("`{}` needs {what} as argument {}", kind.name, i + 1),
                    syntax,
                )),
            }
        };
        let optional = |i: usize| -> Option<Name> {
            args.get(i)
                .and_then(Option::as_ref)
                .filter(|n| !n.name.trim().is_empty())
                .cloned()
        };
        Ok(match kind.name.as_str() {
            "CROSSTABLE" => {
                let attribute = required(0, "the attribute field's name")?.name;
                let data = required(1, "the data field's name")?.name;
                let qualifiers = match optional(2) {
                    None => 1,
                    Some(n) => match n.name.trim().parse::<usize>() {
                        Ok(q) => q,
                        Err(_) => {
                            return Err(bad(
                                n.span,
                                format!(
                                    "the number of qualifier fields must be a whole number, got `{}`",
                                    n.name
                                ),
                                syntax,
                            ));
                        }
                    },
                };
                Reshape::Crosstable {
                    attribute,
                    data,
                    qualifiers,
                }
            }
            "HIERARCHY" => Reshape::Hierarchy(HierarchyArgs {
                node_id: required(0, "the node id field")?,
                parent_id: required(1, "the parent id field")?,
                node_name: required(2, "the node name field")?,
                parent_name: optional(3).map(|n| n.name),
                path_source: optional(4),
                path_name: optional(5).map(|n| n.name),
                path_delimiter: args
                    .get(6)
                    .and_then(Option::as_ref)
                    .map_or_else(|| String::from("/"), |n| n.name.clone()),
                depth: optional(7).map(|n| n.name),
            }),
            "HIERARCHYBELONGSTO" => Reshape::BelongsTo(BelongsToArgs {
                node_id: required(0, "the node id field")?,
                parent_id: required(1, "the parent id field")?,
                node_name: required(2, "the node name field")?,
                ancestor_id: required(3, "the name of the ancestor id field")?.name,
                ancestor_name: required(4, "the name of the ancestor name field")?.name,
                depth_diff: optional(5).map(|n| n.name),
            }),
            _ => {
                let field = required(0, "the field of values to match")?;
                let mut keys = Vec::new();
                for i in 1..args.len() {
                    keys.push(required(i, "a key field")?);
                }
                Reshape::IntervalMatch { field, keys }
            }
        })
    }

    /// Applies a reshaping prefix other than `GENERIC` to a load's rows.
    pub(super) fn reshape(&mut self, how: &Reshape, span: Span, frame: Frame) -> R<Frame> {
        match how {
            Reshape::Generic => Ok(frame),
            Reshape::Crosstable {
                attribute,
                data,
                qualifiers,
            } => {
                if frame.cols.len() <= *qualifiers {
                    return Err(self.err(
                        Fail::new(
                            LoadErrorKind::BadArgument,
                            span,
                            format!(
                                "`CROSSTABLE` with {qualifiers} qualifier field{} needs more fields, this load has {}",
                                if *qualifiers == 1 { "" } else { "s" },
                                frame.cols.len()
                            ),
                        )
                        .help("the fields after the qualifiers are the columns turned into rows"),
                    ));
                }
                self.check_rows(
                    frame.rows.saturating_mul(frame.cols.len() - qualifiers),
                    qualifiers + 2,
                    span,
                    "`CROSSTABLE`",
                )?;
                let (out, skipped) = crosstable(frame, attribute, data, *qualifiers);
                if skipped > 0 {
                    self.warn(
                        "crosstable-null-cells",
                        format!(
                            "`CROSSTABLE`: {skipped} cell{} with no value (NULL) made no row; that Qlik skips them too is inferred, its help does not say",
                            if skipped == 1 { "" } else { "s" }
                        ),
                        Some(span),
                    );
                }
                Ok(out)
            }
            Reshape::Hierarchy(a) => self.hierarchy(a, span, frame),
            Reshape::BelongsTo(a) => self.belongs_to(a, span, frame),
            Reshape::IntervalMatch { field, keys } => self.interval_match(field, keys, span, frame),
        }
    }

    /// A field of the frame by name (any case in section access, where
    /// names are upper-cased).
    fn frame_field(&self, frame: &Frame, name: &Name, prefix: &str) -> R<usize> {
        let loose = self.section == Section::Access;
        frame
            .names
            .iter()
            .position(|n| *n == name.name || (loose && n.eq_ignore_ascii_case(&name.name)))
            .ok_or_else(|| {
                self.err(
                    Fail::new(
                        LoadErrorKind::UnknownField,
                        name.span,
                        format!(
                            "`{prefix}` names field `{}`, which this load does not give",
                            name.name
                        ),
                    )
                    .label("not a field of the load")
                    .help(format!(
                        "the load gives: {}",
                        frame
                            .names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                )
            })
    }

    /// The paths from roots to records, breadth first: each entry a record,
    /// the entry of its parent (none for a root) and its depth (1 for a
    /// root).
    fn node_paths(
        &self,
        frame: &Frame,
        id_col: usize,
        parent_col: usize,
        span: Span,
        prefix: &str,
    ) -> R<Vec<(usize, Option<usize>, usize)>> {
        let ids: Vec<Option<Key>> = (0..frame.rows)
            .map(|r| key_of(&frame.value(id_col, r)))
            .collect();
        let parents: Vec<Option<Key>> = (0..frame.rows)
            .map(|r| key_of(&frame.value(parent_col, r)))
            .collect();
        let known: HashSet<&Key> = ids.iter().flatten().collect();
        let mut children: HashMap<&Key, Vec<usize>> = HashMap::new();
        let mut entries: Vec<(usize, Option<usize>, usize)> = Vec::new();
        for (r, p) in parents.iter().enumerate() {
            match p {
                Some(p) if known.contains(p) => children.entry(p).or_default().push(r),
                _ => entries.push((r, None, 1)),
            }
        }
        let mut next = 0;
        while let Some(&(record, _, depth)) = entries.get(next) {
            let here = next;
            next += 1;
            let Some(Some(id)) = ids.get(record) else {
                continue;
            };
            for &child in children.get(id).map_or(&[][..], Vec::as_slice) {
                // Never through the same node twice (a cycle below a root).
                let child_id = ids.get(child).and_then(Option::as_ref);
                let mut up = Some(here);
                let mut seen = false;
                while let Some(e) = up {
                    let Some(&(rec, parent, _)) = entries.get(e) else {
                        break;
                    };
                    if ids.get(rec).and_then(Option::as_ref) == child_id {
                        seen = true;
                        break;
                    }
                    up = parent;
                }
                if !seen {
                    entries.push((child, Some(here), depth + 1));
                }
            }
            self.check_rows(entries.len(), frame.cols.len() + 4, span, prefix)?;
        }
        Ok(entries)
    }

    fn hierarchy(&self, a: &HierarchyArgs, span: Span, frame: Frame) -> R<Frame> {
        let id_col = self.frame_field(&frame, &a.node_id, "HIERARCHY")?;
        let parent_col = self.frame_field(&frame, &a.parent_id, "HIERARCHY")?;
        let name_col = self.frame_field(&frame, &a.node_name, "HIERARCHY")?;
        let path_col = match &a.path_source {
            Some(p) => self.frame_field(&frame, p, "HIERARCHY")?,
            None => name_col,
        };
        let entries = self.node_paths(&frame, id_col, parent_col, span, "`HIERARCHY`")?;
        // Output rows: the input's order, each record's paths in the order
        // found.
        let mut order: Vec<usize> = (0..entries.len()).collect();
        order.sort_by_key(|&e| entries.get(e).map(|x| x.0));
        let levels = entries.iter().map(|e| e.2).max().unwrap_or(0);
        let path_of = |e: usize| -> Vec<usize> {
            let mut path = Vec::new();
            let mut up = Some(e);
            while let Some(x) = up {
                let Some(&(rec, parent, _)) = entries.get(x) else {
                    break;
                };
                path.push(rec);
                up = parent;
            }
            path.reverse();
            path
        };
        let rows: Vec<usize> = order
            .iter()
            .filter_map(|&e| entries.get(e).map(|x| x.0))
            .collect();
        let mut names = frame.names.clone();
        let mut cols: Vec<FrameColumn> = frame.cols.iter().map(|c| gather(c, &rows)).collect();
        let paths: Vec<Vec<usize>> = order.iter().map(|&e| path_of(e)).collect();
        let base = frame
            .names
            .get(name_col)
            .cloned()
            .unwrap_or_else(|| a.node_name.name.clone());
        for level in 0..levels {
            names.push(format!("{base}{}", level + 1));
            cols.push(column_of(paths.iter().map(|p| {
                p.get(level)
                    .map_or(Value::Null, |&r| frame.value(name_col, r))
            })));
        }
        if let Some(n) = &a.parent_name {
            names.push(n.clone());
            cols.push(column_of(paths.iter().map(|p| {
                match p.len().checked_sub(2).and_then(|i| p.get(i)) {
                    Some(&r) => frame.value(name_col, r),
                    None => Value::Null,
                }
            })));
        }
        if let Some(n) = &a.path_name {
            names.push(n.clone());
            cols.push(column_of(paths.iter().map(|p| {
                let parts: Vec<String> = p
                    .iter()
                    .map(|&r| frame.value(path_col, r).text().into_owned())
                    .collect();
                Value::text_only(&parts.join(&a.path_delimiter))
            })));
        }
        if let Some(n) = &a.depth {
            names.push(n.clone());
            cols.push(column_of(paths.iter().map(|p| Value::Num(p.len() as f64))));
        }
        Ok(Frame {
            names,
            cols,
            rows: rows.len(),
            origins: gather_origins(&frame, &rows),
        })
    }

    fn belongs_to(&self, a: &BelongsToArgs, span: Span, frame: Frame) -> R<Frame> {
        let id_col = self.frame_field(&frame, &a.node_id, "HIERARCHYBELONGSTO")?;
        let parent_col = self.frame_field(&frame, &a.parent_id, "HIERARCHYBELONGSTO")?;
        let name_col = self.frame_field(&frame, &a.node_name, "HIERARCHYBELONGSTO")?;
        let entries = self.node_paths(&frame, id_col, parent_col, span, "`HIERARCHYBELONGSTO`")?;
        // Per record (input order), its ancestors from itself up, each once.
        let mut pairs: Vec<(usize, usize, usize)> = Vec::new();
        let mut seen = HashSet::new();
        let mut order: Vec<usize> = (0..entries.len()).collect();
        order.sort_by_key(|&e| entries.get(e).map(|x| x.0));
        for e in order {
            let Some(&(record, _, _)) = entries.get(e) else {
                continue;
            };
            let mut up = Some(e);
            let mut diff = 0;
            while let Some(x) = up {
                let Some(&(rec, parent, _)) = entries.get(x) else {
                    break;
                };
                if seen.insert((record, rec, diff)) {
                    pairs.push((record, rec, diff));
                }
                diff += 1;
                up = parent;
            }
            self.check_rows(
                pairs.len(),
                frame.cols.len() + 2,
                span,
                "`HIERARCHYBELONGSTO`",
            )?;
        }
        let rows: Vec<usize> = pairs.iter().map(|p| p.0).collect();
        let ancestors: Vec<usize> = pairs.iter().map(|p| p.1).collect();
        let mut names = Vec::with_capacity(frame.names.len() + 2);
        let mut cols = Vec::with_capacity(frame.names.len() + 2);
        for (i, (n, c)) in frame.names.iter().zip(&frame.cols).enumerate() {
            if i == parent_col {
                // The parent id gives way to the ancestor id, in its place.
                names.push(a.ancestor_id.clone());
                let id = frame
                    .cols
                    .get(id_col)
                    .map_or_else(FrameColumn::default, |c| gather(c, &ancestors));
                cols.push(id);
            } else {
                names.push(n.clone());
                cols.push(gather(c, &rows));
            }
        }
        names.push(a.ancestor_name.clone());
        cols.push(
            frame
                .cols
                .get(name_col)
                .map_or_else(FrameColumn::default, |c| gather(c, &ancestors)),
        );
        if let Some(d) = &a.depth_diff {
            names.push(d.clone());
            cols.push(column_of(pairs.iter().map(|p| Value::Num(p.2 as f64))));
        }
        Ok(Frame {
            names,
            cols,
            rows: rows.len(),
            origins: gather_origins(&frame, &rows),
        })
    }

    fn interval_match(&self, field: &Name, keys: &[Name], span: Span, frame: Frame) -> R<Frame> {
        if frame.cols.len() != 2 + keys.len() {
            return Err(self.err(
                Fail::new(
                    LoadErrorKind::BadArgument,
                    span,
                    format!(
                        "`INTERVALMATCH` {} needs a load of {} fields (start, end{}), this one has {}",
                        match keys.len() {
                            0 => String::from("without keys"),
                            1 => String::from("with 1 key"),
                            n => format!("with {n} keys"),
                        },
                        2 + keys.len(),
                        if keys.is_empty() { "" } else { ", then the keys" },
                        frame.cols.len()
                    ),
                )
                .help("load the interval's start and end first, then the key fields in the order the prefix names them"),
            ));
        }
        // The values to match, with their keys: every combination a loaded
        // table holds, in first-seen order.
        let points = self.points(field, keys)?;
        let mut rows = Vec::new();
        let mut matched: Vec<usize> = Vec::new();
        let mut seen = HashSet::new();
        for r in 0..frame.rows {
            let (Some(lo), Some(hi)) = (frame.value(0, r).num(), frame.value(1, r).num()) else {
                continue;
            };
            let row_keys: Vec<Option<Key>> = (0..keys.len())
                .map(|k| key_of(&frame.value(2 + k, r)))
                .collect();
            for (p, (value, point_keys)) in points.iter().enumerate() {
                let Some(v) = value.num() else { continue };
                if v < lo || v > hi {
                    continue;
                }
                if row_keys
                    .iter()
                    .zip(point_keys)
                    .any(|(a, b)| a.is_none() || a != b)
                {
                    continue;
                }
                // One row per combination of interval and value.
                let ids: Vec<SymbolId> = frame.cols.iter().map(|c| id_at(&c.ids, r)).collect();
                if seen.insert((ids, p)) {
                    rows.push(r);
                    matched.push(p);
                }
            }
            self.check_rows(rows.len(), frame.cols.len() + 1, span, "`INTERVALMATCH`")?;
        }
        let mut out = Frame {
            names: frame.names.clone(),
            cols: frame.cols.iter().map(|c| gather(c, &rows)).collect(),
            rows: rows.len(),
            origins: gather_origins(&frame, &rows),
        };
        out.names.push(field.name.clone());
        out.cols.push(column_of(
            matched
                .iter()
                .map(|&p| points.get(p).map_or(Value::Null, |x| x.0.clone())),
        ));
        Ok(out)
    }

    /// The loaded values of `field`, each with its `keys` values: the
    /// distinct combinations of the tables holding them all.
    fn points(&self, field: &Name, keys: &[Name]) -> R<Vec<(Value, Vec<Option<Key>>)>> {
        let unknown = |n: &Name| {
            self.err(
                Fail::new(
                    LoadErrorKind::UnknownField,
                    n.span,
                    format!("field `{}` is not loaded", n.name),
                )
                .label("no table loaded so far holds this field")
                .help("`INTERVALMATCH` matches values already loaded: load the table holding them first"),
            )
        };
        let look = |n: &Name| {
            crate::load::expr::Env::field(self, &n.name)
                .or_else(|| {
                    (self.section == Section::Access)
                        .then(|| crate::load::expr::Env::field(self, &n.name.to_uppercase()))
                        .flatten()
                })
                .ok_or_else(|| unknown(n))
        };
        let (model, fid) = look(field)?;
        let mut out = Vec::new();
        if keys.is_empty() {
            let present = model.present(fid);
            if let Some(symbols) = model.symbols(fid) {
                for (id, v) in symbols.iter() {
                    if present.contains(id.index()) {
                        out.push((v, Vec::new()));
                    }
                }
            }
            return Ok(out);
        }
        let mut key_ids = Vec::with_capacity(keys.len());
        for k in keys {
            let (m, id) = look(k)?;
            if !std::ptr::eq(m, model) {
                return Err(unknown(k));
            }
            key_ids.push(id);
        }
        let mut seen = HashSet::new();
        let mut found = false;
        for t in model.tables() {
            let Some(values) = t.column(fid) else {
                continue;
            };
            let Some(kcols) = key_ids
                .iter()
                .map(|&k| t.column(k))
                .collect::<Option<Vec<_>>>()
            else {
                continue;
            };
            found = true;
            for (r, &id) in values.iter().enumerate() {
                let mut combo = vec![id];
                combo.extend(kcols.iter().map(|c| id_at(c, r)));
                if id.is_null() || !seen.insert(combo.clone()) {
                    continue;
                }
                let value = model_value(model, fid, id);
                let kv = key_ids
                    .iter()
                    .zip(combo.iter().skip(1))
                    .map(|(&f, &k)| {
                        if k.is_null() {
                            None
                        } else {
                            key_of(&model_value(model, f, k))
                        }
                    })
                    .collect();
                out.push((value, kv));
            }
        }
        if !found {
            return Err(self.err(
                Fail::new(
                    LoadErrorKind::UnknownField,
                    field.span,
                    format!(
                        "no loaded table holds `{}` with the keys {}",
                        field.name,
                        keys.iter()
                            .map(|k| format!("`{}`", k.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .help("`INTERVALMATCH` with keys matches the combinations of one table holding the field and every key"),
            ));
        }
        Ok(out)
    }

    /// The tables of a `GENERIC` load: per attribute value (the one but last
    /// field), in first-seen order, a table `<name>.<value>` of the rows
    /// with that value, holding the fields before the attribute and the
    /// value (the last field) under the attribute's text.
    pub(super) fn generic_frames(&self, frame: &Frame, span: Span) -> R<Vec<(String, Frame)>> {
        let k = frame.cols.len();
        if k < 2 {
            return Err(self.err(
                Fail::new(
                    LoadErrorKind::BadArgument,
                    span,
                    format!("`GENERIC` needs an attribute and a value field (the last two), this load has {k} field{}", if k == 1 { "" } else { "s" }),
                )
                .help("`GENERIC LOAD key, attribute, value …`"),
            ));
        }
        let (Some(attr), Some(value)) = (frame.cols.get(k - 2), frame.cols.get(k - 1)) else {
            return Ok(Vec::new());
        };
        let mut groups: Vec<(SymbolId, Vec<usize>)> = Vec::new();
        let mut index: HashMap<SymbolId, usize> = HashMap::new();
        for (r, &id) in attr.ids.iter().enumerate() {
            if id.is_null() {
                continue;
            }
            let next = groups.len();
            let g = *index.entry(id).or_insert(next);
            if g == next {
                groups.push((id, Vec::new()));
            }
            if let Some((_, rows)) = groups.get_mut(g) {
                rows.push(r);
            }
        }
        let mut out = Vec::with_capacity(groups.len());
        for (id, rows) in groups {
            #[expect(
                clippy::expect_used,
                reason = "INVARIANT: a column's ids other than NULL are symbols of its own syms"
            )]
            let name = attr
                .syms
                .text(id)
                .expect("a column's ids are its symbols")
                .into_owned();
            let mut names: Vec<String> = frame.names.iter().take(k - 2).cloned().collect();
            names.push(name.clone());
            let mut cols: Vec<FrameColumn> = frame
                .cols
                .iter()
                .take(k - 2)
                .map(|c| gather(c, &rows))
                .collect();
            cols.push(gather(value, &rows));
            out.push((
                name,
                Frame {
                    names,
                    cols,
                    rows: rows.len(),
                    origins: gather_origins(frame, &rows),
                },
            ));
        }
        Ok(out)
    }

    /// Keeps each row with probability `p`, drawn from a fixed seed.
    pub(super) fn sample(&mut self, frame: &mut Frame, p: f64, span: Span) {
        let keep: Vec<usize> = (0..frame.rows).filter(|&r| draw(r as u64) < p).collect();
        if keep.len() != frame.rows {
            frame.select_rows(&keep);
        }
        self.warn(
            "sample-seeded",
            String::from(
                "`SAMPLE` keeps rows drawn from a fixed seed, the same each run; Qlik draws at random, so its rows differ",
            ),
            Some(span),
        );
    }
}

/// A number in [0, 1) for row `r` (splitmix64 of the row and a fixed seed).
fn draw(r: u64) -> f64 {
    let mut z = r
        .wrapping_add(0x5EED_5EED_5EED_5EED)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// `CROSSTABLE`: the first `n` columns qualify, every other column gives
/// one row per input row.
fn crosstable(frame: Frame, attribute: &str, data: &str, n: usize) -> (Frame, usize) {
    // The cells that make rows: every cell of the data columns but those
    // with no value (NULL: an empty Excel cell, a missing field).
    let mut cells: Vec<(usize, usize)> = Vec::new();
    let mut skipped = 0;
    for r in 0..frame.rows {
        for (k, c) in frame.cols.iter().skip(n).enumerate() {
            if id_at(&c.ids, r).is_null() {
                skipped += 1;
            } else {
                cells.push((r, k));
            }
        }
    }
    let rows: Vec<usize> = cells.iter().map(|&(r, _)| r).collect();
    let mut names: Vec<String> = frame.names.iter().take(n).cloned().collect();
    names.push(attribute.to_string());
    names.push(data.to_string());
    let mut cols: Vec<FrameColumn> = frame
        .cols
        .iter()
        .take(n)
        .map(|c| gather(c, &rows))
        .collect();
    let mut attr = FrameColumn::default();
    let headers: Vec<SymbolId> = frame
        .names
        .iter()
        .skip(n)
        .map(|h| attr.syms.intern(Value::text_only(h)))
        .collect();
    let mut values = FrameColumn::default();
    let data_cols: Vec<&FrameColumn> = frame.cols.iter().skip(n).collect();
    // Each data column's symbols, once, into the data field's.
    let maps: Vec<Vec<SymbolId>> = data_cols
        .iter()
        .map(|c| {
            c.syms
                .ids()
                .map(|id| values.syms.intern_from(&c.syms, id))
                .collect()
        })
        .collect();
    attr.ids.reserve(cells.len());
    values.ids.reserve(cells.len());
    for &(r, k) in &cells {
        #[expect(
            clippy::indexing_slicing,
            reason = "INVARIANT: k enumerates the data columns, and headers, data_cols and maps hold one entry each"
        )]
        let (h, c, map) = (headers[k], data_cols[k], &maps[k]);
        attr.ids.push(h);
        // Not NULL: NULL cells make no row.
        values.ids.push(id_at(map, id_at(&c.ids, r).index()));
    }
    cols.push(attr);
    cols.push(values);
    (
        Frame {
            names,
            cols,
            rows: rows.len(),
            origins: gather_origins(&frame, &rows),
        },
        skipped,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_fixed_and_spread_over_the_unit_interval() {
        let draws: Vec<f64> = (0..10_000).map(draw).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        assert_eq!(draws, (0..10_000).map(draw).collect::<Vec<_>>());
        let below = draws.iter().filter(|&&d| d < 0.25).count();
        assert!((2_200..2_800).contains(&below), "{below}");
    }

    #[test]
    fn keys_compare_numbers_as_numbers_and_the_rest_as_text() {
        assert!(key_of(&Value::Null).is_none());
        assert!(key_of(&Value::from_text("1")) == key_of(&Value::Num(1.0)));
        assert!(key_of(&Value::from_text("01")) == key_of(&Value::Num(1.0)));
        assert!(key_of(&Value::text_only("a")) != key_of(&Value::text_only("A")));
    }
}
