//! Lint findings: what in a script, or in what it grants, deserves a look.
//!
//! Each [`Finding`] has a stable kebab-case code, a [`Severity`], a
//! lower-case message naming the values involved, the script line when
//! known, and a `help` line. Findings come from three places: the runner's
//! warnings (`ragged-inline-row`, `unsupported-skipped`, …), the security
//! and application tables themselves (static checks), and the audit of
//! every identity (who is denied, who sees combinations no row grants, which
//! data rows nobody sees).
//!
//! | code | severity |
//! |---|---|
//! | `lowercase-security-value` | error |
//! | `invalid-access-value` | error |
//! | `blank-identity-cell` | error |
//! | `unmatched-security-field` | error |
//! | `omit-unknown-field` | error |
//! | `lowercase-data-value` | warning |
//! | `no-scheduler-admin` | warning |
//! | `star-misses-data-values` | warning |
//! | `cross-product` | warning |
//! | `strict-exclusion-denied` | warning |
//! | `reduced-to-nothing-denied` | warning |
//! | `omit-key-field` | warning |
//! | `admin-reduced` | warning |
//! | runner warnings (`ragged-inline-row`, …) | warning |
//! | `duplicate-security-row` | info |
//! | `unreachable-data-rows` | info |
//! | `legacy-field-value` | info |
//! | `no-section-access` | info |

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use serde::Serialize;

use super::{Audit, FindingCode};
use crate::access::{
    AccessLevel, Decision, DenyReason, Evaluator, Options, Product, SYSTEM_FIELDS,
};
use crate::load::App;
use crate::model::{BitSet, FieldId, Model, SymbolId, Table};
use crate::names::Identity;
use crate::reduce::Reduced;
use crate::script::source::SourceId;

/// How many values, rows or identities a message names before "and N more".
pub const MAX_NAMED: usize = 10;

/// How serious a finding is. Ordered: `Info < Warning < Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; often intended.
    Info,
    /// Probably not what the author meant.
    Warning,
    /// The script does not do what it says.
    Error,
}

impl Severity {
    /// `info`, `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A line of the script, where a finding or a grant points: a file
/// (relative to the script's folder when it is inside it) and a 1-based
/// line. Not [`crate::script::source::Location`], a byte offset's
/// `path:line:column` for diagnostics. JSON: `{"file", "line"}`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ScriptLine {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column of the line's first character that is not blank,
    /// in Unicode code points (not part of the JSON).
    #[serde(skip)]
    pub column: u32,
    /// The text of that line, trimmed (not part of the JSON).
    #[serde(skip)]
    pub text: Option<String>,
}

impl fmt::Display for ScriptLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One finding (JSON: `{"code", "severity", "message", "location": {"file",
/// "line"} | null, "help"}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What it is about (a stable kebab-case code in JSON).
    pub code: FindingCode,
    /// How serious.
    pub severity: Severity,
    /// Lower-case message, values in backticks.
    pub message: String,
    /// Script line, when known.
    pub location: Option<ScriptLine>,
    /// What to do about it.
    pub help: String,
}

impl Finding {
    fn new(
        code: FindingCode,
        severity: Severity,
        message: String,
        location: Option<ScriptLine>,
        help: &str,
    ) -> Self {
        Self {
            code,
            severity,
            message,
            location,
            help: help.to_string(),
        }
    }
}

/// Every finding on `app`: runs the audit of every identity the security
/// tables name (what `check` prints).
pub fn findings(app: &App, opts: &Options) -> Vec<Finding> {
    Audit::run_summary(app, opts).findings
}

/// Given grants, the labels of their first identities (see [`Tally`]).
pub(super) type FirstOf<'a> = dyn Fn(&mut dyn Iterator<Item = usize>) -> Vec<String> + Send + 'a;

/// Who has each grant, as the findings name them.
pub(super) struct Tally<'a> {
    /// Per grant, its number of identities.
    pub(super) counts: Vec<usize>,
    /// The labels of the first [`MAX_NAMED`] identities in audit order
    /// among those of the grants given: made on demand, as findings name
    /// a handful and an audit may have a million grants.
    pub(super) first: Box<FirstOf<'a>>,
    /// Number of identities audited.
    pub(super) identities: usize,
}

impl Tally<'_> {
    /// The number of identities of grant `g`.
    fn count(&self, g: usize) -> usize {
        #[expect(
            clippy::indexing_slicing,
            reason = "INVARIANT: g numbers a grant, and counts holds one per grant"
        )]
        self.counts[g]
    }

    /// The labels of the first identities of `grants`, in audit order.
    fn names(&self, grants: impl IntoIterator<Item = usize>) -> Vec<String> {
        (self.first)(&mut grants.into_iter())
    }
}

/// Rows of the application tables that at least one granted identity sees.
#[derive(Debug)]
pub struct Seen {
    rows: Vec<BitSet>,
}

impl Seen {
    pub(super) fn new(app: &App) -> Self {
        Self {
            rows: app
                .data
                .tables()
                .iter()
                .map(|t| BitSet::new(t.len()))
                .collect(),
        }
    }

    /// Adds the rows `other` has seen.
    pub(super) fn union_with(&mut self, other: &Seen) {
        for (rows, theirs) in self.rows.iter_mut().zip(&other.rows) {
            rows.union_with(theirs);
        }
    }

    pub(super) fn add(&mut self, reduced: &Reduced) {
        for (t, rows) in self.rows.iter_mut().enumerate() {
            if let Some(r) = reduced.rows(t) {
                rows.union_with(r);
            }
        }
    }
}

/// `a`, `b`, `c` and 4 more.
fn named<I: IntoIterator<Item = String>>(items: I) -> String {
    let all: Vec<String> = items.into_iter().collect();
    let total = all.len();
    named_of(all, total)
}

/// [`named`] for `total` items of which `first` gives the first ones (at
/// least [`MAX_NAMED`] of them when there are that many).
fn named_of<I: IntoIterator<Item = String>>(first: I, total: usize) -> String {
    let shown: Vec<String> = first
        .into_iter()
        .take(MAX_NAMED)
        .map(|s| format!("`{s}`"))
        .collect();
    let more = total.saturating_sub(shown.len());
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// The location of a row of a table, when the runner tracked it.
fn row_location(app: &App, table: &Table, row: usize) -> Option<ScriptLine> {
    let o = table.origin(row)?;
    location(app, SourceId(o.file), o.line)
}

/// The location of a matched security row (file path and line).
pub(crate) fn path_location(app: &App, path: &Path, line: u32) -> Option<ScriptLine> {
    let id = (0u32..)
        .map(SourceId)
        .take_while(|&id| app.sources.get(id).is_some())
        .find(|&id| app.sources.path(id) == Some(path))?;
    location(app, id, line)
}

fn location(app: &App, file: SourceId, line: u32) -> Option<ScriptLine> {
    let src = app.sources.get(file)?;
    let base = app
        .sources
        .path(SourceId(0))
        .and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty());
    let shown = base
        .and_then(|b| src.path.strip_prefix(b).ok())
        .unwrap_or(&src.path);
    let raw = src.line_text(line.max(1));
    let column = raw.map_or(1, |l| {
        let blank = l.chars().take_while(|c| c.is_whitespace()).count();
        u32::try_from(blank).map_or(1, |b| b.saturating_add(1))
    });
    Some(ScriptLine {
        file: shown.display().to_string().replace('\\', "/"),
        line,
        column,
        text: raw.map(|l| l.trim().to_string()),
    })
}

fn text_of(model: &Model, field: FieldId, id: SymbolId) -> Option<String> {
    if id.is_null() {
        return None;
    }
    model.text(field, id).map(std::borrow::Cow::into_owned)
}

fn is_blank(text: Option<&str>) -> bool {
    text.is_none_or(|t| t.trim().is_empty())
}

/// `test` applied once to each symbol of `field` (by its text): the
/// findings below scan rows comparing ids, not text per row.
fn per_symbol(model: &Model, field: FieldId, test: impl Fn(&str) -> bool) -> Vec<bool> {
    let Some(symbols) = model.symbols(field) else {
        return Vec::new();
    };
    // One flag per id: every symbol has a text, but a flag is set by id
    // all the same.
    let mut flags = vec![false; symbols.len()];
    for (id, text) in symbols.texts() {
        if let Some(flag) = flags.get_mut(id.index()) {
            *flag = test(text.as_ref());
        }
    }
    flags
}

/// Whether the symbol `id` passed the test (NULL: `null`); `flags` are
/// [`per_symbol`]'s for the field of the column `id` was read off.
fn holds(flags: &[bool], id: SymbolId, null: bool) -> bool {
    if id.is_null() {
        return null;
    }
    #[expect(
        clippy::indexing_slicing,
        reason = "INVARIANT: a column holds NULL or ids of its field's symbols, and per_symbol flags each of them"
    )]
    flags[id.index()]
}

const IDENTITY_COLUMNS: [&str; 8] = [
    "USERID",
    "USER.EMAIL",
    "GROUP",
    "NTNAME",
    "NTDOMAINSID",
    "NTSID",
    "SERIAL",
    "PASSWORD",
];

/// Every value of each reduction field in the data, as text in Qlik's order.
pub(super) fn reduction_values(app: &App, ev: &Evaluator<'_>) -> Vec<(String, Vec<String>)> {
    ev.reduction_fields()
        .into_iter()
        .map(|(_, data, name)| {
            let mut ids = data_ids(&app.data, data);
            crate::access::sort_ids(&app.data, data, &mut ids);
            let values = ids
                .into_iter()
                .filter_map(|id| text_of(&app.data, data, id))
                .collect();
            (name.to_string(), values)
        })
        .collect()
}

/// Symbol ids of `field` that occur in at least one table, ascending.
fn data_ids(model: &Model, field: FieldId) -> Vec<SymbolId> {
    model
        .present(field)
        .iter()
        .filter_map(SymbolId::from_index)
        .collect()
}

/// A number as a set key: `-0` and `0` alike (they compare equal).
fn num_key(n: f64) -> u64 {
    if n == 0.0 { 0 } else { n.to_bits() }
}

/// Value combinations across the reduction fields of one security table
/// that a granted decision lets the identity see though no single kept row
/// grants them (SPEC §5.5). Returns the first [`MAX_NAMED`] and the total.
pub(super) fn cross_combinations(
    app: &App,
    ev: &Evaluator<'_>,
    decision: &Decision,
) -> (Vec<String>, usize) {
    const LIMIT: usize = 100_000;
    let sec = ev.security();
    let reductions = ev.reduction_fields();
    // Only a table with two applied reduction fields pairs values.
    let pairs = sec.tables().iter().any(|table| {
        reductions
            .iter()
            .filter(|(s, d, _)| {
                table.has_field(*s)
                    && decision
                        .reduction
                        .iter()
                        .any(|r| r.applied && r.field == *d)
            })
            .count()
            >= 2
    });
    if !pairs {
        return (Vec::new(), 0);
    }
    let applied: HashMap<FieldId, HashSet<String>> = decision
        .reduction
        .iter()
        .filter(|r| r.applied)
        .map(|r| {
            let texts = r
                .values
                .iter()
                .filter_map(|&id| text_of(&app.data, r.field, id))
                .collect();
            (r.field, texts)
        })
        .collect();
    let mut named_out = Vec::new();
    let mut total = 0usize;
    for table in sec.tables() {
        // Reduction fields of this table that the decision applies.
        let fields: Vec<(FieldId, &HashSet<String>, String)> = reductions
            .iter()
            .filter(|(s, _, _)| table.has_field(*s))
            .filter_map(|(s, d, n)| applied.get(d).map(|set| (*s, set, n.to_string())))
            .collect();
        if fields.len() < 2 {
            continue;
        }
        let rows: Vec<usize> = decision
            .matched_rows
            .iter()
            .filter(|m| m.kept && m.table == table.name)
            .map(|m| m.row.saturating_sub(1))
            .collect();
        // Per row and field: the values that row grants (`*` = every listed
        // value), restricted to S_f.
        let listed: Vec<Vec<String>> = fields
            .iter()
            .map(|(f, s, _)| {
                let mut v: Vec<String> = sec
                    .tables()
                    .iter()
                    .filter_map(|t| t.column(*f))
                    .flatten()
                    .filter_map(|&id| text_of(sec, *f, id))
                    .filter(|t| !t.trim().is_empty() && !ev.is_wildcard(t) && s.contains(t))
                    .collect();
                v.sort();
                v.dedup();
                v
            })
            .collect();
        let grants: Vec<Vec<Vec<String>>> = rows
            .iter()
            .map(|&r| {
                fields
                    .iter()
                    .zip(&listed)
                    .map(|((f, s, _), all)| {
                        let cell = table
                            .column(*f)
                            .and_then(|c| c.get(r))
                            .and_then(|&id| text_of(sec, *f, id));
                        match cell {
                            Some(t) if ev.is_wildcard(&t) => all.clone(),
                            Some(t) if s.contains(&t) => vec![t],
                            _ => Vec::new(),
                        }
                    })
                    .collect()
            })
            .collect();
        // The per-field unions whose product the identity sees.
        let unions: Vec<Vec<String>> = (0..fields.len())
            .map(|i| {
                let mut v: Vec<String> = grants
                    .iter()
                    .filter_map(|g| g.get(i))
                    .flatten()
                    .cloned()
                    .collect();
                v.sort();
                v.dedup();
                v
            })
            .collect();
        let product = unions
            .iter()
            .map(Vec::len)
            .try_fold(1usize, usize::checked_mul)
            .unwrap_or(usize::MAX);
        if product <= 1 || product > LIMIT {
            continue;
        }
        let mut idx = vec![0usize; unions.len()];
        'tuples: loop {
            let tuple: Vec<&String> = unions
                .iter()
                .zip(&idx)
                .filter_map(|(u, &i)| u.get(i))
                .collect();
            let covered = grants
                .iter()
                .any(|g| g.iter().zip(&tuple).all(|(vals, t)| vals.contains(t)));
            if !covered {
                total += 1;
                if named_out.len() < MAX_NAMED {
                    let parts: Vec<String> = fields
                        .iter()
                        .zip(&tuple)
                        .map(|((_, _, n), t)| format!("{n}={t}"))
                        .collect();
                    named_out.push(parts.join(", "));
                }
            }
            // Next tuple, last field fastest.
            for k in (0..idx.len()).rev() {
                let (Some(slot), Some(u)) = (idx.get_mut(k), unions.get(k)) else {
                    break 'tuples;
                };
                *slot += 1;
                if *slot < u.len() {
                    continue 'tuples;
                }
                *slot = 0;
            }
            break;
        }
    }
    (named_out, total)
}

/// The findings that depend on the script alone, not on the grants: what
/// an audit checks beside grouping its identities.
pub(super) struct Checks {
    findings: Vec<Finding>,
    /// Nothing to add from the grants (the script has no section access).
    complete: bool,
}

/// The checks of the script (see [`Checks`]), unsorted.
pub(super) fn checks(app: &App, opts: &Options, ev: &Evaluator<'_>) -> Checks {
    let mut out = Vec::new();
    runner_warnings(app, &mut out);
    if !app.has_section_access && app.access.tables().is_empty() {
        out.push(Finding::new(
            FindingCode::NoSectionAccess,
            Severity::Info,
            String::from("the script has no section access: every identity sees all data"),
            None,
            "add a `Section Access;` part if the app holds data not everyone may see",
        ));
        return Checks {
            findings: out,
            complete: true,
        };
    }
    lowercase_security_values(app, &mut out);
    identity_cells(app, ev, &mut out);
    access_values(app, ev, &mut out);
    unmatched_fields(app, ev, &mut out);
    lowercase_data_values(app, ev, &mut out);
    star_coverage(app, ev, &mut out);
    omit_values(app, ev, &mut out);
    duplicate_rows(app, ev, &mut out);
    scheduler(app, opts, ev, &mut out);
    Checks {
        findings: out,
        complete: false,
    }
}

/// Every finding, sorted (errors first, then by location and code): the
/// script's `checks` and what the grants show.
pub(super) fn collect(
    checks: Checks,
    app: &App,
    ev: &Evaluator<'_>,
    (audit, tally, seen): (&Audit, &Tally, &Seen),
) -> Vec<Finding> {
    let Checks {
        findings: mut out,
        complete,
    } = checks;
    if !complete {
        results(app, audit, tally, seen, ev, &mut out);
    }
    sort(&mut out);
    out
}

fn sort(out: &mut [Finding]) {
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.location.is_none().cmp(&b.location.is_none()))
            .then_with(|| a.location.cmp(&b.location))
            .then_with(|| a.code.as_str().cmp(b.code.as_str()))
            .then_with(|| a.message.cmp(&b.message))
    });
}

fn runner_warnings(app: &App, out: &mut Vec<Finding>) {
    for w in &app.warnings {
        let loc = w.span.and_then(|s| {
            let l = app.sources.location(s);
            location(app, s.source, l.line)
        });
        let help = match w.code {
            "ragged-inline-row" => {
                "give every INLINE row as many cells as the header: missing cells load as NULL and extra cells are dropped"
            }
            "unsupported-skipped" => {
                "the statement was skipped: the model may differ from what qlik builds; load the data from files to check it offline"
            }
            _ => "review the statement",
        };
        out.push(Finding::new(
            FindingCode::Run(w.code),
            Severity::Warning,
            w.message.clone(),
            loc,
            help,
        ));
    }
}

/// Security values with lower-case letters in identity columns and
/// `ACCESS`: the raw tables hold INLINE values upper-cased already, so such
/// values came from a file, `RESIDENT` or a database and keep their case in
/// the observed engine.
fn lowercase_security_values(app: &App, out: &mut Vec<Finding>) {
    let sec = &app.access;
    let mut columns: Vec<&str> = IDENTITY_COLUMNS.to_vec();
    columns.push("ACCESS");
    for table in sec.tables() {
        for name in &columns {
            let Some(f) = sec.find_field(name).filter(|&f| table.has_field(f)) else {
                continue;
            };
            let Some(col) = table.column(f) else { continue };
            if !sec
                .symbols(f)
                .is_some_and(crate::model::Symbols::has_lower_case)
            {
                continue;
            }
            let lower = per_symbol(sec, f, crate::names::has_lower_case);
            let mut values: Vec<String> = Vec::new();
            let mut first = None;
            let mut done = BitSet::new(lower.len());
            for (r, &id) in col.iter().enumerate() {
                if !holds(&lower, id, false) || id.is_null() {
                    continue;
                }
                first.get_or_insert(r);
                if done.contains(id.index()) {
                    continue;
                }
                done.insert(id.index());
                if let Some(t) = text_of(sec, f, id)
                    && !values.contains(&t)
                {
                    values.push(t);
                }
            }
            let Some(first) = first else { continue };
            out.push(Finding::new(
                FindingCode::LowercaseSecurityValue,
                Severity::Error,
                format!(
                    "`{}` column `{name}` holds lower-case values from a file, `RESIDENT` or a database: {}; qlik upper-cases only INLINE values in section access, so these rows never match",
                    table.name,
                    named(values)
                ),
                row_location(app, table, first),
                "wrap the field in `Upper()` when loading it into section access",
            ));
        }
    }
}

/// Blank identity cells and legacy values.
fn identity_cells(app: &App, ev: &Evaluator<'_>, out: &mut Vec<Finding>) {
    let sec = ev.security();
    for table in sec.tables() {
        for name in IDENTITY_COLUMNS {
            let Some(f) = sec.find_field(name).filter(|&f| table.has_field(f)) else {
                continue;
            };
            let Some(col) = table.column(f) else { continue };
            let blanks = ev
                .blank_symbols(f)
                .unwrap_or_else(|| per_symbol(sec, f, |t| is_blank(Some(t))));
            let blank: Vec<usize> = (0..col.len())
                .filter(|&r| col.get(r).is_none_or(|&id| holds(&blanks, id, true)))
                .collect();
            if let Some(&first) = blank.first() {
                let rows = blank.iter().map(|r| (r + 1).to_string());
                out.push(Finding::new(
                    FindingCode::BlankIdentityCell,
                    Severity::Error,
                    format!(
                        "`{}` has a blank `{name}` cell in row {}: a blank identity cell matches nobody, so the row grants nothing",
                        table.name,
                        named(rows).replace('`', "")
                    ),
                    row_location(app, table, first),
                    "write `*` to match anyone, or the value meant",
                ));
            }
            if matches!(name, "NTDOMAINSID" | "NTSID" | "SERIAL" | "PASSWORD") {
                let values = per_symbol(sec, f, |t| !t.trim().is_empty() && !ev.is_wildcard(t));
                let legacy: Vec<usize> = (0..col.len())
                    .filter(|&r| col.get(r).is_some_and(|&id| holds(&values, id, false)))
                    .collect();
                if let Some(&first) = legacy.first() {
                    out.push(Finding::new(
                        FindingCode::LegacyFieldValue,
                        Severity::Info,
                        format!(
                            "`{}` column `{name}` holds values other than `*` in {} row{}: it cannot be checked offline, so {} never match here",
                            table.name,
                            legacy.len(),
                            if legacy.len() == 1 { "" } else { "s" },
                            if legacy.len() == 1 { "that row does" } else { "those rows" }
                        ),
                        row_location(app, table, first),
                        "legacy qlikview fields are not used by qlik sense or qlik cloud; use `*` or remove the column",
                    ));
                }
            }
        }
    }
}

fn access_values(app: &App, ev: &Evaluator<'_>, out: &mut Vec<Finding>) {
    let sec = ev.security();
    let Some(f) = sec.find_field("ACCESS") else {
        return;
    };
    for table in sec.tables() {
        let Some(col) = table.column(f) else { continue };
        let ok = per_symbol(sec, f, |t| t == "ADMIN" || t == "USER");
        let mut bad: Vec<(String, usize)> = Vec::new();
        for (r, &id) in col.iter().enumerate() {
            if !holds(&ok, id, false) {
                bad.push((text_of(sec, f, id).unwrap_or_default(), r));
            }
        }
        let Some(&(_, first)) = bad.first() else {
            continue;
        };
        let mut values: Vec<String> = bad
            .iter()
            .map(|(t, _)| {
                if t.trim().is_empty() {
                    String::from("(blank)")
                } else {
                    t.clone()
                }
            })
            .collect();
        values.dedup();
        let rows: Vec<String> = bad.iter().map(|(_, r)| (r + 1).to_string()).collect();
        out.push(Finding::new(
            FindingCode::InvalidAccessValue,
            Severity::Error,
            format!(
                "`{}` has `ACCESS` values other than `ADMIN` or `USER` ({}) in row {}: those rows grant nothing",
                table.name,
                named(values),
                named(rows).replace('`', "")
            ),
            row_location(app, table, first),
            "`ACCESS` must be `ADMIN` or `USER` (upper-case unless loaded INLINE)",
        ));
    }
}

fn unmatched_fields(app: &App, ev: &Evaluator<'_>, out: &mut Vec<Finding>) {
    let sec = ev.security();
    let reductions: Vec<FieldId> = ev.reduction_fields().iter().map(|r| r.0).collect();
    for f in sec.live_fields() {
        let Some(name) = sec.field_name(f) else {
            continue;
        };
        if SYSTEM_FIELDS.contains(&name.as_str()) || reductions.contains(&f) {
            continue;
        }
        let hint = app
            .data
            .live_fields()
            .into_iter()
            .filter_map(|d| app.data.field_name(d))
            .find(|d| d.as_str().to_uppercase() == name.as_str().to_uppercase())
            .map(|d| format!(" (did you mean `{d}`? application field names are case-sensitive)"));
        let at = sec.tables().iter().find_map(|t| {
            if t.has_field(f) {
                Some(row_location(app, t, 0))
            } else {
                None
            }
        });
        out.push(Finding::new(
            FindingCode::UnmatchedSecurityField,
            Severity::Error,
            format!(
                "security field `{name}` names no application field: it reduces nothing{}",
                hint.clone().unwrap_or_default()
            ),
            at.flatten(),
            if hint.is_some() {
                "rename the application field to the upper-case name (e.g. `Upper(x) as NAME` or `AS NAME`)"
            } else {
                "reduction fields must have the same (upper-case) name in the data model"
            },
        ));
    }
}

/// Data values of a reduction field with lower-case letters that no
/// security value equals: no USER can reach their rows.
fn lowercase_data_values(app: &App, ev: &Evaluator<'_>, out: &mut Vec<Finding>) {
    let sec = ev.security();
    for (sf, df, name) in ev.reduction_fields() {
        let lower: Vec<(SymbolId, String)> = data_ids(&app.data, df)
            .into_iter()
            .filter_map(|id| text_of(&app.data, df, id).map(|t| (id, t)))
            .filter(|(_, t)| crate::names::has_lower_case(t))
            .collect();
        if lower.is_empty() {
            continue;
        }
        let listed: HashSet<String> = data_ids(sec, sf)
            .into_iter()
            .filter_map(|id| text_of(sec, sf, id))
            .collect();
        let bad: Vec<SymbolId> = lower
            .into_iter()
            .filter(|(_, t)| !listed.contains(t))
            .map(|(id, _)| id)
            .collect();
        if bad.is_empty() {
            continue;
        }
        let mut ids = bad.clone();
        crate::access::sort_ids(&app.data, df, &mut ids);
        let set: HashSet<SymbolId> = bad.into_iter().collect();
        let mut per_table = Vec::new();
        for t in app.data.tables() {
            // A table without the field has none of its values.
            let n = t
                .column(df)
                .map_or(0, |c| c.iter().filter(|id| set.contains(id)).count());
            if n > 0 {
                per_table.push(format!("{n} of `{}`", t.name));
            }
        }
        out.push(Finding::new(
            FindingCode::LowercaseDataValue,
            Severity::Warning,
            format!(
                "reduction field `{name}` has lower-case data values {} that no security value equals: their rows ({}) are reachable by no USER",
                named(ids.into_iter().filter_map(|id| text_of(&app.data, df, id))),
                per_table.join(", ")
            ),
            None,
            "application data is never upper-cased: load the field as `Upper(x) as NAME`",
        ));
    }
}

/// `*` in a reduction field expands to the listed values only: data values
/// nobody lists are seen by nobody with `*`.
fn star_coverage(app: &App, ev: &Evaluator<'_>, out: &mut Vec<Finding>) {
    let sec = ev.security();
    for (sf, df, name) in ev.reduction_fields() {
        let wild = per_symbol(sec, sf, |t| ev.is_wildcard(t));
        let star_at = sec.tables().iter().find_map(|table| {
            let col = table.column(sf)?;
            let r = col
                .iter()
                .position(|&id| !id.is_null() && holds(&wild, id, false))?;
            Some(row_location(app, table, r))
        });
        let Some(at) = star_at else { continue };
        // The listed values (not wildcards, not blank), each once, indexed
        // the way `same_value` compares: numbers by value, text exactly.
        let mut nums: HashSet<u64> = HashSet::new();
        let mut texts: HashSet<String> = HashSet::new();
        let mut plain_texts: HashSet<String> = HashSet::new();
        for id in data_ids(sec, sf) {
            let Some(v) = sec.value(sf, id) else { continue };
            let t = v.text();
            if ev.is_wildcard(&t) || t.trim().is_empty() {
                continue;
            }
            match v.num() {
                Some(n) => {
                    if !n.is_nan() {
                        nums.insert(num_key(n));
                    }
                }
                None => {
                    plain_texts.insert(t.to_string());
                }
            }
            texts.insert(t.into_owned());
        }
        let mut missing: Vec<SymbolId> = data_ids(&app.data, df)
            .into_iter()
            .filter(|&id| {
                app.data.value(df, id).is_some_and(|d| {
                    let t = d.text();
                    let listed = match d.num() {
                        Some(n) => nums.contains(&num_key(n)) || plain_texts.contains(t.as_ref()),
                        None => texts.contains(t.as_ref()),
                    };
                    !listed
                })
            })
            .collect();
        if missing.is_empty() {
            continue;
        }
        crate::access::sort_ids(&app.data, df, &mut missing);
        let n = missing.len();
        out.push(Finding::new(
            FindingCode::StarMissesDataValues,
            Severity::Warning,
            format!(
                "`*` in `{name}` means every value listed in the security tables, not every value in the data: nobody with `*` sees {} ({n} value{})",
                named(missing.into_iter().filter_map(|id| text_of(&app.data, df, id))),
                if n == 1 { "" } else { "s" }
            ),
            at,
            "list the missing values in the security table, or give those users an ADMIN row with a blank reduction",
        ));
    }
}

fn omit_values(app: &App, ev: &Evaluator<'_>, out: &mut Vec<Finding>) {
    let sec = ev.security();
    let Some(omit) = sec.find_field("OMIT") else {
        return;
    };
    let live: Vec<(FieldId, String)> = app
        .data
        .live_fields()
        .into_iter()
        .filter_map(|f| app.data.field_name(f).map(|n| (f, n.to_string())))
        .collect();
    let keys = ev.key_fields();
    let mut done: HashSet<String> = HashSet::new();
    for table in sec.tables() {
        let Some(col) = table.column(omit) else {
            continue;
        };
        let mut visited = BitSet::new(sec.symbols(omit).map_or(0, |s| s.len()));
        for (r, &id) in col.iter().enumerate() {
            // A value seen before was handled there (the `done` test below
            // would skip it anyway).
            if visited.contains(id.index()) {
                continue;
            }
            visited.insert(id.index());
            let Some(text) = text_of(sec, omit, id) else {
                continue;
            };
            let text = text.trim().to_string();
            if text.is_empty() || ev.is_wildcard(&text) || !done.insert(text.clone()) {
                continue;
            }
            let upper = text.to_uppercase();
            let hits: Vec<&(FieldId, String)> = live
                .iter()
                .filter(|(_, n)| *n == text || n.to_uppercase() == upper)
                .collect();
            if hits.is_empty() {
                out.push(Finding::new(
                    FindingCode::OmitUnknownField,
                    Severity::Error,
                    format!("`OMIT` value `{text}` names no application field: it hides nothing"),
                    row_location(app, table, r),
                    "use the exact name of the field to hide",
                ));
            }
            for (f, n) in hits {
                if keys.contains(f) {
                    out.push(Finding::new(
                        FindingCode::OmitKeyField,
                        Severity::Warning,
                        format!(
                            "`OMIT` hides key field `{n}`: the tables it links look unrelated to the user, though the reduction still went through it"
                        ),
                        row_location(app, table, r),
                        "omit a non-key copy of the field instead, or rename the key so it is not shown",
                    ));
                }
            }
        }
    }
}

fn duplicate_rows(app: &App, ev: &Evaluator<'_>, out: &mut Vec<Finding>) {
    let sec = ev.security();
    for table in sec.tables() {
        // Only rows whose value in the most varied column occurs twice can
        // repeat a row: hash just those.
        let widest = table
            .fields()
            .max_by_key(|&f| sec.symbols(f).map_or(0, |s| s.len()));
        let candidate: Option<Vec<bool>> = widest.and_then(|f| {
            let col = table.column(f)?;
            let mut times = vec![0u8; sec.symbols(f).map_or(0, |s| s.len()) + 1];
            let last = times.len() - 1;
            let slot = move |id: SymbolId| id.index().min(last);
            for &id in col {
                if let Some(n) = times.get_mut(slot(id)) {
                    *n = n.saturating_add(1);
                }
            }
            Some(
                col.iter()
                    .map(|&id| times.get(slot(id)).is_some_and(|&n| n > 1))
                    .collect(),
            )
        });
        let mut first: HashMap<Vec<SymbolId>, usize, foldhash::fast::FixedState> =
            HashMap::default();
        let mut dups: Vec<(usize, usize)> = Vec::new();
        for r in 0..table.len() {
            if candidate
                .as_ref()
                .is_some_and(|c| {
                    #[expect(
                        clippy::indexing_slicing,
                        reason = "INVARIANT: c holds one flag per cell of a column of table, r < table.len()"
                    )]
                    !c[r]
                })
            {
                continue;
            }
            let row: Vec<SymbolId> = table.row(r).collect();
            match first.get(&row) {
                Some(&f) => dups.push((f, r)),
                None => {
                    first.insert(row, r);
                }
            }
        }
        let Some(&(_, at)) = dups.first() else {
            continue;
        };
        let pairs = dups
            .iter()
            .map(|(f, r)| format!("row {} repeats row {}", r + 1, f + 1));
        out.push(Finding::new(
            FindingCode::DuplicateSecurityRow,
            Severity::Info,
            format!(
                "`{}` has duplicate rows: {}",
                table.name,
                named(pairs).replace('`', "")
            ),
            row_location(app, table, at),
            "remove the repeated rows (they change nothing, but hide what the table means)",
        ));
    }
}

fn scheduler(app: &App, opts: &Options, ev: &Evaluator<'_>, out: &mut Vec<Finding>) {
    if opts.product != Product::Sense {
        return;
    }
    let d = ev.evaluate(&Identity::user("INTERNAL\\SA_SCHEDULER"));
    if d.outcome.is_granted() && d.access == Some(AccessLevel::Admin) {
        return;
    }
    let got = match d.outcome.reason() {
        Some(r) => format!("it is denied: {}", r.code()),
        None => String::from("it is only a USER"),
    };
    let _ = app;
    out.push(Finding::new(
        FindingCode::NoSchedulerAdmin,
        Severity::Warning,
        format!(
            "no `ADMIN` row matches `INTERNAL\\SA_SCHEDULER` ({got}): on qlik sense enterprise on windows scheduled reloads of this app fail"
        ),
        None,
        "add a row `ADMIN, INTERNAL\\SA_SCHEDULER` (with `*` or blank in the other columns) to the security table",
    ));
}

/// Findings on what the audit computed.
fn results(
    app: &App,
    audit: &Audit,
    tally: &Tally,
    seen: &Seen,
    ev: &Evaluator<'_>,
    out: &mut Vec<Finding>,
) {
    for (reason, code) in [
        (
            DenyReason::StrictExclusion,
            FindingCode::StrictExclusionDenied,
        ),
        (
            DenyReason::ReducedToNothing,
            FindingCode::ReducedToNothingDenied,
        ),
    ] {
        let denied = || {
            audit
                .grants
                .iter()
                .enumerate()
                .filter(|(_, g)| g.outcome.reason() == Some(reason))
        };
        let n: usize = denied().map(|(g, _)| tally.count(g)).sum();
        if n == 0 {
            continue;
        }
        let who = tally.names(denied().map(|(g, _)| g));
        let (what, help) = match reason {
            DenyReason::StrictExclusion => (
                "a reduction field matches none of their values in the data (strict exclusion)",
                "check that their reduction values exist in the data, upper-case, or give them `*`",
            ),
            _ => (
                "their reduction leaves a reduced table without rows",
                "check that their values occur together in the data",
            ),
        };
        out.push(Finding::new(
            code,
            Severity::Warning,
            format!(
                "{n} identit{} denied because {what}: {}",
                if n == 1 { "y is" } else { "ies are" },
                named_of(who, n)
            ),
            None,
            help,
        ));
    }
    for (i, g) in audit.grants.iter().enumerate() {
        let n = tally.count(i);
        if n == 0 {
            continue;
        }
        if g.cross_total > 0 {
            out.push(Finding::new(
                FindingCode::CrossProduct,
                Severity::Warning,
                format!(
                    "{} see{} combinations of reduction values that no single security row grants ({} in all): {}",
                    named_of(tally.names([i]), n),
                    if n == 1 { "s" } else { "" },
                    g.cross_total,
                    g.cross.iter().map(|c| format!("({c})")).collect::<Vec<_>>().join(", ")
                ),
                g.location(app),
                "section access unions each field on its own; combine the fields into one key field (e.g. `COUNTRY & '|' & CATEGORY`) in both the security table and the data",
            ));
        }
        if g.is_granted() && g.access == Some(AccessLevel::Admin) && !g.view.reduction.is_empty() {
            let fields: Vec<String> = g.view.reduction.iter().map(|(n, _)| n.clone()).collect();
            out.push(Finding::new(
                FindingCode::AdminReduced,
                Severity::Warning,
                format!(
                    "{} {} ADMIN but reduced by {}: ADMIN does not mean all data",
                    named_of(tally.names([i]), n),
                    if n == 1 { "is" } else { "are" },
                    named(fields)
                ),
                g.location(app),
                "leave the reduction columns blank on ADMIN rows that should see everything",
            ));
        }
    }
    // Rows nobody sees, per table, with the reduction values they carry.
    let reductions = ev.reduction_fields();
    for (t, table) in app.data.tables().iter().enumerate() {
        let Some(rows) = seen.rows.get(t) else {
            continue;
        };
        let hidden = table.len() - rows.count().min(table.len());
        if hidden == 0 || tally.identities == 0 {
            continue;
        }
        let mut detail = String::new();
        if let Some((df, name, col)) = reductions
            .iter()
            .find_map(|(_, d, name)| Some((d, name, table.column(*d)?)))
        {
            let mut ids: Vec<SymbolId> = col
                .iter()
                .enumerate()
                .filter(|&(r, _)| !rows.contains(r))
                .map(|(_, &id)| id)
                .filter(|&id| !id.is_null())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            crate::access::sort_ids(&app.data, *df, &mut ids);
            if !ids.is_empty() {
                detail = format!(
                    " (`{name}` {})",
                    named(ids.into_iter().filter_map(|id| text_of(&app.data, *df, id)))
                );
            }
        }
        out.push(Finding::new(
            FindingCode::UnreachableDataRows,
            Severity::Info,
            format!(
                "{hidden} of {} rows of `{}` are visible to no audited identity{detail}",
                table.len(),
                table.name
            ),
            None,
            "intended for data nobody may see; otherwise grant those values to someone (audit `--identities` with your user directory to be sure)",
        ));
    }
}
