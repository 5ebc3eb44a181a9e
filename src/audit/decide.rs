//! Deciding grants: identities grouped by the security rows they match,
//! one decision per distinct key, decided in pieces side by side and merged
//! in order.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use foldhash::fast::FixedState;
use rayon::iter::{IndexedParallelIterator, IntoParallelIterator, ParallelIterator};

use crate::access::{AccessLevel, Evaluator, MatchIndex, Origin};
use crate::lists::ListInterner;
use crate::load::App;
use crate::model::{BitSet, FieldId};
use crate::names::Identity;
use crate::reduce::PerValue;

use super::findings;
use super::grouping::{Grouping, Keyed};
use super::identities::{is_service_account, label, sorted_order};
use super::view::{Shapes, View, outcome_code};
use super::{Audit, Entry, Progress, Verdict};

/// Distinct grants are decided in pieces of at least this many side by
/// side (each piece repeats the reductions its grants share with others).
pub(super) const PIECE_GRANTS: usize = 2048;

/// Per-value counts of each reduction field, made on first use by
/// whichever thread needs them first (see [`PerValue`]).
pub(super) struct PerValues<'e> {
    ev: &'e Evaluator<'e>,
    fields: HashMap<FieldId, OnceLock<Option<PerValue>>, FixedState>,
}

impl<'e> PerValues<'e> {
    pub(super) fn new(ev: &'e Evaluator<'e>) -> Self {
        Self {
            ev,
            fields: ev
                .reduction_fields()
                .iter()
                .map(|&(_, field, _)| (field, OnceLock::new()))
                .collect(),
        }
    }

    /// Makes the counts of every reduction field now, side by side. Made
    /// on first use inside the deciding fold instead, the first field's
    /// counts were made by one worker while the others waited on it
    /// (audit of app L: 0.27 s deciding, against 0.07 + 0.13 s this way).
    pub(super) fn prepare(&self) {
        let cells: Vec<(&FieldId, &OnceLock<Option<PerValue>>)> = self.fields.iter().collect();
        cells.into_par_iter().for_each(|(&field, cell)| {
            cell.get_or_init(|| self.ev.per_value(field));
        });
    }

    /// The counts for selections on `field` alone, when exact.
    pub(super) fn get(&self, field: FieldId) -> Option<&PerValue> {
        self.fields
            .get(&field)?
            .get_or_init(|| self.ev.per_value(field))
            .as_ref()
    }
}

/// One piece's run of distinct grants (a fold's accumulator), decided in
/// order, with what they share: the row counts of each distinct
/// selection, the views, and the rows someone sees.
pub(super) struct Deciding<'a> {
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
    pub(super) fn new(
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
    pub(super) fn grant(&mut self, key: &[u32], counted: bool) {
        let (app, ev) = (self.app, self.ev);
        let mut decision = ev.decide(self.index, key);
        let buf = &mut self.buf;
        buf.clear();
        for r in decision.reduction.iter().filter(|r| r.applied) {
            buf.push(r.field.0);
            #[expect(
                clippy::expect_used,
                reason = "INVARIANT: distinct symbols of one field, at most MAX_SYMBOLS = u32::MAX"
            )]
            let n = u32::try_from(r.values.len()).expect("values of a field fit u32");
            buf.push(n);
            buf.extend(r.values.iter().map(|v| v.as_u32()));
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
            #[expect(
                clippy::indexing_slicing,
                reason = "INVARIANT: counts_of was made longer than sel above"
            )]
            let slot = &mut self.counts_of[sel];
            counts = slot.get_or_insert_with(|| match single {
                Some((pv, values)) => pv.counts(values),
                _ => {
                    let reduced = ev.reduce(&decision);
                    let c = (0..app.data.tables().len())
                        .map(|t| reduced.count(t))
                        .collect();
                    fresh = Some(reduced);
                    c
                }
            });
            ev.finish(&mut decision, counts);
            #[expect(
                clippy::indexing_slicing,
                reason = "INVARIANT: visible was made as long as counts_of, longer than sel"
            )]
            let visible = &mut self.visible[sel];
            if decision.outcome.is_granted() && counted && !*visible {
                *visible = true;
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
                        #[expect(
                            clippy::indexing_slicing,
                            reason = "INVARIANT: pos was found in seen_values or just pushed"
                        )]
                        let (_, set) = &mut self.seen_values[pos];
                        for &v in values {
                            set.insert(v.index());
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
        #[expect(
            clippy::expect_used,
            reason = "INVARIANT: sel numbers a ListInterner list, below u32::MAX; omitted fields are distinct fields, at most MAX_FIELDS = u32::MAX"
        )]
        {
            buf.push(u32::try_from(sel).expect("selection numbers fit u32"));
            buf.push(u32::try_from(decision.omitted.len()).expect("fields fit u32"));
        }
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
            #[expect(
                clippy::indexing_slicing,
                reason = "INVARIANT: views numbers densely from 0 and a new number was pushed to shown above"
            )]
            view: Arc::clone(&self.shown[v]),
            cross,
            cross_total,
            first_row: decision.matched_rows.into_iter().find(|m| m.kept),
        });
    }

    /// The runs joined in order: the grants, the rows someone sees, and
    /// the number of distinct selections reduced (or counted).
    pub(super) fn merge(
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

/// Distinct keys (lists of `u32`: rows matched, a reduction, a view),
/// numbered in order of first appearance: a [`ListInterner`] with a
/// direct table in front for the commonest keys.
#[derive(Debug, Default)]
pub(super) struct Interner {
    lists: ListInterner,
    /// Numbers (plus one) of the keys `[1, x]` for small `x`, by `x`:
    /// most content keys are one table's rows of one class, found here
    /// without hashing (a million users, a few hundred classes).
    pairs: Vec<u32>,
}

/// Keys `[1, x]` from `x` this large are only hashed.
pub(super) const PAIRS_BELOW: u32 = 1 << 16;

impl Interner {
    pub(super) fn len(&self) -> usize {
        self.lists.len()
    }

    /// The keys in order of their numbers.
    pub(super) fn iter(&self) -> impl Iterator<Item = &[u32]> + '_ {
        self.lists.iter()
    }

    /// The number of `key`, added if new.
    pub(super) fn intern(&mut self, key: &[u32]) -> usize {
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

impl Audit {
    /// `ids` sorted, grouped by the contents of the security rows they
    /// match (`access::rules::index::Matcher::content`), and made into entries.
    pub(super) fn group<'i>(
        index: &'i MatchIndex<'_>,
        mut ids: Vec<(Identity, Option<Origin>)>,
    ) -> (Grouping<'i>, Vec<Entry>) {
        let order = sorted_order(&ids);
        // Each identity (once, as `order` keeps it) by its place in audit
        // order.
        let mut place = vec![u32::MAX; ids.len()];
        for (at, &i) in (0u32..).zip(&order) {
            if let Some(p) = place.get_mut(i as usize) {
                *p = at;
            }
        }
        // Matched where they lie (in memory order), counted under their
        // key by their place. Service accounts (`INTERNAL\…`, e.g. the
        // reload scheduler) see data no person sees; a key counts for
        // "someone sees this row" only when some other identity has it.
        let mut keyed = Keyed::default();
        let mut found: Vec<usize> = vec![usize::MAX; ids.len()];
        let mut matcher = index.matcher();
        for (((identity, origin), &at), k) in ids.iter().zip(&place).zip(&mut found) {
            if at == u32::MAX {
                continue;
            }
            matcher.key_from(identity, *origin);
            let service = identity
                .userid
                .as_ref()
                .is_some_and(|u| is_service_account(u.as_str()));
            *k = keyed.add(matcher.content(), !service, at, |a, b| a < b);
        }
        drop(place);
        // Findings name the first few identities of a grant: labelled now,
        // before the identities move into the entries.
        let kept = keyed.kept();
        #[expect(
            clippy::indexing_slicing,
            reason = "INVARIANT: a kept place is below order.len(), and order holds positions of ids"
        )]
        let labels: Vec<String> = kept
            .iter()
            .map(|&at| label(&ids[order[at as usize] as usize].0))
            .collect();
        let label_of = move |at: u32| {
            #[expect(
                clippy::indexing_slicing,
                reason = "INVARIANT: findings name only identities a grant keeps among its first, all in kept"
            )]
            labels[kept.partition_point(|&k| k < at)].clone()
        };
        // Each grant is decided on the rows of its first identity.
        let rows = |at: u32, rows: &mut crate::lists::Lists| {
            #[expect(
                clippy::indexing_slicing,
                reason = "INVARIANT: a place is below order.len(), and order holds positions of ids"
            )]
            let (identity, origin) = &ids[order[at as usize] as usize];
            rows.push(matcher.key_from(identity, *origin));
        };
        let (grouping, grant_of) = keyed.grouping(|a, b| a.cmp(&b), rows, label_of);
        let entries: Vec<Entry> = order
            .iter()
            .map(|&i| {
                // Every identity in `order` was counted under a key, and
                // every key became a grant.
                #[expect(
                    clippy::indexing_slicing,
                    reason = "INVARIANT: i < ids.len() = found.len(); found[i] is a key number, below grant_of.len()"
                )]
                let (grant, identity) = (grant_of[found[i as usize]], &mut ids[i as usize].0);
                Entry {
                    identity: std::mem::take(identity),
                    grant,
                }
            })
            .collect();
        drop(ids);
        (grouping, entries)
    }

    /// The audit proper: one decision per distinct key (in pieces of at
    /// least `piece_grants` keys side by side), then the findings.
    pub(super) fn decided(
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
        // Enough grants to be decided in pieces side by side: each piece
        // would need the counts at once.
        if total >= piece_grants {
            per_value.prepare();
        }
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
            sql: app.sql_sources(),
        };
        audit.findings = findings::collect(checks, app, ev, (&audit, &tally, &seen));
        audit
    }
}
