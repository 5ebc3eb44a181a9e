//! Tables: named columns of symbol ids, one per row, with where each row
//! of a security table came from.

use super::{BitSet, FieldId, RowId, SymbolId};
use crate::names::TableName;

/// Where a row came from, for security tables: a source file index (an
/// opaque number the loader maps to a path) and a 1-based line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct RowOrigin {
    /// Index of the file in the loader's source map.
    pub file: u32,
    /// 1-based line in that file.
    pub line: u32,
}

/// A column: the field it holds and one symbol id per row.
#[derive(Clone, Debug)]
pub struct Column {
    /// The field.
    pub field: FieldId,
    /// Symbol ids, [`SymbolId::NULL`] for a missing value.
    pub ids: Vec<SymbolId>,
}

/// A table: named columns of equal length.
#[derive(Clone, Debug)]
pub struct Table {
    /// The table's name.
    pub name: TableName,
    columns: Vec<Column>,
    rows: usize,
    origins: Option<Vec<RowOrigin>>,
    /// Where the rows came from, each source once, in order (what a QVD's
    /// lineage lists when the table is stored).
    lineage: Vec<String>,
    /// The SQL statements whose rows the table holds, each once, in order.
    sql: Vec<SqlOrigin>,
}

/// An SQL statement a table's rows came from: the connection's name as
/// the script names it, and the statement's line in the script.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SqlOrigin {
    /// The connection's name (never a password).
    pub connection: String,
    /// The line of the `SQL` statement.
    pub line: u32,
}

impl Table {
    /// An empty table with the given fields (in order, without duplicates).
    pub fn new(name: TableName, fields: &[FieldId]) -> Self {
        let mut columns: Vec<Column> = Vec::with_capacity(fields.len());
        for &field in fields {
            if !columns.iter().any(|c| c.field == field) {
                columns.push(Column {
                    field,
                    ids: Vec::new(),
                });
            }
        }
        Self {
            name,
            columns,
            rows: 0,
            origins: None,
            lineage: Vec::new(),
            sql: Vec::new(),
        }
    }

    /// Where the rows came from: a discriminator per source (`path;`,
    /// `INLINE;`, `RESIDENT T;` …), each once, in order.
    pub fn lineage(&self) -> &[String] {
        &self.lineage
    }

    /// Adds a source to [`Table::lineage`] unless it is there already.
    pub fn add_lineage(&mut self, source: &str) {
        if !self.lineage.iter().any(|l| l == source) {
            self.lineage.push(source.to_string());
        }
    }

    /// The SQL statements whose rows the table holds.
    pub fn sql(&self) -> &[SqlOrigin] {
        &self.sql
    }

    /// Adds a statement to [`Table::sql`] unless it is there already.
    pub fn add_sql(&mut self, origin: SqlOrigin) {
        if !self.sql.contains(&origin) {
            self.sql.push(origin);
        }
    }

    /// Keep the origin of every row from now on (security tables).
    pub fn track_origins(&mut self) {
        if self.origins.is_none() {
            self.origins = Some(vec![RowOrigin::default(); self.rows]);
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True when the table has no row.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The columns, in field order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The fields, in order.
    pub fn fields(&self) -> impl Iterator<Item = FieldId> + '_ {
        self.columns.iter().map(|c| c.field)
    }

    /// True when the table holds `field`.
    pub fn has_field(&self, field: FieldId) -> bool {
        self.columns.iter().any(|c| c.field == field)
    }

    /// The ids of one field's column.
    pub fn column(&self, field: FieldId) -> Option<&[SymbolId]> {
        self.columns
            .iter()
            .find(|c| c.field == field)
            .map(|c| c.ids.as_slice())
    }

    /// Position of a field among the columns.
    pub fn position(&self, field: FieldId) -> Option<usize> {
        self.columns.iter().position(|c| c.field == field)
    }

    /// Appends a row given one id per column, in column order; missing
    /// trailing ids are NULL, extra ones ignored.
    pub fn push_row(&mut self, ids: &[SymbolId], origin: Option<RowOrigin>) {
        for (i, col) in self.columns.iter_mut().enumerate() {
            col.ids.push(ids.get(i).copied().unwrap_or(SymbolId::NULL));
        }
        if let Some(origins) = &mut self.origins {
            origins.push(origin.unwrap_or_default());
        }
        self.rows += 1;
    }

    /// Adds a column (NULL in every existing row) unless the field is already
    /// there; returns its position.
    pub fn add_column(&mut self, field: FieldId) -> usize {
        if let Some(p) = self.position(field) {
            return p;
        }
        self.columns.push(Column {
            field,
            ids: vec![SymbolId::NULL; self.rows],
        });
        self.columns.len() - 1
    }

    /// Removes a field's column; true if it was there.
    pub fn drop_column(&mut self, field: FieldId) -> bool {
        let before = self.columns.len();
        self.columns.retain(|c| c.field != field);
        before != self.columns.len()
    }

    /// Mutable access to the columns, for bulk building (the caller keeps
    /// every column the same length and calls [`Table::set_len`]).
    pub fn columns_mut(&mut self) -> &mut [Column] {
        &mut self.columns
    }

    /// Sets the row count after bulk building through [`Table::columns_mut`].
    ///
    /// Returns false (and changes nothing) when a column's length differs.
    pub fn set_len(&mut self, rows: usize) -> bool {
        if self.columns.iter().any(|c| c.ids.len() != rows) {
            return false;
        }
        if let Some(origins) = &mut self.origins {
            origins.resize(rows, RowOrigin::default());
        }
        self.rows = rows;
        true
    }

    /// Where row `row` came from, when tracked.
    pub fn origin(&self, row: usize) -> Option<RowOrigin> {
        self.origins.as_ref()?.get(row).copied()
    }

    /// The id of every row, in order (a table holds at most
    /// [`MAX_ROWS`](super::MAX_ROWS) rows once checked, each with an id).
    pub fn row_ids(&self) -> impl Iterator<Item = RowId> + Clone + use<> {
        (0..self.rows).map_while(RowId::from_index)
    }

    /// Origins of every row, when tracked.
    pub fn origins(&self) -> Option<&[RowOrigin]> {
        self.origins.as_deref()
    }

    /// Replaces the origins (length must equal the row count; ignored otherwise).
    pub fn set_origins(&mut self, origins: Vec<RowOrigin>) {
        if origins.len() == self.rows {
            self.origins = Some(origins);
        }
    }

    /// Keeps only the rows for which `keep` is true, in order.
    pub fn retain_rows(&mut self, keep: &BitSet) {
        for col in &mut self.columns {
            col.ids = col
                .ids
                .iter()
                .enumerate()
                .filter(|&(i, _)| keep.contains(i))
                .map(|(_, &id)| id)
                .collect();
        }
        if let Some(origins) = &mut self.origins {
            *origins = origins
                .iter()
                .enumerate()
                .filter(|&(i, _)| keep.contains(i))
                .map(|(_, &o)| o)
                .collect();
        }
        self.rows = (0..self.rows).filter(|&i| keep.contains(i)).count();
    }

    /// The ids of row `row`, one per column.
    ///
    /// # Panics
    ///
    /// When `row` is not below [`Table::len`].
    pub fn row(&self, row: usize) -> impl Iterator<Item = SymbolId> + '_ {
        self.columns.iter().map(move |c| {
            #[expect(
                clippy::indexing_slicing,
                reason = "INVARIANT: every column holds `rows` ids (`push_row`, `add_column`, `set_len`) and row < rows"
            )]
            c.ids[row]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;
    use crate::names::FieldName;

    fn name(s: &str) -> FieldName {
        FieldName::new(s)
    }

    #[test]
    fn rows_and_columns() {
        let mut m = Model::new();
        let f = m.field(&name("A"));
        let g = m.field(&name("B"));
        let mut t = Table::new(TableName::new("T"), &[f, g, f]);
        assert_eq!(t.columns().len(), 2);
        t.track_origins();
        let id = |i| SymbolId::from_index(i).unwrap_or(SymbolId::NULL);
        t.push_row(&[id(1), id(2)], Some(RowOrigin { file: 0, line: 7 }));
        t.push_row(&[id(3)], None);
        assert_eq!(t.len(), 2);
        assert_eq!(t.column(g), Some(&[id(2), SymbolId::NULL][..]));
        assert_eq!(t.origin(0).map(|o| o.line), Some(7));
        assert_eq!(t.row_ids().map(RowId::index).collect::<Vec<_>>(), [0, 1]);
        let mut keep = BitSet::new(2);
        keep.insert(1);
        t.retain_rows(&keep);
        assert_eq!(t.column(f), Some(&[id(3)][..]));
        assert_eq!(t.origins().map(<[RowOrigin]>::len), Some(1));
    }
}
