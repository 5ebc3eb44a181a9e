//! Load-script text → AST (parse phase). Knows nothing of tables or users.
//!
//! This module owns:
//! - [`decode`]: script bytes → text (UTF-8 with or without BOM, UTF-16
//!   with BOM, Windows-1252 otherwise);
//! - [`parse`]: text → [`ast::Script`] with byte spans, plus warnings;
//! - [`parse_expr`]: one expression (for `LET` values, deferred conditions
//!   and `$(=expr)` after expansion at run time);
//! - [`expand`]: Qlik's textual dollar-sign expansion, driven by an
//!   [`Expander`] the runner implements;
//! - the diagnostics [`ParseError`], [`ParseWarning`], [`ExpandError`].
//!
//! Qlik expands `$(…)` in a statement before parsing it, so statements that
//! contain `$(` are returned as [`ast::StmtKind::Deferred`]: the runner
//! expands their text and parses it with [`parse`] when it reaches them.

pub mod ast;
mod error;
mod expand;
mod expr;
mod lex;
pub mod source;
mod stmt;

pub use error::{ExpandError, ParseError, ParseErrorKind, ParseWarning};
pub use expand::{Expander, MAX_EXPANSION_DEPTH, expand};
pub use expr::MAX_EXPR_DEPTH;
pub use stmt::MAX_BLOCK_DEPTH;

use ast::{Expr, Script};
use lex::{PErr, PResult, sp};
use source::{SharedText, SourceId, Span};

/// A parsed script and what Qlik would only complain about at run time.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    /// The statements.
    pub script: Script,
    /// Warnings (e.g. statements that are no statement at all).
    pub warnings: Vec<ParseWarning>,
}

impl Parsed {
    /// The parse error of the first statement that does not parse
    /// ([`ast::StmtKind::Invalid`]), in the order of the text: the error
    /// Qlik gives if that statement runs. `text` is the text parsed.
    pub fn first_error(&self, text: &str) -> Option<ParseError> {
        first_invalid(&self.script.body).map(|invalid| invalid.error(text))
    }
}

/// The first [`ast::StmtKind::Invalid`] or [`ast::Cond::Invalid`] of
/// `body` in the order of the text, nested blocks included.
fn first_invalid(body: &[ast::Stmt]) -> Option<&ast::Invalid> {
    use ast::StmtKind as K;
    fn cond(c: &ast::Cond) -> Option<&ast::Invalid> {
        match c {
            ast::Cond::Invalid(i) => Some(&**i),
            ast::Cond::Expr(_) | ast::Cond::Deferred(_) => None,
        }
    }
    fn conds<'c>(cs: impl IntoIterator<Item = &'c ast::Cond>) -> Option<&'c ast::Invalid> {
        cs.into_iter().find_map(cond)
    }
    body.iter().find_map(|s| match &s.kind {
        K::Invalid(i) => Some(&**i),
        K::If {
            branches,
            otherwise,
        } => branches
            .iter()
            .find_map(|(c, b)| cond(c).or_else(|| first_invalid(b)))
            .or_else(|| otherwise.as_deref().and_then(first_invalid)),
        K::Switch {
            subject,
            cases,
            default,
        } => cond(subject)
            .or_else(|| {
                cases
                    .iter()
                    .find_map(|(vs, b)| conds(vs).or_else(|| first_invalid(b)))
            })
            .or_else(|| default.as_deref().and_then(first_invalid)),
        K::For {
            from,
            to,
            step,
            body,
            ..
        } => conds([from, to].into_iter().chain(step)).or_else(|| first_invalid(body)),
        K::ForEach { items, body, .. } => match items {
            ast::ForEachItems::List(cs) => conds(cs),
            ast::ForEachItems::FileList(c) | ast::ForEachItems::DirList(c) => cond(c),
            ast::ForEachItems::Deferred(_) => None,
        }
        .or_else(|| first_invalid(body)),
        K::Do { pre, body, post } => pre
            .as_ref()
            .and_then(|c| cond(&c.cond))
            .or_else(|| first_invalid(body))
            .or_else(|| post.as_ref().and_then(|c| cond(&c.cond))),
        K::Sub { body, .. } => first_invalid(body),
        K::Exit { when, .. } => when.as_ref().and_then(|g| cond(&g.cond)),
        K::Call { args, .. } => conds(args),
        _ => None,
    })
}

/// The script file at `path`, read and decoded ([`decode`]).
pub fn read(path: &std::path::Path) -> std::io::Result<String> {
    std::fs::read(path).map(decode)
}

/// Decodes script bytes the way Qlik reads script files: UTF-8 (BOM
/// stripped), UTF-16 LE/BE when a BOM says so, otherwise Windows-1252 (what
/// older QlikView scripts are saved in). UTF-8 without a BOM keeps the
/// bytes' buffer: a large script is not copied to be decoded.
pub fn decode(bytes: Vec<u8>) -> String {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8_lossy(rest).into_owned();
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return encoding_rs::UTF_16LE
            .decode_without_bom_handling(rest)
            .0
            .into_owned();
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return encoding_rs::UTF_16BE
            .decode_without_bom_handling(rest)
            .0
            .into_owned();
    }
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(e.as_bytes())
            .0
            .into_owned(),
    }
}

/// The longest text a script (or an included file) may have: spans and
/// line marks are byte offsets in `u32`, exact for every text [`parse`]
/// accepts.
pub const MAX_TEXT_LEN: usize = u32::MAX as usize;

/// The error for a text of `len` bytes past [`MAX_TEXT_LEN`].
fn too_large(source: SourceId, len: usize) -> Option<ParseError> {
    (len > MAX_TEXT_LEN).then(|| {
        ParseError::new(
            ParseErrorKind::TooLarge,
            format!("the text is {len} bytes, more than the {MAX_TEXT_LEN} a script can have"),
            String::from("this text"),
            Some(String::from(
                "split it into files of less than 4 GiB, or load the data from files instead of `INLINE`",
            )),
            Span::new(source, 0, 0),
            "",
        )
    })
}

/// Parses a whole script (or an included file, or a deferred statement
/// after expansion). `source` goes into every span.
pub fn parse(source: SourceId, text: &str) -> Result<Parsed, ParseError> {
    parse_in(expr::ExprParser::new(text, source))
}

/// [`parse`] of shared text: INLINE tables share it instead of copying
/// their part.
pub fn parse_shared(source: SourceId, text: &SharedText) -> Result<Parsed, ParseError> {
    let mut c = expr::ExprParser::new(text, source);
    c.shared = Some(text);
    parse_in(c)
}

fn parse_in(c: expr::ExprParser<'_>) -> Result<Parsed, ParseError> {
    let (text, source) = (c.text, c.source);
    if let Some(e) = too_large(source, text.len()) {
        return Err(e);
    }
    let p = stmt::StmtParser::new(c);
    // A BOM left in decoded text is no statement.
    let start = text.strip_prefix('\u{feff}').unwrap_or(text);
    match p.script(start) {
        Ok(body) => Ok(Parsed {
            script: Script { body },
            warnings: p.warnings.take(),
        }),
        Err(e) => Err(convert(text, source, e)),
    }
}

/// Parses one expression; nothing but blanks and comments may follow it.
pub fn parse_expr(source: SourceId, text: &str) -> Result<Expr, ParseError> {
    if let Some(e) = too_large(source, text.len()) {
        return Err(e);
    }
    let c = expr::ExprParser::new(text, source);
    let whole = |i| -> PResult<'_, Expr> {
        let (r, e) = c.expr(i)?;
        let (r, ()) = sp(r)?;
        if r.is_empty() {
            Ok((r, e))
        } else {
            PErr::unexpected(r, "an operator or the end of the expression").fail()
        }
    };
    whole(text)
        .map(|(_, e)| e)
        .map_err(|e| convert(text, source, e))
}

/// The one place nom's error becomes a public diagnostic.
fn convert(text: &str, source: SourceId, e: nom::Err<PErr<'_>>) -> ParseError {
    let p = match e {
        nom::Err::Error(p) | nom::Err::Failure(p) => p,
        nom::Err::Incomplete(_) => PErr::unexpected("", "more input"),
    };
    let end_of_input = p.at.is_empty();
    let start = if end_of_input && p.message.contains("more input") {
        text.len()
    } else {
        (p.at.as_ptr() as usize)
            .saturating_sub(text.as_ptr() as usize)
            .min(text.len())
    };
    let end = (start + p.len).min(text.len());
    let lex::PErr(p) = p;
    let p = *p;
    ParseError::new(
        p.kind,
        p.message,
        p.label,
        p.help,
        Span::new(source, start, end),
        text,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ast::*;
    use std::sync::Arc;

    fn body(s: &str) -> Vec<StmtKind> {
        parse(SourceId(0), s)
            .unwrap_or_else(|e| panic!("{s:?}: {e:?}"))
            .script
            .body
            .into_iter()
            .map(|s| s.kind)
            .collect()
    }

    fn err(s: &str) -> ParseError {
        parse(SourceId(0), s).expect_err(s)
    }

    #[test]
    fn decode_handles_boms_and_windows_1252() {
        assert_eq!(decode(b"\xEF\xBB\xBFSET x=1;".to_vec()), "SET x=1;");
        assert_eq!(decode(b"\xFF\xFEa\0b\0".to_vec()), "ab");
        assert_eq!(decode(b"\xFE\xFF\0a\0b".to_vec()), "ab");
        assert_eq!(decode("é".as_bytes().to_vec()), "é");
        assert_eq!(decode(b"\xA3 \xE9".to_vec()), "£ é");
    }

    #[test]
    fn set_strips_one_level_of_quotes() {
        let v = |s: &str| match body(s).pop() {
            Some(StmtKind::Set { value, .. }) => value,
            other => panic!("{other:?}"),
        };
        assert_eq!(v("SET q = ['];"), Some("'".into()));
        assert_eq!(v("SET x='a';"), Some("a".into()));
        assert_eq!(v("SET x = ;"), None);
        assert_eq!(v("SET x = 'a' & 'b';"), Some("'a' & 'b'".into()));
        assert_eq!(v("SET m='Jan;Feb';"), Some("Jan;Feb".into()));
        assert_eq!(v("SET p = 'C:\\D\\';"), Some("C:\\D\\".into()));
    }

    #[test]
    fn dollar_statements_are_deferred() {
        let b = body("$(x) SECTION ACCESS;\nLOAD * FROM [$(p)a.qvd] (qvd); // $(not)\n");
        assert_eq!(
            b[0],
            StmtKind::Deferred {
                text: "$(x) SECTION ACCESS".into()
            }
        );
        assert!(
            matches!(&b[1], StmtKind::Deferred { text } if text.ends_with("(qvd)")),
            "{b:?}"
        );
    }

    #[test]
    fn inline_tables_share_the_text_they_were_parsed_from() {
        let text = Arc::new(String::from(
            "SA: LOAD * INLINE [\nA, B\n1, 2\n] (delimiter is ',');\n",
        ));
        let shared = parse_shared(SourceId(0), &text).unwrap();
        let copied = parse(SourceId(0), &text).unwrap();
        assert_eq!(shared.script, copied.script);
        let inline = |p: &Parsed| match &p.script.body[0].kind {
            StmtKind::Load(l) => match &l.load.source {
                ast::Source::Inline { text, .. } => text.clone(),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        };
        assert_eq!(&*inline(&shared), "\nA, B\n1, 2\n");
        assert!(inline(&shared).is_part_of(&text));
        assert!(!inline(&copied).is_part_of(&text));
        // A range that is no part of the text shares nothing.
        let e = Arc::new(String::from("é"));
        assert!(ast::InlineText::shared(&e, 0..1).is_none());
        assert!(ast::InlineText::shared(&e, 0..3).is_none());
        assert_eq!(ast::InlineText::shared(&e, 0..2).as_deref(), Some("é"));
        assert_eq!(
            serde_json::to_string(&inline(&shared)).unwrap(),
            "\"\\nA, B\\n1, 2\\n\""
        );
    }

    #[test]
    fn unknown_statements_warn() {
        let p = parse(
            SourceId(0),
            "IF 1 THEN\n You dont have any ADMIN;\nEND IF\n",
        )
        .unwrap();
        assert_eq!(p.warnings.len(), 1);
        assert_eq!(p.warnings[0].code, "script::unknown-statement");
    }

    #[test]
    fn lib_paths_are_not_comments() {
        let b = body("LOAD * FROM lib://Data/x.csv (txt);");
        let StmtKind::Load(l) = &b[0] else { panic!() };
        assert!(matches!(&l.load.source, Source::From { path, .. } if path == "lib://Data/x.csv"));
    }

    #[test]
    fn errors_point_at_the_opening() {
        let e = err("SET a=1;\nLOAD * INLINE [\nA\n1\n;");
        assert_eq!(e.kind(), ParseErrorKind::UnterminatedInline);
        assert_eq!(e.span().start, 23);
        let e = err("IF 1 THEN\nSET a=1;\n");
        assert_eq!(e.kind(), ParseErrorKind::UnclosedBlock);
        assert_eq!(e.span().start, 0);
        let e = err("END IF");
        assert_eq!(e.kind(), ParseErrorKind::StrayBlockEnd);
    }

    /// Qlik parses a statement when it runs it: one that does not parse is
    /// kept with its error (and a warning), and a script's last statement
    /// needs no `;`.
    #[test]
    fn statements_that_do_not_parse_keep_their_error() {
        let text = "DROP TABLE A\nLOAD 1 AS x AUTOGENERATE 1;\nSET TriggerError;";
        let p = parse(SourceId(0), text).unwrap();
        assert_eq!(p.warnings.len(), 2);
        assert!(
            matches!(&p.script.body[0].kind, StmtKind::Invalid(i) if i.kind == ParseErrorKind::MissingSemicolon)
        );
        let e = p.first_error(text).unwrap();
        assert_eq!(e.kind(), ParseErrorKind::MissingSemicolon);
        assert_eq!(&text[e.span().range()], "LOAD");
        assert_eq!(
            body("SET a = 1"),
            [StmtKind::Set {
                name: "a".into(),
                value: Some("1".into())
            }]
        );
        let text = "IF 0 THEN\n  LOAD * FROM ;\nENDIF";
        let p = parse(SourceId(0), text).unwrap();
        assert_eq!(p.first_error(text).unwrap().span().start, 24);
    }

    #[test]
    fn deep_blocks_are_too_deep() {
        let s = format!("{}{}", "IF 1 THEN\n".repeat(100), "END IF\n".repeat(100));
        assert_eq!(err(&s).kind(), ParseErrorKind::TooDeep);
        let s = format!("{}{}", "IF 1 THEN\n".repeat(60), "END IF\n".repeat(60));
        assert!(parse(SourceId(0), &s).is_ok());
    }

    /// The text each span covers, exactly: AST equality leaves spans out,
    /// so a wrong span is caught only here.
    #[test]
    fn spans_cover_exactly_their_text() {
        let text = "SET a=1;\n  T: LOAD a + b AS x, c\n INLINE [\nA\n1\n];\nDROP TABLE T;";
        let p = parse(SourceId(0), text).unwrap();
        let at = |s: Span| text.get(s.range()).unwrap();
        let [set, load, drop] = &p.script.body[..] else {
            panic!("{:?}", p.script.body)
        };
        assert_eq!(at(set.span), "SET a=1;");
        assert_eq!(set.span, Span::new(SourceId(0), 0, 8));
        assert_eq!(at(load.span), "T: LOAD a + b AS x, c\n INLINE [\nA\n1\n];");
        assert_eq!(at(drop.span), "DROP TABLE T;");
        let StmtKind::Load(l) = &load.kind else {
            panic!("{load:?}")
        };
        assert_eq!(at(l.label.as_ref().unwrap().span), "T");
        assert_eq!(at(l.load.span), "LOAD");
        let LoadField::Expr { expr, alias, .. } = &l.load.fields[0] else {
            panic!("{:?}", l.load.fields)
        };
        assert_eq!(at(expr.span), "a + b");
        let ExprKind::Binary { left, right, .. } = &expr.kind else {
            panic!("{expr:?}")
        };
        assert_eq!((at(left.span), at(right.span)), ("a", "b"));
        assert_eq!(at(alias.as_ref().unwrap().span), "x");
        let Source::Inline { text_span, .. } = &l.load.source else {
            panic!("{l:?}")
        };
        assert_eq!(at(*text_span), "\nA\n1\n");
        let StmtKind::Drop(Drop::Tables(names)) = &drop.kind else {
            panic!("{drop:?}")
        };
        let end = text.len();
        assert_eq!(names[0].span, Span::new(SourceId(0), end - 2, end - 1));
    }

    #[test]
    fn layout_changes_spans_but_not_the_ast() {
        let a = parse(SourceId(0), "T: LOAD a + b AS x INLINE [\nA\n];").unwrap();
        let b = parse(
            SourceId(0),
            "\n\nT:\n  LOAD  a + b  AS  x\n  INLINE [\nA\n] ;",
        )
        .unwrap();
        assert_eq!(a.script, b.script);
        assert_ne!(a.script.body[0].span, b.script.body[0].span);
        let (x, y) = (
            parse_expr(SourceId(0), "f(1)").unwrap(),
            parse_expr(SourceId(0), " f( 1 )").unwrap(),
        );
        assert_eq!(x, y);
        assert_ne!(x.span, y.span);
    }

    #[test]
    fn parse_expr_requires_the_whole_text() {
        assert!(parse_expr(SourceId(0), "a + 1 // c").is_ok());
        assert_eq!(
            parse_expr(SourceId(0), "a b").unwrap_err().kind(),
            ParseErrorKind::UnexpectedToken
        );
    }

    #[test]
    fn a_text_past_u32_offsets_is_refused_not_mislocated() {
        // 4 GiB cannot be parsed in a test: the check, at its bound.
        assert!(too_large(SourceId(0), MAX_TEXT_LEN).is_none());
        let e = too_large(SourceId(0), MAX_TEXT_LEN + 1).unwrap();
        assert_eq!(e.kind(), ParseErrorKind::TooLarge);
        assert_eq!(e.kind().code(), "script::too-large");
    }
}
