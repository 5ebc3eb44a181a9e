//! The intermediate result of one LOAD level: named columns of local symbol
//! ids, each column with its own [`Symbols`].
//!
//! Sources (INLINE, files, RESIDENT, AUTOGENERATE) produce a frame; each
//! load level turns its input frame into an output frame; the runner finally
//! commits the top frame into a [`crate::model::Model`], re-interning each
//! column's *distinct* values once and mapping ids with integer work only.
//! A plain field reference therefore moves a column without touching a row.

use crate::model::{RowOrigin, SymbolId, Symbols, Value};

/// One column of a frame.
#[derive(Clone, Debug, Default)]
pub(super) struct FrameColumn {
    /// Local symbol id per row ([`SymbolId::NULL`] for NULL).
    pub(super) ids: Vec<SymbolId>,
    /// The column's distinct values.
    pub(super) syms: Symbols,
}

impl FrameColumn {
    /// The value of a row.
    pub(super) fn value(&self, row: usize) -> Value {
        match self.ids.get(row) {
            Some(&id) if !id.is_null() =>
            {
                #[expect(
                    clippy::expect_used,
                    reason = "INVARIANT: a column's ids other than NULL are symbols of its own syms"
                )]
                self.syms.get(id).expect("a column's ids are its symbols")
            }
            _ => Value::Null,
        }
    }

    /// Appends a value.
    pub(super) fn push(&mut self, v: Value) {
        let id = self.syms.intern(v);
        self.ids.push(id);
    }
}

/// Rows as named columns.
#[derive(Clone, Debug, Default)]
pub(super) struct Frame {
    /// Field names, in order.
    pub(super) names: Vec<String>,
    /// Columns, parallel to `names`.
    // INVARIANT: every column holds exactly `rows` ids.
    pub(super) cols: Vec<FrameColumn>,
    /// Row count (AUTOGENERATE frames have rows and no column).
    pub(super) rows: usize,
    /// Where each row came from, when known (security tables report it).
    pub(super) origins: Option<Vec<RowOrigin>>,
}

impl Frame {
    /// An empty frame with the given field names.
    pub(super) fn with_names(names: Vec<String>) -> Self {
        let cols = names.iter().map(|_| FrameColumn::default()).collect();
        Self {
            names,
            cols,
            rows: 0,
            origins: None,
        }
    }

    /// Position of a field by exact name.
    pub(super) fn position(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The value at a column and row.
    pub(super) fn value(&self, col: usize, row: usize) -> Value {
        self.cols.get(col).map_or(Value::Null, |c| c.value(row))
    }

    /// Keeps the rows whose index is in `keep` (ascending).
    pub(super) fn select_rows(&mut self, keep: &[usize]) {
        for c in &mut self.cols {
            #[expect(
                clippy::indexing_slicing,
                reason = "INVARIANT: keep holds rows < self.rows, and every column holds self.rows ids"
            )]
            let ids = keep.iter().map(|&r| c.ids[r]).collect();
            c.ids = ids;
        }
        if let Some(o) = &mut self.origins {
            *o = keep
                .iter()
                .map(|&r| o.get(r).copied().unwrap_or_default())
                .collect();
        }
        self.rows = keep.len();
    }

    /// Appends the rows of `other`, a frame of the same fields in the same
    /// order (the second half of a file): its values are interned into
    /// this frame's columns once each, its ids mapped with integer work.
    pub(super) fn append(&mut self, other: Frame) {
        for (mine, theirs) in self.cols.iter_mut().zip(other.cols) {
            mine.ids.reserve_exact(theirs.ids.len());
            if let Some(shift) = mine.syms.extend_run(&theirs.syms) {
                // A sequential key continuing across the halves.
                let syms = &mine.syms;
                mine.ids.extend(theirs.ids.iter().map(|&id| {
                    #[expect(
                        clippy::expect_used,
                        reason = "INVARIANT: extend_run appended theirs.syms to the run, so each of their ids shifted is one of its ids"
                    )]
                    syms.shifted(id, shift).expect("a shifted id is in the run")
                }));
                continue;
            }
            // One id per symbol of theirs.
            let map: Vec<SymbolId> = theirs
                .syms
                .ids()
                .map(|id| mine.syms.intern_from(&theirs.syms, id))
                .collect();
            mine.ids.extend(theirs.ids.iter().map(|&id| {
                if id.is_null() {
                    SymbolId::NULL
                } else {
                    #[expect(
                        clippy::indexing_slicing,
                        reason = "INVARIANT: a column's ids other than NULL are below its syms.len() = map.len()"
                    )]
                    map[id.index()]
                }
            }));
        }
        if let (Some(mine), Some(theirs)) = (&mut self.origins, other.origins) {
            mine.extend(theirs);
        }
        self.rows += other.rows;
    }

    /// Everything the frame holds as text: names, rows, each column's ids
    /// and values in id order, row lines. Two ways of reading the same
    /// input must give the same dump (ids included).
    #[cfg(test)]
    pub(super) fn dump(&self) -> String {
        let cols: Vec<(&[SymbolId], Vec<String>)> = self
            .cols
            .iter()
            .map(|c| {
                let values = c.syms.iter().map(|(_, v)| v.text().into_owned()).collect();
                (c.ids.as_slice(), values)
            })
            .collect();
        let lines: Vec<u32> = self.origins.iter().flatten().map(|o| o.line).collect();
        format!("{:?} {} {cols:?} {lines:?}", self.names, self.rows)
    }

    /// Truncates to at most `n` rows.
    pub(super) fn truncate(&mut self, n: usize) {
        if n >= self.rows {
            return;
        }
        for c in &mut self.cols {
            c.ids.truncate(n);
        }
        if let Some(o) = &mut self.origins {
            o.truncate(n);
        }
        self.rows = n;
    }

    /// Removes duplicate rows (by value), keeping the first of each.
    pub(super) fn distinct(&mut self) {
        let mut seen = std::collections::HashSet::new();
        let keep: Vec<usize> = (0..self.rows)
            .filter(|&r| {
                #[expect(
                    clippy::indexing_slicing,
                    reason = "INVARIANT: r < self.rows, and every column holds self.rows ids"
                )]
                let key: Vec<SymbolId> = self.cols.iter().map(|c| c.ids[r]).collect();
                seen.insert(key)
            })
            .collect();
        if keep.len() != self.rows {
            self.select_rows(&keep);
        }
    }
}
