//! The reducer against a naive row-by-row reference on random small models.
//!
//! The reference re-derives everything from the values themselves: links
//! (per pair of tables, the set of fields they share; a link point is a
//! distinct such set, joined by every table of a pair sharing exactly it),
//! each table's side of a link (tables reachable without that link), and
//! the fixpoint: a row survives iff its selected values are allowed and, for
//! every link point, its key tuple (no NULL) appears among the surviving
//! rows of each other member whose side holds a selection.

use std::collections::BTreeSet;

use proptest::prelude::*;
use section_access::model::{BitSet, Model, SymbolId, Table, Value};
use section_access::names::{FieldName, TableName};
use section_access::reduce::{Links, Selection};

const FIELDS: [&str; 4] = ["A", "B", "C", "D"];

/// One table: field indices and rows of cells (None = NULL).
type TableSpec = (Vec<usize>, Vec<Vec<Option<u8>>>);

#[derive(Clone, Debug)]
struct Spec {
    /// Per table: field indices and rows of cells (None = NULL).
    tables: Vec<TableSpec>,
    /// Per field index: allowed values, when selected.
    select: Vec<Option<Vec<u8>>>,
    /// Optional row selection: table, allowed rows.
    rows: Option<(usize, Vec<bool>)>,
}

fn spec() -> impl Strategy<Value = Spec> {
    let table = proptest::sample::subsequence((0..4usize).collect::<Vec<_>>(), 1..=3)
        .prop_flat_map(|fields| {
            let n = fields.len();
            let cell = proptest::option::weighted(0.85, 0u8..3);
            (
                Just(fields),
                proptest::collection::vec(proptest::collection::vec(cell, n), 0..6),
            )
        });
    (
        proptest::collection::vec(table, 2..=4),
        proptest::collection::vec(
            proptest::option::weighted(0.4, proptest::collection::vec(0u8..3, 0..3)),
            4,
        ),
        proptest::option::weighted(
            0.3,
            (0usize..4, proptest::collection::vec(any::<bool>(), 6)),
        ),
    )
        .prop_map(|(tables, select, rows)| Spec {
            rows: rows.map(|(t, r)| (t % tables.len(), r)),
            tables,
            select,
        })
}

fn build(spec: &Spec) -> Model {
    let mut m = Model::new();
    let ids: Vec<_> = FIELDS.iter().map(|f| m.field(&FieldName::new(f))).collect();
    for (i, (fields, rows)) in spec.tables.iter().enumerate() {
        let fs: Vec<_> = fields.iter().map(|&f| ids[f]).collect();
        let mut t = Table::new(TableName::new(&format!("T{i}")), &fs);
        for row in rows {
            let cells: Vec<SymbolId> = fields
                .iter()
                .zip(row)
                .map(|(&f, c)| {
                    let v = c.map_or(Value::Null, |c| Value::from_text(&c.to_string()));
                    m.intern(ids[f], v)
                })
                .collect();
            t.push_row(&cells, None);
        }
        m.push_table(t);
    }
    m
}

fn selection(spec: &Spec, m: &Model) -> Selection {
    let mut sel = Selection::default();
    for (f, values) in spec.select.iter().enumerate() {
        let Some(values) = values else { continue };
        let id = m.find_field(FIELDS[f]).unwrap();
        let mut set = BitSet::new(m.symbols(id).unwrap().len());
        for v in values {
            if let Some(s) = m
                .symbols(id)
                .unwrap()
                .lookup(&Value::from_text(&v.to_string()))
            {
                set.insert(s.index());
            }
        }
        sel.fields.push((id, set));
    }
    if let Some((t, rows)) = &spec.rows {
        let len = spec.tables[*t].1.len();
        let mut set = BitSet::new(len);
        for (i, keep) in rows.iter().enumerate().take(len) {
            if *keep {
                set.insert(i);
            }
        }
        sel.rows.push((*t, set));
    }
    sel
}

/// The naive reference: surviving row indices per table.
fn reference(spec: &Spec) -> Vec<BTreeSet<usize>> {
    let n = spec.tables.len();
    let fields_of = |t: usize| -> BTreeSet<usize> { spec.tables[t].0.iter().copied().collect() };
    let cell = |t: usize, r: usize, f: usize| -> Option<u8> {
        let pos = spec.tables[t].0.iter().position(|&x| x == f)?;
        spec.tables[t].1[r][pos]
    };
    // Link points: distinct shared field sets, with their member tables.
    let mut points: Vec<(BTreeSet<usize>, BTreeSet<usize>)> = Vec::new();
    for a in 0..n {
        for b in a + 1..n {
            let shared: BTreeSet<usize> =
                fields_of(a).intersection(&fields_of(b)).copied().collect();
            if shared.is_empty() {
                continue;
            }
            match points.iter_mut().find(|(s, _)| *s == shared) {
                Some((_, members)) => {
                    members.insert(a);
                    members.insert(b);
                }
                None => points.push((shared, [a, b].into_iter().collect())),
            }
        }
    }
    // Whether table `t` holds a selection that a link over `hub` fields
    // must carry: a row selection, or a selected field outside the link
    // (a selection on the link's own fields is applied by both sides).
    let selected = |t: usize, hub: &BTreeSet<usize>| -> bool {
        spec.select
            .iter()
            .enumerate()
            .any(|(f, s)| s.is_some() && fields_of(t).contains(&f) && !hub.contains(&f))
            || spec.rows.as_ref().is_some_and(|(rt, _)| *rt == t)
    };
    // Side of member `t` of point `p`: tables reachable without edge (t, p).
    let side_selected = |t: usize, p: usize| -> bool {
        let mut seen_t = vec![false; n];
        let mut seen_p = vec![false; points.len()];
        let mut stack = vec![t];
        seen_t[t] = true;
        while let Some(x) = stack.pop() {
            for (q, (_, members)) in points.iter().enumerate() {
                if !members.contains(&x) || (x == t && q == p) || seen_p[q] {
                    continue;
                }
                seen_p[q] = true;
                for &y in members {
                    if (y == t && q == p) || seen_t[y] {
                        continue;
                    }
                    seen_t[y] = true;
                    stack.push(y);
                }
            }
        }
        (0..n).any(|y| seen_t[y] && selected(y, &points[p].0))
    };
    let mut alive: Vec<BTreeSet<usize>> = (0..n)
        .map(|t| {
            (0..spec.tables[t].1.len())
                .filter(|&r| {
                    spec.select.iter().enumerate().all(|(f, s)| match s {
                        Some(values) if fields_of(t).contains(&f) => {
                            cell(t, r, f).is_some_and(|v| values.contains(&v))
                        }
                        _ => true,
                    })
                })
                .filter(|&r| match &spec.rows {
                    Some((rt, keep)) if *rt == t => keep.get(r).copied().unwrap_or(false),
                    _ => true,
                })
                .collect()
        })
        .collect();
    loop {
        let before = alive.clone();
        for t in 0..n {
            let keep: BTreeSet<usize> = alive[t]
                .iter()
                .copied()
                .filter(|&r| {
                    points.iter().enumerate().all(|(p, (shared, members))| {
                        if !members.contains(&t) {
                            return true;
                        }
                        let key: Vec<Option<u8>> = shared.iter().map(|&f| cell(t, r, f)).collect();
                        members
                            .iter()
                            .filter(|&&o| o != t && side_selected(o, p))
                            .all(|&o| {
                                !key.contains(&None)
                                    && alive[o].iter().any(|&or| {
                                        shared.iter().map(|&f| cell(o, or, f)).collect::<Vec<_>>()
                                            == key
                                    })
                            })
                    })
                })
                .collect();
            alive[t] = keep;
        }
        if alive == before {
            return alive;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn reducer_matches_the_naive_reference(spec in spec()) {
        let m = build(&spec);
        let sel = selection(&spec, &m);
        let got = Links::new(&m).reduce(&m, &sel);
        let want = reference(&spec);
        for (t, rows) in want.iter().enumerate() {
            let got_rows: BTreeSet<usize> = got.rows(t).unwrap().iter().collect();
            prop_assert_eq!(&got_rows, rows, "table T{}", t);
        }
    }

    /// Per-value counts, when offered, are what the reducer counts for a
    /// selection on one field.
    #[test]
    fn per_value_counts_match_the_reducer(spec in spec()) {
        let m = build(&spec);
        let mut sel = selection(&spec, &m);
        sel.rows.clear();
        sel.fields.truncate(1);
        let Some((field, allowed)) = sel.fields.first().cloned() else { return Ok(()) };
        let links = Links::new(&m);
        let Some(per_value) = links.per_value(&m, field) else {
            prop_assert!(links.is_cyclic() || m.tables().iter().all(|t| !t.has_field(field)));
            return Ok(());
        };
        let got = links.reduce(&m, &sel);
        let values: Vec<SymbolId> = allowed.iter().map(|v| SymbolId::from_index(v).unwrap()).collect();
        let want: Vec<usize> = (0..m.tables().len()).map(|t| got.count(t)).collect();
        prop_assert_eq!(per_value.counts(&values), want);
    }
}
