//! The `audit --format json` contract as types.

use indexmap::IndexMap;
use serde::Serialize;

use crate::access::AccessLevel;
use crate::access::report::{IdentityReport, TableReport};
use crate::names::Identity;

use super::{Finding, Verdict};

/// The `audit --format json` object:
///
/// ```json
/// {
///   "identities": [
///     {
///       "identity": {"userid": "US-USER", "email": null, "groups": []},
///       "decision": "granted",
///       "reason": null,
///       "access": "USER",
///       "reduction": {"COUNTRY": ["US"]},
///       "omitted": [],
///       "tables": {"Sales": {"rows": 3, "total": 9, "fields": ["COUNTRY", "SALES"]}}
///     }
///   ],
///   "findings": [
///     {"code": "no-scheduler-admin", "severity": "warning", "message": "…",
///      "location": null, "help": "…"}
///   ]
/// }
/// ```
///
/// `identities` are sorted: users, then e-mails, then group members.
/// Fields mean what they mean in the preview JSON
/// ([`crate::access::report`]), except that `tables` is listed for a
/// denied identity too, with `rows: 0`. `findings` are [`Finding`]s.
#[derive(Clone, Debug, Serialize)]
pub struct AuditReport {
    /// One result per identity.
    pub identities: Vec<IdentityResult>,
    /// Findings, errors first.
    pub findings: Vec<Finding>,
    /// The tables loaded from SQL, when there are any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sql: Vec<crate::load::SqlSource>,
}

/// One identity in an [`AuditReport`].
#[derive(Clone, Debug, Serialize)]
pub struct IdentityResult {
    /// Who.
    pub identity: IdentityReport,
    /// `granted` or `denied`.
    pub decision: &'static str,
    /// SPEC §8 code when denied.
    pub reason: Option<&'static str>,
    /// `ADMIN` or `USER` when granted.
    pub access: Option<AccessLevel>,
    /// S_f per applied field.
    pub reduction: IndexMap<String, Vec<String>>,
    /// Hidden application fields.
    pub omitted: Vec<String>,
    /// Every application table: rows left, total, visible fields.
    pub tables: IndexMap<String, TableReport>,
}

impl IdentityResult {
    /// The result of `identity` under `grant`.
    pub fn new(identity: &Identity, grant: &Verdict) -> Self {
        Self {
            identity: IdentityReport::from(identity),
            decision: grant.decision(),
            reason: grant.outcome.reason().map(crate::access::DenyReason::code),
            access: grant.access,
            reduction: grant.view.reduction.iter().cloned().collect(),
            omitted: grant.view.omitted.clone(),
            tables: grant
                .view
                .tables
                .iter()
                .map(|t| (t.name.to_string(), t.report()))
                .collect(),
        }
    }
}
