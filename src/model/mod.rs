//! The data model: columnar tables over per-field symbol tables.
//!
//! Like Qlik's engine, each field's distinct values live once, in the field's
//! [`Symbols`], shared by every table holding that field; a column is a vector
//! of [`SymbolId`]s ([`SymbolId::NULL`] for a missing value). Two tables are
//! associated exactly when they hold a field of the same name, so key lookups
//! during reduction compare ids, never strings.
//!
//! A [`Model`] is one name space: the application tables form one model, the
//! security tables another (they never associate with each other, SPEC §1).
//! This module knows nothing of parsing or users.

mod bitset;
mod ids;
mod symbols;
mod table;
mod value;

use std::borrow::Cow;
use std::collections::HashMap;

use indexmap::IndexMap;

pub use bitset::BitSet;
pub(crate) use ids::IdList;
pub use ids::{RowId, SymbolId};
pub use symbols::Symbols;
pub(crate) use symbols::{spread, tag};
pub use table::{Column, RowOrigin, SqlOrigin, Table};
pub(crate) use value::num_bits as value_bits;
pub use value::{Value, format_number, parse_number};

use crate::names::{FieldName, TableName};

/// How many distinct values a field can hold: every `u32` but
/// [`SymbolId::NULL`]'s.
pub const MAX_SYMBOLS: usize = u32::MAX as usize;

/// How many rows a table can hold: rows are counted and numbered in `u32`
/// wherever a row is kept per row (origins, audits).
pub const MAX_ROWS: usize = u32::MAX as usize;

/// How many fields a model can hold: ids below [`NO_FIELD`].
pub const MAX_FIELDS: usize = u32::MAX as usize;

/// The id [`Model::field`] gives past [`MAX_FIELDS`]: no field has it.
pub const NO_FIELD: FieldId = FieldId(u32::MAX);

/// A limit of the model passed: the tables are then wrong and must not be
/// used. Checked once per table built ([`Model::check_capacity`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Capacity {
    /// A field got more distinct values than it has ids.
    #[error("field {0} has more than {MAX_SYMBOLS} distinct values, the most a field can hold")]
    Symbols(FieldName),
    /// A model got more fields than it can number.
    #[error("the script makes more than {MAX_FIELDS} fields, the most a model can hold")]
    Fields,
    /// A table got more rows than it can number.
    #[error("table {0} has more than {MAX_ROWS} rows, the most a table can hold")]
    Rows(TableName),
}

/// Index of a field in its [`Model`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub u32);

/// One name space of tables and fields.
#[derive(Clone, Debug, Default)]
pub struct Model {
    // INVARIANT: at most `MAX_FIELDS` fields, so every position is a `FieldId`.
    fields: IndexMap<FieldName, Symbols>,
    tables: Vec<Table>,
    /// A field was asked for past [`MAX_FIELDS`] and got [`NO_FIELD`].
    fields_full: bool,
}

impl Model {
    /// An empty model.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of a field, creating it (with no values) if new.
    ///
    /// Past [`MAX_FIELDS`] fields a new name is not created: it gets
    /// [`NO_FIELD`], which names no field, and [`Model::check_capacity`]
    /// reports the model as too large.
    pub fn field(&mut self, name: &FieldName) -> FieldId {
        if let Some(i) = self.fields.get_index_of(name.as_str()) {
            return Self::field_id(i);
        }
        if self.fields.len() >= MAX_FIELDS {
            self.fields_full = true;
            return NO_FIELD;
        }
        let (i, _) = self.fields.insert_full(name.clone(), Symbols::default());
        Self::field_id(i)
    }

    /// The id of the field at position `i` of `fields`.
    fn field_id(i: usize) -> FieldId {
        // INVARIANT: `i < fields.len() <= MAX_FIELDS = u32::MAX` (`field`
        // creates no field past it), so the cast is exact and never `NO_FIELD`.
        FieldId(i as u32)
    }

    /// The id of a field by exact name.
    pub fn find_field(&self, name: &str) -> Option<FieldId> {
        self.fields
            .get_index_of(name)
            .and_then(|i| u32::try_from(i).ok())
            .map(FieldId)
    }

    /// The name of a field.
    pub fn field_name(&self, id: FieldId) -> Option<&FieldName> {
        self.fields.get_index(id.0 as usize).map(|(k, _)| k)
    }

    /// The symbols of a field.
    pub fn symbols(&self, id: FieldId) -> Option<&Symbols> {
        self.fields.get_index(id.0 as usize).map(|(_, v)| v)
    }

    /// Mutable symbols of a field (for interning).
    pub fn symbols_mut(&mut self, id: FieldId) -> Option<&mut Symbols> {
        self.fields.get_index_mut(id.0 as usize).map(|(_, v)| v)
    }

    /// Interns a value in a field; [`SymbolId::NULL`] for NULL or an
    /// unknown field.
    pub fn intern(&mut self, field: FieldId, value: Value) -> SymbolId {
        self.symbols_mut(field)
            .map_or(SymbolId::NULL, |s| s.intern(value))
    }

    /// The text of a symbol of a field, borrowed where stored (see
    /// [`Symbols::text`]).
    pub fn text(&self, field: FieldId, id: SymbolId) -> Option<Cow<'_, str>> {
        self.symbols(field)?.text(id)
    }

    /// The value of a symbol of a field.
    pub fn value(&self, field: FieldId, id: SymbolId) -> Option<Value> {
        self.symbols(field)?.get(id)
    }

    /// Every field ever created, with its id (fields of dropped tables
    /// included; see [`Model::live_fields`]).
    pub fn fields(&self) -> impl Iterator<Item = (FieldId, &FieldName)> {
        (0u32..)
            .zip(self.fields.keys())
            .map(|(i, k)| (FieldId(i), k))
    }

    /// Fields held by at least one table, in first-seen order.
    pub fn live_fields(&self) -> Vec<FieldId> {
        self.fields()
            .map(|(id, _)| id)
            .filter(|&id| self.tables.iter().any(|t| t.has_field(id)))
            .collect()
    }

    /// The tables, in load order.
    pub fn tables(&self) -> &[Table] {
        &self.tables
    }

    /// Mutable tables.
    pub fn tables_mut(&mut self) -> &mut [Table] {
        &mut self.tables
    }

    /// Position of a table by exact name.
    pub fn table_index(&self, name: &str) -> Option<usize> {
        self.tables.iter().position(|t| t.name.as_str() == name)
    }

    /// A table by exact name.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name.as_str() == name)
    }

    /// A mutable table by exact name.
    pub fn table_mut(&mut self, name: &str) -> Option<&mut Table> {
        self.tables.iter_mut().find(|t| t.name.as_str() == name)
    }

    /// The first limit passed by a field or a table, if any: a value that
    /// arrived when its field was full got [`SymbolId::NULL`], so the model
    /// is wrong.
    pub fn check_capacity(&self) -> Result<(), Capacity> {
        if self.fields_full {
            return Err(Capacity::Fields);
        }
        if let Some((name, _)) = self.fields.iter().find(|(_, s)| s.is_full()) {
            return Err(Capacity::Symbols(name.clone()));
        }
        match self.tables.iter().find(|t| t.len() > MAX_ROWS) {
            Some(t) => Err(Capacity::Rows(t.name.clone())),
            None => Ok(()),
        }
    }

    /// Adds a table at the end; returns its position.
    pub fn push_table(&mut self, table: Table) -> usize {
        self.tables.push(table);
        self.tables.len() - 1
    }

    /// Removes a table by name and returns it.
    pub fn remove_table(&mut self, name: &str) -> Option<Table> {
        let i = self.table_index(name)?;
        Some(self.tables.remove(i))
    }

    /// The symbols of `field` that some table holds (a field keeps values
    /// no row holds any more, e.g. after a `WHERE` or a dropped table).
    pub fn present(&self, field: FieldId) -> BitSet {
        let mut present = BitSet::new(self.symbols(field).map_or(0, Symbols::len));
        for column in self.tables.iter().filter_map(|t| t.column(field)) {
            for &id in column {
                if !id.is_null() {
                    present.insert(id.index());
                }
            }
        }
        present
    }

    /// Tables holding a field.
    pub fn tables_with(&self, field: FieldId) -> impl Iterator<Item = &Table> {
        self.tables.iter().filter(move |t| t.has_field(field))
    }

    /// Renames a field everywhere. When `to` already exists, the values are
    /// re-interned into it (the two fields become one, as in Qlik).
    pub fn rename_field(&mut self, from: FieldId, to: &FieldName) -> FieldId {
        if let Some(existing) = self.find_field(to.as_str()) {
            if existing == from {
                return from;
            }
            // Merge: re-intern every column of `from` into `existing`, table
            // by table. A table holding both keeps the target column, but
            // its values of `from` are interned all the same: ids follow
            // the order values arrive in.
            let Some(old) = self.symbols(from).cloned() else {
                return existing;
            };
            let Self { fields, tables, .. } = self;
            let Some((_, target)) = fields.get_index_mut(existing.0 as usize) else {
                return existing;
            };
            for table in tables.iter_mut() {
                let Some(pos) = table.position(from) else {
                    continue;
                };
                let holds_target = table.has_field(existing);
                #[expect(
                    clippy::indexing_slicing,
                    reason = "INVARIANT: position() gives an index into columns"
                )]
                let col = &mut table.columns_mut()[pos];
                let mut map: HashMap<SymbolId, SymbolId> = HashMap::new();
                for id in col.ids.iter_mut().filter(|id| !id.is_null()) {
                    *id = *map
                        .entry(*id)
                        .or_insert_with(|| target.intern_from(&old, *id));
                }
                if holds_target {
                    table.drop_column(from);
                } else {
                    col.field = existing;
                }
            }
            existing
        } else {
            // Fresh name: move the symbol table under the new key, keeping
            // the id (and so every column) unchanged.
            let idx = from.0 as usize;
            if let Some((_, symbols)) = self.fields.get_index(idx) {
                let symbols = symbols.clone();
                self.fields.insert(to.clone(), symbols);
                // The new key went to the end; swap it back into place.
                let last = self.fields.len() - 1;
                self.fields.swap_indices(idx, last);
                self.fields.pop();
            }
            from
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> FieldName {
        FieldName::new(s)
    }

    #[test]
    fn a_field_past_the_last_id_fails_the_capacity_check() {
        // 4 billion fields cannot be made in a test: the model as `field`
        // leaves it when asked for one more.
        let mut m = Model::new();
        m.field(&FieldName::new("A"));
        assert_eq!(m.check_capacity(), Ok(()));
        m.fields_full = true;
        assert_eq!(m.check_capacity(), Err(Capacity::Fields));
        assert!(m.field_name(NO_FIELD).is_none(), "NO_FIELD names no field");
        assert!(Capacity::Fields.to_string().contains("fields"));
    }

    #[test]
    fn a_full_field_gives_no_id_and_fails_the_capacity_check() {
        let mut m = Model::new();
        let f = m.field(&FieldName::new("ID"));
        assert_eq!(m.check_capacity(), Ok(()));
        let Some(symbols) = m.symbols_mut(f) else {
            panic!("field just made")
        };
        // A run of every id but NULL: ids 0 ..= NULL - 1 are taken.
        *symbols = Symbols::with_every_id_taken();
        let last = f64::from(u32::MAX - 1);
        assert_eq!(
            symbols.intern(Value::Num(last)),
            SymbolId::from_index(MAX_SYMBOLS - 1).unwrap_or(SymbolId::NULL)
        );
        assert!(!symbols.is_full(), "a value already there is found");
        assert_eq!(symbols.intern(Value::Num(last + 1.0)), SymbolId::NULL);
        assert!(symbols.is_full());
        assert_eq!(symbols.intern_text("new"), SymbolId::NULL);
        assert_eq!(symbols.len(), MAX_SYMBOLS, "nothing was added");
        assert_eq!(
            m.check_capacity(),
            Err(Capacity::Symbols(FieldName::new("ID")))
        );
    }

    #[test]
    fn one_symbol_table_per_field_shared_by_tables() {
        let mut m = Model::new();
        let country = m.field(&name("COUNTRY"));
        let a = m.intern(country, Value::from_text("US"));
        let b = m.intern(country, Value::from_text("US"));
        assert_eq!(a, b);
        assert_eq!(m.field(&name("COUNTRY")), country);
        let n1 = m.intern(country, Value::from_text("01"));
        let n2 = m.intern(country, Value::from_text("1"));
        assert_eq!(n1, n2, "numbers intern by value");
        assert_eq!(
            m.value(country, n2).map(|v| v.text().into_owned()),
            Some("01".into())
        );
        assert_eq!(m.intern(country, Value::Null), SymbolId::NULL);
    }

    #[test]
    fn renaming_onto_an_existing_field_merges_symbols() {
        let mut m = Model::new();
        let a = m.field(&name("a"));
        let b = m.field(&name("b"));
        let mut t1 = Table::new(TableName::new("T1"), &[a]);
        let x = m.intern(a, Value::from_text("x"));
        t1.push_row(&[x], None);
        let mut t2 = Table::new(TableName::new("T2"), &[b]);
        let y = m.intern(b, Value::from_text("y"));
        let x2 = m.intern(b, Value::from_text("x"));
        t2.push_row(&[y], None);
        t2.push_row(&[x2], None);
        m.push_table(t1);
        m.push_table(t2);
        let merged = m.rename_field(a, &name("b"));
        assert_eq!(merged, b);
        let col = m
            .table("T1")
            .and_then(|t| t.column(b))
            .map(<[SymbolId]>::to_vec);
        assert_eq!(col, Some(vec![x2]));
        assert_eq!(m.live_fields(), vec![b]);
    }

    #[test]
    fn renaming_to_a_new_name_keeps_ids() {
        let mut m = Model::new();
        let a = m.field(&name("a"));
        let _b = m.field(&name("b"));
        let renamed = m.rename_field(a, &name("c"));
        assert_eq!(renamed, a);
        assert_eq!(m.field_name(a).map(FieldName::as_str), Some("c"));
        assert_eq!(m.find_field("a"), None);
        assert_eq!(m.find_field("b"), Some(FieldId(1)));
    }
}
