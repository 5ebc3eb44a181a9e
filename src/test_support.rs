//! Hand-built models and apps for unit tests (no parser or runner needed).

use crate::load::App;
use crate::model::{Model, RowOrigin, SymbolId, Table, Value};
use crate::names::{FieldName, TableName};

/// A cell that is NULL (any other text, the empty one included, is a value).
pub(crate) const NULL_CELL: &str = "<null>";

/// Builds a [`Model`] table by table; cells are read like file cells
/// (numbers become duals).
#[derive(Default)]
pub(crate) struct ModelBuilder {
    model: Model,
    next_line: u32,
}

impl ModelBuilder {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds a table; security rows get consecutive script lines.
    pub(crate) fn table(mut self, name: &str, fields: &[&str], rows: &[&[&str]]) -> Self {
        let ids: Vec<_> = fields
            .iter()
            .map(|f| self.model.field(&FieldName::new(f)))
            .collect();
        let mut table = Table::new(TableName::new(name), &ids);
        table.track_origins();
        self.next_line += 1; // the header line
        for row in rows {
            self.next_line += 1;
            let cells: Vec<SymbolId> = ids
                .iter()
                .zip(row.iter())
                .map(|(&f, &cell)| {
                    let v = if cell == NULL_CELL {
                        Value::Null
                    } else {
                        Value::from_text(cell)
                    };
                    self.model.intern(f, v)
                })
                .collect();
            table.push_row(
                &cells,
                Some(RowOrigin {
                    file: 0,
                    line: self.next_line,
                }),
            );
        }
        self.model.push_table(table);
        self
    }

    pub(crate) fn build(self) -> Model {
        self.model
    }
}

/// An app from its security and data models.
pub(crate) fn app(access: ModelBuilder, data: ModelBuilder) -> App {
    App {
        access: access.build(),
        data: data.build(),
        has_section_access: true,
        ..App::default()
    }
}
