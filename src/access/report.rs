//! The stable JSON of `section-access preview --format json`.
//!
//! One object per identity, keys in this order (DESIGN.md):
//!
//! ```json
//! {
//!   "identity": {"userid": "US-USER", "email": null, "groups": []},
//!   "decision": "granted",
//!   "reason": null,
//!   "access": "USER",
//!   "matched_rows": [{"table": "SA", "row": 2, "line": 4}],
//!   "reduction": {"COUNTRY": ["US"]},
//!   "omitted": [],
//!   "tables": {"Sales": {"rows": 3, "total": 9, "fields": ["COUNTRY", "PRODUCT", "SALES_AMOUNT"]}},
//!   "notes": []
//! }
//! ```
//!
//! - `identity`: the identity as compared, upper-cased; `groups` sorted.
//! - `decision`: `granted` or `denied`; `reason`: null when granted, else one
//!   of `no-matching-row`, `no-valid-access`, `strict-exclusion`,
//!   `reduced-to-nothing`.
//! - `access`: `ADMIN` or `USER` when granted (null when denied, and when the
//!   script has no section access).
//! - `matched_rows`: every security row the identity matched, directly or
//!   through the association of security tables, rows dropped for an invalid
//!   `ACCESS` included; `row` is 1-based, `line` the script line (null when
//!   unknown). Present for denied identities too.
//! - `reduction`: S_f of every applied reduction field, values as text in
//!   Qlik's sort order (numbers ascending, then text); a field not applied
//!   (an ADMIN's field matching nothing) is not listed.
//! - `omitted`: application fields hidden by OMIT, in model order.
//! - `tables`: every application table after reduction: surviving `rows`, the
//!   `total` before, and the visible `fields` (omitted ones removed).
//! - `notes`: `{"code", "message"}` for each inferred rule (\[inf\]) the
//!   decision relied on and each remark on the script, in the order they
//!   arose.
//!
//! A denied identity gets `reduction: {}`, `omitted: []`, `tables: {}` and
//! `access: null`: it sees nothing. Its notes still say why.

use indexmap::IndexMap;
use serde::Serialize;

use super::{AccessLevel, Decision, Note, Outcome};
use crate::load::App;
use crate::names::Identity;

/// The `preview --format json` object (see the module documentation).
#[derive(Clone, Debug, Serialize)]
pub struct PreviewReport {
    /// Who asked.
    pub identity: IdentityReport,
    /// `granted` or `denied`.
    pub decision: &'static str,
    /// SPEC §8 code when denied.
    pub reason: Option<&'static str>,
    /// Access level when granted.
    pub access: Option<AccessLevel>,
    /// Security rows matched.
    pub matched_rows: Vec<RowReport>,
    /// S_f per applied field.
    pub reduction: IndexMap<String, Vec<String>>,
    /// Hidden application fields.
    pub omitted: Vec<String>,
    /// Application tables after reduction.
    pub tables: IndexMap<String, TableReport>,
    /// Inferred rules and remarks.
    pub notes: Vec<Note>,
    /// The tables loaded from SQL, when there are any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sql: Vec<crate::load::SqlSource>,
}

/// The identity part of a [`PreviewReport`].
#[derive(Clone, Debug, Serialize)]
pub struct IdentityReport {
    /// Upper-cased user id.
    pub userid: Option<String>,
    /// Upper-cased e-mail.
    pub email: Option<String>,
    /// Upper-cased groups, sorted.
    pub groups: Vec<String>,
}

impl From<&Identity> for IdentityReport {
    fn from(identity: &Identity) -> Self {
        Self {
            userid: identity.userid.as_ref().map(ToString::to_string),
            email: identity.email.as_ref().map(ToString::to_string),
            groups: identity.groups.iter().map(ToString::to_string).collect(),
        }
    }
}

/// A matched security row.
#[derive(Clone, Debug, Serialize)]
pub struct RowReport {
    /// Security table.
    pub table: String,
    /// 1-based row.
    pub row: usize,
    /// Script line.
    pub line: Option<u32>,
}

/// One application table after reduction.
#[derive(Clone, Debug, Serialize)]
pub struct TableReport {
    /// Rows left.
    pub rows: usize,
    /// Rows before reduction.
    pub total: usize,
    /// Visible fields.
    pub fields: Vec<String>,
}

impl PreviewReport {
    /// The report of a decision on `app` for `identity`.
    pub fn new(app: &App, identity: &Identity, decision: &Decision) -> Self {
        let counts: Option<Vec<usize>> = decision
            .reduced
            .as_ref()
            .map(|r| (0..app.data.tables().len()).map(|t| r.count(t)).collect());
        Self::with_counts(app, identity, decision, counts.as_deref())
    }

    /// [`PreviewReport::new`] given the rows left per application table
    /// (in model order) rather than the decision's reduction: counts from
    /// per-value parts, with no reduction made. No tables when denied or
    /// without counts.
    pub fn with_counts(
        app: &App,
        identity: &Identity,
        decision: &Decision,
        counts: Option<&[usize]>,
    ) -> Self {
        let granted = decision.outcome == Outcome::Granted;
        let omitted_ids = decision.omitted_ids();
        let data = &app.data;
        let tables = match (granted, counts) {
            (true, Some(counts)) => data
                .tables()
                .iter()
                .zip(counts)
                .map(|(t, &rows)| {
                    (
                        t.name.to_string(),
                        TableReport {
                            rows,
                            total: t.len(),
                            fields: t
                                .fields()
                                .filter(|f| !omitted_ids.contains(f))
                                .filter_map(|f| data.field_name(f))
                                .map(ToString::to_string)
                                .collect(),
                        },
                    )
                })
                .collect(),
            _ => IndexMap::new(),
        };
        Self {
            sql: app.sql_sources(),
            identity: IdentityReport::from(identity),
            decision: if granted { "granted" } else { "denied" },
            reason: decision.outcome.reason().map(super::DenyReason::code),
            access: if granted { decision.access } else { None },
            matched_rows: decision
                .matched_rows
                .iter()
                .map(|m| RowReport {
                    table: m.table.to_string(),
                    row: m.row,
                    line: m.line,
                })
                .collect(),
            reduction: if granted {
                decision.reduction_text(&app.data).into_iter().collect()
            } else {
                IndexMap::new()
            },
            omitted: if granted {
                decision
                    .omitted
                    .iter()
                    .map(|(_, n)| n.to_string())
                    .collect()
            } else {
                Vec::new()
            },
            tables,
            notes: decision.notes.clone(),
        }
    }
}
