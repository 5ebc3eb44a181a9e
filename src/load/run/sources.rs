//! The sources a LOAD reads: INLINE text, files (`FROM`), `RESIDENT`
//! tables, `AUTOGENERATE` and preceding loads, each into a [`Frame`]; and
//! which fields a file load needs, so a reader skips the others.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use crate::model::{Model, RowOrigin, Symbols};
use crate::script::ast::{Expr, ExprKind, LoadField, Section, Source};
use crate::script::source::Span;

use super::paths::io_reason;
use super::project::Repeated;
use super::{R, Runner};
use crate::load::delimited::{FormatProblem, TextFormat, read_file, text_format};
use crate::load::error::{Fail, LoadErrorKind};
use crate::load::expr::Env as _;
use crate::load::expr::num_of;
use crate::load::frame::{Frame, FrameColumn};
use crate::load::inline::read_inline;
use crate::load::qvd::{self, QvdError};

impl Runner<'_> {
    /// Runs one load level (and the levels below it); `None` when the
    /// source was skipped as unsupported.
    pub(super) fn eval_load(&mut self, load: &crate::script::ast::Load) -> R<Option<Frame>> {
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
                let n = num_of(&v).unwrap_or(-1.0);
                if !(n >= 0.0 && n.is_finite()) {
                    return Err(self.err(Fail::new(
                        LoadErrorKind::BadArgument,
                        e.span,
                        format!("`AUTOGENERATE` needs a row count, got `{}`", v.text()),
                    )));
                }
                let (limit, given) = self.row_limit(load.fields.len());
                let limit = limit.min(crate::model::MAX_ROWS);
                if n > limit as f64 {
                    return Err(self.err(
                        Fail::new(
                            LoadErrorKind::TooLarge,
                            e.span,
                            format!(
                                "`AUTOGENERATE {}` would make more than {limit} rows (the row limit)",
                                v.text()
                            ),
                        )
                        .label("too many rows")
                        .help(self.limit_help(limit, given)),
                    ));
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
            Source::Sql { text, span } => match self.sql_frame(text, *span)? {
                Some((frame, connection)) => {
                    let line = self.app.sources.location(*span).line;
                    self.sql_read = Some(crate::model::SqlOrigin { connection, line });
                    frame
                }
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
        match &load.while_ {
            Some(w) => {
                let (input, repeated) = self.repeat_while(w, input)?;
                self.project(load, input, Some(&repeated)).map(Some)
            }
            None => self.project(load, input, None).map(Some),
        }
    }

    /// `WHILE cond`: each input row repeated while `cond` holds, with
    /// `IterNo()` counting from 1 (a row whose condition fails at once is
    /// not loaded). Returns the repeated rows, each with its `IterNo()` and
    /// record.
    fn repeat_while(&self, cond: &Expr, input: Frame) -> R<(Frame, Repeated)> {
        use crate::load::expr::{Binding, RowScope, compile, eval, truthy};
        let loose = self.section == Section::Access;
        let binding = Binding::Row {
            names: &input.names,
            loose,
        };
        let mut agg = false;
        let c = compile(cond, binding, &mut agg).map_err(|f| self.err(f))?;
        if agg {
            return Err(self.err(Fail::new(
                LoadErrorKind::BadArgument,
                cond.span,
                "aggregation functions belong in the field list, not in WHILE",
            )));
        }
        let (limit, given) = self.row_limit(input.cols.len() + 1);
        let mut rows = Vec::new();
        let mut iters = Vec::new();
        let base = RowScope {
            input: Some(&input),
            ..RowScope::no_row(self)
        };
        for r in 0..input.rows {
            let mut k: u32 = 1;
            loop {
                let cx = RowScope {
                    iter_no: k as usize,
                    ..base.at(r)
                };
                if !truthy(&eval(&c, &cx).map_err(|f| self.err(f))?) {
                    break;
                }
                if rows.len() >= limit || k == u32::MAX {
                    return Err(self.err(
                        Fail::new(
                            LoadErrorKind::TooLarge,
                            cond.span,
                            format!(
                                "this `WHILE` made {} rows and still holds (the row limit is {limit})",
                                rows.len()
                            ),
                        )
                        .label("still true")
                        .help(format!(
                            "a condition that never turns false repeats forever; {}",
                            self.limit_help(limit, given)
                        )),
                    ));
                }
                rows.push(r);
                iters.push(k);
                k += 1;
            }
        }
        let mut input = input;
        input.select_rows(&rows);
        Ok((
            input,
            Repeated {
                iters,
                records: rows,
            },
        ))
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
        if is_qvd(&items) {
            return self.read_qvd(load, path, path_span);
        }
        if let Some(kind) = crate::load::excel::excel_kind(&items) {
            return self.read_excel(load, path, path_span, &items, kind);
        }
        let (fmt, problems) = text_format(&items, TextFormat::new());
        if self.format_problems(problems, path_span)? {
            return Ok(None);
        }
        let Some(full) = self.locate_file(path, path_span)? else {
            return Ok(None);
        };
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
            Err(e) => self.unreadable(path, path_span, &full, &e),
        }
    }

    /// A file load of a QVD file: the fields the load needs, decoded
    /// straight into columns.
    fn read_qvd(
        &mut self,
        load: &crate::script::ast::Load,
        path: &str,
        path_span: Span,
    ) -> R<Option<Frame>> {
        let Some(full) = self.locate_file(path, path_span)? else {
            return Ok(None);
        };
        let needed = needed_fields(load);
        let seeds = if self.section == Section::Access {
            HashMap::new()
        } else {
            seeds(load, self.model(self.section))
        };
        match qvd::read(&full, (needed.as_ref(), &seeds)) {
            Ok(loaded) => {
                for (field, format) in loaded.formatted {
                    self.warn(
                        "qvd-number-format",
                        format!(
                            "field `{field}` of `{path}` has the number format {format}: its numbers are kept as numbers, where Qlik shows them in that format"
                        ),
                        Some(path_span),
                    );
                }
                Ok(Some(loaded.frame))
            }
            Err(QvdError::Io(e)) => self.unreadable(path, path_span, &full, &e),
            Err(QvdError::Bad(why)) => Err(self.err(
                Fail::new(
                    LoadErrorKind::BadFile,
                    path_span,
                    format!("cannot read `{path}` as a QVD file: {why}"),
                )
                .label("damaged QVD file")
                .help(format!("read `{}`", full.display())),
            )),
        }
    }

    /// A file there that cannot be read (`e`): an error naming the path
    /// it was read from (a missing file is [`Runner::locate_file`]'s).
    fn unreadable(
        &mut self,
        path: &str,
        path_span: Span,
        full: &Path,
        e: &std::io::Error,
    ) -> R<Option<Frame>> {
        let fail = Fail::new(
            LoadErrorKind::MissingFile,
            path_span,
            format!("cannot read `{path}`: {}", io_reason(e)),
        )
        .label("cannot read this file")
        .help(self.where_to_map(path, full));
        Err(self.err(fail))
    }

    /// A loaded table as a frame: the current section's first, then the
    /// other's (SPEC §1).
    fn resident(&self, name: &str) -> Option<Frame> {
        let (model, table) = self.table(name)?;
        let mut frame = Frame::default();
        for col in table.columns() {
            #[expect(
                clippy::expect_used,
                reason = "INVARIANT: a table's columns are fields of the model that holds it"
            )]
            let (name, syms) = (
                model
                    .field_name(col.field)
                    .expect("a column's field is in its model")
                    .as_str()
                    .to_string(),
                model
                    .symbols(col.field)
                    .expect("a column's field is in its model")
                    .clone(),
            );
            frame.names.push(name);
            frame.cols.push(FrameColumn {
                ids: col.ids.clone(),
                syms,
            });
        }
        frame.rows = table.len();
        frame.origins = table.origins().map(<[RowOrigin]>::to_vec);
        Some(frame)
    }
}

/// True when the format items say QVD and no other file type.
fn is_qvd(items: &[crate::script::ast::FormatItem]) -> bool {
    use crate::script::ast::FormatItem as F;
    items.iter().any(|i| matches!(i, F::Qvd))
        && !items
            .iter()
            .any(|i| matches!(i, F::Txt | F::Fix | F::Qvx | F::OtherFileType(_)))
}

/// The fields a file load needs (`None`: all, for `*`).
pub(super) fn needed_fields(load: &crate::script::ast::Load) -> Option<HashSet<String>> {
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

/// Adds the fields `e` refers to.
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
