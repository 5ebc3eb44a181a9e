//! The compiled security tables and the evaluation of one identity.

use std::collections::HashMap;

use foldhash::fast::FixedState;

use crate::load::{App, Uppercase};
use crate::model::{BitSet, FieldId, Model, NULL, Value};
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
}

/// Finds application symbols equal to a security value (SPEC §5.3) without
/// scanning the field: by number and by text.
#[derive(Debug, Default)]
struct ValueIndex {
    by_num: HashMap<u64, Vec<u32>>,
    /// Text → (symbol id, whether the symbol is a number).
    by_text: HashMap<String, Vec<(u32, bool)>>,
}

impl ValueIndex {
    fn new(model: &Model, field: FieldId) -> Self {
        let mut present = BitSet::new(model.symbols(field).map_or(0, |s| s.len()));
        for table in model.tables() {
            for &id in table.column(field).unwrap_or(&[]) {
                if id != NULL {
                    present.insert(id as usize);
                }
            }
        }
        let mut index = Self::default();
        let Some(symbols) = model.symbols(field) else {
            return index;
        };
        for (id, v) in symbols.iter() {
            if !present.contains(id as usize) {
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
    fn matches(&self, v: &Value, out: &mut BitSet) {
        let text = v.text();
        match v.num() {
            Some(n) => {
                for &id in self.by_num.get(&num_key(n)).map_or(&[][..], Vec::as_slice) {
                    out.insert(id as usize);
                }
                for &(id, numeric) in self
                    .by_text
                    .get(text.as_ref())
                    .map_or(&[][..], Vec::as_slice)
                {
                    if !numeric {
                        out.insert(id as usize);
                    }
                }
            }
            None => {
                for &(id, _) in self
                    .by_text
                    .get(text.as_ref())
                    .map_or(&[][..], Vec::as_slice)
                {
                    out.insert(id as usize);
                }
            }
        }
    }
}

fn num_key(n: f64) -> u64 {
    if n == 0.0 { 0 } else { n.to_bits() }
}

/// The application side: links, value indexes for reduction fields, names.
#[derive(Debug)]
struct DataSide {
    links: Links,
    index: HashMap<FieldId, ValueIndex>,
    live: Vec<(FieldId, FieldName)>,
    keys: Vec<FieldId>,
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

/// How a symbol of an identity column matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SymClass {
    /// Blank, or a legacy value: matches nobody.
    Never,
    /// The wildcard: matches anyone.
    Wild,
    /// A value compared with the identity.
    Value,
}

#[derive(Debug)]
struct ColIndex {
    kind: IdKind,
    ids: Vec<u32>,
    class: Vec<SymClass>,
    by_text: HashMap<String, Vec<u32>, FixedState>,
    /// Rows per symbol id, as one list: the rows of symbol `s` are
    /// `sym_rows[sym_start[s]..sym_start[s + 1]]` (no map, no `Vec` per
    /// symbol: a large security table has a symbol per user).
    sym_start: Vec<u32>,
    sym_rows: Vec<u32>,
    wild_rows: Vec<u32>,
}

impl ColIndex {
    /// Symbols of this column equal to one of the identity's values.
    fn allowed(&self, identity: &Identity) -> Vec<u32> {
        let mut texts: Vec<&str> = Vec::new();
        let user = identity.userid.as_ref().map(|u| u.as_str());
        let email = identity.email.as_ref().map(|e| e.as_str());
        let groups = identity.groups.iter().map(|g| g.as_str());
        match self.kind {
            IdKind::UserId => texts.extend(user),
            IdKind::Email => texts.extend(email),
            IdKind::Group => texts.extend(groups),
            IdKind::NtName => {
                texts.extend(user);
                texts.extend(groups);
            }
            IdKind::Legacy => {}
        }
        let mut out: Vec<u32> = texts
            .into_iter()
            .filter_map(|t| self.by_text.get(t))
            .flatten()
            .copied()
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    fn candidates(&self, allowed: &[u32]) -> usize {
        self.wild_rows.len()
            + allowed
                .iter()
                .map(|&s| self.rows_of(s).len())
                .sum::<usize>()
    }

    fn rows_of(&self, sym: u32) -> &[u32] {
        let s = sym as usize;
        match (self.sym_start.get(s), self.sym_start.get(s + 1)) {
            (Some(&a), Some(&b)) => self.sym_rows.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    fn accepts(&self, row: u32, allowed: &[u32]) -> bool {
        let Some(&id) = self.ids.get(row as usize) else {
            return false;
        };
        match self.class.get(id as usize) {
            Some(SymClass::Wild) => true,
            Some(SymClass::Value) => allowed.binary_search(&id).is_ok(),
            _ => false,
        }
    }
}

#[derive(Debug)]
struct TableIndex {
    len: usize,
    cols: Vec<ColIndex>,
}

/// The identity columns of the security tables, indexed by value (see
/// [`Evaluator::match_index`]): matching an identity costs the rows it
/// could match, not the rows of the table.
#[derive(Debug)]
pub struct MatchIndex {
    tables: Vec<Option<TableIndex>>,
}

/// The security rows an identity matches directly, per security table
/// (`None` for a table without identity columns). Everything a decision
/// depends on: identities with equal keys get equal decisions.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MatchKey(Vec<Option<Vec<u32>>>);

impl MatchIndex {
    /// The rows `identity` matches (SPEC §4: AND across the identity columns
    /// of a row, `*` matches anyone, blank and legacy cells match nobody).
    pub fn key(&self, identity: &Identity) -> MatchKey {
        MatchKey(
            self.tables
                .iter()
                .map(|t| t.as_ref().map(|t| Self::rows(t, identity)))
                .collect(),
        )
    }

    fn rows(table: &TableIndex, identity: &Identity) -> Vec<u32> {
        let allowed: Vec<Vec<u32>> = table.cols.iter().map(|c| c.allowed(identity)).collect();
        // Walk the column with the fewest candidate rows, check the others.
        let Some((best, _)) = table
            .cols
            .iter()
            .zip(&allowed)
            .enumerate()
            .min_by_key(|(_, (c, a))| c.candidates(a))
        else {
            // No identity column holds data: every row matches (vacuous AND).
            return (0..table.len)
                .filter_map(|r| u32::try_from(r).ok())
                .collect();
        };
        let (Some(col), Some(own)) = (table.cols.get(best), allowed.get(best)) else {
            return Vec::new();
        };
        let mut rows: Vec<u32> = col.wild_rows.clone();
        for s in own {
            rows.extend_from_slice(col.rows_of(*s));
        }
        rows.sort_unstable();
        rows.dedup();
        rows.retain(|&r| {
            table
                .cols
                .iter()
                .zip(&allowed)
                .enumerate()
                .all(|(i, (c, a))| i == best || c.accepts(r, a))
        });
        rows
    }
}

/// The decision before the data is reduced.
#[derive(Debug, PartialEq)]
struct Grant {
    outcome: Outcome,
    access: Option<AccessLevel>,
    matched: Vec<MatchedRow>,
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
        let rules = compile(app.security(opts.uppercase), &live, &mut general);
        let other_mode = match opts.uppercase {
            Uppercase::Inline => Uppercase::All,
            Uppercase::All => Uppercase::Inline,
        };
        let other = has_lower_case(&app.access)
            .then(|| compile(app.security(other_mode), &live, &mut Vec::new()));
        let index = rules
            .reductions
            .iter()
            .map(|r| (r.data, ValueIndex::new(&app.data, r.data)))
            .collect();
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
                index,
                live,
                keys,
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
        let mut notes = self.general.clone();
        if !self.app.has_section_access && self.app.access.tables().is_empty() {
            notes.push(Note::new(
                "no-section-access",
                "the script has no section access: every identity sees all data",
            ));
            let reduced = self
                .data
                .links
                .reduce(&self.app.data, &Selection::default());
            return Decision {
                outcome: Outcome::Granted,
                access: None,
                matched_rows: Vec::new(),
                reduction: Vec::new(),
                omitted: Vec::new(),
                notes,
                reduced: Some(reduced),
            };
        }
        let grant = self.grant(&self.rules, identity, &mut notes);
        if let Some(other) = &self.other {
            let alt = self.grant(other, identity, &mut Vec::new());
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
            matched_rows: grant.matched,
            reduction: grant.reduction,
            omitted: grant.omitted,
            notes,
            reduced: None,
        };
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
                        set.insert(v as usize);
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
    pub fn per_value(&self, field: FieldId) -> Option<PerValue> {
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
        let emptied = reduced_tables.iter().any(|&t| {
            rows_left.get(t).copied().unwrap_or(0) == 0
                && self
                    .app
                    .data
                    .tables()
                    .get(t)
                    .is_some_and(|tb| !tb.is_empty())
        });
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
    pub fn match_index(&self) -> MatchIndex {
        let sec = self.rules.sec.as_ref();
        let tables = sec
            .tables()
            .iter()
            .zip(&self.rules.tables)
            .map(|(table, st)| {
                if st.identity.is_empty() {
                    return None;
                }
                let cols = st
                    .identity
                    .iter()
                    .filter_map(|&(f, kind)| {
                        let ids = table.column(f)?.to_vec();
                        let n = sec.symbols(f).map_or(0, |s| s.len());
                        let mut class = vec![SymClass::Never; n];
                        let mut by_text: HashMap<String, Vec<u32>, FixedState> = HashMap::default();
                        for (id, v) in sec.symbols(f).into_iter().flat_map(|s| s.iter()) {
                            let text = v.text();
                            let c = if text.trim().is_empty() {
                                SymClass::Never
                            } else if self.is_wildcard(&text) {
                                SymClass::Wild
                            } else if kind == IdKind::Legacy {
                                SymClass::Never
                            } else {
                                by_text.entry(text.into_owned()).or_default().push(id);
                                SymClass::Value
                            };
                            if let Some(slot) = class.get_mut(id as usize) {
                                *slot = c;
                            }
                        }
                        // Counting sort of the rows by symbol.
                        let mut sym_start = vec![0u32; n + 1];
                        let mut wild_rows = Vec::new();
                        for &id in &ids {
                            if class.get(id as usize) == Some(&SymClass::Value)
                                && let Some(c) = sym_start.get_mut(id as usize + 1)
                            {
                                *c += 1;
                            }
                        }
                        for i in 1..sym_start.len() {
                            let prev = sym_start.get(i - 1).copied().unwrap_or(0);
                            if let Some(c) = sym_start.get_mut(i) {
                                *c += prev;
                            }
                        }
                        let mut fill: Vec<u32> = sym_start.clone();
                        let mut sym_rows =
                            vec![0u32; sym_start.last().copied().unwrap_or(0) as usize];
                        for (r, &id) in ids.iter().enumerate() {
                            let Ok(r) = u32::try_from(r) else { continue };
                            match class.get(id as usize) {
                                Some(SymClass::Wild) => wild_rows.push(r),
                                Some(SymClass::Value) => {
                                    if let Some(f) = fill.get_mut(id as usize)
                                        && let Some(slot) = sym_rows.get_mut(*f as usize)
                                    {
                                        *slot = r;
                                        *f += 1;
                                    }
                                }
                                _ => {}
                            }
                        }
                        Some(ColIndex {
                            kind,
                            ids,
                            class,
                            by_text,
                            sym_start,
                            sym_rows,
                            wild_rows,
                        })
                    })
                    .collect();
                Some(TableIndex {
                    len: table.len(),
                    cols,
                })
            })
            .collect();
        MatchIndex { tables }
    }

    /// The decision for the security rows an identity matched (from
    /// [`MatchIndex::key`]), before the data is reduced: call
    /// [`Evaluator::reduce`] and [`Evaluator::finish`] for granted ones.
    /// Two identities with the same key get the same decision; notes that
    /// depend on the identity itself are left out.
    pub fn decide(&self, key: &MatchKey) -> Decision {
        let mut notes = self.general.clone();
        if !self.app.has_section_access && self.app.access.tables().is_empty() {
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
        let by_identity: Vec<Option<BitSet>> = key
            .0
            .iter()
            .zip(self.rules.sec.tables())
            .map(|(rows, table)| {
                rows.as_ref().map(|rows| {
                    let mut set = BitSet::new(table.len());
                    for &r in rows {
                        set.insert(r as usize);
                    }
                    set
                })
            })
            .collect();
        let grant = self.grant_rows(&self.rules, &by_identity, &mut notes);
        dedup(&mut notes);
        Decision {
            outcome: grant.outcome,
            access: grant.access,
            matched_rows: grant.matched,
            reduction: grant.reduction,
            omitted: grant.omitted,
            notes,
            reduced: None,
        }
    }

    /// True when `text` is a wildcard in section access under these
    /// options (`*` in Sense, the `Star is` value in QlikView).
    pub fn is_wildcard(&self, text: &str) -> bool {
        self.wildcards.iter().any(|w| w == text)
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
        notes: &mut Vec<Note>,
    ) -> Vec<Option<BitSet>> {
        let sec = rules.sec.as_ref();
        sec.tables()
            .iter()
            .zip(&rules.tables)
            .map(|(table, st)| {
                if st.identity.is_empty() {
                    return None;
                }
                let cols: Vec<(&[u32], FieldId, IdKind)> = st
                    .identity
                    .iter()
                    .filter_map(|&(f, k)| table.column(f).map(|c| (c, f, k)))
                    .collect();
                let mut rows = BitSet::new(table.len());
                for r in 0..table.len() {
                    let mut mismatch = false;
                    let mut blank = false;
                    let mut legacy = false;
                    let mut group_star = false;
                    let mut literal_star = false;
                    for &(col, f, kind) in &cols {
                        let id = col.get(r).copied().unwrap_or(NULL);
                        let text = if id == NULL { None } else { cell_text(sec, f, id) };
                        let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
                            blank = true;
                            continue;
                        };
                        if self.is_wildcard(&text) {
                            group_star |= kind == IdKind::Group && identity.groups.is_empty();
                            continue;
                        }
                        literal_star |= text == "*";
                        let ok = match kind {
                            IdKind::Legacy => {
                                legacy = true;
                                false
                            }
                            IdKind::UserId => identity.userid.as_ref().is_some_and(|u| u.as_str() == text),
                            IdKind::Email => identity.email.as_ref().is_some_and(|e| e.as_str() == text),
                            IdKind::Group => identity.groups.iter().any(|g| g.as_str() == text),
                            IdKind::NtName => {
                                identity.userid.as_ref().is_some_and(|u| u.as_str() == text)
                                    || identity.groups.iter().any(|g| g.as_str() == text)
                            }
                        };
                        mismatch |= !ok && kind != IdKind::Legacy;
                    }
                    let line = table.origin(r).map_or(String::new(), |o| format!(" (line {})", o.line));
                    let at = format!("`{}` row {}{line}", table.name, r + 1);
                    if !mismatch && !blank && !legacy {
                        rows.insert(r);
                        if cols.len() > 1 {
                            notes.push(Note::new(
                                "identity-columns-and",
                                format!("`{}` has several identity columns: a row matches only when every one of them matches [inf]", table.name),
                            ));
                        }
                        if group_star {
                            notes.push(Note::new(
                                "group-star-without-groups",
                                format!("`{}`: `GROUP` `*` matches an identity without groups [inf]", table.name),
                            ));
                        }
                    } else if !mismatch && blank {
                        notes.push(Note::new(
                            "blank-identity-cell",
                            format!("{at}: a blank identity cell matches nobody (fail closed) [inf]"),
                        ));
                    } else if !mismatch && legacy {
                        notes.push(Note::new(
                            "legacy-field",
                            format!("{at}: `NTDOMAINSID`, `NTSID`, `SERIAL` and `PASSWORD` cannot be checked offline; a value other than `*` never matches [inf]"),
                        ));
                    }
                    if literal_star {
                        notes.push(Note::new(
                            "star-is-literal",
                            "`*` is a literal value here: qlikview treats it as a wildcard only after `Star is *;`",
                        ));
                    }
                }
                Some(rows)
            })
            .collect()
    }

    fn grant(&self, rules: &Rules<'_>, identity: &Identity, notes: &mut Vec<Note>) -> Grant {
        let by_identity = self.identity_rows(rules, identity, notes);
        self.grant_rows(rules, &by_identity, notes)
    }

    /// The decision given the rows each security table matched directly.
    fn grant_rows(
        &self,
        rules: &Rules<'_>,
        by_identity: &[Option<BitSet>],
        notes: &mut Vec<Note>,
    ) -> Grant {
        let sec = rules.sec.as_ref();
        let tables = sec.tables();
        let valid_access = |t: usize| -> Option<BitSet> { rules.valid.get(t).cloned().flatten() };
        let mut matched_sel = Selection::default();
        let mut kept_sel = Selection::default();
        for (t, st) in rules.tables.iter().enumerate() {
            if !st.reached {
                continue;
            }
            let ident = by_identity.get(t).cloned().flatten();
            let valid = valid_access(t);
            if let Some(rows) = &ident {
                matched_sel.rows.push((t, rows.clone()));
            }
            let kept = match (ident, valid) {
                (Some(mut i), Some(v)) => {
                    i.intersect_with(&v);
                    Some(i)
                }
                (i, v) => i.or(v),
            };
            if let Some(rows) = kept {
                kept_sel.rows.push((t, rows));
            }
        }
        let matched = rules.links.reduce(sec, &matched_sel);
        let kept = rules.links.reduce(sec, &kept_sel);
        let mut matched_rows = Vec::new();
        for (t, table) in tables.iter().enumerate() {
            if !rules.tables.get(t).is_some_and(|s| s.reached) {
                continue;
            }
            let Some(rows) = matched.rows(t) else {
                continue;
            };
            for r in rows.iter() {
                let origin = table.origin(r);
                matched_rows.push(MatchedRow {
                    table: table.name.clone(),
                    row: r + 1,
                    file: origin.and_then(|o| {
                        self.app
                            .sources
                            .path(SourceId(o.file))
                            .map(std::path::Path::to_path_buf)
                    }),
                    line: origin.map(|o| o.line),
                    kept: kept.rows(t).is_some_and(|k| k.contains(r)),
                });
            }
        }
        let denied = |reason| Grant {
            outcome: Outcome::Denied(reason),
            access: None,
            matched: matched_rows.clone(),
            reduction: Vec::new(),
            omitted: Vec::new(),
        };
        let Some(access_field) = rules.access else {
            let any = by_identity.iter().flatten().any(|b| !b.is_empty());
            return denied(if any {
                DenyReason::NoValidAccess
            } else {
                DenyReason::NoMatchingRow
            });
        };
        let access_tables: Vec<usize> = tables
            .iter()
            .enumerate()
            .filter(|(t, tb)| {
                tb.has_field(access_field) && rules.tables.get(*t).is_some_and(|s| s.reached)
            })
            .map(|(t, _)| t)
            .collect();
        if access_tables.iter().all(|&t| matched.count(t) == 0) {
            return denied(DenyReason::NoMatchingRow);
        }
        let (mut admin, mut user) = (false, false);
        for &t in &access_tables {
            let (Some(table), Some(rows)) = (tables.get(t), kept.rows(t)) else {
                continue;
            };
            let Some(col) = table.column(access_field) else {
                continue;
            };
            for r in rows.iter() {
                match col
                    .get(r)
                    .and_then(|&id| cell_text(sec, access_field, id))
                    .as_deref()
                {
                    Some("ADMIN") => admin = true,
                    Some("USER") => user = true,
                    _ => {}
                }
            }
        }
        if !admin && !user {
            return denied(DenyReason::NoValidAccess);
        }
        if admin && user {
            notes.push(Note::new(
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
            notes.push(Note::new(
                "server-admin-as-user",
                "on a qlikview server ADMIN rows are treated as USER rows",
            ));
        }
        // The rows whose values count: kept rows of reached tables, every
        // row of a table the identity cannot reach.
        let rows_of = |t: usize| -> Option<BitSet> {
            let st = rules.tables.get(t)?;
            if st.reached {
                kept.rows(t).cloned()
            } else {
                tables.get(t).map(|tb| BitSet::full(tb.len()))
            }
        };
        for (t, st) in rules.tables.iter().enumerate() {
            let Some(table) = tables.get(t) else { continue };
            let holds = rules.reductions.iter().any(|r| table.has_field(r.security))
                || rules.omit.is_some_and(|o| table.has_field(o));
            if !st.reached && holds {
                notes.push(Note::new(
                    "unassociated-security-table",
                    format!("security table `{}` has no identity column and shares no field with one that has: all its rows apply to everyone [inf]", table.name),
                ));
            }
        }
        let mut reduction = Vec::new();
        let mut strict_failed = false;
        for rf in &rules.reductions {
            let values = self.field_values(rules, rf.security, &rows_of);
            let mut s = BitSet::new(self.app.data.symbols(rf.data).map_or(0, |x| x.len()));
            if let Some(index) = self.data.index.get(&rf.data) {
                for id in values.iter() {
                    if let Some(v) = sec.value(rf.security, id as u32) {
                        index.matches(&v, &mut s);
                    }
                }
            }
            let mut ids: Vec<u32> = s.iter().filter_map(|i| u32::try_from(i).ok()).collect();
            sort_ids(&self.app.data, rf.data, &mut ids);
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
            notes.push(Note::new(
                "strict-exclusion-any-field",
                "several reduction fields: a USER is denied when any one of them matches no data [inf]",
            ));
        }
        self.cross_product_note(rules, &rows_of, notes);
        let omitted = self.omitted(rules, &rows_of, notes);
        Grant {
            outcome: if strict_failed {
                Outcome::Denied(DenyReason::StrictExclusion)
            } else {
                Outcome::Granted
            },
            access: Some(level),
            matched: matched_rows,
            reduction,
            omitted,
        }
    }

    /// V_f as security symbol ids: the values of kept rows, `*` expanded to
    /// every value listed in the column, blanks ignored (SPEC §5.2).
    fn field_values(
        &self,
        rules: &Rules<'_>,
        field: FieldId,
        rows_of: &dyn Fn(usize) -> Option<BitSet>,
    ) -> BitSet {
        let sec = rules.sec.as_ref();
        let mut out = BitSet::new(sec.symbols(field).map_or(0, |s| s.len()));
        let mut star = false;
        for (t, table) in sec.tables().iter().enumerate() {
            let (Some(col), Some(rows)) = (table.column(field), rows_of(t)) else {
                continue;
            };
            for r in rows.iter() {
                let id = col.get(r).copied().unwrap_or(NULL);
                match cell_text(sec, field, id) {
                    Some(text) if self.is_wildcard(&text) => star = true,
                    Some(text) if !text.trim().is_empty() => out.insert(id as usize),
                    _ => {}
                }
            }
        }
        if star {
            for table in sec.tables() {
                for &id in table.column(field).unwrap_or(&[]) {
                    match cell_text(sec, field, id) {
                        Some(text) if !self.is_wildcard(&text) && !text.trim().is_empty() => {
                            out.insert(id as usize);
                        }
                        _ => {}
                    }
                }
            }
        }
        out
    }

    /// SPEC §5.5: the pairing of values within a row is lost; say so when
    /// the kept rows pair values in a way the per-field union widens.
    fn cross_product_note(
        &self,
        rules: &Rules<'_>,
        rows_of: &dyn Fn(usize) -> Option<BitSet>,
        notes: &mut Vec<Note>,
    ) {
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
            let Some(rows) = rows_of(t) else { continue };
            let cols: Vec<&[u32]> = fields
                .iter()
                .filter_map(|r| table.column(r.security))
                .collect();
            let mut tuples: Vec<Vec<u32>> = rows
                .iter()
                .map(|r| {
                    cols.iter()
                        .map(|c| c.get(r).copied().unwrap_or(NULL))
                        .collect()
                })
                .collect();
            tuples.sort();
            tuples.dedup();
            let product: usize = (0..cols.len())
                .map(|i| {
                    let mut v: Vec<u32> =
                        tuples.iter().filter_map(|tu| tu.get(i).copied()).collect();
                    v.sort();
                    v.dedup();
                    v.len()
                })
                .product();
            if product > tuples.len() {
                let names: Vec<String> = fields.iter().map(|f| format!("`{}`", f.name)).collect();
                notes.push(Note::new(
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
        rows_of: &dyn Fn(usize) -> Option<BitSet>,
        notes: &mut Vec<Note>,
    ) -> Vec<(FieldId, FieldName)> {
        let Some(omit) = rules.omit else {
            return Vec::new();
        };
        let sec = rules.sec.as_ref();
        let values = self.field_values(rules, omit, rows_of);
        let mut out: Vec<(FieldId, FieldName)> = Vec::new();
        for id in values.iter() {
            let Some(text) = cell_text(sec, omit, id as u32) else {
                continue;
            };
            let text = text.trim();
            let exact: Vec<&(FieldId, FieldName)> = self
                .data
                .live
                .iter()
                .filter(|(_, n)| n.as_str() == text)
                .collect();
            let hits: Vec<&(FieldId, FieldName)> = if exact.is_empty() {
                let upper = text.to_uppercase();
                let folded: Vec<_> = self
                    .data
                    .live
                    .iter()
                    .filter(|(_, n)| n.as_str().to_uppercase() == upper)
                    .collect();
                for (_, n) in &folded {
                    notes.push(Note::new(
                        "omit-case-insensitive",
                        format!("`OMIT` value `{text}` hides field `{n}`: section access upper-cases OMIT values, so they are compared with field names regardless of case [inf]"),
                    ));
                }
                folded
            } else {
                exact
            };
            if hits.is_empty() {
                notes.push(Note::new(
                    "omit-unknown-field",
                    format!("`OMIT` value `{text}` names no application field: it hides nothing"),
                ));
            }
            for (f, n) in hits {
                if self.data.keys.contains(f) {
                    notes.push(Note::new(
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

/// Compiles the security tables (one `--uppercase` view of them).
fn compile<'a>(
    sec: std::borrow::Cow<'a, Model>,
    live: &[(FieldId, FieldName)],
    notes: &mut Vec<Note>,
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
    let valid = model
        .tables()
        .iter()
        .map(|table| {
            let access = access?;
            let col = table.column(access)?;
            // Classify each distinct symbol once, then the rows.
            let ok: Vec<bool> = model.symbols(access).map_or(Vec::new(), |s| {
                s.iter()
                    .map(|(_, v)| matches!(v.text().as_ref(), "ADMIN" | "USER"))
                    .collect()
            });
            let mut rows = BitSet::new(table.len());
            for (r, &id) in col.iter().enumerate() {
                if ok.get(id as usize).copied().unwrap_or(false) {
                    rows.insert(r);
                }
            }
            Some(rows)
        })
        .collect();
    Rules {
        access,
        valid,
        omit: model
            .find_field("OMIT")
            .filter(|&f| model.tables().iter().any(|t| t.has_field(f))),
        links,
        tables,
        reductions,
        sec,
    }
}

fn has_lower_case(model: &Model) -> bool {
    model.live_fields().into_iter().any(|f| {
        model.symbols(f).is_some_and(|s| {
            s.iter()
                .any(|(_, v)| v.text().chars().any(char::is_lowercase))
        })
    })
}

/// Two grants give the same answer: decision, level, S_f and OMIT.
fn same_answer(a: &Grant, b: &Grant) -> bool {
    let red = |g: &Grant| -> Vec<(FieldId, bool, Vec<u32>)> {
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
