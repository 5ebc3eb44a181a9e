//! The interpreter: the state of one script run and the loop that
//! dispatches each statement to the file that owns its kind.
//!
//! - [`variables`]: `SET`/`LET`, expressions and conditions outside loads;
//! - [`control`]: `IF`, `FOR`, `FOR EACH`, `DO`, `SUB`/`CALL`;
//! - [`expansion`]: `$(…)` expansion at run time and includes;
//! - [`paths`]: the files and folders a script names;
//! - [`sources`]: what a LOAD reads (INLINE, files, RESIDENT, AUTOGENERATE);
//! - [`excel`]: sheets of Excel workbooks, with their notes and errors;
//! - [`project`]: a load level's fields, WHERE, GROUP BY, ORDER BY;
//! - [`reshape`]: the prefixes that reshape a load's rows (CROSSTABLE,
//!   GENERIC, HIERARCHY, INTERVALMATCH, SAMPLE);
//! - [`limits`]: the most rows a JOIN, KEEP or generating load may make;
//! - [`tables`]: where a LOAD's rows go (new table, CONCATENATE, JOIN,
//!   KEEP, MAPPING) and `DROP`/`RENAME`.

mod control;
mod excel;
mod expansion;
mod fields;
mod limits;
mod merge;
mod paths;
mod project;
mod reshape;
mod sources;
mod sql;
mod stores;
mod tables;
mod variables;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::model::{FieldId, Model, Table};
use crate::script::ast::{ExitWhat, Invalid, Section, Stmt, StmtKind};
use crate::script::source::{Location, SharedText, SourceId, Span};

use super::error::{Fail, LoadError, LoadErrorKind};
use super::expr::{Env, Mapping};
use super::{App, LoadOptions, Warning};
use control::SubDef;

/// How deep CALL, includes and expansions may nest.
const MAX_DEPTH: usize = 64;

/// What a statement asks of the blocks around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Normal,
    Exit(ExitWhat),
}

/// The state of one script run.
pub(super) struct Runner<'o> {
    opts: &'o LoadOptions,
    pub(super) app: App,
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
    /// The counters of the `AutoNumber` function: the keys met so far, by
    /// counter name.
    autonumber_calls: RefCell<HashMap<String, crate::model::Symbols>>,
    /// The span of the statement running (expansion errors point at it).
    current: Span,
    /// The path of the file being read, as the script names it
    /// (`FileName()` and its kin).
    file: Option<String>,
    /// Files `STORE` kept for later loads instead of writing them.
    overlay: stores::Overlay,
    /// `ALIAS` in effect: field name, its alias.
    aliases: Vec<(String, String)>,
    /// `NULLASVALUE` (true) and `NULLASNULL` (false) switches, in order.
    null_as_value: Vec<(bool, String)>,
    /// The numbers `AUTONUMBER` gave so far.
    autonumbers: fields::AutoNumbers,
    /// `BINARY` brought security tables with the parent's data.
    binary_access: bool,
    /// Connections, the databases opened for them, the recording.
    sql: sql::Connections,
    /// The connection and line of the `SQL` statement the last load read.
    sql_read: Option<crate::model::SqlOrigin>,
}

type R<T> = Result<T, LoadError>;

impl<'o> Runner<'o> {
    pub(super) fn new(path: &Path, opts: &'o LoadOptions) -> Self {
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
            autonumber_calls: RefCell::new(HashMap::new()),
            current: Span::default(),
            file: None,
            overlay: stores::Overlay::default(),
            aliases: Vec::new(),
            null_as_value: Vec::new(),
            autonumbers: fields::AutoNumbers::default(),
            binary_access: false,
            sql: sql::Connections::default(),
            sql_read: None,
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
    pub(super) fn run_script(&mut self, body: &[Stmt]) -> R<()> {
        self.start_sql()?;
        self.run_block(body)?;
        Ok(())
    }

    /// Final touches: warnings from notes.
    pub(super) fn finish(mut self) -> App {
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
            if code == "qvd-create-time-text" {
                self.warn(
                    code,
                    String::from(
                        "`QvdCreateTime` gives the header's UTC time as written there (`YYYY-MM-DD hh:mm:ss`) with its serial; Qlik shows it in the `TimestampFormat`",
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
                    if self.binary_access {
                        self.note_once(
                            "binary-section-access",
                            "security tables loaded after `BINARY` join those of the parent app as any load does (Qlik does not document how an inherited section access meets a new one)",
                            span,
                        );
                    }
                }
            }
            StmtKind::StarIs(v) => self.app.star = v.clone(),
            StmtKind::Set { name, value } => self.run_set(name, value.as_deref()),
            StmtKind::Let { name, value } => self.run_let(name, value.as_ref())?,
            StmtKind::Load(ls) => {
                self.run_load(ls, span)?;
                self.check_capacity(span)?;
            }
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
            } => return self.run_if(branches, otherwise.as_deref(), span),
            StmtKind::For {
                var,
                from,
                to,
                step,
                body,
            } => return self.run_for(var, from, to, step.as_ref(), body, span),
            StmtKind::ForEach { var, items, body } => {
                return self.run_for_each(var, items, body, span);
            }
            StmtKind::Switch {
                subject,
                cases,
                default,
            } => return self.run_switch(subject, cases, default.as_deref(), span),
            StmtKind::Sub { name, params, body } => self.define_sub(name, params, body),
            StmtKind::Call { name, args } => return self.run_call(name, args, span),
            StmtKind::Do { pre, body, post } => {
                return self.run_do(pre.as_ref(), body, post.as_ref(), span);
            }
            StmtKind::Binary(path) => self.run_binary(path.as_deref(), span)?,
            StmtKind::Directory(p) => {
                self.directory = p.as_ref().map(|p| self.resolve_dir(p));
            }
            StmtKind::Qualify { on, fields } => {
                for f in fields {
                    self.qualify.push((*on, f.clone()));
                }
            }
            StmtKind::Alias(pairs) => self.run_alias(pairs),
            StmtKind::NullAsValue { on, fields } => self.run_null_as_value(*on, fields),
            StmtKind::AutoNumber { fields, using } => {
                self.run_autonumber(fields, using.as_deref(), span)?;
            }
            StmtKind::NoEffect { keyword } => {
                if keyword == "DERIVE" {
                    self.warn(
                        "derive-no-effect",
                        String::from(
                            "`DERIVE FIELDS` makes calendar fields for the app's charts only; it changes no table and is skipped",
                        ),
                        Some(span),
                    );
                }
            }
            StmtKind::Store(store) => self.run_store(store, span)?,
            StmtKind::Connect(c) => self.run_connect(c)?,
            StmtKind::Disconnect => self.run_disconnect(),
            StmtKind::Deferred { text } => return self.run_deferred(text, span),
            StmtKind::Unsupported { keyword } => {
                self.unsupported(span, &format!("`{keyword}` cannot run offline"))?;
            }
            StmtKind::Invalid(invalid) => return Err(self.invalid(invalid)),
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

    /// The parse error of a statement that does not parse, now that it
    /// runs: the error parsing it ahead of the run would have given.
    fn invalid(&self, invalid: &Invalid) -> LoadError {
        let text = self
            .app
            .sources
            .get(invalid.at.source)
            .map_or("", |f| f.text.as_str());
        LoadError::from_parse(
            invalid.error(text),
            &self.app.sources,
            self.expansions.get(&invalid.at.source),
        )
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

    /// The model section `s` loads into.
    /// An error at the LOAD at `span` when it took a table or a field past
    /// what the model holds: a value or row past the limit has no id, so
    /// the tables are wrong from here on.
    fn check_capacity(&self, span: Span) -> R<()> {
        [Section::Access, Section::Application]
            .into_iter()
            .try_for_each(|s| self.model(s).check_capacity())
            .map_err(|e| {
                self.err(
                    Fail::new(LoadErrorKind::TooLarge, span, e.to_string())
                        .help("split the data over several apps, or load fewer rows"),
                )
            })
    }

    fn model(&self, s: Section) -> &Model {
        match s {
            Section::Access => &self.app.access,
            Section::Application => &self.app.data,
        }
    }

    /// The model section `s` loads into, to change it.
    fn model_mut(&mut self, s: Section) -> &mut Model {
        match s {
            Section::Access => &mut self.app.access,
            Section::Application => &mut self.app.data,
        }
    }
}

/// The section that is not `s` (lookups fall back to it).
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

    fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }

    fn note(&self, code: &'static str) {
        let mut n = self.notes.borrow_mut();
        if !n.contains(&code) {
            n.push(code);
        }
    }

    fn file_path(&self, path: &str) -> PathBuf {
        self.local_file(path).0
    }

    fn tables(&self) -> Vec<(&Model, &Table)> {
        [&self.app.access, &self.app.data]
            .into_iter()
            .flat_map(|m| m.tables().iter().map(move |t| (m, t)))
            .collect()
    }

    fn autonumber(&self, counter: &str, key: crate::model::Value) -> usize {
        let mut counters = self.autonumber_calls.borrow_mut();
        let keys = counters.entry(counter.to_string()).or_default();
        keys.intern(key).index() + 1
    }
}
