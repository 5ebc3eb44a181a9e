//! Statements and blocks.
//!
//! Qlik reads a script statement by statement: it finds where a statement
//! ends (`;` outside quotes, brackets and comments; `;` or end of line for
//! the control clauses of IF, FOR, SUB, DO, SWITCH, EXIT and CALL; the end of
//! the text for the last statement), expands `$(…)` in it, and only then
//! parses it. So every statement is first *scanned* ([`scan`]); one that
//! contains `$(` is kept as [`StmtKind::Deferred`], the others are parsed
//! now, and one that does not parse is kept as [`StmtKind::Invalid`] (Qlik
//! fails only if it runs). Control statements keep their structure; only
//! their conditions may be deferred (or invalid).

use std::cell::RefCell;

use super::ast::*;
use super::error::{ParseErrorKind, ParseWarning};
use super::expr::{ExprParser, cut};
use super::lex::{
    Extent, PErr, PResult, at_kw, blank_comments, bracketed, describe, is_ident_char, kw, name,
    number_at, opt_kw, opt_punct, peek_word, punct, quoted, scan, sp, sp_line, split_commas,
    word_at,
};
use super::source::Span;

/// Deepest nesting of IF/FOR/SUB/DO blocks.
pub const MAX_BLOCK_DEPTH: usize = 64;

/// What ends a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Closer {
    Eof,
    ElseIf,
    Else,
    EndIf,
    Next,
    EndSub,
    Loop,
    Case,
    Default,
    EndSwitch,
}

impl Closer {
    fn text(self) -> &'static str {
        match self {
            Closer::Eof => "end of input",
            Closer::ElseIf => "ELSEIF",
            Closer::Else => "ELSE",
            Closer::EndIf => "END IF",
            Closer::Next => "NEXT",
            Closer::EndSub => "END SUB",
            Closer::Loop => "LOOP",
            Closer::Case => "CASE",
            Closer::Default => "DEFAULT",
            Closer::EndSwitch => "END SWITCH",
        }
    }

    fn opener(self) -> &'static str {
        match self {
            Closer::ElseIf | Closer::Else | Closer::EndIf => "IF",
            Closer::Next => "FOR",
            Closer::EndSub => "SUB",
            Closer::Loop => "DO",
            Closer::Case | Closer::Default | Closer::EndSwitch => "SWITCH",
            Closer::Eof => "",
        }
    }
}

/// An open block, for messages about it.
struct Open<'a> {
    keyword: &'static str,
    closer: &'static str,
    at: &'a str,
}

/// The statement parser: an [`ExprParser`] plus the warnings gathered.
pub(crate) struct StmtParser<'a> {
    pub c: ExprParser<'a>,
    pub warnings: RefCell<Vec<ParseWarning>>,
}

type R<'a, T> = Result<T, nom::Err<PErr<'a>>>;

impl<'a> StmtParser<'a> {
    pub(super) fn new(c: ExprParser<'a>) -> Self {
        StmtParser {
            c,
            warnings: RefCell::new(Vec::new()),
        }
    }

    fn text(&self) -> &'a str {
        self.c.text
    }

    /// The text from byte `n` on.
    ///
    /// INVARIANT (for `from` and `between`): offsets are those of
    /// [`scan`]'s words and ends, or of slices of this text: char
    /// boundaries within it.
    fn from(&self, n: usize) -> &'a str {
        &self.text()[n..]
    }

    /// The text between two offsets.
    fn between(&self, s: usize, e: usize) -> &'a str {
        &self.text()[s..e]
    }

    /// The whole script.
    pub(super) fn script(&self, i: &'a str) -> R<'a, Vec<Stmt>> {
        let (_, (body, _, _)) = self.block(i, None, &[])?;
        Ok(body)
    }

    /// Statements up to one of `accept` (or the end of input at top level).
    fn block(
        &self,
        mut i: &'a str,
        open: Option<&Open<'a>>,
        accept: &[Closer],
    ) -> PResult<'a, (Vec<Stmt>, Closer, &'a str)> {
        let mut body = Vec::new();
        loop {
            let (t, ()) = sp(i)?;
            if t.is_empty() {
                return match open {
                    None => Ok((t, (body, Closer::Eof, t))),
                    Some(o) => PErr::new(
                        o.at,
                        o.keyword.len(),
                        ParseErrorKind::UnclosedBlock,
                        format!("`{}` without `{}`", o.keyword, o.closer),
                        "this block is never closed",
                        &format!("add `{}` where the block ends", o.closer),
                    )
                    .fail(),
                };
            }
            if let Some(r) = t.strip_prefix(';') {
                i = r;
                continue;
            }
            let word = word_at(t).map(|(w, _)| w.to_ascii_uppercase());
            if let Some(closer) = self.closer_at(t, word.as_deref(), accept) {
                if accept.contains(&closer) {
                    return Ok((t, (body, closer, t)));
                }
                let len = if matches!(closer, Closer::EndIf | Closer::EndSub | Closer::EndSwitch) {
                    closer_len(t)
                } else {
                    closer.text().len()
                };
                let help = match open {
                    Some(o) => format!(
                        "`{}` belongs to `{}`, but the innermost open block is `{}`: close it with `{}` first",
                        closer.text(),
                        closer.opener(),
                        o.keyword,
                        o.closer
                    ),
                    None => format!("remove it, or open the `{}` it belongs to", closer.opener()),
                };
                return PErr::new(
                    t,
                    len,
                    ParseErrorKind::StrayBlockEnd,
                    format!("`{}` without `{}`", closer.text(), closer.opener()),
                    "nothing to close here",
                    &help,
                )
                .fail();
            }
            let (r, stmt) = self.statement(t, word.as_deref())?;
            body.extend(stmt);
            i = r;
        }
    }

    fn closer_at(&self, t: &'a str, word: Option<&str>, accept: &[Closer]) -> Option<Closer> {
        // Only inside a SWITCH, and not as a label (`Default: LOAD …`).
        let in_switch = |c: Closer| {
            accept.contains(&c)
                && word_at(t)
                    .and_then(|(_, r)| sp(r).ok())
                    .is_some_and(|(r, ())| !r.starts_with(':'))
        };
        match word? {
            "CASE" if in_switch(Closer::Case) => Some(Closer::Case),
            "DEFAULT" if in_switch(Closer::Default) => Some(Closer::Default),
            "ELSEIF" => Some(Closer::ElseIf),
            "ELSE" => Some(Closer::Else),
            "NEXT" => Some(Closer::Next),
            "LOOP" => Some(Closer::Loop),
            // One word, as real scripts and libraries write it.
            "ENDIF" => Some(Closer::EndIf),
            "END" => {
                let (_, r) = word_at(t)?;
                match peek_word(r).as_deref() {
                    Some("IF") => Some(Closer::EndIf),
                    Some("SUB") => Some(Closer::EndSub),
                    Some("SWITCH") => Some(Closer::EndSwitch),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// One statement at `t` (trivia skipped); `None` for a `REM` comment.
    fn statement(&self, t: &'a str, word: Option<&str>) -> PResult<'a, Option<Stmt>> {
        let control = match word {
            Some("IF") => Some(self.if_stmt(t)?),
            Some("FOR") => Some(self.for_stmt(t)?),
            Some("SUB") => Some(self.sub_stmt(t)?),
            Some("DO") => Some(self.do_stmt(t)?),
            Some("EXIT") => Some(self.exit_stmt(t)?),
            Some("SWITCH") => Some(self.switch_stmt(t)?),
            Some("CALL") if !call_name_expanded(t) => Some(self.call_stmt(t)?),
            Some("REM") => {
                // REM comments out everything up to the next `;`, quotes
                // included.
                // Without a `;`, to the end of the input.
                let r = t.split_once(';').map_or(&t[t.len()..], |(_, r)| r);
                return Ok((r, None));
            }
            _ => None,
        };
        if let Some((r, kind)) = control {
            let span = self.c.span(t, r);
            return Ok((r, Some(Stmt { kind, span })));
        }
        let (r, stmt) = self.simple(t, word)?;
        Ok((r, Some(stmt)))
    }

    // ---------------------------------------------------------------- control

    /// The control clause after a keyword: its text up to end of line or
    /// `;`, and the input after the terminator.
    fn clause(&self, i: &'a str) -> R<'a, (&'a str, &'a str, Extent)> {
        let start = self.c.off(i);
        let ext = scan(self.text(), start, true)?;
        let body = self.between(start, ext.end);
        let rest = self.from(ext.end + usize::from(ext.semicolon));
        Ok((body, rest, ext))
    }

    /// A condition or bound: deferred when it contains `$(`.
    fn cond(&self, s: &'a str, what: &str) -> R<'a, Cond> {
        if let Some(d) = deferred(s)? {
            return Ok(Cond::Deferred(d));
        }
        let (t, ()) = sp(s)?;
        let parsed = if t.is_empty() {
            PErr::unexpected(t, what).fail()
        } else {
            self.c.expr(t).map_err(cut).and_then(|(r, e)| {
                let (r, ()) = sp(r)?;
                if r.is_empty() {
                    Ok(e)
                } else {
                    PErr::unexpected(r, "an operator or the end of the expression").fail()
                }
            })
        };
        match parsed {
            Ok(e) => Ok(Cond::Expr(e)),
            Err(e) => Ok(Cond::Invalid(self.invalid_error(e, clean_text(s)?)?)),
        }
    }

    /// Nothing but trivia may be left on a control clause.
    fn clause_end(&self, s: &'a str) -> R<'a, ()> {
        let (r, ()) = sp(s)?;
        if r.is_empty() {
            Ok(())
        } else {
            PErr::unexpected(r, "the end of the line").fail()
        }
    }

    /// After `THEN` or `ELSE`: an optional `;` on the same line.
    fn after_opening(&self, i: &'a str) -> R<'a, &'a str> {
        let (r, ()) = sp_line(i)?;
        Ok(r.strip_prefix(';').unwrap_or(r))
    }

    /// `cond THEN` after `IF`/`ELSEIF`; returns the condition and the input
    /// after `THEN`.
    fn cond_then(&self, i: &'a str) -> R<'a, (Cond, &'a str)> {
        let start = self.c.off(i);
        let ext = scan(self.text(), start, true)?;
        let then = ext
            .words
            .iter()
            .find(|&&(s, e)| self.between(s, e).eq_ignore_ascii_case("THEN"));
        let Some(&(ts, te)) = then else {
            return PErr::unexpected(self.from(ext.end), "`THEN`")
                .with_help("`IF` and `ELSEIF` need `THEN` on the same line as the condition")
                .fail();
        };
        let cond = self.cond(self.between(start, ts), "a condition")?;
        let _ = te;
        Ok((cond, self.after_opening(self.from(te))?))
    }

    fn if_stmt(&self, t: &'a str) -> R<'a, (&'a str, StmtKind)> {
        let _g = self.c.enter(&self.c.blocks, t, MAX_BLOCK_DEPTH)?;
        let (r, _) = kw(t, "IF")?;
        let (mut cond, mut i) = self.cond_then(r)?;
        let open = Open {
            keyword: "IF",
            closer: "END IF",
            at: t,
        };
        let mut branches = Vec::new();
        loop {
            let (_, (body, closer, at)) = self.block(
                i,
                Some(&open),
                &[Closer::ElseIf, Closer::Else, Closer::EndIf],
            )?;
            branches.push((cond, body));
            match closer {
                Closer::ElseIf => {
                    let (r, _) = kw(at, "ELSEIF")?;
                    (cond, i) = self.cond_then(r)?;
                }
                Closer::Else => {
                    let (r, _) = kw(at, "ELSE")?;
                    let r = self.after_opening(r)?;
                    let (_, (body, _, at)) = self.block(r, Some(&open), &[Closer::EndIf])?;
                    let rest = self.end_clause(at, "IF")?;
                    return Ok((
                        rest,
                        StmtKind::If {
                            branches,
                            otherwise: Some(body),
                        },
                    ));
                }
                _ => {
                    let rest = self.end_clause(at, "IF")?;
                    return Ok((
                        rest,
                        StmtKind::If {
                            branches,
                            otherwise: None,
                        },
                    ));
                }
            }
        }
    }

    /// `END IF` (or `ENDIF`) / `END SUB` and the rest of its clause.
    fn end_clause(&self, at: &'a str, what: &str) -> R<'a, &'a str> {
        let r = match word_at(at) {
            Some((w, r))
                if w.len() == 3 + what.len() && w.eq_ignore_ascii_case(&format!("END{what}")) =>
            {
                r
            }
            _ => {
                let (r, _) = kw(at, "END")?;
                kw(r, what)?.0
            }
        };
        let (body, rest, _) = self.clause(r)?;
        self.clause_end(body)?;
        Ok(rest)
    }

    fn for_stmt(&self, t: &'a str) -> R<'a, (&'a str, StmtKind)> {
        let _g = self.c.enter(&self.c.blocks, t, MAX_BLOCK_DEPTH)?;
        let (r, _) = kw(t, "FOR")?;
        let open = Open {
            keyword: "FOR",
            closer: "NEXT",
            at: t,
        };
        if at_kw(r, "EACH") {
            let (r, _) = kw(r, "EACH")?;
            let (r, (var, _)) = name(r).map_err(cut)?;
            let (r, _) = kw(r, "IN").map_err(cut)?;
            let (list, rest, _) = self.clause(r)?;
            let items = self.for_items(list)?;
            let (body, rest) = self.loop_body(rest, &open)?;
            return Ok((rest, StmtKind::ForEach { var, items, body }));
        }
        let (r, (var, _)) = name(r).map_err(cut)?;
        let (r, _) = punct(r, "=").map_err(cut)?;
        let start = self.c.off(r);
        let (_, rest, ext) = self.clause(r)?;
        let word = |w: &str, after: usize| {
            ext.words
                .iter()
                .find(|&&(s, e)| s >= after && self.between(s, e).eq_ignore_ascii_case(w))
                .copied()
        };
        let Some((to_s, to_e)) = word("TO", start) else {
            return PErr::unexpected(self.from(ext.end), "`TO`")
                .with_help("write `FOR v = first TO last [STEP s]` on one line")
                .fail();
        };
        let step = word("STEP", to_e);
        let from = self.cond(self.between(start, to_s), "a start value")?;
        let to_end = step.map_or(ext.end, |(s, _)| s);
        let to = self.cond(self.between(to_e, to_end), "an end value")?;
        let step = match step {
            Some((_, e)) => Some(self.cond(self.between(e, ext.end), "a step")?),
            None => None,
        };
        let (body, rest) = self.loop_body(rest, &open)?;
        Ok((
            rest,
            StmtKind::For {
                var,
                from,
                to,
                step,
                body,
            },
        ))
    }

    /// A FOR body and its `NEXT [v]`.
    fn loop_body(&self, i: &'a str, open: &Open<'a>) -> R<'a, (Vec<Stmt>, &'a str)> {
        let (_, (body, _, at)) = self.block(i, Some(open), &[Closer::Next])?;
        let (r, _) = kw(at, "NEXT")?;
        let (clause, rest, _) = self.clause(r)?;
        let (c, ()) = sp(clause)?;
        if !c.is_empty() {
            let (c, _) = name(c).map_err(cut)?;
            self.clause_end(c)?;
        }
        Ok((body, rest))
    }

    fn for_items(&self, list: &'a str) -> R<'a, ForEachItems> {
        let (t, ()) = sp(list)?;
        for (fname, mk) in [
            (
                "FILELIST",
                ForEachItems::FileList as fn(Cond) -> ForEachItems,
            ),
            ("DIRLIST", ForEachItems::DirList),
        ] {
            if let Some((w, r)) = word_at(t)
                && w.eq_ignore_ascii_case(fname)
                && let Some((inner, rest)) = paren_group(r)
                && sp(rest).is_ok_and(|(x, ())| x.is_empty())
            {
                return Ok(mk(self.cond(inner, "a file mask")?));
            }
        }
        if let Some(d) = deferred(list)? {
            return Ok(ForEachItems::Deferred(d));
        }
        let mut items = Vec::new();
        for part in split_commas(list) {
            items.push(self.cond(part, "an item")?);
        }
        Ok(ForEachItems::List(items))
    }

    fn sub_stmt(&self, t: &'a str) -> R<'a, (&'a str, StmtKind)> {
        let _g = self.c.enter(&self.c.blocks, t, MAX_BLOCK_DEPTH)?;
        let (r, _) = kw(t, "SUB")?;
        let (header, rest, _) = self.clause(r)?;
        let (r, (sub_name, _)) = name(header).map_err(cut)?;
        let mut params = Vec::new();
        let (r, ()) = sp(r)?;
        if let Some(mut p) = r.strip_prefix('(') {
            loop {
                let (q, ()) = sp(p)?;
                if let Some(q) = q.strip_prefix(')') {
                    self.clause_end(q)?;
                    break;
                }
                let (q, (param, _)) = name(q).map_err(cut)?;
                params.push(param);
                let (q, ()) = sp(q)?;
                p = match q.strip_prefix(',') {
                    Some(q) => q,
                    None if q.starts_with(')') => q,
                    None => return PErr::unexpected(q, "`,` or `)`").fail(),
                };
            }
        } else {
            self.clause_end(r)?;
        }
        let open = Open {
            keyword: "SUB",
            closer: "END SUB",
            at: t,
        };
        let (_, (body, _, at)) = self.block(rest, Some(&open), &[Closer::EndSub])?;
        let rest = self.end_clause(at, "SUB")?;
        Ok((
            rest,
            StmtKind::Sub {
                name: sub_name,
                params,
                body,
            },
        ))
    }

    /// `[WHILE|UNTIL cond]` of DO and LOOP.
    fn loop_cond(&self, clause: &'a str) -> R<'a, Option<LoopCond>> {
        let (c, ()) = sp(clause)?;
        if c.is_empty() {
            return Ok(None);
        }
        let until = if let Some(r) = opt_kw(c, "WHILE") {
            (false, r)
        } else if let Some(r) = opt_kw(c, "UNTIL") {
            (true, r)
        } else {
            return PErr::unexpected(c, "`WHILE`, `UNTIL` or the end of the line").fail();
        };
        Ok(Some(LoopCond {
            until: until.0,
            cond: self.cond(until.1, "a condition")?,
        }))
    }

    fn do_stmt(&self, t: &'a str) -> R<'a, (&'a str, StmtKind)> {
        let _g = self.c.enter(&self.c.blocks, t, MAX_BLOCK_DEPTH)?;
        let (r, _) = kw(t, "DO")?;
        let (clause, rest, _) = self.clause(r)?;
        let pre = self.loop_cond(clause)?;
        let open = Open {
            keyword: "DO",
            closer: "LOOP",
            at: t,
        };
        let (_, (body, _, at)) = self.block(rest, Some(&open), &[Closer::Loop])?;
        let (r, _) = kw(at, "LOOP")?;
        let (clause, rest, _) = self.clause(r)?;
        let post = self.loop_cond(clause)?;
        Ok((rest, StmtKind::Do { pre, body, post }))
    }

    fn switch_stmt(&self, t: &'a str) -> R<'a, (&'a str, StmtKind)> {
        let _g = self.c.enter(&self.c.blocks, t, MAX_BLOCK_DEPTH)?;
        let (r, _) = kw(t, "SWITCH")?;
        let (clause, rest, _) = self.clause(r)?;
        let subject = self.cond(clause, "an expression")?;
        let open = Open {
            keyword: "SWITCH",
            closer: "END SWITCH",
            at: t,
        };
        let all = [Closer::Case, Closer::Default, Closer::EndSwitch];
        let (_, (before, mut closer, mut at)) = self.block(rest, Some(&open), &all)?;
        if let Some(first) = before.first() {
            let at = self.from(first.span.start as usize);
            let (_, len) = describe(at);
            return PErr::new(
                at,
                len,
                ParseErrorKind::UnexpectedToken,
                "a statement before the first `CASE` of a `SWITCH`".to_owned(),
                "expected `CASE`, `DEFAULT` or `END SWITCH`",
                "start each group of statements with `CASE value[, value]` or `DEFAULT`",
            )
            .fail();
        }
        let mut cases = Vec::new();
        let mut default = None;
        loop {
            match closer {
                Closer::Case | Closer::Default if default.is_some() => {
                    let (_, len) = describe(at);
                    return PErr::new(
                        at,
                        len,
                        ParseErrorKind::UnexpectedToken,
                        format!("`{}` after the `DEFAULT` of a `SWITCH`", closer.text()),
                        "expected `END SWITCH`",
                        "`DEFAULT` comes last: move its statements after every `CASE`",
                    )
                    .fail();
                }
                Closer::Case => {
                    let (r, _) = kw(at, "CASE")?;
                    let (list, rest, _) = self.clause(r)?;
                    let mut values = Vec::new();
                    for part in split_commas(list) {
                        values.push(self.cond(part, "a value")?);
                    }
                    let (_, (body, c, a)) = self.block(rest, Some(&open), &all)?;
                    cases.push((values, body));
                    (closer, at) = (c, a);
                }
                Closer::Default => {
                    let (r, _) = kw(at, "DEFAULT")?;
                    let (clause, rest, _) = self.clause(r)?;
                    self.clause_end(clause)?;
                    let (_, (body, c, a)) = self.block(rest, Some(&open), &all)?;
                    default = Some(body);
                    (closer, at) = (c, a);
                }
                _ => {
                    let rest = self.end_clause(at, "SWITCH")?;
                    return Ok((
                        rest,
                        StmtKind::Switch {
                            subject,
                            cases,
                            default,
                        },
                    ));
                }
            }
        }
    }

    fn exit_stmt(&self, t: &'a str) -> R<'a, (&'a str, StmtKind)> {
        let (r, _) = kw(t, "EXIT")?;
        let (clause, rest, _) = self.clause(r)?;
        let (c, ()) = sp(clause)?;
        let what = match word_at(c).map(|(w, r)| (w.to_ascii_uppercase(), r)) {
            Some((w, r)) if w == "SCRIPT" => (ExitWhat::Script, r),
            Some((w, r)) if w == "FOR" => (ExitWhat::For, r),
            Some((w, r)) if w == "DO" => (ExitWhat::Do, r),
            Some((w, r)) if w == "SUB" => (ExitWhat::Sub, r),
            _ => {
                return PErr::unexpected(c, "`SCRIPT`, `FOR`, `DO` or `SUB`").fail();
            }
        };
        let (c, ()) = sp(what.1)?;
        let when = if c.is_empty() {
            None
        } else {
            let (unless, r) = if let Some(r) = opt_kw(c, "WHEN") {
                (false, r)
            } else if let Some(r) = opt_kw(c, "UNLESS") {
                (true, r)
            } else {
                return PErr::unexpected(c, "`WHEN`, `UNLESS` or `;`").fail();
            };
            Some(Guard {
                unless,
                cond: self.cond(r, "a condition")?,
            })
        };
        Ok((rest, StmtKind::Exit { what: what.0, when }))
    }

    // ----------------------------------------------------------------- simple

    /// A statement ending at `;` (a preceding-load chain ends at its last
    /// load's `;`).
    fn simple(&self, t: &'a str, word: Option<&str>) -> PResult<'a, Stmt> {
        let start = self.c.off(t);
        let mut ext = scan(self.text(), start, false)?;
        while ext.semicolon && self.sourceless_load(&ext) {
            let next = ext.end + 1;
            match peek_word(self.from(next)).as_deref() {
                Some("LOAD" | "SQL" | "SELECT") => ext.merge(scan(self.text(), next, false)?),
                _ => break,
            }
        }
        let body = self.between(start, ext.end);
        let end = ext.end + usize::from(ext.semicolon);
        let span = Span::new(self.c.source, start, end);
        // (A CALL of a named sub is a control statement, `call_stmt`: only
        // `CALL $(…)` comes here.)
        let text = || blank_comments(body, start, &ext.comments).trim().to_owned();
        let kind = if ext.dollar {
            StmtKind::Deferred { text: text() }
        } else {
            match self.stmt_body(body, word) {
                Ok(kind) => kind,
                Err(e) => self.invalid(e, text())?,
            }
        };
        // Without `;` the statement runs to the end of the text: a script's
        // last statement needs none.
        Ok((self.from(end), Stmt { kind, span }))
    }

    /// A statement whose text does not parse: Qlik parses a statement only
    /// when it runs it, so it is kept as [`StmtKind::Invalid`] with a
    /// warning. Errors of the parser's own limits stay errors.
    fn invalid(&self, e: nom::Err<PErr<'a>>, text: String) -> R<'a, StmtKind> {
        Ok(StmtKind::Invalid(self.invalid_error(e, text)?))
    }

    /// The error of a statement or condition that does not parse, kept with
    /// a warning; errors of the parser's own limits stay errors.
    fn invalid_error(&self, e: nom::Err<PErr<'a>>, text: String) -> R<'a, Box<Invalid>> {
        let kind = match &e {
            nom::Err::Error(p) | nom::Err::Failure(p) => p.kind,
            nom::Err::Incomplete(_) => return Err(e),
        };
        if matches!(kind, ParseErrorKind::TooDeep | ParseErrorKind::TooLarge) {
            return Err(e);
        }
        let err = super::convert(self.text(), self.c.source, e);
        self.warnings.borrow_mut().push(ParseWarning {
            code: "script::invalid-statement",
            message: format!("{err}: Qlik fails when it runs this statement"),
            span: err.span(),
        });
        Ok(Box::new(Invalid {
            text,
            kind: err.kind(),
            message: err.to_string(),
            label: err.label_text().to_owned(),
            help: err.help_text().map(str::to_owned),
            at: err.span(),
        }))
    }

    /// `CALL name[(args)]`, ended by `;` or the end of the line (a control
    /// statement); arguments may span lines inside their parentheses.
    fn call_stmt(&self, t: &'a str) -> R<'a, (&'a str, StmtKind)> {
        let parsed = (|| {
            let (r, _) = kw(t, "CALL")?;
            let (r, kind) = self.call(r)?;
            let (r, ()) = sp_line(r)?;
            match r.strip_prefix(';') {
                Some(rest) => Ok((rest, kind)),
                None if r.is_empty() || r.starts_with('\n') => Ok((r, kind)),
                None => PErr::unexpected(r, "`;` or the end of the line").fail(),
            }
        })();
        match parsed {
            Ok(done) => Ok(done),
            Err(e) => {
                let start = self.c.off(t);
                let ext = scan(self.text(), start, true)?;
                let body = self.between(start, ext.end);
                let kind = self.invalid(
                    e,
                    blank_comments(body, start, &ext.comments).trim().to_owned(),
                )?;
                Ok((self.from(ext.end + usize::from(ext.semicolon)), kind))
            }
        }
    }

    /// A LOAD with no source whose rows come from the statement after it.
    fn sourceless_load(&self, ext: &Extent) -> bool {
        let mut has_load = false;
        for (n, &(s, e)) in ext.words.iter().enumerate() {
            let w = self.between(s, e).to_ascii_uppercase();
            match w.as_str() {
                "SQL" if n == 0 => return false,
                "LOAD" => has_load = true,
                "FROM" | "INLINE" | "RESIDENT" | "AUTOGENERATE" => return false,
                // A source only when the extension's name follows directly
                // (a field list's `Extension,` is a field).
                "EXTENSION"
                    if ext
                        .words
                        .get(n + 1)
                        .is_some_and(|&(s2, _)| self.between(e, s2).trim().is_empty()) =>
                {
                    return false;
                }
                _ => {}
            }
        }
        has_load
    }

    /// Nothing but trivia may follow a parsed statement.
    fn finish(&self, r: &'a str) -> R<'a, ()> {
        let (t, ()) = sp(r)?;
        if t.is_empty() {
            return Ok(());
        }
        // `sp` gives a suffix of `r`.
        let gap = &r[..r.len() - t.len()];
        if gap.contains('\n') {
            let (found, len) = describe(t);
            return PErr::new(
                t,
                len,
                ParseErrorKind::MissingSemicolon,
                format!("missing `;` before {found}"),
                "a new statement seems to start here",
                "end the previous statement with `;`",
            )
            .fail();
        }
        PErr::unexpected(t, "`;`").fail()
    }

    fn stmt_body(&self, body: &'a str, word: Option<&str>) -> R<'a, StmtKind> {
        let (t, ()) = sp(body)?;
        if let Some((r, label)) = self.label(t) {
            let (r, kind) = self.load_stmt(r, Some(label))?;
            self.finish(r)?;
            return Ok(kind);
        }
        let Some((w, after)) = word_at(t) else {
            return PErr::unexpected(t, "a statement").fail();
        };
        let up = word.map_or_else(|| w.to_ascii_uppercase(), str::to_owned);
        let unsupported = |keyword: String| Ok(StmtKind::Unsupported { keyword });
        let no_effect = |keyword: String| Ok(StmtKind::NoEffect { keyword });
        let (r, kind) = match up.as_str() {
            "SECTION" => {
                if let Some(r) = opt_kw(after, "ACCESS") {
                    (r, StmtKind::Section(Section::Access))
                } else if let Some(r) = opt_kw(after, "APPLICATION") {
                    (r, StmtKind::Section(Section::Application))
                } else {
                    let (x, ()) = sp(after)?;
                    return PErr::unexpected(x, "`ACCESS` or `APPLICATION`")
                        .with_help("write `Section Access;` or `Section Application;`")
                        .fail();
                }
            }
            "STAR" => {
                let (r, _) = kw(after, "IS").map_err(cut)?;
                let v = unquote_whole(r.trim());
                ("", StmtKind::StarIs((!v.is_empty()).then_some(v)))
            }
            "SET" => self.set(after)?,
            "LET" => self.let_(after)?,
            "SQL" | "SELECT" => self.load_stmt(t, None)?,
            "BINARY" => {
                let v = unquote_whole(clean_text(after)?.as_str());
                ("", StmtKind::Binary((!v.is_empty()).then_some(v)))
            }
            "DISCONNECT" => (after, StmtKind::Disconnect),
            "CONNECT" | "CONNECT32" | "CONNECT64" => ("", self.connect(ConnectKind::Oledb, t)?),
            "LIB" | "CUSTOM" if at_kw(after, "CONNECT") => {
                let kind = if up == "LIB" {
                    ConnectKind::Lib
                } else {
                    ConnectKind::Custom
                };
                ("", self.connect(kind, after)?)
            }
            "ODBC" | "OLEDB"
                if at_kw(after, "CONNECT")
                    || at_kw(after, "CONNECT32")
                    || at_kw(after, "CONNECT64") =>
            {
                let kind = if up == "ODBC" {
                    ConnectKind::Odbc
                } else {
                    ConnectKind::Oledb
                };
                ("", self.connect(kind, after)?)
            }
            "EXECUTE" | "MAP" | "UNMAP" | "SQLTABLES" | "SQLCOLUMNS" | "SQLTYPES" => {
                return unsupported(up);
            }
            "STORE" => self.store(after)?,
            "FORCE" | "DECLARE" => return no_effect(up),
            "SEARCH" | "TAG" | "UNTAG" | "COMMENT" | "SLEEP" | "LOOSEN" | "DERIVE" => (
                self.no_effect(&up, after)?,
                StmtKind::NoEffect { keyword: up },
            ),
            "ALIAS" => {
                let (r, pairs) = self.pairs(after, "AS")?;
                (r, StmtKind::Alias(pairs))
            }
            "NULLASVALUE" | "NULLASNULL" => {
                let (r, fields) = self.field_patterns(after)?;
                let on = up == "NULLASVALUE";
                (r, StmtKind::NullAsValue { on, fields })
            }
            "AUTONUMBER" => {
                let (r, fields) = self.field_patterns(after)?;
                let (r, using) = match opt_kw(r, "USING") {
                    Some(r) => {
                        let (r, ns) = self.text_or_name(r)?;
                        (r, Some(ns))
                    }
                    None => (r, None),
                };
                (r, StmtKind::AutoNumber { fields, using })
            }
            "DROP" => self.drop(after)?,
            "RENAME" => match self.rename(after)? {
                Some(x) => x,
                None => return unsupported("RENAME FIELDS USING".to_owned()),
            },
            "TRACE" => ("", StmtKind::Trace(clean_text(after)?)),
            "DIRECTORY" => {
                let v = unquote_whole(clean_text(after)?.as_str());
                ("", StmtKind::Directory((!v.is_empty()).then_some(v)))
            }
            "QUALIFY" | "UNQUALIFY" => self.qualify(after, up == "QUALIFY")?,
            "CALL" => self.call(after)?,
            _ if is_load_start(&up) => self.load_stmt(t, None)?,
            _ => {
                // `name = expr;` is a LET without the keyword.
                if let Ok((r, _)) = name(t)
                    && opt_punct(r, "=").is_some()
                {
                    self.let_(t)?
                } else {
                    let text = clean_text(body)?;
                    self.warnings.borrow_mut().push(ParseWarning {
                        code: "script::unknown-statement",
                        message: format!(
                            "unknown statement starting with `{w}`: Qlik fails when it runs it"
                        ),
                        span: Span::new(self.c.source, self.c.off(t), self.c.off(t) + w.len()),
                    });
                    return Ok(StmtKind::Unknown { text });
                }
            }
        };
        self.finish(r)?;
        Ok(kind)
    }

    /// `Name:` / `[Long name]:` at `t`.
    fn label(&self, t: &'a str) -> Option<(&'a str, Name)> {
        let (r, (n, at)) = name(t).ok()?;
        let (r2, ()) = sp(r).ok()?;
        let r3 = r2.strip_prefix(':')?;
        Some((
            r3,
            Name {
                name: n,
                span: self.c.span(at, r),
            },
        ))
    }

    fn set(&self, i: &'a str) -> R<'a, (&'a str, StmtKind)> {
        let (r, (var, _)) = name(i).map_err(cut)?;
        let (r, _) = punct(r, "=").map_err(cut)?;
        let v = unquote_whole(clean_text(r)?.as_str());
        Ok((
            "",
            StmtKind::Set {
                name: var,
                value: (!v.is_empty()).then_some(v),
            },
        ))
    }

    fn let_(&self, i: &'a str) -> R<'a, (&'a str, StmtKind)> {
        let (r, (var, _)) = name(i).map_err(cut)?;
        let (r, _) = punct(r, "=").map_err(cut)?;
        let (t, ()) = sp(r)?;
        if t.is_empty() {
            return Ok((
                t,
                StmtKind::Let {
                    name: var,
                    value: None,
                },
            ));
        }
        let (r, e) = self.c.expr(t).map_err(cut)?;
        Ok((
            r,
            StmtKind::Let {
                name: var,
                value: Some(e),
            },
        ))
    }

    fn names(&self, mut i: &'a str) -> R<'a, (&'a str, Vec<Name>)> {
        let mut out = Vec::new();
        loop {
            let (r, n) = self.name_node(i)?;
            out.push(n);
            match opt_punct(r, ",") {
                Some(r) => i = r,
                None => return Ok((r, out)),
            }
        }
    }

    fn name_node(&self, i: &'a str) -> R<'a, (&'a str, Name)> {
        let (r, (n, at)) = name(i).map_err(cut)?;
        Ok((
            r,
            Name {
                name: n,
                span: self.c.span(at, r),
            },
        ))
    }

    fn drop(&self, i: &'a str) -> R<'a, (&'a str, StmtKind)> {
        let (t, ()) = sp(i)?;
        let w = word_at(t).map(|(w, r)| (w.to_ascii_uppercase(), r));
        match w {
            Some((w, r)) if w == "TABLE" || w == "TABLES" => {
                let (r, names) = self.names(r)?;
                Ok((r, StmtKind::Drop(Drop::Tables(names))))
            }
            Some((w, r)) if w == "FIELD" || w == "FIELDS" => {
                let (r, fields) = self.names(r)?;
                let (r, from) = match opt_kw(r, "FROM") {
                    Some(r) => self.names(r)?,
                    None => (r, Vec::new()),
                };
                Ok((r, StmtKind::Drop(Drop::Fields { fields, from })))
            }
            _ => PErr::unexpected(t, "`TABLE`, `TABLES`, `FIELD` or `FIELDS`")
                .with_help("write `DROP TABLE name;` or `DROP FIELD name [FROM table];`")
                .fail(),
        }
    }

    /// `STORE [fields FROM] table INTO path [(format)]`.
    fn store(&self, i: &'a str) -> R<'a, (&'a str, StmtKind)> {
        // A list, then `FROM table`, or the table alone.
        let (r, fields) = match opt_punct(i, "*") {
            Some(r) => (r, None),
            None => {
                let mut list = Vec::new();
                let mut at = i;
                loop {
                    let (r, field) = self.name_node(at)?;
                    let (r, alias) = match opt_kw(r, "AS") {
                        Some(r) => {
                            let (r, a) = self.name_node(r)?;
                            (r, Some(a))
                        }
                        None => (r, None),
                    };
                    list.push((field, alias));
                    match opt_punct(r, ",") {
                        Some(r) => at = r,
                        None => break (r, Some(list)),
                    }
                }
            }
        };
        let (r, fields, table) = match (opt_kw(r, "FROM"), fields) {
            (Some(r), fields) => {
                let (r, table) = self.name_node(r)?;
                (r, fields, table)
            }
            (None, Some(mut list))
                if list.len() == 1 && list.first().is_some_and(|(_, a)| a.is_none()) =>
            {
                let (table, _) = list.remove(0);
                (r, None, table)
            }
            _ => {
                let (t, ()) = sp(r)?;
                return PErr::unexpected(t, "`FROM` and the table")
                    .with_help("write `STORE f1, f2 FROM Table INTO file.qvd;`")
                    .fail();
            }
        };
        let (r, _) = kw(r, "INTO")
            .map_err(|e| cut(e.map(|p| p.with_help("write `STORE Table INTO file.qvd (qvd);`"))))?;
        let (r, source) = self.file_source(r)?;
        let Source::From {
            path,
            path_span,
            format,
        } = source
        else {
            return PErr::unexpected(r, "a file path").fail();
        };
        Ok((
            r,
            StmtKind::Store(Store {
                fields,
                table,
                path: Name {
                    name: path,
                    span: path_span,
                },
                format,
            }),
        ))
    }

    /// `None` for `RENAME FIELDS USING map`, which is unsupported.
    fn rename(&self, i: &'a str) -> R<'a, Option<(&'a str, StmtKind)>> {
        let (t, ()) = sp(i)?;
        let w = word_at(t).map(|(w, r)| (w.to_ascii_uppercase(), r));
        let (tables, r) = match w {
            Some((w, r)) if w == "TABLE" || w == "TABLES" => (true, r),
            Some((w, r)) if w == "FIELD" || w == "FIELDS" => (false, r),
            _ => return PErr::unexpected(t, "`TABLE`, `TABLES`, `FIELD` or `FIELDS`").fail(),
        };
        if at_kw(r, "USING") {
            return Ok(None);
        }
        let mut pairs = Vec::new();
        let mut i = r;
        loop {
            let (r, a) = self.name_node(i)?;
            let (r, _) = kw(r, "TO")
                .map_err(|e| cut(e.map(|p| p.with_help("write `RENAME … old TO new;`"))))?;
            let (r, b) = self.name_node(r)?;
            pairs.push((a, b));
            match opt_punct(r, ",") {
                Some(r) => i = r,
                None => {
                    let kind = if tables {
                        Rename::Tables(pairs)
                    } else {
                        Rename::Fields(pairs)
                    };
                    return Ok(Some((r, StmtKind::Rename(kind))));
                }
            }
        }
    }

    fn qualify(&self, i: &'a str, on: bool) -> R<'a, (&'a str, StmtKind)> {
        let (r, fields) = self.field_patterns(i)?;
        Ok((r, StmtKind::Qualify { on, fields }))
    }

    /// `a AS b, c AS d` (ALIAS) or `a TO b, …`: pairs of names.
    fn pairs(&self, mut i: &'a str, sep: &str) -> R<'a, (&'a str, Vec<(Name, Name)>)> {
        let mut pairs = Vec::new();
        loop {
            let (r, a) = self.name_node(i)?;
            let (r, _) = kw(r, sep).map_err(cut)?;
            let (r, b) = self.name_node(r)?;
            pairs.push((a, b));
            match opt_punct(r, ",") {
                Some(r) => i = r,
                None => return Ok((r, pairs)),
            }
        }
    }

    /// A `'text'` or a name (tags, comments, namespaces).
    fn text_or_name(&self, i: &'a str) -> R<'a, (&'a str, String)> {
        let (t, ()) = sp(i)?;
        if t.starts_with('\'') {
            return quoted(t, '\'');
        }
        let (r, (n, _)) = name(t).map_err(cut)?;
        Ok((r, n))
    }

    /// Comma-separated texts or names.
    fn texts(&self, mut i: &'a str) -> R<'a, &'a str> {
        loop {
            let (r, _) = self.text_or_name(i)?;
            match opt_punct(r, ",") {
                Some(r) => i = r,
                None => return Ok(r),
            }
        }
    }

    /// The statements parsed only to locate their errors:
    /// `TAG|UNTAG [FIELD[S]] [list] WITH tags|USING map`,
    /// `COMMENT [FIELD[S]|TABLE[S]] [list] WITH text|USING map`,
    /// `SEARCH INCLUDE|EXCLUDE list`, `SLEEP n`, `LOOSEN TABLE[S] list`,
    /// `DERIVE [FIELD[S]] FROM FIELD[S] list|EXPLICIT TAG[S] (tags)|IMPLICIT
    /// TAG[S] USING calendar`.
    fn no_effect(&self, up: &str, after: &'a str) -> R<'a, &'a str> {
        let one_of = |r: &'a str, words: &[&str]| words.iter().find_map(|w| opt_kw(r, w));
        let need = |r: &'a str, words: &[&str], expected: &str| -> R<'a, &'a str> {
            match one_of(r, words) {
                Some(r) => Ok(r),
                None => {
                    let (t, ()) = sp(r)?;
                    PErr::unexpected(t, expected).fail()
                }
            }
        };
        match up {
            "TAG" | "UNTAG" | "COMMENT" => {
                let tables = up == "COMMENT" && one_of(after, &["TABLE", "TABLES"]).is_some();
                let r = one_of(after, &["FIELD", "FIELDS", "TABLE", "TABLES"]).unwrap_or(after);
                if let Some(r) = opt_kw(r, "USING") {
                    let (r, _) = self.name_node(r)?;
                    return Ok(r);
                }
                let r = if tables {
                    self.names(r)?.0
                } else {
                    self.field_patterns(r)?.0
                };
                if let Some(r) = opt_kw(r, "USING") {
                    return Ok(self.name_node(r)?.0);
                }
                let (r, _) = kw(r, "WITH").map_err(|e| {
                    cut(e.map(|p| p.with_help(&format!("write `{up} … WITH 'text';`"))))
                })?;
                self.texts(r)
            }
            "SEARCH" => {
                let r = need(after, &["INCLUDE", "EXCLUDE"], "`INCLUDE` or `EXCLUDE`")?;
                Ok(self.field_patterns(r)?.0)
            }
            "SLEEP" => Ok(self.c.expr(after).map_err(cut)?.0),
            "LOOSEN" => {
                let r = need(after, &["TABLE", "TABLES"], "`TABLE` or `TABLES`")?;
                Ok(self.names(r)?.0)
            }
            _ => {
                // DERIVE
                let r = one_of(after, &["FIELD", "FIELDS"]).unwrap_or(after);
                let (r, _) = kw(r, "FROM").map_err(cut)?;
                let r = if let Some(r) = one_of(r, &["FIELD", "FIELDS"]) {
                    self.names(r)?.0
                } else if let Some(r) = opt_kw(r, "EXPLICIT") {
                    let r = need(r, &["TAG", "TAGS"], "`TAGS`")?;
                    let (r, _) = punct(r, "(").map_err(cut)?;
                    let r = self.texts(r)?;
                    punct(r, ")").map_err(cut)?.0
                } else if let Some(r) = opt_kw(r, "IMPLICIT") {
                    need(r, &["TAG", "TAGS"], "`TAG`")?
                } else {
                    let (t, ()) = sp(r)?;
                    return PErr::unexpected(t, "`FIELDS`, `EXPLICIT TAGS` or `IMPLICIT TAG`")
                        .fail();
                };
                let (r, _) = kw(r, "USING").map_err(cut)?;
                Ok(self.name_node(r)?.0)
            }
        }
    }

    /// Field names or patterns, comma-separated: `*`, `'A*'`, names.
    fn field_patterns(&self, mut i: &'a str) -> R<'a, (&'a str, Vec<String>)> {
        let mut fields = Vec::new();
        loop {
            let (t, ()) = sp(i)?;
            // A pattern written without quotes: `*`, `%Key*`, `A?`.
            let glob = t
                .find(|c: char| !(is_ident_char(c) || c == '*' || c == '?'))
                .map_or(t, |n| &t[..n]);
            let (r, f) = if glob.contains(['*', '?']) {
                (&t[glob.len()..], glob.to_owned())
            } else if t.starts_with('\'') {
                quoted(t, '\'')?
            } else {
                let (r, (n, _)) = name(t).map_err(cut)?;
                (r, n)
            };
            fields.push(f);
            match opt_punct(r, ",") {
                Some(r) => i = r,
                None => return Ok((r, fields)),
            }
        }
    }

    fn call(&self, i: &'a str) -> R<'a, (&'a str, StmtKind)> {
        let (r, (sub, _)) = name(i).map_err(cut)?;
        let (t, ()) = sp(r)?;
        let mut args = Vec::new();
        if t.starts_with('(') {
            let Some((inner, rest)) = paren_group(t) else {
                return PErr::unexpected(self.from(self.c.off(t) + t.len()), "`)`").fail();
            };
            if !inner.trim().is_empty() {
                for part in split_commas(inner) {
                    args.push(self.cond(part, "an argument")?);
                }
            }
            return Ok((rest, StmtKind::Call { name: sub, args }));
        }
        Ok((t, StmtKind::Call { name: sub, args }))
    }

    // ------------------------------------------------------------------- load

    /// Labels and prefixes, then the load chain.
    fn load_stmt(&self, i: &'a str, mut label: Option<Name>) -> R<'a, (&'a str, StmtKind)> {
        let mut prefixes = Vec::new();
        let mut i = i;
        loop {
            let (t, ()) = sp(i)?;
            // Qlik also takes the label after the prefixes
            // (`NoConcatenate T: LOAD …`).
            if label.is_none()
                && let Some((r, l)) = self.label(t)
            {
                label = Some(l);
                i = r;
                continue;
            }
            let Some((w, r)) = word_at(t) else {
                return PErr::unexpected(t, "`LOAD`").fail();
            };
            let up = w.to_ascii_uppercase();
            let name_here = |r: &'a str| Name {
                name: up.clone(),
                span: self.c.span(t, r),
            };
            i = match up.as_str() {
                "LOAD" | "SQL" | "SELECT" => break,
                "MAPPING" => {
                    prefixes.push(Prefix::Mapping);
                    r
                }
                "NOCONCATENATE" => {
                    prefixes.push(Prefix::NoConcatenate);
                    r
                }
                "CONCATENATE" => {
                    let (r, table) = self.opt_table(r)?;
                    prefixes.push(Prefix::Concatenate(table));
                    r
                }
                "LEFT" | "RIGHT" | "INNER" | "OUTER" | "JOIN" | "KEEP" => {
                    let kind = match up.as_str() {
                        "LEFT" => JoinKind::Left,
                        "RIGHT" => JoinKind::Right,
                        "INNER" => JoinKind::Inner,
                        _ => JoinKind::Outer,
                    };
                    let (r, keep) = if up == "JOIN" || up == "KEEP" {
                        (r, up == "KEEP")
                    } else if let Some(r) = opt_kw(r, "JOIN") {
                        (r, false)
                    } else if let Some(r) = opt_kw(r, "KEEP") {
                        (r, true)
                    } else {
                        let (x, ()) = sp(r)?;
                        return PErr::unexpected(x, "`JOIN` or `KEEP`").fail();
                    };
                    let (r, table) = self.opt_table(r)?;
                    prefixes.push(if keep {
                        Prefix::Keep { kind, table }
                    } else {
                        Prefix::Join { kind, table }
                    });
                    r
                }
                "FIRST" => {
                    let (r, n) = self.c.expr(r).map_err(cut)?;
                    prefixes.push(Prefix::First(n));
                    r
                }
                "MERGE" if opt_kw(r, "ONLY").is_none() => {
                    let (r, merge) = self.merge_prefix(name_here(r), r)?;
                    prefixes.push(merge);
                    r
                }
                "BUFFER" | "ADD" | "REPLACE" | "MERGE" | "SEMANTIC" => {
                    let only = opt_kw(r, "ONLY").is_some();
                    prefixes.push(match up.as_str() {
                        _ if only => Prefix::PartialOnly(name_here(r)),
                        "REPLACE" => Prefix::Replace,
                        _ => Prefix::Ignored(up.clone()),
                    });
                    self.skip_ignored_prefix(&up, r)?
                }
                "CROSSTABLE" | "GENERIC" | "HIERARCHY" | "HIERARCHYBELONGSTO" | "INTERVALMATCH" => {
                    let kind = name_here(r);
                    let (r, args) = if up == "GENERIC" {
                        (r, Vec::new())
                    } else {
                        self.prefix_args(&up, r)?
                    };
                    prefixes.push(Prefix::Reshape { kind, args });
                    r
                }
                "SAMPLE" => {
                    let (rest, p) = self.c.expr(r).map_err(cut)?;
                    prefixes.push(Prefix::Sample(p));
                    rest
                }
                "WHEN" | "UNLESS" => {
                    let (rest, _) = self.c.expr(r).map_err(cut)?;
                    prefixes.push(Prefix::Unsupported(name_here(r)));
                    rest
                }
                _ => return PErr::unexpected(t, "`LOAD` or a load prefix").fail(),
            };
        }
        let (r, load) = self.load(i)?;
        Ok((
            r,
            StmtKind::Load(LoadStmt {
                label,
                prefixes,
                load,
            }),
        ))
    }

    /// `ADD [ONLY]`, `REPLACE [ONLY]`, `BUFFER [(…)]`,
    /// `MERGE [ONLY] [(…)] ON keys`.
    fn skip_ignored_prefix(&self, up: &str, r: &'a str) -> R<'a, &'a str> {
        let mut r = r;
        if let Some(x) = opt_kw(r, "ONLY") {
            r = x;
        }
        let (x, ()) = sp(r)?;
        if let Some((_, rest)) = paren_group(x) {
            r = rest;
        }
        if up == "MERGE"
            && let Some(x) = opt_kw(r, "ON")
        {
            let (x, _) = self.names(x)?;
            r = x;
        }
        Ok(r)
    }

    /// `MERGE [(SequenceNoField [, SequenceNoVar])] ON keys` (not `ONLY`),
    /// after the keyword.
    fn merge_prefix(&self, kw: Name, r: &'a str) -> R<'a, (&'a str, Prefix)> {
        let (mut r, ()) = sp(r)?;
        let mut seq = None;
        let mut seq_var = None;
        if let Some(x) = opt_punct(r, "(") {
            let (x, field) = self.name_node(x)?;
            seq = Some(field);
            let x = match opt_punct(x, ",") {
                Some(x) => {
                    let (x, var) = self.name_node(x)?;
                    seq_var = Some(var);
                    x
                }
                None => x,
            };
            let (x, _) = punct(x, ")").map_err(cut)?;
            r = x;
        }
        let Some(x) = opt_kw(r, "ON") else {
            let (t, ()) = sp(r)?;
            return PErr::unexpected(t, "`ON`")
                .with_help("`MERGE [(SequenceNoField [, SequenceNoVar])] ON Key1, Key2 LOAD …`")
                .fail();
        };
        let (r, keys) = self.names(x)?;
        Ok((
            r,
            Prefix::Merge {
                kw,
                seq,
                seq_var,
                keys,
            },
        ))
    }

    /// `(arg, …)` after a reshaping prefix: each argument a name, a quoted
    /// text or a number, or nothing (`None`).
    fn prefix_args(&self, kw: &str, r: &'a str) -> R<'a, (&'a str, Vec<Option<Name>>)> {
        let help = || {
            let example = match kw {
                "CROSSTABLE" => "`CROSSTABLE (Month, Sales [, 1])`",
                "HIERARCHY" => "`HIERARCHY (NodeID, ParentID, NodeName, …)`",
                "HIERARCHYBELONGSTO" => {
                    "`HIERARCHYBELONGSTO (NodeID, ParentID, NodeName, AncestorID, AncestorName)`"
                }
                _ => "`INTERVALMATCH (Time [, Key])`",
            };
            format!("the arguments of `{kw}` go in parentheses, before the LOAD: {example}")
        };
        let (t, ()) = sp(r)?;
        let Some(mut i) = opt_punct(t, "(") else {
            return PErr::unexpected(t, "`(`").with_help(&help()).fail();
        };
        let mut args = Vec::new();
        loop {
            let (t, ()) = sp(i)?;
            if t.starts_with([',', ')']) {
                args.push(None);
                i = t;
            } else if t.starts_with('\'') {
                let (z, n) = quoted(t, '\'').map_err(cut)?;
                args.push(Some(Name {
                    name: n,
                    span: self.c.span(t, z),
                }));
                i = z;
            } else if let Some((num, z)) = number_at(t) {
                args.push(Some(Name {
                    name: num.to_owned(),
                    span: self.c.span(t, z),
                }));
                i = z;
            } else {
                let (z, n) = self.name_node(t)?;
                args.push(Some(n));
                i = z;
            }
            match opt_punct(i, ",") {
                Some(x) => i = x,
                None => {
                    let (t, ()) = sp(i)?;
                    let Some(x) = opt_punct(t, ")") else {
                        return PErr::unexpected(t, "`,` or `)`").with_help(&help()).fail();
                    };
                    return Ok((x, args));
                }
            }
        }
    }

    /// `[(Table)]` after CONCATENATE, JOIN, KEEP.
    fn opt_table(&self, r: &'a str) -> R<'a, (&'a str, Option<Name>)> {
        match opt_punct(r, "(") {
            Some(r) => {
                let (r, n) = self.name_node(r)?;
                let (r, _) = punct(r, ")").map_err(cut)?;
                Ok((r, Some(n)))
            }
            None => Ok((r, None)),
        }
    }

    /// `LOAD …` with its source and clauses; a LOAD without source reads the
    /// load after the `;` that follows it.
    fn load(&self, i: &'a str) -> R<'a, (&'a str, Load)> {
        let (t, ()) = sp(i)?;
        let _g = self.c.enter(&self.c.blocks, t, MAX_BLOCK_DEPTH * 4)?;
        if let Some((r, source)) = self.sql(t)? {
            // `SQL …` alone loads what the database returns, as `LOAD *`.
            let load = Load {
                distinct: false,
                fields: vec![LoadField::Star],
                source,
                filter: None,
                while_: None,
                group_by: Vec::new(),
                order_by: Vec::new(),
                span: self.c.span(t, self.from(self.c.off(t) + 3)),
            };
            return Ok((r, load));
        }
        let (mut r, _) = kw(t, "LOAD")?;
        let span = self.c.span(t, r);
        let mut distinct = false;
        if let Some(x) = opt_kw(r, "DISTINCT") {
            distinct = true;
            r = x;
        }
        let mut fields = Vec::new();
        loop {
            let (x, f) = self.load_field(r)?;
            fields.push(f);
            match opt_punct(x, ",") {
                Some(x) => r = x,
                None => {
                    r = x;
                    break;
                }
            }
        }
        let (x, source) = self.source(r)?;
        let mut clauses = Clauses::default();
        r = self.clauses(x, &mut clauses)?;
        let source = match source {
            Some(s) => s,
            None => {
                // A preceding load: `;` and the load it reads from.
                let (x, ()) = sp(r)?;
                let no_source = || {
                    PErr::new(
                        t,
                        4,
                        ParseErrorKind::UnexpectedToken,
                        "this `LOAD` has no source".to_owned(),
                        "no `FROM`, `INLINE`, `RESIDENT` or `AUTOGENERATE`",
                        "add a source, or follow it with the LOAD it reads from (a preceding load)",
                    )
                };
                let after = match x.strip_prefix(';') {
                    Some(after) => after,
                    None if x.is_empty() => return no_source().fail(),
                    None => {
                        return PErr::unexpected(
                            x,
                            "`,`, `FROM`, `INLINE`, `RESIDENT`, `AUTOGENERATE` or `;`",
                        )
                        .with_help("separate fields with `,`; a LOAD needs a source")
                        .fail();
                    }
                };
                let (y, ()) = sp(after)?;
                match word_at(y).map(|(w, _)| w.to_ascii_uppercase()).as_deref() {
                    Some("LOAD") => {
                        let (z, lower) = self.load(y)?;
                        r = z;
                        Source::Preceding(Box::new(lower))
                    }
                    Some("SQL" | "SELECT") => match self.sql(y)? {
                        Some((z, source)) => {
                            r = z;
                            source
                        }
                        None => return no_source().fail(),
                    },
                    _ => return no_source().fail(),
                }
            }
        };
        let load = Load {
            distinct,
            fields,
            source,
            filter: clauses.filter,
            while_: clauses.while_,
            group_by: clauses.group_by,
            order_by: clauses.order_by,
            span,
        };
        Ok((r, load))
    }

    /// `SQL text` or `SELECT …` at `t` (the rest of the statement): the
    /// text sent to the database, comments blanked.
    fn sql(&self, t: &'a str) -> R<'a, Option<(&'a str, Source)>> {
        let Some((w, after)) = word_at(t) else {
            return Ok(None);
        };
        let text = if w.eq_ignore_ascii_case("SQL") {
            after
        } else if w.eq_ignore_ascii_case("SELECT") {
            t
        } else {
            return Ok(None);
        };
        let span = self.c.span(t, after);
        let text = clean_text(text)?;
        if text.is_empty() {
            return PErr::unexpected(after, "the SQL statement to send to the database")
                .with_help("write the statement after `SQL`, e.g. `SQL SELECT * FROM users;`")
                .fail();
        }
        Ok(Some(("", Source::Sql { text, span })))
    }

    /// The rest of a `CONNECT` statement at `r` (at `CONNECT`,
    /// `CONNECT32` or `CONNECT64`).
    fn connect(&self, kind: ConnectKind, r: &'a str) -> R<'a, StmtKind> {
        let (r, ()) = sp(r)?;
        let Some((_, r)) = word_at(r) else {
            return PErr::unexpected(r, "`CONNECT`").fail();
        };
        let (r, _) = kw(r, "TO").map_err(cut)?;
        let (t, ()) = sp(r)?;
        let text = clean_text(t)?;
        // The target, quoted or bracketed or up to an access-info `(…)`.
        let (target, rest) = match text.chars().next() {
            Some(q @ ('\'' | '"')) => match quoted(&text, q) {
                Ok((rest, v)) => (v, rest.trim().to_owned()),
                Err(_) => (text.clone(), String::new()),
            },
            Some('[') => match bracketed(&text) {
                Ok((rest, v)) => (v.to_owned(), rest.trim().to_owned()),
                Err(_) => (text.clone(), String::new()),
            },
            _ => match text.find('(') {
                Some(i) => {
                    let (target, rest) = text.split_at(i);
                    (target.trim().to_owned(), rest.trim().to_owned())
                }
                None => (text.clone(), String::new()),
            },
        };
        if target.is_empty() {
            return PErr::unexpected(t, "a connection name or connect string")
                .with_help("write e.g. `LIB CONNECT TO 'Users';`")
                .fail();
        }
        let access_info = rest.starts_with('(') && rest.ends_with(')');
        if !rest.is_empty() && !access_info {
            return PErr::unexpected(t, "`(XUserId is …, XPassword is …)` or `;`").fail();
        }
        let name = connection_name(kind, &target);
        let span = self
            .c
            .span(t, self.from(self.c.off(t) + t.trim_end().len()));
        Ok(StmtKind::Connect(Connect {
            kind,
            target,
            name,
            span,
        }))
    }

    fn load_field(&self, r: &'a str) -> R<'a, (&'a str, LoadField)> {
        let (t, ()) = sp(r)?;
        if let Some(x) = t.strip_prefix('*') {
            return Ok((x, LoadField::Star));
        }
        let (x, expr) = self.c.expr(t).map_err(cut)?;
        let text = self.between(expr.span.start as usize, expr.span.end as usize);
        let (x, alias) = match opt_kw(x, "AS") {
            Some(x) => {
                let (y, ()) = sp(x)?;
                if y.starts_with('\'') {
                    let (z, n) = quoted(y, '\'')?;
                    (
                        z,
                        Some(Name {
                            name: n,
                            span: self.c.span(y, z),
                        }),
                    )
                } else {
                    let (z, n) = self.name_node(y)?;
                    (z, Some(n))
                }
            }
            None => (x, None),
        };
        Ok((
            x,
            LoadField::Expr {
                expr,
                alias,
                text: text.to_owned(),
            },
        ))
    }

    fn source(&self, r: &'a str) -> R<'a, (&'a str, Option<Source>)> {
        let (t, ()) = sp(r)?;
        let Some((w, after)) = word_at(t) else {
            return Ok((r, None));
        };
        match w.to_ascii_uppercase().as_str() {
            "FROM" => {
                let (x, s) = self.file_source(after)?;
                Ok((x, Some(s)))
            }
            "INLINE" => {
                let (x, s) = self.inline(after)?;
                Ok((x, Some(s)))
            }
            "RESIDENT" => {
                let (x, n) = self.name_node(after)?;
                Ok((x, Some(Source::Resident(n))))
            }
            "AUTOGENERATE" => {
                let (x, e) = self.c.expr(after).map_err(cut)?;
                Ok((x, Some(Source::Autogenerate(e))))
            }
            "EXTENSION" => {
                let (x, _) = name(after).map_err(cut)?;
                let (y, ()) = sp(x)?;
                let rest = paren_group(y).map_or(x, |(_, rest)| rest);
                Ok((
                    rest,
                    Some(Source::Unsupported(Name {
                        name: "EXTENSION".to_owned(),
                        span: self.c.span(t, after),
                    })),
                ))
            }
            _ => Ok((r, None)),
        }
    }

    fn file_source(&self, i: &'a str) -> R<'a, (&'a str, Source)> {
        let (t, ()) = sp(i)?;
        let (r, path, span) = match t.chars().next() {
            Some('[') => {
                let (r, p) = bracketed(t)?;
                (r, p.to_owned(), self.c.span(&t[1..], p_end(p)))
            }
            Some(q @ ('\'' | '"')) => {
                let (r, p) = quoted(t, q)?;
                // After the one-byte opening quote.
                let inner = &t[1..];
                let end = self.from(self.c.off(r).saturating_sub(1));
                (r, p, self.c.span(inner, end))
            }
            _ => {
                let n = t
                    .find(|c: char| c.is_whitespace() || c == ';' || c == '(')
                    .unwrap_or(t.len());
                if n == 0 {
                    return PErr::unexpected(t, "a file path")
                        .with_help("write the path after `FROM`, in `[…]` when it has blanks")
                        .fail();
                }
                let (path, r) = t.split_at(n);
                (r, path.to_owned(), self.c.span(t, r))
            }
        };
        let (r, format) = self.opt_format(r)?;
        Ok((
            r,
            Source::From {
                path,
                path_span: span,
                format,
            },
        ))
    }

    fn inline(&self, i: &'a str) -> R<'a, (&'a str, Source)> {
        let (t, ()) = sp(i)?;
        let close = match t.chars().next() {
            Some('[') => ']',
            Some(q @ ('"' | '\'')) => q,
            _ => {
                return PErr::unexpected(t, "`[`")
                    .with_help("write the table as `INLINE [` header and rows `]`")
                    .fail();
            }
        };
        // After the one-byte `[`, `"` or `'`.
        let body = &t[1..];
        let Some((content, r)) = body.split_once(close) else {
            return PErr::new(
                t,
                1,
                ParseErrorKind::UnterminatedInline,
                format!("unterminated `INLINE` table: no closing `{close}`"),
                "the inline table starts here",
                &format!("end the inline table with `{close}` on its own line, then `;`"),
            )
            .fail();
        };
        let text_span = self
            .c
            .span(body, self.from(self.c.off(body) + content.len()));
        let (r, format) = self.opt_format(r)?;
        Ok((
            r,
            Source::Inline {
                text: self
                    .c
                    .shared
                    .and_then(|shared| {
                        let start = self.c.off(content);
                        InlineText::shared(shared, start..start + content.len())
                    })
                    .unwrap_or_else(|| InlineText::new(content)),
                text_span,
                format,
            },
        ))
    }

    /// An optional format specification `( item, … )`.
    fn opt_format(&self, r: &'a str) -> R<'a, (&'a str, Vec<FormatItem>)> {
        let (t, ()) = sp(r)?;
        if !t.starts_with('(') {
            return Ok((r, Vec::new()));
        }
        let Some((inner, rest)) = paren_group(t) else {
            return PErr::unexpected(self.from(self.text().len()), "`)`")
                .with_help("close the format specification with `)`")
                .fail();
        };
        let mut items = Vec::new();
        for part in split_commas(inner) {
            let part = part.trim();
            if !part.is_empty() {
                items.push(format_item(part));
            }
        }
        Ok((rest, items))
    }

    fn clauses(&self, mut r: &'a str, load: &mut Clauses) -> R<'a, &'a str> {
        loop {
            let Some(w) = peek_word(r) else {
                return Ok(r);
            };
            match w.as_str() {
                "WHERE" | "WHILE" => {
                    let (x, _) = kw(r, &w)?;
                    let (x, e) = self.c.expr(x).map_err(cut)?;
                    if w == "WHERE" {
                        load.filter = Some(e);
                    } else {
                        load.while_ = Some(e);
                    }
                    r = x;
                }
                "GROUP" | "ORDER" => {
                    let (x, _) = kw(r, &w)?;
                    let (mut x, _) = kw(x, "BY").map_err(cut)?;
                    loop {
                        let (y, e) = self.c.expr(x).map_err(cut)?;
                        let mut y = y;
                        if w == "GROUP" {
                            load.group_by.push(e);
                        } else {
                            let mut desc = false;
                            if let Some(z) = opt_kw(y, "DESC") {
                                desc = true;
                                y = z;
                            } else if let Some(z) = opt_kw(y, "ASC") {
                                y = z;
                            }
                            load.order_by.push((e, desc));
                        }
                        match opt_punct(y, ",") {
                            Some(z) => x = z,
                            None => {
                                x = y;
                                break;
                            }
                        }
                    }
                    r = x;
                }
                _ => return Ok(r),
            }
        }
    }
}

/// WHERE, WHILE, GROUP BY and ORDER BY of one load.
#[derive(Default)]
struct Clauses {
    filter: Option<Expr>,
    while_: Option<Expr>,
    group_by: Vec<Expr>,
    order_by: Vec<(Expr, bool)>,
}

/// `CALL $(…)`: the sub's name is expanded, so the whole statement is.
fn call_name_expanded(t: &str) -> bool {
    opt_kw(t, "CALL")
        .and_then(|r| sp(r).ok())
        .is_some_and(|(r, ())| r.starts_with("$("))
}

/// Length of `END IF` / `ENDIF` / `END SUB` as written (blanks between
/// included).
fn closer_len(t: &str) -> usize {
    let Some((w, r)) = word_at(t) else { return 3 };
    if w.len() > 3 {
        return w.len();
    }
    let Ok((r, ())) = sp(r) else { return 3 };
    let Some((_, r)) = word_at(r) else { return 3 };
    t.len() - r.len()
}

/// The text of `s` without comments, trimmed, when it contains `$(`.
fn deferred(s: &str) -> Result<Option<String>, nom::Err<PErr<'_>>> {
    let e = scan(s, 0, false)?;
    Ok(e.dollar
        .then(|| blank_comments(s, 0, &e.comments).trim().to_owned()))
}

/// `s` without comments, trimmed.
fn clean_text(s: &str) -> Result<String, nom::Err<PErr<'_>>> {
    let e = scan(s, 0, false)?;
    Ok(blank_comments(s, 0, &e.comments).trim().to_owned())
}

/// SET's rule: a value that is exactly one quoted or bracketed token loses
/// its delimiters (`'a'` → `a`, `[']` → `'`); anything else stays verbatim.
fn unquote_whole(v: &str) -> String {
    let whole = |r: &str| r.trim().is_empty();
    match v.chars().next() {
        Some(q @ ('\'' | '"' | '`')) => match quoted(v, q) {
            Ok((r, s)) if whole(r) => s,
            _ => v.to_owned(),
        },
        Some('[') => match bracketed(v) {
            Ok((r, s)) if whole(r) => s.to_owned(),
            _ => v.to_owned(),
        },
        _ => v.to_owned(),
    }
}

/// The name of the connection a `CONNECT` target names: a `LIB` name as
/// written; of a connect string, its `DSN=` or `Data Source=` value, else
/// `Server=` or `Host=` value, else its first part without `=`
/// (`MyDsn;UID=…`); empty when it has none of these.
pub(crate) fn connection_name(kind: ConnectKind, target: &str) -> String {
    if kind == ConnectKind::Lib {
        return target.trim().to_owned();
    }
    let parts: Vec<&str> = target
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let value_of = |key: &str| {
        parts.iter().find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case(key)
                .then(|| v.trim().to_owned())
        })
    };
    ["DSN", "Data Source", "Server", "Host"]
        .iter()
        .find_map(|key| value_of(key))
        .or_else(|| {
            parts
                .iter()
                .find(|p| !p.contains('='))
                .map(|p| (*p).to_owned())
        })
        .unwrap_or_default()
}

/// Words that start a load statement (LOAD or a prefix).
fn is_load_start(w: &str) -> bool {
    matches!(
        w,
        "LOAD"
            | "MAPPING"
            | "CONCATENATE"
            | "NOCONCATENATE"
            | "LEFT"
            | "RIGHT"
            | "INNER"
            | "OUTER"
            | "JOIN"
            | "KEEP"
            | "FIRST"
            | "BUFFER"
            | "ADD"
            | "REPLACE"
            | "MERGE"
            | "SEMANTIC"
            | "CROSSTABLE"
            | "GENERIC"
            | "HIERARCHY"
            | "HIERARCHYBELONGSTO"
            | "INTERVALMATCH"
            | "SAMPLE"
            | "WHEN"
            | "UNLESS"
    )
}

/// A parenthesised group at the start of `t`: its inside and the rest after
/// the matching `)`; quotes and brackets inside are skipped whole.
pub(crate) fn paren_group(t: &str) -> Option<(&str, &str)> {
    let body = t.strip_prefix('(')?;
    let b = body.as_bytes();
    let mut depth = 0u32;
    let mut p = 0;
    while let Some(&c) = b.get(p) {
        match c {
            b'\'' | b'"' | b'`' => {
                let (r, _) = quoted(body.get(p..)?, char::from(c)).ok()?;
                p = body.len() - r.len();
                continue;
            }
            b'[' => {
                p += body.get(p..)?.find(']')? + 1;
                continue;
            }
            b'(' => depth += 1,
            b')' if depth == 0 => return Some((body.get(..p)?, body.get(p + 1..)?)),
            b')' => depth -= 1,
            _ => {}
        }
        p += 1;
    }
    None
}

/// The end of a bracket's content (the `]`), as a slice.
fn p_end(p: &str) -> &str {
    &p[p.len()..]
}

/// One item of a format specification; anything unrecognised is kept as
/// [`FormatItem::Other`].
fn format_item(part: &str) -> FormatItem {
    let words: Vec<&str> = part.split_whitespace().collect();
    let up: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let up: Vec<&str> = up.iter().map(String::as_str).collect();
    let other = || FormatItem::Other(part.to_owned());
    // The value after `… is`, verbatim (quotes and brackets stripped).
    let value_after_is = |n: usize| -> Option<String> {
        let pos = nth_word_end(part, n)?;
        let v = part.get(pos..)?.trim();
        (!v.is_empty()).then(|| unquote_whole(v))
    };
    let num = |s: Option<&&str>| s.and_then(|s| s.parse::<u32>().ok());
    match up.as_slice() {
        ["TXT" | "DELIMITED"] => FormatItem::Txt,
        ["FIX"] => FormatItem::Fix,
        ["QVD"] => FormatItem::Qvd,
        ["QVX"] => FormatItem::Qvx,
        [t @ ("BIFF" | "OOXML" | "XML" | "HTML" | "JSON" | "KML" | "PARQUET" | "DIF")] => {
            FormatItem::OtherFileType(t.to_ascii_lowercase())
        }
        ["UTF8"] => FormatItem::Utf8,
        ["UNICODE"] => FormatItem::Unicode,
        ["ANSI"] => FormatItem::Ansi,
        ["OEM"] => FormatItem::Oem,
        ["MAC"] => FormatItem::Mac,
        ["MSQ"] => FormatItem::Msq,
        ["EMBEDDED", "LABELS"] => FormatItem::EmbeddedLabels,
        ["EXPLICIT", "LABELS"] => FormatItem::ExplicitLabels,
        ["NO", "LABELS"] => FormatItem::NoLabels,
        ["NO", "QUOTES"] => FormatItem::NoQuotes,
        ["NO", "EOF"] => FormatItem::NoEof,
        ["CODEPAGE", "IS", n] => num(Some(n)).map_or_else(other, FormatItem::Codepage),
        ["HEADER", "IS", n] | ["HEADER", "IS", n, "LINES" | "LINE"] => {
            num(Some(n)).map_or_else(other, FormatItem::HeaderLines)
        }
        ["RECORD", "IS", n] | ["RECORD", "IS", n, "LINES" | "LINE"] => {
            num(Some(n)).map_or_else(other, FormatItem::RecordLines)
        }
        ["DELIMITER", "IS", ..] => match value_after_is(2) {
            Some(v) => FormatItem::Delimiter(delimiter(part, &v)),
            None => other(),
        },
        ["COMMENT", "IS", ..] => value_after_is(2).map_or_else(other, FormatItem::CommentIs),
        ["TABLE", "IS", ..] => value_after_is(2).map_or_else(other, FormatItem::TableIs),
        _ => other(),
    }
}

/// Decodes a delimiter: `'\t'` and `tab` are a tab, `spaces` is a blank.
fn delimiter(part: &str, v: &str) -> String {
    let quoted_value = part.trim_end().ends_with(['\'', '"']);
    match v {
        "\\t" => "\t".to_owned(),
        _ if !quoted_value && v.eq_ignore_ascii_case("tab") => "\t".to_owned(),
        _ if !quoted_value && v.eq_ignore_ascii_case("spaces") => " ".to_owned(),
        _ => v.to_owned(),
    }
}

/// Byte offset just after the n-th (0-based) blank-separated word.
fn nth_word_end(s: &str, n: usize) -> Option<usize> {
    let mut count = 0;
    let mut in_word = false;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() {
            if in_word {
                count += 1;
                if count == n {
                    return Some(i);
                }
            }
            in_word = false;
        } else {
            in_word = true;
        }
    }
    None
}
