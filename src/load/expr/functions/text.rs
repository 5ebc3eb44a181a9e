//! Text functions: case, trimming, lengths and slices, search and
//! replace, `SubField`, character codes, `Text` and the `Hash*` digests.
//!
//! `Hash128/160/256` cannot reproduce Qlik's undocumented digest. They
//! return the SHA-256 of the arguments' texts joined by U+001F, truncated to
//! 128/160/256 bits and written in URL-safe base64 without padding (22, 27
//! and 43 characters, the lengths Qlik's hashes have). Equal inputs give
//! equal hashes, which is what scripts rely on; the run warns
//! (`hash-not-qlik`) because the texts differ from Qlik's.

use base64::Engine as _;
use sha2::Digest as _;

use crate::load::error::Fail;
use crate::model::Value;
use crate::script::source::Span;

use super::{bad, ev};
use crate::load::expr::{Binding, CExpr, RowScope, compile, eval, text};

/// A text function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TextFn {
    Upper,
    Lower,
    Capitalize,
    Trim,
    LTrim,
    RTrim,
    Len,
    Left,
    Right,
    Mid,
    Index,
    Replace,
    SubField,
    SubStringCount,
    Repeat,
    PurgeChar,
    KeepChar,
    TextBetween,
    FindOneOf,
    Chr,
    Ord,
    Text,
    Hash128,
    Hash160,
    Hash256,
    LevenshteinDist,
    Evaluate,
}

/// Evaluates a text function.
pub(super) fn call(
    f: TextFn,
    args: &[CExpr],
    span: Span,
    cx: &RowScope<'_>,
) -> Result<Value, Fail> {
    Ok(match f {
        TextFn::Upper => text(text_arg!(args, cx, 0).to_uppercase()),
        TextFn::Lower => text(text_arg!(args, cx, 0).to_lowercase()),
        TextFn::Capitalize => text(capitalize(&text_arg!(args, cx, 0))),
        TextFn::Trim => text(text_arg!(args, cx, 0).trim_matches(' ')),
        TextFn::LTrim => text(text_arg!(args, cx, 0).trim_start_matches(' ')),
        TextFn::RTrim => text(text_arg!(args, cx, 0).trim_end_matches(' ')),
        TextFn::Len => Value::Num(text_arg!(args, cx, 0).chars().count() as f64),
        TextFn::Left => {
            let t = text_arg!(args, cx, 0);
            let k = num_arg!(args, cx, 1).max(0.0) as usize;
            text(t.chars().take(k).collect::<String>())
        }
        TextFn::Right => {
            let t = text_arg!(args, cx, 0);
            let k = num_arg!(args, cx, 1).max(0.0) as usize;
            let len = t.chars().count();
            text(t.chars().skip(len.saturating_sub(k)).collect::<String>())
        }
        TextFn::Mid => {
            let t = text_arg!(args, cx, 0);
            let start = (num_arg!(args, cx, 1).max(1.0) as usize).saturating_sub(1);
            let it = t.chars().skip(start);
            if args.len() > 2 {
                let k = num_arg!(args, cx, 2).max(0.0) as usize;
                text(it.take(k).collect::<String>())
            } else {
                text(it.collect::<String>())
            }
        }
        TextFn::Index => {
            let t = text_arg!(args, cx, 0);
            let sub = text_arg!(args, cx, 1);
            let occ = if args.len() > 2 {
                num_arg!(args, cx, 2) as i64
            } else {
                1
            };
            Value::Num(index_of(&t, &sub, occ) as f64)
        }
        TextFn::Replace => {
            let t = text_arg!(args, cx, 0);
            let from = text_arg!(args, cx, 1);
            let to = text_arg!(args, cx, 2);
            if from.is_empty() {
                text(t)
            } else {
                text(t.replace(&from, &to))
            }
        }
        TextFn::SubField => {
            let t = text_arg!(args, cx, 0);
            let d = text_arg!(args, cx, 1);
            if args.len() < 3 {
                return Err(bad(
                    span,
                    "two-argument `SubField` generates one row per part; use it as a whole field expression",
                ));
            }
            let k = num_arg!(args, cx, 2) as i64;
            let parts: Vec<&str> = if d.is_empty() {
                vec![t.as_str()]
            } else {
                t.split(d.as_str()).collect()
            };
            let idx = if k > 0 {
                usize::try_from(k - 1).ok()
            } else if k < 0 {
                parts
                    .len()
                    .checked_sub(usize::try_from(-k).unwrap_or(usize::MAX))
            } else {
                None
            };
            match idx.and_then(|i| parts.get(i)) {
                Some(p) => text(p),
                None => Value::Null,
            }
        }
        TextFn::SubStringCount => {
            let t = text_arg!(args, cx, 0);
            let sub = text_arg!(args, cx, 1);
            if sub.is_empty() {
                Value::Num(0.0)
            } else {
                Value::Num(t.matches(sub.as_str()).count() as f64)
            }
        }
        TextFn::Repeat => {
            let t = text_arg!(args, cx, 0);
            let k = if args.len() > 1 {
                num_arg!(args, cx, 1).max(0.0) as usize
            } else {
                1
            };
            if t.len().saturating_mul(k) > 1 << 24 {
                return Err(bad(span, "`Repeat` would build a text longer than 16 MB"));
            }
            text(t.repeat(k))
        }
        TextFn::PurgeChar => {
            let t = text_arg!(args, cx, 0);
            let c = text_arg!(args, cx, 1);
            text(t.chars().filter(|ch| !c.contains(*ch)).collect::<String>())
        }
        TextFn::KeepChar => {
            let t = text_arg!(args, cx, 0);
            let c = text_arg!(args, cx, 1);
            text(t.chars().filter(|ch| c.contains(*ch)).collect::<String>())
        }
        TextFn::TextBetween => {
            let t = text_arg!(args, cx, 0);
            let a = text_arg!(args, cx, 1);
            let b = text_arg!(args, cx, 2);
            let occ = if args.len() > 3 {
                num_arg!(args, cx, 3).max(1.0) as usize
            } else {
                1
            };
            text_between(&t, &a, &b, occ).map_or(Value::Null, text)
        }
        TextFn::FindOneOf => {
            let t = text_arg!(args, cx, 0);
            let c = text_arg!(args, cx, 1);
            let occ = if args.len() > 2 {
                num_arg!(args, cx, 2).max(1.0) as usize
            } else {
                1
            };
            let pos = t
                .chars()
                .enumerate()
                .filter(|(_, ch)| c.contains(*ch))
                .nth(occ - 1)
                .map_or(0, |(i, _)| i + 1);
            Value::Num(pos as f64)
        }
        TextFn::Chr => {
            let n = num_arg!(args, cx, 0);
            match char::from_u32(n as u32) {
                Some(c) if n >= 0.0 => text(c.to_string()),
                _ => Value::Null,
            }
        }
        TextFn::Ord => match text_arg!(args, cx, 0).chars().next() {
            Some(c) => Value::Num(f64::from(u32::from(c))),
            None => Value::Null,
        },
        TextFn::Text => {
            let v = ev(args, 0, cx)?;
            if v.is_null() {
                Value::Null
            } else {
                Value::text_only(&v.text())
            }
        }
        TextFn::Hash128 | TextFn::Hash160 | TextFn::Hash256 => {
            cx.env.note("hash-not-qlik");
            let mut h = sha2::Sha256::new();
            for i in 0..args.len() {
                if i > 0 {
                    h.update([0x1f]);
                }
                h.update(ev(args, i, cx)?.text().as_bytes());
            }
            let digest = h.finalize();
            let n = match f {
                TextFn::Hash128 => 16,
                TextFn::Hash160 => 20,
                _ => 32,
            };
            let bytes = digest.get(..n).unwrap_or(&digest);
            text(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
        }
        TextFn::LevenshteinDist => {
            let a: Vec<char> = text_arg!(args, cx, 0).chars().collect();
            let b: Vec<char> = text_arg!(args, cx, 1).chars().collect();
            Value::Num(levenshtein(&a, &b) as f64)
        }
        TextFn::Evaluate => {
            // The text as an expression over the variables, as a LET
            // evaluates it; NULL when it is no valid expression (Qlik's
            // rule), or when it fails.
            let t = text_arg!(args, cx, 0);
            let Ok(e) = crate::script::parse_expr(span.source, &t) else {
                return Ok(Value::Null);
            };
            let mut has_agg = false;
            match compile(&e, Binding::Vars, &mut has_agg) {
                Ok(c) if !has_agg => eval(&c, &RowScope::no_row(cx.env)).unwrap_or(Value::Null),
                _ => Value::Null,
            }
        }
    })
}

fn capitalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if c.is_alphanumeric() {
            if start {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            start = false;
        } else {
            out.push(c);
            start = true;
        }
    }
    out
}

/// 1-based character position of the `occ`-th occurrence (negative: from
/// the end), 0 when absent.
fn index_of(t: &str, sub: &str, occ: i64) -> usize {
    if sub.is_empty() || occ == 0 {
        return 0;
    }
    let starts: Vec<usize> = t.match_indices(sub).map(|(b, _)| b).collect();
    let pick = if occ > 0 {
        starts.get(usize::try_from(occ - 1).unwrap_or(usize::MAX))
    } else {
        starts
            .len()
            .checked_sub(usize::try_from(-occ).unwrap_or(usize::MAX))
            .and_then(|i| starts.get(i))
    };
    pick.map_or(0, |&b| t.get(..b).map_or(0, |p| p.chars().count()) + 1)
}

fn text_between(t: &str, a: &str, b: &str, occ: usize) -> Option<String> {
    let mut rest = t;
    for _ in 1..occ {
        let i = rest.find(a)?;
        rest = rest.get(i + a.len()..)?;
    }
    let i = rest.find(a)?;
    let after = rest.get(i + a.len()..)?;
    let j = after.find(b)?;
    after.get(..j).map(str::to_string)
}

/// The edit distance between two texts (insertions, deletions and
/// substitutions of characters).
fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diag = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let up = row.get(j + 1).copied().unwrap_or(0);
            let left = row.get(j).copied().unwrap_or(0);
            let cost = usize::from(ca != cb);
            let best = (diag + cost).min(up + 1).min(left + 1);
            diag = up;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = best;
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_helpers() {
        assert_eq!(index_of("abcabc", "b", 2), 5);
        assert_eq!(index_of("abcabc", "b", -1), 5);
        assert_eq!(index_of("abc", "x", 1), 0);
        assert_eq!(text_between("<a><b>", "<", ">", 2), Some("b".into()));
        assert_eq!(capitalize("hello wORLD"), "Hello World");
    }
}
