//! The two kinds of number a table is made of: symbol ids (which value of
//! a field a cell holds) and row ids (which row of a table). Each is its
//! own type, so that one is never used for the other, a count is never
//! taken for either, and NULL is never made by arithmetic.

/// The id of a value in its field's [`Symbols`](super::Symbols), or
/// [`SymbolId::NULL`] for a missing value.
///
/// Ids are dense from 0 in the order values first arrive. They are made
/// only by a symbol table (interning, [`Symbols::ids`](super::Symbols::ids))
/// or from a position checked against [`MAX_SYMBOLS`](super::MAX_SYMBOLS)
/// ([`SymbolId::from_index`]): there is no conversion from a bare `u32`,
/// so no overflow or row number can become an id, and no arithmetic can
/// make NULL. [`SymbolId::index`] gives the position for indexing a
/// vector or a bit set with one entry per symbol; NULL's index is past
/// every symbol table, so such a lookup finds nothing for it.
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct SymbolId(u32);

impl SymbolId {
    /// The id of a missing value: never an entry of a symbol table, and
    /// after every id in order.
    pub const NULL: SymbolId = SymbolId(u32::MAX);

    /// True for [`SymbolId::NULL`].
    #[inline]
    #[must_use]
    pub const fn is_null(self) -> bool {
        self.0 == u32::MAX
    }

    /// The id's position in its symbol table, for indexing per-symbol
    /// vectors and bit sets (NULL's is `u32::MAX`, past every table).
    #[inline]
    #[must_use]
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The id at position `i` of a symbol table; `None` from
    /// [`MAX_SYMBOLS`](super::MAX_SYMBOLS) up (NULL is never a position).
    #[inline]
    #[must_use]
    pub fn from_index(i: usize) -> Option<SymbolId> {
        u32::try_from(i)
            .ok()
            .filter(|&raw| raw != u32::MAX)
            .map(SymbolId)
    }

    /// The id as a number, for keys that mix it with other numbers (the
    /// audit's selection keys) and for output; there is no way back.
    #[inline]
    #[must_use]
    pub const fn as_u32(self) -> u32 {
        self.0
    }

    /// The id of raw number `raw`, for the symbol tables of this module
    /// alone: they store ids as numbers in their indexes and check every
    /// one against their length (`raw < len <= MAX_SYMBOLS`, or NULL).
    #[inline]
    pub(super) const fn from_raw(raw: u32) -> SymbolId {
        SymbolId(raw)
    }
}

/// A list of symbol ids, kept as a count while it is `0, 1, 2, …`: the
/// symbols a column uses in order of first use, or the id each symbol of a
/// file gets. Most such lists are that prefix (a field new to the model, a
/// column in load order), and then ten million ids are not listed again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum IdList {
    /// The ids `0..n`.
    Prefix(usize),
    /// Any other ids.
    Listed(Vec<SymbolId>),
}

impl Default for IdList {
    fn default() -> Self {
        IdList::Prefix(0)
    }
}

impl IdList {
    /// Appends `id`.
    #[inline]
    pub(crate) fn push(&mut self, id: SymbolId) {
        match self {
            IdList::Prefix(n) if id.index() == *n => *n += 1,
            IdList::Prefix(n) => {
                let mut list: Vec<SymbolId> = (0..*n).filter_map(SymbolId::from_index).collect();
                list.push(id);
                *self = IdList::Listed(list);
            }
            IdList::Listed(list) => list.push(id),
        }
    }

    /// The id at position `i`.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<SymbolId> {
        match self {
            IdList::Prefix(n) => (i < *n).then(|| SymbolId::from_index(i)).flatten(),
            IdList::Listed(list) => list.get(i).copied(),
        }
    }

    /// How many ids.
    pub(crate) fn len(&self) -> usize {
        match self {
            IdList::Prefix(n) => *n,
            IdList::Listed(list) => list.len(),
        }
    }

    /// True when `0..len` in order.
    pub(crate) fn is_prefix(&self) -> bool {
        matches!(self, IdList::Prefix(_))
    }

    /// The ids in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = SymbolId> + '_ {
        let (prefix, list) = match self {
            IdList::Prefix(n) => (*n, &[][..]),
            IdList::Listed(list) => (0, list.as_slice()),
        };
        (0..prefix)
            .filter_map(SymbolId::from_index)
            .chain(list.iter().copied())
    }
}

/// The number of a row in its table, from 0.
///
/// A table holds at most [`MAX_ROWS`](super::MAX_ROWS) rows, checked once
/// per table built ([`Model::check_capacity`](super::Model::check_capacity)),
/// so every row of a built table has one: made by
/// [`RowId::from_index`] (checked) or [`Table::row_ids`](super::Table::row_ids).
/// Used where a row number is kept per row or per grant (row classes,
/// matched rows, surviving rows).
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct RowId(u32);

impl RowId {
    /// The row's position, for indexing a column or a per-row vector.
    #[inline]
    #[must_use]
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The id of row `i`; `None` from [`MAX_ROWS`](super::MAX_ROWS) up.
    #[inline]
    #[must_use]
    pub fn from_index(i: usize) -> Option<RowId> {
        u32::try_from(i)
            .ok()
            .filter(|&raw| raw != u32::MAX)
            .map(RowId)
    }

    /// The row number as a number, for output and for keys that mix it
    /// with other numbers.
    #[inline]
    #[must_use]
    pub const fn as_u32(self) -> u32 {
        self.0
    }

    /// The row id a key of mixed numbers holds at a place where it was
    /// written with [`RowId::as_u32`]: the decoder of the audit's match
    /// keys (counts and rows end to end, `access::rules::index`) alone.
    #[inline]
    pub(crate) const fn from_raw(raw: u32) -> RowId {
        RowId(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_list_is_a_count_until_it_leaves_the_prefix() {
        let id = |i| SymbolId::from_index(i).unwrap();
        let mut list = IdList::default();
        for i in 0..3 {
            list.push(id(i));
        }
        assert_eq!(list, IdList::Prefix(3));
        assert_eq!(list.get(2), Some(id(2)));
        assert_eq!(list.get(3), None);
        list.push(id(7));
        list.push(id(3));
        assert!(!list.is_prefix());
        assert_eq!(list.len(), 5);
        assert_eq!(list.get(3), Some(id(7)));
        let all: Vec<usize> = list.iter().map(SymbolId::index).collect();
        assert_eq!(all, [0, 1, 2, 7, 3]);
    }
    use crate::model::{MAX_ROWS, MAX_SYMBOLS};

    #[test]
    fn positions_past_the_limits_have_no_id() {
        assert_eq!(SymbolId::from_index(0).map(SymbolId::index), Some(0));
        assert_eq!(
            SymbolId::from_index(MAX_SYMBOLS - 1).map(SymbolId::index),
            Some(MAX_SYMBOLS - 1)
        );
        assert_eq!(
            SymbolId::from_index(MAX_SYMBOLS),
            None,
            "NULL is no position"
        );
        assert_eq!(SymbolId::from_index(usize::MAX), None);
        assert!(SymbolId::NULL.is_null());
        assert!(SymbolId::from_index(7).is_some_and(|id| !id.is_null() && id < SymbolId::NULL));
        assert_eq!(
            RowId::from_index(MAX_ROWS - 1).map(RowId::index),
            Some(MAX_ROWS - 1)
        );
        assert_eq!(RowId::from_index(MAX_ROWS), None);
    }
}
