//! Aggregation functions over the rows of a GROUP BY group: `Sum`,
//! `Count`, `Min`, `Max`, `Avg`, `Only`, `Concat`, `MinString`,
//! `MaxString`, `FirstSortedValue`, `Mode`, `Median`, `Fractile`, `Stdev`
//! and the counters `NullCount`, `TextCount`, `NumericCount`,
//! `MissingCount`, with `DISTINCT`.
//!
//! Qlik's help pages ("Basic/Counter/Statistical/String aggregation
//! functions") fix the edge cases followed here: `Mode` and
//! `FirstSortedValue` give NULL when several values tie; `Median`,
//! `Fractile` and `Stdev` read numeric values only (`Stdev` is the sample
//! deviation, NULL under two values); `MissingCount` counts what is not
//! numeric, NULL included.

use std::cmp::Ordering;

use crate::load::error::{Fail, LoadErrorKind};
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
    FirstSortedValue,
    Mode,
    Median,
    Fractile,
    Stdev,
    NullCount,
    TextCount,
    NumericCount,
    MissingCount,
    FractileExc,
    Skew,
    Kurtosis,
    Sterr,
    Correl,
    Steyx,
    Npv,
    Irr,
    Xnpv,
    Xirr,
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
    if f == AggregationFn::FirstSortedValue {
        return first_sorted(args, distinct, group, cx);
    }
    if matches!(
        f,
        AggregationFn::Npv | AggregationFn::Irr | AggregationFn::Xnpv | AggregationFn::Xirr
    ) {
        return cash_flows(f, args, group, span, cx);
    }
    if matches!(f, AggregationFn::Correl | AggregationFn::Steyx) {
        // Pairs of the two arguments, rows where both are numbers.
        let (Some(a), Some(b)) = (args.first(), args.get(1)) else {
            return Ok(Value::Null);
        };
        let mut pairs = Vec::with_capacity(group.len());
        for &r in group {
            let rcx = cx.at(r);
            if let (Some(x), Some(y)) = (num_of(&eval(a, &rcx)?), num_of(&eval(b, &rcx)?)) {
                pairs.push((x, y));
            }
        }
        let stat = if f == AggregationFn::Correl {
            correl(&pairs)
        } else {
            // STEYX(y, x): the pairs come as (y, x).
            let swapped: Vec<(f64, f64)> = pairs.iter().map(|&(y, x)| (x, y)).collect();
            steyx(&swapped)
        };
        return Ok(stat.map_or(Value::Null, number));
    }
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
        AggregationFn::Mode => {
            let mut counts = Symbols::default();
            let mut n: Vec<usize> = Vec::new();
            for v in values.iter().filter(|v| !v.is_null()) {
                let id = counts.intern(v.clone());
                match n.get_mut(id.index()) {
                    Some(c) => *c += 1,
                    None => n.push(1),
                }
            }
            let most = n.iter().copied().max().unwrap_or(0);
            let mut winners = n
                .iter()
                .enumerate()
                .filter(|&(_, &c)| c == most && most > 0);
            match (winners.next(), winners.next()) {
                (Some((i, _)), None) => values
                    .iter()
                    .filter(|v| !v.is_null())
                    .find(|v| counts.lookup(v).is_some_and(|id| id.index() == i))
                    .cloned()
                    .unwrap_or(Value::Null),
                _ => Value::Null,
            }
        }
        AggregationFn::Median | AggregationFn::Fractile => {
            let fraction = if f == AggregationFn::Median {
                0.5
            } else {
                match args.get(1) {
                    Some(e) => match num_of(&eval(e, cx)?) {
                        Some(p) if (0.0..=1.0).contains(&p) => p,
                        _ => return Ok(Value::Null),
                    },
                    None => return Ok(Value::Null),
                }
            };
            let mut n: Vec<f64> = nums().collect();
            n.sort_by(f64::total_cmp);
            fractile(&n, fraction).map_or(Value::Null, number)
        }
        AggregationFn::Stdev => {
            let n: Vec<f64> = nums().collect();
            stdev(&n).map_or(Value::Null, number)
        }
        AggregationFn::Sterr => {
            let n: Vec<f64> = nums().collect();
            stdev(&n)
                .map(|s| s / (n.len() as f64).sqrt())
                .map_or(Value::Null, number)
        }
        AggregationFn::Skew => skew(&nums().collect::<Vec<_>>()).map_or(Value::Null, number),
        AggregationFn::Kurtosis => {
            kurtosis(&nums().collect::<Vec<_>>()).map_or(Value::Null, number)
        }
        AggregationFn::FractileExc => {
            let fraction = match args.get(1) {
                Some(e) => match num_of(&eval(e, cx)?) {
                    Some(p) => p,
                    None => return Ok(Value::Null),
                },
                None => return Ok(Value::Null),
            };
            let mut n: Vec<f64> = nums().collect();
            n.sort_by(f64::total_cmp);
            fractile_exc(&n, fraction).map_or(Value::Null, number)
        }
        AggregationFn::Correl
        | AggregationFn::Steyx
        | AggregationFn::Npv
        | AggregationFn::Irr
        | AggregationFn::Xnpv
        | AggregationFn::Xirr => Value::Null,
        AggregationFn::NullCount => {
            Value::Num(values.iter().filter(|v| v.is_null()).count() as f64)
        }
        AggregationFn::NumericCount => Value::Num(nums().count() as f64),
        AggregationFn::TextCount => Value::Num(
            values
                .iter()
                .filter(|v| !v.is_null() && v.num().is_none())
                .count() as f64,
        ),
        AggregationFn::MissingCount => {
            Value::Num(values.iter().filter(|v| v.num().is_none()).count() as f64)
        }
        AggregationFn::FirstSortedValue => Value::Null,
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

/// `NPV(rate, value)`, `IRR(value)`, `XNPV(rate, pmt, date)` and
/// `XIRR(pmt, date)` over the group's rows in load order; rows whose
/// value (or payment or date) is not a number take no part. NPV and XNPV
/// show in the script's `MoneyFormat`, as Qlik's help says.
fn cash_flows(
    f: AggregationFn,
    args: &[CExpr],
    group: &[usize],
    span: Span,
    cx: &RowScope<'_>,
) -> Result<Value, Fail> {
    let with_rate = matches!(f, AggregationFn::Npv | AggregationFn::Xnpv);
    let rate = if with_rate {
        match args.first() {
            Some(e) => match num_of(&eval(e, cx)?) {
                Some(r) => Some(r),
                None => return Ok(Value::Null),
            },
            None => return Ok(Value::Null),
        }
    } else {
        None
    };
    let rest = args.get(usize::from(with_rate)..).unwrap_or(&[]);
    let dated = matches!(f, AggregationFn::Xnpv | AggregationFn::Xirr);
    let mut flows: Vec<(f64, f64)> = Vec::with_capacity(group.len());
    for &r in group {
        let rcx = cx.at(r);
        let Some(v) = rest.first() else {
            return Ok(Value::Null);
        };
        let Some(amount) = num_of(&eval(v, &rcx)?) else {
            continue;
        };
        let when = if dated {
            match rest.get(1) {
                Some(d) => match super::date::serial_of(&eval(d, &rcx)?, &rcx) {
                    Some(d) => d,
                    None => continue,
                },
                None => return Ok(Value::Null),
            }
        } else {
            flows.len() as f64
        };
        flows.push((amount, when));
    }
    let result = match (f, rate) {
        (AggregationFn::Npv, Some(r)) => npv(r, &flows),
        (AggregationFn::Xnpv, Some(r)) => xnpv(r, &flows),
        (AggregationFn::Irr, _) => irr(&flows),
        (AggregationFn::Xirr, _) => xirr(&flows),
        _ => {
            return Err(Fail::new(
                LoadErrorKind::Bug,
                span,
                format!("`{f:?}` is not a cash-flow aggregation with its rate"),
            ));
        }
    };
    Ok(match result {
        Some(x) if with_rate => super::number::money(x, cx),
        Some(x) => number(x),
        None => Value::Null,
    })
}

/// Net present value of flows at whole periods 0, 1, … (each flow's
/// second part), discounted from one period before the first: Excel's
/// NPV, Qlik's `RangeNPV(0.1,-10000,3000,4200,6800)` = 1188.44.
pub(super) fn npv(rate: f64, flows: &[(f64, f64)]) -> Option<f64> {
    if rate <= -1.0 || flows.is_empty() {
        return None;
    }
    Some(
        flows
            .iter()
            .map(|(v, t)| v / (1.0 + rate).powf(t + 1.0))
            .sum(),
    )
}

/// Net present value of dated flows, discounted to the first flow's date
/// by years of 365 days (Excel's XNPV).
pub(super) fn xnpv(rate: f64, flows: &[(f64, f64)]) -> Option<f64> {
    let &(_, first) = flows.first()?;
    if rate <= -1.0 {
        return None;
    }
    Some(
        flows
            .iter()
            .map(|(v, d)| v / (1.0 + rate).powf((d - first) / 365.0))
            .sum(),
    )
}

/// The rate that brings flows at periods 0, 1, … to a present value of
/// zero; `None` without both a payment and an income, or when it is not
/// found.
pub(super) fn irr(flows: &[(f64, f64)]) -> Option<f64> {
    solve_rate(flows, |r, fl| {
        // The present value at period 0 is `npv` times (1 + r).
        npv(r, fl).map(|v| v * (1.0 + r))
    })
}

/// [`irr`] for dated flows (Excel's XIRR).
pub(super) fn xirr(flows: &[(f64, f64)]) -> Option<f64> {
    solve_rate(flows, xnpv)
}

/// The rate where `value(rate, flows)` is zero: Newton's method from 10%
/// (with a numeric slope), then halving an interval if it strays.
fn solve_rate(
    flows: &[(f64, f64)],
    value: impl Fn(f64, &[(f64, f64)]) -> Option<f64>,
) -> Option<f64> {
    if !(flows.iter().any(|f| f.0 > 0.0) && flows.iter().any(|f| f.0 < 0.0)) {
        return None;
    }
    let mut r = 0.1;
    for _ in 0..100 {
        let v = value(r, flows)?;
        let h = 1e-7 * (1.0 + r.abs());
        let slope = (value(r + h, flows)? - v) / h;
        if slope == 0.0 || !slope.is_finite() {
            break;
        }
        let next = r - v / slope;
        if !next.is_finite() || next <= -1.0 {
            break;
        }
        if (next - r).abs() < 1e-12 {
            return Some(next);
        }
        r = next;
    }
    // Bisection over (-1, 1e6) where the value changes sign.
    let (mut lo, mut hi) = (-0.999_999_999, 1e6);
    let (mut vlo, vhi) = (value(lo, flows)?, value(hi, flows)?);
    if vlo.signum() == vhi.signum() {
        return None;
    }
    for _ in 0..300 {
        let mid = (lo + hi) / 2.0;
        let vm = value(mid, flows)?;
        if vm.signum() == vlo.signum() {
            lo = mid;
            vlo = vm;
        } else {
            hi = mid;
        }
    }
    Some((lo + hi) / 2.0)
}

/// The sample standard deviation; `None` under two numbers.
pub(super) fn stdev(n: &[f64]) -> Option<f64> {
    if n.len() < 2 {
        return None;
    }
    let mean = n.iter().sum::<f64>() / n.len() as f64;
    let ss: f64 = n.iter().map(|x| (x - mean) * (x - mean)).sum();
    Some((ss / (n.len() - 1) as f64).sqrt())
}

/// The numbers' standard scores (`None` under two numbers or without
/// spread).
fn scores(n: &[f64]) -> Option<Vec<f64>> {
    let s = stdev(n).filter(|s| *s > 0.0)?;
    let mean = n.iter().sum::<f64>() / n.len() as f64;
    Some(n.iter().map(|x| (x - mean) / s).collect())
}

/// Skewness as Excel's SKEW computes it (Qlik's help: `RangeSkew(1,2,4)`
/// is 0.93521952958283); `None` under three numbers.
pub(super) fn skew(n: &[f64]) -> Option<f64> {
    if n.len() < 3 {
        return None;
    }
    let k = n.len() as f64;
    let z = scores(n)?;
    Some(k / ((k - 1.0) * (k - 2.0)) * z.iter().map(|z| z.powi(3)).sum::<f64>())
}

/// Excess kurtosis as Excel's KURT computes it (Qlik's help:
/// `RangeKurtosis(1,2,4,7)` is -0.28571428571429); `None` under four.
pub(super) fn kurtosis(n: &[f64]) -> Option<f64> {
    if n.len() < 4 {
        return None;
    }
    let k = n.len() as f64;
    let z = scores(n)?;
    let sum4: f64 = z.iter().map(|z| z.powi(4)).sum();
    Some(
        k * (k + 1.0) / ((k - 1.0) * (k - 2.0) * (k - 3.0)) * sum4
            - 3.0 * (k - 1.0) * (k - 1.0) / ((k - 2.0) * (k - 3.0)),
    )
}

/// Sums over pairs: (Σdx², Σdy², Σdxdy) around the means.
fn moments(pairs: &[(f64, f64)]) -> (f64, f64, f64) {
    let k = pairs.len() as f64;
    let mx = pairs.iter().map(|p| p.0).sum::<f64>() / k;
    let my = pairs.iter().map(|p| p.1).sum::<f64>() / k;
    pairs.iter().fold((0.0, 0.0, 0.0), |(xx, yy, xy), &(x, y)| {
        let (dx, dy) = (x - mx, y - my);
        (xx + dx * dx, yy + dy * dy, xy + dx * dy)
    })
}

/// Pearson's correlation of (x, y) pairs; `None` under two pairs or
/// without spread.
pub(super) fn correl(pairs: &[(f64, f64)]) -> Option<f64> {
    if pairs.len() < 2 {
        return None;
    }
    let (xx, yy, xy) = moments(pairs);
    (xx > 0.0 && yy > 0.0).then(|| xy / (xx * yy).sqrt())
}

/// The standard error of y predicted from x by a linear regression
/// (Excel's STEYX) over (x, y) pairs; `None` under three pairs.
fn steyx(pairs: &[(f64, f64)]) -> Option<f64> {
    if pairs.len() < 3 {
        return None;
    }
    let (xx, yy, xy) = moments(pairs);
    if xx <= 0.0 {
        return None;
    }
    let k = pairs.len() as f64;
    Some(((yy - xy * xy / xx) / (k - 2.0)).max(0.0).sqrt())
}

/// The exclusive fractile (Excel's PERCENTILE.EXC) of sorted numbers;
/// `None` when `fraction` falls outside what they can tell.
pub(super) fn fractile_exc(sorted: &[f64], fraction: f64) -> Option<f64> {
    let k = sorted.len() as f64;
    let rank = fraction * (k + 1.0);
    if !(1.0..=k).contains(&rank) {
        return None;
    }
    let lo = rank.floor() as usize;
    let (a, b) = (sorted.get(lo - 1)?, sorted.get((rank.ceil() as usize) - 1)?);
    Some(a + (b - a) * (rank - lo as f64))
}

/// The value at `fraction` of sorted numbers, interpolating between
/// neighbours (Qlik's `Fractile`; `Median` is 0.5).
pub(super) fn fractile(sorted: &[f64], fraction: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let pos = fraction * last as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let (a, b) = (sorted.get(lo)?, sorted.get(hi)?);
    Some(a + (b - a) * (pos - lo as f64))
}

/// `FirstSortedValue(value, weight[, rank])`: the value of the row with
/// the `rank`-th lowest weight (a negative rank counts from the highest);
/// NULL when another value shares that weight. Rows whose weight is not a
/// number take no part. With `DISTINCT`, equal (value, weight) pairs count
/// once.
fn first_sorted(
    args: &[CExpr],
    distinct: bool,
    group: &[usize],
    cx: &RowScope<'_>,
) -> Result<Value, Fail> {
    let (Some(value), Some(weight)) = (args.first(), args.get(1)) else {
        return Ok(Value::Null);
    };
    let rank = match args.get(2) {
        Some(e) => match num_of(&eval(e, cx)?) {
            Some(r) if r.trunc() != 0.0 => r.trunc() as i64,
            _ => return Ok(Value::Null),
        },
        None => 1,
    };
    let mut items: Vec<(f64, Value)> = Vec::with_capacity(group.len());
    for &r in group {
        let rcx = cx.at(r);
        if let Some(w) = num_of(&eval(weight, &rcx)?) {
            let v = eval(value, &rcx)?;
            if distinct && items.iter().any(|(w2, v2)| *w2 == w && v2.same_as(&v)) {
                continue;
            }
            items.push((w, v));
        }
    }
    items.sort_by(|a, b| a.0.total_cmp(&b.0));
    let index = if rank > 0 {
        usize::try_from(rank - 1).ok()
    } else {
        usize::try_from(-rank)
            .ok()
            .and_then(|k| items.len().checked_sub(k))
    };
    let Some((w, v)) = index.and_then(|i| items.get(i)) else {
        return Ok(Value::Null);
    };
    let mut ties = items.iter().filter(|(w2, _)| w2 == w);
    let alone = ties.clone().count() == 1;
    Ok(
        if alone || (distinct && ties.all(|(_, v2)| v2.same_as(v))) {
            v.clone()
        } else {
            Value::Null
        },
    )
}

#[cfg(test)]
mod tests {
    use super::fractile;

    #[test]
    fn fractiles_interpolate() {
        let n = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(fractile(&n, 0.5), Some(2.5));
        assert_eq!(fractile(&n, 0.0), Some(1.0));
        assert_eq!(fractile(&n, 1.0), Some(4.0));
        assert_eq!(fractile(&[], 0.5), None);
    }

    #[test]
    fn statistics_match_the_help_examples() {
        use super::{correl, fractile_exc, kurtosis, skew};
        let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-12);
        assert!(close(skew(&[1.0, 2.0, 4.0]), 0.935_219_529_582_83));
        assert!(close(
            kurtosis(&[1.0, 2.0, 4.0, 7.0]),
            -0.285_714_285_714_29
        ));
        let r = correl(&[(2.0, 3.0), (6.0, 8.0), (9.0, 4.0)]);
        assert!(r.is_some_and(|r| (r - 0.269).abs() < 1e-3));
        assert_eq!(fractile_exc(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.5));
        assert_eq!(fractile_exc(&[1.0, 2.0, 3.0, 4.0], 0.1), None);
    }

    #[test]
    fn cash_flows_match_the_help_examples() {
        use super::{irr, npv};
        let at = |v: &[f64]| -> Vec<(f64, f64)> {
            v.iter().enumerate().map(|(i, &x)| (x, i as f64)).collect()
        };
        let n = npv(0.1, &at(&[-10000.0, 3000.0, 4200.0, 6800.0]));
        assert!(n.is_some_and(|n| (n - 1188.44).abs() < 0.005), "{n:?}");
        let r = irr(&at(&[
            -70000.0, 12000.0, 15000.0, 18000.0, 21000.0, 26000.0,
        ]));
        assert!(r.is_some_and(|r| (r - 0.0866).abs() < 0.00005), "{r:?}");
        // A NULL keeps its period: (-2000, NULL, 7000) is 0.8708.
        let r = irr(&[(-2000.0, 0.0), (7000.0, 2.0)]);
        assert!(r.is_some_and(|r| (r - 0.8708).abs() < 0.00005), "{r:?}");
        assert_eq!(irr(&at(&[1.0, 2.0])), None);
    }
}
