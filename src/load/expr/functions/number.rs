//! Number functions: `Num`/`Num#` formatting and reading, `Dual`,
//! rounding, arithmetic (`Mod`, `Div`, `Sqrt`, `Pow` …) and the `Range*`
//! functions over their arguments.

use std::sync::Arc;

use crate::load::error::{Fail, LoadErrorKind};
use crate::model::{Value, format_number, parse_number};
use crate::script::source::Span;

use super::date::variable_or;
use super::{ev, ev_num};
use crate::load::expr::boolean;
use crate::load::expr::{CExpr, RowScope, num_of, number};

/// A number function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NumberFn {
    Num,
    NumHash,
    Dual,
    Floor,
    Ceil,
    Round,
    Fabs,
    Sign,
    Mod,
    Div,
    Sqrt,
    Exp,
    Log,
    Log10,
    Pow,
    RangeSum,
    RangeMin,
    RangeMax,
    Even,
    Odd,
    Fmod,
    Frac,
    Fact,
    Combin,
    Permut,
    BitCount,
    Money,
    MoneyHash,
    Pi,
    E,
    Sin,
    Cos,
    Tan,
    ASin,
    ACos,
    ATan,
    ATan2,
    SinH,
    CosH,
    TanH,
    Sqr,
    RangeAvg,
    RangeCount,
    RangeNullCount,
    RangeNumericCount,
    RangeTextCount,
    RangeMissingCount,
    RangeOnly,
    RangeMode,
    RangeStdev,
    RangeMaxString,
    RangeMinString,
    RangeFractile,
    RangeFractileExc,
    RangeSkew,
    RangeKurtosis,
    RangeCorrel,
    Fv,
    Pv,
    Pmt,
    NPer,
    RangeNpv,
    RangeIrr,
    RangeXnpv,
    RangeXirr,
}

/// Evaluates a number function.
pub(super) fn call(
    f: NumberFn,
    args: &[CExpr],
    span: Span,
    cx: &RowScope<'_>,
) -> Result<Value, Fail> {
    Ok(match f {
        NumberFn::Num => {
            let v = ev(args, 0, cx)?;
            let Some(n) = num_of(&v) else {
                return Ok(Value::Null);
            };
            if args.len() < 2 {
                return Ok(Value::Dual(n, Arc::from(format_number(n))));
            }
            let fmt = text_arg!(args, cx, 1);
            let dec = text_arg!(args, cx, 2, or ".");
            let thou = text_arg!(args, cx, 3, or ",");
            Value::Dual(n, Arc::from(format_num(n, &fmt, &dec, &thou)))
        }
        NumberFn::NumHash => {
            let t = text_arg!(args, cx, 0);
            let dec = text_arg!(args, cx, 2, or ".");
            let thou = text_arg!(args, cx, 3, or "");
            match parse_formatted(&t, &dec, &thou) {
                Some(n) => Value::Dual(n, Arc::from(t.as_str())),
                None => Value::Null,
            }
        }
        NumberFn::Dual => {
            let t = text_arg!(args, cx, 0);
            let n = num_arg!(args, cx, 1);
            Value::Dual(n, Arc::from(t.as_str()))
        }
        NumberFn::Floor | NumberFn::Ceil | NumberFn::Round => {
            let x = num_arg!(args, cx, 0);
            let step = if args.len() > 1 {
                num_arg!(args, cx, 1)
            } else {
                1.0
            };
            let off = if args.len() > 2 {
                num_arg!(args, cx, 2)
            } else {
                0.0
            };
            if step == 0.0 {
                return Ok(Value::Null);
            }
            let q = (x - off) / step;
            let r = match f {
                NumberFn::Floor => q.floor(),
                NumberFn::Ceil => q.ceil(),
                // Qlik rounds halves up (towards +infinity).
                _ => (q + 0.5).floor(),
            };
            number(r * step + off)
        }
        NumberFn::Fabs => number(num_arg!(args, cx, 0).abs()),
        NumberFn::Sign => {
            let x = num_arg!(args, cx, 0);
            Value::Num(if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            })
        }
        NumberFn::Mod => {
            let a = num_arg!(args, cx, 0).trunc();
            let b = num_arg!(args, cx, 1).trunc();
            if b == 0.0 {
                Value::Null
            } else {
                number(a.rem_euclid(b.abs()))
            }
        }
        NumberFn::Div => {
            let a = num_arg!(args, cx, 0);
            let b = num_arg!(args, cx, 1);
            if b == 0.0 {
                Value::Null
            } else {
                number((a / b).trunc())
            }
        }
        NumberFn::Sqrt => number(num_arg!(args, cx, 0).sqrt()),
        NumberFn::Exp => number(num_arg!(args, cx, 0).exp()),
        NumberFn::Log => number(num_arg!(args, cx, 0).ln()),
        NumberFn::Log10 => number(num_arg!(args, cx, 0).log10()),
        NumberFn::Pow => number(num_arg!(args, cx, 0).powf(num_arg!(args, cx, 1))),
        NumberFn::RangeSum | NumberFn::RangeMin | NumberFn::RangeMax => {
            let mut acc: Option<f64> = None;
            for i in 0..args.len() {
                if let Some(x) = ev_num(args, i, cx)? {
                    acc = Some(match (acc, f) {
                        (None, _) => x,
                        (Some(a), NumberFn::RangeSum) => a + x,
                        (Some(a), NumberFn::RangeMin) => a.min(x),
                        (Some(a), _) => a.max(x),
                    });
                }
            }
            match (acc, f) {
                (None, NumberFn::RangeSum) => Value::Num(0.0),
                (None, _) => Value::Null,
                (Some(a), _) => number(a),
            }
        }
        NumberFn::Even | NumberFn::Odd => {
            let x = num_arg!(args, cx, 0);
            if x.fract() != 0.0 {
                return Ok(Value::Null);
            }
            let even = x.rem_euclid(2.0) == 0.0;
            boolean(even == (f == NumberFn::Even))
        }
        NumberFn::Fmod => {
            let a = num_arg!(args, cx, 0);
            let b = num_arg!(args, cx, 1);
            // The remainder of the division truncated towards zero: the
            // sign of `a` (fmod(-9, 2) is -1).
            if b == 0.0 { Value::Null } else { number(a % b) }
        }
        NumberFn::Frac => {
            let x = num_arg!(args, cx, 0);
            // Qlik's frac(-1.4) is 0.6: what is left above the floor.
            number(x - x.floor())
        }
        NumberFn::Fact => {
            let n = num_arg!(args, cx, 0);
            if n < 0.0 || n.fract() != 0.0 {
                return Ok(Value::Null);
            }
            // Past 170! the product is no finite number: NULL, without
            // multiplying that far.
            if n > 170.0 {
                return Ok(Value::Null);
            }
            number((1..=n as u64).map(|k| k as f64).product())
        }
        NumberFn::Combin | NumberFn::Permut => {
            let n = num_arg!(args, cx, 0).trunc();
            let k = num_arg!(args, cx, 1).trunc();
            if n < 0.0 || k < 0.0 || k > n {
                return Ok(Value::Null);
            }
            // Combin(n, k) = Combin(n, n - k): the shorter product.
            let k = if f == NumberFn::Combin {
                k.min(n - k)
            } else {
                k
            };
            let mut r = 1.0;
            for i in 0..k as u64 {
                r *= n - i as f64;
                if f == NumberFn::Combin {
                    r /= i as f64 + 1.0;
                }
                // Once infinite it stays so: stop (the call is NULL).
                if !r.is_finite() {
                    break;
                }
            }
            number(r.round())
        }
        NumberFn::BitCount => {
            let x = num_arg!(args, cx, 0);
            Value::Num(f64::from((x as i64).count_ones()))
        }
        NumberFn::Money => {
            let v = ev(args, 0, cx)?;
            let Some(n) = num_of(&v) else {
                return Ok(Value::Null);
            };
            let fmt = text_arg!(args, cx, 1, or money_format(cx));
            let dec = text_arg!(args, cx, 2, or variable_or(cx, "MoneyDecimalSep", "."));
            let thou = text_arg!(args, cx, 3, or variable_or(cx, "MoneyThousandSep", ","));
            Value::Dual(n, Arc::from(format_pattern(n, &fmt, &dec, &thou)))
        }
        NumberFn::MoneyHash => {
            let t = text_arg!(args, cx, 0);
            let fmt = text_arg!(args, cx, 1, or money_format(cx));
            let dec = text_arg!(args, cx, 2, or variable_or(cx, "MoneyDecimalSep", "."));
            let thou = text_arg!(args, cx, 3, or variable_or(cx, "MoneyThousandSep", ","));
            match parse_money(&t, &fmt, &dec, &thou) {
                Some(n) => Value::Dual(n, Arc::from(t.as_str())),
                None => Value::Null,
            }
        }
        NumberFn::Pi => Value::Num(std::f64::consts::PI),
        NumberFn::E => Value::Num(std::f64::consts::E),
        NumberFn::Sin => number(num_arg!(args, cx, 0).sin()),
        NumberFn::Cos => number(num_arg!(args, cx, 0).cos()),
        NumberFn::Tan => number(num_arg!(args, cx, 0).tan()),
        NumberFn::ASin => number(num_arg!(args, cx, 0).asin()),
        NumberFn::ACos => number(num_arg!(args, cx, 0).acos()),
        NumberFn::ATan => number(num_arg!(args, cx, 0).atan()),
        NumberFn::ATan2 => number(num_arg!(args, cx, 0).atan2(num_arg!(args, cx, 1))),
        NumberFn::SinH => number(num_arg!(args, cx, 0).sinh()),
        NumberFn::CosH => number(num_arg!(args, cx, 0).cosh()),
        NumberFn::TanH => number(num_arg!(args, cx, 0).tanh()),
        NumberFn::Sqr => {
            let x = num_arg!(args, cx, 0);
            number(x * x)
        }
        NumberFn::Fv | NumberFn::Pv | NumberFn::Pmt | NumberFn::NPer => {
            // Excel's annuity formulas, which Qlik's help follows
            // (FV(0.005, 36, -20) is $786.72). The third and fourth
            // arguments differ by function: FV(rate, nper, pmt, pv),
            // PV(rate, nper, pmt, fv), Pmt(rate, nper, pv, fv),
            // nPer(rate, pmt, pv, fv); the fifth is the type.
            let rate = num_arg!(args, cx, 0);
            let b = num_arg!(args, cx, 1);
            let c = num_arg!(args, cx, 2);
            let d = if args.len() > 3 {
                num_arg!(args, cx, 3)
            } else {
                0.0
            };
            let due = if args.len() > 4 {
                num_arg!(args, cx, 4) != 0.0
            } else {
                false
            };
            let which = match f {
                NumberFn::Fv => Annuity::Fv,
                NumberFn::Pv => Annuity::Pv,
                NumberFn::Pmt => Annuity::Pmt,
                _ => Annuity::NPer,
            };
            let r = annuity(which, rate, b, c, d, due);
            match f {
                NumberFn::NPer => r.map_or(Value::Null, number),
                _ => match r.filter(|x| x.is_finite()) {
                    Some(x) => money(x, cx),
                    None => Value::Null,
                },
            }
        }
        NumberFn::RangeNpv | NumberFn::RangeIrr => {
            // A value that is not a number keeps its period (Qlik's help:
            // RangeIRR(-2000, NULL, 7000) is 0.8708).
            let with_rate = f == NumberFn::RangeNpv;
            let rate = if with_rate {
                num_arg!(args, cx, 0)
            } else {
                0.0
            };
            let mut flows = Vec::with_capacity(args.len());
            for (period, i) in (usize::from(with_rate)..args.len()).enumerate() {
                if let Some(v) = ev_num(args, i, cx)? {
                    flows.push((v, period as f64));
                }
            }
            if with_rate {
                super::aggregation::npv(rate, &flows).map_or(Value::Null, |x| money(x, cx))
            } else {
                super::aggregation::irr(&flows).map_or(Value::Null, number)
            }
        }
        NumberFn::RangeXnpv | NumberFn::RangeXirr => {
            // (payment, date) pairs after the rate; pairs where both are
            // numbers.
            let with_rate = f == NumberFn::RangeXnpv;
            let rate = if with_rate {
                num_arg!(args, cx, 0)
            } else {
                0.0
            };
            let from = usize::from(with_rate);
            let mut flows = Vec::with_capacity(args.len() / 2);
            for i in (from..args.len().saturating_sub(1)).step_by(2) {
                let date = super::date::serial_of(&ev(args, i + 1, cx)?, cx);
                if let (Some(p), Some(d)) = (ev_num(args, i, cx)?, date) {
                    flows.push((p, d));
                }
            }
            if with_rate {
                super::aggregation::xnpv(rate, &flows).map_or(Value::Null, |x| money(x, cx))
            } else {
                super::aggregation::xirr(&flows).map_or(Value::Null, number)
            }
        }
        NumberFn::RangeCorrel => {
            // Arguments in (x, y) pairs; pairs where both are numbers.
            let mut pairs = Vec::with_capacity(args.len() / 2);
            for i in (0..args.len().saturating_sub(1)).step_by(2) {
                if let (Some(x), Some(y)) = (ev_num(args, i, cx)?, ev_num(args, i + 1, cx)?) {
                    pairs.push((x, y));
                }
            }
            super::aggregation::correl(&pairs).map_or(Value::Null, number)
        }
        NumberFn::RangeSkew | NumberFn::RangeKurtosis => {
            let mut n: Vec<f64> = Vec::new();
            for i in 0..args.len() {
                if let Some(x) = ev_num(args, i, cx)? {
                    n.push(x);
                }
            }
            let stat = if f == NumberFn::RangeSkew {
                super::aggregation::skew(&n)
            } else {
                super::aggregation::kurtosis(&n)
            };
            stat.map_or(Value::Null, number)
        }
        NumberFn::RangeFractile | NumberFn::RangeFractileExc => {
            let p = num_arg!(args, cx, 0);
            if !(0.0..=1.0).contains(&p) {
                return Ok(Value::Null);
            }
            let mut n: Vec<f64> = Vec::new();
            for i in 1..args.len() {
                if let Some(x) = ev_num(args, i, cx)? {
                    n.push(x);
                }
            }
            n.sort_by(f64::total_cmp);
            let at = if f == NumberFn::RangeFractile {
                super::aggregation::fractile(&n, p)
            } else {
                super::aggregation::fractile_exc(&n, p)
            };
            at.map_or(Value::Null, number)
        }
        NumberFn::RangeAvg
        | NumberFn::RangeCount
        | NumberFn::RangeNullCount
        | NumberFn::RangeNumericCount
        | NumberFn::RangeTextCount
        | NumberFn::RangeMissingCount
        | NumberFn::RangeOnly
        | NumberFn::RangeMode
        | NumberFn::RangeStdev
        | NumberFn::RangeMaxString
        | NumberFn::RangeMinString => {
            let mut values = Vec::with_capacity(args.len());
            for i in 0..args.len() {
                values.push(ev(args, i, cx)?);
            }
            range(f, &values, span)?
        }
    })
}

/// The `Range*` functions over their arguments' values, as the
/// aggregations of the same name treat a group's values.
fn range(f: NumberFn, values: &[Value], span: Span) -> Result<Value, Fail> {
    let nums: Vec<f64> = values.iter().filter_map(Value::num).collect();
    let present = || values.iter().filter(|v| !v.is_null());
    let count = |n: usize| Value::Num(n as f64);
    Ok(match f {
        NumberFn::RangeAvg if nums.is_empty() => Value::Null,
        NumberFn::RangeAvg => number(nums.iter().sum::<f64>() / nums.len() as f64),
        NumberFn::RangeCount => count(present().count()),
        NumberFn::RangeNullCount => count(values.iter().filter(|v| v.is_null()).count()),
        NumberFn::RangeNumericCount => count(nums.len()),
        NumberFn::RangeTextCount => count(present().filter(|v| v.num().is_none()).count()),
        NumberFn::RangeMissingCount => count(values.iter().filter(|v| v.num().is_none()).count()),
        NumberFn::RangeOnly => {
            let mut it = present();
            match it.next() {
                Some(first) if it.all(|v| v.same_as(first)) => first.clone(),
                _ => Value::Null,
            }
        }
        NumberFn::RangeMode => {
            // The most frequent value; NULL when several are.
            let mut best: Option<(&Value, usize)> = None;
            let mut tie = false;
            for v in present() {
                let n = present().filter(|w| w.same_as(v)).count();
                match best {
                    Some((b, bn)) if n == bn && !b.same_as(v) => tie = true,
                    Some((_, bn)) if n <= bn => {}
                    _ => {
                        best = Some((v, n));
                        tie = false;
                    }
                }
            }
            match best {
                Some((v, _)) if !tie => v.clone(),
                _ => Value::Null,
            }
        }
        NumberFn::RangeStdev => super::aggregation::stdev(&nums).map_or(Value::Null, number),
        NumberFn::RangeMaxString => present()
            .max_by(|a, b| a.text().cmp(&b.text()))
            .cloned()
            .unwrap_or(Value::Null),
        NumberFn::RangeMinString => present()
            .min_by(|a, b| a.text().cmp(&b.text()))
            .cloned()
            .unwrap_or(Value::Null),
        _ => {
            return Err(Fail::new(
                LoadErrorKind::Bug,
                span,
                format!("`{f:?}` is not a range function"),
            ));
        }
    })
}

/// Formats a number with a Qlik format pattern such as `#,##0.00`, `0000`
/// or `0.0%`.
fn format_num(n: f64, fmt: &str, dec: &str, thou: &str) -> String {
    let percent = fmt.contains('%');
    let x = if percent { n * 100.0 } else { n };
    let core: String = fmt
        .chars()
        .filter(|c| matches!(c, '0' | '#' | '.' | ','))
        .collect();
    let (int_pat, frac_pat) = match core.split_once('.') {
        Some((i, f)) => (i.to_string(), f.to_string()),
        None => (core.clone(), String::new()),
    };
    let decimals = frac_pat.chars().filter(|c| matches!(c, '0' | '#')).count();
    let min_int = int_pat.chars().filter(|&c| c == '0').count();
    let group = int_pat.contains(',');
    let s = format!("{:.*}", decimals, x.abs());
    let (ip, fp) = match s.split_once('.') {
        Some((i, f)) => (i.to_string(), f.to_string()),
        None => (s.clone(), String::new()),
    };
    let mut ip = if ip == "0" && min_int == 0 {
        String::new()
    } else {
        ip
    };
    while ip.len() < min_int {
        ip.insert(0, '0');
    }
    if group && ip.len() > 3 {
        let digits: Vec<char> = ip.chars().collect();
        let mut g = String::new();
        for (i, c) in digits.iter().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                g.push_str(thou);
            }
            g.push(*c);
        }
        ip = g;
    }
    let mut out = String::new();
    if x < 0.0 && (ip.chars().any(|c| c != '0') || fp.chars().any(|c| c != '0')) {
        out.push('-');
    }
    out.push_str(&ip);
    if decimals > 0 {
        out.push_str(dec);
        out.push_str(&fp);
    }
    if percent {
        out.push('%');
    }
    out
}

/// What an annuity formula solves for.
#[derive(Clone, Copy)]
enum Annuity {
    Fv,
    Pv,
    Pmt,
    NPer,
}

/// FV, PV, Pmt or nPer (see the call) with payments at the period's end,
/// or its start when `due`.
fn annuity(f: Annuity, rate: f64, b: f64, c: f64, d: f64, due: bool) -> Option<f64> {
    let t = if due { 1.0 + rate } else { 1.0 };
    Some(match f {
        Annuity::Fv => {
            let (n, pmt, pv) = (b, c, d);
            if rate == 0.0 {
                -(pv + pmt * n)
            } else {
                let g = (1.0 + rate).powf(n);
                -(pv * g + pmt * t * (g - 1.0) / rate)
            }
        }
        Annuity::Pv => {
            let (n, pmt, fv) = (b, c, d);
            if rate == 0.0 {
                -(fv + pmt * n)
            } else {
                let g = (1.0 + rate).powf(n);
                -(fv + pmt * t * (g - 1.0) / rate) / g
            }
        }
        Annuity::Pmt => {
            let (n, pv, fv) = (b, c, d);
            if rate == 0.0 {
                if n == 0.0 {
                    return None;
                }
                -(fv + pv) / n
            } else {
                let g = (1.0 + rate).powf(n);
                -(rate * (fv + pv * g)) / (t * (g - 1.0))
            }
        }
        Annuity::NPer => {
            let (pmt, pv, fv) = (b, c, d);
            if rate == 0.0 {
                if pmt == 0.0 {
                    return None;
                }
                -(fv + pv) / pmt
            } else {
                let x = (pmt * t - fv * rate) / (pmt * t + pv * rate);
                if x <= 0.0 {
                    return None;
                }
                x.ln() / (1.0 + rate).ln()
            }
        }
    })
}

/// A number shown in the script's `MoneyFormat` and money separators.
pub(super) fn money(x: f64, cx: &RowScope<'_>) -> Value {
    if !x.is_finite() {
        return Value::Null;
    }
    let fmt = money_format(cx);
    let dec = variable_or(cx, "MoneyDecimalSep", ".");
    let thou = variable_or(cx, "MoneyThousandSep", ",");
    Value::Dual(x, Arc::from(format_pattern(x, &fmt, &dec, &thou)))
}

/// The script's `MoneyFormat` (Qlik's US default when unset).
fn money_format(cx: &RowScope<'_>) -> String {
    variable_or(cx, "MoneyFormat", "$#,##0.00;-$#,##0.00")
}

/// The section of a `positive;negative` pattern that shows `n`, and the
/// number it shows (a negative section shows the magnitude: its own text
/// says the sign).
fn section(n: f64, fmt: &str) -> (&str, f64) {
    match fmt.split_once(';') {
        Some((_, neg)) if n < 0.0 => (neg, -n),
        Some((pos, _)) => (pos, n),
        None => (fmt, n),
    }
}

/// The literal text before and after the digits of a pattern section
/// (`$`, ` kr`, `(` … `)`), and the digits' part between them.
fn split_literals(section: &str) -> (&str, &str, &str) {
    let is_digit = |c: char| matches!(c, '0' | '#');
    let Some(first) = section.find(is_digit) else {
        return (section, "", "");
    };
    let last = section.rfind(is_digit).map_or(first, |i| i + 1);
    let (head, rest) = section.split_at(first);
    let (core, tail) = rest.split_at(last - first);
    (head, core, tail)
}

/// Formats with a pattern that may carry literal text and a negative
/// section (`$#,##0.00;($#,##0.00)`, `#.##0,00 kr`); the pattern writes
/// its separators as `dec` and `thou`.
fn format_pattern(n: f64, fmt: &str, dec: &str, thou: &str) -> String {
    let (sec, x) = section(n, fmt);
    let (head, core, tail) = split_literals(sec);
    // The core in the `.`/`,` spelling `format_num` reads.
    let core: String = core
        .chars()
        .map(|c| {
            let s = c.to_string();
            if s == dec {
                '.'
            } else if s == thou {
                ','
            } else {
                c
            }
        })
        .collect();
    format!("{head}{}{tail}", format_num(x, &core, dec, thou))
}

/// Reads a money text: the pattern's literal text (currency symbols) is
/// dropped, a negative section's text makes the number negative.
fn parse_money(t: &str, fmt: &str, dec: &str, thou: &str) -> Option<f64> {
    let t = t.trim();
    let sections: Vec<&str> = fmt.split(';').collect();
    for (i, sec) in sections.iter().enumerate() {
        let (head, _, tail) = split_literals(sec);
        let (head, tail) = (head.trim(), tail.trim());
        if let Some(body) = t.strip_prefix(head).and_then(|b| b.strip_suffix(tail))
            && let Some(n) = parse_formatted(body.trim(), dec, thou)
        {
            return Some(if i == 1 && n > 0.0 { -n } else { n });
        }
    }
    parse_formatted(t, dec, thou)
}

fn parse_formatted(t: &str, dec: &str, thou: &str) -> Option<f64> {
    let mut s = t.trim().to_string();
    if !thou.is_empty() {
        s = s.replace(thou, "");
    }
    if dec != "." && !dec.is_empty() {
        s = s.replace(dec, ".");
    }
    let percent = s.ends_with('%');
    let s = s.trim_end_matches('%');
    parse_number(s).map(|n| if percent { n / 100.0 } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(format_num(1234.5, "#,##0.00", ".", ","), "1,234.50");
        assert_eq!(format_num(7.0, "0000", ".", ","), "0007");
        assert_eq!(format_num(0.256, "0.0%", ".", ","), "25.6%");
        assert_eq!(format_num(-1.23456, "0.00", ",", "."), "-1,23");
    }

    #[test]
    fn money_patterns_keep_their_literal_text() {
        let us = "$#,##0.00;-$#,##0.00";
        assert_eq!(format_pattern(9035.5, us, ".", ","), "$9,035.50");
        assert_eq!(format_pattern(-12.0, us, ".", ","), "-$12.00");
        assert_eq!(
            format_pattern(-12.0, "$#,##0.00;($#,##0.00)", ".", ","),
            "($12.00)"
        );
        assert_eq!(
            format_pattern(4567.89, "#.##0,00 kr", ",", "."),
            "4.567,89 kr"
        );
        assert_eq!(parse_money("$9,035.50", us, ".", ","), Some(9035.5));
        assert_eq!(parse_money("-$12.00", us, ".", ","), Some(-12.0));
        assert_eq!(
            parse_money("($12.00)", "$#,##0.00;($#,##0.00)", ".", ","),
            Some(-12.0)
        );
        assert_eq!(
            parse_money("4.567,89 kr", "#.##0,00 kr", ",", "."),
            Some(4567.89)
        );
    }

    #[test]
    fn annuities_follow_excel() {
        let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 0.005);
        assert!(close(
            annuity(Annuity::Fv, 0.005, 36.0, -20.0, 0.0, false),
            786.72
        ));
        assert!(close(
            annuity(Annuity::Pv, 0.005, 60.0, -100.0, 0.0, false),
            5172.56
        ));
        assert!(close(
            annuity(Annuity::Pmt, 0.1 / 12.0, 4.0, 5000.0, 0.0, false),
            -1276.15
        ));
        let n = annuity(Annuity::NPer, 0.005, -100.0, 5172.56, 0.0, false);
        assert!(n.is_some_and(|n| (n - 60.0).abs() < 1e-3));
        assert_eq!(
            annuity(Annuity::Fv, 0.0, 10.0, -5.0, -50.0, false),
            Some(100.0)
        );
    }
}
