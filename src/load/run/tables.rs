//! Where a LOAD's rows go and how tables change afterwards: the LOAD
//! statement's prefixes (`MAPPING`, `CONCATENATE`, `JOIN`, `KEEP`,
//! `FIRST`, `SAMPLE`, `REPLACE`, the reshaping prefixes), table names and
//! `QUALIFY`, new tables and automatic concatenation, then `DROP` and
//! `RENAME`.

use std::collections::HashSet;

use crate::model::RowOrigin;
use crate::names::{FieldName, TableName};
use crate::script::ast::{Drop, JoinKind, Load, LoadStmt, Prefix, Rename, Section, Source};
use crate::script::source::Span;

use super::merge::Merge;
use super::reshape::Reshape;
use super::{R, Runner, other};
use crate::load::error::{Fail, LoadError, LoadErrorKind, did_you_mean};
use crate::load::expr::Mapping;
use crate::load::expr::{num_of, wildcard_match};
use crate::load::table_ops;

impl Runner<'_> {
    /// Runs a LOAD statement. A file path with `*` or `?` in its last part
    /// loads every file it matches, in name order, each as the statement
    /// with that file's path (as Qlik does: like tables concatenate).
    /// While a file is read, `FileName()` and its kin name it.
    pub(super) fn run_load(&mut self, ls: &LoadStmt, span: Span) -> R<()> {
        let Some((path, path_span)) = from_path(&ls.load) else {
            return self.run_one_load(ls, span);
        };
        if !path.contains(['*', '?']) {
            self.file = Some(path.to_string());
            let r = self.run_one_load(ls, span);
            self.file = None;
            return r;
        }
        let files = self.list_files(path, false);
        if files.is_empty() {
            let folder = path.rsplit_once(['/', '\\']).map_or(".", |(dir, _)| dir);
            let looked = self.resolve_path(folder);
            let help = self.where_to_map(path, &looked);
            return self.missing(format!("no file matches `{path}`"), path_span, help);
        }
        for file in files {
            let one = LoadStmt {
                load: with_from_path(&ls.load, &file),
                ..ls.clone()
            };
            self.file = Some(file);
            let r = self.run_one_load(&one, span);
            self.file = None;
            r?;
        }
        Ok(())
    }

    /// Runs one LOAD (of one file, for a mask), then adds its source to
    /// the lineage of the table its rows went to.
    fn run_one_load(&mut self, ls: &LoadStmt, span: Span) -> R<()> {
        self.sql_read = None;
        let loaded = self.load_rows(ls, span)?;
        let sql = self.sql_read.take();
        if loaded
            && let (Some(source), Some((section, name))) =
                (lineage_of(&ls.load), self.last_table.clone())
            && let Some(t) = self.model_mut(section).table_mut(&name)
        {
            t.add_lineage(&source);
            if let Some(origin) = sql {
                t.add_sql(origin);
            }
        }
        Ok(())
    }

    /// Runs one LOAD; true when its rows went into a table (not skipped as
    /// unsupported, not a mapping table).
    fn load_rows(&mut self, ls: &LoadStmt, span: Span) -> R<bool> {
        let mut mapping = false;
        let mut concat: Option<Option<String>> = None;
        let mut noconcat = false;
        let mut join: Option<(crate::script::ast::JoinKind, Option<String>, bool)> = None;
        let mut first: Option<usize> = None;
        let mut sample: Option<(f64, Span)> = None;
        let mut reshape: Option<(Reshape, Span)> = None;
        let mut replace = false;
        let mut merge: Option<(Merge<'_>, Span)> = None;
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
                    let n = num_of(&v).unwrap_or(0.0);
                    first = Some(if n > 0.0 { n as usize } else { 0 });
                }
                Prefix::Sample(e) => {
                    let v = self.eval_expr(e)?;
                    match num_of(&v) {
                        Some(p) if (0.0..=1.0).contains(&p) => sample = Some((p, e.span)),
                        _ => {
                            return Err(self.err(
                                Fail::new(
                                    LoadErrorKind::BadArgument,
                                    e.span,
                                    format!(
                                        "`SAMPLE` needs a probability from 0 to 1, got `{}`",
                                        v.text()
                                    ),
                                )
                                .help("`SAMPLE 0.1 LOAD …` keeps about one row in ten"),
                            ));
                        }
                    }
                }
                Prefix::Reshape { kind, args } => {
                    reshape = Some((self.reshape_of(kind, args)?, kind.span));
                }
                // A full reload disregards these (Qlik's help).
                Prefix::PartialOnly(_) => return Ok(false),
                Prefix::Replace => replace = true,
                Prefix::Merge {
                    kw,
                    seq,
                    seq_var,
                    keys,
                } => {
                    let m = Merge {
                        seq: seq.as_ref(),
                        seq_var: seq_var.as_ref(),
                        keys,
                    };
                    merge = Some((m, kw.span));
                }
                Prefix::Ignored(_) => {}
                Prefix::Unsupported(name) => {
                    return self
                        .unsupported(
                            name.span,
                            &format!("the `{}` prefix is not supported", name.name),
                        )
                        .map(|()| false);
                }
            }
        }
        let mut frame = match self.eval_load(&ls.load)? {
            Some(f) => f,
            None => return Ok(false),
        };
        // Every column's flag is taken (cleared), the first named.
        let long: Vec<bool> = frame
            .cols
            .iter_mut()
            .map(|c| c.syms.take_long_numbers())
            .collect();
        if let Some((name, _)) = frame.names.iter().zip(long).find(|&(_, l)| l) {
            self.warn(
                "long-number",
                format!(
                    "field `{name}` holds text of more than 15 digits read as a number: it keeps its text, its number has 15 significant digits (what Qlik keeps is not verified)"
                ),
                Some(ls.load.span),
            );
        }
        if let Some(n) = first {
            frame.truncate(n);
        }
        if let Some((p, at)) = sample {
            self.sample(&mut frame, p, at);
        }
        if let Some((how, at)) = &reshape {
            frame = self.reshape(how, *at, frame)?;
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
            return Ok(false);
        }
        self.field_switches(&mut frame, ls.load.span);
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
        if let Some((_, at)) = &merge
            && (join.is_some() || matches!(reshape, Some((Reshape::Generic, _))))
        {
            return Err(self.err(
                Fail::new(
                    LoadErrorKind::BadArgument,
                    *at,
                    "`MERGE` applies a change log to one table: it does not go with `JOIN`, `KEEP` or `GENERIC`",
                )
                .help("`MERGE [(Seq)] ON Key [CONCATENATE (Table)] LOAD …`"),
            ));
        }
        if let Some((Reshape::Generic, at)) = &reshape {
            if join.is_some() || concat.is_some() {
                return self
                    .unsupported(
                        *at,
                        "`GENERIC` with `JOIN`, `KEEP` or `CONCATENATE` is not supported: Qlik's help (\"Generic\") does not document what that combination does",
                    )
                    .map(|()| false);
            }
            for (value, part) in self.generic_frames(&frame, *at)? {
                let mut part = part;
                if access && let Some(last) = part.names.last_mut() {
                    *last = last.to_uppercase();
                }
                let name = self.unique_name(section, &format!("{base_name}.{value}"));
                let model = self.model_mut(section);
                let table = table_ops::frame_to_table(model, part, &name, access);
                model.push_table(table);
                self.last_table = Some((section, name));
            }
            return Ok(true);
        }
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
                self.check_join(section, &target, &base_name, &right, kind, span)?;
                let model = self.model_mut(section);
                table_ops::join(model, &target, right, kind);
                self.last_table = Some((section, target));
            }
            return Ok(true);
        }
        let log = match &merge {
            Some((m, _)) => Some(self.merge_log(m, &mut frame, ls.load.span)?),
            None => None,
        };
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
        if let Some(log) = log {
            self.merge_into(log, &mut frame, into.as_deref(), section, ls.load.span)?;
        }
        match into {
            Some(t) if replace => {
                // `REPLACE`: the table it would go to is dropped first, the
                // rows make a new table in its place.
                let name = match &ls.label {
                    Some(l) => l.name.clone(),
                    None => t.clone(),
                };
                let model = self.model_mut(section);
                model.remove_table(&t);
                let name = self.unique_name(section, &name);
                let model = self.model_mut(section);
                let table = table_ops::frame_to_table(model, frame, &name, access);
                model.push_table(table);
                self.last_table = Some((section, name));
            }
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
        Ok(true)
    }

    /// An error when joining `right` (loaded as `name`) into `target`
    /// would make more rows than the limit, counted before the join.
    fn check_join(
        &self,
        section: Section,
        target: &str,
        name: &str,
        right: &crate::model::Table,
        kind: JoinKind,
        span: Span,
    ) -> R<()> {
        let model = self.model(section);
        // The limit of the widest result (no common field) is the lowest:
        // a join whose every pair of rows stays under it is not counted.
        let widest = model.table(target).map_or(0, |t| t.columns().len()) + right.columns().len();
        let (lowest, _) = self.row_limit(widest);
        let (rows, common) = table_ops::join_rows(model, target, right, kind, lowest as u128);
        let (limit, given) = self.row_limit(widest - common.len());
        if rows <= limit as u128 {
            return Ok(());
        }
        let on = if common.is_empty() {
            String::from("no common field: a cartesian product")
        } else {
            let names: Vec<String> = common
                .iter()
                .filter_map(|&f| model.field_name(f))
                .map(|n| format!("`{}`", n.as_str()))
                .collect();
            format!("joined on {}", names.join(", "))
        };
        Err(self.err(
            Fail::new(
                LoadErrorKind::TooLarge,
                span,
                format!(
                    "`JOIN` of this load (`{name}`, {} rows) into `{target}` ({} rows) would make {rows} rows, more than the row limit of {limit}",
                    right.len(),
                    model.table(target).map_or(0, crate::model::Table::len),
                ),
            )
            .label(on)
            .help(self.limit_help(limit, given)),
        ))
    }

    pub(super) fn unknown_table(&self, name: &str, span: Span, section: Section) -> LoadError {
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
            if wildcard_match(pattern, field, false) {
                on = *q;
            }
        }
        on
    }

    pub(super) fn run_drop(&mut self, d: &Drop) -> R<()> {
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

    pub(super) fn run_rename(&mut self, r: &Rename) -> R<()> {
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
        Source::Sql { text, .. } => sql_table_name(text),
        Source::Autogenerate(_) | Source::Unsupported(_) => String::from("AUTOGENERATE"),
    }
}

/// The name of a table an unlabelled `SQL SELECT … FROM t` makes: `t`
/// without schema or quotes (`SQL` when no simple `FROM` is found).
fn sql_table_name(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    words
        .iter()
        .position(|w| w.eq_ignore_ascii_case("FROM"))
        .and_then(|i| words.get(i + 1))
        .map(|t| t.trim_end_matches([';', ',', ')']))
        .and_then(|t| t.rsplit('.').next())
        .map(|t| t.trim_matches(['"', '`', '[', ']']).to_string())
        .filter(|t| !t.is_empty() && !t.starts_with('('))
        .unwrap_or_else(|| String::from("SQL"))
}

/// The first name that appears twice.
fn first_duplicate(names: &[String]) -> Option<&str> {
    let mut seen = HashSet::new();
    names
        .iter()
        .find(|n| !seen.insert(n.as_str()))
        .map(String::as_str)
}

/// The path of the file a load reads (below its preceding loads), with
/// its span.
fn from_path(load: &Load) -> Option<(&str, Span)> {
    match &load.source {
        Source::From {
            path, path_span, ..
        } => Some((path, *path_span)),
        Source::Preceding(inner) => from_path(inner),
        _ => None,
    }
}

/// `load` reading `path` instead of its own file.
fn with_from_path(load: &Load, path: &str) -> Load {
    let source = match &load.source {
        Source::From {
            path_span, format, ..
        } => Source::From {
            path: path.to_string(),
            path_span: *path_span,
            format: format.clone(),
        },
        Source::Preceding(inner) => Source::Preceding(Box::new(with_from_path(inner, path))),
        other => other.clone(),
    };
    Load {
        source,
        ..load.clone()
    }
}

/// What a QVD's lineage says of where a load's rows came from: the file
/// as the script names it, `INLINE`, `RESIDENT T` or `AUTOGENERATE`, each
/// ended by `;` as in Qlik's files.
fn lineage_of(load: &Load) -> Option<String> {
    match &load.source {
        Source::From { path, .. } => Some(format!("{path};")),
        Source::Inline { .. } => Some(String::from("INLINE;")),
        Source::Resident(table) => Some(format!("RESIDENT {};", table.name)),
        Source::Autogenerate(_) => Some(String::from("AUTOGENERATE;")),
        Source::Preceding(inner) => lineage_of(inner),
        Source::Sql { text, .. } => Some(format!("SQL {text};")),
        Source::Unsupported(_) => None,
    }
}
