//! Identities grouped by the security rows they match: the one grouping
//! of the audit, whether its identities are made ([`super::Audit::run`],
//! numbered by their place in audit order) or stay symbols of the
//! security tables (`check`'s summary, see [`super::listed`]).
//!
//! Each identity is matched once and counted under its key (the contents
//! of the rows it matches); each key keeps the first few of its identities
//! in audit order. The keys then become grants in audit order of their
//! first identity, and each grant is decided on the rows that identity
//! matches.

use std::cmp::Ordering;

use super::decide::Interner;
use super::findings;
use crate::lists::Lists;

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

/// The first identities of a key in audit order (most keys have one: no
/// vector for them).
#[derive(Clone, Debug)]
pub(super) enum First<T> {
    One(T),
    Many(Vec<T>),
}

impl<T: Copy> First<T> {
    pub(super) fn as_slice(&self) -> &[T] {
        match self {
            First::One(i) => std::slice::from_ref(i),
            First::Many(v) => v,
        }
    }

    fn least(&self) -> Option<T> {
        self.as_slice().first().copied()
    }

    /// Adds `item` when it is among the first in the order of `less`.
    fn keep(&mut self, item: T, less: impl Fn(T, T) -> bool) {
        if let First::One(j) = *self {
            *self = First::Many(vec![j]);
        }
        if let First::Many(few) = self {
            keep_first(few, item, less);
        }
    }
}

/// Identities grouped by key (the contents of the rows they match, see
/// `access::rules::index::Matcher::content`), keys numbered as they come;
/// `T` is how an identity is held (its place in audit order, or a listed
/// symbol).
pub(super) struct Keyed<T> {
    keys: Interner,
    /// Per key: its number of identities, whether a person (not a service
    /// account) has it, and its first few identities in audit order.
    // INVARIANT: all three are as long as `keys`, and every `first` holds
    // at least one identity (a key is numbered when one is counted).
    count: Vec<usize>,
    person: Vec<bool>,
    first: Vec<First<T>>,
    /// Identities counted.
    identities: usize,
}

impl<T> Default for Keyed<T> {
    fn default() -> Self {
        Self {
            keys: Interner::default(),
            count: Vec::new(),
            person: Vec::new(),
            first: Vec::new(),
            identities: 0,
        }
    }
}

impl<T: Copy> Keyed<T> {
    /// Counts `who` under `key`, a person unless a service account;
    /// returns the key's number.
    pub(super) fn add(
        &mut self,
        key: &[u32],
        person: bool,
        who: T,
        less: impl Fn(T, T) -> bool,
    ) -> usize {
        let k = self.keys.intern(key);
        self.count(k, (1, person), First::One(who), less);
        k
    }

    /// Counts `n` more identities for key `k`, `person` when one of them
    /// is not a service account, `few` the first of them.
    fn count(
        &mut self,
        k: usize,
        (n, person): (usize, bool),
        few: First<T>,
        less: impl Fn(T, T) -> bool,
    ) {
        self.identities += n;
        if k == self.count.len() {
            self.count.push(n);
            self.person.push(person);
            self.first.push(few);
            return;
        }
        // The interner numbers keys densely: `k` is new (handled above) or
        // one already counted.
        #[expect(
            clippy::indexing_slicing,
            reason = "INVARIANT: keys are numbered densely from 0, so k <= count.len() = person.len() = first.len(), and k != count.len() here"
        )]
        {
            self.count[k] += n;
            self.person[k] |= person;
            for &i in few.as_slice() {
                self.first[k].keep(i, &less);
            }
        }
    }

    /// Folds `other`'s keys into these (a later piece of the same
    /// identities).
    pub(super) fn merge(&mut self, other: Self, less: impl Fn(T, T) -> bool) {
        let Keyed {
            keys,
            count,
            person,
            first,
            ..
        } = other;
        for (((key, n), p), few) in keys.iter().zip(count).zip(person).zip(first) {
            let k = self.keys.intern(key);
            self.count(k, (n, p), few, &less);
        }
    }

    /// Every identity some key keeps among its first few, sorted, each
    /// once: those the findings may name.
    pub(super) fn kept(&self) -> Vec<T>
    where
        T: Ord,
    {
        let mut kept: Vec<T> = self
            .first
            .iter()
            .flat_map(|few| few.as_slice().iter().copied())
            .collect();
        kept.sort_unstable();
        kept.dedup();
        kept
    }

    /// The grants: keys in audit order of their first identity (`order`),
    /// each decided on the rows `rows` gives for that identity, and named
    /// in findings by `label`. With them, the grant number of each key.
    pub(super) fn grouping<'a>(
        self,
        order: impl Fn(T, T) -> Ordering + Send + Sync + 'a,
        mut rows: impl FnMut(T, &mut Lists),
        label: impl Fn(T) -> String + Send + Sync + 'a,
    ) -> (Grouping<'a>, Vec<usize>)
    where
        T: Send + Sync + 'a,
    {
        let Keyed {
            keys,
            count,
            person,
            first,
            identities,
        } = self;
        drop(keys);
        // Grants in order of their first identity (a million keys when
        // each user's rows differ in more than the user id).
        #[expect(
            clippy::expect_used,
            reason = "INVARIANT: a key is numbered when an identity is counted under it, and keeping more never empties a list"
        )]
        let mut by_use: Vec<(T, usize)> = first
            .iter()
            .map(|few| few.least().expect("every key has a first identity"))
            .zip(0..)
            .collect();
        by_use.sort_unstable_by(|a, b| order(a.0, b.0));
        // Every key becomes a grant: `by_use` is a permutation of them.
        let mut grant_of = vec![0; first.len()];
        let mut grant_rows = Lists::default();
        for (g, &(least, k)) in by_use.iter().enumerate() {
            #[expect(
                clippy::indexing_slicing,
                reason = "INVARIANT: k enumerates first, as long as grant_of"
            )]
            {
                grant_of[k] = g;
            }
            rows(least, &mut grant_rows);
        }
        #[expect(
            clippy::indexing_slicing,
            reason = "INVARIANT: k enumerates first, as long as count and person"
        )]
        let (counted, counts) = (
            by_use.iter().map(|&(_, k)| person[k]).collect(),
            by_use.iter().map(|&(_, k)| count[k]).collect(),
        );
        let mut first: Vec<Option<First<T>>> = first.into_iter().map(Some).collect();
        let first: Vec<First<T>> = by_use
            .iter()
            .filter_map(|&(_, k)| first.get_mut(k).and_then(Option::take))
            .collect();
        let names = move |grants: &mut dyn Iterator<Item = usize>| -> Vec<String> {
            let lists = grants.filter_map(|g| first.get(g).map(First::as_slice));
            first_of(lists, |&a, &b| order(a, b) == Ordering::Less)
                .into_iter()
                .map(|&who| label(who))
                .collect()
        };
        let grouping = Grouping {
            rows: grant_rows,
            counted,
            tally: findings::Tally {
                counts,
                first: Box::new(names),
                identities,
            },
        };
        (grouping, grant_of)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn less(a: u32, b: u32) -> bool {
        a < b
    }

    #[test]
    fn keys_become_grants_in_order_of_their_first_identity() {
        let mut keyed = Keyed::default();
        // Identities 0..6 in audit order, met out of order.
        for (who, key, person) in [
            (4, [1, 9], true),
            (2, [1, 7], false),
            (5, [1, 7], true),
            (0, [1, 8], true),
            (3, [1, 9], false),
            (1, [1, 7], false),
        ] {
            keyed.add(&key, person, who, less);
        }
        let (grouping, grant_of) = keyed.grouping(
            |a: u32, b: u32| a.cmp(&b),
            |who, rows| rows.push(&[who]),
            |who| format!("#{who}"),
        );
        // Keys numbered as met: [1,9], [1,7], [1,8]; grants by first
        // identity: [1,8] (0), [1,7] (1), [1,9] (3).
        assert_eq!(grant_of, vec![2, 1, 0]);
        let rows: Vec<&[u32]> = grouping.rows.iter().collect();
        assert_eq!(rows, vec![&[0][..], &[1], &[3]]);
        assert_eq!(grouping.counted, vec![true, true, true]);
        assert_eq!(grouping.tally.counts, vec![1, 3, 2]);
        assert_eq!(grouping.tally.identities, 6);
        let names = (grouping.tally.first)(&mut [2, 1].into_iter());
        assert_eq!(
            names,
            vec!["#1", "#2", "#3", "#4", "#5"][..findings::MAX_NAMED.min(5)]
        );
    }

    #[test]
    fn a_key_only_service_accounts_have_is_not_counted() {
        let mut keyed = Keyed::default();
        keyed.add(&[1, 3], false, 0, less);
        keyed.add(&[1, 4], false, 1, less);
        keyed.add(&[1, 4], true, 2, less);
        let (grouping, _) =
            keyed.grouping(|a: u32, b| a.cmp(&b), |_, r| r.push(&[]), |w| w.to_string());
        assert_eq!(grouping.counted, vec![false, true]);
    }

    #[test]
    fn merged_pieces_group_as_one() {
        let all = [(0u32, 5u32), (1, 6), (2, 5), (3, 7), (4, 6), (5, 5)];
        let mut one = Keyed::default();
        for &(who, x) in &all {
            one.add(&[1, x], true, who, less);
        }
        let (mut a, mut b) = (Keyed::default(), Keyed::default());
        for &(who, x) in &all[3..] {
            b.add(&[1, x], true, who, less);
        }
        for &(who, x) in &all[..3] {
            a.add(&[1, x], true, who, less);
        }
        a.merge(b, less);
        let run = |k: Keyed<u32>| {
            let (g, grant_of) = k.grouping(
                |a: u32, b| a.cmp(&b),
                |w, r| r.push(&[w]),
                |w| w.to_string(),
            );
            let names = (g.tally.first)(&mut (0..g.tally.counts.len()));
            (g.tally.counts, g.counted, names, grant_of)
        };
        assert_eq!(run(a), run(one));
    }
}
