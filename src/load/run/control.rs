//! Control flow: `IF`, `FOR`, `FOR EACH`, `DO`, `SUB` and `CALL`, with the
//! loop and nesting limits that keep a script from running forever.

use std::rc::Rc;

use crate::model::Value;
use crate::script::ast::{Cond, ExitWhat, Expr, ExprKind, ForEachItems, LoopCond, Stmt};
use crate::script::source::Span;

use super::{Flow, R, Runner};
use crate::load::error::{Fail, LoadError, LoadErrorKind, did_you_mean};
use crate::load::expr::{compare, num_of, truthy, value_text};

/// How many passes a FOR or DO loop may make, unless `--max-iterations`
/// says otherwise.
const MAX_ITERATIONS: usize = 1_000_000;

/// A defined sub.
pub(super) struct SubDef {
    params: Vec<String>,
    body: Vec<Stmt>,
}

impl Runner<'_> {
    /// `IF … THEN … ELSEIF … ELSE … END IF`: the first branch whose
    /// condition holds runs.
    pub(super) fn run_if(
        &mut self,
        branches: &[(Cond, Vec<Stmt>)],
        otherwise: Option<&[Stmt]>,
        span: Span,
    ) -> R<Flow> {
        for (cond, body) in branches {
            if truthy(&self.eval_cond(cond, span)?) {
                return self.run_block(body);
            }
        }
        if let Some(body) = otherwise {
            return self.run_block(body);
        }
        Ok(Flow::Normal)
    }

    /// `SWITCH … CASE … DEFAULT … END SWITCH`: the first `CASE` with a
    /// value equal to the subject (Qlik's `=`) runs, else `DEFAULT`.
    pub(super) fn run_switch(
        &mut self,
        subject: &Cond,
        cases: &[(Vec<Cond>, Vec<Stmt>)],
        default: Option<&[Stmt]>,
        span: Span,
    ) -> R<Flow> {
        let v = self.eval_cond(subject, span)?;
        for (values, body) in cases {
            for c in values {
                // `CASE $(vList)`: the expanded text may hold several values.
                let ws = match c {
                    Cond::Deferred(text) => self.expand_list(text, span)?,
                    _ => vec![self.eval_cond(c, span)?],
                };
                if ws
                    .iter()
                    .any(|w| compare(&v, w).is_some_and(std::cmp::Ordering::is_eq))
                {
                    return self.run_block(body);
                }
            }
        }
        match default {
            Some(body) => self.run_block(body),
            None => Ok(Flow::Normal),
        }
    }

    pub(super) fn run_for(
        &mut self,
        var: &str,
        from: &Cond,
        to: &Cond,
        step: Option<&Cond>,
        body: &[Stmt],
        span: Span,
    ) -> R<Flow> {
        let num = |s: &mut Self, c: &Cond| -> R<f64> {
            let v = s.eval_cond(c, span)?;
            num_of(&v).ok_or_else(|| {
                s.err(Fail::new(
                    LoadErrorKind::BadArgument,
                    span,
                    format!("`FOR` bound `{}` is not a number", v.text()),
                ))
            })
        };
        let start = num(self, from)?;
        let end = num(self, to)?;
        let step = match step {
            Some(c) => num(self, c)?,
            None => 1.0,
        };
        if step == 0.0 {
            return Err(self.err(Fail::new(
                LoadErrorKind::BadArgument,
                span,
                "`FOR` step is 0",
            )));
        }
        let mut i = start;
        let mut passes = 0usize;
        while (step > 0.0 && i <= end) || (step < 0.0 && i >= end) {
            self.set_var(var, &Value::Num(i));
            match self.run_block(body)? {
                Flow::Normal => {}
                Flow::Exit(ExitWhat::For) => break,
                other => return Ok(other),
            }
            // Qlik reads the loop variable back: the body may change it.
            i = self
                .app
                .variables
                .get(var)
                .and_then(|t| crate::model::parse_number(t.trim()))
                .unwrap_or(i)
                + step;
            passes += 1;
            self.check_passes(passes, "FOR", span)?;
        }
        Ok(Flow::Normal)
    }

    /// `FOR EACH var IN …`: the body once per item.
    pub(super) fn run_for_each(
        &mut self,
        var: &str,
        items: &ForEachItems,
        body: &[Stmt],
        span: Span,
    ) -> R<Flow> {
        let values = self.for_each_items(items, span)?;
        for v in values {
            self.app.variables.insert(var.to_string(), v);
            match self.run_block(body)? {
                Flow::Normal => {}
                Flow::Exit(ExitWhat::For) => break,
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    fn for_each_items(&mut self, items: &ForEachItems, span: Span) -> R<Vec<String>> {
        match items {
            ForEachItems::List(conds) => {
                let mut out = Vec::new();
                for c in conds {
                    let v = self.eval_cond(c, span)?;
                    out.push(value_text(&v));
                }
                Ok(out)
            }
            ForEachItems::FileList(c) | ForEachItems::DirList(c) => {
                let mask = value_text(&self.eval_cond(c, span)?);
                let dirs = matches!(items, ForEachItems::DirList(_));
                Ok(self.list_files(&mask, dirs))
            }
            ForEachItems::Deferred(text) => Ok(self
                .expand_list(text, span)?
                .iter()
                .map(value_text)
                .collect()),
        }
    }

    /// The values of a list written with `$(…)` (`IN $(vList)`,
    /// `CASE $(vList)`): Qlik expands the text first, so each of its
    /// top-level comma-separated pieces is a value of its own.
    fn expand_list(&mut self, text: &str, span: Span) -> R<Vec<Value>> {
        let expanded = self.expand(text, span)?;
        let (id, expanded) = self.add_expansion(expanded, span);
        let mut out = Vec::new();
        for (start, end) in split_top_level(&expanded) {
            // INVARIANT: split_top_level gives ranges of the text it
            // was given, at char boundaries (its delimiters are ASCII).
            let piece = expanded[start..end].trim();
            if piece.is_empty() {
                continue;
            }
            // Parse the piece in place so spans point into the source.
            let lead = expanded
                .get(start..end)
                .map_or(0, |p| p.len() - p.trim_start().len());
            let padded = format!("{}{}", " ".repeat(start + lead), piece);
            let e = crate::script::parse_expr(id, &padded).map_err(|e| {
                LoadError::from_parse(e, &self.app.sources, self.expansions.get(&id))
            })?;
            out.push(self.eval_expr(&e)?);
        }
        Ok(out)
    }

    /// `DO [WHILE|UNTIL …] … LOOP [WHILE|UNTIL …]`.
    pub(super) fn run_do(
        &mut self,
        pre: Option<&LoopCond>,
        body: &[Stmt],
        post: Option<&LoopCond>,
        span: Span,
    ) -> R<Flow> {
        let mut passes = 0usize;
        loop {
            if let Some(c) = pre
                && truthy(&self.eval_cond(&c.cond, span)?) == c.until
            {
                break;
            }
            match self.run_block(body)? {
                Flow::Normal => {}
                Flow::Exit(ExitWhat::Do) => break,
                other => return Ok(other),
            }
            if let Some(c) = post
                && truthy(&self.eval_cond(&c.cond, span)?) == c.until
            {
                break;
            }
            passes += 1;
            self.check_passes(passes, "DO", span)?;
        }
        Ok(Flow::Normal)
    }

    /// An error when a loop has made as many passes as it may.
    fn check_passes(&self, passes: usize, what: &str, span: Span) -> R<()> {
        let (limit, given) = match self.opts.max_iterations {
            Some(n) => (n, true),
            None => (MAX_ITERATIONS, false),
        };
        if passes < limit {
            return Ok(());
        }
        let how = if given {
            format!(
                "the limit is `--max-iterations {limit}`; raise it if the loop is meant to run longer"
            )
        } else {
            format!("a loop may run {limit} times; `--max-iterations N` sets another limit")
        };
        Err(self.err(
            Fail::new(
                LoadErrorKind::TooDeep,
                span,
                format!("`{what}` loop ran {limit} times (the loop limit)"),
            )
            .help(format!("check the loop's end condition; {how}")),
        ))
    }

    /// `SUB name(params) … END SUB`: defines (or redefines) the sub.
    pub(super) fn define_sub(&mut self, name: &str, params: &[String], body: &[Stmt]) {
        self.subs.insert(
            name.to_lowercase(),
            Rc::new(SubDef {
                params: params.to_vec(),
                body: body.to_vec(),
            }),
        );
    }

    pub(super) fn run_call(&mut self, name: &str, args: &[Cond], span: Span) -> R<Flow> {
        let Some(sub) = self.subs.get(&name.to_lowercase()).cloned() else {
            let known: Vec<&str> = self.subs.keys().map(String::as_str).collect();
            let mut fail = Fail::new(
                LoadErrorKind::UnknownSub,
                span,
                format!("sub `{name}` is not defined"),
            )
            .label("no `SUB` of this name ran before");
            fail = match did_you_mean(name, known) {
                Some(s) => fail.help(format!("did you mean `{s}`?")),
                None => fail.help("Qlik requires the `SUB … END SUB` to run before the `CALL`"),
            };
            return Err(self.err(fail));
        };
        let mut values = Vec::with_capacity(args.len());
        for a in args {
            values.push(self.eval_cond(a, span)?);
        }
        self.enter(span, "`CALL`")?;
        // Parameters are local: save what they shadow, restore afterwards.
        let saved: Vec<(String, Option<String>)> = sub
            .params
            .iter()
            .map(|p| (p.clone(), self.app.variables.get(p).cloned()))
            .collect();
        for (i, p) in sub.params.iter().enumerate() {
            let v = values.get(i).cloned().unwrap_or(Value::Null);
            self.set_var(p, &v);
        }
        let result = self.run_block(&sub.body);
        self.depth = self.depth.saturating_sub(1);
        let finals: Vec<Option<String>> = sub
            .params
            .iter()
            .map(|p| self.app.variables.get(p).cloned())
            .collect();
        for (p, old) in saved {
            match old {
                Some(v) => {
                    self.app.variables.insert(p, v);
                }
                None => {
                    self.app.variables.shift_remove(&p);
                }
            }
        }
        // A variable passed as an argument gets the parameter's final value.
        for (i, a) in args.iter().enumerate() {
            if let Cond::Expr(Expr {
                kind: ExprKind::Field(var),
                ..
            }) = a
                && self.app.variables.contains_key(var)
            {
                match finals.get(i).cloned().flatten() {
                    Some(v) => {
                        self.app.variables.insert(var.clone(), v);
                    }
                    None => {
                        self.app.variables.shift_remove(var);
                    }
                }
            }
        }
        match result? {
            Flow::Exit(ExitWhat::Script) => Ok(Flow::Exit(ExitWhat::Script)),
            _ => Ok(Flow::Normal),
        }
    }
}

/// Byte ranges of the comma-separated items of a list, commas inside
/// quotes, brackets or parentheses not counting.
fn split_top_level(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q || (q == '[' && c == ']') => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' | '`' => quote = Some(c),
                '[' => quote = Some('['),
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    out.push((start, i));
                    start = i + 1;
                }
                _ => {}
            },
        }
    }
    out.push((start, s.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_at_top_level_commas() {
        let s = "'a,b', f(1,2), [x,y]";
        let parts: Vec<&str> = split_top_level(s)
            .into_iter()
            .map(|(a, b)| s.get(a..b).unwrap_or("").trim())
            .collect();
        assert_eq!(parts, ["'a,b'", "f(1,2)", "[x,y]"]);
    }
}
