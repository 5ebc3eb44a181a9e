//! Aggregation functions over the rows of a GROUP BY group: `Sum`,
//! `Count`, `Min`, `Max`, `Avg`, `Only`, `Concat`, `MinString`,
//! `MaxString`, with `DISTINCT`.

use std::cmp::Ordering;

use crate::load::error::Fail;
use crate::model::{Symbols, Value};
use crate::script::source::Span;

use super::bad;
use crate::load::expr::{CExpr, RowScope, eval, num_of, number, text};

/// An aggregation function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AggregationFn {
    Sum,
    Count,
    Min,
    Max,
    Avg,
    Only,
    Concat,
    MinString,
    MaxString,
}

/// Evaluates an aggregation over `cx`'s group.
pub(super) fn call(
    f: AggregationFn,
    args: &[CExpr],
    distinct: bool,
    span: Span,
    cx: &RowScope<'_>,
) -> Result<Value, Fail> {
    let Some(group) = cx.group else {
        return Err(bad(span, "aggregation functions only work inside a LOAD"));
    };
    let Some(inner) = args.first() else {
        return Ok(Value::Null);
    };
    let mut values: Vec<Value> = Vec::with_capacity(group.len());
    let mut weights: Vec<f64> = Vec::new();
    for &r in group {
        let rcx = cx.at(r);
        if matches!(inner, CExpr::Star) {
            values.push(Value::Num(1.0));
        } else {
            values.push(eval(inner, &rcx)?);
        }
        if f == AggregationFn::Concat && args.len() > 2 {
            weights.push(
                args.get(2)
                    .map_or(Ok(Value::Null), |e| eval(e, &rcx))
                    .map(|v| num_of(&v).unwrap_or(0.0))?,
            );
        }
    }
    if distinct {
        let mut seen = Symbols::default();
        let mut keep = Vec::new();
        let mut keep_w = Vec::new();
        for (i, v) in values.into_iter().enumerate() {
            let before = seen.len();
            seen.intern(v.clone());
            if seen.len() > before {
                keep.push(v);
                if let Some(&w) = weights.get(i) {
                    keep_w.push(w);
                }
            }
        }
        values = keep;
        weights = keep_w;
    }
    let nums = || values.iter().filter_map(Value::num);
    Ok(match f {
        AggregationFn::Sum => number(nums().sum()),
        AggregationFn::Count => Value::Num(values.iter().filter(|v| !v.is_null()).count() as f64),
        AggregationFn::Min => nums().reduce(f64::min).map_or(Value::Null, number),
        AggregationFn::Max => nums().reduce(f64::max).map_or(Value::Null, number),
        AggregationFn::Avg => {
            let n: Vec<f64> = nums().collect();
            if n.is_empty() {
                Value::Null
            } else {
                number(n.iter().sum::<f64>() / n.len() as f64)
            }
        }
        AggregationFn::Only => {
            let mut it = values.iter().filter(|v| !v.is_null());
            match it.next() {
                Some(first) if it.all(|v| v.same_as(first)) => first.clone(),
                _ => Value::Null,
            }
        }
        AggregationFn::MinString | AggregationFn::MaxString => {
            let it = values.iter().filter(|v| !v.is_null());
            let pick = if f == AggregationFn::MinString {
                it.min_by(|a, b| a.text().cmp(&b.text()))
            } else {
                it.max_by(|a, b| a.text().cmp(&b.text()))
            };
            pick.cloned().unwrap_or(Value::Null)
        }
        AggregationFn::Concat => {
            let delim = match args.get(1) {
                Some(e) => eval(e, cx)?.text().into_owned(),
                None => String::new(),
            };
            let mut items: Vec<(f64, String)> = values
                .iter()
                .enumerate()
                .filter(|(_, v)| !v.is_null())
                .map(|(i, v)| {
                    (
                        weights.get(i).copied().unwrap_or(0.0),
                        v.text().into_owned(),
                    )
                })
                .collect();
            if !weights.is_empty() {
                items.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal));
            }
            let parts: Vec<String> = items.into_iter().map(|(_, t)| t).collect();
            text(parts.join(&delim))
        }
    })
}
