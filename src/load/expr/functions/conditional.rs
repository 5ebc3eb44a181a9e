//! Conditional and classifying functions: `If`, the `*Match` family,
//! `Pick`, `Alt`, `Coalesce`, `IsNull`/`IsNum`/`IsText` and the constants
//! `Null`, `True`, `False`.

use crate::load::error::Fail;
use std::sync::Arc;

use crate::model::{Value, format_number, parse_number};
use crate::script::source::Span;

use super::{ev, ev_num};
use crate::load::expr::{CExpr, RowScope, boolean, truthy, wildcard_match};

/// A conditional or classifying function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ConditionalFn {
    If,
    Match,
    MixMatch,
    WildMatch,
    Pick,
    Alt,
    Coalesce,
    IsNull,
    IsNum,
    IsText,
    Null,
    True,
    False,
    Class,
    EmptyIsNull,
    IsPartialReload,
}

/// Evaluates a conditional function.
pub(super) fn call(
    f: ConditionalFn,
    args: &[CExpr],
    _span: Span,
    cx: &RowScope<'_>,
) -> Result<Value, Fail> {
    Ok(match f {
        ConditionalFn::If => {
            if truthy(&ev(args, 0, cx)?) {
                ev(args, 1, cx)?
            } else {
                ev(args, 2, cx)?
            }
        }
        ConditionalFn::Match | ConditionalFn::MixMatch | ConditionalFn::WildMatch => {
            let v = ev(args, 0, cx)?;
            if v.is_null() {
                return Ok(Value::Num(0.0));
            }
            let t = v.text().into_owned();
            let mut found = 0usize;
            for i in 1..args.len() {
                let c = ev(args, i, cx)?;
                let ct = c.text();
                let hit = match f {
                    ConditionalFn::Match => t == ct.as_ref(),
                    ConditionalFn::MixMatch => t.to_lowercase() == ct.to_lowercase(),
                    _ => wildcard_match(&ct, &t, true),
                };
                if hit {
                    found = i;
                    break;
                }
            }
            Value::Num(found as f64)
        }
        ConditionalFn::Pick => {
            let k = num_arg!(args, cx, 0) as i64;
            if k < 1 || k as usize >= args.len() {
                Value::Null
            } else {
                ev(args, k as usize, cx)?
            }
        }
        ConditionalFn::Alt => {
            for i in 0..args.len() {
                let v = ev(args, i, cx)?;
                if v.num().is_some() || i + 1 == args.len() {
                    return Ok(v);
                }
            }
            Value::Null
        }
        ConditionalFn::Coalesce => {
            for i in 0..args.len() {
                let v = ev(args, i, cx)?;
                if !v.is_null() {
                    return Ok(v);
                }
            }
            Value::Null
        }
        ConditionalFn::IsNull => boolean(ev(args, 0, cx)?.is_null()),
        ConditionalFn::IsNum => {
            boolean(ev(args, 0, cx)?.num().is_some() || is_numeric_text(&ev(args, 0, cx)?))
        }
        ConditionalFn::IsText => {
            let v = ev(args, 0, cx)?;
            boolean(matches!(v, Value::Text(_)) && !is_numeric_text(&v))
        }
        ConditionalFn::Null => Value::Null,
        ConditionalFn::True => Value::Num(-1.0),
        ConditionalFn::False => Value::Num(0.0),
        ConditionalFn::Class => {
            // `class(23, 10)` is `20 <= x < 30`, a dual whose number is
            // the lower bound; `label` replaces `x`, `offset` moves the
            // classes' start.
            let x = num_arg!(args, cx, 0);
            let width = num_arg!(args, cx, 1);
            if width == 0.0 {
                return Ok(Value::Null);
            }
            let label = text_arg!(args, cx, 2, or "x");
            let offset = if args.len() > 3 {
                match ev_num(args, 3, cx)? {
                    Some(o) => o,
                    None => return Ok(Value::Null),
                }
            } else {
                0.0
            };
            let low = ((x - offset) / width).floor() * width + offset;
            let high = low + width;
            let shown = format!(
                "{} <= {label} < {}",
                format_number(low),
                format_number(high)
            );
            Value::Dual(low, Arc::from(shown))
        }
        ConditionalFn::EmptyIsNull => {
            let v = ev(args, 0, cx)?;
            if !v.is_null() && v.num().is_none() && v.text().is_empty() {
                Value::Null
            } else {
                v
            }
        }
        // A run here is always a full reload.
        ConditionalFn::IsPartialReload => boolean(false),
    })
}

fn is_numeric_text(v: &Value) -> bool {
    matches!(v, Value::Text(t) if parse_number(t.trim()).is_some())
}
