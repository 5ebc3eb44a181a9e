//! Committing frames into a model and combining tables: new tables,
//! concatenation (missing fields NULL), JOIN and KEEP on all common fields.
//!
//! Everything here works on model symbol ids: a frame's column is
//! re-interned once per distinct value, then rows are mapped with integer
//! work only. Joins match rows by the ids of the common fields, which is
//! exact because both tables share the model's per-field symbol tables.

use std::collections::HashMap;

use rayon::iter::{
    IndexedParallelIterator, IntoParallelRefIterator, IntoParallelRefMutIterator, ParallelIterator,
};

use crate::model::{BitSet, FieldId, IdList, Model, RowOrigin, SymbolId, Table};
use crate::names::{FieldName, TableName};
use crate::script::ast::JoinKind;

use super::frame::Frame;

/// Columns as model fields and ids, the row count and the row origins.
type Interned = (Vec<(FieldId, Vec<SymbolId>)>, usize, Option<Vec<RowOrigin>>);

/// The symbols some row of a column holds, in the order rows first show
/// them (one pass over the column's ids).
fn first_use(ids: &[SymbolId], symbols: usize) -> IdList {
    let mut seen = BitSet::new(symbols);
    let mut used = IdList::default();
    for &id in ids {
        if !id.is_null() && !seen.contains(id.index()) {
            seen.insert(id.index());
            used.push(id);
        }
    }
    used
}

/// The frame's columns as model fields and ids.
///
/// A column's symbols may hold values no row has (rows dropped by WHERE, a
/// RESIDENT or seeded column): only values some row holds become the
/// field's, in the order rows first show them, as in Qlik. The passes over
/// the rows run side by side, column by column; the model is changed in
/// between, one column after another.
fn intern_columns(model: &mut Model, frame: Frame) -> Interned {
    let uses: Vec<IdList> = frame
        .cols
        .par_iter()
        .map(|c| first_use(&c.ids, c.syms.len()))
        .collect();
    let mut out = Vec::with_capacity(frame.cols.len());
    let mut maps: Vec<Option<Vec<SymbolId>>> = Vec::with_capacity(frame.cols.len());
    for ((name, col), used) in frame.names.iter().zip(frame.cols).zip(uses) {
        let fid = model.field(&FieldName::new(name));
        // A field new to the model takes the column's symbols as they are:
        // ids stay valid, nothing is re-interned.
        if used.is_prefix()
            && used.len() == col.syms.len()
            && let Some(slot) = model.symbols_mut(fid).filter(|s| s.is_empty())
        {
            *slot = col.syms;
            out.push((fid, col.ids));
            maps.push(None);
            continue;
        }
        let mut map = vec![SymbolId::NULL; col.syms.len()];
        if let Some(symbols) = model.symbols_mut(fid) {
            for id in used.iter() {
                if let Some(m) = map.get_mut(id.index()) {
                    *m = symbols.intern_from(&col.syms, id);
                }
            }
        }
        // Seeded columns usually keep their ids; otherwise they are mapped
        // in place (no second column of ids alive at once).
        let same = col
            .syms
            .ids()
            .zip(&map)
            .all(|(i, &m)| m == i || m.is_null());
        maps.push((!same).then_some(map));
        out.push((fid, col.ids));
    }
    out.par_iter_mut()
        .zip(maps.par_iter())
        .for_each(|((_, ids), map)| {
            if let Some(map) = map {
                for id in ids.iter_mut() {
                    *id = map_id(map, *id);
                }
            }
        });
    (out, frame.rows, frame.origins)
}

/// `id` through `map` (NULL stays NULL).
fn map_id(map: &[SymbolId], id: SymbolId) -> SymbolId {
    if id.is_null() {
        SymbolId::NULL
    } else {
        #[expect(
            clippy::indexing_slicing,
            reason = "INVARIANT: map holds one id per symbol of the column, and a column's ids other than NULL are its symbols"
        )]
        map[id.index()]
    }
}

/// Builds a table named `name` from a frame (not yet added to the model).
pub(super) fn frame_to_table(model: &mut Model, frame: Frame, name: &str, access: bool) -> Table {
    let (cols, rows, origins) = intern_columns(model, frame);
    let fields: Vec<FieldId> = cols.iter().map(|(f, _)| *f).collect();
    let mut table = Table::new(TableName::new(name), &fields);
    for (slot, (_, ids)) in table.columns_mut().iter_mut().zip(cols) {
        slot.ids = ids;
    }
    table.set_len(rows);
    if access {
        table.track_origins();
        if let Some(o) = origins {
            table.set_origins(o);
        }
    }
    table
}

/// Appends a frame's rows to table `name`; fields missing on either side
/// are NULL (Qlik's CONCATENATE).
pub(super) fn append(model: &mut Model, name: &str, frame: Frame, access: bool) {
    let (cols, rows, origins) = intern_columns(model, frame);
    let Some(table) = model.table_mut(name) else {
        return;
    };
    let before = table.len();
    for (f, _) in &cols {
        table.add_column(*f);
    }
    let mut old_origins = table.origins().map(<[RowOrigin]>::to_vec);
    for col in table.columns_mut() {
        match cols.iter().find(|(f, _)| *f == col.field) {
            Some((_, ids)) => col.ids.extend_from_slice(ids),
            None => col.ids.resize(before + rows, SymbolId::NULL),
        }
    }
    table.set_len(before + rows);
    if access {
        let mut o = old_origins
            .take()
            .unwrap_or_else(|| vec![RowOrigin::default(); before]);
        o.extend(origins.unwrap_or_else(|| vec![RowOrigin::default(); rows]));
        table.set_origins(o);
    }
}

fn common_fields(a: &Table, b: &Table) -> Vec<FieldId> {
    a.fields().filter(|&f| b.has_field(f)).collect()
}

/// The key of a row over `fields`; `None` when a key value is NULL (NULL
/// matches nothing).
fn key(t: &Table, fields: &[FieldId], row: usize) -> Option<Vec<SymbolId>> {
    let mut k = Vec::with_capacity(fields.len());
    for &f in fields {
        #[expect(
            clippy::indexing_slicing,
            clippy::expect_used,
            reason = "INVARIANT: fields are common_fields of both tables, and row < t.len(), which every column holds"
        )]
        let id = t.column(f).expect("a common field is a column")[row];
        if id.is_null() {
            return None;
        }
        k.push(id);
    }
    Some(k)
}

/// The rows [`join`] would make of `right` and table `target`, counted
/// from how often each key occurs on either side (nothing is built), with
/// the common fields.
///
/// When even every pair of rows would stay within `bound`, nothing is
/// counted: the product is returned (an upper bound).
pub(super) fn join_rows(
    model: &Model,
    target: &str,
    right: &Table,
    kind: JoinKind,
    bound: u128,
) -> (u128, Vec<FieldId>) {
    let Some(left) = model.table(target) else {
        return (0, Vec::new());
    };
    let common = common_fields(left, right);
    let keeps_left = matches!(kind, JoinKind::Left | JoinKind::Outer);
    let keeps_right = matches!(kind, JoinKind::Right | JoinKind::Outer);
    let (l, r) = (left.len() as u128, right.len() as u128);
    if common.is_empty() || l * r + l + r <= bound {
        let n = if r == 0 && keeps_left {
            l
        } else if l == 0 && keeps_right {
            r
        } else {
            l * r
        };
        return (n, common);
    }
    // Per key: rows on the left, rows on the right. A NULL key matches
    // nothing.
    let mut counts: HashMap<Vec<SymbolId>, (u128, u128)> = HashMap::new();
    let mut alone: u128 = 0;
    for row in 0..right.len() {
        match key(right, &common, row) {
            Some(k) => counts.entry(k).or_default().1 += 1,
            None if keeps_right => alone += 1,
            None => {}
        }
    }
    for row in 0..left.len() {
        match key(left, &common, row) {
            Some(k) => counts.entry(k).or_default().0 += 1,
            None if keeps_left => alone += 1,
            None => {}
        }
    }
    let n = counts.values().fold(alone, |n, &(a, b)| {
        n + match (a, b) {
            (0, b) if keeps_right => b,
            (a, 0) if keeps_left => a,
            (a, b) => a * b,
        }
    });
    (n, common)
}

/// Joins `right` into table `target` on all common fields (none: the
/// cartesian product, as Qlik does).
pub(super) fn join(model: &mut Model, target: &str, right: Table, kind: JoinKind) {
    let Some(idx) = model.table_index(target) else {
        return;
    };
    let Some(left) = model.tables().get(idx) else {
        return;
    };
    let common = common_fields(left, &right);
    let mut pairs: Vec<(Option<usize>, Option<usize>)> = Vec::new();
    if common.is_empty() {
        if right.is_empty() && matches!(kind, JoinKind::Left | JoinKind::Outer) {
            pairs.extend((0..left.len()).map(|l| (Some(l), None)));
        } else if left.is_empty() && matches!(kind, JoinKind::Right | JoinKind::Outer) {
            pairs.extend((0..right.len()).map(|r| (None, Some(r))));
        } else {
            for l in 0..left.len() {
                for r in 0..right.len() {
                    pairs.push((Some(l), Some(r)));
                }
            }
        }
    } else {
        let mut index: HashMap<Vec<SymbolId>, Vec<usize>> = HashMap::new();
        for r in 0..right.len() {
            if let Some(k) = key(&right, &common, r) {
                index.entry(k).or_default().push(r);
            }
        }
        let mut matched = BitSet::new(right.len());
        for l in 0..left.len() {
            let hits = key(left, &common, l).and_then(|k| index.get(&k));
            match hits {
                Some(rs) => {
                    for &r in rs {
                        matched.insert(r);
                        pairs.push((Some(l), Some(r)));
                    }
                }
                None if matches!(kind, JoinKind::Left | JoinKind::Outer) => {
                    pairs.push((Some(l), None))
                }
                None => {}
            }
        }
        if matches!(kind, JoinKind::Right | JoinKind::Outer) {
            for r in 0..right.len() {
                if !matched.contains(r) {
                    pairs.push((None, Some(r)));
                }
            }
        }
    }
    let combined = combine(left, &right, &pairs);
    if let Some(slot) = model.tables_mut().get_mut(idx) {
        *slot = combined;
    }
}

/// A table of the given row pairs: left's fields then right's others.
fn combine(left: &Table, right: &Table, pairs: &[(Option<usize>, Option<usize>)]) -> Table {
    let mut fields: Vec<FieldId> = left.fields().collect();
    fields.extend(right.fields().filter(|f| !left.has_field(*f)));
    let mut out = Table::new(left.name.clone(), &fields);
    for source in left.lineage() {
        out.add_lineage(source);
    }
    for col in out.columns_mut() {
        let lc = left.column(col.field);
        let rc = right.column(col.field);
        col.ids = pairs
            .iter()
            .map(|&(l, r)| {
                #[expect(
                    clippy::indexing_slicing,
                    reason = "INVARIANT: pairs hold rows of left and right, below their lengths, which their columns hold"
                )]
                let (from_left, from_right) = (
                    l.zip(lc).map(|(l, c)| c[l]),
                    r.zip(rc).map(|(r, c)| c[r]),
                );
                // A side without the row or the field gives NULL (Qlik's
                // outer join).
                from_left.or(from_right).unwrap_or(SymbolId::NULL)
            })
            .collect();
    }
    out.set_len(pairs.len());
    if left.origins().is_some() || right.origins().is_some() {
        out.track_origins();
        let origins = pairs
            .iter()
            .map(|&(l, r)| {
                l.and_then(|l| left.origin(l))
                    .or_else(|| r.and_then(|r| right.origin(r)))
                    .unwrap_or_default()
            })
            .collect();
        out.set_origins(origins);
    }
    out
}

/// KEEP between table `a` (loaded before) and `b` (just loaded): both stay;
/// `INNER` reduces both to common keys, `LEFT` reduces `b` to `a`'s keys,
/// `RIGHT` reduces `a` to `b`'s keys. No common field: nothing changes.
pub(super) fn keep(model: &mut Model, a: &str, b: &str, kind: JoinKind) {
    let (Some(ta), Some(tb)) = (model.table(a), model.table(b)) else {
        return;
    };
    let common = common_fields(ta, tb);
    if common.is_empty() {
        return;
    }
    let keys = |t: &Table| -> std::collections::HashSet<Vec<SymbolId>> {
        (0..t.len()).filter_map(|r| key(t, &common, r)).collect()
    };
    let keep_rows = |t: &Table, allowed: &std::collections::HashSet<Vec<SymbolId>>| -> BitSet {
        let mut bits = BitSet::new(t.len());
        for r in 0..t.len() {
            if key(t, &common, r).is_some_and(|k| allowed.contains(&k)) {
                bits.insert(r);
            }
        }
        bits
    };
    let (ka, kb) = (keys(ta), keys(tb));
    let reduce_a = matches!(kind, JoinKind::Inner | JoinKind::Right).then(|| keep_rows(ta, &kb));
    let reduce_b = matches!(kind, JoinKind::Inner | JoinKind::Left).then(|| keep_rows(tb, &ka));
    if let (Some(bits), Some(t)) = (reduce_a, model.table_mut(a)) {
        t.retain_rows(&bits);
    }
    if let (Some(bits), Some(t)) = (reduce_b, model.table_mut(b)) {
        t.retain_rows(&bits);
    }
}
