//! The compiled security tables and the evaluation of one identity.

use std::collections::HashMap;

use foldhash::fast::FixedState;

use crate::lists::Lists;
use crate::load::{App, Uppercase};
use crate::model::{BitSet, FieldId, Model, RowId, SymbolId, Value};
use crate::names::{FieldName, Identity};
use crate::reduce::{Links, PerValue, Reduced, Selection};
use crate::script::source::SourceId;

use super::{
    AccessLevel, Decision, DenyReason, FieldReduction, MatchedRow, Note, Options, Outcome, Product,
    cell_text, sort_ids,
};

/// The fields with a meaning of their own in section access (SPEC §2).
pub const SYSTEM_FIELDS: [&str; 10] = [
    "ACCESS",
    "USERID",
    "USER.EMAIL",
    "GROUP",
    "OMIT",
    "NTNAME",
    "NTDOMAINSID",
    "NTSID",
    "SERIAL",
    "PASSWORD",
];

/// What an identity column is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IdKind {
    UserId,
    Email,
    Group,
    NtName,
    /// `NTDOMAINSID`, `NTSID`, `SERIAL`, `PASSWORD`: cannot be checked offline.
    Legacy,
}

fn identity_kind(name: &str) -> Option<IdKind> {
    match name {
        "USERID" => Some(IdKind::UserId),
        "USER.EMAIL" => Some(IdKind::Email),
        "GROUP" => Some(IdKind::Group),
        "NTNAME" => Some(IdKind::NtName),
        "NTDOMAINSID" | "NTSID" | "SERIAL" | "PASSWORD" => Some(IdKind::Legacy),
        _ => None,
    }
}

/// A security table's identity columns, and whether the identity can reach
/// it at all (it has identity columns, or is associated with a table that has).
#[derive(Debug)]
struct SecTable {
    identity: Vec<(FieldId, IdKind)>,
    reached: bool,
}

/// A reduction field: the security field and the application field of the
/// same name.
#[derive(Debug)]
struct ReductionField {
    security: FieldId,
    data: FieldId,
    name: FieldName,
}

/// The security tables under one `--uppercase` mode, compiled.
#[derive(Debug)]
struct Rules<'a> {
    sec: std::borrow::Cow<'a, Model>,
    links: Links,
    tables: Vec<SecTable>,
    access: Option<FieldId>,
    omit: Option<FieldId>,
    reductions: Vec<ReductionField>,
    /// Per table, the rows with a valid `ACCESS` (`ADMIN` or `USER`);
    /// `None` without an `ACCESS` column. Computed once: an audit decides
    /// many keys against the same rows.
    valid: Vec<Option<BitSet>>,
    /// Per `ACCESS` symbol, the level it grants (`None`: none).
    levels: Vec<Option<AccessLevel>>,
    /// How each symbol of the identity, reduction and `OMIT` fields counts.
    cells: HashMap<FieldId, Vec<Cell>, FixedState>,
    /// Per reduction and `OMIT` field, the symbols listed in some row (not
    /// blank, not a wildcard), ascending: what `*` expands to (SPEC §5.2).
    listed: HashMap<FieldId, Vec<SymbolId>, FixedState>,
    /// Per reduction field (as in `reductions`), the application symbols
    /// each security symbol matches.
    matches: Vec<Lists<SymbolId>>,
}

impl Rules<'_> {
    fn cells(&self, field: FieldId) -> &[Cell] {
        self.cells.get(&field).map_or(&[], Vec::as_slice)
    }

    fn listed(&self, field: FieldId) -> &[SymbolId] {
        self.listed.get(&field).map_or(&[], Vec::as_slice)
    }
}

/// Finds application symbols equal to a security value (SPEC §5.3) without
/// scanning the field: by number and by text.
#[derive(Debug, Default)]
struct ValueIndex {
    by_num: HashMap<u64, Vec<SymbolId>>,
    /// Text → (symbol id, whether the symbol is a number).
    by_text: HashMap<String, Vec<(SymbolId, bool)>>,
}

impl ValueIndex {
    fn new(model: &Model, field: FieldId) -> Self {
        let present = model.present(field);
        let mut index = Self::default();
        let Some(symbols) = model.symbols(field) else {
            return index;
        };
        for (id, v) in symbols.iter() {
            if !present.contains(id.index()) {
                continue;
            }
            if let Some(n) = v.num() {
                index.by_num.entry(num_key(n)).or_default().push(id);
            }
            index
                .by_text
                .entry(v.text().into_owned())
                .or_default()
                .push((id, v.num().is_some()));
        }
        index
    }

    /// Data symbols equal to `v`: as numbers when both are numbers,
    /// otherwise as text, exactly.
    fn matches(&self, v: &Value) -> impl Iterator<Item = SymbolId> + '_ {
        let num = v.num();
        let by_num = num.and_then(|n| self.by_num.get(&num_key(n)));
        // A number matches texts that are not numbers by its text (SPEC
        // §5.3); a text matches every value with its text.
        let by_text = self.by_text.get(v.text().as_ref());
        let by_num = by_num.into_iter().flatten().copied();
        let by_text = by_text
            .into_iter()
            .flatten()
            .filter(move |&&(_, numeric)| num.is_none() || !numeric)
            .map(|&(id, _)| id);
        by_num.chain(by_text)
    }
}

fn num_key(n: f64) -> u64 {
    if n == 0.0 { 0 } else { n.to_bits() }
}

/// The application side: links, value indexes for reduction fields, names.
#[derive(Debug)]
struct DataSide {
    links: Links,
    live: Vec<(FieldId, FieldName)>,
    keys: Vec<FieldId>,
    /// Per reduction field, each symbol's position in Qlik's sort order
    /// (made on first use: sorting long S_f lists by rank, not by value).
    rank: HashMap<FieldId, std::sync::OnceLock<Vec<u32>>>,
}

/// Section access compiled for one app and one set of [`Options`]; evaluate
/// as many identities as needed.
#[derive(Debug)]
pub struct Evaluator<'a> {
    app: &'a App,
    opts: Options,
    rules: Rules<'a>,
    /// The rules under the other `--uppercase` mode, when they differ.
    other: Option<Rules<'a>>,
    data: DataSide,
    /// Notes that hold for every identity (script remarks).
    general: Vec<Note>,
    wildcards: Vec<String>,
}

mod index;
mod shape;

pub(crate) use index::{MatchIndex, Matcher, Named, Origin};
pub(crate) use shape::{IdCell, IdText, RulesShape};

/// How a security symbol counts in a cell: classified once per field, so
/// that matching and expanding never compare text per row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cell {
    /// NULL, or blank text.
    Blank,
    /// Blank text that is also the `Star is` value: blank where identities
    /// are matched, a wildcard where values are expanded.
    BlankWild,
    /// The wildcard (`*`, or the `Star is` value).
    Wild,
    /// A value.
    Value,
    /// The text `*` where it is no wildcard (QlikView without `Star is *;`):
    /// a value, worth a note.
    Star,
}

/// A set of rows of one security table: a sorted list (a few rows matched
/// through the index), a bitset (after propagation), or every row.
#[derive(Clone, Debug, PartialEq)]
enum RowSet {
    List(Vec<RowId>),
    Bits(BitSet),
    All(usize),
}

impl RowSet {
    fn contains(&self, r: usize) -> bool {
        match self {
            RowSet::List(v) => RowId::from_index(r).is_some_and(|r| v.binary_search(&r).is_ok()),
            RowSet::Bits(b) => b.contains(r),
            RowSet::All(n) => r < *n,
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            RowSet::List(v) => v.is_empty(),
            RowSet::Bits(b) => b.is_empty(),
            RowSet::All(n) => *n == 0,
        }
    }

    /// The rows, ascending.
    fn iter(&self) -> Box<dyn Iterator<Item = usize> + '_> {
        match self {
            RowSet::List(v) => Box::new(v.iter().map(|r| r.index())),
            RowSet::Bits(b) => Box::new(b.iter()),
            RowSet::All(n) => Box::new(0..*n),
        }
    }

    /// The rows also in `other` (a bitset of the same table).
    fn intersect(self, other: &BitSet) -> RowSet {
        match self {
            RowSet::List(mut v) => {
                v.retain(|r| other.contains(r.index()));
                RowSet::List(v)
            }
            RowSet::Bits(mut b) => {
                b.intersect_with(other);
                RowSet::Bits(b)
            }
            RowSet::All(_) => RowSet::Bits(other.clone()),
        }
    }

    fn to_bits(&self, len: usize) -> BitSet {
        match self {
            RowSet::Bits(b) => b.clone(),
            RowSet::All(n) => BitSet::full(*n),
            RowSet::List(v) => {
                let mut b = BitSet::new(len);
                for r in v {
                    b.insert(r.index());
                }
                b
            }
        }
    }
}

/// Where the notes of a decision go: nowhere when the caller does not show
/// them (the audit), so that no message is formatted for nothing.
struct Notes<'n>(Option<&'n mut Vec<Note>>);

impl Notes<'_> {
    fn push(&mut self, note: impl FnOnce() -> Note) {
        if let Some(out) = self.0.as_mut() {
            out.push(note());
        }
    }

    fn on(&self) -> bool {
        self.0.is_some()
    }
}

/// The rows whose values count for a decision: the kept rows of reached
/// tables, every row of a table the identity cannot reach.
struct Scope<'g> {
    kept: &'g [Option<RowSet>],
    all: Vec<Option<RowSet>>,
}

impl Scope<'_> {
    fn rows(&self, t: usize) -> Option<&RowSet> {
        match self.all.get(t) {
            Some(Some(all)) => Some(all),
            _ => self.kept.get(t).and_then(Option::as_ref),
        }
    }
}

/// The decision before the data is reduced.
#[derive(Debug, PartialEq)]
struct Grant {
    outcome: Outcome,
    access: Option<AccessLevel>,
    /// Per security table, the rows matched (reached tables only).
    matched: Vec<Option<RowSet>>,
    /// Per security table, the matched rows kept (valid `ACCESS`).
    kept: Vec<Option<RowSet>>,
    reduction: Vec<FieldReduction>,
    omitted: Vec<(FieldId, FieldName)>,
}

impl<'a> Evaluator<'a> {
    /// Compiles the security tables of `app`.
    pub fn new(app: &'a App, opts: Options) -> Self {
        let live: Vec<(FieldId, FieldName)> = app
            .data
            .live_fields()
            .into_iter()
            .filter_map(|f| app.data.field_name(f).map(|n| (f, n.clone())))
            .collect();
        let data_links = Links::new(&app.data);
        let keys = data_links.key_fields();
        let mut general = Vec::new();
        let mut wildcards = Vec::new();
        if opts.product == Product::Sense {
            wildcards.push(String::from("*"));
        }
        if let Some(star) = &app.star
            && !star.is_empty()
            && !wildcards.contains(star)
        {
            wildcards.push(star.clone());
        }
        let mut rules = compile(
            app.security(opts.uppercase),
            &live,
            &mut general,
            &wildcards,
        );
        let other_mode = match opts.uppercase {
            Uppercase::Inline => Uppercase::All,
            Uppercase::All => Uppercase::Inline,
        };
        let mut other = has_lower_case(&app.access)
            .then(|| compile(app.security(other_mode), &live, &mut Vec::new(), &wildcards));
        let index: HashMap<FieldId, ValueIndex> = rules
            .reductions
            .iter()
            .map(|r| (r.data, ValueIndex::new(&app.data, r.data)))
            .collect();
        for r in std::iter::once(&mut rules).chain(other.as_mut()) {
            r.matches = value_matches(r, &index);
        }
        let rank = rules
            .reductions
            .iter()
            .map(|r| (r.data, std::sync::OnceLock::new()))
            .collect();
        if app.approximate {
            general.push(Note::new(
                "approximate-model",
                "unsupported statements were skipped: the model may differ from what qlik builds",
            ));
        }
        if data_links.is_cyclic() {
            general.push(Note::new(
                "circular-reference",
                "the application tables form a loop (circular reference or overlapping synthetic keys); the reduction propagates through every link to a fixpoint [inf]",
            ));
        }
        Self {
            app,
            opts,
            rules,
            other,
            data: DataSide {
                links: data_links,
                live,
                keys,
                rank,
            },
            general,
            wildcards,
        }
    }

    /// The options the rules were compiled for.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Decides for one identity and, when granted, reduces the data.
    pub fn evaluate(&self, identity: &Identity) -> Decision {
        let mut decision = self.decide_identity(identity);
        if decision.outcome.is_granted() {
            let r = self.reduce(&decision);
            let counts: Vec<usize> = (0..self.app.data.tables().len())
                .map(|t| r.count(t))
                .collect();
            self.finish(&mut decision, &counts);
            decision.reduced = Some(r);
        }
        dedup(&mut decision.notes);
        decision
    }

    /// [`Evaluator::evaluate`] without the reduction: the decision for one
    /// identity, with its notes, before the data is reduced. For a granted
    /// one, count the rows its selection leaves (a reduction, or per-value
    /// counts) and call [`Evaluator::finish`].
    pub fn decide_identity(&self, identity: &Identity) -> Decision {
        let mut notes = self.general.clone();
        if !self.app.has_section_access && self.app.access.tables().is_empty() {
            notes.push(Note::new(
                "no-section-access",
                "the script has no section access: every identity sees all data",
            ));
            return Decision {
                outcome: Outcome::Granted,
                access: None,
                matched_rows: Vec::new(),
                reduction: Vec::new(),
                omitted: Vec::new(),
                notes,
                reduced: None,
            };
        }
        let grant = self.grant(&self.rules, identity, &mut Notes(Some(&mut notes)));
        if let Some(other) = &self.other {
            let alt = self.grant(other, identity, &mut Notes(None));
            if !same_answer(&grant, &alt) {
                let mode = match self.opts.uppercase {
                    Uppercase::Inline => "all",
                    Uppercase::All => "inline",
                };
                notes.push(Note::new(
                    "uppercase-mode-differs",
                    format!(
                        "with `--uppercase {mode}` the answer differs ({}): the security tables hold lower-case values that only one reading of qlik's upper-casing rule matches [obs vs doc]",
                        describe(&alt, &self.app.data)
                    ),
                ));
            }
        }
        let mut decision = Decision {
            outcome: grant.outcome,
            access: grant.access,
            matched_rows: self.matched_rows(&self.rules, &grant),
            reduction: grant.reduction,
            omitted: grant.omitted,
            notes,
            reduced: None,
        };
        dedup(&mut decision.notes);
        decision
    }

    /// The selection a decision applies to the data: S_f of every applied
    /// reduction field.
    pub fn selection(&self, decision: &Decision) -> Selection {
        Selection {
            fields: decision
                .reduction
                .iter()
                .filter(|r| r.applied)
                .map(|r| {
                    let mut set =
                        BitSet::new(self.app.data.symbols(r.field).map_or(0, |s| s.len()));
                    for &v in &r.values {
                        set.insert(v.index());
                    }
                    (r.field, set)
                })
                .collect(),
            rows: Vec::new(),
        }
    }

    /// Reduces the data for a decision (whatever its outcome; a denied
    /// identity sees nothing, but the reduction shows what it would have).
    pub fn reduce(&self, decision: &Decision) -> Reduced {
        self.data
            .links
            .reduce(&self.app.data, &self.selection(decision))
    }

    /// Per-value row counts for selections on the application field
    /// `field` alone, when they are exact for this model (see
    /// [`crate::reduce::PerValue`]).
    pub(crate) fn per_value(&self, field: FieldId) -> Option<PerValue> {
        self.data.links.per_value(&self.app.data, field)
    }

    /// Reduces the data to the rows `values` of `field` leave.
    pub fn reduce_values(&self, field: FieldId, values: BitSet) -> Reduced {
        self.data.links.reduce(
            &self.app.data,
            &Selection {
                fields: vec![(field, values)],
                rows: Vec::new(),
            },
        )
    }

    /// Completes a granted decision with the rows its reduction left per
    /// application table (`rows_left`, in model order): a USER left without
    /// rows in a reduced table is denied (SPEC §5.7). Takes counts, not the
    /// reduction, so one cached reduction can serve many decisions.
    pub fn finish(&self, decision: &mut Decision, rows_left: &[usize]) {
        if !decision.outcome.is_granted() || decision.access != Some(AccessLevel::User) {
            return;
        }
        let applied: Vec<FieldId> = decision
            .reduction
            .iter()
            .filter(|r| r.applied)
            .map(|r| r.field)
            .collect();
        let reduced_tables: Vec<usize> = self
            .app
            .data
            .tables()
            .iter()
            .enumerate()
            .filter(|(_, t)| applied.iter().any(|f| t.has_field(*f)))
            .map(|(i, _)| i)
            .collect();
        let tables = self.app.data.tables();
        #[expect(
            clippy::indexing_slicing,
            reason = "INVARIANT: `t` is a table of the application data, and `rows_left` has a count per table (the contract of `finish`)"
        )]
        let emptied = reduced_tables
            .iter()
            .any(|&t| rows_left[t] == 0 && !tables[t].is_empty());
        if emptied && reduced_tables.len() > 1 {
            decision.notes.push(Note::new(
                "reduced-to-nothing-any-table",
                "several tables hold reduction fields: a USER is denied when any of them is left without rows [inf]",
            ));
        }
        if emptied {
            decision.outcome = Outcome::Denied(DenyReason::ReducedToNothing);
        }
    }

    /// Indexes the identity columns of the security tables so that many
    /// identities can be matched without scanning every row (audit).
    pub(crate) fn match_index(&self) -> MatchIndex<'_> {
        MatchIndex::new(&self.rules)
    }

    /// The decision for the security rows an identity matched (a key from
    /// [`index::Matcher::key_from`]), before the data is reduced: call
    /// [`Evaluator::reduce`] and [`Evaluator::finish`] for granted ones.
    /// Two identities with the same key get the same decision. The decision
    /// carries no notes (the audit shows none; [`Evaluator::evaluate`]
    /// gives them for one identity).
    pub(crate) fn decide(&self, index: &MatchIndex<'_>, key: &[u32]) -> Decision {
        self.decide_rows(index.rows(key), false)
    }

    /// [`Evaluator::decide`] given the rows matched per security table;
    /// without `notes` the decision carries none (the audit shows none).
    fn decide_rows(&self, by_identity: Vec<Option<RowSet>>, notes: bool) -> Decision {
        let mut out = if notes {
            self.general.clone()
        } else {
            Vec::new()
        };
        if !self.app.has_section_access && self.app.access.tables().is_empty() {
            return Decision {
                outcome: Outcome::Granted,
                access: None,
                matched_rows: Vec::new(),
                reduction: Vec::new(),
                omitted: Vec::new(),
                notes: out,
                reduced: None,
            };
        }
        let sink = if notes { Some(&mut out) } else { None };
        let grant = self.grant_rows(&self.rules, by_identity, &mut Notes(sink));
        dedup(&mut out);
        Decision {
            outcome: grant.outcome,
            access: grant.access,
            matched_rows: self.matched_rows(&self.rules, &grant),
            reduction: grant.reduction,
            omitted: grant.omitted,
            notes: out,
            reduced: None,
        }
    }

    /// True when `text` is a wildcard in section access under these
    /// options (`*` in Sense, the `Star is` value in QlikView).
    pub fn is_wildcard(&self, text: &str) -> bool {
        self.wildcards.iter().any(|w| w == text)
    }

    /// Per symbol of security field `field`, whether a cell holding it is
    /// blank: what matching takes to name nobody. Classified once with the
    /// rules, for identity and reduction fields; `None` for other fields.
    pub fn blank_symbols(&self, field: FieldId) -> Option<Vec<bool>> {
        let cells = self.rules.cells.get(&field)?;
        Some(
            cells
                .iter()
                .map(|c| matches!(c, Cell::Blank | Cell::BlankWild))
                .collect(),
        )
    }

    /// The security tables as compared (under the `--uppercase` mode).
    pub fn security(&self) -> &Model {
        self.rules.sec.as_ref()
    }

    /// The reduction fields: (security field, application field, name), in
    /// security-field order.
    pub fn reduction_fields(&self) -> Vec<(FieldId, FieldId, FieldName)> {
        self.rules
            .reductions
            .iter()
            .map(|r| (r.security, r.data, r.name.clone()))
            .collect()
    }

    /// Application fields that link tables (key fields), sorted.
    pub fn key_fields(&self) -> &[FieldId] {
        &self.data.keys
    }

    /// Matches the identity against every table with identity columns.
    fn identity_rows(
        &self,
        rules: &Rules<'_>,
        identity: &Identity,
        notes: &mut Notes<'_>,
    ) -> Vec<Option<RowSet>> {
        let sec = rules.sec.as_ref();
        // Per identity field, the symbols equal to one of the identity's
        // values (one pass over the field's symbols, not a text compare
        // per row).
        let mut allowed: HashMap<FieldId, Vec<SymbolId>, FixedState> = HashMap::default();
        sec.tables()
            .iter()
            .zip(&rules.tables)
            .map(|(table, st)| {
                if st.identity.is_empty() {
                    return None;
                }
                for &(f, kind) in &st.identity {
                    allowed
                        .entry(f)
                        .or_insert_with(|| allowed_symbols(sec, f, kind, rules.cells(f), identity));
                }
                // Per identity column: cells, how symbols count, kind, the
                // identity's symbols.
                type Col<'c> = (&'c [SymbolId], &'c [Cell], IdKind, &'c [SymbolId]);
                let cols: Vec<Col<'_>> = st
                    .identity
                    .iter()
                    .filter_map(|&(f, k)| {
                        let allowed = allowed.get(&f).map_or(&[][..], Vec::as_slice);
                        table.column(f).map(|c| (c, rules.cells(f), k, allowed))
                    })
                    .collect();
                let mut rows = BitSet::new(table.len());
                for r in 0..table.len() {
                    let mut mismatch = false;
                    let mut blank = false;
                    let mut legacy = false;
                    let mut group_star = false;
                    let mut literal_star = false;
                    for &(col, cells, kind, allowed) in &cols {
                        #[expect(
                            clippy::indexing_slicing,
                            reason = "INVARIANT: r < table.len(), which every column of the table holds"
                        )]
                        let id = col[r];
                        match cells.get(id.index()) {
                            None | Some(Cell::Blank | Cell::BlankWild) => {
                                blank = true;
                                continue;
                            }
                            Some(Cell::Wild) => {
                                group_star |= kind == IdKind::Group && identity.groups.is_empty();
                                continue;
                            }
                            Some(Cell::Star) => literal_star = true,
                            Some(Cell::Value) => {}
                        }
                        let ok = match kind {
                            IdKind::Legacy => {
                                legacy = true;
                                false
                            }
                            _ => allowed.contains(&id),
                        };
                        mismatch |= !ok && kind != IdKind::Legacy;
                    }
                    let at = || {
                        let line = table
                            .origin(r)
                            .map_or(String::new(), |o| format!(" (line {})", o.line));
                        format!("`{}` row {}{line}", table.name, r + 1)
                    };
                    if !mismatch && !blank && !legacy {
                        rows.insert(r);
                        if cols.len() > 1 {
                            notes.push(|| Note::new(
                                "identity-columns-and",
                                format!("`{}` has several identity columns: a row matches only when every one of them matches [inf]", table.name),
                            ));
                        }
                        if group_star {
                            notes.push(|| Note::new(
                                "group-star-without-groups",
                                format!("`{}`: `GROUP` `*` matches an identity without groups [inf]", table.name),
                            ));
                        }
                    } else if !mismatch && blank {
                        notes.push(|| Note::new(
                            "blank-identity-cell",
                            format!("{}: a blank identity cell matches nobody (fail closed) [inf]", at()),
                        ));
                    } else if !mismatch && legacy {
                        notes.push(|| Note::new(
                            "legacy-field",
                            format!("{}: `NTDOMAINSID`, `NTSID`, `SERIAL` and `PASSWORD` cannot be checked offline; a value other than `*` never matches [inf]", at()),
                        ));
                    }
                    if literal_star {
                        notes.push(|| Note::new(
                            "star-is-literal",
                            "`*` is a literal value here: qlikview treats it as a wildcard only after `Star is *;`",
                        ));
                    }
                }
                Some(RowSet::Bits(rows))
            })
            .collect()
    }

    fn grant(&self, rules: &Rules<'_>, identity: &Identity, notes: &mut Notes<'_>) -> Grant {
        let by_identity = self.identity_rows(rules, identity, notes);
        self.grant_rows(rules, by_identity, notes)
    }

    /// The matched rows of a grant, with their script lines.
    fn matched_rows(&self, rules: &Rules<'_>, grant: &Grant) -> Vec<MatchedRow> {
        let mut out = Vec::new();
        for (t, table) in rules.sec.tables().iter().enumerate() {
            let Some(Some(rows)) = grant.matched.get(t) else {
                continue;
            };
            let kept = grant.kept.get(t).and_then(Option::as_ref);
            for r in rows.iter() {
                let origin = table.origin(r);
                out.push(MatchedRow {
                    table: table.name.clone(),
                    row: r + 1,
                    file: origin.and_then(|o| {
                        self.app
                            .sources
                            .path(SourceId(o.file))
                            .map(std::path::Path::to_path_buf)
                    }),
                    line: origin.map(|o| o.line),
                    kept: kept.is_some_and(|k| k.contains(r)),
                });
            }
        }
        out
    }

    /// The matched and kept rows per security table, given the rows each
    /// table matched directly: the selection spreads through the links
    /// between security tables (nothing to spread without links).
    fn matched_and_kept(
        &self,
        rules: &Rules<'_>,
        mut by_identity: Vec<Option<RowSet>>,
    ) -> (Vec<Option<RowSet>>, Vec<Option<RowSet>>) {
        let sec = rules.sec.as_ref();
        let tables = sec.tables();
        let mut matched: Vec<Option<RowSet>> = vec![None; tables.len()];
        let mut kept: Vec<Option<RowSet>> = vec![None; tables.len()];
        if rules.links.is_empty() {
            // Each reached table is restricted by its own selection only
            // (what `Links::reduce` gives without links), on row lists.
            for (t, (st, table)) in rules.tables.iter().zip(tables).enumerate() {
                if !st.reached {
                    continue;
                }
                let ident = by_identity.get_mut(t).and_then(Option::take);
                let valid = rules.valid.get(t).and_then(Option::as_ref);
                let k = match (&ident, valid) {
                    (Some(i), Some(v)) => i.clone().intersect(v),
                    (Some(i), None) => i.clone(),
                    (None, Some(v)) => RowSet::Bits(v.clone()),
                    (None, None) => RowSet::All(table.len()),
                };
                if let Some(slot) = matched.get_mut(t) {
                    *slot = Some(ident.unwrap_or(RowSet::All(table.len())));
                }
                if let Some(slot) = kept.get_mut(t) {
                    *slot = Some(k);
                }
            }
            return (matched, kept);
        }
        let mut matched_sel = Selection::default();
        let mut kept_sel = Selection::default();
        for (t, (st, table)) in rules.tables.iter().zip(tables).enumerate() {
            if !st.reached {
                continue;
            }
            let ident = by_identity
                .get(t)
                .and_then(Option::as_ref)
                .map(|r| r.to_bits(table.len()));
            let valid = rules.valid.get(t).cloned().flatten();
            if let Some(rows) = &ident {
                matched_sel.rows.push((t, rows.clone()));
            }
            let k = match (ident, valid) {
                (Some(mut i), Some(v)) => {
                    i.intersect_with(&v);
                    Some(i)
                }
                (i, v) => i.or(v),
            };
            if let Some(rows) = k {
                kept_sel.rows.push((t, rows));
            }
        }
        let m = rules.links.reduce(sec, &matched_sel).into_rows();
        let k = rules.links.reduce(sec, &kept_sel).into_rows();
        for (t, (rows, kept_rows)) in m.into_iter().zip(k).enumerate() {
            if !rules.tables.get(t).is_some_and(|s| s.reached) {
                continue;
            }
            if let Some(slot) = matched.get_mut(t) {
                *slot = Some(RowSet::Bits(rows));
            }
            if let Some(slot) = kept.get_mut(t) {
                *slot = Some(RowSet::Bits(kept_rows));
            }
        }
        (matched, kept)
    }

    /// The decision given the rows each security table matched directly.
    fn grant_rows(
        &self,
        rules: &Rules<'_>,
        by_identity: Vec<Option<RowSet>>,
        notes: &mut Notes<'_>,
    ) -> Grant {
        let sec = rules.sec.as_ref();
        let tables = sec.tables();
        let any_matched = by_identity.iter().flatten().any(|b| !b.is_empty());
        let (matched, kept) = self.matched_and_kept(rules, by_identity);
        let denied = |reason, matched, kept| Grant {
            outcome: Outcome::Denied(reason),
            access: None,
            matched,
            kept,
            reduction: Vec::new(),
            omitted: Vec::new(),
        };
        let Some(access_field) = rules.access else {
            let reason = if any_matched {
                DenyReason::NoValidAccess
            } else {
                DenyReason::NoMatchingRow
            };
            return denied(reason, matched, kept);
        };
        let access_tables: Vec<usize> = tables
            .iter()
            .enumerate()
            .filter(|(t, tb)| {
                tb.has_field(access_field) && rules.tables.get(*t).is_some_and(|s| s.reached)
            })
            .map(|(t, _)| t)
            .collect();
        if access_tables.iter().all(|&t| {
            matched
                .get(t)
                .and_then(Option::as_ref)
                .is_none_or(RowSet::is_empty)
        }) {
            return denied(DenyReason::NoMatchingRow, matched, kept);
        }
        let (mut admin, mut user) = (false, false);
        for &t in &access_tables {
            let (Some(table), Some(Some(rows))) = (tables.get(t), kept.get(t)) else {
                continue;
            };
            let Some(col) = table.column(access_field) else {
                continue;
            };
            for r in rows.iter() {
                match col
                    .get(r)
                    .and_then(|&id| rules.levels.get(id.index()).copied().flatten())
                {
                    Some(AccessLevel::Admin) => admin = true,
                    Some(AccessLevel::User) => user = true,
                    None => {}
                }
            }
        }
        if !admin && !user {
            return denied(DenyReason::NoValidAccess, matched, kept);
        }
        if admin && user {
            notes.push(|| Note::new(
                "mixed-access-rows",
                "the identity matches both ADMIN and USER rows: the access level is ADMIN [inf]",
            ));
        }
        let mut level = if admin {
            AccessLevel::Admin
        } else {
            AccessLevel::User
        };
        if level == AccessLevel::Admin && self.opts.product == Product::QlikView && self.opts.server
        {
            level = AccessLevel::User;
            notes.push(|| {
                Note::new(
                    "server-admin-as-user",
                    "on a qlikview server ADMIN rows are treated as USER rows",
                )
            });
        }
        // The rows whose values count: kept rows of reached tables, every
        // row of a table the identity cannot reach.
        let scope = Scope {
            kept: &kept,
            all: rules
                .tables
                .iter()
                .zip(tables)
                .map(|(st, tb)| (!st.reached).then(|| RowSet::All(tb.len())))
                .collect(),
        };
        if notes.on() {
            for (st, table) in rules.tables.iter().zip(tables) {
                let holds = rules.reductions.iter().any(|r| table.has_field(r.security))
                    || rules.omit.is_some_and(|o| table.has_field(o));
                if !st.reached && holds {
                    notes.push(|| Note::new(
                        "unassociated-security-table",
                        format!("security table `{}` has no identity column and shares no field with one that has: all its rows apply to everyone [inf]", table.name),
                    ));
                }
            }
        }
        let mut reduction = Vec::new();
        let mut strict_failed = false;
        for (rf, matches) in rules.reductions.iter().zip(&rules.matches) {
            let values = self.field_values(rules, rf.security, &scope);
            let mut ids: Vec<SymbolId> = Vec::new();
            for v in values {
                ids.extend_from_slice(matches.group(v.index()));
            }
            ids.sort_unstable();
            ids.dedup();
            self.sort_data_ids(rf.data, &mut ids);
            let applied = !ids.is_empty();
            if !applied && level == AccessLevel::User && self.opts.strict() {
                strict_failed = true;
            }
            reduction.push(FieldReduction {
                field: rf.data,
                name: rf.name.clone(),
                values: ids,
                applied,
            });
        }
        if strict_failed && rules.reductions.len() > 1 {
            notes.push(|| Note::new(
                "strict-exclusion-any-field",
                "several reduction fields: a USER is denied when any one of them matches no data [inf]",
            ));
        }
        if notes.on() {
            self.cross_product_note(rules, &scope, notes);
        }
        let omitted = self.omitted(rules, &scope, notes);
        Grant {
            outcome: if strict_failed {
                Outcome::Denied(DenyReason::StrictExclusion)
            } else {
                Outcome::Granted
            },
            access: Some(level),
            matched,
            kept,
            reduction,
            omitted,
        }
    }

    /// Sorts symbol ids of an application reduction field (ascending and
    /// distinct) in Qlik's order of their values.
    fn sort_data_ids(&self, field: FieldId, ids: &mut [SymbolId]) {
        // A few values sort fastest by value; long lists by a rank made once.
        const BY_RANK: usize = 32;
        match self.data.rank.get(&field) {
            Some(rank) if ids.len() > BY_RANK => {
                let rank = rank.get_or_init(|| {
                    let symbols = self.app.data.symbols(field);
                    let mut order: Vec<SymbolId> =
                        symbols.into_iter().flat_map(|s| s.ids()).collect();
                    sort_ids(&self.app.data, field, &mut order);
                    let mut rank = vec![0u32; order.len()];
                    for (pos, &id) in (0u32..).zip(&order) {
                        #[expect(
                            clippy::indexing_slicing,
                            reason = "INVARIANT: `order` is a permutation of the field's ids, 0..n"
                        )]
                        let slot = &mut rank[id.index()];
                        *slot = pos;
                    }
                    rank
                });
                #[expect(
                    clippy::indexing_slicing,
                    reason = "INVARIANT: `ids` are symbols of `field`, below its length n = rank.len()"
                )]
                ids.sort_by_key(|&id| rank[id.index()]);
            }
            _ => sort_ids(&self.app.data, field, ids),
        }
    }

    /// V_f as security symbol ids, ascending: the values of the rows in
    /// scope, `*` expanded to every value listed in the column, blanks
    /// ignored (SPEC §5.2).
    fn field_values(&self, rules: &Rules<'_>, field: FieldId, scope: &Scope<'_>) -> Vec<SymbolId> {
        let sec = rules.sec.as_ref();
        let cells = rules.cells(field);
        let mut out = Vec::new();
        let mut star = false;
        for (t, table) in sec.tables().iter().enumerate() {
            let (Some(col), Some(rows)) = (table.column(field), scope.rows(t)) else {
                continue;
            };
            for r in rows.iter() {
                let Some(&id) = col.get(r) else { continue };
                match cells.get(id.index()) {
                    Some(Cell::Wild | Cell::BlankWild) => star = true,
                    Some(Cell::Value | Cell::Star) => out.push(id),
                    _ => {}
                }
            }
        }
        if star {
            out.extend_from_slice(rules.listed(field));
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// SPEC §5.5: the pairing of values within a row is lost; say so when
    /// the kept rows pair values in a way the per-field union widens.
    fn cross_product_note(&self, rules: &Rules<'_>, scope: &Scope<'_>, notes: &mut Notes<'_>) {
        let sec = rules.sec.as_ref();
        for (t, table) in sec.tables().iter().enumerate() {
            let fields: Vec<&ReductionField> = rules
                .reductions
                .iter()
                .filter(|r| table.has_field(r.security))
                .collect();
            if fields.len() < 2 {
                continue;
            }
            let Some(rows) = scope.rows(t) else { continue };
            let cols: Vec<&[SymbolId]> = fields
                .iter()
                .filter_map(|r| table.column(r.security))
                .collect();
            let mut tuples: Vec<Vec<SymbolId>> = rows
                .iter()
                .map(|r| {
                    #[expect(
                        clippy::indexing_slicing,
                        reason = "INVARIANT: scope rows of table t are below its length, which each of its columns holds"
                    )]
                    cols.iter().map(|c| c[r]).collect()
                })
                .collect();
            tuples.sort();
            tuples.dedup();
            let product: usize = (0..cols.len())
                .map(|i| {
                    let mut v: Vec<SymbolId> =
                        tuples.iter().filter_map(|tu| tu.get(i).copied()).collect();
                    v.sort();
                    v.dedup();
                    v.len()
                })
                .product();
            if product > tuples.len() {
                let names: Vec<String> = fields.iter().map(|f| format!("`{}`", f.name)).collect();
                notes.push(|| Note::new(
                    "cross-product",
                    format!("the rows of `{}` pair values of {} but the reduction applies each field on its own: the identity also sees combinations no row lists", table.name, names.join(" and ")),
                ));
            }
        }
    }

    /// SPEC §6: the application fields hidden by OMIT.
    fn omitted(
        &self,
        rules: &Rules<'_>,
        scope: &Scope<'_>,
        notes: &mut Notes<'_>,
    ) -> Vec<(FieldId, FieldName)> {
        let Some(omit) = rules.omit else {
            return Vec::new();
        };
        let sec = rules.sec.as_ref();
        let values = self.field_values(rules, omit, scope);
        let mut out: Vec<(FieldId, FieldName)> = Vec::new();
        for id in values {
            let Some(text) = cell_text(sec, omit, id) else {
                continue;
            };
            let text = text.trim();
            let (hits, folded) = self.omit_targets(text);
            if folded {
                for (_, n) in &hits {
                    notes.push(|| Note::new(
                        "omit-case-insensitive",
                        format!("`OMIT` value `{text}` hides field `{n}`: section access upper-cases OMIT values, so they are compared with field names regardless of case [inf]"),
                    ));
                }
            }
            if hits.is_empty() {
                notes.push(|| {
                    Note::new(
                        "omit-unknown-field",
                        format!(
                            "`OMIT` value `{text}` names no application field: it hides nothing"
                        ),
                    )
                });
            }
            for (f, n) in hits {
                if self.data.keys.contains(f) {
                    notes.push(|| Note::new(
                        "omit-key-field",
                        format!("`OMIT` hides key field `{n}`: the tables it links look unrelated to the user, but the reduction still went through it"),
                    ));
                }
                if !out.iter().any(|(g, _)| g == f) {
                    out.push((*f, n.clone()));
                }
            }
        }
        out.sort_by_key(|(f, _)| *f);
        out
    }
}

impl Evaluator<'_> {
    /// The application fields an `OMIT` value (trimmed) hides: those named
    /// exactly, else those named regardless of case (then `true`: section
    /// access upper-cases OMIT values).
    fn omit_targets(&self, text: &str) -> (Vec<&(FieldId, FieldName)>, bool) {
        let exact: Vec<&(FieldId, FieldName)> = self
            .data
            .live
            .iter()
            .filter(|(_, n)| n.as_str() == text)
            .collect();
        if !exact.is_empty() {
            return (exact, false);
        }
        let upper = text.to_uppercase();
        let folded = self
            .data
            .live
            .iter()
            .filter(|(_, n)| n.as_str().to_uppercase() == upper)
            .collect();
        (folded, true)
    }
}

/// The symbols of an identity field equal to one of the identity's values
/// for that kind of column, ascending.
fn allowed_symbols(
    sec: &Model,
    field: FieldId,
    kind: IdKind,
    cells: &[Cell],
    identity: &Identity,
) -> Vec<SymbolId> {
    let texts = identity_texts(kind, identity);
    if texts.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (id, text) in sec.symbols(field).into_iter().flat_map(|s| s.texts()) {
        if matches!(cells.get(id.index()), Some(Cell::Value | Cell::Star))
            && texts.contains(&text.as_ref())
        {
            out.push(id);
        }
    }
    out
}

/// The identity's values an identity column of `kind` is compared with:
/// each of its values as a [`Named`] would be (user id, e-mail, groups).
fn identity_texts(kind: IdKind, identity: &Identity) -> Vec<&str> {
    let user = identity.userid.as_ref().map(|u| Named::User(u.as_str()));
    let email = identity.email.as_ref().map(|e| Named::Email(e.as_str()));
    let groups = identity.groups.iter().map(|g| Named::Group(g.as_str()));
    user.into_iter()
        .chain(email)
        .chain(groups)
        .filter_map(|n| n.text_for(kind))
        .collect()
}

/// Per reduction field of `rules`, the application symbols each security
/// symbol matches.
fn value_matches(rules: &Rules<'_>, index: &HashMap<FieldId, ValueIndex>) -> Vec<Lists<SymbolId>> {
    let sec = rules.sec.as_ref();
    rules
        .reductions
        .iter()
        .map(|rf| {
            let mut matches = Lists::default();
            let Some(index) = index.get(&rf.data) else {
                return matches;
            };
            for (_, v) in sec.symbols(rf.security).into_iter().flat_map(|s| s.iter()) {
                matches.push_iter(index.matches(&v));
            }
            matches
        })
        .collect()
}

/// Compiles the security tables (one `--uppercase` view of them).
fn compile<'a>(
    sec: std::borrow::Cow<'a, Model>,
    live: &[(FieldId, FieldName)],
    notes: &mut Vec<Note>,
    wildcards: &[String],
) -> Rules<'a> {
    let model = sec.as_ref();
    let kind_of = |f: FieldId| model.field_name(f).and_then(|n| identity_kind(n.as_str()));
    let links = Links::with_filter(model, |f| kind_of(f).is_none());
    let mut tables: Vec<SecTable> = model
        .tables()
        .iter()
        .map(|t| SecTable {
            identity: t
                .fields()
                .filter_map(|f| kind_of(f).map(|k| (f, k)))
                .collect(),
            reached: false,
        })
        .collect();
    let with_identity: Vec<usize> = tables
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.identity.is_empty())
        .map(|(i, _)| i)
        .collect();
    for (i, st) in tables.iter_mut().enumerate() {
        st.reached = with_identity.iter().any(|&j| links.connected(i, j));
    }
    let mut reductions = Vec::new();
    for f in model.live_fields() {
        let Some(name) = model.field_name(f) else {
            continue;
        };
        if SYSTEM_FIELDS.contains(&name.as_str()) {
            continue;
        }
        if let Some((data, dname)) = live.iter().find(|(_, n)| n.as_str() == name.as_str()) {
            reductions.push(ReductionField {
                security: f,
                data: *data,
                name: dname.clone(),
            });
        } else {
            let hint = live
                .iter()
                .find(|(_, n)| n.as_str().eq_ignore_ascii_case(name.as_str()))
                .map_or(String::new(), |(_, n)| {
                    format!(" (did you mean `{n}`? application field names are case-sensitive)")
                });
            notes.push(Note::new(
                "unmatched-security-field",
                format!(
                    "security field `{name}` names no application field: it reduces nothing{hint}"
                ),
            ));
        }
    }
    let access = model
        .find_field("ACCESS")
        .filter(|&f| model.tables().iter().any(|t| t.has_field(f)));
    // Classify each distinct symbol once, then the rows.
    let levels: Vec<Option<AccessLevel>> =
        access
            .and_then(|a| model.symbols(a))
            .map_or(Vec::new(), |s| {
                s.texts()
                    .map(|(_, text)| match text.as_ref() {
                        "ADMIN" => Some(AccessLevel::Admin),
                        "USER" => Some(AccessLevel::User),
                        _ => None,
                    })
                    .collect()
            });
    let valid = model
        .tables()
        .iter()
        .map(|table| {
            let access = access?;
            let col = table.column(access)?;
            let mut rows = BitSet::new(table.len());
            for (r, &id) in col.iter().enumerate() {
                if levels.get(id.index()).copied().flatten().is_some() {
                    rows.insert(r);
                }
            }
            Some(rows)
        })
        .collect();
    let omit = model
        .find_field("OMIT")
        .filter(|&f| model.tables().iter().any(|t| t.has_field(f)));
    let mut cells: HashMap<FieldId, Vec<Cell>, FixedState> = HashMap::default();
    let mut listed: HashMap<FieldId, Vec<SymbolId>, FixedState> = HashMap::default();
    let identity_fields = tables
        .iter()
        .flat_map(|t| t.identity.iter().map(|&(f, _)| f));
    let value_fields: Vec<FieldId> = reductions.iter().map(|r| r.security).chain(omit).collect();
    for f in identity_fields.chain(value_fields.iter().copied()) {
        cells
            .entry(f)
            .or_insert_with(|| classify(model, f, wildcards));
    }
    for &f in &value_fields {
        let Some(c) = cells.get(&f) else { continue };
        let values = model
            .present(f)
            .iter()
            .filter(|&i| matches!(c.get(i), Some(Cell::Value | Cell::Star)))
            .filter_map(SymbolId::from_index)
            .collect();
        listed.insert(f, values);
    }
    Rules {
        access,
        valid,
        levels,
        omit,
        links,
        tables,
        reductions,
        cells,
        listed,
        matches: Vec::new(),
        sec,
    }
}

/// How each symbol of `field` counts in a cell (see [`Cell`]).
pub(super) fn classify(model: &Model, field: FieldId, wildcards: &[String]) -> Vec<Cell> {
    let cell = |text: &str| {
        let wild = wildcards.iter().any(|w| w == text);
        if text.trim().is_empty() {
            if wild { Cell::BlankWild } else { Cell::Blank }
        } else if wild {
            Cell::Wild
        } else if text == "*" {
            Cell::Star
        } else {
            Cell::Value
        }
    };
    let Some(s) = model.symbols(field) else {
        return Vec::new();
    };
    if s.texts_are_plain_upper() {
        // No text holds white space: only the empty text, `*` and the
        // wildcards are not values, looked up rather than a million texts
        // compared.
        let mut cells = vec![Cell::Value; s.len()];
        for special in ["", "*"]
            .into_iter()
            .chain(wildcards.iter().map(String::as_str))
        {
            if let Some(c) = s
                .find_text(special)
                .and_then(|id| cells.get_mut(id.index()))
            {
                *c = cell(special);
            }
        }
        return cells;
    }
    s.texts().map(|(_, text)| cell(&text)).collect()
}

fn has_lower_case(model: &Model) -> bool {
    model.live_fields().into_iter().any(|f| {
        model
            .symbols(f)
            .is_some_and(crate::model::Symbols::has_lower_case)
    })
}

/// Two grants give the same answer: decision, level, S_f and OMIT.
fn same_answer(a: &Grant, b: &Grant) -> bool {
    let red = |g: &Grant| -> Vec<(FieldId, bool, Vec<SymbolId>)> {
        let mut v: Vec<_> = g
            .reduction
            .iter()
            .map(|r| {
                let mut ids = r.values.clone();
                ids.sort_unstable();
                (r.field, r.applied, ids)
            })
            .collect();
        v.sort();
        v
    };
    a.outcome == b.outcome && a.access == b.access && red(a) == red(b) && a.omitted == b.omitted
}

fn describe(g: &Grant, data: &Model) -> String {
    match g.outcome {
        Outcome::Denied(r) => format!("denied, {}", r.code()),
        Outcome::Granted => {
            let level = g.access.map_or("", AccessLevel::as_str);
            let parts: Vec<String> = g
                .reduction
                .iter()
                .filter(|r| r.applied)
                .map(|r| {
                    let vals: Vec<String> = r
                        .values
                        .iter()
                        .filter_map(|&i| data.value(r.field, i))
                        .map(|v| v.text().into_owned())
                        .collect();
                    format!("{} = {}", r.name, vals.join(", "))
                })
                .collect();
            if parts.is_empty() {
                format!("granted {level}")
            } else {
                format!("granted {level} with {}", parts.join("; "))
            }
        }
    }
}

fn dedup(notes: &mut Vec<Note>) {
    let mut seen = std::collections::HashSet::new();
    notes.retain(|n| seen.insert((n.code, n.message.clone())));
}
