//! Database values as Qlik receives them: dates, times and timestamps
//! as duals of Qlik's serial (days since 1899-12-30) and the ISO text
//! Qlik's help gives typed ODBC data (`YYYY-MM-DD`, `hh:mm:ss`,
//! `YYYY-MM-DD hh:mm:ss[.fff]`); numbers as numbers.

use std::sync::Arc;

use crate::load::expr::days_from_civil;
use crate::model::Value;

/// `YYYY-MM-DD` at the start of `t`: year, month, day and the rest.
fn ymd(t: &str) -> Option<(i64, i64, i64, &str)> {
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = t.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days)
        .contains(&d)
        .then(|| (y, m, d, t.get(10..).unwrap_or_default()))
}

/// `hh:mm:ss[.f…]` (all of `t`): the day fraction and the text Qlik shows,
/// with milliseconds when there are any.
fn hms(t: &str) -> Option<(f64, String)> {
    let (clock, fraction) = match t.split_once('.') {
        Some((c, f)) if !f.is_empty() && f.bytes().all(|c| c.is_ascii_digit()) => (c, f),
        Some(_) => return None,
        None => (t, ""),
    };
    let mut parts = clock.split(':');
    let mut next = |max: i64| -> Option<i64> {
        let p = parts.next()?;
        (p.len() == 2 && p.bytes().all(|c| c.is_ascii_digit()))
            .then(|| p.parse().ok())?
            .filter(|&v| v <= max)
    };
    let (h, m, s) = (next(24)?, next(59)?, next(60)?);
    if parts.next().is_some() {
        return None;
    }
    let micros: f64 = format!("0.{fraction}").parse().unwrap_or(0.0);
    let seconds = (h * 3600 + m * 60 + s) as f64 + micros;
    let millis = (micros * 1000.0).round() as i64;
    let text = if millis > 0 {
        format!("{h:02}:{m:02}:{s:02}.{millis:03}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    };
    Some((seconds / 86_400.0, text))
}

/// A date `YYYY-MM-DD` as a dual.
pub(super) fn date(t: &str) -> Option<Value> {
    let (y, m, d, rest) = ymd(t)?;
    rest.is_empty().then(|| {
        Value::Dual(
            days_from_civil(y, m, d) as f64,
            Arc::from(format!("{y:04}-{m:02}-{d:02}")),
        )
    })
}

/// A time `hh:mm:ss[.f…]` as a dual of its day fraction.
pub(super) fn time(t: &str) -> Option<Value> {
    let (fraction, text) = hms(t)?;
    Some(Value::Dual(fraction, Arc::from(text)))
}

/// A timestamp `YYYY-MM-DD hh:mm:ss[.f…]` (or with `T`) as a dual; the
/// second value is true when a time-zone offset (`+01`, `-05:30`) was left
/// off, the local time kept.
pub(super) fn timestamp(t: &str) -> Option<(Value, bool)> {
    let (y, m, d, rest) = ymd(t)?;
    let clock = rest.strip_prefix([' ', 'T'])?;
    let (clock, zone) = match clock.find(['+', '-', 'Z']) {
        Some(i) => (clock.get(..i)?, true),
        None => (clock, false),
    };
    let (fraction, text) = hms(clock)?;
    let serial = days_from_civil(y, m, d) as f64 + fraction;
    Some((
        Value::Dual(serial, Arc::from(format!("{y:04}-{m:02}-{d:02} {text}"))),
        zone,
    ))
}

/// A number the database printed (`42`, `-1.5`, `1e+20`); `None` for
/// `NaN` and the infinities, which stay text.
pub(super) fn number(t: &str) -> Option<Value> {
    t.trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .map(Value::Num)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(v: Option<Value>) -> String {
        match v {
            Some(Value::Dual(n, t)) => format!("{t}({n})"),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn dates_times_and_timestamps_are_duals_with_iso_text() {
        assert_eq!(shown(date("2024-01-31")), "2024-01-31(45322)");
        assert_eq!(shown(date("1899-12-30")), "1899-12-30(0)");
        assert_eq!(shown(date("2024-02-30")), "None");
        assert_eq!(shown(date("24-01-31")), "None");
        assert_eq!(shown(time("12:00:00")), "12:00:00(0.5)");
        assert_eq!(
            shown(time("06:00:00.25")),
            "06:00:00.250(0.2500028935185185)"
        );
        assert_eq!(shown(time("6:00")), "None");
        let (v, zone) = timestamp("2024-01-31 18:00:00").unwrap();
        assert_eq!(shown(Some(v)), "2024-01-31 18:00:00(45322.75)");
        assert!(!zone);
        let (v, zone) = timestamp("2024-01-31T18:00:00.5+01").unwrap();
        assert_eq!(
            shown(Some(v)),
            "2024-01-31 18:00:00.500(45322.750005787035)"
        );
        assert!(zone);
        assert!(timestamp("2024-01-31").is_none());
    }

    #[test]
    fn numbers_are_finite() {
        assert!(matches!(number("10.50"), Some(Value::Num(n)) if n == 10.5));
        assert!(matches!(number("-3"), Some(Value::Num(n)) if n == -3.0));
        assert!(number("NaN").is_none() && number("Infinity").is_none());
    }
}
