//! `CONNECT`, `DISCONNECT` and `SQL` sources: the connection in use, the
//! databases opened for it, and the recording written or replayed.

use crate::load::error::{Fail, LoadErrorKind};
use crate::load::frame::Frame;
use crate::load::qvd::QvdError;
use crate::load::sql::{self, Database, Notes, OpenError, Recorder, Replay, ResultSet};
use crate::script::ast::Connect;
use crate::script::source::Span;

use super::{R, Runner};
use crate::load::expr::Env;

/// The SQL side of a run.
#[derive(Default)]
pub(super) struct Connections {
    /// The connection `SQL` statements go to (its name as the script
    /// names it).
    current: Option<String>,
    /// Databases opened, by the script's connection name.
    open: Vec<(String, Box<dyn Database>)>,
    recorder: Option<Recorder>,
    replay: Option<Replay>,
}

impl Runner<'_> {
    /// Sets up `--record` and `--replay` before the first statement.
    pub(super) fn start_sql(&mut self) -> R<()> {
        if let Some(dir) = &self.opts.replay {
            let replay = Replay::open(dir).map_err(|why| {
                self.err(Fail::new(
                    LoadErrorKind::NotRecorded,
                    Span::default(),
                    format!("`--replay {}`: {why}", dir.display()),
                ))
            })?;
            self.sql.replay = Some(replay);
        }
        if let Some(dir) = &self.opts.record {
            let recorder = Recorder::new(dir).map_err(|e| {
                self.err(Fail::new(
                    LoadErrorKind::CannotWrite,
                    Span::default(),
                    format!("`--record {}`: cannot write there: {e}", dir.display()),
                ))
            })?;
            self.sql.recorder = Some(recorder);
        }
        Ok(())
    }

    /// Runs a `CONNECT` statement: the database mapped to its name is
    /// opened (once per name), or the recording serves it.
    pub(super) fn run_connect(&mut self, c: &Connect) -> R<()> {
        let name = c.name.clone();
        self.sql.current = None;
        if self.sql.replay.is_some() {
            self.sql.current = Some(name);
            return Ok(());
        }
        if self
            .sql
            .open
            .iter()
            .any(|(n, _)| sql::names_match(n, &name))
        {
            self.sql.current = Some(name);
            return Ok(());
        }
        let mapped = self
            .opts
            .connect
            .iter()
            .find(|(n, _)| sql::names_match(&name, n) || sql::names_match(&c.target, n));
        let Some((_, url)) = mapped else {
            let shown = if name.is_empty() {
                String::from("this connection")
            } else {
                format!("`{name}`")
            };
            let message = format!("no database is mapped to the connection {shown}");
            if self.opts.allow_unsupported {
                return self.unsupported(c.span, &message);
            }
            return Err(self.err(
                Fail::new(LoadErrorKind::NoConnection, c.span, message)
                    .label("this connection")
                    .help(format!(
                        "map it to a database with `--connect {}=postgresql://USER@HOST/DB` (or `=sqlite:PATH`, or `=env:VAR` to keep the password out of the command line), or answer from a recording with `--replay DIR`",
                        if name.is_empty() { "NAME" } else { name.as_str() }
                    )),
            ));
        };
        let db = sql::open(url).map_err(|e| {
            let (kind, why) = match e {
                OpenError::Scheme(why) => (LoadErrorKind::NoConnection, why),
                OpenError::Failed(why) => (LoadErrorKind::CannotConnect, why),
            };
            self.err(
                Fail::new(
                    kind,
                    c.span,
                    format!("cannot connect `{name}` to `{}`: {why}", sql::masked(url)),
                )
                .label("this connection")
                .help("check the server, the user and the password of `--connect`"),
            )
        })?;
        self.sql.open.push((name.clone(), db));
        self.sql.current = Some(name);
        Ok(())
    }

    /// Runs `DISCONNECT`.
    pub(super) fn run_disconnect(&mut self) {
        self.sql.current = None;
    }

    /// The rows `SQL text` returns on the current connection (from the
    /// recording when replaying), and the connection's name; `None` when
    /// the statement returns no columns (no table).
    pub(super) fn sql_frame(&mut self, text: &str, span: Span) -> R<Option<(Frame, String)>> {
        let Some(name) = self.sql.current.clone() else {
            if self.opts.allow_unsupported {
                self.unsupported(span, "`SQL` with no connection")?;
                return Ok(None);
            }
            return Err(self.err(
                Fail::new(
                    LoadErrorKind::NoConnection,
                    span,
                    "`SQL` with no connection",
                )
                .label("sent to no database")
                .help("a `LIB CONNECT TO 'name';` (or `ODBC CONNECT TO …`) must run before it"),
            ));
        };
        if let Some(replay) = &self.sql.replay {
            let Some((entry, file)) = replay.get(&name, text) else {
                let held = replay.count(&name);
                return Err(self.err(
                    Fail::new(
                        LoadErrorKind::NotRecorded,
                        span,
                        format!("the recording holds no result of this statement on connection `{name}`"),
                    )
                    .label("not in the recording")
                    .help(format!(
                        "it holds {held} statement{} on `{name}`; record again with `--record DIR` and `--connect`",
                        if held == 1 { "" } else { "s" }
                    )),
                ));
            };
            let notes = entry.notes.clone();
            self.sql_notes_named(&notes, span);
            let Some(file) = file else {
                return Ok(None);
            };
            let seeds = std::collections::HashMap::new();
            let read = crate::load::qvd::read(&file, (None, &seeds)).map_err(|e| {
                let why = match e {
                    QvdError::Io(e) => super::paths::io_reason(&e),
                    QvdError::Bad(why) => why,
                };
                self.err(Fail::new(
                    LoadErrorKind::BadFile,
                    span,
                    format!("the recording's `{}` cannot be read: {why}", file.display()),
                ))
            })?;
            return Ok(Some((read.frame, name)));
        }
        let Some((_, db)) = self
            .sql
            .open
            .iter_mut()
            .find(|(n, _)| sql::names_match(n, &name))
        else {
            return Err(self.err(Fail::new(
                LoadErrorKind::Bug,
                span,
                format!("internal error: connection `{name}` is current but not open"),
            )));
        };
        let result = db.query(text).map_err(|why| {
            self.err(
                Fail::new(
                    LoadErrorKind::SqlFailed,
                    span,
                    format!("the SQL statement failed on connection `{name}`: {why}"),
                )
                .label("this statement")
                .help("the statement is sent to the database as written (after `$(…)` expansion), in a read-only transaction"),
            )
        })?;
        let (frame, notes) = match result {
            Some(set) => {
                let notes = note_names(set.notes);
                (Some(frame_of(set)), notes)
            }
            None => (None, Vec::new()),
        };
        self.sql_notes_named(&notes, span);
        if let Some(recorder) = &mut self.sql.recorder
            && let Err(e) = recorder.put(&name, text, frame.as_ref(), notes)
        {
            return Err(self.err(Fail::new(
                LoadErrorKind::CannotWrite,
                span,
                format!("cannot record the result of this statement: {e}"),
            )));
        }
        Ok(frame.map(|f| (f, name)))
    }

    /// Warns, once per run, of each undocumented mapping named.
    fn sql_notes_named(&mut self, notes: &[String], span: Span) {
        for n in notes {
            let (code, message) = match n.as_str() {
                "boolean" => (
                    "sql-boolean",
                    "a boolean column loads as 1 (true) or 0 (false); what Qlik's driver gives is not verified",
                ),
                "time-zone" => (
                    "sql-time-zone",
                    "a timestamp with a time zone loads as the session's local time, the offset left off; what Qlik's driver gives is not verified",
                ),
                "other-type" => (
                    "sql-other-type",
                    "a column of a type with no number meaning (JSON, arrays, intervals, money …) loads as the text the database prints; what Qlik's driver gives is not verified",
                ),
                "digit-text" => (
                    "sql-digit-text",
                    "text from a database that reads as a number (`007`) stays text, so it matches only the same text; whether Qlik's driver interprets it as a number is not verified",
                ),
                "declared-date" => (
                    "sql-declared-date",
                    "SQLite text in a column declared as a date, time or timestamp loads as a dual of the date; what Qlik's driver gives is not verified",
                ),
                _ => continue,
            };
            if self.notes.borrow().contains(&code) {
                continue;
            }
            self.note(code);
            self.warn(code, message.to_string(), Some(span));
        }
    }
}

/// The notes of a result set by name, as the recording keeps them.
fn note_names(n: Notes) -> Vec<String> {
    [
        (n.boolean, "boolean"),
        (n.time_zone, "time-zone"),
        (n.other_type, "other-type"),
        (n.declared_date, "declared-date"),
        (n.digit_text, "digit-text"),
    ]
    .into_iter()
    .filter(|&(on, _)| on)
    .map(|(_, name)| name.to_string())
    .collect()
}

/// A result set as a frame, each column's values interned in row order.
fn frame_of(set: ResultSet) -> Frame {
    let mut frame = Frame::with_names(set.names);
    frame.rows = set.rows.len();
    for row in set.rows {
        for (col, v) in frame.cols.iter_mut().zip(row) {
            col.push(v);
        }
    }
    frame
}
