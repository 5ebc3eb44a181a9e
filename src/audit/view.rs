//! What a grant shows: the reduction, hidden fields and rows per table,
//! one [`View`] shared by every grant that sees the same.

use std::sync::Arc;

use crate::access::report::TableReport;
use crate::access::{Decision, DenyReason, Outcome};
use crate::load::App;
use crate::model::FieldId;

/// What identities see: shared by the grants with the same outcome,
/// reduction and hidden fields.
#[derive(Clone, Debug, Default)]
pub struct View {
    /// S_f of every applied reduction field, values as text in Qlik's order
    /// (empty when denied).
    pub reduction: Vec<(String, Vec<String>)>,
    /// Reduction fields not applied (an ADMIN's field matching nothing).
    pub unreduced: Vec<String>,
    /// Omitted application fields, in model order.
    pub omitted: Vec<String>,
    /// Every application table: rows left, total, visible fields (rows are 0
    /// when denied).
    pub tables: Vec<TableView>,
}

impl View {
    /// Rows left in the application table named `table` (0 when no table
    /// has that name).
    pub fn rows(&self, table: &str) -> usize {
        self.tables
            .iter()
            .find(|t| &*t.name == table)
            .map_or(0, |t| t.rows)
    }
}

/// One application table as a [`View`] shows it.
#[derive(Clone, Debug)]
pub struct TableView {
    /// The table's name.
    pub name: Arc<str>,
    /// Rows left (0 when denied).
    pub rows: usize,
    /// Rows before reduction.
    pub total: usize,
    /// Visible fields: shared by the views that hide the same fields (an
    /// audit has a view per distinct reduction, a hundred thousand on a
    /// large app, and a handful of these lists).
    pub fields: Arc<[String]>,
}

impl TableView {
    /// The table as the JSON reports show it.
    pub fn report(&self) -> TableReport {
        TableReport {
            rows: self.rows,
            total: self.total,
            fields: self.fields.to_vec(),
        }
    }
}

/// The application tables with the fields left visible when `omitted`
/// are hidden (rows 0): what the views hiding these fields start from.
pub(super) fn table_shapes(app: &App, omitted: &[FieldId]) -> Vec<TableView> {
    let data = &app.data;
    data.tables()
        .iter()
        .map(|table| TableView {
            name: Arc::from(table.name.as_str()),
            rows: 0,
            total: table.len(),
            fields: table
                .fields()
                .filter(|f| !omitted.contains(f))
                .filter_map(|f| data.field_name(f).map(ToString::to_string))
                .collect(),
        })
        .collect()
}

/// A number per outcome, for the keys of [`View`]s.
pub(super) fn outcome_code(o: Outcome) -> u32 {
    match o.reason() {
        None => 0,
        Some(DenyReason::NoMatchingRow) => 1,
        Some(DenyReason::NoValidAccess) => 2,
        Some(DenyReason::StrictExclusion) => 3,
        Some(DenyReason::ReducedToNothing) => 4,
    }
}

/// The [`table_shapes`] made so far, by the fields they hide (an audit
/// meets few distinct sets).
#[derive(Default)]
pub(super) struct Shapes(Vec<(Vec<FieldId>, Vec<TableView>)>);

impl Shapes {
    pub(super) fn get(&mut self, app: &App, omitted: Vec<FieldId>) -> &[TableView] {
        let at = match self.0.iter().position(|(o, _)| *o == omitted) {
            Some(at) => at,
            None => {
                let shape = table_shapes(app, &omitted);
                self.0.push((omitted, shape));
                self.0.len() - 1
            }
        };
        self.0.get(at).map_or(&[], |(_, s)| s.as_slice())
    }
}

impl View {
    /// What `decision` shows, given the rows left per application table.
    pub(super) fn new(
        app: &App,
        decision: &Decision,
        counts: &[usize],
        shapes: &mut Shapes,
    ) -> Self {
        let data = &app.data;
        let granted = decision.outcome.is_granted();
        let tables = shapes
            .get(app, decision.omitted_ids())
            .iter()
            .enumerate()
            .map(|(t, shape)| TableView {
                rows: if granted {
                    #[expect(
                        clippy::indexing_slicing,
                        reason = "INVARIANT: a granted decision comes with its row counts, one per table as shapes"
                    )]
                    counts[t]
                } else {
                    0
                },
                ..shape.clone()
            })
            .collect();
        if !granted {
            return View {
                tables,
                ..View::default()
            };
        }
        View {
            reduction: decision.reduction_text(data),
            unreduced: decision
                .reduction
                .iter()
                .filter(|r| !r.applied)
                .map(|r| r.name.to_string())
                .collect(),
            omitted: decision
                .omitted
                .iter()
                .map(|(_, n)| n.to_string())
                .collect(),
            tables,
        }
    }
}
