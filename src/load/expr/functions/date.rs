//! Date functions: `Date`/`Date#` formatting and reading with the
//! script's `DateFormat` and month names, `MakeDate`, `Year`, `Month`,
//! `Day`, over Qlik's day serials (days since 1899-12-30).

use std::sync::Arc;

use crate::load::error::Fail;
use crate::model::{Value, parse_number};
use crate::script::source::Span;

use super::ev;
use crate::load::expr::{CExpr, RowScope};

/// A date function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DateFn {
    Date,
    DateHash,
    MakeDate,
    Year,
    Month,
    Day,
}

/// Evaluates a date function.
pub(super) fn call(
    f: DateFn,
    args: &[CExpr],
    _span: Span,
    cx: &RowScope<'_>,
) -> Result<Value, Fail> {
    Ok(match f {
        DateFn::Date => {
            let n = num_arg!(args, cx, 0);
            let fmt = text_arg!(args, cx, 1, or date_format(cx));
            Value::Dual(n, Arc::from(format_date(n, &fmt, cx)))
        }
        DateFn::DateHash => {
            let t = text_arg!(args, cx, 0);
            let fmt = text_arg!(args, cx, 1, or date_format(cx));
            match parse_date(&t, &fmt, cx) {
                Some(serial) => Value::Dual(serial, Arc::from(t.as_str())),
                None => Value::Null,
            }
        }
        DateFn::MakeDate => {
            let y = num_arg!(args, cx, 0) as i64;
            let m = if args.len() > 1 {
                num_arg!(args, cx, 1) as i64
            } else {
                1
            };
            let d = if args.len() > 2 {
                num_arg!(args, cx, 2) as i64
            } else {
                1
            };
            if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
                return Ok(Value::Null);
            }
            let serial = days_from_civil(y, m, d) as f64;
            Value::Dual(serial, Arc::from(format_date(serial, &date_format(cx), cx)))
        }
        DateFn::Year | DateFn::Month | DateFn::Day => {
            let v = ev(args, 0, cx)?;
            let serial = match v.num() {
                Some(n) => Some(n),
                None => {
                    let t = v.text().into_owned();
                    parse_date(&t, &date_format(cx), cx)
                        .or_else(|| parse_date(&t, "YYYY-MM-DD", cx))
                        .or_else(|| parse_number(t.trim()))
                }
            };
            let Some(serial) = serial else {
                return Ok(Value::Null);
            };
            let (y, m, d) = civil_from_days(serial.floor() as i64);
            match f {
                DateFn::Year => Value::Num(y as f64),
                DateFn::Day => Value::Num(d as f64),
                _ => Value::Dual(m as f64, Arc::from(month_name(m, false, cx).as_str())),
            }
        }
    })
}

fn date_format(cx: &RowScope<'_>) -> String {
    cx.env
        .variable("DateFormat")
        .map_or_else(|| String::from("YYYY-MM-DD"), str::to_string)
}

fn month_name(m: i64, long: bool, cx: &RowScope<'_>) -> String {
    const SHORT: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const LONG: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let var = if long { "LongMonthNames" } else { "MonthNames" };
    let i = usize::try_from(m - 1).unwrap_or(0);
    if let Some(list) = cx.env.variable(var)
        && let Some(name) = list.split(';').nth(i)
    {
        return name.to_string();
    }
    let table = if long { &LONG } else { &SHORT };
    table.get(i).map_or_else(String::new, |s| (*s).to_string())
}

/// Format tokens, longest first.
const TOKENS: [&str; 8] = ["YYYY", "MMMM", "MMM", "YY", "MM", "DD", "M", "D"];

fn tokenize(fmt: &str) -> Vec<Result<&'static str, char>> {
    let mut out = Vec::new();
    let mut rest = fmt;
    'outer: while !rest.is_empty() {
        for t in TOKENS {
            if rest.len() >= t.len()
                && rest
                    .get(..t.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(t))
            {
                out.push(Ok(t));
                rest = rest.get(t.len()..).unwrap_or("");
                continue 'outer;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(Err(c));
        }
        rest = chars.as_str();
    }
    out
}

fn format_date(serial: f64, fmt: &str, cx: &RowScope<'_>) -> String {
    let (y, m, d) = civil_from_days(serial.floor() as i64);
    let mut out = String::new();
    for tok in tokenize(fmt) {
        match tok {
            Ok("YYYY") => out.push_str(&format!("{y:04}")),
            Ok("YY") => out.push_str(&format!("{:02}", y.rem_euclid(100))),
            Ok("MMMM") => out.push_str(&month_name(m, true, cx)),
            Ok("MMM") => out.push_str(&month_name(m, false, cx)),
            Ok("MM") => out.push_str(&format!("{m:02}")),
            Ok("M") => out.push_str(&m.to_string()),
            Ok("DD") => out.push_str(&format!("{d:02}")),
            Ok("D") => out.push_str(&d.to_string()),
            Ok(_) => {}
            Err(c) => out.push(c),
        }
    }
    out
}

fn parse_date(t: &str, fmt: &str, cx: &RowScope<'_>) -> Option<f64> {
    let mut rest = t.trim();
    let (mut y, mut m, mut d) = (None, None, Some(1i64));
    let digits = |s: &str, max: usize| -> Option<(i64, usize)> {
        let n = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        s.get(..n)?.parse().ok().map(|v| (v, n))
    };
    for tok in tokenize(fmt) {
        match tok {
            Ok(tk @ ("YYYY" | "YY" | "MM" | "M" | "DD" | "D")) => {
                let max = match tk {
                    "YYYY" => 4,
                    _ => 2,
                };
                let (v, n) = digits(rest, max)?;
                rest = rest.get(n..)?;
                match tk {
                    "YYYY" => y = Some(v),
                    "YY" => y = Some(if v < 30 { 2000 + v } else { 1900 + v }),
                    "MM" | "M" => m = Some(v),
                    _ => d = Some(v),
                }
            }
            Ok(tk) => {
                let long = tk == "MMMM";
                let mut found = None;
                for i in 1..=12 {
                    let name = month_name(i, long, cx);
                    if !name.is_empty()
                        && rest.len() >= name.len()
                        && rest
                            .get(..name.len())
                            .is_some_and(|p| p.eq_ignore_ascii_case(&name))
                    {
                        found = Some((i, name.len()));
                        break;
                    }
                }
                let (i, n) = found?;
                m = Some(i);
                rest = rest.get(n..)?;
            }
            Err(c) => {
                rest = rest.strip_prefix(c)?;
            }
        }
    }
    if !rest.is_empty() {
        return None;
    }
    let (y, m, d) = (y?, m.unwrap_or(1), d?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d) as f64)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Qlik's date serial (days since 1899-12-30) of a civil date (Howard
/// Hinnant's algorithm, shifted from the Unix epoch).
pub(super) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468 + 25_569
}

fn civil_from_days(serial: i64) -> (i64, i64, i64) {
    let z = serial - 25_569 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serial(y: i64, m: i64, d: i64) -> i64 {
        days_from_civil(y, m, d)
    }

    #[test]
    fn date_serials_match_qlik() {
        assert_eq!(serial(1899, 12, 30), 0);
        assert_eq!(serial(2025, 1, 1), 45658);
        assert_eq!(civil_from_days(45658), (2025, 1, 1));
        assert_eq!(civil_from_days(60), (1900, 2, 28));
    }
}
