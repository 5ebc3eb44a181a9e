//! Deciding grants: identities grouped by the security rows they match,
//! one decision per distinct key, decided in pieces side by side and merged
//! in order.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use foldhash::fast::FixedState;
use rayon::iter::{IndexedParallelIterator, IntoParallelIterator, ParallelIterator};

use crate::access::{AccessLevel, Evaluator, MatchIndex, Origin};
use crate::lists::{ListInterner, Lists};
use crate::load::App;
use crate::model::{BitSet, FieldId};
use crate::names::Identity;
use crate::reduce::PerValue;

use super::findings;
use super::identities::{is_service_account, label, sorted_order};
use super::view::{Shapes, View, outcome_code};
use super::{Audit, Entry, Progress, Verdict};

/// Adds `item` to `few`, the first [`findings::MAX_NAMED`] items in the
/// order of `less`, when it is among them. False when it is not: nor is
/// any item after it in that order.
pub(super) fn keep_first<T: Copy>(few: &mut Vec<T>, item: T, less: impl Fn(T, T) -> bool) -> bool {
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
pub(super) fn first_of<'l, T>(
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
pub(super) struct Grouping<'a> {
    /// Per grant, numbered in audit order of its first identity: the rows
    /// that identity matches (a key of `access::rules::index::Matcher::key_from`),
    /// which its grant is decided on.
    pub(super) rows: Lists,
    /// Per grant: someone other than a service account (`INTERNAL\…`,
    /// e.g. the reload scheduler) has it, so its rows count as seen.
    pub(super) counted: Vec<bool>,
    /// Per grant, its identities as the findings name them.
    pub(super) tally: findings::Tally<'a>,
}

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
            #[expect(
                clippy::expect_used,
                reason = "INVARIANT: k numbers a ListInterner list, below u32::MAX"
            )]
            found.push(u32::try_from(k).expect("key numbers fit u32"));
        }
        let mut renumbered: Vec<usize> = vec![usize::MAX; keys.len()];
        let mut by_use: Vec<usize> = Vec::with_capacity(keys.len());
        // Each grant is decided on the rows of its first identity.
        let mut rows = Lists::default();
        let key_of: Vec<usize> = order
            .iter()
            .map(|&i| {
                // `order` is a permutation of the positions of `ids`, and
                // `found` holds a key number below `keys.len()` for each.
                #[expect(
                    clippy::indexing_slicing,
                    reason = "INVARIANT: i < ids.len() = found.len(), k < keys.len() = renumbered.len()"
                )]
                let (k, n, (identity, origin)) = {
                    let k = found[i as usize] as usize;
                    (k, &mut renumbered[k], &ids[i as usize])
                };
                if *n == usize::MAX {
                    *n = by_use.len();
                    by_use.push(k);
                    rows.push(matcher.key_from(identity, *origin));
                }
                *n
            })
            .collect();
        drop(found);
        let counted: Vec<bool> = by_use
            .iter()
            .map(|&k| {
                #[expect(
                    clippy::indexing_slicing,
                    reason = "INVARIANT: k < keys.len() and person was made longer than every key number"
                )]
                person[k]
            })
            .collect();
        // Per grant, its number of identities and the first few, by
        // position in audit order (messages name at most `MAX_NAMED`).
        let mut counts = vec![0; by_use.len()];
        let mut names: Vec<Vec<(usize, String)>> = vec![Vec::new(); by_use.len()];
        for (at, (&i, &k)) in order.iter().zip(&key_of).enumerate() {
            #[expect(
                clippy::indexing_slicing,
                reason = "INVARIANT: k is a grant number, below by_use.len() = counts.len() = names.len(); i < ids.len()"
            )]
            {
                counts[k] += 1;
                let who = &mut names[k];
                if who.len() < findings::MAX_NAMED {
                    who.push((at, label(&ids[i as usize].0)));
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
}
