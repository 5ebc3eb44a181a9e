//! The identity columns of the security tables indexed by value, for
//! matching many identities (audit).
//!
//! Each row of a table with identity columns is filed once: rows with a
//! blank or legacy cell match nobody and are left out, rows whose identity
//! cells are all wildcards match everyone (*universal* rows), and every
//! other row is filed under the value of its *primary* column — the value
//! column whose value names the fewest rows. A row matches an identity only
//! if each of its value cells equals one of the identity's values, so it is
//! found under its primary value: matching costs the rows filed under the
//! identity's own values, not the rows of the table.
//!
//! Each such row is also given a *class*: rows with equal cells outside
//! the identity columns have the same class. A decision reads the rows an
//! identity matches only through those cells, so identities whose matched
//! rows have the same classes get the same decision: a security table with
//! a row per user (a million users, a few hundred distinct rows besides the
//! user id) is decided a few hundred times, not a million.

use std::hash::BuildHasher;
use std::sync::OnceLock;

use foldhash::fast::FixedState;
use hashbrown::HashTable;

use super::{Cell, IdKind, RowSet, Rules, identity_texts};
use crate::lists::Lists;
use crate::model::{FieldId, Model, RowId, SymbolId};
use crate::names::Identity;

/// The symbols of one identity field, by text (only values: blanks,
/// wildcards and legacy fields never equal an identity's value). Built on
/// first use: identities read off the field's own symbols need none.
#[derive(Debug)]
struct TextIndex<'r> {
    field: FieldId,
    kind: IdKind,
    cells: &'r [Cell],
    /// No value of the field is a number: values are interned by value, so
    /// no two symbols then share a text.
    plain: bool,
    /// (hash of the text, symbol id) — the stored hash spares reading the
    /// text of symbols that only share a bucket — and whether the texts
    /// are all distinct.
    by_text: OnceLock<(HashTable<(u64, SymbolId)>, bool)>,
}

impl<'r> TextIndex<'r> {
    fn new(model: &Model, field: FieldId, kind: IdKind, cells: &'r [Cell]) -> Self {
        let plain = model.symbols(field).is_none_or(|s| {
            s.holds_only_text()
                || s.iter().all(|(id, v)| {
                    v.num().is_none()
                        || !matches!(cells.get(id.index()), Some(Cell::Value | Cell::Star))
                })
        });
        Self {
            field,
            kind,
            cells,
            plain,
            by_text: OnceLock::new(),
        }
    }

    fn built(&self, model: &Model) -> &(HashTable<(u64, SymbolId)>, bool) {
        self.by_text.get_or_init(|| {
            let mut by_text: HashTable<(u64, SymbolId)> = HashTable::new();
            let mut unique = true;
            if self.kind == IdKind::Legacy {
                return (by_text, unique);
            }
            let is_value =
                |id: SymbolId| matches!(self.cells.get(id.index()), Some(Cell::Value | Cell::Star));
            let n = self
                .cells
                .iter()
                .filter(|c| matches!(c, Cell::Value | Cell::Star))
                .count();
            by_text.reserve(n, |&(h, _)| h);
            let hasher = FixedState::default();
            for (id, text) in model
                .symbols(self.field)
                .into_iter()
                .flat_map(|s| s.texts())
            {
                if !is_value(id) {
                    continue;
                }
                let h = hasher.hash_one(text.as_ref());
                if unique
                    && !self.plain
                    && by_text
                        .find(h, |&(g, j)| g == h && text_is(model, self.field, j, &text))
                        .is_some()
                {
                    unique = false;
                }
                by_text.insert_unique(h, (h, id), |&(h, _)| h);
            }
            (by_text, unique)
        })
    }

    /// True when no two symbols of the field have the same text.
    fn unique(&self, model: &Model) -> bool {
        self.plain || self.built(model).1
    }

    /// Appends the symbols whose text is `text`.
    fn lookup(&self, model: &Model, text: &str, out: &mut Vec<SymbolId>) {
        let h = FixedState::default().hash_one(text);
        for &(g, id) in self.built(model).0.iter_hash(h) {
            if g == h && text_is(model, self.field, id, text) {
                out.push(id);
            }
        }
    }
}

fn text_is(model: &Model, field: FieldId, id: SymbolId, text: &str) -> bool {
    model.text(field, id).is_some_and(|t| t == text)
}

/// An identity that is one value, as an audit lists them off the security
/// tables: a user (compared with `USERID` and `NTNAME`), an e-mail
/// (`USER.EMAIL`) or a member of one group (`GROUP` and `NTNAME`). The
/// value is trimmed and upper-cased, as [`Identity`] keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Named<'a> {
    /// A user id without groups.
    User(&'a str),
    /// An e-mail alone.
    Email(&'a str),
    /// A member of this group, without a user id.
    Group(&'a str),
}

impl<'a> Named<'a> {
    /// The value an identity column of `kind` is compared with (none for
    /// the other kinds and for legacy columns).
    pub(super) fn text_for(self, kind: IdKind) -> Option<&'a str> {
        match (self, kind) {
            (Named::User(t), IdKind::UserId | IdKind::NtName)
            | (Named::Email(t), IdKind::Email)
            | (Named::Group(t), IdKind::Group | IdKind::NtName) => Some(t),
            _ => None,
        }
    }
}

/// Where an identity came from, when it was read off a security symbol:
/// the field and the symbol, whose text is the identity's value for that
/// field (as [`Matcher::key_from`] requires).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    /// The security field.
    pub field: FieldId,
    /// The symbol.
    pub symbol: SymbolId,
}

/// One identity column of a table.
#[derive(Debug)]
struct ColIndex<'r> {
    /// Index of the column's field in [`MatchIndex::fields`].
    slot: usize,
    ids: &'r [SymbolId],
    cells: &'r [Cell],
    legacy: bool,
    /// The rows whose primary column this is, by symbol, ascending.
    rows: Lists<RowId>,
}

impl ColIndex<'_> {
    /// The cell of row `r` matches an identity whose symbols in this
    /// column's field are `allowed`.
    fn accepts(&self, r: RowId, allowed: &[SymbolId]) -> bool {
        let Some(&id) = self.ids.get(r.index()) else {
            return false;
        };
        match self.cells.get(id.index()) {
            Some(Cell::Wild) => true,
            Some(Cell::Value | Cell::Star) => !self.legacy && allowed.contains(&id),
            _ => false,
        }
    }
}

#[derive(Debug)]
struct TableIndex<'r> {
    /// Index of the table in the security model.
    table: usize,
    cols: Vec<ColIndex<'r>>,
    /// Rows whose identity cells are all wildcards.
    universal: Vec<RowId>,
    /// The cells that make a row's class (see [`row_classes`]).
    content: Vec<&'r [SymbolId]>,
    rows: usize,
    /// Per row, its class: made when a key first has rows here (a table
    /// whose rows name groups alone is never asked, user by user).
    /// `None` when the table's one content column is that.
    class: OnceLock<Option<Vec<u32>>>,
}

impl TableIndex<'_> {
    fn class(&self, r: RowId) -> u32 {
        let class = self
            .class
            .get_or_init(|| row_classes(&self.content, self.rows));
        #[expect(
            clippy::indexing_slicing,
            reason = "INVARIANT: r < rows; the classes, like a one content column, hold `rows` entries, and `row_classes` makes none only for one content column"
        )]
        match class {
            Some(made) => made[r.index()],
            None => self.content[0][r.index()].as_u32(),
        }
    }
}

/// The identity columns of the security tables, indexed by value (see
/// [`crate::access::Evaluator::match_index`]).
#[derive(Debug)]
pub(crate) struct MatchIndex<'r> {
    fields: Vec<TextIndex<'r>>,
    tables: Vec<TableIndex<'r>>,
    model: &'r Model,
}

impl<'r> MatchIndex<'r> {
    pub(super) fn new(rules: &'r Rules<'_>) -> Self {
        let model = rules.sec.as_ref();
        let mut fields: Vec<TextIndex<'r>> = Vec::new();
        let mut tables = Vec::new();
        let links = rules.links.key_fields();
        for (t, (table, st)) in model.tables().iter().zip(&rules.tables).enumerate() {
            if st.identity.is_empty() {
                continue;
            }
            // What a decision reads of a row: every cell but those of
            // identity columns, which only say whom the row matches —
            // unless they link the table to another (the selection then
            // spreads by their values).
            let content: Vec<&[SymbolId]> = table
                .fields()
                .filter(|f| links.contains(f) || !st.identity.iter().any(|(g, _)| g == f))
                .filter_map(|f| table.column(f))
                .collect();
            let mut cols: Vec<ColIndex<'r>> = Vec::new();
            for &(f, kind) in &st.identity {
                let Some(ids) = table.column(f) else { continue };
                let cells = rules.cells(f);
                let slot = match fields.iter().position(|x| x.field == f) {
                    Some(i) => i,
                    None => {
                        fields.push(TextIndex::new(model, f, kind, cells));
                        fields.len() - 1
                    }
                };
                cols.push(ColIndex {
                    slot,
                    ids,
                    cells,
                    legacy: kind == IdKind::Legacy,
                    rows: Lists::default(),
                });
            }
            // How many rows name each symbol, per column (one column:
            // nothing to choose, nothing counted).
            let value = |c: &ColIndex<'_>, r: usize| -> Option<SymbolId> {
                let id = *c.ids.get(r)?;
                matches!(c.cells.get(id.index()), Some(Cell::Value | Cell::Star)).then_some(id)
            };
            let mut freq: Vec<Vec<u32>> = Vec::new();
            if cols.len() > 1 {
                freq = cols.iter().map(|c| vec![0; c.cells.len()]).collect();
                for (c, f) in cols.iter().zip(&mut freq) {
                    for r in 0..table.len() {
                        if let Some(n) = value(c, r).and_then(|id| f.get_mut(id.index())) {
                            *n += 1;
                        }
                    }
                }
            }
            // Row `r`'s primary column; `Some(None)` for a universal row,
            // `None` for a row that matches nobody. Asked again per column
            // rather than kept: a million rows' answers are more memory to
            // fill than to recompute.
            let primary = |r: usize| -> Option<Option<usize>> {
                let mut best: Option<(u32, usize)> = None; // (rows named, column)
                for (ci, c) in cols.iter().enumerate() {
                    #[expect(
                        clippy::indexing_slicing,
                        reason = "INVARIANT: r < table.len(), which every column of the table holds"
                    )]
                    let id = c.ids[r];
                    match c.cells.get(id.index()) {
                        Some(Cell::Wild) => {}
                        Some(Cell::Value | Cell::Star) if !c.legacy => {
                            // One column: nothing counted, nothing to choose.
                            #[expect(
                                clippy::indexing_slicing,
                                reason = "INVARIANT: counted columns have a count per cell, and `id` has a cell"
                            )]
                            let n = freq.get(ci).map_or(0, |f| f[id.index()]);
                            if best.is_none_or(|(m, _)| n < m) {
                                best = Some((n, ci));
                            }
                        }
                        _ => return None,
                    }
                }
                Some(best.map(|(_, ci)| ci))
            };
            let rows = || table.row_ids().map(|row| (row.index(), row));
            let universal = rows()
                .filter(|&(r, _)| primary(r) == Some(None))
                .map(|(_, row)| row)
                .collect();
            // The primary rows by symbol, per column.
            let filed: Vec<Lists<RowId>> = cols
                .iter()
                .enumerate()
                .map(|(ci, c)| {
                    let mine = rows()
                        .filter(|&(r, _)| primary(r) == Some(Some(ci)))
                        .filter_map(|(r, row)| c.ids.get(r).map(|&id| (id.index(), row)));
                    Lists::grouped(c.cells.len(), mine)
                })
                .collect();
            for (c, rows) in cols.iter_mut().zip(filed) {
                c.rows = rows;
            }
            tables.push(TableIndex {
                table: t,
                cols,
                universal,
                content,
                rows: table.len(),
                class: OnceLock::new(),
            });
        }
        Self {
            fields,
            tables,
            model,
        }
    }

    /// A matcher reusing its buffers for many identities.
    pub(crate) fn matcher(&self) -> Matcher<'_, 'r> {
        Matcher {
            index: self,
            allowed: vec![Vec::new(); self.fields.len()],
            key: Vec::new(),
            content: Vec::new(),
            classes: Vec::new(),
        }
    }

    /// The rows a key stands for, per security table (`None` for a table
    /// without identity columns).
    pub(super) fn rows(&self, key: &[u32]) -> Vec<Option<RowSet>> {
        let mut out: Vec<Option<RowSet>> = vec![None; self.model.tables().len()];
        let mut rest = key;
        for t in &self.tables {
            let Some((&n, tail)) = rest.split_first() else {
                break;
            };
            let (mine, tail) = tail.split_at(tail.len().min(n as usize));
            rest = tail;
            // Both ascending, and disjoint (a universal row has no value).
            let mut rows = Vec::with_capacity(t.universal.len() + mine.len());
            // The key holds the rows as `Matcher::key_with` wrote them.
            let mine = mine.iter().map(|&r| RowId::from_raw(r));
            let (mut a, mut b) = (t.universal.iter().copied().peekable(), mine.peekable());
            loop {
                let next = match (a.peek(), b.peek()) {
                    (Some(&x), Some(&y)) if x <= y => a.next(),
                    (Some(_), Some(_)) | (None, Some(_)) => b.next(),
                    (Some(_), None) => a.next(),
                    (None, None) => break,
                };
                rows.extend(next);
            }
            if let Some(slot) = out.get_mut(t.table) {
                *slot = Some(RowSet::List(rows));
            }
        }
        out
    }
}

/// The class of each of `rows` rows whose cells are `columns`: rows with
/// equal cells have the same class, numbered in order of first row (one
/// column: its symbol ids are the classes, and `None` says so). Every
/// column holds `rows` cells (they are one table's columns).
fn row_classes(columns: &[&[SymbolId]], rows: usize) -> Option<Vec<u32>> {
    #[expect(
        clippy::indexing_slicing,
        reason = "INVARIANT: r < rows, which every content column holds"
    )]
    let cell = |c: &[SymbolId], r: usize| c[r];
    match *columns {
        [] => Some(vec![0; rows]),
        [one] if one.len() == rows => None,
        [one] => Some((0..rows).map(|r| cell(one, r).as_u32()).collect()),
        _ => Some(combined_classes(columns, rows).unwrap_or_else(|| hashed_classes(columns, rows))),
    }
}

/// [`row_classes`] of several columns, through a table of the rows' cells
/// by hash.
fn hashed_classes(columns: &[&[SymbolId]], rows: usize) -> Vec<u32> {
    #[expect(
        clippy::indexing_slicing,
        reason = "INVARIANT: r < rows, which every content column holds"
    )]
    let cell = |c: &[SymbolId], r: usize| c[r];
    let hasher = FixedState::default();
    let hash = |r: usize| {
        hasher.hash_one(
            columns
                .iter()
                .map(|c| cell(c, r))
                .fold(0u64, |h, id| h.rotate_left(21) ^ u64::from(id.as_u32())),
        )
    };
    let same = |a: usize, b: usize| columns.iter().all(|c| cell(c, a) == cell(c, b));
    // (hash, first row of the class, class)
    let mut seen: HashTable<(u64, RowId, u32)> = HashTable::new();
    let mut out = Vec::with_capacity(rows);
    // Classes are numbered in order of first row: never more than rows.
    let mut next = 0u32;
    // A table holds at most `MAX_ROWS`: every row has an id.
    for (r, first) in (0..rows).map_while(|r| Some((r, RowId::from_index(r)?))) {
        let h = hash(r);
        let class = match seen.find(h, |&(g, first, _)| g == h && same(first.index(), r)) {
            Some(&(_, _, class)) => class,
            None => {
                let class = next;
                next += 1;
                seen.insert_unique(h, (h, first, class), |&(g, _, _)| g);
                class
            }
        };
        out.push(class);
    }
    out
}

/// [`row_classes`] of several columns whose values make few combinations
/// (an `ACCESS` level and a country): each combination numbered through
/// a table of them all, without hashing. `None` when there would be more
/// combinations than rows.
fn combined_classes(columns: &[&[SymbolId]], rows: usize) -> Option<Vec<u32>> {
    #[expect(
        clippy::indexing_slicing,
        reason = "INVARIANT: r < rows, which every content column holds"
    )]
    let cell = |c: &[SymbolId], r: usize| c[r];
    // Per column, its values and NULL as digits `0..=max + 1`.
    let mut radix = Vec::with_capacity(columns.len());
    let mut combinations = 1usize;
    for &c in columns {
        let max = c
            .iter()
            .copied()
            .filter(|id| !id.is_null())
            .max()
            .map_or(0, |m| m.index() + 1);
        let digits = max.checked_add(1)?;
        combinations = combinations.checked_mul(digits).filter(|&n| n <= rows)?;
        radix.push(digits);
    }
    let digit = |id: SymbolId, digits: usize| {
        if id.is_null() {
            digits - 1
        } else {
            id.index().min(digits - 1)
        }
    };
    let mut class_of = vec![u32::MAX; combinations];
    let mut next = 0u32;
    let mut out = Vec::with_capacity(rows);
    for r in 0..rows {
        let at = columns.iter().zip(&radix).fold(0usize, |at, (c, &digits)| {
            at * digits + digit(cell(c, r), digits)
        });
        let class = match class_of.get_mut(at) {
            Some(slot) if *slot == u32::MAX => {
                *slot = next;
                next = next.saturating_add(1);
                *slot
            }
            Some(slot) => *slot,
            None => u32::MAX,
        };
        out.push(class);
    }
    Some(out)
}

/// Finds the rows identities match, through a [`MatchIndex`].
#[derive(Debug)]
pub(crate) struct Matcher<'i, 'r> {
    index: &'i MatchIndex<'r>,
    allowed: Vec<Vec<SymbolId>>,
    key: Vec<u32>,
    content: Vec<u32>,
    classes: Vec<u32>,
}

impl Matcher<'_, '_> {
    /// The last key made ([`Matcher::key_named`], [`Matcher::key_from`])
    /// by the classes of its rows: identities with equal contents get the
    /// same decision, whichever rows they match (see [`MatchIndex`]).
    pub(crate) fn content(&mut self) -> &[u32] {
        self.content.clear();
        let mut rest = self.key.as_slice();
        for t in &self.index.tables {
            let Some((&n, tail)) = rest.split_first() else {
                break;
            };
            let (mine, tail) = tail.split_at(tail.len().min(n as usize));
            rest = tail;
            self.classes.clear();
            // The key holds the rows as `Matcher::key_with` wrote them.
            self.classes
                .extend(mine.iter().map(|&r| t.class(RowId::from_raw(r))));
            if self.classes.len() > 1 {
                self.classes.sort_unstable();
                self.classes.dedup();
            }
            // No more classes than rows, which a table numbers in u32.
            #[expect(
                clippy::expect_used,
                reason = "INVARIANT: at most a table's rows, at most MAX_ROWS = u32::MAX"
            )]
            let count = u32::try_from(self.classes.len()).expect("classes fit a row count");
            self.content.push(count);
            self.content.extend_from_slice(&self.classes);
        }
        &self.content
    }

    /// The security rows `identity` matches, as a key: equal keys, equal
    /// decisions ([`crate::access::Evaluator::decide`]). Rows matching
    /// everyone are left out of the key (they are in every one). SPEC §4:
    /// AND across the identity columns of a row, `*` matches anyone, blank
    /// and legacy cells match nobody.
    ///
    /// For an identity read off a security symbol whose text is the
    /// identity's value for that field (`origin`): when no other symbol of
    /// the field has that text, the symbol is all the identity matches in
    /// that field, found without a lookup.
    pub(crate) fn key_from(&mut self, identity: &Identity, origin: Option<Origin>) -> &[u32] {
        self.key_with(origin, |kind, each| {
            for text in identity_texts(kind, identity) {
                each(text);
            }
        })
    }

    /// [`Matcher::key_from`] for an identity that is one value (what an
    /// audit lists off the security tables), without making an
    /// [`Identity`] for it.
    pub(crate) fn key_named(&mut self, named: Named<'_>, origin: Option<Origin>) -> &[u32] {
        self.key_with(origin, |kind, each| {
            if let Some(text) = named.text_for(kind) {
                each(text);
            }
        })
    }

    /// The key of the identity whose values for each kind of identity
    /// column `texts` gives, one call of its second argument each.
    fn key_with(
        &mut self,
        origin: Option<Origin>,
        texts: impl Fn(IdKind, &mut dyn FnMut(&str)),
    ) -> &[u32] {
        let index = self.index;
        for (field, allowed) in index.fields.iter().zip(&mut self.allowed) {
            allowed.clear();
            if let Some(o) = origin
                && o.field == field.field
                && field.unique(index.model)
            {
                allowed.push(o.symbol);
                continue;
            }
            texts(field.kind, &mut |text| {
                field.lookup(index.model, text, allowed)
            });
            if allowed.len() > 1 {
                allowed.sort_unstable();
                allowed.dedup();
            }
        }
        self.key.clear();
        for t in &index.tables {
            let at = self.key.len();
            self.key.push(0);
            for (ci, c) in t.cols.iter().enumerate() {
                let Some(own) = self.allowed.get(c.slot) else {
                    continue;
                };
                for &s in own {
                    for &r in c.rows.group(s.index()) {
                        let all = t.cols.iter().enumerate().all(|(cj, other)| {
                            cj == ci
                                || self
                                    .allowed
                                    .get(other.slot)
                                    .is_some_and(|a| other.accepts(r, a))
                        });
                        if all {
                            self.key.push(r.as_u32());
                        }
                    }
                }
            }
            let n = self.key.len() - at - 1;
            #[expect(
                clippy::indexing_slicing,
                clippy::expect_used,
                reason = "INVARIANT: `at` was pushed above; the rows after it are distinct rows of one table, at most MAX_ROWS = u32::MAX"
            )]
            {
                self.key[at + 1..].sort_unstable();
                self.key[at] = u32::try_from(n).expect("rows of a table fit u32");
            }
        }
        &self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn few_combinations_are_classed_as_by_hash() {
        // Columns of a few values, NULLs among them (every content column
        // holds a cell per row: they are a table's columns).
        let mut seed = 7u32;
        let mut next = move |n: u32| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (seed >> 16) % n
        };
        let id = |n: u32| SymbolId::from_index(n as usize).unwrap();
        let access: Vec<SymbolId> = (0..500).map(|_| id(next(2))).collect();
        let country: Vec<SymbolId> = (0..500)
            .map(|_| match next(12) {
                0 => SymbolId::NULL,
                n => id(n * 2),
            })
            .collect();
        let other: Vec<SymbolId> = (0..500).map(|_| id(next(4))).collect();
        for columns in [
            vec![access.as_slice(), country.as_slice()],
            vec![country.as_slice(), access.as_slice(), other.as_slice()],
        ] {
            let combined = combined_classes(&columns, 500);
            assert_eq!(combined, Some(hashed_classes(&columns, 500)));
        }
        // More combinations than rows: left to the hash.
        let wide: Vec<SymbolId> = (0..500).map(id).collect();
        assert_eq!(combined_classes(&[&wide, &access], 500), None);
        assert_eq!(
            row_classes(&[&wide, &access], 500),
            Some(hashed_classes(&[&wide, &access], 500))
        );
    }
}
