//! `STORE`: a table written as a QVD or text file.
//!
//! By default nothing is written where the script says: the file goes
//! into the run's overlay, a folder of the run's own that later reads of
//! the same path use (the common extract → store → load pattern), and a
//! note says what would have been written where. With `--write-stores`
//! ([`crate::load::LoadOptions::write_stores`]) the file is written there.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::load::error::{Fail, LoadErrorKind};
use crate::load::expr::Env as _;
use crate::load::store::{StoreColumn, StoreTable, Written, qvd, txt};
use crate::model::FieldId;
use crate::script::ast::{FormatItem, Store};
use crate::script::source::Span;

use super::paths::io_reason;
use super::{R, Runner};

/// Files stored in this run and not written where the script says: each
/// in a folder of the run's own, removed with the overlay.
#[derive(Debug, Default)]
pub(super) struct Overlay {
    /// The folder, made on the first file.
    dir: Option<PathBuf>,
    /// By [`key`] of the path the script stored to: the file here.
    files: HashMap<String, PathBuf>,
}

/// Overlay folders made by this process (each run gets its own).
static RUNS: AtomicUsize = AtomicUsize::new(0);

impl Overlay {
    /// The file stored for `path`, when one was.
    pub(super) fn get(&self, path: &Path) -> Option<&Path> {
        self.files.get(&key(path)).map(PathBuf::as_path)
    }

    /// Keeps `bytes` as the file for `path`.
    fn put(&mut self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let dir = match &self.dir {
            Some(d) => d.clone(),
            None => {
                let run = RUNS.fetch_add(1, Ordering::Relaxed);
                let d = std::env::temp_dir().join(format!(
                    "section-access-stores-{}-{run}",
                    std::process::id()
                ));
                std::fs::create_dir_all(&d)?;
                self.dir = Some(d.clone());
                d
            }
        };
        let ext = path.extension().map(|e| e.to_string_lossy().into_owned());
        let name = format!(
            "{}.{}",
            self.files.len(),
            ext.as_deref().unwrap_or("stored")
        );
        let file = self
            .files
            .get(&key(path))
            .cloned()
            .unwrap_or_else(|| dir.join(name));
        std::fs::write(&file, bytes)?;
        self.files.insert(key(path), file);
        Ok(())
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            // Best effort: a folder left in the temporary directory is
            // harmless, and a drop cannot report.
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Paths compared as Windows compares them: any case, either slash.
fn key(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/").to_lowercase()
}

/// The kinds of file `STORE` writes.
enum Kind {
    Qvd,
    Txt(String),
}

impl Runner<'_> {
    /// Runs `STORE`.
    pub(super) fn run_store(&mut self, store: &Store, span: Span) -> R<()> {
        let kind = self.store_kind(store)?;
        let Some((model, table)) = self.table(&store.table.name) else {
            let section = self.section;
            return Err(self.unknown_table(&store.table.name, store.table.span, section));
        };
        // The fields stored, each with its name in the file.
        let mut chosen: Vec<(FieldId, String)> = Vec::new();
        match &store.fields {
            None => {
                for f in table.fields() {
                    let Some(name) = model.field_name(f) else {
                        return Err(self.err(Fail::new(
                            LoadErrorKind::Bug,
                            span,
                            "internal error: a column of the table stored names no field",
                        )));
                    };
                    chosen.push((f, name.as_str().to_string()));
                }
            }
            Some(list) => {
                for (field, alias) in list {
                    let found = model
                        .find_field(&field.name)
                        .filter(|&f| table.has_field(f));
                    let Some(f) = found else {
                        let fields: Vec<String> = table
                            .fields()
                            .filter_map(|f| model.field_name(f))
                            .map(|n| format!("`{}`", n.as_str()))
                            .collect();
                        return Err(self.err(
                            Fail::new(
                                LoadErrorKind::UnknownField,
                                field.span,
                                format!(
                                    "field `{}` is not in table `{}`",
                                    field.name, store.table.name
                                ),
                            )
                            .label("not a field of the table stored")
                            .help(format!("its fields: {}", fields.join(", "))),
                        ));
                    };
                    let name = alias.as_ref().map_or(&field.name, |a| &a.name);
                    chosen.push((f, name.clone()));
                }
            }
        }
        let mut columns = Vec::with_capacity(chosen.len());
        for (f, name) in &chosen {
            let (Some(ids), Some(symbols)) = (table.column(*f), model.symbols(*f)) else {
                return Err(self.err(Fail::new(
                    LoadErrorKind::Bug,
                    span,
                    format!("internal error: field `{name}` of the table stored has no column"),
                )));
            };
            columns.push(StoreColumn { name, ids, symbols });
        }
        let stored = StoreTable {
            name: table.name.as_str(),
            columns,
            rows: table.len(),
            lineage: table.lineage().to_vec(),
            created: created_now(),
        };
        let written = match &kind {
            Kind::Qvd => qvd(&stored),
            Kind::Txt(delimiter) => txt(&stored, delimiter).map(|bytes| Written {
                bytes,
                cut_at_nul: Vec::new(),
            }),
        };
        let Written { bytes, cut_at_nul } = written.map_err(|bug| {
            self.err(
                Fail::new(
                    LoadErrorKind::Bug,
                    span,
                    format!("internal error: {}", bug.what()),
                )
                .help("this is a bug in section-access, not in the script: please report it"),
            )
        })?;
        if !cut_at_nul.is_empty() {
            let fields: Vec<String> = cut_at_nul.iter().map(|f| format!("`{f}`")).collect();
            self.warn(
                "store-nul",
                format!(
                    "a text of {} holds a NUL character: a QVD ends each text with NUL, so the file keeps the text up to it (as a load of the file reads it)",
                    fields.join(", ")
                ),
                Some(span),
            );
        }
        let path = &store.path;
        let target = self.resolve_path(&path.name);
        if self.opts.write_stores {
            return crate::atomic::write(&target, &bytes).map_err(|e| {
                self.err(
                    Fail::new(
                        LoadErrorKind::CannotWrite,
                        path.span,
                        format!("cannot write `{}`: {}", path.name, io_reason(&e)),
                    )
                    .label("this file")
                    .help(self.where_to_map(&path.name, &target)),
                )
            });
        }
        if let Err(e) = self.overlay.put(&target, &bytes) {
            return Err(self.err(
                Fail::new(
                    LoadErrorKind::CannotWrite,
                    path.span,
                    format!(
                        "cannot keep `{}` for later loads: {}",
                        path.name,
                        io_reason(&e)
                    ),
                )
                .label("this file")
                .help("the run keeps stored files in the temporary directory; check that it is writable"),
            ));
        }
        self.warn(
            "store-kept",
            format!(
                "`STORE {}` kept for later loads of `{}` in this run, not written to `{}` (`--write-stores` writes it)",
                store.table.name,
                path.name,
                target.display()
            ),
            Some(span),
        );
        Ok(())
    }

    /// The file kind of a `STORE` (QVD when none is given).
    fn store_kind(&mut self, store: &Store) -> R<Kind> {
        let mut kind = Kind::Qvd;
        let mut delimiter = String::from(",");
        let mut txt = false;
        for item in &store.format {
            let unsupported = match item {
                FormatItem::Qvd => None,
                FormatItem::Txt => {
                    txt = true;
                    None
                }
                FormatItem::Delimiter(d) => {
                    delimiter.clone_from(d);
                    None
                }
                FormatItem::OtherFileType(t) => Some(t.clone()),
                FormatItem::Fix => Some(String::from("fix")),
                FormatItem::Qvx => Some(String::from("qvx")),
                _ => {
                    self.warn(
                        "format-ignored",
                        String::from(
                            "`STORE` writes UTF-8 with labels: this file option is ignored",
                        ),
                        Some(store.path.span),
                    );
                    None
                }
            };
            if let Some(t) = unsupported {
                return Err(self.err(
                    Fail::new(
                        LoadErrorKind::Unsupported,
                        store.path.span,
                        format!("`STORE` into `{t}` files is not supported"),
                    )
                    .help("store as `(qvd)` or `(txt)`"),
                ));
            }
        }
        if txt {
            kind = Kind::Txt(delimiter);
        }
        Ok(kind)
    }
}

/// `CreateUtcTime` of a file stored now (`YYYY-MM-DD hh:mm:ss`, UTC);
/// `SOURCE_DATE_EPOCH` fixes it for reproducible files.
fn created_now() -> String {
    let now = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or_else(time::OffsetDateTime::now_utc);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    now.format(&format).unwrap_or_default()
}
