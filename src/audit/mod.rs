//! Who sees what, for every identity (audit phase).
//!
//! Owns the auditing half of the tool, on top of [`crate::access`] and
//! [`crate::reduce`]:
//!
//! - identity enumeration ([`identities`], [`read_identities`]): every
//!   `USERID` and `NTNAME` value of the security tables as a user without
//!   groups, every `USER.EMAIL` as an identity with only that e-mail, every
//!   `GROUP` as "a member of that group" — an identity with that one group
//!   and no user id or e-mail, so it matches the `*` rows of the other
//!   identity columns and nothing that names a particular user — plus
//!   identities from a user-directory CSV export;
//! - the audit itself ([`Audit::run`]): identities are grouped by the
//!   security rows they match ([`crate::access::MatchKey`], found through an
//!   index, not a scan), each distinct key is decided once, and each distinct
//!   reduction is applied to the data once;
//! - lint [`findings`] on the script and on the audit's results;
//! - expectation files for `section-access test` ([`expect`]);
//! - the comparison of two script versions ([`diff`]);
//! - the self-contained HTML report ([`html`]).
//!
//! The JSON contract of `audit --format json` is [`AuditReport`].

pub mod diff;
pub mod expect;
pub mod findings;
pub mod html;

use std::collections::HashMap;

use foldhash::fast::FixedState;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Serialize;

use crate::access::report::{IdentityReport, TableReport};
use crate::access::{AccessLevel, Decision, Evaluator, Options, Outcome};
use crate::load::App;
use crate::model::{BitSet, FieldId, NULL};
use crate::names::{Email, GroupName, Identity, UserId};
use crate::reduce::PerValue;

pub use findings::{Finding, Location, Severity, findings};

/// Identity columns whose values name a user (`NTNAME` may also name a
/// group; a member of that group is then covered by the `GROUP`-less
/// enumeration of the user of the same name, which matches the same rows).
const USER_COLUMNS: [&str; 2] = ["USERID", "NTNAME"];

/// Every identity the security tables name, under `opts.uppercase`:
/// each `USERID`/`NTNAME` value as a user without groups, each `USER.EMAIL`
/// value as an identity with only that e-mail, each `GROUP` value as a
/// member of that group without a user id. Wildcards and blank cells name
/// nobody. Sorted: users, then e-mails, then groups.
pub fn identities(app: &App, opts: &Options) -> Vec<Identity> {
    let sec = app.security(opts.uppercase);
    let mut out = Vec::new();
    let mut column = |name: &str, make: &dyn Fn(&str) -> Identity| {
        let Some(f) = sec.find_field(name) else {
            return;
        };
        for table in sec.tables() {
            for &id in table.column(f).unwrap_or(&[]) {
                if id == NULL {
                    continue;
                }
                let Some(v) = sec.value(f, id) else { continue };
                let text = v.text();
                let text = text.trim();
                if text.is_empty() || text == "*" || app.star.as_deref() == Some(text) {
                    continue;
                }
                out.push(make(text));
            }
        }
    };
    for c in USER_COLUMNS {
        column(c, &Identity::user);
    }
    column("USER.EMAIL", &|e| {
        Identity::new(None, Some(Email::new(e)), Vec::new())
    });
    column("GROUP", &|g| {
        Identity::new(None, None, vec![GroupName::new(g)])
    });
    sort_identities(&mut out);
    out
}

/// Sorts and de-duplicates identities: users first, then e-mails, then
/// group members, each by name.
pub fn sort_identities(ids: &mut Vec<Identity>) {
    // Compared by reference: cloning the names per comparison dominated
    // audits of large security tables.
    fn key(i: &Identity) -> (bool, Option<&UserId>, bool, Option<&Email>) {
        (
            i.userid.is_none(),
            i.userid.as_ref(),
            i.email.is_none(),
            i.email.as_ref(),
        )
    }
    ids.sort_by(|a, b| key(a).cmp(&key(b)).then_with(|| a.groups.cmp(&b.groups)));
    ids.dedup();
}

/// A user-directory export that could not be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum IdentitiesError {
    /// The file could not be opened or is not CSV.
    #[error("cannot read identities from `{path}`: {message}")]
    #[diagnostic(
        code(identities::read),
        help("the file is CSV with a header row: `userid,email,groups`, groups separated by `;`")
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The header names none of the expected columns.
    #[error("`{path}` has no `userid`, `email` or `groups` column")]
    #[diagnostic(
        code(identities::header),
        help("the first line names the columns: `userid,email,groups`")
    )]
    Header {
        /// The file.
        path: PathBuf,
    },
}

/// Reads identities from a CSV file with a header naming any of `userid`,
/// `email` and `groups` (case-insensitive; groups separated by `;`). Rows
/// with neither a user id nor an e-mail nor a group are skipped.
pub fn read_identities(path: &Path) -> Result<Vec<Identity>, IdentitiesError> {
    let read = |e: &dyn std::fmt::Display| IdentitiesError::Read {
        path: path.to_path_buf(),
        message: e.to_string().to_lowercase(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| read(&e))?;
    let headers = reader.headers().map_err(|e| read(&e))?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case(name))
    };
    let (user, email, groups) = (col("userid"), col("email"), col("groups"));
    if user.is_none() && email.is_none() && groups.is_none() {
        return Err(IdentitiesError::Header {
            path: path.to_path_buf(),
        });
    }
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| read(&e))?;
        let cell = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let groups: Vec<GroupName> = cell(groups)
            .map(|g| {
                g.split(';')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(GroupName::new)
                    .collect()
            })
            .unwrap_or_default();
        let userid = cell(user).map(UserId::new);
        let email = cell(email).map(Email::new);
        if userid.is_none() && email.is_none() && groups.is_empty() {
            continue;
        }
        out.push(Identity::new(userid, email, groups));
    }
    Ok(out)
}

/// What one distinct grant gives: shared by every identity whose matched
/// security rows are the same.
#[derive(Clone, Debug)]
pub struct Grant {
    /// Granted or denied (reduced-to-nothing included).
    pub outcome: Outcome,
    /// Access level when granted (`None` without section access).
    pub access: Option<AccessLevel>,
    /// S_f of every applied reduction field, values as text in Qlik's order.
    pub reduction: Vec<(String, Vec<String>)>,
    /// Reduction fields not applied (an ADMIN's field matching nothing).
    pub unreduced: Vec<String>,
    /// Omitted application fields, in model order.
    pub omitted: Vec<String>,
    /// Every application table: rows left, total, visible fields (rows are 0
    /// when denied).
    pub tables: Vec<(String, TableReport)>,
    /// Value combinations across reduction fields that the identity sees
    /// though no single kept row grants them (SPEC §5.5), as
    /// `FIELD=value, FIELD=value`; at most [`findings::MAX_NAMED`].
    pub cross: Vec<String>,
    /// Number of such combinations (may exceed `cross.len()`).
    pub cross_total: usize,
    /// The first security row kept for this grant (where findings on it
    /// point).
    pub location: Option<Location>,
}

impl Grant {
    /// True when the identity opens the app.
    pub fn is_granted(&self) -> bool {
        self.outcome.is_granted()
    }

    /// `granted` or `denied`.
    pub fn decision(&self) -> &'static str {
        if self.is_granted() {
            "granted"
        } else {
            "denied"
        }
    }
}

/// One audited identity and the index of its grant in [`Audit::grants`].
#[derive(Clone, Debug)]
pub struct Entry {
    /// Who.
    pub identity: Identity,
    /// Index into [`Audit::grants`].
    pub grant: usize,
}

/// The result of auditing an app.
#[derive(Debug)]
pub struct Audit {
    /// Every identity, sorted (users, e-mails, groups).
    pub entries: Vec<Entry>,
    /// The distinct grants, in order of first use.
    pub grants: Vec<Grant>,
    /// Findings on the script and on the results, sorted by severity (errors
    /// first), then location, then code.
    pub findings: Vec<Finding>,
    /// Every value of each reduction field in the data (text, Qlik's order):
    /// the columns of the access matrix.
    pub fields: Vec<(String, Vec<String>)>,
    /// Number of distinct security-row keys decided (the work the audit did).
    pub decided: usize,
    /// Number of distinct reductions applied to the data.
    pub reductions: usize,
}

/// Progress of a long audit: called with (done, total) distinct keys.
pub type Progress<'a> = &'a mut dyn FnMut(usize, usize);

impl Audit {
    /// Audits the identities named by the security tables plus `extra`.
    pub fn run(app: &App, opts: &Options, extra: &[Identity], progress: Progress<'_>) -> Audit {
        let mut ids = identities(app, opts);
        ids.extend(extra.iter().cloned());
        sort_identities(&mut ids);
        Self::run_identities(app, opts, ids, progress)
    }

    /// Audits exactly `ids` (sorted and de-duplicated first).
    pub fn run_identities(
        app: &App,
        opts: &Options,
        mut ids: Vec<Identity>,
        progress: Progress<'_>,
    ) -> Audit {
        sort_identities(&mut ids);
        let ev = Evaluator::new(app, *opts);
        let index = ev.match_index();
        // Group identities by the rows they match: one decision per key.
        let mut keys: HashMap<crate::access::MatchKey, usize, FixedState> = HashMap::default();
        let mut key_of: Vec<usize> = Vec::with_capacity(ids.len());
        let mut distinct: Vec<crate::access::MatchKey> = Vec::new();
        for identity in &ids {
            let key = index.key(identity);
            let next = distinct.len();
            let k = *keys.entry(key.clone()).or_insert_with(|| {
                distinct.push(key);
                next
            });
            key_of.push(k);
        }
        // Service accounts (`INTERNAL\…`, e.g. the reload scheduler) see
        // data no person sees; they do not count as "someone sees this row".
        let mut counted = vec![false; distinct.len()];
        for (identity, &k) in ids.iter().zip(&key_of) {
            let service = identity
                .userid
                .as_ref()
                .is_some_and(|u| u.as_str().starts_with("INTERNAL\\"));
            if !service && let Some(c) = counted.get_mut(k) {
                *c = true;
            }
        }
        let ntables = app.data.tables().len();
        let mut seen = findings::Seen::new(app);
        // One reduction per distinct selection; keep only the row counts and
        // visible rows' contribution so memory does not grow with the
        // number of distinct grants.
        let mut reductions: HashMap<Vec<(FieldId, Vec<u32>)>, Vec<usize>> = HashMap::new();
        let mut visible_keys: std::collections::HashSet<Vec<(FieldId, Vec<u32>)>> =
            std::collections::HashSet::new();
        let mut grants: Vec<Grant> = Vec::with_capacity(distinct.len());
        // Selections on one field are counted from per-value parts when the
        // model allows (exact, see `PerValue`): no reduction per grant. The
        // rows someone sees are then those of the union of the visible
        // selections, reduced once at the end.
        let mut per_value: HashMap<FieldId, Option<PerValue>> = HashMap::new();
        let mut seen_values: Vec<(FieldId, BitSet)> = Vec::new();
        let total = distinct.len();
        for (i, key) in distinct.iter().enumerate() {
            let mut decision = ev.decide(key);
            let selection_key: Vec<(FieldId, Vec<u32>)> = decision
                .reduction
                .iter()
                .filter(|r| r.applied)
                .map(|r| (r.field, r.values.clone()))
                .collect();
            let mut counts = Vec::new();
            if decision.outcome.is_granted() {
                let single = match selection_key.as_slice() {
                    [(field, values)] => per_value
                        .entry(*field)
                        .or_insert_with(|| ev.per_value(*field))
                        .as_ref()
                        .map(|pv| (pv, values)),
                    _ => None,
                };
                let mut fresh = None;
                counts = match (reductions.get(&selection_key), single) {
                    (Some(c), _) => c.clone(),
                    (None, Some((pv, values))) => {
                        let c = pv.counts(values);
                        reductions.insert(selection_key.clone(), c.clone());
                        c
                    }
                    (None, None) => {
                        let reduced = ev.reduce(&decision);
                        let c: Vec<usize> = (0..ntables).map(|t| reduced.count(t)).collect();
                        fresh = Some(reduced);
                        reductions.insert(selection_key.clone(), c.clone());
                        c
                    }
                };
                let decomposed = single.map(|(pv, _)| pv.field());
                ev.finish(&mut decision, &counts);
                if decision.outcome.is_granted()
                    && counted.get(i).copied().unwrap_or(false)
                    && visible_keys.insert(selection_key.clone())
                {
                    match (decomposed, selection_key.first()) {
                        (Some(field), Some((_, values))) => {
                            let pos = match seen_values.iter().position(|(f, _)| *f == field) {
                                Some(p) => p,
                                None => {
                                    let n = app.data.symbols(field).map_or(0, |s| s.len());
                                    seen_values.push((field, BitSet::new(n)));
                                    seen_values.len() - 1
                                }
                            };
                            if let Some((_, set)) = seen_values.get_mut(pos) {
                                for &v in values {
                                    set.insert(v as usize);
                                }
                            }
                        }
                        _ => {
                            let reduced = fresh.unwrap_or_else(|| ev.reduce(&decision));
                            seen.add(&reduced);
                        }
                    }
                }
            }
            grants.push(summarise(app, &ev, &decision, &counts));
            progress(i + 1, total);
        }
        for (field, values) in seen_values {
            seen.add(&ev.reduce_values(field, values));
        }
        let entries: Vec<Entry> = ids
            .into_iter()
            .zip(key_of)
            .map(|(identity, grant)| Entry { identity, grant })
            .collect();
        let fields = findings::reduction_values(app, &ev);
        let mut audit = Audit {
            entries,
            grants,
            findings: Vec::new(),
            fields,
            decided: total,
            reductions: reductions.len(),
        };
        audit.findings = findings::collect(app, opts, &ev, &audit, &seen);
        audit
    }

    /// The grant of an entry.
    pub fn grant_of(&self, entry: &Entry) -> Option<&Grant> {
        self.grants.get(entry.grant)
    }

    /// The JSON report (`audit --format json`).
    pub fn report(&self) -> AuditReport {
        AuditReport {
            identities: self
                .entries
                .iter()
                .filter_map(|e| {
                    let g = self.grant_of(e)?;
                    Some(IdentityResult::new(&e.identity, g))
                })
                .collect(),
            findings: self.findings.clone(),
        }
    }

    /// The highest severity among the findings.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// The text summary of one decision.
fn summarise(app: &App, ev: &Evaluator<'_>, decision: &Decision, counts: &[usize]) -> Grant {
    let data = &app.data;
    let granted = decision.outcome.is_granted();
    let omitted_ids = decision.omitted_ids();
    let tables = data
        .tables()
        .iter()
        .enumerate()
        .map(|(t, table)| {
            (
                table.name.to_string(),
                TableReport {
                    rows: if granted {
                        counts.get(t).copied().unwrap_or(table.len())
                    } else {
                        0
                    },
                    total: table.len(),
                    fields: table
                        .fields()
                        .filter(|f| !omitted_ids.contains(f))
                        .filter_map(|f| data.field_name(f).map(ToString::to_string))
                        .collect(),
                },
            )
        })
        .collect();
    let (cross, cross_total) = if granted {
        findings::cross_combinations(app, ev, decision)
    } else {
        (Vec::new(), 0)
    };
    Grant {
        outcome: decision.outcome,
        access: if granted { decision.access } else { None },
        reduction: if granted {
            decision
                .reduction_text(data)
                .into_iter()
                .map(|(n, v)| (n.to_string(), v))
                .collect()
        } else {
            Vec::new()
        },
        unreduced: if granted {
            decision
                .reduction
                .iter()
                .filter(|r| !r.applied)
                .map(|r| r.name.to_string())
                .collect()
        } else {
            Vec::new()
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
        cross,
        cross_total,
        location: decision
            .matched_rows
            .iter()
            .find(|m| m.kept)
            .and_then(|m| findings::path_location(app, m.file.as_deref()?, m.line?)),
    }
}

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
    pub fn new(identity: &Identity, grant: &Grant) -> Self {
        Self {
            identity: IdentityReport::from(identity),
            decision: grant.decision(),
            reason: grant.outcome.reason().map(crate::access::DenyReason::code),
            access: grant.access,
            reduction: grant.reduction.iter().cloned().collect(),
            omitted: grant.omitted.clone(),
            tables: grant.tables.iter().cloned().collect(),
        }
    }
}

/// A short label for an identity: the user id, else the e-mail, else
/// `group:NAME`.
pub fn label(identity: &Identity) -> String {
    let mut parts = Vec::new();
    if let Some(u) = &identity.userid {
        parts.push(u.to_string());
    }
    if let Some(e) = &identity.email {
        parts.push(e.to_string());
    }
    if !identity.groups.is_empty() {
        let g: Vec<&str> = identity.groups.iter().map(|g| g.as_str()).collect();
        parts.push(format!("group:{}", g.join(";")));
    }
    if parts.is_empty() {
        String::from("(anonymous)")
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests;
