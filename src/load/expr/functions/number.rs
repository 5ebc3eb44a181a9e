//! Number functions: `Num`/`Num#` formatting and reading, `Dual`,
//! rounding, arithmetic (`Mod`, `Div`, `Sqrt`, `Pow` …) and the `Range*`
//! functions over their arguments.

use std::sync::Arc;

use crate::load::error::Fail;
use crate::model::{Value, format_number, parse_number};
use crate::script::source::Span;

use super::{ev, ev_num};
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
}

/// Evaluates a number function.
pub(super) fn call(
    f: NumberFn,
    args: &[CExpr],
    _span: Span,
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
}
