//! QVD header functions: what the header of a QVD file says (rows, fields,
//! table name, creation time), read without its data. The path is found
//! as `FROM` finds it.
//!
//! A file that is not there gives NULL (scripts test for a QVD with
//! `IsNull(QvdCreateTime(…))`); a file that is there but damaged is an
//! error, since no answer can be trusted.

use crate::load::error::{Fail, LoadErrorKind};
use crate::load::qvd::{self, Header, QvdError};
use crate::model::Value;
use crate::script::source::Span;

use super::days_from_civil;
use crate::load::expr::{CExpr, RowScope, text};

/// A QVD header function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[expect(
    clippy::enum_variant_names,
    reason = "each variant is its function's name, as the function table requires"
)]
pub(super) enum QvdFn {
    QvdNoOfRecords,
    QvdNoOfFields,
    QvdFieldName,
    QvdTableName,
    QvdCreateTime,
}

/// Evaluates a QVD header function.
pub(super) fn call(f: QvdFn, args: &[CExpr], span: Span, cx: &RowScope<'_>) -> Result<Value, Fail> {
    let path = text_arg!(args, cx, 0);
    let full = cx.env.file_path(&path);
    let header: Header = match qvd::read_header(&full) {
        Ok(h) => h,
        Err(QvdError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Value::Null);
        }
        Err(QvdError::Io(e)) => {
            return Err(Fail::new(
                LoadErrorKind::MissingFile,
                span,
                format!("cannot read `{path}`: {}", e.to_string().to_lowercase()),
            )
            .help(format!("looked for `{}`", full.display())));
        }
        Err(QvdError::Bad(why)) => {
            return Err(Fail::new(
                LoadErrorKind::BadFile,
                span,
                format!("cannot read `{path}` as a QVD file: {why}"),
            )
            .help(format!("read `{}`", full.display())));
        }
    };
    Ok(match f {
        QvdFn::QvdNoOfRecords => Value::Num(header.no_of_records as f64),
        QvdFn::QvdNoOfFields => Value::Num(header.fields.len() as f64),
        QvdFn::QvdFieldName => {
            let n = num_arg!(args, cx, 1);
            // 1-based; anything else names no field.
            let field = (n >= 1.0 && n.fract() == 0.0)
                .then(|| header.fields.get(n as usize - 1))
                .flatten();
            field.map_or(Value::Null, |f| text(&f.name))
        }
        QvdFn::QvdTableName => text(&header.table_name),
        QvdFn::QvdCreateTime => match header.create_utc_time {
            Some(t) => {
                cx.env.note("qvd-create-time-text");
                match timestamp(&t) {
                    Some(serial) => Value::Dual(serial, t.into()),
                    None => text(&t),
                }
            }
            None => Value::Null,
        },
    })
}

/// The serial of `YYYY-MM-DD hh:mm:ss` (how the header writes times).
fn timestamp(t: &str) -> Option<f64> {
    let (date, time) = t.split_once(' ').unwrap_or((t, "00:00:00"));
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut c = time.splitn(3, ':').map(|p| p.parse::<f64>().ok());
    let (h, mi, s) = (c.next()??, c.next()??, c.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || !(0.0..24.0).contains(&h) {
        return None;
    }
    let seconds = h * 3600.0 + mi * 60.0 + s;
    Some(days_from_civil(y, m, day) as f64 + seconds / 86_400.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_times_are_serials() {
        assert_eq!(timestamp("1899-12-31 12:00:00"), Some(1.5));
        assert_eq!(timestamp("2025-01-01 00:00:00"), Some(45658.0));
        assert_eq!(timestamp("yesterday"), None);
    }
}
