//! The symbol table of one field: its distinct values, each with a dense
//! [`SymbolId`], stored as cheaply as what the field holds allows.

use std::borrow::Cow;
use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::HashTable;

use super::value::num_bits;
use super::{SymbolId, Value, format_number, parse_number};

/// The distinct values of one field, each with a dense [`SymbolId`].
///
/// Storage follows what the field holds, cheapest first:
/// - a *run* of consecutive integers in load order (row numbers, order and
///   customer ids: the commonest keys) stores nothing but its first value,
///   and a number is found by subtraction;
/// - plain numbers only: one `f64` per value;
/// - text only (names, codes, identity columns): the texts end to end in
///   one string, with where each ends;
/// - anything else: one [`Value`] per value.
///
/// Outside a run, small non-negative integers, and non-negative numbers
/// with at most two decimals (amounts, prices) by their hundredths, are
/// found by value in direct tables, one memory access per lookup (into a
/// table small enough to stay in cache); other numbers through a
/// hash table with the key inline; text through a hash index that holds ids
/// only and hashes through the values themselves, so a value is stored
/// once. Looking up text needs no allocation.
#[derive(Clone, Debug)]
pub struct Symbols {
    store: Store,
    // INVARIANT: in a run, the indexes are empty. Otherwise a number whose
    // `direct_slot` `(t, s)` has `s < direct[t].len()` is indexed in
    // `direct[t]` only, every other number in `nums` only, text in `index`.
    /// Text: ids with 32 bits of their hash, so growing the table and
    /// most mismatches do not touch the values.
    index: HashTable<(SymbolId, u32)>,
    /// Other numbers with their key inline: a lookup does not touch the
    /// value (amounts, prices: many lookups of a few hundred thousand).
    nums: HashTable<(u64, SymbolId)>,
    /// Direct tables: ids by integer, and by hundredths
    /// ([`SymbolId::NULL`] in a free slot).
    direct: [Vec<SymbolId>; 2],
    /// A value arrived when all [`MAX_SYMBOLS`] ids were taken: it got
    /// [`SymbolId::NULL`], so the table that holds it is wrong and must not be used
    /// ([`Model::check_capacity`] turns this into an error).
    full: bool,
    /// A text of more than 15 digits was read as a number (an f64 holds
    /// 15 exactly): what Qlik does with such text is not verified.
    long_numbers: bool,
}

#[derive(Clone, Debug)]
enum Store {
    /// The plain numbers `first, first + 1, …, first + len - 1`, id `i`
    /// holding `first + i`.
    // INVARIANT: every value of the run is below 2^53 in magnitude, so
    // each is exact in an f64.
    Run { first: i64, len: u32 },
    /// Pure texts ([`Value::Text`]) end to end; text `i` ends at `ends[i]`.
    // INVARIANT: `ends` ascends and each end is on a char boundary.
    Texts { bytes: String, ends: Vec<u32> },
    /// Plain numbers ([`Value::Num`]).
    Nums(Vec<f64>),
    /// Any values.
    Values(Vec<Value>),
}

impl Default for Symbols {
    fn default() -> Self {
        Self {
            store: Store::Run { first: 0, len: 0 },
            index: HashTable::new(),
            nums: HashTable::new(),
            direct: [Vec::new(), Vec::new()],
            full: false,
            long_numbers: false,
        }
    }
}

/// Integers a run may hold: exact in an f64.
const RUN_LIMIT: f64 = 9_007_199_254_740_992.0;

/// `n` as an integer, when it is one a run may hold.
fn run_int(n: f64) -> Option<i64> {
    // No `fract()` (a libm call): an integral float survives the round trip.
    (n.abs() < RUN_LIMIT && (n as i64) as f64 == n).then_some(n as i64)
}

/// Text `id` of a text store.
fn text_at<'t>(bytes: &'t str, ends: &[u32], id: SymbolId) -> Option<&'t str> {
    let end = *ends.get(id.index())? as usize;
    let start = match id.index().checked_sub(1) {
        Some(p) => *ends.get(p)? as usize,
        None => 0,
    };
    bytes.get(start..end)
}

/// The part of a hash kept in an index beside the id (symbol tables, the
/// audit's key interner): growing the index rehashes from it, not from
/// the value.
pub(crate) fn tag(hash: u64) -> u32 {
    (hash >> 32) as u32
}

/// The hash the index works with, rebuilt from a tag (high bits choose
/// the control byte, low bits the bucket).
pub(crate) fn spread(tag: u32) -> u64 {
    (u64::from(tag) << 32) | u64::from(tag)
}

/// True when Qlik shows `n` as `text` (its default number format).
fn shows_as(n: f64, text: &str) -> bool {
    let b = text.as_bytes();
    let digits = b.strip_prefix(b"-").unwrap_or(b);
    // Plain integers without leading zeros (and not `-0`): no formatting.
    if !digits.is_empty() && digits.len() <= 15 && digits.iter().all(u8::is_ascii_digit) {
        return (digits.len() == 1 || digits.first() != Some(&b'0')) && text != "-0";
    }
    format_number(n) == text
}

/// Where a number is found directly: integers in `0..2^32` at their value
/// in the first table; other numbers in that range with at most two
/// decimals at their hundredths in the second (`c / 100` reads back as
/// exactly the number, so the slot is one number's only).
fn direct_slot(bits: u64) -> Option<(usize, usize)> {
    let n = f64::from_bits(bits);
    if !(0.0..4_294_967_296.0).contains(&n) {
        return None;
    }
    if (n as u64) as f64 == n {
        return Some((0, n as usize));
    }
    // No `round()` (a libm call): n is not negative.
    let c = (n * 100.0 + 0.5) as u64;
    (c < 1 << 32 && c as f64 / 100.0 == n).then_some((1, c as usize))
}

/// The integer part and hundredths of a number written as digits with at
/// most two decimals, below 2^32 (where [`direct_slot`] puts numbers; the
/// value is `int + hundredths / 100`, the slot in the hundredths table
/// `int * 100 + hundredths`, as [`parse_number`] and `direct_slot` give).
fn plain_decimal(bytes: &[u8]) -> Option<(u64, u64)> {
    let dot = bytes.iter().position(|&b| b == b'.');
    let (int, frac) = match dot {
        Some(d) => (bytes.get(..d)?, bytes.get(d + 1..)?),
        None => (bytes, &[][..]),
    };
    let digits = |b: &[u8]| -> Option<u64> {
        b.iter().try_fold(0u64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u64::from(c - b'0'))
        })
    };
    // Ten digits stay below 2^34: no overflow before the range check.
    if int.is_empty() || int.len() > 10 || (dot.is_some() && !(1..=2).contains(&frac.len())) {
        return None;
    }
    let n = digits(int)?;
    let h = digits(frac)? * if frac.len() == 1 { 10 } else { 1 };
    (n < 1 << 32).then_some((n, h))
}

/// The key a value is found under: numbers by value (so `01` and `1` are one
/// symbol, the first text loaded winning, as in Qlik), text by text.
#[derive(Clone, Copy)]
enum Key<'a> {
    Num(u64),
    Text(&'a str),
}

impl Key<'_> {
    fn of(value: &Value) -> Option<Key<'_>> {
        match value {
            Value::Null => None,
            Value::Num(n) | Value::Dual(n, _) => Some(Key::Num(num_bits(*n))),
            Value::Text(t) => Some(Key::Text(t)),
        }
    }

    fn hash(self) -> u64 {
        // A fixed seed: the tables are private to one run and the ids do
        // not depend on the hash, only lookups do.
        const STATE: foldhash::fast::FixedState = foldhash::fast::FixedState::with_seed(0x5ec);
        match self {
            Key::Num(bits) => STATE.hash_one(bits),
            Key::Text(t) => STATE.hash_one(t),
        }
    }

    fn is(self, value: &Value) -> bool {
        match (self, value) {
            (Key::Num(bits), Value::Num(n) | Value::Dual(n, _)) => num_bits(*n) == bits,
            (Key::Text(t), Value::Text(s)) => t == &**s,
            _ => false,
        }
    }
}

impl Symbols {
    fn find(&self, key: Key<'_>) -> Option<SymbolId> {
        match (&self.store, key) {
            (Store::Run { first, len }, Key::Num(bits)) => {
                let n = run_int(f64::from_bits(bits))?;
                let id = u32::try_from(n.checked_sub(*first)?).ok()?;
                // INVARIANT: id < len <= MAX_SYMBOLS: an id, not NULL.
                (id < *len).then_some(SymbolId::from_raw(id))
            }
            (Store::Run { .. } | Store::Nums(_), Key::Text(_))
            | (Store::Texts { .. }, Key::Num(_)) => None,
            (_, Key::Num(bits)) => {
                if let Some((t, slot)) = direct_slot(bits)
                    && let Some(&id) = self.direct.get(t).and_then(|d| d.get(slot))
                {
                    return (!id.is_null()).then_some(id);
                }
                self.nums
                    .find(key.hash(), |&(b, _)| b == bits)
                    .map(|&(_, id)| id)
            }
            (Store::Values(values), Key::Text(_)) => {
                let tag = tag(key.hash());
                self.index
                    .find(spread(tag), |&(id, t)| {
                        t == tag && values.get(id.index()).is_some_and(|v| key.is(v))
                    })
                    .map(|&(id, _)| id)
            }
            (Store::Texts { bytes, ends }, Key::Text(text)) => {
                let tag = tag(key.hash());
                self.index
                    .find(spread(tag), |&(id, t)| {
                        t == tag && text_at(bytes, ends, id) == Some(text)
                    })
                    .map(|&(id, _)| id)
            }
        }
    }

    /// The id the next new value gets; `None`, and the table marked full,
    /// when every id is taken.
    fn next_id(&mut self) -> Option<SymbolId> {
        let id = SymbolId::from_index(self.len());
        self.full |= id.is_none();
        id
    }

    /// The integers `first, first + 1, …` (`len` of them) as a new symbol
    /// table, id `i` holding `first + i`: what interning them in that
    /// order makes, without a lookup each. `None` when they are not all
    /// exact in an f64 or are more than a field can hold.
    pub(crate) fn run(first: i64, len: usize) -> Option<Self> {
        let last = first.checked_add(i64::try_from(len).ok()?)?;
        let exact = |n: i64| (n as f64).abs() < RUN_LIMIT;
        let len = u32::try_from(len).ok().filter(|&l| l < u32::MAX)?;
        (exact(first) && exact(last)).then(|| Self {
            store: Store::Run { first, len },
            ..Self::default()
        })
    }

    /// The texts `bytes` holds end to end (text `i` ending at `ends[i]`),
    /// text `i` as id `i`: what interning them in that order makes, with
    /// the index built in one pass (hashed side by side, inserted in the
    /// order of their buckets, so the table is written front to back).
    /// `None` when two texts are equal, or the texts are not what a text
    /// store holds (ends not ascending, or not on character boundaries).
    pub(crate) fn from_distinct_texts(bytes: String, ends: Vec<u32>) -> Option<Self> {
        use rayon::prelude::*;
        let n = ends.len();
        let text = |i: usize| -> Option<&str> {
            let end = *ends.get(i)? as usize;
            let start = match i.checked_sub(1) {
                Some(p) => *ends.get(p)? as usize,
                None => 0,
            };
            bytes.get(start..end)
        };
        let tagged = |i: usize| -> Option<(u32, u32)> {
            Some((tag(Key::Text(text(i)?).hash()), u32::try_from(i).ok()?))
        };
        let mut tags: Vec<(u32, u32)> = if n >= 1 << 16 {
            (0..n).into_par_iter().map(tagged).collect::<Option<_>>()?
        } else {
            (0..n).map(tagged).collect::<Option<_>>()?
        };
        // Every position is an id.
        SymbolId::from_index(n.saturating_sub(1))?;
        // The buckets a table of `n` entries has (hashbrown's: 8/7 of
        // them, to a power of two): inserting by bucket writes the table
        // in order. Only speed depends on it.
        let buckets = (n.max(8) * 8 / 7).next_power_of_two() as u64;
        // By bucket, then tag: one integer to compare. The order among
        // equal tags (equal hashes) changes only where they sit in the
        // index, never an id or a lookup.
        let key = |&(t, _): &(u32, u32)| ((spread(t) & (buckets - 1)) << 32) | u64::from(t);
        if n >= 1 << 16 {
            tags.par_sort_unstable_by_key(key);
        } else {
            tags.sort_unstable_by_key(key);
        }
        // Equal texts have equal tags, side by side now.
        for pair in tags.windows(2) {
            if let [(a, i), (b, j)] = pair
                && a == b
                && text(*i as usize) == text(*j as usize)
            {
                return None;
            }
        }
        let mut index = HashTable::with_capacity(n);
        for &(t, i) in &tags {
            // INVARIANT: i < n, checked to be an id above.
            index.insert_unique(spread(t), (SymbolId::from_raw(i), t), |&(_, t)| spread(t));
        }
        Some(Self {
            store: Store::Texts { bytes, ends },
            index,
            ..Self::default()
        })
    }

    /// A symbol table whose every id is taken: the next new value finds
    /// it full (4 billion values cannot be loaded in a test).
    #[cfg(test)]
    pub(crate) fn with_every_id_taken() -> Self {
        Self {
            store: Store::Run {
                first: 0,
                len: u32::MAX,
            },
            ..Self::default()
        }
    }

    /// True when a text of more than 15 digits was read as a number since
    /// the last call (an f64 keeps 15 of them, and what Qlik keeps is not
    /// verified); the flag is cleared, so that the symbols committed to a
    /// model, and later copies of them, do not report it again.
    pub fn take_long_numbers(&mut self) -> bool {
        std::mem::take(&mut self.long_numbers)
    }

    /// True when a value could not be added because every id was taken
    /// (see [`MAX_SYMBOLS`](super::MAX_SYMBOLS)).
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// Adds a value not yet present under `key`; [`SymbolId::NULL`] (and
    /// the table marked full) when every id is taken.
    fn push(&mut self, key: Key<'_>, value: Value) -> SymbolId {
        let Some(id) = self.next_id() else {
            return SymbolId::NULL;
        };
        if let Store::Run { first, len } = &mut self.store {
            let next = match &value {
                Value::Num(n) => run_int(*n),
                _ => None,
            };
            match next {
                Some(n) if *len == 0 => {
                    *first = n;
                    *len = 1;
                    return id;
                }
                Some(n) if first.checked_add(i64::from(*len)) == Some(n) => {
                    *len += 1;
                    return id;
                }
                _ => self.leave_run(),
            }
        }
        // A first text starts a text store.
        if let (Store::Nums(nums), Value::Text(_)) = (&self.store, &value)
            && nums.is_empty()
        {
            self.store = Store::Texts {
                bytes: String::new(),
                ends: Vec::new(),
            };
        }
        // Where a text would end in a text store, when its end fits.
        let text_end = match (&self.store, &value) {
            (Store::Texts { bytes, .. }, Value::Text(t)) => {
                u32::try_from(bytes.len() + t.len()).ok()
            }
            _ => None,
        };
        match (&mut self.store, value, text_end) {
            (Store::Nums(nums), Value::Num(n), _) => nums.push(n),
            (Store::Texts { bytes, ends }, Value::Text(t), Some(end)) => {
                bytes.push_str(&t);
                ends.push(end);
            }
            (Store::Values(values), value, _) => values.push(value),
            (store, value, _) => {
                let mut values: Vec<Value> = match store {
                    Store::Nums(nums) => nums.iter().map(|&n| Value::Num(n)).collect(),
                    Store::Texts { bytes, ends } => {
                        let mut start = 0;
                        ends.iter()
                            .map(|&end| {
                                let end = end as usize;
                                // INVARIANT: `ends` ascends, each end on a
                                // char boundary of `bytes`.
                                let t = &bytes[start..end];
                                start = end;
                                Value::Text(Arc::from(t))
                            })
                            .collect()
                    }
                    _ => Vec::new(),
                };
                values.push(value);
                *store = Store::Values(values);
            }
        }
        self.index_new(key, id);
        id
    }

    /// Turns a run into stored numbers, indexed.
    fn leave_run(&mut self) {
        let Store::Run { first, len } = self.store else {
            return;
        };
        let nums: Vec<f64> = (0..i64::from(len)).map(|i| (first + i) as f64).collect();
        let ids = self.ids();
        self.store = Store::Nums(Vec::with_capacity(nums.len()));
        for (id, n) in ids.zip(nums) {
            if let Store::Nums(v) = &mut self.store {
                v.push(n);
            }
            self.index_new(Key::Num(num_bits(n)), id);
        }
    }

    /// Indexes the value just stored under `id`.
    fn index_new(&mut self, key: Key<'_>, id: SymbolId) {
        let hash = key.hash();
        if let Key::Num(bits) = key {
            if let Some((t, slot)) = direct_slot(bits) {
                // Grow a direct table while it stays at least about half
                // full, so a column of a few huge numbers does not take
                // memory in proportion to their size.
                let limit = 2 * self.len() + 1024;
                let have = self.direct.get(t).map_or(0, Vec::len);
                if slot >= have && slot < limit {
                    // By half again at least: growing moves the numbers it
                    // covers out of the hash index, which must not happen
                    // once per value (numbers met out of order, a million
                    // customer ids in a table of sales).
                    let to = (2 * have).clamp(slot + 1, limit);
                    if to >= have + have / 2 {
                        self.grow_direct(t, to);
                    }
                }
                if let Some(d) = self.direct.get_mut(t).and_then(|d| d.get_mut(slot)) {
                    *d = id;
                    return;
                }
            }
            self.nums
                .insert_unique(hash, (bits, id), |&(b, _)| Key::Num(b).hash());
            return;
        }
        let tag = tag(hash);
        self.index
            .insert_unique(spread(tag), (id, tag), |&(_, t)| spread(t));
    }

    /// Extends direct table `t` to `len` slots, moving the numbers it now
    /// covers out of the hash index.
    fn grow_direct(&mut self, t: usize, len: usize) {
        let Self { nums, direct, .. } = self;
        let Some(table) = direct.get_mut(t) else {
            return;
        };
        table.resize(len, SymbolId::NULL);
        nums.retain(|&mut (bits, id)| match direct_slot(bits) {
            Some((u, s)) if u == t => match table.get_mut(s) {
                Some(d) => {
                    *d = id;
                    false
                }
                None => true,
            },
            _ => true,
        });
    }

    /// True when some value's text has a lower-case letter: one pass over
    /// the bytes of a text store (a million user ids), not a call per text.
    pub fn has_lower_case(&self) -> bool {
        match &self.store {
            // The texts end to end: a letter is within one of them.
            Store::Texts { bytes, .. } => crate::names::has_lower_case(bytes),
            _ => self
                .texts()
                .any(|(_, text)| crate::names::has_lower_case(&text)),
        }
    }

    /// Room for about `additional` more texts, so that a store filled
    /// with many distinct texts grows its index once. Other stores
    /// (numbers, which may go to the direct tables) are left as they are.
    pub fn reserve(&mut self, additional: usize) {
        if let Store::Texts { bytes, ends } = &mut self.store {
            let average = bytes.len() / ends.len().max(1);
            bytes.reserve(additional.saturating_mul(average));
            ends.reserve(additional);
            self.index.reserve(additional, |&(_, t)| spread(t));
        }
    }

    /// The id of `value`, adding it if new; [`SymbolId::NULL`] for NULL.
    pub fn intern(&mut self, value: Value) -> SymbolId {
        let Some(key) = Key::of(&value) else {
            return SymbolId::NULL;
        };
        if let Some(id) = self.find(key) {
            return id;
        }
        let key = match key {
            Key::Num(bits) => Key::Num(bits),
            // The key borrows the value, which moves into the table: hash
            // an owned handle of the same text.
            Key::Text(_) => {
                let Value::Text(t) = &value else {
                    return SymbolId::NULL;
                };
                let t = Arc::clone(t);
                return self.push(Key::Text(&t), value);
            }
        };
        self.push(key, value)
    }

    /// `intern(Value::from_text(text))`, allocating only for a new value.
    /// A number whose text is the one Qlik shows for it anyway is kept as
    /// a plain number (same text, same comparisons; no text stored).
    pub fn intern_text(&mut self, text: &str) -> SymbolId {
        let Some(n) = parse_number(text) else {
            return self.intern_pure_text(text);
        };
        if text.len() > 15 && text.bytes().filter(u8::is_ascii_digit).count() > 15 {
            self.long_numbers = true;
        }
        let key = Key::Num(num_bits(n));
        if let Some(id) = self.find(key) {
            return id;
        }
        let value = if shows_as(n, text) {
            Value::Num(n)
        } else {
            Value::Dual(n, Arc::from(text))
        };
        self.push(key, value)
    }

    /// The id of `text` as a pure text ([`Value::Text`]), added if new. In
    /// a text store it is hashed once (a million new user ids: hashing
    /// twice, to find and then to index, was a tenth of loading them).
    pub(crate) fn intern_pure_text(&mut self, text: &str) -> SymbolId {
        let key = Key::Text(text);
        if let Store::Texts { bytes, ends } = &mut self.store
            && let Ok(end) = u32::try_from(bytes.len() + text.len())
        {
            let tag = tag(key.hash());
            let same =
                |&(id, t): &(SymbolId, u32)| t == tag && text_at(bytes, ends, id) == Some(text);
            if let Some(&(id, _)) = self.index.find(spread(tag), same) {
                return id;
            }
            let Some(id) = SymbolId::from_index(ends.len()) else {
                self.full = true;
                return SymbolId::NULL;
            };
            bytes.push_str(text);
            ends.push(end);
            self.index
                .insert_unique(spread(tag), (id, tag), |&(_, t)| spread(t));
            return id;
        }
        match self.find(key) {
            Some(id) => id,
            None => self.push(key, Value::Text(Arc::from(text))),
        }
    }

    /// The id here of value `id` of `other`, added if new: what
    /// `self.intern(other.get(id))` gives, without making a value for a
    /// text (joining the halves of a file, committing a frame's columns:
    /// a million names each).
    pub fn intern_from(&mut self, other: &Symbols, id: SymbolId) -> SymbolId {
        match &other.store {
            Store::Texts { bytes, ends } => match text_at(bytes, ends, id) {
                Some(text) => self.intern_pure_text(text),
                None => SymbolId::NULL,
            },
            _ => other.get(id).map_or(SymbolId::NULL, |v| self.intern(v)),
        }
    }

    /// The id of the number `bytes` writes plainly (digits, then at most
    /// two decimals: `42`, `007`, `698.57`), when the field has it and it
    /// is found by arithmetic (a run, a direct table); `None` says nothing,
    /// [`Symbols::intern_text`] decides then. What loaders try first on
    /// each cell: keys, quantities and amounts need no float parsing and
    /// no UTF-8 check.
    pub fn find_plain(&self, bytes: &[u8]) -> Option<SymbolId> {
        match &self.store {
            // Text fields (names, dates, ids) hold no numbers: their cells
            // are not scanned.
            Store::Texts { .. } => None,
            Store::Run { first, len } => {
                let (int, hundredths) = plain_decimal(bytes)?;
                let id = u32::try_from(i64::try_from(int).ok()?.checked_sub(*first)?).ok()?;
                // INVARIANT: id < len <= MAX_SYMBOLS: an id, not NULL.
                (hundredths == 0 && id < *len).then_some(SymbolId::from_raw(id))
            }
            Store::Nums(_) | Store::Values(_) => {
                let (int, hundredths) = plain_decimal(bytes)?;
                let (t, slot) = match hundredths {
                    0 => (0, int),
                    h => (1, int * 100 + h),
                };
                let id = *self.direct.get(t)?.get(usize::try_from(slot).ok()?)?;
                (!id.is_null()).then_some(id)
            }
        }
    }

    /// The id of `value` if the field has it.
    pub fn lookup(&self, value: &Value) -> Option<SymbolId> {
        self.find(Key::of(value)?)
    }

    /// The id of the text `text` if the field holds it as a text (not as
    /// a number): a few special texts looked up in a million.
    pub fn find_text(&self, text: &str) -> Option<SymbolId> {
        self.find(Key::Text(text))
    }

    /// The value behind an id (`None` for [`SymbolId::NULL`] or an unknown
    /// id).
    pub fn get(&self, id: SymbolId) -> Option<Value> {
        match &self.store {
            Store::Run { first, len } => {
                (id.as_u32() < *len).then(|| Value::Num((first + i64::from(id.as_u32())) as f64))
            }
            Store::Nums(nums) => nums.get(id.index()).map(|&n| Value::Num(n)),
            Store::Texts { bytes, ends } => text_at(bytes, ends, id).map(Value::text_only),
            Store::Values(values) => values.get(id.index()).cloned(),
        }
    }

    /// The text of the value behind an id (a number's in Qlik's default
    /// format when it has none of its own), borrowed where stored:
    /// `get(id)?.text()` without making a value.
    pub fn text(&self, id: SymbolId) -> Option<Cow<'_, str>> {
        match &self.store {
            Store::Texts { bytes, ends } => text_at(bytes, ends, id).map(Cow::Borrowed),
            Store::Values(values) => values.get(id.index()).map(Value::text),
            Store::Run { .. } | Store::Nums(_) => {
                self.get(id).map(|v| Cow::Owned(v.text().into_owned()))
            }
        }
    }

    /// Appends the values of `other` when they continue this run (a
    /// sequential key read in two halves); returns the position `other`'s
    /// first value gets, every other id of `other` shifting by as much
    /// (see [`Symbols::shifted`]).
    pub fn extend_run(&mut self, other: &Symbols) -> Option<u32> {
        let (Store::Run { first, len }, Store::Run { first: f2, len: l2 }) =
            (&mut self.store, &other.store)
        else {
            return None;
        };
        if *len == 0 {
            *first = *f2;
        } else if first.checked_add(i64::from(*len)) != Some(*f2) {
            return None;
        }
        let at = *len;
        *len = len.checked_add(*l2)?;
        Some(at)
    }

    /// True when every value is a text that is not a number: no two
    /// values then have the same text (texts are interned by text).
    pub fn holds_only_text(&self) -> bool {
        matches!(self.store, Store::Texts { .. }) || self.is_empty()
    }

    /// True when every value is a text of graphic ASCII (no white space,
    /// no control character) without lower-case letters: each is then its
    /// own trimmed, upper-cased form (a column of user ids, checked in one
    /// pass over the texts end to end, not text by text).
    pub fn texts_are_plain_upper(&self) -> bool {
        match &self.store {
            // Graphic ASCII only: `trim` also takes the vertical tab, which
            // `is_ascii_whitespace` does not count.
            Store::Texts { bytes, .. } => !crate::names::any_byte(bytes.as_bytes(), |b| {
                !b.is_ascii_graphic() | b.is_ascii_lowercase()
            }),
            _ => false,
        }
    }

    /// True when the values are a run of consecutive integers in load
    /// order (stored as the first alone: cloning is free).
    pub fn is_run(&self) -> bool {
        matches!(self.store, Store::Run { .. })
    }

    /// How many distinct values the field has ever held.
    pub fn len(&self) -> usize {
        match &self.store {
            Store::Run { len, .. } => *len as usize,
            Store::Nums(nums) => nums.len(),
            Store::Texts { ends, .. } => ends.len(),
            Store::Values(values) => values.len(),
        }
    }

    /// True when the field holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every id, in load order.
    pub fn ids(&self) -> impl Iterator<Item = SymbolId> + use<> {
        // INVARIANT: at most MAX_SYMBOLS values, each id below u32::MAX,
        // the range's end (NULL).
        (0..u32::MAX).take(self.len()).map(SymbolId::from_raw)
    }

    /// Id `id` of the symbols another table appended to this run with
    /// [`Symbols::extend_run`] (which gave `shift`); `None` past this
    /// table's ids, NULL staying NULL.
    #[inline]
    pub fn shifted(&self, id: SymbolId, shift: u32) -> Option<SymbolId> {
        if id.is_null() {
            return Some(SymbolId::NULL);
        }
        let Store::Run { len, .. } = self.store else {
            return None;
        };
        let raw = id.as_u32().checked_add(shift)?;
        // INVARIANT: raw < len <= MAX_SYMBOLS: an id, not NULL.
        (raw < len).then_some(SymbolId::from_raw(raw))
    }

    /// Every value with its id, in load order.
    pub fn iter(&self) -> impl Iterator<Item = (SymbolId, Value)> + '_ {
        self.ids().filter_map(|id| Some((id, self.get(id)?)))
    }

    /// Every value's text with its id, in load order, borrowed where
    /// stored: what [`Symbols::iter`] gives when only the text is wanted,
    /// without a value made per text (classifying a million user ids).
    pub fn texts(&self) -> impl Iterator<Item = (SymbolId, Cow<'_, str>)> + '_ {
        self.ids().filter_map(|id| Some((id, self.text(id)?)))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn distinct_texts_in_one_pass_are_what_interning_them_makes() {
        for n in [1usize, 7, 5000, 70_000] {
            let texts: Vec<String> = (0..n).map(|i| format!("name-{i}-é")).collect();
            let mut bytes = String::new();
            let mut ends = Vec::new();
            let mut one_by_one = Symbols::default();
            for t in &texts {
                bytes.push_str(t);
                ends.push(bytes.len() as u32);
                one_by_one.intern_pure_text(t);
            }
            let bulk = Symbols::from_distinct_texts(bytes, ends).unwrap();
            assert_eq!(bulk.len(), one_by_one.len());
            for (i, t) in texts.iter().enumerate() {
                let id = bulk.find_text(t).unwrap();
                assert_eq!(id.index(), i);
                assert_eq!(Some(id), one_by_one.find_text(t));
                assert_eq!(bulk.get(id).unwrap().text(), t.as_str());
            }
            assert_eq!(bulk.find_text("name-x"), None);
            // Interning more after the bulk build goes on from there.
            let mut more = bulk.clone();
            assert_eq!(more.intern_pure_text("new").index(), n);
            assert_eq!(more.intern_pure_text(&texts[0]).index(), 0);
        }
        // Two equal texts, or ends out of order: not a table of distinct texts.
        assert!(Symbols::from_distinct_texts("abab".into(), vec![2, 4]).is_none());
        assert!(Symbols::from_distinct_texts("abc".into(), vec![2, 1]).is_none());
        assert!(Symbols::from_distinct_texts("é".into(), vec![1]).is_none());
    }

    use super::*;

    #[test]
    fn a_long_number_is_reported_once_and_not_by_copies() {
        let mut s = Symbols::default();
        s.intern_text("42");
        assert!(!s.take_long_numbers());
        s.intern_text("4111111111111111");
        let copy = s.clone();
        assert!(s.take_long_numbers());
        assert!(!s.take_long_numbers(), "taken");
        let mut later = s.clone();
        later.intern_text("43");
        assert!(!later.take_long_numbers(), "a copy made after it was taken");
        let mut before = copy;
        assert!(
            before.take_long_numbers(),
            "a copy made before still has it"
        );
    }

    #[test]
    fn lower_case_is_found_in_any_store() {
        let store = |texts: &[&str]| {
            let mut s = Symbols::default();
            for t in texts {
                s.intern_text(t);
            }
            s
        };
        // Texts end to end, a letter in the middle or last.
        assert!(!store(&["ANN", "BOB-1", "É"]).has_lower_case());
        assert!(store(&["ANN", "BoB", "CY"]).has_lower_case());
        assert!(store(&["ANN", "CY", "é"]).has_lower_case());
        // Numbers with texts: a store of values.
        assert!(!store(&["1", "ANN", "01"]).has_lower_case());
        assert!(store(&["1", "ann"]).has_lower_case());
        assert!(!store(&["1", "2"]).has_lower_case());
        // Past the first blocks of the texts end to end.
        let mut ids: Vec<String> = (0..100).map(|i| format!("USER{i}")).collect();
        assert!(!store(&ids.iter().map(String::as_str).collect::<Vec<_>>()).has_lower_case());
        ids.push(String::from("USEr"));
        assert!(store(&ids.iter().map(String::as_str).collect::<Vec<_>>()).has_lower_case());
    }

    #[test]
    fn plain_upper_texts_are_their_own_normal_form() {
        let store = |texts: &[String]| {
            let mut s = Symbols::default();
            for t in texts {
                s.intern_text(t);
            }
            s
        };
        let ids: Vec<String> = (0..100).map(|i| format!("DOM\\USER{i}")).collect();
        assert!(store(&ids).texts_are_plain_upper());
        for odd in ["USEr", " USER", "USER ", "A B", "A\tB", "\u{b}", "É", ""] {
            let mut texts = ids.clone();
            texts.push(String::from(odd));
            let plain = odd.is_empty();
            assert_eq!(store(&texts).texts_are_plain_upper(), plain, "{odd:?}");
        }
        // Numbers are not texts of a text store.
        assert!(!store(&[String::from("1"), String::from("A")]).texts_are_plain_upper());
    }

    #[test]
    fn numbers_shown_as_written_need_no_text() {
        for (t, plain) in [
            ("7", true),
            ("0", true),
            ("-12", true),
            ("007", false),
            ("-0", false),
            ("+7", false),
            ("1.5", true),
            ("1.50", false),
            ("1e3", false),
        ] {
            let n = parse_number(t).unwrap_or(f64::NAN);
            assert_eq!(shows_as(n, t), plain, "{t}");
            assert_eq!(shows_as(n, t), format_number(n) == t, "{t}");
        }
        let mut s = Symbols::default();
        let ids: Vec<usize> = ["5", "3000", "05", "-1", "2.5", "x", "99999999999"]
            .iter()
            .map(|t| s.intern_text(t).index())
            .collect();
        assert_eq!(ids, [0, 1, 0, 2, 3, 4, 5]);
        assert_eq!(s.lookup(&Value::Num(3000.0)).map(SymbolId::index), Some(1));
        assert_eq!(
            s.lookup(&Value::from_text("5.0")).map(SymbolId::index),
            Some(0)
        );
        assert_eq!(s.intern(Value::text_only("x")).index(), 4);
        assert_eq!(
            s.get(SymbolId::from_index(0).unwrap())
                .map(|v| v.text().into_owned()),
            Some("5".into())
        );
        // Growing the direct table keeps earlier numbers findable.
        for i in 0..5000 {
            s.intern(Value::Num(f64::from(i)));
        }
        assert_eq!(s.lookup(&Value::Num(3000.0)).map(SymbolId::index), Some(1));
        assert_eq!(s.lookup(&Value::Num(-1.0)).map(SymbolId::index), Some(2));
        assert_eq!(
            s.lookup(&Value::Num(99999999999.0)).map(SymbolId::index),
            Some(5)
        );
        assert_eq!(s.len(), 6 + 5000 - 2);
    }

    #[test]
    fn a_run_continued_by_another_shifts_its_ids_checked() {
        let run = |from: i32, n: i32| {
            let mut s = Symbols::default();
            for i in from..from + n {
                s.intern(Value::Num(f64::from(i)));
            }
            s
        };
        let (mut first, second) = (run(10, 3), run(13, 2));
        let shift = first.extend_run(&second);
        assert_eq!(shift, Some(3));
        let shift = shift.unwrap_or(0);
        let ids: Vec<Option<usize>> = second
            .ids()
            .chain([SymbolId::NULL])
            .map(|id| first.shifted(id, shift).map(|s| s.index()))
            .collect();
        assert_eq!(
            ids,
            [Some(3), Some(4), Some(u32::MAX as usize)],
            "NULL stays NULL"
        );
        let last = first.get(SymbolId::from_index(4).unwrap());
        assert_eq!(last.and_then(|v| v.num()), Some(14.0));
        // Past the run, or not a run: no id.
        assert_eq!(first.shifted(SymbolId::from_index(2).unwrap(), shift), None);
        let mut texts = Symbols::default();
        texts.intern_text("a");
        assert_eq!(texts.shifted(SymbolId::from_index(0).unwrap(), 0), None);
        assert_eq!(run(0, 3).extend_run(&run(4, 1)), None, "a gap ends the run");
    }

    #[test]
    fn plain_decimals_are_found_by_arithmetic() {
        // A run of keys.
        let mut keys = Symbols::default();
        for k in ["10", "11", "12"] {
            keys.intern_text(k);
        }
        assert_eq!(keys.find_plain(b"11").map(SymbolId::index), Some(1));
        assert_eq!(
            keys.find_plain(b"011").map(SymbolId::index),
            Some(1),
            "by number, as intern_text"
        );
        assert_eq!(keys.find_plain(b"11.00").map(SymbolId::index), Some(1));
        assert_eq!(keys.find_plain(b"9").map(SymbolId::index), None);
        assert_eq!(keys.find_plain(b"11.5").map(SymbolId::index), None);
        // Amounts in the direct tables, by integer and by hundredths.
        let mut amounts = Symbols::default();
        for a in ["781", "6.57", "3.5", "0.05", "698.57"] {
            amounts.intern_text(a);
        }
        for (text, id) in [
            ("781.00", Some(0)),
            ("781", Some(0)),
            ("6.57", Some(1)),
            ("3.50", Some(2)),
            ("3.5", Some(2)),
            ("0.05", Some(3)),
            ("6.5", None),
            // Beyond the hundredths table's reach (kept about half full):
            // in the hash index, found by intern_text only.
            ("698.57", None),
        ] {
            assert_eq!(
                amounts.find_plain(text.as_bytes()).map(SymbolId::index),
                id,
                "{text}"
            );
        }
        assert_eq!(amounts.intern_text("698.57").index(), 4);
        // Not plain: left to intern_text.
        for text in [
            "",
            ".5",
            "1.",
            "1.234",
            "-1",
            "+1",
            "1e3",
            " 1",
            "1,5",
            "4294967296",
            "12345678901",
        ] {
            assert_eq!(amounts.find_plain(text.as_bytes()), None, "{text:?}");
        }
        // Text fields hold no numbers to find.
        let mut names = Symbols::default();
        names.intern_text("a");
        assert_eq!(names.find_plain(b"1"), None);
    }
}
