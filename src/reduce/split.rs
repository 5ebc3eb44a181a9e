//! Row counts of single-field selections from per-value parts (audit).
//!
//! Re-running the reducer for each of an audit's distinct grants costs the
//! rows of the model every time. When the links form a forest and the
//! selection is on one field, the reduction is *union-decomposable*: the
//! rows left for values `S` are the union over `v ∈ S` of the rows left for
//! `{v}`. Proof sketch: in a forest, two tables holding the field are
//! linked through a link containing it (they share it), so for any other
//! link at most one member has a holder on its side; every table is then
//! constrained by exactly one neighbour, the one towards the holders, and a
//! row survives iff its key is carried by a surviving row of that
//! neighbour — a union over values all the way out. Tables the holders do
//! not reach keep every row.
//!
//! [`PerValue`] labels every row once with the set of values that keep it
//! and answers "how many rows does `S` leave" with per-value counts for
//! rows kept by one value only, and an OR of per-value bitsets over the
//! rows kept by several (products sold in many countries).

use crate::model::{BitSet, FieldId, Model, SymbolId};

use super::Links;

/// The largest per-value bitset storage [`Links::per_value`] builds before
/// declining (the caller then reduces each selection in full).
const BUDGET_BYTES: usize = 512 << 20;

/// Tables from this many rows are labelled in pieces side by side.
const PIECE_ROWS: usize = 1 << 20;

/// Per table, how a single-field selection's row count is made.
#[derive(Clone, Debug)]
enum TableCount {
    /// Not reached from the holders: every row stays.
    All(usize),
    /// Rows kept by exactly one value, counted per value; rows kept by
    /// several values, as one bitset per value over those rows.
    Labelled {
        single: Vec<usize>,
        multi: Vec<BitSet>,
        multi_rows: usize,
    },
}

/// Row counts for any selection of values of one field (see the module
/// documentation for when this is exact).
#[derive(Clone, Debug)]
pub struct PerValue {
    field: FieldId,
    values: usize,
    tables: Vec<TableCount>,
}

/// The values keeping each row of a table: its own value of the field, or
/// the label of its key in the link it is constrained through.
enum Labels<'a> {
    Holder(&'a [SymbolId]),
    /// Per row the key, per key at most one value ([`SymbolId::NULL`]:
    /// none) — the
    /// common case of a key whose rows all carry the same value (sales of
    /// a customer, who has one country): no bitset per row.
    ViaOne {
        keys: &'a [SymbolId],
        of_key: Vec<SymbolId>,
    },
    /// Per row the key, per key `words` words of value bits.
    Via {
        keys: &'a [SymbolId],
        words: usize,
        matrix: Vec<u64>,
    },
}

/// The label of row `r` in a key-by-value matrix of `words` words per key
/// (empty for a NULL or missing key).
fn matrix_row<'m>(keys: &[SymbolId], words: usize, matrix: &'m [u64], r: usize) -> &'m [u64] {
    match keys.get(r) {
        Some(&k) if !k.is_null() => {
            let start = k.index() * words;
            matrix.get(start..start + words).unwrap_or_default()
        }
        _ => &[],
    }
}

impl Labels<'_> {
    /// Rows are kept by at most one value each.
    fn is_single(&self) -> bool {
        !matches!(self, Labels::Via { .. })
    }

    /// The value keeping row `r`, for single-valued labels.
    fn only(&self, r: usize) -> Option<SymbolId> {
        match self {
            Labels::Holder(col) => col.get(r).copied().filter(|id| !id.is_null()),
            Labels::ViaOne { keys, of_key } => {
                let k = *keys.get(r)?;
                let v = *of_key.get(k.index())?;
                (!v.is_null()).then_some(v)
            }
            Labels::Via { .. } => None,
        }
    }

    /// Calls `f` with the value ids keeping row `r`.
    fn for_each(&self, r: usize, mut f: impl FnMut(usize)) {
        match self {
            Labels::Holder(_) | Labels::ViaOne { .. } => {
                if let Some(v) = self.only(r) {
                    f(v.index());
                }
            }
            Labels::Via {
                keys,
                words,
                matrix,
            } => {
                for (wi, &w) in matrix_row(keys, *words, matrix, r).iter().enumerate() {
                    let mut w = w;
                    while w != 0 {
                        f(wi * 64 + w.trailing_zeros() as usize);
                        w &= w - 1;
                    }
                }
            }
        }
    }

    /// ORs the label of row `r` into `out` (`words` words).
    fn or_into(&self, r: usize, out: &mut [u64]) {
        match self {
            Labels::Holder(_) | Labels::ViaOne { .. } => {
                if let Some(id) = self.only(r).map(SymbolId::index)
                    && let Some(w) = out.get_mut(id / 64)
                {
                    *w |= 1 << (id % 64);
                }
            }
            Labels::Via {
                keys,
                words,
                matrix,
            } => {
                for (o, &w) in out.iter_mut().zip(matrix_row(keys, *words, matrix, r)) {
                    *o |= w;
                }
            }
        }
    }
}

impl Links {
    /// Per-value counts for selections on `field` alone, or `None` when they
    /// would not be exact (the links form a loop, no table holds the field)
    /// or would take too much memory.
    pub fn per_value(&self, model: &Model, field: FieldId) -> Option<PerValue> {
        self.per_value_in(model, field, PIECE_ROWS)
    }

    /// [`Links::per_value`], tables labelled in pieces from `piece_rows`
    /// rows ([`PIECE_ROWS`] but in tests).
    fn per_value_in(&self, model: &Model, field: FieldId, piece_rows: usize) -> Option<PerValue> {
        if self.cyclic {
            return None;
        }
        let tables = model.tables();
        let values = model.symbols(field).map_or(0, |s| s.len());
        let words = values.div_ceil(64);
        let mut labels: Vec<Option<Labels<'_>>> = tables
            .iter()
            .map(|t| t.column(field).map(Labels::Holder))
            .collect();
        if labels.iter().all(Option::is_none) {
            return None;
        }
        let mut budget = BUDGET_BYTES;
        // Breadth first from the holders, through links not over the field
        // (every member of such a link holds the field itself).
        let mut queue: Vec<usize> = (0..tables.len())
            .filter(|&t| labels.get(t).is_some_and(Option::is_some))
            .collect();
        let mut next = 0;
        while let Some(&from) = queue.get(next) {
            next += 1;
            for hub in self.hubs.iter().filter(|h| !h.fields.contains(&field)) {
                let Some(up) = hub.members.iter().find(|m| m.table == from) else {
                    continue;
                };
                let todo: Vec<usize> = hub
                    .members
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| labels.get(m.table).is_some_and(Option::is_none))
                    .map(|(i, _)| i)
                    .collect();
                if todo.is_empty() {
                    continue;
                }
                // Each key's value, when no key has two.
                let one = match labels.get(from) {
                    Some(Some(l)) if l.is_single() => {
                        budget = budget.checked_sub(hub.keys.checked_mul(4)?)?;
                        let mut of_key = vec![SymbolId::NULL; hub.keys];
                        let mut clash = false;
                        for (r, &k) in up.keys(model).iter().enumerate() {
                            let (Some(v), Some(slot)) = (l.only(r), of_key.get_mut(k.index()))
                            else {
                                continue;
                            };
                            if slot.is_null() {
                                *slot = v;
                            } else if *slot != v {
                                clash = true;
                                break;
                            }
                        }
                        (!clash).then_some(of_key)
                    }
                    _ => None,
                };
                if let Some(of_key) = one {
                    for i in todo {
                        let Some(m) = hub.members.get(i) else {
                            continue;
                        };
                        if let Some(slot) = labels.get_mut(m.table) {
                            *slot = Some(Labels::ViaOne {
                                keys: m.keys(model),
                                of_key: of_key.clone(),
                            });
                            queue.push(m.table);
                        }
                    }
                    continue;
                }
                let size = hub.keys.checked_mul(words)?;
                budget = budget.checked_sub(size.checked_mul(8)?)?;
                let keys = up.keys(model);
                let matrix = match labels.get(from) {
                    Some(Some(l)) => {
                        // Pieces each fill a matrix of their own: a piece is
                        // cut in two only when each half has at least as
                        // many rows as the matrix has words.
                        let min = piece_rows.max(size.saturating_mul(2));
                        let fill = |rows: std::ops::Range<usize>| {
                            let mut matrix = vec![0u64; size];
                            // Pieces are ranges of the table's rows, and
                            // the key column holds one id per row.
                            let first_row = rows.start;
                            #[expect(
                                clippy::indexing_slicing,
                                reason = "INVARIANT: rows is a range of 0..keys.len()"
                            )]
                            let piece = &keys[rows];
                            for (r, &k) in (first_row..).zip(piece) {
                                if k.is_null() {
                                    continue;
                                }
                                let start = k.index() * words;
                                if let Some(slot) = matrix.get_mut(start..start + words) {
                                    l.or_into(r, slot);
                                }
                            }
                            matrix
                        };
                        crate::pieces::fold(keys.len(), min, fill, |mut all, second| {
                            for (a, p) in all.iter_mut().zip(second) {
                                *a |= p;
                            }
                            all
                        })
                    }
                    _ => vec![0u64; size],
                };
                for i in todo {
                    let Some(m) = hub.members.get(i) else {
                        continue;
                    };
                    // The matrix is shared by the members reached through
                    // this link; the last one takes it, the others copy.
                    if let Some(slot) = labels.get_mut(m.table) {
                        *slot = Some(Labels::Via {
                            keys: m.keys(model),
                            words,
                            matrix: matrix.clone(),
                        });
                        queue.push(m.table);
                    }
                }
            }
        }
        let mut out = Vec::with_capacity(tables.len());
        for (table, l) in tables.iter().zip(&labels) {
            let Some(l) = l else {
                out.push(TableCount::All(table.len()));
                continue;
            };
            if l.is_single() {
                let count = |rows: std::ops::Range<usize>| {
                    let mut single = vec![0usize; values];
                    for r in rows {
                        if let Some(c) = l.only(r).and_then(|v| single.get_mut(v.index())) {
                            *c += 1;
                        }
                    }
                    single
                };
                let single =
                    crate::pieces::fold(table.len(), piece_rows, count, |mut all, second| {
                        for (a, p) in all.iter_mut().zip(second) {
                            *a += p;
                        }
                        all
                    });
                out.push(TableCount::Labelled {
                    single,
                    multi: Vec::new(),
                    multi_rows: 0,
                });
                continue;
            }
            let mut single = vec![0usize; values];
            let mut multi_rows = 0usize;
            let mut first: Vec<usize> = Vec::new();
            for r in 0..table.len() {
                first.clear();
                l.for_each(r, |v| {
                    if first.len() < 2 {
                        first.push(v);
                    }
                });
                match first.as_slice() {
                    [] => {}
                    [v] => {
                        if let Some(c) = single.get_mut(*v) {
                            *c += 1;
                        }
                    }
                    _ => multi_rows += 1,
                }
            }
            let mut multi = Vec::new();
            if multi_rows > 0 {
                budget = budget.checked_sub(values.checked_mul(multi_rows.div_ceil(8))?)?;
                multi = vec![BitSet::new(multi_rows); values];
                let mut i = 0usize;
                let mut row_values: Vec<usize> = Vec::new();
                for r in 0..table.len() {
                    row_values.clear();
                    l.for_each(r, |v| row_values.push(v));
                    if row_values.len() < 2 {
                        continue;
                    }
                    for &v in &row_values {
                        if let Some(b) = multi.get_mut(v) {
                            b.insert(i);
                        }
                    }
                    i += 1;
                }
            }
            out.push(TableCount::Labelled {
                single,
                multi,
                multi_rows,
            });
        }
        Some(PerValue {
            field,
            values,
            tables: out,
        })
    }
}

impl PerValue {
    /// The field the counts are for.
    pub fn field(&self) -> FieldId {
        self.field
    }

    /// Rows left per table (model order) by selecting `values` (symbol ids
    /// of the field) — what [`Links::reduce`] would count.
    pub fn counts(&self, values: &[SymbolId]) -> Vec<usize> {
        let mut ids: Vec<usize> = values
            .iter()
            .map(|&v| v.index())
            .filter(|&v| v < self.values)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        self.tables
            .iter()
            .map(|t| match t {
                TableCount::All(n) => *n,
                TableCount::Labelled {
                    single,
                    multi,
                    multi_rows,
                } => {
                    let mut n: usize = ids.iter().filter_map(|&v| single.get(v)).sum();
                    if *multi_rows > 0 {
                        let sets: Vec<&BitSet> = ids.iter().filter_map(|&v| multi.get(v)).collect();
                        n += BitSet::union_count(&sets);
                    }
                    n
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::ModelBuilder;

    /// Customers(COUNTRY) -< Sales, many sales per customer: Sales is
    /// labelled through a matrix filled per piece, Customers counted per
    /// piece.
    fn many_sales() -> Model {
        let countries = ["US", "UK", "DE", "FR", "ES"];
        // Customers 0 to 19 are in two countries: a key of several values,
        // labelled through a matrix.
        let customers: Vec<Vec<String>> = (0..60)
            .map(|c| {
                let country = countries[(c / 40 + c) % countries.len()];
                vec![format!("{}", c % 40), country.to_string()]
            })
            .collect();
        let sales: Vec<Vec<String>> = (0..3000)
            .map(|o| vec![format!("{o}"), format!("{}", (o * 7) % 43)])
            .collect();
        let c = texts(&customers);
        let s = texts(&sales);
        ModelBuilder::new()
            .table("Customers", &["CID", "COUNTRY"], &rows(&c))
            .table("Sales", &["OID", "CID"], &rows(&s))
            .build()
    }

    fn texts(rows: &[Vec<String>]) -> Vec<Vec<&str>> {
        rows.iter()
            .map(|r| r.iter().map(String::as_str).collect())
            .collect()
    }

    fn rows<'r>(t: &'r [Vec<&'r str>]) -> Vec<&'r [&'r str]> {
        t.iter().map(Vec::as_slice).collect()
    }

    #[test]
    fn per_value_counts_are_the_same_in_pieces_at_any_number_of_threads() {
        let m = many_sales();
        let links = Links::new(&m);
        let field = m.find_field("COUNTRY").unwrap();
        let selections: [&[usize]; 4] = [&[0], &[1, 3], &[0, 1, 2, 3, 4], &[]];
        let counts = |pv: &PerValue| -> Vec<Vec<usize>> {
            selections
                .iter()
                .map(|s| {
                    let ids: Vec<SymbolId> = s
                        .iter()
                        .map(|&i| SymbolId::from_index(i).unwrap())
                        .collect();
                    pv.counts(&ids)
                })
                .collect()
        };
        let one = links.per_value_in(&m, field, usize::MAX).unwrap();
        let want = counts(&one);
        assert!(want.iter().any(|c| c.iter().any(|&n| n > 0)));
        for threads in [1, 4] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            for piece in [1, 2, 100] {
                let got = pool
                    .install(|| links.per_value_in(&m, field, piece))
                    .unwrap();
                assert_eq!(counts(&got), want, "{threads} threads, pieces of {piece}");
            }
        }
    }
}
