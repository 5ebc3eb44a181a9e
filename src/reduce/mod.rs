//! Applies a selection to a model and propagates it (reduction phase).
//!
//! Owns the associative propagation of SPEC §5.6: a selection (allowed
//! symbol ids per field, or allowed rows per table) restricts the tables it
//! touches, then spreads through key fields — fields shared by two tables,
//! several shared fields linking on their combination like Qlik's synthetic
//! keys — to a fixpoint. Tables not connected to a selection keep every row.
//! It also applies OMIT (hidden fields) to what it shows.
//!
//! The same propagation serves the security tables (the identity selects
//! rows) and the application tables (the reduction selects values), so this
//! module knows nothing of users: [`crate::access`] builds the selections.
//! Everything is bitsets over rows and symbol ids; no value is compared as
//! text per row.

mod split;

use std::borrow::Cow;
use std::collections::HashMap;
use std::io;

use crate::bug::Bug;
use crate::model::{BitSet, FieldId, Model, SymbolId, Table};
use crate::names::FieldName;

pub use split::PerValue;

/// What to select: allowed values of fields and allowed rows of tables.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Per field, the symbol ids a row's value must be among (NULL never is).
    pub fields: Vec<(FieldId, BitSet)>,
    /// Per table (index in the model), the rows that may stay.
    pub rows: Vec<(usize, BitSet)>,
}

impl Selection {
    /// True when nothing is selected.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.rows.is_empty()
    }
}

/// A link point between tables: one key field, or the combination of
/// several fields two tables share (a synthetic key).
#[derive(Clone, Debug)]
struct Hub {
    fields: Vec<FieldId>,
    /// Attached tables with, per row, the key id ([`SymbolId::NULL`] when
    /// any part of the key is NULL). Single-field keys use symbol ids;
    /// combinations are interned per hub once, here, as the symbols of
    /// the synthetic key (Qlik's `$Syn` field).
    members: Vec<Member>,
    /// Number of distinct key ids.
    keys: usize,
}

#[derive(Clone, Debug)]
struct Member {
    table: usize,
    keys: Keys,
    /// Tables reachable from this table without crossing its link to the hub
    /// (itself included): its side of the link.
    side: BitSet,
}

/// The key of each row of a member table.
#[derive(Clone, Debug)]
enum Keys {
    /// The symbol ids of the table's column at this position, the hub's
    /// one field (read from the model, not copied: key columns are the
    /// largest there are).
    Column(usize),
    /// Ids of the combinations of the hub's fields, interned per hub.
    Combos(Vec<SymbolId>),
}

impl Member {
    /// The key id of each row ([`SymbolId::NULL`] when any part is NULL).
    ///
    /// `model` is the one the links were built from.
    fn keys<'m>(&'m self, model: &'m Model) -> &'m [SymbolId] {
        match &self.keys {
            #[expect(
                clippy::indexing_slicing,
                reason = "INVARIANT: the links were built from `model`: `table` is one of its tables and `pos` the position of the hub's field in it"
            )]
            Keys::Column(pos) => &model.tables()[self.table].columns()[*pos].ids,
            Keys::Combos(keys) => keys,
        }
    }
}

/// The key structure of a model, computed once and reused for every
/// selection (an audit reduces the same model many times).
#[derive(Clone, Debug)]
pub struct Links {
    hubs: Vec<Hub>,
    tables: usize,
    cyclic: bool,
    /// Per table, a label shared by exactly the tables it is connected to.
    component: Vec<usize>,
}

impl Links {
    /// The links of a model: every field shared by two tables is a key.
    pub fn new(model: &Model) -> Self {
        Self::with_filter(model, |_| true)
    }

    /// The links of a model through the fields for which `links` is true
    /// (the security tables never link through identity columns: each table
    /// is matched against the identity directly).
    pub fn with_filter(model: &Model, links: impl Fn(FieldId) -> bool) -> Self {
        let tables = model.tables();
        let n = tables.len();
        // Hub per distinct set of fields shared by a pair of tables.
        let mut hub_index: HashMap<Vec<FieldId>, usize> = HashMap::new();
        let mut hub_tables: Vec<(Vec<FieldId>, Vec<usize>)> = Vec::new();
        for (i, a) in tables.iter().enumerate() {
            for (j, b) in tables.iter().enumerate().skip(i + 1) {
                let mut shared: Vec<FieldId> =
                    a.fields().filter(|&f| b.has_field(f) && links(f)).collect();
                if shared.is_empty() {
                    continue;
                }
                shared.sort();
                let h = *hub_index.entry(shared.clone()).or_insert_with(|| {
                    hub_tables.push((shared, Vec::new()));
                    hub_tables.len() - 1
                });
                if let Some((_, members)) = hub_tables.get_mut(h) {
                    for t in [i, j] {
                        if !members.contains(&t) {
                            members.push(t);
                        }
                    }
                }
            }
        }
        let mut hubs: Vec<Hub> = hub_tables
            .into_iter()
            .map(|(fields, members)| build_hub(model, fields, &members))
            .collect();
        let edges: Vec<(usize, usize)> = hubs
            .iter()
            .enumerate()
            .flat_map(|(h, hub)| hub.members.iter().map(move |m| (m.table, h)))
            .collect();
        for (h, hub) in hubs.iter_mut().enumerate() {
            for m in &mut hub.members {
                m.side = reachable_without(n, &edges, m.table, (m.table, h));
            }
        }
        // A graph of tables and hubs is a forest exactly when it has
        // (nodes - components) edges.
        let nodes = n + hubs.len();
        let (components, component) = count_components(nodes, n, &edges);
        let cyclic = edges.len() > nodes.saturating_sub(components);
        Self {
            hubs,
            tables: n,
            cyclic,
            component: component.into_iter().take(n).collect(),
        }
    }

    /// True when the tables form a loop (a circular reference, or several
    /// synthetic keys over overlapping fields); propagation is then the
    /// fixpoint over every link, which Qlik would resolve differently
    /// (it loosens one table of the loop).
    pub fn is_cyclic(&self) -> bool {
        self.cyclic
    }

    /// True when no two tables are linked: a selection then restricts only
    /// the tables it names.
    pub fn is_empty(&self) -> bool {
        self.hubs.is_empty()
    }

    /// True when tables `a` and `b` are connected through links (a table is
    /// connected to itself).
    pub fn connected(&self, a: usize, b: usize) -> bool {
        match (self.component.get(a), self.component.get(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        }
    }

    /// The link points, for exporters that state the propagation in
    /// another language: per hub, its fields and, per member table, the
    /// tables on that member's side of the hub (itself included).
    pub(crate) fn hubs(&self) -> impl Iterator<Item = (&[FieldId], Vec<(usize, &BitSet)>)> {
        self.hubs.iter().map(|h| {
            (
                h.fields.as_slice(),
                h.members.iter().map(|m| (m.table, &m.side)).collect(),
            )
        })
    }

    /// Fields that link tables (key fields), sorted.
    pub fn key_fields(&self) -> Vec<FieldId> {
        let mut out: Vec<FieldId> = self
            .hubs
            .iter()
            .flat_map(|h| h.fields.iter().copied())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Applies a selection and propagates it to a fixpoint.
    pub fn reduce(&self, model: &Model, selection: &Selection) -> Reduced {
        let tables = model.tables();
        let mut possible: Vec<BitSet> = tables.iter().map(|t| BitSet::full(t.len())).collect();
        let mut selected = BitSet::new(self.tables);
        // Per selected field, the tables holding it.
        let mut field_tables: Vec<(FieldId, BitSet)> = Vec::new();
        for (field, allowed) in &selection.fields {
            let mut holders = BitSet::new(self.tables);
            for (t, table) in tables.iter().enumerate() {
                let (Some(col), Some(rows)) = (table.column(*field), possible.get_mut(t)) else {
                    continue;
                };
                selected.insert(t);
                holders.insert(t);
                restrict(rows, col, allowed);
            }
            field_tables.push((*field, holders));
        }
        let mut row_selected = BitSet::new(self.tables);
        for (t, allowed) in &selection.rows {
            if let Some(rows) = possible.get_mut(*t) {
                selected.insert(*t);
                row_selected.insert(*t);
                rows.intersect_with(allowed);
            }
        }
        // Per hub and member: the other members whose side holds a
        // selection, i.e. whose possible keys constrain this member. A
        // selection on a field of the hub itself does not count: every
        // member applies it directly, and a selected value stays selected
        // in a table even where a neighbour lacks it (as in Qlik, selecting
        // a region with no customers still shows that region's own row).
        let constraints: Vec<Vec<Vec<usize>>> = self
            .hubs
            .iter()
            .map(|hub| {
                let active: Vec<bool> = hub
                    .members
                    .iter()
                    .map(|m| {
                        intersects(&m.side, &row_selected)
                            || field_tables.iter().any(|(f, holders)| {
                                !hub.fields.contains(f) && intersects(&m.side, holders)
                            })
                    })
                    .collect();
                (0..hub.members.len())
                    .map(|i| {
                        (0..)
                            .zip(&active)
                            .filter(|&(j, &a)| a && j != i)
                            .map(|(j, _)| j)
                            .collect()
                    })
                    .collect()
            })
            .collect();
        loop {
            let mut changed = false;
            for (hub, cons) in self.hubs.iter().zip(&constraints) {
                let key_sets: Vec<Option<BitSet>> = hub
                    .members
                    .iter()
                    .enumerate()
                    .map(|(j, m)| {
                        let needed = cons.iter().any(|c| c.contains(&j));
                        needed.then(|| {
                            let ids = m.keys(model);
                            possible.get(m.table).map_or_else(
                                || BitSet::new(hub.keys),
                                |rows| {
                                    rows.par_image(hub.keys, |r| {
                                        ids.get(r).filter(|k| !k.is_null()).map(|k| k.index())
                                    })
                                },
                            )
                        })
                    })
                    .collect();
                for (m, others) in hub.members.iter().zip(cons) {
                    let mut allowed: Option<BitSet> = None;
                    for &j in others {
                        let Some(Some(keys)) = key_sets.get(j) else {
                            continue;
                        };
                        match &mut allowed {
                            None => allowed = Some(keys.clone()),
                            Some(a) => {
                                a.intersect_with(keys);
                            }
                        }
                    }
                    let (Some(allowed), Some(rows)) = (allowed, possible.get_mut(m.table)) else {
                        continue;
                    };
                    changed |= restrict(rows, m.keys(model), &allowed);
                }
            }
            if !changed {
                break;
            }
        }
        Reduced {
            rows: possible,
            selected,
        }
    }
}

fn build_hub(model: &Model, fields: Vec<FieldId>, members: &[usize]) -> Hub {
    let tables = model.tables();
    if let [field] = fields.as_slice() {
        let keys = model.symbols(*field).map_or(0, |s| s.len());
        let members = members
            .iter()
            .map(|&t| {
                #[expect(
                    clippy::indexing_slicing,
                    clippy::expect_used,
                    reason = "INVARIANT: hub members are tables of `model` that hold every field of the hub (`with_filter`)"
                )]
                let pos = tables[t]
                    .position(*field)
                    .expect("a hub member holds the hub's field");
                Member {
                    table: t,
                    keys: Keys::Column(pos),
                    side: BitSet::default(),
                }
            })
            .collect();
        return Hub {
            fields,
            members,
            keys,
        };
    }
    let mut combos: HashMap<Vec<SymbolId>, SymbolId> = HashMap::new();
    let mut out = Vec::with_capacity(members.len());
    for &t in members {
        #[expect(
            clippy::indexing_slicing,
            clippy::expect_used,
            reason = "INVARIANT: hub members are tables of `model` that hold every field of the hub (`with_filter`)"
        )]
        let (table, cols) = {
            let table = &tables[t];
            let cols: Vec<&[SymbolId]> = fields
                .iter()
                .map(|&f| {
                    table
                        .column(f)
                        .expect("a hub member holds the hub's fields")
                })
                .collect();
            (table, cols)
        };
        let mut keys = Vec::with_capacity(table.len());
        let mut combo = Vec::with_capacity(cols.len());
        for r in 0..table.len() {
            combo.clear();
            #[expect(
                clippy::indexing_slicing,
                reason = "INVARIANT: every column of a table holds `len()` ids"
            )]
            combo.extend(cols.iter().map(|c| c[r]));
            if combo.contains(&SymbolId::NULL) {
                keys.push(SymbolId::NULL);
                continue;
            }
            #[expect(
                clippy::expect_used,
                reason = "INVARIANT: fewer combinations than the table's rows, at most MAX_ROWS = MAX_SYMBOLS"
            )]
            let next = SymbolId::from_index(combos.len()).expect("combinations fit symbol ids");
            keys.push(*combos.entry(combo.clone()).or_insert(next));
        }
        out.push(Member {
            table: t,
            keys: Keys::Combos(keys),
            side: BitSet::default(),
        });
    }
    Hub {
        fields,
        members: out,
        keys: combos.len(),
    }
}

/// Removes from `rows` every row whose id is NULL or not in `allowed`;
/// true if anything was removed.
fn restrict(rows: &mut BitSet, ids: &[SymbolId], allowed: &BitSet) -> bool {
    rows.par_retain(|r| {
        #[expect(
            clippy::indexing_slicing,
            reason = "INVARIANT: `rows` and `ids` are one table's: its rows are below its column length"
        )]
        let id = ids[r];
        !id.is_null() && allowed.contains(id.index())
    })
}

fn intersects(a: &BitSet, b: &BitSet) -> bool {
    a.iter().any(|i| b.contains(i))
}

/// Tables reachable from `start` in the table–hub graph without the edge
/// `skip` (tables are nodes `0..n`, hub `h` is node `n + h`).
fn reachable_without(
    n: usize,
    edges: &[(usize, usize)],
    start: usize,
    skip: (usize, usize),
) -> BitSet {
    let hubs = edges.iter().map(|&(_, h)| h + 1).max().unwrap_or(0);
    let mut seen = BitSet::new(n + hubs);
    let mut stack = vec![start];
    seen.insert(start);
    while let Some(node) = stack.pop() {
        for &(t, h) in edges {
            if (t, h) == skip {
                continue;
            }
            let next = if node == t {
                n + h
            } else if node == n + h {
                t
            } else {
                continue;
            };
            if !seen.contains(next) {
                seen.insert(next);
                stack.push(next);
            }
        }
    }
    let mut tables = BitSet::new(n);
    for i in seen.iter().filter(|&i| i < n) {
        tables.insert(i);
    }
    tables
}

/// The number of connected components and a component label per node.
fn count_components(nodes: usize, n: usize, edges: &[(usize, usize)]) -> (usize, Vec<usize>) {
    let mut parent: Vec<usize> = (0..nodes).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while let Some(&p) = parent.get(x) {
            if p == x {
                break;
            }
            #[expect(
                clippy::indexing_slicing,
                reason = "INVARIANT: every parent is a node, below `parent.len()`"
            )]
            let gp = parent[p];
            if let Some(slot) = parent.get_mut(x) {
                *slot = gp;
            }
            x = p;
        }
        x
    }
    let mut components = nodes;
    for &(t, h) in edges {
        let (a, b) = (find(&mut parent, t), find(&mut parent, n + h));
        if a != b {
            if let Some(slot) = parent.get_mut(a) {
                *slot = b;
            }
            components -= 1;
        }
    }
    let labels = (0..nodes).map(|x| find(&mut parent, x)).collect();
    (components, labels)
}

/// The outcome of a reduction: the possible rows of every table.
#[derive(Clone, Debug)]
pub struct Reduced {
    rows: Vec<BitSet>,
    selected: BitSet,
}

impl Reduced {
    /// Possible rows of table `t` (by index in the model).
    pub fn rows(&self, t: usize) -> Option<&BitSet> {
        self.rows.get(t)
    }

    /// The possible rows of every table, in model order.
    pub fn into_rows(self) -> Vec<BitSet> {
        self.rows
    }

    /// Number of possible rows of table `t`.
    pub fn count(&self, t: usize) -> usize {
        self.rows.get(t).map_or(0, BitSet::count)
    }

    /// True when the selection touched table `t` directly.
    pub fn is_selected(&self, t: usize) -> bool {
        self.selected.contains(t)
    }

    /// Symbol ids of `field` carried by at least one possible row (values no
    /// possible row carries disappear from the user's model).
    pub fn values(&self, model: &Model, field: FieldId) -> BitSet {
        let mut out = BitSet::new(model.symbols(field).map_or(0, |s| s.len()));
        for (table, rows) in model.tables().iter().zip(&self.rows) {
            let Some(col) = table.column(field) else {
                continue;
            };
            for r in rows.iter() {
                if let Some(&id) = col.get(r)
                    && !id.is_null()
                {
                    out.insert(id.index());
                }
            }
        }
        out
    }

    /// Every table after reduction, with `omitted` fields hidden, in load order.
    pub fn tables<'a>(
        &'a self,
        model: &'a Model,
        omitted: &'a [FieldId],
    ) -> impl Iterator<Item = ReducedTable<'a>> + 'a {
        model
            .tables()
            .iter()
            .zip(&self.rows)
            .map(move |(table, rows)| ReducedTable {
                model,
                table,
                rows,
                visible: table.fields().filter(|f| !omitted.contains(f)).collect(),
            })
    }
}

/// One table as a user sees it: surviving rows, omitted fields dropped.
#[derive(Clone, Debug)]
pub struct ReducedTable<'a> {
    model: &'a Model,
    table: &'a Table,
    rows: &'a BitSet,
    visible: Vec<FieldId>,
}

impl<'a> ReducedTable<'a> {
    /// The table's name.
    pub fn name(&self) -> &'a str {
        self.table.name.as_str()
    }

    /// Rows before reduction.
    pub fn total(&self) -> usize {
        self.table.len()
    }

    /// Rows after reduction.
    pub fn count(&self) -> usize {
        self.rows.count()
    }

    /// The surviving rows (0-based indices into the full table).
    pub fn surviving(&self) -> &'a BitSet {
        self.rows
    }

    /// Visible field names, in column order.
    pub fn fields(&self) -> Vec<&'a FieldName> {
        self.visible
            .iter()
            .filter_map(|&f| self.model.field_name(f))
            .collect()
    }

    /// The surviving rows as text, visible fields only (NULL as empty text).
    ///
    /// A symbol id without a text in its field is a [`Bug`].
    pub fn text_rows(&self) -> impl Iterator<Item = Result<Vec<Cow<'a, str>>, Bug>> + '_ {
        let model = self.model;
        let cols: Vec<(FieldId, &'a [SymbolId])> = self
            .visible
            .iter()
            .filter_map(|&f| self.table.column(f).map(|c| (f, c)))
            .collect();
        self.rows.iter().map(move |r| {
            cols.iter()
                .map(|&(f, col)| {
                    #[expect(
                        clippy::indexing_slicing,
                        reason = "INVARIANT: surviving rows are below the table's length, which every column holds"
                    )]
                    let id = col[r];
                    if id.is_null() {
                        return Ok(Cow::Borrowed(""));
                    }
                    model.text(f, id).ok_or_else(|| {
                        Bug::new(format!(
                            "symbol {} past its field in table `{}`",
                            id.as_u32(),
                            self.name()
                        ))
                    })
                })
                .collect()
        })
    }

    /// Writes the surviving rows as CSV with a header line.
    pub fn write_csv<W: io::Write>(&self, out: W) -> Result<(), csv::Error> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(self.fields().iter().map(|f| f.as_str()))?;
        for row in self.text_rows() {
            let row = row.map_err(|b| csv::Error::from(io::Error::other(b)))?;
            w.write_record(row.iter().map(|c| c.as_ref()))?;
        }
        w.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{ModelBuilder, NULL_CELL};

    fn names(r: &Reduced, m: &Model, t: usize, field: &str) -> Vec<String> {
        let f = m.find_field(field).unwrap();
        let col = m.tables()[t].column(f).unwrap();
        r.rows(t)
            .unwrap()
            .iter()
            .map(|i| {
                m.value(f, col[i])
                    .map_or(String::new(), |v| v.text().into_owned())
            })
            .collect()
    }

    fn select(m: &Model, field: &str, values: &[&str]) -> Selection {
        let f = m.find_field(field).unwrap();
        let sym = m.symbols(f).unwrap();
        let mut set = BitSet::new(sym.len());
        for (id, v) in sym.iter() {
            if values.contains(&v.text().as_ref()) {
                set.insert(id.index());
            }
        }
        Selection {
            fields: vec![(f, set)],
            rows: vec![],
        }
    }

    /// Customers(COUNTRY) -< Sales >- Products, plus an unconnected table.
    fn star() -> Model {
        ModelBuilder::new()
            .table(
                "Customers",
                &["CID", "COUNTRY"],
                &[&["1", "US"], &["2", "UK"], &["3", "US"], &["4", "DE"]],
            )
            .table(
                "Sales",
                &["OID", "CID", "PID"],
                &[
                    &["10", "1", "p1"],
                    &["11", "2", "p2"],
                    &["12", "3", "p1"],
                    &["13", NULL_CELL, "p3"],
                ],
            )
            .table(
                "Products",
                &["PID", "NAME"],
                &[&["p1", "a"], &["p2", "b"], &["p3", "c"], &["p4", "d"]],
            )
            .table("Calendar", &["DAY"], &[&["mon"], &["tue"]])
            .build()
    }

    #[test]
    fn selection_spreads_through_keys_and_away_from_the_selection_only() {
        let m = star();
        let links = Links::new(&m);
        assert!(!links.is_cyclic());
        let r = links.reduce(&m, &select(&m, "COUNTRY", &["US"]));
        assert_eq!(names(&r, &m, 0, "CID"), ["1", "3"]);
        assert_eq!(
            names(&r, &m, 1, "OID"),
            ["10", "12"],
            "NULL key row excluded"
        );
        assert_eq!(names(&r, &m, 2, "PID"), ["p1"]);
        assert_eq!(r.count(3), 2, "unconnected table untouched");
        // Customer 4 (DE) has no sale: still possible when DE is selected.
        let r = links.reduce(&m, &select(&m, "COUNTRY", &["DE"]));
        assert_eq!(names(&r, &m, 0, "CID"), ["4"]);
        assert_eq!(r.count(1), 0);
        assert_eq!(r.count(2), 0);
    }

    #[test]
    fn a_selected_key_value_stays_where_a_neighbour_lacks_it() {
        // Regions(REGION) — Customers(REGION): selecting CENTRAL, which no
        // customer has, keeps the CENTRAL row of Regions and no customer.
        let mut m = Model::new();
        let region = m.field(&FieldName::new("REGION"));
        let name = m.field(&FieldName::new("Name"));
        let cust = m.field(&FieldName::new("Customer"));
        let mut regions = Table::new(crate::names::TableName::new("Regions"), &[region, name]);
        for (r, n) in [("NORTH", "North"), ("CENTRAL", "Central")] {
            let a = m.intern(region, crate::model::Value::from_text(r));
            let b = m.intern(name, crate::model::Value::from_text(n));
            regions.push_row(&[a, b], None);
        }
        let mut customers = Table::new(crate::names::TableName::new("Customers"), &[cust, region]);
        let a = m.intern(cust, crate::model::Value::from_text("c1"));
        let b = m.intern(region, crate::model::Value::from_text("NORTH"));
        customers.push_row(&[a, b], None);
        m.push_table(regions);
        m.push_table(customers);
        let links = Links::new(&m);
        let r = links.reduce(&m, &select(&m, "REGION", &["CENTRAL"]));
        assert_eq!(names(&r, &m, 0, "Name"), ["Central"]);
        assert_eq!(r.count(1), 0);
        let r = links.reduce(&m, &select(&m, "REGION", &["CENTRAL", "NORTH"]));
        assert_eq!(r.count(0), 2);
        assert_eq!(r.count(1), 1);
    }

    #[test]
    fn no_selection_keeps_everything_even_unlinked_keys() {
        let m = star();
        let r = Links::new(&m).reduce(&m, &Selection::default());
        assert_eq!((r.count(0), r.count(1), r.count(2)), (4, 4, 4));
    }

    #[test]
    fn selections_on_both_sides_meet_in_the_middle() {
        let m = star();
        let mut sel = select(&m, "COUNTRY", &["US", "UK"]);
        sel.fields.extend(select(&m, "NAME", &["b"]).fields);
        let r = Links::new(&m).reduce(&m, &sel);
        assert_eq!(names(&r, &m, 1, "OID"), ["11"]);
        assert_eq!(names(&r, &m, 0, "CID"), ["2"], "customers constrained back");
    }

    #[test]
    fn several_shared_fields_link_on_their_combination() {
        let m = ModelBuilder::new()
            .table(
                "Budget",
                &["REGION", "YEAR", "BUDGET"],
                &[&["N", "1", "x"], &["S", "2", "y"]],
            )
            .table(
                "Actual",
                &["REGION", "YEAR", "AMOUNT"],
                &[&["N", "2", "5"], &["S", "2", "6"], &["N", "1", "7"]],
            )
            .build();
        let r = Links::new(&m).reduce(&m, &select(&m, "BUDGET", &["x"]));
        assert_eq!(
            names(&r, &m, 1, "AMOUNT"),
            ["7"],
            "N/2 shares each value but not the pair"
        );
    }

    #[test]
    fn values_no_possible_row_carries_disappear() {
        let m = star();
        let r = Links::new(&m).reduce(&m, &select(&m, "COUNTRY", &["UK"]));
        let pid = m.find_field("PID").unwrap();
        let vals: Vec<String> = r
            .values(&m, pid)
            .iter()
            .map(|i| {
                let id = SymbolId::from_index(i).unwrap();
                m.value(pid, id).unwrap().text().into_owned()
            })
            .collect();
        assert_eq!(vals, ["p2"]);
    }

    #[test]
    fn omitted_fields_are_not_shown_and_csv_has_a_header() {
        let m = star();
        let r = Links::new(&m).reduce(&m, &select(&m, "COUNTRY", &["US"]));
        let country = m.find_field("COUNTRY").unwrap();
        let omitted = [country];
        let t = r.tables(&m, &omitted).next().unwrap();
        assert_eq!(
            t.fields().iter().map(|f| f.as_str()).collect::<Vec<_>>(),
            ["CID"]
        );
        assert_eq!((t.count(), t.total()), (2, 4));
        let mut buf = Vec::new();
        t.write_csv(&mut buf).unwrap();
        assert_eq!(String::from_utf8(buf).unwrap(), "CID\n1\n3\n");
    }

    #[test]
    fn loops_are_detected() {
        let m = ModelBuilder::new()
            .table("A", &["X", "Y"], &[&["1", "1"]])
            .table("B", &["Y", "Z"], &[&["1", "1"]])
            .table("C", &["Z", "X"], &[&["1", "1"]])
            .build();
        assert!(Links::new(&m).is_cyclic());
        assert!(!Links::new(&star()).is_cyclic());
    }

    #[test]
    fn row_selections_restrict_and_propagate() {
        let m = star();
        let mut rows = BitSet::new(4);
        rows.insert(1);
        let sel = Selection {
            fields: vec![],
            rows: vec![(1, rows)],
        };
        let r = Links::new(&m).reduce(&m, &sel);
        assert_eq!(names(&r, &m, 0, "CID"), ["2"]);
        assert_eq!(names(&r, &m, 2, "PID"), ["p2"]);
        assert!(r.is_selected(1) && !r.is_selected(0));
    }

    #[test]
    fn a_symbol_past_its_field_is_a_bug_not_an_empty_cell() {
        let mut m = Model::new();
        let f = m.field(&FieldName::new("X"));
        let mut t = Table::new(crate::names::TableName::new("T"), &[f]);
        t.push_row(&[SymbolId::from_index(7).unwrap()], None);
        m.push_table(t);
        let r = Links::new(&m).reduce(&m, &Selection::default());
        let t = r.tables(&m, &[]).next().unwrap();
        let rows: Vec<_> = t.text_rows().collect();
        assert!(
            matches!(rows.as_slice(), [Err(b)] if b.what().contains("symbol 7")),
            "{rows:?}"
        );
        assert!(t.write_csv(Vec::new()).is_err());
    }
}
