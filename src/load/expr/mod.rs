//! Expressions: compiled once per load (field references bound to column
//! positions, function names resolved), then evaluated per row.
//!
//! Qlik semantics, from the help page "Relational operators" and "Numeric
//! operators" (help.qlik.com, Sense_Hub/Scripting/Operators):
//! - true is -1, false is 0; a condition holds when its value is a non-zero
//!   number;
//! - arithmetic interprets text as numbers (`'1' + 1` = 2); an operand with
//!   no numeric interpretation, or NULL, makes the result NULL;
//! - `&` concatenates texts, NULL counting as empty;
//! - `= <> < <= > >=` compare numerically when *both* operands can be read as
//!   numbers, else as text. The help describes no case folding for them (it
//!   does for `LIKE`), so text comparison here is exact, case-sensitive;
//!   `MixMatch`/`LIKE` are the case-insensitive tools. A NULL operand makes
//!   the comparison NULL (false in a condition);
//! - `precedes`/`follows` always compare text.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::model::{FieldId, Model, Symbols, Table, Value, format_number, parse_number};
use crate::script::ast::{BinaryOp, Expr, ExprKind, UnaryOp};
use crate::script::source::Span;

use super::error::{Fail, LoadErrorKind, did_you_mean};
use super::frame::Frame;
mod functions;

pub(super) use functions::Func;
use functions::lookup_function;
pub(super) use functions::{days_from_civil, format_date, format_interval};

/// A compiled expression.
#[derive(Clone, Debug)]
pub(super) enum CExpr {
    /// A constant.
    Lit(Value),
    /// A column of the input frame.
    Col(usize),
    /// A variable (outside loads: LET, IF, FOR …).
    Var(String),
    /// A field *name* given as a bare identifier where a function expects a
    /// name (`Exists(F)`, `FieldValue(F, 1)`); the name as written.
    Name(String),
    /// `*` (as in `Count(*)`).
    Star,
    /// A unary operator.
    Unary(UnaryOp, Box<CExpr>),
    /// A binary operator.
    Binary(BinaryOp, Box<CExpr>, Box<CExpr>),
    /// A function call.
    Call {
        f: Func,
        args: Vec<CExpr>,
        distinct: bool,
        span: Span,
    },
}

/// How bare identifiers bind.
#[derive(Clone, Copy)]
pub(super) enum Binding<'a> {
    /// Inside a load: fields of the input frame. `loose` also accepts a
    /// different case (section access, whose INLINE headers are upper-cased).
    Row { names: &'a [String], loose: bool },
    /// Outside loads: variables.
    Vars,
}

/// Compiles `e`; `has_agg` is set when it uses an aggregation function.
pub(super) fn compile(e: &Expr, b: Binding<'_>, has_agg: &mut bool) -> Result<CExpr, Fail> {
    Ok(match &e.kind {
        ExprKind::Num { value, text } => {
            // A literal keeps the text it was written with only when that
            // text is Qlik's own rendering; `1.50` shows as 1.5 in Qlik.
            let _ = text;
            CExpr::Lit(Value::Num(*value))
        }
        ExprKind::Str(s) => CExpr::Lit(Value::text_only(s)),
        ExprKind::Star => CExpr::Star,
        ExprKind::Field(name) => match b {
            Binding::Vars => CExpr::Var(name.clone()),
            Binding::Row { names, loose } => {
                if let Some(i) = names.iter().position(|n| n == name) {
                    CExpr::Col(i)
                } else if let Some(i) = names
                    .iter()
                    .position(|n| loose && n.to_uppercase() == name.to_uppercase())
                {
                    CExpr::Col(i)
                } else {
                    let mut fail = Fail::new(
                        LoadErrorKind::UnknownField,
                        e.span,
                        format!("field `{name}` not found"),
                    )
                    .label("no such field in the rows this load reads");
                    fail = match did_you_mean(name, names.iter().map(String::as_str)) {
                        Some(s) => fail.help(format!("did you mean `{s}`?")),
                        None => fail.help(format!(
                            "the fields available here are: {}",
                            list_names(names)
                        )),
                    };
                    return Err(fail);
                }
            }
        },
        ExprKind::Unary { op, expr } => CExpr::Unary(*op, Box::new(compile(expr, b, has_agg)?)),
        ExprKind::Binary { op, left, right } => CExpr::Binary(
            *op,
            Box::new(compile(left, b, has_agg)?),
            Box::new(compile(right, b, has_agg)?),
        ),
        ExprKind::Call {
            name,
            args,
            distinct,
        } => {
            if let Some(reason) = functions::unsupported(name) {
                return Err(Fail::new(
                    LoadErrorKind::Unsupported,
                    e.span,
                    format!("function `{name}` cannot be evaluated offline"),
                )
                .label("not supported offline")
                .help(reason));
            }
            let Some(spec) = lookup_function(name) else {
                let known = functions::names();
                let mut fail = Fail::new(
                    LoadErrorKind::UnknownFunction,
                    e.span,
                    format!("unknown function `{name}`"),
                )
                .label("not a function this tool can evaluate");
                fail = match did_you_mean(name, known.iter().copied()) {
                    Some(s) => fail.help(format!("did you mean `{s}`?")),
                    None => fail.help(
                        "only a documented subset of Qlik's script functions is supported offline",
                    ),
                };
                return Err(fail);
            };
            if args.len() < spec.min || args.len() > spec.max {
                let expected = if spec.min == spec.max {
                    format!("{}", spec.min)
                } else if spec.max == usize::MAX {
                    format!("at least {}", spec.min)
                } else {
                    format!("{} to {}", spec.min, spec.max)
                };
                return Err(Fail::new(
                    LoadErrorKind::BadArgument,
                    e.span,
                    format!(
                        "`{}` takes {expected} argument{}, got {}",
                        spec.name,
                        if spec.max == 1 { "" } else { "s" },
                        args.len()
                    ),
                )
                .label("wrong number of arguments"));
            }
            if spec.f.is_aggregation() {
                *has_agg = true;
            }
            let mut cargs = Vec::with_capacity(args.len());
            for (i, a) in args.iter().enumerate() {
                // Bare identifiers naming a field (not a value) stay names.
                if spec.f.takes_field_name(i)
                    && let ExprKind::Field(n) = &a.kind
                {
                    if spec.f.name_arg_also_value() && args.len() == 1 {
                        // `Exists(F)`: the name, and the row's value of F.
                        cargs.push(CExpr::Name(n.clone()));
                        cargs.push(compile(a, b, has_agg)?);
                    } else {
                        cargs.push(CExpr::Name(n.clone()));
                    }
                    continue;
                }
                cargs.push(compile(a, b, has_agg)?);
            }
            CExpr::Call {
                f: spec.f,
                args: cargs,
                distinct: *distinct,
                span: e.span,
            }
        }
    })
}

fn list_names(names: &[String]) -> String {
    if names.is_empty() {
        return String::from("none");
    }
    let shown: Vec<String> = names.iter().take(12).map(|n| format!("`{n}`")).collect();
    let more = if names.len() > 12 { ", …" } else { "" };
    format!("{}{more}", shown.join(", "))
}

/// True when the expression is a plain reference to input column `i`.
pub(super) fn as_column(e: &CExpr) -> Option<usize> {
    match e {
        CExpr::Col(i) => Some(*i),
        _ => None,
    }
}

/// A mapping table: first column → second column, first key wins.
#[derive(Clone, Debug, Default)]
pub(super) struct Mapping {
    keys: Symbols,
    values: Vec<Value>,
}

impl Mapping {
    /// Adds a pair unless the key is already mapped.
    pub(super) fn insert(&mut self, key: Value, value: Value) {
        let before = self.keys.len();
        let id = self.keys.intern(key);
        if !id.is_null() && self.keys.len() > before {
            self.values.push(value);
        }
    }

    /// The value mapped to `key`.
    pub(super) fn get(&self, key: &Value) -> Option<&Value> {
        let id = self.keys.lookup(key)?;
        self.values.get(id.index())
    }

    /// The pairs, in the order they were added.
    pub(super) fn pairs(&self) -> impl Iterator<Item = (Value, &Value)> + '_ {
        self.values.iter().enumerate().map(|(i, v)| {
            #[expect(
                clippy::expect_used,
                reason = "INVARIANT: `insert` pushes a value exactly when it adds a key, so key i exists"
            )]
            let key = crate::model::SymbolId::from_index(i)
                .and_then(|id| self.keys.get(id))
                .expect("a key for every value");
            (key, v)
        })
    }
}

/// What functions can see of the run.
pub(super) trait Env {
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
    /// The path of the file a load is reading, as the script names it
    /// (`FileName()`, `FilePath()` …); `None` outside file loads.
    fn file(&self) -> Option<&str>;
    /// Records that a function with a caveat was used (a warning code).
    fn note(&self, code: &'static str);
    /// Where a path named by the script is (a file `STORE` kept, `lib://`,
    /// `--map-path`, `DIRECTORY`, the script's folder), as `FROM` finds it.
    fn file_path(&self, path: &str) -> std::path::PathBuf;
    /// Every table loaded so far, security tables first, each model's in
    /// the order they were made (`NoOfTables`, `TableName` …).
    fn tables(&self) -> Vec<(&Model, &Table)>;
    /// The number `AutoNumber` gives `key` in the counter named `counter`:
    /// 1, 2, … in the order keys are first met in the run.
    fn autonumber(&self, counter: &str, key: Value) -> usize;
}

/// What an evaluation can see: the run (variables, models, mapping
/// tables) and, inside a load, the input row being read, its record and
/// row numbers, the rows output so far and the rows of the current group.
/// Outside loads ([`RowScope::no_row`]) only the run.
pub(super) struct RowScope<'a> {
    /// Variables, models, mapping tables.
    pub(super) env: &'a dyn Env,
    /// The input rows.
    pub(super) input: Option<&'a Frame>,
    /// The current input row.
    pub(super) row: usize,
    /// 1-based number of the input record (`RecNo()`).
    pub(super) rec_no: usize,
    /// 1-based number of the output row being built (`RowNo()`).
    pub(super) row_no: usize,
    /// 1-based iteration of a `WHILE` load on its input row (`IterNo()`);
    /// 1 elsewhere.
    pub(super) iter_no: usize,
    /// The rows output so far (`Peek` without a table, `Exists`).
    pub(super) out: Option<&'a Frame>,
    /// Rows of the current group (aggregation).
    pub(super) group: Option<&'a [usize]>,
}

impl<'a> RowScope<'a> {
    /// A scope with no row (LET, IF, FOR …).
    pub(super) fn no_row(env: &'a dyn Env) -> Self {
        Self {
            env,
            input: None,
            row: 0,
            rec_no: 0,
            row_no: 0,
            iter_no: 1,
            out: None,
            group: None,
        }
    }

    /// The same scope on another input row.
    pub(super) fn at(&self, row: usize) -> RowScope<'a> {
        RowScope {
            env: self.env,
            input: self.input,
            row,
            rec_no: row + 1,
            row_no: self.row_no,
            iter_no: self.iter_no,
            out: self.out,
            group: None,
        }
    }
}

/// Qlik's true.
pub(super) const TRUE: f64 = -1.0;

/// A boolean as Qlik's number.
pub(super) fn boolean(b: bool) -> Value {
    Value::Num(if b { TRUE } else { 0.0 })
}

/// The numeric interpretation of a value: its number, or its text read as
/// a number (surrounding blanks ignored).
pub(super) fn num_of(v: &Value) -> Option<f64> {
    match v {
        Value::Null => None,
        Value::Num(n) | Value::Dual(n, _) => Some(*n),
        Value::Text(t) => parse_number(t.trim()),
    }
}

/// True when a condition holds: a non-zero number.
pub(super) fn truthy(v: &Value) -> bool {
    num_of(v).is_some_and(|n| n != 0.0)
}

/// A number result (NaN and infinities become NULL).
pub(super) fn number(n: f64) -> Value {
    if n.is_finite() {
        Value::Num(n)
    } else {
        Value::Null
    }
}

/// A text result.
pub(super) fn text(s: impl AsRef<str>) -> Value {
    Value::Text(Arc::from(s.as_ref()))
}

/// Evaluates a compiled expression.
pub(super) fn eval(e: &CExpr, cx: &RowScope<'_>) -> Result<Value, Fail> {
    Ok(match e {
        CExpr::Lit(v) => v.clone(),
        CExpr::Col(i) => match cx.input {
            Some(f) => f.value(*i, cx.row).clone(),
            None => Value::Null,
        },
        CExpr::Var(name) => match cx.env.variable(name) {
            Some(t) => Value::from_text(t),
            None => Value::Null,
        },
        CExpr::Name(n) => Value::text_only(n),
        CExpr::Star => Value::Null,
        CExpr::Unary(op, x) => {
            let v = eval(x, cx)?;
            match op {
                UnaryOp::Neg => num_of(&v).map_or(Value::Null, |n| number(-n)),
                UnaryOp::Plus => num_of(&v).map_or(Value::Null, Value::Num),
                UnaryOp::Not => {
                    if v.is_null() {
                        Value::Null
                    } else {
                        boolean(!truthy(&v))
                    }
                }
                UnaryOp::BitNot => num_of(&v).map_or(Value::Null, |n| number(!(n as i64) as f64)),
            }
        }
        CExpr::Binary(op, l, r) => binary(*op, l, r, cx)?,
        CExpr::Call {
            f,
            args,
            distinct,
            span,
        } => functions::call(*f, args, *distinct, *span, cx)?,
    })
}

fn binary(op: BinaryOp, l: &CExpr, r: &CExpr, cx: &RowScope<'_>) -> Result<Value, Fail> {
    // AND/OR evaluate both sides (Qlik has no short circuit in scripts), but
    // the result only depends on truthiness.
    let a = eval(l, cx)?;
    let b = eval(r, cx)?;
    Ok(match op {
        BinaryOp::Add => arith(&a, &b, |x, y| x + y),
        BinaryOp::Sub => arith(&a, &b, |x, y| x - y),
        BinaryOp::Mul => arith(&a, &b, |x, y| x * y),
        BinaryOp::Div => arith(&a, &b, |x, y| if y == 0.0 { f64::NAN } else { x / y }),
        BinaryOp::Concat => {
            let mut s = a.text().into_owned();
            s.push_str(&b.text());
            text(s)
        }
        BinaryOp::Eq => compare(&a, &b).map_or(Value::Null, |o| boolean(o.is_eq())),
        BinaryOp::Ne => compare(&a, &b).map_or(Value::Null, |o| boolean(o.is_ne())),
        BinaryOp::Lt => compare(&a, &b).map_or(Value::Null, |o| boolean(o.is_lt())),
        BinaryOp::Le => compare(&a, &b).map_or(Value::Null, |o| boolean(o.is_le())),
        BinaryOp::Gt => compare(&a, &b).map_or(Value::Null, |o| boolean(o.is_gt())),
        BinaryOp::Ge => compare(&a, &b).map_or(Value::Null, |o| boolean(o.is_ge())),
        BinaryOp::Like => {
            if a.is_null() || b.is_null() {
                Value::Null
            } else {
                boolean(wildcard_match(&b.text(), &a.text(), true))
            }
        }
        BinaryOp::Precedes => {
            if a.is_null() || b.is_null() {
                Value::Null
            } else {
                boolean(a.text() < b.text())
            }
        }
        BinaryOp::Follows => {
            if a.is_null() || b.is_null() {
                Value::Null
            } else {
                boolean(a.text() > b.text())
            }
        }
        BinaryOp::And => boolean(truthy(&a) && truthy(&b)),
        BinaryOp::Or => boolean(truthy(&a) || truthy(&b)),
        BinaryOp::Xor => boolean(truthy(&a) != truthy(&b)),
        BinaryOp::BitAnd => bits(&a, &b, |x, y| x & y),
        BinaryOp::BitOr => bits(&a, &b, |x, y| x | y),
        BinaryOp::BitXor => bits(&a, &b, |x, y| x ^ y),
        BinaryOp::Shr => bits(&a, &b, |x, y| x.checked_shr(y as u32).unwrap_or(0)),
        BinaryOp::Shl => bits(&a, &b, |x, y| x.checked_shl(y as u32).unwrap_or(0)),
    })
}

fn arith(a: &Value, b: &Value, f: impl Fn(f64, f64) -> f64) -> Value {
    match (num_of(a), num_of(b)) {
        (Some(x), Some(y)) => number(f(x, y)),
        _ => Value::Null,
    }
}

fn bits(a: &Value, b: &Value, f: impl Fn(i64, i64) -> i64) -> Value {
    match (num_of(a), num_of(b)) {
        (Some(x), Some(y)) => number(f(x as i64, y as i64) as f64),
        _ => Value::Null,
    }
}

/// Qlik's relational comparison (see the module doc); `None` with a NULL.
pub(super) fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    if a.is_null() || b.is_null() {
        return None;
    }
    match (num_of(a), num_of(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y),
        _ => Some(a.text().as_ref().cmp(b.text().as_ref())),
    }
}

/// Sorting values the way `ORDER BY` does.
pub(super) fn order(a: &Value, b: &Value) -> Ordering {
    compare(a, b).unwrap_or_else(|| a.sort_cmp(b))
}

/// Matches `text` against a pattern with `*` (any run) and `?` (one
/// character).
pub(super) fn wildcard_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if ignore_case {
        (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    // Iterative matcher with one backtrack point: linear in practice.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || Some(&c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

/// The text a value shows, for variables: numbers in Qlik's default format.
pub(super) fn value_text(v: &Value) -> String {
    match v {
        Value::Num(n) => format_number(*n),
        other => other.text().into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("a*", "ABC", true));
        assert!(!wildcard_match("a*", "ABC", false));
        assert!(wildcard_match("?b*d", "abcd", false));
        assert!(wildcard_match("*", "", false));
        assert!(!wildcard_match("?", "", false));
        assert!(wildcard_match("*x*y", "axbxcy", false));
    }

    #[test]
    fn comparisons_are_numeric_only_when_both_sides_are_numbers() {
        use std::cmp::Ordering;
        assert_eq!(compare(&text("1"), &Value::Num(1.0)), Some(Ordering::Equal));
        assert_eq!(compare(&text("10"), &text("9")), Some(Ordering::Greater));
        assert_eq!(compare(&text("a"), &text("A")), Some(Ordering::Greater));
        assert_eq!(compare(&Value::Null, &text("")), None);
    }

    #[test]
    fn truthiness() {
        assert!(truthy(&Value::Num(-1.0)));
        assert!(truthy(&text("1")));
        assert!(!truthy(&text("abc")));
        assert!(!truthy(&Value::Null));
    }
}
