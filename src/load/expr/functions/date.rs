//! Date functions: `Date`/`Date#` formatting and reading with the
//! script's `DateFormat` and month names, `MakeDate`, `Year`, `Month`,
//! `Day`, over Qlik's day serials (days since 1899-12-30).
//!
//! Format strings: `YYYY`, `YY`, `MMMM`, `MMM`, `MM`, `M`, `DD`, `D`
//! (case-insensitive), and for times `hh`, `ss`, `fff` and `TT` (AM/PM,
//! which makes `hh` count 1–12); `mm`/`MM` is minutes right after `hh` or
//! right before `ss` (as in Qlik's `hh:mm:ss`), months elsewhere. A part in
//! `[…]` holding `fff` (`hh:mm:ss[.fff]`, Qlik's default timestamp) is
//! shown only when the time has milliseconds, and may be absent when read.

use std::sync::Arc;

use crate::load::error::Fail;
use crate::load::expr::Env;
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
    Hour,
    Minute,
    Second,
    MakeTime,
    Time,
    TimeHash,
    Timestamp,
    TimestampHash,
    Interval,
    IntervalHash,
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
            let Some(n) = in_range(num_arg!(args, cx, 0)) else {
                return Ok(Value::Null);
            };
            let fmt = text_arg!(args, cx, 1, or date_format(cx));
            Value::Dual(n, Arc::from(format_date(n, &fmt, cx.env)))
        }
        DateFn::DateHash => {
            let t = text_arg!(args, cx, 0);
            let fmt = text_arg!(args, cx, 1, or date_format(cx));
            match parse_date(&t, &fmt, cx.env) {
                Some(serial) => Value::Dual(serial, Arc::from(t.as_str())),
                None => Value::Null,
            }
        }
        DateFn::MakeDate => {
            let Some(y) = in_range(num_arg!(args, cx, 0)) else {
                return Ok(Value::Null);
            };
            let y = y as i64;
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
            Value::Dual(
                serial,
                Arc::from(format_date(serial, &date_format(cx), cx.env)),
            )
        }
        DateFn::Year | DateFn::Month | DateFn::Day => {
            let v = ev(args, 0, cx)?;
            let Some(serial) = serial_of(&v, cx) else {
                return Ok(Value::Null);
            };
            let (y, m, d) = civil_from_days(serial.floor() as i64);
            match f {
                DateFn::Year => Value::Num(y as f64),
                DateFn::Day => Value::Num(d as f64),
                _ => Value::Dual(m as f64, Arc::from(month_name(m, false, cx.env).as_str())),
            }
        }
        DateFn::Hour | DateFn::Minute | DateFn::Second => {
            let v = ev(args, 0, cx)?;
            let Some(serial) = serial_of(&v, cx) else {
                return Ok(Value::Null);
            };
            let (_, h, mi, s, _) = split_serial(serial);
            Value::Num(match f {
                DateFn::Hour => h,
                DateFn::Minute => mi,
                _ => s,
            } as f64)
        }
        DateFn::MakeTime => {
            let h = num_arg!(args, cx, 0);
            let m = if args.len() > 1 {
                num_arg!(args, cx, 1)
            } else {
                0.0
            };
            let s = if args.len() > 2 {
                num_arg!(args, cx, 2)
            } else {
                0.0
            };
            let Some(t) = in_range((h * 3600.0 + m * 60.0 + s) / 86_400.0) else {
                return Ok(Value::Null);
            };
            Value::Dual(t, Arc::from(format_date(t, &time_format(cx), cx.env)))
        }
        DateFn::Time | DateFn::Timestamp | DateFn::Interval => {
            let Some(n) = in_range(num_arg!(args, cx, 0)) else {
                return Ok(Value::Null);
            };
            let default = match f {
                DateFn::Timestamp => timestamp_format(cx),
                _ => time_format(cx),
            };
            let fmt = text_arg!(args, cx, 1, or default);
            let shown = if f == DateFn::Interval {
                format_interval(n, &fmt, cx.env)
            } else {
                format_date(n, &fmt, cx.env)
            };
            Value::Dual(n, Arc::from(shown))
        }
        DateFn::TimeHash | DateFn::TimestampHash | DateFn::IntervalHash => {
            let t = text_arg!(args, cx, 0);
            let default = match f {
                DateFn::TimestampHash => timestamp_format(cx),
                _ => time_format(cx),
            };
            let fmt = text_arg!(args, cx, 1, or default);
            let read = match f {
                DateFn::IntervalHash => parse_interval(&t, &fmt),
                DateFn::TimeHash => parse_time(&t, &fmt, cx.env),
                _ => parse_date(&t, &fmt, cx.env),
            };
            match read {
                Some(n) => Value::Dual(n, Arc::from(t.as_str())),
                None => Value::Null,
            }
        }
    })
}

/// A value as a day serial: its number, or its text read with the
/// script's `DateFormat`, then `TimestampFormat`, `TimeFormat`, then ISO dates and
/// timestamps, then as a plain number.
pub(super) fn serial_of(v: &Value, cx: &RowScope<'_>) -> Option<f64> {
    if let Some(n) = v.num() {
        return in_range(n);
    }
    if v.is_null() {
        return None;
    }
    let t = v.text().into_owned();
    parse_date(&t, &date_format(cx), cx.env)
        .or_else(|| parse_date(&t, &timestamp_format(cx), cx.env))
        .or_else(|| parse_time(&t, &time_format(cx), cx.env))
        .or_else(|| parse_date(&t, "YYYY-MM-DD", cx.env))
        .or_else(|| parse_date(&t, "YYYY-MM-DD hh:mm:ss[.fff]", cx.env))
        .or_else(|| parse_number(t.trim()))
        .and_then(in_range)
}

/// The largest day serial (either side of 1899-12-30) the date functions
/// read: some 27,000 years, past any date Qlik shows; beyond it the
/// calendar arithmetic would overflow, and a call gives NULL.
pub(super) const MAX_DAYS: f64 = 10_000_000.0;

/// `n` when it is a day serial the date functions can read.
pub(super) fn in_range(n: f64) -> Option<f64> {
    (n.is_finite() && n.abs() <= MAX_DAYS).then_some(n)
}

/// A script variable's text, or `default` when it is not set.
pub(super) fn variable_or(cx: &RowScope<'_>, name: &str, default: &str) -> String {
    cx.env
        .variable(name)
        .map_or_else(|| String::from(default), str::to_string)
}

/// The script's `TimeFormat` (Qlik's default `hh:mm:ss`).
pub(super) fn time_format(cx: &RowScope<'_>) -> String {
    variable_or(cx, "TimeFormat", "hh:mm:ss")
}

/// The script's `TimestampFormat`.
pub(super) fn timestamp_format(cx: &RowScope<'_>) -> String {
    variable_or(cx, "TimestampFormat", "YYYY-MM-DD hh:mm:ss[.fff]")
}

/// A time of day read with a time format: a fraction of a day.
fn parse_time(t: &str, fmt: &str, env: &dyn Env) -> Option<f64> {
    // A time format has no date part: read it on a fixed day.
    let day = days_from_civil(2000, 1, 1) as f64;
    let with_day = format!("2000-01-01 {}", t.trim());
    parse_date(&with_day, &format!("YYYY-MM-DD {fmt}"), env).map(|n| n - day)
}

/// A length of time read with an interval format (`hh` may pass 23, `D`
/// counts days): in days.
fn parse_interval(t: &str, fmt: &str) -> Option<f64> {
    let mut rest = t.trim();
    let negative = rest.starts_with('-');
    if negative {
        rest = rest.get(1..)?;
    }
    let mut total_ms: i64 = 0;
    let mut first = true;
    for tok in tokenize(fmt) {
        match tok {
            Ok(tk @ ("D" | "DD" | "hh" | "mm" | "MM" | "ss" | "fff")) => {
                // The leading part may have any number of digits.
                let max = if first {
                    usize::MAX
                } else if tk == "fff" {
                    3
                } else {
                    2
                };
                first = false;
                let n = rest
                    .bytes()
                    .take(max)
                    .take_while(u8::is_ascii_digit)
                    .count();
                if n == 0 {
                    return None;
                }
                let v: i64 = rest.get(..n)?.parse().ok()?;
                rest = rest.get(n..)?;
                total_ms += v * match tk {
                    "D" | "DD" => 86_400_000,
                    "hh" => 3_600_000,
                    "mm" | "MM" => 60_000,
                    "ss" => 1000,
                    _ => 10i64.pow(3 - n as u32),
                };
            }
            Ok("[" | "]") => {}
            Ok(_) => return None,
            Err(c) => rest = rest.strip_prefix(c)?,
        }
    }
    if !rest.is_empty() {
        return None;
    }
    let days = total_ms as f64 / 86_400_000.0;
    Some(if negative { -days } else { days })
}

pub(super) fn date_format(cx: &RowScope<'_>) -> String {
    cx.env
        .variable("DateFormat")
        .map_or_else(|| String::from("YYYY-MM-DD"), str::to_string)
}

pub(super) fn month_name(m: i64, long: bool, env: &dyn Env) -> String {
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
    if let Some(list) = env.variable(var)
        && let Some(name) = list.split(';').nth(i)
    {
        return name.to_string();
    }
    let table = if long { &LONG } else { &SHORT };
    table.get(i).map_or_else(String::new, |s| (*s).to_string())
}

/// Date tokens, longest first (case-insensitive).
const TOKENS: [&str; 8] = ["YYYY", "MMMM", "MMM", "YY", "MM", "DD", "M", "D"];

/// Time tokens, longest first (case-insensitive; `tt` is `TT`).
const TIME_TOKENS: [&str; 4] = ["fff", "hh", "ss", "TT"];

/// A format string as tokens (`Ok`) and literal characters (`Err`). Minutes
/// come out as `mm`; an optional `[…]` part holding `fff` as `[` … `]`.
fn tokenize(fmt: &str) -> Vec<Result<&'static str, char>> {
    let mut out = Vec::new();
    let mut rest = fmt;
    'outer: while !rest.is_empty() {
        for t in TIME_TOKENS.into_iter().chain(TOKENS) {
            if rest
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
    // `MM` right after `hh` or right before `ss` (literals between) is
    // minutes.
    let near = |toks: &[Result<&'static str, char>], i: usize, back: bool, want: &str| {
        let found = if back {
            toks.get(..i)
                .and_then(|s| s.iter().rev().find_map(|t| t.ok()))
        } else {
            toks.get(i + 1..)
                .and_then(|s| s.iter().find_map(|t| t.ok()))
        };
        found == Some(want)
    };
    let minutes: Vec<usize> = (0..out.len())
        .filter(|&i| {
            out.get(i) == Some(&Ok("MM"))
                && (near(&out, i, true, "hh") || near(&out, i, false, "ss"))
        })
        .collect();
    for i in minutes {
        if let Some(t) = out.get_mut(i) {
            *t = Ok("mm");
        }
    }
    // `[…]` around `fff`: an optional part.
    let mut open = None;
    for i in 0..out.len() {
        match out.get(i) {
            Some(Err('[')) => open = Some(i),
            Some(Err(']')) => {
                if let Some(o) = open.take()
                    && out.get(o..i).is_some_and(|g| g.contains(&Ok("fff")))
                {
                    if let Some(t) = out.get_mut(o) {
                        *t = Ok("[");
                    }
                    if let Some(t) = out.get_mut(i) {
                        *t = Ok("]");
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// A day serial's date and time parts: (days, hours, minutes, seconds,
/// milliseconds), the time rounded to the millisecond.
pub(super) fn split_serial(serial: f64) -> (i64, i64, i64, i64, i64) {
    let day = serial.floor();
    let mut ms = ((serial - day) * 86_400_000.0).round() as i64;
    let mut day = day as i64;
    if ms >= 86_400_000 {
        day += 1;
        ms -= 86_400_000;
    }
    (
        day,
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000,
    )
}

/// A day serial as text in a date, time or timestamp format (month names
/// from the script's `MonthNames`/`LongMonthNames`).
pub(in crate::load) fn format_date(serial: f64, fmt: &str, env: &dyn Env) -> String {
    render(serial, fmt, env, false)
}

/// A length of time (in days) as text: like [`format_date`], but `hh`
/// counts every hour, past 24 too (`Interval`, Excel's `[h]:mm:ss`).
pub(in crate::load) fn format_interval(days: f64, fmt: &str, env: &dyn Env) -> String {
    render(days, fmt, env, true)
}

fn render(serial: f64, fmt: &str, env: &dyn Env, interval: bool) -> String {
    let (day, h, mi, s, ms) = split_serial(serial);
    let (y, m, d) = civil_from_days(day);
    let toks = tokenize(fmt);
    let twelve = toks.contains(&Ok("TT"));
    // An interval with a day part (`D hh:mm`) counts whole days there and
    // the hours within the day.
    let days_shown = interval && toks.iter().any(|t| matches!(t, Ok("D" | "DD")));
    let hour = if interval && !days_shown {
        day * 24 + h
    } else if twelve {
        (h + 11) % 12 + 1
    } else {
        h
    };
    let mut out = String::new();
    let mut skip = false;
    for tok in toks {
        match tok {
            Ok("[") => skip = ms == 0,
            Ok("]") => skip = false,
            _ if skip => {}
            Ok("YYYY") => out.push_str(&format!("{y:04}")),
            Ok("YY") => out.push_str(&format!("{:02}", y.rem_euclid(100))),
            Ok("MMMM") => out.push_str(&month_name(m, true, env)),
            Ok("MMM") => out.push_str(&month_name(m, false, env)),
            Ok("MM") => out.push_str(&format!("{m:02}")),
            Ok("M") => out.push_str(&m.to_string()),
            Ok("DD") if days_shown => out.push_str(&format!("{day:02}")),
            Ok("D") if days_shown => out.push_str(&day.to_string()),
            Ok("DD") => out.push_str(&format!("{d:02}")),
            Ok("D") => out.push_str(&d.to_string()),
            Ok("hh") => out.push_str(&format!("{hour:02}")),
            Ok("mm") => out.push_str(&format!("{mi:02}")),
            Ok("ss") => out.push_str(&format!("{s:02}")),
            Ok("fff") => out.push_str(&format!("{ms:03}")),
            Ok("TT") => out.push_str(if h < 12 { "AM" } else { "PM" }),
            Ok(_) => {}
            Err(c) => out.push(c),
        }
    }
    out
}

pub(super) fn parse_date(t: &str, fmt: &str, env: &dyn Env) -> Option<f64> {
    let toks = tokenize(fmt);
    if toks.contains(&Ok("[")) {
        // The optional part present, then absent.
        let with: Vec<_> = toks
            .iter()
            .copied()
            .filter(|t| !matches!(t, Ok("[" | "]")))
            .collect();
        let mut inside = false;
        let without: Vec<_> = toks
            .iter()
            .copied()
            .filter(|t| {
                match t {
                    Ok("[") => inside = true,
                    Ok("]") => {
                        inside = false;
                        return false;
                    }
                    _ => {}
                }
                !inside
            })
            .collect();
        return parse_tokens(t, &with, env).or_else(|| parse_tokens(t, &without, env));
    }
    parse_tokens(t, &toks, env)
}

fn parse_tokens(t: &str, toks: &[Result<&'static str, char>], env: &dyn Env) -> Option<f64> {
    let mut rest = t.trim();
    let (mut y, mut m, mut d) = (None, None, Some(1i64));
    let (mut h, mut mi, mut s, mut ms, mut pm) = (0i64, 0i64, 0i64, 0i64, None);
    let digits = |s: &str, max: usize| -> Option<(i64, usize)> {
        let n = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        s.get(..n)?.parse().ok().map(|v| (v, n))
    };
    for &tok in toks {
        match tok {
            Ok(tk @ ("YYYY" | "YY" | "MM" | "M" | "DD" | "D" | "hh" | "mm" | "ss" | "fff")) => {
                let max = match tk {
                    "YYYY" => 4,
                    "fff" => 3,
                    _ => 2,
                };
                let (v, n) = digits(rest, max)?;
                rest = rest.get(n..)?;
                match tk {
                    "YYYY" => y = Some(v),
                    "YY" => y = Some(if v < 30 { 2000 + v } else { 1900 + v }),
                    "MM" | "M" => m = Some(v),
                    "hh" => h = v,
                    "mm" => mi = v,
                    "ss" => s = v,
                    // `.5` is 500 ms.
                    "fff" => ms = v * 10i64.pow(3 - n as u32),
                    _ => d = Some(v),
                }
            }
            Ok(tk @ ("MMM" | "MMMM")) => {
                let long = tk == "MMMM";
                let mut found = None;
                for i in 1..=12 {
                    let name = month_name(i, long, env);
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
            Ok("TT") => {
                let half = rest.get(..2)?;
                pm = Some(if half.eq_ignore_ascii_case("PM") {
                    true
                } else if half.eq_ignore_ascii_case("AM") {
                    false
                } else {
                    return None;
                });
                rest = rest.get(2..)?;
            }
            Ok(_) => {}
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
    match pm {
        Some(_) if !(1..=12).contains(&h) => return None,
        Some(true) => h = h % 12 + 12,
        Some(false) => h %= 12,
        None => {}
    }
    if h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let day = days_from_civil(y, m, d) as f64;
    let ms_of_day = ((h * 60 + mi) * 60 + s) * 1000 + ms;
    Some(day + ms_of_day as f64 / 86_400_000.0)
}

pub(super) fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Qlik's date serial (days since 1899-12-30) of a civil date (Howard
/// Hinnant's algorithm, shifted from the Unix epoch).
pub(in crate::load) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468 + 25_569
}

pub(super) fn civil_from_days(serial: i64) -> (i64, i64, i64) {
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

    /// Variables only.
    struct Vars(Vec<(&'static str, &'static str)>);

    impl Env for Vars {
        fn variable(&self, name: &str) -> Option<&str> {
            self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
        }
        fn mapping(&self, _: &str) -> Option<&crate::load::expr::Mapping> {
            None
        }
        fn field(&self, _: &str) -> Option<(&crate::model::Model, crate::model::FieldId)> {
            None
        }
        fn table(&self, _: &str) -> Option<(&crate::model::Model, &crate::model::Table)> {
            None
        }
        fn document_name(&self) -> &str {
            ""
        }
        fn file(&self) -> Option<&str> {
            None
        }
        fn note(&self, _: &'static str) {}
        fn file_path(&self, path: &str) -> std::path::PathBuf {
            std::path::PathBuf::from(path)
        }
        fn tables(&self) -> Vec<(&crate::model::Model, &crate::model::Table)> {
            Vec::new()
        }
        fn autonumber(&self, _: &str, _: Value) -> usize {
            0
        }
    }

    #[test]
    fn times_format_with_hours_minutes_seconds_and_fractions() {
        let env = Vars(vec![]);
        // 2025-01-01 13:05:09.250
        let t = 45658.0 + (13.0 * 3600.0 + 5.0 * 60.0 + 9.25) / 86400.0;
        let f = |fmt: &str| format_date(t, fmt, &env);
        assert_eq!(f("YYYY-MM-DD hh:mm:ss"), "2025-01-01 13:05:09");
        assert_eq!(f("YYYY-MM-DD hh:mm:ss[.fff]"), "2025-01-01 13:05:09.250");
        assert_eq!(f("DD.MM.YYYY hh:mm"), "01.01.2025 13:05");
        assert_eq!(f("mm:ss"), "05:09");
        assert_eq!(f("hh:mm TT"), "01:05 PM");
        assert_eq!(f("MM/DD/YYYY"), "01/01/2025");
        // The optional milliseconds are left out when there are none.
        let whole = 45658.5;
        assert_eq!(
            format_date(whole, "YYYY-MM-DD hh:mm:ss[.fff]", &env),
            "2025-01-01 12:00:00"
        );
        assert_eq!(format_date(whole, "hh TT", &env), "12 PM");
        assert_eq!(format_date(45658.0, "hh:mm TT", &env), "12:00 AM");
        // Brackets without `fff` stay literal.
        assert_eq!(format_date(45658.0, "[YYYY]", &env), "[2025]");
        // A time that rounds up to midnight is the next day.
        let late = 45658.0 + 0.999_999_999_9;
        assert_eq!(
            format_date(late, "YYYY-MM-DD hh:mm:ss", &env),
            "2025-01-02 00:00:00"
        );
        // Month names come from the script.
        let named = Vars(vec![(
            "MonthNames",
            "jan;feb;mar;apr;mai;jun;jul;aug;sep;okt;nov;des",
        )]);
        assert_eq!(
            format_date(t - 240.0, "DD-MMM-YYYY hh:mm", &named),
            "06-mai-2024 13:05"
        );
    }

    #[test]
    fn intervals_count_every_hour() {
        let env = Vars(vec![]);
        assert_eq!(format_interval(1.25, "hh:mm:ss", &env), "30:00:00");
        assert_eq!(format_interval(0.5, "hh:mm", &env), "12:00");
    }

    #[test]
    fn times_read_back() {
        let env = Vars(vec![]);
        let fmt = "YYYY-MM-DD hh:mm:ss[.fff]";
        for t in [45658.0, 45658.5, 45658.0 + 0.25 / 86400.0 + 0.5] {
            let text = format_date(t, fmt, &env);
            let back = parse_date(&text, fmt, &env).unwrap_or(f64::NAN);
            assert!((back - t).abs() < 1e-9, "{text}: {back} vs {t}");
        }
        assert_eq!(
            parse_date("2025-01-01 01:30 PM", "YYYY-MM-DD hh:mm TT", &env),
            Some(45658.0 + 13.5 / 24.0)
        );
        assert_eq!(
            parse_date("2025-01-01 25:00", "YYYY-MM-DD hh:mm", &env),
            None
        );
        assert_eq!(parse_date("2025-01-01", "YYYY-MM-DD", &env), Some(45658.0));
    }

    #[test]
    fn date_serials_match_qlik() {
        assert_eq!(serial(1899, 12, 30), 0);
        assert_eq!(serial(2025, 1, 1), 45658);
        assert_eq!(civil_from_days(45658), (2025, 1, 1));
        assert_eq!(civil_from_days(60), (1900, 2, 28));
    }
}
