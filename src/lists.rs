//! Many short lists (of symbol ids, row numbers) stored end to end
//! in one vector, not one allocation each: [`Lists`] numbers them in the
//! order they are added, or groups items by key ([`Lists::grouped`]);
//! [`ListInterner`] numbers distinct lists, each stored once.

use std::hash::BuildHasher;

use foldhash::fast::FixedState;
use hashbrown::HashTable;

use crate::model::{spread, tag};

/// Lists of `T` (numbers, symbol ids) end to end; list `i` is the `i`th
/// added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Lists<T = u32> {
    items: Vec<T>,
    /// Where each list ends in `items`; list `i` starts where list `i - 1`
    /// ends (the first at 0).
    // INVARIANT: `ends` ascends (not strictly: a list may be empty) and no
    // end passes `items.len()`.
    ends: Vec<usize>,
}

impl<T> Default for Lists<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            ends: Vec::new(),
        }
    }
}

impl<T: Copy> Lists<T> {
    /// `items` grouped by key: list `k` holds the values of the items
    /// with key `k`, in the order given, for every key below `keys` (a
    /// counting sort). Items with a key from `keys` up belong to no list
    /// and are left out (a NULL symbol id matches nothing).
    pub(crate) fn grouped(keys: usize, items: impl Iterator<Item = (usize, T)> + Clone) -> Self {
        let slot = |key: usize| Some(key).filter(|&k| k < keys);
        // How many items each key has, then where each key's list starts.
        let mut ends = vec![0usize; keys];
        // Any item kept, to fill the places with before each is written.
        let mut fill = None;
        for (k, item) in items
            .clone()
            .filter_map(|(key, item)| Some((slot(key)?, item)))
        {
            #[expect(
                clippy::indexing_slicing,
                reason = "INVARIANT: slot() < keys = ends.len()"
            )]
            let end = &mut ends[k];
            *end += 1;
            fill.get_or_insert(item);
        }
        let mut total = 0;
        for end in &mut ends {
            let count = *end;
            *end = total;
            total += count;
        }
        // Each item goes at its list's next place, which moves up: once
        // every item is in, each list's place is where it ends. A second
        // pass over the items, rather than a copy of them (a million rows:
        // 16 bytes each) and of the places.
        // Every place is written below (none when no item is kept).
        let Some(fill) = fill else {
            return Self {
                items: Vec::new(),
                ends,
            };
        };
        let mut out = vec![fill; total];
        for (k, item) in items.filter_map(|(key, item)| Some((slot(key)?, item))) {
            #[expect(
                clippy::indexing_slicing,
                reason = "INVARIANT: k < keys = ends.len(); ends[k] counts up from the start of k's list to its end, at most once per item of k, and the lists' lengths sum to out.len()"
            )]
            {
                out[ends[k]] = item;
                ends[k] += 1;
            }
        }
        Self { items: out, ends }
    }

    /// How many lists there are.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The lists in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[T]> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(start, &end)| {
            #[expect(
                clippy::indexing_slicing,
                reason = "INVARIANT: ends ascend and none passes items.len()"
            )]
            &self.items[start..end]
        })
    }

    /// List `i`, `None` past the last.
    pub(crate) fn get(&self, i: usize) -> Option<&[T]> {
        let end = *self.ends.get(i)?;
        let start = match i.checked_sub(1) {
            #[expect(clippy::indexing_slicing, reason = "INVARIANT: p < i < ends.len()")]
            Some(p) => self.ends[p],
            None => 0,
        };
        #[expect(
            clippy::indexing_slicing,
            reason = "INVARIANT: ends ascend and none passes items.len()"
        )]
        Some(&self.items[start..end])
    }

    /// Group `key` of lists made by [`Lists::grouped`]: empty for a key
    /// no item had, the keys past the last included.
    pub(crate) fn group(&self, key: usize) -> &[T] {
        self.get(key).unwrap_or_default()
    }

    /// Adds `list`, numbered [`Lists::len`] before.
    pub(crate) fn push(&mut self, list: &[T]) {
        self.items.extend_from_slice(list);
        self.ends.push(self.items.len());
    }

    /// Adds the list of `items`, numbered [`Lists::len`] before.
    pub(crate) fn push_iter(&mut self, items: impl IntoIterator<Item = T>) {
        self.items.extend(items);
        self.ends.push(self.items.len());
    }
}

/// Distinct lists, numbered in order of first appearance, each stored
/// once (the rows an identity matches, a reduction, a view).
#[derive(Debug, Default)]
pub(crate) struct ListInterner {
    /// (number, [`tag`] of the list's hash): growing the table rehashes
    /// from the tag, not from the list (a million lists, one per user of
    /// a large security table).
    // INVARIANT: every number is below `lists.len()`.
    index: HashTable<(u32, u32)>,
    lists: Lists,
}

impl ListInterner {
    /// How many distinct lists there are.
    pub(crate) fn len(&self) -> usize {
        self.lists.len()
    }

    /// The lists in order of their numbers.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u32]> + '_ {
        self.lists.iter()
    }

    /// The number of `list`, added if new.
    pub(crate) fn intern(&mut self, list: &[u32]) -> usize {
        let tag = tag(FixedState::default().hash_one(list));
        let lists = &self.lists;
        let found = self.index.find(spread(tag), |&(i, t)| {
            t == tag && lists.get(i as usize) == Some(list)
        });
        if let Some(&(i, _)) = found {
            return i as usize;
        }
        let i = self.lists.len();
        #[expect(
            clippy::expect_used,
            reason = "INVARIANT: 2^32 lists cannot exist: each takes 16 bytes of ends and index, 64 GiB in all"
        )]
        let number = u32::try_from(i).expect("fewer than 2^32 lists");
        self.lists.push(list);
        self.index
            .insert_unique(spread(tag), (number, tag), |&(_, t)| spread(t));
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_keeps_each_keys_items_in_order_and_drops_keys_out_of_range() {
        let items = [
            (2, 10),
            (0, 11),
            (2, 12),
            (3, 13),
            (0, 14),
            (4, 15),
            (9, 16),
        ];
        let lists = Lists::grouped(4, items.into_iter());
        let groups: Vec<&[u32]> = (0..6).map(|k| lists.group(k)).collect();
        let want: [&[u32]; 6] = [&[11, 14], &[], &[10, 12], &[13], &[], &[]];
        assert_eq!(groups, want);
        assert_eq!(lists.get(3), Some(&[13][..]));
        assert_eq!(lists.get(4), None);
        // Typed items: rows by symbol, NULL's index past every key.
        let rows = |i: usize| crate::model::RowId::from_index(i).unwrap();
        let by_symbol = Lists::grouped(
            2,
            [
                (1, rows(0)),
                (crate::model::SymbolId::NULL.index(), rows(1)),
                (1, rows(2)),
            ]
            .into_iter(),
        );
        assert_eq!(by_symbol.group(1), &[rows(0), rows(2)]);
        assert!(by_symbol.group(0).is_empty());
        let none = Lists::<u32>::grouped(3, std::iter::empty());
        assert!((0..4).all(|k| none.group(k).is_empty()));
        assert_eq!(lists.group(usize::MAX), &[] as &[u32]);
    }

    #[test]
    fn pushed_lists_come_back_by_number() {
        let mut lists = Lists::default();
        lists.push(&[1, 2]);
        lists.push(&[]);
        lists.push_iter([7, 8, 9]);
        assert_eq!(lists.len(), 3);
        let all: Vec<&[u32]> = lists.iter().collect();
        assert_eq!(all, [&[1, 2][..], &[], &[7, 8, 9]]);
        assert_eq!(lists.get(0), Some(&[1, 2][..]));
        assert_eq!(lists.get(1), Some(&[][..]));
        assert_eq!(lists.get(2), Some(&[7, 8, 9][..]));
        assert_eq!(lists.get(3), None);
    }

    #[test]
    fn an_interned_list_keeps_its_first_number() {
        let mut lists = ListInterner::default();
        assert_eq!(lists.intern(&[3, 1]), 0);
        assert_eq!(lists.intern(&[]), 1);
        assert_eq!(lists.intern(&[1, 3]), 2, "order matters");
        assert_eq!(lists.intern(&[3, 1]), 0);
        assert_eq!(lists.intern(&[]), 1);
        assert_eq!(lists.len(), 3);
        let all: Vec<&[u32]> = lists.iter().collect();
        assert_eq!(all, [&[3, 1][..], &[], &[1, 3]]);
    }
}
