//! Runs a parsed load script into models (load phase).
//!
//! Owns variables, sections, every LOAD source, expressions and functions,
//! concatenation, joins, DROP/RENAME and control flow. Produces an [`App`]:
//! the security tables in one [`Model`], the application tables in another.
//! Knows nothing of users or tokens.
//!
//! Inside, from the top down: `run` interprets the statements (one file
//! per concern: variables, control flow, expansion, paths, LOAD sources,
//! projection, table statements); `expr` compiles and evaluates
//! expressions, its child `expr::functions` the script functions by
//! domain; `table_ops` commits frames into a model and joins, keeps and
//! concatenates tables; `frame` is one load level's rows; `inline`,
//! `delimited` and `qvd` read INLINE text, text files and QVD files. Lower modules never import
//! higher ones.

mod delimited;
mod error;
mod excel;
mod expr;
mod frame;
mod inline;
mod qvd;
mod run;
mod sql;
#[cfg(feature = "postgres")]
pub(crate) use sql::postgres::describe as describe_pg_error;
mod store;
mod table_ops;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use serde::Serialize;

use crate::model::{Model, Value};
use crate::script::source::{SharedText, SourceMap, Span};

pub use error::{LoadError, LoadErrorKind};
pub use sql::parse_connect;

/// How a script is run.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// `lib://NAME/…` → folder (names match case-insensitively).
    pub libs: IndexMap<String, PathBuf>,
    /// Server paths → folders: a path starting with a prefix (compared by
    /// whole parts, case-insensitively, `\` and `/` alike; the longest
    /// wins) is read from the folder instead (`C:\Data`, `\\srv\share`).
    pub map_paths: Vec<(String, PathBuf)>,
    /// Skip statements and sources that cannot run offline (SQL, Excel,
    /// missing files …) with a warning instead of failing; the app
    /// is then marked [`App::approximate`].
    pub allow_unsupported: bool,
    /// `STORE` writes its files where the script says. Without it a stored
    /// file goes into the run's overlay, read by later loads of the same
    /// path, and a note says where it would have been written.
    pub write_stores: bool,
    /// The script of the app a `BINARY` statement loads: run in its place,
    /// so its tables and section access are inherited (an app file cannot
    /// be read offline).
    pub binary_script: Option<PathBuf>,
    /// Databases for the connections a script names: `(name, URL)`, the
    /// name compared case-insensitively (a script's `Space:Name` matches
    /// `Name`), the URL `postgresql://…` or `sqlite:PATH`.
    pub connect: Vec<(String, String)>,
    /// Keep every SQL result set in this folder (QVD files and
    /// `manifest.json`).
    pub record: Option<PathBuf>,
    /// Serve SQL statements from a recording in this folder, with no
    /// database.
    pub replay: Option<PathBuf>,
    /// The most rows a JOIN, KEEP or generating load may make (`--max-rows`);
    /// `None`: what fits in half the machine's memory (see
    /// `run::limits`).
    pub max_rows: Option<usize>,
    /// The most passes a `FOR` or `DO` loop may make (`--max-iterations`);
    /// `None`: a million.
    pub max_iterations: Option<usize>,
}

/// Reads, decodes (BOM, UTF-8, UTF-16, Windows-1252), parses and runs a
/// script file.
pub fn run_file(path: &Path, opts: &LoadOptions) -> Result<App, LoadError> {
    match crate::script::read(path) {
        Ok(text) => run_text(path, Arc::new(text), opts),
        Err(e) => {
            let mut sources = SourceMap::default();
            let id = sources.add(path.to_path_buf(), SharedText::default());
            let reason = if e.kind() == std::io::ErrorKind::NotFound {
                String::from("no such file")
            } else {
                e.to_string().to_lowercase()
            };
            let fail = error::Fail::new(
                LoadErrorKind::MissingFile,
                Span::new(id, 0, 0),
                format!("cannot read script `{}`: {reason}", path.display()),
            )
            .help("check the path");
            Err(LoadError::from_fail(fail, &sources, None))
        }
    }
}

/// Parses and runs script text. `path` names the script in messages and is
/// the base of relative paths (its folder).
pub fn run_source(path: &Path, text: &str, opts: &LoadOptions) -> Result<App, LoadError> {
    run_text(path, Arc::new(text.to_owned()), opts)
}

/// [`run_source`] of shared text, which the source map and the INLINE
/// tables share.
fn run_text(path: &Path, text: SharedText, opts: &LoadOptions) -> Result<App, LoadError> {
    let mut runner = run::Runner::new(path, opts);
    let id = runner
        .app
        .sources
        .add(path.to_path_buf(), Arc::clone(&text));
    let parsed = crate::script::parse_shared(id, &text)
        .map_err(|e| LoadError::from_parse(e, &runner.app.sources, None))?;
    for w in parsed.warnings {
        runner.app.warnings.push(Warning {
            code: w.code,
            message: w.message,
            span: Some(w.span),
        });
    }
    runner.run_script(&parsed.script.body)?;
    Ok(runner.finish())
}

/// How values of security tables are upper-cased (SPEC §3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Uppercase {
    /// Only `LOAD … INLINE` run inside section access is upper-cased (the
    /// observed engine; the default).
    #[default]
    Inline,
    /// Every security value is upper-cased (what the help says).
    All,
}

/// A warning from the run: something Qlik would accept that deserves a look,
/// or an unsupported statement skipped with `--allow-unsupported`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Warning {
    /// Stable kebab-case code, e.g. `unsupported-skipped`, `ragged-inline-row`.
    pub code: &'static str,
    /// Lower-case message, user input in backticks.
    pub message: String,
    /// Where, when known.
    #[serde(skip)]
    pub span: Option<Span>,
}

/// Everything a script run produced.
#[derive(Debug, Default)]
pub struct App {
    /// Security tables (section access), field names upper-cased, values as
    /// loaded under [`Uppercase::Inline`]: INLINE values upper-cased, values
    /// from files and RESIDENT as they were. Use [`App::security`] to get
    /// them under a mode.
    pub access: Model,
    /// Application tables (mapping tables already removed).
    pub data: Model,
    /// Every file read (script, includes, data files, expanded statements);
    /// [`crate::model::RowOrigin::file`] indexes into it.
    pub sources: SourceMap,
    /// The `Star is` value in effect at the end of the script (`None` when
    /// never declared or turned off with `Star is ;`).
    pub star: Option<String>,
    /// Warnings, in the order they arose.
    pub warnings: Vec<Warning>,
    /// True when unsupported statements were skipped: the model may differ
    /// from what Qlik would build.
    pub approximate: bool,
    /// Variables at the end of the run, by name.
    pub variables: IndexMap<String, String>,
    /// True when the script had a `Section Access` statement that ran.
    pub has_section_access: bool,
    /// The texts of `TRACE` statements, in order (not printed by the
    /// library).
    pub traces: Vec<String>,
}

/// A table loaded (in part) from an SQL statement: where its security or
/// data came from, for a reviewer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SqlSource {
    /// The table's name.
    pub table: String,
    /// `access` (a security table) or `application`.
    pub section: &'static str,
    /// The connection's name as the script names it (never a password).
    pub connection: String,
    /// The line of the `SQL` statement in the script.
    pub line: u32,
}

impl App {
    /// Every table loaded from SQL, security tables first, each statement
    /// once, in load order.
    pub fn sql_sources(&self) -> Vec<SqlSource> {
        [(&self.access, "access"), (&self.data, "application")]
            .into_iter()
            .flat_map(|(model, section)| {
                model.tables().iter().flat_map(move |t| {
                    t.sql().iter().map(move |o| SqlSource {
                        table: t.name.to_string(),
                        section,
                        connection: o.connection.clone(),
                        line: o.line,
                    })
                })
            })
            .collect()
    }

    /// The security tables with values upper-cased per `mode`.
    pub fn security(&self, mode: Uppercase) -> Cow<'_, Model> {
        match mode {
            Uppercase::Inline => Cow::Borrowed(&self.access),
            Uppercase::All => Cow::Owned(upper_cased(&self.access)),
        }
    }
}

/// A copy of a model with every text upper-cased (numbers keep their value;
/// their text is upper-cased too, which changes nothing for digits).
fn upper_cased(model: &Model) -> Model {
    let mut out = model.clone();
    for (field, _) in model.fields() {
        let Some(symbols) = model.symbols(field) else {
            continue;
        };
        if !symbols
            .texts()
            .any(|(_, text)| crate::names::has_lower_case(&text))
        {
            continue;
        }
        // Re-intern in a fresh symbol table; values that become equal merge.
        let mut fresh = crate::model::Symbols::default();
        let remap: Vec<crate::model::SymbolId> = symbols
            .iter()
            .map(|(_, v)| fresh.intern(upper_value(&v)))
            .collect();
        if let Some(s) = out.symbols_mut(field) {
            *s = fresh;
        }
        for table in out.tables_mut() {
            let Some(pos) = table.position(field) else {
                continue;
            };
            if let Some(col) = table.columns_mut().get_mut(pos) {
                for id in &mut col.ids {
                    if let Some(&m) = remap.get(id.index()) {
                        *id = m;
                    }
                }
            }
        }
    }
    out
}

fn upper_value(v: &Value) -> Value {
    match v {
        Value::Text(t) => Value::text_only(&t.to_uppercase()),
        Value::Dual(n, t) => Value::Dual(*n, std::sync::Arc::from(t.to_uppercase())),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Table;
    use crate::names::{FieldName, TableName};

    #[test]
    fn a_load_past_what_a_field_holds_is_an_error_at_that_load() {
        let path = Path::new("capacity.qvs");
        let text: SharedText = Arc::new("T:\nLOAD * INLINE [\nID\nx\n];\n".to_owned());
        let opts = LoadOptions::default();
        let mut runner = run::Runner::new(path, &opts);
        let id = runner
            .app
            .sources
            .add(path.to_path_buf(), Arc::clone(&text));
        // ID already holds as many values as a field can: `x` gets no id.
        let field = runner.app.data.field(&FieldName::new("ID"));
        let Some(symbols) = runner.app.data.symbols_mut(field) else {
            panic!("field just made")
        };
        *symbols = crate::model::Symbols::with_every_id_taken();
        let parsed = crate::script::parse_shared(id, &text).unwrap();
        let Err(e) = runner.run_script(&parsed.script.body) else {
            panic!("a full field loaded")
        };
        assert_eq!(e.code(), "load::too-large");
        assert_eq!(e.location().line, 1, "the labelled LOAD starts on line 1");
        assert!(e.to_string().contains("field ID"), "{e}");
    }

    #[test]
    fn uppercase_all_merges_values_that_differ_only_in_case() {
        let mut app = App::default();
        let f = app.access.field(&FieldName::new("COUNTRY"));
        let a = app.access.intern(f, Value::from_text("us"));
        let b = app.access.intern(f, Value::from_text("US"));
        let mut t = Table::new(TableName::new("SA"), &[f]);
        t.push_row(&[a], None);
        t.push_row(&[b], None);
        app.access.push_table(t);
        let all = app.security(Uppercase::All);
        let col = all
            .table("SA")
            .and_then(|t| t.column(f))
            .map(|c| c.iter().map(|id| id.index()).collect::<Vec<_>>());
        assert_eq!(col, Some(vec![0, 0]));
        let first = crate::model::SymbolId::from_index(0).unwrap();
        assert_eq!(
            all.value(f, first).map(|v| v.text().into_owned()),
            Some("US".into())
        );
        let inline = app.security(Uppercase::Inline);
        assert_eq!(
            inline.table("SA").and_then(|t| t.column(f)),
            Some(&[a, b][..])
        );
    }
}
