//! The interpreter: walks the statements of a parsed script, keeps the
//! variables, sections, subs and mapping tables, and turns every LOAD into
//! rows of the access or application model.
//!
//! Statements whose text holds `$(…)` are expanded and parsed here, when
//! they run, as Qlik does; the expanded text becomes a source of its own so
//! a diagnostic can show it, while its location names the statement it came
//! from.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use crate::model::{FieldId, Model, NULL, RowOrigin, Symbols, Table, Value};
use crate::names::{FieldName, TableName};
use crate::script::ast::{
    Cond, Drop, ExitWhat, Expr, ExprKind, ForEachItems, Guard, LoadField, LoadStmt, Prefix, Rename,
    Section, Source, Stmt, StmtKind,
};
use crate::script::source::{Location, SharedText, SourceId, Span};

use super::delimited::{FormatProblem, TextFormat, read_file, text_format};
use super::error::{Fail, LoadError, LoadErrorKind, did_you_mean};
use super::expr::{Binding, CExpr, Ctx, compile, eval, truthy, value_text};
use super::frame::Frame;
use super::functions::{Env, Func, Mapping};
use super::inline::read_inline;
use super::table_ops;
use super::{App, LoadOptions, Warning};

/// How deep CALL, includes and expansions may nest.
const MAX_DEPTH: usize = 64;
/// How many passes a FOR or DO loop may make.
const MAX_ITERATIONS: usize = 1_000_000;

/// What a statement asks of the blocks around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Normal,
    Exit(ExitWhat),
}

/// A defined sub.
struct SubDef {
    params: Vec<String>,
    body: Vec<Stmt>,
}

/// The state of one script run.
pub(crate) struct Runner<'o> {
    opts: &'o LoadOptions,
    pub app: App,
    section: Section,
    script_dir: PathBuf,
    directory: Option<PathBuf>,
    doc_name: String,
    mappings: HashMap<String, Mapping>,
    subs: HashMap<String, Rc<SubDef>>,
    last_table: Option<(Section, String)>,
    qualify: Vec<(bool, String)>,
    depth: usize,
    /// For sources holding expanded text: the statement they came from.
    expansions: HashMap<SourceId, Location>,
    /// Expanded texts already registered, by statement position and text.
    expansion_cache: HashMap<(SourceId, u32, String), (SourceId, SharedText)>,
    notes: RefCell<Vec<&'static str>>,
    /// The span of the statement running (expansion errors point at it).
    current: Span,
}

type R<T> = Result<T, LoadError>;

impl<'o> Runner<'o> {
    pub fn new(path: &Path, opts: &'o LoadOptions) -> Self {
        let script_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let doc_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self {
            opts,
            app: App::default(),
            section: Section::Application,
            script_dir,
            directory: None,
            doc_name,
            mappings: HashMap::new(),
            subs: HashMap::new(),
            last_table: None,
            qualify: Vec::new(),
            depth: 0,
            expansions: HashMap::new(),
            expansion_cache: HashMap::new(),
            notes: RefCell::new(Vec::new()),
            current: Span::default(),
        }
    }

    /// Turns a span-only failure into a located error.
    fn err(&self, fail: Fail) -> LoadError {
        let from = self.expansions.get(&fail.span.source);
        LoadError::from_fail(fail, &self.app.sources, from)
    }

    fn warn(&mut self, code: &'static str, message: String, span: Option<Span>) {
        self.app.warnings.push(Warning {
            code,
            message,
            span,
        });
    }

    /// Runs a parsed script's statements, then finishes the app.
    pub fn run_script(&mut self, body: &[Stmt]) -> R<()> {
        self.run_block(body)?;
        Ok(())
    }

    /// Final touches: warnings from notes.
    pub fn finish(mut self) -> App {
        let mut seen = HashSet::new();
        let notes: Vec<&'static str> = self.notes.borrow().clone();
        for code in notes {
            if !seen.insert(code) {
                continue;
            }
            if code == "hash-not-qlik" {
                self.warn(
                    code,
                    String::from(
                        "`Hash128`/`Hash160`/`Hash256` give SHA-256-based texts, not Qlik's; equal inputs still hash alike",
                    ),
                    None,
                );
            }
        }
        self.app
    }

    fn run_block(&mut self, stmts: &[Stmt]) -> R<Flow> {
        for s in stmts {
            let flow = self.run_stmt(s)?;
            if flow != Flow::Normal {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn enter(&mut self, span: Span, what: &str) -> R<()> {
        if self.depth >= MAX_DEPTH {
            return Err(self.err(
                Fail::new(
                    LoadErrorKind::TooDeep,
                    span,
                    format!("{what} nested deeper than {MAX_DEPTH} levels"),
                )
                .help("a sub probably calls itself, or an include includes itself"),
            ));
        }
        self.depth += 1;
        Ok(())
    }

    fn run_stmt(&mut self, stmt: &Stmt) -> R<Flow> {
        self.current = stmt.span;
        let span = stmt.span;
        match &stmt.kind {
            StmtKind::Section(s) => {
                self.section = *s;
                if *s == Section::Access {
                    self.app.has_section_access = true;
                }
            }
            StmtKind::StarIs(v) => self.app.star = v.clone(),
            StmtKind::Set { name, value } => match value {
                Some(v) => {
                    self.app.variables.insert(name.clone(), v.clone());
                }
                None => {
                    self.app.variables.shift_remove(name);
                }
            },
            StmtKind::Let { name, value } => {
                let v = match value {
                    Some(e) => self.eval_expr(e)?,
                    None => Value::Null,
                };
                self.set_var(name, &v);
            }
            StmtKind::Load(ls) => self.run_load(ls, span)?,
            StmtKind::Drop(d) => self.run_drop(d)?,
            StmtKind::Rename(r) => self.run_rename(r)?,
            StmtKind::Exit { what, when } => {
                if self.guard(when.as_ref(), span)? {
                    return Ok(Flow::Exit(*what));
                }
            }
            StmtKind::Trace(t) => self.app.traces.push(t.clone()),
            StmtKind::If {
                branches,
                otherwise,
            } => {
                for (cond, body) in branches {
                    if truthy(&self.eval_cond(cond, span)?) {
                        return self.run_block(body);
                    }
                }
                if let Some(body) = otherwise {
                    return self.run_block(body);
                }
            }
            StmtKind::For {
                var,
                from,
                to,
                step,
                body,
            } => return self.run_for(var, from, to, step.as_ref(), body, span),
            StmtKind::ForEach { var, items, body } => {
                let values = self.for_each_items(items, span)?;
                for v in values {
                    self.app.variables.insert(var.clone(), v);
                    match self.run_block(body)? {
                        Flow::Normal => {}
                        Flow::Exit(ExitWhat::For) => break,
                        other => return Ok(other),
                    }
                }
            }
            StmtKind::Sub { name, params, body } => {
                self.subs.insert(
                    name.to_lowercase(),
                    Rc::new(SubDef {
                        params: params.clone(),
                        body: body.clone(),
                    }),
                );
            }
            StmtKind::Call { name, args } => return self.run_call(name, args, span),
            StmtKind::Do { pre, body, post } => {
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
                    if passes >= MAX_ITERATIONS {
                        return Err(self.err(
                            Fail::new(
                                LoadErrorKind::TooDeep,
                                span,
                                format!("`DO` loop ran {MAX_ITERATIONS} times"),
                            )
                            .help("check the loop's `WHILE`/`UNTIL` condition"),
                        ));
                    }
                }
            }
            StmtKind::Directory(p) => {
                self.directory = p.as_ref().map(|p| self.resolve_dir(p));
            }
            StmtKind::Qualify { on, fields } => {
                for f in fields {
                    self.qualify.push((*on, f.clone()));
                }
            }
            StmtKind::NoEffect { keyword } => {
                if keyword.eq_ignore_ascii_case("STORE") {
                    self.warn(
                        "store-skipped",
                        String::from("`STORE` writes a file; skipped offline"),
                        Some(span),
                    );
                }
            }
            StmtKind::Deferred { text } => return self.run_deferred(text, span),
            StmtKind::Unsupported { keyword } => {
                self.unsupported(span, &format!("`{keyword}` cannot run offline"))?;
            }
            StmtKind::Unknown { text } => {
                let shown: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
                let shown: String = shown.chars().take(60).collect();
                return Err(self.err(
                    Fail::new(
                        LoadErrorKind::UnknownStatement,
                        span,
                        format!("unknown statement `{shown}`"),
                    )
                    .label("not a statement Qlik knows")
                    .help("Qlik fails the reload here too; comment the text out or fix it"),
                ));
            }
        }
        Ok(Flow::Normal)
    }

    /// An unsupported construct: an error, or a warning with
    /// `allow_unsupported`.
    fn unsupported(&mut self, span: Span, message: &str) -> R<()> {
        if self.opts.allow_unsupported {
            self.app.approximate = true;
            self.warn(
                "unsupported-skipped",
                format!("{message}; skipped"),
                Some(span),
            );
            Ok(())
        } else {
            Err(self.err(
                Fail::new(LoadErrorKind::Unsupported, span, message.to_string())
                    .label("not supported offline")
                    .help("run with `--allow-unsupported` to skip it (the result is then approximate)"),
            ))
        }
    }

    fn set_var(&mut self, name: &str, v: &Value) {
        if v.is_null() {
            self.app.variables.shift_remove(name);
        } else {
            self.app.variables.insert(name.to_string(), value_text(v));
        }
    }

    /// Evaluates an expression outside any load (identifiers are variables).
    fn eval_expr(&self, e: &Expr) -> R<Value> {
        let mut agg = false;
        let c = compile(e, Binding::Vars, &mut agg).map_err(|f| self.err(f))?;
        eval(&c, &Ctx::no_row(self)).map_err(|f| self.err(f))
    }

    fn eval_cond(&mut self, c: &Cond, span: Span) -> R<Value> {
        match c {
            Cond::Expr(e) => self.eval_expr(e),
            Cond::Deferred(text) => {
                let expanded = self.expand(text, span)?;
                let (id, expanded) = self.add_expansion(expanded, span);
                let e = crate::script::parse_expr(id, &expanded).map_err(|e| {
                    LoadError::from_parse(e, &self.app.sources, self.expansions.get(&id))
                })?;
                self.eval_expr(&e)
            }
        }
    }

    fn guard(&mut self, g: Option<&Guard>, span: Span) -> R<bool> {
        match g {
            None => Ok(true),
            Some(g) => Ok(truthy(&self.eval_cond(&g.cond, span)?) != g.unless),
        }
    }

    fn run_for(
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
            super::expr::num_of(&v).ok_or_else(|| {
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
            if passes >= MAX_ITERATIONS {
                return Err(self.err(Fail::new(
                    LoadErrorKind::TooDeep,
                    span,
                    format!("`FOR` loop ran {MAX_ITERATIONS} times"),
                )));
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
            ForEachItems::Deferred(text) => {
                let expanded = self.expand(text, span)?;
                let (id, expanded) = self.add_expansion(expanded, span);
                let mut out = Vec::new();
                for (start, end) in split_top_level(&expanded) {
                    let piece = expanded.get(start..end).unwrap_or("").trim();
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
                    out.push(value_text(&self.eval_expr(&e)?));
                }
                Ok(out)
            }
        }
    }

    /// Files (or folders) matching a mask with `*`/`?` in its last part.
    fn list_files(&self, mask: &str, dirs: bool) -> Vec<String> {
        let (dir_part, pattern) = match mask.rfind(['/', '\\']) {
            Some(i) => (
                mask.get(..=i).unwrap_or(""),
                mask.get(i + 1..).unwrap_or(""),
            ),
            None => ("", mask),
        };
        let folder = self.resolve_path(if dir_part.is_empty() { "." } else { dir_part });
        let Ok(entries) = std::fs::read_dir(&folder) else {
            return Vec::new();
        };
        let mut out: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir() == dirs))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| super::expr::wildcard_match(pattern, n, true))
            .map(|n| format!("{dir_part}{n}"))
            .collect();
        out.sort();
        out
    }

    fn run_call(&mut self, name: &str, args: &[Cond], span: Span) -> R<Flow> {
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

    /// Registers expanded text as a source; errors in it are located at the
    /// statement it came from.
    /// Registers expanded text as a source of its own and returns it with
    /// its id. The text is preceded by blank lines and spaces up to the
    /// statement's own line and column, so positions in it read like
    /// positions in the original file (up to the first expansion). The same
    /// expansion at the same place (a loop) reuses its source.
    fn add_expansion(&mut self, text: String, from: Span) -> (SourceId, SharedText) {
        let key = (from.source, from.start, text);
        if let Some((id, padded)) = self.expansion_cache.get(&key) {
            return (*id, Arc::clone(padded));
        }
        let origin = self
            .expansions
            .get(&from.source)
            .cloned()
            .unwrap_or_else(|| self.app.sources.location(from));
        let at = self.app.sources.location(from);
        let mut padded = "\n".repeat(at.line.saturating_sub(1) as usize);
        padded.push_str(&" ".repeat(at.column.saturating_sub(1) as usize));
        padded.push_str(&key.2);
        let padded = Arc::new(padded);
        let name = format!("{} (after $(…) expansion)", origin.path.display());
        let id = self
            .app
            .sources
            .add(PathBuf::from(name), Arc::clone(&padded));
        self.expansions.insert(id, origin);
        self.expansion_cache.insert(key, (id, Arc::clone(&padded)));
        (id, padded)
    }

    fn expand(&mut self, text: &str, span: Span) -> R<String> {
        let mut env = ExpandEnv { runner: self };
        match crate::script::expand(text, &mut env) {
            Ok(t) => Ok(t),
            Err(e) => {
                let at = span.start as usize + e.offset();
                let espan = Span::new(span.source, at, at + 2);
                Err(self.err(
                    Fail::new(LoadErrorKind::Expansion, espan, e.to_string())
                        .label("this expansion")
                        .help(match &e {
                            crate::script::ExpandError::Include { .. } => {
                                "`Must_Include` requires the file; use `Include` to skip a missing one"
                            }
                            _ => "check the variable's value and the `$(…)` syntax",
                        }),
                ))
            }
        }
    }

    fn run_deferred(&mut self, text: &str, span: Span) -> R<Flow> {
        // `$(Include=…)` alone: run the file as a source of its own, so its
        // diagnostics name the included file.
        if let Some((path, must)) = include_only(text) {
            let path = self.expand(&path, span)?;
            return self.run_include(&path, must, span);
        }
        // The deferred text stops before its `;`; put it back to parse.
        let mut expanded = self.expand(text, span)?;
        expanded.push(';');
        let (id, expanded) = self.add_expansion(expanded, span);
        let parsed = crate::script::parse(id, &expanded)
            .map_err(|e| LoadError::from_parse(e, &self.app.sources, self.expansions.get(&id)))?;
        self.enter(span, "`$(…)` expansion")?;
        let r = self.run_block(&parsed.script.body);
        self.depth = self.depth.saturating_sub(1);
        r
    }

    fn run_include(&mut self, path: &str, must: bool, span: Span) -> R<Flow> {
        let full = self.resolve_path(path);
        let text = match crate::script::read(&full) {
            Ok(text) => Arc::new(text),
            Err(e) if must => {
                return Err(self.err(
                    Fail::new(
                        LoadErrorKind::MissingFile,
                        span,
                        format!("cannot include `{path}`: {}", io_reason(&e)),
                    )
                    .label("this include")
                    .help(format!("looked for `{}`", full.display())),
                ));
            }
            Err(e) => {
                self.warn(
                    "include-missing",
                    format!("`Include` of `{path}` skipped: {}", io_reason(&e)),
                    Some(span),
                );
                return Ok(Flow::Normal);
            }
        };
        let id = self.app.sources.add(full, Arc::clone(&text));
        let parsed = crate::script::parse_shared(id, &text)
            .map_err(|e| LoadError::from_parse(e, &self.app.sources, None))?;
        for w in parsed.warnings {
            self.warn(w.code, w.message, Some(w.span));
        }
        self.enter(span, "`Include`")?;
        let r = self.run_block(&parsed.script.body);
        self.depth = self.depth.saturating_sub(1);
        r
    }

    /// A path from the script: `lib://NAME/…` through the options, absolute
    /// as is, relative from the `DIRECTORY` or the script's folder.
    pub fn resolve_path(&self, path: &str) -> PathBuf {
        let trimmed = path.trim();
        if let Some(rest) = strip_prefix_ci(trimmed, "lib://") {
            let (name, tail) = match rest.find(['/', '\\']) {
                Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i + 1..).unwrap_or("")),
                None => (rest, ""),
            };
            let base = self
                .opts
                .libs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| PathBuf::from(format!("lib://{name}")));
            return join_portable(&base, tail);
        }
        let p = PathBuf::from(trimmed.replace('\\', "/"));
        if p.is_absolute() {
            return p;
        }
        let base = self
            .directory
            .clone()
            .unwrap_or_else(|| self.script_dir.clone());
        join_portable(&base, trimmed)
    }

    fn resolve_dir(&self, p: &str) -> PathBuf {
        self.resolve_path(p)
    }

    // ----- LOAD -------------------------------------------------------

    fn run_load(&mut self, ls: &LoadStmt, span: Span) -> R<()> {
        let mut mapping = false;
        let mut concat: Option<Option<String>> = None;
        let mut noconcat = false;
        let mut join: Option<(crate::script::ast::JoinKind, Option<String>, bool)> = None;
        let mut first: Option<usize> = None;
        for p in &ls.prefixes {
            match p {
                Prefix::Mapping => mapping = true,
                Prefix::Concatenate(t) => concat = Some(t.as_ref().map(|n| n.name.clone())),
                Prefix::NoConcatenate => noconcat = true,
                Prefix::Join { kind, table } => {
                    join = Some((*kind, table.as_ref().map(|n| n.name.clone()), false))
                }
                Prefix::Keep { kind, table } => {
                    join = Some((*kind, table.as_ref().map(|n| n.name.clone()), true))
                }
                Prefix::First(e) => {
                    let v = self.eval_expr(e)?;
                    let n = super::expr::num_of(&v).unwrap_or(0.0);
                    first = Some(if n > 0.0 { n as usize } else { 0 });
                }
                Prefix::Ignored(_) => {}
                Prefix::Unsupported(name) => {
                    return self.unsupported(
                        name.span,
                        &format!("the `{}` prefix is not supported", name.name),
                    );
                }
            }
        }
        let mut frame = match self.eval_load(&ls.load)? {
            Some(f) => f,
            None => return Ok(()),
        };
        if let Some(n) = first {
            frame.truncate(n);
        }
        if mapping {
            let mut m = Mapping::default();
            if frame.cols.len() < 2 {
                return Err(self.err(
                    Fail::new(
                        LoadErrorKind::BadArgument,
                        ls.load.span,
                        format!(
                            "a mapping table needs two fields, this load has {}",
                            frame.cols.len()
                        ),
                    )
                    .help("`MAPPING LOAD key, value …`"),
                ));
            }
            for r in 0..frame.rows {
                m.insert(frame.value(0, r).clone(), frame.value(1, r).clone());
            }
            let name = match &ls.label {
                Some(l) => l.name.clone(),
                None => default_name(&ls.load),
            };
            self.mappings.insert(name, m);
            return Ok(());
        }
        let access = self.section == Section::Access;
        let base_name = match &ls.label {
            Some(l) => l.name.clone(),
            None => default_name(&ls.load),
        };
        // Field names: qualified, then upper-cased in section access.
        let qualified_table = match (&join, &concat) {
            (Some((_, Some(t), false)), _) | (_, Some(Some(t))) => t.clone(),
            _ => base_name.clone(),
        };
        for n in &mut frame.names {
            if self.is_qualified(n) {
                *n = format!("{qualified_table}.{n}");
            }
            if access {
                *n = n.to_uppercase();
            }
        }
        if let Some(dup) = first_duplicate(&frame.names) {
            return Err(self.err(
                Fail::new(
                    LoadErrorKind::BadArgument,
                    ls.load.span,
                    format!("field `{dup}` appears twice in this load"),
                )
                .help("field names must be unique within a table; rename one with `AS`"),
            ));
        }
        if access && frame.origins.is_none() {
            // Rows read from the application model (RESIDENT) or generated:
            // point them at the statement.
            let loc = self.app.sources.location(span);
            frame.origins = Some(vec![
                RowOrigin {
                    file: span.source.0,
                    line: loc.line
                };
                frame.rows
            ]);
        }
        let section = self.section;
        if let Some((kind, target, keep)) = join {
            let target = match target {
                Some(t) => t,
                None => match &self.last_table {
                    Some((s, t)) if *s == section => t.clone(),
                    _ => {
                        return Err(self.err(
                            Fail::new(LoadErrorKind::UnknownTable, span, "no table to join with")
                                .help("name the table: `JOIN (Table)`"),
                        ));
                    }
                },
            };
            if self.model(section).table_index(&target).is_none() {
                return Err(self.unknown_table(&target, span, section));
            }
            if keep {
                let name = self.unique_name(section, &base_name);
                let model = self.model_mut(section);
                let table = table_ops::frame_to_table(model, frame, &name, access);
                model.push_table(table);
                table_ops::keep(model, &target, &name, kind);
                self.last_table = Some((section, name));
            } else {
                let model = self.model_mut(section);
                let right = table_ops::frame_to_table(model, frame, &target, access);
                table_ops::join(model, &target, right, kind);
                self.last_table = Some((section, target));
            }
            return Ok(());
        }
        let into = if let Some(t) = concat {
            let t = match t {
                Some(t) => t,
                None => match &self.last_table {
                    Some((s, t)) if *s == section => t.clone(),
                    _ => {
                        return Err(self.err(
                            Fail::new(
                                LoadErrorKind::UnknownTable,
                                span,
                                "no table to concatenate to",
                            )
                            .help("name the table: `CONCATENATE (Table)`"),
                        ));
                    }
                },
            };
            if self.model(section).table_index(&t).is_none() {
                return Err(self.unknown_table(&t, span, section));
            }
            Some(t)
        } else if noconcat {
            None
        } else {
            let set: HashSet<&str> = frame.names.iter().map(String::as_str).collect();
            let model = self.model(section);
            model
                .tables()
                .iter()
                .find(|t| {
                    t.columns().len() == set.len()
                        && t.fields().all(|f| {
                            model
                                .field_name(f)
                                .is_some_and(|n| set.contains(n.as_str()))
                        })
                })
                .map(|t| t.name.as_str().to_string())
        };
        match into {
            Some(t) => {
                let model = self.model_mut(section);
                table_ops::append(model, &t, frame, access);
                self.last_table = Some((section, t));
            }
            None => {
                let name = self.unique_name(section, &base_name);
                let model = self.model_mut(section);
                let table = table_ops::frame_to_table(model, frame, &name, access);
                model.push_table(table);
                self.last_table = Some((section, name));
            }
        }
        Ok(())
    }

    fn unknown_table(&self, name: &str, span: Span, section: Section) -> LoadError {
        let model = self.model(section);
        let names: Vec<&str> = model.tables().iter().map(|t| t.name.as_str()).collect();
        let mut fail = Fail::new(
            LoadErrorKind::UnknownTable,
            span,
            format!("table `{name}` not found"),
        )
        .label("no table of this name is loaded");
        fail = match did_you_mean(name, names.iter().copied()) {
            Some(s) => fail.help(format!("did you mean `{s}`?")),
            None if names.is_empty() => fail.help("no table is loaded yet"),
            None => fail.help(format!(
                "loaded tables: {}",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
        self.err(fail)
    }

    fn model(&self, s: Section) -> &Model {
        match s {
            Section::Access => &self.app.access,
            Section::Application => &self.app.data,
        }
    }

    fn model_mut(&mut self, s: Section) -> &mut Model {
        match s {
            Section::Access => &mut self.app.access,
            Section::Application => &mut self.app.data,
        }
    }

    /// `name`, or `name-1`, `name-2` … when taken (Qlik's rule).
    fn unique_name(&self, s: Section, name: &str) -> String {
        let model = self.model(s);
        if model.table_index(name).is_none() {
            return name.to_string();
        }
        (1..)
            .map(|i| format!("{name}-{i}"))
            .find(|n| model.table_index(n).is_none())
            .unwrap_or_else(|| name.to_string())
    }

    fn is_qualified(&self, field: &str) -> bool {
        let mut on = false;
        for (q, pattern) in &self.qualify {
            if super::expr::wildcard_match(pattern, field, false) {
                on = *q;
            }
        }
        on
    }

    /// Runs one load level (and the levels below it); `None` when the
    /// source was skipped as unsupported.
    fn eval_load(&mut self, load: &crate::script::ast::Load) -> R<Option<Frame>> {
        if let Some(w) = &load.while_ {
            self.unsupported(w.span, "`WHILE` clauses on loads are not supported")?;
            return Ok(None);
        }
        let access = self.section == Section::Access;
        let input = match &load.source {
            Source::Inline {
                text,
                text_span,
                format,
            } => {
                let (fmt, problems) = text_format(format, TextFormat::new());
                if self.format_problems(problems, *text_span)? {
                    return Ok(None);
                }
                let first_line = self.app.sources.location(*text_span).line;
                let Ok((frame, ragged)) =
                    read_inline(text, &fmt, access, text_span.source.0, first_line)
                else {
                    self.unsupported(
                        *text_span,
                        "INLINE tables of 4 GiB or more are not supported",
                    )?;
                    return Ok(None);
                };
                for r in ragged {
                    let start = text_span.start as usize + r.offset;
                    self.warn(
                        "ragged-inline-row",
                        format!(
                            "INLINE row on line {} has {} cell{} where the header has {}",
                            r.line,
                            r.got,
                            if r.got == 1 { "" } else { "s" },
                            r.expected
                        ),
                        Some(Span::new(text_span.source, start, start + r.len)),
                    );
                }
                frame
            }
            Source::From {
                path,
                path_span,
                format,
            } => match self.read_from(load, path, *path_span, format)? {
                Some(f) => f,
                None => return Ok(None),
            },
            Source::Resident(name) => match self.resident(&name.name) {
                Some(f) => f,
                None => {
                    let section = self.section;
                    return Err(self.unknown_table(&name.name, name.span, section));
                }
            },
            Source::Autogenerate(e) => {
                let v = self.eval_expr(e)?;
                let n = super::expr::num_of(&v).unwrap_or(-1.0);
                if !(0.0..=1e9).contains(&n) {
                    return Err(self.err(Fail::new(
                        LoadErrorKind::BadArgument,
                        e.span,
                        format!("`AUTOGENERATE` needs a row count, got `{}`", v.text()),
                    )));
                }
                Frame {
                    rows: n as usize,
                    ..Frame::default()
                }
            }
            Source::Preceding(inner) => match self.eval_load(inner)? {
                Some(f) => f,
                None => return Ok(None),
            },
            Source::Unsupported(name) => {
                self.unsupported(
                    name.span,
                    &format!("loading from `{}` is not supported offline", name.name),
                )?;
                return Ok(None);
            }
        };
        self.project(load, input).map(Some)
    }

    /// Reports format problems; true when the load is to be skipped.
    fn format_problems(&mut self, problems: Vec<FormatProblem>, span: Span) -> R<bool> {
        for p in problems {
            match p {
                FormatProblem::FileType(t) => {
                    let what = match t.as_str() {
                        "qvd" => "QVD files",
                        "biff" | "ooxml" => "Excel files",
                        "fix" => "fixed-record files",
                        _ => "this file type",
                    };
                    self.unsupported(span, &format!("{what} (`{t}`) cannot be read offline"))?;
                    return Ok(true);
                }
                FormatProblem::Option(o) => {
                    self.unsupported(span, &format!("the file option `{o}` is not supported"))?;
                    return Ok(true);
                }
                FormatProblem::Ignored(o) => {
                    self.warn(
                        "format-ignored",
                        format!("file option `{o}` ignored"),
                        Some(span),
                    );
                }
            }
        }
        Ok(false)
    }

    fn read_from(
        &mut self,
        load: &crate::script::ast::Load,
        path: &str,
        path_span: Span,
        format: &[crate::script::ast::FormatItem],
    ) -> R<Option<Frame>> {
        // A file type given by extension alone (no format spec) counts too.
        let lower = path.to_lowercase();
        let mut items = format.to_vec();
        if !items.iter().any(|i| {
            matches!(
                i,
                crate::script::ast::FormatItem::Qvd
                    | crate::script::ast::FormatItem::Qvx
                    | crate::script::ast::FormatItem::OtherFileType(_)
                    | crate::script::ast::FormatItem::Fix
                    | crate::script::ast::FormatItem::Txt
            )
        }) {
            let ext = Path::new(&lower)
                .extension()
                .map(|e| e.to_string_lossy().into_owned());
            match ext.as_deref() {
                Some("qvd") => items.push(crate::script::ast::FormatItem::Qvd),
                Some("qvx") => items.push(crate::script::ast::FormatItem::Qvx),
                Some("xls") => items.push(crate::script::ast::FormatItem::OtherFileType(
                    String::from("biff"),
                )),
                Some("xlsx" | "xlsm") => {
                    items.push(crate::script::ast::FormatItem::OtherFileType(String::from(
                        "ooxml",
                    )));
                }
                Some(e @ ("xml" | "html" | "htm" | "json" | "parquet" | "kml")) => {
                    items.push(crate::script::ast::FormatItem::OtherFileType(e.to_string()));
                }
                _ => {}
            }
        }
        let (fmt, problems) = text_format(&items, TextFormat::new());
        if self.format_problems(problems, path_span)? {
            return Ok(None);
        }
        let full = self.resolve_path(path);
        let needed = needed_fields(load);
        let access = self.section == Section::Access;
        let seeds = if access {
            HashMap::new()
        } else {
            seeds(load, self.model(self.section))
        };
        match read_file(&full, &fmt, needed.as_ref(), &seeds, access, 0) {
            Ok(mut read) => {
                if let Some(text) = read.text {
                    // Rows of security tables point at their line in the file.
                    let id = self.app.sources.add(full, Arc::new(text));
                    if let Some(origins) = &mut read.frame.origins {
                        for o in origins {
                            o.file = id.0;
                        }
                    }
                }
                Ok(Some(read.frame))
            }
            Err(e) => {
                let missing = e.kind() == std::io::ErrorKind::NotFound;
                let fail = Fail::new(
                    LoadErrorKind::MissingFile,
                    path_span,
                    format!("cannot read `{path}`: {}", io_reason(&e)),
                )
                .label(if missing {
                    "no such file"
                } else {
                    "cannot read this file"
                })
                .help(
                    if strip_prefix_ci(path.trim(), "lib://").is_some()
                        && !self.opts.libs.keys().any(|k| {
                            strip_prefix_ci(path.trim(), "lib://")
                                .is_some_and(|r| r.to_lowercase().starts_with(&k.to_lowercase()))
                        })
                    {
                        format!(
                            "map the library with `--lib NAME=DIR`; looked for `{}`",
                            full.display()
                        )
                    } else {
                        format!("looked for `{}`", full.display())
                    },
                );
                if self.opts.allow_unsupported && missing {
                    self.app.approximate = true;
                    self.warn(
                        "missing-file-skipped",
                        format!("{}; skipped", fail.message),
                        Some(path_span),
                    );
                    return Ok(None);
                }
                Err(self.err(fail))
            }
        }
    }

    /// A loaded table as a frame: the current section's first, then the
    /// other's (SPEC §1).
    fn resident(&self, name: &str) -> Option<Frame> {
        let (model, table) = self.table(name)?;
        let mut frame = Frame::default();
        for col in table.columns() {
            let name = model
                .field_name(col.field)
                .map(|n| n.as_str().to_string())
                .unwrap_or_default();
            let syms = model.symbols(col.field).cloned().unwrap_or_default();
            frame.names.push(name);
            frame.cols.push(super::frame::FrameColumn {
                ids: col.ids.clone(),
                syms,
            });
        }
        frame.rows = table.len();
        frame.origins = table.origins().map(<[RowOrigin]>::to_vec);
        Some(frame)
    }

    /// Applies a load level's field list, WHERE, GROUP BY, ORDER BY and
    /// DISTINCT to its input.
    fn project(&self, load: &crate::script::ast::Load, mut input: Frame) -> R<Frame> {
        let loose = self.section == Section::Access;
        let binding = Binding::Row {
            names: &input.names,
            loose,
        };
        let mut has_agg = false;
        let mut outs: Vec<(String, CExpr)> = Vec::new();
        for f in &load.fields {
            match f {
                LoadField::Star => {
                    for (i, n) in input.names.iter().enumerate() {
                        outs.push((n.clone(), CExpr::Col(i)));
                    }
                }
                LoadField::Expr { expr, alias, text } => {
                    let c = compile(expr, binding, &mut has_agg).map_err(|f| self.err(f))?;
                    let name = match (alias, &expr.kind) {
                        (Some(a), _) => a.name.clone(),
                        (None, ExprKind::Field(n)) => match c {
                            CExpr::Col(i) if loose => {
                                input.names.get(i).cloned().unwrap_or_else(|| n.clone())
                            }
                            _ => n.clone(),
                        },
                        (None, _) => text.trim().to_string(),
                    };
                    outs.push((name, c));
                }
            }
        }
        let mut no_agg = false;
        let filter = match &load.filter {
            Some(e) => Some(compile(e, binding, &mut no_agg).map_err(|f| self.err(f))?),
            None => None,
        };
        let mut group = Vec::new();
        for e in &load.group_by {
            group.push(compile(e, binding, &mut no_agg).map_err(|f| self.err(f))?);
        }
        let mut order = Vec::new();
        for (e, desc) in &load.order_by {
            order.push((
                compile(e, binding, &mut no_agg).map_err(|f| self.err(f))?,
                *desc,
            ));
        }
        if no_agg {
            return Err(self.err(Fail::new(
                LoadErrorKind::BadArgument,
                load.span,
                "aggregation functions belong in the field list, not in WHERE, GROUP BY or ORDER BY",
            )));
        }
        let names: Vec<String> = outs.iter().map(|(n, _)| n.clone()).collect();
        // Fast path: plain columns, no filter, no grouping, no reordering —
        // move the columns, touching no row.
        if filter.is_none()
            && group.is_empty()
            && !has_agg
            && order.is_empty()
            && let Some(cols) = outs
                .iter()
                .map(|(_, c)| super::expr::as_column(c))
                .collect::<Option<Vec<usize>>>()
        {
            let mut taken: Vec<Option<super::frame::FrameColumn>> =
                input.cols.drain(..).map(Some).collect();
            let mut out_cols = Vec::with_capacity(cols.len());
            for (k, &i) in cols.iter().enumerate() {
                let reused = cols.get(k + 1..).is_some_and(|rest| rest.contains(&i));
                let col = if reused {
                    taken.get(i).cloned().flatten()
                } else {
                    taken.get_mut(i).and_then(Option::take)
                };
                out_cols.push(col.unwrap_or_default());
            }
            let mut out = Frame {
                names,
                cols: out_cols,
                rows: input.rows,
                origins: input.origins.take(),
            };
            if load.distinct {
                out.distinct();
            }
            return Ok(out);
        }
        // Row-by-row results that depend on one input column only: one
        // evaluation per distinct value (`Upper(COUNTRY)` over a million
        // customers evaluates a hundred times).
        if filter.is_none()
            && group.is_empty()
            && !has_agg
            && order.is_empty()
            && let Some(cols) = self.project_by_value(&outs, &mut input)
        {
            let mut out = Frame {
                names,
                cols,
                rows: input.rows,
                origins: input.origins.take(),
            };
            if load.distinct {
                out.distinct();
            }
            return Ok(out);
        }
        // Input row order (ORDER BY sorts the input, stable); the fast
        // paths above need none (10M rows: 80 MB).
        let mut rows: Vec<usize> = (0..input.rows).collect();
        if !order.is_empty() {
            let cx = Ctx {
                input: Some(&input),
                ..Ctx::no_row(self)
            };
            let mut keys: Vec<Vec<Value>> = Vec::with_capacity(input.rows);
            for r in 0..input.rows {
                let rcx = cx.at(r);
                let mut k = Vec::with_capacity(order.len());
                for (e, _) in &order {
                    k.push(eval(e, &rcx).map_err(|f| self.err(f))?);
                }
                keys.push(k);
            }
            rows.sort_by(|&a, &b| {
                for (i, (_, desc)) in order.iter().enumerate() {
                    let (Some(ka), Some(kb)) = (
                        keys.get(a).and_then(|k| k.get(i)),
                        keys.get(b).and_then(|k| k.get(i)),
                    ) else {
                        continue;
                    };
                    let o = super::functions::order(ka, kb);
                    let o = if *desc { o.reverse() } else { o };
                    if o.is_ne() {
                        return o;
                    }
                }
                std::cmp::Ordering::Equal
            });
        }
        let mut out = Frame::with_names(names);
        let track = input.origins.is_some();
        let mut origins = Vec::new();
        if has_agg || !group.is_empty() {
            // Groups in order of first appearance.
            let mut key_syms: Vec<Symbols> = group.iter().map(|_| Symbols::default()).collect();
            let mut index: HashMap<Vec<u32>, usize> = HashMap::new();
            let mut groups: Vec<Vec<usize>> = Vec::new();
            let base = Ctx {
                input: Some(&input),
                ..Ctx::no_row(self)
            };
            for &r in &rows {
                let rcx = base.at(r);
                if let Some(f) = &filter
                    && !truthy(&eval(f, &rcx).map_err(|f| self.err(f))?)
                {
                    continue;
                }
                let mut key = Vec::with_capacity(group.len());
                for (g, syms) in group.iter().zip(key_syms.iter_mut()) {
                    key.push(syms.intern(eval(g, &rcx).map_err(|f| self.err(f))?));
                }
                let next = groups.len();
                let gi = *index.entry(key).or_insert(next);
                if gi == next {
                    groups.push(Vec::new());
                }
                if let Some(g) = groups.get_mut(gi) {
                    g.push(r);
                }
            }
            if groups.is_empty() && group.is_empty() {
                // Aggregating no rows still gives one row (Sum = 0, …).
                groups.push(Vec::new());
            }
            for g in &groups {
                let first = g.first().copied();
                let vals = {
                    let cx = Ctx {
                        input: first.map(|_| &input),
                        row: first.unwrap_or(0),
                        rec_no: first.map_or(0, |f| f + 1),
                        row_no: out.rows + 1,
                        out: Some(&out),
                        group: Some(g),
                        env: self,
                    };
                    let mut vals = Vec::with_capacity(outs.len());
                    for (_, e) in &outs {
                        vals.push(eval(e, &cx).map_err(|f| self.err(f))?);
                    }
                    vals
                };
                for (c, v) in out.cols.iter_mut().zip(vals) {
                    c.push(v);
                }
                out.rows += 1;
                if track {
                    origins.push(
                        first
                            .and_then(|f| input.origins.as_ref().and_then(|o| o.get(f)).copied())
                            .unwrap_or_default(),
                    );
                }
            }
        } else {
            let generators: Vec<bool> = outs
                .iter()
                .map(|(_, e)| matches!(e, CExpr::Call { f: Func::SubField, args, .. } if args.len() == 2))
                .collect();
            let any_gen = generators.iter().any(|&g| g);
            for &r in &rows {
                let rows_out: Vec<Vec<Value>> = {
                    let cx = Ctx {
                        input: Some(&input),
                        row: r,
                        rec_no: r + 1,
                        row_no: out.rows + 1,
                        out: Some(&out),
                        group: None,
                        env: self,
                    };
                    if let Some(f) = &filter
                        && !truthy(&eval(f, &cx).map_err(|f| self.err(f))?)
                    {
                        continue;
                    }
                    if any_gen {
                        let mut per_field: Vec<Vec<Value>> = Vec::with_capacity(outs.len());
                        for ((_, e), &gen_field) in outs.iter().zip(&generators) {
                            if gen_field {
                                per_field.push(self.subfield_parts(e, &cx)?);
                            } else {
                                per_field.push(vec![eval(e, &cx).map_err(|f| self.err(f))?]);
                            }
                        }
                        cartesian(&per_field)
                    } else {
                        let mut vals = Vec::with_capacity(outs.len());
                        for (_, e) in &outs {
                            vals.push(eval(e, &cx).map_err(|f| self.err(f))?);
                        }
                        vec![vals]
                    }
                };
                for vals in rows_out {
                    for (c, v) in out.cols.iter_mut().zip(vals) {
                        c.push(v);
                    }
                    out.rows += 1;
                    if track {
                        origins.push(
                            input
                                .origins
                                .as_ref()
                                .and_then(|o| o.get(r))
                                .copied()
                                .unwrap_or_default(),
                        );
                    }
                }
            }
        }
        if track {
            out.origins = Some(origins);
        }
        if load.distinct {
            out.distinct();
        }
        Ok(out)
    }

    /// The output columns of a load without WHERE, grouping or ordering
    /// whose every field is a function of at most one input column built
    /// from [`pure`] parts; `None` otherwise, or when an evaluation fails
    /// (the row-by-row path then reports it where it always did).
    ///
    /// Each distinct input value is evaluated once, at its first row, and
    /// the results interned in first-row order: the ids are those the
    /// row-by-row path gives.
    fn project_by_value(
        &self,
        outs: &[(String, CExpr)],
        input: &mut Frame,
    ) -> Option<Vec<super::frame::FrameColumn>> {
        let sources: Vec<Option<usize>> = outs
            .iter()
            .map(|(_, e)| {
                let mut col = None;
                pure(e, &mut col).then_some(col)
            })
            .collect::<Option<_>>()?;
        if input.rows == 0 {
            return None;
        }
        let base = Ctx {
            input: Some(input),
            ..Ctx::no_row(self)
        };
        // Plain references move (or copy) their column afterwards.
        let plain: Vec<Option<usize>> = outs
            .iter()
            .map(|(_, e)| super::expr::as_column(e))
            .collect();
        let mut cols = Vec::with_capacity(outs.len());
        for (((_, e), source), plain) in outs.iter().zip(sources).zip(&plain) {
            let mut out = super::frame::FrameColumn::default();
            if plain.is_some() {
                cols.push(out);
                continue;
            }
            let Some(c) = source else {
                // No column: one value for every row.
                let id = out.syms.intern(eval(e, &base.at(0)).ok()?);
                out.ids = vec![id; input.rows];
                cols.push(out);
                continue;
            };
            let ids = &input.cols.get(c)?.ids;
            // First row of each input symbol (slot 0: NULL).
            let n = input.cols.get(c)?.syms.len();
            let slot = |id: u32| if id == NULL { 0 } else { id as usize + 1 };
            let mut first = vec![usize::MAX; n + 1];
            for (r, &id) in ids.iter().enumerate() {
                if let Some(f) = first.get_mut(slot(id))
                    && *f == usize::MAX
                {
                    *f = r;
                }
            }
            let mut order: Vec<usize> = (0..=n)
                .filter(|&s| first.get(s).is_some_and(|&f| f != usize::MAX))
                .collect();
            order.sort_by_key(|&s| first.get(s).copied());
            let mut map = vec![NULL; n + 1];
            for s in order {
                let r = first.get(s).copied()?;
                let id = out.syms.intern(eval(e, &base.at(r)).ok()?);
                if let Some(m) = map.get_mut(s) {
                    *m = id;
                }
            }
            out.ids = ids
                .iter()
                .map(|&id| map.get(slot(id)).copied().unwrap_or(NULL))
                .collect();
            cols.push(out);
        }
        for (k, (slot, &from)) in cols.iter_mut().zip(&plain).enumerate() {
            let Some(i) = from else { continue };
            let again = plain
                .get(k + 1..)
                .is_some_and(|rest| rest.contains(&Some(i)));
            let col = input.cols.get_mut(i)?;
            *slot = if again {
                col.clone()
            } else {
                std::mem::take(col)
            };
        }
        Some(cols)
    }

    /// The parts of a two-argument `SubField` (one output row each).
    fn subfield_parts(&self, e: &CExpr, cx: &Ctx<'_>) -> R<Vec<Value>> {
        let CExpr::Call { args, .. } = e else {
            return Ok(vec![Value::Null]);
        };
        let (Some(a), Some(b)) = (args.first(), args.get(1)) else {
            return Ok(vec![Value::Null]);
        };
        let t = eval(a, cx).map_err(|f| self.err(f))?;
        let d = eval(b, cx).map_err(|f| self.err(f))?;
        if t.is_null() {
            return Ok(vec![Value::Null]);
        }
        let text = t.text().into_owned();
        let delim = d.text().into_owned();
        if delim.is_empty() {
            return Ok(vec![super::expr::text(text)]);
        }
        Ok(text.split(delim.as_str()).map(super::expr::text).collect())
    }

    // ----- DROP / RENAME -----------------------------------------------

    fn run_drop(&mut self, d: &Drop) -> R<()> {
        match d {
            Drop::Tables(names) => {
                for n in names {
                    let section = if self.app_model_has(self.section, &n.name) {
                        self.section
                    } else if self.app_model_has(other(self.section), &n.name) {
                        other(self.section)
                    } else {
                        return Err(self.unknown_table(&n.name, n.span, self.section));
                    };
                    self.model_mut(section).remove_table(&n.name);
                    if self
                        .last_table
                        .as_ref()
                        .is_some_and(|(s, t)| *s == section && *t == n.name)
                    {
                        self.last_table = None;
                    }
                }
            }
            Drop::Fields { fields, from } => {
                for f in fields {
                    let mut found = false;
                    for section in [self.section, other(self.section)] {
                        let name = if section == Section::Access {
                            f.name.to_uppercase()
                        } else {
                            f.name.clone()
                        };
                        let model = self.model_mut(section);
                        let Some(fid) = model.find_field(&name) else {
                            continue;
                        };
                        for t in model.tables_mut() {
                            if from.is_empty() || from.iter().any(|x| x.name == t.name.as_str()) {
                                found |= t.drop_column(fid);
                            }
                        }
                        // A table left with no field is gone, as in Qlik.
                        let empty: Vec<String> = model
                            .tables()
                            .iter()
                            .filter(|t| t.columns().is_empty())
                            .map(|t| t.name.as_str().to_string())
                            .collect();
                        for e in empty {
                            model.remove_table(&e);
                        }
                        if found {
                            break;
                        }
                    }
                    if !found {
                        return Err(self.err(
                            Fail::new(
                                LoadErrorKind::UnknownField,
                                f.span,
                                format!("field `{}` not found", f.name),
                            )
                            .label("no loaded table holds this field"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn app_model_has(&self, s: Section, table: &str) -> bool {
        self.model(s).table_index(table).is_some()
    }

    fn run_rename(&mut self, r: &Rename) -> R<()> {
        match r {
            Rename::Tables(pairs) => {
                for (from, to) in pairs {
                    let section = if self.app_model_has(self.section, &from.name) {
                        self.section
                    } else if self.app_model_has(other(self.section), &from.name) {
                        other(self.section)
                    } else {
                        return Err(self.unknown_table(&from.name, from.span, self.section));
                    };
                    if let Some(t) = self.model_mut(section).table_mut(&from.name) {
                        t.name = TableName::new(&to.name);
                    }
                    if let Some((s, t)) = &mut self.last_table
                        && *s == section
                        && *t == from.name
                    {
                        *t = to.name.clone();
                    }
                }
            }
            Rename::Fields(pairs) => {
                for (from, to) in pairs {
                    let mut done = false;
                    for section in [self.section, other(self.section)] {
                        let access = section == Section::Access;
                        let (fname, tname) = if access {
                            (from.name.to_uppercase(), to.name.to_uppercase())
                        } else {
                            (from.name.clone(), to.name.clone())
                        };
                        let model = self.model_mut(section);
                        if let Some(fid) = model.find_field(&fname)
                            && model.tables().iter().any(|t| t.has_field(fid))
                        {
                            model.rename_field(fid, &FieldName::new(&tname));
                            done = true;
                            break;
                        }
                    }
                    if !done {
                        self.warn(
                            "rename-missing-field",
                            format!(
                                "`RENAME FIELD` of `{}`: no such field, nothing renamed",
                                from.name
                            ),
                            Some(from.span),
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

fn other(s: Section) -> Section {
    match s {
        Section::Access => Section::Application,
        Section::Application => Section::Access,
    }
}

impl Env for Runner<'_> {
    fn variable(&self, name: &str) -> Option<&str> {
        self.app.variables.get(name).map(String::as_str)
    }

    fn mapping(&self, name: &str) -> Option<&Mapping> {
        self.mappings.get(name)
    }

    fn field(&self, name: &str) -> Option<(&Model, FieldId)> {
        [self.section, other(self.section)]
            .into_iter()
            .find_map(|s| {
                let m = self.model(s);
                m.find_field(name).map(|f| (m, f))
            })
    }

    fn table(&self, name: &str) -> Option<(&Model, &Table)> {
        [self.section, other(self.section)]
            .into_iter()
            .find_map(|s| {
                let m = self.model(s);
                m.table(name).map(|t| (m, t))
            })
    }

    fn document_name(&self) -> &str {
        &self.doc_name
    }

    fn note(&self, code: &'static str) {
        let mut n = self.notes.borrow_mut();
        if !n.contains(&code) {
            n.push(code);
        }
    }
}

/// The runner seen by the parser's `$(…)` expansion.
struct ExpandEnv<'r, 'o> {
    runner: &'r mut Runner<'o>,
}

impl crate::script::Expander for ExpandEnv<'_, '_> {
    fn variable(&mut self, name: &str) -> Option<String> {
        self.runner.app.variables.get(name).cloned()
    }

    fn evaluate(&mut self, expr: &str) -> Result<String, String> {
        let (id, padded) = self
            .runner
            .add_expansion(expr.to_string(), self.runner.current);
        let e = crate::script::parse_expr(id, &padded).map_err(|e| e.to_string())?;
        let v = self.runner.eval_expr(&e).map_err(|e| e.to_string())?;
        Ok(value_text(&v))
    }

    fn include(&mut self, path: &str, must: bool) -> Result<String, String> {
        let full = self.runner.resolve_path(path);
        match crate::script::read(&full) {
            Ok(text) => Ok(text),
            Err(e) if must => Err(format!(
                "{} (looked for `{}`)",
                io_reason(&e),
                full.display()
            )),
            Err(_) => Ok(String::new()),
        }
    }
}

/// `$(Include=path)` / `$(Must_Include=path)` as a whole statement.
fn include_only(text: &str) -> Option<(String, bool)> {
    let t = text.trim();
    let inner = t.strip_prefix("$(")?.strip_suffix(')')?;
    let (key, path) = inner.split_once('=')?;
    let must = match key.trim().to_lowercase().as_str() {
        "include" => false,
        "must_include" => true,
        _ => return None,
    };
    if path.contains(')') {
        return None;
    }
    Some((path.trim().to_string(), must))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => String::from("no such file"),
        std::io::ErrorKind::PermissionDenied => String::from("permission denied"),
        _ => e.to_string().to_lowercase(),
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

/// Joins a script path (`\` or `/` separated) onto a folder.
fn join_portable(base: &Path, rel: &str) -> PathBuf {
    let mut p = base.to_path_buf();
    for part in rel.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                p.push("..");
            }
            other => p.push(other),
        }
    }
    p
}

/// The name Qlik gives an unlabelled table: the file name without its
/// extension for files, the source table for RESIDENT (made unique with
/// `-1` later), `INLINE` for INLINE tables, `AUTOGENERATE` otherwise.
fn default_name(load: &crate::script::ast::Load) -> String {
    match &load.source {
        Source::From { path, .. } => {
            let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
            let stem = match file.rfind('.') {
                Some(i) if i > 0 => file.get(..i).unwrap_or(file),
                _ => file,
            };
            stem.to_string()
        }
        Source::Resident(n) => n.name.clone(),
        Source::Inline { .. } => String::from("INLINE"),
        Source::Preceding(inner) => default_name(inner),
        Source::Autogenerate(_) | Source::Unsupported(_) => String::from("AUTOGENERATE"),
    }
}

fn first_duplicate(names: &[String]) -> Option<&str> {
    let mut seen = HashSet::new();
    names
        .iter()
        .find(|n| !seen.insert(n.as_str()))
        .map(String::as_str)
}

/// The fields a file load needs (`None`: all, for `*`).
fn needed_fields(load: &crate::script::ast::Load) -> Option<HashSet<String>> {
    let mut out = HashSet::new();
    for f in &load.fields {
        match f {
            LoadField::Star => return None,
            LoadField::Expr { expr, .. } => collect_fields(expr, &mut out),
        }
    }
    if let Some(e) = &load.filter {
        collect_fields(e, &mut out);
    }
    for e in &load.group_by {
        collect_fields(e, &mut out);
    }
    for (e, _) in &load.order_by {
        collect_fields(e, &mut out);
    }
    Some(out)
}

/// Symbol tables to start a file's columns from: fields the load takes as
/// they are (a plain reference under its own name, or `*`) whose model
/// values are a run of integers (keys). Cells already in the model are then
/// found by arithmetic, and the ids need no mapping when committed.
fn seeds(load: &crate::script::ast::Load, model: &Model) -> HashMap<String, Symbols> {
    let run = |name: &str| {
        let s = model.symbols(model.find_field(name)?)?;
        s.is_run().then(|| s.clone())
    };
    // Fields taken as they are; `None` for all of them (`*`).
    let mut plain = Some(HashSet::new());
    // Fields something computes from (never seeded: evaluations run per
    // distinct value of the column).
    let mut other = HashSet::new();
    for f in &load.fields {
        match f {
            LoadField::Star => plain = None,
            LoadField::Expr {
                expr:
                    Expr {
                        kind: ExprKind::Field(n),
                        ..
                    },
                alias,
                ..
            } if alias.as_ref().is_none_or(|a| &a.name == n) => {
                if let Some(p) = &mut plain {
                    p.insert(n.clone());
                }
            }
            LoadField::Expr { expr, .. } => collect_fields(expr, &mut other),
        }
    }
    let names: Vec<String> = match plain {
        Some(p) => p.into_iter().collect(),
        None => model
            .fields()
            .map(|(_, n)| n.as_str().to_string())
            .collect(),
    };
    names
        .into_iter()
        .filter(|n| !other.contains(n))
        .filter_map(|n| Some((n.clone(), run(&n)?)))
        .collect()
}

fn collect_fields(e: &Expr, out: &mut HashSet<String>) {
    match &e.kind {
        ExprKind::Field(n) => {
            out.insert(n.clone());
        }
        ExprKind::Unary { expr, .. } => collect_fields(expr, out),
        ExprKind::Binary { left, right, .. } => {
            collect_fields(left, out);
            collect_fields(right, out);
        }
        ExprKind::Call { args, .. } => {
            for a in args {
                collect_fields(a, out);
            }
        }
        ExprKind::Num { .. } | ExprKind::Str(_) | ExprKind::Star => {}
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

fn cartesian(per_field: &[Vec<Value>]) -> Vec<Vec<Value>> {
    let mut rows: Vec<Vec<Value>> = vec![Vec::new()];
    for options in per_field {
        let mut next = Vec::with_capacity(rows.len() * options.len().max(1));
        for r in &rows {
            for o in options {
                let mut r2 = r.clone();
                r2.push(o.clone());
                next.push(r2);
            }
        }
        rows = next;
    }
    rows
}

/// Remaps NULL-safe ids (helper shared with table operations).
pub(crate) fn map_id(map: &[u32], id: u32) -> u32 {
    if id == NULL {
        NULL
    } else {
        map.get(id as usize).copied().unwrap_or(NULL)
    }
}

/// True when `e` depends on the input row only through the values of its
/// columns, all of them `col` (set to the first column met): literals,
/// operators and functions of their arguments alone. Variables, row
/// numbers, lookups of other rows or of the model, and aggregations are
/// not.
fn pure(e: &CExpr, col: &mut Option<usize>) -> bool {
    match e {
        CExpr::Lit(_) => true,
        CExpr::Col(i) => match col {
            Some(c) => c == i,
            None => {
                *col = Some(*i);
                true
            }
        },
        CExpr::Unary(_, a) => pure(a, col),
        CExpr::Binary(_, a, b) => pure(a, col) && pure(b, col),
        CExpr::Call { f, args, .. } => {
            use Func::*;
            matches!(
                f,
                Upper
                    | Lower
                    | Capitalize
                    | Trim
                    | LTrim
                    | RTrim
                    | Len
                    | Left
                    | Right
                    | Mid
                    | Index
                    | Replace
                    | SubStringCount
                    | Repeat
                    | PurgeChar
                    | KeepChar
                    | TextBetween
                    | FindOneOf
                    | Chr
                    | Ord
                    | If
                    | Match
                    | MixMatch
                    | WildMatch
                    | Pick
                    | Alt
                    | Coalesce
                    | IsNull
                    | IsNum
                    | IsText
                    | Null
                    | True
                    | False
                    | Floor
                    | Ceil
                    | Round
                    | Fabs
                    | Sign
                    | Mod
                    | Div
                    | Sqrt
                    | Exp
                    | Log
                    | Pow
                    | RangeSum
                    | RangeMin
                    | RangeMax
            ) && args.iter().all(|a| pure(a, col))
        }
        CExpr::Var(_) | CExpr::Name(_) | CExpr::Star => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_statements_are_recognised() {
        assert_eq!(
            include_only(" $(Include=a.qvs) "),
            Some((String::from("a.qvs"), false))
        );
        assert_eq!(
            include_only("$(Must_Include=lib://X/b.qvs)"),
            Some((String::from("lib://X/b.qvs"), true))
        );
        assert_eq!(include_only("$(v) x"), None);
    }

    #[test]
    fn lists_split_at_top_level_commas() {
        let s = "'a,b', f(1,2), [x,y]";
        let parts: Vec<&str> = split_top_level(s)
            .into_iter()
            .map(|(a, b)| s.get(a..b).unwrap_or("").trim())
            .collect();
        assert_eq!(parts, ["'a,b'", "f(1,2)", "[x,y]"]);
    }

    #[test]
    fn default_table_names() {
        assert_eq!(
            join_portable(Path::new("/a"), "b\\c.csv"),
            PathBuf::from("/a/b/c.csv")
        );
    }
}
