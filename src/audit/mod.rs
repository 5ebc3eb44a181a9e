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
//!   security rows they match (found through an index, not a scan) or,
//!   more broadly, by what those rows hold besides the identity
//!   (`access::rules::index::Matcher::content`); each distinct grant is decided
//!   once, and each distinct reduction is applied to the data once;
//! - lint [`findings()`] on the script and on the audit's results;
//! - expectation files for `section-access test` ([`expect`]);
//! - the comparison of two script versions ([`diff`]);
//! - the self-contained HTML report ([`html`]).
//!
//! The JSON contract of `audit --format json` is [`AuditReport`].

mod code;
mod decide;
pub mod diff;
pub mod expect;
pub mod findings;
mod grouping;
pub mod html;
mod identities;
mod json;
mod listed;
mod report;
pub mod sarif;
mod view;
pub mod who;

use std::sync::Arc;

use crate::access::{AccessLevel, Evaluator, MatchedRow, Options, Origin, Outcome};
use crate::load::App;
use crate::names::Identity;

pub use code::FindingCode;
pub use findings::{Finding, ScriptLine, Severity, findings};
pub use identities::{IdentitiesError, identities, label, read_identities, sort_identities};
pub use report::{AuditReport, IdentityResult};
pub use view::{TableView, View};

use decide::PIECE_GRANTS;
use identities::{Rank, is_service_account, named_identities};

/// The audit's verdict on one class of identities: granted (with what they
/// see) or denied. Shared by every identity whose matched security rows are
/// the same, or alike in every cell a decision reads (see
/// `access::rules::index::Matcher::content`); the audit calls each distinct
/// verdict "a grant" ([`Audit::grants`], [`Entry::grant`]), denied ones
/// included.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// Granted or denied (reduced-to-nothing included).
    pub outcome: Outcome,
    /// Access level when granted (`None` without section access).
    pub access: Option<AccessLevel>,
    /// What the identities see (shared with other grants).
    pub view: Arc<View>,
    /// Value combinations across reduction fields that the identity sees
    /// though no single kept row grants them (SPEC §5.5), as
    /// `FIELD=value, FIELD=value`; at most [`findings::MAX_NAMED`].
    pub cross: Vec<String>,
    /// Number of such combinations (may exceed `cross.len()`).
    pub cross_total: usize,
    /// The first security row kept for the first identity (in audit
    /// order) with this grant: where findings on it point (see
    /// [`Verdict::location`]).
    pub first_row: Option<MatchedRow>,
}

impl Verdict {
    /// Where findings on this grant point: the script line of its first
    /// kept security row. Made on demand: an audit has a grant per
    /// distinct set of matched rows, and findings name a handful.
    pub fn location(&self, app: &App) -> Option<ScriptLine> {
        let row = self.first_row.as_ref()?;
        findings::path_location(app, row.file.as_deref()?, row.line?)
    }

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
    pub grants: Vec<Verdict>,
    /// Findings on the script and on the results, sorted by severity (errors
    /// first), then location, then code.
    pub findings: Vec<Finding>,
    /// Every value of each reduction field in the data (text, Qlik's order):
    /// the columns of the access matrix.
    pub fields: Vec<(String, Vec<String>)>,
    /// Number of distinct grants decided (the work the audit did).
    pub decided: usize,
    /// Number of distinct reductions applied to the data.
    pub reductions: usize,
    /// The tables loaded from SQL (where the security came from).
    pub sql: Vec<crate::load::SqlSource>,
}

/// Progress of a long audit: called with (done, total) distinct keys by
/// whichever thread has just decided one (the count comes from one atomic
/// counter, so it only grows, but two threads may report out of order).
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

impl Audit {
    /// Audits the identities named by the security tables plus `extra`.
    pub fn run(app: &App, opts: &Options, extra: &[Identity], progress: Progress<'_>) -> Audit {
        let ev = Evaluator::new(app, *opts);
        let mut ids = named_identities(ev.security(), app.star.as_deref());
        ids.extend(extra.iter().map(|i| (i.clone(), None)));
        Self::grouped(app, opts, &ev, ids, progress, PIECE_GRANTS)
    }

    /// [`Audit::run`] of the identities the security tables name, without
    /// the entries (left empty): the grants, fields and findings only, as
    /// `check` needs them. The identities stay symbols of the security
    /// tables (see the private module `audit::listed`): a million of them are neither made nor
    /// sorted.
    pub fn run_summary(app: &App, opts: &Options) -> Audit {
        Self::summary(app, opts, listed::PIECE_FROM, PIECE_GRANTS)
    }

    /// [`Audit::run_summary`], grouping identities in pieces from
    /// `piece_from` of them, deciding grants in pieces of `piece_grants`.
    fn summary(app: &App, opts: &Options, piece_from: usize, piece_grants: usize) -> Audit {
        let ev = Evaluator::new(app, *opts);
        let (listed, index) = rayon::join(
            || listed::Listed::of(ev.security(), app.star.as_deref()),
            || ev.match_index(),
        );
        // The script's own checks need no grants: made beside them.
        let (checks, grouping) = rayon::join(
            || findings::checks(app, opts, &ev),
            || listed.group(&index, piece_from),
        );
        Self::decided(
            (app, &ev, &index),
            (grouping, Vec::new()),
            checks,
            &|_, _| {},
            piece_grants,
        )
    }

    /// Audits exactly `ids` (sorted and de-duplicated first).
    pub fn run_identities(
        app: &App,
        opts: &Options,
        ids: Vec<Identity>,
        progress: Progress<'_>,
    ) -> Audit {
        let ev = Evaluator::new(app, *opts);
        let ids = ids.into_iter().map(|i| (i, None)).collect();
        Self::grouped(app, opts, &ev, ids, progress, PIECE_GRANTS)
    }

    /// The audit proper: identities grouped by key, one decision per key
    /// (in pieces of at least `piece_grants` distinct keys side by side).
    fn grouped(
        app: &App,
        opts: &Options,
        ev: &Evaluator<'_>,
        ids: Vec<(Identity, Option<Origin>)>,
        progress: Progress<'_>,
        piece_grants: usize,
    ) -> Audit {
        let index = ev.match_index();
        // The script's own checks need no grants: made beside them.
        let (checks, (grouping, entries)) = rayon::join(
            || findings::checks(app, opts, ev),
            || Self::group(&index, ids),
        );
        Self::decided(
            (app, ev, &index),
            (grouping, entries),
            checks,
            progress,
            piece_grants,
        )
    }

    /// The grant of an entry.
    pub fn grant_of(&self, entry: &Entry) -> Option<&Verdict> {
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
            sql: self.sql.clone(),
        }
    }

    /// The highest severity among the findings.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

#[cfg(test)]
mod tests;
