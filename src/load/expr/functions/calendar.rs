//! Calendar functions over Qlik's day serials: the start, end and name of
//! the year, quarter, month(s), week or day holding a date (`MonthStart`,
//! `QuarterName` …), whether a date lies in such a period (`InMonth`,
//! `InYearToDate` …), week numbering (`Week`, `WeekDay`, `WeekYear`,
//! `MakeWeekDate`), shifting dates (`AddMonths`, `AddYears`) and working
//! days (`NetWorkDays`, `FirstWorkDate`, `LastWorkDate`), with Qlik's
//! semantics from the help pages of "Date and time functions".
//!
//! Conventions taken from those pages:
//! - a start is the first millisecond of its period, an end the last one;
//!   both show in the script's `DateFormat` (`DayStart`/`DayEnd` in its
//!   `TimestampFormat`);
//! - `period_no` shifts by whole periods; `first_month_of_year` (1–12)
//!   starts fiscal years and quarters in another month;
//! - weeks start on `FirstWeekDay` (0 = Monday … 6 = Sunday, Monday when
//!   unset); with unbroken weeks (`BrokenWeeks` 0, the default) week 1 is
//!   the week holding January `ReferenceDay` (4 when unset or out of
//!   1–7, ISO 8601); with broken weeks week 1 is the week holding
//!   January 1 and the week's year is the date's year.

use std::sync::Arc;

use crate::load::error::Fail;
use crate::model::Value;
use crate::script::source::Span;

use super::date::{
    civil_from_days, date_format, days_from_civil, days_in_month, format_date, in_range,
    month_name, serial_of, timestamp_format, variable_or,
};
use super::{ev, ev_num};
use crate::load::expr::{CExpr, RowScope, boolean};

/// A calendar function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CalendarFn {
    YearStart,
    YearEnd,
    YearName,
    QuarterStart,
    QuarterEnd,
    QuarterName,
    MonthStart,
    MonthEnd,
    MonthName,
    MonthsStart,
    MonthsEnd,
    MonthsName,
    WeekStart,
    WeekEnd,
    WeekName,
    DayStart,
    DayEnd,
    DayName,
    LunarWeekStart,
    LunarWeekEnd,
    LunarWeekName,
    InLunarWeek,
    InLunarWeekToDate,
    InYear,
    InYearToDate,
    InQuarter,
    InQuarterToDate,
    InMonth,
    InMonthToDate,
    InMonths,
    InMonthsToDate,
    InWeek,
    InWeekToDate,
    InDay,
    InDayToDate,
    AddMonths,
    AddYears,
    Week,
    WeekYear,
    WeekDay,
    MakeWeekDate,
    Age,
    NetWorkDays,
    FirstWorkDate,
    LastWorkDate,
    DayNumberOfYear,
    DayNumberOfQuarter,
    SetDateYear,
    SetDateYearMonth,
}

/// One millisecond in days: an end is the next start less this.
const MS: f64 = 1.0 / 86_400_000.0;

/// The kind of period a function works on.
#[derive(Clone, Copy)]
enum Period {
    /// `n` months (1, 2, 3, 4, 6 or 12), aligned on a first month.
    Months { n: i64, first: i64 },
    /// A week starting on a weekday (0 = Monday).
    Week { first_day: i64 },
    /// A day starting at a fraction of the day.
    Day { start: f64 },
    /// A lunar week: seven days counted from January 1 (moved by `offset`
    /// days), the year's last week cut short at the next year's first.
    Lunar { offset: i64 },
}

impl Period {
    /// The first millisecond of the period holding `serial`, shifted by
    /// `shift` periods.
    fn start(self, serial: f64, shift: i64) -> f64 {
        match self {
            Period::Months { n, first } => {
                let (y, m, _) = civil_from_days(serial.floor() as i64);
                let mi = y * 12 + m - 1;
                let anchor = first - 1;
                let start = (mi - anchor).div_euclid(n) * n + anchor + shift * n;
                days_from_civil(start.div_euclid(12), start.rem_euclid(12) + 1, 1) as f64
            }
            Period::Week { first_day } => {
                (week_start(serial.floor() as i64, first_day) + 7 * shift) as f64
            }
            Period::Day { start } => (serial - start).floor() + start + shift as f64,
            Period::Lunar { offset } => {
                let start = lunar_start(serial.floor() as i64, offset);
                lunar_start(start + 7 * shift, offset) as f64
            }
        }
    }

    /// The first millisecond of the next period.
    fn next_start(self, serial: f64, shift: i64) -> f64 {
        self.start(serial, shift + 1)
    }

    /// `serial` moved by `shift` periods (same place in the period, the
    /// day clamped to the month's last).
    fn shift(self, serial: f64, shift: i64) -> f64 {
        match self {
            Period::Months { n, .. } => add_months(serial, n * shift, false),
            Period::Week { .. } | Period::Lunar { .. } => serial + 7.0 * shift as f64,
            Period::Day { .. } => serial + shift as f64,
        }
    }
}

/// The first day of the lunar week holding `day`, and its year's first.
fn lunar_base(day: i64, offset: i64) -> (i64, i64) {
    let (y, _, _) = civil_from_days(day - offset);
    let base = days_from_civil(y, 1, 1) + offset;
    let base = if day < base {
        days_from_civil(y - 1, 1, 1) + offset
    } else {
        base
    };
    (base + 7 * (day - base).div_euclid(7), base)
}

/// The first day of the lunar week holding `day`.
fn lunar_start(day: i64, offset: i64) -> i64 {
    lunar_base(day, offset).0
}

/// Monday = 0 … Sunday = 6 (day 0, 1899-12-30, was a Saturday).
fn day_of_week(day: i64) -> i64 {
    (day + 5).rem_euclid(7)
}

/// The first day of the week holding `day`.
fn week_start(day: i64, first_day: i64) -> i64 {
    day - (day_of_week(day) - first_day).rem_euclid(7)
}

/// The weeks settings: first weekday, broken weeks, reference day.
#[derive(Clone, Copy)]
struct Weeks {
    first_day: i64,
    broken: bool,
    reference: i64,
}

impl Weeks {
    /// The week year and week number of `day`.
    fn number(self, day: i64) -> (i64, i64) {
        let start = week_start(day, self.first_day);
        if self.broken {
            let (y, _, _) = civil_from_days(day);
            let first = week_start(days_from_civil(y, 1, 1), self.first_day);
            (y, (day - first).div_euclid(7) + 1)
        } else {
            // The week belongs to the year holding the day that sits where
            // January `reference` must sit in week 1.
            let probe = start + 7 - self.reference;
            let (y, _, _) = civil_from_days(probe);
            (y, (probe - days_from_civil(y, 1, 1)).div_euclid(7) + 1)
        }
    }

    /// The first day of week 1 of `year`.
    fn first_week(self, year: i64) -> i64 {
        let day = if self.broken { 1 } else { self.reference };
        week_start(days_from_civil(year, 1, day), self.first_day)
    }
}

/// Evaluates a calendar function.
pub(super) fn call(
    f: CalendarFn,
    args: &[CExpr],
    _span: Span,
    cx: &RowScope<'_>,
) -> Result<Value, Fail> {
    use CalendarFn as C;
    Ok(match f {
        C::YearStart
        | C::YearEnd
        | C::YearName
        | C::QuarterStart
        | C::QuarterEnd
        | C::QuarterName => {
            let Some(d) = date_arg(args, 0, cx)? else {
                return Ok(Value::Null);
            };
            let Some(shift) = int_or(args, 1, cx, 0)? else {
                return Ok(Value::Null);
            };
            let Some(first) = first_month(args, 2, cx)? else {
                return Ok(Value::Null);
            };
            let year = matches!(f, C::YearStart | C::YearEnd | C::YearName);
            let p = Period::Months {
                n: if year { 12 } else { 3 },
                first,
            };
            match f {
                C::YearStart | C::QuarterStart => date_dual(p.start(d, shift), cx),
                C::YearEnd | C::QuarterEnd => date_dual(p.next_start(d, shift) - MS, cx),
                C::YearName => {
                    let start = p.start(d, shift);
                    let (y, _, _) = civil_from_days(start as i64);
                    let name = if first == 1 {
                        format!("{y}")
                    } else {
                        format!("{y}-{}", y + 1)
                    };
                    Value::Dual(start, Arc::from(name))
                }
                _ => months_name(p, d, shift, cx),
            }
        }
        C::MonthStart | C::MonthEnd | C::MonthName => {
            let Some(d) = date_arg(args, 0, cx)? else {
                return Ok(Value::Null);
            };
            let Some(shift) = int_or(args, 1, cx, 0)? else {
                return Ok(Value::Null);
            };
            let p = Period::Months { n: 1, first: 1 };
            match f {
                C::MonthStart => date_dual(p.start(d, shift), cx),
                C::MonthEnd => date_dual(p.next_start(d, shift) - MS, cx),
                _ => {
                    let start = p.start(d, shift);
                    let (y, m, _) = civil_from_days(start as i64);
                    Value::Dual(
                        start,
                        Arc::from(format!("{} {y}", month_name(m, false, cx.env))),
                    )
                }
            }
        }
        C::MonthsStart | C::MonthsEnd | C::MonthsName => {
            let Some(n) = months_count(args, 0, cx)? else {
                return Ok(Value::Null);
            };
            let Some(d) = date_arg(args, 1, cx)? else {
                return Ok(Value::Null);
            };
            let Some(shift) = int_or(args, 2, cx, 0)? else {
                return Ok(Value::Null);
            };
            let Some(first) = first_month(args, 3, cx)? else {
                return Ok(Value::Null);
            };
            let p = Period::Months { n, first };
            match f {
                C::MonthsStart => date_dual(p.start(d, shift), cx),
                C::MonthsEnd => date_dual(p.next_start(d, shift) - MS, cx),
                _ => months_name(p, d, shift, cx),
            }
        }
        C::WeekStart | C::WeekEnd | C::WeekName => {
            let Some(d) = date_arg(args, 0, cx)? else {
                return Ok(Value::Null);
            };
            let Some(shift) = int_or(args, 1, cx, 0)? else {
                return Ok(Value::Null);
            };
            let Some(first_day) = first_week_day(args, 2, cx)? else {
                return Ok(Value::Null);
            };
            let p = Period::Week { first_day };
            match f {
                C::WeekStart => date_dual(p.start(d, shift), cx),
                C::WeekEnd => date_dual(p.next_start(d, shift) - MS, cx),
                _ => {
                    let start = p.start(d, shift);
                    let weeks = Weeks {
                        first_day,
                        ..weeks_settings(cx)
                    };
                    // The shifted date's own week: with broken weeks the
                    // week start may still lie in the year before.
                    let (y, w) = weeks.number(d.floor() as i64 + 7 * shift);
                    Value::Dual(start, Arc::from(format!("{y}/{w:02}")))
                }
            }
        }
        C::LunarWeekStart | C::LunarWeekEnd | C::LunarWeekName => {
            let Some(d) = date_arg(args, 0, cx)? else {
                return Ok(Value::Null);
            };
            let Some(shift) = int_or(args, 1, cx, 0)? else {
                return Ok(Value::Null);
            };
            let Some(offset) = int_or(args, 2, cx, 0)? else {
                return Ok(Value::Null);
            };
            let p = Period::Lunar { offset };
            match f {
                C::LunarWeekStart => date_dual(p.start(d, shift), cx),
                C::LunarWeekEnd => date_dual(p.next_start(d, shift) - MS, cx),
                _ => {
                    let start = p.start(d, shift);
                    let (_, base) = lunar_base(start as i64, offset);
                    let (y, _, _) = civil_from_days(base - offset);
                    let week = (start as i64 - base).div_euclid(7) + 1;
                    Value::Dual(start, Arc::from(format!("{y}/{week:02}")))
                }
            }
        }
        C::DayStart | C::DayEnd | C::DayName => {
            let Some(d) = date_arg(args, 0, cx)? else {
                return Ok(Value::Null);
            };
            let Some(shift) = int_or(args, 1, cx, 0)? else {
                return Ok(Value::Null);
            };
            let Some(start) = num_or(args, 2, cx, 0.0)? else {
                return Ok(Value::Null);
            };
            let p = Period::Day { start };
            match f {
                C::DayStart => timestamp_dual(p.start(d, shift), cx),
                C::DayEnd => timestamp_dual(p.next_start(d, shift) - MS, cx),
                _ => date_dual(p.start(d, shift), cx),
            }
        }
        C::InYear
        | C::InYearToDate
        | C::InQuarter
        | C::InQuarterToDate
        | C::InMonth
        | C::InMonthToDate
        | C::InWeek
        | C::InWeekToDate
        | C::InDay
        | C::InDayToDate
        | C::InLunarWeek
        | C::InLunarWeekToDate => {
            let Some(d) = date_arg(args, 0, cx)? else {
                return Ok(Value::Null);
            };
            let Some(base) = date_arg(args, 1, cx)? else {
                return Ok(Value::Null);
            };
            let Some(shift) = int_or(args, 2, cx, 0)? else {
                return Ok(Value::Null);
            };
            let p = match f {
                C::InYear | C::InYearToDate | C::InQuarter | C::InQuarterToDate => {
                    let Some(first) = first_month(args, 3, cx)? else {
                        return Ok(Value::Null);
                    };
                    let year = matches!(f, C::InYear | C::InYearToDate);
                    Period::Months {
                        n: if year { 12 } else { 3 },
                        first,
                    }
                }
                C::InMonth | C::InMonthToDate => Period::Months { n: 1, first: 1 },
                C::InWeek | C::InWeekToDate => {
                    let Some(first_day) = first_week_day(args, 3, cx)? else {
                        return Ok(Value::Null);
                    };
                    Period::Week { first_day }
                }
                C::InLunarWeek | C::InLunarWeekToDate => {
                    let Some(offset) = int_or(args, 3, cx, 0)? else {
                        return Ok(Value::Null);
                    };
                    Period::Lunar { offset }
                }
                _ => {
                    let Some(start) = num_or(args, 3, cx, 0.0)? else {
                        return Ok(Value::Null);
                    };
                    Period::Day { start }
                }
            };
            let to_date = matches!(
                f,
                C::InYearToDate
                    | C::InQuarterToDate
                    | C::InMonthToDate
                    | C::InWeekToDate
                    | C::InDayToDate
                    | C::InLunarWeekToDate
            );
            in_period(p, d, base, shift, to_date)
        }
        C::InMonths | C::InMonthsToDate => {
            let Some(n) = months_count(args, 0, cx)? else {
                return Ok(Value::Null);
            };
            let Some(d) = date_arg(args, 1, cx)? else {
                return Ok(Value::Null);
            };
            let Some(base) = date_arg(args, 2, cx)? else {
                return Ok(Value::Null);
            };
            let Some(shift) = int_or(args, 3, cx, 0)? else {
                return Ok(Value::Null);
            };
            let Some(first) = first_month(args, 4, cx)? else {
                return Ok(Value::Null);
            };
            in_period(
                Period::Months { n, first },
                d,
                base,
                shift,
                f == C::InMonthsToDate,
            )
        }
        C::AddMonths | C::AddYears => {
            let Some(d) = date_arg(args, 0, cx)? else {
                return Ok(Value::Null);
            };
            let Some(n) = int_or(args, 1, cx, 0)? else {
                return Ok(Value::Null);
            };
            let from_end = if f == C::AddMonths {
                let Some(mode) = int_or(args, 2, cx, 0)? else {
                    return Ok(Value::Null);
                };
                mode == 1
            } else {
                false
            };
            let months = if f == C::AddYears { 12 * n } else { n };
            date_dual(add_months(d, months, from_end), cx)
        }
        C::Week | C::WeekYear => {
            let Some(d) = date_arg(args, 0, cx)? else {
                return Ok(Value::Null);
            };
            let mut weeks = weeks_settings(cx);
            if let Some(first_day) = first_week_day(args, 1, cx)? {
                weeks.first_day = first_day;
            } else {
                return Ok(Value::Null);
            }
            if args.len() > 2 {
                let Some(b) = ev_num(args, 2, cx)? else {
                    return Ok(Value::Null);
                };
                weeks.broken = b != 0.0;
            }
            if args.len() > 3 {
                let Some(r) = ev_num(args, 3, cx)? else {
                    return Ok(Value::Null);
                };
                weeks.reference = reference_day(r as i64);
            }
            let (y, w) = weeks.number(d.floor() as i64);
            Value::Num(if f == C::Week { w } else { y } as f64)
        }
        C::WeekDay => {
            let Some(d) = date_arg(args, 0, cx)? else {
                return Ok(Value::Null);
            };
            let Some(first_day) = first_week_day(args, 1, cx)? else {
                return Ok(Value::Null);
            };
            let dow = day_of_week(d.floor() as i64);
            let n = (dow - first_day).rem_euclid(7);
            Value::Dual(n as f64, Arc::from(day_name(dow, cx)))
        }
        C::MakeWeekDate => {
            let Some(y) = int_or(args, 0, cx, 0)? else {
                return Ok(Value::Null);
            };
            let Some(w) = int_or(args, 1, cx, 1)? else {
                return Ok(Value::Null);
            };
            let Some(wd) = int_or(args, 2, cx, 0)? else {
                return Ok(Value::Null);
            };
            let day = weeks_settings(cx).first_week(y) + 7 * (w - 1) + wd;
            date_dual(day as f64, cx)
        }
        C::Age => {
            let Some(at) = date_arg(args, 0, cx)? else {
                return Ok(Value::Null);
            };
            let Some(born) = date_arg(args, 1, cx)? else {
                return Ok(Value::Null);
            };
            let (y1, m1, d1) = civil_from_days(at.floor() as i64);
            let (y0, m0, d0) = civil_from_days(born.floor() as i64);
            Value::Num((y1 - y0 - i64::from((m1, d1) < (m0, d0))) as f64)
        }
        C::NetWorkDays => {
            let Some(from) = date_arg(args, 0, cx)? else {
                return Ok(Value::Null);
            };
            let Some(to) = date_arg(args, 1, cx)? else {
                return Ok(Value::Null);
            };
            let holidays = holidays(args, 2, cx)?;
            let (from, to) = (from.floor() as i64, to.floor() as i64);
            if from > to {
                return Ok(Value::Num(0.0));
            }
            let off = holidays
                .iter()
                .filter(|&&h| h >= from && h <= to && day_of_week(h) < 5)
                .count() as i64;
            Value::Num((workdays_through(to) - workdays_through(from - 1) - off) as f64)
        }
        C::FirstWorkDate | C::LastWorkDate => {
            let Some(d) = date_arg(args, 0, cx)? else {
                return Ok(Value::Null);
            };
            let Some(n) = int_or(args, 1, cx, 1)? else {
                return Ok(Value::Null);
            };
            let holidays = holidays(args, 2, cx)?;
            let step = if f == C::LastWorkDate { 1 } else { -1 };
            let n = n.max(1);
            let mut day = d.floor() as i64;
            // Whole weeks first (five working days each, less the holidays
            // among them), so a large count does not walk day by day.
            let weeks = (n - 1 - holidays.len() as i64) / 5;
            let mut found = 0;
            if weeks > 0 {
                let (lo, hi) = if step > 0 {
                    (day, day + 7 * weeks - 1)
                } else {
                    (day - 7 * weeks + 1, day)
                };
                let off = holidays
                    .iter()
                    .filter(|&&h| h >= lo && h <= hi && day_of_week(h) < 5)
                    .count() as i64;
                found = 5 * weeks - off;
                day += step * 7 * weeks;
            }
            // At most a week and the holidays left to walk.
            loop {
                if is_workday(day, &holidays) {
                    found += 1;
                    if found >= n {
                        break;
                    }
                }
                day += step;
            }
            date_dual(day as f64, cx)
        }
        C::DayNumberOfYear | C::DayNumberOfQuarter => {
            let Some(d) = date_arg(args, 0, cx)? else {
                return Ok(Value::Null);
            };
            let Some(first) = first_month(args, 1, cx)? else {
                return Ok(Value::Null);
            };
            let n = if f == C::DayNumberOfYear { 12 } else { 3 };
            let start = Period::Months { n, first }.start(d, 0);
            Value::Num(d.floor() - start + 1.0)
        }
        C::SetDateYear | C::SetDateYearMonth => {
            let Some(d) = date_arg(args, 0, cx)? else {
                return Ok(Value::Null);
            };
            let Some(y) = int_or(args, 1, cx, 0)? else {
                return Ok(Value::Null);
            };
            let (_, m0, d0) = civil_from_days(d.floor() as i64);
            let m = if f == C::SetDateYearMonth {
                let Some(m) = int_or(args, 2, cx, m0)? else {
                    return Ok(Value::Null);
                };
                if !(1..=12).contains(&m) {
                    return Ok(Value::Null);
                }
                m
            } else {
                m0
            };
            let day = days_from_civil(y, m, d0.min(days_in_month(y, m))) as f64;
            let t = day + (d - d.floor());
            let shown = if d == d.floor() {
                format_date(t, &date_format(cx), cx.env)
            } else {
                format_date(t, &timestamp_format(cx), cx.env)
            };
            Value::Dual(t, Arc::from(shown))
        }
    })
}

/// True when `d` lies in the period holding `base` shifted by `shift`
/// periods; with `to_date`, only up to the end of the shifted base's day.
fn in_period(p: Period, d: f64, base: f64, shift: i64, to_date: bool) -> Value {
    let start = p.start(base, shift);
    let end = if to_date {
        match p {
            // A day period's base shifted by whole days, to the instant.
            Period::Day { .. } => p.shift(base, shift),
            _ => p.shift(base, shift).floor() + 1.0 - MS,
        }
    } else {
        p.next_start(base, shift) - MS
    };
    boolean(d >= start && d <= end + MS / 2.0)
}

/// `serial` plus `months` months: the same day of the month (the last day
/// when the month is shorter) or, `from_end`, as far from the month's end.
fn add_months(serial: f64, months: i64, from_end: bool) -> f64 {
    let day = serial.floor();
    let time = serial - day;
    let (y, m, d) = civil_from_days(day as i64);
    let mi = y * 12 + m - 1 + months;
    let (y2, m2) = (mi.div_euclid(12), mi.rem_euclid(12) + 1);
    let last = days_in_month(y2, m2);
    let d2 = if from_end {
        (last - (days_in_month(y, m) - d)).max(1)
    } else {
        d.min(last)
    };
    days_from_civil(y2, m2, d2) as f64 + time
}

/// The name of a period of months: `Jan-Mar 2013`, the year of its last
/// month (help page "monthsname": `Oct-Jan 2014`).
fn months_name(p: Period, d: f64, shift: i64, cx: &RowScope<'_>) -> Value {
    let start = p.start(d, shift);
    let end = p.next_start(d, shift) - 1.0;
    let (_, m, _) = civil_from_days(start as i64);
    let (y, m_end, _) = civil_from_days(end as i64);
    let name = format!(
        "{}-{} {y}",
        month_name(m, false, cx.env),
        month_name(m_end, false, cx.env)
    );
    Value::Dual(start, Arc::from(name))
}

/// A day's name from the script's `DayNames` (Mon … Sun).
fn day_name(dow: i64, cx: &RowScope<'_>) -> String {
    const SHORT: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let i = usize::try_from(dow).unwrap_or(0);
    if let Some(list) = cx.env.variable("DayNames")
        && let Some(name) = list.split(';').nth(i)
    {
        return name.to_string();
    }
    SHORT.get(i).map_or_else(String::new, |s| (*s).to_string())
}

/// The working days (Monday to Friday) from a fixed origin up to `day`:
/// the working days of a range are a difference of two of these.
fn workdays_through(day: i64) -> i64 {
    // `k` is a multiple of 7 on Mondays.
    let k = day + 5;
    k.div_euclid(7) * 5 + (k.rem_euclid(7) + 1).min(5)
}

fn is_workday(day: i64, holidays: &[i64]) -> bool {
    day_of_week(day) < 5 && !holidays.contains(&day)
}

/// Holidays: every argument from `from` on, as days.
fn holidays(args: &[CExpr], from: usize, cx: &RowScope<'_>) -> Result<Vec<i64>, Fail> {
    let mut out = Vec::new();
    for i in from..args.len() {
        if let Some(d) = date_arg(args, i, cx)? {
            out.push(d.floor() as i64);
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// A date as a dual shown in the script's `DateFormat`.
fn date_dual(serial: f64, cx: &RowScope<'_>) -> Value {
    Value::Dual(
        serial,
        Arc::from(format_date(serial, &date_format(cx), cx.env)),
    )
}

/// A timestamp as a dual shown in the script's `TimestampFormat`.
fn timestamp_dual(serial: f64, cx: &RowScope<'_>) -> Value {
    Value::Dual(
        serial,
        Arc::from(format_date(serial, &timestamp_format(cx), cx.env)),
    )
}

/// Argument `i` as a day serial; `None` when NULL or not a date.
fn date_arg(args: &[CExpr], i: usize, cx: &RowScope<'_>) -> Result<Option<f64>, Fail> {
    let v = ev(args, i, cx)?;
    Ok(serial_of(&v, cx))
}

/// Argument `i` as a number, `default` when the call has no argument
/// `i`; `None` when it is NULL or not a number.
fn num_or(args: &[CExpr], i: usize, cx: &RowScope<'_>, default: f64) -> Result<Option<f64>, Fail> {
    if args.len() > i {
        ev_num(args, i, cx)
    } else {
        Ok(Some(default))
    }
}

/// [`num_or`] as a whole number (truncated); `None` past what a calendar
/// can count (a shift, year or count beyond `date::MAX_DAYS`).
fn int_or(args: &[CExpr], i: usize, cx: &RowScope<'_>, default: i64) -> Result<Option<i64>, Fail> {
    Ok(num_or(args, i, cx, default as f64)?
        .and_then(in_range)
        .map(|n| n.trunc() as i64))
}

/// A `first_month_of_year` argument: 1–12 (1 when absent; outside the
/// range, 1).
fn first_month(args: &[CExpr], i: usize, cx: &RowScope<'_>) -> Result<Option<i64>, Fail> {
    Ok(int_or(args, i, cx, 1)?.map(|m| if (1..=12).contains(&m) { m } else { 1 }))
}

/// The `n` of `MonthsStart(n, …)`: 1, 2, 3, 4, 6 or 12.
fn months_count(args: &[CExpr], i: usize, cx: &RowScope<'_>) -> Result<Option<i64>, Fail> {
    Ok(int_or(args, i, cx, 1)?.filter(|n| matches!(n, 1 | 2 | 3 | 4 | 6 | 12)))
}

/// A `first_week_day` argument, the script's `FirstWeekDay` when absent.
fn first_week_day(args: &[CExpr], i: usize, cx: &RowScope<'_>) -> Result<Option<i64>, Fail> {
    let default = weeks_settings(cx).first_day;
    Ok(int_or(args, i, cx, default)?.map(|d| d.rem_euclid(7)))
}

/// The script's `FirstWeekDay`, `BrokenWeeks` and `ReferenceDay`.
fn weeks_settings(cx: &RowScope<'_>) -> Weeks {
    let int = |name: &str, default: &str| -> i64 {
        variable_or(cx, name, default)
            .trim()
            .parse::<f64>()
            .map_or(0, |n| n as i64)
    };
    Weeks {
        first_day: int("FirstWeekDay", "0").rem_euclid(7),
        broken: int("BrokenWeeks", "0") != 0,
        reference: reference_day(int("ReferenceDay", "0")),
    }
}

/// `ReferenceDay`: 1–7, anything else meaning 4.
fn reference_day(r: i64) -> i64 {
    if (1..=7).contains(&r) { r } else { 4 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i64, m: i64, d: i64) -> i64 {
        days_from_civil(y, m, d)
    }

    const ISO: Weeks = Weeks {
        first_day: 0,
        broken: false,
        reference: 4,
    };
    const US: Weeks = Weeks {
        first_day: 6,
        broken: true,
        reference: 1,
    };

    #[test]
    fn week_numbers_follow_the_help_table() {
        // Help page "weekname": ISO and US week names around new year 2021.
        let cases = [
            ((2020, 12, 26), (2020, 52), (2020, 52)),
            ((2020, 12, 27), (2020, 52), (2020, 53)),
            ((2020, 12, 28), (2020, 53), (2020, 53)),
            ((2021, 1, 1), (2020, 53), (2021, 1)),
            ((2021, 1, 3), (2020, 53), (2021, 2)),
            ((2021, 1, 4), (2021, 1), (2021, 2)),
        ];
        for ((y, m, d), iso, us) in cases {
            assert_eq!(ISO.number(day(y, m, d)), iso, "ISO {y}-{m}-{d}");
            assert_eq!(US.number(day(y, m, d)), us, "US {y}-{m}-{d}");
        }
    }

    #[test]
    fn week_one_of_2014_starts_on_the_monday_before_january_4() {
        assert_eq!(ISO.first_week(2014), day(2013, 12, 30));
        // makeweekdate(2014, 6) is 2014-02-03.
        assert_eq!(ISO.first_week(2014) + 35, day(2014, 2, 3));
    }

    #[test]
    fn periods_start_and_shift() {
        let d = day(2013, 10, 29) as f64;
        let q = Period::Months { n: 3, first: 1 };
        assert_eq!(q.start(d, 0), day(2013, 10, 1) as f64);
        assert_eq!(q.start(d, -1), day(2013, 7, 1) as f64);
        let fiscal = Period::Months { n: 3, first: 3 };
        assert_eq!(fiscal.start(d, 0), day(2013, 9, 1) as f64);
        let y = Period::Months { n: 12, first: 4 };
        assert_eq!(y.start(day(2013, 2, 1) as f64, 0), day(2012, 4, 1) as f64);
        let w = Period::Week { first_day: 0 };
        assert_eq!(w.start(day(2013, 1, 12) as f64, 0), day(2013, 1, 7) as f64);
        assert_eq!(day_of_week(day(2025, 1, 1)), 2);
    }

    #[test]
    fn months_are_added_as_the_help_says() {
        let add = |(y, m, d): (i64, i64, i64), n, end| {
            civil_from_days(add_months(day(y, m, d) as f64, n, end) as i64)
        };
        assert_eq!(add((2003, 1, 29), 3, false), (2003, 4, 29));
        assert_eq!(add((2003, 1, 29), 1, false), (2003, 2, 28));
        assert_eq!(add((2003, 2, 28), 1, true), (2003, 3, 31));
        assert_eq!(add((2012, 2, 29), 12, false), (2013, 2, 28));
    }
}
