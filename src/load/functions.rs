//! Script functions: the supported set, resolved by exact name
//! (case-insensitive) at compile time, evaluated with Qlik's semantics.
//!
//! A function not listed here is a `load::unknown-function` error: an
//! approximation would silently change what a user sees. Clock-dependent
//! functions (`Today`, `Now`) and random ones are deliberately absent.
//!
//! `Hash128/160/256` cannot reproduce Qlik's undocumented digest. They
//! return the SHA-256 of the arguments' texts joined by U+001F, truncated to
//! 128/160/256 bits and written in URL-safe base64 without padding (22, 27
//! and 43 characters, the lengths Qlik's hashes have). Equal inputs give
//! equal hashes, which is what scripts rely on; the run warns
//! (`hash-not-qlik`) because the texts differ from Qlik's.

use std::cmp::Ordering;
use std::sync::Arc;

use base64::Engine as _;
use sha2::Digest as _;

use crate::model::{FieldId, Model, NULL, Symbols, Table, Value, format_number, parse_number};
use crate::script::source::Span;

use super::error::{Fail, LoadErrorKind};
use super::expr::{
    CExpr, Ctx, boolean, compare, eval, num_of, number, text, truthy, wildcard_match,
};

/// A mapping table: first column → second column, first key wins.
#[derive(Clone, Debug, Default)]
pub(crate) struct Mapping {
    keys: Symbols,
    values: Vec<Value>,
}

impl Mapping {
    /// Adds a pair unless the key is already mapped.
    pub fn insert(&mut self, key: Value, value: Value) {
        let before = self.keys.len();
        let id = self.keys.intern(key);
        if id != NULL && self.keys.len() > before {
            self.values.push(value);
        }
    }

    /// The value mapped to `key`.
    pub fn get(&self, key: &Value) -> Option<&Value> {
        let id = self.keys.lookup(key)?;
        self.values.get(id as usize)
    }
}

/// What functions can see of the run.
pub(crate) trait Env {
    /// A variable's text.
    fn variable(&self, name: &str) -> Option<&str>;
    /// A mapping table.
    fn mapping(&self, name: &str) -> Option<&Mapping>;
    /// A field by name: the current section's model first, then the other.
    fn field(&self, name: &str) -> Option<(&Model, FieldId)>;
    /// A table by name: the current section's model first, then the other.
    fn table(&self, name: &str) -> Option<(&Model, &Table)>;
    /// The script's file name (`DocumentName()`).
    fn document_name(&self) -> &str;
    /// Records that a function with a caveat was used (a warning code).
    fn note(&self, code: &'static str);
}

macro_rules! funcs {
    ($( $v:ident = $name:literal, $min:expr, $max:expr; )*) => {
        /// A supported function.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Func { $( $v, )* }

        static SPECS: &[Spec] = &[ $( Spec { name: $name, f: Func::$v, min: $min, max: $max }, )* ];
    };
}

const MANY: usize = usize::MAX;

funcs! {
    Upper = "Upper", 1, 1;
    Lower = "Lower", 1, 1;
    Capitalize = "Capitalize", 1, 1;
    Trim = "Trim", 1, 1;
    LTrim = "LTrim", 1, 1;
    RTrim = "RTrim", 1, 1;
    Len = "Len", 1, 1;
    Left = "Left", 2, 2;
    Right = "Right", 2, 2;
    Mid = "Mid", 2, 3;
    Index = "Index", 2, 3;
    Replace = "Replace", 3, 3;
    SubField = "SubField", 2, 3;
    SubStringCount = "SubStringCount", 2, 2;
    Repeat = "Repeat", 1, 2;
    PurgeChar = "PurgeChar", 2, 2;
    KeepChar = "KeepChar", 2, 2;
    TextBetween = "TextBetween", 3, 4;
    FindOneOf = "FindOneOf", 2, 3;
    Chr = "Chr", 1, 1;
    Ord = "Ord", 1, 1;
    Num = "Num", 1, 4;
    NumHash = "Num#", 1, 4;
    Text = "Text", 1, 1;
    Dual = "Dual", 2, 2;
    If = "If", 2, 3;
    Match = "Match", 2, MANY;
    MixMatch = "MixMatch", 2, MANY;
    WildMatch = "WildMatch", 2, MANY;
    Pick = "Pick", 2, MANY;
    Alt = "Alt", 1, MANY;
    Coalesce = "Coalesce", 1, MANY;
    ApplyMap = "ApplyMap", 2, 3;
    RecNo = "RecNo", 0, 0;
    RowNo = "RowNo", 0, 0;
    IterNo = "IterNo", 0, 0;
    IsNull = "IsNull", 1, 1;
    IsNum = "IsNum", 1, 1;
    IsText = "IsText", 1, 1;
    Null = "Null", 0, 0;
    True = "True", 0, 0;
    False = "False", 0, 0;
    Floor = "Floor", 1, 3;
    Ceil = "Ceil", 1, 3;
    Round = "Round", 1, 3;
    Fabs = "Fabs", 1, 1;
    Sign = "Sign", 1, 1;
    Mod = "Mod", 2, 2;
    Div = "Div", 2, 2;
    Sqrt = "Sqrt", 1, 1;
    Exp = "Exp", 1, 1;
    Log = "Log", 1, 1;
    Log10 = "Log10", 1, 1;
    Pow = "Pow", 2, 2;
    RangeSum = "RangeSum", 1, MANY;
    RangeMin = "RangeMin", 1, MANY;
    RangeMax = "RangeMax", 1, MANY;
    Hash128 = "Hash128", 1, MANY;
    Hash160 = "Hash160", 1, MANY;
    Hash256 = "Hash256", 1, MANY;
    Exists = "Exists", 1, 2;
    FieldValue = "FieldValue", 2, 2;
    FieldValueCount = "FieldValueCount", 1, 1;
    FieldIndex = "FieldIndex", 2, 2;
    NoOfRows = "NoOfRows", 1, 1;
    NoOfFields = "NoOfFields", 1, 1;
    Peek = "Peek", 1, 3;
    Previous = "Previous", 1, 1;
    Date = "Date", 1, 2;
    DateHash = "Date#", 1, 2;
    MakeDate = "MakeDate", 1, 3;
    Year = "Year", 1, 1;
    Month = "Month", 1, 1;
    Day = "Day", 1, 1;
    DocumentName = "DocumentName", 0, 0;
    Sum = "Sum", 1, 1;
    Count = "Count", 1, 1;
    Min = "Min", 1, 1;
    Max = "Max", 1, 1;
    Avg = "Avg", 1, 1;
    Only = "Only", 1, 1;
    Concat = "Concat", 1, 3;
    MinString = "MinString", 1, 1;
    MaxString = "MaxString", 1, 1;
}

/// A function's name and arity.
pub(crate) struct Spec {
    pub name: &'static str,
    pub f: Func,
    pub min: usize,
    pub max: usize,
}

/// The function named `name` (case-insensitive, exact otherwise).
pub(crate) fn lookup_function(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name.eq_ignore_ascii_case(name))
}

/// Every supported function name.
pub(crate) fn names() -> Vec<&'static str> {
    SPECS.iter().map(|s| s.name).collect()
}

impl Func {
    /// Aggregations work over the rows of a group (GROUP BY).
    pub fn is_aggregation(self) -> bool {
        matches!(
            self,
            Func::Sum
                | Func::Count
                | Func::Min
                | Func::Max
                | Func::Avg
                | Func::Only
                | Func::Concat
                | Func::MinString
                | Func::MaxString
        )
    }

    /// Argument `i` names a field (a bare identifier is the name itself).
    pub fn takes_field_name(self, i: usize) -> bool {
        matches!(
            (self, i),
            (
                Func::Exists
                    | Func::FieldValue
                    | Func::FieldValueCount
                    | Func::FieldIndex
                    | Func::Peek,
                0
            )
        )
    }

    /// For `Exists(F)`: the name is also the value to look for.
    pub fn name_arg_also_value(self) -> bool {
        self == Func::Exists
    }
}

fn bad(span: Span, message: impl Into<String>) -> Fail {
    Fail::new(LoadErrorKind::BadArgument, span, message)
}

fn arg(args: &[CExpr], i: usize) -> Option<&CExpr> {
    args.get(i)
}

fn ev(args: &[CExpr], i: usize, cx: &Ctx<'_>) -> Result<Value, Fail> {
    match args.get(i) {
        Some(e) => eval(e, cx),
        None => Ok(Value::Null),
    }
}

fn ev_text(args: &[CExpr], i: usize, cx: &Ctx<'_>) -> Result<Option<String>, Fail> {
    let v = ev(args, i, cx)?;
    Ok(if v.is_null() {
        None
    } else {
        Some(v.text().into_owned())
    })
}

fn ev_num(args: &[CExpr], i: usize, cx: &Ctx<'_>) -> Result<Option<f64>, Fail> {
    Ok(num_of(&ev(args, i, cx)?))
}

/// Evaluates a call.
pub(crate) fn call(
    f: Func,
    args: &[CExpr],
    distinct: bool,
    span: Span,
    cx: &Ctx<'_>,
) -> Result<Value, Fail> {
    if f.is_aggregation() {
        return aggregate(f, args, distinct, span, cx);
    }
    macro_rules! s {
        ($i:expr) => {
            match ev_text(args, $i, cx)? {
                Some(t) => t,
                None => return Ok(Value::Null),
            }
        };
    }
    macro_rules! n {
        ($i:expr) => {
            match ev_num(args, $i, cx)? {
                Some(n) => n,
                None => return Ok(Value::Null),
            }
        };
    }
    Ok(match f {
        Func::Upper => text(s!(0).to_uppercase()),
        Func::Lower => text(s!(0).to_lowercase()),
        Func::Capitalize => text(capitalize(&s!(0))),
        Func::Trim => text(s!(0).trim_matches(' ')),
        Func::LTrim => text(s!(0).trim_start_matches(' ')),
        Func::RTrim => text(s!(0).trim_end_matches(' ')),
        Func::Len => Value::Num(s!(0).chars().count() as f64),
        Func::Left => {
            let t = s!(0);
            let k = n!(1).max(0.0) as usize;
            text(t.chars().take(k).collect::<String>())
        }
        Func::Right => {
            let t = s!(0);
            let k = n!(1).max(0.0) as usize;
            let len = t.chars().count();
            text(t.chars().skip(len.saturating_sub(k)).collect::<String>())
        }
        Func::Mid => {
            let t = s!(0);
            let start = (n!(1).max(1.0) as usize).saturating_sub(1);
            let it = t.chars().skip(start);
            if args.len() > 2 {
                let k = n!(2).max(0.0) as usize;
                text(it.take(k).collect::<String>())
            } else {
                text(it.collect::<String>())
            }
        }
        Func::Index => {
            let t = s!(0);
            let sub = s!(1);
            let occ = if args.len() > 2 { n!(2) as i64 } else { 1 };
            Value::Num(index_of(&t, &sub, occ) as f64)
        }
        Func::Replace => {
            let t = s!(0);
            let from = s!(1);
            let to = s!(2);
            if from.is_empty() {
                text(t)
            } else {
                text(t.replace(&from, &to))
            }
        }
        Func::SubField => {
            let t = s!(0);
            let d = s!(1);
            if args.len() < 3 {
                return Err(bad(
                    span,
                    "two-argument `SubField` generates one row per part; use it as a whole field expression",
                ));
            }
            let k = n!(2) as i64;
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
        Func::SubStringCount => {
            let t = s!(0);
            let sub = s!(1);
            if sub.is_empty() {
                Value::Num(0.0)
            } else {
                Value::Num(t.matches(sub.as_str()).count() as f64)
            }
        }
        Func::Repeat => {
            let t = s!(0);
            let k = if args.len() > 1 {
                n!(1).max(0.0) as usize
            } else {
                1
            };
            if t.len().saturating_mul(k) > 1 << 24 {
                return Err(bad(span, "`Repeat` would build a text longer than 16 MB"));
            }
            text(t.repeat(k))
        }
        Func::PurgeChar => {
            let t = s!(0);
            let c = s!(1);
            text(t.chars().filter(|ch| !c.contains(*ch)).collect::<String>())
        }
        Func::KeepChar => {
            let t = s!(0);
            let c = s!(1);
            text(t.chars().filter(|ch| c.contains(*ch)).collect::<String>())
        }
        Func::TextBetween => {
            let t = s!(0);
            let a = s!(1);
            let b = s!(2);
            let occ = if args.len() > 3 {
                n!(3).max(1.0) as usize
            } else {
                1
            };
            text_between(&t, &a, &b, occ).map_or(Value::Null, text)
        }
        Func::FindOneOf => {
            let t = s!(0);
            let c = s!(1);
            let occ = if args.len() > 2 {
                n!(2).max(1.0) as usize
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
        Func::Chr => {
            let n = n!(0);
            match char::from_u32(n as u32) {
                Some(c) if n >= 0.0 => text(c.to_string()),
                _ => Value::Null,
            }
        }
        Func::Ord => match s!(0).chars().next() {
            Some(c) => Value::Num(f64::from(u32::from(c))),
            None => Value::Null,
        },
        Func::Num => {
            let v = ev(args, 0, cx)?;
            let Some(n) = num_of(&v) else {
                return Ok(Value::Null);
            };
            if args.len() < 2 {
                return Ok(Value::Dual(n, Arc::from(format_number(n))));
            }
            let fmt = s!(1);
            let dec = if args.len() > 2 {
                s!(2)
            } else {
                String::from(".")
            };
            let thou = if args.len() > 3 {
                s!(3)
            } else {
                String::from(",")
            };
            Value::Dual(n, Arc::from(format_num(n, &fmt, &dec, &thou)))
        }
        Func::NumHash => {
            let t = s!(0);
            let dec = if args.len() > 2 {
                s!(2)
            } else {
                String::from(".")
            };
            let thou = if args.len() > 3 { s!(3) } else { String::new() };
            match parse_formatted(&t, &dec, &thou) {
                Some(n) => Value::Dual(n, Arc::from(t.as_str())),
                None => Value::Null,
            }
        }
        Func::Text => {
            let v = ev(args, 0, cx)?;
            if v.is_null() {
                Value::Null
            } else {
                Value::text_only(&v.text())
            }
        }
        Func::Dual => {
            let t = s!(0);
            let n = n!(1);
            Value::Dual(n, Arc::from(t.as_str()))
        }
        Func::If => {
            if truthy(&ev(args, 0, cx)?) {
                ev(args, 1, cx)?
            } else {
                ev(args, 2, cx)?
            }
        }
        Func::Match | Func::MixMatch | Func::WildMatch => {
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
                    Func::Match => t == ct.as_ref(),
                    Func::MixMatch => t.to_lowercase() == ct.to_lowercase(),
                    _ => wildcard_match(&ct, &t, true),
                };
                if hit {
                    found = i;
                    break;
                }
            }
            Value::Num(found as f64)
        }
        Func::Pick => {
            let k = n!(0) as i64;
            if k < 1 || k as usize >= args.len() {
                Value::Null
            } else {
                ev(args, k as usize, cx)?
            }
        }
        Func::Alt => {
            for i in 0..args.len() {
                let v = ev(args, i, cx)?;
                if v.num().is_some() || i + 1 == args.len() {
                    return Ok(v);
                }
            }
            Value::Null
        }
        Func::Coalesce => {
            for i in 0..args.len() {
                let v = ev(args, i, cx)?;
                if !v.is_null() {
                    return Ok(v);
                }
            }
            Value::Null
        }
        Func::ApplyMap => {
            let name = s!(0);
            let key = ev(args, 1, cx)?;
            let Some(map) = cx.env.mapping(&name) else {
                return Err(Fail::new(
                    LoadErrorKind::UnknownTable,
                    span,
                    format!("mapping table `{name}` not found"),
                )
                .help("load it with `MAPPING LOAD` before this statement"));
            };
            match map.get(&key) {
                Some(v) => v.clone(),
                None if args.len() > 2 => ev(args, 2, cx)?,
                None => key,
            }
        }
        Func::RecNo => Value::Num(cx.rec_no as f64),
        Func::RowNo => Value::Num(cx.row_no as f64),
        Func::IterNo => Value::Num(1.0),
        Func::IsNull => boolean(ev(args, 0, cx)?.is_null()),
        Func::IsNum => {
            boolean(ev(args, 0, cx)?.num().is_some() || is_numeric_text(&ev(args, 0, cx)?))
        }
        Func::IsText => {
            let v = ev(args, 0, cx)?;
            boolean(matches!(v, Value::Text(_)) && !is_numeric_text(&v))
        }
        Func::Null => Value::Null,
        Func::True => Value::Num(-1.0),
        Func::False => Value::Num(0.0),
        Func::Floor | Func::Ceil | Func::Round => {
            let x = n!(0);
            let step = if args.len() > 1 { n!(1) } else { 1.0 };
            let off = if args.len() > 2 { n!(2) } else { 0.0 };
            if step == 0.0 {
                return Ok(Value::Null);
            }
            let q = (x - off) / step;
            let r = match f {
                Func::Floor => q.floor(),
                Func::Ceil => q.ceil(),
                // Qlik rounds halves up (towards +infinity).
                _ => (q + 0.5).floor(),
            };
            number(r * step + off)
        }
        Func::Fabs => number(n!(0).abs()),
        Func::Sign => {
            let x = n!(0);
            Value::Num(if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            })
        }
        Func::Mod => {
            let a = n!(0).trunc();
            let b = n!(1).trunc();
            if b == 0.0 {
                Value::Null
            } else {
                number(a.rem_euclid(b.abs()))
            }
        }
        Func::Div => {
            let a = n!(0);
            let b = n!(1);
            if b == 0.0 {
                Value::Null
            } else {
                number((a / b).trunc())
            }
        }
        Func::Sqrt => number(n!(0).sqrt()),
        Func::Exp => number(n!(0).exp()),
        Func::Log => number(n!(0).ln()),
        Func::Log10 => number(n!(0).log10()),
        Func::Pow => number(n!(0).powf(n!(1))),
        Func::RangeSum | Func::RangeMin | Func::RangeMax => {
            let mut acc: Option<f64> = None;
            for i in 0..args.len() {
                if let Some(x) = ev_num(args, i, cx)? {
                    acc = Some(match (acc, f) {
                        (None, _) => x,
                        (Some(a), Func::RangeSum) => a + x,
                        (Some(a), Func::RangeMin) => a.min(x),
                        (Some(a), _) => a.max(x),
                    });
                }
            }
            match (acc, f) {
                (None, Func::RangeSum) => Value::Num(0.0),
                (None, _) => Value::Null,
                (Some(a), _) => number(a),
            }
        }
        Func::Hash128 | Func::Hash160 | Func::Hash256 => {
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
                Func::Hash128 => 16,
                Func::Hash160 => 20,
                _ => 32,
            };
            let bytes = digest.get(..n).unwrap_or(&digest);
            text(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
        }
        Func::Exists => {
            let name = field_name_arg(args, 0, cx)?;
            let v = ev(args, 1, cx)?;
            if v.is_null() {
                return Ok(boolean(false));
            }
            let in_model = cx
                .env
                .field(&name)
                .and_then(|(m, id)| m.symbols(id))
                .is_some_and(|s| s.lookup(&v).is_some());
            let in_out = cx.out.is_some_and(|o| {
                o.position(&name)
                    .and_then(|c| o.cols.get(c))
                    .is_some_and(|c| c.syms.lookup(&v).is_some())
            });
            boolean(in_model || in_out)
        }
        Func::FieldValue => {
            let name = field_name_arg(args, 0, cx)?;
            let k = n!(1);
            match cx.env.field(&name).and_then(|(m, id)| m.symbols(id)) {
                Some(s) if k >= 1.0 => s.get((k as u32).saturating_sub(1)).unwrap_or(Value::Null),
                _ => Value::Null,
            }
        }
        Func::FieldValueCount => {
            let name = field_name_arg(args, 0, cx)?;
            let count = cx
                .env
                .field(&name)
                .and_then(|(m, id)| m.symbols(id))
                .map_or(0, Symbols::len);
            Value::Num(count as f64)
        }
        Func::FieldIndex => {
            let name = field_name_arg(args, 0, cx)?;
            let v = ev(args, 1, cx)?;
            let pos = cx
                .env
                .field(&name)
                .and_then(|(m, id)| m.symbols(id))
                .and_then(|s| s.lookup(&v))
                .map_or(0.0, |i| f64::from(i) + 1.0);
            Value::Num(pos)
        }
        Func::NoOfRows | Func::NoOfFields => {
            let name = s!(0);
            match cx.env.table(&name) {
                Some((_, t)) if f == Func::NoOfRows => Value::Num(t.len() as f64),
                Some((_, t)) => Value::Num(t.columns().len() as f64),
                None => Value::Null,
            }
        }
        Func::Peek => peek(args, span, cx)?,
        Func::Previous => match (cx.input, cx.row.checked_sub(1)) {
            (Some(_), Some(prev)) => match arg(args, 0) {
                Some(e) => eval(e, &cx.at(prev))?,
                None => Value::Null,
            },
            _ => Value::Null,
        },
        Func::Date => {
            let n = n!(0);
            let fmt = if args.len() > 1 {
                s!(1)
            } else {
                date_format(cx)
            };
            Value::Dual(n, Arc::from(format_date(n, &fmt, cx)))
        }
        Func::DateHash => {
            let t = s!(0);
            let fmt = if args.len() > 1 {
                s!(1)
            } else {
                date_format(cx)
            };
            match parse_date(&t, &fmt, cx) {
                Some(serial) => Value::Dual(serial, Arc::from(t.as_str())),
                None => Value::Null,
            }
        }
        Func::MakeDate => {
            let y = n!(0) as i64;
            let m = if args.len() > 1 { n!(1) as i64 } else { 1 };
            let d = if args.len() > 2 { n!(2) as i64 } else { 1 };
            if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
                return Ok(Value::Null);
            }
            let serial = days_from_civil(y, m, d) as f64;
            Value::Dual(serial, Arc::from(format_date(serial, &date_format(cx), cx)))
        }
        Func::Year | Func::Month | Func::Day => {
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
                Func::Year => Value::Num(y as f64),
                Func::Day => Value::Num(d as f64),
                _ => Value::Dual(m as f64, Arc::from(month_name(m, false, cx).as_str())),
            }
        }
        Func::DocumentName => text(cx.env.document_name()),
        Func::Sum
        | Func::Count
        | Func::Min
        | Func::Max
        | Func::Avg
        | Func::Only
        | Func::Concat
        | Func::MinString
        | Func::MaxString => Value::Null,
    })
}

fn is_numeric_text(v: &Value) -> bool {
    matches!(v, Value::Text(t) if parse_number(t.trim()).is_some())
}

fn field_name_arg(args: &[CExpr], i: usize, cx: &Ctx<'_>) -> Result<String, Fail> {
    match args.get(i) {
        Some(CExpr::Name(n)) => Ok(n.clone()),
        Some(e) => Ok(eval(e, cx)?.text().into_owned()),
        None => Ok(String::new()),
    }
}

fn peek(args: &[CExpr], span: Span, cx: &Ctx<'_>) -> Result<Value, Fail> {
    let field = field_name_arg(args, 0, cx)?;
    let row = match args.get(1) {
        Some(e) => num_of(&eval(e, cx)?).unwrap_or(-1.0) as i64,
        None => -1,
    };
    let pick = |len: usize| -> Option<usize> {
        if row >= 0 {
            let r = usize::try_from(row).ok()?;
            (r < len).then_some(r)
        } else {
            len.checked_sub(usize::try_from(-row).ok()?)
        }
    };
    match args.get(2) {
        Some(e) => {
            let table = eval(e, cx)?.text().into_owned();
            let Some((model, t)) = cx.env.table(&table) else {
                return Err(Fail::new(
                    LoadErrorKind::UnknownTable,
                    span,
                    format!("table `{table}` not found"),
                ));
            };
            let Some(fid) = model.find_field(&field).filter(|&f| t.has_field(f)) else {
                return Ok(Value::Null);
            };
            let Some(r) = pick(t.len()) else {
                return Ok(Value::Null);
            };
            let id = t
                .column(fid)
                .and_then(|c| c.get(r))
                .copied()
                .unwrap_or(NULL);
            Ok(model.value(fid, id).unwrap_or(Value::Null))
        }
        None => {
            let Some(out) = cx.out else {
                return Ok(Value::Null);
            };
            let Some(c) = out.position(&field) else {
                return Ok(Value::Null);
            };
            let Some(r) = pick(out.rows) else {
                return Ok(Value::Null);
            };
            Ok(out.value(c, r))
        }
    }
}

fn aggregate(
    f: Func,
    args: &[CExpr],
    distinct: bool,
    span: Span,
    cx: &Ctx<'_>,
) -> Result<Value, Fail> {
    let Some(group) = cx.group else {
        return Err(bad(span, "aggregation functions only work inside a LOAD"));
    };
    let Some(inner) = args.first() else {
        return Ok(Value::Null);
    };
    let mut values: Vec<Value> = Vec::with_capacity(group.len());
    let mut weights: Vec<f64> = Vec::new();
    for &r in group {
        let rcx = cx.at(r);
        if matches!(inner, CExpr::Star) {
            values.push(Value::Num(1.0));
        } else {
            values.push(eval(inner, &rcx)?);
        }
        if f == Func::Concat && args.len() > 2 {
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
        Func::Sum => number(nums().sum()),
        Func::Count => Value::Num(values.iter().filter(|v| !v.is_null()).count() as f64),
        Func::Min => nums().reduce(f64::min).map_or(Value::Null, number),
        Func::Max => nums().reduce(f64::max).map_or(Value::Null, number),
        Func::Avg => {
            let n: Vec<f64> = nums().collect();
            if n.is_empty() {
                Value::Null
            } else {
                number(n.iter().sum::<f64>() / n.len() as f64)
            }
        }
        Func::Only => {
            let mut it = values.iter().filter(|v| !v.is_null());
            match it.next() {
                Some(first) if it.all(|v| v.same_as(first)) => first.clone(),
                _ => Value::Null,
            }
        }
        Func::MinString | Func::MaxString => {
            let it = values.iter().filter(|v| !v.is_null());
            let pick = if f == Func::MinString {
                it.min_by(|a, b| a.text().cmp(&b.text()))
            } else {
                it.max_by(|a, b| a.text().cmp(&b.text()))
            };
            pick.cloned().unwrap_or(Value::Null)
        }
        Func::Concat => {
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
        _ => Value::Null,
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

fn date_format(cx: &Ctx<'_>) -> String {
    cx.env
        .variable("DateFormat")
        .map_or_else(|| String::from("YYYY-MM-DD"), str::to_string)
}

fn month_name(m: i64, long: bool, cx: &Ctx<'_>) -> String {
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

fn format_date(serial: f64, fmt: &str, cx: &Ctx<'_>) -> String {
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

fn parse_date(t: &str, fmt: &str, cx: &Ctx<'_>) -> Option<f64> {
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
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
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

/// Re-exported for tests of the date helpers.
#[cfg(test)]
pub(crate) fn serial(y: i64, m: i64, d: i64) -> i64 {
    days_from_civil(y, m, d)
}

/// Sorting values the way `ORDER BY` does.
pub(crate) fn order(a: &Value, b: &Value) -> Ordering {
    compare(a, b).unwrap_or_else(|| a.sort_cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_serials_match_qlik() {
        assert_eq!(serial(1899, 12, 30), 0);
        assert_eq!(serial(2025, 1, 1), 45658);
        assert_eq!(civil_from_days(45658), (2025, 1, 1));
        assert_eq!(civil_from_days(60), (1900, 2, 28));
    }

    #[test]
    fn number_formats() {
        assert_eq!(format_num(1234.5, "#,##0.00", ".", ","), "1,234.50");
        assert_eq!(format_num(7.0, "0000", ".", ","), "0007");
        assert_eq!(format_num(0.256, "0.0%", ".", ","), "25.6%");
        assert_eq!(format_num(-1.23456, "0.00", ",", "."), "-1,23");
    }

    #[test]
    fn string_helpers() {
        assert_eq!(index_of("abcabc", "b", 2), 5);
        assert_eq!(index_of("abcabc", "b", -1), 5);
        assert_eq!(index_of("abc", "x", 1), 0);
        assert_eq!(text_between("<a><b>", "<", ">", 2), Some("b".into()));
        assert_eq!(capitalize("hello wORLD"), "Hello World");
    }
}
