//! Expressions: the parser (precedence climbing over Qlik's operators) and a
//! printer (`Display`) whose output parses back to the same tree.
//!
//! Qlik's help lists the operators by family but gives no precedence table.
//! The order used here, loosest first, follows the QlikView reference manual
//! and the engine's observed behaviour for the common operators:
//!
//! | level | operators |
//! |---|---|
//! | 1 | `OR`, `XOR` |
//! | 2 | `AND` |
//! | 3 | `NOT` (prefix) |
//! | 4 | `=` `<>` `<` `<=` `>` `>=` `LIKE` `PRECEDES` `FOLLOWS` |
//! | 5 | `BITOR`, `BITXOR` |
//! | 6 | `BITAND` |
//! | 7 | `>>`, `<<` |
//! | 8 | `&` |
//! | 9 | `+`, `-` |
//! | 10 | `*`, `/` |
//! | 11 | prefix `-`, `+`, `BITNOT` |
//!
//! The bit operators have no documented place; they sit above the relational
//! ones (so `x BITAND 1 = 1` compares the masked value, as the keyword form
//! reads) and follow C among themselves (shifts tighter than BITAND, BITAND
//! tighter than BITOR). All binary operators are left-associative.

use std::cell::Cell;
use std::fmt;

use super::ast::{BinaryOp, Expr, ExprKind, UnaryOp};
use super::error::ParseErrorKind;
use super::lex::{PErr, PResult, is_ident_char, is_ident_start, number_at, quoted, sp, word_at};
use super::source::{SharedText, SourceId, Span};

/// Deepest expression nesting accepted (parentheses, operator chains that
/// recurse, function arguments): deeper input is `script::too-deep`, never a
/// stack overflow.
pub const MAX_EXPR_DEPTH: usize = 256;

/// The expression parser, and the state every parser of one text shares:
/// the whole text (for spans), its source and the nesting depths. The
/// statement parser ([`super::stmt::StmtParser`]) is built around one.
pub(crate) struct ExprParser<'a> {
    pub text: &'a str,
    /// `text` as shared text, when the caller has it so: INLINE tables
    /// then share it rather than copy their part.
    pub shared: Option<&'a SharedText>,
    pub source: SourceId,
    /// Expression nesting.
    pub depth: Cell<usize>,
    /// Block (IF/FOR/SUB/DO) nesting.
    pub blocks: Cell<usize>,
}

/// Decrements the depth counter when a recursive parser returns.
pub(crate) struct DepthGuard<'c>(&'c Cell<usize>);

impl Drop for DepthGuard<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}

/// Words that end an expression instead of naming a field. `GROUP` and
/// `ORDER` are reserved only before `BY`: `GROUP` is a common section access
/// field.
const RESERVED: &[&str] = &[
    "AND",
    "OR",
    "XOR",
    "NOT",
    "LIKE",
    "PRECEDES",
    "FOLLOWS",
    "BITAND",
    "BITOR",
    "BITXOR",
    "BITNOT",
    "AS",
    "FROM",
    "INLINE",
    "RESIDENT",
    "AUTOGENERATE",
    "WHERE",
    "WHILE",
];

/// True when `w` cannot be a plain field name at the start of `rest`.
pub(crate) fn is_reserved(w: &str, rest: &str) -> bool {
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(w)) {
        return true;
    }
    let next_word = || sp(rest).ok().and_then(|(r, ())| word_at(r));
    // `EXTENSION` starts a source only before the extension's name
    // (`LOAD * EXTENSION ep.fn(…)`); elsewhere it is a common field name.
    if w.eq_ignore_ascii_case("EXTENSION") {
        return next_word().is_some();
    }
    (w.eq_ignore_ascii_case("GROUP") || w.eq_ignore_ascii_case("ORDER"))
        && next_word().is_some_and(|(n, _)| n.eq_ignore_ascii_case("BY"))
}

impl<'a> ExprParser<'a> {
    pub(super) fn new(text: &'a str, source: SourceId) -> Self {
        ExprParser {
            text,
            shared: None,
            source,
            depth: Cell::new(0),
            blocks: Cell::new(0),
        }
    }

    /// Byte offset of a slice of `self.text`.
    pub(super) fn off(&self, s: &str) -> usize {
        (s.as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize)
    }

    /// Span from the start of `from` to the start of `to` (both slices of
    /// the text, `to` later).
    pub(super) fn span(&self, from: &str, to: &str) -> Span {
        Span::new(self.source, self.off(from), self.off(to))
    }

    /// Enters one nesting level; fails with `script::too-deep` past `limit`.
    pub(super) fn enter<'c>(
        &self,
        cell: &'c Cell<usize>,
        at: &'a str,
        limit: usize,
    ) -> Result<DepthGuard<'c>, nom::Err<PErr<'a>>> {
        let d = cell.get() + 1;
        if d > limit {
            let at = at.trim_start();
            return PErr::new(
                at,
                1,
                ParseErrorKind::TooDeep,
                format!("nesting deeper than {limit} levels"),
                "too deep here",
                "split the expression or block into smaller parts",
            )
            .fail();
        }
        cell.set(d);
        Ok(DepthGuard(cell))
    }

    /// An expression (leading trivia skipped).
    pub(super) fn expr(&self, i: &'a str) -> PResult<'a, Expr> {
        self.binary(i, 1)
    }

    fn binary(&self, i: &'a str, min: u8) -> PResult<'a, Expr> {
        let _guard = self.enter(&self.depth, i, MAX_EXPR_DEPTH)?;
        let (mut i, mut left) = self.unary(i, min)?;
        loop {
            let (t, ()) = sp(i)?;
            let Some((op, prec, after)) = binop(t) else {
                break;
            };
            if prec < min {
                break;
            }
            let (r, right) = self.binary(after, prec + 1)?;
            let span = left.span.to(right.span);
            left = Expr {
                kind: ExprKind::Binary {
                    op,
                    left: Box::new(left),
                    right: Box::new(right),
                },
                span,
            };
            i = r;
        }
        Ok((i, left))
    }

    fn unary(&self, i: &'a str, min: u8) -> PResult<'a, Expr> {
        let (t, ()) = sp(i)?;
        let prefix = if let Some(r) = t.strip_prefix('-') {
            Some((UnaryOp::Neg, r))
        } else if let Some(r) = t.strip_prefix('+') {
            Some((UnaryOp::Plus, r))
        } else {
            match word_at(t) {
                Some((w, r)) if w.eq_ignore_ascii_case("NOT") => Some((UnaryOp::Not, r)),
                Some((w, r)) if w.eq_ignore_ascii_case("BITNOT") => Some((UnaryOp::BitNot, r)),
                _ => None,
            }
        };
        let Some((op, r)) = prefix else {
            return self.primary(t);
        };
        // NOT binds looser than the relational operators (`NOT a = b` is
        // `NOT (a = b)`); the other prefixes bind tightest.
        let (r, operand) = if op == UnaryOp::Not {
            self.binary(r, min.max(PREC_REL))?
        } else {
            let _guard = self.enter(&self.depth, r, MAX_EXPR_DEPTH)?;
            self.unary(r, PREC_UNARY)?
        };
        let span = Span::new(self.source, self.off(t), operand.span.end as usize);
        Ok((
            r,
            Expr {
                kind: ExprKind::Unary {
                    op,
                    expr: Box::new(operand),
                },
                span,
            },
        ))
    }

    /// An atom. Kept thin, each form in its own function: this frame stays
    /// on the stack for every nesting level, and debug builds give every
    /// local of every arm its own slot.
    fn primary(&self, t: &'a str) -> PResult<'a, Expr> {
        match t.chars().next() {
            Some('(') => self.paren(t),
            Some(c) if c.is_ascii_digit() || c == '.' => self.number(t),
            Some('\'' | '"' | '`' | '[') => self.quoted_atom(t),
            _ => self.word_atom(t),
        }
    }

    fn atom(&self, t: &'a str, r: &'a str, kind: ExprKind) -> PResult<'a, Expr> {
        Ok((
            r,
            Expr {
                kind,
                span: self.span(t, r),
            },
        ))
    }

    fn paren(&self, t: &'a str) -> PResult<'a, Expr> {
        // `t` starts with the one-byte `(`.
        let (r, mut e) = self.binary(&t[1..], 1)?;
        let (r2, ()) = sp(r)?;
        match r2.strip_prefix(')') {
            Some(r3) => {
                e.span = self.span(t, r3);
                Ok((r3, e))
            }
            None => PErr::unexpected(r2, "`)`")
                .with_help("close the parenthesis opened before")
                .fail(),
        }
    }

    fn number(&self, t: &'a str) -> PResult<'a, Expr> {
        match number_at(t) {
            Some((n, r)) => {
                let value = n.parse::<f64>().unwrap_or(f64::NAN);
                let text = n.to_owned();
                self.atom(t, r, ExprKind::Num { value, text })
            }
            None => PErr::unexpected(t, "an expression").err(),
        }
    }

    fn quoted_atom(&self, t: &'a str) -> PResult<'a, Expr> {
        match t.chars().next() {
            Some('\'') => {
                let (r, s) = quoted(t, '\'')?;
                self.atom(t, r, ExprKind::Str(s))
            }
            Some('[') => {
                let (r, s) = super::lex::bracketed(t)?;
                self.atom(t, r, ExprKind::Field(s.to_owned()))
            }
            Some(q) => {
                let (r, s) = quoted(t, q)?;
                self.atom(t, r, ExprKind::Field(s))
            }
            None => PErr::unexpected(t, "an expression").err(),
        }
    }

    fn word_atom(&self, t: &'a str) -> PResult<'a, Expr> {
        let Some((w, r)) = word_at(t).filter(|(w, r)| !is_reserved(w, r)) else {
            return PErr::unexpected(t, "an expression").err();
        };
        let (r2, ()) = sp(r)?;
        match r2.strip_prefix('(') {
            Some(args_at) => self.call(t, w, args_at),
            None => self.atom(t, r, ExprKind::Field(w.to_owned())),
        }
    }

    fn call(&self, t: &'a str, name: &str, args_at: &'a str) -> PResult<'a, Expr> {
        let (r, (args, distinct)) = self.call_args(args_at)?;
        let name = name.to_owned();
        self.atom(
            t,
            r,
            ExprKind::Call {
                name,
                args,
                distinct,
            },
        )
    }

    /// Arguments after `(` up to and including `)`.
    fn call_args(&self, i: &'a str) -> PResult<'a, (Vec<Expr>, bool)> {
        let _guard = self.enter(&self.depth, i, MAX_EXPR_DEPTH)?;
        let (mut i, ()) = sp(i)?;
        if let Some(r) = i.strip_prefix(')') {
            return Ok((r, (Vec::new(), false)));
        }
        let mut distinct = false;
        if let Some((w, r)) = word_at(i)
            && w.eq_ignore_ascii_case("DISTINCT")
        {
            distinct = true;
            i = r;
        }
        let mut args = Vec::new();
        loop {
            let (t, ()) = sp(i)?;
            let (r, e) = match t.strip_prefix('*') {
                Some(r) if sp(r).is_ok_and(|(n, ())| n.starts_with([',', ')'])) => (
                    r,
                    Expr {
                        kind: ExprKind::Star,
                        span: self.span(t, r),
                    },
                ),
                _ => self.binary(t, 1).map_err(cut)?,
            };
            args.push(e);
            let (r, ()) = sp(r)?;
            if let Some(r) = r.strip_prefix(',') {
                i = r;
            } else if let Some(r) = r.strip_prefix(')') {
                return Ok((r, (args, distinct)));
            } else {
                return PErr::unexpected(r, "`,` or `)`")
                    .with_help("separate arguments with `,` and close the call with `)`")
                    .fail();
            }
        }
    }
}

/// Turns a recoverable error into a failure: once inside a committed
/// construct, alternatives no longer apply and the caret must stay put.
pub(crate) fn cut(e: nom::Err<PErr<'_>>) -> nom::Err<PErr<'_>> {
    match e {
        nom::Err::Error(p) => nom::Err::Failure(p),
        other => other,
    }
}

const PREC_REL: u8 = 4;
const PREC_UNARY: u8 = 11;

fn prec(op: BinaryOp) -> u8 {
    use BinaryOp::*;
    match op {
        Or | Xor => 1,
        And => 2,
        Eq | Ne | Lt | Le | Gt | Ge | Like | Precedes | Follows => PREC_REL,
        BitOr | BitXor => 5,
        BitAnd => 6,
        Shr | Shl => 7,
        Concat => 8,
        Add | Sub => 9,
        Mul | Div => 10,
    }
}

/// The binary operator at `t` (trivia already skipped).
fn binop(t: &str) -> Option<(BinaryOp, u8, &str)> {
    use BinaryOp::*;
    const SYMBOLS: &[(&str, BinaryOp)] = &[
        ("<>", Ne),
        ("<=", Le),
        (">=", Ge),
        ("<<", Shl),
        (">>", Shr),
        ("<", Lt),
        (">", Gt),
        ("=", Eq),
        ("&", Concat),
        ("+", Add),
        ("-", Sub),
        ("*", Mul),
        ("/", Div),
    ];
    for &(s, op) in SYMBOLS {
        if let Some(r) = t.strip_prefix(s) {
            return Some((op, prec(op), r));
        }
    }
    const WORDS: &[(&str, BinaryOp)] = &[
        ("OR", Or),
        ("XOR", Xor),
        ("AND", And),
        ("LIKE", Like),
        ("PRECEDES", Precedes),
        ("FOLLOWS", Follows),
        ("BITAND", BitAnd),
        ("BITOR", BitOr),
        ("BITXOR", BitXor),
    ];
    let (w, r) = word_at(t)?;
    let &(_, op) = WORDS.iter().find(|(k, _)| k.eq_ignore_ascii_case(w))?;
    Some((op, prec(op), r))
}

fn op_text(op: BinaryOp) -> &'static str {
    use BinaryOp::*;
    match op {
        Add => "+",
        Sub => "-",
        Mul => "*",
        Div => "/",
        Concat => "&",
        Eq => "=",
        Ne => "<>",
        Lt => "<",
        Le => "<=",
        Gt => ">",
        Ge => ">=",
        Like => "LIKE",
        Precedes => "PRECEDES",
        Follows => "FOLLOWS",
        And => "AND",
        Or => "OR",
        Xor => "XOR",
        BitAnd => "BITAND",
        BitOr => "BITOR",
        BitXor => "BITXOR",
        Shr => ">>",
        Shl => "<<",
    }
}

/// Binding strength of a node as an operand (atoms bind tightest).
fn node_prec(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary { op, .. } => prec(*op),
        ExprKind::Unary {
            op: UnaryOp::Not, ..
        } => 3,
        ExprKind::Unary { .. } => PREC_UNARY,
        _ => PREC_UNARY + 1,
    }
}

/// A field name as it must be written to read back as the same name.
pub(crate) fn fmt_name(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    // `DISTINCT` as a first argument would read as `Count(DISTINCT …)`.
    let plain = word_at(name).is_some_and(|(w, r)| {
        r.is_empty() && !is_reserved(w, "") && !w.eq_ignore_ascii_case("DISTINCT")
    }) && name.chars().next().is_some_and(is_ident_start)
        && name.chars().all(is_ident_char);
    if plain {
        f.write_str(name)
    } else if !name.contains(']') {
        write!(f, "[{name}]")
    } else {
        write!(f, "\"{}\"", name.replace('"', "\"\""))
    }
}

/// Prints an operand, parenthesised when it binds looser than its place
/// requires.
fn operand(f: &mut fmt::Formatter<'_>, e: &Expr, min: u8) -> fmt::Result {
    // NOT inside any tighter operator is always parenthesised: as a right
    // operand it would otherwise swallow what follows.
    let not = matches!(
        e.kind,
        ExprKind::Unary {
            op: UnaryOp::Not,
            ..
        }
    );
    if node_prec(e) < min || (not && min > 3) {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

impl fmt::Display for Expr {
    /// Qlik syntax with the fewest parentheses that parse back to the same
    /// tree.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Num { text, .. } => f.write_str(text),
            ExprKind::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
            ExprKind::Field(n) => fmt_name(f, n),
            ExprKind::Star => f.write_str("*"),
            ExprKind::Call {
                name,
                args,
                distinct,
            } => {
                write!(f, "{name}(")?;
                if *distinct {
                    f.write_str("DISTINCT ")?;
                }
                for (n, a) in args.iter().enumerate() {
                    if n > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
            ExprKind::Unary { op, expr } => {
                match op {
                    UnaryOp::Neg => f.write_str("-")?,
                    UnaryOp::Plus => f.write_str("+")?,
                    UnaryOp::Not => f.write_str("NOT ")?,
                    UnaryOp::BitNot => f.write_str("BITNOT ")?,
                }
                let min = if *op == UnaryOp::Not {
                    PREC_REL
                } else {
                    PREC_UNARY
                };
                operand(f, expr, min)
            }
            ExprKind::Binary { op, left, right } => {
                let p = prec(*op);
                operand(f, left, p)?;
                write!(f, " {} ", op_text(*op))?;
                // Left-associative: an equal-precedence right operand needs
                // parentheses.
                operand(f, right, p + 1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Expr {
        let c = ExprParser::new(s, SourceId(0));
        let (r, e) = c.expr(s).unwrap();
        assert!(sp(r).unwrap().0.is_empty(), "left over: {r:?}");
        e
    }

    #[test]
    fn precedence_follows_the_documented_table() {
        assert_eq!(parse("a + b * c").to_string(), "a + b * c");
        assert_eq!(parse("(a + b) * c").to_string(), "(a + b) * c");
        assert_eq!(parse("a & b + c").to_string(), "a & b + c");
        let e = parse("a & b + c");
        assert!(matches!(
            e.kind,
            ExprKind::Binary {
                op: BinaryOp::Concat,
                ..
            }
        ));
        let e = parse("a = 1 or b = 2 and c");
        assert!(matches!(
            e.kind,
            ExprKind::Binary {
                op: BinaryOp::Or,
                ..
            }
        ));
        let e = parse("not a = b");
        assert!(matches!(
            e.kind,
            ExprKind::Unary {
                op: UnaryOp::Not,
                ..
            }
        ));
        let e = parse("x bitand 1 = 1");
        assert!(matches!(
            e.kind,
            ExprKind::Binary {
                op: BinaryOp::Eq,
                ..
            }
        ));
        let e = parse("-a * b");
        assert!(matches!(
            e.kind,
            ExprKind::Binary {
                op: BinaryOp::Mul,
                ..
            }
        ));
        assert_eq!(parse("a - (b - c)").to_string(), "a - (b - c)");
        assert_eq!(parse("a - b - c").to_string(), "a - b - c");
    }

    #[test]
    fn literals_names_and_calls() {
        assert_eq!(parse("'it''s'").kind, ExprKind::Str("it's".into()));
        assert_eq!(
            parse("[Customer ID]").kind,
            ExprKind::Field("Customer ID".into())
        );
        assert_eq!(parse("\"a b\"").kind, ExprKind::Field("a b".into()));
        assert_eq!(parse("1.5").to_string(), "1.5");
        assert_eq!(parse("Count(DISTINCT x)").to_string(), "Count(DISTINCT x)");
        assert_eq!(parse("Count(*)").to_string(), "Count(*)");
        assert_eq!(parse("Null()").to_string(), "Null()");
        assert_eq!(
            parse("If (a LIKE 'U*', 1, 0)").to_string(),
            "If(a LIKE 'U*', 1, 0)"
        );
        assert_eq!(parse("GROUP").kind, ExprKind::Field("GROUP".into()));
    }

    #[test]
    fn spans_cover_the_text() {
        let s = "  Upper(x) & 'y' AS z";
        let c = ExprParser::new(s, SourceId(0));
        let (_, e) = c.expr(s).unwrap();
        assert_eq!(&s[e.span.range()], "Upper(x) & 'y'");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let s = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
        let c = ExprParser::new(&s, SourceId(0));
        let Err(nom::Err::Failure(e)) = c.expr(&s) else {
            panic!("expected failure")
        };
        assert_eq!(e.kind, ParseErrorKind::TooDeep);
        let s = format!("{}1", "-".repeat(5000));
        let c = ExprParser::new(&s, SourceId(0));
        assert!(c.expr(&s).is_err());
        let ok = format!("{}1{}", "(".repeat(200), ")".repeat(200));
        assert!(ExprParser::new(&ok, SourceId(0)).expr(&ok).is_ok());
    }

    #[test]
    fn keywords_end_an_expression() {
        let s = "a AS b";
        let c = ExprParser::new(s, SourceId(0));
        let (r, _) = c.expr(s).unwrap();
        assert_eq!(r, " AS b");
        let s = "x GROUP BY y";
        let c = ExprParser::new(s, SourceId(0));
        assert_eq!(c.expr(s).unwrap().0, " GROUP BY y");
    }
}
