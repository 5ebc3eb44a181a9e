//! The identities the security tables name: listed once, as symbols of
//! their columns, then either made into [`Identity`] values (the full
//! audit) or grouped by the rows they match without making them (what
//! `check` audits).
//!
//! A security table of a million users names a million identities. An
//! audit that reports each of them needs them as [`Identity`] values, in
//! order; a summary (grants, findings) needs only, per distinct grant,
//! how many identities have it and the first few of them in audit order
//! (messages name [`super::findings::MAX_NAMED`]). Here each identity
//! stays a symbol of the column it was read off, its text borrowed from
//! the symbol table, and the first few per grant are kept as they come
//! instead of sorting them all.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::hash::BuildHasher;
use std::ops::Range;
use std::sync::Arc;

use foldhash::fast::FixedState;
use hashbrown::HashTable;

use super::grouping::{Grouping, Keyed};
use super::identities::USER_COLUMNS;
use crate::access::{MatchIndex, Named, Origin};
use crate::lists::Lists;
use crate::model::{FieldId, Model, SymbolId};
use crate::names::{Email, GroupName, Identity, UserId, normal_form};

/// A listed item with the class and first 15 bytes of its value (see
/// [`prefix`]): items are ordered on those, held inline, and on
/// their texts only when those are equal.
#[derive(Clone, Copy, Debug)]
struct Ranked {
    prefix: [u8; 16],
    item: u32,
}

impl Ranked {
    /// The prefix as a number: a smaller one means a smaller identity,
    /// equal ones say nothing.
    fn key(self) -> u128 {
        u128::from_be_bytes(self.prefix)
    }
}

/// Listed identities from this many are grouped in pieces side by side.
pub(super) const PIECE_FROM: usize = 1 << 16;

/// Kinds of listed identities, in audit order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Class {
    User,
    Email,
    Group,
}

impl Class {
    /// The audit order's rank of an identity of this class.
    fn rank(self) -> super::Rank {
        match self {
            Class::User => super::Rank::User,
            Class::Email => super::Rank::Email,
            Class::Group => super::Rank::Group,
        }
    }

    /// An identity of this class whose value is `text`.
    fn named(self, text: &str) -> Named<'_> {
        match self {
            Class::User => Named::User(text),
            Class::Email => Named::Email(text),
            Class::Group => Named::Group(text),
        }
    }
}

/// One listed identity: a symbol of an identity column (made when asked
/// for, see [`Listed::item`]).
#[derive(Clone, Copy, Debug)]
struct Item {
    class: Class,
    field: FieldId,
    symbol: SymbolId,
    /// Index of its text in [`Listed::owned`] when that is not the
    /// symbol's stored text as it is (trimmed, upper-cased, a number's).
    own: Option<u32>,
    /// The identity's value is the symbol's text exactly (see
    /// [`Origin`]).
    origin: bool,
}

/// The items listed off one identity column, which share its class and
/// field: those from the previous column's `end` up to this one's.
#[derive(Clone, Copy, Debug)]
struct Listing {
    class: Class,
    field: FieldId,
    end: u32,
}

/// In [`Listed::own`]: the item's text is its symbol's.
const NOT_OWN: u32 = u32::MAX;

/// The identities the security tables name (see [`super::identities`]),
/// as symbols: four bytes an item, a million user ids being four MB of
/// fresh memory rather than twenty.
pub(super) struct Listed<'m> {
    sec: &'m Model,
    columns: Vec<Listing>,
    /// Per item, its symbol.
    symbols: Vec<SymbolId>,
    /// Per item, once any item has a text of its own: its index in
    /// `owned`, or [`NOT_OWN`]. Empty while none has (plain user ids).
    own: Vec<u32>,
    /// Texts of items that are not their symbols' stored texts as they
    /// are (trimmed, upper-cased, a number's), each with whether the
    /// identity's value is still the symbol's text exactly.
    owned: Vec<(Box<str>, bool)>,
    /// Two items may be one identity: several user columns, texts changed
    /// by trimming or upper-casing, or numbers (whose texts may repeat).
    may_repeat: bool,
}

impl<'m> Listed<'m> {
    /// Every `USERID`/`NTNAME` value as a user, every `USER.EMAIL` value as
    /// an e-mail, every `GROUP` value as a member of that group; blank
    /// cells and wildcards (`*`, the `Star is` value) name nobody.
    pub(super) fn of(sec: &'m Model, star: Option<&str>) -> Self {
        let mut out = Self {
            sec,
            columns: Vec::new(),
            symbols: Vec::new(),
            own: Vec::new(),
            owned: Vec::new(),
            may_repeat: false,
        };
        let columns = USER_COLUMNS
            .iter()
            .map(|&c| (c, Class::User))
            .chain([("USER.EMAIL", Class::Email), ("GROUP", Class::Group)]);
        let mut user_columns = 0;
        for (name, class) in columns {
            let Some(field) = sec.find_field(name) else {
                continue;
            };
            let Some(symbols) = sec.symbols(field) else {
                continue;
            };
            let before = out.symbols.len();
            let text_only = symbols.holds_only_text();
            // Texts already in normal form need no trimming, upper-casing
            // or comparing, one by one.
            let plain = symbols.texts_are_plain_upper();
            for id in sec.present(field).iter() {
                let Some(symbol) = SymbolId::from_index(id) else {
                    continue;
                };
                let Some(raw) = symbols.text(symbol) else {
                    continue;
                };
                let trimmed = if plain { raw.as_ref() } else { raw.trim() };
                if trimmed.is_empty() || trimmed == "*" || star == Some(trimmed) {
                    continue;
                }
                let value = if plain {
                    Cow::Borrowed(trimmed)
                } else {
                    normal_form(&raw)
                };
                let origin = plain || value.as_ref() == raw.as_ref();
                // A number's text is made on each request: keep it once.
                if origin && text_only {
                    if !out.own.is_empty() {
                        out.own.push(NOT_OWN);
                    }
                } else {
                    out.may_repeat = true;
                    out.own.resize(out.symbols.len(), NOT_OWN);
                    // Fewer owned texts than items.
                    out.own.push(item_number(out.owned.len()));
                    out.owned.push((Box::from(value.as_ref()), origin));
                }
                out.symbols.push(symbol);
            }
            if out.symbols.len() > before {
                if class == Class::User {
                    user_columns += 1;
                }
                let end = item_number(out.symbols.len());
                out.columns.push(Listing { class, field, end });
            }
        }
        out.may_repeat |= user_columns > 1;
        out
    }

    /// How many items are listed.
    fn len(&self) -> usize {
        self.symbols.len()
    }

    /// Item `i`, which must be listed (`i < self.len()`: every caller
    /// numbers items in that range).
    fn item(&self, i: u32) -> Item {
        #[expect(
            clippy::indexing_slicing,
            reason = "INVARIANT: i < self.len() = symbols.len(), and own is empty or as long as symbols"
        )]
        let (symbol, own) = (
            self.symbols[i as usize],
            if self.own.is_empty() {
                None
            } else {
                Some(self.own[i as usize]).filter(|&j| j != NOT_OWN)
            },
        );
        #[expect(
            clippy::expect_used,
            reason = "INVARIANT: the columns' ends ascend and the last is self.len() > i"
        )]
        let column = self
            .columns
            .iter()
            .find(|c| i < c.end)
            .expect("a listed item is in a listed column");
        #[expect(
            clippy::indexing_slicing,
            reason = "INVARIANT: an item's own number was the length of owned when its text was pushed there"
        )]
        let origin = own.is_none_or(|j| self.owned[j as usize].1);
        Item {
            class: column.class,
            field: column.field,
            symbol,
            own,
            origin,
        }
    }

    /// Each listed identity as an [`Identity`], with the symbol it was read
    /// off when its value is that symbol's text exactly; unsorted, and an
    /// identity listed twice comes twice (what the full audit sorts).
    pub(super) fn identities(&self) -> Vec<(Identity, Option<Origin>)> {
        (0..item_number(self.len()))
            .map(|i| self.item(i))
            .map(|item| {
                let item = &item;
                let value: Arc<str> = Arc::from(self.text(item).as_ref());
                let identity = match item.class {
                    Class::User => {
                        Identity::new(Some(UserId::from_shared(&value)), None, Vec::new())
                    }
                    Class::Email => {
                        Identity::new(None, Some(Email::from_shared(&value)), Vec::new())
                    }
                    Class::Group => Identity::new(None, None, vec![GroupName::from_shared(&value)]),
                };
                (identity, self.origin(item))
            })
            .collect()
    }

    /// Where `item` was read off, when its value is the symbol's text.
    fn origin(&self, item: &Item) -> Option<Origin> {
        item.origin.then_some(Origin {
            field: item.field,
            symbol: item.symbol,
        })
    }

    /// The identity's value (trimmed, upper-cased).
    fn text(&self, item: &Item) -> Cow<'_, str> {
        match item.own {
            Some(i) => {
                #[expect(
                    clippy::indexing_slicing,
                    reason = "INVARIANT: an item's own number was the length of owned when its text was pushed there"
                )]
                let (text, _) = &self.owned[i as usize];
                Cow::Borrowed(text)
            }
            None => {
                #[expect(
                    clippy::expect_used,
                    reason = "INVARIANT: an item is listed only when its symbol has a text in its field (Listed::of)"
                )]
                let text = self
                    .sec
                    .text(item.field, item.symbol)
                    .expect("listed symbols have texts");
                text
            }
        }
    }

    /// Audit order: users, e-mails, group members, each by value (as
    /// [`super::sort_identities`] orders the equivalent identities).
    fn cmp(&self, a: &Item, b: &Item) -> Ordering {
        super::Rank::compare_named(
            (a.class.rank(), &self.text(a)),
            (b.class.rank(), &self.text(b)),
        )
    }

    /// What [`super::label`] shows for the equivalent identity.
    fn label(&self, item: &Item) -> String {
        match item.class {
            Class::User | Class::Email => self.text(item).into_owned(),
            Class::Group => format!("group:{}", self.text(item)),
        }
    }

    /// The identities grouped by the rows they match: grants numbered in
    /// audit order of their first identity, each with its number of
    /// identities and the first few of them.
    /// From `piece_from` identities ([`PIECE_FROM`] but in tests), pieces
    /// are grouped side by side, then merged in order.
    pub(super) fn group(&self, index: &MatchIndex<'_>, piece_from: usize) -> Grouping<'_> {
        let all = self.len();
        // Identities that may repeat are counted once: one pass, through
        // one table of those seen.
        let min = if self.may_repeat {
            usize::MAX
        } else {
            piece_from
        };
        let before = |a, b| self.before(a, b);
        let keyed = crate::pieces::fold(
            all,
            min,
            |range| self.keyed(index, range),
            |mut first, second| {
                first.merge(second, before);
                first
            },
        );
        // Each grant is decided on the rows of its first identity.
        let mut matcher = index.matcher();
        let rows = |first: Ranked, rows: &mut Lists| {
            let first = self.item(first.item);
            let text = self.text(&first);
            rows.push(matcher.key_named(first.class.named(&text), self.origin(&first)));
        };
        let label = |r: Ranked| self.label(&self.item(r.item));
        let (grouping, _) = keyed.grouping(|a, b| self.order(a, b), rows, label);
        grouping
    }

    /// Items `range` grouped by key, each counted once (see
    /// [`Listed::may_repeat`]).
    fn keyed(&self, index: &MatchIndex<'_>, range: Range<usize>) -> Keyed<Ranked> {
        let mut out = Keyed::default();
        let mut distinct: HashTable<u32> = HashTable::new();
        let hasher = FixedState::default();
        let mut matcher = index.matcher();
        // A piece of `0..self.len()`.
        for i in item_number(range.start)..item_number(range.end) {
            let item = &self.item(i);
            let text = self.text(item);
            if self.may_repeat {
                let h = hasher.hash_one((item.class, text.as_ref()));
                let same = |&j: &u32| {
                    let other = self.item(j);
                    other.class == item.class && self.text(&other) == text
                };
                if distinct.find(h, same).is_some() {
                    continue;
                }
                distinct.insert_unique(h, i, |&j| {
                    let other = self.item(j);
                    hasher.hash_one((other.class, self.text(&other).as_ref()))
                });
            }
            matcher.key_named(item.class.named(&text), self.origin(item));
            let service = item.class == Class::User && super::is_service_account(&text);
            let ranked = Ranked {
                prefix: prefix(item.class, &text),
                item: i,
            };
            out.add(matcher.content(), !service, ranked, |a, b| {
                self.before(a, b)
            });
        }
        out
    }

    /// Audit order of two items: on their prefixes, then their texts.
    fn order(&self, a: Ranked, b: Ranked) -> Ordering {
        a.key()
            .cmp(&b.key())
            .then_with(|| self.cmp(&self.item(a.item), &self.item(b.item)))
    }

    /// `a` comes before `b` in audit order.
    fn before(&self, a: Ranked, b: Ranked) -> bool {
        self.order(a, b) == Ordering::Less
    }
}

/// The number of an item, or a count of items (at most all of them).
fn item_number(n: usize) -> u32 {
    #[expect(
        clippy::expect_used,
        reason = "INVARIANT: 2^32 items cannot exist: each takes 4 bytes here and its symbol at least 4 bytes of text ends in its field, 32 GiB in all"
    )]
    u32::try_from(n).expect("fewer than 2^32 listed items")
}

/// The class and the first 15 bytes of the value `text`, in
/// [`Listed::cmp`] order (see [`Ranked::key`]).
fn prefix(class: Class, text: &str) -> [u8; 16] {
    class.rank().prefix(text).to_be_bytes()
}
