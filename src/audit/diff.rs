//! Who gained or lost what between two versions of a script.
//!
//! Both versions are audited over the same identities: every identity either
//! version's security tables name, plus any given ones. For each identity
//! whose answer changed, the diff lists the decision, the access level, the
//! reduction values added or removed per field (a field not applied counts as
//! every value of that field in the data), the rows per table and the
//! omitted fields.
//!
//! **A gain** is any of: denied → granted; USER → ADMIN; a reduction value
//! the identity did not see before; more rows in any table; a field no
//! longer omitted. **A loss** is the reverse of each. One identity can gain
//! and lose at once (e.g. it moved from one country to another). `diff
//! --fail-on-gain` fails when any identity gained.
//!
//! JSON (`diff --format json`):
//!
//! ```json
//! {
//!   "summary": {"identities": 12, "changed": 2, "gained": 1, "lost": 1},
//!   "identities": [
//!     {
//!       "identity": {"userid": "BOB", "email": null, "groups": []},
//!       "gained": true,
//!       "lost": false,
//!       "old": {"decision": "denied", "reason": "no-matching-row", "access": null},
//!       "new": {"decision": "granted", "reason": null, "access": "USER"},
//!       "reduction": {"COUNTRY": {"added": ["US"], "removed": []}},
//!       "rows": {"Sales": {"old": 0, "new": 3}},
//!       "omitted": {"added": [], "removed": []}
//!     }
//!   ]
//! }
//! ```
//!
//! Only changed identities are listed, sorted like the audit; `reduction` and
//! `rows` list only the fields and tables that changed.

use std::collections::BTreeSet;

use indexmap::IndexMap;
use serde::Serialize;

use super::{Audit, Verdict, sort_identities};
use crate::access::report::IdentityReport;
use crate::access::{AccessLevel, Options};
use crate::load::App;
use crate::names::Identity;

/// The whole comparison.
#[derive(Clone, Debug, Serialize)]
pub struct Diff {
    /// Counts.
    pub summary: Summary,
    /// Identities whose answer changed.
    pub identities: Vec<IdentityDiff>,
}

/// Counts of a [`Diff`].
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Identities compared.
    pub identities: usize,
    /// Identities whose answer changed.
    pub changed: usize,
    /// Identities that gained access (see the module documentation).
    pub gained: usize,
    /// Identities that lost access.
    pub lost: usize,
}

/// Decision, reason and level on one side.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct State {
    /// `granted` or `denied`.
    pub decision: &'static str,
    /// SPEC §8 code when denied.
    pub reason: Option<&'static str>,
    /// Access level when granted.
    pub access: Option<AccessLevel>,
}

/// Values added and removed.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct SetChange {
    /// Present in the new version only.
    pub added: Vec<String>,
    /// Present in the old version only.
    pub removed: Vec<String>,
}

impl SetChange {
    fn new(old: &BTreeSet<String>, new: &BTreeSet<String>) -> Self {
        Self {
            added: new.difference(old).cloned().collect(),
            removed: old.difference(new).cloned().collect(),
        }
    }

    fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// Rows of one table before and after.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct RowChange {
    /// Rows in the old version.
    pub old: usize,
    /// Rows in the new version.
    pub new: usize,
}

/// What changed for one identity.
#[derive(Clone, Debug, Serialize)]
pub struct IdentityDiff {
    /// Who.
    pub identity: IdentityReport,
    /// Sees something it did not see before.
    pub gained: bool,
    /// No longer sees something it saw.
    pub lost: bool,
    /// Before.
    pub old: State,
    /// After.
    pub new: State,
    /// Reduction values per field that changed.
    pub reduction: IndexMap<String, SetChange>,
    /// Row counts per table that changed.
    pub rows: IndexMap<String, RowChange>,
    /// Omitted fields (only when granted on both sides).
    pub omitted: SetChange,
}

fn state(g: &Verdict) -> State {
    State {
        decision: g.decision(),
        reason: g.outcome.reason().map(crate::access::DenyReason::code),
        access: g.access,
    }
}

/// The values of each reduction field a grant lets the identity see: S_f
/// when applied, every data value when not, nothing when denied.
fn visible(audit: &Audit, g: &Verdict) -> IndexMap<String, BTreeSet<String>> {
    audit
        .fields
        .iter()
        .map(|(name, all)| {
            let seen: BTreeSet<String> = if !g.is_granted() {
                BTreeSet::new()
            } else if let Some((_, v)) = g.view.reduction.iter().find(|(n, _)| n == name) {
                v.iter().cloned().collect()
            } else {
                all.iter().cloned().collect()
            };
            (name.clone(), seen)
        })
        .collect()
}

/// Compares two audited versions of an app over the same identities.
pub fn diff(
    old: &App,
    new: &App,
    opts: &Options,
    extra: &[Identity],
    progress: super::Progress<'_>,
) -> Diff {
    let mut ids = super::identities(old, opts);
    ids.extend(super::identities(new, opts));
    ids.extend(extra.iter().cloned());
    sort_identities(&mut ids);
    let a = Audit::run_identities(old, opts, ids.clone(), progress);
    let b = Audit::run_identities(new, opts, ids, &|_, _| {});
    compare(&a, &b)
}

/// Compares two audits of the same identity list.
pub fn compare(a: &Audit, b: &Audit) -> Diff {
    let mut out = Vec::new();
    for (ea, eb) in a.entries.iter().zip(&b.entries) {
        let (Some(ga), Some(gb)) = (a.grant_of(ea), b.grant_of(eb)) else {
            continue;
        };
        let (sa, sb) = (state(ga), state(gb));
        let (va, vb) = (visible(a, ga), visible(b, gb));
        let mut reduction = IndexMap::new();
        let mut names: Vec<&String> = va.keys().chain(vb.keys()).collect();
        names.sort();
        names.dedup();
        let empty = BTreeSet::new();
        for n in names {
            let c = SetChange::new(va.get(n).unwrap_or(&empty), vb.get(n).unwrap_or(&empty));
            if !c.is_empty() {
                reduction.insert(n.clone(), c);
            }
        }
        let mut rows = IndexMap::new();
        let mut tables: Vec<&str> = ga
            .view
            .tables
            .iter()
            .chain(&gb.view.tables)
            .map(|t| &*t.name)
            .collect();
        tables.dedup();
        let mut seen = BTreeSet::new();
        for t in tables {
            if !seen.insert(t) {
                continue;
            }
            let c = RowChange {
                old: ga.view.rows(t),
                new: gb.view.rows(t),
            };
            if c.old != c.new {
                rows.insert(t.to_string(), c);
            }
        }
        let omitted = if ga.is_granted() && gb.is_granted() {
            SetChange::new(
                &ga.view.omitted.iter().cloned().collect(),
                &gb.view.omitted.iter().cloned().collect(),
            )
        } else {
            SetChange::default()
        };
        let level = |s: &State| match (s.decision, s.access) {
            ("granted", Some(AccessLevel::Admin)) => 2,
            ("granted", _) => 1,
            _ => 0,
        };
        let gained = level(&sb) > level(&sa)
            || reduction.values().any(|c| !c.added.is_empty())
            || rows.values().any(|r| r.new > r.old)
            || !omitted.removed.is_empty();
        let lost = level(&sb) < level(&sa)
            || reduction.values().any(|c| !c.removed.is_empty())
            || rows.values().any(|r| r.new < r.old)
            || !omitted.added.is_empty();
        if sa == sb && reduction.is_empty() && rows.is_empty() && omitted.is_empty() {
            continue;
        }
        out.push(IdentityDiff {
            identity: IdentityReport::from(&ea.identity),
            gained,
            lost,
            old: sa,
            new: sb,
            reduction,
            rows,
            omitted,
        });
    }
    Diff {
        summary: Summary {
            identities: a.entries.len(),
            changed: out.len(),
            gained: out.iter().filter(|d| d.gained).count(),
            lost: out.iter().filter(|d| d.lost).count(),
        },
        identities: out,
    }
}

impl IdentityDiff {
    /// A label for the identity.
    pub fn label(&self) -> String {
        let mut parts = Vec::new();
        if let Some(u) = &self.identity.userid {
            parts.push(u.clone());
        }
        if let Some(e) = &self.identity.email {
            parts.push(e.clone());
        }
        if !self.identity.groups.is_empty() {
            parts.push(format!("group:{}", self.identity.groups.join(";")));
        }
        parts.join(" ")
    }
}
