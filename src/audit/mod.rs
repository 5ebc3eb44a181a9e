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
pub mod diff;
pub mod expect;
pub mod findings;
pub mod html;
mod json;
mod listed;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use foldhash::fast::FixedState;

use indexmap::IndexMap;
use rayon::iter::{IndexedParallelIterator, IntoParallelIterator, ParallelIterator};
use serde::Serialize;

use crate::access::report::{IdentityReport, TableReport};
use crate::access::{
    AccessLevel, Decision, DenyReason, Evaluator, MatchIndex, MatchedRow, Options, Origin, Outcome,
};
use crate::lists::{ListInterner, Lists};
use crate::load::App;
use crate::model::{BitSet, FieldId, Model};
use crate::names::{Email, GroupName, Identity, UserId};
use crate::reduce::PerValue;

pub use code::FindingCode;
pub use findings::{Finding, ScriptLine, Severity, findings};

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
    let mut out = named_identities(&sec, app.star.as_deref());
    sort_named(&mut out);
    out.into_iter().map(|(i, _)| i).collect()
}

/// The identities of [`identities`], unsorted, each with the symbol it was
/// read off when the identity's value is that symbol's text exactly (the
/// matcher then needs no lookup for it).
fn named_identities(sec: &Model, star: Option<&str>) -> Vec<(Identity, Option<Origin>)> {
    listed::Listed::of(sec, star).identities()
}

/// A service account's user id (`INTERNAL\…`, e.g. the reload scheduler):
/// it sees data no person sees, so its grant does not count for "someone
/// sees this row".
fn is_service_account(userid: &str) -> bool {
    userid.starts_with("INTERNAL\\")
}

/// The positions of `ids` in [`sort_identities`] order, each identity
/// once (of two equal identities, the first one's position stays: either
/// origin is right). The identities stay where they are: a million of them
/// are not moved around to be sorted.
fn sorted_order(ids: &[(Identity, Option<Origin>)]) -> Vec<u32> {
    // A million identities compare strings behind pointers: sort on a
    // prefix held inline, comparing whole identities only on equal ones.
    let mut order: Vec<(u128, u32)> = ids
        .iter()
        .zip(0u32..)
        .map(|((id, _), i)| (prefix(id), i))
        .collect();
    let get = |i: u32| ids.get(i as usize).map(|(id, _)| id);
    order.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0).then_with(|| match (get(a.1), get(b.1)) {
            (Some(x), Some(y)) => compare(x, y).then(a.1.cmp(&b.1)),
            _ => a.1.cmp(&b.1),
        })
    });
    order.dedup_by(|b, a| a.0 == b.0 && get(a.1) == get(b.1));
    order.into_iter().map(|(_, i)| i).collect()
}

/// [`sorted_order`] applied: the identities sorted, each once.
fn sort_named(ids: &mut Vec<(Identity, Option<Origin>)>) {
    let order = sorted_order(ids);
    let mut slots: Vec<Option<(Identity, Option<Origin>)>> = ids.drain(..).map(Some).collect();
    ids.extend(
        order
            .iter()
            .filter_map(|&i| slots.get_mut(i as usize).and_then(Option::take)),
    );
}

/// The classes of identity in audit order, its first criterion: users,
/// then e-mails, then identities with neither (none, then group members).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Rank {
    /// Has a user id: ordered by it.
    User,
    /// An e-mail but no user id: ordered by the e-mail.
    Email,
    /// Neither, nor groups.
    Anonymous,
    /// Only groups: ordered by them.
    Group,
}

impl Rank {
    /// The rank of an identity and the text it is first ordered by within
    /// its rank (its user id, e-mail or first group).
    fn of(i: &Identity) -> (Rank, &str) {
        match (&i.userid, &i.email, i.groups.first()) {
            (Some(u), _, _) => (Rank::User, u.as_str()),
            (None, Some(e), _) => (Rank::Email, e.as_str()),
            (None, None, None) => (Rank::Anonymous, ""),
            (None, None, Some(g)) => (Rank::Group, g.as_str()),
        }
    }

    /// The first bytes of the audit order of an identity of this rank
    /// first ordered by `text`, as a number in the same order: the rank,
    /// then the first 15 bytes of `text`, padded with zeros. A smaller
    /// prefix means a smaller identity; equal prefixes say nothing.
    fn prefix(self, text: &str) -> u128 {
        let mut bytes = [0u8; 16];
        if let Some((first, rest)) = bytes.split_first_mut() {
            *first = self as u8;
            for (b, t) in rest.iter_mut().zip(text.bytes()) {
                *b = t;
            }
        }
        u128::from_be_bytes(bytes)
    }

    /// [`compare`] of two identities that each have one name only (a user
    /// id, an e-mail or a group), given by rank and name: what the
    /// listing of the security tables orders its items by.
    fn compare_named(a: (Rank, &str), b: (Rank, &str)) -> std::cmp::Ordering {
        a.cmp(&b)
    }
}

/// [`Rank::prefix`] of an identity.
fn prefix(i: &Identity) -> u128 {
    let (rank, text) = Rank::of(i);
    rank.prefix(text)
}

/// The audit order, defined once: by [`Rank`], then user id, then e-mail
/// (one before none), then groups. [`Rank::prefix`] and
/// [`Rank::compare_named`] are this order on a part of an identity.
/// Compared by reference: cloning the names per comparison dominated
/// audits of large security tables.
fn compare(a: &Identity, b: &Identity) -> std::cmp::Ordering {
    fn key(i: &Identity) -> (Rank, Option<&UserId>, bool, Option<&Email>, &[GroupName]) {
        (
            Rank::of(i).0,
            i.userid.as_ref(),
            i.email.is_none(),
            i.email.as_ref(),
            &i.groups,
        )
    }
    key(a).cmp(&key(b))
}

/// Sorts and de-duplicates identities: users first, then e-mails, then
/// group members, each by name.
pub fn sort_identities(ids: &mut Vec<Identity>) {
    // Unstable is enough: identities comparing equal are equal, and go.
    ids.sort_unstable_by(compare);
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
fn table_shapes(app: &App, omitted: &[FieldId]) -> Vec<TableView> {
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

    /// `ids` sorted, grouped by the contents of the security rows they
    /// match (`access::rules::index::Matcher::content`), and made into entries.
    fn group<'i>(
        index: &'i MatchIndex<'_>,
        mut ids: Vec<(Identity, Option<Origin>)>,
    ) -> (Grouping<'i>, Vec<Entry>) {
        let order = sorted_order(&ids);
        // Group identities by the contents of the rows they match: one
        // decision per key.
        // Matched where they lie (in memory order), then numbered in order
        // of first use among the sorted identities. Service accounts
        // (`INTERNAL\…`, e.g. the reload scheduler) see data no person
        // sees; a key counts for "someone sees this row" only when some
        // other identity has it.
        let mut keys = Interner::default();
        let mut found: Vec<u32> = Vec::with_capacity(ids.len());
        let mut person: Vec<bool> = Vec::new();
        let mut matcher = index.matcher();
        for (identity, origin) in &ids {
            matcher.key_from(identity, *origin);
            let k = keys.intern(matcher.content());
            if person.len() <= k {
                person.resize(k + 1, false);
            }
            let service = identity
                .userid
                .as_ref()
                .is_some_and(|u| is_service_account(u.as_str()));
            if !service && let Some(p) = person.get_mut(k) {
                *p = true;
            }
            found.push(u32::try_from(k).unwrap_or(u32::MAX));
        }
        let mut renumbered: Vec<usize> = vec![usize::MAX; keys.len()];
        let mut by_use: Vec<usize> = Vec::with_capacity(keys.len());
        // Each grant is decided on the rows of its first identity.
        let mut rows = Lists::default();
        let key_of: Vec<usize> = order
            .iter()
            .map(|&i| {
                let k = found.get(i as usize).map_or(usize::MAX, |&k| k as usize);
                match renumbered.get_mut(k) {
                    Some(n) if *n == usize::MAX => {
                        *n = by_use.len();
                        by_use.push(k);
                        match ids.get(i as usize) {
                            Some((identity, origin)) => {
                                rows.push(matcher.key_from(identity, *origin));
                            }
                            None => rows.push(&[]),
                        }
                        *n
                    }
                    Some(n) => *n,
                    None => 0,
                }
            })
            .collect();
        drop(found);
        let counted: Vec<bool> = by_use
            .iter()
            .map(|&k| person.get(k).copied().unwrap_or(false))
            .collect();
        // Per grant, its number of identities and the first few, by
        // position in audit order (messages name at most `MAX_NAMED`).
        let mut counts = vec![0; by_use.len()];
        let mut names: Vec<Vec<(usize, String)>> = vec![Vec::new(); by_use.len()];
        for (at, (&i, &k)) in order.iter().zip(&key_of).enumerate() {
            if let (Some(n), Some(who)) = (counts.get_mut(k), names.get_mut(k)) {
                *n += 1;
                if who.len() < findings::MAX_NAMED
                    && let Some((identity, _)) = ids.get(i as usize)
                {
                    who.push((at, label(identity)));
                }
            }
        }
        let tally = findings::Tally {
            counts,
            first: Box::new(move |grants| {
                let lists = grants.filter_map(|g| names.get(g).map(Vec::as_slice));
                first_of(lists, |a, b| a.0 < b.0)
                    .into_iter()
                    .map(|(_, label)| label.clone())
                    .collect()
            }),
            identities: order.len(),
        };
        let entries: Vec<Entry> = order
            .iter()
            .zip(key_of)
            .filter_map(|(&i, grant)| {
                let (identity, _) = ids.get_mut(i as usize)?;
                Some(Entry {
                    identity: std::mem::take(identity),
                    grant,
                })
            })
            .collect();
        drop(ids);
        let grouping = Grouping {
            rows,
            counted,
            tally,
        };
        (grouping, entries)
    }

    /// The audit proper: one decision per distinct key (in pieces of at
    /// least `piece_grants` keys side by side), then the findings.
    fn decided(
        (app, ev, index): (&App, &Evaluator<'_>, &MatchIndex<'_>),
        (grouping, entries): (Grouping<'_>, Vec<Entry>),
        checks: findings::Checks,
        progress: Progress<'_>,
        piece_grants: usize,
    ) -> Audit {
        let Grouping {
            rows,
            counted,
            tally,
        } = grouping;
        // The distinct grants are decided in pieces side by side, each
        // piece a run in order with its own reductions and views (a fold);
        // the runs are then merged in order. Per-value counts are shared.
        let per_value = PerValues::new(ev);
        let total = rows.len();
        let done = AtomicUsize::new(0);
        debug_assert_eq!(counted.len(), total, "a flag per grant");
        let grants: Vec<(&[u32], bool)> = rows.iter().zip(counted).collect();
        let parts: Vec<Deciding<'_>> = grants
            .into_par_iter()
            .with_min_len(piece_grants.max(1))
            .fold(
                || Deciding::new(app, ev, index, &per_value),
                |mut d, (rows, counted)| {
                    d.grant(rows, counted);
                    // The counter the progress display reads: bumped by
                    // the worker that decided, never polled.
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                    d
                },
            )
            .collect();
        let (grants, seen, reductions) = Deciding::merge(parts, ev, app);
        let fields = findings::reduction_values(app, ev);
        let mut audit = Audit {
            entries,
            grants,
            findings: Vec::new(),
            fields,
            decided: total,
            reductions,
        };
        audit.findings = findings::collect(checks, app, ev, (&audit, &tally, &seen));
        audit
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
        }
    }

    /// The highest severity among the findings.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// Adds `item` to `few`, the first [`findings::MAX_NAMED`] items in the
/// order of `less`, when it is among them. False when it is not: nor is
/// any item after it in that order.
fn keep_first<T: Copy>(few: &mut Vec<T>, item: T, less: impl Fn(T, T) -> bool) -> bool {
    if few.len() == findings::MAX_NAMED && few.last().is_none_or(|&last| !less(item, last)) {
        return false;
    }
    let at = few.partition_point(|&x| less(x, item));
    few.insert(at, item);
    few.truncate(findings::MAX_NAMED);
    true
}

/// The first [`findings::MAX_NAMED`] items of `lists` in the order of
/// `less`, each list in that order: who a finding on several grants names.
fn first_of<'l, T>(
    lists: impl Iterator<Item = &'l [T]>,
    less: impl Fn(&T, &T) -> bool,
) -> Vec<&'l T> {
    let mut few = Vec::new();
    for list in lists {
        for item in list {
            if !keep_first(&mut few, item, &less) {
                break;
            }
        }
    }
    few
}

/// Identities grouped by the security rows they match: what the audit
/// decides, and who the findings name.
struct Grouping<'a> {
    /// Per grant, numbered in audit order of its first identity: the rows
    /// that identity matches (a key of `access::rules::index::Matcher::key_from`),
    /// which its grant is decided on.
    rows: Lists,
    /// Per grant: someone other than a service account (`INTERNAL\…`,
    /// e.g. the reload scheduler) has it, so its rows count as seen.
    counted: Vec<bool>,
    /// Per grant, its identities as the findings name them.
    tally: findings::Tally<'a>,
}

/// Distinct grants are decided in pieces of at least this many side by
/// side (each piece repeats the reductions its grants share with others).
const PIECE_GRANTS: usize = 2048;

/// Per-value counts of each reduction field, made on first use by
/// whichever thread needs them first (see [`PerValue`]).
struct PerValues<'e> {
    ev: &'e Evaluator<'e>,
    fields: HashMap<FieldId, OnceLock<Option<PerValue>>, FixedState>,
}

impl<'e> PerValues<'e> {
    fn new(ev: &'e Evaluator<'e>) -> Self {
        Self {
            ev,
            fields: ev
                .reduction_fields()
                .iter()
                .map(|&(_, field, _)| (field, OnceLock::new()))
                .collect(),
        }
    }

    /// The counts for selections on `field` alone, when exact.
    fn get(&self, field: FieldId) -> Option<&PerValue> {
        self.fields
            .get(&field)?
            .get_or_init(|| self.ev.per_value(field))
            .as_ref()
    }
}

/// One piece's run of distinct grants (a fold's accumulator), decided in
/// order, with what they share: the row counts of each distinct
/// selection, the views, and the rows someone sees.
struct Deciding<'a> {
    app: &'a App,
    ev: &'a Evaluator<'a>,
    index: &'a MatchIndex<'a>,
    per_value: &'a PerValues<'a>,
    /// One reduction per distinct selection (applied fields and their
    /// values), kept as row counts only so that memory does not grow with
    /// the number of distinct grants.
    selections: Interner,
    counts_of: Vec<Option<Vec<usize>>>,
    /// Selections already added to `seen`.
    visible: Vec<bool>,
    seen: findings::Seen,
    /// Selections on one field are counted from per-value parts when the
    /// model allows (exact, see `PerValue`): no reduction per grant. The
    /// rows someone sees are then those of the union of the visible
    /// selections, reduced once at the end.
    seen_values: Vec<(FieldId, BitSet)>,
    /// What a grant shows is shared by the grants with the same outcome,
    /// selection and hidden fields.
    views: Interner,
    shown: Vec<Arc<View>>,
    shapes: Shapes,
    grants: Vec<Verdict>,
    buf: Vec<u32>,
}

impl<'a> Deciding<'a> {
    fn new(
        app: &'a App,
        ev: &'a Evaluator<'a>,
        index: &'a MatchIndex<'a>,
        per_value: &'a PerValues<'a>,
    ) -> Self {
        Self {
            app,
            ev,
            index,
            per_value,
            selections: Interner::default(),
            counts_of: Vec::new(),
            visible: Vec::new(),
            seen: findings::Seen::new(app),
            seen_values: Vec::new(),
            views: Interner::default(),
            shown: Vec::new(),
            shapes: Shapes::default(),
            grants: Vec::new(),
            buf: Vec::new(),
        }
    }

    /// Decides the grant of `key` and appends it; `counted`: some person
    /// (not only a service account) has it, so its rows count as seen.
    fn grant(&mut self, key: &[u32], counted: bool) {
        let (app, ev) = (self.app, self.ev);
        let mut decision = ev.decide(self.index, key);
        let buf = &mut self.buf;
        buf.clear();
        for r in decision.reduction.iter().filter(|r| r.applied) {
            buf.push(r.field.0);
            buf.push(u32::try_from(r.values.len()).unwrap_or(u32::MAX));
            buf.extend_from_slice(&r.values);
        }
        let sel = self.selections.intern(buf);
        if self.counts_of.len() <= sel {
            self.counts_of.resize(sel + 1, None);
            self.visible.resize(sel + 1, false);
        }
        let mut applied = decision.reduction.iter().filter(|r| r.applied);
        let one = match (applied.next(), applied.next()) {
            (Some(r), None) => Some((r.field, r.values.clone())),
            _ => None,
        };
        let mut counts: &[usize] = &[];
        if decision.outcome.is_granted() {
            let single = match &one {
                Some((field, values)) => self.per_value.get(*field).map(|pv| (pv, values)),
                None => None,
            };
            let mut fresh = None;
            if self.counts_of.get(sel).is_some_and(Option::is_none) {
                let c = match single {
                    Some((pv, values)) => pv.counts(values),
                    _ => {
                        let reduced = ev.reduce(&decision);
                        let c = (0..app.data.tables().len())
                            .map(|t| reduced.count(t))
                            .collect();
                        fresh = Some(reduced);
                        c
                    }
                };
                if let Some(slot) = self.counts_of.get_mut(sel) {
                    *slot = Some(c);
                }
            }
            counts = self
                .counts_of
                .get(sel)
                .and_then(Option::as_deref)
                .unwrap_or_default();
            ev.finish(&mut decision, counts);
            let first_visible = self.visible.get(sel).is_some_and(|v| !v);
            if decision.outcome.is_granted() && counted && first_visible {
                if let Some(v) = self.visible.get_mut(sel) {
                    *v = true;
                }
                match single {
                    Some((pv, values)) => {
                        let field = pv.field();
                        let pos = match self.seen_values.iter().position(|(f, _)| *f == field) {
                            Some(p) => p,
                            None => {
                                let n = app.data.symbols(field).map_or(0, |s| s.len());
                                self.seen_values.push((field, BitSet::new(n)));
                                self.seen_values.len() - 1
                            }
                        };
                        if let Some((_, set)) = self.seen_values.get_mut(pos) {
                            for &v in values {
                                set.insert(v as usize);
                            }
                        }
                    }
                    _ => {
                        let reduced = fresh.unwrap_or_else(|| ev.reduce(&decision));
                        self.seen.add(&reduced);
                    }
                }
            }
        }
        let granted = decision.outcome.is_granted();
        buf.clear();
        buf.push(outcome_code(decision.outcome));
        buf.push(match decision.access {
            None => 0,
            Some(AccessLevel::Admin) => 1,
            Some(AccessLevel::User) => 2,
        });
        buf.push(u32::try_from(sel).unwrap_or(u32::MAX));
        buf.push(u32::try_from(decision.omitted.len()).unwrap_or(u32::MAX));
        buf.extend(decision.omitted.iter().map(|(f, _)| f.0));
        buf.extend(
            decision
                .reduction
                .iter()
                .filter(|r| !r.applied)
                .map(|r| r.field.0),
        );
        let v = self.views.intern(buf);
        if v == self.shown.len() {
            let view = View::new(app, &decision, counts, &mut self.shapes);
            self.shown.push(Arc::new(view));
        }
        let (cross, cross_total) = if granted {
            findings::cross_combinations(app, ev, &decision)
        } else {
            (Vec::new(), 0)
        };
        self.grants.push(Verdict {
            outcome: decision.outcome,
            access: if granted { decision.access } else { None },
            view: self.shown.get(v).cloned().unwrap_or_default(),
            cross,
            cross_total,
            first_row: decision.matched_rows.into_iter().find(|m| m.kept),
        });
    }

    /// The runs joined in order: the grants, the rows someone sees, and
    /// the number of distinct selections reduced (or counted).
    fn merge(
        parts: Vec<Deciding<'a>>,
        ev: &Evaluator<'_>,
        app: &App,
    ) -> (Vec<Verdict>, findings::Seen, usize) {
        let mut grants = Vec::with_capacity(parts.iter().map(|p| p.grants.len()).sum());
        let mut seen = findings::Seen::new(app);
        let mut seen_values: Vec<(FieldId, BitSet)> = Vec::new();
        let mut selections = Interner::default();
        let mut reduced: Vec<bool> = Vec::new();
        for part in parts {
            grants.extend(part.grants);
            seen.union_with(&part.seen);
            for (field, values) in part.seen_values {
                match seen_values.iter_mut().find(|(f, _)| *f == field) {
                    Some((_, all)) => all.union_with(&values),
                    None => seen_values.push((field, values)),
                }
            }
            debug_assert_eq!(part.counts_of.len(), part.selections.len());
            for (counts, selection) in part.counts_of.iter().zip(part.selections.iter()) {
                let sel = selections.intern(selection);
                if reduced.len() <= sel {
                    reduced.resize(sel + 1, false);
                }
                if let Some(r) = reduced.get_mut(sel) {
                    *r |= counts.is_some();
                }
            }
        }
        for (field, values) in seen_values {
            seen.add(&ev.reduce_values(field, values));
        }
        let reductions = reduced.iter().filter(|&&r| r).count();
        (grants, seen, reductions)
    }
}

/// A number per outcome, for the keys of [`View`]s.
fn outcome_code(o: Outcome) -> u32 {
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
struct Shapes(Vec<(Vec<FieldId>, Vec<TableView>)>);

impl Shapes {
    fn get(&mut self, app: &App, omitted: Vec<FieldId>) -> &[TableView] {
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
    fn new(app: &App, decision: &Decision, counts: &[usize], shapes: &mut Shapes) -> Self {
        let data = &app.data;
        let granted = decision.outcome.is_granted();
        let tables = shapes
            .get(app, decision.omitted_ids())
            .iter()
            .enumerate()
            .map(|(t, shape)| TableView {
                rows: if granted {
                    counts.get(t).copied().unwrap_or(shape.total)
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

/// Distinct keys (lists of `u32`: rows matched, a reduction, a view),
/// numbered in order of first appearance: a [`ListInterner`] with a
/// direct table in front for the commonest keys.
#[derive(Debug, Default)]
struct Interner {
    lists: ListInterner,
    /// Numbers (plus one) of the keys `[1, x]` for small `x`, by `x`:
    /// most content keys are one table's rows of one class, found here
    /// without hashing (a million users, a few hundred classes).
    pairs: Vec<u32>,
}

/// Keys `[1, x]` from `x` this large are only hashed.
const PAIRS_BELOW: u32 = 1 << 16;

impl Interner {
    fn len(&self) -> usize {
        self.lists.len()
    }

    /// The keys in order of their numbers.
    fn iter(&self) -> impl Iterator<Item = &[u32]> + '_ {
        self.lists.iter()
    }

    /// The number of `key`, added if new.
    fn intern(&mut self, key: &[u32]) -> usize {
        let [1, x] = *key else {
            return self.lists.intern(key);
        };
        if x >= PAIRS_BELOW {
            return self.lists.intern(key);
        }
        let at = x as usize;
        if self.pairs.len() <= at {
            self.pairs.resize(at + 1, 0);
        }
        #[expect(
            clippy::indexing_slicing,
            reason = "INVARIANT: pairs was just made longer than at"
        )]
        let slot = &mut self.pairs[at];
        if let Some(n) = slot.checked_sub(1) {
            return n as usize;
        }
        let n = self.lists.intern(key);
        // Numbers fit in u32 (ListInterner's invariant); plus one, they
        // may not: such a key is then only found by its hash.
        if let Some(plus_one) = u32::try_from(n).ok().and_then(|n| n.checked_add(1)) {
            *slot = plus_one;
        }
        n
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
