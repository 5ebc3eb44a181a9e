//! One load level's transformation of its input frame: the field list,
//! `WHERE`, `GROUP BY` with aggregations, `ORDER BY`, `DISTINCT` and the
//! generating two-argument `SubField`, with the fast paths that move
//! columns, filter `WHERE [NOT] Exists(…)` by symbol ids, or evaluate once
//! per distinct value.

use std::collections::HashMap;

use crate::model::{SymbolId, Symbols, Value};
use crate::script::ast::{ExprKind, LoadField, Section};

use super::{R, Runner};
use crate::load::error::{Fail, LoadErrorKind};
use crate::load::expr::{self, Binding, CExpr, Func, RowScope, as_column, compile, eval, truthy};
use crate::load::frame::{Frame, FrameColumn};

/// Rows a `WHILE` repeated: each one's `IterNo()` and the input record it
/// repeats.
pub(super) struct Repeated {
    pub(super) iters: Vec<u32>,
    pub(super) records: Vec<usize>,
}

impl Runner<'_> {
    /// Applies a load level's field list, WHERE, GROUP BY, ORDER BY and
    /// DISTINCT to its input.
    ///
    /// `repeated` gives, for rows a `WHILE` repeated, each row's
    /// `IterNo()` and the record it repeats (`RecNo()`).
    pub(super) fn project(
        &self,
        load: &crate::script::ast::Load,
        mut input: Frame,
        repeated: Option<&Repeated>,
    ) -> R<Frame> {
        let iter_of = |r: usize| {
            repeated
                .and_then(|x| x.iters.get(r))
                .map_or(1, |&n| n as usize)
        };
        let rec_of = |r: usize| repeated.and_then(|x| x.records.get(r)).map_or(r, |&n| n) + 1;
        let loose = self.section == Section::Access;
        let binding = Binding::Row {
            names: &input.names,
            loose,
        };
        let mut has_agg = false;
        let mut outs: Vec<(String, CExpr)> = Vec::new();
        for f in &load.fields {
            match f {
                LoadField::Star => {
                    for (i, n) in input.names.iter().enumerate() {
                        outs.push((n.clone(), CExpr::Col(i)));
                    }
                }
                LoadField::Expr { expr, alias, text } => {
                    let c = compile(expr, binding, &mut has_agg).map_err(|f| self.err(f))?;
                    let name = match (alias, &expr.kind) {
                        (Some(a), _) => a.name.clone(),
                        (None, ExprKind::Field(n)) => match c {
                            CExpr::Col(i) if loose => {
                                input.names.get(i).cloned().unwrap_or_else(|| n.clone())
                            }
                            _ => n.clone(),
                        },
                        (None, _) => text.trim().to_string(),
                    };
                    outs.push((name, c));
                }
            }
        }
        let mut no_agg = false;
        let filter = match &load.filter {
            Some(e) => Some(compile(e, binding, &mut no_agg).map_err(|f| self.err(f))?),
            None => None,
        };
        let mut group = Vec::new();
        for e in &load.group_by {
            group.push(compile(e, binding, &mut no_agg).map_err(|f| self.err(f))?);
        }
        let mut order = Vec::new();
        for (e, desc) in &load.order_by {
            order.push((
                compile(e, binding, &mut no_agg).map_err(|f| self.err(f))?,
                *desc,
            ));
        }
        if no_agg {
            return Err(self.err(Fail::new(
                LoadErrorKind::BadArgument,
                load.span,
                "aggregation functions belong in the field list, not in WHERE, GROUP BY or ORDER BY",
            )));
        }
        let names: Vec<String> = outs.iter().map(|(n, _)| n.clone()).collect();
        // `WHERE [NOT] Exists(F[, G])` on a load of plain fields: the rows
        // are chosen by the tested column's symbol ids, each distinct
        // value looked up once, and the filter is then done.
        let mut filter = filter;
        if let Some(f) = &filter
            && group.is_empty()
            && !has_agg
            && order.is_empty()
            && let Some(keep) = self.exists_rows(f, &outs, &input)
        {
            input.select_rows(&keep);
            filter = None;
        }
        // Fast path: plain columns, no filter, no grouping, no reordering —
        // move the columns, touching no row.
        if filter.is_none()
            && group.is_empty()
            && !has_agg
            && order.is_empty()
            && let Some(cols) = outs
                .iter()
                .map(|(_, c)| as_column(c))
                .collect::<Option<Vec<usize>>>()
        {
            let mut taken: Vec<Option<FrameColumn>> = input.cols.drain(..).map(Some).collect();
            let mut out_cols = Vec::with_capacity(cols.len());
            for (k, &i) in cols.iter().enumerate() {
                let reused = cols.get(k + 1..).is_some_and(|rest| rest.contains(&i));
                // Cloned while a later output uses it, taken at its last use:
                // present at every use.
                #[expect(
                    clippy::indexing_slicing,
                    clippy::expect_used,
                    reason = "INVARIANT: i is a column of the input (compiled against its names), taken only at its last use"
                )]
                let col = if reused {
                    taken[i].clone().expect("taken only at its last use")
                } else {
                    taken[i].take().expect("taken only at its last use")
                };
                out_cols.push(col);
            }
            let mut out = Frame {
                names,
                cols: out_cols,
                rows: input.rows,
                origins: input.origins.take(),
            };
            if load.distinct {
                out.distinct();
            }
            return Ok(out);
        }
        // Row-by-row results that depend on one input column only: one
        // evaluation per distinct value (`Upper(COUNTRY)` over a million
        // customers evaluates a hundred times).
        if filter.is_none()
            && group.is_empty()
            && !has_agg
            && order.is_empty()
            && let Some(cols) = self.project_by_value(&outs, &mut input)
        {
            let mut out = Frame {
                names,
                cols,
                rows: input.rows,
                origins: input.origins.take(),
            };
            if load.distinct {
                out.distinct();
            }
            return Ok(out);
        }
        // Input row order (ORDER BY sorts the input, stable); the fast
        // paths above need none (10M rows: 80 MB).
        let mut rows: Vec<usize> = (0..input.rows).collect();
        if !order.is_empty() {
            let cx = RowScope {
                input: Some(&input),
                ..RowScope::no_row(self)
            };
            let mut keys: Vec<Vec<Value>> = Vec::with_capacity(input.rows);
            for r in 0..input.rows {
                let rcx = RowScope {
                    iter_no: iter_of(r),
                    rec_no: rec_of(r),
                    ..cx.at(r)
                };
                let mut k = Vec::with_capacity(order.len());
                for (e, _) in &order {
                    k.push(eval(e, &rcx).map_err(|f| self.err(f))?);
                }
                keys.push(k);
            }
            rows.sort_by(|&a, &b| {
                for (i, (_, desc)) in order.iter().enumerate() {
                    let (Some(ka), Some(kb)) = (
                        keys.get(a).and_then(|k| k.get(i)),
                        keys.get(b).and_then(|k| k.get(i)),
                    ) else {
                        continue;
                    };
                    let o = expr::order(ka, kb);
                    let o = if *desc { o.reverse() } else { o };
                    if o.is_ne() {
                        return o;
                    }
                }
                std::cmp::Ordering::Equal
            });
        }
        let mut out = Frame::with_names(names);
        let track = input.origins.is_some();
        let mut origins = Vec::new();
        if has_agg || !group.is_empty() {
            // Groups in order of first appearance.
            let mut key_syms: Vec<Symbols> = group.iter().map(|_| Symbols::default()).collect();
            let mut index: HashMap<Vec<SymbolId>, usize> = HashMap::new();
            let mut groups: Vec<Vec<usize>> = Vec::new();
            let base = RowScope {
                input: Some(&input),
                ..RowScope::no_row(self)
            };
            for &r in &rows {
                let rcx = RowScope {
                    iter_no: iter_of(r),
                    rec_no: rec_of(r),
                    ..base.at(r)
                };
                if let Some(f) = &filter
                    && !truthy(&eval(f, &rcx).map_err(|f| self.err(f))?)
                {
                    continue;
                }
                let mut key = Vec::with_capacity(group.len());
                for (g, syms) in group.iter().zip(key_syms.iter_mut()) {
                    key.push(syms.intern(eval(g, &rcx).map_err(|f| self.err(f))?));
                }
                let next = groups.len();
                let gi = *index.entry(key).or_insert(next);
                if gi == next {
                    groups.push(Vec::new());
                }
                if let Some(g) = groups.get_mut(gi) {
                    g.push(r);
                }
            }
            if groups.is_empty() && group.is_empty() {
                // Aggregating no rows still gives one row (Sum = 0, …).
                groups.push(Vec::new());
            }
            for g in &groups {
                let first = g.first().copied();
                let vals = {
                    let cx = RowScope {
                        input: first.map(|_| &input),
                        row: first.unwrap_or(0),
                        rec_no: first.map_or(0, rec_of),
                        row_no: out.rows + 1,
                        iter_no: first.map_or(1, iter_of),
                        out: Some(&out),
                        group: Some(g),
                        env: self,
                    };
                    let mut vals = Vec::with_capacity(outs.len());
                    for (_, e) in &outs {
                        vals.push(eval(e, &cx).map_err(|f| self.err(f))?);
                    }
                    vals
                };
                for (c, v) in out.cols.iter_mut().zip(vals) {
                    c.push(v);
                }
                out.rows += 1;
                if track {
                    origins.push(
                        first
                            .and_then(|f| input.origins.as_ref().and_then(|o| o.get(f)).copied())
                            .unwrap_or_default(),
                    );
                }
            }
        } else {
            let generators: Vec<bool> = outs
                .iter()
                .map(|(_, e)| matches!(e, CExpr::Call { f: Func::SubField, args, .. } if args.len() == 2))
                .collect();
            let any_gen = generators.iter().any(|&g| g);
            for &r in &rows {
                let rows_out: Vec<Vec<Value>> = {
                    let cx = RowScope {
                        input: Some(&input),
                        row: r,
                        rec_no: rec_of(r),
                        row_no: out.rows + 1,
                        iter_no: iter_of(r),
                        out: Some(&out),
                        group: None,
                        env: self,
                    };
                    if let Some(f) = &filter
                        && !truthy(&eval(f, &cx).map_err(|f| self.err(f))?)
                    {
                        continue;
                    }
                    if any_gen {
                        let mut per_field: Vec<Vec<Value>> = Vec::with_capacity(outs.len());
                        for ((_, e), &gen_field) in outs.iter().zip(&generators) {
                            if gen_field {
                                per_field.push(self.subfield_parts(e, &cx)?);
                            } else {
                                per_field.push(vec![eval(e, &cx).map_err(|f| self.err(f))?]);
                            }
                        }
                        cartesian(&per_field)
                    } else {
                        let mut vals = Vec::with_capacity(outs.len());
                        for (_, e) in &outs {
                            vals.push(eval(e, &cx).map_err(|f| self.err(f))?);
                        }
                        vec![vals]
                    }
                };
                for vals in rows_out {
                    for (c, v) in out.cols.iter_mut().zip(vals) {
                        c.push(v);
                    }
                    out.rows += 1;
                    if track {
                        origins.push(
                            input
                                .origins
                                .as_ref()
                                .and_then(|o| o.get(r))
                                .copied()
                                .unwrap_or_default(),
                        );
                    }
                }
            }
        }
        if track {
            out.origins = Some(origins);
        }
        if load.distinct {
            out.distinct();
        }
        Ok(out)
    }

    /// The rows `WHERE [NOT] Exists(F[, G])` keeps (`filter`), decided
    /// once per distinct value of the tested column; `None` when this does
    /// not apply, and the row path decides. `G` is a column, or an
    /// expression of one column built from [`pure`] parts (`Exists(F)`
    /// tests the column `F`); the load's fields are plain columns or such
    /// expressions (row numbers would change when rows are dropped first).
    ///
    /// As the row path does, a value exists when model field `F` has it or
    /// when an output row so far has it under `F`. Only a plain `G` output
    /// as `F` can add values that way (its state turns to "exists" when a
    /// row is kept); any other output named `F` gives `None`.
    fn exists_rows(
        &self,
        filter: &CExpr,
        outs: &[(String, CExpr)],
        input: &Frame,
    ) -> Option<Vec<usize>> {
        let (negated, call) = match filter {
            CExpr::Unary(crate::script::ast::UnaryOp::Not, inner) => (true, &**inner),
            other => (false, other),
        };
        let CExpr::Call {
            f: Func::Exists,
            args,
            ..
        } = call
        else {
            return None;
        };
        let field = match args.first()? {
            CExpr::Name(n) => n.clone(),
            CExpr::Lit(Value::Text(t)) => t.to_string(),
            _ => return None,
        };
        let value = args.get(1)?;
        let mut tested = None;
        if !pure(value, &mut tested) {
            return None;
        }
        let tested = tested?;
        let plain = as_column(value).is_some();
        let mut tracks = false;
        for (name, e) in outs {
            if !pure(e, &mut None) {
                return None;
            }
            if *name == field {
                if !plain || as_column(e) != Some(tested) {
                    return None;
                }
                tracks = true;
            }
        }
        let column = input.cols.get(tested)?;
        let model = crate::load::expr::Env::field(self, &field).and_then(|(m, id)| m.symbols(id));
        let base = RowScope {
            input: Some(input),
            ..RowScope::no_row(self)
        };
        // Per input symbol (slot 0: NULL): 0 not decided yet, 1 exists,
        // 2 does not.
        let mut state = vec![0u8; column.syms.len() + 1];
        let mut keep = Vec::new();
        for (r, &id) in column.ids.iter().enumerate() {
            let slot = if id.is_null() { 0 } else { id.index() + 1 };
            let s = state.get_mut(slot)?;
            if *s == 0 {
                // The row's value: the symbol, or the expression at the
                // first row holding it. NULL never exists.
                let v = if !plain {
                    eval(value, &base.at(r)).ok()?
                } else if id.is_null() {
                    Value::Null
                } else {
                    column.syms.get(id)?
                };
                let found = !v.is_null() && model.is_some_and(|m| m.lookup(&v).is_some());
                *s = if found { 1 } else { 2 };
            }
            let exists = *s == 1;
            if exists != negated {
                keep.push(r);
                if tracks && !id.is_null() {
                    // Output under `F`: its value now exists.
                    *s = 1;
                }
            }
        }
        Some(keep)
    }

    /// The output columns of a load without WHERE, grouping or ordering
    /// whose every field is a function of at most one input column built
    /// from [`pure`] parts; `None` otherwise, or when an evaluation fails
    /// (the row-by-row path then reports it where it always did).
    ///
    /// Each distinct input value is evaluated once, at its first row, and
    /// the results interned in first-row order: the ids are those the
    /// row-by-row path gives.
    fn project_by_value(
        &self,
        outs: &[(String, CExpr)],
        input: &mut Frame,
    ) -> Option<Vec<FrameColumn>> {
        let sources: Vec<Option<usize>> = outs
            .iter()
            .map(|(_, e)| {
                let mut col = None;
                pure(e, &mut col).then_some(col)
            })
            .collect::<Option<_>>()?;
        if input.rows == 0 {
            return None;
        }
        let base = RowScope {
            input: Some(input),
            ..RowScope::no_row(self)
        };
        // Plain references move (or copy) their column afterwards.
        let plain: Vec<Option<usize>> = outs.iter().map(|(_, e)| as_column(e)).collect();
        let mut cols = Vec::with_capacity(outs.len());
        for (((_, e), source), plain) in outs.iter().zip(sources).zip(&plain) {
            let mut out = FrameColumn::default();
            if plain.is_some() {
                cols.push(out);
                continue;
            }
            let Some(c) = source else {
                // No column: one value for every row.
                let id = out.syms.intern(eval(e, &base.at(0)).ok()?);
                out.ids = vec![id; input.rows];
                cols.push(out);
                continue;
            };
            let ids = &input.cols.get(c)?.ids;
            // First row of each input symbol (slot 0: NULL).
            let n = input.cols.get(c)?.syms.len();
            let slot = |id: SymbolId| if id.is_null() { 0 } else { id.index() + 1 };
            let mut first = vec![usize::MAX; n + 1];
            for (r, &id) in ids.iter().enumerate() {
                if let Some(f) = first.get_mut(slot(id))
                    && *f == usize::MAX
                {
                    *f = r;
                }
            }
            let mut order: Vec<usize> = (0..=n)
                .filter(|&s| first.get(s).is_some_and(|&f| f != usize::MAX))
                .collect();
            order.sort_by_key(|&s| first.get(s).copied());
            let mut map = vec![SymbolId::NULL; n + 1];
            for s in order {
                let r = first.get(s).copied()?;
                let id = out.syms.intern(eval(e, &base.at(r)).ok()?);
                if let Some(m) = map.get_mut(s) {
                    *m = id;
                }
            }
            out.ids = ids
                .iter()
                .map(|&id| {
                    #[expect(
                        clippy::indexing_slicing,
                        reason = "INVARIANT: slot(id) <= n for every id of the column (NULL or below syms.len() = n), and map holds n + 1"
                    )]
                    map[slot(id)]
                })
                .collect();
            cols.push(out);
        }
        for (k, (slot, &from)) in cols.iter_mut().zip(&plain).enumerate() {
            let Some(i) = from else { continue };
            let again = plain
                .get(k + 1..)
                .is_some_and(|rest| rest.contains(&Some(i)));
            let col = input.cols.get_mut(i)?;
            *slot = if again {
                col.clone()
            } else {
                std::mem::take(col)
            };
        }
        Some(cols)
    }

    /// The parts of a two-argument `SubField` (one output row each).
    fn subfield_parts(&self, e: &CExpr, cx: &RowScope<'_>) -> R<Vec<Value>> {
        let CExpr::Call { args, .. } = e else {
            return Ok(vec![Value::Null]);
        };
        let (Some(a), Some(b)) = (args.first(), args.get(1)) else {
            return Ok(vec![Value::Null]);
        };
        let t = eval(a, cx).map_err(|f| self.err(f))?;
        let d = eval(b, cx).map_err(|f| self.err(f))?;
        if t.is_null() {
            return Ok(vec![Value::Null]);
        }
        let text = t.text().into_owned();
        let delim = d.text().into_owned();
        if delim.is_empty() {
            return Ok(vec![expr::text(text)]);
        }
        Ok(text.split(delim.as_str()).map(expr::text).collect())
    }
}

/// Every combination of one value per field, fields in order (the rows a
/// two-argument `SubField` generates).
fn cartesian(per_field: &[Vec<Value>]) -> Vec<Vec<Value>> {
    let mut rows: Vec<Vec<Value>> = vec![Vec::new()];
    for options in per_field {
        let mut next = Vec::with_capacity(rows.len() * options.len().max(1));
        for r in &rows {
            for o in options {
                let mut r2 = r.clone();
                r2.push(o.clone());
                next.push(r2);
            }
        }
        rows = next;
    }
    rows
}

/// True when `e` depends on the input row only through the values of its
/// columns, all of them `col` (set to the first column met): literals,
/// operators and functions of their arguments alone. Variables, row
/// numbers, lookups of other rows or of the model, and aggregations are
/// not.
fn pure(e: &CExpr, col: &mut Option<usize>) -> bool {
    match e {
        CExpr::Lit(_) => true,
        CExpr::Col(i) => match col {
            Some(c) => c == i,
            None => {
                *col = Some(*i);
                true
            }
        },
        CExpr::Unary(_, a) => pure(a, col),
        CExpr::Binary(_, a, b) => pure(a, col) && pure(b, col),
        CExpr::Call { f, args, .. } => f.is_pure() && args.iter().all(|a| pure(a, col)),
        CExpr::Var(_) | CExpr::Name(_) | CExpr::Star => false,
    }
}
