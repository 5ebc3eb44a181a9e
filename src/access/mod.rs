//! Who gets in, and with which reduction (evaluation phase).
//!
//! Owns SPEC §2–§6 and §8: the security tables are compiled once into
//! [`Evaluator`] rules (identity columns, `ACCESS`, reduction fields, `OMIT`,
//! the links between several security tables); an [`Identity`] is then
//! matched row by row (AND across identity columns, `*`, blank cells, legacy
//! fields), the selection spreads to the other security tables through their
//! shared fields, and the kept rows give the access level, the reduction
//! values S_f, strict exclusion and the omitted fields. A grant is applied to
//! the data with [`crate::reduce`] so that a USER reduced to nothing is
//! denied too.
//!
//! Every decision carries its reasons: the security rows that matched (with
//! their script line) and a [`Note`] for each inferred rule (SPEC's \[inf\]) it
//! relied on. Deny by default: a cell that cannot be checked never matches.
//! This module knows nothing of parsing or tokens.

pub mod report;
mod rules;

use std::borrow::Cow;
use std::path::PathBuf;

use serde::Serialize;

use crate::load::{App, Uppercase};
use crate::model::{FieldId, Model, SymbolId};
use crate::names::{FieldName, Identity, TableName};
use crate::reduce::{Reduced, ReducedTable};

pub use report::PreviewReport;
pub use rules::{Evaluator, SYSTEM_FIELDS};
pub(crate) use rules::{IdCell, IdText, MatchIndex, Matcher, Named, Origin, RulesShape};

/// The Qlik product whose rules apply (SPEC §4, §5.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Product {
    /// Qlik Sense, Qlik Cloud, Qlik Core: `*` is always a wildcard, strict
    /// exclusion is always on.
    #[default]
    Sense,
    /// QlikView: `*` is a wildcard only after `Star is *;`, strict exclusion
    /// is a document switch, and a server treats ADMIN as USER.
    QlikView,
}

/// How to evaluate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Options {
    /// Which product's rules apply.
    pub product: Product,
    /// QlikView's "initial data reduction / strict exclusion" switch; always
    /// on for Sense whatever this says.
    pub strict_exclusion: bool,
    /// QlikView on a server: ADMIN rows are treated as USER rows.
    pub server: bool,
    /// Which security values are upper-cased (SPEC §3).
    pub uppercase: Uppercase,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            product: Product::Sense,
            strict_exclusion: true,
            server: false,
            uppercase: Uppercase::Inline,
        }
    }
}

impl Options {
    /// True when an empty S_f denies a USER (SPEC §5.4).
    pub fn strict(&self) -> bool {
        self.product == Product::Sense || self.strict_exclusion
    }
}

/// The access level of a granted identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AccessLevel {
    /// Sees everything its reduction allows; an empty reduction is not applied.
    Admin,
    /// Subject to strict exclusion and reduced-to-nothing.
    User,
}

impl AccessLevel {
    /// `ADMIN` or `USER`.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::Admin => "ADMIN",
            AccessLevel::User => "USER",
        }
    }
}

/// Why an identity is denied (SPEC §8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DenyReason {
    /// No security row matches the identity.
    NoMatchingRow,
    /// Rows match, none has `ACCESS` `ADMIN` or `USER`.
    NoValidAccess,
    /// A USER with S_f = ∅ for some reduction field.
    StrictExclusion,
    /// A USER whose reduction leaves a reduced table without rows.
    ReducedToNothing,
}

impl DenyReason {
    /// The stable code of SPEC §8.
    pub fn code(self) -> &'static str {
        match self {
            DenyReason::NoMatchingRow => "no-matching-row",
            DenyReason::NoValidAccess => "no-valid-access",
            DenyReason::StrictExclusion => "strict-exclusion",
            DenyReason::ReducedToNothing => "reduced-to-nothing",
        }
    }
}

/// Granted or denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The identity opens the app.
    Granted,
    /// The engine answers "Access denied".
    Denied(DenyReason),
}

impl Outcome {
    /// True when granted.
    pub fn is_granted(self) -> bool {
        self == Outcome::Granted
    }

    /// The denial reason, if denied.
    pub fn reason(self) -> Option<DenyReason> {
        match self {
            Outcome::Granted => None,
            Outcome::Denied(r) => Some(r),
        }
    }
}

/// A security row the identity matched (directly, or through the association
/// of several security tables).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchedRow {
    /// The security table.
    pub table: TableName,
    /// 1-based row number in that table.
    pub row: usize,
    /// The script file the row came from, when known.
    pub file: Option<PathBuf>,
    /// 1-based line in that file, when known.
    pub line: Option<u32>,
    /// False when the row was dropped because its `ACCESS` is neither `ADMIN`
    /// nor `USER`.
    pub kept: bool,
}

/// S_f for one reduction field.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldReduction {
    /// The field (in the application model).
    pub field: FieldId,
    /// Its name.
    pub name: FieldName,
    /// The matching data values (symbol ids of the application field), in
    /// Qlik's sort order.
    pub values: Vec<SymbolId>,
    /// False when S_f = ∅ and the field is therefore not applied (an ADMIN,
    /// or QlikView without strict exclusion).
    pub applied: bool,
}

/// A remark attached to a decision: an inferred rule it relied on (SPEC's
/// \[inf\]), or something in the script that deserves a look.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Note {
    /// Stable kebab-case code.
    pub code: &'static str,
    /// Lower-case sentence, user input in backticks.
    pub message: String,
}

impl Note {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// The answer for one identity, with its reasons.
#[derive(Clone, Debug)]
pub struct Decision {
    /// Granted, or denied with a reason.
    pub outcome: Outcome,
    /// ADMIN if any kept row is ADMIN, else USER; `None` when no row was kept
    /// (or the app has no section access).
    pub access: Option<AccessLevel>,
    /// Security rows matched, in table and row order.
    pub matched_rows: Vec<MatchedRow>,
    /// S_f for every reduction field, in security-field order.
    pub reduction: Vec<FieldReduction>,
    /// Application fields hidden by OMIT, by name.
    pub omitted: Vec<(FieldId, FieldName)>,
    /// Inferred rules used and remarks, without duplicates, in the order they
    /// arose.
    pub notes: Vec<Note>,
    /// The reduced application model (granted, and reduced-to-nothing).
    pub reduced: Option<Reduced>,
}

impl Decision {
    /// S_f of the applied fields as text (field name, values in Qlik's
    /// sort order), as reports and views show it.
    pub fn reduction_text(&self, data: &Model) -> Vec<(String, Vec<String>)> {
        self.reduction
            .iter()
            .filter(|r| r.applied)
            .map(|r| {
                let values = r
                    .values
                    .iter()
                    .filter_map(|&id| data.text(r.field, id))
                    .map(Cow::into_owned)
                    .collect();
                (r.name.to_string(), values)
            })
            .collect()
    }

    /// Ids of the omitted fields.
    pub fn omitted_ids(&self) -> Vec<FieldId> {
        self.omitted.iter().map(|(f, _)| *f).collect()
    }

    /// The application tables as this identity sees them (granted only).
    pub fn tables<'a>(
        &'a self,
        data: &'a Model,
        omitted: &'a [FieldId],
    ) -> Option<impl Iterator<Item = ReducedTable<'a>> + 'a> {
        if !self.outcome.is_granted() {
            return None;
        }
        Some(self.reduced.as_ref()?.tables(data, omitted))
    }
}

/// Evaluates one identity against an app (compiles the rules each time; use
/// an [`Evaluator`] for many identities).
pub fn evaluate(app: &App, identity: &Identity, opts: &Options) -> Decision {
    Evaluator::new(app, *opts).evaluate(identity)
}

/// Sorts symbol ids of a field (never [`SymbolId::NULL`]) in Qlik's
/// order of their values.
pub(crate) fn sort_ids(model: &Model, field: FieldId, ids: &mut [SymbolId]) {
    #[expect(
        clippy::expect_used,
        reason = "INVARIANT: callers pass symbol ids of `field`, read from its columns or symbols"
    )]
    ids.sort_by(|&a, &b| {
        let va = model.value(field, a).expect("a symbol of the field");
        let vb = model.value(field, b).expect("a symbol of the field");
        va.sort_cmp(&vb)
    });
}

/// Text of a cell, `None` for NULL.
pub(crate) fn cell_text(model: &Model, field: FieldId, id: SymbolId) -> Option<Cow<'_, str>> {
    model.text(field, id)
}

#[cfg(test)]
mod tests;
